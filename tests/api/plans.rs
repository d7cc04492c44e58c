//! Query plans of the big lists (CONTRACT §5 collection parameters), on the test
//! backend: a page at a deep offset, in either direction of every sorter, is read
//! along an index instead of sorting every row, and `name sw` finds its rows through
//! the lower(name) index. The statements are the ones the store runs to choose a
//! page's keys and to count (`list_statements`), for queries checked against the
//! server's allow-lists (`compile_filter`, `sort_order`).

use accessd::domain::new_id;
use accessd::query::{compile_filter, sort_order, specs, FilterSpec, Paging, SortSpec};
use accessd::store::db::Param;
use accessd::store::{list_statements, Backend, ListQuery, Listed};
use sqlx::{Connection, Row};

use crate::helpers::*;

/// Enough rows that a full scan and a sort would be a real cost; few enough to seed
/// in a moment.
const ROWS: usize = 3000;

enum Conn {
    Sqlite(sqlx::SqliteConnection),
    Postgres(sqlx::PgConnection),
}

impl Conn {
    async fn open(url: &str) -> Self {
        match backend() {
            Backend::Sqlite => Conn::Sqlite(sqlx::SqliteConnection::connect(url).await.unwrap()),
            Backend::Postgres => Conn::Postgres(sqlx::PgConnection::connect(url).await.unwrap()),
        }
    }

    async fn execute(&mut self, sql: &str) {
        match self {
            Conn::Sqlite(c) => sqlx::raw_sql(sql).execute(c).await.map(|_| ()),
            Conn::Postgres(c) => sqlx::raw_sql(sql).execute(c).await.map(|_| ()),
        }
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// The plan of `sql` with `binds`, one line per node.
    async fn plan(&mut self, sql: &str, binds: &[Param]) -> Vec<String> {
        let rows = match self {
            Conn::Sqlite(c) => {
                let text = format!("EXPLAIN QUERY PLAN {sql}");
                let mut query = sqlx::query(&text);
                for b in binds {
                    query = match b {
                        Param::Text(t) => query.bind(t.clone()),
                        Param::Bool(v) => query.bind(*v),
                        Param::Int(i) => query.bind(*i),
                        Param::Float(f) => query.bind(*f),
                        Param::Null => query.bind(None::<String>),
                    };
                }
                query
                    .fetch_all(c)
                    .await
                    .map(|rows| rows.iter().map(|r| r.get("detail")).collect())
            }
            // The generic plan, which PostgreSQL settles on for a statement the
            // server runs again and again, and which cannot look at the values (a
            // custom plan may turn `lower(name) LIKE 'x%'` into a range by itself).
            Conn::Postgres(c) => {
                let values: Vec<String> = binds.iter().map(literal).collect();
                let execute = if values.is_empty() {
                    "EXECUTE plan_probe".to_string()
                } else {
                    format!("EXECUTE plan_probe({})", values.join(", "))
                };
                let prepare = format!("PREPARE plan_probe AS {sql}");
                let explained = async {
                    sqlx::raw_sql(&prepare).execute(&mut *c).await?;
                    let plan = sqlx::query(&format!("EXPLAIN (COSTS OFF) {execute}"))
                        .fetch_all(&mut *c)
                        .await;
                    sqlx::raw_sql("DEALLOCATE plan_probe")
                        .execute(&mut *c)
                        .await?;
                    plan.map(|rows| rows.iter().map(|r| r.get(0)).collect())
                };
                explained.await
            }
        };
        rows.unwrap_or_else(|e| panic!("{sql}: {e}"))
    }
}

/// A bind as an SQL literal, for `EXECUTE` (test values only).
fn literal(v: &Param) -> String {
    match v {
        Param::Text(t) => format!("'{}'", t.replace('\'', "''")),
        Param::Bool(b) => b.to_string(),
        Param::Int(i) => i.to_string(),
        Param::Float(f) => f.to_string(),
        Param::Null => "NULL".to_string(),
    }
}

/// A server whose database holds `ROWS` access profiles and as many roles, named
/// `Profile 00000`… and `Role 00000`…, half of them requestable, with many equal
/// `created` and `modified` values; and a connection of the test's own to it.
async fn seeded() -> (TestApp, Conn) {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let mut conn = Conn::open(&app.database_url).await;
    let (o, s) = (&f.owner.id, &f.source.id);
    let at = |i: usize, salt: usize| {
        let n = (i * salt) % 997;
        format!(
            "2026-{:02}-{:02}T00:00:{:02}.000Z",
            1 + n % 12,
            1 + n % 28,
            n % 60
        )
    };
    let flag = |i: usize| if i.is_multiple_of(2) { "TRUE" } else { "FALSE" };
    for chunk in (0..ROWS).collect::<Vec<_>>().chunks(500) {
        let profiles: Vec<String> = chunk
            .iter()
            .map(|&i| {
                format!(
                    "('{}', 'Profile {i:05}', '{o}', '{s}', TRUE, {}, '{}', '{}')",
                    new_id(),
                    flag(i),
                    at(i, 7),
                    at(i, 13)
                )
            })
            .collect();
        conn.execute(&format!(
            "INSERT INTO access_profiles \
             (id, name, owner_id, source_id, enabled, requestable, created, modified) VALUES {}",
            profiles.join(", ")
        ))
        .await;
        let roles: Vec<String> = chunk
            .iter()
            .map(|&i| {
                format!(
                    "('{}', 'Role {i:05}', '{o}', TRUE, {}, '{}', '{}')",
                    new_id(),
                    flag(i),
                    at(i, 7),
                    at(i, 13)
                )
            })
            .collect();
        conn.execute(&format!(
            "INSERT INTO roles (id, name, owner_id, enabled, requestable, created, modified) \
             VALUES {}",
            roles.join(", ")
        ))
        .await;
    }
    if let Conn::Postgres(_) = conn {
        // What autovacuum leaves on a real database: statistics, and a visibility
        // map that lets an index answer alone. With so few rows the planner would
        // still rather scan and sort than walk an index; the question here is whether
        // an index *can* serve the statement, so scans are priced out for this
        // connection only.
        for table in ["access_profiles", "roles"] {
            conn.execute(&format!("VACUUM ANALYZE {table}")).await;
        }
        conn.execute("SET enable_seqscan = off; SET plan_cache_mode = force_generic_plan")
            .await;
    }
    (app, conn)
}

/// Asserts that the plan reads `index` and neither scans the table nor sorts.
fn assert_index_order(plan: &[String], index: &str, what: &str) {
    let all = plan.join("\n");
    assert!(all.contains(index), "{what}: not along {index}:\n{all}");
    for line in plan {
        let sorts = line.contains("TEMP B-TREE") || line.contains("Sort");
        let scans =
            line.contains("Seq Scan") || (line.starts_with("SCAN ") && !line.contains("INDEX"));
        assert!(!sorts && !scans, "{what}: {line}\n{all}");
    }
}

/// The statements of a list's page (`sort`, `filter`, 50 rows at `offset`): the one
/// choosing the page's keys, and the count.
fn page_statements(
    list: Listed,
    filters: &FilterSpec,
    filter: Option<&str>,
    sorters: &SortSpec,
    sort: &str,
    offset: usize,
) -> [(String, Vec<Param>); 2] {
    let q = ListQuery {
        filter: compile_filter(filter, filters).unwrap(),
        sort: sort_order(Some(sort), sorters).unwrap(),
        paging: Paging {
            limit: 50,
            offset: offset as i64,
            count: true,
        },
    };
    list_statements(list, &q).unwrap()
}

#[tokio::test]
async fn deep_pages_in_either_direction_are_read_along_an_index() {
    let (_app, mut conn) = seeded().await;
    if let Conn::Postgres(_) = conn {
        // Only an index that delivers the order avoids a sort now (an incremental sort
        // over the unique name index is a sort too, and priced out with the others).
        conn.execute("SET enable_sort = off; SET enable_incremental_sort = off")
            .await;
    }
    let lists = [
        (
            "access_profiles",
            Listed::AccessProfiles,
            &specs::LIST_ACCESS_PROFILES_FILTERS,
            &specs::LIST_ACCESS_PROFILES_SORTERS,
        ),
        (
            "roles",
            Listed::Roles,
            &specs::LIST_ROLES_FILTERS,
            &specs::LIST_ROLES_SORTERS,
        ),
    ];
    for (table, list, filters, sorters) in lists {
        for field in ["created", "modified", "name"] {
            for sort in [field.to_string(), format!("-{field}")] {
                let [(sql, binds), _] =
                    page_statements(list, filters, None, sorters, &sort, ROWS - 100);
                let plan = conn.plan(&sql, &binds).await;
                assert_index_order(&plan, &format!("{table}_{field}_idx"), &sql);
            }
        }
    }
}

#[tokio::test]
async fn name_starts_with_finds_its_rows_through_the_lower_name_index() {
    let (_app, mut conn) = seeded().await;
    let cases = [
        (
            "access_profiles",
            Listed::AccessProfiles,
            &specs::LIST_ACCESS_PROFILES_FILTERS,
            &specs::LIST_ACCESS_PROFILES_SORTERS,
            r#"name sw "profile 0012" and requestable eq true"#,
        ),
        (
            "roles",
            Listed::Roles,
            &specs::LIST_ROLES_FILTERS,
            &specs::LIST_ROLES_SORTERS,
            r#"name sw "ROLE 0012""#,
        ),
    ];
    for (table, list, filters, sorters, filter) in cases {
        let index = format!("{table}_name_lower_idx");
        let [(keys, key_binds), (count, count_binds)] =
            page_statements(list, filters, Some(filter), sorters, "-created", 0);
        // The page, sorted on another column: the few matches are found through the
        // name index and then sorted, not the whole table walked in created order.
        let plan = conn.plan(&keys, &key_binds).await.join("\n");
        assert!(plan.contains(&index), "{keys}:\n{plan}");
        assert!(!plan.contains("Seq Scan"), "{keys}:\n{plan}");
        // And its count.
        let (sql, binds) = (count, count_binds);
        let plan = conn.plan(&sql, &binds).await.join("\n");
        assert!(plan.contains(&index), "{sql}:\n{plan}");
    }
}
