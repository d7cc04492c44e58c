//! Roles in SQLite: the role row, its access-profile and entitlement links (in order).

use super::*;

impl SqliteStore {
    pub(super) async fn role_refs(&self, _d: &RoleDraft) -> StoreResult<RoleRefFacts> {
        Err(StoreError::Config("roles: not written yet".into()))
    }

    pub(super) async fn role_insert(
        &self,
        _d: &RoleDraft,
        _now: DateTime<Utc>,
    ) -> StoreResult<Role> {
        Err(StoreError::Config("roles: not written yet".into()))
    }

    pub(super) async fn role_update(
        &self,
        _id: &str,
        _d: &RoleDraft,
        _now: DateTime<Utc>,
    ) -> StoreResult<Role> {
        Err(StoreError::Config("roles: not written yet".into()))
    }

    pub(super) async fn role_get(&self, _id: &str) -> StoreResult<Role> {
        Err(StoreError::Config("roles: not written yet".into()))
    }

    pub(super) async fn role_list(&self, _q: &ListQuery) -> StoreResult<Page<Role>> {
        Err(StoreError::Config("roles: not written yet".into()))
    }

    pub(super) async fn role_delete(&self, _id: &str) -> StoreResult<()> {
        Err(StoreError::Config("roles: not written yet".into()))
    }

    pub(super) async fn role_existing_ids(&self, _ids: &[String]) -> StoreResult<Vec<String>> {
        Err(StoreError::Config("roles: not written yet".into()))
    }
}
