//! Bulk seeding for the benches: every INSERT the benches write, in one place, so a
//! schema change needs one edit here. Rows go out as multi-row INSERTs of plain SQL
//! (ids are hex, names plain, flags TRUE/FALSE: the same text for both databases) in
//! one transaction, sent in batches so memory stays bounded at a million rows.
//!
//! Used by `bulk_delete` and by `examples/bench_seed.rs`; each compiles it on its own
//! and uses part of it.
#![allow(dead_code)]

use sqlx::{Connection, PgConnection, SqliteConnection};

/// Rows per INSERT statement.
const ROWS_PER_STATEMENT: usize = 1000;
/// SQL text sent to the database at once (several statements).
const BATCH_BYTES: usize = 4 << 20;

enum Conn {
    Sqlite(SqliteConnection),
    Pg(PgConnection),
}

impl Conn {
    async fn execute(&mut self, sql: &str) {
        match self {
            Conn::Sqlite(c) => sqlx::raw_sql(sql).execute(c).await.map(|_| ()),
            Conn::Pg(c) => sqlx::raw_sql(sql).execute(c).await.map(|_| ()),
        }
        .expect("seed SQL");
    }
}

/// One open transaction on a migrated database; [`Loader::finish`] commits it.
pub struct Loader {
    conn: Conn,
    /// Opened by [`Loader::open_alone`] on SQLite.
    alone: bool,
    sql: String,
    current: Option<(&'static str, usize)>,
    /// The tables written, for `ANALYZE`.
    tables: Vec<&'static str>,
}

impl Loader {
    /// Opens `url` (`sqlite://…` or `postgres://…`, already migrated) and begins the
    /// transaction.
    pub async fn open(url: &str) -> Loader {
        Self::open_with(url, false).await
    }

    /// Like [`Loader::open`], for a SQLite database no one else has open: the load
    /// skips the WAL and the fsyncs (a crash while seeding only loses the bench
    /// database) and holds up to 2 GiB of pages in memory (ids are random, so the
    /// inserts land all over the primary-key indexes; with a small cache a million
    /// profiles took minutes), and [`Loader::finish`] puts the database back in WAL mode.
    pub async fn open_alone(url: &str) -> Loader {
        Self::open_with(url, true).await
    }

    async fn open_with(url: &str, alone: bool) -> Loader {
        let mut conn = if url.starts_with("sqlite:") {
            Conn::Sqlite(SqliteConnection::connect(url).await.expect("SQLite"))
        } else {
            Conn::Pg(PgConnection::connect(url).await.expect("PostgreSQL"))
        };
        if let Conn::Pg(c) = &mut conn {
            // Foreign keys are checked by a trigger per row, most of a big load's time
            // on PostgreSQL; the seeded rows are consistent by construction, so a
            // superuser skips the checks for this session (others just pay for them).
            let _ = sqlx::raw_sql("SET session_replication_role = replica")
                .execute(c)
                .await;
        }
        let alone = alone && matches!(conn, Conn::Sqlite(_));
        if alone {
            conn.execute(
                "PRAGMA journal_mode=DELETE; PRAGMA synchronous=OFF; PRAGMA cache_size=-2097152;",
            )
            .await;
        }
        conn.execute("BEGIN").await;
        Loader {
            conn,
            alone,
            sql: String::new(),
            current: None,
            tables: Vec::new(),
        }
    }

    /// Appends one row `values` (a parenthesised SQL tuple) to `into` (a table and its
    /// column list).
    async fn row(&mut self, into: &'static str, values: &str) {
        match &mut self.current {
            Some((table, n)) if *table == into && *n < ROWS_PER_STATEMENT => {
                self.sql.push_str(",\n");
                *n += 1;
            }
            _ => {
                if self.current.is_some() {
                    self.sql.push_str(";\n");
                    if self.sql.len() >= BATCH_BYTES {
                        self.flush().await;
                    }
                }
                let table = into.split(' ').next().unwrap_or(into);
                if !self.tables.contains(&table) {
                    self.tables.push(table);
                }
                self.sql.push_str("INSERT INTO ");
                self.sql.push_str(into);
                self.sql.push_str(" VALUES\n");
                self.current = Some((into, 1));
            }
        }
        self.sql.push_str(values);
    }

    async fn flush(&mut self) {
        if self.current.take().is_some() && !self.sql.ends_with(";\n") {
            self.sql.push_str(";\n");
        }
        if !self.sql.is_empty() {
            self.conn.execute(&self.sql).await;
            self.sql.clear();
        }
    }

    /// Commits; then, on PostgreSQL, `VACUUM (ANALYZE)` of the tables written (what
    /// autovacuum would do within a minute of such a load: without statistics the
    /// planner takes the new tables for empty ones, and until a vacuum marks the pages
    /// all-visible an index-only scan still reads the table row of every entry; only
    /// those tables, as the database may hold many other schemas), or on SQLite opened
    /// alone, back to WAL, the mode the server uses.
    ///
    /// On PostgreSQL the load skips triggers (see [`Loader::open`]), among them those
    /// that keep the count of access profiles (migration 0007), so the count is set
    /// here from the table.
    pub async fn finish(mut self) {
        self.flush().await;
        if matches!(self.conn, Conn::Pg(_)) && self.tables.contains(&"access_profiles") {
            self.conn
                .execute(
                    "INSERT INTO row_counts (table_name, n) \
                     SELECT 'access_profiles', COUNT(*) FROM access_profiles \
                     ON CONFLICT (table_name) DO UPDATE SET n = EXCLUDED.n",
                )
                .await;
        }
        self.conn.execute("COMMIT").await;
        match self.conn {
            Conn::Pg(_) => {
                let vacuum = format!("VACUUM (ANALYZE) {}", self.tables.join(", "));
                self.conn.execute(&vacuum).await
            }
            Conn::Sqlite(_) if self.alone => self.conn.execute("PRAGMA journal_mode=WAL").await,
            Conn::Sqlite(_) => {}
        }
    }

    pub async fn identity(&mut self, id: &str, name: &str, alias: &str, ts: &str) {
        self.row(
            "identities (id, name, alias, created, modified)",
            &format!("('{id}', '{name}', '{alias}', '{ts}', '{ts}')"),
        )
        .await;
    }

    pub async fn source(&mut self, id: &str, num_id: u64, name: &str, owner: &str, ts: &str) {
        self.row(
            "sources (id, num_id, name, owner_id, connector, created, modified)",
            &format!("('{id}', {num_id}, '{name}', '{owner}', 'bench', '{ts}', '{ts}')"),
        )
        .await;
    }

    pub async fn entitlement(&mut self, id: &str, source: &str, name: &str, ts: &str) {
        self.row(
            "entitlements (id, source_id, name, attribute, value, created, modified)",
            &format!("('{id}', '{source}', '{name}', 'memberOf', '{name}', '{ts}', '{ts}')"),
        )
        .await;
    }

    /// An enabled or disabled access profile; `description` is plain text without quotes.
    #[allow(clippy::too_many_arguments)]
    pub async fn access_profile(
        &mut self,
        id: &str,
        name: &str,
        description: Option<&str>,
        owner: &str,
        source: &str,
        enabled: bool,
        requestable: bool,
        created: &str,
        modified: &str,
    ) {
        let description = description.map_or("NULL".to_string(), |d| format!("'{d}'"));
        self.row(
            "access_profiles (id, name, description, owner_id, source_id, enabled, requestable, created, modified)",
            &format!(
                "('{id}', '{name}', {description}, '{owner}', '{source}', {}, {}, '{created}', '{modified}')",
                flag(enabled),
                flag(requestable)
            ),
        )
        .await;
    }

    pub async fn access_profile_entitlement(&mut self, profile: &str, ent: &str, position: usize) {
        self.row(
            "access_profile_entitlements (access_profile_id, entitlement_id, position)",
            &format!("('{profile}', '{ent}', {position})"),
        )
        .await;
    }

    /// An enabled, not requestable role.
    pub async fn role(&mut self, id: &str, name: &str, owner: &str, ts: &str) {
        self.row(
            "roles (id, name, owner_id, enabled, requestable, created, modified)",
            &format!("('{id}', '{name}', '{owner}', TRUE, FALSE, '{ts}', '{ts}')"),
        )
        .await;
    }

    pub async fn role_access_profile(&mut self, role: &str, profile: &str, position: usize) {
        self.row(
            "role_access_profiles (role_id, access_profile_id, position)",
            &format!("('{role}', '{profile}', {position})"),
        )
        .await;
    }

    pub async fn source_app(
        &mut self,
        id: &str,
        num_id: u64,
        name: &str,
        owner: &str,
        source: &str,
        ts: &str,
    ) {
        self.row(
            "source_apps (id, num_id, name, description, owner_id, account_source_id, created, modified)",
            &format!("('{id}', {num_id}, '{name}', 'bench', '{owner}', '{source}', '{ts}', '{ts}')"),
        )
        .await;
    }

    pub async fn source_app_access_profile(
        &mut self,
        app: &str,
        source: &str,
        profile: &str,
        position: usize,
    ) {
        self.row(
            "source_app_access_profiles (app_id, source_id, access_profile_id, position)",
            &format!("('{app}', '{source}', '{profile}', {position})"),
        )
        .await;
    }
}

fn flag(b: bool) -> &'static str {
    if b {
        "TRUE"
    } else {
        "FALSE"
    }
}
