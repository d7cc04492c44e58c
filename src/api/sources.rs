//! Sources (v3 list/get/create) and entitlements (beta and v1 list/get): what a
//! client needs to discover before it can create an access profile.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post, put};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::extract::{list_response, Json, OptionalJson, Params};
use super::gateway::Caller;
use super::scope::for_subadmin;
use super::{docs, Fam};
use super::{AppState, Routes};
use crate::api::error::ApiError;
use crate::auth::OperationId as Op;
use crate::domain::access_profile::RefInput;
use crate::domain::model::{EntitlementChange, NewSource, Source};
use crate::domain::patch;
use crate::domain::scope::{is_subadmin, SOURCE_SUBADMIN};
use crate::domain::task::{CompletionStatus, TaskKind, TaskRecord};
use crate::domain::text::{Description, Name};
use crate::query::{search_after, specs, Filter};

/// `listSources` (v3). A sub-admin sees the sources it administers; a SOURCE_SUBADMIN
/// must say so with `for-subadmin=me` (or its own id), else 403, as the spec says.
pub async fn list_sources(
    State(state): State<AppState>,
    caller: Caller,
    params: Params,
) -> Result<Response, ApiError> {
    let mut scope = caller.scope.clone();
    let subadmin = params.get("for-subadmin");
    let names_itself = subadmin
        .map(str::trim)
        .is_some_and(|v| v == "me" || Some(v) == caller.identity_id());
    if !scope.is_all()
        && is_subadmin(&caller.claims.authorities, &[SOURCE_SUBADMIN])
        && !names_itself
    {
        return Err(ApiError::Forbidden(
            "A SOURCE_SUBADMIN must pass for-subadmin=me (or its own identity id).".into(),
        ));
    }
    if let Some(view) = for_subadmin(&state, &caller, subadmin, &[SOURCE_SUBADMIN]).await? {
        scope = scope.intersect(&view);
    }
    // `includeIDNSource`: accessd has no built-in IdentityNow source to include; the
    // value is checked all the same.
    params.flag("includeIDNSource")?;
    let q = params.list_query(
        &specs::LIST_SOURCES_FILTERS,
        &specs::LIST_SOURCES_SORTERS,
        250,
    )?;
    let page = state.store.list_sources(&scope, &q).await?;
    Ok(list_response(&page.items, page.total, docs::source))
}

/// `getSource` (v3)
pub async fn get_source(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<axum::Json<Value>, ApiError> {
    let source = state.store.get_source(&caller.scope, &id).await?;
    Ok(axum::Json(docs::source(&source)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceInput {
    name: Option<String>,
    description: Option<String>,
    owner: Option<RefInput>,
    management_workgroup: Option<RefInput>,
    #[serde(rename = "type")]
    source_type: Option<String>,
    connector: Option<String>,
    connector_name: Option<String>,
    connection_type: Option<String>,
    authoritative: Option<bool>,
    features: Option<Vec<String>>,
    /// Everything else of the v3 `Source` document, kept as sent.
    #[serde(flatten)]
    rest: Map<String, Value>,
}

/// Fields of `Source` that the server computes; ignored on input.
const SOURCE_READ_ONLY: [&str; 6] = ["id", "created", "modified", "healthy", "status", "since"];

/// `createSource` (v3): 201 with the stored source.
pub async fn create_source(
    State(state): State<AppState>,
    _caller: Caller,
    params: Params,
    Json(input): Json<SourceInput>,
) -> Result<Response, ApiError> {
    // `provisionAsCsv`: accessd provisions nothing, so a source is the same either way;
    // the value is checked all the same.
    params.flag("provisionAsCsv")?;
    let source = checked_source(&state, input, None).await?;
    let source = state
        .store
        .insert_source(&source, state.clock.now())
        .await?;
    Ok((StatusCode::CREATED, axum::Json(docs::source(&source))).into_response())
}

/// A source as sent, checked: a name, an existing owner and management workgroup, a
/// connector. When it replaces `current`, the fields the spec makes immutable (`type`,
/// `authoritative`, `connector`) must keep their values (400 otherwise).
async fn checked_source(
    state: &AppState,
    input: SourceInput,
    current: Option<&Source>,
) -> Result<NewSource, ApiError> {
    let name = Name::parse(input.name, "name")?.into_string();
    let owner_id = input
        .owner
        .and_then(|o| o.id)
        .ok_or_else(|| ApiError::bad_request("owner.id is required."))?;
    let connector = input
        .connector
        .filter(|c| !c.trim().is_empty())
        .ok_or_else(|| ApiError::bad_request("connector is required."))?;
    state.store.get_identity(&owner_id).await.map_err(|_| {
        ApiError::bad_request(format!("owner '{owner_id}' is not an existing identity."))
    })?;
    let workgroup_id = input.management_workgroup.and_then(|w| w.id);
    if let Some(w) = &workgroup_id {
        state.store.get_governance_group(w).await.map_err(|_| {
            ApiError::bad_request(format!("managementWorkgroup '{w}' does not exist."))
        })?;
    }
    let mut source_type = input.source_type;
    let mut authoritative = input.authoritative.unwrap_or(false);
    if let Some(current) = current {
        if connector != current.connector {
            return Err(ApiError::bad_request("connector is immutable."));
        }
        if source_type.is_some() && source_type != current.source_type {
            return Err(ApiError::bad_request("type is immutable."));
        }
        if input
            .authoritative
            .is_some_and(|a| a != current.authoritative)
        {
            return Err(ApiError::bad_request("authoritative is immutable."));
        }
        source_type = current.source_type.clone();
        authoritative = current.authoritative;
    }
    let mut doc = input.rest;
    for k in SOURCE_READ_ONLY {
        doc.remove(k);
    }
    doc.retain(|_, v| !v.is_null());
    Ok(NewSource {
        name,
        description: Description::parse_optional(input.description)?.map(Description::into_string),
        owner_id,
        management_workgroup_id: workgroup_id,
        source_type,
        connector,
        connector_name: input.connector_name,
        connection_type: input.connection_type,
        authoritative,
        features: input.features.unwrap_or_default(),
        doc,
    })
}

/// `putSource` (v3): the whole source replaced, its immutable fields kept; 200.
async fn put_source(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(input): Json<SourceInput>,
) -> Result<Response, ApiError> {
    let current = state.store.get_source(&caller.scope, &id).await?;
    let source = checked_source(&state, input, Some(&current)).await?;
    let source = state
        .store
        .update_source(&caller.scope, &id, &source, state.clock.now())
        .await?;
    Ok(axum::Json(docs::source(&source)).into_response())
}

/// What `updateSource` may write: every field of `Source` but the immutable ones the
/// spec lists (id, type, authoritative, created, modified, connector, connectorClass,
/// passwordPolicies) and those the server computes (healthy, status, since).
const SOURCE_PATCHABLE: [&str; 20] = [
    "name",
    "description",
    "owner",
    "cluster",
    "accountCorrelationConfig",
    "accountCorrelationRule",
    "managerCorrelationMapping",
    "managerCorrelationRule",
    "beforeProvisioningRule",
    "schemas",
    "provisioningPolicies",
    "features",
    "managementWorkgroup",
    "connectorAttributes",
    "deleteThreshold",
    "connectionType",
    "connectorName",
    "credentialProviderEnabled",
    "category",
    "connectorImplementationId",
];

/// The optional fields of `Source` that accessd keeps in columns of their own.
const SOURCE_OPTIONAL: [&str; 4] = [
    "description",
    "managementWorkgroup",
    "connectorName",
    "connectionType",
];

/// `updateSource` (v3): RFC 6902 on the patchable fields; the result passes the
/// rules of a replace. 200 with the source.
async fn update_source(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Json(ops): Json<Vec<Value>>,
) -> Result<Response, ApiError> {
    let current = state.store.get_source(&caller.scope, &id).await?;
    let mut doc = docs::source(&current);
    // An optional field left out of the document is there as null, so that `replace`
    // can set it (RFC 6902 replaces only what exists); null reads back as absent.
    if let Some(obj) = doc.as_object_mut() {
        for k in SOURCE_OPTIONAL {
            obj.entry(k).or_insert(Value::Null);
        }
    }
    patch::apply(&mut doc, &ops, &SOURCE_PATCHABLE, &[])?;
    let input: SourceInput = patch::read_patched(doc, "source")?;
    let source = checked_source(&state, input, Some(&current)).await?;
    let source = state
        .store
        .update_source(&caller.scope, &id, &source, state.clock.now())
        .await?;
    Ok(axum::Json(docs::source(&source)).into_response())
}

/// `deleteSource` (v3): 202 with a `TASK_RESULT` reference (without a `name`: the
/// schema's `name` is a string, not null) to a task recorded, already
/// `SUCCESS`, in the delete's transaction; the source's entitlements go with it. A
/// source that access profiles or source apps use (or whose entitlements roles use,
/// or that an identity profile is authoritative on) is not deleted from under them
/// (CONTRACT §2): 400 in use, as for access profiles (§3.1), nothing changed.
async fn delete_source(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let task = TaskRecord::finished(
        TaskKind::SourceDelete,
        &caller.launcher(),
        json!({ "ids": [id] }),
        CompletionStatus::Success,
        Vec::new(),
        state.clock.now(),
    );
    state.store.delete_source(&caller.scope, &id, &task).await?;
    Ok((
        StatusCode::ACCEPTED,
        axum::Json(json!({"type": "TASK_RESULT", "id": task.id})),
    )
        .into_response())
}

pub fn entitlement_routes<F: Fam>(suffix: &str) -> Routes {
    let base = format!("/entitlements{suffix}");
    Routes::default()
        .at::<F>(&base, [(Op::ListEntitlements, get(list_entitlements::<F>))])
        .at::<F>(
            &format!("{base}/{{id}}"),
            [
                (Op::GetEntitlement, get(get_entitlement::<F>)),
                (Op::PatchEntitlement, patch(patch_entitlement::<F>)),
            ],
        )
}

/// `/sources` (v3 and the year-versioned families).
pub fn routes<F: Fam>() -> Routes {
    Routes::default()
        .at::<F>(
            "/sources",
            [
                (Op::ListSources, get(list_sources)),
                (Op::CreateSource, post(create_source)),
            ],
        )
        .at::<F>(
            "/sources/{id}",
            [
                (Op::GetSource, get(get_source)),
                (Op::PutSource, put(put_source)),
                (Op::UpdateSource, patch(update_source)),
                (Op::DeleteSource, delete(delete_source)),
            ],
        )
}

/// `listEntitlements` (beta, v1)
async fn list_entitlements<F: Fam>(
    State(state): State<AppState>,
    _caller: Caller,
    params: Params,
) -> Result<Response, ApiError> {
    let filters = F::edge().entitlement.filters();
    // `include-unsegmented`: entitlements are in no segment here, so every one is
    // unsegmented and listed either way; the value is checked all the same.
    params.flag("include-unsegmented")?;
    let mut q = params.list_query(filters, &specs::LIST_ENTITLEMENTS_SORTERS, 250)?;
    if F::edge().entitlement_search_after {
        let after = search_after(params.get("searchAfter"), &q.sort, filters)?;
        q.filter = match (q.filter.take(), after) {
            (Some(f), Some(a)) => Some(Filter::And(vec![f, a])),
            (f, a) => f.or(a),
        };
    }
    let page = state.store.list_entitlements(&q).await?;
    Ok(list_response(&page.items, page.total, |e| {
        docs::entitlement(e, F::edge().entitlement)
    }))
}

/// `getEntitlement` (beta, v1)
async fn get_entitlement<F: Fam>(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let e = state.store.get_entitlement(&id).await?;
    Ok(axum::Json(docs::entitlement(&e, F::edge().entitlement)).into_response())
}

/// An entitlement after a patch: the fields `patchEntitlement` writes.
#[derive(Deserialize)]
struct PatchedEntitlement {
    name: Option<String>,
    description: Option<String>,
    privileged: Option<bool>,
    requestable: Option<bool>,
    owner: Option<RefInput>,
}

/// `patchEntitlement` (beta, v1): RFC 6902 on name, description, requestable, owner,
/// and on beta `privileged`; 200 with the entitlement. The owner is an existing
/// `IDENTITY`; a name sent with it must be that identity's. The spec's other patchable
/// fields (`segments`, `manuallyUpdatedFields`, v1 `privilegeOverride`) are not kept
/// by accessd, so a patch of them is refused (400) rather than dropped.
async fn patch_entitlement<F: Fam>(
    State(state): State<AppState>,
    _caller: Caller,
    Path(id): Path<String>,
    OptionalJson(ops): OptionalJson<Vec<Value>>,
) -> Result<Response, ApiError> {
    let current = state.store.get_entitlement(&id).await?;
    // The body is optional in the spec: none is a patch of no operations, which
    // changes nothing and answers the entitlement as it is.
    let Some(ops) = ops else {
        return Ok(axum::Json(docs::entitlement(&current, F::edge().entitlement)).into_response());
    };
    let patchable = F::edge().entitlement.patchable();
    let mut doc = json!({
        "name": current.name,
        "description": current.description,
        "privileged": current.privileged,
        "requestable": current.requestable,
        "owner": current.owner.as_ref().map(|o| json!({"type": "IDENTITY", "id": o.id, "name": o.name})),
    });
    patch::apply(&mut doc, &ops, patchable, &[])?;
    let patched: PatchedEntitlement = patch::read_patched(doc, "entitlement")?;
    let owner_id = match patched.owner {
        None => None,
        Some(owner) => {
            if let Some(kind) = owner.ref_type.as_deref().filter(|k| *k != "IDENTITY") {
                return Err(ApiError::bad_request(format!(
                    "owner.type '{kind}' is not valid: the owner of an entitlement is an IDENTITY."
                )));
            }
            let owner_id = owner
                .id
                .ok_or_else(|| ApiError::bad_request("owner.id is required."))?;
            let identity = state.store.get_identity(&owner_id).await.map_err(|_| {
                ApiError::bad_request(format!("owner '{owner_id}' is not an existing identity."))
            })?;
            if owner.name.as_ref().is_some_and(|n| *n != identity.name) {
                return Err(ApiError::bad_request(format!(
                    "owner.name does not match the name of identity '{owner_id}'."
                )));
            }
            Some(owner_id)
        }
    };
    let change = EntitlementChange {
        name: Name::parse(patched.name, "name")?.into_string(),
        description: patched.description,
        privileged: patched.privileged.unwrap_or(current.privileged),
        requestable: patched.requestable.unwrap_or(current.requestable),
        owner_id,
    };
    let e = state
        .store
        .update_entitlement(&id, &change, state.clock.now())
        .await?;
    Ok(axum::Json(docs::entitlement(&e, F::edge().entitlement)).into_response())
}
