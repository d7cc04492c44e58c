//! The ceiling for the GET benchmark of `scripts/bench.sh`: the same stack (tokio,
//! hyper, axum) answering `GET /v3/access-profiles/{id}` with bytes held in memory, with
//! no authentication, no database and no JSON rendering: what accessd could at best
//! reach on this machine.
//!
//! ```text
//! cargo run --release --example ceiling -- ADDR BODY_FILE
//! ```

// Tests, benchmarks and tools may panic (the `[lints]` table denies it for the server).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::todo)]

use axum::body::Bytes;
use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use axum::Router;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, addr, body_file] = &args[..] else {
        panic!("usage: ceiling ADDR BODY_FILE");
    };
    let body = Bytes::from(std::fs::read(body_file).expect("BODY_FILE"));
    let app = Router::new().route(
        "/v3/access-profiles/{id}",
        get(move || {
            let body = body.clone();
            async move { ([(CONTENT_TYPE, "application/json")], body) }
        }),
    );
    let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
    axum::serve(listener, app).await.expect("serve");
}
