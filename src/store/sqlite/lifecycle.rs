//! Identity profiles and their lifecycle states in SQLite.

use super::*;

impl SqliteStore {
    pub(super) async fn identity_profile_insert(
        &self,
        _p: &NewIdentityProfile,
        _now: DateTime<Utc>,
    ) -> StoreResult<IdentityProfile> {
        Err(StoreError::Config("lifecycle: not written yet".into()))
    }

    pub(super) async fn identity_profile_get(&self, _id: &str) -> StoreResult<IdentityProfile> {
        Err(StoreError::Config("lifecycle: not written yet".into()))
    }

    pub(super) async fn lifecycle_state_insert(
        &self,
        _profile_id: &str,
        _d: &LifecycleStateDraft,
        _now: DateTime<Utc>,
    ) -> StoreResult<LifecycleState> {
        Err(StoreError::Config("lifecycle: not written yet".into()))
    }

    pub(super) async fn lifecycle_state_update(
        &self,
        _profile_id: &str,
        _id: &str,
        _d: &LifecycleStateDraft,
        _now: DateTime<Utc>,
    ) -> StoreResult<LifecycleState> {
        Err(StoreError::Config("lifecycle: not written yet".into()))
    }

    pub(super) async fn lifecycle_state_get(
        &self,
        _profile_id: &str,
        _id: &str,
    ) -> StoreResult<LifecycleState> {
        Err(StoreError::Config("lifecycle: not written yet".into()))
    }

    pub(super) async fn lifecycle_state_list(
        &self,
        _profile_id: &str,
        _q: &ListQuery,
    ) -> StoreResult<Page<LifecycleState>> {
        Err(StoreError::Config("lifecycle: not written yet".into()))
    }

    pub(super) async fn lifecycle_state_delete(
        &self,
        _profile_id: &str,
        _id: &str,
    ) -> StoreResult<LifecycleState> {
        Err(StoreError::Config("lifecycle: not written yet".into()))
    }
}
