//! Rendering of the supporting model as the spec's response documents. Family
//! differences (field names per schema) are kept here, at the edge.

use serde_json::{json, Value};

use crate::auth::Family;
use crate::domain::model::*;
use crate::query::format_timestamp;

fn identity_ref(r: &NamedRef) -> Value {
    json!({"type": "IDENTITY", "id": r.id, "name": r.name})
}

/// v3 `Source`.
pub fn source(s: &Source) -> Value {
    let mut doc = json!({
        "id": s.id,
        "name": s.name,
        "description": s.description,
        "owner": identity_ref(&s.owner),
        "managementWorkgroup": s.management_workgroup.as_ref()
            .map(|w| json!({"type": "GOVERNANCE_GROUP", "id": w.id, "name": w.name})),
        "type": s.source_type,
        "connector": s.connector,
        "connectorName": s.connector_name,
        "connectionType": s.connection_type,
        "authoritative": s.authoritative,
        "healthy": s.healthy,
        "status": s.status,
        "features": s.features,
        "created": format_timestamp(&s.created),
        "modified": format_timestamp(&s.modified),
    });
    if let Some(obj) = doc.as_object_mut() {
        for (k, v) in &s.doc {
            obj.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    doc
}

/// beta `Entitlement`, v1 `entitlementv2` (privilegeLevel instead of privileged).
pub fn entitlement(e: &Entitlement, family: Family) -> Value {
    let mut doc = json!({
        "id": e.id,
        "name": e.name,
        "attribute": e.attribute,
        "value": e.value,
        "sourceSchemaObjectType": e.entitlement_type,
        "description": e.description,
        "cloudGoverned": false,
        "requestable": e.requestable,
        "owner": e.owner.as_ref().map(identity_ref),
        "source": {"type": "SOURCE", "id": e.source.id, "name": e.source.name},
        "attributes": {},
        "segments": [],
        "directPermissions": [],
        "created": format_timestamp(&e.created),
        "modified": format_timestamp(&e.modified),
    });
    if family == Family::V1 {
        doc["privilegeLevel"] = json!({"direct": if e.privileged { "HIGH" } else { "NONE" }});
        doc["tags"] = json!([]);
    } else {
        doc["privileged"] = json!(e.privileged);
        doc["additionalOwners"] = json!([]);
    }
    doc
}

/// beta/v1 `Identity`.
pub fn identity(i: &Identity) -> Value {
    json!({
        "id": i.id,
        "name": i.name,
        "alias": i.alias,
        "emailAddress": i.email,
        "processingState": i.processing_state,
        "identityStatus": i.cloud_status,
        "managerRef": i.manager.as_ref().map(identity_ref),
        "isManager": i.is_manager,
        "lastRefresh": format_timestamp(&i.modified),
        "attributes": {
            "firstname": i.first_name,
            "lastname": i.last_name,
            "email": i.email,
            "uid": i.alias,
            "displayName": i.name,
            "cloudStatus": i.cloud_status,
        },
        "created": format_timestamp(&i.created),
        "modified": format_timestamp(&i.modified),
    })
}

/// v3 `PublicIdentity`.
pub fn public_identity(i: &Identity) -> Value {
    json!({
        "id": i.id,
        "name": i.name,
        "alias": i.alias,
        "email": i.email,
        "status": if i.cloud_status == "ACTIVE" { "Active" } else { "Inactive" },
        "identityState": if i.cloud_status == "ACTIVE" { "ACTIVE" } else { "INACTIVE_LONG_TERM" },
        "manager": i.manager.as_ref().map(identity_ref),
        "attributes": [],
    })
}

/// beta/v1 `WorkgroupDto`.
pub fn workgroup(g: &GovernanceGroup) -> Value {
    json!({
        "id": g.id,
        "name": g.name,
        "description": g.description,
        "owner": g.owner.as_ref().map(identity_ref),
        "memberCount": g.member_count,
        "connectionCount": 0,
        "created": format_timestamp(&g.created),
        "modified": format_timestamp(&g.modified),
    })
}

/// An item of `listWorkgroupMembers`.
pub fn workgroup_member(i: &Identity) -> Value {
    json!({"type": "IDENTITY", "id": i.id, "name": i.name, "email": i.email})
}
