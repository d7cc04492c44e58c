//! Pure rules of the access model: no axum, no sqlx, no tokio. Types here are what the
//! store returns and the API renders; validation turns client input into them.

pub mod access_profile;
pub mod lifecycle_state;
pub mod model;
pub mod patch;
pub mod role;
pub mod scope;
pub mod segment;
pub mod source_app;
pub mod task;
pub mod text;
pub mod usage;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

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

/// The one timestamp format used in the database: UTC, millisecond precision,
/// e.g. `2021-03-01T22:32:58.104Z`. Lexicographic order of these strings is time
/// order (for years 0000..=9999).
pub fn format_timestamp(dt: &DateTime<Utc>) -> String {
    dt.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A new object id: 32 lowercase hex characters, like ISC's (CONTRACT §2). A UUIDv7:
/// the milliseconds since the epoch, then random bits, in the order this process
/// made them. Ids made one after another sort next to each other, so the rows
/// created together share the pages of every index keyed by an id (a random id put
/// each new row on a page of its own in each of them, read and written again).
pub fn new_id() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

/// Whether `s` has the shape of an object id accessd issues.
pub fn is_object_id(s: &str) -> bool {
    s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// The source of "now". Tests move it with [`Clock::advance`] instead of sleeping, and
/// stop it with [`Clock::frozen`] where real time passing during a test would change the
/// outcome (rate limits, CONTRACT §8).
#[derive(Clone, Debug)]
pub struct Clock {
    offset_ms: Arc<AtomicI64>,
    /// `None` for the system clock; a frozen clock stands at this time (plus its offset).
    frozen_at: Option<DateTime<Utc>>,
    /// Start of the monotonic reading, [`Clock::elapsed`].
    origin: Instant,
}

impl Default for Clock {
    fn default() -> Self {
        Self::system()
    }
}

impl Clock {
    pub fn system() -> Self {
        Self {
            offset_ms: Arc::default(),
            frozen_at: None,
            origin: Instant::now(),
        }
    }

    /// A clock that stands still at the current time until advanced.
    pub fn frozen() -> Self {
        Self {
            frozen_at: Some(Self::system().now()),
            ..Self::system()
        }
    }

    /// Current time, truncated to milliseconds (the precision accessd stores).
    pub fn now(&self) -> DateTime<Utc> {
        let base = self.frozen_at.unwrap_or_else(Utc::now);
        let now = base + chrono::Duration::milliseconds(self.offset_ms.load(Ordering::Relaxed));
        DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now)
    }

    /// Time since this clock was created, plus its advances. Read from a monotonic
    /// source, so a step of the wall clock does not move it: what intervals such as
    /// rate-limit windows are measured with.
    pub fn elapsed(&self) -> Duration {
        let real = match self.frozen_at {
            Some(_) => Duration::ZERO,
            None => self.origin.elapsed(),
        };
        let offset = self.offset_ms.load(Ordering::Relaxed);
        let moved = Duration::from_millis(offset.unsigned_abs());
        if offset >= 0 {
            real + moved
        } else {
            real.saturating_sub(moved)
        }
    }

    /// Moves this clock (and every clone of it) forward by `secs`.
    pub fn advance(&self, secs: i64) {
        self.offset_ms.fetch_add(secs * 1000, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod clock_tests {
    use super::*;

    #[test]
    fn a_frozen_clock_moves_only_when_advanced() {
        let clock = Clock::frozen();
        let (at, elapsed) = (clock.now(), clock.elapsed());
        assert_eq!(clock.now(), at);
        assert_eq!(clock.elapsed(), elapsed);
        clock.clone().advance(3);
        assert_eq!(clock.now(), at + chrono::Duration::seconds(3));
        assert_eq!(clock.elapsed(), elapsed + Duration::from_secs(3));
    }

    #[test]
    fn the_monotonic_reading_includes_advances() {
        let clock = Clock::system();
        let before = clock.elapsed();
        clock.advance(10);
        assert!(clock.elapsed() >= before + Duration::from_secs(10));
    }
}
