//! What every request handler shares.

use std::sync::Arc;

use super::rate_limit::{AuthFailures, RateLimits};
use crate::auth::keys::KeySet;
use crate::auth::{Tenant, Verifier};
use crate::config::Config;
use crate::domain::Clock;
use crate::store::Store;
use crate::tasks::Wakeup;

/// Shared state of every request handler: one pointer, so the copy each extractor
/// and middleware takes per request is one reference count, not one per field.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What [`AppState`] points to.
pub struct Shared {
    pub store: Arc<dyn Store>,
    pub keys: Arc<KeySet>,
    /// Verifies bearer tokens (and remembers the verified ones).
    pub verifier: Arc<Verifier>,
    pub config: Arc<Config>,
    pub clock: Clock,
    pub tenant: Arc<Tenant>,
    /// Wakes this instance's task runner after a task is enqueued.
    pub wakeup: Wakeup,
    /// Per-client request budgets (CONTRACT §8).
    pub rate_limits: Arc<RateLimits>,
    /// Failed authentications per client id and peer address (CONTRACT §6).
    pub auth_failures: Arc<AuthFailures>,
    /// The admin API's faults and request journal.
    pub control: Arc<super::control::Control>,
    /// What `GET /metrics` reports.
    pub metrics: Arc<super::metrics::Metrics>,
}
