//! A full disk: writes are refused with 507 and the ISC body, reads go on, the
//! readiness check (`GET /health/ready`) says the database check fails while liveness
//! (`GET /health`) stays UP, and once space is freed the next write succeeds — no
//! restart, no retry. On SQLite the database lives on a small tmpfs the test mounts
//! and fills for real (the test needs root, as CI has); on PostgreSQL, whose disk the
//! suite shares with every other test, triggers raise the server's own `disk_full`
//! error (SQLSTATE 53100) on the tables the writes touch.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use accessd::domain::Clock;
use accessd::store::Backend;
use serde_json::Value;
use sqlx::Connection;

use crate::helpers::*;

/// Where the test's database lives, and how its disk is filled and freed.
enum Disk {
    /// A tmpfs mounted at `mount` (inside `dir`), unmounted when dropped.
    Tmpfs {
        mount: PathBuf,
        dir: Arc<tempfile::TempDir>,
    },
    /// A fresh PostgreSQL schema.
    Postgres { url: String },
}

/// The tmpfs's size: room for the migrated database and a few writes.
const TMPFS_SIZE: &str = "16m";

impl Disk {
    async fn new() -> Self {
        match backend() {
            Backend::Sqlite => {
                let dir = Arc::new(tempfile::tempdir().expect("temp dir"));
                let mount = dir.path().join("disk");
                std::fs::create_dir(&mount).expect("mount point");
                let mounted = Command::new("mount")
                    .args(["-t", "tmpfs", "-o", &format!("size={TMPFS_SIZE}"), "tmpfs"])
                    .arg(&mount)
                    .status()
                    .expect("run mount");
                assert!(
                    mounted.success(),
                    "mounting a tmpfs at {} failed ({mounted}): this test needs root",
                    mount.display()
                );
                Disk::Tmpfs { mount, dir }
            }
            Backend::Postgres => Disk::Postgres {
                url: fresh_postgres_schema().await,
            },
        }
    }

    fn database_url(&self) -> String {
        match self {
            Disk::Tmpfs { mount, .. } => format!("sqlite://{}", mount.join("accessd.db").display()),
            Disk::Postgres { url } => url.clone(),
        }
    }

    fn dir(&self) -> Arc<tempfile::TempDir> {
        match self {
            Disk::Tmpfs { dir, .. } => dir.clone(),
            Disk::Postgres { .. } => Arc::new(tempfile::tempdir().expect("temp dir")),
        }
    }

    /// Fills the disk: a file takes every free byte of the tmpfs; on PostgreSQL,
    /// inserts and updates of the access profiles and of the tenant's metadata (the
    /// readiness check's write) fail with `disk_full`.
    async fn fill(&self) {
        match self {
            Disk::Tmpfs { mount, .. } => fill(&mount.join("filler")),
            Disk::Postgres { url } => {
                let mut db = sqlx::PgConnection::connect(url).await.expect("connect");
                for sql in [
                    "CREATE FUNCTION disk_full() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
                     RAISE EXCEPTION 'could not extend file: No space left on device' \
                     USING ERRCODE = 'disk_full'; END $$",
                    "CREATE TRIGGER disk_full BEFORE INSERT OR UPDATE ON access_profiles \
                     FOR EACH ROW EXECUTE FUNCTION disk_full()",
                    "CREATE TRIGGER disk_full BEFORE INSERT OR UPDATE ON meta \
                     FOR EACH ROW EXECUTE FUNCTION disk_full()",
                ] {
                    sqlx::query(sql).execute(&mut db).await.expect(sql);
                }
            }
        }
    }

    async fn free(&self) {
        match self {
            Disk::Tmpfs { mount, .. } => {
                std::fs::remove_file(mount.join("filler")).expect("remove the filler")
            }
            Disk::Postgres { url } => {
                let mut db = sqlx::PgConnection::connect(url).await.expect("connect");
                sqlx::query("DROP FUNCTION disk_full() CASCADE")
                    .execute(&mut db)
                    .await
                    .expect("drop the triggers");
            }
        }
    }
}

/// Writes zeros to `path` until the file system refuses with "no space left".
fn fill(path: &Path) {
    use std::io::Write;
    let mut file = std::fs::File::create(path).expect("create the filler");
    let chunk = vec![0u8; 64 * 1024];
    loop {
        match file.write(&chunk) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.raw_os_error() == Some(28) => break, // ENOSPC
            Err(e) => panic!("filling {}: {e}", path.display()),
        }
    }
    // The last partial chunk may sit in no buffer at all: `write` on a file is unbuffered.
    let _ = file.sync_all();
}

impl Drop for Disk {
    fn drop(&mut self) {
        if let Disk::Tmpfs { mount, .. } = self {
            // Lazily: the server may still hold its files open.
            let _ = Command::new("umount").arg("-l").arg(&*mount).status();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_writes_with_507_keeps_reads_and_recovers_when_space_returns() {
    let disk = Disk::new().await;
    let config = test_config(&disk.database_url());
    let app = TestApp::start(config, disk.dir(), Clock::system()).await;
    let f = app.fixture().await;
    let kept = app
        .create_access_profile("/v3/access-profiles", &ap_body(&f, "Before"))
        .await;

    disk.fill().await;

    let refused = app
        .post("/v3/access-profiles", &ap_body(&f, "While full"))
        .await;
    let text = assert_isc_error(refused, 507, "507 Insufficient Storage").await;
    assert!(text.contains("storage is full"), "{text}");
    // Reads go on.
    let listed = app.get("/v3/access-profiles?count=true").await;
    assert_eq!(listed.status(), 200);
    assert_eq!(listed.headers()["X-Total-Count"], "1");
    let listed: Value = listed.json().await.unwrap();
    assert_eq!(listed[0]["id"], kept["id"], "{listed}");
    let one = app
        .get(&format!(
            "/beta/access-profiles/{}",
            kept["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(one.status(), 200);
    // Readiness fails, naming its check; liveness does not.
    let ready = app.http.get(app.url("/health/ready")).send().await.unwrap();
    let text = assert_isc_error(ready, 503, "503 Service Unavailable").await;
    assert!(text.contains("database check failed"), "{text}");
    assert!(text.contains("storage is full"), "{text}");
    let live = app.http.get(app.url("/health")).send().await.unwrap();
    assert_eq!(live.status(), 200);

    disk.free().await;

    // The very next write succeeds: nothing is left of the failed one.
    app.create_access_profile("/v3/access-profiles", &ap_body(&f, "After"))
        .await;
    let ready = app.http.get(app.url("/health/ready")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let ready: Value = ready.json().await.unwrap();
    assert_eq!(ready["status"], "UP", "{ready}");
    assert_eq!(ready["checks"]["database"], "UP", "{ready}");
    let names: Vec<Value> = app
        .get_json("/v3/access-profiles?sorters=name")
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].clone())
        .collect();
    assert_eq!(names, ["After", "Before"]);
}
