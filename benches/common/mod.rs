//! What the benches share: the database they run on, a running server with the bench
//! client, an owner and a source, and bulk seeding with plain SQL ([`seed`]).

use accessd::domain::model::{Identity, NewSource, Source};
use accessd::domain::Clock;
use accessd::{App, Config};
use sqlx::Connection;

pub mod seed;

/// A running server on a fresh database (see [`bench_database`]).
pub struct Bench {
    pub app: App,
    pub clock: Clock,
    /// The database URL (the API bench does not read it; each bench compiles this
    /// module on its own).
    #[allow(dead_code)]
    pub url: String,
    pub owner: Identity,
    pub source: Source,
    pub cleanup: Cleanup,
}

/// What to remove once the bench is done.
pub struct Cleanup {
    pg: Option<(String, String)>,
    _dir: tempfile::TempDir,
}

impl Cleanup {
    pub async fn finish(self) {
        drop_schema(self.pg).await;
    }
}

/// Starts the server for client `bench` / `bench-secret-0123456789abcdef`, whose budget is never spent
/// (every request still pays for the limiter's check), with limits counted where
/// `BENCH_RATE_LIMIT_STORE` says, and adds an owner and a source.
pub async fn start() -> Bench {
    let dir = tempfile::tempdir().expect("temp dir");
    let (url, pg) = bench_database(dir.path()).await;
    let mut config = Config::for_database(&url);
    config.gateway.rate_limit_store = rate_limit_store();
    println!(
        "database: {}, rate limits: {:?}",
        if pg.is_some() { "PostgreSQL" } else { "SQLite" },
        config.gateway.rate_limit_store
    );
    config.admin_client_id = Some("bench".into());
    config.admin_client_secret = Some("bench-secret-0123456789abcdef".into());
    config.gateway.rate_limit_requests = u32::MAX;
    let clock = Clock::system();
    let app = App::build(config, clock.clone()).await.expect("server");
    let store = app.state().store.clone();
    let now = clock.now();
    let owner = Identity::new_active("Bench", "Owner", "bench.owner", None, &[], now);
    store.insert_identity(&owner).await.expect("owner");
    let source = store
        .insert_source(
            &NewSource {
                name: "Bench".into(),
                description: None,
                owner_id: owner.id.clone(),
                management_workgroup_id: None,
                source_type: None,
                connector: "bench".into(),
                connector_name: None,
                connection_type: None,
                authoritative: false,
                features: vec![],
                doc: Default::default(),
            },
            now,
        )
        .await
        .expect("source");
    Bench {
        app,
        clock,
        url,
        owner,
        source,
        cleanup: Cleanup { pg, _dir: dir },
    }
}

/// The database to run on: SQLite in `dir`, or with `BENCH_DATABASE_URL=postgres://…` a
/// new schema in that database (dropped by [`drop_schema`] at the end).
async fn bench_database(dir: &std::path::Path) -> (String, Option<(String, String)>) {
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
            let url = accessd::store::postgres::schema_url(&base, &schema);
            (url, Some((base, schema)))
        }
        _ => (format!("sqlite://{}", dir.join("bench.db").display()), None),
    }
}

async fn drop_schema(pg: Option<(String, String)>) {
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
fn rate_limit_store() -> accessd::config::RateLimitStore {
    use accessd::config::RateLimitStore;
    match std::env::var("BENCH_RATE_LIMIT_STORE").as_deref() {
        Ok("memory") => RateLimitStore::Memory,
        Ok("database") => RateLimitStore::Database,
        _ => RateLimitStore::Auto,
    }
}
