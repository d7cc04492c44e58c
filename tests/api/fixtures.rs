//! Fixtures through the admin API and `serve --fixture`: loading the checked-in
//! example, the lossless round trip of an export, the refusal of an invalid fixture
//! with every problem listed, and the start-up load by the real binary.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::helpers::*;
use crate::process::Server;

const EXAMPLE: &str = include_str!("../../examples/fixture.yaml");

async fn post_yaml(app: &TestApp, yaml: &str, content_type: &str) -> reqwest::Response {
    app.request(reqwest::Method::POST, "/_accessd/reset")
        .header("Content-Type", content_type)
        .body(yaml.to_string())
        .send()
        .await
        .unwrap()
}

fn names(list: &Value, key: &str) -> Vec<String> {
    let mut n: Vec<String> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i[key].as_str().unwrap_or_default().to_string())
        .collect();
    n.sort();
    n
}

fn by_name<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {list}"))
}

fn ref_names(refs: &Value) -> Vec<String> {
    refs.as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn the_example_fixture_loads_as_yaml_with_its_objects_relations_and_ids() {
    let app = TestApp::spawn_with(|c| c.demo = true).await;
    let resp = post_yaml(&app, EXAMPLE, "application/yaml").await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["to"], "fixture");
    assert_eq!(body["loaded"]["accessProfiles"], 2);

    let aps = app.get_json("/v3/access-profiles").await;
    assert_eq!(
        names(&aps, "name"),
        ["AD Remote Worker", "Salesforce Sales"]
    );
    let remote = by_name(&aps, "AD Remote Worker");
    assert_eq!(
        remote["id"], "2c9180887a1b4c2d8e3f4a5b6c7d8e9f",
        "a given id is kept"
    );
    assert_eq!(remote["source"]["id"], "2c91808a7b5c4f1e9d3a2b1c0d9e8f7a");
    assert_eq!(remote["owner"]["name"], "Sam Sourceman");
    assert_eq!(
        ref_names(&remote["entitlements"]),
        ["Domain Users", "VPN Users"]
    );
    assert_eq!(remote["requestable"], true);
    assert_eq!(by_name(&aps, "Salesforce Sales")["requestable"], false);
    let segments = app.get_json("/v3/segments").await;
    assert_eq!(names(&segments, "name"), ["Remote Staff"]);
    assert_eq!(remote["segments"], json!([segments[0]["id"]]));

    let roles = app.get_json("/v3/roles").await;
    assert_eq!(names(&roles, "name"), ["Sales Representative"]);
    assert_eq!(
        ref_names(&roles[0]["accessProfiles"]),
        ["AD Remote Worker", "Salesforce Sales"]
    );
    assert_eq!(ref_names(&roles[0]["entitlements"]), ["Domain Users"]);
    assert_eq!(roles[0]["segments"], json!([segments[0]["id"]]));

    let sources = app.get_json("/v3/sources").await;
    assert_eq!(names(&sources, "name"), ["Active Directory", "Salesforce"]);
    assert_eq!(
        by_name(&sources, "Active Directory")["managementWorkgroup"]["name"],
        "AD Admins"
    );
    let groups = app.get_json("/beta/workgroups").await;
    assert_eq!(names(&groups, "name"), ["AD Admins"]);
    let members = app
        .get_json(&format!(
            "/beta/workgroups/{}/members",
            groups[0]["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(names(&members, "name"), ["Sam Sourceman"]);

    let identities = app.get_json("/beta/identities").await;
    assert_eq!(
        names(&identities, "alias"),
        ["accessd.admin", "ada.lovelace", "sam.sourceman", "uma.user"],
        "the fixture's identities and the admin client's, which the reset keeps"
    );
    let sam = identities
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["alias"] == "sam.sourceman")
        .unwrap();
    assert_eq!(sam["id"], "5a3f0c1e2b4d4e6f8a9b0c1d2e3f4a5b");
    assert_eq!(sam["managerRef"]["name"], "Ada Lovelace");

    let apps = app.get_json("/beta/source-apps").await;
    assert_eq!(names(&apps, "name"), ["Salesforce CRM"]);
    let held = app
        .get_json(&format!(
            "/beta/source-apps/{}/access-profiles",
            apps[0]["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(names(&held, "name"), ["Salesforce Sales"]);

    let export = app.get_json("/_accessd/fixture").await;
    let profile_id = export["identityProfiles"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let states = app
        .get_json(&format!(
            "/v3/identity-profiles/{profile_id}/lifecycle-states"
        ))
        .await;
    assert_eq!(names(&states, "name"), ["Active", "Inactive"]);
    let active = by_name(&states, "Active");
    assert_eq!(active["technicalName"], "active");
    assert_eq!(active["accessProfileIds"], json!([remote["id"]]));
    assert_eq!(by_name(&states, "Inactive")["enabled"], false);

    // The fixture's API client, with the secret it gave, gets a token.
    let token = app
        .fetch_token("ci-pipeline", "ci-pipeline-secret-0123456789")
        .await;
    let resp = app
        .http
        .get(app.url("/v3/access-profiles"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    // The other YAML media types are accepted too; the load is the same.
    for ct in ["application/x-yaml", "text/yaml"] {
        assert_eq!(post_yaml(&app, EXAMPLE, ct).await.status(), 200, "{ct}");
        assert_eq!(
            app.get_json("/_accessd/fixture").await["accessProfiles"]
                .as_array()
                .unwrap()
                .len(),
            2
        );
    }
}

/// Every list of the v3 and beta families the fixture fills, each listed object's GET
/// and sub-lists: `(status, body)` by path; bodies of errors are left out (their
/// tracking ids differ).
async fn answers(app: &TestApp) -> BTreeMap<String, (u16, Value)> {
    let mut out = BTreeMap::new();
    let lists = [
        "/v3/access-profiles",
        "/beta/access-profiles",
        "/v3/roles",
        "/beta/roles",
        "/v3/sources",
        "/beta/entitlements",
        "/beta/identities",
        "/v3/public-identities",
        "/beta/workgroups",
        "/v3/segments",
        "/beta/segments",
        "/beta/source-apps",
        "/beta/source-apps/all",
    ];
    for list in lists {
        // v3 roles take at most 50 (listRoles' limit).
        let limit = if list == "/v3/roles" { 50 } else { 250 };
        let path = format!("{list}?limit={limit}");
        let resp = app.get(&path).await;
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        if status != 200 {
            out.insert(path, (status, Value::Null));
            continue;
        }
        for item in body.as_array().unwrap() {
            let Some(id) = item["id"].as_str() else {
                continue;
            };
            let base = list.trim_end_matches("/all");
            let mut gets = vec![format!("{base}/{id}")];
            match list {
                "/v3/access-profiles" | "/beta/access-profiles" => {
                    gets.push(format!("{list}/{id}/entitlements"))
                }
                "/beta/workgroups" => gets.push(format!("{list}/{id}/members")),
                "/beta/source-apps" | "/beta/source-apps/all" => {
                    gets.push(format!("{base}/{id}/access-profiles"))
                }
                _ => {}
            }
            for get in gets {
                let resp = app.get(&get).await;
                let status = resp.status().as_u16();
                let body = if status == 200 {
                    resp.json().await.unwrap()
                } else {
                    Value::Null
                };
                out.insert(get, (status, body));
            }
        }
        out.insert(path, (status, body));
    }
    let export = app.get_json("/_accessd/fixture").await;
    for profile in export["identityProfiles"].as_array().into_iter().flatten() {
        let id = profile["id"].as_str().unwrap();
        // v3 lists and gets; v1 lists (beta has no lifecycle states).
        let list = format!("/v3/identity-profiles/{id}/lifecycle-states");
        let body = app.get_json(&list).await;
        for state in body.as_array().unwrap() {
            let get = format!("{list}/{}", state["id"].as_str().unwrap());
            out.insert(get.clone(), (200, app.get_json(&get).await));
        }
        out.insert(list, (200, body));
        let list = format!("/identity-profiles/v1/{id}/lifecycle-states");
        out.insert(list.clone(), (200, app.get_json(&list).await));
    }
    out
}

/// The same paths with the same answers, naming the first that differs.
fn assert_same(before: &BTreeMap<String, (u16, Value)>, after: &BTreeMap<String, (u16, Value)>) {
    let paths = |m: &BTreeMap<String, (u16, Value)>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(paths(before), paths(after));
    for (path, answer) in before {
        assert_eq!(Some(answer), after.get(path), "{path}");
    }
}

#[tokio::test]
async fn an_export_loads_back_to_the_same_answers_and_the_same_export() {
    let mut app = TestApp::spawn().await;
    assert_eq!(
        app.post("/_accessd/reset", &json!({"to": "demo"}))
            .await
            .status(),
        200
    );
    // Changes through the API: a patch, a delete, a new segment with members.
    let aps = app.get_json("/v3/access-profiles?limit=250").await;
    let basic = by_name(&aps, "AD Basic Access")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let payroll = by_name(&aps, "Workday Payroll")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let hr = by_name(&aps, "AD HR Shares")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let resp = app
        .patch(
            &format!("/v3/access-profiles/{basic}"),
            &json!([{"op": "replace", "path": "/description", "value": "Changed"}]),
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        app.delete(&format!("/v3/access-profiles/{payroll}"))
            .await
            .status(),
        204
    );
    let resp = app
        .post(
            "/v3/segments",
            &json!({"name": "Round trip", "description": "made by the test", "active": true}),
        )
        .await;
    assert_eq!(resp.status(), 201);
    let segment: Value = resp.json().await.unwrap();
    let resp = app
        .patch(
            &format!("/v3/access-profiles/{hr}"),
            &json!([{"op": "add", "path": "/segments", "value": [segment["id"]]}]),
        )
        .await;
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    // Later: a load that stamped with the clock instead of keeping the stamps shows.
    app.clock.freeze();
    app.clock.advance(3600);
    app.renew_token().await;

    let before = answers(&app).await;
    let first = app.get_json("/_accessd/fixture").await;
    let yaml = app
        .request(reqwest::Method::GET, "/_accessd/fixture")
        .header("Accept", "application/yaml")
        .send()
        .await
        .unwrap();
    assert_eq!(yaml.status(), 200);
    assert_eq!(yaml.headers()["content-type"], "application/yaml");
    let yaml = yaml.text().await.unwrap();

    assert_eq!(
        app.post("/_accessd/reset", &json!({"to": "empty"}))
            .await
            .status(),
        200
    );
    assert_eq!(app.get_json("/v3/access-profiles").await, json!([]));
    // Loaded from JSON…
    let resp = app
        .post("/_accessd/reset", &json!({"fixture": first}))
        .await;
    assert_eq!(resp.status(), 200);
    assert_same(&before, &answers(&app).await);
    assert_eq!(
        app.get_json("/_accessd/fixture").await,
        first,
        "export again equals the first"
    );
    // …and from the YAML export.
    assert_eq!(
        app.post("/_accessd/reset", &json!({"to": "empty"}))
            .await
            .status(),
        200
    );
    assert_eq!(
        post_yaml(&app, &yaml, "application/yaml").await.status(),
        200
    );
    assert_same(&before, &answers(&app).await);
    assert_eq!(app.get_json("/_accessd/fixture").await, first);
    // The changes are in it.
    assert_eq!(
        app.get_json(&format!("/v3/access-profiles/{basic}")).await["description"],
        "Changed"
    );
    assert_eq!(
        app.get(&format!("/v3/access-profiles/{payroll}"))
            .await
            .status(),
        404
    );
    assert_eq!(
        app.get_json(&format!("/v3/access-profiles/{hr}")).await["segments"],
        json!([segment["id"]])
    );
}

#[tokio::test]
async fn an_invalid_fixture_is_refused_with_every_problem_and_nothing_changes() {
    let app = TestApp::spawn().await;
    assert_eq!(
        app.post("/_accessd/reset", &json!({"to": "demo"}))
            .await
            .status(),
        200
    );
    let before = answers(&app).await;
    let bad = r#"
format: accessd-fixture/1
identities:
  - alias: ada
sources:
  - name: AD
    owner: ada
    entitlements: [{name: VPN}]
  - name: CRM
    owner: ada
    entitlements: [{name: Sales}]
  - name: Orphan
    connector: x
accessProfiles:
  - name: Mixed
    owner: ada
    source: AD
    entitlements: [VPN, Sales]
  - name: Mixed
    owner: ada
    source: AD
  - name: Ghost owner
    owner: nobody
    source: AD
  - name: Typo
    owner: ada
    source: AD
    requestible: true
"#;
    let resp = post_yaml(&app, bad, "application/yaml").await;
    let status = resp.status();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["detailCode"], "400.1 Bad Request Content");
    let causes: Vec<&str> = body["causes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["text"].as_str().unwrap())
        .collect();
    let text = body["messages"][0]["text"].as_str().unwrap();
    let expected = [
        r#"sources[2] "Orphan": owner is required"#,
        r#"accessProfiles[0] "Mixed": entitlement "Sales" is on source "CRM", not on the profile's source "AD""#,
        r#"accessProfiles[1] "Mixed": name "Mixed" is used twice"#,
        r#"accessProfiles[2] "Ghost owner": owner "nobody" is not an identity of the fixture"#,
        r#"accessProfiles[3] "Typo": unknown field `requestible`"#,
    ];
    for e in expected {
        assert!(
            causes.iter().any(|c| c.starts_with(e)),
            "{e} not in {causes:#?}"
        );
        assert!(text.contains(e), "{e} not in {text}");
    }
    assert_eq!(causes.len(), expected.len(), "{causes:#?}");
    assert_same(&before, &answers(&app).await);

    // Broken YAML: the position is named.
    let resp = post_yaml(
        &app,
        "format: accessd-fixture/1\nidentities: [\n  - alias: x\n",
        "application/yaml",
    )
    .await;
    let text = assert_isc_error(resp, 400, "400.1 Bad Request Content").await;
    assert!(
        text.contains("not valid YAML") && text.contains("line"),
        "{text}"
    );
    // An unknown top-level key and a missing format, in JSON.
    let resp = app
        .post("/_accessd/reset", &json!({"fixture": {"people": []}}))
        .await;
    let text = assert_isc_error(resp, 400, "400.1 Bad Request Content").await;
    assert!(
        text.contains("format is required") && text.contains("unknown key \"people\""),
        "{text}"
    );
    assert_same(&before, &answers(&app).await);
}

#[tokio::test]
async fn without_the_admin_scope_a_fixture_is_neither_loaded_nor_exported() {
    let app = TestApp::spawn().await;
    assert_eq!(
        app.post("/_accessd/reset", &json!({"to": "demo"}))
            .await
            .status(),
        200
    );
    let (org_admin, _) = app.token_for(&["ORG_ADMIN"], &["sp:scopes:all"]).await;
    let before = answers(&app).await;
    let resp = app
        .http
        .post(app.url("/_accessd/reset"))
        .bearer_auth(&org_admin)
        .header("Content-Type", "application/yaml")
        .body(EXAMPLE)
        .send()
        .await
        .unwrap();
    assert_isc_error(resp, 403, "403 Forbidden").await;
    let resp = app
        .http
        .get(app.url("/_accessd/fixture"))
        .bearer_auth(&org_admin)
        .send()
        .await
        .unwrap();
    assert_isc_error(resp, 403, "403 Forbidden").await;
    assert_same(&before, &answers(&app).await);
}

#[tokio::test]
async fn serve_loads_its_fixture_into_a_new_database_only_and_refuses_a_bad_one() {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database_url(dir.path()).await;
    let file = dir.path().join("tenant.yaml");
    std::fs::write(&file, EXAMPLE).unwrap();
    let path = file.to_str().unwrap();

    let server = Server::start(&url, &["--fixture", path]).await;
    let (status, aps) = server.get("/v3/access-profiles").await;
    assert_eq!(status, 200);
    assert_eq!(
        names(&aps, "name"),
        ["AD Remote Worker", "Salesforce Sales"]
    );
    let (status, _) = server
        .call(
            reqwest::Method::DELETE,
            "/v3/access-profiles/2c9180887a1b4c2d8e3f4a5b6c7d8e9f",
            None,
        )
        .await;
    assert_eq!(status, 400, "in use by a role and a lifecycle state");
    let (status, _) = server.post("/_accessd/reset", json!({"to": "empty"})).await;
    assert_eq!(status, 200);
    drop(server);

    // A second start keeps the tenant (now empty) and says so, naming the file.
    let server = Server::start_logging(&url, &["--fixture", path], "info").await;
    let (_, aps) = server.get("/v3/access-profiles").await;
    assert_eq!(aps, json!([]));
    let log = server.log_lines().join("\n");
    assert!(
        log.contains("was not loaded") && log.contains(path),
        "{log}"
    );
    drop(server);

    // A bad file fails the start, naming it and every problem.
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "format: accessd-fixture/1\nidentities: [{alias: a}]\naccessProfiles:\n  - {name: X, owner: b, source: S}\n",
    )
    .unwrap();
    let other = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_accessd"))
        .args(["serve", "--addr", "127.0.0.1:0", "--database-url"])
        .arg(fresh_database_url(other.path()).await)
        .arg("--fixture")
        .arg(&bad)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(bad.to_str().unwrap()), "{err}");
    assert!(err.contains("owner \"b\" is not an identity"), "{err}");
    assert!(err.contains("source \"S\" is not a source"), "{err}");
}
