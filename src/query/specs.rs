//! Per-endpoint allow-lists for `filters` and `sorters`, transcribed from the
//! `filters` / `sorters` parameter descriptions in `spec/*.json` (v3, beta, v1 and
//! the year-versioned v2024, v2025, v2026, which document the v3 and beta lists
//! except where noted).
//! Statics are named after the operationId in SCREAMING_SNAKE_CASE (v1
//! operationIds end in `V1`; beta and v3 share operationIds).
//!
//! Operator lists keep the order of the documentation (it shows up in error
//! messages). Operators outside the filter grammar (`ca`) are omitted.
//!
//! Fields are named by their API names only; where each is stored (and which key
//! makes an order total) is the store's business.
//!
//! Documented fields accessd does not store (they produce "... is not
//! supported by accessd yet"):
//! * listSources filters: `features` (ca, co), `category`.
//! * listSources sorters: `owner.name`, `accountCorrelationConfig.id`,
//!   `accountCorrelationConfig.name`, `managerCorrelationRule.type`,
//!   `managerCorrelationRule.id`, `managerCorrelationRule.name`.
//! * listEntitlementsV1 filters: `tags`, `privilegeLevel.direct` (not in beta).
//!
//! Version differences:
//! * listAccessProfiles: v3, beta and v1 document the same fields and operators
//!   (v3 / v1 add "Supported composite operators are *and, or*"; beta says
//!   nothing) — identical specs, `not` rejected everywhere.
//! * listEntitlements: v1 adds `tags` and `privilegeLevel.direct`, so beta and
//!   v1 get separate specs (beta reports those as unknown fields, v1 as not
//!   implemented yet). Sorters are identical.
//! * listIdentities, listWorkgroups, listWorkgroupMembers: beta and v1 identical.
//! * listWorkgroupMembers has no `filters` parameter (sorters only) and a
//!   maximum `limit` of 50.
//! * listRoles: v3, beta and v1 document the same fields and operators (note
//!   `created` gt, ge, le but `modified` lt, ge, le) and a maximum (and default)
//!   `limit` of 50 ([`LIST_ROLES_MAX_LIMIT`]).
//! * getAccessProfileEntitlements: v3, beta and v1 identical; one spec. Its
//!   default order (no sorters) is the profile's own entitlement order
//!   (the pseudo-field `position`).
//!
//! * getTaskStatusList: beta and v2024 list finished tasks by `id`, `sourceId`,
//!   `completionStatus` (eq, in) and `type`; v2025 adds `completionStatus isnull`;
//!   v1 and v2026 add `launcher` (eq, in) too.
//! * listEntitlements: v2024 and v2025 document beta's fields, v2026 v1's.
//!
//! No endpoint documents `not`, so `allow_not` is false everywhere.

use super::check::{FieldSpec, FieldType, FilterSpec};
use super::filter::Op;
use super::paging::DEFAULT_MAX_LIMIT;
use super::sort::{Sort, SortSpec};

const fn field(name: &'static str, ty: FieldType, ops: &'static [Op]) -> FieldSpec {
    FieldSpec { name, ty, ops }
}

const NO_SORT_DEFAULT: &[Sort] = &[];

// Frequently used operator sets.
const EQ: &[Op] = &[Op::Eq];
const EQ_IN: &[Op] = &[Op::Eq, Op::In];
const EQ_SW: &[Op] = &[Op::Eq, Op::Sw];
const EQ_IN_SW: &[Op] = &[Op::Eq, Op::In, Op::Sw];
const EQ_SW_IN: &[Op] = &[Op::Eq, Op::Sw, Op::In];
const GT_LT_GE_LE: &[Op] = &[Op::Gt, Op::Lt, Op::Ge, Op::Le];

/// Maximum `limit` of every list endpoint here except workgroup members.
pub const LIST_MAX_LIMIT: i64 = DEFAULT_MAX_LIMIT;
/// Maximum (and default) `limit` of listWorkgroupMembers (beta and v1).
pub const LIST_WORKGROUP_MEMBERS_MAX_LIMIT: i64 = 50;

// ---------------------------------------------------------------------------
// Access profiles

const ACCESS_PROFILE_FILTER_FIELDS: &[FieldSpec] = &[
    field("id", FieldType::Str, EQ_IN),
    field("name", FieldType::Str, EQ_SW),
    // Documented as gt, ge, le (no lt), unlike modified.
    field("created", FieldType::DateTime, &[Op::Gt, Op::Ge, Op::Le]),
    field("modified", FieldType::DateTime, GT_LT_GE_LE),
    field("owner.id", FieldType::Str, EQ_IN),
    field("requestable", FieldType::Bool, EQ),
    field("source.id", FieldType::Str, EQ_IN),
];

const ACCESS_PROFILE_SORT_FIELDS: &[&str] = &["name", "created", "modified"];

const ACCESS_PROFILE_FILTERS: FilterSpec = FilterSpec {
    fields: ACCESS_PROFILE_FILTER_FIELDS,
    unsupported: &[],
    allow_not: false,
};
const ACCESS_PROFILE_SORTERS: SortSpec = SortSpec {
    fields: ACCESS_PROFILE_SORT_FIELDS,
    unsupported: &[],
    default: NO_SORT_DEFAULT,
};

/// `GET /v3/access-profiles` and `GET /beta/access-profiles`.
pub static LIST_ACCESS_PROFILES_FILTERS: FilterSpec = ACCESS_PROFILE_FILTERS;
/// `GET /v3/access-profiles` and `GET /beta/access-profiles`.
pub static LIST_ACCESS_PROFILES_SORTERS: SortSpec = ACCESS_PROFILE_SORTERS;

// ---------------------------------------------------------------------------
// Roles, v3, beta and v1

/// Maximum (and default) `limit` of listRoles: "for this API the maximum value for
/// limit is 50" (v3, beta and v1).
pub const LIST_ROLES_MAX_LIMIT: i64 = 50;

const ROLE_FILTER_FIELDS: &[FieldSpec] = &[
    field("id", FieldType::Str, EQ_IN),
    field("name", FieldType::Str, EQ_SW),
    field("created", FieldType::DateTime, &[Op::Gt, Op::Ge, Op::Le]),
    // Documented as lt, ge, le (no gt), unlike created.
    field("modified", FieldType::DateTime, &[Op::Lt, Op::Ge, Op::Le]),
    field("owner.id", FieldType::Str, EQ_IN),
    field("requestable", FieldType::Bool, EQ),
    field("dimensional", FieldType::Bool, EQ),
];

const ROLE_FILTERS: FilterSpec = FilterSpec {
    fields: ROLE_FILTER_FIELDS,
    unsupported: &[],
    allow_not: false,
};
const ROLE_SORTERS: SortSpec = SortSpec {
    fields: &["name", "created", "modified"],
    unsupported: &[],
    default: NO_SORT_DEFAULT,
};

/// `GET /v3/roles` and `GET /beta/roles`.
pub static LIST_ROLES_FILTERS: FilterSpec = ROLE_FILTERS;
/// `GET /v3/roles` and `GET /beta/roles`.
pub static LIST_ROLES_SORTERS: SortSpec = ROLE_SORTERS;

// ---------------------------------------------------------------------------
// Sources, v3 only

const SOURCE_ALL_CMP: &[Op] = &[
    Op::Eq,
    Op::In,
    Op::Ge,
    Op::Gt,
    Op::Le,
    Op::Lt,
    Op::Ne,
    Op::IsNull,
    Op::Sw,
];
const SOURCE_DATE_OPS: &[Op] = &[
    Op::Eq,
    Op::Ge,
    Op::Gt,
    Op::In,
    Op::Le,
    Op::Lt,
    Op::Ne,
    Op::IsNull,
    Op::Sw,
];

/// `GET /v3/sources`.
pub static LIST_SOURCES_FILTERS: FilterSpec = FilterSpec {
    fields: &[
        field("id", FieldType::Str, SOURCE_ALL_CMP),
        field(
            "name",
            FieldType::Str,
            &[
                Op::Co,
                Op::Eq,
                Op::In,
                Op::Sw,
                Op::Ge,
                Op::Gt,
                Op::Ne,
                Op::IsNull,
            ],
        ),
        field(
            "type",
            FieldType::Str,
            &[Op::Eq, Op::In, Op::Ge, Op::Gt, Op::Ne, Op::IsNull, Op::Sw],
        ),
        field("owner.id", FieldType::Str, SOURCE_ALL_CMP),
        // `sw` on a date-time field takes a quoted string matched as a prefix of
        // the stored UTC text, e.g. created sw "2020-01".
        field("created", FieldType::DateTime, SOURCE_DATE_OPS),
        field("modified", FieldType::DateTime, SOURCE_DATE_OPS),
        field("managementWorkgroup.id", FieldType::Str, SOURCE_DATE_OPS),
        field("description", FieldType::Str, EQ_SW),
        field(
            "authoritative",
            FieldType::Bool,
            &[Op::Eq, Op::Ne, Op::IsNull],
        ),
        field("healthy", FieldType::Bool, &[Op::IsNull]),
        field("status", FieldType::Str, SOURCE_ALL_CMP),
        field("connectionType", FieldType::Str, SOURCE_DATE_OPS),
        field(
            "connectorName",
            FieldType::Str,
            &[Op::Eq, Op::Ge, Op::Gt, Op::In, Op::Ne, Op::IsNull, Op::Sw],
        ),
    ],
    unsupported: &["features", "category"],
    allow_not: false,
};

/// `GET /v3/sources`.
pub static LIST_SOURCES_SORTERS: SortSpec = SortSpec {
    fields: &[
        "type",
        "created",
        "modified",
        "name",
        "healthy",
        "status",
        "id",
        "description",
        "owner.id",
        "authoritative",
        "managementWorkgroup.id",
        "connectorName",
        "connectionType",
    ],
    unsupported: &[
        "owner.name",
        "accountCorrelationConfig.id",
        "accountCorrelationConfig.name",
        "managerCorrelationRule.type",
        "managerCorrelationRule.id",
        "managerCorrelationRule.name",
    ],
    default: NO_SORT_DEFAULT,
};

// ---------------------------------------------------------------------------
// Entitlements, beta and v1

const ENTITLEMENT_FILTER_FIELDS: &[FieldSpec] = &[
    field("id", FieldType::Str, EQ_IN),
    field("name", FieldType::Str, EQ_IN_SW),
    field("type", FieldType::Str, EQ_IN),
    field("attribute", FieldType::Str, EQ_IN),
    field("value", FieldType::Str, EQ_IN_SW),
    field("source.id", FieldType::Str, EQ_IN),
    field("requestable", FieldType::Bool, EQ),
    field("created", FieldType::DateTime, GT_LT_GE_LE),
    field("modified", FieldType::DateTime, GT_LT_GE_LE),
    field("owner.id", FieldType::Str, EQ_IN),
];

const ENTITLEMENT_SORT_FIELDS: &[&str] = &[
    "id",
    "name",
    "created",
    "modified",
    "type",
    "attribute",
    "value",
    "source.id",
    "requestable",
];

/// `GET /beta/entitlements`.
pub static LIST_ENTITLEMENTS_FILTERS: FilterSpec = FilterSpec {
    fields: ENTITLEMENT_FILTER_FIELDS,
    unsupported: &[],
    allow_not: false,
};
const ENTITLEMENT_SORTERS: SortSpec = SortSpec {
    fields: ENTITLEMENT_SORT_FIELDS,
    unsupported: &[],
    default: NO_SORT_DEFAULT,
};
/// `GET /beta/entitlements`.
pub static LIST_ENTITLEMENTS_SORTERS: SortSpec = ENTITLEMENT_SORTERS;
/// `GET /entitlements/v1`: beta plus `tags` (eq) and `privilegeLevel.direct`
/// (eq), which accessd does not store.
pub static LIST_ENTITLEMENTS_V1_FILTERS: FilterSpec = FilterSpec {
    fields: ENTITLEMENT_FILTER_FIELDS,
    unsupported: &["tags", "privilegeLevel.direct"],
    allow_not: false,
};

// ---------------------------------------------------------------------------
// Identities

const IDENTITY_FILTER_FIELDS: &[FieldSpec] = &[
    field("id", FieldType::Str, EQ_IN),
    field("name", FieldType::Str, EQ_SW),
    field("alias", FieldType::Str, EQ_SW),
    field("firstname", FieldType::Str, EQ_SW),
    field("lastname", FieldType::Str, EQ_SW),
    field("email", FieldType::Str, EQ_SW),
    field("cloudStatus", FieldType::Str, EQ),
    field("processingState", FieldType::Str, EQ),
    field("correlated", FieldType::Bool, EQ),
    field("protected", FieldType::Bool, EQ),
];

const IDENTITY_SORT_FIELDS: &[&str] = &["name", "alias", "cloudStatus"];

const IDENTITY_FILTERS: FilterSpec = FilterSpec {
    fields: IDENTITY_FILTER_FIELDS,
    unsupported: &[],
    allow_not: false,
};
const IDENTITY_SORTERS: SortSpec = SortSpec {
    fields: IDENTITY_SORT_FIELDS,
    unsupported: &[],
    default: NO_SORT_DEFAULT,
};

/// `GET /beta/identities`.
pub static LIST_IDENTITIES_FILTERS: FilterSpec = IDENTITY_FILTERS;
/// `GET /beta/identities`.
pub static LIST_IDENTITIES_SORTERS: SortSpec = IDENTITY_SORTERS;

/// `GET /v3/public-identities`.
pub static GET_PUBLIC_IDENTITIES_FILTERS: FilterSpec = FilterSpec {
    fields: &[
        field("id", FieldType::Str, EQ_IN),
        field("alias", FieldType::Str, EQ_SW),
        field("email", FieldType::Str, EQ_SW),
        field("firstname", FieldType::Str, EQ_SW),
        field("lastname", FieldType::Str, EQ_SW),
    ],
    unsupported: &[],
    allow_not: false,
};
/// `GET /v3/public-identities`.
pub static GET_PUBLIC_IDENTITIES_SORTERS: SortSpec = SortSpec {
    fields: &["name"],
    unsupported: &[],
    default: NO_SORT_DEFAULT,
};

// ---------------------------------------------------------------------------
// Workgroups, beta and v1

const WORKGROUP_FILTER_FIELDS: &[FieldSpec] = &[
    field("id", FieldType::Str, EQ_IN_SW),
    field("name", FieldType::Str, EQ_SW_IN),
    // Multi-valued: matches a group with any member of that id.
    field("memberships.identityId", FieldType::Str, EQ_IN),
];

const WORKGROUP_SORT_FIELDS: &[&str] = &["name", "created", "modified", "id", "description"];

const WORKGROUP_FILTERS: FilterSpec = FilterSpec {
    fields: WORKGROUP_FILTER_FIELDS,
    unsupported: &[],
    allow_not: false,
};
const WORKGROUP_SORTERS: SortSpec = SortSpec {
    fields: WORKGROUP_SORT_FIELDS,
    unsupported: &[],
    default: NO_SORT_DEFAULT,
};

/// `GET /beta/workgroups`.
pub static LIST_WORKGROUPS_FILTERS: FilterSpec = WORKGROUP_FILTERS;
/// `GET /beta/workgroups`.
pub static LIST_WORKGROUPS_SORTERS: SortSpec = WORKGROUP_SORTERS;

// ---------------------------------------------------------------------------
// Workgroup members

const WORKGROUP_MEMBER_SORTERS: SortSpec = SortSpec {
    fields: &["name", "created", "modified"],
    unsupported: &[],
    default: NO_SORT_DEFAULT,
};

/// `GET /beta/workgroups/{workgroupId}/members` (no `filters` parameter; max
/// `limit` is [`LIST_WORKGROUP_MEMBERS_MAX_LIMIT`]).
pub static LIST_WORKGROUP_MEMBERS_SORTERS: SortSpec = WORKGROUP_MEMBER_SORTERS;

// ---------------------------------------------------------------------------
// Task status, beta and v1. Every accessd task is of `type` QUARTZ.

const TASK_SORTERS: SortSpec = SortSpec {
    fields: &["created"],
    unsupported: &[],
    // Newest first when the client gives no sorters.
    default: &[Sort::desc("created")],
};

/// `GET /beta/task-status` (finished tasks).
pub static GET_TASK_STATUS_LIST_FILTERS: FilterSpec = FilterSpec {
    fields: &[
        field("id", FieldType::Str, EQ_IN),
        field("sourceId", FieldType::Str, EQ_IN),
        field("completionStatus", FieldType::Str, EQ_IN),
        field("type", FieldType::Str, EQ_IN),
    ],
    unsupported: &[],
    allow_not: false,
};
/// `GET /beta/task-status`.
pub static GET_TASK_STATUS_LIST_SORTERS: SortSpec = TASK_SORTERS;
/// `GET /task-status/v1` and `GET /v2026/task-status` (every task; adds `isnull` and
/// `launcher`).
pub static GET_TASK_STATUS_LIST_V1_FILTERS: FilterSpec = FilterSpec {
    fields: &[
        field("id", FieldType::Str, EQ_IN),
        field("sourceId", FieldType::Str, EQ_IN),
        field(
            "completionStatus",
            FieldType::Str,
            &[Op::Eq, Op::In, Op::IsNull],
        ),
        field("type", FieldType::Str, EQ_IN),
        field("launcher", FieldType::Str, EQ_IN),
    ],
    unsupported: &[],
    allow_not: false,
};
/// `GET /v2025/task-status` (every task; adds `isnull`, not yet `launcher`).
pub static GET_TASK_STATUS_LIST_V2025_FILTERS: FilterSpec = FilterSpec {
    fields: &[
        field("id", FieldType::Str, EQ_IN),
        field("sourceId", FieldType::Str, EQ_IN),
        field(
            "completionStatus",
            FieldType::Str,
            &[Op::Eq, Op::In, Op::IsNull],
        ),
        field("type", FieldType::Str, EQ_IN),
    ],
    unsupported: &[],
    allow_not: false,
};
/// `GET /beta/task-status/pending-tasks` (no filters; sorted like the list).
pub static GET_PENDING_TASKS_SORTERS: SortSpec = TASK_SORTERS;

// ---------------------------------------------------------------------------
// Entitlements of one access profile, v3/beta/v1

/// `GET /v3/access-profiles/{id}/entitlements` (beta and v1 document the same).
pub static GET_ACCESS_PROFILE_ENTITLEMENTS_FILTERS: FilterSpec = FilterSpec {
    fields: &[
        field("id", FieldType::Str, EQ_IN),
        field("name", FieldType::Str, EQ_SW),
        field("attribute", FieldType::Str, EQ_SW),
        field("value", FieldType::Str, EQ_SW),
        field("created", FieldType::DateTime, GT_LT_GE_LE),
        field("modified", FieldType::DateTime, GT_LT_GE_LE),
        field("owner.id", FieldType::Str, EQ_IN),
        field("source.id", FieldType::Str, EQ_IN),
    ],
    unsupported: &[],
    allow_not: false,
};
/// `GET /v3/access-profiles/{id}/entitlements`; without sorters, the profile's order.
pub static GET_ACCESS_PROFILE_ENTITLEMENTS_SORTERS: SortSpec = SortSpec {
    fields: &["name", "attribute", "value", "created", "modified"],
    unsupported: &[],
    default: &[Sort::asc("position")],
};

// ---------------------------------------------------------------------------
// Lifecycle states of one identity profile, v3 and v1.
// getLifecycleStates and getLifecycleStatesV1 document the same sorters and no
// `filters` parameter. Without sorters the states come in creation order.

const LIFECYCLE_STATE_SORTERS: SortSpec = SortSpec {
    fields: &["name", "priority", "created", "modified"],
    unsupported: &[],
    default: &[Sort::asc("created")],
};

/// `GET /v3/identity-profiles/{identity-profile-id}/lifecycle-states` (no `filters`).
pub static GET_LIFECYCLE_STATES_SORTERS: SortSpec = LIFECYCLE_STATE_SORTERS;

// ---------------------------------------------------------------------------
// Segments, v3. listSegments documents only limit, offset and count.

/// `GET /v3/segments`: neither `filters` nor `sorters`; the order is creation order.
pub static LIST_SEGMENTS_ORDER: SortSpec = SortSpec {
    fields: &[],
    unsupported: &[],
    default: &[Sort::asc("created")],
};

// ---------------------------------------------------------------------------
// Source apps, beta and v1 (identical documentation per operation).
// listAvailableSourceApps and listAssignedSourceApp filter on `accountSource.id`;
// listAllSourceApp on `owner.id` and `enabled` instead, and documents `modified` as
// gt, ge, le (no lt). listAssignedSourceApp cannot sort on `owner.id`.

const SOURCE_APP_ID: FieldSpec = field("id", FieldType::Str, EQ_IN);
const SOURCE_APP_NAME: FieldSpec = field("name", FieldType::Str, &[Op::Eq, Op::In, Op::Co, Op::Sw]);
const SOURCE_APP_CREATED: FieldSpec = field("created", FieldType::DateTime, GT_LT_GE_LE);
const SOURCE_APP_ACCOUNT_SOURCE: FieldSpec = field("accountSource.id", FieldType::Str, EQ_IN);

const SOURCE_APP_FILTERS: FilterSpec = FilterSpec {
    fields: &[
        SOURCE_APP_ID,
        SOURCE_APP_NAME,
        SOURCE_APP_CREATED,
        field("modified", FieldType::DateTime, GT_LT_GE_LE),
        SOURCE_APP_ACCOUNT_SOURCE,
    ],
    unsupported: &[],
    allow_not: false,
};
const SOURCE_APP_SORTERS: SortSpec = SortSpec {
    fields: &[
        "id",
        "name",
        "created",
        "modified",
        "owner.id",
        "accountSource.id",
    ],
    unsupported: &[],
    default: NO_SORT_DEFAULT,
};

/// `GET /beta/source-apps` (available for access request).
pub static LIST_AVAILABLE_SOURCE_APPS_FILTERS: FilterSpec = SOURCE_APP_FILTERS;
/// `GET /beta/source-apps`.
pub static LIST_AVAILABLE_SOURCE_APPS_SORTERS: SortSpec = SOURCE_APP_SORTERS;
/// `GET /beta/source-apps/all` (ORG_ADMIN).
pub static LIST_ALL_SOURCE_APP_FILTERS: FilterSpec = FilterSpec {
    fields: &[
        SOURCE_APP_ID,
        SOURCE_APP_NAME,
        SOURCE_APP_CREATED,
        field("modified", FieldType::DateTime, &[Op::Gt, Op::Ge, Op::Le]),
        field("owner.id", FieldType::Str, EQ_IN),
        field("enabled", FieldType::Bool, EQ),
    ],
    unsupported: &[],
    allow_not: false,
};
/// `GET /beta/source-apps/all`.
pub static LIST_ALL_SOURCE_APP_SORTERS: SortSpec = SOURCE_APP_SORTERS;
/// `GET /beta/source-apps/assigned` (same filters as the available list).
pub static LIST_ASSIGNED_SOURCE_APP_FILTERS: FilterSpec = SOURCE_APP_FILTERS;
/// `GET /beta/source-apps/assigned` (no `owner.id`).
pub static LIST_ASSIGNED_SOURCE_APP_SORTERS: SortSpec = SortSpec {
    fields: &["id", "name", "created", "modified", "accountSource.id"],
    unsupported: &[],
    default: NO_SORT_DEFAULT,
};

/// `GET /beta/source-apps/{id}/access-profiles`. No `sorters` parameter: the app's order.
pub static LIST_ACCESS_PROFILES_FOR_SOURCE_APP_FILTERS: FilterSpec = FilterSpec {
    fields: &[
        field("id", FieldType::Str, EQ_IN),
        field("name", FieldType::Str, EQ_IN),
        field("created", FieldType::DateTime, GT_LT_GE_LE),
        field("modified", FieldType::DateTime, GT_LT_GE_LE),
    ],
    unsupported: &[],
    allow_not: false,
};
/// `GET /beta/source-apps/{id}/access-profiles`: no sorters, the app's own order
/// (the pseudo-field `position`).
pub static LIST_ACCESS_PROFILES_FOR_SOURCE_APP_SORTERS: SortSpec = SortSpec {
    fields: &[],
    unsupported: &[],
    default: &[Sort::asc("position")],
};

#[cfg(test)]
mod tests {
    //! The allow-lists against the API documentation in `spec/*.json`,
    //! plus accept / reject case tables for every field and operator.

    use serde_json::Value as Json;

    use super::*;
    use crate::query::testing::cases;
    use crate::query::{compile_filter, sort_order, Filter, QueryError};

    fn load(version: &str) -> Json {
        let path = format!("{}/spec/{version}.json", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        serde_json::from_str(&text).unwrap()
    }

    /// The query parameters of an operation, `$ref`s resolved.
    fn parameters(doc: &Json, operation_id: &str) -> Vec<Json> {
        let paths = doc["paths"].as_object().unwrap();
        let op = paths
            .values()
            .flat_map(|item| item.as_object().unwrap().values())
            .find(|op| op["operationId"] == operation_id)
            .unwrap_or_else(|| panic!("operation {operation_id} not found"));
        op["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| match p["$ref"].as_str() {
                Some(r) => {
                    let name = r.rsplit('/').next().unwrap();
                    doc["components"]["parameters"][name].clone()
                }
                None => p.clone(),
            })
            .collect()
    }

    fn param<'a>(params: &'a [Json], name: &str) -> Option<&'a Json> {
        params.iter().find(|p| p["name"] == name)
    }

    /// `**field**: *op, op*` lines.
    fn documented_filters(description: &str) -> Vec<(String, Vec<String>)> {
        description
            .lines()
            .filter_map(|line| {
                let rest = line.trim().strip_prefix("**")?;
                let (field, ops) = rest.split_once("**: *")?;
                let ops = ops.trim_end().strip_suffix('*')?;
                Some((
                    field.to_string(),
                    ops.split(',').map(|o| o.trim().to_string()).collect(),
                ))
            })
            .collect()
    }

    /// `Sorting is supported for the following fields: **a, b, c**`.
    fn documented_sorters(description: &str) -> Vec<String> {
        let (_, rest) = description
            .split_once("following fields: **")
            .expect("sorter list");
        let (list, _) = rest.split_once("**").unwrap();
        list.split(',').map(|f| f.trim().to_string()).collect()
    }

    #[test]
    fn specs_match_api_documentation() {
        for case in cases() {
            let ctx = format!("{} {}", case.version, case.operation_id);
            let doc = load(case.version);
            let params = parameters(&doc, case.operation_id);

            // limit
            let limit = param(&params, "limit").unwrap();
            assert_eq!(
                limit["schema"]["maximum"].as_i64(),
                Some(case.max_limit),
                "{ctx}"
            );
            assert_eq!(
                limit["schema"]["default"].as_i64(),
                Some(case.max_limit),
                "{ctx}"
            );

            // filters
            match (param(&params, "filters"), case.filters) {
                (None, None) => {}
                (Some(p), Some(spec)) => {
                    let description = p["description"].as_str().unwrap();
                    let documented = documented_filters(description);
                    assert!(!documented.is_empty(), "{ctx}");
                    for (field, ops) in &documented {
                        let grammar_ops: Vec<Op> =
                            ops.iter().filter_map(|o| Op::from_keyword(o)).collect();
                        match spec.field(field) {
                            Some(fs) => assert_eq!(fs.ops, grammar_ops, "{ctx} {field}"),
                            None => assert!(
                                spec.unsupported.contains(&field.as_str()),
                                "{ctx}: documented field {field} missing"
                            ),
                        }
                    }
                    let names: Vec<&str> = documented.iter().map(|(f, _)| f.as_str()).collect();
                    for fs in spec.fields {
                        assert!(
                            names.contains(&fs.name),
                            "{ctx}: {} not documented",
                            fs.name
                        );
                    }
                    for f in spec.unsupported {
                        assert!(names.contains(f), "{ctx}: {f} not documented");
                    }
                    // Spec field order follows the documentation.
                    let ordered: Vec<&str> = names
                        .iter()
                        .copied()
                        .filter(|n| spec.field(n).is_some())
                        .collect();
                    let ours: Vec<&str> = spec.fields.iter().map(|f| f.name).collect();
                    assert_eq!(ours, ordered, "{ctx}");
                    // No endpoint documents `not`.
                    assert!(!spec.allow_not, "{ctx}");
                    assert!(!description.contains("*not*"), "{ctx}");
                }
                (p, s) => panic!(
                    "{ctx}: filters param {:?} vs spec {:?}",
                    p.is_some(),
                    s.is_some()
                ),
            }

            // sorters
            let Some(sorters) = param(&params, "sorters") else {
                assert!(
                    case.sorters.fields.is_empty(),
                    "{ctx}: no sorters documented"
                );
                continue;
            };
            let description = sorters["description"].as_str().unwrap();
            let documented = documented_sorters(description);
            let ours: Vec<&str> = case.sorters.fields.to_vec();
            let ordered: Vec<&str> = documented
                .iter()
                .map(String::as_str)
                .filter(|d| ours.contains(d))
                .collect();
            assert_eq!(ours, ordered, "{ctx}: sorters");
            for d in &documented {
                assert!(
                    ours.contains(&d.as_str()) || case.sorters.unsupported.contains(&d.as_str()),
                    "{ctx}: sorter {d} missing"
                );
            }
            for u in case.sorters.unsupported {
                assert!(documented.iter().any(|d| d == u), "{ctx}: {u}");
            }
        }
    }

    fn sample(ty: FieldType, op: Op) -> &'static str {
        match (op, ty) {
            (Op::Co | Op::Sw, _) => "\"Ab\"",
            (_, FieldType::Str) => "\"Ab\"",
            (_, FieldType::Bool) => "true",
            (_, FieldType::DateTime) => "2020-01-01T00:00:00+01:00",
            (_, FieldType::Num) => "7",
        }
    }

    fn wrong_sample(ty: FieldType) -> (&'static str, &'static str) {
        match ty {
            FieldType::Str => ("true", "a string in double quotes"),
            FieldType::Bool => ("\"true\"", "true or false"),
            FieldType::DateTime => (
                "\"yesterday\"",
                "an RFC 3339 date-time such as 2020-01-01T00:00:00Z",
            ),
            FieldType::Num => ("\"7\"", "a number"),
        }
    }

    fn filter_text(fs: &FieldSpec, op: Op) -> String {
        let v = sample(fs.ty, op);
        match op {
            Op::In => format!("{} in ({v}, {v})", fs.name),
            Op::Pr => format!("pr {}", fs.name),
            Op::IsNull => format!("{} isnull", fs.name),
            _ => format!("{} {op} {v}", fs.name),
        }
    }

    #[test]
    fn every_documented_field_and_operator_is_accepted_and_others_rejected() {
        let mut accepted = 0;
        let mut rejected = 0;
        for case in cases() {
            let Some(spec) = case.filters else { continue };
            let ctx = format!("{} {}", case.version, case.operation_id);
            for fs in spec.fields {
                for op in Op::ALL {
                    let input = filter_text(fs, op);
                    let result = compile_filter(Some(&input), spec);
                    if fs.ops.contains(&op) {
                        match result.unwrap() {
                            Some(Filter::Field { field, .. }) => {
                                assert_eq!(field, fs.name, "{ctx}: {input}")
                            }
                            other => panic!("{ctx}: {input}: {other:?}"),
                        }
                        accepted += 1;
                    } else {
                        let supported: Vec<&str> = fs.ops.iter().map(|o| o.keyword()).collect();
                        assert_eq!(
                            result.unwrap_err().to_string(),
                            format!(
                                "operator '{op}' is not supported for field '{}'; supported: {}",
                                fs.name,
                                supported.join(", ")
                            ),
                            "{ctx}: {input}"
                        );
                        rejected += 1;
                    }
                }
                // Wrong value type with the first operator that takes a value.
                if let Some(&op) = fs
                    .ops
                    .iter()
                    .find(|o| o.is_binary() && !matches!(o, Op::Co | Op::Sw))
                {
                    let (value, expected) = wrong_sample(fs.ty);
                    let input = format!("{} {op} {value}", fs.name);
                    assert_eq!(
                        compile_filter(Some(&input), spec).unwrap_err().to_string(),
                        format!("value for filter field '{}' must be {expected}", fs.name),
                        "{ctx}: {input}"
                    );
                    rejected += 1;
                }
            }
            for field in spec.unsupported {
                let input = format!("{field} eq \"x\"");
                assert_eq!(
                    compile_filter(Some(&input), spec).unwrap_err().to_string(),
                    format!("filter field '{field}' is not supported by accessd yet"),
                    "{ctx}"
                );
                rejected += 1;
            }
            // `not` is rejected everywhere.
            let first = &spec.fields[0];
            let input = format!("not {}", filter_text(first, first.ops[0]));
            assert_eq!(
                compile_filter(Some(&input), spec).unwrap_err(),
                QueryError::NotNotSupported,
                "{ctx}"
            );
        }
        assert!(accepted > 100, "{accepted}");
        assert!(rejected > 300, "{rejected}");
    }

    #[test]
    fn every_documented_sorter_is_accepted() {
        for case in cases() {
            let spec = case.sorters;
            let ctx = format!("{} {}", case.version, case.operation_id);
            for &f in spec.fields {
                assert_eq!(
                    sort_order(Some(f), spec).unwrap(),
                    vec![Sort::asc(f)],
                    "{ctx}"
                );
                assert_eq!(
                    sort_order(Some(&format!("-{f}")), spec).unwrap(),
                    vec![Sort::desc(f)],
                    "{ctx}"
                );
            }
            for field in spec.unsupported {
                assert_eq!(
                    sort_order(Some(field), spec).unwrap_err().to_string(),
                    format!("sorter field '{field}' is not supported by accessd yet"),
                    "{ctx}"
                );
            }
            assert_eq!(
                sort_order(None, spec).unwrap(),
                spec.default.to_vec(),
                "{ctx}"
            );
        }
    }

    /// Representative rejections with their exact messages, per spec.
    #[test]
    fn representative_rejections() {
        let f: &[(&FilterSpec, &str, &str)] = &[
        (
            &LIST_ACCESS_PROFILES_FILTERS,
            r#"description eq "x""#,
            "filter field 'description' is not supported; supported fields: id, name, created, modified, owner.id, requestable, source.id",
        ),
        (
            &LIST_ACCESS_PROFILES_FILTERS,
            r#"name co "x""#,
            "operator 'co' is not supported for field 'name'; supported: eq, sw",
        ),
        (
            &LIST_ACCESS_PROFILES_FILTERS,
            "created lt 2020-01-01T00:00:00Z",
            "operator 'lt' is not supported for field 'created'; supported: gt, ge, le",
        ),
        (
            &LIST_ACCESS_PROFILES_FILTERS,
            r#"requestable eq "true""#,
            "value for filter field 'requestable' must be true or false",
        ),
        (
            &LIST_ACCESS_PROFILES_FILTERS,
            r#"id in ("a", 2)"#,
            "value for filter field 'id' must be a string in double quotes",
        ),
        (
            &LIST_ACCESS_PROFILES_FILTERS,
            r#"not name eq "x""#,
            "the 'not' operator is not supported by this endpoint; supported composite operators: and, or",
        ),
        (
            &LIST_SOURCES_FILTERS,
            r#"features co "PROVISIONING""#,
            "filter field 'features' is not supported by accessd yet",
        ),
        (
            &LIST_SOURCES_FILTERS,
            r#"category eq "x""#,
            "filter field 'category' is not supported by accessd yet",
        ),
        (
            &LIST_ROLES_FILTERS,
            "modified gt 2020-01-01T00:00:00Z",
            "operator 'gt' is not supported for field 'modified'; supported: lt, ge, le",
        ),
        (
            &LIST_ROLES_FILTERS,
            r#"description eq "x""#,
            "filter field 'description' is not supported; supported fields: id, name, created, modified, owner.id, requestable, dimensional",
        ),
        (
            &LIST_SOURCES_FILTERS,
            "healthy eq true",
            "operator 'eq' is not supported for field 'healthy'; supported: isnull",
        ),
        (
            &LIST_SOURCES_FILTERS,
            r#"description co "x""#,
            "operator 'co' is not supported for field 'description'; supported: eq, sw",
        ),
        (
            &LIST_SOURCES_FILTERS,
            "created sw 2020-01-01T00:00:00Z",
            "value for filter field 'created' must be a string in double quotes when used with 'sw'",
        ),
        (
            &LIST_ENTITLEMENTS_FILTERS,
            r#"tags eq "x""#,
            "filter field 'tags' is not supported; supported fields: id, name, type, attribute, value, source.id, requestable, created, modified, owner.id",
        ),
        (
            &LIST_ENTITLEMENTS_V1_FILTERS,
            r#"tags eq "x""#,
            "filter field 'tags' is not supported by accessd yet",
        ),
        (
            &LIST_ENTITLEMENTS_V1_FILTERS,
            r#"privilegeLevel.direct eq "HIGH""#,
            "filter field 'privilegeLevel.direct' is not supported by accessd yet",
        ),
        (
            &LIST_IDENTITIES_FILTERS,
            r#"cloudStatus sw "UN""#,
            "operator 'sw' is not supported for field 'cloudStatus'; supported: eq",
        ),
        (
            &LIST_IDENTITIES_FILTERS,
            "correlated eq 1",
            "value for filter field 'correlated' must be true or false",
        ),
        (
            &GET_PUBLIC_IDENTITIES_FILTERS,
            r#"name eq "x""#,
            "filter field 'name' is not supported; supported fields: id, alias, email, firstname, lastname",
        ),
        (
            &LIST_WORKGROUPS_FILTERS,
            r#"memberships.identityId sw "a""#,
            "operator 'sw' is not supported for field 'memberships.identityId'; supported: eq, in",
        ),
        (
            &LIST_WORKGROUPS_FILTERS,
            r#"description eq "x""#,
            "filter field 'description' is not supported; supported fields: id, name, memberships.identityId",
        ),
    ];
        for (spec, input, expected) in f {
            assert_eq!(
                &compile_filter(Some(input), spec).unwrap_err().to_string(),
                expected,
                "{input}"
            );
        }

        let s: &[(&SortSpec, &str, &str)] = &[
            (
                &LIST_ACCESS_PROFILES_SORTERS,
                "id",
                "sorter field 'id' is not supported; supported fields: name, created, modified",
            ),
            (
                &LIST_ROLES_SORTERS,
                "id",
                "sorter field 'id' is not supported; supported fields: name, created, modified",
            ),
            (
                &LIST_SOURCES_SORTERS,
                "-owner.name",
                "sorter field 'owner.name' is not supported by accessd yet",
            ),
            (
                &LIST_ENTITLEMENTS_SORTERS,
                "name,-name",
                "sorter field 'name' is specified more than once",
            ),
            (
                &LIST_IDENTITIES_SORTERS,
                "email",
                "sorter field 'email' is not supported; supported fields: name, alias, cloudStatus",
            ),
            (
                &GET_PUBLIC_IDENTITIES_SORTERS,
                "alias",
                "sorter field 'alias' is not supported; supported fields: name",
            ),
            (
                &LIST_WORKGROUP_MEMBERS_SORTERS,
                "id",
                "sorter field 'id' is not supported; supported fields: name, created, modified",
            ),
        ];
        for (spec, input, expected) in s {
            assert_eq!(
                &sort_order(Some(input), spec).unwrap_err().to_string(),
                expected,
                "{input}"
            );
        }
    }

    /// getLifecycleStates (v3) and getLifecycleStatesV1: sorters only, paging up to 250.
    #[test]
    fn lifecycle_state_sorters_match_the_api_documentation() {
        for (version, operation_id, spec) in [
            ("v3", "getLifecycleStates", &GET_LIFECYCLE_STATES_SORTERS),
            ("v1", "getLifecycleStatesV1", &GET_LIFECYCLE_STATES_SORTERS),
        ] {
            let ctx = format!("{version} {operation_id}");
            let doc = load(version);
            let params = parameters(&doc, operation_id);
            let limit = param(&params, "limit").unwrap();
            assert_eq!(
                limit["schema"]["maximum"].as_i64(),
                Some(LIST_MAX_LIMIT),
                "{ctx}"
            );
            assert_eq!(
                limit["schema"]["default"].as_i64(),
                Some(LIST_MAX_LIMIT),
                "{ctx}"
            );
            assert!(param(&params, "filters").is_none(), "{ctx}");
            let documented = documented_sorters(
                param(&params, "sorters").unwrap()["description"]
                    .as_str()
                    .unwrap(),
            );
            assert_eq!(spec.fields.to_vec(), documented, "{ctx}");
            // Without sorters, creation order.
            assert_eq!(
                sort_order(None, spec).unwrap(),
                vec![Sort::asc("created")],
                "{ctx}"
            );
            assert_eq!(
            sort_order(Some("identityCount"), spec).unwrap_err().to_string(),
            "sorter field 'identityCount' is not supported; supported fields: name, priority, created, modified",
            "{ctx}"
        );
        }
    }

    /// listSegments (v3): `limit` up to 250, `offset`, `count`; no `filters`, no `sorters`.
    #[test]
    fn list_segments_pages_only_as_the_api_documentation_says() {
        let doc = load("v3");
        let params = parameters(&doc, "listSegments");
        let limit = param(&params, "limit").unwrap();
        assert_eq!(limit["schema"]["maximum"].as_i64(), Some(LIST_MAX_LIMIT));
        assert_eq!(limit["schema"]["default"].as_i64(), Some(LIST_MAX_LIMIT));
        assert!(param(&params, "offset").is_some());
        assert!(param(&params, "count").is_some());
        assert!(param(&params, "filters").is_none());
        assert!(param(&params, "sorters").is_none());
        assert!(LIST_SEGMENTS_ORDER.fields.is_empty());
        assert_eq!(
            sort_order(None, &LIST_SEGMENTS_ORDER).unwrap(),
            vec![Sort::asc("created")]
        );
    }
}
