//! Export and import of a whole tenant (see `store::export`).

use super::*;
use crate::store::export::{
    ColumnKind, TableExport, TenantExport, FORMAT, SELF_REFERENCES, TABLES,
};

fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

async fn columns(conn: &mut DbConn, table: &str) -> StoreResult<Vec<(String, ColumnKind)>> {
    let rows = sqlx::query(dialect::COLUMNS)
        .bind(table)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| {
            let name: String = r.try_get(0)?;
            let declared: String = r.try_get(1)?;
            let kind = ColumnKind::of(&declared).ok_or_else(|| {
                StoreError::Corrupt(format!("{table}.{name}: unexpected column type {declared}"))
            })?;
            Ok((name, kind))
        })
        .collect()
}

/// Refuses a database whose tables are not exactly [`TABLES`].
async fn check_tables(conn: &mut DbConn) -> StoreResult<()> {
    let found: Vec<String> = sqlx::query_scalar(dialect::TABLES)
        .fetch_all(&mut *conn)
        .await?;
    let mut unknown: Vec<&String> = found
        .iter()
        .filter(|t| t.as_str() != "_sqlx_migrations" && !TABLES.contains(&t.as_str()))
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

async fn schema_version(conn: &mut DbConn) -> StoreResult<i64> {
    Ok(
        sqlx::query_scalar::<_, Option<i64>>("SELECT MAX(version) FROM _sqlx_migrations")
            .fetch_one(&mut *conn)
            .await?
            .unwrap_or(0),
    )
}

fn read_value(row: &DbRow, i: usize, kind: ColumnKind) -> StoreResult<Value> {
    Ok(match kind {
        ColumnKind::Text => row
            .try_get::<Option<String>, _>(i)?
            .map_or(Value::Null, Value::from),
        ColumnKind::Int => row
            .try_get::<Option<i64>, _>(i)?
            .map_or(Value::Null, Value::from),
        ColumnKind::Bool => row
            .try_get::<Option<bool>, _>(i)?
            .map_or(Value::Null, |b| Value::from(i64::from(b))),
    })
}

fn bad_value(table: &str, column: &str, v: &Value) -> StoreError {
    StoreError::Conflict(format!(
        "the export's value {v} does not fit column {table}.{column}"
    ))
}

fn bind_value<'q>(
    q: sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments<'q>>,
    table: &str,
    column: &str,
    kind: ColumnKind,
    v: &Value,
) -> StoreResult<sqlx::query::Query<'q, Db, <Db as sqlx::Database>::Arguments<'q>>> {
    Ok(match (kind, v) {
        (ColumnKind::Text, Value::Null) => q.bind(None::<String>),
        (ColumnKind::Text, Value::String(s)) => q.bind(s.clone()),
        (ColumnKind::Int, Value::Null) => q.bind(None::<i64>),
        (ColumnKind::Int, Value::Number(n)) if n.is_i64() => q.bind(n.as_i64()),
        (ColumnKind::Bool, Value::Null) => q.bind(None::<bool>),
        (ColumnKind::Bool, Value::Number(n)) if matches!(n.as_i64(), Some(0 | 1)) => {
            q.bind(n.as_i64() == Some(1))
        }
        _ => return Err(bad_value(table, column, v)),
    })
}

impl SqlStore {
    pub(super) async fn dump_tables(&self) -> StoreResult<TenantExport> {
        // One read transaction on one snapshot (see `begin_snapshot`).
        let mut tx = dialect::begin_snapshot(&self.pool).await?;
        check_tables(&mut tx).await?;
        let schema_version = schema_version(&mut tx).await?;
        let mut tables = Vec::with_capacity(TABLES.len());
        for &table in TABLES {
            let cols = columns(&mut tx, table).await?;
            let names: Vec<String> = cols.iter().map(|(n, _)| quote(n)).collect();
            let order: Vec<String> = (1..=cols.len()).map(|i| i.to_string()).collect();
            let sql = format!(
                "SELECT {} FROM {} ORDER BY {}",
                names.join(", "),
                quote(table),
                order.join(", ")
            );
            let rows = sqlx::query(&sql).fetch_all(&mut *tx).await?;
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

    pub(super) async fn load_tables(&self, export: &TenantExport) -> StoreResult<u64> {
        if export.format != FORMAT {
            return Err(StoreError::Conflict(format!(
                "not an accessd tenant export (format '{}', expected '{FORMAT}')",
                export.format
            )));
        }
        let mut tx = self.begin_write().await?;
        check_tables(&mut tx).await?;
        let here = schema_version(&mut tx).await?;
        if export.schema_version != here {
            return Err(StoreError::Conflict(format!(
                "the export is of schema version {}, this database is at {here}; import it \
                 with the accessd that exported it, into a database that accessd migrated",
                export.schema_version
            )));
        }
        for &table in TABLES {
            let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {}", quote(table)))
                .fetch_one(&mut *tx)
                .await?;
            if n > 0 {
                return Err(StoreError::Conflict(format!(
                    "the database is not empty ({table} has {n} rows); import needs a new, \
                     migrated database"
                )));
            }
        }
        let mut imported = 0;
        for t in &export.tables {
            if !TABLES.contains(&t.name.as_str()) {
                return Err(StoreError::Conflict(format!(
                    "the export holds an unknown table '{}'",
                    t.name
                )));
            }
        }
        for &table in TABLES {
            let Some(t) = export.tables.iter().find(|t| t.name == table) else {
                return Err(StoreError::Conflict(format!(
                    "the export has no table '{table}'"
                )));
            };
            let cols = columns(&mut tx, table).await?;
            let mut kinds = Vec::with_capacity(t.columns.len());
            for name in &t.columns {
                let Some((_, kind)) = cols.iter().find(|(n, _)| n == name) else {
                    return Err(StoreError::Conflict(format!(
                        "the export's column {table}.{name} is not in this database"
                    )));
                };
                kinds.push(*kind);
            }
            if cols.len() != t.columns.len() {
                return Err(StoreError::Conflict(format!(
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
                        _ => Err(StoreError::Conflict(format!(
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
                    return Err(StoreError::Conflict(format!(
                        "a row of {table} has {} values for {} columns",
                        row.len(),
                        t.columns.len()
                    )));
                }
                let mut q = sqlx::query(&insert);
                for (i, v) in row.iter().enumerate() {
                    let v = if deferred.iter().any(|(c, _, _)| *c == i) {
                        &Value::Null
                    } else {
                        v
                    };
                    q = bind_value(q, table, &t.columns[i], kinds[i], v)?;
                }
                q.execute(&mut *tx)
                    .await
                    .map_err(|e| conflict(e, || format!("{table}: a row repeats a unique key")))?;
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
                    let q = bind_value(sqlx::query(&update), table, col, kinds[*c], &row[*c])?;
                    let q = bind_value(q, table, &t.columns[*k], kinds[*k], &row[*k])?;
                    q.execute(&mut *tx)
                        .await
                        .map_err(|e| conflict(e, String::new))?;
                }
            }
        }
        tx.commit().await?;
        if let Some(sql) = dialect::AFTER_BULK_LOAD {
            sqlx::query(sql).execute(&self.pool).await?;
        }
        Ok(imported)
    }
}
