//! The demo tenant loaded into an empty database on first start (`ACCESSD_DEMO`):
//! a few identities and governance groups, three sources with entitlements, and a
//! dozen access profiles, two roles, a source app and an identity profile whose
//! lifecycle states use some of them, so a new user has something to list, patch and
//! delete — and something that is in use and cannot be deleted.

use crate::domain::access_profile::AccessProfileDraft;
use crate::domain::model::*;
use crate::domain::scope::Scope;
use crate::domain::text::{Description, Name};
use crate::domain::{new_id, Clock};
use crate::store::{Store, StoreError, StoreResult};

const IDENTITIES: [(&str, &str, &str, &[&str]); 6] = [
    ("Ada", "Lovelace", "ada.lovelace", &["ORG_ADMIN"]),
    ("Sam", "Sourceman", "sam.sourceman", &["SOURCE_ADMIN"]),
    ("Sue", "Subadmin", "sue.subadmin", &["SOURCE_SUBADMIN"]),
    ("Rory", "Roles", "rory.roles", &["ROLE_ADMIN"]),
    ("Hal", "Helpdesk", "hal.helpdesk", &["HELPDESK"]),
    ("Uma", "User", "uma.user", &[]),
];

/// (source name, connector, type, [(entitlement name, attribute)])
const SOURCES: [(&str, &str, &str, &[&str]); 3] = [
    (
        "Active Directory",
        "active-directory",
        "Active Directory - Direct",
        &[
            "Domain Users",
            "VPN Users",
            "File Share Finance",
            "File Share HR",
            "Helpdesk Operators",
        ],
    ),
    (
        "Workday",
        "workday",
        "Workday",
        &["Employee", "Manager", "HR Partner", "Payroll Admin"],
    ),
    (
        "Salesforce",
        "salesforce",
        "Salesforce",
        &[
            "Sales User",
            "Sales Manager",
            "Service Agent",
            "System Administrator",
        ],
    ),
];

/// (access profile name, source index, entitlement indexes, owner index, requestable)
const PROFILES: [(&str, usize, &[usize], usize, bool); 12] = [
    ("AD Basic Access", 0, &[0], 1, true),
    ("AD Remote Worker", 0, &[0, 1], 1, true),
    ("AD Finance Shares", 0, &[2], 2, true),
    ("AD HR Shares", 0, &[3], 2, true),
    ("AD Helpdesk", 0, &[4, 0], 4, false),
    ("Workday Employee", 1, &[0], 0, true),
    ("Workday Manager", 1, &[0, 1], 0, true),
    ("Workday HR Partner", 1, &[2], 0, true),
    ("Workday Payroll", 1, &[3], 0, false),
    ("Salesforce Sales", 2, &[0], 3, true),
    ("Salesforce Sales Leadership", 2, &[0, 1], 3, true),
    ("Salesforce Service", 2, &[2], 3, true),
];

/// The alias of the built-in ORG_ADMIN identity the start-up admin client belongs to.
pub const ADMIN_ALIAS: &str = "accessd.admin";

pub async fn load(store: &dyn Store, clock: &Clock, admin: &Identity) -> StoreResult<()> {
    let now = clock.now();
    let mut people = Vec::new();
    for (first, last, alias, levels) in IDENTITIES {
        let mut identity = Identity::new_active(
            first,
            last,
            alias,
            Some(format!("{alias}@example.com")),
            levels,
            now,
        );
        identity.is_manager = people.is_empty();
        store.insert_identity(&identity).await?;
        people.push(identity);
    }
    let finance = store
        .insert_governance_group(
            &NewGovernanceGroup {
                name: "Finance Source Admins".into(),
                description: Some("Administers the Active Directory source".into()),
                owner_id: Some(people[0].id.clone()),
            },
            now,
        )
        .await?;
    store
        .add_group_members(
            &finance.id,
            &[people[2].id.clone(), people[1].id.clone()],
            now,
        )
        .await?;
    let approvers = store
        .insert_governance_group(
            &NewGovernanceGroup {
                name: "Access Approvers".into(),
                description: Some("Approves access requests".into()),
                owner_id: Some(admin.id.clone()),
            },
            now,
        )
        .await?;
    store
        .add_group_members(
            &approvers.id,
            &[people[0].id.clone(), people[3].id.clone()],
            now,
        )
        .await?;

    let mut sources = Vec::new();
    for (i, (name, connector, kind, ents)) in SOURCES.iter().enumerate() {
        let source = store
            .insert_source(
                &NewSource {
                    name: name.to_string(),
                    description: Some(format!("Demo {name} source")),
                    owner_id: people[1].id.clone(),
                    management_workgroup_id: (i == 0).then(|| finance.id.clone()),
                    source_type: Some(kind.to_string()),
                    connector: connector.to_string(),
                    connector_name: Some(kind.to_string()),
                    connection_type: Some("direct".into()),
                    authoritative: *connector == "workday",
                    features: vec!["PROVISIONING".into(), "ENABLE".into()],
                    doc: Default::default(),
                },
                now,
            )
            .await?;
        let mut ids = Vec::new();
        for ent in ents.iter() {
            let e = Entitlement {
                id: new_id(),
                source: NamedRef {
                    id: source.id.clone(),
                    name: source.name.clone(),
                },
                name: ent.to_string(),
                attribute: "memberOf".into(),
                value: format!("CN={ent},OU=Groups,DC=example,DC=com"),
                entitlement_type: "group".into(),
                description: Some(format!("{ent} on {name}")),
                privileged: ent.contains("Admin"),
                requestable: true,
                owner: Some(NamedRef {
                    id: people[1].id.clone(),
                    name: people[1].name.clone(),
                }),
                created: now,
                modified: now,
            };
            store.insert_entitlement(&e).await?;
            ids.push(e.id);
        }
        sources.push((source, ids));
    }

    let mut profiles = std::collections::HashMap::new();
    for (name, src, ents, owner, requestable) in PROFILES {
        let (source, ent_ids) = &sources[src];
        let draft = AccessProfileDraft {
            name: name_of(name)?,
            description: description_of(format!("Demo access profile: {name}"))?,
            owner_id: people[owner].id.clone(),
            owner_name: None,
            source_id: source.id.clone(),
            source_name: None,
            entitlement_ids: ents.iter().map(|i| ent_ids[*i].clone()).collect(),
            segment_ids: Vec::new(),
            enabled: true,
            requestable,
            doc: Default::default(),
        };
        let ap = store
            .insert_access_profile(&Scope::All, &draft, now)
            .await?;
        profiles.insert(name, ap.id);
    }
    let ids = |names: &[&str]| -> Vec<String> {
        names
            .iter()
            .filter_map(|n| profiles.get(n).cloned())
            .collect()
    };

    for (name, owner, aps) in ROLES {
        store
            .insert_role(
                &Scope::All,
                &RoleDraft {
                    name: name_of(name)?,
                    description: description_of(format!("Demo role: {name}"))?,
                    owner_id: people[owner].id.clone(),
                    access_profile_ids: ids(aps),
                    entitlement_ids: Vec::new(),
                    segment_ids: Vec::new(),
                    enabled: true,
                    requestable: true,
                    dimensional: false,
                    doc: Default::default(),
                },
                now,
            )
            .await?;
    }

    // A source app on Salesforce for the request center, holding two of its profiles
    // (so they are in use as APPLICATION).
    store
        .insert_source_app(
            &SourceAppDraft {
                name: name_of("Salesforce CRM")?,
                description: Description::parse_required(Some(
                    "Demo source app: request Salesforce access".into(),
                ))
                .map_err(refused)?,
                owner_id: people[3].id.clone(),
                account_source_id: sources[2].0.id.clone(),
                enabled: true,
                provision_request_enabled: true,
                app_center_enabled: true,
                match_all_accounts: false,
                access_profile_ids: ids(&["Salesforce Sales", "Salesforce Service"]),
            },
            now,
        )
        .await?;

    let employees = store
        .insert_identity_profile(
            &NewIdentityProfile {
                name: "Employees".into(),
                description: Some("Everyone with a Workday record".into()),
                owner_id: Some(people[0].id.clone()),
                authoritative_source_id: Some(sources[1].0.id.clone()),
                priority: 10,
            },
            now,
        )
        .await?;
    for (name, technical, enabled, aps) in LIFECYCLE_STATES {
        store
            .insert_lifecycle_state(
                &employees.id,
                &LifecycleStateDraft {
                    name: name_of(name)?,
                    technical_name: technical.into(),
                    description: description_of(format!("Demo lifecycle state: {name}"))?,
                    enabled,
                    identity_state: Some(
                        if enabled {
                            "ACTIVE"
                        } else {
                            "INACTIVE_LONG_TERM"
                        }
                        .into(),
                    ),
                    priority: None,
                    access_profile_ids: ids(aps),
                    doc: Default::default(),
                },
                now,
            )
            .await?;
    }
    Ok(())
}

/// (role name, owner index, access profile names)
const ROLES: [(&str, usize, &[&str]); 2] = [
    (
        "Sales Representative",
        3,
        &["AD Basic Access", "Salesforce Sales"],
    ),
    (
        "Finance Analyst",
        0,
        &["AD Basic Access", "AD Finance Shares", "Workday Employee"],
    ),
];

/// (name, technical name, enabled, access profile names) of the Employees profile.
const LIFECYCLE_STATES: [(&str, &str, bool, &[&str]); 2] = [
    (
        "Active",
        "active",
        true,
        &["AD Basic Access", "Workday Employee"],
    ),
    ("Inactive", "inactive", false, &[]),
];

fn refused(e: crate::domain::DomainError) -> StoreError {
    StoreError::Refused(e.to_string())
}

fn name_of(name: &str) -> StoreResult<Name> {
    Name::parse(Some(name.to_string()), "name").map_err(refused)
}

fn description_of(text: String) -> StoreResult<Option<Description>> {
    Description::parse_optional(Some(text)).map_err(refused)
}
