//! RFC 6902 JSON Patch under an operation's rules: which top-level fields may be
//! written, and the spec's alternative names for some of them.

use serde_json::{json, Value};

use super::{invalid, DomainError, DomainResult};

/// Applies `ops` to `doc`. There must be at least one operation; the `path` (and
/// `from`) of each must start with one of `patchable` (what a `test` or the `from` of
/// a `copy` reads may be anywhere);
/// `aliases` rename a field the spec lists under another name (`(alias, field)`).
/// Returns the top-level fields the operations name, after renaming, in order.
pub fn apply(
    doc: &mut Value,
    ops: &[Value],
    patchable: &[&str],
    aliases: &[(&str, &str)],
) -> DomainResult<Vec<String>> {
    if ops.is_empty() {
        return invalid("The patch must contain at least one operation.");
    }
    let mut touched = Vec::new();
    let mut normalized = Vec::with_capacity(ops.len());
    for (i, op) in ops.iter().enumerate() {
        let Some(obj) = op.as_object() else {
            return invalid(format!("Patch operation {i} must be an object."));
        };
        let mut obj = obj.clone();
        let kind = obj
            .get("op")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        for key in ["path", "from"] {
            let Some(p) = obj.get(key) else { continue };
            let Some(p) = p.as_str() else {
                return invalid(format!("Patch operation {i}: '{key}' must be a string."));
            };
            let field = p.trim_start_matches('/').split('/').next().unwrap_or("");
            // `test` and the `from` of `copy` only read.
            let reads_only = kind == "test" || (kind == "copy" && key == "from");
            if !reads_only && !patchable.contains(&field) {
                return invalid(format!(
                    "Patch operation {i}: '{p}' is not patchable; patchable fields are {}.",
                    patchable.join(", ")
                ));
            }
            match aliases.iter().find(|(alias, _)| *alias == field) {
                Some((alias, target)) => {
                    let rest = &p.trim_start_matches('/')[alias.len()..];
                    obj.insert(key.into(), json!(format!("/{target}{rest}")));
                    touched.push(target.to_string());
                }
                None => touched.push(field.to_string()),
            }
        }
        normalized.push(Value::Object(obj));
    }
    let patch: json_patch::Patch = serde_json::from_value(Value::Array(normalized))
        .map_err(|e| DomainError::Invalid(format!("Invalid JSON Patch: {e}")))?;
    json_patch::patch(doc, &patch)
        .map_err(|e| DomainError::Invalid(format!("The patch could not be applied: {e}")))?;
    Ok(touched)
}

/// The patched document read as a resource's input; an error names the field that
/// failed: `The patched role is invalid: owner.id: invalid type: integer `5`, expected
/// a string`.
pub fn read_patched<T: serde::de::DeserializeOwned>(doc: Value, kind: &str) -> DomainResult<T> {
    serde_path_to_error::deserialize(doc).map_err(|e| {
        let path = e.path().to_string();
        DomainError::Invalid(if path == "." {
            format!("The patched {kind} is invalid: {}", e.inner())
        } else {
            format!("The patched {kind} is invalid: {path}: {}", e.inner())
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_patchable_fields_are_written_and_test_may_look_anywhere() {
        let mut doc = json!({"id": "x", "name": "a", "list": [1]});
        let touched = apply(
            &mut doc,
            &[
                json!({"op": "test", "path": "/id", "value": "x"}),
                json!({"op": "copy", "from": "/id", "path": "/name"}),
                json!({"op": "replace", "path": "/name", "value": "b"}),
                json!({"op": "add", "path": "/list/-", "value": 2}),
            ],
            &["name", "list"],
            &[],
        )
        .unwrap();
        assert_eq!(doc, json!({"id": "x", "name": "b", "list": [1, 2]}));
        assert_eq!(touched, ["id", "name", "id", "name", "list"]);
        let err = apply(
            &mut doc,
            &[json!({"op": "replace", "path": "/id", "value": "y"})],
            &["name"],
            &[],
        )
        .unwrap_err();
        assert!(err.to_string().contains("'/id' is not patchable"), "{err}");
    }

    #[test]
    fn aliases_are_renamed_and_bad_patches_are_invalid() {
        let mut doc = json!({"real": {"a": 1}});
        let touched = apply(
            &mut doc,
            &[json!({"op": "replace", "path": "/alias/a", "value": 2})],
            &["alias", "real"],
            &[("alias", "real")],
        )
        .unwrap();
        assert_eq!(doc, json!({"real": {"a": 2}}));
        assert_eq!(touched, ["real"]);
        for ops in [
            vec![],
            vec![json!("x")],
            vec![json!({"op": "replace", "path": 3})],
            vec![json!({"op": "jump", "path": "/real"})],
            vec![json!({"op": "remove", "path": "/real/missing"})],
        ] {
            assert!(apply(&mut doc, &ops, &["real"], &[]).is_err(), "{ops:?}");
        }
        assert_eq!(
            doc,
            json!({"real": {"a": 2}}),
            "a failed patch changes nothing"
        );
    }
}
