//! `GET /metrics`: the Prometheus text format, read back with a Prometheus text-format
//! parser as a scraper would, after requests whose outcomes are known.

use accessd::domain::Clock;
use accessd::store::Backend;
use accessd::Config;
use prometheus_parse::{Sample, Scrape, Value as Metric};
use serde_json::json;

use crate::helpers::*;

/// The per-family budget of the server below: enough for the requests the test makes
/// on v3, spent on beta to get a 429.
const BUDGET: u32 = 20;

async fn scrape(app: &TestApp) -> Scrape {
    // Unauthenticated, like /health.
    let resp = app.http.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    let content_type = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let text = resp.text().await.unwrap();
    Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).expect("the Prometheus text format")
}

/// The samples of `metric` whose labels include all of `labels`.
fn samples<'a>(scrape: &'a Scrape, metric: &str, labels: &[(&str, &str)]) -> Vec<&'a Sample> {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == metric)
        .filter(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .collect()
}

/// The one value of `metric` with exactly these labels, `None` when the series is not
/// emitted at all (which is not the same as 0).
fn series(scrape: &Scrape, metric: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let found: Vec<&Sample> = samples(scrape, metric, labels)
        .into_iter()
        .filter(|s| s.labels.len() == labels.len())
        .collect();
    assert!(found.len() <= 1, "{metric} {labels:?}: {found:?}");
    match found.first().map(|s| &s.value) {
        None => None,
        Some(Metric::Counter(v) | Metric::Gauge(v) | Metric::Untyped(v)) => Some(*v),
        Some(other) => panic!("{metric}: not a single value: {other:?}"),
    }
}

/// The value of a series that must be emitted.
fn value(scrape: &Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
    series(scrape, metric, labels)
        .unwrap_or_else(|| panic!("{metric} {labels:?} is not emitted: {:?}", scrape.samples))
}

fn requests(scrape: &Scrape, family: &str, operation: &str, status: &str) -> f64 {
    value(
        scrape,
        "accessd_http_requests_total",
        &[
            ("family", family),
            ("operation", operation),
            ("status", status),
        ],
    )
}

#[tokio::test]
async fn metrics_count_requests_by_operation_and_status_refusals_and_tasks_by_state() {
    let app = TestApp::spawn_with_clock(Clock::frozen(), |c: &mut Config| {
        c.gateway.rate_limit_requests = BUDGET;
        c.gateway.rate_limit_window_secs = 60;
        // The bulk delete's task stays pending until the test drains it.
        c.tasks.task_runner = false;
    })
    .await;
    let f = app.fixture().await;
    let kept = app
        .create_access_profile("/v3/access-profiles", &ap_body(&f, "Kept"))
        .await;
    let gone = app
        .create_access_profile("/v3/access-profiles", &ap_body(&f, "Gone"))
        .await;
    let kept_id = kept["id"].as_str().unwrap();
    for _ in 0..3 {
        assert_eq!(
            app.get(&format!("/v3/access-profiles/{kept_id}"))
                .await
                .status(),
            200
        );
    }
    let unknown = "0".repeat(32);
    assert_eq!(
        app.get(&format!("/v3/access-profiles/{unknown}"))
            .await
            .status(),
        404
    );
    assert_eq!(app.get("/v3/no-such-collection").await.status(), 404);
    let resp = app
        .post(
            "/v3/access-profiles/bulk-delete",
            &json!({"accessProfileIds": [gone["id"]], "bestEffortOnly": false}),
        )
        .await;
    assert_eq!(resp.status(), 202);
    // beta's budget spent, then one more: refused by the rate limiter.
    for _ in 0..BUDGET {
        assert_eq!(
            app.get(&format!("/beta/access-profiles/{kept_id}"))
                .await
                .status(),
            200
        );
    }
    assert_eq!(
        app.get(&format!("/beta/access-profiles/{kept_id}"))
            .await
            .status(),
        429
    );

    let before = scrape(&app).await;
    assert_eq!(requests(&before, "v3", "createAccessProfile", "201"), 2.0);
    assert_eq!(requests(&before, "v3", "getAccessProfile", "200"), 3.0);
    assert_eq!(requests(&before, "v3", "getAccessProfile", "404"), 1.0);
    assert_eq!(
        requests(&before, "v3", "deleteAccessProfilesInBulk", "202"),
        1.0
    );
    assert_eq!(
        requests(&before, "beta", "getAccessProfile", "200"),
        f64::from(BUDGET)
    );
    // An unrouted path, and a request refused before its operation ran, are counted
    // under the family's fixed label, never their path.
    assert_eq!(requests(&before, "v3", "none", "404"), 1.0);
    assert_eq!(requests(&before, "beta", "none", "429"), 1.0);
    assert!(samples(&before, "accessd_http_requests_total", &[])
        .iter()
        .all(|s| !s.labels.get("operation").unwrap_or("").contains('/')));
    // The harness's token request.
    assert!(requests(&before, "none", "token", "200") >= 1.0);
    assert_eq!(
        value(
            &before,
            "accessd_rate_limit_refusals_total",
            &[("bucket", "beta")]
        ),
        1.0
    );
    // A counter appears with its first count: v3 was never refused.
    assert_eq!(
        series(
            &before,
            "accessd_rate_limit_refusals_total",
            &[("bucket", "v3")]
        ),
        None
    );

    // The latency histogram of the GETs: every one counted, each in its buckets.
    let get = [("family", "v3"), ("operation", "getAccessProfile")];
    assert_eq!(
        value(&before, "accessd_http_request_duration_seconds_count", &get),
        4.0,
        "the three 200s and the 404"
    );
    let histogram = samples(&before, "accessd_http_request_duration_seconds", &get);
    assert_eq!(histogram.len(), 1, "{histogram:?}");
    let Metric::Histogram(buckets) = &histogram[0].value else {
        panic!("not a histogram: {:?}", histogram[0]);
    };
    let bounds: Vec<f64> = buckets.iter().map(|b| b.less_than).collect();
    assert_eq!(bounds.first(), Some(&0.0005), "{bounds:?}");
    assert!(bounds.contains(&10.0), "{bounds:?}");
    assert!(
        buckets.windows(2).all(|w| w[0].count <= w[1].count),
        "cumulative: {buckets:?}"
    );
    assert_eq!(buckets.last().map(|b| b.count), Some(4.0), "{buckets:?}");

    // The gauges always set (README "### Metrics"), at zero too: every task state and
    // completion status, the connections and the pool.
    {
        let scraped = &before;
        for state in ["PENDING", "RUNNING"] {
            assert!(series(scraped, "accessd_tasks", &[("state", state)]).is_some());
        }
        for completion in ["SUCCESS", "WARNING", "ERROR", "TERMINATED", "TEMPERROR"] {
            let labels = [("state", "FINISHED"), ("completion_status", completion)];
            assert!(
                series(scraped, "accessd_tasks", &labels).is_some(),
                "{labels:?}"
            );
        }
        for gauge in [
            "accessd_open_connections",
            "accessd_db_connections_open",
            "accessd_db_connections_idle",
        ] {
            assert!(series(scraped, gauge, &[]).is_some(), "{gauge}");
        }
        // The pool's maximum: PostgreSQL's pool has one, SQLite's connections do not.
        assert_eq!(
            series(scraped, "accessd_db_connections_max", &[]).is_some(),
            backend() == Backend::Postgres
        );
    }

    // Tasks by state: the bulk delete's task is pending until it runs.
    let pending = [("state", "PENDING")];
    let succeeded = [("state", "FINISHED"), ("completion_status", "SUCCESS")];
    assert_eq!(value(&before, "accessd_tasks", &pending), 1.0);
    assert_eq!(value(&before, "accessd_tasks", &succeeded), 0.0);
    app.drain_tasks().await;
    let after = scrape(&app).await;
    assert_eq!(value(&after, "accessd_tasks", &pending), 0.0);
    assert_eq!(value(&after, "accessd_tasks", &succeeded), 1.0);
    assert_eq!(value(&after, "accessd_tasks", &[("state", "RUNNING")]), 0.0);

    // The scrape before this one is counted too; connections and the pool are read.
    assert_eq!(requests(&after, "none", "metrics", "200"), 1.0);
    assert!(value(&after, "accessd_open_connections", &[]) >= 1.0);
    let open = value(&after, "accessd_db_connections_open", &[]);
    let idle = value(&after, "accessd_db_connections_idle", &[]);
    assert!(open >= 1.0 && idle <= open, "open {open}, idle {idle}");
}
