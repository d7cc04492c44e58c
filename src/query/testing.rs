//! What the tests of the query layer and of the store's SQL renderer share: a filter
//! spec with a field of every type and every operator, and proptest strategies for
//! filter text and trees.

use chrono::{DateTime, FixedOffset};
use proptest::collection::vec;
use proptest::prelude::*;

use super::specs::*;
use super::*;

/// A spec with one field of every type (and a multi-valued one), every operator
/// allowed, `not` allowed, and one documented field accessd lacks (`later`).
pub(crate) static TEST_SPEC: FilterSpec = FilterSpec {
    fields: &[
        FieldSpec {
            name: "s",
            ty: FieldType::Str,
            ops: &Op::ALL,
        },
        FieldSpec {
            name: "b",
            ty: FieldType::Bool,
            ops: &Op::ALL,
        },
        FieldSpec {
            name: "d",
            ty: FieldType::DateTime,
            ops: &Op::ALL,
        },
        FieldSpec {
            name: "n",
            ty: FieldType::Num,
            ops: &Op::ALL,
        },
        FieldSpec {
            name: "members.id",
            ty: FieldType::Str,
            ops: &Op::ALL,
        },
    ],
    unsupported: &["later"],
    allow_not: true,
};

/// A sort spec with a nullable and a not-null field and the key (`id`), and one
/// documented field accessd lacks (`owner.name`).
pub(crate) static SORT_SPEC: SortSpec = SortSpec {
    fields: &["name", "created", "id"],
    unsupported: &["owner.name"],
    default: &[],
};

pub(crate) fn cmp(field: &str, op: Op, value: Value) -> Expr {
    Expr::Cmp {
        field: field.to_string(),
        op,
        value,
    }
}

const RESERVED: [&str; 14] = [
    "eq", "ne", "gt", "ge", "lt", "le", "co", "sw", "in", "pr", "isnull", "and", "or", "not",
];

pub(crate) fn arb_field() -> impl Strategy<Value = String> {
    "[a-zA-Z_][a-zA-Z0-9_]{0,6}(\\.[a-zA-Z_][a-zA-Z0-9_]{0,6}){0,2}"
        .prop_filter("reserved word", |f| !RESERVED.contains(&f.as_str()))
}

pub(crate) fn arb_binop() -> impl Strategy<Value = Op> {
    prop::sample::select(
        Op::ALL
            .into_iter()
            .filter(|op| op.is_binary())
            .collect::<Vec<_>>(),
    )
}

pub(crate) fn arb_datetime() -> impl Strategy<Value = DateTime<FixedOffset>> {
    // Local times stay within years 0000..=9999 (RFC 3339 needs 4 digits).
    let min = -62_167_219_200_i64 + 86_400; // 0000-01-02
    let max = 253_402_300_799_i64 - 86_400; // 9999-12-30
    let nanos = prop_oneof![
        Just(0u32),
        (0u32..1000).prop_map(|ms| ms * 1_000_000),
        (0u32..1_000_000).prop_map(|us| us * 1000),
        0u32..1_000_000_000,
    ];
    (min..=max, nanos, -18 * 60..=18 * 60i32).prop_map(|(secs, nanos, offset_min)| {
        let utc = DateTime::from_timestamp(secs, nanos).unwrap();
        utc.with_timezone(&FixedOffset::east_opt(offset_min * 60).unwrap())
    })
}

pub(crate) fn arb_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<String>().prop_map(Value::Str),
        "[a-z\"\\\\ %_+]{0,6}".prop_map(Value::Str),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|i| Value::Num(Number::Int(i))),
        any::<f64>()
            .prop_filter("finite", |x| x.is_finite())
            .prop_map(|x| Value::Num(Number::Float(x))),
        (-1000i32..1000, 0u32..4).prop_map(|(m, scale)| Value::Num(Number::Float(
            f64::from(m) / f64::from(10u32.pow(scale))
        ))),
        arb_datetime().prop_map(Value::DateTime),
    ]
}

/// Any tree the grammar can express (fields and values unchecked).
pub(crate) fn arb_expr() -> impl Strategy<Value = Expr> {
    let leaf = prop_oneof![
        (arb_field(), arb_binop(), arb_value()).prop_map(|(field, op, value)| Expr::Cmp {
            field,
            op,
            value
        }),
        (arb_field(), vec(arb_value(), 1..5))
            .prop_map(|(field, values)| Expr::In { field, values }),
        arb_field().prop_map(Expr::Pr),
        arb_field().prop_map(Expr::IsNull),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 2..4).prop_map(Expr::And),
            vec(inner.clone(), 2..4).prop_map(Expr::Or),
            inner.prop_map(|e| Expr::Not(Box::new(e))),
        ]
    })
}

/// Marker put in front of every generated string value.
pub(crate) const MARK: char = '§';

fn marked() -> impl Strategy<Value = Value> {
    any::<String>().prop_map(|s| Value::Str(format!("{MARK}{s}")))
}

/// Expressions that are valid for `TEST_SPEC`, with marked string values.
pub(crate) fn arb_typed_expr() -> impl Strategy<Value = Expr> {
    let non_like = || arb_binop().prop_filter("not co/sw", |op| !matches!(op, Op::Co | Op::Sw));
    let str_field = || prop::sample::select(vec!["s", "members.id"]).prop_map(String::from);
    let any_field =
        || prop::sample::select(vec!["s", "b", "d", "n", "members.id"]).prop_map(String::from);
    let number = prop_oneof![
        any::<i64>().prop_map(Number::Int),
        any::<f64>()
            .prop_filter("finite", |x| x.is_finite())
            .prop_map(Number::Float),
    ];
    let leaf = prop_oneof![
        (str_field(), arb_binop(), marked()).prop_map(|(field, op, value)| Expr::Cmp {
            field,
            op,
            value
        }),
        (str_field(), vec(marked(), 1..5)).prop_map(|(field, values)| Expr::In { field, values }),
        (
            any_field(),
            prop::sample::select(vec![Op::Co, Op::Sw]),
            marked()
        )
            .prop_map(|(field, op, value)| Expr::Cmp { field, op, value }),
        (non_like(), any::<bool>()).prop_map(|(op, b)| cmp("b", op, Value::Bool(b))),
        (non_like(), number).prop_map(|(op, n)| cmp("n", op, Value::Num(n))),
        (non_like(), arb_datetime()).prop_map(|(op, d)| cmp("d", op, Value::DateTime(d))),
        vec(arb_datetime().prop_map(Value::DateTime), 1..4).prop_map(|values| Expr::In {
            field: "d".into(),
            values
        }),
        any_field().prop_map(Expr::Pr),
        any_field().prop_map(Expr::IsNull),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 1..4).prop_map(Expr::And),
            vec(inner.clone(), 1..4).prop_map(Expr::Or),
            inner.prop_map(|e| Expr::Not(Box::new(e))),
        ]
    })
}

/// Text over the filter grammar's characters.
pub(crate) const FILTER_ALPHABET: &str = "[a-zA-Z0-9 .,()\"\\\\:+_%-]{0,60}";

const FILTER_TOKENS: &[&str] = &[
    "name",
    "owner.id",
    "created",
    "d",
    "s",
    "b",
    "n",
    "members.id",
    " eq ",
    " ne ",
    " gt ",
    " ge ",
    " lt ",
    " le ",
    " co ",
    " sw ",
    " in ",
    "pr ",
    " isnull",
    " and ",
    " or ",
    "not ",
    "(",
    ")",
    ",",
    "\"x\"",
    "\"a\\\"b\"",
    "true",
    "false",
    "1",
    "-2.5",
    "2020-01-01T00:00:00Z",
    "2020-01-01T00:00:00.123+02:00",
    " ",
    "EQ",
    "\"",
];

/// Filter-like text made of the grammar's tokens.
pub(crate) fn token_soup() -> impl Strategy<Value = String> {
    vec(prop::sample::select(FILTER_TOKENS), 0..16).prop_map(|t| t.concat())
}

/// An endpoint with `filters` / `sorters` documented in the API specification.
pub(crate) struct Case {
    pub version: &'static str,
    pub operation_id: &'static str,
    pub filters: Option<&'static FilterSpec>,
    pub sorters: &'static SortSpec,
    pub max_limit: i64,
}

/// Every endpoint with `filters` or `sorters` whose documentation lists its fields.
pub(crate) fn cases() -> Vec<Case> {
    let case = |version, operation_id, filters, sorters, max_limit| Case {
        version,
        operation_id,
        filters,
        sorters,
        max_limit,
    };
    let mut cases = vec![
        case(
            "v3",
            "listAccessProfiles",
            Some(&LIST_ACCESS_PROFILES_FILTERS),
            &LIST_ACCESS_PROFILES_SORTERS,
            LIST_MAX_LIMIT,
        ),
        case(
            "beta",
            "listAccessProfiles",
            Some(&LIST_ACCESS_PROFILES_FILTERS),
            &LIST_ACCESS_PROFILES_SORTERS,
            LIST_MAX_LIMIT,
        ),
        case(
            "v1",
            "listAccessProfilesV1",
            Some(&LIST_ACCESS_PROFILES_FILTERS),
            &LIST_ACCESS_PROFILES_SORTERS,
            LIST_MAX_LIMIT,
        ),
        case(
            "v3",
            "listRoles",
            Some(&LIST_ROLES_FILTERS),
            &LIST_ROLES_SORTERS,
            LIST_ROLES_MAX_LIMIT,
        ),
        case(
            "beta",
            "listRoles",
            Some(&LIST_ROLES_FILTERS),
            &LIST_ROLES_SORTERS,
            LIST_ROLES_MAX_LIMIT,
        ),
        case(
            "v1",
            "listRolesV1",
            Some(&LIST_ROLES_FILTERS),
            &LIST_ROLES_SORTERS,
            LIST_ROLES_MAX_LIMIT,
        ),
        case(
            "v3",
            "listSources",
            Some(&LIST_SOURCES_FILTERS),
            &LIST_SOURCES_SORTERS,
            LIST_MAX_LIMIT,
        ),
        case(
            "beta",
            "listEntitlements",
            Some(&LIST_ENTITLEMENTS_FILTERS),
            &LIST_ENTITLEMENTS_SORTERS,
            LIST_MAX_LIMIT,
        ),
        case(
            "v1",
            "listEntitlementsV1",
            Some(&LIST_ENTITLEMENTS_V1_FILTERS),
            &LIST_ENTITLEMENTS_SORTERS,
            LIST_MAX_LIMIT,
        ),
        case(
            "beta",
            "listIdentities",
            Some(&LIST_IDENTITIES_FILTERS),
            &LIST_IDENTITIES_SORTERS,
            LIST_MAX_LIMIT,
        ),
        case(
            "v1",
            "listIdentitiesV1",
            Some(&LIST_IDENTITIES_FILTERS),
            &LIST_IDENTITIES_SORTERS,
            LIST_MAX_LIMIT,
        ),
        case(
            "v3",
            "getPublicIdentities",
            Some(&GET_PUBLIC_IDENTITIES_FILTERS),
            &GET_PUBLIC_IDENTITIES_SORTERS,
            LIST_MAX_LIMIT,
        ),
        case(
            "beta",
            "listWorkgroups",
            Some(&LIST_WORKGROUPS_FILTERS),
            &LIST_WORKGROUPS_SORTERS,
            LIST_MAX_LIMIT,
        ),
        case(
            "v1",
            "listWorkgroupsV1",
            Some(&LIST_WORKGROUPS_FILTERS),
            &LIST_WORKGROUPS_SORTERS,
            LIST_MAX_LIMIT,
        ),
        case(
            "v3",
            "getAccessProfileEntitlements",
            Some(&GET_ACCESS_PROFILE_ENTITLEMENTS_FILTERS),
            &GET_ACCESS_PROFILE_ENTITLEMENTS_SORTERS,
            LIST_MAX_LIMIT,
        ),
        case(
            "beta",
            "getAccessProfileEntitlements",
            Some(&GET_ACCESS_PROFILE_ENTITLEMENTS_FILTERS),
            &GET_ACCESS_PROFILE_ENTITLEMENTS_SORTERS,
            LIST_MAX_LIMIT,
        ),
        case(
            "v1",
            "getAccessProfileEntitlementsV1",
            Some(&GET_ACCESS_PROFILE_ENTITLEMENTS_FILTERS),
            &GET_ACCESS_PROFILE_ENTITLEMENTS_SORTERS,
            LIST_MAX_LIMIT,
        ),
        case(
            "beta",
            "getTaskStatusList",
            Some(&GET_TASK_STATUS_LIST_FILTERS),
            &GET_TASK_STATUS_LIST_SORTERS,
            LIST_MAX_LIMIT,
        ),
        case(
            "v1",
            "getTaskStatusListV1",
            Some(&GET_TASK_STATUS_LIST_V1_FILTERS),
            &GET_TASK_STATUS_LIST_SORTERS,
            LIST_MAX_LIMIT,
        ),
        case(
            "beta",
            "listAvailableSourceApps",
            Some(&LIST_AVAILABLE_SOURCE_APPS_FILTERS),
            &LIST_AVAILABLE_SOURCE_APPS_SORTERS,
            LIST_MAX_LIMIT,
        ),
        case(
            "beta",
            "listAllSourceApp",
            Some(&LIST_ALL_SOURCE_APP_FILTERS),
            &LIST_ALL_SOURCE_APP_SORTERS,
            LIST_MAX_LIMIT,
        ),
        case(
            "beta",
            "listAssignedSourceApp",
            Some(&LIST_ASSIGNED_SOURCE_APP_FILTERS),
            &LIST_ASSIGNED_SOURCE_APP_SORTERS,
            LIST_MAX_LIMIT,
        ),
        case(
            "beta",
            "listAccessProfilesForSourceApp",
            Some(&LIST_ACCESS_PROFILES_FOR_SOURCE_APP_FILTERS),
            &LIST_ACCESS_PROFILES_FOR_SOURCE_APP_SORTERS,
            LIST_MAX_LIMIT,
        ),
        case(
            "v1",
            "listAvailableSourceAppsV1",
            Some(&LIST_AVAILABLE_SOURCE_APPS_FILTERS),
            &LIST_AVAILABLE_SOURCE_APPS_SORTERS,
            LIST_MAX_LIMIT,
        ),
        case(
            "v1",
            "listAllSourceAppV1",
            Some(&LIST_ALL_SOURCE_APP_FILTERS),
            &LIST_ALL_SOURCE_APP_SORTERS,
            LIST_MAX_LIMIT,
        ),
        case(
            "v1",
            "listAssignedSourceAppV1",
            Some(&LIST_ASSIGNED_SOURCE_APP_FILTERS),
            &LIST_ASSIGNED_SOURCE_APP_SORTERS,
            LIST_MAX_LIMIT,
        ),
        case(
            "v1",
            "listAccessProfilesForSourceAppV1",
            Some(&LIST_ACCESS_PROFILES_FOR_SOURCE_APP_FILTERS),
            &LIST_ACCESS_PROFILES_FOR_SOURCE_APP_SORTERS,
            LIST_MAX_LIMIT,
        ),
        case(
            "beta",
            "listWorkgroupMembers",
            None,
            &LIST_WORKGROUP_MEMBERS_SORTERS,
            LIST_WORKGROUP_MEMBERS_MAX_LIMIT,
        ),
        case(
            "v1",
            "listWorkgroupMembersV1",
            None,
            &LIST_WORKGROUP_MEMBERS_SORTERS,
            LIST_WORKGROUP_MEMBERS_MAX_LIMIT,
        ),
    ];
    // The year-versioned families document the lists of v3 (or beta, for what v3
    // lacks), except the task list and the entitlements, which differ by year.
    let year_specific = [
        ("v2024", "getTaskStatusList", &GET_TASK_STATUS_LIST_FILTERS),
        (
            "v2025",
            "getTaskStatusList",
            &GET_TASK_STATUS_LIST_V2025_FILTERS,
        ),
        (
            "v2026",
            "getTaskStatusList",
            &GET_TASK_STATUS_LIST_V1_FILTERS,
        ),
        ("v2024", "listEntitlements", &LIST_ENTITLEMENTS_FILTERS),
        ("v2025", "listEntitlements", &LIST_ENTITLEMENTS_FILTERS),
        ("v2026", "listEntitlements", &LIST_ENTITLEMENTS_V1_FILTERS),
    ];
    let mut year = Vec::new();
    for version in ["v2024", "v2025", "v2026"] {
        for c in cases
            .iter()
            .filter(|c| c.version == "v3" || c.version == "beta")
        {
            let in_v3 = cases
                .iter()
                .any(|o| o.version == "v3" && o.operation_id == c.operation_id);
            if c.version == "beta" && in_v3 {
                continue;
            }
            let filters = year_specific
                .iter()
                .find(|(v, id, _)| *v == version && *id == c.operation_id)
                .map(|(_, _, spec)| *spec)
                .or(c.filters);
            year.push(case(
                version,
                c.operation_id,
                filters,
                c.sorters,
                c.max_limit,
            ));
        }
    }
    cases.extend(year);
    cases
}

/// The sort specs of endpoints without `filters`, besides those in [`cases`]:
/// operationId and spec.
pub(crate) fn sorter_only_specs() -> Vec<(&'static str, &'static SortSpec)> {
    vec![
        ("getLifecycleStates", &specs::GET_LIFECYCLE_STATES_SORTERS),
        ("getLifecycleStatesV1", &specs::GET_LIFECYCLE_STATES_SORTERS),
        ("listSegments", &specs::LIST_SEGMENTS_ORDER),
        ("getPendingTasks", &specs::GET_PENDING_TASKS_SORTERS),
    ]
}
