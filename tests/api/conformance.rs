//! Every response of the harness's server checked against the spec files: a layer
//! around the served router matches each request's method and path to its operation
//! in `spec/*.json` (family from the path prefix, CONTRACT §1), and checks
//! that the status is one the operation declares and that the body is valid against
//! that status's schema (the `jsonschema` crate, Draft 4 — the dialect of OpenAPI
//! 3.0 schemas — over the whole document, so its local `$ref`s resolve). What it finds
//! is recorded; `TestApp` fails the test that received it. The only exceptions are the
//! entries of `spec/deviations.json` ([`crate::deviations`]), each with its reason.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use axum::body::Body;
use axum::extract::Request;
use axum::http::header::CONTENT_TYPE;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use serde_json::Value;

use crate::deviations::{self, ErrorBody};

/// The spec documents and the prefix their paths are served under (CONTRACT §1; the v1
/// document's paths already carry their `/v1`).
pub const SPEC_FILES: [(&str, &str); 6] = [
    ("v3", "/v3"),
    ("beta", "/beta"),
    ("v1", ""),
    ("v2024", "/v2024"),
    ("v2025", "/v2025"),
    ("v2026", "/v2026"),
];

/// One operation of one spec document.
pub struct SpecOperation {
    pub method: String,
    /// The path template as served (family prefix included), split at `/`.
    segments: Vec<String>,
    pub id: String,
    /// Declared statuses (`"200"`, `"default"`, …) → JSON pointer of the response object.
    responses: Vec<(String, String)>,
}

impl SpecOperation {
    /// Literal segments count more than templated ones: `/source-apps/all` before
    /// `/source-apps/{id}`.
    fn matches(&self, segments: &[&str]) -> Option<usize> {
        if self.segments.len() != segments.len() {
            return None;
        }
        let mut literal = 0;
        for (t, s) in self.segments.iter().zip(segments) {
            if t.starts_with('{') && t.ends_with('}') {
                if s.is_empty() {
                    return None;
                }
            } else if t == s {
                literal += 1;
            } else {
                return None;
            }
        }
        Some(literal)
    }

    fn response(&self, status: &str) -> Option<&str> {
        self.responses
            .iter()
            .find(|(s, _)| s == status)
            .map(|(_, p)| p.as_str())
    }
}

pub struct SpecFile {
    pub family: &'static str,
    /// The document, with OpenAPI's `nullable: true` rewritten as JSON Schema.
    doc: Value,
    pub operations: Vec<SpecOperation>,
    validators: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
}

/// JSON Pointer escaping of one reference token.
fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// OpenAPI 3.0's `nullable: true` is not JSON Schema: `{nullable, …rest}` becomes
/// `{"anyOf": [{"type": "null"}, {…rest}]}`, everywhere in the document.
fn rewrite_nullable(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for child in map.values_mut() {
                rewrite_nullable(child);
            }
            if map.get("nullable") == Some(&Value::Bool(true)) {
                map.remove("nullable");
                let rest = Value::Object(std::mem::take(map));
                map.insert(
                    "anyOf".into(),
                    Value::Array(vec![serde_json::json!({"type": "null"}), rest]),
                );
            }
        }
        Value::Array(items) => items.iter_mut().for_each(rewrite_nullable),
        _ => {}
    }
}

fn load(family: &'static str, prefix: &str) -> SpecFile {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("spec/{family}.json"));
    let text = std::fs::read_to_string(&file).expect("spec document");
    let mut doc: Value = serde_json::from_str(&text).expect("spec JSON");
    rewrite_nullable(&mut doc);
    let mut operations = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            let Some(id) = op.get("operationId").and_then(Value::as_str) else {
                continue;
            };
            let template = format!("{prefix}{path}");
            let op_pointer = format!("/paths/{}/{method}", escape(path));
            let responses = op["responses"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(status, response)| {
                    let pointer = match response.get("$ref").and_then(Value::as_str) {
                        Some(r) => r.trim_start_matches('#').to_string(),
                        None => format!("{op_pointer}/responses/{status}"),
                    };
                    (status.clone(), pointer)
                })
                .collect();
            operations.push(SpecOperation {
                method: method.to_uppercase(),
                segments: template.split('/').map(str::to_string).collect(),
                id: id.to_string(),
                responses,
            });
        }
    }
    SpecFile {
        family,
        doc,
        operations,
        validators: Mutex::default(),
    }
}

pub fn spec_files() -> &'static [SpecFile] {
    static SPECS: OnceLock<Vec<SpecFile>> = OnceLock::new();
    SPECS.get_or_init(|| SPEC_FILES.iter().map(|(f, p)| load(f, p)).collect())
}

impl SpecFile {
    /// A validator for the schema at `pointer` (`/components/schemas/…`): the whole
    /// document with a `$ref` to it at its root, so every local `$ref` resolves.
    fn validator(&self, pointer: &str) -> Arc<jsonschema::Validator> {
        let mut cache = self
            .validators
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        cache
            .entry(pointer.to_string())
            .or_insert_with(|| {
                let mut root = self.doc.clone();
                // A URI fragment: the braces of path templates are percent-encoded.
                let fragment = pointer.replace('{', "%7B").replace('}', "%7D");
                root["$ref"] = Value::String(format!("#{fragment}"));
                Arc::new(
                    jsonschema::draft4::options()
                        .build(&root)
                        .unwrap_or_else(|e| panic!("spec/{}.json {pointer}: {e}", self.family)),
                )
            })
            .clone()
    }

    /// Whether the response object at `response` declares a body of `content_type`
    /// (its media type, parameters aside).
    fn declares_content(&self, response: &str, content_type: &str) -> bool {
        let media = content_type.split(';').next().unwrap_or("").trim();
        let escaped = media.replace('~', "~0").replace('/', "~1");
        self.doc
            .pointer(&format!("{response}/content/{escaped}"))
            .is_some()
    }

    /// The JSON schema of the response object at `response`, if it has a body.
    fn body_schema(&self, response: &str) -> Option<String> {
        let pointer = format!("{response}/content/application~1json/schema");
        self.doc.pointer(&pointer).map(|_| pointer)
    }
}

/// The spec file and operation a request is for, if any.
pub fn operation_for(
    method: &str,
    path: &str,
) -> Option<(&'static SpecFile, &'static SpecOperation)> {
    let segments: Vec<&str> = path.split('/').collect();
    let mut best: Option<(usize, &SpecFile, &SpecOperation)> = None;
    for file in spec_files() {
        for op in &file.operations {
            if op.method != method {
                continue;
            }
            if let Some(score) = op.matches(&segments)
                && best.as_ref().is_none_or(|(b, _, _)| score > *b)
            {
                best = Some((score, file, op));
            }
        }
    }
    best.map(|(_, f, o)| (f, o))
}

/// The operations (family, operationId) that answered a declared 2xx status, over the
/// whole test binary.
pub fn succeeded() -> BTreeSet<(String, String)> {
    SUCCEEDED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .clone()
}

static SUCCEEDED: Mutex<BTreeSet<(String, String)>> = Mutex::new(BTreeSet::new());

/// What one server's responses broke, in the order received.
#[derive(Default)]
pub struct Recorder {
    violations: Mutex<Vec<String>>,
}

impl Recorder {
    pub fn violations(&self) -> Vec<String> {
        self.violations
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    fn record(&self, what: String) {
        self.violations
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(what);
    }

    /// Checks one response; records what is wrong with it.
    pub fn check(&self, method: &str, path: &str, status: u16, content_type: &str, body: &[u8]) {
        let Some((file, op)) = operation_for(method, path)
            .filter(|(file, op)| deviations::not_served(file.family, &op.id).is_none())
        else {
            self.check_unspecified(method, path, status, content_type, body);
            return;
        };
        let name = format!("{} {} ({method} {path})", file.family, op.id);
        let code = status.to_string();
        let response = op.response(&code).or_else(|| op.response("default"));
        let schema = match response {
            Some(response) => file.body_schema(response),
            None => match deviations::undeclared_status(file.family, &op.id, status) {
                Some(deviation) => match &deviation.body {
                    ErrorBody::OperationError => op
                        .response("400")
                        .and_then(|r| file.body_schema(r))
                        .or_else(|| Some("/components/schemas/ErrorResponseDto".into())),
                    ErrorBody::Schema(pointer) => Some(pointer.clone()),
                },
                None => {
                    self.record(format!(
                        "{name}: status {status} is not declared for the operation{}",
                        excerpt(body)
                    ));
                    return;
                }
            },
        };
        let schema = match schema {
            // A refusal the spec declares without a body gets the ISC error body all the
            // same ([`deviations::error_body_where_none_declared`]).
            None if !body.is_empty()
                && deviations::error_body_where_none_declared(status).is_some() =>
            {
                op.response("400").and_then(|r| file.body_schema(r))
            }
            schema => schema,
        };
        let valid = match &schema {
            // HEAD: the server sends no body (hyper drops what the handler rendered);
            // the status is the answer.
            _ if method == "HEAD" => true,
            // A body in another media type the operation declares (YAML): the type
            // is the check, there is no JSON to validate.
            _ if !content_type.starts_with("application/json")
                && response.is_some_and(|r| file.declares_content(r, content_type)) =>
            {
                true
            }
            Some(schema) => self.validate(&name, file, &op.id, status, schema, content_type, body),
            None if !body.is_empty() && response.is_some_and(|r| file.body_schema(r).is_none()) => {
                self.record(format!(
                    "{name}: status {status} declares no body, got{}",
                    excerpt(body)
                ));
                false
            }
            None => true,
        };
        if valid && (200..300).contains(&status) {
            SUCCEEDED
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .insert((file.family.to_string(), op.id.clone()));
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn validate(
        &self,
        name: &str,
        file: &SpecFile,
        operation: &str,
        status: u16,
        schema: &str,
        content_type: &str,
        body: &[u8],
    ) -> bool {
        if !content_type.starts_with("application/json") {
            self.record(format!(
                "{name}: status {status}: Content-Type {content_type:?}, not JSON{}",
                excerpt(body)
            ));
            return false;
        }
        let instance: Value = match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(e) => {
                self.record(format!(
                    "{name}: status {status}: body is not JSON ({e}){}",
                    excerpt(body)
                ));
                return false;
            }
        };
        let validator = file.validator(schema);
        let mut valid = true;
        for error in validator.iter_errors(&instance) {
            let pointer = error.instance_path().as_str().to_string();
            let keyword = error
                .schema_path()
                .as_str()
                .rsplit('/')
                .next()
                .unwrap_or("")
                .to_string();
            if deviations::schema_deviation(file.family, operation, status, &pointer, &keyword)
                .is_some()
            {
                continue;
            }
            let mut text = error.to_string();
            if text.len() > 300 {
                let cut = (0..=300)
                    .rev()
                    .find(|i| text.is_char_boundary(*i))
                    .unwrap_or(0);
                text.truncate(cut);
                text.push('…');
            }
            self.record(format!(
                "{name}: status {status}: at {:?} ({keyword}, schema {schema}): {text}",
                if pointer.is_empty() { "/" } else { &pointer }
            ));
            valid = false;
        }
        valid
    }

    /// A request no served spec operation describes: a served path outside every spec
    /// file (listed in `outsideSpec` of spec/deviations.json), or a refusal of an unknown route,
    /// method or not-served operation (404 or 405), which must be the ISC error body
    /// (CONTRACT §7).
    fn check_unspecified(
        &self,
        method: &str,
        path: &str,
        status: u16,
        content_type: &str,
        body: &[u8],
    ) {
        if deviations::outside_spec(method, path).is_some() {
            return;
        }
        let name = format!("{method} {path} (no served operation)");
        if !matches!(status, 404 | 405) && !deviations::refusal_before_routing(status) {
            self.record(format!(
                "{name}: answered {status}, expected a route-level 404 or 405{}",
                excerpt(body)
            ));
            return;
        }
        let v3 = &spec_files()[0];
        let _ = self.validate(
            &name,
            v3,
            "",
            status,
            "/components/schemas/ErrorResponseDto",
            content_type,
            body,
        );
    }
}

fn excerpt(body: &[u8]) -> String {
    if body.is_empty() {
        return String::new();
    }
    let text = String::from_utf8_lossy(body);
    let cut: String = text.chars().take(300).collect();
    format!(": {cut}")
}

/// The layer `TestApp` serves the router through: each response is buffered, checked
/// by `recorder`, and passed on unchanged.
pub fn observe(recorder: Arc<Recorder>) -> impl FnOnce(Router) -> Router {
    move |router| {
        router.layer(middleware::from_fn(move |req: Request, next: Next| {
            let recorder = recorder.clone();
            async move {
                let method = req.method().as_str().to_string();
                let path = req.uri().path().to_string();
                let response = next.run(req).await;
                let (parts, body) = response.into_parts();
                if parts
                    .extensions
                    .get::<accessd::api::control::DroppedByFault>()
                    .is_some()
                {
                    // A fault rule drops it: no answer to check, and its failing body
                    // must reach the client.
                    return Response::from_parts(parts, body);
                }
                let bytes = match axum::body::to_bytes(body, usize::MAX).await {
                    Ok(bytes) => bytes,
                    Err(e) => {
                        recorder.record(format!("{method} {path}: response body unreadable: {e}"));
                        return Response::from_parts(parts, Body::empty());
                    }
                };
                let content_type = parts
                    .headers
                    .get(CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                recorder.check(&method, &path, parts.status.as_u16(), content_type, &bytes);
                Response::from_parts(parts, Body::from(bytes))
            }
        }))
    }
}

/// Panics with every violation `recorder` holds, unless the thread already panics.
pub fn assert_conforms(recorder: &Recorder) {
    let violations = recorder.violations();
    if violations.is_empty() || std::thread::panicking() {
        return;
    }
    panic!(
        "{} response(s) not valid against the spec (spec/deviations.json lists the \
         deliberate exceptions):\n  {}",
        violations.len(),
        violations.join("\n  ")
    );
}

#[test]
fn the_validator_refuses_a_null_where_the_schema_has_no_nullable() {
    let recorder = Recorder::default();
    let body = br#"[{"id":"2c9180835d191a86015d28455b4a2329","name":"x","created":null}]"#;
    recorder.check("GET", "/v3/access-profiles", 200, "application/json", body);
    let violations = recorder.violations();
    assert!(
        violations
            .iter()
            .any(|v| v.contains("listAccessProfiles") && v.contains("/0/")),
        "{violations:?}"
    );
}

#[test]
fn the_validator_refuses_an_undeclared_status_and_a_non_isc_error_body() {
    let recorder = Recorder::default();
    recorder.check("GET", "/v3/access-profiles", 418, "application/json", b"{}");
    recorder.check(
        "GET",
        "/v3/access-profiles",
        400,
        "application/json",
        br#"{"detailCode":5}"#,
    );
    let violations = recorder.violations();
    assert_eq!(violations.len(), 2, "{violations:?}");
    assert!(violations[0].contains("418 is not declared"));
    assert!(violations[1].contains("/detailCode"), "{violations:?}");
}

#[test]
fn a_head_answer_is_checked_by_its_status_alone() {
    let recorder = Recorder::default();
    recorder.check("HEAD", "/beta/task-status/pending-tasks", 200, "", b"");
    assert_eq!(recorder.violations(), Vec::<String>::new());
    assert!(succeeded().contains(&("beta".to_string(), "getPendingTaskHeaders".to_string())));
}
