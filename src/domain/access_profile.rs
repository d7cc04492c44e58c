//! Access profile rules: the input document, its validation, the JSON Patch rules of
//! `patchAccessProfile`, and the canonical document every family renders.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::model::{AccessProfile, NamedRef};
use super::text::{Description, Name};
use super::{invalid, DomainError, DomainResult, Problems};

/// The fields `patchAccessProfile` lists as patchable. `revokeRequestConfig` is the
/// spec's name in the list; the document field is `revocationRequestConfig`.
const PATCHABLE: [&str; 13] = [
    "name",
    "description",
    "enabled",
    "owner",
    "additionalOwners",
    "requestable",
    "accessRequestConfig",
    "revocationRequestConfig",
    "revokeRequestConfig",
    "segments",
    "entitlements",
    "provisioningCriteria",
    "source",
];

#[derive(Debug, Deserialize, Default, Clone)]
#[serde(rename_all = "camelCase")]
pub struct RefInput {
    pub id: Option<String>,
    #[serde(rename = "type")]
    pub ref_type: Option<String>,
    pub name: Option<String>,
}

/// An access profile as a client sends it (create, or the result of a patch). `null`
/// means absent; read-only fields (id, created, modified) are ignored.
#[derive(Debug, Deserialize, Default, Clone)]
#[serde(rename_all = "camelCase")]
pub struct AccessProfileInput {
    pub name: Option<String>,
    pub description: Option<String>,
    pub owner: Option<RefInput>,
    pub source: Option<RefInput>,
    pub entitlements: Option<Vec<RefInput>>,
    pub enabled: Option<bool>,
    pub requestable: Option<bool>,
    pub access_request_config: Option<Value>,
    pub revocation_request_config: Option<Value>,
    pub provisioning_criteria: Option<Value>,
    pub additional_owners: Option<Vec<Value>>,
    pub segments: Option<Vec<String>>,
    pub access_model_metadata: Option<Value>,
}

/// A validated access profile, before its references are checked against the store.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessProfileDraft {
    pub name: Name,
    pub description: Option<Description>,
    pub owner_id: String,
    pub owner_name: Option<String>,
    pub source_id: String,
    pub source_name: Option<String>,
    pub entitlement_ids: Vec<String>,
    /// The segments the profile is in, in the client's order.
    pub segment_ids: Vec<String>,
    pub enabled: bool,
    pub requestable: bool,
    pub doc: Map<String, Value>,
}

fn check_ref(r: &RefInput, field: &str, expected_type: &str) -> DomainResult<String> {
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

impl TryFrom<AccessProfileInput> for AccessProfileDraft {
    type Error = DomainError;

    /// Every problem of the input is reported, in the order of the fields.
    fn try_from(input: AccessProfileInput) -> DomainResult<Self> {
        let mut problems = Problems::default();
        let name = problems.check(Name::parse(input.name, "name"));
        let description = problems.check(Description::parse_optional(input.description));
        let owner_id = match &input.owner {
            None => {
                problems.push("owner is required.");
                None
            }
            Some(owner) => problems.check(check_ref(owner, "owner", "IDENTITY")),
        };
        let source_id = match &input.source {
            None => {
                problems.push("source is required.");
                None
            }
            Some(source) => problems.check(check_ref(source, "source", "SOURCE")),
        };
        let entitlements = input.entitlements.unwrap_or_default();
        let mut entitlement_ids = Vec::new();
        for (i, e) in entitlements.iter().enumerate() {
            let Some(id) =
                problems.check(check_ref(e, &format!("entitlements[{i}]"), "ENTITLEMENT"))
            else {
                continue;
            };
            if entitlement_ids.contains(&id) {
                problems.push(format!("entitlement '{id}' is listed more than once."));
            } else {
                entitlement_ids.push(id);
            }
        }
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
        let enabled = input.enabled.unwrap_or(false);
        if enabled && entitlements.is_empty() {
            problems.push("An enabled access profile must include at least one entitlement.");
        }
        let mut doc = Map::new();
        if let Some(v) = input.access_request_config {
            problems.check(check_request_config(&v, "accessRequestConfig"));
            doc.insert("accessRequestConfig".into(), v);
        }
        if let Some(v) = input.revocation_request_config {
            problems.check(check_request_config(&v, "revocationRequestConfig"));
            doc.insert("revocationRequestConfig".into(), v);
        }
        if let Some(v) = input.provisioning_criteria {
            if !v.is_object() {
                problems.push("provisioningCriteria must be an object.");
            }
            doc.insert("provisioningCriteria".into(), v);
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
        if let Some(v) = input.access_model_metadata {
            // AttributeDTOList: an object `{"attributes": [...]}`.
            if !v.is_object() {
                problems.push("accessModelMetadata must be an object.");
            }
            doc.insert("accessModelMetadata".into(), v);
        }
        problems.finish()?;
        // Each `None` noted its problem above.
        let (Some(name), Some(description), Some(owner_id), Some(source_id)) =
            (name, description, owner_id, source_id)
        else {
            return invalid("The access profile is invalid.");
        };
        Ok(Self {
            name,
            description,
            owner_id,
            owner_name: input.owner.and_then(|o| o.name),
            source_id,
            source_name: input.source.and_then(|s| s.name),
            entitlement_ids,
            segment_ids,
            enabled,
            requestable: input.requestable.unwrap_or(true),
            doc,
        })
    }
}

const APPROVER_TYPES: [&str; 9] = [
    "APP_OWNER",
    "OWNER",
    "SOURCE_OWNER",
    "MANAGER",
    "GOVERNANCE_GROUP",
    "WORKFLOW",
    "ALL_OWNERS",
    "ADDITIONAL_OWNER",
    "ADDITIONAL_GOVERNANCE_GROUP",
];

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
    if let Some(schemes) = obj.get("approvalSchemes") {
        let Some(list) = schemes.as_array().or(if schemes.is_null() {
            Some(&EMPTY)
        } else {
            None
        }) else {
            return invalid(format!("{field}.approvalSchemes must be an array."));
        };
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
    Ok(())
}

static EMPTY: Vec<Value> = Vec::new();

/// What the store knows about the objects a draft references.
#[derive(Debug, Default)]
pub struct RefFacts {
    pub owner: Option<NamedRef>,
    pub source: Option<NamedRef>,
    /// (entitlement id, id of its source) for each referenced entitlement that exists.
    pub entitlements: Vec<(String, String)>,
    /// The referenced segments that exist.
    pub segments: Vec<String>,
}

/// The referential rules: owner is an identity, source exists, every entitlement exists
/// and belongs to the profile's source, every segment exists (the unknown ones are all
/// named); a given display name must match. Every problem is reported.
pub fn check_refs(draft: &AccessProfileDraft, facts: &RefFacts) -> DomainResult<()> {
    let mut problems = Problems::default();
    match &facts.owner {
        None => problems.push(format!(
            "owner '{}' is not an existing identity.",
            draft.owner_id
        )),
        Some(owner) => {
            if let Some(n) = &draft.owner_name
                && n != &owner.name
            {
                problems.push(format!(
                    "owner.name '{n}' does not match the display name of identity '{}'.",
                    owner.id
                ));
            }
        }
    }
    match &facts.source {
        None => problems.push(format!("source '{}' does not exist.", draft.source_id)),
        Some(source) => {
            if let Some(n) = &draft.source_name
                && n != &source.name
            {
                problems.push(format!(
                    "source.name '{n}' does not match the name of source '{}'.",
                    source.id
                ));
            }
        }
    }
    for id in &draft.entitlement_ids {
        match facts.entitlements.iter().find(|(e, _)| e == id) {
            None => problems.push(format!("entitlement '{id}' does not exist.")),
            // Of a source that exists: of one that does not, every entitlement is.
            Some((_, src)) if src != &draft.source_id && facts.source.is_some() => {
                problems.push(format!(
                    "entitlement '{id}' does not belong to source '{}'.",
                    draft.source_id
                ))
            }
            Some(_) => {}
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

/// The canonical AccessProfile document (v3 `AccessProfile`; beta and v1 share it),
/// serialized straight from the stored profile: what every family answers. Keys are in
/// alphabetical order; the free-form fields are the stored ones, or their defaults.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccessProfileDocument<'a> {
    /// Not nullable in any family's schema: left out when the profile has none.
    #[serde(skip_serializing_if = "Value::is_null")]
    access_model_metadata: &'a Value,
    access_request_config: &'a Value,
    additional_owners: &'a Value,
    created: String,
    description: &'a Option<String>,
    enabled: bool,
    entitlements: Vec<RefDocument<'a>>,
    id: &'a str,
    modified: String,
    name: &'a str,
    owner: RefDocument<'a>,
    provisioning_criteria: &'a Value,
    requestable: bool,
    revocation_request_config: &'a Value,
    segments: &'a [String],
    source: RefDocument<'a>,
}

/// `{"id", "name", "type"}` of a referenced object.
#[derive(Serialize)]
struct RefDocument<'a> {
    id: &'a str,
    name: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
}

static NULL: Value = Value::Null;
static EMPTY_LIST: Value = Value::Array(Vec::new());

impl<'a> AccessProfileDocument<'a> {
    pub fn of(ap: &'a AccessProfile) -> Self {
        let stored = |field: &str, absent: &'static Value| ap.doc.get(field).unwrap_or(absent);
        let reference = |r: &'a NamedRef, kind| RefDocument {
            id: &r.id,
            name: &r.name,
            kind,
        };
        AccessProfileDocument {
            access_model_metadata: stored("accessModelMetadata", &NULL),
            access_request_config: stored("accessRequestConfig", &NULL),
            additional_owners: stored("additionalOwners", &EMPTY_LIST),
            created: super::format_timestamp(&ap.created),
            description: &ap.description,
            enabled: ap.enabled,
            entitlements: ap
                .entitlements
                .iter()
                .map(|e| reference(e, "ENTITLEMENT"))
                .collect(),
            id: &ap.id,
            modified: super::format_timestamp(&ap.modified),
            name: &ap.name,
            owner: reference(&ap.owner, "IDENTITY"),
            provisioning_criteria: stored("provisioningCriteria", &NULL),
            requestable: ap.requestable,
            revocation_request_config: stored("revocationRequestConfig", &NULL),
            segments: &ap.segments,
            source: reference(&ap.source, "SOURCE"),
        }
    }
}

/// The document as a JSON value (what JSON Patch works on).
pub fn to_document(ap: &AccessProfile) -> Value {
    serde_json::to_value(AccessProfileDocument::of(ap)).unwrap_or_default()
}

/// Applies an RFC 6902 patch to a profile's document under the rules of
/// `patchAccessProfile`: only the listed fields, and `source` only with `entitlements`.
/// Returns the patched document as input for [`AccessProfileDraft::try_from`].
pub fn apply_patch(current: &AccessProfile, ops: &[Value]) -> DomainResult<AccessProfileInput> {
    let mut doc = to_document(current);
    let touched = super::patch::apply(
        &mut doc,
        ops,
        &PATCHABLE,
        &[("revokeRequestConfig", "revocationRequestConfig")],
    )?;
    if touched.iter().any(|f| f == "source") && !touched.iter().any(|f| f == "entitlements") {
        return invalid(
            "source can only be changed together with entitlements of the new source in the same request.",
        );
    }
    // Display names still equal to the current ones were rendered by us, not sent by
    // the client: drop them so that replacing only `/owner/id` is not a name mismatch.
    for (field, current_name) in [
        ("owner", &current.owner.name),
        ("source", &current.source.name),
    ] {
        if let Some(obj) = doc.get_mut(field).and_then(Value::as_object_mut)
            && obj.get("name").and_then(Value::as_str) == Some(current_name.as_str())
        {
            obj.remove("name");
        }
    }
    super::patch::read_patched(doc, "access profile")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use serde_json::json;

    fn input(v: Value) -> AccessProfileInput {
        serde_json::from_value(v).unwrap()
    }

    fn base() -> Value {
        json!({"name": "AP", "owner": {"id": "o1"}, "source": {"id": "s1"},
               "entitlements": [{"id": "e1"}], "enabled": true})
    }

    fn profile() -> AccessProfile {
        AccessProfile {
            id: "a".repeat(32),
            name: "AP".into(),
            description: None,
            owner: NamedRef {
                id: "o1".into(),
                name: "Owner".into(),
            },
            source: NamedRef {
                id: "s1".into(),
                name: "Src".into(),
            },
            entitlements: vec![NamedRef {
                id: "e1".into(),
                name: "E1".into(),
            }],
            segments: vec!["seg1".into()],
            enabled: true,
            requestable: true,
            doc: Map::new(),
            created: Utc::now(),
            modified: Utc::now(),
        }
    }

    #[test]
    fn a_complete_input_becomes_a_draft_with_defaults() {
        let mut v = base();
        v["enabled"] = Value::Null;
        v["requestable"] = Value::Null;
        let d = AccessProfileDraft::try_from(input(v)).unwrap();
        assert!(!d.enabled);
        assert!(d.requestable);
        assert_eq!(d.entitlement_ids, vec!["e1".to_string()]);
    }

    #[test]
    fn missing_required_fields_are_named() {
        for (field, msg) in [
            ("name", "name is required and can't be empty."),
            ("owner", "owner is required."),
            ("source", "source is required."),
        ] {
            let mut v = base();
            v.as_object_mut().unwrap().remove(field);
            assert_eq!(
                AccessProfileDraft::try_from(input(v)).unwrap_err(),
                DomainError::Invalid(msg.into())
            );
        }
    }

    #[test]
    fn description_over_2000_chars_is_rejected_and_2000_is_fine() {
        let mut v = base();
        v["description"] = json!("x".repeat(2000));
        assert!(AccessProfileDraft::try_from(input(v.clone())).is_ok());
        v["description"] = json!("x".repeat(2001));
        assert!(AccessProfileDraft::try_from(input(v)).is_err());
    }

    #[test]
    fn wrong_ref_types_and_duplicate_entitlements_are_rejected() {
        let mut v = base();
        v["owner"]["type"] = json!("GOVERNANCE_GROUP");
        assert!(AccessProfileDraft::try_from(input(v)).is_err());
        let mut v = base();
        v["entitlements"] = json!([{"id": "e1"}, {"id": "e1"}]);
        assert!(AccessProfileDraft::try_from(input(v)).is_err());
    }

    #[test]
    fn enabled_without_entitlements_is_rejected() {
        let mut v = base();
        v["entitlements"] = json!([]);
        assert!(AccessProfileDraft::try_from(input(v)).is_err());
    }

    #[test]
    fn refs_must_exist_and_entitlements_belong_to_the_source() {
        let d = AccessProfileDraft::try_from(input(base())).unwrap();
        let ok = RefFacts {
            owner: Some(NamedRef {
                id: "o1".into(),
                name: "O".into(),
            }),
            source: Some(NamedRef {
                id: "s1".into(),
                name: "S".into(),
            }),
            entitlements: vec![("e1".into(), "s1".into())],
            segments: Vec::new(),
        };
        assert!(check_refs(&d, &ok).is_ok());
        let foreign = RefFacts {
            entitlements: vec![("e1".into(), "s2".into())],
            ..ok
        };
        assert!(check_refs(&d, &foreign)
            .unwrap_err()
            .to_string()
            .contains("does not belong"));
        assert!(check_refs(&d, &RefFacts::default()).is_err());
    }

    #[test]
    fn segments_are_distinct_ids_kept_in_order_outside_the_doc() {
        let mut v = base();
        v["segments"] = json!(["s2", "s1"]);
        let d = AccessProfileDraft::try_from(input(v.clone())).unwrap();
        assert_eq!(d.segment_ids, vec!["s2".to_string(), "s1".to_string()]);
        assert!(
            !d.doc.contains_key("segments"),
            "one source of truth: the links"
        );
        v["segments"] = json!(["s1", "s1"]);
        assert_eq!(
            AccessProfileDraft::try_from(input(v.clone())).unwrap_err(),
            DomainError::Invalid("segment 's1' is listed more than once.".into())
        );
        v["segments"] = json!([" "]);
        assert!(AccessProfileDraft::try_from(input(v)).is_err());
    }

    #[test]
    fn every_unknown_segment_is_named() {
        let mut v = base();
        v["segments"] = json!(["a", "b", "c"]);
        let d = AccessProfileDraft::try_from(input(v)).unwrap();
        let facts = |segments: &[&str]| RefFacts {
            owner: Some(NamedRef {
                id: "o1".into(),
                name: "O".into(),
            }),
            source: Some(NamedRef {
                id: "s1".into(),
                name: "S".into(),
            }),
            entitlements: vec![("e1".into(), "s1".into())],
            segments: segments.iter().map(|s| s.to_string()).collect(),
        };
        assert!(check_refs(&d, &facts(&["c", "a", "b"])).is_ok());
        assert_eq!(
            check_refs(&d, &facts(&["b"])).unwrap_err().to_string(),
            "segments 'a', 'c' do not exist."
        );
        assert_eq!(
            check_refs(&d, &facts(&["a", "c"])).unwrap_err().to_string(),
            "segment 'b' does not exist."
        );
    }

    #[test]
    fn the_document_lists_the_profiles_segments_and_patch_edits_them() {
        assert_eq!(to_document(&profile())["segments"], json!(["seg1"]));
        let ops = vec![json!({"op": "add", "path": "/segments/-", "value": "seg2"})];
        let out = apply_patch(&profile(), &ops).unwrap();
        assert_eq!(out.segments, Some(vec!["seg1".into(), "seg2".into()]));
    }

    #[test]
    fn patch_replaces_patchable_fields() {
        let ops = vec![
            json!({"op": "replace", "path": "/description", "value": "new"}),
            json!({"op": "replace", "path": "/requestable", "value": false}),
        ];
        let out = apply_patch(&profile(), &ops).unwrap();
        assert_eq!(out.description.as_deref(), Some("new"));
        assert_eq!(out.requestable, Some(false));
    }

    #[test]
    fn patch_of_a_read_only_field_is_rejected() {
        for path in ["/id", "/created", "/modified"] {
            let ops = vec![json!({"op": "replace", "path": path, "value": "x"})];
            assert!(apply_patch(&profile(), &ops).is_err(), "{path}");
        }
    }

    #[test]
    fn source_only_changes_with_entitlements() {
        let ops = vec![json!({"op": "replace", "path": "/source", "value": {"id": "s2"}})];
        assert!(apply_patch(&profile(), &ops).is_err());
        let ops = vec![
            json!({"op": "replace", "path": "/source", "value": {"id": "s2"}}),
            json!({"op": "replace", "path": "/entitlements", "value": [{"id": "e9"}]}),
        ];
        let out = apply_patch(&profile(), &ops).unwrap();
        assert_eq!(out.source.unwrap().id.as_deref(), Some("s2"));
    }

    #[test]
    fn patch_can_insert_and_remove_entitlements_by_index() {
        let ops = vec![json!({"op": "add", "path": "/entitlements/0", "value": {"id": "e0"}})];
        let out = apply_patch(&profile(), &ops).unwrap();
        let ids: Vec<_> = out
            .entitlements
            .unwrap()
            .into_iter()
            .map(|e| e.id.unwrap())
            .collect();
        assert_eq!(ids, vec!["e0", "e1"]);
        let ops = vec![json!({"op": "remove", "path": "/entitlements/5"})];
        assert!(apply_patch(&profile(), &ops).is_err());
    }
}
