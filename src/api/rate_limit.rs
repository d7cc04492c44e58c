//! Rate limits per client and route family (CONTRACT §8), with governor's keyed GCRA
//! limiter. Each (client id, bucket) pair has a budget of `rate_limit_requests` that is
//! refilled continuously over `rate_limit_window_secs`: a client may send the whole
//! budget at once, and then one more request each `window / requests`.
//!
//! Only requests whose token verified are counted (and the token endpoint counts only
//! requests with valid credentials), so nobody can spend another client's budget, and
//! the keys are real client ids. Idle keys are dropped by [`RateLimits::purge`], which
//! the app runs periodically, so memory stays bounded by the clients active in the
//! last window. The limits live in this process: instances sharing a database each
//! count on their own.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::Clock as GovernorClock;
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use crate::auth::Family;
use crate::config::GatewayArgs;
use crate::domain::Clock;

/// What a client's requests are counted against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Bucket {
    /// `POST /oauth/token`.
    Token,
    /// One route family: `/v3/...`, `/beta/...`, or the per-service `/{service}/v1...`.
    Family(Family),
}

impl Bucket {
    /// The family bucket of a request path; `None` for paths outside every family
    /// (`/health`, `/oauth/token`, unknown roots).
    pub fn of_path(path: &str) -> Option<Bucket> {
        let mut segments = path.trim_start_matches('/').split('/');
        let first = segments.next().unwrap_or("");
        let family = match (first, segments.next()) {
            ("v3", _) => Family::V3,
            ("beta", _) => Family::Beta,
            (service, Some("v1")) if !service.is_empty() => Family::V1,
            _ => return None,
        };
        Some(Bucket::Family(family))
    }
}

/// governor's clock over the app's clock: its monotonic reading, which tests advance
/// (and freeze) instead of sleeping.
#[derive(Clone, Debug)]
pub struct LimiterClock(Clock);

impl GovernorClock for LimiterClock {
    type Instant = Nanos;

    fn now(&self) -> Nanos {
        Nanos::from(self.0.elapsed())
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
    /// `None` when rate limiting is off.
    limiter: Option<Keyed>,
    clock: LimiterClock,
}

impl RateLimits {
    pub fn new(config: &GatewayArgs, clock: Clock) -> Self {
        let clock = LimiterClock(clock);
        let limiter = NonZeroU32::new(config.rate_limit_requests).and_then(|requests| {
            let window = Duration::from_secs(config.rate_limit_window_secs);
            Quota::with_period(window / requests.get()).map(|quota| {
                RateLimiter::new(
                    quota.allow_burst(requests),
                    Default::default(),
                    clock.clone(),
                )
            })
        });
        Self { limiter, clock }
    }

    /// Counts one request of `client_id` against `bucket`.
    pub fn check(&self, client_id: &str, bucket: Bucket) -> Result<(), RetryAfter> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        limiter
            .check_key(&(client_id.to_string(), bucket))
            .map_err(|not_until| {
                let wait = not_until.wait_time_from(self.clock.now());
                // Whole seconds, rounded up, so a retry after that long conforms; a
                // 429 never says "retry after 0 seconds".
                let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                RetryAfter(secs.max(1))
            })
    }

    /// Forgets keys whose budget is full again (idle for a window): they are
    /// indistinguishable from new ones. Keeps memory bounded by the active clients.
    pub fn purge(&self) {
        if let Some(limiter) = &self.limiter {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }

    /// Keys held, for tests of the purge.
    pub fn len(&self) -> usize {
        self.limiter.as_ref().map_or(0, |l| l.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
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

    const V3: Bucket = Bucket::Family(Family::V3);

    #[test]
    fn the_budget_is_per_client_and_bucket() {
        let (limits, _) = limits(2, 10);
        assert!(limits.check("a", V3).is_ok());
        assert!(limits.check("a", V3).is_ok());
        assert_eq!(limits.check("a", V3), Err(RetryAfter(5)));
        assert!(limits.check("b", V3).is_ok());
        assert!(limits.check("a", Bucket::Family(Family::Beta)).is_ok());
        assert!(limits.check("a", Bucket::Token).is_ok());
    }

    #[test]
    fn retry_after_is_rounded_up_and_truthful() {
        // 3 per 10 s: one request every 3.33 s once the budget is spent.
        let (limits, clock) = limits(3, 10);
        for _ in 0..3 {
            assert!(limits.check("a", V3).is_ok());
        }
        assert_eq!(limits.check("a", V3), Err(RetryAfter(4)));
        clock.advance(3);
        assert_eq!(limits.check("a", V3), Err(RetryAfter(1)));
        clock.advance(1);
        assert!(limits.check("a", V3).is_ok());
        assert!(limits.check("a", V3).is_err());
    }

    #[test]
    fn zero_requests_switches_limiting_off() {
        let (limits, _) = limits(0, 10);
        for _ in 0..1000 {
            assert!(limits.check("a", V3).is_ok());
        }
        assert!(limits.is_empty());
    }

    #[test]
    fn purge_forgets_clients_whose_budget_is_full_again() {
        let (limits, clock) = limits(100, 10);
        for _ in 0..100 {
            limits.check("busy", V3).unwrap();
        }
        limits.check("light", V3).unwrap();
        assert_eq!(limits.len(), 2);
        clock.advance(5);
        limits.purge();
        assert_eq!(limits.len(), 1, "only the key still refilling is kept");
        assert!(limits.check("busy", V3).is_ok(), "and its state is intact");
        clock.advance(6);
        limits.purge();
        assert!(limits.is_empty(), "a full budget is the same as no key");
    }

    #[test]
    fn paths_map_to_their_family() {
        let cases = [
            ("/v3/access-profiles", Some(V3)),
            ("/beta/task-status/x", Some(Bucket::Family(Family::Beta))),
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
