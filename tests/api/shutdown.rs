//! Shutting the real binary down with signals: a clean shutdown leaves the SQLite
//! database whole in `accessd.db` (its WAL checkpointed and emptied), says what it
//! waits for, and a second signal ends the wait at once.

use std::time::{Duration, Instant};

use accessd::store::Backend;
use serde_json::json;
use tokio::io::AsyncWriteExt;

use crate::helpers::{backend, fresh_database_url};
use crate::process::Server;

/// Long enough for any clean shutdown of an idle test server.
const GUARD: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_shutdown_leaves_the_whole_database_in_its_main_file() {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database_url(dir.path()).await;
    let mut server = Server::start_logging(&url, &[], "info").await;
    let (status, source) = server
        .post(
            "/v3/sources",
            json!({"name": "Kept", "connector": "ldap",
                   "owner": {"type": "IDENTITY", "id": admin_id(&server).await}}),
        )
        .await;
    assert_eq!(status, 201, "{source}");
    server.signal("TERM");
    let status = server.exited_within(GUARD).await.expect("the server exits");
    assert!(status.success(), "{status:?}");
    let log = server.log_lines().join("\n");
    assert!(log.contains("shut down cleanly"), "{log}");
    if backend() != Backend::Sqlite {
        return;
    }
    let wal = dir.path().join("accessd.db-wal");
    let wal_len = std::fs::metadata(&wal).map_or(0, |m| m.len());
    assert_eq!(
        wal_len, 0,
        "the WAL still holds data after a clean shutdown"
    );
    // `accessd.db` alone, copied elsewhere, is the whole database.
    let copy = tempfile::tempdir().unwrap();
    std::fs::copy(
        dir.path().join("accessd.db"),
        copy.path().join("accessd.db"),
    )
    .unwrap();
    let copied = format!("sqlite://{}", copy.path().join("accessd.db").display());
    let server = Server::start(&copied, &[]).await;
    let id = source["id"].as_str().unwrap();
    let (status, again) = server.get(&format!("/v3/sources/{id}")).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["name"], "Kept");
}

async fn admin_id(server: &Server) -> String {
    let (_, me) = server
        .get("/beta/identities?filters=alias%20eq%20%22accessd.admin%22")
        .await;
    me[0]["id"].as_str().expect("admin identity").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_says_what_it_waits_for_and_a_second_signal_exits_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database_url(dir.path()).await;
    let mut server = Server::start_logging(&url, &["--request-timeout-secs", "120"], "info").await;
    // A client stalled in the middle of its request body: the graceful shutdown waits
    // for its request.
    let addr = server.base.trim_start_matches("http://").to_string();
    let mut stalled = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /v3/access-profiles HTTP/1.1\r\nHost: accessd\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"name\": ",
        server.token
    );
    stalled.write_all(head.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    server.signal("INT");
    let waiting = Instant::now();
    loop {
        let log = server.log_lines().join("\n");
        if log.contains("waiting for open connections") {
            // The stalled one, and maybe the harness's idle kept-alive one.
            assert!(log.contains("connections="), "{log}");
            break;
        }
        assert!(
            waiting.elapsed() < GUARD,
            "no line says what it waits for: {log}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        server.exited_within(Duration::from_secs(1)).await.is_none(),
        "the shutdown did not wait for the stalled request"
    );
    server.signal("INT");
    let second = Instant::now();
    let status = server
        .exited_within(GUARD)
        .await
        .expect("the second signal ends the process");
    assert!(
        second.elapsed() < Duration::from_secs(5),
        "took {:?} after the second signal",
        second.elapsed()
    );
    assert!(!status.success(), "{status:?}");
    let log = server.log_lines().join("\n");
    assert!(log.contains("second signal"), "{log}");
    drop(stalled);
}
