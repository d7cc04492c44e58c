//! Rendering of the supporting model as the spec's response documents. Family
//! differences (field names per schema) are kept here, at the edge.

use serde::Serialize;
use serde_json::{json, Map, Value};

use super::families::EntitlementShape;
use crate::domain::model::*;
use crate::query::format_timestamp;

/// `{"type", "id", "name"}` of a referenced object, as every family renders it.
#[derive(Serialize)]
pub struct Reference<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub id: &'a str,
    pub name: &'a str,
}

impl<'a> Reference<'a> {
    pub fn to(kind: &'static str, r: &'a NamedRef) -> Self {
        Reference {
            kind,
            id: &r.id,
            name: &r.name,
        }
    }
}

/// v3 `Source`: optional values the schema does not make nullable are left out when
/// absent (`description`, `type`, `connectorName`, `connectionType`); `owner` and
/// `managementWorkgroup` are nullable. The other fields of the stored document follow.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SourceBody<'a> {
    id: &'a str,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    owner: Reference<'a>,
    management_workgroup: Option<Reference<'a>>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    source_type: Option<&'a str>,
    connector: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    connector_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    connection_type: Option<&'a str>,
    authoritative: bool,
    healthy: bool,
    status: &'a str,
    features: &'a [String],
    created: String,
    modified: String,
}

/// v3 `Source`.
pub fn source(s: &Source) -> Value {
    let body = SourceBody {
        id: &s.id,
        name: &s.name,
        description: s.description.as_deref(),
        owner: Reference::to("IDENTITY", &s.owner),
        management_workgroup: s
            .management_workgroup
            .as_ref()
            .map(|w| Reference::to("GOVERNANCE_GROUP", w)),
        source_type: s.source_type.as_deref(),
        connector: &s.connector,
        connector_name: s.connector_name.as_deref(),
        connection_type: s.connection_type.as_deref(),
        authoritative: s.authoritative,
        healthy: s.healthy,
        status: &s.status,
        features: &s.features,
        created: format_timestamp(&s.created),
        modified: format_timestamp(&s.modified),
    };
    let mut doc = serde_json::to_value(body).unwrap_or_default();
    if let Some(obj) = doc.as_object_mut() {
        for (k, v) in &s.doc {
            if !v.is_null() {
                obj.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
    }
    doc
}

/// beta `Entitlement` and v1 `entitlementv2` (v2026 `EntitlementV2`), which differ in
/// how privilege is told (`privileged` and `additionalOwners`; `privilegeLevel` and
/// `tags`).
/// `owner` is left out when absent: beta's schema does not make it nullable.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EntitlementBody<'a> {
    id: &'a str,
    name: &'a str,
    attribute: &'a str,
    value: &'a str,
    source_schema_object_type: &'a str,
    description: Option<&'a str>,
    cloud_governed: bool,
    requestable: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    owner: Option<Reference<'a>>,
    source: Reference<'a>,
    attributes: Map<String, Value>,
    segments: [(); 0],
    direct_permissions: [(); 0],
    created: String,
    modified: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    privileged: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    additional_owners: Option<[(); 0]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    privilege_level: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tags: Option<[(); 0]>,
}

pub fn entitlement(e: &Entitlement, shape: EntitlementShape) -> EntitlementBody<'_> {
    let v1 = shape == EntitlementShape::PrivilegeLevel;
    EntitlementBody {
        id: &e.id,
        name: &e.name,
        attribute: &e.attribute,
        value: &e.value,
        source_schema_object_type: &e.entitlement_type,
        description: e.description.as_deref(),
        cloud_governed: false,
        requestable: e.requestable,
        owner: e.owner.as_ref().map(|o| Reference::to("IDENTITY", o)),
        source: Reference::to("SOURCE", &e.source),
        attributes: Map::new(),
        segments: [],
        direct_permissions: [],
        created: format_timestamp(&e.created),
        modified: format_timestamp(&e.modified),
        privileged: (!v1).then_some(e.privileged),
        additional_owners: (!v1).then_some([]),
        privilege_level: v1.then(|| json!({"direct": if e.privileged { "HIGH" } else { "NONE" }})),
        tags: v1.then_some([]),
    }
}

/// beta/v1 `Identity` (`IdentityDto`): `emailAddress`, `processingState` and
/// `managerRef` are nullable; the attributes are the ones every identity has here.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IdentityBody<'a> {
    id: &'a str,
    name: &'a str,
    alias: &'a str,
    email_address: Option<&'a str>,
    processing_state: Option<&'a str>,
    identity_status: &'a str,
    manager_ref: Option<Reference<'a>>,
    is_manager: bool,
    last_refresh: String,
    attributes: IdentityAttributes<'a>,
    created: String,
    modified: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct IdentityAttributes<'a> {
    firstname: Option<&'a str>,
    lastname: Option<&'a str>,
    email: Option<&'a str>,
    uid: &'a str,
    display_name: &'a str,
    cloud_status: &'a str,
}

pub fn identity(i: &Identity) -> IdentityBody<'_> {
    let modified = format_timestamp(&i.modified);
    IdentityBody {
        id: &i.id,
        name: &i.name,
        alias: &i.alias,
        email_address: i.email.as_deref(),
        processing_state: i.processing_state.as_deref(),
        identity_status: &i.cloud_status,
        manager_ref: i.manager.as_ref().map(|m| Reference::to("IDENTITY", m)),
        is_manager: i.is_manager,
        last_refresh: modified.clone(),
        attributes: IdentityAttributes {
            firstname: i.first_name.as_deref(),
            lastname: i.last_name.as_deref(),
            email: i.email.as_deref(),
            uid: &i.alias,
            display_name: &i.name,
            cloud_status: &i.cloud_status,
        },
        created: format_timestamp(&i.created),
        modified,
    }
}

/// v3 `PublicIdentity`: `email`, `status`, `identityState` and `manager` are nullable;
/// no public attributes are configured.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicIdentityBody<'a> {
    id: &'a str,
    name: &'a str,
    alias: &'a str,
    email: Option<&'a str>,
    status: &'static str,
    identity_state: &'static str,
    manager: Option<Reference<'a>>,
    attributes: [(); 0],
}

pub fn public_identity(i: &Identity) -> PublicIdentityBody<'_> {
    let active = i.cloud_status == "ACTIVE";
    PublicIdentityBody {
        id: &i.id,
        name: &i.name,
        alias: &i.alias,
        email: i.email.as_deref(),
        status: if active { "Active" } else { "Inactive" },
        identity_state: if active {
            "ACTIVE"
        } else {
            "INACTIVE_LONG_TERM"
        },
        manager: i.manager.as_ref().map(|m| Reference::to("IDENTITY", m)),
        attributes: [],
    }
}

/// beta `WorkgroupDto` and v1 `workgroupdto` (the same): `owner` and `description`
/// are left out when absent, neither is nullable.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkgroupBody<'a> {
    id: &'a str,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    owner: Option<Reference<'a>>,
    member_count: i64,
    connection_count: i64,
    created: String,
    modified: String,
}

pub fn workgroup(g: &GovernanceGroup) -> WorkgroupBody<'_> {
    WorkgroupBody {
        id: &g.id,
        name: &g.name,
        description: g.description.as_deref(),
        owner: g.owner.as_ref().map(|o| Reference::to("IDENTITY", o)),
        member_count: g.member_count,
        connection_count: 0,
        created: format_timestamp(&g.created),
        modified: format_timestamp(&g.modified),
    }
}

/// An item of `listWorkgroupMembers`: `email` left out when the identity has none.
#[derive(Serialize)]
pub struct WorkgroupMemberBody<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    id: &'a str,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<&'a str>,
}

pub fn workgroup_member(i: &Identity) -> WorkgroupMemberBody<'_> {
    WorkgroupMemberBody {
        kind: "IDENTITY",
        id: &i.id,
        name: &i.name,
        email: i.email.as_deref(),
    }
}
