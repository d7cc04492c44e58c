//! Per-endpoint allow-lists for `filters` and `sorters`, transcribed from the
//! `filters` / `sorters` parameter descriptions in `spec/{v3,beta,v1}.json`.
//! Statics are named after the operationId in SCREAMING_SNAKE_CASE (v1
//! operationIds end in `V1`; beta and v3 share operationIds).
//!
//! Operator lists keep the order of the documentation (it shows up in error
//! messages). Operators outside the filter grammar (`ca`) are omitted.
//!
//! Table aliases the store must use in its FROM clause:
//! `access_profiles ap`, `roles r`, `sources s`, `entitlements e`, `identities i`,
//! `governance_groups g`, and for workgroup members `identities i` joined with
//! `governance_group_members m`.
//!
//! Documented fields accessd has no column for (they produce "... is not
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
//!   (`ape.position`, from `access_profile_entitlements ape`).
//!
//! No endpoint documents `not`, so `allow_not` is false everywhere.

use super::filter::Op;
use super::paging::DEFAULT_MAX_LIMIT;
use super::sort::{Sort, SortField, SortSpec};
use super::sql::{FieldSpec, FieldType, FilterSpec, Target};

const fn field(
    name: &'static str,
    ty: FieldType,
    ops: &'static [Op],
    col: &'static str,
) -> FieldSpec {
    FieldSpec {
        name,
        ty,
        ops,
        target: Target::Column(col),
    }
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
// Access profiles (`access_profiles ap`)

const ACCESS_PROFILE_FILTER_FIELDS: &[FieldSpec] = &[
    field("id", FieldType::Str, EQ_IN, "ap.id"),
    field("name", FieldType::Str, EQ_SW, "ap.name"),
    // Documented as gt, ge, le (no lt), unlike modified.
    field(
        "created",
        FieldType::DateTime,
        &[Op::Gt, Op::Ge, Op::Le],
        "ap.created",
    ),
    field("modified", FieldType::DateTime, GT_LT_GE_LE, "ap.modified"),
    field("owner.id", FieldType::Str, EQ_IN, "ap.owner_id"),
    field("requestable", FieldType::Bool, EQ, "ap.requestable"),
    field("source.id", FieldType::Str, EQ_IN, "ap.source_id"),
];

const ACCESS_PROFILE_SORT_FIELDS: &[SortField] = &[
    SortField::not_null("name", "ap.name"),
    SortField::not_null("created", "ap.created"),
    SortField::not_null("modified", "ap.modified"),
];

const ACCESS_PROFILE_FILTERS: FilterSpec = FilterSpec {
    fields: ACCESS_PROFILE_FILTER_FIELDS,
    unsupported: &[],
    allow_not: false,
};
const ACCESS_PROFILE_SORTERS: SortSpec = SortSpec {
    fields: ACCESS_PROFILE_SORT_FIELDS,
    unsupported: &[],
    tiebreak: "ap.id",
    default: NO_SORT_DEFAULT,
};

/// `GET /v3/access-profiles` and `GET /beta/access-profiles`.
pub static LIST_ACCESS_PROFILES_FILTERS: FilterSpec = ACCESS_PROFILE_FILTERS;
/// `GET /v3/access-profiles` and `GET /beta/access-profiles`.
pub static LIST_ACCESS_PROFILES_SORTERS: SortSpec = ACCESS_PROFILE_SORTERS;
/// `GET /access-profiles/v1` (same as v3).
pub static LIST_ACCESS_PROFILES_V1_FILTERS: FilterSpec = ACCESS_PROFILE_FILTERS;
/// `GET /access-profiles/v1` (same as v3).
pub static LIST_ACCESS_PROFILES_V1_SORTERS: SortSpec = ACCESS_PROFILE_SORTERS;

// ---------------------------------------------------------------------------
// Roles (`roles r`), v3, beta and v1

/// Maximum (and default) `limit` of listRoles: "for this API the maximum value for
/// limit is 50" (v3, beta and v1).
pub const LIST_ROLES_MAX_LIMIT: i64 = 50;

const ROLE_FILTER_FIELDS: &[FieldSpec] = &[
    field("id", FieldType::Str, EQ_IN, "r.id"),
    field("name", FieldType::Str, EQ_SW, "r.name"),
    field(
        "created",
        FieldType::DateTime,
        &[Op::Gt, Op::Ge, Op::Le],
        "r.created",
    ),
    // Documented as lt, ge, le (no gt), unlike created.
    field(
        "modified",
        FieldType::DateTime,
        &[Op::Lt, Op::Ge, Op::Le],
        "r.modified",
    ),
    field("owner.id", FieldType::Str, EQ_IN, "r.owner_id"),
    field("requestable", FieldType::Bool, EQ, "r.requestable"),
    field("dimensional", FieldType::Bool, EQ, "r.dimensional"),
];

const ROLE_FILTERS: FilterSpec = FilterSpec {
    fields: ROLE_FILTER_FIELDS,
    unsupported: &[],
    allow_not: false,
};
const ROLE_SORTERS: SortSpec = SortSpec {
    fields: &[
        SortField::not_null("name", "r.name"),
        SortField::not_null("created", "r.created"),
        SortField::not_null("modified", "r.modified"),
    ],
    unsupported: &[],
    tiebreak: "r.id",
    default: NO_SORT_DEFAULT,
};

/// `GET /v3/roles` and `GET /beta/roles`.
pub static LIST_ROLES_FILTERS: FilterSpec = ROLE_FILTERS;
/// `GET /v3/roles` and `GET /beta/roles`.
pub static LIST_ROLES_SORTERS: SortSpec = ROLE_SORTERS;
/// `GET /roles/v1` (same as v3).
pub static LIST_ROLES_V1_FILTERS: FilterSpec = ROLE_FILTERS;
/// `GET /roles/v1` (same as v3).
pub static LIST_ROLES_V1_SORTERS: SortSpec = ROLE_SORTERS;

// ---------------------------------------------------------------------------
// Sources (`sources s`), v3 only

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
        field("id", FieldType::Str, SOURCE_ALL_CMP, "s.id"),
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
            "s.name",
        ),
        field(
            "type",
            FieldType::Str,
            &[Op::Eq, Op::In, Op::Ge, Op::Gt, Op::Ne, Op::IsNull, Op::Sw],
            "s.type",
        ),
        field("owner.id", FieldType::Str, SOURCE_ALL_CMP, "s.owner_id"),
        // `sw` on a date-time field takes a quoted string matched as a prefix of
        // the stored UTC text, e.g. created sw "2020-01".
        field("created", FieldType::DateTime, SOURCE_DATE_OPS, "s.created"),
        field(
            "modified",
            FieldType::DateTime,
            SOURCE_DATE_OPS,
            "s.modified",
        ),
        field(
            "managementWorkgroup.id",
            FieldType::Str,
            SOURCE_DATE_OPS,
            "s.management_workgroup_id",
        ),
        field("description", FieldType::Str, EQ_SW, "s.description"),
        field(
            "authoritative",
            FieldType::Bool,
            &[Op::Eq, Op::Ne, Op::IsNull],
            "s.authoritative",
        ),
        field("healthy", FieldType::Bool, &[Op::IsNull], "s.healthy"),
        field("status", FieldType::Str, SOURCE_ALL_CMP, "s.status"),
        field(
            "connectionType",
            FieldType::Str,
            SOURCE_DATE_OPS,
            "s.connection_type",
        ),
        field(
            "connectorName",
            FieldType::Str,
            &[Op::Eq, Op::Ge, Op::Gt, Op::In, Op::Ne, Op::IsNull, Op::Sw],
            "s.connector_name",
        ),
    ],
    unsupported: &["features", "category"],
    allow_not: false,
};

/// `GET /v3/sources`.
pub static LIST_SOURCES_SORTERS: SortSpec = SortSpec {
    fields: &[
        SortField::nullable("type", "s.type"),
        SortField::not_null("created", "s.created"),
        SortField::not_null("modified", "s.modified"),
        SortField::not_null("name", "s.name"),
        SortField::not_null("healthy", "s.healthy"),
        SortField::not_null("status", "s.status"),
        SortField::not_null("id", "s.id"),
        SortField::nullable("description", "s.description"),
        SortField::not_null("owner.id", "s.owner_id"),
        SortField::not_null("authoritative", "s.authoritative"),
        SortField::nullable("managementWorkgroup.id", "s.management_workgroup_id"),
        SortField::nullable("connectorName", "s.connector_name"),
        SortField::nullable("connectionType", "s.connection_type"),
    ],
    unsupported: &[
        "owner.name",
        "accountCorrelationConfig.id",
        "accountCorrelationConfig.name",
        "managerCorrelationRule.type",
        "managerCorrelationRule.id",
        "managerCorrelationRule.name",
    ],
    tiebreak: "s.id",
    default: NO_SORT_DEFAULT,
};

// ---------------------------------------------------------------------------
// Entitlements (`entitlements e`), beta and v1

const ENTITLEMENT_FILTER_FIELDS: &[FieldSpec] = &[
    field("id", FieldType::Str, EQ_IN, "e.id"),
    field("name", FieldType::Str, EQ_IN_SW, "e.name"),
    field("type", FieldType::Str, EQ_IN, "e.type"),
    field("attribute", FieldType::Str, EQ_IN, "e.attribute"),
    field("value", FieldType::Str, EQ_IN_SW, "e.value"),
    field("source.id", FieldType::Str, EQ_IN, "e.source_id"),
    field("requestable", FieldType::Bool, EQ, "e.requestable"),
    field("created", FieldType::DateTime, GT_LT_GE_LE, "e.created"),
    field("modified", FieldType::DateTime, GT_LT_GE_LE, "e.modified"),
    field("owner.id", FieldType::Str, EQ_IN, "e.owner_id"),
];

const ENTITLEMENT_SORT_FIELDS: &[SortField] = &[
    SortField::not_null("id", "e.id"),
    SortField::not_null("name", "e.name"),
    SortField::not_null("created", "e.created"),
    SortField::not_null("modified", "e.modified"),
    SortField::not_null("type", "e.type"),
    SortField::not_null("attribute", "e.attribute"),
    SortField::not_null("value", "e.value"),
    SortField::not_null("source.id", "e.source_id"),
    SortField::not_null("requestable", "e.requestable"),
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
    tiebreak: "e.id",
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
/// `GET /entitlements/v1` (same as beta).
pub static LIST_ENTITLEMENTS_V1_SORTERS: SortSpec = ENTITLEMENT_SORTERS;

// ---------------------------------------------------------------------------
// Identities (`identities i`)

const IDENTITY_FILTER_FIELDS: &[FieldSpec] = &[
    field("id", FieldType::Str, EQ_IN, "i.id"),
    field("name", FieldType::Str, EQ_SW, "i.name"),
    field("alias", FieldType::Str, EQ_SW, "i.alias"),
    field("firstname", FieldType::Str, EQ_SW, "i.first_name"),
    field("lastname", FieldType::Str, EQ_SW, "i.last_name"),
    field("email", FieldType::Str, EQ_SW, "i.email"),
    field("cloudStatus", FieldType::Str, EQ, "i.cloud_status"),
    field("processingState", FieldType::Str, EQ, "i.processing_state"),
    field("correlated", FieldType::Bool, EQ, "i.correlated"),
    field("protected", FieldType::Bool, EQ, "i.protected"),
];

const IDENTITY_SORT_FIELDS: &[SortField] = &[
    SortField::not_null("name", "i.name"),
    SortField::not_null("alias", "i.alias"),
    SortField::not_null("cloudStatus", "i.cloud_status"),
];

const IDENTITY_FILTERS: FilterSpec = FilterSpec {
    fields: IDENTITY_FILTER_FIELDS,
    unsupported: &[],
    allow_not: false,
};
const IDENTITY_SORTERS: SortSpec = SortSpec {
    fields: IDENTITY_SORT_FIELDS,
    unsupported: &[],
    tiebreak: "i.id",
    default: NO_SORT_DEFAULT,
};

/// `GET /beta/identities`.
pub static LIST_IDENTITIES_FILTERS: FilterSpec = IDENTITY_FILTERS;
/// `GET /beta/identities`.
pub static LIST_IDENTITIES_SORTERS: SortSpec = IDENTITY_SORTERS;
/// `GET /identities/v1` (same as beta).
pub static LIST_IDENTITIES_V1_FILTERS: FilterSpec = IDENTITY_FILTERS;
/// `GET /identities/v1` (same as beta).
pub static LIST_IDENTITIES_V1_SORTERS: SortSpec = IDENTITY_SORTERS;

/// `GET /v3/public-identities`.
pub static GET_PUBLIC_IDENTITIES_FILTERS: FilterSpec = FilterSpec {
    fields: &[
        field("id", FieldType::Str, EQ_IN, "i.id"),
        field("alias", FieldType::Str, EQ_SW, "i.alias"),
        field("email", FieldType::Str, EQ_SW, "i.email"),
        field("firstname", FieldType::Str, EQ_SW, "i.first_name"),
        field("lastname", FieldType::Str, EQ_SW, "i.last_name"),
    ],
    unsupported: &[],
    allow_not: false,
};
/// `GET /v3/public-identities`.
pub static GET_PUBLIC_IDENTITIES_SORTERS: SortSpec = SortSpec {
    fields: &[SortField::not_null("name", "i.name")],
    unsupported: &[],
    tiebreak: "i.id",
    default: NO_SORT_DEFAULT,
};

// ---------------------------------------------------------------------------
// Workgroups (`governance_groups g`), beta and v1

const WORKGROUP_FILTER_FIELDS: &[FieldSpec] = &[
    field("id", FieldType::Str, EQ_IN_SW, "g.id"),
    field("name", FieldType::Str, EQ_SW_IN, "g.name"),
    FieldSpec {
        name: "memberships.identityId",
        ty: FieldType::Str,
        ops: EQ_IN,
        target: Target::Subquery {
            outer_col: "g.id",
            table: "governance_group_members",
            select_col: "group_id",
            where_col: "identity_id",
        },
    },
];

const WORKGROUP_SORT_FIELDS: &[SortField] = &[
    SortField::not_null("name", "g.name"),
    SortField::not_null("created", "g.created"),
    SortField::not_null("modified", "g.modified"),
    SortField::not_null("id", "g.id"),
    SortField::nullable("description", "g.description"),
];

const WORKGROUP_FILTERS: FilterSpec = FilterSpec {
    fields: WORKGROUP_FILTER_FIELDS,
    unsupported: &[],
    allow_not: false,
};
const WORKGROUP_SORTERS: SortSpec = SortSpec {
    fields: WORKGROUP_SORT_FIELDS,
    unsupported: &[],
    tiebreak: "g.id",
    default: NO_SORT_DEFAULT,
};

/// `GET /beta/workgroups`.
pub static LIST_WORKGROUPS_FILTERS: FilterSpec = WORKGROUP_FILTERS;
/// `GET /beta/workgroups`.
pub static LIST_WORKGROUPS_SORTERS: SortSpec = WORKGROUP_SORTERS;
/// `GET /workgroups/v1` (same as beta).
pub static LIST_WORKGROUPS_V1_FILTERS: FilterSpec = WORKGROUP_FILTERS;
/// `GET /workgroups/v1` (same as beta).
pub static LIST_WORKGROUPS_V1_SORTERS: SortSpec = WORKGROUP_SORTERS;

// ---------------------------------------------------------------------------
// Workgroup members (`identities i` joined with `governance_group_members m`)

const WORKGROUP_MEMBER_SORTERS: SortSpec = SortSpec {
    fields: &[
        SortField::not_null("name", "i.name"),
        SortField::not_null("created", "m.created"),
        SortField::not_null("modified", "i.modified"),
    ],
    unsupported: &[],
    tiebreak: "i.id",
    default: NO_SORT_DEFAULT,
};

/// `GET /beta/workgroups/{workgroupId}/members` (no `filters` parameter; max
/// `limit` is [`LIST_WORKGROUP_MEMBERS_MAX_LIMIT`]).
pub static LIST_WORKGROUP_MEMBERS_SORTERS: SortSpec = WORKGROUP_MEMBER_SORTERS;
/// `GET /workgroups/v1/{workgroupId}/members` (same as beta).
pub static LIST_WORKGROUP_MEMBERS_V1_SORTERS: SortSpec = WORKGROUP_MEMBER_SORTERS;

// ---------------------------------------------------------------------------
// Task status (`tasks t`), beta and v1. Every accessd task is of `type` QUARTZ,
// so `type` compares with that constant.

const TASK_SORTERS: SortSpec = SortSpec {
    fields: &[SortField::not_null("created", "t.created")],
    unsupported: &[],
    tiebreak: "t.id",
    // Newest first when the client gives no sorters.
    default: &[Sort {
        field: "created",
        column: "t.created",
        desc: true,
        not_null: true,
    }],
};

/// `GET /beta/task-status` (finished tasks).
pub static GET_TASK_STATUS_LIST_FILTERS: FilterSpec = FilterSpec {
    fields: &[
        field("id", FieldType::Str, EQ_IN, "t.id"),
        field("sourceId", FieldType::Str, EQ_IN, "t.source_id"),
        field(
            "completionStatus",
            FieldType::Str,
            EQ_IN,
            "t.completion_status",
        ),
        field("type", FieldType::Str, EQ_IN, "'QUARTZ'"),
    ],
    unsupported: &[],
    allow_not: false,
};
/// `GET /beta/task-status`.
pub static GET_TASK_STATUS_LIST_SORTERS: SortSpec = TASK_SORTERS;
/// `GET /task-status/v1` (every task; adds `isnull` and `launcher`).
pub static GET_TASK_STATUS_LIST_V1_FILTERS: FilterSpec = FilterSpec {
    fields: &[
        field("id", FieldType::Str, EQ_IN, "t.id"),
        field("sourceId", FieldType::Str, EQ_IN, "t.source_id"),
        field(
            "completionStatus",
            FieldType::Str,
            &[Op::Eq, Op::In, Op::IsNull],
            "t.completion_status",
        ),
        field("type", FieldType::Str, EQ_IN, "'QUARTZ'"),
        field("launcher", FieldType::Str, EQ_IN, "t.launcher"),
    ],
    unsupported: &[],
    allow_not: false,
};
/// `GET /task-status/v1`.
pub static GET_TASK_STATUS_LIST_V1_SORTERS: SortSpec = TASK_SORTERS;
/// `GET /beta/task-status/pending-tasks` (no filters; sorted like the list).
pub static GET_PENDING_TASKS_SORTERS: SortSpec = TASK_SORTERS;

// ---------------------------------------------------------------------------
// Entitlements of one access profile (`entitlements e`), v3/beta/v1

/// `GET /v3/access-profiles/{id}/entitlements` (beta and v1 document the same).
pub static GET_ACCESS_PROFILE_ENTITLEMENTS_FILTERS: FilterSpec = FilterSpec {
    fields: &[
        field("id", FieldType::Str, EQ_IN, "e.id"),
        field("name", FieldType::Str, EQ_SW, "e.name"),
        field("attribute", FieldType::Str, EQ_SW, "e.attribute"),
        field("value", FieldType::Str, EQ_SW, "e.value"),
        field("created", FieldType::DateTime, GT_LT_GE_LE, "e.created"),
        field("modified", FieldType::DateTime, GT_LT_GE_LE, "e.modified"),
        field("owner.id", FieldType::Str, EQ_IN, "e.owner_id"),
        field("source.id", FieldType::Str, EQ_IN, "e.source_id"),
    ],
    unsupported: &[],
    allow_not: false,
};
/// `GET /v3/access-profiles/{id}/entitlements`; without sorters, the profile's order.
pub static GET_ACCESS_PROFILE_ENTITLEMENTS_SORTERS: SortSpec = SortSpec {
    fields: &[
        SortField::not_null("name", "e.name"),
        SortField::not_null("attribute", "e.attribute"),
        SortField::not_null("value", "e.value"),
        SortField::not_null("created", "e.created"),
        SortField::not_null("modified", "e.modified"),
    ],
    unsupported: &[],
    tiebreak: "e.id",
    default: &[Sort {
        field: "position",
        column: "ape.position",
        desc: false,
        not_null: true,
    }],
};

// ---------------------------------------------------------------------------
// Lifecycle states of one identity profile (`lifecycle_states ls`), v3 and v1.
// getLifecycleStates and getLifecycleStatesV1 document the same sorters and no
// `filters` parameter. Without sorters the states come in creation order.

const LIFECYCLE_STATE_SORTERS: SortSpec = SortSpec {
    fields: &[
        SortField::not_null("name", "ls.name"),
        SortField::nullable("priority", "ls.priority"),
        SortField::not_null("created", "ls.created"),
        SortField::not_null("modified", "ls.modified"),
    ],
    unsupported: &[],
    tiebreak: "ls.id",
    default: &[Sort {
        field: "created",
        column: "ls.created",
        desc: false,
        not_null: true,
    }],
};

/// `GET /v3/identity-profiles/{identity-profile-id}/lifecycle-states` (no `filters`).
pub static GET_LIFECYCLE_STATES_SORTERS: SortSpec = LIFECYCLE_STATE_SORTERS;
/// `GET /identity-profiles/v1/{identity-profile-id}/lifecycle-states` (same as v3).
pub static GET_LIFECYCLE_STATES_V1_SORTERS: SortSpec = LIFECYCLE_STATE_SORTERS;

// ---------------------------------------------------------------------------
// Segments (`segments sg`), v3. listSegments documents only limit, offset and count.

/// `GET /v3/segments`: neither `filters` nor `sorters`; the order is creation order.
pub static LIST_SEGMENTS_ORDER: SortSpec = SortSpec {
    fields: &[],
    unsupported: &[],
    tiebreak: "sg.id",
    default: &[Sort {
        field: "created",
        column: "sg.created",
        desc: false,
        not_null: true,
    }],
};

// ---------------------------------------------------------------------------
// Source apps (`source_apps a`), beta and v1 (identical documentation per operation).
// listAvailableSourceApps and listAssignedSourceApp filter on `accountSource.id`;
// listAllSourceApp on `owner.id` and `enabled` instead, and documents `modified` as
// gt, ge, le (no lt). listAssignedSourceApp cannot sort on `owner.id`.

const SOURCE_APP_ID: FieldSpec = field("id", FieldType::Str, EQ_IN, "a.id");
const SOURCE_APP_NAME: FieldSpec = field(
    "name",
    FieldType::Str,
    &[Op::Eq, Op::In, Op::Co, Op::Sw],
    "a.name",
);
const SOURCE_APP_CREATED: FieldSpec =
    field("created", FieldType::DateTime, GT_LT_GE_LE, "a.created");
const SOURCE_APP_ACCOUNT_SOURCE: FieldSpec = field(
    "accountSource.id",
    FieldType::Str,
    EQ_IN,
    "a.account_source_id",
);

const SOURCE_APP_FILTERS: FilterSpec = FilterSpec {
    fields: &[
        SOURCE_APP_ID,
        SOURCE_APP_NAME,
        SOURCE_APP_CREATED,
        field("modified", FieldType::DateTime, GT_LT_GE_LE, "a.modified"),
        SOURCE_APP_ACCOUNT_SOURCE,
    ],
    unsupported: &[],
    allow_not: false,
};
const SOURCE_APP_SORTERS: SortSpec = SortSpec {
    fields: &[
        SortField::not_null("id", "a.id"),
        SortField::not_null("name", "a.name"),
        SortField::not_null("created", "a.created"),
        SortField::not_null("modified", "a.modified"),
        SortField::not_null("owner.id", "a.owner_id"),
        SortField::not_null("accountSource.id", "a.account_source_id"),
    ],
    unsupported: &[],
    tiebreak: "a.id",
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
        field(
            "modified",
            FieldType::DateTime,
            &[Op::Gt, Op::Ge, Op::Le],
            "a.modified",
        ),
        field("owner.id", FieldType::Str, EQ_IN, "a.owner_id"),
        field("enabled", FieldType::Bool, EQ, "a.enabled"),
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
    fields: &[
        SortField::not_null("id", "a.id"),
        SortField::not_null("name", "a.name"),
        SortField::not_null("created", "a.created"),
        SortField::not_null("modified", "a.modified"),
        SortField::not_null("accountSource.id", "a.account_source_id"),
    ],
    unsupported: &[],
    tiebreak: "a.id",
    default: NO_SORT_DEFAULT,
};

/// `GET /beta/source-apps/{id}/access-profiles` (`access_profiles ap` joined with the
/// app's links `source_app_access_profiles l`). No `sorters` parameter: the app's order.
pub static LIST_ACCESS_PROFILES_FOR_SOURCE_APP_FILTERS: FilterSpec = FilterSpec {
    fields: &[
        field("id", FieldType::Str, EQ_IN, "ap.id"),
        field("name", FieldType::Str, EQ_IN, "ap.name"),
        field("created", FieldType::DateTime, GT_LT_GE_LE, "ap.created"),
        field("modified", FieldType::DateTime, GT_LT_GE_LE, "ap.modified"),
    ],
    unsupported: &[],
    allow_not: false,
};
/// `GET /beta/source-apps/{id}/access-profiles`: no sorters, the app's own order.
pub static LIST_ACCESS_PROFILES_FOR_SOURCE_APP_SORTERS: SortSpec = SortSpec {
    fields: &[],
    unsupported: &[],
    tiebreak: "ap.id",
    default: &[Sort {
        field: "position",
        column: "l.position",
        desc: false,
        not_null: true,
    }],
};
