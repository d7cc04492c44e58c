//! Schema parity (STYLE habit 7): `migrations/sqlite` and `migrations/postgres`
//! must build the same database. Each folder is applied to a fresh database and the two
//! catalogs are compared: tables, columns in order with their nullability and type
//! family, foreign keys with their ON DELETE/ON UPDATE actions, indexes (shape of
//! every index, names of the explicitly created ones) and the names of UNIQUE and CHECK
//! constraints (not their expressions). Every UNIQUE and CHECK constraint must be
//! named (`CONSTRAINT x_key UNIQUE (...)`): PostgreSQL names the unnamed ones itself
//! and SQLite does not, so an unnamed one shows up as a difference. A second test checks that 0004
//! moves legacy `doc.segments` data the same way on both backends.
//!
//! PostgreSQL comes from `TEST_DATABASE_URL` (each test creates, then drops, its own
//! `accessd_test_<random>` database). Both tests need it, so they are `#[ignore]`d in
//! a plain `cargo test` (listed as ignored, never as passed) and run in the PostgreSQL
//! pass of `scripts/test.sh` (`--include-ignored`); run without the URL, they fail.

// Tests, benchmarks and tools may panic (the `[lints]` table denies it for the server).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::todo)]

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde_json::Value;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::sqlite::SqliteConnection;
use sqlx::{ConnectOptions, Connection, Row};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn migrations(backend: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(backend)
}

/// A column as both catalogs can describe it. `family` folds the backends' types
/// together: SQLite's INTEGER is PostgreSQL's BIGINT or (for a 0/1 flag) BOOLEAN.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Column {
    name: String,
    not_null: bool,
    family: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct ForeignKey {
    table: String,
    columns: Vec<String>,
    references: String,
    referenced_columns: Vec<String>,
    on_delete: String,
    on_update: String,
}

/// Every index by what it does; constraint-backed ones have backend-specific names
/// (`sqlite_autoindex_…` vs `…_pkey`), so only explicit `CREATE INDEX` names are kept.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Index {
    table: String,
    columns: Vec<String>,
    unique: bool,
    primary: bool,
    name: Option<String>,
}

#[derive(Debug, Default, PartialEq, Eq)]
struct Schema {
    tables: BTreeMap<String, Vec<Column>>,
    foreign_keys: BTreeSet<ForeignKey>,
    indexes: BTreeSet<Index>,
    /// Named UNIQUE and CHECK constraints: (table, name, kind).
    constraints: BTreeSet<(String, String, String)>,
}

fn family(backend_type: &str) -> &'static str {
    match backend_type.to_ascii_lowercase().as_str() {
        "text" => "text",
        "integer" | "bigint" => "integer",
        "boolean" => "integer (0/1 flag)",
        _ => "other",
    }
}

async fn sqlite_schema(conn: &mut SqliteConnection) -> Result<Schema, BoxError> {
    let mut schema = Schema::default();
    let tables: Vec<(String, String)> = sqlx::query_as(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations' ORDER BY name",
    )
    .fetch_all(&mut *conn)
    .await?;
    for (table, sql) in tables {
        // SQLite keeps constraint names only in the CREATE TABLE text.
        let words: Vec<&str> = sql
            .split(|c: char| c.is_whitespace() || c == ',' || c == '(')
            .filter(|w| !w.is_empty())
            .collect();
        for w in words.windows(3) {
            let kind = w[2].to_ascii_uppercase();
            if w[0].eq_ignore_ascii_case("CONSTRAINT") && (kind == "UNIQUE" || kind == "CHECK") {
                schema
                    .constraints
                    .insert((table.clone(), w[1].to_string(), kind));
            }
        }

        let columns =
            sqlx::query("SELECT name, type, \"notnull\" FROM pragma_table_info(?) ORDER BY cid")
                .bind(&table)
                .fetch_all(&mut *conn)
                .await?
                .iter()
                .map(|r| Column {
                    name: r.get("name"),
                    not_null: r.get::<i64, _>("notnull") != 0,
                    // A flag is INTEGER in SQLite; its PostgreSQL twin is BOOLEAN. The catalog
                    // cannot tell, so the PostgreSQL side maps a BOOLEAN back (see `compare`).
                    family: family(r.get::<&str, _>("type")),
                })
                .collect();
        schema.tables.insert(table.clone(), columns);

        let mut fks: BTreeMap<i64, ForeignKey> = BTreeMap::new();
        for r in sqlx::query(
            "SELECT id, \"table\", \"from\", \"to\", on_update, on_delete \
             FROM pragma_foreign_key_list(?) ORDER BY id, seq",
        )
        .bind(&table)
        .fetch_all(&mut *conn)
        .await?
        {
            let fk = fks.entry(r.get("id")).or_insert_with(|| ForeignKey {
                table: table.clone(),
                columns: vec![],
                references: r.get("table"),
                referenced_columns: vec![],
                on_delete: r.get("on_delete"),
                on_update: r.get("on_update"),
            });
            fk.columns.push(r.get("from"));
            fk.referenced_columns.push(r.get("to"));
        }
        schema.foreign_keys.extend(fks.into_values());

        for r in sqlx::query("SELECT name, \"unique\", origin FROM pragma_index_list(?)")
            .bind(&table)
            .fetch_all(&mut *conn)
            .await?
        {
            let name: String = r.get("name");
            let origin: String = r.get("origin");
            // An expression column has no name; its text is in the CREATE INDEX.
            let names: Vec<Option<String>> =
                sqlx::query_scalar("SELECT name FROM pragma_index_info(?) ORDER BY seqno")
                    .bind(&name)
                    .fetch_all(&mut *conn)
                    .await?;
            let mut columns = Vec::with_capacity(names.len());
            for (i, column) in names.into_iter().enumerate() {
                columns.push(match column {
                    Some(column) => column,
                    None => {
                        let sql: String = sqlx::query_scalar(
                            "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?",
                        )
                        .bind(&name)
                        .fetch_one(&mut *conn)
                        .await?;
                        let item = index_items(&sql).into_iter().nth(i);
                        expression(&item.ok_or(format!("index {name}: no item {i} in {sql}"))?)
                    }
                });
            }
            schema.indexes.insert(Index {
                table: table.clone(),
                columns,
                unique: r.get::<i64, _>("unique") != 0,
                primary: origin == "pk",
                name: (origin == "c").then_some(name),
            });
        }
    }
    Ok(schema)
}

async fn postgres_schema(conn: &mut PgConnection) -> Result<Schema, BoxError> {
    let mut schema = Schema::default();
    for r in sqlx::query(
        "SELECT table_name::text AS tbl, column_name::text AS col, data_type::text AS ty, \
                is_nullable::text = 'NO' AS not_null \
         FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name <> '_sqlx_migrations' \
         ORDER BY table_name, ordinal_position",
    )
    .fetch_all(&mut *conn)
    .await?
    {
        schema.tables.entry(r.get("tbl")).or_default().push(Column {
            name: r.get("col"),
            not_null: r.get("not_null"),
            family: family(r.get::<&str, _>("ty")),
        });
    }

    // pg_constraint's action codes, spelled as SQLite's pragma spells them.
    let action = |code: &str| -> String {
        match code {
            "a" => "NO ACTION",
            "r" => "RESTRICT",
            "c" => "CASCADE",
            "n" => "SET NULL",
            "d" => "SET DEFAULT",
            _ => "?",
        }
        .to_string()
    };
    for r in sqlx::query(
        "SELECT t.relname::text AS tbl, rt.relname::text AS ref, \
                c.confdeltype::text AS on_delete, c.confupdtype::text AS on_update, \
                ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(n, i) \
                      JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n \
                      ORDER BY k.i) AS cols, \
                ARRAY(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY k(n, i) \
                      JOIN pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n \
                      ORDER BY k.i) AS ref_cols \
         FROM pg_constraint c \
         JOIN pg_class t ON t.oid = c.conrelid \
         JOIN pg_class rt ON rt.oid = c.confrelid \
         WHERE c.contype = 'f' AND t.relnamespace = current_schema()::regnamespace",
    )
    .fetch_all(&mut *conn)
    .await?
    {
        schema.foreign_keys.insert(ForeignKey {
            table: r.get("tbl"),
            columns: r.get("cols"),
            references: r.get("ref"),
            referenced_columns: r.get("ref_cols"),
            on_delete: action(r.get("on_delete")),
            on_update: action(r.get("on_update")),
        });
    }

    for r in sqlx::query(
        "SELECT t.relname::text AS tbl, c.conname::text AS name, \
                CASE c.contype WHEN 'u' THEN 'UNIQUE' ELSE 'CHECK' END AS kind \
         FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid \
         WHERE c.contype IN ('u', 'c') AND t.relnamespace = current_schema()::regnamespace",
    )
    .fetch_all(&mut *conn)
    .await?
    {
        schema
            .constraints
            .insert((r.get("tbl"), r.get("name"), r.get("kind")));
    }

    for r in sqlx::query(
        "SELECT i.relname::text AS name, t.relname::text AS tbl, \
                ix.indisunique AS is_unique, ix.indisprimary AS is_primary, \
                ARRAY(SELECT CASE WHEN k.n = 0 \
                                  THEN pg_get_indexdef(ix.indexrelid, k.i::int, true) \
                                  ELSE (SELECT a.attname::text FROM pg_attribute a \
                                        WHERE a.attrelid = t.oid AND a.attnum = k.n) END \
                      FROM unnest(ix.indkey::int2[]) WITH ORDINALITY k(n, i) \
                      ORDER BY k.i) AS cols, \
                ARRAY(SELECT k.n = 0 FROM unnest(ix.indkey::int2[]) WITH ORDINALITY k(n, i) \
                      ORDER BY k.i) AS is_expression, \
                EXISTS (SELECT 1 FROM pg_constraint c \
                        WHERE c.conindid = ix.indexrelid AND c.contype IN ('p', 'u')) AS backs_constraint \
         FROM pg_index ix \
         JOIN pg_class i ON i.oid = ix.indexrelid \
         JOIN pg_class t ON t.oid = ix.indrelid \
         WHERE t.relnamespace = current_schema()::regnamespace \
           AND t.relname <> '_sqlx_migrations'",
    )
    .fetch_all(&mut *conn)
    .await?
    {
        let backs_constraint: bool = r.get("backs_constraint");
        let is_expression: Vec<bool> = r.get("is_expression");
        let columns: Vec<String> = r.get("cols");
        let columns = columns
            .into_iter()
            .zip(is_expression)
            .map(|(c, e)| if e { expression(&c) } else { c })
            .collect();
        schema.indexes.insert(Index {
            table: r.get("tbl"),
            columns,
            unique: r.get("is_unique"),
            primary: r.get("is_primary"),
            name: (!backs_constraint).then(|| r.get("name")),
        });
    }
    Ok(schema)
}

/// The items of a CREATE INDEX's column list, split at its top-level commas.
fn index_items(create_index: &str) -> Vec<String> {
    let upper = create_index.to_ascii_uppercase();
    let start = upper
        .find(" ON ")
        .and_then(|on| create_index[on..].find('(').map(|p| on + p + 1))
        .unwrap_or(create_index.len());
    let (mut items, mut item, mut depth) = (Vec::new(), String::new(), 0usize);
    for c in create_index[start..].chars() {
        match c {
            '(' => depth += 1,
            ')' if depth == 0 => break,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                items.push(std::mem::take(&mut item));
                continue;
            }
            _ => {}
        }
        item.push(c);
    }
    items.push(item);
    items
}

/// An index expression as both catalogs can spell it (`lower(name)`): the two print
/// the same expression with different spacing and case.
fn expression(text: &str) -> String {
    let text: String = text
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase();
    format!("expression {text}")
}

/// Every difference, one line each; empty when the schemas agree.
fn compare(sqlite: &Schema, postgres: &Schema) -> Vec<String> {
    let mut diffs = vec![];
    let names = |s: &Schema| s.tables.keys().cloned().collect::<BTreeSet<_>>();
    for t in names(sqlite).difference(&names(postgres)) {
        diffs.push(format!("table {t}: only in SQLite"));
    }
    for t in names(postgres).difference(&names(sqlite)) {
        diffs.push(format!("table {t}: only in PostgreSQL"));
    }
    for (table, lite_cols) in &sqlite.tables {
        let Some(pg_cols) = postgres.tables.get(table) else {
            continue;
        };
        // A BOOLEAN is a 0/1 INTEGER flag in SQLite.
        let pg_cols: Vec<Column> = pg_cols
            .iter()
            .map(|c| Column {
                family: if c.family == "integer (0/1 flag)" {
                    "integer"
                } else {
                    c.family
                },
                ..c.clone()
            })
            .collect();
        for c in lite_cols {
            match pg_cols.iter().find(|p| p.name == c.name) {
                None => diffs.push(format!("column {table}.{}: only in SQLite", c.name)),
                Some(p) if p != c => diffs.push(format!(
                    "column {table}.{}: SQLite {c:?}, PostgreSQL {p:?}",
                    c.name
                )),
                Some(_) => {}
            }
        }
        for p in &pg_cols {
            if !lite_cols.iter().any(|c| c.name == p.name) {
                diffs.push(format!("column {table}.{}: only in PostgreSQL", p.name));
            }
        }
        let order = |cols: &[Column]| cols.iter().map(|c| c.name.clone()).collect::<Vec<_>>();
        if order(lite_cols) != order(&pg_cols) {
            diffs.push(format!(
                "table {table}: column order differs\n    SQLite:     {:?}\n    PostgreSQL: {:?}",
                order(lite_cols),
                order(&pg_cols)
            ));
        }
    }
    for fk in sqlite.foreign_keys.difference(&postgres.foreign_keys) {
        diffs.push(format!("foreign key only in SQLite: {fk:?}"));
    }
    for fk in postgres.foreign_keys.difference(&sqlite.foreign_keys) {
        diffs.push(format!("foreign key only in PostgreSQL: {fk:?}"));
    }
    for ix in sqlite.indexes.difference(&postgres.indexes) {
        diffs.push(format!("index only in SQLite: {ix:?}"));
    }
    for ix in postgres.indexes.difference(&sqlite.indexes) {
        diffs.push(format!("index only in PostgreSQL: {ix:?}"));
    }
    for c in sqlite.constraints.difference(&postgres.constraints) {
        diffs.push(format!("constraint only in SQLite: {c:?}"));
    }
    for c in postgres.constraints.difference(&sqlite.constraints) {
        diffs.push(format!("constraint only in PostgreSQL: {c:?}"));
    }
    diffs
}

/// Writes to the real stderr: libtest captures `eprintln!` of passing tests.
fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// The PostgreSQL server to test against: `TEST_DATABASE_URL`, or a failure.
fn postgres_url(test: &str) -> String {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => panic!(
            "{test} needs PostgreSQL: set TEST_DATABASE_URL \
             (e.g. postgres://postgres@127.0.0.1:5432/postgres)"
        ),
    }
}

/// Runs `body` against a fresh, uniquely named database on `url`'s server, and drops
/// that database afterwards whatever `body` returned.
async fn with_fresh_postgres<T, F, Fut>(url: &str, body: F) -> Result<T, BoxError>
where
    F: FnOnce(PgConnection) -> Fut,
    Fut: Future<Output = Result<T, BoxError>>,
{
    let admin_options = PgConnectOptions::from_str(url)?;
    let mut admin = admin_options.connect().await?;
    let name = format!("accessd_test_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await?;
    let result = match admin_options.clone().database(&name).connect().await {
        Ok(conn) => body(conn).await,
        Err(e) => Err(e.into()),
    };
    sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .execute(&mut admin)
        .await?;
    admin.close().await?;
    result
}

async fn fresh_sqlite() -> SqliteConnection {
    SqliteConnection::connect("sqlite::memory:").await.unwrap()
}

#[tokio::test]
#[ignore = "needs PostgreSQL (TEST_DATABASE_URL): runs in the PostgreSQL pass"]
async fn sqlite_and_postgres_migrations_build_the_same_tables_columns_keys_and_indexes() {
    const TEST: &str = "schema parity";
    let mut lite = fresh_sqlite().await;
    Migrator::new(migrations("sqlite").as_path())
        .await
        .unwrap()
        .run(&mut lite)
        .await
        .unwrap();
    let sqlite = sqlite_schema(&mut lite).await.unwrap();
    assert!(sqlite.tables.contains_key("access_profiles"), "{sqlite:?}");

    let url = postgres_url(TEST);
    let postgres = with_fresh_postgres(&url, |mut pg| async move {
        Migrator::new(migrations("postgres").as_path())
            .await?
            .run(&mut pg)
            .await?;
        let schema = postgres_schema(&mut pg).await?;
        pg.close().await?;
        Ok(schema)
    })
    .await
    .unwrap();

    let diffs = compare(&sqlite, &postgres);
    assert!(
        diffs.is_empty(),
        "migrations/sqlite and migrations/postgres disagree:\n  {}",
        diffs.join("\n  ")
    );
    say(&format!(
        "{TEST}: SQLite and PostgreSQL agree on {} tables, {} columns, {} foreign keys, \
         {} indexes, {} named UNIQUE/CHECK constraints",
        sqlite.tables.len(),
        sqlite.tables.values().map(Vec::len).sum::<usize>(),
        sqlite.foreign_keys.len(),
        sqlite.indexes.len(),
        sqlite.constraints.len()
    ));
}

/// A database at 0003 whose profiles keep `segments` in `doc`, in every shape 0004
/// must handle: repeated ids, non-string elements, not an array, absent.
const LEGACY_ROWS: &str = "\
INSERT INTO identities (id, name, alias, created, modified)
VALUES ('i1', 'Owner', 'owner', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z');
INSERT INTO sources (id, num_id, name, owner_id, connector, created, modified)
VALUES ('s1', 1, 'Source', 'i1', 'ldap', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z');
INSERT INTO access_profiles (id, name, owner_id, source_id, enabled, requestable, doc, created, modified)
VALUES
 ('ap1', 'one', 'i1', 's1', TRUE, FALSE, '{\"segments\": [\"sa\", \"sb\", \"sa\", \"sc\"], \"keep\": 1}', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z'),
 ('ap2', 'two', 'i1', 's1', TRUE, FALSE, '{\"segments\": [5, \"sb\", null, {\"id\": \"x\"}, \"sd\"]}', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z'),
 ('ap3', 'three', 'i1', 's1', TRUE, FALSE, '{\"segments\": \"sa\", \"keep\": [1]}', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z'),
 ('ap4', 'four', 'i1', 's1', TRUE, FALSE, '{\"segments\": {\"a\": \"sa\"}}', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z'),
 ('ap5', 'five', 'i1', 's1', TRUE, FALSE, '{\"segments\": null}', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z'),
 ('ap6', 'six', 'i1', 's1', TRUE, FALSE, '{}', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z');
";

/// What 0004 left: segments (id, name, active, a well-formed `created`), links, docs.
type Moved = (
    Vec<(String, String, bool, bool)>,
    Vec<(String, String, i64)>,
    Vec<(String, Value)>,
);

const SEGMENTS_AFTER: &str = "SELECT id, name, active, created FROM segments ORDER BY id";
const LINKS_AFTER: &str = "SELECT access_profile_id, segment_id, position \
     FROM access_profile_segments ORDER BY access_profile_id, segment_id";
const DOCS_AFTER: &str = "SELECT id, doc FROM access_profiles ORDER BY id";

/// `YYYY-MM-DDTHH:MM:SS.mmmZ`, the one timestamp format (0001).
fn well_formed(ts: &str) -> bool {
    chrono::NaiveDateTime::parse_from_str(ts, "%Y-%m-%dT%H:%M:%S%.3fZ").is_ok()
        && ts.len() == "2026-01-01T00:00:00.000Z".len()
}

/// The backend's migrations up to and including 0003, as their own folder.
fn migrations_up_to_0003(backend: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(migrations(backend)).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        if name.as_str() < "0004" {
            std::fs::copy(&path, dir.path().join(&name)).unwrap();
        }
    }
    dir
}

#[tokio::test]
#[ignore = "needs PostgreSQL (TEST_DATABASE_URL): runs in the PostgreSQL pass"]
async fn migration_0004_moves_legacy_doc_segments_the_same_way_on_both_backends() {
    const TEST: &str = "0004 data parity";
    let mut lite = fresh_sqlite().await;
    let up_to_0003 = migrations_up_to_0003("sqlite");
    Migrator::new(up_to_0003.path())
        .await
        .unwrap()
        .run(&mut lite)
        .await
        .unwrap();
    sqlx::raw_sql(LEGACY_ROWS).execute(&mut lite).await.unwrap();
    Migrator::new(migrations("sqlite").as_path())
        .await
        .unwrap()
        .run(&mut lite)
        .await
        .unwrap();
    let sqlite: Moved = (
        sqlx::query(SEGMENTS_AFTER)
            .fetch_all(&mut lite)
            .await
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r.get("id"),
                    r.get("name"),
                    r.get("active"),
                    well_formed(r.get("created")),
                )
            })
            .collect(),
        sqlx::query_as(LINKS_AFTER)
            .fetch_all(&mut lite)
            .await
            .unwrap(),
        sqlx::query_as::<_, (String, String)>(DOCS_AFTER)
            .fetch_all(&mut lite)
            .await
            .unwrap()
            .into_iter()
            .map(|(id, doc)| (id, serde_json::from_str(&doc).unwrap()))
            .collect(),
    );
    // The SQLite migration is the reference; pin what it does so that a change to it
    // is noticed here and not only as a PostgreSQL difference.
    let segment = |id: &str| (id.to_string(), id.to_string(), false, true);
    let link = |ap: &str, seg: &str, pos: i64| (ap.to_string(), seg.to_string(), pos);
    assert_eq!(
        sqlite.0,
        vec![segment("sa"), segment("sb"), segment("sc"), segment("sd")]
    );
    assert_eq!(
        sqlite.1,
        vec![
            link("ap1", "sa", 0),
            link("ap1", "sb", 1),
            link("ap1", "sc", 3),
            link("ap2", "sb", 1),
            link("ap2", "sd", 4),
        ]
    );
    let docs: Vec<Value> = sqlite.2.iter().map(|(_, d)| d.clone()).collect();
    assert_eq!(
        docs,
        vec![
            serde_json::json!({"keep": 1}),
            serde_json::json!({}),
            serde_json::json!({"keep": [1]}),
            serde_json::json!({}),
            serde_json::json!({}),
            serde_json::json!({}),
        ]
    );

    let url = postgres_url(TEST);
    let up_to_0003 = migrations_up_to_0003("postgres");
    let postgres: Moved = with_fresh_postgres(&url, |mut pg| async move {
        Migrator::new(up_to_0003.path()).await?.run(&mut pg).await?;
        sqlx::raw_sql(LEGACY_ROWS).execute(&mut pg).await?;
        Migrator::new(migrations("postgres").as_path())
            .await?
            .run(&mut pg)
            .await?;
        let moved = (
            sqlx::query(SEGMENTS_AFTER)
                .fetch_all(&mut pg)
                .await?
                .iter()
                .map(|r| {
                    (
                        r.get("id"),
                        r.get("name"),
                        r.get("active"),
                        well_formed(r.get("created")),
                    )
                })
                .collect(),
            sqlx::query_as(LINKS_AFTER).fetch_all(&mut pg).await?,
            sqlx::query_as::<_, (String, String)>(DOCS_AFTER)
                .fetch_all(&mut pg)
                .await?
                .into_iter()
                .map(|(id, doc)| Ok((id, serde_json::from_str(&doc)?)))
                .collect::<Result<_, serde_json::Error>>()?,
        );
        pg.close().await?;
        Ok(moved)
    })
    .await
    .unwrap();
    assert_eq!(postgres, sqlite, "0004 moved the data differently");
    say(&format!(
        "{TEST}: SQLite and PostgreSQL moved the same segments, links and docs"
    ));
}
