//! The instance's metrics in the Prometheus text format at `GET /metrics`: requests and
//! their latency by family and operation, rate-limit refusals, tasks by state, open
//! connections and the database's connections.
//!
//! Requests are counted by [`observe`], the layer around every route and the fallbacks
//! (inside the request context and the cross-cutting layers: a request whose handler
//! panicked, cut off by the request timeout, refused on its `Content-Length` by the body
//! limit or for a `%00` in its path, or a CORS preflight, is not counted — the README's
//! "Metrics" section lists them), from what the per-operation layer already tells
//! the journal (`control::answered`): the family and the operationId of the route that
//! answered. A request no operation answered (an
//! unknown path, a refusal before routing, the token endpoint, health) is counted under
//! a fixed operation label, never its path, so the number of series stays bounded by
//! the spec's operations. Connections are read at each scrape; tasks and the pool, read
//! from the database, at most once per [`STORE_GAUGES_TTL`], so a storm of scrapes costs
//! one query per second (and `/metrics` is under the in-flight bound of the API).
//!
//! The recorder belongs to this instance (no global recorder), so servers sharing a
//! process — the tests — each count their own requests.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, RwLock};
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use metrics::{Counter, Gauge, Histogram, Key, Label, Metadata, Recorder, Unit};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};

use super::control::{self, Control};
use super::error::{ApiError, REQUEST_CONTEXT};
use super::rate_limit::Bucket;
use super::AppState;
use crate::domain::task::{CompletionStatus, TaskState};

const REQUESTS: &str = "accessd_http_requests_total";
const DURATION: &str = "accessd_http_request_duration_seconds";
const RATE_LIMITED: &str = "accessd_rate_limit_refusals_total";
const AUTH_THROTTLED: &str = "accessd_auth_failure_refusals_total";
const TASKS: &str = "accessd_tasks";
const CONNECTIONS: &str = "accessd_open_connections";
const DB_OPEN: &str = "accessd_db_connections_open";
const DB_IDLE: &str = "accessd_db_connections_idle";
const DB_MAX: &str = "accessd_db_connections_max";

/// Latency buckets, in seconds: from half a millisecond (a GET served from the page
/// cache) to ten seconds (past the usual client timeouts).
pub const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// How long the gauges read from the database (tasks by state, the pool) are rendered
/// as read before a scrape reads them again.
pub const STORE_GAUGES_TTL: Duration = Duration::from_secs(1);

/// The family label of a request outside every family (`/health`, `/oauth/token`).
pub const NO_FAMILY: &str = "none";

/// The operation label of a request no operation answered, by where it went: a fixed
/// set, whatever the path.
fn unanswered_operation(path: &str) -> &'static str {
    match path {
        "/oauth/token" => "token",
        "/health" | "/health/ready" => "health",
        "/metrics" => "metrics",
        _ if path.starts_with("/openapi/") => "openapi",
        _ if path.starts_with("/_accessd/") => "admin",
        // An unknown path or method, or a request refused before its operation ran
        // (rate limit, overload).
        _ => "none",
    }
}

static METADATA: Metadata<'static> =
    Metadata::new(module_path!(), metrics::Level::INFO, Some(module_path!()));

/// Counts one process's requests; rendered by [`scrape`].
pub struct Metrics {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    /// The handles of the request series seen so far, so a request costs a map
    /// lookup instead of building and hashing the recorder's key. Keyed by where the
    /// labels' static strings are (see [`SeriesKey`]).
    requests: RwLock<HashMap<SeriesKey, Counter, BuildSeriesHasher>>,
    durations: RwLock<HashMap<SeriesKey, Histogram, BuildSeriesHasher>>,
    /// Reads the number of open connections (set by the server once it has them).
    connections: OnceLock<Box<dyn Fn() -> usize + Send + Sync>>,
    /// When the database's gauges were last read; held by the scrape reading them, so
    /// concurrent scrapes wait for that one read instead of each querying.
    store_read: tokio::sync::Mutex<Option<Instant>>,
    /// Set by [`Metrics::forget_store_gauges`]: the next scrape reads them again.
    store_stale: AtomicBool,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(DURATION.into()), &LATENCY_BUCKETS)
            .map(PrometheusBuilder::build_recorder)
            // Only an empty bucket list is refused; ours is not.
            .unwrap_or_else(|_| PrometheusBuilder::new().build_recorder());
        for (name, text) in [
            (
                REQUESTS,
                "Requests answered, by route family, operationId and status.",
            ),
            (
                RATE_LIMITED,
                "Requests refused with 429 by the per-client rate limit (CONTRACT §8), by bucket.",
            ),
            (
                AUTH_THROTTLED,
                "Token requests refused with 429 after too many failed authentications.",
            ),
        ] {
            recorder.describe_counter(name.into(), None, text.into());
        }
        recorder.describe_histogram(
            DURATION.into(),
            Some(Unit::Seconds),
            "Time from a request's arrival to its answer's head, by route family and operationId."
                .into(),
        );
        for (name, text) in [
            (
                TASKS,
                "Tasks in the database, by state and, once finished, completion status.",
            ),
            (CONNECTIONS, "HTTP connections open now."),
            (
                DB_OPEN,
                "Database connections open now (SQLite: the readers and the writer).",
            ),
            (DB_IDLE, "Database connections open and idle now."),
            (DB_MAX, "The most database connections the pool opens."),
        ] {
            recorder.describe_gauge(name.into(), None, text.into());
        }
        Self {
            handle: recorder.handle(),
            recorder,
            requests: RwLock::default(),
            durations: RwLock::default(),
            connections: OnceLock::new(),
            store_read: tokio::sync::Mutex::new(None),
            store_stale: AtomicBool::new(false),
        }
    }

    /// Where the number of open connections is read from at each scrape.
    pub fn count_connections_with(&self, open: impl Fn() -> usize + Send + Sync + 'static) {
        let _ = self.connections.set(Box::new(open));
    }

    /// One answered request.
    pub fn request(
        &self,
        family: &'static str,
        operation: &'static str,
        status: StatusCode,
        elapsed: Duration,
    ) {
        let status = status.as_u16();
        let counter = cached(
            &self.requests,
            SeriesKey::of(family, operation, status),
            || {
                self.recorder.register_counter(
                    &Key::from_parts(
                        REQUESTS,
                        vec![
                            Label::from_static_parts("family", family),
                            Label::from_static_parts("operation", operation),
                            Label::new("status", status.to_string()),
                        ],
                    ),
                    &METADATA,
                )
            },
        );
        counter.increment(1);
        let histogram = cached(&self.durations, SeriesKey::of(family, operation, 0), || {
            self.recorder.register_histogram(
                &Key::from_parts(
                    DURATION,
                    vec![
                        Label::from_static_parts("family", family),
                        Label::from_static_parts("operation", operation),
                    ],
                ),
                &METADATA,
            )
        });
        histogram.record(elapsed.as_secs_f64());
    }

    /// A request refused by the rate limit of `bucket`.
    pub fn rate_limited(&self, bucket: Bucket) {
        self.recorder
            .register_counter(
                &Key::from_parts(
                    RATE_LIMITED,
                    vec![Label::from_static_parts("bucket", bucket.as_str())],
                ),
                &METADATA,
            )
            .increment(1);
    }

    /// A token request refused because its client id or address failed too often.
    pub fn auth_throttled(&self) {
        self.recorder
            .register_counter(&Key::from_static_name(AUTH_THROTTLED), &METADATA)
            .increment(1);
    }

    fn gauge(&self, name: &'static str, labels: Vec<Label>) -> Gauge {
        self.recorder
            .register_gauge(&Key::from_parts(name, labels), &METADATA)
    }

    /// Folds the histograms' samples into their buckets, so memory does not grow
    /// with the requests between two scrapes (the housekeeping loop calls it).
    pub fn upkeep(&self) {
        self.handle.run_upkeep();
    }

    /// The next scrape reads the database's gauges again, however recent the last read
    /// (after this instance ran its tasks: `App::drain_tasks`).
    pub fn forget_store_gauges(&self) {
        self.store_stale.store(true, Ordering::Release);
    }

    /// Reads the gauges of the moment (those from the database at most once per
    /// [`STORE_GAUGES_TTL`]) and renders everything.
    async fn render(&self, state: &AppState) -> Result<String, ApiError> {
        {
            let mut read = self.store_read.lock().await;
            let stale = self.store_stale.swap(false, Ordering::AcqRel);
            if stale || read.is_none_or(|at| at.elapsed() >= STORE_GAUGES_TTL) {
                self.read_store_gauges(state).await?;
                *read = Some(Instant::now());
            }
        }
        if let Some(open) = self.connections.get() {
            self.gauge(CONNECTIONS, Vec::new()).set(open() as f64);
        }
        Ok(self.handle.render())
    }

    /// Tasks by state and the pool's connections, from the store.
    async fn read_store_gauges(&self, state: &AppState) -> Result<(), ApiError> {
        let counts = state.store.count_tasks_by_state().await?;
        let count = |s: TaskState, c: Option<CompletionStatus>| {
            counts
                .iter()
                .filter(|(state, completion, _)| *state == s && *completion == c)
                .map(|(_, _, n)| *n)
                .sum::<i64>()
        };
        // Every state is set, at zero too, so a state that empties does not keep its
        // last count.
        for state in [TaskState::Pending, TaskState::Running] {
            self.gauge(
                TASKS,
                vec![Label::from_static_parts("state", state.as_str())],
            )
            .set(count(state, None) as f64);
        }
        for completion in CompletionStatus::ALL {
            self.gauge(
                TASKS,
                vec![
                    Label::from_static_parts("state", TaskState::Finished.as_str()),
                    Label::from_static_parts("completion_status", completion.as_str()),
                ],
            )
            .set(count(TaskState::Finished, Some(completion)) as f64);
        }
        let pool = state.store.pool_stats();
        self.gauge(DB_OPEN, Vec::new()).set(pool.open as f64);
        self.gauge(DB_IDLE, Vec::new()).set(pool.idle as f64);
        if let Some(max) = pool.max {
            self.gauge(DB_MAX, Vec::new()).set(max as f64);
        }
        Ok(())
    }
}

/// A request series by the addresses of its family's and operation's labels (static
/// strings) and its status: hashed and compared as three integers. The same label
/// text at two addresses makes two keys for one series, which the recorder registers
/// once, so both keys hold the same handle.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct SeriesKey(usize, usize, u16);

impl SeriesKey {
    fn of(family: &'static str, operation: &'static str, status: u16) -> Self {
        Self(
            family.as_ptr() as usize,
            operation.as_ptr() as usize,
            status,
        )
    }
}

/// Hashes a [`SeriesKey`] by multiplying and rotating its integers (the keys are the
/// server's own labels, few and not chosen by clients, so a keyed hash buys nothing).
#[derive(Clone, Copy, Default)]
struct BuildSeriesHasher;

impl std::hash::BuildHasher for BuildSeriesHasher {
    type Hasher = SeriesHasher;

    fn build_hasher(&self) -> SeriesHasher {
        SeriesHasher(0)
    }
}

struct SeriesHasher(u64);

impl SeriesHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl std::hash::Hasher for SeriesHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.add(u64::from(b));
        }
    }

    fn write_u16(&mut self, n: u16) {
        self.add(u64::from(n));
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// The handle under `key`, registered on first use.
fn cached<V: Clone>(
    map: &RwLock<HashMap<SeriesKey, V, BuildSeriesHasher>>,
    key: SeriesKey,
    register: impl FnOnce() -> V,
) -> V {
    if let Some(v) = map.read().ok().and_then(|m| m.get(&key).cloned()) {
        return v;
    }
    let v = register();
    if let Ok(mut m) = map.write() {
        m.entry(key).or_insert_with(|| v.clone());
    }
    v
}

/// `GET /metrics`: the Prometheus text format (version 0.0.4). Unauthenticated, like
/// `/health`: it names operations and counts, no tenant data.
pub async fn scrape(State(state): State<AppState>) -> Result<Response, ApiError> {
    let body = state.metrics.render(&state).await?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response())
}

/// The layer around every route: counts each answer in the metrics and, but for the
/// admin API's own calls, records it in the journal, from one reading of the clock
/// and the operation the per-operation layer reports.
pub async fn observe(
    State(state): State<AppState>,
    Extension(control): Extension<Arc<Control>>,
    req: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let journal = control.journal_size() > 0 && !req.uri().path().starts_with("/_accessd/");
    let request = journal.then(|| {
        (
            crate::domain::format_timestamp(&control.clock().now()),
            req.method().to_string(),
            req.uri().path().to_string(),
            req.uri().query().map(control::redacted_query),
        )
    });
    let unanswered = (
        Bucket::of_path(req.uri().path()).map_or(NO_FAMILY, |b| b.as_str()),
        unanswered_operation(req.uri().path()),
    );
    let (mut response, recorded) = match if journal {
        control.read_body(req).await
    } else {
        Ok((req, None))
    } {
        Ok((req, recorded)) => (next.run(req).await, recorded),
        Err(refused) => (refused, None),
    };
    let elapsed = started.elapsed();
    let answered = control::answered(&mut response);
    let (family, operation) = match &answered {
        Some(a) => (a.operation.family.as_str(), a.operation.id.as_str()),
        None => unanswered,
    };
    state
        .metrics
        .request(family, operation, response.status(), elapsed);
    if let Some((time, method, path, query)) = request {
        let (body, body_truncated) = match recorded {
            Some((body, truncated)) => (Some(body), Some(truncated)),
            None => (None, None),
        };
        control.record(control::JournalEntry {
            time,
            method,
            path,
            query,
            status: response.status().as_u16(),
            family: answered.as_ref().map(|a| a.operation.family.as_str()),
            operation_id: answered.as_ref().map(|a| a.operation.id.as_str()),
            client_id: answered
                .as_ref()
                .and_then(|a| a.caller.as_ref())
                .map(|c| c.client_id.clone()),
            tracking_id: REQUEST_CONTEXT.try_with(|c| c.tracking_id.clone()).ok(),
            latency_ms: elapsed.as_secs_f64() * 1000.0,
            fault: answered.and_then(|a| a.fault),
            body,
            body_truncated,
        });
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_without_an_operation_get_a_fixed_label() {
        for (path, label) in [
            ("/oauth/token", "token"),
            ("/health", "health"),
            ("/health/ready", "health"),
            ("/metrics", "metrics"),
            ("/openapi/v3.json", "openapi"),
            ("/_accessd/faults", "admin"),
            ("/v3/no-such-thing/123", "none"),
            ("/a/b/c", "none"),
        ] {
            assert_eq!(unanswered_operation(path), label, "{path}");
        }
    }

    #[test]
    fn counters_and_histograms_render_with_their_labels() {
        let metrics = Metrics::new();
        for _ in 0..3 {
            metrics.request(
                "v3",
                "getAccessProfile",
                StatusCode::OK,
                Duration::from_micros(700),
            );
        }
        metrics.rate_limited(Bucket::Token);
        metrics.upkeep();
        let text = metrics.handle.render();
        assert!(
            text.contains(
                r#"accessd_http_requests_total{family="v3",operation="getAccessProfile",status="200"} 3"#
            ),
            "{text}"
        );
        assert!(text.contains(
            r#"accessd_http_request_duration_seconds_bucket{family="v3",operation="getAccessProfile",le="0.001"} 3"#
        ), "{text}");
        assert!(text.contains(
            r#"accessd_http_request_duration_seconds_bucket{family="v3",operation="getAccessProfile",le="0.0005"} 0"#
        ), "{text}");
        assert!(text.contains(r#"accessd_rate_limit_refusals_total{bucket="token"} 1"#));
    }
}
