//! The store's traits, one per concern; [`Store`](super::Store) is their sum. Each is
//! implemented in one file of `store::sql`, beside its SQL.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::db::ChangeFeed;
use super::export::TenantExport;
use super::{
    ApiClient, DeleteTarget, FaultRuleRow, ListQuery, ProfileView, SigningKeyRow, SourceAppView,
    StoreResult, TaskView,
};
use crate::domain::access_profile::{AccessProfileDraft, RefFacts};
use crate::domain::model::*;
use crate::domain::scope::Scope;
use crate::domain::segment::{Segment, SegmentDraft, SegmentRefFacts, SegmentView};
use crate::domain::task::{CompletionStatus, ItemResult, TaskRecord, TaskState, TaskUpdate};
use crate::domain::usage::Usage;
use crate::domain::ClockSetting;

/// Access profiles, who uses them, and deleting one (CONTRACT §2, §3).
///
/// Every method that reads or writes a profile for a caller takes the caller's
/// `scope` (all sources, or a sub-admin's) and enforces it: a profile outside it is
/// `OutsideScope` (403), and lists leave it out.
#[async_trait]
pub trait AccessProfileStore: Send + Sync {
    async fn resolve_access_profile_refs(
        &self,
        draft: &AccessProfileDraft,
    ) -> StoreResult<RefFacts>;
    /// Creates a profile on a source inside `scope`.
    async fn insert_access_profile(
        &self,
        scope: &Scope,
        draft: &AccessProfileDraft,
        now: DateTime<Utc>,
    ) -> StoreResult<AccessProfile>;
    /// Rewrites a profile inside `scope`; its new source must be inside it too.
    async fn update_access_profile(
        &self,
        scope: &Scope,
        id: &str,
        draft: &AccessProfileDraft,
        now: DateTime<Utc>,
    ) -> StoreResult<AccessProfile>;
    /// The profile with its entitlements and segments, in one call; a profile unchanged
    /// since an earlier read is that same shared value.
    async fn get_access_profile(
        &self,
        scope: &Scope,
        id: &str,
    ) -> StoreResult<std::sync::Arc<SharedProfile>>;
    /// Access profiles inside `scope` and `view` (segments) matching `q`; a profile
    /// unchanged since an earlier list read it is that same shared value.
    async fn list_access_profiles(
        &self,
        scope: &Scope,
        view: &ProfileView,
        q: &ListQuery,
    ) -> StoreResult<Page<std::sync::Arc<SharedProfile>>>;
    /// The entitlements of a profile inside `scope`.
    async fn list_access_profile_entitlements(
        &self,
        scope: &Scope,
        id: &str,
        q: &ListQuery,
    ) -> StoreResult<Page<Entitlement>>;
    /// The access profiles among `ids` that exist, with their names.
    async fn existing_access_profiles(&self, ids: &[String]) -> StoreResult<Vec<NamedRef>>;
    /// What a bulk delete decides from (CONTRACT §3.2), read from one snapshot: the
    /// profiles among `ids` that exist (with their names), and everything that uses
    /// them (one indexed query per usage kind, never a scan of all roles).
    /// `OutsideScopeIds` names those outside `scope`.
    async fn bulk_delete_facts(
        &self,
        scope: &Scope,
        ids: &[String],
    ) -> StoreResult<(Vec<NamedRef>, Vec<Usage>)>;
    /// Sets `requestable` of each `(id, requestable)` in one transaction, all inside
    /// `scope` (`OutsideScopeIds` names those outside it, nothing changed); returns
    /// the ids that exist (and were written).
    async fn update_access_profiles_requestable(
        &self,
        scope: &Scope,
        items: &[(String, bool)],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<String>>;
    /// Deletes one access profile inside `scope` unless something uses it (`InUse`,
    /// nothing changed), the check and the delete in one transaction; `record`
    /// (beta's task) is written in that same transaction. `NotFound` for an unknown id.
    async fn delete_access_profile(
        &self,
        scope: &Scope,
        id: &str,
        record: Option<&TaskRecord>,
    ) -> StoreResult<ItemResult>;
}

/// Roles and their links to access profiles and entitlements.
///
/// A role is inside a caller's `scope` when all its access profiles are (a
/// ROLE_SUBADMIN acts only on roles built from its sources). Methods that act for a
/// caller enforce it: `OutsideScopeIds` names the profiles outside it.
#[async_trait]
pub trait RoleStore: Send + Sync {
    async fn resolve_role_refs(&self, draft: &RoleDraft) -> StoreResult<RoleRefFacts>;
    /// Creates a role whose profiles are inside `scope`.
    async fn insert_role(
        &self,
        scope: &Scope,
        draft: &RoleDraft,
        now: DateTime<Utc>,
    ) -> StoreResult<Role>;
    /// Rewrites a role inside `scope`; its new profiles must be inside it too.
    async fn update_role(
        &self,
        scope: &Scope,
        id: &str,
        draft: &RoleDraft,
        now: DateTime<Utc>,
    ) -> StoreResult<Role>;
    async fn get_role(&self, scope: &Scope, id: &str) -> StoreResult<Role>;
    /// Roles inside `scope` and `view` (segments; `None` = all) matching `q`.
    async fn list_roles(
        &self,
        scope: &Scope,
        view: Option<&SegmentView>,
        q: &ListQuery,
    ) -> StoreResult<Page<Role>>;
    /// Deletes one role inside `scope` (its links go with it); `NotFound` when there
    /// is none.
    async fn delete_role(&self, scope: &Scope, id: &str) -> StoreResult<()>;
    /// The ids among `ids` that name existing roles, all of them inside `scope`
    /// (checked in one query over all their profiles).
    async fn existing_role_ids(&self, scope: &Scope, ids: &[String]) -> StoreResult<Vec<String>>;
}

/// Source apps and the access profiles they hold (docs/source-apps.md).
#[async_trait]
pub trait SourceAppStore: Send + Sync {
    /// The owner, account source and access profiles (with their sources) a draft names.
    async fn resolve_source_app_refs(
        &self,
        draft: &SourceAppDraft,
    ) -> StoreResult<SourceAppRefFacts>;
    /// Creates an app with the next numeric id.
    async fn insert_source_app(
        &self,
        draft: &SourceAppDraft,
        now: DateTime<Utc>,
    ) -> StoreResult<SourceApp>;
    async fn get_source_app(&self, id: &str) -> StoreResult<SourceApp>;
    async fn list_source_apps(
        &self,
        view: SourceAppView,
        q: &ListQuery,
    ) -> StoreResult<Page<SourceApp>>;
    /// Writes every `(app id, draft)` in one transaction: all or nothing. `NotFound`
    /// names the first unknown app. A profile deleted or moved to another source since
    /// the draft was checked fails the database's references (`MissingReference`).
    async fn update_source_apps(
        &self,
        updates: &[(String, SourceAppDraft)],
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// The ids among `ids` that name existing apps.
    async fn existing_source_app_ids(&self, ids: &[String]) -> StoreResult<Vec<String>>;
    /// Deletes an app (not its profiles) and returns it as it was.
    async fn delete_source_app(&self, id: &str) -> StoreResult<SourceApp>;
    /// The app's access profiles, in its order (`NotFound` for an unknown app).
    async fn list_source_app_access_profiles(
        &self,
        app_id: &str,
        q: &ListQuery,
    ) -> StoreResult<Page<AppAccessProfile>>;
    /// Removes `ids` from the app, in one transaction, if it holds every one of them;
    /// otherwise removes nothing. Returns the ids it does not hold.
    async fn remove_source_app_access_profiles(
        &self,
        app_id: &str,
        ids: &[String],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<String>>;
}

/// Identity profiles and their lifecycle states. Every lifecycle-state method answers
/// `NotFound` for an unknown identity profile.
#[async_trait]
pub trait LifecycleStateStore: Send + Sync {
    async fn insert_identity_profile(
        &self,
        profile: &NewIdentityProfile,
        now: DateTime<Utc>,
    ) -> StoreResult<IdentityProfile>;
    async fn get_identity_profile(&self, id: &str) -> StoreResult<IdentityProfile>;
    async fn insert_lifecycle_state(
        &self,
        identity_profile_id: &str,
        draft: &LifecycleStateDraft,
        now: DateTime<Utc>,
    ) -> StoreResult<LifecycleState>;
    async fn update_lifecycle_state(
        &self,
        identity_profile_id: &str,
        id: &str,
        draft: &LifecycleStateDraft,
        now: DateTime<Utc>,
    ) -> StoreResult<LifecycleState>;
    async fn get_lifecycle_state(
        &self,
        identity_profile_id: &str,
        id: &str,
    ) -> StoreResult<LifecycleState>;
    async fn list_lifecycle_states(
        &self,
        identity_profile_id: &str,
        q: &ListQuery,
    ) -> StoreResult<Page<LifecycleState>>;
    /// Deletes one lifecycle state and returns it as it was; `NotFound` when there is none.
    async fn delete_lifecycle_state(
        &self,
        identity_profile_id: &str,
        id: &str,
    ) -> StoreResult<LifecycleState>;
}

/// Segments; a profile's segments are written with the profile.
#[async_trait]
pub trait SegmentStore: Send + Sync {
    async fn resolve_segment_refs(&self, draft: &SegmentDraft) -> StoreResult<SegmentRefFacts>;
    async fn insert_segment(
        &self,
        draft: &SegmentDraft,
        now: DateTime<Utc>,
    ) -> StoreResult<Segment>;
    async fn update_segment(
        &self,
        id: &str,
        draft: &SegmentDraft,
        now: DateTime<Utc>,
    ) -> StoreResult<Segment>;
    async fn get_segment(&self, id: &str) -> StoreResult<Segment>;
    async fn list_segments(&self, q: &ListQuery) -> StoreResult<Page<Segment>>;
    /// Deletes a segment; it leaves every profile in it (`ON DELETE CASCADE`).
    /// `NotFound` when there is none.
    async fn delete_segment(&self, id: &str) -> StoreResult<()>;
}

/// The durable task table and the steps of delete tasks (CONTRACT §4).
#[async_trait]
pub trait TaskStore: Send + Sync {
    async fn insert_task(&self, task: &TaskRecord) -> StoreResult<()>;
    async fn get_task(&self, id: &str) -> StoreResult<TaskRecord>;
    /// Tasks matching `fixed` (e.g. only unfinished ones) and the client's query.
    /// Tasks created at or after `view.since` in `view.status`, matching `q`.
    async fn list_tasks(&self, view: &TaskView, q: &ListQuery) -> StoreResult<Page<TaskRecord>>;
    /// A client marks a task complete (`updateTaskStatus`): `completed` and
    /// `completionStatus` in one write. An unfinished task's runner loses its claim.
    async fn complete_task_by_client(
        &self,
        id: &str,
        status: CompletionStatus,
        completed: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<TaskRecord>;
    /// Claims the oldest runnable task for `worker` until `claim_until`: a pending one,
    /// or a running one whose claim expired (its runner died). A task claimed
    /// `MAX_ATTEMPTS` times is finished as `ERROR` instead.
    async fn claim_task(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        claim_until: DateTime<Utc>,
    ) -> StoreResult<Option<TaskRecord>>;
    /// One step of a delete task, in one transaction: deletes the task's next chunk of
    /// ids (profiles are re-checked for usages and kept if used), then writes its
    /// progress. `None` when `worker` no longer holds the task (nothing is written).
    async fn run_delete_step(
        &self,
        task: &TaskRecord,
        worker: &str,
        target: DeleteTarget,
        now: DateTime<Utc>,
        claim_until: DateTime<Utc>,
    ) -> StoreResult<Option<TaskRecord>>;
    /// Writes `update` to a task `worker` holds; false if it no longer holds it.
    async fn update_claimed_task(
        &self,
        id: &str,
        worker: &str,
        update: &TaskUpdate,
        now: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Gives up `worker`'s claim on an unfinished task so any runner may take it now
    /// (graceful shutdown); the attempt does not count.
    async fn release_task(&self, id: &str, worker: &str) -> StoreResult<()>;
    /// Deletes finished tasks completed before `before` (retention).
    async fn purge_tasks(&self, before: DateTime<Utc>) -> StoreResult<u64>;
    async fn count_unfinished_tasks(&self) -> StoreResult<i64>;
    /// How many tasks are in each state and, once finished, each completion status
    /// (`GET /metrics`), in one query; combinations without a task are left out.
    async fn count_tasks_by_state(
        &self,
    ) -> StoreResult<Vec<(TaskState, Option<CompletionStatus>, i64)>>;
}

/// What the tenant is made of outside the access model: identities, governance groups,
/// sources and their entitlements.
#[async_trait]
pub trait DirectoryStore: Send + Sync {
    // -- identities
    async fn count_identities(&self) -> StoreResult<i64>;
    async fn insert_identity(&self, identity: &Identity) -> StoreResult<()>;
    async fn get_identity(&self, id: &str) -> StoreResult<Identity>;
    async fn find_identity_by_alias(&self, alias: &str) -> StoreResult<Option<Identity>>;
    async fn list_identities(&self, q: &ListQuery) -> StoreResult<Page<Identity>>;

    // -- governance groups
    async fn insert_governance_group(
        &self,
        group: &NewGovernanceGroup,
        now: DateTime<Utc>,
    ) -> StoreResult<GovernanceGroup>;
    async fn get_governance_group(&self, id: &str) -> StoreResult<GovernanceGroup>;
    async fn list_governance_groups(&self, q: &ListQuery) -> StoreResult<Page<GovernanceGroup>>;
    /// Adds the identities to the group in one transaction; returns those that were not
    /// members already, in the order given.
    async fn add_group_members(
        &self,
        group_id: &str,
        identity_ids: &[String],
        now: DateTime<Utc>,
    ) -> StoreResult<Vec<String>>;
    async fn list_group_members(
        &self,
        group_id: &str,
        q: &ListQuery,
    ) -> StoreResult<Page<Identity>>;

    // -- sources and entitlements
    async fn insert_source(&self, source: &NewSource, now: DateTime<Utc>) -> StoreResult<Source>;
    /// A source inside `scope` (a sub-admin administers only its sources).
    async fn get_source(&self, scope: &Scope, id: &str) -> StoreResult<Source>;
    /// Sources inside `scope` matching `q`.
    async fn list_sources(&self, scope: &Scope, q: &ListQuery) -> StoreResult<Page<Source>>;
    /// The sources whose management workgroup has `identity_id` as a member: what a
    /// sub-admin administers.
    /// Rewrites a source inside `scope` (its numeric id and `created` stay).
    async fn update_source(
        &self,
        scope: &Scope,
        id: &str,
        source: &NewSource,
        now: DateTime<Utc>,
    ) -> StoreResult<Source>;
    /// Deletes a source inside `scope` with its entitlements, unless anything else
    /// refers to it or to one of its entitlements (`InUse`, nothing changed); `record`
    /// (the finished task `deleteSource` answers with) is written in the same
    /// transaction.
    async fn delete_source(
        &self,
        scope: &Scope,
        id: &str,
        record: &TaskRecord,
    ) -> StoreResult<Source>;
    /// Rewrites a governance group's name, description and owner.
    async fn update_governance_group(
        &self,
        id: &str,
        group: &NewGovernanceGroup,
        now: DateTime<Utc>,
    ) -> StoreResult<GovernanceGroup>;
    /// Deletes a governance group with its memberships, unless a source names it as
    /// its management workgroup (`InUse`, nothing changed).
    async fn delete_governance_group(&self, id: &str) -> StoreResult<()>;
    /// Removes `identity_ids` from a group's members, in one transaction; returns
    /// those that were members (and are no longer).
    async fn remove_group_members(
        &self,
        group_id: &str,
        identity_ids: &[String],
    ) -> StoreResult<Vec<String>>;
    /// Deletes an identity (its memberships and personal access tokens go with it),
    /// unless anything else refers to it (`InUse`, nothing changed).
    async fn delete_identity(&self, id: &str) -> StoreResult<()>;
    async fn administered_source_ids(&self, identity_id: &str) -> StoreResult<Vec<String>>;
    async fn insert_entitlement(&self, e: &Entitlement) -> StoreResult<()>;
    async fn get_entitlement(&self, id: &str) -> StoreResult<Entitlement>;
    /// Rewrites an entitlement's name, description, privilege, requestability and
    /// owner.
    async fn update_entitlement(
        &self,
        id: &str,
        change: &EntitlementChange,
        now: DateTime<Utc>,
    ) -> StoreResult<Entitlement>;
    async fn list_entitlements(&self, q: &ListQuery) -> StoreResult<Page<Entitlement>>;
}

/// The tenant itself: health, metadata, signing keys, API clients, shared rate limits,
/// and the whole tenant as data.
#[async_trait]
pub trait TenantStore: Send + Sync {
    /// Checks the database answers (`GET /health`).
    async fn ping(&self) -> StoreResult<()>;
    /// Checks the database can make a write durable (`GET /health/ready`): stores a new
    /// id under the meta key `write_probe` in a write transaction of its own. The value
    /// changes at every probe, so the commit writes a page (SQLite skips a row
    /// rewritten unchanged).
    async fn write_probe(&self) -> StoreResult<()>;
    /// Leaves the database complete in its own files at a clean shutdown, once nothing
    /// writes any more ([`crate::store::db::Database::close`]).
    async fn close(&self) -> StoreResult<()>;
    /// The database's connections now (`GET /metrics`).
    fn pool_stats(&self) -> super::db::PoolStats;

    // -- rate limits shared through the database
    /// One request of `client_id` against `bucket` at `now_us` (µs since the epoch), by
    /// GCRA with emission interval `t_us` and burst tolerance `tau_us`, atomically:
    /// `None` if allowed (and counted), else the µs until it would be.
    async fn rate_limit_take(
        &self,
        client_id: &str,
        bucket: &str,
        now_us: i64,
        t_us: i64,
        tau_us: i64,
    ) -> StoreResult<Option<i64>>;
    /// Drops rows whose budget is full again at `now_us`; returns how many.
    async fn rate_limit_purge(&self, now_us: i64) -> StoreResult<u64>;

    /// Empties the tenant in one transaction: every object and task goes; the signing
    /// keys, the metadata, the API clients holding `keep_scope` and their identities
    /// stay (the admin API's reset, which the caller's token survives).
    async fn reset_tenant(&self, keep_scope: &str) -> StoreResult<()>;

    /// What [`TenantStore::reset_tenant`] keeps, as a fixture sees it: the clients
    /// holding `keep_scope` (their ids) and their identities.
    async fn fixture_kept(&self, keep_scope: &str) -> StoreResult<crate::fixture::Kept>;
    /// The tenant as a fixture plan, from one consistent snapshot (`GET
    /// /_accessd/fixture`): every object but the tasks.
    async fn fixture_plan(&self) -> StoreResult<crate::fixture::Plan>;
    /// [`TenantStore::reset_tenant`] and the load of `plan`, in one transaction: a
    /// plan that cannot be written leaves the tenant as it was. A planned identity
    /// that the reset kept is updated in place.
    async fn replace_tenant(
        &self,
        keep_scope: &str,
        plan: &crate::fixture::Plan,
    ) -> StoreResult<()>;

    /// Every table's rows, from one consistent snapshot (`accessd export`).
    async fn export_tenant(&self) -> StoreResult<TenantExport>;
    /// Writes an export into this empty, migrated database in one transaction; returns
    /// the rows written. Refuses a non-empty database or another schema version.
    async fn import_tenant(&self, export: &TenantExport) -> StoreResult<u64>;

    // -- tenant metadata, keys, clients
    /// Stores `value` under `key` unless a value is there already; returns the stored one.
    async fn meta_get_or_put(&self, key: &str, value: &str) -> StoreResult<String>;
    async fn signing_keys(&self) -> StoreResult<Vec<SigningKeyRow>>;
    async fn insert_signing_key(&self, key: &SigningKeyRow) -> StoreResult<()>;
    /// Inserts `key` only if the tenant has no key yet; true if it did.
    async fn insert_first_signing_key(&self, key: &SigningKeyRow) -> StoreResult<bool>;
    /// Marks every active key but `keep` inactive; returns how many it retired.
    async fn retire_signing_keys(&self, keep: &str) -> StoreResult<u64>;
    /// Whether key `kid` is stored and active (not retired).
    async fn signing_key_active(&self, kid: &str) -> StoreResult<bool>;
    async fn get_client(&self, client_id: &str) -> StoreResult<Option<ApiClient>>;
    /// Creates the client, or replaces its secret, identity and scopes.
    async fn upsert_client(&self, client: &ApiClient) -> StoreResult<()>;
}

/// The admin API's controls kept in the database (fault rules, the clock): shared by
/// the instances on it, announced to them when they change, kept over a restart.
#[async_trait]
pub trait ControlStore: Send + Sync {
    /// Every fault rule, in the order they are matched.
    async fn fault_rules(&self) -> StoreResult<Vec<FaultRuleRow>>;
    async fn insert_fault_rule(&self, rule: &FaultRuleRow) -> StoreResult<()>;
    /// Removes rule `id`, or every rule when `None`; returns how many went.
    async fn delete_fault_rules(&self, id: Option<&str>) -> StoreResult<u64>;
    /// Counts one firing of rule `id`, atomically, if it may still fire: the rule as it
    /// is then, or `None` when it is gone (removed, or its `times` used up). A rule
    /// whose last firing this was is removed.
    async fn fire_fault_rule(&self, id: &str) -> StoreResult<Option<FaultRuleRow>>;
    /// The shared clock's setting and its version (0: never set; then `None`).
    async fn clock_setting(&self) -> StoreResult<(Option<ClockSetting>, i64)>;
    /// Replaces the clock's setting if it is still at `version`: the new version, or,
    /// when another change came first, the setting and version it left, as a write
    /// sees them (what the next attempt is to be made on).
    async fn replace_clock_setting(
        &self,
        version: i64,
        setting: &ClockSetting,
    ) -> StoreResult<Result<i64, (Option<ClockSetting>, i64)>>;
    /// Announcements of changes to the controls by any instance (PostgreSQL); `None`
    /// where this instance is the only one (SQLite).
    async fn control_changes(&self) -> StoreResult<Option<Box<dyn ChangeFeed>>>;
}
