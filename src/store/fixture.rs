//! A fixture plan as table rows and back: the columns each record of
//! [`crate::fixture::plan`] is written to, in the row form of `store::export` (flags
//! as 0/1, JSON documents as text). The SQL that writes and reads them is the
//! export's (`sql/tenant.rs`).

use serde_json::{Map, Value};

use super::export::{TableExport, TABLES};
use super::{StoreError, StoreResult};
use crate::fixture::plan::*;

/// The tables of `export::TABLES` a fixture does not hold: the database's metadata
/// and signing keys, tasks, and rate-limit state.
const NOT_IN_FIXTURE: &[&str] = &["meta", "signing_keys", "tasks", "rate_limits"];

/// The tables a fixture fills, in insertion order (parents first, as `export::TABLES`).
pub fn fixture_tables() -> impl Iterator<Item = &'static str> {
    TABLES
        .iter()
        .copied()
        .filter(|t| !NOT_IN_FIXTURE.contains(t))
}

fn table(name: &str, columns: &[&str], rows: Vec<Vec<Value>>) -> TableExport {
    TableExport {
        name: name.to_string(),
        columns: columns.iter().map(|c| c.to_string()).collect(),
        rows,
    }
}

fn t(s: &str) -> Value {
    Value::from(s)
}

fn ot(s: &Option<String>) -> Value {
    s.as_deref().map_or(Value::Null, Value::from)
}

fn b(v: bool) -> Value {
    Value::from(i64::from(v))
}

fn json_text(v: &impl serde::Serialize) -> Value {
    Value::from(serde_json::to_string(v).unwrap_or_else(|_| "null".into()))
}

/// Link rows `(owner, item, position)` of an ordered list.
fn links<'a>(owner: &'a str, items: &'a [String]) -> impl Iterator<Item = Vec<Value>> + 'a {
    items
        .iter()
        .enumerate()
        .map(move |(i, item)| vec![t(owner), t(item), Value::from(i as i64)])
}

/// The rows of `plan`, table by table, in [`fixture_tables`] order. `identities`
/// rows carry no manager: see [`managers`].
pub fn rows(plan: &Plan) -> Vec<TableExport> {
    let mut out = Vec::new();
    out.push(table(
        "identities",
        &[
            "id",
            "name",
            "alias",
            "first_name",
            "last_name",
            "email",
            "cloud_status",
            "processing_state",
            "correlated",
            "protected",
            "is_manager",
            "manager_id",
            "authorities",
            "created",
            "modified",
        ],
        plan.identities
            .iter()
            .map(|i| {
                vec![
                    t(&i.id),
                    t(&i.name),
                    t(&i.alias),
                    ot(&i.first_name),
                    ot(&i.last_name),
                    ot(&i.email),
                    t(&i.cloud_status),
                    ot(&i.processing_state),
                    b(i.correlated),
                    b(i.protected),
                    b(i.is_manager),
                    Value::Null,
                    json_text(&i.authorities),
                    t(&i.created),
                    t(&i.modified),
                ]
            })
            .collect(),
    ));
    out.push(table(
        "api_clients",
        &[
            "client_id",
            "secret_hash",
            "name",
            "identity_id",
            "scopes",
            "created",
        ],
        plan.api_clients
            .iter()
            .map(|c| {
                vec![
                    t(&c.client_id),
                    t(&c.secret_hash),
                    t(&c.name),
                    ot(&c.identity_id),
                    t(&c.scopes.join(" ")),
                    t(&c.created),
                ]
            })
            .collect(),
    ));
    out.push(table(
        "governance_groups",
        &[
            "id",
            "name",
            "description",
            "owner_id",
            "created",
            "modified",
        ],
        plan.groups
            .iter()
            .map(|g| {
                vec![
                    t(&g.id),
                    t(&g.name),
                    ot(&g.description),
                    ot(&g.owner_id),
                    t(&g.created),
                    t(&g.modified),
                ]
            })
            .collect(),
    ));
    out.push(table(
        "governance_group_members",
        &["group_id", "identity_id", "created"],
        plan.groups
            .iter()
            .flat_map(|g| g.members.iter().map(|(m, c)| vec![t(&g.id), t(m), t(c)]))
            .collect(),
    ));
    out.push(table(
        "sources",
        &[
            "id",
            "num_id",
            "name",
            "description",
            "owner_id",
            "management_workgroup_id",
            "type",
            "connector",
            "connector_name",
            "connection_type",
            "authoritative",
            "healthy",
            "status",
            "features",
            "doc",
            "created",
            "modified",
        ],
        plan.sources
            .iter()
            .map(|s| {
                vec![
                    t(&s.id),
                    Value::from(s.num_id),
                    t(&s.name),
                    ot(&s.description),
                    t(&s.owner_id),
                    ot(&s.management_workgroup_id),
                    ot(&s.source_type),
                    t(&s.connector),
                    ot(&s.connector_name),
                    ot(&s.connection_type),
                    b(s.authoritative),
                    b(s.healthy),
                    t(&s.status),
                    json_text(&s.features),
                    json_text(&s.doc),
                    t(&s.created),
                    t(&s.modified),
                ]
            })
            .collect(),
    ));
    out.push(table(
        "entitlements",
        &[
            "id",
            "source_id",
            "name",
            "attribute",
            "value",
            "type",
            "description",
            "privileged",
            "requestable",
            "owner_id",
            "created",
            "modified",
        ],
        plan.entitlements
            .iter()
            .map(|e| {
                vec![
                    t(&e.id),
                    t(&e.source_id),
                    t(&e.name),
                    t(&e.attribute),
                    t(&e.value),
                    t(&e.kind),
                    ot(&e.description),
                    b(e.privileged),
                    b(e.requestable),
                    ot(&e.owner_id),
                    t(&e.created),
                    t(&e.modified),
                ]
            })
            .collect(),
    ));
    out.push(table(
        "access_profiles",
        &[
            "id",
            "name",
            "description",
            "owner_id",
            "source_id",
            "enabled",
            "requestable",
            "doc",
            "created",
            "modified",
        ],
        plan.access_profiles
            .iter()
            .map(|a| {
                vec![
                    t(&a.id),
                    t(&a.name),
                    ot(&a.description),
                    t(&a.owner_id),
                    t(&a.source_id),
                    b(a.enabled),
                    b(a.requestable),
                    json_text(&a.doc),
                    t(&a.created),
                    t(&a.modified),
                ]
            })
            .collect(),
    ));
    out.push(table(
        "access_profile_entitlements",
        &["access_profile_id", "entitlement_id", "position"],
        plan.access_profiles
            .iter()
            .flat_map(|a| links(&a.id, &a.entitlement_ids))
            .collect(),
    ));
    out.push(table(
        "roles",
        &[
            "id",
            "name",
            "description",
            "owner_id",
            "enabled",
            "requestable",
            "dimensional",
            "doc",
            "created",
            "modified",
        ],
        plan.roles
            .iter()
            .map(|r| {
                vec![
                    t(&r.id),
                    t(&r.name),
                    ot(&r.description),
                    t(&r.owner_id),
                    b(r.enabled),
                    b(r.requestable),
                    b(r.dimensional),
                    json_text(&r.doc),
                    t(&r.created),
                    t(&r.modified),
                ]
            })
            .collect(),
    ));
    out.push(table(
        "role_access_profiles",
        &["role_id", "access_profile_id", "position"],
        plan.roles
            .iter()
            .flat_map(|r| links(&r.id, &r.access_profile_ids))
            .collect(),
    ));
    out.push(table(
        "role_entitlements",
        &["role_id", "entitlement_id", "position"],
        plan.roles
            .iter()
            .flat_map(|r| links(&r.id, &r.entitlement_ids))
            .collect(),
    ));
    out.push(table(
        "identity_profiles",
        &[
            "id",
            "name",
            "description",
            "owner_id",
            "authoritative_source_id",
            "priority",
            "created",
            "modified",
        ],
        plan.identity_profiles
            .iter()
            .map(|p| {
                vec![
                    t(&p.id),
                    t(&p.name),
                    ot(&p.description),
                    ot(&p.owner_id),
                    ot(&p.authoritative_source_id),
                    Value::from(p.priority),
                    t(&p.created),
                    t(&p.modified),
                ]
            })
            .collect(),
    ));
    out.push(table(
        "lifecycle_states",
        &[
            "id",
            "identity_profile_id",
            "name",
            "technical_name",
            "description",
            "enabled",
            "identity_count",
            "identity_state",
            "priority",
            "doc",
            "created",
            "modified",
        ],
        plan.lifecycle_states
            .iter()
            .map(|s| {
                vec![
                    t(&s.id),
                    t(&s.identity_profile_id),
                    t(&s.name),
                    t(&s.technical_name),
                    ot(&s.description),
                    b(s.enabled),
                    Value::from(s.identity_count),
                    ot(&s.identity_state),
                    s.priority.map_or(Value::Null, Value::from),
                    json_text(&s.doc),
                    t(&s.created),
                    t(&s.modified),
                ]
            })
            .collect(),
    ));
    out.push(table(
        "lifecycle_state_access_profiles",
        &["lifecycle_state_id", "access_profile_id", "position"],
        plan.lifecycle_states
            .iter()
            .flat_map(|s| links(&s.id, &s.access_profile_ids))
            .collect(),
    ));
    out.push(table(
        "source_apps",
        &[
            "id",
            "num_id",
            "name",
            "description",
            "owner_id",
            "account_source_id",
            "enabled",
            "provision_request_enabled",
            "app_center_enabled",
            "match_all_accounts",
            "created",
            "modified",
        ],
        plan.source_apps
            .iter()
            .map(|a| {
                vec![
                    t(&a.id),
                    Value::from(a.num_id),
                    t(&a.name),
                    t(&a.description),
                    t(&a.owner_id),
                    t(&a.account_source_id),
                    b(a.enabled),
                    b(a.provision_request_enabled),
                    b(a.app_center_enabled),
                    b(a.match_all_accounts),
                    t(&a.created),
                    t(&a.modified),
                ]
            })
            .collect(),
    ));
    out.push(table(
        "source_app_access_profiles",
        &["app_id", "source_id", "access_profile_id", "position"],
        plan.source_apps
            .iter()
            .flat_map(|a| {
                a.access_profile_ids.iter().enumerate().map(move |(i, ap)| {
                    vec![
                        t(&a.id),
                        t(&a.account_source_id),
                        t(ap),
                        Value::from(i as i64),
                    ]
                })
            })
            .collect(),
    ));
    out.push(table(
        "segments",
        &[
            "id",
            "name",
            "description",
            "owner_id",
            "visibility_criteria",
            "active",
            "created",
            "modified",
        ],
        plan.segments
            .iter()
            .map(|s| {
                vec![
                    t(&s.id),
                    t(&s.name),
                    ot(&s.description),
                    ot(&s.owner_id),
                    s.visibility_criteria
                        .as_ref()
                        .map_or(Value::Null, json_text),
                    b(s.active),
                    t(&s.created),
                    t(&s.modified),
                ]
            })
            .collect(),
    ));
    out.push(table(
        "access_profile_segments",
        &["access_profile_id", "segment_id", "position"],
        plan.access_profiles
            .iter()
            .flat_map(|a| links(&a.id, &a.segment_ids))
            .collect(),
    ));
    out.push(table(
        "role_segments",
        &["role_id", "segment_id", "position"],
        plan.roles
            .iter()
            .flat_map(|r| links(&r.id, &r.segment_ids))
            .collect(),
    ));
    out
}

/// `(identity id, manager id)` of the identities that have a manager, written once
/// every identity exists.
pub fn managers(plan: &Plan) -> Vec<(String, String)> {
    plan.identities
        .iter()
        .filter_map(|i| i.manager_id.clone().map(|m| (i.id.clone(), m)))
        .collect()
}

/// One row of a table, read by column name.
struct RowView<'a> {
    table: &'a str,
    columns: &'a [String],
    row: &'a [Value],
}

impl RowView<'_> {
    fn v(&self, c: &str) -> StoreResult<&Value> {
        self.columns
            .iter()
            .position(|n| n == c)
            .and_then(|i| self.row.get(i))
            .ok_or_else(|| StoreError::Corrupt(format!("{}: no column {c}", self.table)))
    }
    fn bad(&self, c: &str) -> StoreError {
        StoreError::Corrupt(format!("{}.{c}: unexpected value", self.table))
    }
    fn s(&self, c: &str) -> StoreResult<String> {
        self.v(c)?
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| self.bad(c))
    }
    fn os(&self, c: &str) -> StoreResult<Option<String>> {
        match self.v(c)? {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s.clone())),
            _ => Err(self.bad(c)),
        }
    }
    fn i(&self, c: &str) -> StoreResult<i64> {
        self.v(c)?.as_i64().ok_or_else(|| self.bad(c))
    }
    fn oi(&self, c: &str) -> StoreResult<Option<i64>> {
        match self.v(c)? {
            Value::Null => Ok(None),
            v => v.as_i64().map(Some).ok_or_else(|| self.bad(c)),
        }
    }
    fn b(&self, c: &str) -> StoreResult<bool> {
        Ok(self.i(c)? != 0)
    }
    fn json<T: serde::de::DeserializeOwned>(&self, c: &str) -> StoreResult<T> {
        serde_json::from_str(&self.s(c)?).map_err(|_| self.bad(c))
    }
    fn map(&self, c: &str) -> StoreResult<Map<String, Value>> {
        self.json(c)
    }
}

/// The rows of `name` among `tables`, read by column name.
fn each<'a>(tables: &'a [TableExport], name: &'a str) -> impl Iterator<Item = RowView<'a>> {
    tables
        .iter()
        .filter(move |t| t.name == name)
        .flat_map(move |t| {
            t.rows.iter().map(move |r| RowView {
                table: name,
                columns: &t.columns,
                row: r,
            })
        })
}

/// `(owner, item)` of a link table, in each owner's order.
fn ordered(
    tables: &[TableExport],
    name: &str,
    owner: &str,
    item: &str,
) -> StoreResult<Vec<(String, String)>> {
    let mut rows = each(tables, name)
        .map(|r| Ok((r.s(owner)?, r.i("position")?, r.s(item)?)))
        .collect::<StoreResult<Vec<_>>>()?;
    rows.sort_by(|a, b| (&a.0, a.1, &a.2).cmp(&(&b.0, b.1, &b.2)));
    Ok(rows.into_iter().map(|(o, _, i)| (o, i)).collect())
}

fn items_of(links: &[(String, String)], owner: &str) -> Vec<String> {
    links
        .iter()
        .filter(|(o, _)| o == owner)
        .map(|(_, i)| i.clone())
        .collect()
}

/// The identities of `tables`' `identities` rows.
pub fn identities(tables: &[TableExport]) -> StoreResult<Vec<IdentityRec>> {
    each(tables, "identities")
        .map(|r| {
            Ok(IdentityRec {
                id: r.s("id")?,
                name: r.s("name")?,
                alias: r.s("alias")?,
                first_name: r.os("first_name")?,
                last_name: r.os("last_name")?,
                email: r.os("email")?,
                cloud_status: r.s("cloud_status")?,
                processing_state: r.os("processing_state")?,
                correlated: r.b("correlated")?,
                protected: r.b("protected")?,
                is_manager: r.b("is_manager")?,
                manager_id: r.os("manager_id")?,
                authorities: r.json("authorities")?,
                created: r.s("created")?,
                modified: r.s("modified")?,
            })
        })
        .collect()
}

/// The plan of the tenant whose rows are `tables` (every [`fixture_tables`] table),
/// in a stable order: by `created`, then id.
pub fn plan(tables: &[TableExport]) -> StoreResult<Plan> {
    let members = ordered_members(tables)?;
    let ap_ents = ordered(
        tables,
        "access_profile_entitlements",
        "access_profile_id",
        "entitlement_id",
    )?;
    let ap_segs = ordered(
        tables,
        "access_profile_segments",
        "access_profile_id",
        "segment_id",
    )?;
    let role_aps = ordered(
        tables,
        "role_access_profiles",
        "role_id",
        "access_profile_id",
    )?;
    let role_ents = ordered(tables, "role_entitlements", "role_id", "entitlement_id")?;
    let role_segs = ordered(tables, "role_segments", "role_id", "segment_id")?;
    let ls_aps = ordered(
        tables,
        "lifecycle_state_access_profiles",
        "lifecycle_state_id",
        "access_profile_id",
    )?;
    let app_aps = ordered(
        tables,
        "source_app_access_profiles",
        "app_id",
        "access_profile_id",
    )?;
    let mut plan = Plan {
        identities: identities(tables)?,
        groups: each(tables, "governance_groups")
            .map(|r| {
                let id = r.s("id")?;
                Ok(GroupRec {
                    members: members
                        .iter()
                        .filter(|(g, _, _)| *g == id)
                        .map(|(_, m, c)| (m.clone(), c.clone()))
                        .collect(),
                    id,
                    name: r.s("name")?,
                    description: r.os("description")?,
                    owner_id: r.os("owner_id")?,
                    created: r.s("created")?,
                    modified: r.s("modified")?,
                })
            })
            .collect::<StoreResult<_>>()?,
        sources: each(tables, "sources")
            .map(|r| {
                Ok(SourceRec {
                    id: r.s("id")?,
                    num_id: r.i("num_id")?,
                    name: r.s("name")?,
                    description: r.os("description")?,
                    owner_id: r.s("owner_id")?,
                    management_workgroup_id: r.os("management_workgroup_id")?,
                    source_type: r.os("type")?,
                    connector: r.s("connector")?,
                    connector_name: r.os("connector_name")?,
                    connection_type: r.os("connection_type")?,
                    authoritative: r.b("authoritative")?,
                    healthy: r.b("healthy")?,
                    status: r.s("status")?,
                    features: r.json("features")?,
                    doc: r.map("doc")?,
                    created: r.s("created")?,
                    modified: r.s("modified")?,
                })
            })
            .collect::<StoreResult<_>>()?,
        entitlements: each(tables, "entitlements")
            .map(|r| {
                Ok(EntitlementRec {
                    id: r.s("id")?,
                    source_id: r.s("source_id")?,
                    name: r.s("name")?,
                    attribute: r.s("attribute")?,
                    value: r.s("value")?,
                    kind: r.s("type")?,
                    description: r.os("description")?,
                    privileged: r.b("privileged")?,
                    requestable: r.b("requestable")?,
                    owner_id: r.os("owner_id")?,
                    created: r.s("created")?,
                    modified: r.s("modified")?,
                })
            })
            .collect::<StoreResult<_>>()?,
        segments: each(tables, "segments")
            .map(|r| {
                Ok(SegmentRec {
                    id: r.s("id")?,
                    name: r.s("name")?,
                    description: r.os("description")?,
                    owner_id: r.os("owner_id")?,
                    visibility_criteria: match r.os("visibility_criteria")? {
                        Some(text) => Some(
                            serde_json::from_str(&text)
                                .map_err(|_| r.bad("visibility_criteria"))?,
                        ),
                        None => None,
                    },
                    active: r.b("active")?,
                    created: r.s("created")?,
                    modified: r.s("modified")?,
                })
            })
            .collect::<StoreResult<_>>()?,
        access_profiles: each(tables, "access_profiles")
            .map(|r| {
                let id = r.s("id")?;
                Ok(AccessProfileRec {
                    entitlement_ids: items_of(&ap_ents, &id),
                    segment_ids: items_of(&ap_segs, &id),
                    id,
                    name: r.s("name")?,
                    description: r.os("description")?,
                    owner_id: r.s("owner_id")?,
                    source_id: r.s("source_id")?,
                    enabled: r.b("enabled")?,
                    requestable: r.b("requestable")?,
                    doc: r.map("doc")?,
                    created: r.s("created")?,
                    modified: r.s("modified")?,
                })
            })
            .collect::<StoreResult<_>>()?,
        roles: each(tables, "roles")
            .map(|r| {
                let id = r.s("id")?;
                Ok(RoleRec {
                    access_profile_ids: items_of(&role_aps, &id),
                    entitlement_ids: items_of(&role_ents, &id),
                    segment_ids: items_of(&role_segs, &id),
                    id,
                    name: r.s("name")?,
                    description: r.os("description")?,
                    owner_id: r.s("owner_id")?,
                    enabled: r.b("enabled")?,
                    requestable: r.b("requestable")?,
                    dimensional: r.b("dimensional")?,
                    doc: r.map("doc")?,
                    created: r.s("created")?,
                    modified: r.s("modified")?,
                })
            })
            .collect::<StoreResult<_>>()?,
        source_apps: each(tables, "source_apps")
            .map(|r| {
                let id = r.s("id")?;
                Ok(SourceAppRec {
                    access_profile_ids: items_of(&app_aps, &id),
                    id,
                    num_id: r.i("num_id")?,
                    name: r.s("name")?,
                    description: r.s("description")?,
                    owner_id: r.s("owner_id")?,
                    account_source_id: r.s("account_source_id")?,
                    enabled: r.b("enabled")?,
                    provision_request_enabled: r.b("provision_request_enabled")?,
                    app_center_enabled: r.b("app_center_enabled")?,
                    match_all_accounts: r.b("match_all_accounts")?,
                    created: r.s("created")?,
                    modified: r.s("modified")?,
                })
            })
            .collect::<StoreResult<_>>()?,
        identity_profiles: each(tables, "identity_profiles")
            .map(|r| {
                Ok(IdentityProfileRec {
                    id: r.s("id")?,
                    name: r.s("name")?,
                    description: r.os("description")?,
                    owner_id: r.os("owner_id")?,
                    authoritative_source_id: r.os("authoritative_source_id")?,
                    priority: r.i("priority")?,
                    created: r.s("created")?,
                    modified: r.s("modified")?,
                })
            })
            .collect::<StoreResult<_>>()?,
        lifecycle_states: each(tables, "lifecycle_states")
            .map(|r| {
                let id = r.s("id")?;
                Ok(LifecycleStateRec {
                    access_profile_ids: items_of(&ls_aps, &id),
                    id,
                    identity_profile_id: r.s("identity_profile_id")?,
                    name: r.s("name")?,
                    technical_name: r.s("technical_name")?,
                    description: r.os("description")?,
                    enabled: r.b("enabled")?,
                    identity_count: r.i("identity_count")?,
                    identity_state: r.os("identity_state")?,
                    priority: r.oi("priority")?,
                    doc: r.map("doc")?,
                    created: r.s("created")?,
                    modified: r.s("modified")?,
                })
            })
            .collect::<StoreResult<_>>()?,
        api_clients: each(tables, "api_clients")
            .map(|r| {
                Ok(ApiClientRec {
                    client_id: r.s("client_id")?,
                    secret_hash: r.s("secret_hash")?,
                    name: r.s("name")?,
                    identity_id: r.os("identity_id")?,
                    scopes: r
                        .s("scopes")?
                        .split_whitespace()
                        .map(str::to_string)
                        .collect(),
                    created: r.s("created")?,
                })
            })
            .collect::<StoreResult<_>>()?,
    };
    // A stable order whatever the database returned: by creation, then id.
    macro_rules! by_created {
        ($($list:ident),*) => {$(plan.$list.sort_by(|a, b| (&a.created, &a.id).cmp(&(&b.created, &b.id)));)*};
    }
    by_created!(
        identities,
        groups,
        sources,
        entitlements,
        segments,
        access_profiles,
        roles,
        source_apps,
        identity_profiles,
        lifecycle_states
    );
    plan.api_clients
        .sort_by(|a, b| (&a.created, &a.client_id).cmp(&(&b.created, &b.client_id)));
    Ok(plan)
}

/// `(group, identity, created)` of the members, by identity id (a group's members
/// have no order).
fn ordered_members(tables: &[TableExport]) -> StoreResult<Vec<(String, String, String)>> {
    let mut rows = each(tables, "governance_group_members")
        .map(|r| Ok((r.s("group_id")?, r.s("identity_id")?, r.s("created")?)))
        .collect::<StoreResult<Vec<_>>>()?;
    rows.sort();
    Ok(rows)
}
