//! The tenant in SQL: health, metadata, signing keys, API clients, shared rate limits,
//! and export and import of the whole tenant (see `store::export`).

use async_trait::async_trait;
use serde_json::Value;

use super::*;
use crate::fixture::{Kept, Plan};
use crate::query::format_timestamp;
use crate::store::export::{
    ColumnKind, TableExport, TenantExport, CONTROL_TABLES, DERIVED_COLUMNS, DERIVED_TABLES, FORMAT,
    SELF_REFERENCES, TABLES,
};
use crate::store::fixture;
use crate::store::{ApiClient, SigningKeyRow, TenantStore};

fn signing_key_row(r: &Row) -> StoreResult<SigningKeyRow> {
    Ok(SigningKeyRow {
        kid: r.get("kid")?,
        private_pem: r.get("private_pem")?,
        public_pem: r.get("public_pem")?,
        created: ts(r, "created")?,
    })
}

fn client_row(r: &Row) -> StoreResult<ApiClient> {
    let scopes: String = r.get("scopes")?;
    Ok(ApiClient {
        client_id: r.get("client_id")?,
        secret_hash: r.get("secret_hash")?,
        name: r.get("name")?,
        identity_id: r.get("identity_id")?,
        scopes: scopes.split_whitespace().map(str::to_string).collect(),
        created: ts(r, "created")?,
    })
}

#[async_trait]
impl TenantStore for SqlStore {
    fn pool_stats(&self) -> crate::store::db::PoolStats {
        self.db.pool_stats()
    }

    async fn ping(&self) -> StoreResult<()> {
        self.db.execute("SELECT 1", vec![]).await?;
        Ok(())
    }

    async fn write_probe(&self) -> StoreResult<()> {
        let mut tx = self.db.begin_write().await?;
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('write_probe', $1) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![crate::domain::new_id()],
        )
        .await?;
        tx.commit().await
    }

    async fn close(&self) -> StoreResult<()> {
        self.db.close().await
    }

    async fn rate_limit_take(
        &self,
        client_id: &str,
        bucket: &str,
        now_us: i64,
        t_us: i64,
        tau_us: i64,
    ) -> StoreResult<Option<i64>> {
        // governor's GCRA in one statement: the row (locked by the upsert) is advanced
        // only if the request conforms, i.e. its tat minus the tolerance has come.
        // Built once per store: this runs on every authenticated request.
        let sql = self
            .rate_limit_take_sql
            .get_or_init(|| take_sql(self.db.dialect().greatest));
        let taken = self
            .db
            .fetch_optional(sql, params![client_id, bucket, now_us, t_us, tau_us])
            .await?;
        if taken.is_some() {
            return Ok(None);
        }
        let tat: Option<i64> = self
            .db
            .fetch_optional(
                "SELECT tat FROM rate_limits WHERE client_id = $1 AND bucket = $2",
                params![client_id, bucket],
            )
            .await?
            .map(|r| r.get(0))
            .transpose()?;
        // A tat further ahead than one take can put it (now + tau + t) means the clock
        // was set back (the admin API's clock): that state belongs to a future that is
        // gone, so the budget starts afresh.
        if tat.is_some_and(|tat| tat > now_us + tau_us + t_us) {
            self.db
                .execute(
                    "DELETE FROM rate_limits WHERE client_id = $1 AND bucket = $2 AND tat > $3",
                    params![client_id, bucket, now_us + tau_us + t_us],
                )
                .await?;
            let taken = self
                .db
                .fetch_optional(sql, params![client_id, bucket, now_us, t_us, tau_us])
                .await?;
            if taken.is_some() {
                return Ok(None);
            }
            return Ok(Some(t_us.max(1)));
        }
        Ok(Some(tat.map_or(0, |tat| tat - tau_us - now_us).max(1)))
    }

    async fn rate_limit_purge(&self, now_us: i64) -> StoreResult<u64> {
        self.db
            .execute("DELETE FROM rate_limits WHERE tat < $1", params![now_us])
            .await
    }

    async fn export_tenant(&self) -> StoreResult<TenantExport> {
        // One read transaction on one snapshot (see `begin_snapshot`).
        let mut tx = self.db.begin_snapshot().await?;
        let dialect = self.db.dialect();
        check_tables(&mut *tx, dialect.tables).await?;
        let schema_version = schema_version(&mut *tx).await?;
        let mut tables = Vec::with_capacity(TABLES.len());
        for &table in TABLES {
            let cols = columns(&mut *tx, dialect.columns, table).await?;
            let names: Vec<String> = cols.iter().map(|(n, _)| quote(n)).collect();
            let order: Vec<String> = (1..=cols.len()).map(|i| i.to_string()).collect();
            let sql = format!(
                "SELECT {} FROM {} ORDER BY {}",
                names.join(", "),
                quote(table),
                order.join(", ")
            );
            let rows = tx.fetch_all(&sql, vec![]).await?;
            let rows = rows
                .iter()
                .map(|r| {
                    cols.iter()
                        .enumerate()
                        .map(|(i, (_, kind))| read_value(r, i, *kind))
                        .collect::<StoreResult<Vec<_>>>()
                })
                .collect::<StoreResult<Vec<_>>>()?;
            tables.push(TableExport {
                name: table.to_string(),
                columns: cols.into_iter().map(|(n, _)| n).collect(),
                rows,
            });
        }
        tx.commit().await?;
        Ok(TenantExport {
            format: FORMAT.to_string(),
            schema_version,
            tables,
        })
    }

    async fn import_tenant(&self, export: &TenantExport) -> StoreResult<u64> {
        if export.format != FORMAT {
            return Err(StoreError::Refused(format!(
                "not an accessd tenant export (format '{}', expected '{FORMAT}')",
                export.format
            )));
        }
        let dialect = self.db.dialect();
        let mut tx = self.db.begin_write().await?;
        check_tables(&mut *tx, dialect.tables).await?;
        let here = schema_version(&mut *tx).await?;
        if export.schema_version != here {
            return Err(StoreError::Refused(format!(
                "the export is of schema version {}, this database is at {here}; import it \
                 with the accessd that exported it, into a database that accessd migrated",
                export.schema_version
            )));
        }
        for &table in TABLES {
            let n: i64 = tx
                .fetch_one(&format!("SELECT COUNT(*) FROM {}", quote(table)), vec![])
                .await?
                .get(0)?;
            if n > 0 {
                return Err(StoreError::Refused(format!(
                    "the database is not empty ({table} has {n} rows); import needs a new, \
                     migrated database"
                )));
            }
        }
        let mut imported = 0;
        for t in &export.tables {
            if !TABLES.contains(&t.name.as_str()) {
                return Err(StoreError::Refused(format!(
                    "the export holds an unknown table '{}'",
                    t.name
                )));
            }
        }
        for &table in TABLES {
            let Some(t) = export.tables.iter().find(|t| t.name == table) else {
                return Err(StoreError::Refused(format!(
                    "the export has no table '{table}'"
                )));
            };
            let cols = columns(&mut *tx, dialect.columns, table).await?;
            let mut kinds = Vec::with_capacity(t.columns.len());
            for name in &t.columns {
                let Some((_, kind)) = cols.iter().find(|(n, _)| n == name) else {
                    return Err(StoreError::Refused(format!(
                        "the export's column {table}.{name} is not in this database"
                    )));
                };
                kinds.push(*kind);
            }
            if cols.len() != t.columns.len() {
                return Err(StoreError::Refused(format!(
                    "the export's table {table} has columns {:?}; this database has {:?}",
                    t.columns,
                    cols.iter().map(|(n, _)| n).collect::<Vec<_>>()
                )));
            }
            // Self-references are written once every row of the table exists.
            let deferred: Vec<(usize, &str, usize)> = SELF_REFERENCES
                .iter()
                .filter(|(tb, _, _)| *tb == table)
                .map(|(_, col, key)| {
                    let pos = |c: &str| t.columns.iter().position(|n| n == c);
                    match (pos(col), pos(key)) {
                        (Some(c), Some(k)) => Ok((c, *col, k)),
                        _ => Err(StoreError::Refused(format!(
                            "the export's table {table} lacks {col} or {key}"
                        ))),
                    }
                })
                .collect::<StoreResult<_>>()?;
            let insert = format!(
                "INSERT INTO {} ({}) VALUES ({})",
                quote(table),
                t.columns
                    .iter()
                    .map(|c| quote(c))
                    .collect::<Vec<_>>()
                    .join(", "),
                (1..=t.columns.len())
                    .map(|i| format!("${i}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            for row in &t.rows {
                if row.len() != t.columns.len() {
                    return Err(StoreError::Refused(format!(
                        "a row of {table} has {} values for {} columns",
                        row.len(),
                        t.columns.len()
                    )));
                }
                let mut values = Vec::with_capacity(row.len());
                for (i, v) in row.iter().enumerate() {
                    let v = if deferred.iter().any(|(c, _, _)| *c == i) {
                        &Value::Null
                    } else {
                        v
                    };
                    values.push(param_of(table, &t.columns[i], kinds[i], v)?);
                }
                tx.execute(&insert, values)
                    .await
                    .map_err(|e| match e.violation() {
                        Some(ViolationKind::Unique) => {
                            StoreError::Refused(format!("{table}: a row repeats a unique key"))
                        }
                        _ => e,
                    })?;
                imported += 1;
            }
            for (c, col, k) in &deferred {
                let update = format!(
                    "UPDATE {} SET {} = $1 WHERE {} = $2",
                    quote(table),
                    quote(col),
                    quote(&t.columns[*k])
                );
                for row in t.rows.iter().filter(|r| !r[*c].is_null()) {
                    let values = vec![
                        param_of(table, col, kinds[*c], &row[*c])?,
                        param_of(table, &t.columns[*k], kinds[*k], &row[*k])?,
                    ];
                    tx.execute(&update, values)
                        .await
                        .map_err(|e| missing_reference(e, "row"))?;
                }
            }
        }
        tx.commit().await?;
        if let Some(sql) = dialect.after_bulk_load {
            self.db.execute(sql, vec![]).await?;
        }
        Ok(imported)
    }

    async fn reset_tenant(&self, keep_scope: &str) -> StoreResult<()> {
        let mut tx = self.db.begin_write().await?;
        empty_tenant(&mut *tx, keep_scope).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn fixture_kept(&self, keep_scope: &str) -> StoreResult<Kept> {
        let dialect = self.db.dialect();
        let mut tx = self.db.begin_snapshot().await?;
        let like = format!("% {keep_scope} %");
        let clients = read_table(
            &mut *tx,
            dialect.columns,
            "api_clients",
            "WHERE (' ' || scopes || ' ') LIKE $1",
            params![like.clone()],
        )
        .await?;
        let identities = read_table(
            &mut *tx,
            dialect.columns,
            "identities",
            "WHERE id IN (SELECT identity_id FROM api_clients \
             WHERE (' ' || scopes || ' ') LIKE $1)",
            params![like],
        )
        .await?;
        tx.commit().await?;
        let position = clients.columns.iter().position(|c| c == "client_id");
        Ok(Kept {
            identities: fixture::identities(&[identities])?,
            client_ids: clients
                .rows
                .iter()
                .filter_map(|r| position.and_then(|i| r.get(i)?.as_str().map(str::to_string)))
                .collect(),
        })
    }

    async fn fixture_plan(&self) -> StoreResult<Plan> {
        let dialect = self.db.dialect();
        let mut tx = self.db.begin_snapshot().await?;
        let mut tables = Vec::new();
        for table in fixture::fixture_tables() {
            tables.push(read_table(&mut *tx, dialect.columns, table, "", vec![]).await?);
        }
        tx.commit().await?;
        fixture::plan(&tables)
    }

    async fn replace_tenant(&self, keep_scope: &str, plan: &Plan) -> StoreResult<()> {
        let dialect = self.db.dialect();
        let mut tx = self.db.begin_write().await?;
        empty_tenant(&mut *tx, keep_scope).await?;
        for t in fixture::rows(plan) {
            let cols = columns(&mut *tx, dialect.columns, &t.name).await?;
            let mut kinds = Vec::with_capacity(t.columns.len());
            for name in &t.columns {
                let Some((_, kind)) = cols.iter().find(|(n, _)| n == name) else {
                    return Err(StoreError::Corrupt(format!(
                        "fixture column {}.{name} is not in this database",
                        t.name
                    )));
                };
                kinds.push(*kind);
            }
            let names: Vec<String> = t.columns.iter().map(|c| quote(c)).collect();
            let mut insert = format!(
                "INSERT INTO {} ({}) VALUES ({})",
                quote(&t.name),
                names.join(", "),
                (1..=names.len())
                    .map(|i| format!("${i}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            // The identities the reset kept are planned again: updated in place.
            if t.name == "identities" {
                insert.push_str(" ON CONFLICT (id) DO UPDATE SET ");
                insert.push_str(
                    &names
                        .iter()
                        .filter(|n| n.as_str() != "\"id\"")
                        .map(|n| format!("{n} = excluded.{n}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                );
            }
            for row in &t.rows {
                let values = row
                    .iter()
                    .zip(&t.columns)
                    .zip(&kinds)
                    .map(|((v, c), k)| param_of(&t.name, c, *k, v))
                    .collect::<StoreResult<Vec<_>>>()?;
                let table = t.name.clone();
                tx.execute(&insert, values)
                    .await
                    .map_err(|e| match e.violation() {
                        Some(ViolationKind::Unique) => StoreError::Refused(format!(
                            "the fixture repeats a unique value of {table}"
                        )),
                        _ => e,
                    })?;
            }
        }
        for (id, manager) in fixture::managers(plan) {
            tx.execute(
                "UPDATE identities SET manager_id = $1 WHERE id = $2",
                params![manager, id],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn meta_get_or_put(&self, key: &str, value: &str) -> StoreResult<String> {
        let mut tx = self.db.begin_write().await?;
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
            params![key, value],
        )
        .await?;
        let v: String = tx
            .fetch_one("SELECT value FROM meta WHERE key = $1", params![key])
            .await?
            .get(0)?;
        tx.commit().await?;
        Ok(v)
    }

    async fn signing_keys(&self) -> StoreResult<Vec<SigningKeyRow>> {
        self.db
            .fetch_all(
                "SELECT kid, private_pem, public_pem, created FROM signing_keys \
                 WHERE active = TRUE ORDER BY created DESC, kid",
                vec![],
            )
            .await?
            .iter()
            .map(signing_key_row)
            .collect()
    }

    async fn insert_signing_key(&self, key: &SigningKeyRow) -> StoreResult<()> {
        self.db
            .execute(
                "INSERT INTO signing_keys (kid, private_pem, public_pem, created) \
                 VALUES ($1, $2, $3, $4)",
                params![
                    key.kid,
                    key.private_pem,
                    key.public_pem,
                    format_timestamp(&key.created)
                ],
            )
            .await?;
        Ok(())
    }

    async fn insert_first_signing_key(&self, key: &SigningKeyRow) -> StoreResult<bool> {
        // Under the write lock, so instances starting together create one key.
        let mut tx = self.db.begin_write().await?;
        let done = tx
            .execute(
                "INSERT INTO signing_keys (kid, private_pem, public_pem, created) \
                 SELECT $1, $2, $3, $4 WHERE NOT EXISTS (SELECT kid FROM signing_keys)",
                params![
                    key.kid,
                    key.private_pem,
                    key.public_pem,
                    format_timestamp(&key.created)
                ],
            )
            .await?;
        tx.commit().await?;
        Ok(done == 1)
    }

    async fn retire_signing_keys(&self, keep: &str) -> StoreResult<u64> {
        self.db
            .execute(
                "UPDATE signing_keys SET active = FALSE WHERE active = TRUE AND kid <> $1",
                params![keep],
            )
            .await
    }

    async fn signing_key_active(&self, kid: &str) -> StoreResult<bool> {
        Ok(self
            .db
            .fetch_optional(
                "SELECT kid FROM signing_keys WHERE kid = $1 AND active = TRUE",
                params![kid],
            )
            .await?
            .is_some())
    }

    async fn get_client(&self, client_id: &str) -> StoreResult<Option<ApiClient>> {
        self.db
            .fetch_optional(
                "SELECT client_id, secret_hash, name, identity_id, scopes, created \
                 FROM api_clients WHERE client_id = $1",
                params![client_id],
            )
            .await?
            .as_ref()
            .map(client_row)
            .transpose()
    }

    async fn upsert_client(&self, c: &ApiClient) -> StoreResult<()> {
        self.db
            .execute(
                "INSERT INTO api_clients (client_id, secret_hash, name, identity_id, scopes, \
                 created) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (client_id) DO UPDATE SET \
                 secret_hash = excluded.secret_hash, name = excluded.name, \
                 identity_id = excluded.identity_id, scopes = excluded.scopes",
                params![
                    c.client_id,
                    c.secret_hash,
                    c.name,
                    c.identity_id,
                    c.scopes.join(" "),
                    format_timestamp(&c.created),
                ],
            )
            .await
            .map_err(|e| conflict(e, "API client", "id", &c.client_id))?;
        Ok(())
    }
}

/// Empties the tenant (see [`TenantStore::reset_tenant`]) inside `tx`.
async fn empty_tenant(tx: &mut dyn Executor, keep_scope: &str) -> StoreResult<()> {
    // Children before parents (TABLES lists parents first); clients, identities,
    // keys and metadata are handled below.
    for &table in TABLES.iter().rev() {
        if matches!(
            table,
            "meta" | "signing_keys" | "identities" | "api_clients"
        ) {
            continue;
        }
        tx.execute(&format!("DELETE FROM {}", quote(table)), vec![])
            .await?;
    }
    tx.execute(
        "DELETE FROM api_clients WHERE (' ' || scopes || ' ') NOT LIKE $1",
        params![format!("% {keep_scope} %")],
    )
    .await?;
    tx.execute("UPDATE identities SET manager_id = NULL", vec![])
        .await?;
    tx.execute(
        "DELETE FROM identities WHERE id NOT IN \
         (SELECT identity_id FROM api_clients WHERE identity_id IS NOT NULL)",
        vec![],
    )
    .await?;
    Ok(())
}

/// One table's rows (those `filter` keeps: a `WHERE …` clause, or empty) in the
/// export's row form.
async fn read_table(
    ex: &mut dyn Executor,
    columns_sql: &str,
    table: &str,
    filter: &str,
    params: Vec<Param>,
) -> StoreResult<TableExport> {
    let cols = columns(ex, columns_sql, table).await?;
    let names: Vec<String> = cols.iter().map(|(n, _)| quote(n)).collect();
    let sql = format!("SELECT {} FROM {} {filter}", names.join(", "), quote(table));
    let rows = ex
        .fetch_all(&sql, params)
        .await?
        .iter()
        .map(|r| {
            cols.iter()
                .enumerate()
                .map(|(i, (_, kind))| read_value(r, i, *kind))
                .collect::<StoreResult<Vec<_>>>()
        })
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(TableExport {
        name: table.to_string(),
        columns: cols.into_iter().map(|(n, _)| n).collect(),
        rows,
    })
}

/// The GCRA upsert with the dialect's two-argument maximum.
fn take_sql(greatest: &str) -> String {
    format!(
        "INSERT INTO rate_limits (client_id, bucket, tat) VALUES ($1, $2, $3 + $4) \
         ON CONFLICT (client_id, bucket) DO UPDATE \
         SET tat = {greatest}(rate_limits.tat, $3) + $4 WHERE rate_limits.tat - $5 <= $3 \
         RETURNING tat"
    )
}

fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// A table's columns (by the dialect's `columns` query) but its [`DERIVED_COLUMNS`],
/// and how their values are read.
async fn columns(
    ex: &mut dyn Executor,
    columns_sql: &str,
    table: &str,
) -> StoreResult<Vec<(String, ColumnKind)>> {
    let rows = ex.fetch_all(columns_sql, params![table]).await?;
    rows.iter()
        .filter(|r| {
            r.get::<String>(0).map_or(true, |name| {
                !DERIVED_COLUMNS.contains(&(table, name.as_str()))
            })
        })
        .map(|r| {
            let name: String = r.get(0)?;
            let declared: String = r.get(1)?;
            let kind = ColumnKind::of(&declared).ok_or_else(|| {
                StoreError::Corrupt(format!("{table}.{name}: unexpected column type {declared}"))
            })?;
            Ok((name, kind))
        })
        .collect()
}

/// Refuses a database whose tables (by the dialect's `tables` query) are not exactly
/// [`TABLES`].
async fn check_tables(ex: &mut dyn Executor, tables_sql: &str) -> StoreResult<()> {
    let found = ex
        .fetch_all(tables_sql, vec![])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect::<StoreResult<Vec<String>>>()?;
    let mut unknown: Vec<&String> = found
        .iter()
        .filter(|t| {
            t.as_str() != MIGRATIONS_TABLE
                && !TABLES.contains(&t.as_str())
                && !DERIVED_TABLES.contains(&t.as_str())
                && !CONTROL_TABLES.contains(&t.as_str())
        })
        .collect();
    unknown.sort();
    let missing: Vec<&&str> = TABLES
        .iter()
        .filter(|t| !found.iter().any(|f| f == *t))
        .collect();
    if unknown.is_empty() && missing.is_empty() {
        Ok(())
    } else {
        Err(StoreError::Config(format!(
            "the database's tables are not the ones this accessd exports \
             (unknown: {unknown:?}, missing: {missing:?})"
        )))
    }
}

async fn schema_version(ex: &mut dyn Executor) -> StoreResult<i64> {
    Ok(ex
        .fetch_one(
            &format!("SELECT MAX(version) FROM {MIGRATIONS_TABLE}"),
            vec![],
        )
        .await?
        .get::<Option<i64>>(0)?
        .unwrap_or(0))
}

/// A column's value as the export writes it: a flag as 0/1 whichever database it came from.
fn read_value(row: &Row, i: usize, kind: ColumnKind) -> StoreResult<Value> {
    Ok(match kind {
        ColumnKind::Text => row
            .get::<Option<String>>(i)?
            .map_or(Value::Null, Value::from),
        ColumnKind::Int => row.get::<Option<i64>>(i)?.map_or(Value::Null, Value::from),
        ColumnKind::Bool => row
            .get::<Option<bool>>(i)?
            .map_or(Value::Null, |b| Value::from(i64::from(b))),
    })
}

fn bad_value(table: &str, column: &str, v: &Value) -> StoreError {
    StoreError::Refused(format!(
        "the export's value {v} does not fit column {table}.{column}"
    ))
}

/// An export's value as the parameter for a column of `kind`.
fn param_of(table: &str, column: &str, kind: ColumnKind, v: &Value) -> StoreResult<Param> {
    Ok(match (kind, v) {
        (_, Value::Null) => Param::Null,
        (ColumnKind::Text, Value::String(s)) => Param::Text(s.clone()),
        (ColumnKind::Int, Value::Number(n)) if n.is_i64() => {
            Param::Int(n.as_i64().ok_or_else(|| bad_value(table, column, v))?)
        }
        (ColumnKind::Bool, Value::Number(n)) if matches!(n.as_i64(), Some(0 | 1)) => {
            Param::Bool(n.as_i64() == Some(1))
        }
        _ => return Err(bad_value(table, column, v)),
    })
}
