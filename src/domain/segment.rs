//! Segment rules (v3 `/segments`): the input document (`Segment`), its validation, the
//! JSON Patch rules of `patchSegment`, and the document every operation renders.
//!
//! A segment groups access profiles (a profile's `segments`, stored as links) so that
//! `listAccessProfiles` can be narrowed with `for-segment-ids`. accessd stores a
//! segment's `visibilityCriteria` (checked against the `Expression` schema) but does
//! not evaluate it: it has no identity attributes to match.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::access_profile::RefInput;
use super::model::NamedRef;
use super::text::{Description, Name};
use super::{invalid, DomainError, DomainResult, Problems};

/// "The following fields are patchable" (`patchSegment` request body).
const PATCHABLE: [&str; 5] = [
    "name",
    "description",
    "owner",
    "visibilityCriteria",
    "active",
];

/// `Expression.operator`.
const OPERATORS: [&str; 2] = ["AND", "EQUALS"];

/// A stored segment.
#[derive(Clone, Debug)]
pub struct Segment {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    /// `OwnerReferenceSegments` is nullable.
    pub owner: Option<NamedRef>,
    /// The normalized `VisibilityCriteria` (see [`check_visibility_criteria`]).
    pub visibility_criteria: Option<Value>,
    pub active: bool,
    pub created: DateTime<Utc>,
    pub modified: DateTime<Utc>,
}

/// A segment as a client sends it (create, or the result of a patch). `null` means
/// absent; read-only fields (id, created, modified) are ignored.
#[derive(Debug, Deserialize, Default, Clone)]
#[serde(rename_all = "camelCase")]
pub struct SegmentInput {
    pub name: Option<String>,
    pub description: Option<String>,
    pub owner: Option<RefInput>,
    pub visibility_criteria: Option<Value>,
    pub active: Option<bool>,
}

/// A validated segment, before its owner is checked against the store.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentDraft {
    pub name: Name,
    pub description: Option<Description>,
    pub owner_id: Option<String>,
    /// The owner's display name as the client gave it; it must match.
    pub owner_name: Option<String>,
    pub visibility_criteria: Option<Value>,
    pub active: bool,
}

impl TryFrom<SegmentInput> for SegmentDraft {
    type Error = DomainError;

    /// Every problem of the input is reported, in the order of the fields.
    fn try_from(input: SegmentInput) -> DomainResult<Self> {
        let mut problems = Problems::default();
        let name = problems.check(Name::parse(input.name, "name"));
        let description = problems.check(Description::parse_optional(input.description));
        // OwnerReferenceSegments.type: "must be either left null or set to 'IDENTITY'".
        let (owner_id, owner_name) = match input.owner {
            None => (None, None),
            Some(owner) => {
                if let Some(t) = owner.ref_type.as_deref().filter(|t| *t != "IDENTITY") {
                    problems.push(format!("owner.type must be 'IDENTITY', not '{t}'."));
                }
                match owner.id {
                    Some(id) if !id.trim().is_empty() => (Some(id), owner.name),
                    _ => {
                        problems.push("owner.id is required.");
                        (None, None)
                    }
                }
            }
        };
        let visibility_criteria = match input.visibility_criteria {
            None => None,
            Some(v) => problems.check(check_visibility_criteria(&v)).flatten(),
        };
        problems.finish()?;
        // Each `None` noted its problem above.
        let (Some(name), Some(description)) = (name, description) else {
            return invalid("The segment is invalid.");
        };
        Ok(Self {
            name,
            description,
            owner_id,
            owner_name,
            visibility_criteria,
            // Segment.active: "default": false.
            active: input.active.unwrap_or(false),
        })
    }
}

/// Checks a `VisibilityCriteria` against the `Expression` schema and returns it
/// normalized (every key present, `null` where unset), or `None` when it has no
/// expression. An `EQUALS` names an `attribute` and a `value` `{type, value}`; an
/// `AND` has one or more `children`, each an `EQUALS` ("There cannot be anymore nested
/// children").
pub fn check_visibility_criteria(v: &Value) -> DomainResult<Option<Value>> {
    let Some(obj) = v.as_object() else {
        return invalid("visibilityCriteria must be an object.");
    };
    if let Some(key) = obj.keys().find(|k| *k != "expression") {
        return invalid(format!(
            "visibilityCriteria.{key} is not a field of VisibilityCriteria."
        ));
    }
    match obj.get("expression") {
        None | Some(Value::Null) => Ok(None),
        Some(e) => Ok(Some(
            json!({"expression": expression(e, "visibilityCriteria.expression", true)?}),
        )),
    }
}

/// One `Expression` (`top`) or one of its children.
fn expression(v: &Value, path: &str, top: bool) -> DomainResult<Value> {
    let Some(obj) = v.as_object() else {
        return invalid(format!("{path} must be an object."));
    };
    if let Some(key) = obj
        .keys()
        .find(|k| !["operator", "attribute", "value", "children"].contains(&k.as_str()))
    {
        return invalid(format!("{path}.{key} is not a field of Expression."));
    }
    let present = |key: &str| obj.get(key).filter(|x| !x.is_null());
    let operator = match present("operator").map(Value::as_str) {
        Some(Some(op)) if OPERATORS.contains(&op) => op,
        _ => {
            return invalid(format!(
                "{path}.operator must be one of {}.",
                OPERATORS.join(", ")
            ))
        }
    };
    let children = present("children").filter(|c| c.as_array().is_none_or(|a| !a.is_empty()));
    if operator == "AND" {
        if !top {
            return invalid(format!(
                "{path}.operator must be EQUALS: there cannot be nested children."
            ));
        }
        for key in ["attribute", "value"] {
            if present(key).is_some() {
                return invalid(format!("{path}.{key} must be null for the AND operator."));
            }
        }
        let Some(list) = children.and_then(Value::as_array) else {
            return invalid(format!(
                "{path}.children must be a non-empty list for the AND operator."
            ));
        };
        let normalized = list
            .iter()
            .enumerate()
            .map(|(i, c)| expression(c, &format!("{path}.children[{i}]"), false))
            .collect::<DomainResult<Vec<_>>>()?;
        return Ok(json!({
            "operator": "AND", "attribute": null, "value": null, "children": normalized,
        }));
    }
    let attribute = match present("attribute").map(Value::as_str) {
        Some(Some(a)) if !a.trim().is_empty() => a,
        _ => return invalid(format!("{path}.attribute is required for EQUALS.")),
    };
    let value = match present("value").and_then(Value::as_object) {
        Some(value) => value,
        None => return invalid(format!("{path}.value is required for EQUALS.")),
    };
    if let Some(key) = value.keys().find(|k| *k != "type" && *k != "value") {
        return invalid(format!("{path}.value.{key} is not a field of Value."));
    }
    let mut checked = Map::new();
    for key in ["type", "value"] {
        match value.get(key).map(Value::as_str) {
            Some(Some(s)) => checked.insert(key.into(), json!(s)),
            _ => return invalid(format!("{path}.value.{key} must be a string.")),
        };
    }
    if children.is_some() {
        return invalid(format!("{path}.children must be null for EQUALS."));
    }
    Ok(json!({
        "operator": "EQUALS", "attribute": attribute, "value": checked, "children": null,
    }))
}

/// What the store knows about the objects a segment draft references.
#[derive(Debug, Default)]
pub struct SegmentRefFacts {
    pub owner: Option<NamedRef>,
}

/// The owner, when given, is an existing identity whose display name matches the
/// given one (`OwnerReferenceSegments.name`).
pub fn check_segment_refs(draft: &SegmentDraft, facts: &SegmentRefFacts) -> DomainResult<()> {
    let Some(owner_id) = &draft.owner_id else {
        return Ok(());
    };
    let Some(owner) = &facts.owner else {
        return invalid(format!("owner '{owner_id}' is not an existing identity."));
    };
    match &draft.owner_name {
        Some(n) if n != &owner.name => invalid(format!(
            "owner.name '{n}' does not match the display name of identity '{}'.",
            owner.id
        )),
        _ => Ok(()),
    }
}

/// The `Segment` document JSON Patch works on (`patchSegment`): `description`, `owner`
/// and `visibilityCriteria` are `null` when unset, so that `replace` finds them.
/// Responses are rendered from `api::segments::SegmentBody`.
pub fn segment_document(s: &Segment) -> Value {
    json!({
        "id": s.id,
        "name": s.name,
        "created": super::format_timestamp(&s.created),
        "modified": super::format_timestamp(&s.modified),
        "description": s.description,
        "owner": s.owner.as_ref()
            .map(|o| json!({"type": "IDENTITY", "id": o.id, "name": o.name})),
        "visibilityCriteria": s.visibility_criteria,
        "active": s.active,
    })
}

/// Applies an RFC 6902 patch under the rules of `patchSegment` (only the listed
/// fields) and returns the result as input for [`SegmentDraft::try_from`].
pub fn apply_segment_patch(current: &Segment, ops: &[Value]) -> DomainResult<SegmentInput> {
    let mut doc = segment_document(current);
    super::patch::apply(&mut doc, ops, &PATCHABLE, &[])?;
    // The owner's display name still equal to the current one was rendered by us: drop
    // it so that replacing only `/owner/id` is not a name mismatch.
    if let (Some(owner), Some(current)) = (
        doc.get_mut("owner").and_then(Value::as_object_mut),
        &current.owner,
    ) && owner.get("name").and_then(Value::as_str) == Some(current.name.as_str())
    {
        owner.remove("name");
    }
    super::patch::read_patched(doc, "segment")
}

/// The segment ids of `listAccessProfiles`' `for-segment-ids`: comma-separated, blanks
/// around and between them ignored. Empty when the parameter is absent or empty.
pub fn parse_segment_ids(param: Option<&str>) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for id in param.unwrap_or("").split(',').map(str::trim) {
        if !id.is_empty() && !ids.iter().any(|x| x == id) {
            ids.push(id.to_string());
        }
    }
    ids
}

/// `for-segment-ids` and `include-unsegmented` of `listAccessProfiles`: profiles in
/// any of these segments, and also those in none when `include_unsegmented`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegmentView {
    pub segment_ids: Vec<String>,
    /// Whether profiles in no segment are listed too.
    pub include_unsegmented: bool,
}

/// The segment restriction of `listAccessProfiles`, `None` for none.
/// `include-unsegmented` is a boolean, `true` by default; "If `for-segment-ids` is
/// absent or empty, specifying *include-unsegmented* as `false` results in an error."
pub fn segment_scope(
    for_segment_ids: Option<&str>,
    include_unsegmented: Option<&str>,
) -> DomainResult<Option<SegmentView>> {
    let include = match include_unsegmented {
        None | Some("true") => true,
        Some("false") => false,
        Some(other) => {
            return invalid(format!(
                "Invalid include-unsegmented '{other}': must be true or false."
            ))
        }
    };
    let ids = parse_segment_ids(for_segment_ids);
    if ids.is_empty() {
        if !include {
            return invalid("include-unsegmented=false requires a non-empty for-segment-ids.");
        }
        return Ok(None);
    }
    Ok(Some(SegmentView {
        segment_ids: ids,
        include_unsegmented: include,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(v: Value) -> DomainResult<SegmentDraft> {
        SegmentDraft::try_from(serde_json::from_value::<SegmentInput>(v).unwrap())
    }

    fn err(v: Value) -> String {
        draft(v).unwrap_err().to_string()
    }

    fn equals(attribute: &str, value: &str) -> Value {
        json!({"operator": "EQUALS", "attribute": attribute,
               "value": {"type": "STRING", "value": value}})
    }

    fn segment() -> Segment {
        Segment {
            id: "a".repeat(32),
            name: "Seg".into(),
            description: Some("d".into()),
            owner: Some(NamedRef {
                id: "o1".into(),
                name: "Owner".into(),
            }),
            visibility_criteria: None,
            active: true,
            created: Utc::now(),
            modified: Utc::now(),
        }
    }

    #[test]
    fn a_name_alone_makes_an_inactive_segment_without_owner_or_criteria() {
        let d = draft(json!({"name": "Seg", "description": null, "owner": null,
                             "visibilityCriteria": null, "active": null}))
        .unwrap();
        assert_eq!(
            d,
            SegmentDraft {
                name: Name::parse(Some("Seg".into()), "name").unwrap(),
                description: None,
                owner_id: None,
                owner_name: None,
                visibility_criteria: None,
                active: false,
            }
        );
    }

    #[test]
    fn name_is_required_and_the_owner_is_an_identity_with_an_id() {
        assert_eq!(err(json!({})), "name is required and can't be empty.");
        assert_eq!(
            err(json!({"name": "  "})),
            "name is required and can't be empty."
        );
        assert_eq!(
            err(json!({"name": "S", "owner": {"type": "GOVERNANCE_GROUP", "id": "g"}})),
            "owner.type must be 'IDENTITY', not 'GOVERNANCE_GROUP'."
        );
        assert_eq!(
            err(json!({"name": "S", "owner": {"type": "IDENTITY"}})),
            "owner.id is required."
        );
        let d = draft(json!({"name": "S", "owner": {"id": "o1", "name": "Owner"}})).unwrap();
        assert_eq!(d.owner_id.as_deref(), Some("o1"));
        assert_eq!(d.owner_name.as_deref(), Some("Owner"));
    }

    #[test]
    fn visibility_criteria_are_normalized_equals_or_and_of_equals() {
        let d = draft(json!({"name": "S", "visibilityCriteria": {"expression": equals("location", "Austin")}}))
            .unwrap();
        assert_eq!(
            d.visibility_criteria,
            Some(
                json!({"expression": {"operator": "EQUALS", "attribute": "location",
                "value": {"type": "STRING", "value": "Austin"}, "children": null}})
            )
        );
        let and = json!({"expression": {"operator": "AND", "attribute": null, "value": null,
            "children": [equals("location", "Philadelphia"), equals("department", "HR")]}});
        let d = draft(json!({"name": "S", "visibilityCriteria": and})).unwrap();
        let children = &d.visibility_criteria.unwrap()["expression"]["children"];
        assert_eq!(children.as_array().unwrap().len(), 2);
        assert_eq!(children[1]["attribute"], "department");
        assert_eq!(children[1]["children"], Value::Null);
        for empty in [json!({}), json!({"expression": null})] {
            let d = draft(json!({"name": "S", "visibilityCriteria": empty})).unwrap();
            assert_eq!(d.visibility_criteria, None);
        }
    }

    #[test]
    fn malformed_visibility_criteria_are_rejected_with_their_path() {
        let and = |children: Value| json!({"operator": "AND", "children": children});
        for (expr, expected) in [
            (
                json!("x"),
                "visibilityCriteria.expression must be an object.",
            ),
            (
                json!({"operator": "OR"}),
                "operator must be one of AND, EQUALS",
            ),
            (
                json!({"operator": "EQUALS", "value": {"type": "STRING", "value": "x"}}),
                "attribute is required",
            ),
            (
                json!({"operator": "EQUALS", "attribute": "a"}),
                "value is required",
            ),
            (
                json!({"operator": "EQUALS", "attribute": "a", "value": {"type": "STRING", "value": 3}}),
                "value.value must be a string",
            ),
            (
                json!({"operator": "EQUALS", "attribute": "a", "value": {"value": "x"}}),
                "value.type must be a string",
            ),
            (
                json!({"operator": "EQUALS", "attribute": "a", "value": {"type": "STRING", "value": "x"}, "children": [equals("b", "y")]}),
                "children must be null for EQUALS",
            ),
            (
                json!({"operator": "EQUALS", "attribute": "a", "value": {"type": "S", "value": "x"}, "extra": 1}),
                "extra is not a field",
            ),
            (and(json!([])), "children must be a non-empty list"),
            (and(Value::Null), "children must be a non-empty list"),
            (
                json!({"operator": "AND", "attribute": "a", "children": [equals("b", "y")]}),
                "attribute must be null for the AND",
            ),
            (
                and(json!([and(json!([equals("b", "y")]))])),
                "children[0].operator must be EQUALS",
            ),
            (
                and(json!([equals("b", "y"), {"operator": "EQUALS"}])),
                "children[1].attribute is required",
            ),
        ] {
            let text = err(json!({"name": "S", "visibilityCriteria": {"expression": expr}}));
            assert!(
                text.contains(expected),
                "{expr}: '{text}' should contain '{expected}'"
            );
        }
        assert_eq!(
            err(json!({"name": "S", "visibilityCriteria": [1]})),
            "visibilityCriteria must be an object."
        );
        assert!(err(json!({"name": "S", "visibilityCriteria": {"other": 1}})).contains("other"));
    }

    #[test]
    fn the_owner_must_exist_and_its_name_match() {
        let d = draft(json!({"name": "S", "owner": {"id": "o1", "name": "Owner"}})).unwrap();
        let facts = SegmentRefFacts {
            owner: Some(NamedRef {
                id: "o1".into(),
                name: "Owner".into(),
            }),
        };
        assert!(check_segment_refs(&d, &facts).is_ok());
        assert_eq!(
            check_segment_refs(&d, &SegmentRefFacts::default())
                .unwrap_err()
                .to_string(),
            "owner 'o1' is not an existing identity."
        );
        let renamed = SegmentRefFacts {
            owner: Some(NamedRef {
                id: "o1".into(),
                name: "Someone".into(),
            }),
        };
        assert!(check_segment_refs(&d, &renamed)
            .unwrap_err()
            .to_string()
            .contains("does not match"));
        let ownerless = draft(json!({"name": "S"})).unwrap();
        assert!(check_segment_refs(&ownerless, &SegmentRefFacts::default()).is_ok());
    }

    #[test]
    fn the_document_renders_unset_fields_as_null() {
        let mut s = segment();
        s.owner = None;
        s.description = None;
        let doc = segment_document(&s);
        assert_eq!(doc["owner"], Value::Null);
        assert_eq!(doc["description"], Value::Null);
        assert_eq!(doc["visibilityCriteria"], Value::Null);
        assert_eq!(doc["active"], true);
        assert!(doc["created"].as_str().unwrap().ends_with('Z'));
    }

    #[test]
    fn patch_edits_the_listed_fields_only() {
        let ops = vec![
            json!({"op": "replace", "path": "/name", "value": "New"}),
            json!({"op": "replace", "path": "/active", "value": false}),
            json!({"op": "replace", "path": "/owner/id", "value": "o2"}),
            json!({"op": "add", "path": "/visibilityCriteria", "value": {"expression": equals("a", "b")}}),
        ];
        let d = SegmentDraft::try_from(apply_segment_patch(&segment(), &ops).unwrap()).unwrap();
        assert_eq!(d.name, "New");
        assert!(!d.active);
        assert_eq!(d.owner_id.as_deref(), Some("o2"));
        assert_eq!(
            d.owner_name, None,
            "the rendered name is not a client's claim"
        );
        assert_eq!(d.description.as_deref(), Some("d"));
        assert!(d.visibility_criteria.is_some());
        let removed =
            apply_segment_patch(&segment(), &[json!({"op": "remove", "path": "/owner"})]).unwrap();
        assert!(removed.owner.is_none());
        for path in ["/id", "/created", "/modified"] {
            let ops = vec![json!({"op": "replace", "path": path, "value": "x"})];
            assert!(apply_segment_patch(&segment(), &ops).is_err(), "{path}");
        }
        let ops = vec![json!({"op": "replace", "path": "/active", "value": "yes"})];
        assert!(apply_segment_patch(&segment(), &ops)
            .unwrap_err()
            .to_string()
            .contains("The patched segment is invalid"));
    }

    #[test]
    fn for_segment_ids_is_a_comma_list_and_include_unsegmented_a_boolean() {
        assert_eq!(segment_scope(None, None).unwrap(), None);
        assert_eq!(segment_scope(Some(" , "), Some("true")).unwrap(), None);
        assert_eq!(
            segment_scope(Some("a, b,,a"), None).unwrap(),
            Some(SegmentView {
                segment_ids: vec!["a".to_string(), "b".to_string()],
                include_unsegmented: true
            })
        );
        assert_eq!(
            segment_scope(Some("a"), Some("false")).unwrap(),
            Some(SegmentView {
                segment_ids: vec!["a".to_string()],
                include_unsegmented: false
            })
        );
        for (ids, include) in [(None, "false"), (Some(""), "false"), (Some(" ,"), "false")] {
            assert!(segment_scope(ids, Some(include))
                .unwrap_err()
                .to_string()
                .contains("for-segment-ids"));
        }
        for bad in ["TRUE", "yes", "1", ""] {
            assert!(segment_scope(Some("a"), Some(bad))
                .unwrap_err()
                .to_string()
                .contains("include-unsegmented"));
        }
    }
}
