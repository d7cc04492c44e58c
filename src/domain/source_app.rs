//! Source-app rules (beta `/source-apps`, v1 `/source-apps/v1`; docs/source-apps.md):
//! the create input, the JSON Patch rules, "an app only holds access profiles of its
//! account source", the bulk-update and bulk-remove bodies, and the documents
//! (`SourceApp`, `SourceAppPatchDto`, beta `AccessProfileDetails`).

use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::access_profile::RefInput;
use super::model::{AppAccessProfile, SourceApp, SourceAppDraft, SourceAppRefFacts};
use super::text::{Description, Name};
use super::{invalid, patch, DomainResult};

/// The fields `patchSourceApp` and `updateSourceAppsInBulk` list as patchable.
const PATCHABLE: [&str; 9] = [
    "name",
    "description",
    "enabled",
    "owner",
    "provisionRequestEnabled",
    "appCenterEnabled",
    "accountSource",
    "matchAllAccounts",
    "accessProfiles",
];

/// `SourceAppBulkUpdateRequest.appIds`: "maxItems": 50.
pub const MAX_BULK_UPDATE: usize = 50;
/// At most this many ids per bulk remove (as for the other bulk operations).
pub const MAX_BULK_REMOVE: usize = 50;

/// `SourceAppCreateDto`.
#[derive(Debug, Deserialize, Default, Clone)]
#[serde(rename_all = "camelCase")]
pub struct SourceAppCreateInput {
    pub name: Option<String>,
    pub description: Option<String>,
    pub match_all_accounts: Option<bool>,
    pub account_source: Option<RefInput>,
}

/// A create input that passed the shape rules; the owner is decided by the caller.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSourceApp {
    pub name: Name,
    pub description: Description,
    pub match_all_accounts: bool,
    pub account_source_id: String,
}

fn checked_name(name: Option<&str>) -> DomainResult<Name> {
    Name::parse(name.map(str::to_string), "name")
}

fn checked_description(description: Option<&str>) -> DomainResult<Description> {
    Description::parse_required(description.map(str::to_string))
}

/// The id of a `{"id", "type"}` reference whose type, when given, is `expected`.
fn checked_ref(r: Option<&RefInput>, field: &str, expected: &str) -> DomainResult<String> {
    let Some(r) = r else {
        return invalid(format!("{field} is required."));
    };
    if let Some(t) = &r.ref_type
        && t != expected
    {
        return invalid(format!("{field}.type must be '{expected}', not '{t}'."));
    }
    match &r.id {
        Some(id) if !id.trim().is_empty() => Ok(id.clone()),
        _ => invalid(format!("{field}.id is required.")),
    }
}

impl TryFrom<SourceAppCreateInput> for NewSourceApp {
    type Error = super::DomainError;

    /// Every problem of the input is reported, in the order of the fields.
    fn try_from(input: SourceAppCreateInput) -> DomainResult<Self> {
        let mut problems = super::Problems::default();
        let name = problems.check(checked_name(input.name.as_deref()));
        let description = problems.check(checked_description(input.description.as_deref()));
        let account_source_id = problems.check(checked_ref(
            input.account_source.as_ref(),
            "accountSource",
            "SOURCE",
        ));
        problems.finish()?;
        // Each `None` noted its problem above.
        let (Some(name), Some(description), Some(account_source_id)) =
            (name, description, account_source_id)
        else {
            return invalid("The source app is invalid.");
        };
        Ok(Self {
            name,
            description,
            // SourceAppCreateDto.matchAllAccounts: "default": false.
            match_all_accounts: input.match_all_accounts.unwrap_or(false),
            account_source_id,
        })
    }
}

impl NewSourceApp {
    /// The draft of a new app: disabled, not requestable, visible in the request
    /// center (the `SourceApp` defaults), holding no access profiles.
    pub fn into_draft(self, owner_id: String) -> SourceAppDraft {
        SourceAppDraft {
            name: self.name,
            description: self.description,
            owner_id,
            account_source_id: self.account_source_id,
            enabled: false,
            provision_request_enabled: false,
            app_center_enabled: true,
            match_all_accounts: self.match_all_accounts,
            access_profile_ids: Vec::new(),
        }
    }
}

/// The referential rules: the owner is an identity, the account source exists, every
/// access profile exists and belongs to the account source. Every problem is reported,
/// with all its offenders.
pub fn check_refs(draft: &SourceAppDraft, facts: &SourceAppRefFacts) -> DomainResult<()> {
    let mut problems = super::Problems::default();
    if facts.owner.is_none() {
        problems.push(format!(
            "owner '{}' is not an existing identity.",
            draft.owner_id
        ));
    }
    let found = |id: &str| facts.access_profiles.iter().find(|(p, _)| p.id == id);
    let missing: Vec<&str> = draft
        .access_profile_ids
        .iter()
        .filter(|id| found(id).is_none())
        .map(String::as_str)
        .collect();
    let Some(source) = &facts.account_source else {
        problems.push(format!(
            "accountSource '{}' is not an existing source.",
            draft.account_source_id
        ));
        if !missing.is_empty() {
            problems.push(format!(
                "These access profiles do not exist: {}.",
                missing.join(", ")
            ));
        }
        return problems.finish();
    };
    if !missing.is_empty() {
        problems.push(format!(
            "These access profiles do not exist: {}.",
            missing.join(", ")
        ));
    }
    let foreign: Vec<String> = draft
        .access_profile_ids
        .iter()
        .filter_map(|id| found(id))
        .filter(|(_, src)| src != &source.id)
        .map(|(p, src)| format!("'{}' ({}, of source {src})", p.name, p.id))
        .collect();
    if !foreign.is_empty() {
        problems.push(format!(
            "A source app can only hold access profiles of its account source '{}' ({}); these belong to another source: {}.",
            source.name,
            source.id,
            foreign.join(", ")
        ));
    }
    problems.finish()
}

/// The `SourceApp` document (beta; v1 `sourceapp` is the same).
pub fn document(app: &SourceApp) -> Value {
    json!({
        "id": app.id,
        "cloudAppId": app.num_id.to_string(),
        "name": app.name,
        "created": super::format_timestamp(&app.created),
        "modified": super::format_timestamp(&app.modified),
        "enabled": app.enabled,
        "provisionRequestEnabled": app.provision_request_enabled,
        "description": app.description,
        "matchAllAccounts": app.match_all_accounts,
        "appCenterEnabled": app.app_center_enabled,
        "accountSource": {
            "id": app.account_source.id,
            "type": "SOURCE",
            "name": app.account_source.name,
            "useForPasswordManagement": false,
            "passwordPolicies": [],
        },
        "owner": {"type": "IDENTITY", "id": app.owner.id, "name": app.owner.name},
    })
}

/// The `SourceAppPatchDto` document: the app and its access-profile ids.
pub fn patch_document(app: &SourceApp) -> Value {
    let mut doc = document(app);
    if let Some(obj) = doc.as_object_mut() {
        obj.insert("accessProfiles".into(), json!(app.access_profile_ids));
    }
    doc
}

fn patched_bool(doc: &Map<String, Value>, field: &str) -> DomainResult<bool> {
    match doc.get(field) {
        Some(Value::Bool(b)) => Ok(*b),
        _ => invalid(format!("{field} must be true or false.")),
    }
}

fn patched_ref(doc: &Map<String, Value>, field: &str, expected: &str) -> DomainResult<String> {
    let r = match doc.get(field) {
        None | Some(Value::Null) => None,
        Some(v @ Value::Object(_)) => Some(
            serde_json::from_value::<RefInput>(v.clone())
                .map_err(|e| super::DomainError::Invalid(format!("{field} is invalid: {e}")))?,
        ),
        Some(_) => return invalid(format!("{field} must be an object with an id.")),
    };
    checked_ref(r.as_ref(), field, expected).map_err(|_| {
        super::DomainError::Invalid(format!("{field} can't be empty or null; it needs an id."))
    })
}

fn patched_profiles(doc: &Map<String, Value>) -> DomainResult<Vec<String>> {
    match doc.get("accessProfiles") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(list)) => distinct_ids(list, "accessProfiles"),
        Some(_) => invalid("accessProfiles must be a list of access profile ids."),
    }
}

/// The ids of `list`, each a non-empty string listed once; `field` names the list.
fn distinct_ids(list: &[Value], field: &str) -> DomainResult<Vec<String>> {
    let mut ids: Vec<String> = Vec::with_capacity(list.len());
    for (i, v) in list.iter().enumerate() {
        let Some(id) = v.as_str().filter(|s| !s.trim().is_empty()) else {
            return invalid(format!("{field}[{i}] must be a non-empty string id."));
        };
        if ids.iter().any(|x| x == id) {
            return invalid(format!("{field}: '{id}' is listed more than once."));
        }
        ids.push(id.to_string());
    }
    Ok(ids)
}

/// Applies an RFC 6902 patch to an app under the rules of `patchSourceApp`: only the
/// patchable fields; `name`, `description` and `owner` can't be empty or null;
/// `accessProfiles` is a list of ids. The draft still needs [`check_refs`].
pub fn apply_patch(current: &SourceApp, ops: &[Value]) -> DomainResult<SourceAppDraft> {
    let mut doc = patch_document(current);
    patch::apply(&mut doc, ops, &PATCHABLE, &[])?;
    let Some(doc) = doc.as_object() else {
        return invalid("The patched source app must be an object.");
    };
    let text = |field: &str| match doc.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => invalid(format!("{field} must be a string.")),
    };
    Ok(SourceAppDraft {
        name: checked_name(text("name")?)?,
        description: checked_description(text("description")?)?,
        owner_id: patched_ref(doc, "owner", "IDENTITY")?,
        account_source_id: patched_ref(doc, "accountSource", "SOURCE")?,
        enabled: patched_bool(doc, "enabled")?,
        provision_request_enabled: patched_bool(doc, "provisionRequestEnabled")?,
        app_center_enabled: patched_bool(doc, "appCenterEnabled")?,
        match_all_accounts: patched_bool(doc, "matchAllAccounts")?,
        access_profile_ids: patched_profiles(doc)?,
    })
}

/// A list of 1 to `max` distinct, non-empty ids named `field`, from any JSON value.
fn id_list(value: Option<&Value>, field: &str, max: usize) -> DomainResult<Vec<String>> {
    let Some(Value::Array(list)) = value else {
        return invalid(format!("{field} must be a list of 1 to {max} ids."));
    };
    if list.is_empty() || list.len() > max {
        return invalid(format!(
            "{field} must list 1 to {max} ids, not {}.",
            list.len()
        ));
    }
    distinct_ids(list, field)
}

/// A checked `SourceAppBulkUpdateRequest`.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkUpdate {
    pub app_ids: Vec<String>,
    pub json_patch: Vec<Value>,
}

/// The body of `updateSourceAppsInBulk`: `appIds` (1 to 50 distinct ids) and a
/// non-empty `jsonPatch`, both required.
pub fn check_bulk_update(body: &Value) -> DomainResult<BulkUpdate> {
    let Some(obj) = body.as_object() else {
        return invalid("The body must be an object with appIds and jsonPatch.");
    };
    let app_ids = id_list(obj.get("appIds"), "appIds", MAX_BULK_UPDATE)?;
    let json_patch = match obj.get("jsonPatch") {
        Some(Value::Array(ops)) if !ops.is_empty() => ops.clone(),
        _ => return invalid("jsonPatch is required: a list of at least one JSON Patch operation."),
    };
    Ok(BulkUpdate {
        app_ids,
        json_patch,
    })
}

/// The body of a bulk remove: a bare JSON array of 1 to 50 distinct profile ids.
pub fn check_bulk_remove(body: &Value) -> DomainResult<Vec<String>> {
    if !body.is_array() {
        return invalid(format!(
            "The body must be a JSON array of 1 to {MAX_BULK_REMOVE} access profile ids."
        ));
    }
    id_list(
        Some(body),
        "The list of access profile ids",
        MAX_BULK_REMOVE,
    )
}

/// Bulk remove names profiles the app does not hold: nothing is removed.
pub fn not_on_app(app: &SourceApp, ids: &[String]) -> super::DomainError {
    super::DomainError::Invalid(format!(
        "These access profiles are not on source app '{}' ({}): {}.",
        app.name,
        app.id,
        ids.join(", ")
    ))
}

/// Bulk update names apps that do not exist.
pub fn unknown_apps(ids: &[String]) -> String {
    format!("These source apps do not exist: {}.", ids.join(", "))
}

/// The legacy approval-scheme name of an `approverType` (and its `approverId`), as
/// `AccessProfileDetails` lists them; types with no legacy name are left out.
fn legacy_scheme(scheme: &Value) -> Option<String> {
    let t = scheme.get("approverType").and_then(Value::as_str)?;
    Some(match t {
        "MANAGER" => "manager".into(),
        "APP_OWNER" => "appOwner".into(),
        "SOURCE_OWNER" => "sourceOwner".into(),
        "OWNER" => "accessProfileOwner".into(),
        "GOVERNANCE_GROUP" => format!(
            "workgroup:{}",
            scheme.get("approverId").and_then(Value::as_str)?
        ),
        _ => return None,
    })
}

fn legacy_schemes(config: Option<&Value>) -> String {
    config
        .and_then(|c| c.get("approvalSchemes"))
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(legacy_scheme)
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default()
}

fn config_flag(config: Option<&Value>, flag: &str) -> bool {
    config
        .and_then(|c| c.get(flag))
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// The beta `AccessProfileDetails` document of a profile held by `app` (the v1
/// `accessprofiledetails` is the same): numeric `sourceId` and `appId`, entitlement
/// and segment ids, approval schemes as comma-separated legacy names.
pub fn access_profile_details(item: &AppAccessProfile, app: &SourceApp) -> Value {
    let p = &item.profile;
    let request = p.doc.get("accessRequestConfig");
    let revocation = p.doc.get("revocationRequestConfig");
    json!({
        "id": p.id,
        "name": p.name,
        "description": p.description,
        "created": super::format_timestamp(&p.created),
        "modified": super::format_timestamp(&p.modified),
        "disabled": !p.enabled,
        "requestable": p.requestable,
        "protected": false,
        "ownerId": p.owner.id,
        "sourceId": item.source_num_id,
        "sourceName": p.source.name,
        "appId": app.num_id,
        "appName": app.name,
        "applicationId": app.id,
        "type": "source",
        "entitlements": p.entitlements.iter().map(|e| e.id.clone()).collect::<Vec<_>>(),
        "entitlementCount": p.entitlements.len(),
        "segments": p.segments,
        "approvalSchemes": legacy_schemes(request),
        "revokeRequestApprovalSchemes": legacy_schemes(revocation),
        "requestCommentsRequired": config_flag(request, "commentsRequired"),
        "deniedCommentsRequired": config_flag(request, "denialCommentsRequired"),
        "accountSelector": {"selectors": null},
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::{AccessProfile, NamedRef};
    use chrono::Utc;

    fn named(id: &str, name: &str) -> NamedRef {
        NamedRef {
            id: id.into(),
            name: name.into(),
        }
    }

    fn app() -> SourceApp {
        SourceApp {
            id: "a".repeat(32),
            num_id: 7,
            name: "Mail".into(),
            description: "mail app".into(),
            owner: named("o1", "Owner One"),
            account_source: named("s1", "AD"),
            enabled: false,
            provision_request_enabled: false,
            app_center_enabled: true,
            match_all_accounts: false,
            access_profile_ids: vec!["p1".into(), "p2".into()],
            created: Utc::now(),
            modified: Utc::now(),
        }
    }

    fn create(v: Value) -> DomainResult<NewSourceApp> {
        NewSourceApp::try_from(serde_json::from_value::<SourceAppCreateInput>(v).unwrap())
    }

    #[test]
    fn create_needs_name_description_and_account_source() {
        let ok = create(json!({"name": "n", "description": "d", "accountSource": {"id": "s1"}}))
            .unwrap();
        assert_eq!(ok.account_source_id, "s1");
        assert!(!ok.match_all_accounts);
        let draft = ok.into_draft("o1".into());
        assert!(!draft.enabled && !draft.provision_request_enabled && draft.app_center_enabled);
        assert!(draft.access_profile_ids.is_empty());
        for (body, needle) in [
            (
                json!({"description": "d", "accountSource": {"id": "s"}}),
                "name",
            ),
            (
                json!({"name": " ", "description": "d", "accountSource": {"id": "s"}}),
                "name",
            ),
            (
                json!({"name": "n", "accountSource": {"id": "s"}}),
                "description",
            ),
            (
                json!({"name": "n", "description": "d"}),
                "accountSource is required",
            ),
            (
                json!({"name": "n", "description": "d", "accountSource": {}}),
                "accountSource.id",
            ),
            (
                json!({"name": "n", "description": "d", "accountSource": {"id": "s", "type": "ROLE"}}),
                "accountSource.type",
            ),
        ] {
            let err = create(body.clone()).unwrap_err().to_string();
            assert!(err.contains(needle), "{body}: {err}");
        }
    }

    #[test]
    fn patch_edits_fields_and_the_profile_list() {
        let d = apply_patch(
            &app(),
            &[
                json!({"op": "replace", "path": "/enabled", "value": true}),
                json!({"op": "add", "path": "/accessProfiles/-", "value": "p3"}),
                json!({"op": "remove", "path": "/accessProfiles/0"}),
                json!({"op": "replace", "path": "/owner", "value": {"id": "o2"}}),
            ],
        )
        .unwrap();
        assert!(d.enabled);
        assert_eq!(d.access_profile_ids, ["p2", "p3"]);
        assert_eq!(d.owner_id, "o2");
        assert_eq!(d.account_source_id, "s1");
    }

    #[test]
    fn patch_refuses_read_only_paths_and_empty_required_fields() {
        for (op, needle) in [
            (
                json!({"op": "replace", "path": "/cloudAppId", "value": "1"}),
                "not patchable",
            ),
            (
                json!({"op": "replace", "path": "/name", "value": ""}),
                "name",
            ),
            (
                json!({"op": "replace", "path": "/description", "value": null}),
                "description",
            ),
            (json!({"op": "remove", "path": "/owner"}), "owner"),
            (
                json!({"op": "replace", "path": "/owner", "value": {"id": ""}}),
                "owner",
            ),
            (
                json!({"op": "replace", "path": "/enabled", "value": "yes"}),
                "enabled",
            ),
            (
                json!({"op": "add", "path": "/accessProfiles/-", "value": "p1"}),
                "more than once",
            ),
            (
                json!({"op": "add", "path": "/accessProfiles/-", "value": 5}),
                "accessProfiles[2]",
            ),
            (
                json!({"op": "replace", "path": "/accountSource", "value": null}),
                "accountSource",
            ),
        ] {
            let err = apply_patch(&app(), std::slice::from_ref(&op))
                .unwrap_err()
                .to_string();
            assert!(err.contains(needle), "{op}: {err}");
        }
    }

    #[test]
    fn refs_must_exist_and_profiles_belong_to_the_account_source() {
        let draft = NewSourceApp {
            name: Name::parse(Some("n".into()), "name").unwrap(),
            description: Description::parse_required(Some("d".into())).unwrap(),
            match_all_accounts: false,
            account_source_id: "s1".into(),
        }
        .into_draft("o1".into());
        let mut facts = SourceAppRefFacts {
            owner: Some(named("o1", "O")),
            account_source: Some(named("s1", "AD")),
            access_profiles: vec![],
        };
        check_refs(&draft, &facts).unwrap();
        let mut with_profiles = draft.clone();
        with_profiles.access_profile_ids = vec!["p1".into(), "p2".into(), "p3".into()];
        facts.access_profiles = vec![(named("p1", "One"), "s1".into())];
        let err = check_refs(&with_profiles, &facts).unwrap_err().to_string();
        assert!(err.contains("do not exist: p2, p3"), "{err}");
        facts
            .access_profiles
            .push((named("p2", "Two"), "s9".into()));
        facts
            .access_profiles
            .push((named("p3", "Three"), "s1".into()));
        let err = check_refs(&with_profiles, &facts).unwrap_err().to_string();
        assert!(err.contains("'Two' (p2, of source s9)"), "{err}");
        assert!(!err.contains("p3"), "{err}");
        facts.owner = None;
        assert!(check_refs(&draft, &facts)
            .unwrap_err()
            .to_string()
            .contains("owner"));
        facts.owner = Some(named("o1", "O"));
        facts.account_source = None;
        assert!(check_refs(&draft, &facts)
            .unwrap_err()
            .to_string()
            .contains("accountSource 's1'"));
    }

    #[test]
    fn bulk_bodies_are_checked() {
        let ok = check_bulk_update(&json!({"appIds": ["a", "b"], "jsonPatch": [{"op": "replace", "path": "/enabled", "value": true}]})).unwrap();
        assert_eq!(ok.app_ids, ["a", "b"]);
        let too_many: Vec<String> = (0..51).map(|i| format!("id{i}")).collect();
        for body in [
            json!([]),
            json!({"jsonPatch": [{}]}),
            json!({"appIds": [], "jsonPatch": [{}]}),
            json!({"appIds": too_many, "jsonPatch": [{}]}),
            json!({"appIds": ["a", "a"], "jsonPatch": [{}]}),
            json!({"appIds": ["a"]}),
            json!({"appIds": ["a"], "jsonPatch": []}),
        ] {
            assert!(check_bulk_update(&body).is_err(), "{body}");
        }
        assert_eq!(check_bulk_remove(&json!(["p1"])).unwrap(), ["p1"]);
        for body in [
            json!({"ids": ["p1"]}),
            json!([]),
            json!(too_many),
            json!(["p1", "p1"]),
            json!(["p1", 2]),
            json!("p1"),
        ] {
            assert!(check_bulk_remove(&body).is_err(), "{body}");
        }
    }

    #[test]
    fn details_follow_the_beta_schema() {
        let mut doc = Map::new();
        doc.insert(
            "accessRequestConfig".into(),
            json!({"commentsRequired": true, "approvalSchemes": [
                {"approverType": "OWNER"},
                {"approverType": "GOVERNANCE_GROUP", "approverId": "g1"},
                {"approverType": "WORKFLOW", "approverId": "w1"},
            ]}),
        );
        let profile = AccessProfile {
            id: "p1".into(),
            name: "One".into(),
            description: None,
            owner: named("o1", "O"),
            source: named("s1", "AD"),
            entitlements: vec![named("e1", "E1"), named("e2", "E2")],
            segments: vec!["seg1".into()],
            enabled: true,
            requestable: true,
            doc,
            created: Utc::now(),
            modified: Utc::now(),
        };
        let d = access_profile_details(
            &AppAccessProfile {
                profile,
                source_num_id: 3,
            },
            &app(),
        );
        assert_eq!(d["sourceId"], json!(3));
        assert_eq!(d["appId"], json!(7));
        assert_eq!(d["applicationId"], json!("a".repeat(32)));
        assert_eq!(d["disabled"], json!(false));
        assert_eq!(d["entitlements"], json!(["e1", "e2"]));
        assert_eq!(d["entitlementCount"], json!(2));
        assert_eq!(d["segments"], json!(["seg1"]));
        assert_eq!(
            d["approvalSchemes"],
            json!("accessProfileOwner,workgroup:g1")
        );
        assert_eq!(d["revokeRequestApprovalSchemes"], json!(""));
        assert_eq!(d["requestCommentsRequired"], json!(true));
        assert_eq!(d["deniedCommentsRequired"], json!(false));
    }
}
