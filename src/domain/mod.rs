//! Pure rules of the access model: no axum, no sqlx, no tokio. Types here are what the
//! store returns and the API renders; validation turns client input into them.

pub mod access_profile;
pub mod lifecycle_state;
pub mod model;
pub mod patch;
pub mod role;
pub mod segment;
pub mod source_app;
pub mod task;
pub mod usage;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Utc};

/// Errors of the domain rules; the API maps them to ISC error bodies.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DomainError {
    /// Input breaks a rule: 400 `400.1 Bad Request Content`.
    #[error("{0}")]
    Invalid(String),
    /// The object is used by another (CONTRACT §3.1).
    #[error("{0}")]
    InUse(String),
}

pub type DomainResult<T> = Result<T, DomainError>;

pub fn invalid<T>(msg: impl Into<String>) -> DomainResult<T> {
    Err(DomainError::Invalid(msg.into()))
}

/// A new object id: 32 lowercase hex characters, like ISC's (CONTRACT §2).
pub fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Whether `s` has the shape of an object id accessd issues.
pub fn is_object_id(s: &str) -> bool {
    s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The source of "now". Tests use [`Clock::offset`] to move time without sleeping.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    offset_ms: Arc<AtomicI64>,
}

impl Clock {
    pub fn system() -> Self {
        Self::default()
    }

    /// Current time, truncated to milliseconds (the precision accessd stores).
    pub fn now(&self) -> DateTime<Utc> {
        let now =
            Utc::now() + chrono::Duration::milliseconds(self.offset_ms.load(Ordering::Relaxed));
        DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now)
    }

    /// Moves this clock (and every clone of it) forward by `secs`.
    pub fn advance(&self, secs: i64) {
        self.offset_ms.fetch_add(secs * 1000, Ordering::Relaxed);
    }
}
