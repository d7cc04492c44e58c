//! The per-endpoint allow-lists in `specs.rs` against the API documentation in
//! `spec/{v3,beta,v1}.json`, plus accept / reject case tables for every field
//! and operator.

use serde_json::Value as Json;

use super::specs::*;
use super::tests::sql_text;
use super::*;

struct Case {
    version: &'static str,
    operation_id: &'static str,
    filters: Option<&'static FilterSpec>,
    sorters: &'static SortSpec,
    max_limit: i64,
}

fn cases() -> Vec<Case> {
    let case = |version, operation_id, filters, sorters, max_limit| Case {
        version,
        operation_id,
        filters,
        sorters,
        max_limit,
    };
    vec![
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
            Some(&LIST_ACCESS_PROFILES_V1_FILTERS),
            &LIST_ACCESS_PROFILES_V1_SORTERS,
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
            Some(&LIST_ROLES_V1_FILTERS),
            &LIST_ROLES_V1_SORTERS,
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
            &LIST_ENTITLEMENTS_V1_SORTERS,
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
            Some(&LIST_IDENTITIES_V1_FILTERS),
            &LIST_IDENTITIES_V1_SORTERS,
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
            Some(&LIST_WORKGROUPS_V1_FILTERS),
            &LIST_WORKGROUPS_V1_SORTERS,
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
            &GET_TASK_STATUS_LIST_V1_SORTERS,
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
            &LIST_WORKGROUP_MEMBERS_V1_SORTERS,
            LIST_WORKGROUP_MEMBERS_MAX_LIMIT,
        ),
    ]
}

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
        let ours: Vec<&str> = case.sorters.fields.iter().map(|f| f.name).collect();
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

/// The condition on a plain column, written out independently of sql.rs.
fn expected_cond(col: &str, op: Op) -> String {
    match op {
        Op::Eq => format!("{col} = ?"),
        Op::Ne => format!("({col} <> ? OR {col} IS NULL)"),
        Op::Gt => format!("{col} > ?"),
        Op::Ge => format!("{col} >= ?"),
        Op::Lt => format!("{col} < ?"),
        Op::Le => format!("{col} <= ?"),
        Op::Co => format!("lower({col}) LIKE ? ESCAPE '\\'"),
        Op::Sw => {
            format!("(lower({col}) >= ? AND lower({col}) < ? AND lower({col}) LIKE ? ESCAPE '\\')")
        }
        Op::In => format!("{col} IN (?, ?)"),
        Op::Pr => format!("{col} IS NOT NULL"),
        Op::IsNull => format!("{col} IS NULL"),
    }
}

fn expected_bind(ty: FieldType, op: Op) -> Option<SqlValue> {
    Some(match (op, ty) {
        (Op::Pr | Op::IsNull, _) => return None,
        (Op::Sw, _) => SqlValue::Text("ab%".into()),
        (Op::Co, _) => SqlValue::Text("%ab%".into()),
        (_, FieldType::Str) => SqlValue::Text("Ab".into()),
        (_, FieldType::Bool) => SqlValue::Bool(true),
        (_, FieldType::DateTime) => SqlValue::Text("2019-12-31T23:00:00.000Z".into()),
        (_, FieldType::Num) => SqlValue::Int(7),
    })
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
                    let (sql, binds) = sql_text(&result.unwrap().unwrap());
                    let cond = match fs.target {
                        Target::Column(col) => expected_cond(col, op),
                        Target::Subquery {
                            outer_col,
                            table,
                            select_col,
                            where_col,
                        } => format!(
                            "{outer_col} IN (SELECT {select_col} FROM {table} WHERE {})",
                            expected_cond(where_col, op)
                        ),
                    };
                    assert_eq!(sql, cond, "{ctx}: {input}");
                    let bind = expected_bind(fs.ty, op);
                    let expected: Vec<SqlValue> = match op {
                        Op::In => vec![bind; 2].into_iter().flatten().collect(),
                        // The range on lower(col) comes before the pattern.
                        Op::Sw => ["ab", "ac"]
                            .map(|b| SqlValue::Text(b.into()))
                            .into_iter()
                            .chain(bind)
                            .collect(),
                        _ => bind.into_iter().collect(),
                    };
                    assert_eq!(binds, expected, "{ctx}: {input}");
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
        for f in spec.fields {
            let (column, tiebreak) = (f.column, spec.tiebreak);
            let nulls = if f.not_null { "" } else { " NULLS LAST" };
            let expected = |dir: &str| {
                if column == tiebreak {
                    format!("ORDER BY {column} {dir}{nulls}")
                } else {
                    format!("ORDER BY {column} {dir}{nulls}, {tiebreak} {dir}")
                }
            };
            assert_eq!(
                sort_clause(Some(f.name), spec).unwrap(),
                expected("ASC"),
                "{ctx}"
            );
            assert_eq!(
                sort_clause(Some(&format!("-{}", f.name)), spec).unwrap(),
                expected("DESC"),
                "{ctx}"
            );
        }
        for field in spec.unsupported {
            assert_eq!(
                sort_clause(Some(field), spec).unwrap_err().to_string(),
                format!("sorter field '{field}' is not supported by accessd yet"),
                "{ctx}"
            );
        }
        let dir = |desc: bool| if desc { "DESC" } else { "ASC" };
        let mut default: Vec<String> = spec
            .default
            .iter()
            .map(|s| {
                let nulls = if s.not_null { "" } else { " NULLS LAST" };
                format!("{} {}{nulls}", s.column, dir(s.desc))
            })
            .collect();
        let last_desc = spec.default.last().is_some_and(|s| s.desc);
        default.push(format!("{} {}", spec.tiebreak, dir(last_desc)));
        assert_eq!(
            sort_clause(None, spec).unwrap(),
            format!("ORDER BY {}", default.join(", ")),
            "{ctx}"
        );
    }
}

/// Every sort key marked NOT NULL is a NOT NULL column in the migrated schema, and
/// every one marked nullable may hold NULL: a wrong mark would either sort NULLs
/// differently on the two backends or keep an index from serving the order.
#[tokio::test]
async fn sort_keys_are_marked_not_null_exactly_when_the_schema_says_so() {
    use sqlx::Connection;
    let mut conn = sqlx::SqliteConnection::connect("sqlite::memory:")
        .await
        .unwrap();
    // The SQLite migrations themselves (the query layer knows no store).
    sqlx::migrate!("./migrations/sqlite")
        .run(&mut conn)
        .await
        .unwrap();
    // The table behind each alias the specs use (see the `specs` module docs).
    let table = |alias: &str| match alias {
        "ap" => "access_profiles",
        "r" => "roles",
        "s" => "sources",
        "e" => "entitlements",
        "i" => "identities",
        "g" => "governance_groups",
        "m" => "governance_group_members",
        "t" => "tasks",
        "ape" => "access_profile_entitlements",
        "ls" => "lifecycle_states",
        "sg" => "segments",
        "a" => "source_apps",
        "l" => "source_app_access_profiles",
        other => panic!("unknown alias {other}"),
    };
    let mut specs: Vec<&SortSpec> = cases().iter().map(|c| c.sorters).collect();
    specs.extend([
        &GET_LIFECYCLE_STATES_SORTERS,
        &GET_LIFECYCLE_STATES_V1_SORTERS,
        &LIST_SEGMENTS_ORDER,
        &GET_PENDING_TASKS_SORTERS,
    ]);
    let mut checked = 0;
    for spec in specs {
        let keys = spec
            .fields
            .iter()
            .map(|f| (f.column, f.not_null))
            .chain(spec.default.iter().map(|s| (s.column, s.not_null)))
            .chain([(spec.tiebreak, true)]);
        for (column, marked_not_null) in keys {
            let (alias, name) = column.split_once('.').unwrap();
            let not_null: Option<bool> = sqlx::query_scalar(
                "SELECT \"notnull\" <> 0 FROM pragma_table_info(?) WHERE name = ?",
            )
            .bind(table(alias))
            .bind(name)
            .fetch_optional(&mut conn)
            .await
            .unwrap();
            assert_eq!(not_null, Some(marked_not_null), "{column}");
            checked += 1;
        }
    }
    assert!(checked > 100, "{checked}");
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
            &LIST_ACCESS_PROFILES_V1_FILTERS,
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
            &LIST_ROLES_V1_FILTERS,
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
            &LIST_IDENTITIES_V1_FILTERS,
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
            &LIST_WORKGROUPS_V1_FILTERS,
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
            &sort_clause(Some(input), spec).unwrap_err().to_string(),
            expected,
            "{input}"
        );
    }
}

/// Representative accepted filters with their exact SQL.
#[test]
fn representative_sql() {
    let t = |v: &str| SqlValue::Text(v.to_string());
    let cases: Vec<(&FilterSpec, &str, &str, Vec<SqlValue>)> = vec![
        (
            &LIST_ACCESS_PROFILES_FILTERS,
            r#"source.id eq "2c9180835d191a86015d28455b4a2329" and requestable eq true and name sw "Acc_""#,
            "(ap.source_id = ? AND ap.requestable = ? AND (lower(ap.name) >= ? AND lower(ap.name) < ? AND lower(ap.name) LIKE ? ESCAPE '\\'))",
            vec![
                t("2c9180835d191a86015d28455b4a2329"),
                SqlValue::Bool(true),
                t("acc_"),
                t("acc`"),
                t("acc\\_%"),
            ],
        ),
        (
            &LIST_ACCESS_PROFILES_FILTERS,
            r#"owner.id in ("a","b") or created gt 2021-03-01T22:32:58.104Z"#,
            "(ap.owner_id IN (?, ?) OR ap.created > ?)",
            vec![t("a"), t("b"), t("2021-03-01T22:32:58.104Z")],
        ),
        (
            &LIST_ROLES_FILTERS,
            r#"dimensional eq false and owner.id in ("a") and modified lt 2021-03-01T22:32:58.104Z"#,
            "(r.dimensional = ? AND r.owner_id IN (?) AND r.modified < ?)",
            vec![SqlValue::Bool(false), t("a"), t("2021-03-01T22:32:58.104Z")],
        ),
        (
            &LIST_SOURCES_FILTERS,
            r#"authoritative ne true and (healthy isnull or managementWorkgroup.id isnull)"#,
            "((s.authoritative <> ? OR s.authoritative IS NULL) AND (s.healthy IS NULL OR s.management_workgroup_id IS NULL))",
            vec![SqlValue::Bool(true)],
        ),
        (
            &LIST_SOURCES_FILTERS,
            r#"name co "AD" and connectorName ge "a""#,
            "(lower(s.name) LIKE ? ESCAPE '\\' AND s.connector_name >= ?)",
            vec![t("%ad%"), t("a")],
        ),
        (
            &LIST_ENTITLEMENTS_V1_FILTERS,
            r#"attribute eq "memberOf" and value sw "CN=""#,
            "(e.attribute = ? AND (lower(e.value) >= ? AND lower(e.value) < ? AND lower(e.value) LIKE ? ESCAPE '\\'))",
            vec![t("memberOf"), t("cn="), t("cn>"), t("cn=%")],
        ),
        (
            &LIST_IDENTITIES_FILTERS,
            r#"firstname sw "Jo" and processingState eq "ERROR""#,
            "((lower(i.first_name) >= ? AND lower(i.first_name) < ? AND lower(i.first_name) LIKE ? ESCAPE '\\') AND i.processing_state = ?)",
            vec![t("jo"), t("jp"), t("jo%"), t("ERROR")],
        ),
        (
            &GET_PUBLIC_IDENTITIES_FILTERS,
            r#"email eq "a@b.c""#,
            "i.email = ?",
            vec![t("a@b.c")],
        ),
        (
            &LIST_WORKGROUPS_FILTERS,
            r#"memberships.identityId in ("i1", "i2") and name sw "Eng""#,
            "(g.id IN (SELECT group_id FROM governance_group_members WHERE identity_id IN (?, ?)) AND (lower(g.name) >= ? AND lower(g.name) < ? AND lower(g.name) LIKE ? ESCAPE '\\'))",
            vec![t("i1"), t("i2"), t("eng"), t("enh"), t("eng%")],
        ),
    ];
    for (spec, input, sql, binds) in cases {
        let pieces = compile_filter(Some(input), spec).unwrap().unwrap();
        assert_eq!(sql_text(&pieces), (sql.to_string(), binds), "{input}");
    }
    assert_eq!(
        sort_clause(Some("-created,name"), &LIST_WORKGROUP_MEMBERS_SORTERS).unwrap(),
        "ORDER BY m.created DESC, i.name ASC, i.id ASC"
    );
    assert_eq!(
        sort_clause(None, &GET_ACCESS_PROFILE_ENTITLEMENTS_SORTERS).unwrap(),
        "ORDER BY ape.position ASC, e.id ASC"
    );
    assert_eq!(
        sort_clause(Some("value"), &GET_ACCESS_PROFILE_ENTITLEMENTS_SORTERS).unwrap(),
        "ORDER BY e.value ASC, e.id ASC"
    );
    assert_eq!(
        sort_clause(Some("managementWorkgroup.id,-id"), &LIST_SOURCES_SORTERS).unwrap(),
        "ORDER BY s.management_workgroup_id ASC NULLS LAST, s.id DESC"
    );
}

/// getLifecycleStates (v3) and getLifecycleStatesV1: sorters only, paging up to 250.
#[test]
fn lifecycle_state_sorters_match_the_api_documentation() {
    for (version, operation_id, spec) in [
        ("v3", "getLifecycleStates", &GET_LIFECYCLE_STATES_SORTERS),
        (
            "v1",
            "getLifecycleStatesV1",
            &GET_LIFECYCLE_STATES_V1_SORTERS,
        ),
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
        let ours: Vec<&str> = spec.fields.iter().map(|f| f.name).collect();
        assert_eq!(ours, documented, "{ctx}");
        for f in spec.fields {
            let nulls = if f.not_null { "" } else { " NULLS LAST" };
            assert_eq!(
                sort_clause(Some(&format!("-{}", f.name)), spec).unwrap(),
                format!("ORDER BY {} DESC{nulls}, ls.id DESC", f.column),
                "{ctx}"
            );
        }
        assert_eq!(
            sort_clause(Some("-priority"), spec).unwrap(),
            "ORDER BY ls.priority DESC NULLS LAST, ls.id DESC",
            "{ctx}"
        );
        assert_eq!(
            sort_clause(None, spec).unwrap(),
            "ORDER BY ls.created ASC, ls.id ASC",
            "{ctx}"
        );
        assert_eq!(
            sort_clause(Some("identityCount"), spec).unwrap_err().to_string(),
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
        sort_clause(None, &LIST_SEGMENTS_ORDER).unwrap(),
        "ORDER BY sg.created ASC, sg.id ASC"
    );
}
