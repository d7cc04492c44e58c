//! API clients: creating one (or giving it a new secret) for an identity or as an API
//! client. Secrets are stored only hashed.

use super::{hash_secret, new_secret};
use crate::store::{ApiClient, Store, StoreError, StoreResult};

/// Creates (or re-keys) a client and returns its secret, which is stored only hashed.
/// A client of an identity whose user levels are mutually exclusive (e.g.
/// SOURCE_SUBADMIN with SOURCE_ADMIN) is refused (`Refused`).
pub async fn provision_client(
    store: &dyn Store,
    client_id: Option<String>,
    secret: Option<String>,
    name: &str,
    identity_id: Option<String>,
    scopes: Vec<String>,
    now: chrono::DateTime<chrono::Utc>,
) -> StoreResult<(String, String)> {
    if let Some(id) = &identity_id {
        let identity = store.get_identity(id).await?;
        crate::domain::scope::check_user_levels(&identity.authorities)
            .map_err(|e| StoreError::Refused(e.to_string()))?;
    }
    let client_id = client_id.unwrap_or_else(crate::domain::new_id);
    let secret = secret.unwrap_or_else(new_secret);
    store
        .upsert_client(&ApiClient {
            client_id: client_id.clone(),
            secret_hash: hash_secret(&secret),
            name: name.to_string(),
            identity_id,
            scopes,
            created: now,
        })
        .await?;
    Ok((client_id, secret))
}
