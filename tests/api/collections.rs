//! Collection parameters on list endpoints (CONTRACT §5): paging, count, filters and
//! sorters executed in SQL, and 400s that name the problem.

use serde_json::{json, Value};

use crate::helpers::*;

async fn names(app: &TestApp, path: &str) -> Vec<String> {
    let resp = app.get(path).await;
    assert_eq!(resp.status(), 200, "{path}");
    let list: Vec<Value> = resp.json().await.unwrap();
    list.iter()
        .map(|a| a["name"].as_str().unwrap().to_string())
        .collect()
}

async fn seeded() -> (TestApp, Fixture) {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    for (i, name) in ["Alpha", "Bravo", "Charlie", "Delta", "Echo"]
        .iter()
        .enumerate()
    {
        let mut body = ap_body(&f, name);
        body["requestable"] = json!(i % 2 == 0);
        if i >= 3 {
            body["source"] = json!({"id": f.other_source.id});
            body["entitlements"] = json!([{"id": f.other_entitlements[0]}]);
        }
        app.create_access_profile(FAMILIES[i % FAMILIES.len()], &body)
            .await;
    }
    (app, f)
}

#[tokio::test]
async fn limit_offset_and_count_page_deterministically() {
    let (app, _) = seeded().await;
    let resp = app
        .get("/v3/access-profiles?limit=2&offset=1&count=true&sorters=name")
        .await;
    assert_eq!(resp.headers()["X-Total-Count"], "5");
    let page: Vec<Value> = resp.json().await.unwrap();
    let got: Vec<&str> = page.iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!(got, ["Bravo", "Charlie"]);
    let resp = app.get("/v3/access-profiles").await;
    assert!(
        resp.headers().get("X-Total-Count").is_none(),
        "no count unless asked"
    );
    assert_eq!(names(&app, "/v3/access-profiles?limit=0").await.len(), 0);
    assert_eq!(names(&app, "/v3/access-profiles?offset=10").await.len(), 0);
}

#[tokio::test]
async fn filters_select_in_the_database_with_the_isc_grammar() {
    let (app, f) = seeded().await;
    let cases = [
        ("name eq \"Bravo\"", vec!["Bravo"]),
        ("name sw \"ch\"", vec!["Charlie"]),
        (
            &*format!("source.id in (\"{}\", \"nope\")", f.other_source.id),
            vec!["Delta", "Echo"],
        ),
        ("requestable eq true", vec!["Alpha", "Charlie", "Echo"]),
        ("requestable eq false and name sw \"D\"", vec!["Delta"]),
        (
            "name eq \"Alpha\" or name eq \"Bravo\" and requestable eq true",
            vec!["Alpha"],
        ),
        (
            "(name eq \"Alpha\" or name eq \"Bravo\") and requestable eq false",
            vec!["Bravo"],
        ),
        (
            &*format!("source.id eq \"{}\"", f.other_source.id),
            vec!["Delta", "Echo"],
        ),
        (
            &*format!("owner.id in (\"{}\")", f.owner.id),
            vec!["Alpha", "Bravo", "Charlie", "Delta", "Echo"],
        ),
        (
            "created gt 2000-01-01T00:00:00Z",
            vec!["Alpha", "Bravo", "Charlie", "Delta", "Echo"],
        ),
        ("modified lt 2000-01-01T00:00:00Z", vec![]),
    ];
    for (filter, expected) in cases {
        for family in FAMILIES {
            let path = format!("{family}?sorters=name&filters={}", urlencode(filter));
            assert_eq!(names(&app, &path).await, expected, "{family} {filter}");
        }
    }
    // `+` encodes a space too
    assert_eq!(
        names(&app, "/v3/access-profiles?filters=name+eq+%22Echo%22").await,
        ["Echo"]
    );
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
async fn sorters_order_results_with_a_stable_tiebreak() {
    let (app, _) = seeded().await;
    assert_eq!(
        names(&app, "/v3/access-profiles?sorters=-name").await,
        ["Echo", "Delta", "Charlie", "Bravo", "Alpha"]
    );
    let by_created = names(&app, "/beta/access-profiles?sorters=created,name").await;
    assert_eq!(by_created.len(), 5);
    let mut paged = Vec::new();
    for offset in 0..5 {
        paged.extend(
            names(
                &app,
                &format!("/v3/access-profiles?sorters=-modified&limit=1&offset={offset}"),
            )
            .await,
        );
    }
    let all = names(&app, "/v3/access-profiles?sorters=-modified").await;
    assert_eq!(paged, all, "paging one by one yields the same order");
}

#[tokio::test]
async fn bad_collection_parameters_are_400s_naming_the_problem() {
    let (app, _) = seeded().await;
    let cases = [
        ("limit=251", "limit"),
        ("limit=-1", "limit"),
        ("limit=ten", "limit"),
        ("offset=-5", "offset"),
        ("count=yes", "count"),
        ("count=", "count"),
        ("limit=", "limit"),
        ("filters=description%20eq%20%22x%22", "description"),
        ("filters=name%20co%20%22x%22", "co"),
        ("filters=name%20in%20(%22x%22)", "in"),
        ("filters=name%20EQ%20%22x%22", "filter"),
        ("filters=name%20eq%20", "filter"),
        ("filters=requestable%20eq%20%22yes%22", "requestable"),
        ("filters=created%20gt%20%22yesterday%22", "created"),
        ("filters=not%20name%20eq%20%22x%22", "not"),
        ("sorters=owner.id", "owner.id"),
        ("sorters=name,name", "name"),
        ("for-subadmin=me", "for-subadmin"),
        ("include-unsegmented=false", "include-unsegmented"),
    ];
    for (query, mention) in cases {
        let resp = app.get(&format!("/v3/access-profiles?{query}")).await;
        let text = assert_isc_error(resp, 400, "400.1 Bad Request Content").await;
        assert!(
            text.contains(mention),
            "{query}: '{text}' should mention '{mention}'"
        );
    }
}

#[tokio::test]
async fn other_lists_apply_their_own_allow_lists() {
    let (app, f) = seeded().await;
    let ents: Vec<Value> = app
        .get(&format!(
            "/beta/entitlements?filters={}&count=true",
            urlencode(&format!("source.id eq \"{}\"", f.source.id))
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ents.len(), 3);
    let resp = app
        .get("/entitlements/v1?filters=name%20sw%20%22CRM%22&count=true")
        .await;
    assert_eq!(resp.headers()["X-Total-Count"], "3");
    let resp = app
        .get("/entitlements/v1?filters=tags%20eq%20%22x%22")
        .await;
    let text = assert_isc_error(resp, 400, "400.1 Bad Request Content").await;
    assert!(text.contains("tags"), "{text}");
    let ids: Vec<Value> = app
        .get(&format!(
            "/beta/identities?filters={}",
            urlencode(&format!("alias eq \"{}\"", f.owner.alias))
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ids.len(), 1);
    assert_eq!(ids[0]["id"], f.owner.id.as_str());
    let sources: Vec<Value> = app
        .get("/v3/sources?filters=name%20co%20%22R%22&sorters=-name")
        .await
        .json()
        .await
        .unwrap();
    let got: Vec<&str> = sources
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(got, ["HR", "CRM"]);
    let resp = app.get("/v3/public-identities?sorters=alias").await;
    assert_isc_error(resp, 400, "400.1 Bad Request Content").await;
}

/// Names sort by their bytes (uppercase before lowercase), as SQLite's BINARY collation
/// does, on every backend: the PostgreSQL columns are COLLATE "C", so a database
/// created with a linguistic default (e.g. ICU en-US) answers the same order.
#[tokio::test]
async fn names_sort_in_byte_order_on_every_backend() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    for name in ["beta", "Alpha", "alpha", "Beta", "_under"] {
        app.create_access_profile("/v3/access-profiles", &ap_body(&f, name))
            .await;
    }
    let page = app
        .get_json("/v3/access-profiles?sorters=name&limit=250")
        .await;
    let mine = ["beta", "Alpha", "alpha", "Beta", "_under"];
    let names: Vec<&str> = page
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .filter(|n| mine.contains(n))
        .collect();
    assert_eq!(names, ["Alpha", "Beta", "_under", "alpha", "beta"]);
}

/// `sw` and `co` compare ASCII-lowered text on every backend (SQLite's lower(), and
/// PostgreSQL's on COLLATE "C" columns, lower ASCII letters only), so a non-ASCII
/// letter matches only itself; `%`, `_` and `\` in the value are literal; the index
/// range that `sw` adds never drops a match.
#[tokio::test]
async fn starts_with_lowers_ascii_only_and_takes_wildcards_literally_on_every_backend() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let mine = [
        "Éclair",
        "éclair",
        "ÉCLAIR X",
        "Eclair",
        "50%_off",
        "50% off",
        "50_x",
        "50x",
        "a\\b",
        "a\\c",
        "az",
        "a{",
        "a{b",
        "Profile 0012",
        "profile 00129",
        "Profile 0013",
    ];
    for name in mine {
        app.create_access_profile("/v3/access-profiles", &ap_body(&f, name))
            .await;
    }
    let cases: &[(&str, &[&str])] = &[
        (r#"name sw "é""#, &["éclair"]),
        (r#"name sw "ÉC""#, &["ÉCLAIR X", "Éclair"]),
        (r#"name sw "e""#, &["Eclair"]),
        (r#"name sw "50%""#, &["50% off", "50%_off"]),
        (r#"name sw "50_""#, &["50_x"]),
        (r#"name sw "A\\""#, &["a\\b", "a\\c"]),
        (r#"name sw "az""#, &["az"]),
        (r#"name sw "a{""#, &["a{", "a{b"]),
        (
            r#"name sw "PROFILE 0012""#,
            &["Profile 0012", "profile 00129"],
        ),
        (r#"name sw """#, &mine),
    ];
    for (filter, expected) in cases {
        for family in FAMILIES {
            let path = format!(
                "{family}?sorters=name&count=true&filters={}",
                urlencode(filter)
            );
            let resp = app.get(&path).await;
            let total = resp.headers()["X-Total-Count"]
                .to_str()
                .unwrap()
                .to_string();
            let list: Vec<Value> = resp.json().await.unwrap();
            let got: Vec<&str> = list.iter().map(|a| a["name"].as_str().unwrap()).collect();
            let mut want = expected.to_vec();
            want.sort();
            assert_eq!(got, want, "{family} {filter}");
            assert_eq!(total, want.len().to_string(), "{family} {filter}");
        }
    }
    // `co` on the source list, the same rules.
    let sources = names(
        &app,
        &format!(
            "/v3/sources?sorters=name&filters={}",
            urlencode(r#"name co "r""#)
        ),
    )
    .await;
    assert_eq!(sources, ["CRM", "HR"]);
}

/// Ties (one frozen instant for every profile) are broken by id in the direction of
/// the last sort key, so `-created` is exactly `created` reversed, and every page at
/// every offset agrees with the whole list, whichever way it is sorted.
#[tokio::test]
async fn pages_at_any_offset_agree_with_the_whole_list_in_both_directions() {
    let app = TestApp::spawn_with_clock(accessd::domain::Clock::frozen(), |_| {}).await;
    let f = app.fixture().await;
    // Names in the opposite order of creation; ids are random.
    for i in 0..7 {
        let body = ap_body(&f, &format!("P{}", 6 - i));
        app.create_access_profile(FAMILIES[i % FAMILIES.len()], &body)
            .await;
    }
    let ids = |list: Vec<Value>| -> Vec<String> {
        list.iter()
            .map(|a| a["id"].as_str().unwrap().to_string())
            .collect()
    };
    let mut by_id = ids(app
        .get_json("/v3/access-profiles")
        .await
        .as_array()
        .unwrap()
        .clone());
    let unsorted = by_id.clone();
    by_id.sort();
    assert_eq!(unsorted, by_id, "no sorters: id order");
    for sorters in [
        "created",
        "-created",
        "modified",
        "-modified",
        "name",
        "-name",
        "",
    ] {
        let path = format!("/v3/access-profiles?sorters={sorters}");
        let whole = ids(app.get_json(&path).await.as_array().unwrap().clone());
        assert_eq!(whole.len(), 7);
        let mut paged = Vec::new();
        for offset in (0..8).step_by(2) {
            let page = app
                .get_json(&format!("{path}&limit=2&offset={offset}"))
                .await;
            paged.extend(ids(page.as_array().unwrap().clone()));
        }
        assert_eq!(paged, whole, "sorters={sorters}");
        let tied = matches!(sorters, "created" | "modified");
        if tied {
            assert_eq!(whole, by_id, "sorters={sorters}: ties by id, ascending");
            let reversed = ids(app
                .get_json(&format!("/v3/access-profiles?sorters=-{sorters}"))
                .await
                .as_array()
                .unwrap()
                .clone());
            let mut want = by_id.clone();
            want.reverse();
            assert_eq!(reversed, want, "sorters=-{sorters}: ties by id, descending");
        }
    }
}

/// A page in the second half of every profile is read from the far end of the order
/// (the kept count says where it is): each page at each offset, the last partial one
/// and those past the end included, is the same slice of the whole list, in order,
/// with the same total.
#[tokio::test]
async fn pages_near_the_end_are_the_same_slices_of_the_whole_list() {
    // A frozen clock: every profile has the same `created` and `modified`, so the
    // pages read from the far end must break those ties by id exactly as the whole
    // list does, in both directions.
    let app = TestApp::spawn_with_clock(accessd::domain::Clock::frozen(), |_| {}).await;
    let f = app.fixture().await;
    for i in 0..7 {
        let mut body = ap_body(&f, &format!("Q{}", (i * 3) % 7));
        body["requestable"] = json!(i % 2 == 0);
        app.create_access_profile(FAMILIES[i % FAMILIES.len()], &body)
            .await;
    }
    let ids = |list: &Value| -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_str().unwrap().to_string())
            .collect()
    };
    for sorters in [
        "name",
        "-name",
        "created",
        "-created",
        "modified",
        "-modified",
        "",
    ] {
        let path = format!("/v3/access-profiles?sorters={sorters}");
        let whole = ids(&app.get_json(&path).await);
        assert_eq!(whole.len(), 7);
        for limit in [1, 3, 7] {
            for offset in 0..=9 {
                let resp = app
                    .get(&format!("{path}&limit={limit}&offset={offset}&count=true"))
                    .await;
                assert_eq!(resp.status(), 200);
                assert_eq!(resp.headers()["X-Total-Count"], "7");
                let page = ids(&resp.json().await.unwrap());
                let want = &whole[offset.min(7)..(offset + limit).min(7)];
                assert_eq!(
                    page, want,
                    "sorters={sorters} limit={limit} offset={offset}"
                );
                let uncounted = ids(&app
                    .get_json(&format!("{path}&limit={limit}&offset={offset}"))
                    .await);
                assert_eq!(
                    uncounted, want,
                    "sorters={sorters} limit={limit} offset={offset}"
                );
            }
        }
    }
}

/// Past the first page a list first picks its page's keys; a key that is unique only
/// within the list (an entitlement is in many profiles) still yields each row once.
#[tokio::test]
async fn later_pages_of_a_profiles_entitlements_hold_each_entitlement_once() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let all: Vec<Value> = f.entitlements.iter().map(|id| json!({"id": id})).collect();
    let mut ids = Vec::new();
    for name in ["First", "Second"] {
        let mut body = ap_body(&f, name);
        body["entitlements"] = json!(all);
        let created = app
            .create_access_profile("/v3/access-profiles", &body)
            .await;
        ids.push(created["id"].as_str().unwrap().to_string());
    }
    let listed = |query: &'static str| {
        let path = format!("/v3/access-profiles/{}/entitlements?{query}", ids[0]);
        let app = &app;
        async move {
            let resp = app.get(&path).await;
            let total = resp.headers().get("X-Total-Count").cloned();
            let list: Vec<Value> = resp.json().await.unwrap();
            let got: Vec<String> = list
                .iter()
                .map(|e| e["id"].as_str().unwrap().to_string())
                .collect();
            (got, total.map(|t| t.to_str().unwrap().to_string()))
        }
    };
    let (got, total) = listed("limit=1&offset=1&count=true").await;
    assert_eq!(got, [f.entitlements[1].clone()], "the profile's own order");
    assert_eq!(total.as_deref(), Some("3"));
    let (whole, _) = listed("sorters=-name").await;
    let (rest, _) = listed("sorters=-name&offset=1").await;
    assert_eq!(rest, whole[1..], "sorted by name, from the second on");
}

/// The one profile of `path`'s list (a list filtered to it).
async fn listed_one(app: &TestApp, path: &str) -> Value {
    let resp = app.get(path).await;
    assert_eq!(resp.status(), 200, "{path}");
    let list: Vec<Value> = resp.json().await.unwrap();
    assert_eq!(list.len(), 1, "{path}: {list:?}");
    list.into_iter().next().unwrap()
}

/// A list answers a profile as it is now after every kind of change to it or to what it
/// shows — its own fields, twice within one instant of a frozen clock; its entitlements
/// and segments; its source's and its entitlement's names; and its deletion and return
/// under the same id — each time the same document as its GET, and both in the unfiltered
/// list and a filtered one.
#[tokio::test]
async fn a_listed_profile_is_listed_again_with_every_change_to_it_and_to_what_it_shows() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let created = app
        .create_access_profile("/v3/access-profiles", &ap_body(&f, "Watched"))
        .await;
    let id = created["id"].as_str().unwrap().to_string();
    let get = format!("/v3/access-profiles/{id}");
    let filtered = format!(
        "/v3/access-profiles?count=true&filters={}",
        urlencode(&format!("id eq \"{id}\""))
    );
    let every = "/v3/access-profiles?limit=250";
    let same = |step: &str, listed: &Value, now: &Value| {
        assert_eq!(listed, now, "{step}: the list and the GET differ");
    };
    let check = |step: &'static str| {
        let app = &app;
        let (get, filtered) = (&get, &filtered);
        async move {
            let now = app.get_json(get).await;
            same(step, &listed_one(app, filtered).await, &now);
            let all: Vec<Value> = app.get(every).await.json().await.unwrap();
            let in_all = all.iter().find(|p| p["id"] == now["id"]).unwrap();
            same(step, in_all, &now);
            now
        }
    };
    assert_eq!(check("created").await, created);

    // Two patches in one instant: the same `modified`, a different document.
    let frozen = app.post("/_accessd/clock", &json!({"freeze": true})).await;
    assert_eq!(frozen.status(), 200);
    for text in ["first", "second"] {
        let resp = app
            .patch(
                &get,
                &json!([{"op": "replace", "path": "/description", "value": text}]),
            )
            .await;
        assert_eq!(resp.status(), 200);
        assert_eq!(
            check("a patch in a frozen instant").await["description"],
            text
        );
    }

    let resp = app
        .patch(
            &get,
            &json!([{"op": "replace", "path": "/entitlements",
                     "value": [{"type": "ENTITLEMENT", "id": f.entitlements[1]},
                               {"type": "ENTITLEMENT", "id": f.entitlements[2]}]}]),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let now = check("new entitlements").await;
    assert_eq!(now["entitlements"][1]["id"], f.entitlements[2].as_str());

    let segment: Value = app
        .post("/v3/segments", &json!({"name": "Watchers", "active": true}))
        .await
        .json()
        .await
        .unwrap();
    let resp = app
        .patch(
            &get,
            &json!([{"op": "replace", "path": "/segments", "value": [segment["id"]]}]),
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(check("a segment").await["segments"], json!([segment["id"]]));
    let resp = app
        .delete(&format!("/v3/segments/{}", segment["id"].as_str().unwrap()))
        .await;
    assert_eq!(resp.status(), 204);
    assert_eq!(check("the segment deleted").await["segments"], json!([]));

    let source = format!("/v3/sources/{}", f.source.id);
    let mut body = app.get_json(&source).await;
    body["name"] = json!("HR renamed");
    let resp = app
        .request(reqwest::Method::PUT, &source)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        check("the source renamed").await["source"]["name"],
        "HR renamed"
    );

    let entitlement = format!("/beta/entitlements/{}", f.entitlements[2]);
    let resp = app
        .patch(
            &entitlement,
            &json!([{"op": "replace", "path": "/name", "value": "Renamed entitlement"}]),
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(
        check("the entitlement renamed").await["entitlements"][1]["name"],
        "Renamed entitlement"
    );

    // Deleted, then back under the same id from a fixture, with another name.
    let mut fixture = app.get_json("/_accessd/fixture").await;
    assert_eq!(app.delete(&get).await.status(), 204);
    let all: Vec<Value> = app.get(every).await.json().await.unwrap();
    assert!(
        all.iter().all(|p| p["id"] != id.as_str()),
        "deleted: {all:?}"
    );
    let profiles = fixture["accessProfiles"].as_array_mut().unwrap();
    let watched = profiles
        .iter_mut()
        .find(|p| p["id"] == id.as_str())
        .unwrap();
    watched["name"] = json!("Watched again");
    let resp = app
        .post("/_accessd/reset", &json!({"fixture": fixture}))
        .await;
    assert_eq!(resp.status(), 200, "{}", resp.text().await.unwrap());
    assert_eq!(check("back under its id").await["name"], "Watched again");
}

/// A profile listed by one instance and changed through another is listed changed by
/// the first: what an instance kept is checked against the database, not its own writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_profile_changed_through_another_instance_is_listed_and_read_changed() {
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let url = fresh_database_url(dir.path()).await;
    let clock = accessd::domain::Clock::system();
    let a = TestApp::start(test_config(&url), dir.clone(), clock.clone()).await;
    let b = TestApp::start(test_config(&url), dir.clone(), clock.clone()).await;
    let f = a.fixture().await;
    let created = a
        .create_access_profile("/v3/access-profiles", &ap_body(&f, "Shared"))
        .await;
    let path = format!("/v3/access-profiles/{}", created["id"].as_str().unwrap());
    let list = format!(
        "/v3/access-profiles?filters={}",
        urlencode(&format!("id eq \"{}\"", created["id"].as_str().unwrap()))
    );
    assert_eq!(listed_one(&a, &list).await, created);
    assert_eq!(a.get_json(&path).await, created);
    let resp = b
        .patch(
            &path,
            &json!([{"op": "replace", "path": "/description", "value": "from b"}]),
        )
        .await;
    assert_eq!(resp.status(), 200);
    // Through A, the GET and the list both find the profile changed.
    assert_eq!(a.get_json(&path).await["description"], "from b");
    assert_eq!(listed_one(&a, &list).await["description"], "from b");
    assert_eq!(listed_one(&a, &list).await, b.get_json(&path).await);
    assert_eq!(a.get_json(&path).await, b.get_json(&path).await);
}
