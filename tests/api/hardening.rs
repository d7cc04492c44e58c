//! The attack surface: body, header and time limits. Requests that
//! a well-behaved HTTP client cannot produce (chunked bodies, stalled bodies, trickled
//! headers) are written by hand on a raw TCP connection.

use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::*;

/// How long a test waits for the server to act before declaring it did not. Generous:
/// it only guards against a hung test, it measures nothing.
const GUARD: Duration = Duration::from_secs(60);

/// An HTTP/1.1 answer read off a raw connection.
struct RawResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl RawResponse {
    fn parse(bytes: &[u8]) -> RawResponse {
        let end = bytes
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or_else(|| panic!("no complete head in {:?}", String::from_utf8_lossy(bytes)));
        let head = String::from_utf8_lossy(&bytes[..end]).to_string();
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .unwrap()
            .split(' ')
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let mut body = bytes[end + 4..].to_vec();
        if let Some((_, len)) = headers.iter().find(|(k, _)| k == "content-length") {
            body.truncate(len.parse().unwrap());
        }
        RawResponse {
            status,
            headers,
            body,
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Asserts an ISC error body (CONTRACT §7) with this detail code.
    fn assert_isc_error(&self, status: u16, detail_code: &str) {
        assert_eq!(
            self.status,
            status,
            "{}",
            String::from_utf8_lossy(&self.body)
        );
        let body: Value = serde_json::from_slice(&self.body).expect("a JSON error body");
        assert_eq!(body["detailCode"], detail_code, "{body}");
        let tracking = body["trackingId"].as_str().expect("trackingId");
        assert_eq!(Some(tracking), self.header("slpt-request-id"));
        assert!(body["messages"][0]["text"].is_string(), "{body}");
    }
}

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(app.base.trim_start_matches("http://"))
        .await
        .expect("connect")
}

/// Writes `request` (asking the server to close afterwards) and reads until it does.
async fn exchange(app: &TestApp, request: &[u8]) -> RawResponse {
    let mut stream = connect(app).await;
    stream.write_all(request).await.expect("write");
    let mut answer = Vec::new();
    tokio::time::timeout(GUARD, stream.read_to_end(&mut answer))
        .await
        .expect("the server answers and closes")
        .expect("read");
    RawResponse::parse(&answer)
}

/// A request head with the admin token, `Connection: close`, and these extra lines.
fn head(app: &TestApp, method_path: &str, extra: &[&str]) -> String {
    let mut head = format!(
        "{method_path} HTTP/1.1\r\nHost: accessd\r\nAuthorization: Bearer {}\r\nConnection: close\r\n",
        app.token
    );
    for line in extra {
        head.push_str(line);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    head
}

/// A chunked body of `chunks` chunks of `size` bytes each, then the last chunk.
fn chunked(chunks: usize, size: usize) -> String {
    let mut body = String::new();
    for _ in 0..chunks {
        body.push_str(&format!("{size:x}\r\n{}\r\n", "x".repeat(size)));
    }
    body.push_str("0\r\n\r\n");
    body
}

#[tokio::test]
async fn a_chunked_body_over_the_limit_is_413_with_the_isc_body() {
    let app = TestApp::spawn_with(|c| c.body_limit = 4096).await;
    // Within the limit, chunked: read and parsed (here: not JSON → 400).
    let small = head(
        &app,
        "POST /v3/access-profiles",
        &[
            "Content-Type: application/json",
            "Transfer-Encoding: chunked",
        ],
    ) + &chunked(2, 1000);
    exchange(&app, small.as_bytes())
        .await
        .assert_isc_error(400, "400.1 Bad Request Content");
    // Over it: no Content-Length to refuse up front, so the limit stops the read.
    let big = head(
        &app,
        "POST /v3/access-profiles",
        &[
            "Content-Type: application/json",
            "Transfer-Encoding: chunked",
        ],
    ) + &chunked(5, 1000);
    exchange(&app, big.as_bytes())
        .await
        .assert_isc_error(413, "413 Payload Too Large");
    // The token endpoint reads its form through the same limit.
    let token = head(
        &app,
        "POST /oauth/token",
        &[
            "Content-Type: application/x-www-form-urlencoded",
            "Transfer-Encoding: chunked",
        ],
    ) + &chunked(5, 1000);
    exchange(&app, token.as_bytes())
        .await
        .assert_isc_error(413, "413 Payload Too Large");
}

#[tokio::test]
async fn a_declared_length_over_a_configured_limit_is_413_with_the_isc_body() {
    let app = TestApp::spawn_with(|c| c.body_limit = 4096).await;
    for path in [
        "/v3/access-profiles",
        "/beta/roles",
        "/access-profiles/v1/bulk-delete",
    ] {
        let resp = app
            .request(reqwest::Method::POST, path)
            .header("Content-Type", "application/json")
            .body(format!("\"{}\"", "x".repeat(5000)))
            .send()
            .await
            .unwrap();
        let text = assert_isc_error(resp, 413, "413 Payload Too Large").await;
        assert!(text.contains("larger than the limit"), "{text}");
    }
}

#[tokio::test]
async fn too_many_or_too_large_headers_are_refused_with_431() {
    let app = TestApp::spawn_with(|c| {
        c.gateway.max_headers = 20;
        c.gateway.max_header_bytes = 4096;
    })
    .await;
    // Within both limits: served.
    let mut ok = app.request(reqwest::Method::GET, "/v3/access-profiles");
    for i in 0..10 {
        ok = ok.header(format!("X-Extra-{i}"), "value");
    }
    assert_eq!(ok.send().await.unwrap().status(), 200);
    // Too many headers.
    let mut many = app.request(reqwest::Method::GET, "/v3/access-profiles");
    for i in 0..30 {
        many = many.header(format!("X-Extra-{i}"), "value");
    }
    assert_eq!(many.send().await.unwrap().status(), 431);
    // One header larger than the whole head may be.
    let large = app
        .request(reqwest::Method::GET, "/v3/access-profiles")
        .header("X-Large", "x".repeat(5000))
        .send()
        .await
        .unwrap();
    assert_eq!(large.status(), 431);
    // The server is unharmed.
    assert_eq!(app.get("/v3/access-profiles").await.status(), 200);
}

/// Reads until the server closes the connection, and asserts it served no request.
async fn assert_closed_unserved(mut stream: TcpStream, what: &str) {
    let mut buf = Vec::new();
    let read = tokio::time::timeout(GUARD, stream.read_to_end(&mut buf))
        .await
        .unwrap_or_else(|_| panic!("the server keeps a connection that {what}"));
    match read {
        Ok(_) => assert!(
            !String::from_utf8_lossy(&buf).contains(" 200 "),
            "{what}: the request was served: {}",
            String::from_utf8_lossy(&buf)
        ),
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{what}: {e}"),
    }
}

#[tokio::test]
async fn a_client_that_trickles_its_headers_or_says_nothing_is_disconnected() {
    let app = TestApp::spawn_with(|c| c.gateway.header_read_timeout_secs = 1).await;
    // A request head that never ends: no blank line.
    let mut stream = connect(&app).await;
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: accessd\r\nX-Slow: 1\r\n")
        .await
        .unwrap();
    assert_closed_unserved(stream, "never completes its headers").await;
    // A connection that sends nothing at all.
    assert_closed_unserved(connect(&app).await, "sends nothing").await;
    // The start of the HTTP/2 preface (which a protocol sniffer would wait on).
    let mut stream = connect(&app).await;
    stream.write_all(b"PRI * HTTP/2.0\r\n").await.unwrap();
    assert_closed_unserved(stream, "sends part of the HTTP/2 preface").await;
    // A kept-alive connection that goes quiet after a request is closed too.
    let mut stream = connect(&app).await;
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: accessd\r\n\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    tokio::time::timeout(GUARD, stream.read_to_end(&mut buf))
        .await
        .expect("the server closes an idle kept-alive connection")
        .expect("read");
    assert!(String::from_utf8_lossy(&buf).starts_with("HTTP/1.1 200"));
}

#[tokio::test]
async fn a_request_that_outlasts_the_request_timeout_gets_the_isc_408() {
    let app = TestApp::spawn_with(|c| c.gateway.request_timeout_secs = 1).await;
    // The handler waits for a body that never comes in full.
    let mut request = head(
        &app,
        "POST /v3/access-profiles",
        &["Content-Type: application/json", "Content-Length: 100"],
    );
    request.push_str("{\"name\": ");
    let answer = exchange(&app, request.as_bytes()).await;
    answer.assert_isc_error(408, "408 Request Timeout");
    // Requests that finish in time are unaffected.
    assert_eq!(app.get("/v3/access-profiles").await.status(), 200);
}

/// U+0000 is refused with a 400 wherever it arrives (a JSON string, a JSON key, a path
/// id, a filter), and nothing is written: on PostgreSQL it would be a 500, since text
/// cannot hold it, and a SQLite tenant holding it could not be moved there.
#[tokio::test]
async fn the_character_u0000_is_a_400_everywhere_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let f = app.fixture().await;
    let mut body = ap_body(&f, "x");
    body["name"] = Value::String("a\u{0}b".into());
    let resp = app.post("/v3/access-profiles", &body).await;
    assert_isc_error(resp, 400, "400.1 Bad Request Content").await;
    let mut body = ap_body(&f, "y");
    body["description\u{0}"] = Value::String("d".into());
    let resp = app.post("/v3/access-profiles", &body).await;
    assert_isc_error(resp, 400, "400.1 Bad Request Content").await;
    // A literal backslash-u text is no NUL: that profile is created.
    let mut body = ap_body(&f, "literal");
    body["description"] = Value::String("\\u0000".into());
    let created = app
        .create_access_profile("/v3/access-profiles", &body)
        .await;
    assert_eq!(created["description"], "\\u0000");

    for path in [
        "/v3/access-profiles/a%00b",
        "/v3/access-profiles?filters=name%20eq%20%22a%00%22",
        "/beta/access-profiles?filters=name%20sw%20%22%00%22",
    ] {
        let resp = app.get(path).await;
        assert_isc_error(resp, 400, "400.1 Bad Request Content").await;
    }
    let list = app.get_json("/v3/access-profiles?count=true").await;
    assert_eq!(
        list.as_array().unwrap().len(),
        1,
        "only the literal one: {list}"
    );
}

/// The token endpoint reads its parameters from a form, a multipart body or the query
/// (CONTRACT §6): U+0000 in any of them is the same 400 on both backends, before any
/// client is looked up (PostgreSQL's text cannot hold it).
#[tokio::test]
async fn the_character_u0000_at_the_token_endpoint_is_a_400_however_it_is_sent() {
    let app = TestApp::spawn().await;
    let (id, secret) = app.admin_client();
    for (name, value) in [
        ("client_id", "a\u{0}b"),
        ("client_id", "\u{0}"),
        ("client_secret", "s\u{0}"),
        ("grant_type", "client_credentials\u{0}"),
    ] {
        let mut fields = vec![
            ("grant_type", "client_credentials".to_string()),
            ("client_id", id.clone()),
            ("client_secret", secret.clone()),
        ];
        for field in &mut fields {
            if field.0 == name {
                field.1 = value.to_string();
            }
        }
        let form = app
            .http
            .post(app.url("/oauth/token"))
            .form(&fields)
            .send()
            .await
            .expect("form request");
        let text = assert_isc_error(form, 400, "400.1 Bad Request Content").await;
        assert!(text.contains("U+0000"), "form {name}: {text}");
        let multipart = fields
            .iter()
            .fold(reqwest::multipart::Form::new(), |form, (n, v)| {
                form.text(*n, v.clone())
            });
        let multipart = app
            .http
            .post(app.url("/oauth/token"))
            .multipart(multipart)
            .send()
            .await
            .expect("multipart request");
        let text = assert_isc_error(multipart, 400, "400.1 Bad Request Content").await;
        assert!(text.contains("U+0000"), "multipart {name}: {text}");
    }
    // A field name holding it is refused too.
    let resp = app
        .http
        .post(app.url("/oauth/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &secret),
            ("x\u{0}", "y"),
        ])
        .send()
        .await
        .expect("form request");
    assert_isc_error(resp, 400, "400.1 Bad Request Content").await;
    let resp = app
        .http
        .post(app.url(&format!(
            "/oauth/token?grant_type=client_credentials&client_id=%00&client_secret={secret}"
        )))
        .send()
        .await
        .expect("query request");
    assert_isc_error(resp, 400, "400.1 Bad Request Content").await;
    // The same client, without it, still gets its token.
    assert!(!app.fetch_token(&id, &secret).await.is_empty());
    // Behind the edge, the store refuses such text the same way on both backends.
    let refused = app.store.get_client("a\u{0}b").await;
    assert!(
        matches!(&refused, Err(accessd::store::StoreError::Refused(m)) if m.contains("U+0000")),
        "{refused:?}"
    );
}

/// Reads one answer off a kept-alive connection: the head, then `Content-Length` bytes.
async fn read_one(stream: &mut TcpStream) -> RawResponse {
    let mut bytes = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            let partial = RawResponse::parse(&bytes);
            let length: usize = partial
                .header("content-length")
                .map_or(0, |v| v.parse().unwrap());
            if bytes.len() >= end + 4 + length {
                return RawResponse::parse(&bytes);
            }
        }
        let n = tokio::time::timeout(GUARD, stream.read(&mut buf))
            .await
            .expect("the server answers")
            .expect("read");
        assert!(
            n > 0,
            "the server closed the connection mid-answer: {:?}",
            String::from_utf8_lossy(&bytes)
        );
        bytes.extend_from_slice(&buf[..n]);
    }
}

#[tokio::test]
async fn an_answer_given_before_the_body_was_read_keeps_the_connection_usable() {
    // The v1 source-app operations refuse a request without X-SailPoint-Experimental
    // before reading its body (CONTRACT §3.3). A client that sends the head and the body
    // in two writes, as urllib3 does, must get that answer and be able to send its next
    // request on the same connection.
    let app = TestApp::spawn().await;
    let mut stream = connect(&app).await;
    let body = r#"[{"op":"replace","path":"/description","value":"x"}]"#;
    for round in 0..3 {
        let request_head = format!(
            "PATCH /source-apps/v1/{} HTTP/1.1\r\nHost: accessd\r\nAuthorization: Bearer {}\r\n\
             Content-Type: application/json-patch+json\r\nContent-Length: {}\r\n\r\n",
            "0".repeat(32),
            app.token,
            body.len()
        );
        stream
            .write_all(request_head.as_bytes())
            .await
            .expect("write head");
        tokio::time::sleep(Duration::from_millis(50)).await;
        stream.write_all(body.as_bytes()).await.unwrap_or_else(|e| {
            panic!("round {round}: the server closed the connection before the body: {e}")
        });
        let answer = read_one(&mut stream).await;
        assert_eq!(answer.status, 400, "round {round}");
        assert_eq!(answer.header("connection"), None, "round {round}");
    }
    let health = "GET /health HTTP/1.1\r\nHost: accessd\r\n\r\n";
    stream.write_all(health.as_bytes()).await.expect("write");
    assert_eq!(read_one(&mut stream).await.status, 200);
}

/// A bounded number of requests in flight: with a bound of 2, two requests stalled in
/// their bodies hold both places, and the next request is refused at once with 503,
/// `Retry-After` and the ISC body, whoever sends it, `/metrics` included; `/health` still
/// answers. Once the stalled requests end, requests are served again.
#[tokio::test]
async fn requests_over_the_bound_in_flight_get_a_fast_503() {
    let app = TestApp::spawn_with(|c| c.gateway.max_requests_in_flight = 2).await;
    let mut stalled = Vec::new();
    for _ in 0..2 {
        let mut stream = connect(&app).await;
        let mut request = head(
            &app,
            "POST /v3/access-profiles",
            &["Content-Type: application/json", "Content-Length: 100"],
        );
        request.push_str("{\"name\": ");
        stream.write_all(request.as_bytes()).await.expect("write");
        stalled.push(stream);
    }
    // Until both stalled requests hold their places.
    let started = std::time::Instant::now();
    let refused = loop {
        let resp = app.get("/v3/access-profiles").await;
        if resp.status() == 503 {
            break resp;
        }
        assert!(started.elapsed() < GUARD, "never refused");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(refused.headers()["Retry-After"], "1");
    let quick = std::time::Instant::now();
    let resp = app.get("/beta/access-profiles").await;
    assert!(
        quick.elapsed() < Duration::from_secs(2),
        "not refused at once"
    );
    assert_isc_error(resp, 503, "503 Service Unavailable").await;
    // Refused before authentication: no token needed to be turned away.
    let resp = app
        .http
        .post(app.url("/oauth/token"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 503);
    // `/metrics` too: a scrape storm is shed like any other burst.
    let resp = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("metrics");
    assert_eq!(resp.status(), 503);
    assert_eq!(
        app.http
            .get(app.url("/health"))
            .send()
            .await
            .expect("health")
            .status(),
        200
    );
    drop(stalled);
    let started = std::time::Instant::now();
    while app.get("/v3/access-profiles").await.status() != 200 {
        assert!(started.elapsed() < GUARD, "never served again");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
