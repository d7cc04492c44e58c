//! The route families at the HTTP edge. A family is its spec file — which operations
//! it has, at which paths, with which rights and headers (read by `auth::rights`) —
//! plus one row of [`Edge`]: what its answers do differently over the same store and
//! the same handlers. Adding a family is data: its spec file in `spec/`, a `Family`
//! variant with its row in `auth::rights` (name, prefix, document), a line in
//! `families!` below and its [`Edge`] row.

use crate::auth::Family;
use crate::query::{specs, FilterSpec};
use crate::store::TaskStatusView;

/// A route family as a type, so one generic handler serves every family.
pub trait Fam: Send + Sync + 'static {
    const FAMILY: Family;

    /// The family's row of the edge table.
    fn edge() -> &'static Edge {
        edge(Self::FAMILY)
    }
}

/// The marker type of each family, and the routes of them all.
macro_rules! families {
    ($($marker:ident => $family:ident,)*) => {
        $(
            pub struct $marker;
            impl Fam for $marker {
                const FAMILY: Family = Family::$family;
            }
        )*

        /// Every family's routes ([`super::family`] of each).
        pub(super) fn every_family() -> super::Routes {
            super::Routes::default()$(.merge(super::family::<$marker>()))*
        }
    };
}

families! {
    V3 => V3,
    Beta => Beta,
    V1 => V1,
    V2024 => V2024,
    V2025 => V2025,
    V2026 => V2026,
}

/// What `deleteAccessProfile` answers after deleting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SingleDelete {
    /// 204, no body: what every spec file declares.
    NoContent,
    /// 202 with a `TASK_RESULT` reference to a task already `SUCCESS` (seed 001, beta
    /// only; CONTRACT §3.1).
    FinishedTask,
}

/// How an entitlement is rendered, listed and patched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntitlementShape {
    /// beta `Entitlement` (also v2024's and v2025's): `privileged` and
    /// `additionalOwners`; `privileged` is patchable.
    Privileged,
    /// v1 `entitlementv2` and v2026 `EntitlementV2`: `privilegeLevel` and `tags`; the
    /// list documents `tags` and `privilegeLevel.direct` filters.
    PrivilegeLevel,
}

impl EntitlementShape {
    /// `listEntitlements` filters.
    pub fn filters(self) -> &'static FilterSpec {
        match self {
            EntitlementShape::Privileged => &specs::LIST_ENTITLEMENTS_FILTERS,
            EntitlementShape::PrivilegeLevel => &specs::LIST_ENTITLEMENTS_V1_FILTERS,
        }
    }

    /// The fields `patchEntitlement` changes.
    pub fn patchable(self) -> &'static [&'static str] {
        match self {
            EntitlementShape::Privileged => {
                &["name", "description", "requestable", "owner", "privileged"]
            }
            EntitlementShape::PrivilegeLevel => &["name", "description", "requestable", "owner"],
        }
    }
}

/// What one family does differently at the edge, beyond its spec file.
#[derive(Debug)]
pub struct Edge {
    pub access_profile_delete: SingleDelete,
    pub entitlement: EntitlementShape,
    /// `listEntitlements` takes `searchAfter` (v2026): keyset paging by the sorters.
    pub entitlement_search_after: bool,
    /// `getTaskStatusList`: which tasks it lists ("statuses for completed tasks" in
    /// beta and v2024; "all tasks" in v1 and from v2025) and by which filters.
    pub task_list: TaskStatusView,
    pub task_filters: &'static FilterSpec,
}

/// The family's row.
pub fn edge(family: Family) -> &'static Edge {
    match family {
        Family::V3 => &V3_EDGE,
        Family::Beta => &BETA_EDGE,
        Family::V1 => &V1_EDGE,
        Family::V2024 => &V2024_EDGE,
        Family::V2025 => &V2025_EDGE,
        Family::V2026 => &V2026_EDGE,
    }
}

/// v3 has no entitlement or task operations; its row decides only the delete.
static V3_EDGE: Edge = Edge {
    access_profile_delete: SingleDelete::NoContent,
    entitlement: EntitlementShape::Privileged,
    entitlement_search_after: false,
    task_list: TaskStatusView::All,
    task_filters: &specs::GET_TASK_STATUS_LIST_V1_FILTERS,
};

static BETA_EDGE: Edge = Edge {
    access_profile_delete: SingleDelete::FinishedTask,
    entitlement: EntitlementShape::Privileged,
    entitlement_search_after: false,
    task_list: TaskStatusView::Completed,
    task_filters: &specs::GET_TASK_STATUS_LIST_FILTERS,
};

static V1_EDGE: Edge = Edge {
    access_profile_delete: SingleDelete::NoContent,
    entitlement: EntitlementShape::PrivilegeLevel,
    entitlement_search_after: false,
    task_list: TaskStatusView::All,
    task_filters: &specs::GET_TASK_STATUS_LIST_V1_FILTERS,
};

static V2024_EDGE: Edge = Edge {
    access_profile_delete: SingleDelete::NoContent,
    entitlement: EntitlementShape::Privileged,
    entitlement_search_after: false,
    task_list: TaskStatusView::Completed,
    task_filters: &specs::GET_TASK_STATUS_LIST_FILTERS,
};

static V2025_EDGE: Edge = Edge {
    access_profile_delete: SingleDelete::NoContent,
    entitlement: EntitlementShape::Privileged,
    entitlement_search_after: false,
    task_list: TaskStatusView::All,
    task_filters: &specs::GET_TASK_STATUS_LIST_V2025_FILTERS,
};

static V2026_EDGE: Edge = Edge {
    access_profile_delete: SingleDelete::NoContent,
    entitlement: EntitlementShape::PrivilegeLevel,
    entitlement_search_after: true,
    task_list: TaskStatusView::All,
    task_filters: &specs::GET_TASK_STATUS_LIST_V1_FILTERS,
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::testing::cases;

    /// The edge table picks, for each family, the filters its spec file documents (the
    /// cases are checked against the documents in `query::specs`).
    #[test]
    fn each_family_lists_by_the_filters_its_document_names() {
        let mut checked = 0;
        for family in Family::ALL {
            let row = edge(family);
            let documented = |op: &str| {
                cases()
                    .into_iter()
                    .find(|c| c.version == family.as_str() && c.operation_id == op)
                    .and_then(|c| c.filters)
            };
            let task_list = format!("getTaskStatusList{}", family.operation_suffix());
            if let Some(spec) = documented(&task_list) {
                assert!(std::ptr::eq(row.task_filters, spec), "{family:?}");
                checked += 1;
            }
            let entitlements = format!("listEntitlements{}", family.operation_suffix());
            if let Some(spec) = documented(&entitlements) {
                assert!(std::ptr::eq(row.entitlement.filters(), spec), "{family:?}");
                checked += 1;
            }
        }
        // beta, v1, v2024, v2025, v2026 have both lists; v3 neither.
        assert_eq!(checked, 10);
    }
}
