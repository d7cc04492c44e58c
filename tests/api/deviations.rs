//! The one list of where accessd deliberately differs from its spec files, each entry
//! with its reason (a CONTRACT.md section or a seed), and of the spec operations it
//! does not serve. The response validator ([`crate::conformance`]) lets through exactly
//! these; the coverage test checks the not-served list against the spec and the router.

/// What the body of an undeclared status is checked against.
#[derive(Clone, Copy, Debug)]
pub enum ErrorBody {
    /// The ISC error body: the schema of the operation's declared 400.
    OperationError,
    /// A schema of the same spec file (JSON pointer).
    Schema(&'static str),
}

/// A status an operation answers although its spec entry does not declare it.
pub struct UndeclaredStatus {
    /// `"*"`: every family.
    pub family: &'static str,
    /// `"*"`: every operation of the family.
    pub operation: &'static str,
    pub status: u16,
    pub body: ErrorBody,
    pub reason: &'static str,
}

pub const UNDECLARED_STATUSES: &[UndeclaredStatus] = &[
    UndeclaredStatus {
        family: "beta",
        operation: "deleteAccessProfile",
        status: 202,
        body: ErrorBody::Schema("/components/schemas/TaskResultDto"),
        reason: "CONTRACT §3.1: beta single delete answers 202 with a task reference \
                 (seed 001), where beta.json declares 204",
    },
    UndeclaredStatus {
        family: "*",
        operation: "*",
        status: 404,
        body: ErrorBody::OperationError,
        reason: "CONTRACT §3.1 and §7: an id that names nothing answers 404 with the ISC \
                 error body, also on operations whose entry lists no 404",
    },
    UndeclaredStatus {
        family: "*",
        operation: "*",
        status: 408,
        body: ErrorBody::OperationError,
        reason: "CONTRACT §7: a request not received in time is refused with an ISC 4xx \
                 body, never a framework's plain-text rejection",
    },
    UndeclaredStatus {
        family: "*",
        operation: "*",
        status: 413,
        body: ErrorBody::OperationError,
        reason: "CONTRACT §7: an oversized body is refused with an ISC 4xx body",
    },
    UndeclaredStatus {
        family: "*",
        operation: "*",
        status: 415,
        body: ErrorBody::OperationError,
        reason: "CONTRACT §7: a wrong content type is refused with an ISC 4xx body",
    },
];

/// A schema error accessd's answers deliberately have.
pub struct SchemaDeviation {
    pub family: &'static str,
    pub operation: &'static str,
    pub statuses: &'static [u16],
    /// The JSON pointer of the value in the response; `*` matches one array index.
    pub pointer: &'static str,
    /// The failing schema keyword.
    pub keyword: &'static str,
    pub reason: &'static str,
}

const USED_BY_TYPES: &str = "CONTRACT §2 and §3.2: a source app (APPLICATION) and a \
    lifecycle state (LIFECYCLE_STATE) use access profiles and are reported in `usedBy`; \
    seed 000's enum lists them, the v3, beta and v1 files' enum only ROLE";

/// A 4xx that an operation's entry declares without a body (beta and v1
/// `getTaskStatus` 403 and 404) answers the ISC error body like every other refusal,
/// checked against the operation's 400 schema.
const ERROR_BODY_WHERE_NONE_DECLARED: &str = "CONTRACT §7: every refusal carries the \
    ISC error body; a client reading no body ignores it";

/// Why a 4xx declared without a body may carry the ISC error body.
pub fn error_body_where_none_declared(status: u16) -> Option<&'static str> {
    (400..500)
        .contains(&status)
        .then_some(ERROR_BODY_WHERE_NONE_DECLARED)
}

pub const SCHEMA_DEVIATIONS: &[SchemaDeviation] = &[
    SchemaDeviation {
        family: "v3",
        operation: "deleteAccessProfilesInBulk",
        statuses: &[200, 202],
        pointer: "/inUse/*/usedBy/*/type",
        keyword: "enum",
        reason: USED_BY_TYPES,
    },
    SchemaDeviation {
        family: "beta",
        operation: "deleteAccessProfilesInBulk",
        statuses: &[200, 202],
        pointer: "/inUse/*/usedBy/*/type",
        keyword: "enum",
        reason: USED_BY_TYPES,
    },
    SchemaDeviation {
        family: "v1",
        operation: "deleteAccessProfilesInBulkV1",
        statuses: &[200, 202],
        pointer: "/inUse/*/usedBy/*/type",
        keyword: "enum",
        reason: USED_BY_TYPES,
    },
];

/// Paths accessd serves outside every spec file.
pub struct OutsideSpec {
    pub method: &'static str,
    pub path: &'static str,
    pub reason: &'static str,
}

pub const OUTSIDE_SPEC: &[OutsideSpec] = &[
    OutsideSpec {
        method: "POST",
        path: "/oauth/token",
        reason: "CONTRACT §1 and §6: the token endpoint, outside every family",
    },
    OutsideSpec {
        method: "GET",
        path: "/health",
        reason: "the liveness probe of a self-hosted server; no ISC document has it",
    },
];

/// Refusals that happen before a request is routed, so a request for no operation
/// may get them instead of the route-level 404/405 — always with the ISC body.
pub const BEFORE_ROUTING: &[(u16, &str)] = &[
    (
        400,
        "CONTRACT §7: a path or query holding %00 is refused before routing",
    ),
    (401, "CONTRACT §6: the gateway authenticates before routing"),
    (408, "CONTRACT §7: a request not received in time"),
    (413, "CONTRACT §7: an oversized body"),
    (
        429,
        "CONTRACT §8: the rate limit counts every request of a client",
    ),
];

/// A spec operation accessd does not serve.
pub struct NotServed {
    pub family: &'static str,
    pub operation: &'static str,
    pub reason: &'static str,
}

const SOURCES_READ_AND_CREATE: &str = "not served yet: sources are listed, read and \
    created; replacing, patching and deleting them needs the in-use rules of CONTRACT §2 \
    (access profiles, apps and workgroups refer to them)";
const BULK_REQUESTABLE: &str = "not served yet: bulk updates of `requestable` \
    (207 per item) have no CONTRACT section";
const SUPPORTING_DATA: &str = "not served yet: entitlements, identities and governance \
    groups are supporting data of CONTRACT §2, read and created, not changed or deleted";

pub const NOT_SERVED: &[NotServed] = &[
    NotServed {
        family: "v3",
        operation: "putSource",
        reason: SOURCES_READ_AND_CREATE,
    },
    NotServed {
        family: "v3",
        operation: "updateSource",
        reason: SOURCES_READ_AND_CREATE,
    },
    NotServed {
        family: "v3",
        operation: "deleteSource",
        reason: SOURCES_READ_AND_CREATE,
    },
    NotServed {
        family: "beta",
        operation: "updateAccessProfilesInBulk",
        reason: BULK_REQUESTABLE,
    },
    NotServed {
        family: "v1",
        operation: "updateAccessProfilesInBulkV1",
        reason: BULK_REQUESTABLE,
    },
    NotServed {
        family: "beta",
        operation: "patchEntitlement",
        reason: SUPPORTING_DATA,
    },
    NotServed {
        family: "v1",
        operation: "patchEntitlementV1",
        reason: SUPPORTING_DATA,
    },
    NotServed {
        family: "beta",
        operation: "deleteIdentity",
        reason: SUPPORTING_DATA,
    },
    NotServed {
        family: "v1",
        operation: "deleteIdentityV1",
        reason: SUPPORTING_DATA,
    },
    NotServed {
        family: "beta",
        operation: "deleteWorkgroup",
        reason: SUPPORTING_DATA,
    },
    NotServed {
        family: "beta",
        operation: "patchWorkgroup",
        reason: SUPPORTING_DATA,
    },
    NotServed {
        family: "beta",
        operation: "deleteWorkgroupsInBulk",
        reason: SUPPORTING_DATA,
    },
    NotServed {
        family: "beta",
        operation: "deleteWorkgroupMembers",
        reason: SUPPORTING_DATA,
    },
    NotServed {
        family: "v1",
        operation: "deleteWorkgroupV1",
        reason: SUPPORTING_DATA,
    },
    NotServed {
        family: "v1",
        operation: "patchWorkgroupV1",
        reason: SUPPORTING_DATA,
    },
    NotServed {
        family: "v1",
        operation: "deleteWorkgroupsInBulkV1",
        reason: SUPPORTING_DATA,
    },
];

fn is(pattern: &str, value: &str) -> bool {
    pattern == "*" || pattern == value
}

pub fn undeclared_status(
    family: &str,
    operation: &str,
    status: u16,
) -> Option<&'static UndeclaredStatus> {
    UNDECLARED_STATUSES
        .iter()
        .find(|d| is(d.family, family) && is(d.operation, operation) && d.status == status)
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
    SCHEMA_DEVIATIONS.iter().find(|d| {
        d.family == family
            && d.operation == operation
            && d.statuses.contains(&status)
            && d.keyword == keyword
            && pointer_matches(d.pointer, pointer)
    })
}

pub fn outside_spec(method: &str, path: &str) -> Option<&'static OutsideSpec> {
    OUTSIDE_SPEC
        .iter()
        .find(|o| o.method == method && o.path == path)
}

pub fn refusal_before_routing(status: u16) -> bool {
    BEFORE_ROUTING.iter().any(|(s, _)| *s == status)
}

pub fn not_served(family: &str, operation: &str) -> Option<&'static NotServed> {
    NOT_SERVED
        .iter()
        .find(|n| n.family == family && n.operation == operation)
}

/// Every deliberate difference names its reason: a CONTRACT.md section or a seed (a
/// path outside every spec file: what it is for).
#[test]
fn every_deviation_cites_the_contract_or_a_seed() {
    let reasons = UNDECLARED_STATUSES
        .iter()
        .map(|d| d.reason)
        .chain(SCHEMA_DEVIATIONS.iter().map(|d| d.reason))
        .chain(OUTSIDE_SPEC.iter().map(|d| d.reason))
        .chain(BEFORE_ROUTING.iter().map(|(_, r)| *r))
        .chain(error_body_where_none_declared(400));
    for reason in reasons {
        assert!(
            reason.contains("CONTRACT §") || reason.contains("seed") || reason.contains("liveness"),
            "{reason}"
        );
    }
}
