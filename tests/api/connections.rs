//! Connections at the edge: the cap on open connections below the descriptor limit
//! (slow clients cannot starve a normal one), requests hyper refuses before any of
//! ours runs (logged with the peer), and a client that half-closes after its request.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{fresh_database_url, TestApp};
use crate::process::Server;

/// Long enough for any answer of an idle test server; reached only by a failure.
const GUARD: Duration = Duration::from_secs(30);

/// The child's descriptor limit, and the requests in flight it allows: the cap is then
/// 256 − (64 + 2 × 16) = 160 connections (`app::connections`).
const NOFILE: u64 = 256;
const CAP: usize = 160;
/// Slow clients: more than the descriptor limit allows open at once.
const SLOW: usize = 400;

/// Connects and sends half a request head, then nothing more: a slow client.
async fn slow_client(addr: &str) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: slow\r\n")
        .await
        .expect("half a head");
    stream
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_connections_past_the_descriptor_limit_do_not_starve_a_normal_client() {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database_url(dir.path()).await;
    // No header deadline: the slow clients would hold their connections for ever.
    let server = Server::start_with_descriptor_limit(
        &url,
        &[
            "--header-read-timeout-secs",
            "0",
            "--max-requests-in-flight",
            "16",
        ],
        "info",
        NOFILE,
    )
    .await;
    let log = server.log_lines().join("\n");
    assert!(log.contains(&format!("max_connections={CAP}")), "{log}");
    let addr = server.base.trim_start_matches("http://").to_string();

    let mut slow = Vec::with_capacity(SLOW);
    for _ in 0..SLOW {
        slow.push(slow_client(&addr).await);
    }
    let client = reqwest::Client::builder().timeout(GUARD).build().unwrap();
    for _ in 0..20 {
        let resp = client
            .get(format!("{}/v3/access-profiles?limit=1", server.base))
            .bearer_auth(&server.token)
            .send()
            .await
            .expect("a normal client is answered");
        assert_eq!(resp.status(), 200);
    }
    // The slow connections idle longest made room: at most the cap stay open. The
    // server accepts (and evicts for) the last of them from the listen backlog on its
    // own time, so their closes are collected until enough have come (or the guard).
    let deadline = Instant::now() + GUARD;
    let mut closed = vec![false; SLOW];
    loop {
        for (stream, done) in slow.iter().zip(closed.iter_mut()) {
            let mut byte = [0u8; 1];
            if !*done && matches!(stream.try_read(&mut byte), Ok(0)) {
                *done = true;
            }
        }
        let count = closed.iter().filter(|c| **c).count();
        if count >= SLOW - CAP {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{count} of {SLOW} slow connections closed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Sends `request` on a new connection and returns all it gets back.
async fn raw(addr: std::net::SocketAddr, request: &[u8]) -> (String, std::net::SocketAddr) {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let local = stream.local_addr().unwrap();
    stream.write_all(request).await.expect("send");
    let mut answer = Vec::new();
    tokio::time::timeout(GUARD, stream.read_to_end(&mut answer))
        .await
        .expect("an answer and a close")
        .expect("read");
    (String::from_utf8_lossy(&answer).into_owned(), local)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_the_http_layer_refuses_are_logged_with_the_peer_and_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database_url(dir.path()).await;
    let server = Server::start_logging(&url, &[], "warn").await;
    let addr: std::net::SocketAddr = server.base.trim_start_matches("http://").parse().unwrap();
    let malformed: [&[u8]; 3] = [
        b"NOT A REQUEST LINE\r\n\r\n",
        b"GET /health HTTP/1.1\r\nHost: x\r\nX-Bad: a\x01b\r\n\r\n",
        b"POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Length: ten\r\n\r\n",
    ];
    let mut peers = Vec::new();
    for request in malformed {
        let (answer, peer) = raw(addr, request).await;
        assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
        peers.push(peer);
    }
    let deadline = Instant::now() + GUARD;
    loop {
        let log = server.log_lines().join("\n");
        let logged = peers
            .iter()
            .filter(|peer| {
                log.lines().any(|l| {
                    l.contains("WARN")
                        && l.contains("malformed request")
                        && l.contains(&peer.to_string())
                })
            })
            .count();
        if logged == peers.len() {
            break;
        }
        assert!(Instant::now() < deadline, "{logged} of 3 logged: {log}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_half_closes_after_its_request_gets_the_answer() {
    let app = TestApp::spawn().await;
    let addr: std::net::SocketAddr = app.base.trim_start_matches("http://").parse().unwrap();
    for _ in 0..20 {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream
            .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        stream.shutdown().await.unwrap();
        let mut answer = Vec::new();
        tokio::time::timeout(GUARD, stream.read_to_end(&mut answer))
            .await
            .expect("an answer and a close")
            .unwrap();
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_cap_with_every_connection_serving_a_new_one_is_answered_503_with_the_isc_body() {
    let app = TestApp::spawn_with(|c| c.gateway.max_connections = 1).await;
    let addr: std::net::SocketAddr = app.base.trim_start_matches("http://").parse().unwrap();
    // A request whose body is awaited: hyper asks for it with `100 Continue` once the
    // request is being served.
    let mut serving = TcpStream::connect(addr).await.expect("connect");
    serving
        .write_all(
            b"POST /oauth/token HTTP/1.1\r\nHost: x\r\n\
              Content-Type: application/x-www-form-urlencoded\r\n\
              Content-Length: 64\r\nExpect: 100-continue\r\n\r\n",
        )
        .await
        .unwrap();
    let mut continued = [0u8; 25];
    tokio::time::timeout(GUARD, serving.read_exact(&mut continued))
        .await
        .expect("100 Continue")
        .unwrap();
    assert!(continued.starts_with(b"HTTP/1.1 100"), "{continued:?}");

    let (answer, _) = raw(addr, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n").await;
    let (head, body) = answer.split_once("\r\n\r\n").expect("head and body");
    assert!(head.starts_with("HTTP/1.1 503"), "{answer}");
    let head = head.to_ascii_lowercase();
    assert!(head.contains("retry-after: 1"), "{answer}");
    assert!(head.contains("slpt-request-id: "), "{answer}");
    let body: serde_json::Value = serde_json::from_str(body).expect("an ISC JSON body");
    assert_eq!(body["detailCode"], "503 Service Unavailable", "{body}");
    assert_eq!(
        body["trackingId"].as_str().map(str::len),
        Some(32),
        "{body}"
    );
}
