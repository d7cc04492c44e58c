//! Role rules: the input document, its validation, the JSON Patch rules of `patchRole`,
//! and the canonical `Role` document every family renders (v3, beta and v1 share the
//! schema: `components/schemas/Role`, v1 `role`).

use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::access_profile::RefInput;
use super::model::{Role, RoleDraft, RoleRefFacts};
use super::text::{Description, Name};
use super::{invalid, DomainError, DomainResult, Problems};

/// Fields kept in the free-form part of the document (stored as sent, validated for
/// shape). `legacyMembershipInfo` is "not directly modifiable": rendered, never taken.
const DOC_FIELDS: [&str; 8] = [
    "membership",
    "legacyMembershipInfo",
    "accessRequestConfig",
    "revocationRequestConfig",
    "additionalOwners",
    "dimensionRefs",
    "accessModelMetadata",
    "privilegeLevel",
];

/// The fields `patchRole` lists as patchable. `revokeRequestConfig` is the spec's name
/// in the list; the document field is `revocationRequestConfig`, accepted as well.
const PATCHABLE: [&str; 14] = [
    "name",
    "description",
    "enabled",
    "owner",
    "additionalOwners",
    "accessProfiles",
    "entitlements",
    "membership",
    "requestable",
    "accessRequestConfig",
    "revocationRequestConfig",
    "revokeRequestConfig",
    "segments",
    "accessModelMetadata",
];

/// `ApprovalSchemeForRole.approverType` (v3, beta and v1 agree).
const APPROVER_TYPES: [&str; 7] = [
    "OWNER",
    "MANAGER",
    "GOVERNANCE_GROUP",
    "WORKFLOW",
    "ALL_OWNERS",
    "ADDITIONAL_OWNER",
    "ADDITIONAL_GOVERNANCE_GROUP",
];

/// `RoleMembershipSelectorType`.
const MEMBERSHIP_TYPES: [&str; 2] = ["STANDARD", "IDENTITY_LIST"];

/// A role as a client sends it (create, or the result of a patch). `null` means absent;
/// `created`, `modified` and `legacyMembershipInfo` are ignored; `id` must be absent.
#[derive(Debug, Deserialize, Default, Clone)]
#[serde(rename_all = "camelCase")]
pub struct RoleInput {
    pub id: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub owner: Option<RefInput>,
    pub access_profiles: Option<Vec<RefInput>>,
    pub entitlements: Option<Vec<RefInput>>,
    pub membership: Option<Value>,
    pub enabled: Option<bool>,
    pub requestable: Option<bool>,
    pub access_request_config: Option<Value>,
    pub revocation_request_config: Option<Value>,
    pub segments: Option<Vec<String>>,
    pub dimensional: Option<bool>,
    pub dimension_refs: Option<Vec<Value>>,
    pub access_model_metadata: Option<Value>,
    pub privilege_level: Option<String>,
    pub additional_owners: Option<Vec<Value>>,
}

impl RoleInput {
    /// The owner's display name as the client gave it; [`check_owner_name`] compares it
    /// with the identity's (the draft keeps only the id).
    pub fn owner_name(&self) -> Option<String> {
        self.owner.as_ref().and_then(|o| o.name.clone())
    }
}

fn ref_id(r: &RefInput, field: &str, expected_type: &str) -> DomainResult<String> {
    if let Some(t) = &r.ref_type
        && t != expected_type
    {
        return invalid(format!(
            "{field}.type must be '{expected_type}', not '{t}'."
        ));
    }
    match &r.id {
        Some(id) if !id.trim().is_empty() => Ok(id.clone()),
        _ => invalid(format!("{field}.id is required.")),
    }
}

/// The ids of a reference list, in order; each bad or repeated reference is noted.
fn ref_ids(
    refs: Option<Vec<RefInput>>,
    field: &str,
    expected_type: &str,
    problems: &mut Problems,
) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for (i, r) in refs.unwrap_or_default().iter().enumerate() {
        let Some(id) = problems.check(ref_id(r, &format!("{field}[{i}]"), expected_type)) else {
            continue;
        };
        if ids.contains(&id) {
            problems.push(format!("{field}: '{id}' is listed more than once."));
        } else {
            ids.push(id);
        }
    }
    ids
}

impl TryFrom<RoleInput> for RoleDraft {
    type Error = DomainError;

    /// Every problem of the input is reported, in the order of the fields.
    fn try_from(input: RoleInput) -> DomainResult<Self> {
        let mut problems = Problems::default();
        if input.id.is_some() {
            // Role.id: "must be left null when creating an Role, otherwise a 400".
            problems.push("id must be left null when creating a role.");
        }
        let name = match input.name {
            Some(n) if !n.trim().is_empty() => problems.check(Name::parse(Some(n), "name")),
            _ => {
                problems.push("name is required and can't be empty.");
                None
            }
        };
        let description = problems.check(Description::parse_optional(input.description));
        let owner_id = match &input.owner {
            None => {
                problems.push("owner is required.");
                None
            }
            Some(owner) => problems.check(ref_id(owner, "owner", "IDENTITY")),
        };
        let access_profile_ids = ref_ids(
            input.access_profiles,
            "accessProfiles",
            "ACCESS_PROFILE",
            &mut problems,
        );
        let entitlement_ids = ref_ids(
            input.entitlements,
            "entitlements",
            "ENTITLEMENT",
            &mut problems,
        );

        let mut doc = Map::new();
        if let Some(v) = input.membership {
            problems.check(check_membership(&v));
            doc.insert("membership".into(), v);
        }
        if let Some(v) = input.access_request_config {
            problems.check(check_request_config(&v, "accessRequestConfig"));
            doc.insert("accessRequestConfig".into(), v);
        }
        if let Some(v) = input.revocation_request_config {
            problems.check(check_request_config(&v, "revocationRequestConfig"));
            doc.insert("revocationRequestConfig".into(), v);
        }
        // Segments are links, as an access profile's: distinct ids, in order, each an
        // existing segment (checked with the store's facts).
        let mut segment_ids: Vec<String> = Vec::new();
        for (i, id) in input.segments.unwrap_or_default().into_iter().enumerate() {
            if id.trim().is_empty() {
                problems.push(format!("segments[{i}] must be a segment id."));
            } else if segment_ids.contains(&id) {
                problems.push(format!("segment '{id}' is listed more than once."));
            } else {
                segment_ids.push(id);
            }
        }
        if let Some(owners) = input.additional_owners {
            for (i, o) in owners.iter().enumerate() {
                let t = o.get("type").and_then(Value::as_str);
                let id = o.get("id").and_then(Value::as_str);
                if !matches!(t, Some("IDENTITY") | Some("GOVERNANCE_GROUP")) || id.is_none() {
                    problems.push(format!(
                        "additionalOwners[{i}] must have an id and a type of IDENTITY or GOVERNANCE_GROUP."
                    ));
                }
            }
            doc.insert("additionalOwners".into(), Value::Array(owners));
        }
        if let Some(refs) = input.dimension_refs {
            for (i, r) in refs.iter().enumerate() {
                problems.check(check_dimension_ref(r, i));
            }
            doc.insert("dimensionRefs".into(), Value::Array(refs));
        }
        if let Some(v) = input.access_model_metadata {
            // AttributeDTOList: an object `{"attributes": [...]}` (the SDKs reject `[]`).
            if !v.is_object() {
                problems.push("accessModelMetadata must be an object.");
            }
            doc.insert("accessModelMetadata".into(), v);
        }
        if let Some(p) = input.privilege_level {
            doc.insert("privilegeLevel".into(), json!(p));
        }
        problems.finish()?;
        // Each `None` noted its problem above.
        let (Some(name), Some(description), Some(owner_id)) = (name, description, owner_id) else {
            return invalid("The role is invalid.");
        };
        Ok(Self {
            name,
            description,
            owner_id,
            access_profile_ids,
            entitlement_ids,
            segment_ids,
            // Role.enabled and Role.requestable: "default": false.
            enabled: input.enabled.unwrap_or(false),
            requestable: input.requestable.unwrap_or(false),
            dimensional: input.dimensional.unwrap_or(false),
            doc,
        })
    }
}

/// `dimensionRefs[i]`: an object with a string `id`, of type `DIMENSION` if given.
fn check_dimension_ref(r: &Value, i: usize) -> DomainResult<()> {
    let Some(obj) = r.as_object() else {
        return invalid(format!("dimensionRefs[{i}] must be an object."));
    };
    if !matches!(obj.get("type"), None | Some(Value::Null))
        && obj.get("type").and_then(Value::as_str) != Some("DIMENSION")
    {
        return invalid(format!("dimensionRefs[{i}].type must be 'DIMENSION'."));
    }
    if !obj.get("id").is_some_and(Value::is_string) {
        return invalid(format!("dimensionRefs[{i}].id is required."));
    }
    Ok(())
}

fn check_membership(v: &Value) -> DomainResult<()> {
    let Some(obj) = v.as_object() else {
        return invalid("membership must be an object.");
    };
    match obj.get("type") {
        None | Some(Value::Null) => {}
        Some(t) if t.as_str().is_some_and(|t| MEMBERSHIP_TYPES.contains(&t)) => {}
        Some(_) => {
            return invalid(format!(
                "membership.type must be one of {}.",
                MEMBERSHIP_TYPES.join(", ")
            ))
        }
    }
    for (key, check) in [
        ("criteria", Value::is_object as fn(&Value) -> bool),
        ("identities", Value::is_array),
    ] {
        if let Some(x) = obj.get(key)
            && !(x.is_null() || check(x))
        {
            return invalid(format!("membership.{key} has the wrong type."));
        }
    }
    Ok(())
}

fn check_request_config(v: &Value, field: &str) -> DomainResult<()> {
    let Some(obj) = v.as_object() else {
        return invalid(format!("{field} must be an object."));
    };
    for flag in [
        "commentsRequired",
        "denialCommentsRequired",
        "reauthorizationRequired",
        "requireEndDate",
    ] {
        if let Some(x) = obj.get(flag)
            && !(x.is_boolean() || x.is_null())
        {
            return invalid(format!("{field}.{flag} must be a boolean."));
        }
    }
    match obj.get("approvalSchemes") {
        None | Some(Value::Null) => {}
        Some(Value::Array(list)) => {
            for (i, s) in list.iter().enumerate() {
                let t = s.get("approverType").and_then(Value::as_str).unwrap_or("");
                if !APPROVER_TYPES.contains(&t) {
                    return invalid(format!(
                        "{field}.approvalSchemes[{i}].approverType must be one of {}.",
                        APPROVER_TYPES.join(", ")
                    ));
                }
            }
        }
        Some(_) => return invalid(format!("{field}.approvalSchemes must be an array.")),
    }
    Ok(())
}

/// The referential rules: the owner is an existing identity, every access profile and
/// every entitlement exists. Every problem is reported; the missing ids of a kind in one
/// message.
pub fn check_role_refs(draft: &RoleDraft, facts: &RoleRefFacts) -> DomainResult<()> {
    let mut problems = Problems::default();
    if facts.owner.is_none() {
        problems.push(format!(
            "owner '{}' is not an existing identity.",
            draft.owner_id
        ));
    }
    for (ids, found, what) in [
        (
            &draft.access_profile_ids,
            &facts.access_profiles,
            "access profiles",
        ),
        (&draft.entitlement_ids, &facts.entitlements, "entitlements"),
    ] {
        let missing: Vec<&str> = ids
            .iter()
            .filter(|id| !found.iter().any(|f| &f.id == *id))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            problems.push(format!(
                "These {what} do not exist: {}.",
                missing.join(", ")
            ));
        }
    }
    let unknown: Vec<String> = draft
        .segment_ids
        .iter()
        .filter(|id| !facts.segments.contains(id))
        .map(|id| format!("'{id}'"))
        .collect();
    match unknown.len() {
        0 => {}
        1 => problems.push(format!("segment {} does not exist.", unknown.join(""))),
        _ => problems.push(format!("segments {} do not exist.", unknown.join(", "))),
    }
    problems.finish()
}

/// At most this many ids per `deleteBulkRoles` request (as for access profiles).
pub const MAX_BULK_DELETE: usize = 50;

/// The shape rules of a `deleteBulkRoles` body: 1 to [`MAX_BULK_DELETE`] ids, each once.
pub fn check_bulk_delete(ids: &[String]) -> DomainResult<()> {
    if ids.is_empty() || ids.len() > MAX_BULK_DELETE {
        return invalid(format!(
            "roleIds must list 1 to {MAX_BULK_DELETE} role ids, not {}.",
            ids.len()
        ));
    }
    for (i, id) in ids.iter().enumerate() {
        if ids[..i].contains(id) {
            return invalid(format!("roleIds: '{id}' is listed more than once."));
        }
    }
    Ok(())
}

/// Every id of a bulk delete must name an existing role; the unknown ones are named.
pub fn check_bulk_delete_known(ids: &[String], existing: &[String]) -> DomainResult<()> {
    let unknown: Vec<&str> = ids
        .iter()
        .filter(|id| !existing.contains(id))
        .map(String::as_str)
        .collect();
    if unknown.is_empty() {
        Ok(())
    } else {
        invalid(format!("These roles do not exist: {}.", unknown.join(", ")))
    }
}

/// OwnerReference.name: "If set, it must match the current value of the owner's
/// display name, otherwise a 400 Bad Request error will result."
pub fn check_owner_name(given: Option<&str>, facts: &RoleRefFacts) -> DomainResult<()> {
    match (given, &facts.owner) {
        (Some(n), Some(owner)) if n != owner.name => invalid(format!(
            "owner.name '{n}' does not match the display name of identity '{}'.",
            owner.id
        )),
        _ => Ok(()),
    }
}

/// The Role document JSON Patch works on (`patchRole`): every field of v3 `Role`, `null`
/// when unset so that `replace` finds it, lists as `[]`. Responses are rendered from
/// `api::roles::RoleBody`, which follows the schema's nullability.
pub fn role_document(role: &Role) -> Value {
    let refs = |list: &[super::model::NamedRef], t: &str| {
        list.iter()
            .map(|r| json!({"type": t, "id": r.id, "name": r.name}))
            .collect::<Vec<_>>()
    };
    let mut doc = json!({
        "id": role.id,
        "name": role.name,
        "created": super::format_timestamp(&role.created),
        "modified": super::format_timestamp(&role.modified),
        "description": role.description,
        "owner": {"type": "IDENTITY", "id": role.owner.id, "name": role.owner.name},
        "accessProfiles": refs(&role.access_profiles, "ACCESS_PROFILE"),
        "entitlements": refs(&role.entitlements, "ENTITLEMENT"),
        "membership": null,
        "legacyMembershipInfo": null,
        "enabled": role.enabled,
        "requestable": role.requestable,
        "accessRequestConfig": null,
        "revocationRequestConfig": null,
        "segments": role.segments,
        "dimensional": role.dimensional,
        "dimensionRefs": null,
        "accessModelMetadata": null,
        "privilegeLevel": null,
        "additionalOwners": [],
    });
    if let Some(obj) = doc.as_object_mut() {
        for f in DOC_FIELDS {
            if let Some(v) = role.doc.get(f) {
                obj.insert(f.to_string(), v.clone());
            }
        }
    }
    doc
}

/// Applies an RFC 6902 patch to a role's document under the rules of `patchRole`: only
/// the listed fields (a `test` may look anywhere). Returns the patched document as
/// input for [`RoleDraft::try_from`].
pub fn apply_role_patch(current: &Role, ops: &[Value]) -> DomainResult<RoleInput> {
    let mut doc = role_document(current);
    super::patch::apply(
        &mut doc,
        ops,
        &PATCHABLE,
        &[("revokeRequestConfig", "revocationRequestConfig")],
    )?;
    if let Some(obj) = doc.as_object_mut() {
        // The id is the path's, not an input.
        obj.remove("id");
        // An owner name still equal to the current one was rendered by us, not sent by
        // the client: drop it so that replacing only `/owner/id` is not a name mismatch.
        if let Some(owner) = obj.get_mut("owner").and_then(Value::as_object_mut)
            && owner.get("name").and_then(Value::as_str) == Some(current.owner.name.as_str())
        {
            owner.remove("name");
        }
    }
    super::patch::read_patched(doc, "role")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::NamedRef;
    use chrono::Utc;

    fn input(v: Value) -> RoleInput {
        serde_json::from_value(v).unwrap()
    }

    fn base() -> Value {
        json!({"name": "Role", "owner": {"type": "IDENTITY", "id": "o1"},
               "accessProfiles": [{"type": "ACCESS_PROFILE", "id": "a1"}, {"id": "a2"}]})
    }

    fn named(id: &str, name: &str) -> NamedRef {
        NamedRef {
            id: id.into(),
            name: name.into(),
        }
    }

    fn role() -> Role {
        Role {
            id: "r".repeat(32),
            name: "Role".into(),
            description: Some("old".into()),
            owner: named("o1", "Owner"),
            access_profiles: vec![named("a1", "AP 1"), named("a2", "AP 2")],
            entitlements: vec![],
            segments: vec![],
            enabled: true,
            requestable: false,
            dimensional: false,
            doc: Map::new(),
            created: Utc::now(),
            modified: Utc::now(),
        }
    }

    #[test]
    fn a_minimal_input_becomes_a_draft_with_false_defaults_and_ordered_profiles() {
        let d = RoleDraft::try_from(input(base())).unwrap();
        assert!(!d.enabled && !d.requestable && !d.dimensional);
        assert_eq!(d.access_profile_ids, vec!["a1", "a2"]);
        assert!(d.entitlement_ids.is_empty());
        assert!(d.doc.is_empty());
    }

    #[test]
    fn nulls_are_absent() {
        let mut v = base();
        for f in [
            "enabled",
            "requestable",
            "description",
            "segments",
            "membership",
        ] {
            v[f] = Value::Null;
        }
        let d = RoleDraft::try_from(input(v)).unwrap();
        assert!(!d.enabled);
        assert!(d.doc.is_empty());
    }

    #[test]
    fn missing_name_or_owner_is_named() {
        for (field, msg) in [
            ("name", "name is required and can't be empty."),
            ("owner", "owner is required."),
        ] {
            let mut v = base();
            v.as_object_mut().unwrap().remove(field);
            assert_eq!(
                RoleDraft::try_from(input(v)).unwrap_err(),
                DomainError::Invalid(msg.into())
            );
        }
    }

    #[test]
    fn an_id_on_create_is_rejected() {
        let mut v = base();
        v["id"] = json!("x");
        assert!(RoleDraft::try_from(input(v)).is_err());
    }

    #[test]
    fn wrong_types_are_rejected_by_the_input_parser() {
        for (f, val) in [
            ("enabled", json!("true")),
            ("name", json!(5)),
            ("accessProfiles", json!({"id": "a1"})),
            ("segments", json!([1])),
        ] {
            let mut v = base();
            v[f] = val;
            assert!(serde_json::from_value::<RoleInput>(v).is_err(), "{f}");
        }
    }

    #[test]
    fn duplicate_and_mistyped_references_are_rejected() {
        let mut v = base();
        v["accessProfiles"] = json!([{"id": "a1"}, {"id": "a1"}]);
        let e = RoleDraft::try_from(input(v)).unwrap_err().to_string();
        assert!(e.contains("'a1' is listed more than once"), "{e}");
        let mut v = base();
        v["accessProfiles"] = json!([{"type": "ENTITLEMENT", "id": "a1"}]);
        assert!(RoleDraft::try_from(input(v)).is_err());
        let mut v = base();
        v["owner"]["type"] = json!("GOVERNANCE_GROUP");
        assert!(RoleDraft::try_from(input(v)).is_err());
        let mut v = base();
        v["entitlements"] = json!([{"id": "e1"}, {"id": "e1"}]);
        assert!(RoleDraft::try_from(input(v)).is_err());
    }

    #[test]
    fn shapes_of_the_free_form_fields_are_checked() {
        for (f, val) in [
            ("accessModelMetadata", json!([])),
            ("membership", json!({"type": "SOMETHING"})),
            ("accessRequestConfig", json!({"commentsRequired": "yes"})),
            (
                "revocationRequestConfig",
                json!({"approvalSchemes": [{"approverType": "SOURCE_OWNER"}]}),
            ),
            ("additionalOwners", json!([{"type": "ROLE", "id": "x"}])),
            ("dimensionRefs", json!([{"type": "ROLE", "id": "x"}])),
            ("description", json!("d".repeat(2001))),
            ("name", json!("n".repeat(129))),
        ] {
            let mut v = base();
            v[f] = val;
            assert!(RoleDraft::try_from(input(v)).is_err(), "{f}");
        }
        let mut v = base();
        v["membership"] = json!({"type": "IDENTITY_LIST", "identities": [{"id": "i1"}]});
        v["accessModelMetadata"] = json!({"attributes": []});
        v["privilegeLevel"] = json!("High");
        let d = RoleDraft::try_from(input(v)).unwrap();
        assert_eq!(d.doc.len(), 3);
    }

    #[test]
    fn missing_references_are_all_named() {
        let d = RoleDraft::try_from(input(base())).unwrap();
        let ok = RoleRefFacts {
            owner: Some(named("o1", "Owner")),
            access_profiles: vec![named("a1", "AP 1"), named("a2", "AP 2")],
            entitlements: vec![],
            segments: vec![],
        };
        assert!(check_role_refs(&d, &ok).is_ok());
        let one_missing = RoleRefFacts {
            access_profiles: vec![named("a2", "AP 2")],
            ..ok.clone()
        };
        assert_eq!(
            check_role_refs(&d, &one_missing).unwrap_err().to_string(),
            "These access profiles do not exist: a1."
        );
        let no_owner = RoleRefFacts { owner: None, ..ok };
        assert!(check_role_refs(&d, &no_owner)
            .unwrap_err()
            .to_string()
            .contains("not an existing identity"));
    }

    #[test]
    fn bulk_delete_takes_one_to_fifty_distinct_known_ids() {
        let ids = |n: usize| (0..n).map(|i| format!("r{i}")).collect::<Vec<_>>();
        assert!(check_bulk_delete(&ids(1)).is_ok());
        assert!(check_bulk_delete(&ids(50)).is_ok());
        assert!(check_bulk_delete(&ids(0)).is_err());
        assert!(check_bulk_delete(&ids(51)).is_err());
        let dup = vec!["a".to_string(), "b".to_string(), "a".to_string()];
        assert!(check_bulk_delete(&dup)
            .unwrap_err()
            .to_string()
            .contains("'a' is listed more than once"));
        assert_eq!(
            check_bulk_delete_known(&ids(3), &["r1".to_string()])
                .unwrap_err()
                .to_string(),
            "These roles do not exist: r0, r2."
        );
        assert!(check_bulk_delete_known(&ids(2), &ids(2)).is_ok());
    }

    #[test]
    fn a_given_owner_name_must_match() {
        let facts = RoleRefFacts {
            owner: Some(named("o1", "Owner")),
            ..Default::default()
        };
        assert!(check_owner_name(None, &facts).is_ok());
        assert!(check_owner_name(Some("Owner"), &facts).is_ok());
        assert!(check_owner_name(Some("Other"), &facts).is_err());
    }

    #[test]
    fn the_document_has_every_schema_field_with_the_right_types() {
        let doc = role_document(&role());
        for f in [
            "id",
            "name",
            "created",
            "modified",
            "description",
            "owner",
            "accessProfiles",
            "entitlements",
            "membership",
            "legacyMembershipInfo",
            "enabled",
            "requestable",
            "accessRequestConfig",
            "revocationRequestConfig",
            "segments",
            "dimensional",
            "dimensionRefs",
            "accessModelMetadata",
            "privilegeLevel",
            "additionalOwners",
        ] {
            assert!(doc.get(f).is_some(), "{f}");
        }
        assert_eq!(doc["owner"]["type"], "IDENTITY");
        assert_eq!(
            doc["accessProfiles"][1],
            json!({"type": "ACCESS_PROFILE", "id": "a2", "name": "AP 2"})
        );
        assert_eq!(doc["entitlements"], json!([]));
        assert!(doc["accessModelMetadata"].is_null());
        assert!(doc["created"].as_str().unwrap().ends_with('Z'));
    }

    #[test]
    fn patch_replaces_the_patchable_fields_and_round_trips_the_rest() {
        let ops = vec![
            json!({"op": "replace", "path": "/description", "value": "new"}),
            json!({"op": "replace", "path": "/accessProfiles", "value": [{"id": "a3"}]}),
            json!({"op": "replace", "path": "/name", "value": "Renamed"}),
        ];
        let out = apply_role_patch(&role(), &ops).unwrap();
        assert_eq!(out.description.as_deref(), Some("new"));
        assert_eq!(out.owner_name(), None, "the rendered owner name is dropped");
        let d = RoleDraft::try_from(out).unwrap();
        assert_eq!(d.name, "Renamed");
        assert_eq!(d.access_profile_ids, vec!["a3"]);
        assert!(d.enabled);
    }

    #[test]
    fn patch_can_add_and_remove_access_profiles_by_index() {
        let ops = vec![
            json!({"op": "add", "path": "/accessProfiles/-", "value": {"id": "a3"}}),
            json!({"op": "remove", "path": "/accessProfiles/0"}),
        ];
        let d = RoleDraft::try_from(apply_role_patch(&role(), &ops).unwrap()).unwrap();
        assert_eq!(d.access_profile_ids, vec!["a2", "a3"]);
        let ops = vec![json!({"op": "remove", "path": "/accessProfiles/9"})];
        assert!(apply_role_patch(&role(), &ops).is_err());
    }

    #[test]
    fn patch_of_other_paths_is_rejected() {
        for path in [
            "/id",
            "/created",
            "/modified",
            "/dimensional",
            "/privilegeLevel",
            "/x",
        ] {
            let ops = vec![json!({"op": "replace", "path": path, "value": "x"})];
            let e = apply_role_patch(&role(), &ops).unwrap_err().to_string();
            assert!(e.contains("is not patchable"), "{path}: {e}");
        }
        assert!(apply_role_patch(&role(), &[]).is_err());
    }

    #[test]
    fn revoke_request_config_patches_the_revocation_config() {
        let ops = vec![json!({"op": "add", "path": "/revokeRequestConfig",
                              "value": {"commentsRequired": true}})];
        let out = apply_role_patch(&role(), &ops).unwrap();
        assert_eq!(
            out.revocation_request_config,
            Some(json!({"commentsRequired": true}))
        );
    }
}
