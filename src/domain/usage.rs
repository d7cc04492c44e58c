//! Who uses an access profile (CONTRACT §2), and the bulk-delete plan built from it
//! (CONTRACT §3.2). Pure: the store answers "which usages exist for these ids" with one
//! indexed query per kind; everything decided from those facts lives here.

use std::collections::{BTreeMap, HashSet};

use serde::Deserialize;
use serde_json::{json, Value};

use super::model::NamedRef;
use super::{invalid, DomainError, DomainResult};

/// "1 to 50 ids" (CONTRACT §3.2).
pub const MAX_BULK_DELETE: usize = 50;

/// The kinds of object that block an access profile's deletion, as the `usedBy[].type`
/// DTO type of the spec names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum UsageKind {
    Role,
    LifecycleState,
    Application,
}

impl UsageKind {
    pub fn dto_type(self) -> &'static str {
        match self {
            UsageKind::Role => "ROLE",
            UsageKind::LifecycleState => "LIFECYCLE_STATE",
            UsageKind::Application => "APPLICATION",
        }
    }
}

/// One object that uses one access profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Usage {
    pub access_profile_id: String,
    pub kind: UsageKind,
    pub id: String,
    pub name: String,
}

/// The usages of one profile, as the bulk-delete answer's `inUse` item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InUse {
    pub access_profile_id: String,
    pub used_by: Vec<Usage>,
}

impl InUse {
    pub fn to_json(&self) -> Value {
        json!({
            "accessProfileId": self.access_profile_id,
            "usedBy": self.used_by.iter().map(|u| json!({
                "type": u.kind.dto_type(),
                "id": u.id,
                "name": u.name,
            })).collect::<Vec<_>>(),
        })
    }
}

/// Groups usages by access profile, in the order of `ids`; profiles without usages
/// are left out. Within a profile: roles, then lifecycle states, then apps, by name.
pub fn group_usages(ids: &[String], mut usages: Vec<Usage>) -> Vec<InUse> {
    usages.sort_by(|a, b| (a.kind, &a.name, &a.id).cmp(&(b.kind, &b.name, &b.id)));
    let mut by_profile: BTreeMap<&str, Vec<Usage>> = BTreeMap::new();
    for u in &usages {
        by_profile
            .entry(u.access_profile_id.as_str())
            .or_default()
            .push(u.clone());
    }
    ids.iter()
        .filter_map(|id| {
            by_profile.get(id.as_str()).map(|used_by| InUse {
                access_profile_id: id.clone(),
                used_by: used_by.clone(),
            })
        })
        .collect()
}

/// The single-delete message of CONTRACT §3.1.
pub fn in_use_message(profile_name: &str) -> String {
    format!("The \"{profile_name}\" access profile can't be deleted because it's in use.")
}

/// `POST …/access-profiles/bulk-delete` as sent. Unknown fields are ignored.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkDeleteInput {
    pub access_profile_ids: Option<Vec<String>>,
    pub best_effort_only: Option<bool>,
}

/// A bulk-delete request that has the right shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BulkDeleteRequest {
    pub ids: Vec<String>,
    pub best_effort_only: bool,
}

impl TryFrom<BulkDeleteInput> for BulkDeleteRequest {
    type Error = DomainError;

    fn try_from(input: BulkDeleteInput) -> DomainResult<Self> {
        let Some(ids) = input.access_profile_ids else {
            return invalid("accessProfileIds is required.");
        };
        let ids = checked_id_list(ids, "accessProfileIds")?;
        Ok(BulkDeleteRequest {
            ids,
            // "A missing or null bestEffortOnly means false" (CONTRACT §3.2).
            best_effort_only: input.best_effort_only.unwrap_or(false),
        })
    }
}

/// 1 to 50 non-empty ids without duplicates (bulk deletes of profiles and of roles).
pub fn checked_id_list(ids: Vec<String>, field: &str) -> DomainResult<Vec<String>> {
    if ids.is_empty() {
        return invalid(format!("{field} must name at least one id."));
    }
    if ids.len() > MAX_BULK_DELETE {
        return invalid(format!(
            "{field} names {} ids; at most {MAX_BULK_DELETE} are allowed.",
            ids.len()
        ));
    }
    if ids.iter().any(|id| id.trim().is_empty()) {
        return invalid(format!("{field} must not contain empty ids."));
    }
    let mut seen = HashSet::new();
    let dups: Vec<&str> = ids
        .iter()
        .filter(|id| !seen.insert(id.as_str()))
        .map(String::as_str)
        .collect();
    if !dups.is_empty() {
        return invalid(format!(
            "{field} contains duplicate ids: {}.",
            dups.join(", ")
        ));
    }
    Ok(ids)
}

/// What the request answers and what the task will do (CONTRACT §3.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BulkDeletePlan {
    /// Ids the task deletes; empty means no task (200).
    pub pending: Vec<String>,
    pub in_use: Vec<InUse>,
    /// Ids that name no profile, skipped (only with `bestEffortOnly`).
    pub unknown: Vec<String>,
}

impl BulkDeletePlan {
    /// 202 when something will be deleted, else 200.
    pub fn runs_task(&self) -> bool {
        !self.pending.is_empty()
    }
}

/// Decides a bulk delete from the facts: which requested profiles exist and who uses
/// them. Unknown ids reject the request unless `bestEffortOnly`; any usage without
/// `bestEffortOnly` means nothing is deleted.
pub fn plan_bulk_delete(
    req: &BulkDeleteRequest,
    existing: &[NamedRef],
    usages: Vec<Usage>,
) -> DomainResult<BulkDeletePlan> {
    let known: HashSet<&str> = existing.iter().map(|r| r.id.as_str()).collect();
    let unknown: Vec<String> = req
        .ids
        .iter()
        .filter(|id| !known.contains(id.as_str()))
        .cloned()
        .collect();
    if !unknown.is_empty() && !req.best_effort_only {
        return invalid(format!(
            "accessProfileIds names access profiles that do not exist: {}.",
            unknown.join(", ")
        ));
    }
    let in_use = group_usages(&req.ids, usages);
    let used: HashSet<&str> = in_use
        .iter()
        .map(|u| u.access_profile_id.as_str())
        .collect();
    let pending = if !req.best_effort_only && !in_use.is_empty() {
        Vec::new()
    } else {
        req.ids
            .iter()
            .filter(|id| known.contains(id.as_str()) && !used.contains(id.as_str()))
            .cloned()
            .collect()
    };
    Ok(BulkDeletePlan {
        pending,
        in_use,
        unknown,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn refs(v: &[&str]) -> Vec<NamedRef> {
        v.iter()
            .map(|s| NamedRef {
                id: s.to_string(),
                name: format!("AP {s}"),
            })
            .collect()
    }

    fn role_use(ap: &str, role: &str) -> Usage {
        Usage {
            access_profile_id: ap.into(),
            kind: UsageKind::Role,
            id: role.into(),
            name: format!("Role {role}"),
        }
    }

    fn req(v: &[&str], best: bool) -> BulkDeleteRequest {
        BulkDeleteRequest {
            ids: ids(v),
            best_effort_only: best,
        }
    }

    #[test]
    fn a_missing_or_null_best_effort_flag_means_false() {
        let r = BulkDeleteRequest::try_from(BulkDeleteInput {
            access_profile_ids: Some(ids(&["a"])),
            best_effort_only: None,
        })
        .unwrap();
        assert!(!r.best_effort_only);
    }

    #[test]
    fn id_lists_must_hold_one_to_fifty_distinct_ids() {
        assert!(checked_id_list(vec![], "x").is_err());
        assert!(checked_id_list(ids(&["a", "b", "a"]), "x")
            .unwrap_err()
            .to_string()
            .contains("duplicate ids: a"));
        let fifty: Vec<String> = (0..50).map(|i| i.to_string()).collect();
        assert!(checked_id_list(fifty.clone(), "x").is_ok());
        let mut fifty_one = fifty;
        fifty_one.push("x".into());
        assert!(checked_id_list(fifty_one, "x").is_err());
        assert!(BulkDeleteRequest::try_from(BulkDeleteInput {
            access_profile_ids: None,
            best_effort_only: Some(true),
        })
        .is_err());
    }

    #[test]
    fn without_best_effort_any_usage_blocks_every_deletion() {
        let plan = plan_bulk_delete(
            &req(&["a", "b"], false),
            &refs(&["a", "b"]),
            vec![role_use("a", "r")],
        )
        .unwrap();
        assert!(plan.pending.is_empty());
        assert!(!plan.runs_task());
        assert_eq!(plan.in_use.len(), 1);
        assert_eq!(plan.in_use[0].access_profile_id, "a");
    }

    #[test]
    fn with_best_effort_the_unused_ones_are_deleted_and_usages_reported() {
        let plan = plan_bulk_delete(
            &req(&["a", "b"], true),
            &refs(&["a", "b"]),
            vec![role_use("a", "r")],
        )
        .unwrap();
        assert_eq!(plan.pending, ids(&["b"]));
        assert!(plan.runs_task());
        assert_eq!(plan.in_use[0].to_json()["usedBy"][0]["type"], "ROLE");
    }

    #[test]
    fn with_best_effort_and_everything_in_use_there_is_nothing_to_do() {
        let plan =
            plan_bulk_delete(&req(&["a"], true), &refs(&["a"]), vec![role_use("a", "r")]).unwrap();
        assert!(!plan.runs_task());
    }

    #[test]
    fn unknown_ids_reject_the_request_unless_best_effort() {
        let err = plan_bulk_delete(&req(&["a", "zz"], false), &refs(&["a"]), vec![]).unwrap_err();
        assert!(err.to_string().contains("zz"));
        let plan = plan_bulk_delete(&req(&["a", "zz"], true), &refs(&["a"]), vec![]).unwrap();
        assert_eq!(plan.pending, ids(&["a"]));
        assert_eq!(plan.unknown, ids(&["zz"]));
    }

    #[test]
    fn usages_are_grouped_in_request_order_with_roles_first() {
        let mut lcs = role_use("b", "l");
        lcs.kind = UsageKind::LifecycleState;
        let grouped = group_usages(
            &ids(&["b", "a"]),
            vec![role_use("a", "r1"), lcs, role_use("b", "r2")],
        );
        assert_eq!(grouped[0].access_profile_id, "b");
        assert_eq!(grouped[0].used_by[0].kind, UsageKind::Role);
        assert_eq!(grouped[0].used_by[1].kind, UsageKind::LifecycleState);
        assert_eq!(grouped[1].access_profile_id, "a");
    }
}
