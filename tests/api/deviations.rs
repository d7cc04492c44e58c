//! The deliberate differences from the spec files, read from `spec/deviations.json` —
//! the one list, shared with the schemathesis hooks (`conformance/hooks.py`): each
//! entry carries its reason (a section of docs/contract.md or a seed), and the spec operations
//! accessd does not serve are listed there with theirs. The response validator
//! ([`crate::conformance`]) lets through exactly these; the coverage test in
//! `matrix.rs` checks the not-served list against the spec and the router.

use std::path::Path;
use std::sync::OnceLock;

use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deviations {
    pub undeclared_statuses: Vec<UndeclaredStatus>,
    pub schema_deviations: Vec<SchemaDeviation>,
    pub not_served: Vec<NotServed>,
    pub error_body_where_none_declared: Reason,
    pub outside_spec: Vec<OutsideSpec>,
    pub before_routing: Vec<BeforeRouting>,
}

/// What the body of an undeclared status is checked against.
#[derive(Deserialize, Clone, Debug)]
#[serde(rename_all = "camelCase")]
pub enum ErrorBody {
    /// The ISC error body: the schema of the operation's declared 400.
    OperationError,
    /// A schema of the same spec file (JSON pointer).
    Schema(String),
}

/// A status an operation answers although its spec entry does not declare it.
#[derive(Deserialize)]
pub struct UndeclaredStatus {
    /// `"*"`: every family.
    pub family: String,
    /// `"*"`: every operation of the family.
    pub operation: String,
    pub status: u16,
    pub body: ErrorBody,
    pub reason: String,
}

/// A schema error accessd's answers deliberately have.
#[derive(Deserialize)]
pub struct SchemaDeviation {
    pub family: String,
    pub operation: String,
    pub statuses: Vec<u16>,
    /// The JSON pointer of the value in the response; `*` matches one array index.
    pub pointer: String,
    /// The failing schema keyword.
    pub keyword: String,
    pub reason: String,
}

/// A spec operation accessd does not serve.
#[derive(Deserialize)]
pub struct NotServed {
    pub family: String,
    pub operation: String,
    pub reason: String,
}

#[derive(Deserialize)]
pub struct Reason {
    pub reason: String,
}

/// A path accessd serves outside every spec file.
#[derive(Deserialize)]
pub struct OutsideSpec {
    /// `*`: every method.
    pub method: String,
    /// A path ending in `*`: every path that starts with the rest.
    pub path: String,
    pub reason: String,
}

/// A refusal that happens before a request is routed, so a request for no operation
/// may get it instead of the route-level 404/405 — always with the ISC body.
#[derive(Deserialize)]
pub struct BeforeRouting {
    pub status: u16,
    pub reason: String,
}

pub fn deviations() -> &'static Deviations {
    static DEVIATIONS: OnceLock<Deviations> = OnceLock::new();
    DEVIATIONS.get_or_init(|| {
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("spec/deviations.json");
        let text = std::fs::read_to_string(&file).expect("spec/deviations.json");
        serde_json::from_str(&text).expect("spec/deviations.json has the expected shape")
    })
}

fn is(pattern: &str, value: &str) -> bool {
    pattern == "*" || pattern == value
}

pub fn undeclared_status(
    family: &str,
    operation: &str,
    status: u16,
) -> Option<&'static UndeclaredStatus> {
    deviations()
        .undeclared_statuses
        .iter()
        .find(|d| is(&d.family, family) && is(&d.operation, operation) && d.status == status)
}

/// `*` in `pattern` matches one array index of `pointer`.
fn pointer_matches(pattern: &str, pointer: &str) -> bool {
    let p: Vec<&str> = pattern.split('/').collect();
    let v: Vec<&str> = pointer.split('/').collect();
    p.len() == v.len()
        && p.iter().zip(&v).all(|(p, v)| {
            p == v || (*p == "*" && !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
        })
}

pub fn schema_deviation(
    family: &str,
    operation: &str,
    status: u16,
    pointer: &str,
    keyword: &str,
) -> Option<&'static SchemaDeviation> {
    deviations().schema_deviations.iter().find(|d| {
        d.family == family
            && d.operation == operation
            && d.statuses.contains(&status)
            && d.keyword == keyword
            && pointer_matches(&d.pointer, pointer)
    })
}

/// Why a 4xx declared without a body may carry the ISC error body.
pub fn error_body_where_none_declared(status: u16) -> Option<&'static str> {
    (400..500)
        .contains(&status)
        .then_some(deviations().error_body_where_none_declared.reason.as_str())
}

pub fn outside_spec(method: &str, path: &str) -> Option<&'static OutsideSpec> {
    deviations().outside_spec.iter().find(|o| {
        (o.method == "*" || o.method == method)
            && match o.path.strip_suffix('*') {
                Some(prefix) => path.starts_with(prefix),
                None => o.path == path,
            }
    })
}

pub fn refusal_before_routing(status: u16) -> bool {
    deviations()
        .before_routing
        .iter()
        .any(|b| b.status == status)
}

pub fn not_served(family: &str, operation: &str) -> Option<&'static NotServed> {
    deviations()
        .not_served
        .iter()
        .find(|n| n.family == family && n.operation == operation)
}

/// Every deliberate difference names its reason: a section of docs/contract.md or a seed (a
/// path outside every spec file: what it is for — liveness, a family's own document, a
/// CORS preflight).
#[test]
fn every_deviation_cites_the_contract_or_a_seed() {
    let d = deviations();
    let reasons = d
        .undeclared_statuses
        .iter()
        .map(|d| &d.reason)
        .chain(d.schema_deviations.iter().map(|d| &d.reason))
        .chain(d.before_routing.iter().map(|d| &d.reason))
        .chain([&d.error_body_where_none_declared.reason]);
    for reason in reasons {
        assert!(
            reason.contains("CONTRACT §") || reason.contains("seed"),
            "{reason}"
        );
    }
    for o in &d.outside_spec {
        assert!(
            o.reason.contains("CONTRACT §")
                || o.reason.contains("liveness")
                || o.reason.contains("readiness")
                || o.reason.contains("monitoring")
                || o.reason.contains("its own document")
                || o.reason.contains("CORS preflight"),
            "{} {}: {}",
            o.method,
            o.path,
            o.reason
        );
    }
}
