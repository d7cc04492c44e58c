//! What both benches share: the database they run on.

use sqlx::Connection;

/// The database to run on: SQLite in `dir`, or with `BENCH_DATABASE_URL=postgres://…` a
/// new schema in that database (dropped by [`drop_schema`] at the end).
pub async fn bench_database(dir: &std::path::Path) -> (String, Option<(String, String)>) {
    match std::env::var("BENCH_DATABASE_URL") {
        Ok(base) if base.starts_with("postgres") => {
            let schema = format!("accessd_bench_{}", std::process::id());
            let mut conn = sqlx::PgConnection::connect(&base)
                .await
                .expect("PostgreSQL");
            sqlx::raw_sql(&format!("CREATE SCHEMA {schema}"))
                .execute(&mut conn)
                .await
                .expect("schema");
            let sep = if base.contains('?') { '&' } else { '?' };
            let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
            (url, Some((base, schema)))
        }
        _ => (format!("sqlite://{}", dir.join("bench.db").display()), None),
    }
}

pub async fn drop_schema(pg: Option<(String, String)>) {
    if let Some((base, schema)) = pg {
        let mut conn = sqlx::PgConnection::connect(&base)
            .await
            .expect("PostgreSQL");
        sqlx::raw_sql(&format!("DROP SCHEMA {schema} CASCADE"))
            .execute(&mut conn)
            .await
            .expect("drop schema");
    }
}

/// Where the rate limits are counted: `BENCH_RATE_LIMIT_STORE=memory|database`, else
/// the server's default for the database (`auto`).
pub fn rate_limit_store() -> accessd::config::RateLimitStore {
    use accessd::config::RateLimitStore;
    match std::env::var("BENCH_RATE_LIMIT_STORE").as_deref() {
        Ok("memory") => RateLimitStore::Memory,
        Ok("database") => RateLimitStore::Database,
        _ => RateLimitStore::Auto,
    }
}
