//! Rate limits per client and route family (CONTRACT §8), by GCRA. Each (client id,
//! bucket) pair has a budget of `rate_limit_requests` that is refilled continuously
//! over `rate_limit_window_secs`: a client may send the whole budget at once, and then
//! one more request each `window / requests`.
//!
//! Two places keep the count:
//! * `memory`: governor's keyed limiter in this process, on the app's monotonic clock.
//!   Idle keys are dropped by [`RateLimits::purge`], so memory stays bounded by the
//!   clients active in the last window. Instances sharing a database count alone.
//! * `database` (the default on PostgreSQL): the same algorithm as one atomic upsert
//!   per request on a `rate_limits` row, so every instance on the database spends one
//!   budget per client. It runs on the wall clock (`Clock::now`), so instances'
//!   clocks must agree to well under the window; a request costs one more round trip.
//!
//! Only requests whose token verified are counted (and the token endpoint counts only
//! requests with valid credentials), so nobody can spend another client's budget, and
//! the keys are real client ids.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::Clock as GovernorClock;
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use std::sync::Arc;

use crate::auth::Family;
use crate::config::{GatewayArgs, RateLimitStore};
use crate::domain::Clock;
use crate::store::{Backend, Store};

/// What a client's requests are counted against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Bucket {
    /// `POST /oauth/token`.
    Token,
    /// One route family: `/v3/...`, `/beta/...`, `/v2025/...` (each year its own), or
    /// the per-service `/{service}/v1...`.
    Family(Family),
}

impl Bucket {
    /// The family bucket of a request path; `None` for paths outside every family
    /// (`/health`, `/oauth/token`, unknown roots).
    pub fn of_path(path: &str) -> Option<Bucket> {
        let mut segments = path.trim_start_matches('/').split('/');
        let first = segments.next().unwrap_or("");
        let family = match (Family::of_prefix(first), segments.next()) {
            (Some(family), _) => family,
            (None, Some("v1")) if !first.is_empty() => Family::V1,
            _ => return None,
        };
        Some(Bucket::Family(family))
    }

    /// The bucket's name in the `rate_limits` table.
    pub fn as_str(self) -> &'static str {
        match self {
            Bucket::Token => "token",
            Bucket::Family(family) => family.as_str(),
        }
    }
}

/// governor's clock over the app's clock: its monotonic reading, which tests advance
/// (and freeze) instead of sleeping.
#[derive(Clone, Debug)]
pub struct LimiterClock(Clock);

impl GovernorClock for LimiterClock {
    type Instant = Nanos;

    fn now(&self) -> Nanos {
        // Held at the most nanoseconds a limiter counts (584 years) rather than past.
        Nanos::from(u64::try_from(self.0.elapsed().as_nanos()).unwrap_or(u64::MAX))
    }
}

type Keyed = RateLimiter<
    (String, Bucket),
    DefaultKeyedStateStore<(String, Bucket)>,
    LimiterClock,
    NoOpMiddleware<Nanos>,
>;

/// Over the limit: the client may retry after this many whole seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryAfter(pub u64);

pub struct RateLimits {
    mode: Mode,
    clock: LimiterClock,
}

enum Mode {
    Off,
    Memory(Keyed),
    /// GCRA in the database: emission interval and burst tolerance in µs.
    Database {
        store: Arc<dyn Store>,
        t_us: i64,
        tau_us: i64,
    },
}

impl RateLimits {
    /// Limits counted in this process.
    pub fn new(config: &GatewayArgs, clock: Clock) -> Self {
        let clock = LimiterClock(clock);
        let mode = match NonZeroU32::new(config.rate_limit_requests) {
            None => Mode::Off,
            Some(requests) => {
                let window = Duration::from_secs(config.rate_limit_window_secs);
                match Quota::with_period(window / requests.get()) {
                    None => Mode::Off,
                    Some(quota) => Mode::Memory(RateLimiter::new(
                        quota.allow_burst(requests),
                        Default::default(),
                        clock.clone(),
                    )),
                }
            }
        };
        Self { mode, clock }
    }

    /// Limits counted where `config.rate_limit_store` says, for a server on `store`
    /// (at `backend`).
    pub fn for_store(
        config: &GatewayArgs,
        clock: Clock,
        store: Arc<dyn Store>,
        backend: Backend,
    ) -> Self {
        let shared = match config.rate_limit_store {
            RateLimitStore::Memory => false,
            RateLimitStore::Database => true,
            RateLimitStore::Auto => backend == Backend::Postgres,
        };
        if !shared || config.rate_limit_requests == 0 {
            return Self::new(config, clock);
        }
        // The same GCRA as governor's `Quota::with_period(window / requests)
        // .allow_burst(requests)`: emission interval t, tolerance t × (requests − 1).
        let requests = i64::from(config.rate_limit_requests);
        let window_us = i64::try_from(config.rate_limit_window_secs)
            .unwrap_or(i64::MAX / 1_000_000)
            .saturating_mul(1_000_000);
        let t_us = (window_us / requests).max(1);
        Self {
            mode: Mode::Database {
                store,
                t_us,
                tau_us: t_us * (requests - 1),
            },
            clock: LimiterClock(clock),
        }
    }

    /// Counts one request of `client_id` against `bucket`.
    pub async fn check(&self, client_id: &str, bucket: Bucket) -> Result<(), RetryAfter> {
        match &self.mode {
            Mode::Off => Ok(()),
            Mode::Memory(limiter) => limiter
                .check_key(&(client_id.to_string(), bucket))
                .map_err(|not_until| retry_after(not_until.wait_time_from(self.clock.now()))),
            Mode::Database {
                store,
                t_us,
                tau_us,
            } => {
                let now_us = self.clock.0.now().timestamp_micros();
                match store
                    .rate_limit_take(client_id, bucket.as_str(), now_us, *t_us, *tau_us)
                    .await
                {
                    Ok(None) => Ok(()),
                    Ok(Some(wait_us)) => Err(retry_after(Duration::from_micros(
                        u64::try_from(wait_us).unwrap_or(1),
                    ))),
                    Err(e) => {
                        // The request will meet the same database; let it answer.
                        tracing::warn!(error = %e, "could not count a request's rate limit");
                        Ok(())
                    }
                }
            }
        }
    }

    /// Forgets keys whose budget is full again (idle for a window): they are
    /// indistinguishable from new ones. Keeps memory (or the table) bounded by the
    /// active clients.
    pub async fn purge(&self) {
        match &self.mode {
            Mode::Off => {}
            Mode::Memory(limiter) => {
                limiter.retain_recent();
                limiter.shrink_to_fit();
            }
            Mode::Database { store, .. } => {
                let now_us = self.clock.0.now().timestamp_micros();
                if let Err(e) = store.rate_limit_purge(now_us).await {
                    tracing::warn!(error = %e, "could not purge the rate-limit table");
                }
            }
        }
    }

    /// Keys held in memory, for tests of the purge.
    pub fn len(&self) -> usize {
        match &self.mode {
            Mode::Memory(limiter) => limiter.len(),
            _ => 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// What a failed authentication is counted against: the client id it named, and the
/// address it came from (so guessing across many client ids is throttled too).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum FailureKey {
    Client(String),
    Peer(IpAddr),
}

/// Failed authentications at the token endpoint (a wrong client secret, or an unknown
/// client), by GCRA per client id and per peer address: `limit` failures may come at
/// once, then one more each `window / limit`. A key out of budget is blocked: every
/// attempt with it — right or wrong — is a 429 until the budget has a failure to spend
/// again, so guessing gets no answer that tells a right secret from a wrong one.
/// Counted in this process (each instance throttles alone); idle keys are purged with
/// the rate limits.
pub struct AuthFailures {
    limiter: Option<
        RateLimiter<
            FailureKey,
            DefaultKeyedStateStore<FailureKey>,
            LimiterClock,
            NoOpMiddleware<Nanos>,
        >,
    >,
    /// Keys out of budget, and until when.
    blocked: std::sync::Mutex<HashMap<FailureKey, Nanos>>,
    clock: LimiterClock,
}

impl AuthFailures {
    pub fn new(config: &GatewayArgs, clock: Clock) -> Self {
        let clock = LimiterClock(clock);
        let limiter = NonZeroU32::new(config.auth_failure_limit).and_then(|limit| {
            let window = Duration::from_secs(config.auth_failure_window_secs);
            Quota::with_period(window / limit.get()).map(|quota| {
                RateLimiter::new(quota.allow_burst(limit), Default::default(), clock.clone())
            })
        });
        Self {
            limiter,
            blocked: std::sync::Mutex::new(HashMap::new()),
            clock,
        }
    }

    fn keys(
        client_id: Option<&str>,
        peer: Option<IpAddr>,
    ) -> impl Iterator<Item = FailureKey> + use<> {
        client_id
            .map(|c| FailureKey::Client(c.to_string()))
            .into_iter()
            .chain(peer.map(FailureKey::Peer))
    }

    /// Whether the client id or the peer is blocked now, and for how long.
    pub fn check(&self, client_id: Option<&str>, peer: Option<IpAddr>) -> Result<(), RetryAfter> {
        if self.limiter.is_none() {
            return Ok(());
        }
        let now = self.clock.now();
        let Ok(blocked) = self.blocked.lock() else {
            return Ok(());
        };
        let wait = Self::keys(client_id, peer)
            .filter_map(|k| blocked.get(&k).copied())
            .filter(|until| *until > now)
            .max();
        match wait {
            Some(until) => Err(retry_after(Duration::from_nanos(
                until.saturating_sub(now).as_u64(),
            ))),
            None => Ok(()),
        }
    }

    /// Counts one failure against the client id and the peer; `Err` when that spent
    /// the last of either budget (the key is blocked from now on).
    pub fn failed(&self, client_id: Option<&str>, peer: Option<IpAddr>) -> Result<(), RetryAfter> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        let now = self.clock.now();
        let mut longest: Option<Duration> = None;
        for key in Self::keys(client_id, peer) {
            if let Err(not_until) = limiter.check_key(&key) {
                let wait = not_until.wait_time_from(now);
                if let Ok(mut blocked) = self.blocked.lock() {
                    let wait = u64::try_from(wait.as_nanos()).unwrap_or(u64::MAX);
                    blocked.insert(key, Nanos::from(now.as_u64().saturating_add(wait)));
                }
                longest = longest.max(Some(wait));
            }
        }
        match longest {
            Some(wait) => Err(retry_after(wait)),
            None => Ok(()),
        }
    }

    /// Forgets keys that are neither blocked nor short of budget.
    pub fn purge(&self) {
        if let Some(limiter) = &self.limiter {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        let now = self.clock.now();
        if let Ok(mut blocked) = self.blocked.lock() {
            blocked.retain(|_, until| *until > now);
        }
    }
}

/// Whole seconds, rounded up, so a retry after that long conforms; a 429 never says
/// "retry after 0 seconds".
fn retry_after(wait: Duration) -> RetryAfter {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    RetryAfter(secs.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(requests: u32, window_secs: u64) -> (RateLimits, Clock) {
        let clock = Clock::frozen();
        let config = GatewayArgs {
            rate_limit_requests: requests,
            rate_limit_window_secs: window_secs,
            ..GatewayArgs::default()
        };
        (RateLimits::new(&config, clock.clone()), clock)
    }

    /// The same limits counted in a (SQLite) database: each test of the algorithm runs
    /// on both, so the SQL GCRA answers exactly as governor does.
    async fn db_limits(requests: u32, window_secs: u64) -> (RateLimits, Clock, tempfile::TempDir) {
        let clock = Clock::frozen();
        let config = GatewayArgs {
            rate_limit_requests: requests,
            rate_limit_window_secs: window_secs,
            rate_limit_store: RateLimitStore::Database,
            ..GatewayArgs::default()
        };
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("limits.db").display());
        let store = crate::store::open(&url).await.unwrap();
        let limits = RateLimits::for_store(&config, clock.clone(), store, Backend::Sqlite);
        assert!(matches!(limits.mode, Mode::Database { .. }));
        (limits, clock, dir)
    }

    async fn both(
        requests: u32,
        window_secs: u64,
    ) -> Vec<(RateLimits, Clock, Option<tempfile::TempDir>)> {
        let (memory, clock) = limits(requests, window_secs);
        let (db, db_clock, dir) = db_limits(requests, window_secs).await;
        vec![(memory, clock, None), (db, db_clock, Some(dir))]
    }

    const V3: Bucket = Bucket::Family(Family::V3);

    #[tokio::test]
    async fn the_budget_is_per_client_and_bucket() {
        for (limits, _, _dir) in both(2, 10).await {
            assert!(limits.check("a", V3).await.is_ok());
            assert!(limits.check("a", V3).await.is_ok());
            assert_eq!(limits.check("a", V3).await, Err(RetryAfter(5)));
            assert!(limits.check("b", V3).await.is_ok());
            assert!(limits
                .check("a", Bucket::Family(Family::Beta))
                .await
                .is_ok());
            assert!(limits.check("a", Bucket::Token).await.is_ok());
        }
    }

    #[tokio::test]
    async fn retry_after_is_rounded_up_and_truthful() {
        // 3 per 10 s: one request every 3.33 s once the budget is spent.
        for (limits, clock, _dir) in both(3, 10).await {
            for _ in 0..3 {
                assert!(limits.check("a", V3).await.is_ok());
            }
            assert_eq!(limits.check("a", V3).await, Err(RetryAfter(4)));
            clock.advance(3);
            assert_eq!(limits.check("a", V3).await, Err(RetryAfter(1)));
            clock.advance(1);
            assert!(limits.check("a", V3).await.is_ok());
            assert!(limits.check("a", V3).await.is_err());
        }
    }

    #[tokio::test]
    async fn zero_requests_switches_limiting_off() {
        let (limits, _) = limits(0, 10);
        for _ in 0..1000 {
            assert!(limits.check("a", V3).await.is_ok());
        }
        assert!(limits.is_empty());
    }

    #[tokio::test]
    async fn purge_forgets_clients_whose_budget_is_full_again() {
        let (limits, clock) = limits(100, 10);
        for _ in 0..100 {
            limits.check("busy", V3).await.unwrap();
        }
        limits.check("light", V3).await.unwrap();
        assert_eq!(limits.len(), 2);
        clock.advance(5);
        limits.purge().await;
        assert_eq!(limits.len(), 1, "only the key still refilling is kept");
        assert!(
            limits.check("busy", V3).await.is_ok(),
            "and its state is intact"
        );
        clock.advance(6);
        limits.purge().await;
        assert!(limits.is_empty(), "a full budget is the same as no key");
    }

    #[tokio::test]
    async fn the_database_purge_drops_only_rows_whose_budget_is_full_again() {
        let (limits, clock, _dir) = db_limits(100, 10).await;
        let Mode::Database { store, .. } = &limits.mode else {
            unreachable!()
        };
        for _ in 0..100 {
            limits.check("busy", V3).await.unwrap();
        }
        limits.check("light", V3).await.unwrap();
        clock.advance(5);
        let now = clock.now().timestamp_micros();
        assert_eq!(
            store.rate_limit_purge(now).await.unwrap(),
            1,
            "the light key"
        );
        for _ in 0..50 {
            assert!(limits.check("busy", V3).await.is_ok(), "half refilled");
        }
        assert!(
            limits.check("busy", V3).await.is_err(),
            "the busy key's state is intact: only half refilled"
        );
        clock.advance(9);
        let now = clock.now().timestamp_micros();
        assert_eq!(
            store.rate_limit_purge(now).await.unwrap(),
            0,
            "still refilling"
        );
        clock.advance(2);
        let now = clock.now().timestamp_micros();
        assert_eq!(
            store.rate_limit_purge(now).await.unwrap(),
            1,
            "the busy key, full again"
        );
    }

    #[test]
    fn paths_map_to_their_family() {
        let cases = [
            ("/v3/access-profiles", Some(V3)),
            ("/beta/task-status/x", Some(Bucket::Family(Family::Beta))),
            ("/v2025/roles", Some(Bucket::Family(Family::V2025))),
            ("/v2026/task-status", Some(Bucket::Family(Family::V2026))),
            ("/access-profiles/v1", Some(Bucket::Family(Family::V1))),
            (
                "/identity-profiles/v1/x/lifecycle-states",
                Some(Bucket::Family(Family::V1)),
            ),
            ("/health", None),
            ("/oauth/token", None),
            ("/", None),
        ];
        for (path, bucket) in cases {
            assert_eq!(Bucket::of_path(path), bucket, "{path}");
        }
    }
}
