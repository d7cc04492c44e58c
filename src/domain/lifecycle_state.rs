//! Lifecycle-state rules: the input document (v3 `LifecycleState`, v1 `lifecyclestate`),
//! its validation, the JSON Patch rules of `updateLifecycleStates`, and the one document
//! both families render.
//!
//! The two schemas differ: v1 adds `priority` and `accessActionConfiguration` and gives
//! `identityState` and `AccountAction.action` enums; v3 has neither field. The document
//! carries the union (the SDKs' `from_dict` ignore keys they do not know), and input is
//! checked against the stricter v1 rules so that what one family stores, the other
//! family's SDK still accepts.

use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::model::{LifecycleState, LifecycleStateDraft, NamedRef};
use super::text::{Description, Name};
use super::{invalid, DomainError, DomainResult};

/// v1 `lifecyclestate.identityState` (nullable).
pub const IDENTITY_STATES: [&str; 3] = ["ACTIVE", "INACTIVE_SHORT_TERM", "INACTIVE_LONG_TERM"];
/// `AccountAction.action`.
pub const ACCOUNT_ACTIONS: [&str; 3] = ["ENABLE", "DISABLE", "DELETE"];

/// "The following fields can be updated" (`updateLifecycleStates` request body).
/// `name` and `technicalName` are not among them.
const PATCHABLE: [&str; 5] = [
    "enabled",
    "description",
    "accountActions",
    "accessProfileIds",
    "emailNotificationOption",
];

/// Fields kept in the free-form part of the stored state, already normalized.
const DOC_FIELDS: [&str; 3] = [
    "emailNotificationOption",
    "accountActions",
    "accessActionConfiguration",
];

/// `EmailNotificationOption`: every field optional, booleans default to false.
#[derive(Debug, Deserialize, Default, Clone)]
#[serde(rename_all = "camelCase")]
pub struct EmailNotificationOptionInput {
    pub notify_managers: Option<bool>,
    pub notify_all_admins: Option<bool>,
    pub notify_specific_users: Option<bool>,
    pub email_address_list: Option<Vec<String>>,
}

/// `AccountAction` (v1 adds `excludeSourceIds` and `allSources` to v3's two fields).
#[derive(Debug, Deserialize, Default, Clone)]
#[serde(rename_all = "camelCase")]
pub struct AccountActionInput {
    pub action: Option<String>,
    pub source_ids: Option<Vec<String>>,
    pub exclude_source_ids: Option<Vec<String>>,
    pub all_sources: Option<bool>,
}

/// v1 `accessactionconfiguration`.
#[derive(Debug, Deserialize, Default, Clone)]
#[serde(rename_all = "camelCase")]
pub struct AccessActionConfigurationInput {
    pub remove_all_access_enabled: Option<bool>,
}

/// A lifecycle state as a client sends it (create, or the result of a patch). `null`
/// means absent; read-only fields (id, created, modified, identityCount) are ignored.
#[derive(Debug, Deserialize, Default, Clone)]
#[serde(rename_all = "camelCase")]
pub struct LifecycleStateInput {
    pub name: Option<String>,
    pub technical_name: Option<String>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
    pub email_notification_option: Option<EmailNotificationOptionInput>,
    pub account_actions: Option<Vec<AccountActionInput>>,
    pub access_profile_ids: Option<Vec<String>>,
    pub identity_state: Option<String>,
    pub access_action_configuration: Option<AccessActionConfigurationInput>,
    /// `int32` in the v1 schema.
    pub priority: Option<i32>,
}

fn required(value: Option<String>, field: &str) -> DomainResult<String> {
    match value {
        Some(v) if !v.trim().is_empty() => Ok(v),
        _ => invalid(format!("{field} is required.")),
    }
}

/// A list the schema declares `uniqueItems`: no blank entries, no duplicates.
fn unique_ids(ids: &[String], field: &str) -> DomainResult<()> {
    for (i, id) in ids.iter().enumerate() {
        if id.trim().is_empty() {
            return invalid(format!("{field}[{i}] must not be empty."));
        }
        if ids[..i].contains(id) {
            return invalid(format!("{field} lists '{id}' more than once."));
        }
    }
    Ok(())
}

fn account_action(i: usize, a: AccountActionInput) -> DomainResult<Value> {
    let field = format!("accountActions[{i}]");
    let action = match a.action {
        Some(x) if ACCOUNT_ACTIONS.contains(&x.as_str()) => x,
        Some(x) => {
            return invalid(format!(
                "{field}.action '{x}' is not one of {}.",
                ACCOUNT_ACTIONS.join(", ")
            ))
        }
        None => return invalid(format!("{field}.action is required.")),
    };
    let all_sources = a.all_sources.unwrap_or(false);
    if let Some(ids) = &a.source_ids {
        unique_ids(ids, &format!("{field}.sourceIds"))?;
    }
    if let Some(ids) = &a.exclude_source_ids {
        unique_ids(ids, &format!("{field}.excludeSourceIds"))?;
    }
    // The v1 AccountAction rules: sourceIds "Required if allSources is not true. Must
    // not be provided if allSources is true. Cannot be used together with
    // excludeSourceIds".
    match (&a.source_ids, all_sources) {
        (Some(_), true) => {
            return invalid(format!(
                "{field}.sourceIds must not be given when allSources is true."
            ))
        }
        (None, false) => {
            return invalid(format!(
                "{field}.sourceIds is required unless allSources is true."
            ))
        }
        _ => {}
    }
    if a.source_ids.is_some() && a.exclude_source_ids.is_some() {
        return invalid(format!(
            "{field}.sourceIds and excludeSourceIds cannot be used together."
        ));
    }
    Ok(json!({
        "action": action,
        "sourceIds": a.source_ids,
        "excludeSourceIds": a.exclude_source_ids,
        "allSources": all_sources,
    }))
}

impl TryFrom<LifecycleStateInput> for LifecycleStateDraft {
    type Error = DomainError;

    /// Every problem of the input is reported, in the order of the fields.
    fn try_from(input: LifecycleStateInput) -> DomainResult<Self> {
        let mut problems = super::Problems::default();
        let name = problems.check(Name::parse(input.name, "name"));
        let description = problems.check(Description::parse_optional(input.description));
        let technical_name = problems.check(required(input.technical_name, "technicalName"));
        let access_profile_ids = input.access_profile_ids.unwrap_or_default();
        problems.check(unique_ids(&access_profile_ids, "accessProfileIds"));
        if let Some(s) = &input.identity_state
            && !IDENTITY_STATES.contains(&s.as_str())
        {
            problems.push(format!(
                "identityState '{s}' is not one of {}.",
                IDENTITY_STATES.join(", ")
            ));
        }
        let mut doc = Map::new();
        if let Some(e) = input.email_notification_option {
            doc.insert(
                "emailNotificationOption".into(),
                json!({
                    "notifyManagers": e.notify_managers.unwrap_or(false),
                    "notifyAllAdmins": e.notify_all_admins.unwrap_or(false),
                    "notifySpecificUsers": e.notify_specific_users.unwrap_or(false),
                    "emailAddressList": e.email_address_list.unwrap_or_default(),
                }),
            );
        }
        if let Some(actions) = input.account_actions {
            let actions: Vec<Value> = actions
                .into_iter()
                .enumerate()
                .filter_map(|(i, a)| problems.check(account_action(i, a)))
                .collect();
            doc.insert("accountActions".into(), Value::Array(actions));
        }
        if let Some(c) = input.access_action_configuration {
            doc.insert(
                "accessActionConfiguration".into(),
                json!({"removeAllAccessEnabled": c.remove_all_access_enabled.unwrap_or(false)}),
            );
        }
        problems.finish()?;
        // Each `None` noted its problem above.
        let (Some(name), Some(description), Some(technical_name)) =
            (name, description, technical_name)
        else {
            return invalid("The lifecycle state is invalid.");
        };
        Ok(Self {
            name,
            technical_name,
            description,
            enabled: input.enabled.unwrap_or(false),
            identity_state: input.identity_state,
            priority: input.priority.map(i64::from),
            access_profile_ids,
            doc,
        })
    }
}

/// Every entry of `accessProfileIds` names an existing access profile (`existing` is
/// what the store found among them).
pub fn check_access_profiles(
    draft: &LifecycleStateDraft,
    existing: &[NamedRef],
) -> DomainResult<()> {
    let missing: Vec<&str> = draft
        .access_profile_ids
        .iter()
        .filter(|id| !existing.iter().any(|e| &e.id == *id))
        .map(String::as_str)
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        invalid(format!(
            "accessProfileIds names access profiles that do not exist: {}.",
            missing.join(", ")
        ))
    }
}

/// The LifecycleState document JSON Patch works on (`updateLifecycleStates`): every
/// field of either family's schema, `null` where absent so that `replace` finds it.
/// Responses are rendered from `api::lifecycle_states::LifecycleStateBody`.
pub fn lifecycle_state_document(ls: &LifecycleState) -> Value {
    let mut doc = json!({
        "id": ls.id,
        "name": ls.name,
        "technicalName": ls.technical_name,
        "description": ls.description,
        "enabled": ls.enabled,
        "identityCount": ls.identity_count,
        "emailNotificationOption": null,
        "accountActions": [],
        "accessProfileIds": ls.access_profile_ids,
        "identityState": ls.identity_state,
        "accessActionConfiguration": null,
        "priority": ls.priority,
        "created": super::format_timestamp(&ls.created),
        "modified": super::format_timestamp(&ls.modified),
    });
    if let Some(obj) = doc.as_object_mut() {
        for f in DOC_FIELDS {
            if let Some(v) = ls.doc.get(f) {
                obj.insert(f.to_string(), v.clone());
            }
        }
    }
    doc
}

/// The `LifecyclestateDeleted` body of `deleteLifecycleState`'s 202.
pub fn deleted_document(ls: &LifecycleState) -> Value {
    json!({"type": "LIFECYCLE_STATE", "id": ls.id, "name": ls.name})
}

/// Applies an RFC 6902 patch to a state's document under the rules of
/// `updateLifecycleStates`: only the listed fields (`test` may read any). Returns the
/// patched document as input for [`LifecycleStateDraft::try_from`].
pub fn apply_patch(current: &LifecycleState, ops: &[Value]) -> DomainResult<LifecycleStateInput> {
    let mut doc = lifecycle_state_document(current);
    super::patch::apply(&mut doc, ops, &PATCHABLE, &[])?;
    super::patch::read_patched(doc, "lifecycle state")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn input(v: Value) -> LifecycleStateInput {
        serde_json::from_value(v).unwrap()
    }

    fn draft(v: Value) -> DomainResult<LifecycleStateDraft> {
        LifecycleStateDraft::try_from(input(v))
    }

    fn base() -> Value {
        json!({"name": "Active", "technicalName": "active"})
    }

    fn with(field: &str, value: Value) -> Value {
        let mut v = base();
        v[field] = value;
        v
    }

    fn state() -> LifecycleState {
        let d = draft(json!({
            "name": "Active", "technicalName": "active", "enabled": true,
            "accessProfileIds": ["ap1", "ap2"],
            "accountActions": [{"action": "ENABLE", "sourceIds": ["s1"]}],
        }))
        .unwrap();
        LifecycleState {
            id: "a".repeat(32),
            identity_profile_id: "b".repeat(32),
            name: d.name.into_string(),
            technical_name: d.technical_name,
            description: d.description.map(Description::into_string),
            enabled: d.enabled,
            identity_count: 0,
            identity_state: d.identity_state,
            priority: d.priority,
            access_profile_ids: d.access_profile_ids,
            doc: d.doc,
            created: Utc::now(),
            modified: Utc::now(),
        }
    }

    fn message(r: DomainResult<impl std::fmt::Debug>) -> String {
        r.unwrap_err().to_string()
    }

    #[test]
    fn a_minimal_input_becomes_a_draft_with_defaults() {
        let d = draft(base()).unwrap();
        assert_eq!(d.name, "Active");
        assert_eq!(d.technical_name, "active");
        assert!(!d.enabled);
        assert!(d.access_profile_ids.is_empty());
        assert!(d.doc.is_empty());
        assert_eq!(d.priority, None);
    }

    #[test]
    fn name_and_technical_name_are_required() {
        for (field, msg) in [
            ("name", "name is required and can't be empty."),
            ("technicalName", "technicalName is required."),
        ] {
            let mut v = base();
            v.as_object_mut().unwrap().remove(field);
            assert_eq!(message(draft(v)), msg);
            assert_eq!(message(draft(with(field, json!("  ")))), msg);
            assert_eq!(message(draft(with(field, Value::Null))), msg);
        }
    }

    #[test]
    fn nulls_are_absent_and_read_only_fields_are_ignored() {
        let mut v = base();
        for f in [
            "description",
            "enabled",
            "emailNotificationOption",
            "accountActions",
            "accessProfileIds",
            "identityState",
            "accessActionConfiguration",
            "priority",
        ] {
            v[f] = Value::Null;
        }
        v["id"] = json!("x");
        v["identityCount"] = json!(42);
        v["created"] = json!("2001-01-01T00:00:00Z");
        let d = draft(v).unwrap();
        assert_eq!(d, draft(base()).unwrap());
    }

    #[test]
    fn types_are_strict() {
        for (field, value) in [
            ("enabled", json!("true")),
            ("priority", json!("10")),
            ("priority", json!(1.5)),
            ("priority", json!(1_i64 << 40)),
            ("accessProfileIds", json!("ap1")),
            ("accessProfileIds", json!([1])),
            ("emailNotificationOption", json!({"notifyManagers": "yes"})),
            ("accountActions", json!({"action": "ENABLE"})),
        ] {
            let v = with(field, value);
            assert!(
                serde_json::from_value::<LifecycleStateInput>(v.clone()).is_err(),
                "{v}"
            );
        }
    }

    #[test]
    fn duplicate_or_blank_access_profile_ids_are_rejected() {
        assert_eq!(
            message(draft(with("accessProfileIds", json!(["a1", "a2", "a1"])))),
            "accessProfileIds lists 'a1' more than once."
        );
        assert_eq!(
            message(draft(with("accessProfileIds", json!(["a1", ""])))),
            "accessProfileIds[1] must not be empty."
        );
        let d = draft(with("accessProfileIds", json!(["a2", "a1"]))).unwrap();
        assert_eq!(d.access_profile_ids, vec!["a2", "a1"], "order is kept");
    }

    #[test]
    fn identity_state_must_be_one_of_the_v1_values() {
        assert!(draft(with("identityState", json!("INACTIVE_LONG_TERM"))).is_ok());
        assert_eq!(
            message(draft(with("identityState", json!("GONE")))),
            "identityState 'GONE' is not one of ACTIVE, INACTIVE_SHORT_TERM, INACTIVE_LONG_TERM."
        );
    }

    #[test]
    fn sub_objects_are_stored_with_every_field_and_their_defaults() {
        let d = draft(json!({
            "name": "N", "technicalName": "n",
            "emailNotificationOption": {"notifyManagers": true},
            "accountActions": [
                {"action": "DISABLE", "sourceIds": ["s1", "s2"]},
                {"action": "DELETE", "allSources": true, "excludeSourceIds": ["s3"]},
            ],
            "accessActionConfiguration": {},
            "priority": 10,
        }))
        .unwrap();
        assert_eq!(d.priority, Some(10));
        assert_eq!(
            d.doc["emailNotificationOption"],
            json!({"notifyManagers": true, "notifyAllAdmins": false,
                   "notifySpecificUsers": false, "emailAddressList": []})
        );
        assert_eq!(
            d.doc["accountActions"],
            json!([
                {"action": "DISABLE", "sourceIds": ["s1", "s2"], "excludeSourceIds": null, "allSources": false},
                {"action": "DELETE", "sourceIds": null, "excludeSourceIds": ["s3"], "allSources": true},
            ])
        );
        assert_eq!(
            d.doc["accessActionConfiguration"],
            json!({"removeAllAccessEnabled": false})
        );
    }

    #[test]
    fn account_actions_follow_the_documented_rules() {
        for (action, msg) in [
            (
                json!({"sourceIds": ["s"]}),
                "accountActions[0].action is required.",
            ),
            (
                json!({"action": "ARCHIVE", "sourceIds": ["s"]}),
                "accountActions[0].action 'ARCHIVE' is not one of ENABLE, DISABLE, DELETE.",
            ),
            (
                json!({"action": "ENABLE"}),
                "accountActions[0].sourceIds is required unless allSources is true.",
            ),
            (
                json!({"action": "ENABLE", "sourceIds": ["s"], "allSources": true}),
                "accountActions[0].sourceIds must not be given when allSources is true.",
            ),
            (
                json!({"action": "ENABLE", "sourceIds": ["s"], "excludeSourceIds": ["t"]}),
                "accountActions[0].sourceIds and excludeSourceIds cannot be used together.",
            ),
            (
                json!({"action": "ENABLE", "sourceIds": ["s", "s"]}),
                "accountActions[0].sourceIds lists 's' more than once.",
            ),
        ] {
            assert_eq!(message(draft(with("accountActions", json!([action])))), msg);
        }
    }

    #[test]
    fn missing_access_profiles_are_all_named() {
        let d = draft(with("accessProfileIds", json!(["a1", "a2", "a3"]))).unwrap();
        let found = |ids: &[&str]| -> Vec<NamedRef> {
            ids.iter()
                .map(|id| NamedRef {
                    id: id.to_string(),
                    name: format!("AP {id}"),
                })
                .collect()
        };
        assert!(check_access_profiles(&d, &found(&["a3", "a1", "a2"])).is_ok());
        assert_eq!(
            message(check_access_profiles(&d, &found(&["a2"]))),
            "accessProfileIds names access profiles that do not exist: a1, a3."
        );
    }

    #[test]
    fn the_document_has_every_schema_field_with_null_where_absent() {
        let mut ls = state();
        ls.doc.remove("accountActions");
        let doc = lifecycle_state_document(&ls);
        let keys: Vec<&str> = doc
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        for k in [
            "id",
            "name",
            "created",
            "modified",
            "enabled",
            "technicalName",
            "description",
            "identityCount",
            "emailNotificationOption",
            "accountActions",
            "accessProfileIds",
            "identityState",
            "accessActionConfiguration",
            "priority",
        ] {
            assert!(keys.contains(&k), "{k}");
        }
        assert_eq!(doc["identityCount"], 0);
        assert_eq!(doc["description"], Value::Null);
        assert_eq!(doc["emailNotificationOption"], Value::Null);
        assert_eq!(doc["accountActions"], json!([]));
        assert_eq!(doc["accessProfileIds"], json!(["ap1", "ap2"]));
        assert_eq!(doc["priority"], Value::Null);
        assert!(doc["created"].as_str().unwrap().ends_with('Z'));
    }

    #[test]
    fn the_document_reads_back_as_the_same_draft() {
        let ls = state();
        let again = LifecycleStateDraft::try_from(input(lifecycle_state_document(&ls))).unwrap();
        assert_eq!(again.access_profile_ids, ls.access_profile_ids);
        assert_eq!(again.doc, ls.doc);
        assert_eq!(again.name, ls.name);
    }

    #[test]
    fn patch_replaces_the_documented_fields() {
        let ops = vec![
            json!({"op": "replace", "path": "/description", "value": "new"}),
            json!({"op": "replace", "path": "/enabled", "value": false}),
            json!({"op": "replace", "path": "/accessProfileIds", "value": ["ap3"]}),
            json!({"op": "add", "path": "/accountActions/-",
                   "value": {"action": "DELETE", "sourceIds": ["s9"]}}),
            json!({"op": "replace", "path": "/emailNotificationOption",
                   "value": {"notifyAllAdmins": true}}),
        ];
        let d = LifecycleStateDraft::try_from(apply_patch(&state(), &ops).unwrap()).unwrap();
        assert_eq!(d.description.as_deref(), Some("new"));
        assert!(!d.enabled);
        assert_eq!(d.access_profile_ids, vec!["ap3"]);
        assert_eq!(d.doc["accountActions"][1]["action"], "DELETE");
        assert_eq!(d.doc["emailNotificationOption"]["notifyAllAdmins"], true);
        assert_eq!(d.name, "Active", "untouched fields stay");
    }

    #[test]
    fn patch_can_insert_and_remove_access_profiles_by_index() {
        let ops = vec![json!({"op": "add", "path": "/accessProfileIds/0", "value": "ap0"})];
        let out = apply_patch(&state(), &ops).unwrap();
        assert_eq!(out.access_profile_ids.unwrap(), vec!["ap0", "ap1", "ap2"]);
        let ops = vec![json!({"op": "remove", "path": "/accessProfileIds/1"})];
        let out = apply_patch(&state(), &ops).unwrap();
        assert_eq!(out.access_profile_ids.unwrap(), vec!["ap1"]);
        let ops = vec![json!({"op": "remove", "path": "/accessProfileIds/7"})];
        assert!(apply_patch(&state(), &ops).is_err());
    }

    #[test]
    fn patch_of_an_undocumented_field_is_rejected() {
        for path in [
            "/name",
            "/technicalName",
            "/id",
            "/created",
            "/identityCount",
            "/identityState",
            "/priority",
        ] {
            let ops = vec![json!({"op": "replace", "path": path, "value": "x"})];
            let msg = message(apply_patch(&state(), &ops));
            assert!(msg.contains("is not patchable"), "{path}: {msg}");
        }
        let ops = vec![json!({"op": "move", "from": "/name", "path": "/description"})];
        assert!(apply_patch(&state(), &ops).is_err());
        // `test` and the source of `copy` only read.
        let ops = vec![
            json!({"op": "test", "path": "/name", "value": "Active"}),
            json!({"op": "copy", "from": "/name", "path": "/description"}),
        ];
        let out = apply_patch(&state(), &ops).unwrap();
        assert_eq!(out.description.as_deref(), Some("Active"));
    }

    #[test]
    fn malformed_patches_are_rejected() {
        assert!(apply_patch(&state(), &[]).is_err());
        assert!(apply_patch(&state(), &[json!("replace")]).is_err());
        assert!(apply_patch(&state(), &[json!({"op": "frobnicate", "path": "/enabled"})]).is_err());
        let ops = vec![json!({"op": "replace", "path": "/enabled", "value": "yes"})];
        assert!(message(apply_patch(&state(), &ops)).contains("invalid"));
        let ops = vec![json!({"op": "test", "path": "/name", "value": "Other"})];
        assert!(apply_patch(&state(), &ops).is_err());
    }
}
