//! The supporting model: identities, governance groups, sources, entitlements, and the
//! access profile itself, as the store returns them.

use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::text::{Description, Name};

/// A reference to another object with its display name, as embedded in documents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamedRef {
    pub id: String,
    pub name: String,
}

#[derive(Clone, Debug)]
pub struct Identity {
    pub id: String,
    pub name: String,
    pub alias: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub cloud_status: String,
    pub processing_state: Option<String>,
    pub correlated: bool,
    pub protected: bool,
    pub is_manager: bool,
    pub manager: Option<NamedRef>,
    /// User levels (ORG_ADMIN, SOURCE_SUBADMIN, ...).
    pub authorities: Vec<String>,
    pub created: DateTime<Utc>,
    pub modified: DateTime<Utc>,
}

impl Identity {
    /// A new active, correlated identity named "`first` `last`" with these user levels.
    pub fn new_active(
        first: &str,
        last: &str,
        alias: &str,
        email: Option<String>,
        authorities: &[&str],
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id: super::new_id(),
            name: format!("{first} {last}"),
            alias: alias.to_string(),
            first_name: Some(first.to_string()),
            last_name: Some(last.to_string()),
            email,
            cloud_status: "ACTIVE".into(),
            processing_state: None,
            correlated: true,
            protected: false,
            is_manager: false,
            manager: None,
            authorities: authorities.iter().map(|l| l.to_string()).collect(),
            created: now,
            modified: now,
        }
    }
}

#[derive(Clone, Debug)]
pub struct GovernanceGroup {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub owner: Option<NamedRef>,
    pub member_count: i64,
    pub created: DateTime<Utc>,
    pub modified: DateTime<Utc>,
}

#[derive(Clone, Debug)]
pub struct NewGovernanceGroup {
    pub name: String,
    pub description: Option<String>,
    pub owner_id: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Source {
    pub id: String,
    /// Stable numeric id (beta `AccessProfileDetails.sourceId`).
    pub num_id: i64,
    pub name: String,
    pub description: Option<String>,
    pub owner: NamedRef,
    pub management_workgroup: Option<NamedRef>,
    pub source_type: Option<String>,
    pub connector: String,
    pub connector_name: Option<String>,
    pub connection_type: Option<String>,
    pub authoritative: bool,
    pub healthy: bool,
    pub status: String,
    pub features: Vec<String>,
    /// The rest of the Source document, kept as the client sent it.
    pub doc: Map<String, Value>,
    pub created: DateTime<Utc>,
    pub modified: DateTime<Utc>,
}

#[derive(Clone, Debug)]
pub struct NewSource {
    pub name: String,
    pub description: Option<String>,
    pub owner_id: String,
    pub management_workgroup_id: Option<String>,
    pub source_type: Option<String>,
    pub connector: String,
    pub connector_name: Option<String>,
    pub connection_type: Option<String>,
    pub authoritative: bool,
    pub features: Vec<String>,
    pub doc: Map<String, Value>,
}

#[derive(Clone, Debug)]
pub struct Entitlement {
    pub id: String,
    pub source: NamedRef,
    pub name: String,
    pub attribute: String,
    pub value: String,
    pub entitlement_type: String,
    pub description: Option<String>,
    pub privileged: bool,
    pub requestable: bool,
    pub owner: Option<NamedRef>,
    pub created: DateTime<Utc>,
    pub modified: DateTime<Utc>,
}

/// What `patchEntitlement` may change of an entitlement.
#[derive(Clone, Debug)]
pub struct EntitlementChange {
    pub name: String,
    pub description: Option<String>,
    pub privileged: bool,
    pub requestable: bool,
    pub owner_id: Option<String>,
}

#[derive(Clone, Debug)]
pub struct AccessProfile {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub owner: NamedRef,
    pub source: NamedRef,
    pub entitlements: Vec<NamedRef>,
    /// Ids of the segments the profile is in, in the client's order.
    pub segments: Vec<String>,
    pub enabled: bool,
    pub requestable: bool,
    /// accessRequestConfig, revocationRequestConfig, provisioningCriteria,
    /// additionalOwners, accessModelMetadata — stored as sent.
    pub doc: Map<String, Value>,
    pub created: DateTime<Utc>,
    pub modified: DateTime<Utc>,
}

/// An access profile as a list read it: shared by the store's cache of read profiles
/// and every request that reads it while it is unchanged, with a place for its
/// document as JSON text, which the first answer that writes the profile leaves there
/// for the next ones.
#[derive(Debug)]
pub struct SharedProfile {
    pub profile: AccessProfile,
    pub json: OnceLock<Box<str>>,
}

impl SharedProfile {
    pub fn new(profile: AccessProfile) -> Self {
        Self {
            profile,
            json: OnceLock::new(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Role {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub owner: NamedRef,
    /// In the order the client gave them.
    pub access_profiles: Vec<NamedRef>,
    pub entitlements: Vec<NamedRef>,
    /// The segments the role is in, in the client's order.
    pub segments: Vec<String>,
    pub enabled: bool,
    pub requestable: bool,
    pub dimensional: bool,
    /// membership, legacyMembershipInfo, accessRequestConfig, revocationRequestConfig,
    /// additionalOwners, dimensionRefs, accessModelMetadata, privilegeLevel.
    pub doc: Map<String, Value>,
    pub created: DateTime<Utc>,
    pub modified: DateTime<Utc>,
}

/// What a role create or patch writes, after validation.
#[derive(Clone, Debug, PartialEq)]
pub struct RoleDraft {
    pub name: Name,
    pub description: Option<Description>,
    pub owner_id: String,
    pub access_profile_ids: Vec<String>,
    pub entitlement_ids: Vec<String>,
    /// The segments the role is in, distinct, in the client's order.
    pub segment_ids: Vec<String>,
    pub enabled: bool,
    pub requestable: bool,
    pub dimensional: bool,
    pub doc: Map<String, Value>,
}

/// What the store found for a role draft's references: the owner, and the access
/// profiles and entitlements that exist among those named (with their names).
#[derive(Clone, Debug, Default)]
pub struct RoleRefFacts {
    pub owner: Option<NamedRef>,
    pub access_profiles: Vec<NamedRef>,
    pub entitlements: Vec<NamedRef>,
    /// The referenced segments that exist.
    pub segments: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct IdentityProfile {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub owner: Option<NamedRef>,
    pub authoritative_source: Option<NamedRef>,
    pub priority: i64,
    pub created: DateTime<Utc>,
    pub modified: DateTime<Utc>,
}

#[derive(Clone, Debug)]
pub struct NewIdentityProfile {
    pub name: String,
    pub description: Option<String>,
    pub owner_id: Option<String>,
    pub authoritative_source_id: Option<String>,
    pub priority: i64,
}

#[derive(Clone, Debug)]
pub struct LifecycleState {
    pub id: String,
    pub identity_profile_id: String,
    pub name: String,
    pub technical_name: String,
    pub description: Option<String>,
    pub enabled: bool,
    pub identity_count: i64,
    pub identity_state: Option<String>,
    pub priority: Option<i64>,
    /// In the order the client gave them.
    pub access_profile_ids: Vec<String>,
    /// emailNotificationOption, accountActions.
    pub doc: Map<String, Value>,
    pub created: DateTime<Utc>,
    pub modified: DateTime<Utc>,
}

/// What a lifecycle-state create or update writes, after validation.
#[derive(Clone, Debug, PartialEq)]
pub struct LifecycleStateDraft {
    pub name: Name,
    pub technical_name: String,
    pub description: Option<Description>,
    pub enabled: bool,
    pub identity_state: Option<String>,
    pub priority: Option<i64>,
    pub access_profile_ids: Vec<String>,
    pub doc: Map<String, Value>,
}

/// A source app (beta `SourceApp`): groups access profiles of its account source.
#[derive(Clone, Debug)]
pub struct SourceApp {
    pub id: String,
    /// Stable numeric id: `cloudAppId`, and `appId` in `AccessProfileDetails`.
    pub num_id: i64,
    pub name: String,
    pub description: String,
    pub owner: NamedRef,
    pub account_source: NamedRef,
    pub enabled: bool,
    pub provision_request_enabled: bool,
    pub app_center_enabled: bool,
    pub match_all_accounts: bool,
    /// In the app's order.
    pub access_profile_ids: Vec<String>,
    pub created: DateTime<Utc>,
    pub modified: DateTime<Utc>,
}

/// What a source-app create or patch writes, after validation.
#[derive(Clone, Debug, PartialEq)]
pub struct SourceAppDraft {
    pub name: Name,
    pub description: Description,
    pub owner_id: String,
    pub account_source_id: String,
    pub enabled: bool,
    pub provision_request_enabled: bool,
    pub app_center_enabled: bool,
    pub match_all_accounts: bool,
    pub access_profile_ids: Vec<String>,
}

/// What the store found for a source-app draft's references.
#[derive(Clone, Debug, Default)]
pub struct SourceAppRefFacts {
    pub owner: Option<NamedRef>,
    pub account_source: Option<NamedRef>,
    /// (profile, id of its source) for each named access profile that exists.
    pub access_profiles: Vec<(NamedRef, String)>,
}

/// An access profile as a source app lists it, with its source's numeric id.
#[derive(Clone, Debug)]
pub struct AppAccessProfile {
    pub profile: AccessProfile,
    pub source_num_id: i64,
}

/// One page of a collection and, when asked for, the filtered total.
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: Option<i64>,
}
