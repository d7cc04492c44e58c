//! The year-versioned families (`/v2024`, `/v2025`, `/v2026`): the same store and
//! rules as v3 and beta, with the differences their documents name — the task list,
//! the entitlement shape and `searchAfter`, the experimental header on source apps,
//! the single delete's 204, and a rate-limit budget of their own. (The CRUD, deletion,
//! segment and role suites run over every family through `helpers::FAMILIES`.)

use accessd::domain::Clock;
use serde_json::{json, Value};

use crate::helpers::*;

const YEARS: [&str; 3] = ["/v2024", "/v2025", "/v2026"];

fn ids_of(list: &Value) -> Vec<String> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_profile_written_in_one_family_is_the_same_in_all_and_each_deletes_by_its_document() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let ap = app
        .create_access_profile("/v2025/access-profiles", &ap_body(&f, "Shared"))
        .await;
    let id = ap["id"].as_str().unwrap();
    for prefix in FAMILIES {
        let read = app.get_json(&format!("{prefix}/{id}")).await;
        assert_eq!(read["name"], "Shared", "{prefix}");
        assert_eq!(read["source"]["id"], f.source.id.as_str(), "{prefix}");
    }
    // Every year deletes with 204 and no body; beta with 202 and a task (seed 001).
    for year in YEARS {
        let ap = app
            .create_access_profile("/v3/access-profiles", &ap_body(&f, &format!("Gone {year}")))
            .await;
        let id = ap["id"].as_str().unwrap();
        let resp = app.delete(&format!("{year}/access-profiles/{id}")).await;
        assert_eq!(resp.status(), 204, "{year}");
        assert!(resp.bytes().await.unwrap().is_empty(), "{year}");
        let gone = app.get(&format!("/v3/access-profiles/{id}")).await;
        assert_isc_error(gone, 404, "404 Not found").await;
    }
    let ap = app
        .create_access_profile("/v3/access-profiles", &ap_body(&f, "Gone beta"))
        .await;
    let resp = app
        .delete(&format!(
            "/beta/access-profiles/{}",
            ap["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(resp.status(), 202);
}

#[tokio::test]
async fn each_year_lists_the_tasks_and_takes_the_filters_its_document_names() {
    let app = TestApp::spawn_with(|c| c.tasks.task_runner = false).await;
    let f = app.fixture().await;
    // A finished task (beta's single delete) and a pending one (a bulk delete with the
    // runner off).
    let done = app
        .create_access_profile("/v3/access-profiles", &ap_body(&f, "Done"))
        .await;
    let resp = app
        .delete(&format!(
            "/beta/access-profiles/{}",
            done["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(resp.status(), 202);
    let done_task = resp.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let pending = app
        .create_access_profile("/v3/access-profiles", &ap_body(&f, "Pending"))
        .await;
    let resp = app
        .post(
            "/v2025/access-profiles/bulk-delete",
            &json!({"accessProfileIds": [pending["id"]]}),
        )
        .await;
    assert_eq!(resp.status(), 202);
    let pending_task = resp.json::<Value>().await.unwrap()["taskId"]
        .as_str()
        .unwrap()
        .to_string();

    // v2024 lists completed tasks only, like beta; from v2025 every task.
    let v2024 = ids_of(&app.get_json("/v2024/task-status").await);
    assert!(v2024.contains(&done_task) && !v2024.contains(&pending_task));
    for year in ["/v2025", "/v2026"] {
        let all = ids_of(&app.get_json(&format!("{year}/task-status")).await);
        assert!(
            all.contains(&done_task) && all.contains(&pending_task),
            "{year}"
        );
        let unfinished = ids_of(
            &app.get_json(&format!(
                "{year}/task-status?filters=completionStatus%20isnull"
            ))
            .await,
        );
        assert_eq!(unfinished, vec![pending_task.clone()], "{year}");
    }
    let refused = app
        .get("/v2024/task-status?filters=completionStatus%20isnull")
        .await;
    let text = assert_isc_error(refused, 400, "400.1 Bad Request Content").await;
    assert!(text.contains("isnull"), "{text}");

    // `launcher` is a v2026 filter, not a v2025 one.
    let task = app
        .get_json(&format!("/v2026/task-status/{pending_task}"))
        .await;
    let launcher = task["launcher"].as_str().unwrap();
    let by_launcher = ids_of(
        &app.get_json(&format!(
            "/v2026/task-status?filters=launcher%20eq%20%22{launcher}%22"
        ))
        .await,
    );
    assert!(by_launcher.contains(&pending_task));
    let refused = app
        .get(&format!(
            "/v2025/task-status?filters=launcher%20eq%20%22{launcher}%22"
        ))
        .await;
    assert_isc_error(refused, 400, "400.1 Bad Request Content").await;

    // Pending tasks have their own list up to v2025; v2026 has none.
    for year in ["/v2024", "/v2025"] {
        let list = ids_of(
            &app.get_json(&format!("{year}/task-status/pending-tasks"))
                .await,
        );
        assert_eq!(list, vec![pending_task.clone()], "{year}");
    }
    let none = app.get("/v2026/task-status/pending-tasks").await;
    assert_isc_error(none, 404, "404 Not found").await;
}

#[tokio::test]
async fn entitlements_take_the_shape_of_each_years_document() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let id = &f.entitlements[0];
    for year in ["/v2024", "/v2025"] {
        let e = app.get_json(&format!("{year}/entitlements/{id}")).await;
        assert!(e["privileged"].is_boolean(), "{year}: {e}");
        assert!(e.get("privilegeLevel").is_none(), "{year}: {e}");
    }
    let e = app.get_json(&format!("/v2026/entitlements/{id}")).await;
    assert!(e.get("privileged").is_none(), "{e}");
    assert!(e.get("additionalOwners").is_none(), "{e}");
    assert!(e["privilegeLevel"]["direct"].is_string(), "{e}");
    assert!(e["tags"].is_array(), "{e}");

    // `privileged` is a field of beta's shape only: patched in v2025, refused in v2026.
    let set = json!([{"op": "replace", "path": "/privileged", "value": true}]);
    let resp = app.patch(&format!("/v2026/entitlements/{id}"), &set).await;
    assert_isc_error(resp, 400, "400.1 Bad Request Content").await;
    let still = app.get_json(&format!("/v2025/entitlements/{id}")).await;
    assert_eq!(still["privileged"], false);
    let resp = app.patch(&format!("/v2025/entitlements/{id}"), &set).await;
    assert_eq!(resp.status(), 200);
    let e = app.get_json(&format!("/v2026/entitlements/{id}")).await;
    assert_eq!(e["privilegeLevel"]["direct"], "HIGH", "{e}");
}

#[tokio::test]
async fn v2026_entitlements_page_after_the_last_values_of_the_sorters() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let all = app
        .get_json("/v2026/entitlements?sorters=-name,id&limit=250")
        .await;
    let all = all.as_array().unwrap().clone();
    assert!(all.len() >= 3, "{all:?}");
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let path = match &after {
            None => "/v2026/entitlements?sorters=-name,id&limit=2".to_string(),
            Some(a) => format!("/v2026/entitlements?sorters=-name,id&limit=2&searchAfter={a}"),
        };
        let page = app.get_json(&path).await;
        let page = page.as_array().unwrap();
        if page.is_empty() {
            break;
        }
        seen.extend(page.iter().cloned());
        let last = page.last().unwrap();
        after = Some(format!(
            "{},{}",
            urlencode(last["name"].as_str().unwrap()),
            last["id"].as_str().unwrap()
        ));
    }
    assert_eq!(ids_of(&Value::Array(seen)), ids_of(&Value::Array(all)));

    // With a filter: the page after the first entitlement of the fixture's source.
    let first = app
        .get_json(&format!(
            "/v2026/entitlements?sorters=id&filters=source.id%20eq%20%22{}%22",
            f.source.id
        ))
        .await;
    let ids = ids_of(&first);
    let rest = app
        .get_json(&format!(
            "/v2026/entitlements?sorters=id&filters=source.id%20eq%20%22{}%22&searchAfter={}",
            f.source.id, ids[0]
        ))
        .await;
    assert_eq!(ids_of(&rest), ids[1..].to_vec());

    // One value per sorter, of the sorter's type.
    for bad in [
        "sorters=name,id&searchAfter=only-one",
        "searchAfter=x",
        "sorters=created&searchAfter=yesterday",
    ] {
        let resp = app.get(&format!("/v2026/entitlements?{bad}")).await;
        let text = assert_isc_error(resp, 400, "400.1 Bad Request Content").await;
        assert!(text.contains("searchAfter"), "{bad}: {text}");
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn year_source_apps_need_the_experimental_header_and_beta_does_not() {
    let app = TestApp::spawn().await;
    for year in YEARS {
        // The body v1 answers without the header (CONTRACT §3.3).
        let refused = app.get(&format!("{year}/source-apps")).await;
        assert_eq!(refused.status(), 400, "{year}");
        let body: Value = refused.json().await.unwrap();
        assert_eq!(
            body,
            json!({"error": "Experimental Header is missing or invalid."})
        );
        let resp = app
            .request(reqwest::Method::GET, &format!("{year}/source-apps"))
            .header("X-SailPoint-Experimental", "true")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{year}");
    }
    assert_eq!(app.get("/beta/source-apps").await.status(), 200);
}

#[tokio::test]
async fn each_year_has_a_rate_limit_budget_of_its_own() {
    let app = TestApp::spawn_with_clock(Clock::frozen(), |c| {
        c.gateway.rate_limit_requests = 3;
        c.gateway.rate_limit_window_secs = 10;
    })
    .await;
    for _ in 0..3 {
        assert_eq!(app.get("/v2024/access-profiles").await.status(), 200);
    }
    assert_eq!(app.get("/v2024/roles").await.status(), 429);
    for family in [
        "/v2025/access-profiles",
        "/v2026/roles",
        "/v3/access-profiles",
    ] {
        assert_eq!(app.get(family).await.status(), 200, "{family}");
    }
}
