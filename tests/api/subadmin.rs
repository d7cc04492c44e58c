//! Sub-admin scoping (CONTRACT §6): a SOURCE_SUBADMIN or ROLE_SUBADMIN
//! acts only on the sources whose management workgroup it belongs to, their access
//! profiles, and roles built from them. Refused writes change nothing.

use accessd::domain::model::*;
use accessd::domain::new_id;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;

const ALL: &[&str] = &["sp:scopes:all"];

/// A tenant with one source the sub-admin administers ("Own", managed by a group it
/// belongs to) and the fixture's sources it does not, a profile on each, and the
/// sub-admin's token.
struct World {
    app: TestApp,
    f: Fixture,
    own: Source,
    own_entitlement: String,
    sub: Identity,
    token: String,
    own_profile: String,
    foreign_profile: String,
}

async fn world(levels: &[&str]) -> World {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let (token, sub) = app.token_for(levels, ALL).await;
    let (own, _, own_entitlement) = app
        .seed_subadmin_source(&f.owner, "Own", std::slice::from_ref(&sub.id))
        .await;
    let own_profile = app
        .create_access_profile(
            "/v3/access-profiles",
            &own_body(&f, &own, &own_entitlement, "Own AP"),
        )
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let foreign_profile = app
        .create_access_profile("/v3/access-profiles", &ap_body(&f, "Foreign AP"))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    World {
        app,
        f,
        own,
        own_entitlement,
        sub,
        token,
        own_profile,
        foreign_profile,
    }
}

fn own_body(f: &Fixture, own: &Source, ent: &str, name: &str) -> Value {
    json!({
        "name": name,
        "owner": {"type": "IDENTITY", "id": f.owner.id},
        "source": {"type": "SOURCE", "id": own.id},
        "entitlements": [{"type": "ENTITLEMENT", "id": ent}],
        "enabled": true,
        "requestable": true,
    })
}

impl World {
    async fn send(&self, method: Method, path: &str, body: Option<&Value>) -> reqwest::Response {
        let mut req = self
            .app
            .http
            .request(method.clone(), self.app.url(path))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = if method == Method::PATCH {
                req.header("Content-Type", "application/json-patch+json")
                    .body(b.to_string())
            } else {
                req.json(b)
            };
        }
        req.send().await.expect("request")
    }

    async fn ids(&self, path: &str, token: &str) -> Vec<String> {
        let resp = self
            .app
            .http
            .get(self.app.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        let body: Value = resp.json().await.unwrap();
        let mut ids: Vec<String> = body
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["id"].as_str().unwrap().to_string())
            .collect();
        ids.sort();
        ids
    }

    async fn exists(&self, path: &str) -> bool {
        let status = self.app.get(path).await.status().as_u16();
        assert!(status == 200 || status == 404, "{path}: {status}");
        status == 200
    }
}

#[tokio::test]
async fn a_source_subadmin_lists_gets_and_reads_only_its_sources_profiles() {
    let w = world(&["SOURCE_SUBADMIN"]).await;
    for prefix in [
        "/v3/access-profiles",
        "/beta/access-profiles",
        "/access-profiles/v1",
    ] {
        assert_eq!(
            w.ids(prefix, &w.token).await,
            vec![w.own_profile.clone()],
            "{prefix}"
        );
        let resp = w
            .send(Method::GET, &format!("{prefix}?count=true"), None)
            .await;
        assert_eq!(resp.headers()["X-Total-Count"], "1", "{prefix}");
        let own = w
            .send(Method::GET, &format!("{prefix}/{}", w.own_profile), None)
            .await;
        assert_eq!(own.status(), 200, "{prefix}");
        let foreign = format!("{prefix}/{}", w.foreign_profile);
        assert_isc_error(
            w.send(Method::GET, &foreign, None).await,
            403,
            "403 Forbidden",
        )
        .await;
        let ents = format!("{foreign}/entitlements");
        assert_isc_error(w.send(Method::GET, &ents, None).await, 403, "403 Forbidden").await;
        let unknown = format!("{prefix}/{}", new_id());
        assert_isc_error(
            w.send(Method::GET, &unknown, None).await,
            404,
            "404 Not found",
        )
        .await;
    }
    // The admin still sees both.
    let all = w.ids("/v3/access-profiles", &w.app.token).await;
    assert_eq!(all.len(), 2);
}

#[tokio::test]
async fn a_source_subadmin_creates_and_patches_only_on_its_sources() {
    let w = world(&["SOURCE_SUBADMIN"]).await;
    let created = w
        .send(
            Method::POST,
            "/v3/access-profiles",
            Some(&own_body(&w.f, &w.own, &w.own_entitlement, "Mine too")),
        )
        .await;
    assert_eq!(created.status(), 201);
    let resp = w
        .send(
            Method::POST,
            "/beta/access-profiles",
            Some(&ap_body(&w.f, "Not mine")),
        )
        .await;
    assert_isc_error(resp, 403, "403 Forbidden").await;
    let names: Vec<String> = w
        .app
        .get_json("/v3/access-profiles")
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["name"].as_str().unwrap().to_string())
        .collect();
    assert!(!names.contains(&"Not mine".to_string()), "{names:?}");

    let rename = json!([{"op": "replace", "path": "/description", "value": "changed"}]);
    let foreign = format!("/v3/access-profiles/{}", w.foreign_profile);
    let before = w.app.get_json(&foreign).await;
    assert_isc_error(
        w.send(Method::PATCH, &foreign, Some(&rename)).await,
        403,
        "403 Forbidden",
    )
    .await;
    assert_eq!(
        w.app.get_json(&foreign).await,
        before,
        "refused patch changed it"
    );
    let own = format!("/access-profiles/v1/{}", w.own_profile);
    assert_eq!(
        w.send(Method::PATCH, &own, Some(&rename)).await.status(),
        200
    );
    // Moving its own profile to a source it cannot administer is refused too.
    let move_away = json!([
        {"op": "replace", "path": "/source", "value": {"type": "SOURCE", "id": w.f.source.id}},
        {"op": "replace", "path": "/entitlements", "value": [{"type": "ENTITLEMENT", "id": w.f.entitlements[0]}]},
    ]);
    let before = w.app.get_json(&own).await;
    assert_isc_error(
        w.send(Method::PATCH, &own, Some(&move_away)).await,
        403,
        "403 Forbidden",
    )
    .await;
    assert_eq!(w.app.get_json(&own).await, before);
}

#[tokio::test]
async fn a_source_subadmin_deletes_only_its_sources_profiles() {
    let w = world(&["SOURCE_SUBADMIN"]).await;
    let foreign = format!("/v3/access-profiles/{}", w.foreign_profile);
    for prefix in [
        "/v3/access-profiles",
        "/beta/access-profiles",
        "/access-profiles/v1",
    ] {
        let path = format!("{prefix}/{}", w.foreign_profile);
        assert_isc_error(
            w.send(Method::DELETE, &path, None).await,
            403,
            "403 Forbidden",
        )
        .await;
        // Bulk delete with one foreign id: 403, and nothing is deleted.
        let body =
            json!({"accessProfileIds": [w.own_profile, w.foreign_profile], "bestEffortOnly": true});
        let resp = w
            .send(Method::POST, &format!("{prefix}/bulk-delete"), Some(&body))
            .await;
        let text = assert_isc_error(resp, 403, "403 Forbidden").await;
        assert!(text.contains(&w.foreign_profile), "{text}");
        w.app.drain_tasks().await;
        assert!(w.exists(&foreign).await, "{prefix}");
        assert!(
            w.exists(&format!("/v3/access-profiles/{}", w.own_profile))
                .await
        );
    }
    let own_delete = w
        .send(
            Method::POST,
            "/v3/access-profiles/bulk-delete",
            Some(&json!({"accessProfileIds": [w.own_profile]})),
        )
        .await;
    assert_eq!(own_delete.status(), 202);
    w.app.drain_tasks().await;
    assert!(
        !w.exists(&format!("/v3/access-profiles/{}", w.own_profile))
            .await
    );
    assert!(w.exists(&foreign).await);
}

#[tokio::test]
async fn for_subadmin_shows_what_a_subadmin_sees_and_refuses_others() {
    let w = world(&["SOURCE_SUBADMIN"]).await;
    let admin = w.app.token.clone();
    let path = format!("/v3/access-profiles?for-subadmin={}", w.sub.id);
    assert_eq!(w.ids(&path, &admin).await, vec![w.own_profile.clone()]);
    assert_eq!(
        w.ids("/beta/access-profiles?for-subadmin=me", &w.token)
            .await,
        vec![w.own_profile.clone()]
    );
    let (role_sub, role_sub_identity) = w.app.token_for(&["ROLE_SUBADMIN"], ALL).await;
    let path = format!("/access-profiles/v1?for-subadmin={}", role_sub_identity.id);
    assert!(
        w.ids(&path, &role_sub).await.is_empty(),
        "a ROLE_SUBADMIN of no source"
    );
    for value in [
        "me".to_string(),
        w.f.owner.id.clone(),
        new_id(),
        String::new(),
    ] {
        let resp = w
            .app
            .get(&format!("/v3/access-profiles?for-subadmin={value}"))
            .await;
        let text = assert_isc_error(resp, 400, "400.1 Bad Request Content").await;
        assert!(text.contains("for-subadmin"), "{value}: {text}");
    }
}

#[tokio::test]
async fn a_role_subadmin_acts_only_on_roles_built_from_its_sources() {
    let w = world(&["ROLE_SUBADMIN"]).await;
    let mine = w
        .app
        .create_role(
            "/v3/roles",
            &role_body("Mine", &w.f.owner.id, &[&w.own_profile]),
        )
        .await;
    let mixed = w
        .app
        .create_role(
            "/v3/roles",
            &role_body(
                "Mixed",
                &w.f.owner.id,
                &[&w.own_profile, &w.foreign_profile],
            ),
        )
        .await;
    let empty = w
        .app
        .create_role("/v3/roles", &role_body("Empty", &w.f.owner.id, &[]))
        .await;
    let id = |r: &Value| r["id"].as_str().unwrap().to_string();
    let mut visible = vec![id(&mine), id(&empty)];
    visible.sort();
    for prefix in ["/v3/roles", "/beta/roles", "/roles/v1"] {
        assert_eq!(w.ids(prefix, &w.token).await, visible, "{prefix}");
        let get = format!("{prefix}/{}", id(&mixed));
        assert_isc_error(w.send(Method::GET, &get, None).await, 403, "403 Forbidden").await;
        assert_eq!(
            w.send(Method::GET, &format!("{prefix}/{}", id(&mine)), None)
                .await
                .status(),
            200
        );
    }
    let admin_view = format!("/v3/roles?for-subadmin={}", w.sub.id);
    assert_eq!(w.ids(&admin_view, &w.app.token).await, visible);

    // Create with a foreign profile: 403, nothing created.
    let resp = w
        .send(
            Method::POST,
            "/v3/roles",
            Some(&role_body("Sneaky", &w.f.owner.id, &[&w.foreign_profile])),
        )
        .await;
    assert_isc_error(resp, 403, "403 Forbidden").await;
    assert_eq!(w.ids("/v3/roles", &w.app.token).await.len(), 3);
    // Patch its own role to add a foreign profile: 403, unchanged.
    let mine_path = format!("/v3/roles/{}", id(&mine));
    let add = json!([{"op": "add", "path": "/accessProfiles/-",
                      "value": {"type": "ACCESS_PROFILE", "id": w.foreign_profile}}]);
    let before = w.app.get_json(&mine_path).await;
    assert_isc_error(
        w.send(Method::PATCH, &mine_path, Some(&add)).await,
        403,
        "403 Forbidden",
    )
    .await;
    assert_eq!(w.app.get_json(&mine_path).await, before);
    // Delete and bulk delete of the mixed role: 403, it remains.
    let mixed_path = format!("/v3/roles/{}", id(&mixed));
    assert_isc_error(
        w.send(Method::DELETE, &mixed_path, None).await,
        403,
        "403 Forbidden",
    )
    .await;
    let bulk = json!({"roleIds": [id(&empty), id(&mixed)]});
    assert_isc_error(
        w.send(Method::POST, "/v3/roles/bulk-delete", Some(&bulk))
            .await,
        403,
        "403 Forbidden",
    )
    .await;
    w.app.drain_tasks().await;
    assert!(w.exists(&mixed_path).await && w.exists(&format!("/v3/roles/{}", id(&empty))).await);
    assert_eq!(w.send(Method::DELETE, &mine_path, None).await.status(), 204);
    // for-subadmin on roles names a ROLE_SUBADMIN only.
    let (_, source_sub) = w.app.token_for(&["SOURCE_SUBADMIN"], ALL).await;
    let resp = w
        .app
        .get(&format!("/v3/roles?for-subadmin={}", source_sub.id))
        .await;
    assert_isc_error(resp, 400, "400.1 Bad Request Content").await;
}

#[tokio::test]
async fn a_source_subadmin_lists_its_sources_with_for_subadmin_me_only() {
    let w = world(&["SOURCE_SUBADMIN"]).await;
    assert_isc_error(
        w.send(Method::GET, "/v3/sources", None).await,
        403,
        "403 Forbidden",
    )
    .await;
    assert_eq!(
        w.ids("/v3/sources?for-subadmin=me", &w.token).await,
        vec![w.own.id.clone()]
    );
    let own_id = format!("/v3/sources?for-subadmin={}", w.sub.id);
    assert_eq!(w.ids(&own_id, &w.token).await, vec![w.own.id.clone()]);
    let foreign = format!("/v3/sources/{}", w.f.source.id);
    assert_isc_error(
        w.send(Method::GET, &foreign, None).await,
        403,
        "403 Forbidden",
    )
    .await;
    let own = format!("/v3/sources/{}", w.own.id);
    assert_eq!(w.send(Method::GET, &own, None).await.status(), 200);
    // An admin asking for the sub-admin's view gets the same list.
    assert_eq!(w.ids(&own_id, &w.app.token).await, vec![w.own.id.clone()]);
    assert_eq!(w.ids("/v3/sources", &w.app.token).await.len(), 3);
}

#[tokio::test]
async fn a_client_for_mutually_exclusive_user_levels_is_refused() {
    let app = TestApp::spawn().await;
    for levels in [
        &["SOURCE_SUBADMIN", "SOURCE_ADMIN"][..],
        &["ROLE_SUBADMIN", "ORG_ADMIN"],
    ] {
        let identity = app.seed_identity(levels).await;
        let err = accessd::auth::clients::provision_client(
            app.store.as_ref(),
            None,
            None,
            "refused",
            Some(identity.id.clone()),
            vec!["sp:scopes:all".into()],
            app.clock.now(),
        )
        .await
        .unwrap_err();
        assert!(
            err.to_string().contains("mutually exclusive"),
            "{levels:?}: {err}"
        );
    }
    // Two sub-admin levels together are fine.
    app.token_for(&["SOURCE_SUBADMIN", "ROLE_SUBADMIN"], ALL)
        .await;
}

#[tokio::test]
async fn a_source_subadmin_updates_requestable_in_bulk_only_on_its_sources_profiles() {
    let w = world(&["SOURCE_SUBADMIN"]).await;
    let own = format!("/v3/access-profiles/{}", w.own_profile);
    let foreign = format!("/v3/access-profiles/{}", w.foreign_profile);
    for prefix in ["/beta/access-profiles", "/access-profiles/v1"] {
        let body = json!([{"id": w.own_profile, "requestable": false},
                          {"id": w.foreign_profile, "requestable": false}]);
        let resp = w
            .send(
                Method::POST,
                &format!("{prefix}/bulk-update-requestable"),
                Some(&body),
            )
            .await;
        let text = assert_isc_error(resp, 403, "403 Forbidden").await;
        assert!(text.contains(&w.foreign_profile), "{text}");
        assert_eq!(w.app.get_json(&own).await["requestable"], true);
        assert_eq!(w.app.get_json(&foreign).await["requestable"], true);
    }
    let body = json!([{"id": w.own_profile, "requestable": false}]);
    let resp = w
        .send(
            Method::POST,
            "/beta/access-profiles/bulk-update-requestable",
            Some(&body),
        )
        .await;
    assert_eq!(resp.status(), 207);
    assert_eq!(w.app.get_json(&own).await["requestable"], false);
}
