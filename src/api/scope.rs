//! `for-subadmin=<id|me>`: the view of another sub-admin, which a handler intersects
//! with its caller's scope (decided once per request by [`super::gateway::Caller`]
//! and enforced by the store). The rules are `domain::scope`.

use super::error::ApiError;
use super::gateway::Caller;
use super::AppState;
use crate::domain::scope::{is_subadmin, Scope};
use crate::store::StoreError;

/// `for-subadmin=<identity id|me>`: the view of that identity, which must hold one of
/// `kinds` (else 400, as the spec says). `None` when the parameter is absent.
pub async fn for_subadmin(
    state: &AppState,
    caller: &Caller,
    value: Option<&str>,
    kinds: &[&str],
) -> Result<Option<Scope>, ApiError> {
    let Some(value) = value.map(str::trim) else {
        return Ok(None);
    };
    let not_subadmin = || {
        ApiError::bad_request(format!(
            "for-subadmin '{value}' is not an identity with the user level {}.",
            kinds.join(" or ")
        ))
    };
    let id = match value {
        "me" => caller.identity_id().ok_or_else(not_subadmin)?,
        "" => return Err(not_subadmin()),
        id => id,
    };
    let identity = match state.store.get_identity(id).await {
        Ok(identity) => identity,
        Err(StoreError::NotFound { .. }) => return Err(not_subadmin()),
        Err(e) => return Err(e.into()),
    };
    if !is_subadmin(&identity.authorities, kinds) {
        return Err(not_subadmin());
    }
    Ok(Some(Scope::Sources(
        state.store.administered_source_ids(&identity.id).await?,
    )))
}
