//! The authorization matrix (CONTRACT §6 and §7), generated from the spec:
//! every operation accessd serves, read from `spec/*.json` (v3, beta, v1, v2024, v2025,
//! v2026), × {no token,
//! expired, bad signature, wrong scope, wrong user level, sub-admin outside its
//! sources, correct} → the status the operation's spec entry implies. Before the refused
//! cases of a write, the whole database is dumped; after each refused request it must
//! be the same. Cells that do not apply to an operation are counted and printed as
//! `n/a`, never as passed (`cargo test --test api matrix -- --nocapture`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;

use accessd::domain::model::*;
use accessd::domain::new_id;
use accessd::store::Store;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;

const ALL: &[&str] = &["sp:scopes:all"];
const TTL: u64 = 749;
const EXPERIMENTAL: &str = "X-SailPoint-Experimental";
const EXPERIMENTAL_ERROR: &str = "Experimental Header is missing or invalid.";

/// The spec documents and the prefix their paths are served under.
const FAMILIES: [(&str, &str); 6] = crate::conformance::SPEC_FILES;

/// The year-versioned families serve every operation of their spec file (each is the
/// v3 ∪ beta set), so they are not listed one by one in [`IMPLEMENTED`].
const WHOLE_FAMILIES: [&str; 3] = ["v2024", "v2025", "v2026"];

fn is_implemented(family: &str, id: &str) -> bool {
    WHOLE_FAMILIES.contains(&family) || IMPLEMENTED.contains(&(family, id))
}

/// The resources accessd serves (identity profiles: only their lifecycle states); the
/// matrix reports how many spec operations lie outside them.
const SERVED: [&str; 11] = [
    "access-profiles",
    "roles",
    "source-apps",
    "task-status",
    "sources",
    "entitlements",
    "identities",
    "public-identities",
    "workgroups",
    "identity-profiles",
    "segments",
];

/// The operations accessd implements, as `(family, operationId)` exactly as the spec
/// names them. Each needs a request in [`World::prepare`].
const IMPLEMENTED: &[(&str, &str)] = &[
    ("v3", "listAccessProfiles"),
    ("v3", "createAccessProfile"),
    ("v3", "getAccessProfile"),
    ("v3", "patchAccessProfile"),
    ("v3", "deleteAccessProfile"),
    ("v3", "deleteAccessProfilesInBulk"),
    ("v3", "getAccessProfileEntitlements"),
    ("v3", "listRoles"),
    ("v3", "createRole"),
    ("v3", "getRole"),
    ("v3", "patchRole"),
    ("v3", "deleteRole"),
    ("v3", "deleteBulkRoles"),
    ("v3", "listSources"),
    ("v3", "createSource"),
    ("v3", "getSource"),
    ("v3", "putSource"),
    ("v3", "updateSource"),
    ("v3", "deleteSource"),
    ("v3", "getPublicIdentities"),
    ("v3", "getLifecycleStates"),
    ("v3", "createLifecycleState"),
    ("v3", "getLifecycleState"),
    ("v3", "updateLifecycleStates"),
    ("v3", "deleteLifecycleState"),
    ("v3", "createSegment"),
    ("v3", "listSegments"),
    ("v3", "getSegment"),
    ("v3", "patchSegment"),
    ("v3", "deleteSegment"),
    ("beta", "listAccessProfiles"),
    ("beta", "createAccessProfile"),
    ("beta", "getAccessProfile"),
    ("beta", "patchAccessProfile"),
    ("beta", "deleteAccessProfile"),
    ("beta", "deleteAccessProfilesInBulk"),
    ("beta", "getAccessProfileEntitlements"),
    ("beta", "updateAccessProfilesInBulk"),
    ("beta", "listRoles"),
    ("beta", "createRole"),
    ("beta", "getRole"),
    ("beta", "patchRole"),
    ("beta", "deleteRole"),
    ("beta", "deleteBulkRoles"),
    ("beta", "listAvailableSourceApps"),
    ("beta", "createSourceApp"),
    ("beta", "getSourceApp"),
    ("beta", "patchSourceApp"),
    ("beta", "deleteSourceApp"),
    ("beta", "listAllSourceApp"),
    ("beta", "listAssignedSourceApp"),
    ("beta", "updateSourceAppsInBulk"),
    ("beta", "listAccessProfilesForSourceApp"),
    ("beta", "deleteAccessProfilesFromSourceAppByBulk"),
    ("beta", "getTaskStatusList"),
    ("beta", "getTaskStatus"),
    ("beta", "updateTaskStatus"),
    ("beta", "getPendingTasks"),
    ("beta", "getPendingTaskHeaders"),
    ("beta", "listEntitlements"),
    ("beta", "getEntitlement"),
    ("beta", "patchEntitlement"),
    ("beta", "listIdentities"),
    ("beta", "getIdentity"),
    ("beta", "deleteIdentity"),
    ("beta", "listWorkgroups"),
    ("beta", "createWorkgroup"),
    ("beta", "getWorkgroup"),
    ("beta", "listWorkgroupMembers"),
    ("beta", "updateWorkgroupMembers"),
    ("beta", "patchWorkgroup"),
    ("beta", "deleteWorkgroup"),
    ("beta", "deleteWorkgroupsInBulk"),
    ("beta", "deleteWorkgroupMembers"),
    ("v1", "listAccessProfilesV1"),
    ("v1", "createAccessProfileV1"),
    ("v1", "getAccessProfileV1"),
    ("v1", "patchAccessProfileV1"),
    ("v1", "deleteAccessProfileV1"),
    ("v1", "deleteAccessProfilesInBulkV1"),
    ("v1", "getAccessProfileEntitlementsV1"),
    ("v1", "updateAccessProfilesInBulkV1"),
    ("v1", "listRolesV1"),
    ("v1", "createRoleV1"),
    ("v1", "getRoleV1"),
    ("v1", "patchRoleV1"),
    ("v1", "deleteRoleV1"),
    ("v1", "deleteBulkRolesV1"),
    ("v1", "listAvailableSourceAppsV1"),
    ("v1", "createSourceAppV1"),
    ("v1", "getSourceAppV1"),
    ("v1", "patchSourceAppV1"),
    ("v1", "deleteSourceAppV1"),
    ("v1", "listAllSourceAppV1"),
    ("v1", "listAssignedSourceAppV1"),
    ("v1", "updateSourceAppsInBulkV1"),
    ("v1", "listAccessProfilesForSourceAppV1"),
    ("v1", "deleteAccessProfilesFromSourceAppByBulkV1"),
    ("v1", "getTaskStatusListV1"),
    ("v1", "getTaskStatusV1"),
    ("v1", "updateTaskStatusV1"),
    ("v1", "listEntitlementsV1"),
    ("v1", "getEntitlementV1"),
    ("v1", "patchEntitlementV1"),
    ("v1", "listIdentitiesV1"),
    ("v1", "getIdentityV1"),
    ("v1", "deleteIdentityV1"),
    ("v1", "listWorkgroupsV1"),
    ("v1", "createWorkgroupV1"),
    ("v1", "getWorkgroupV1"),
    ("v1", "listWorkgroupMembersV1"),
    ("v1", "patchWorkgroupV1"),
    ("v1", "deleteWorkgroupV1"),
    ("v1", "deleteWorkgroupsInBulkV1"),
    ("v1", "getLifecycleStatesV1"),
    ("v1", "createLifecycleStateV1"),
];

/// Spec operations accessd does not serve: `notServed` of spec/deviations.json, each with
/// its reason. Each is probed without a token: it must still be unrouted (404/405, not
/// the 401 of a real route), so serving one without moving it to [`IMPLEMENTED`] fails
/// this test.
fn not_implemented() -> impl Iterator<Item = (&'static str, &'static str)> {
    crate::deviations::deviations()
        .not_served
        .iter()
        .map(|n| (n.family.as_str(), n.operation.as_str()))
}

/// Cells where accessd answers differently from the spec entry: a server bug, reported
/// and kept here so the rest of the matrix runs. Strict: each must still answer the
/// observed status, so a fix fails this test until its line is removed.
struct KnownBug {
    family: &'static str,
    op: &'static str,
    case: Case,
    observed: u16,
    why: &'static str,
}

/// None at the moment. (The first run found beta deleteBulkRoles and
/// updateWorkgroupMembers open to every level: both lack x-sailpoint-userLevels and
/// name their levels only in the description, which accessd now reads too.)
const KNOWN_BUGS: &[KnownBug] = &[];

// ------------------------------------------------------------------ the spec

/// One operation of one spec document.
#[derive(Debug, Clone)]
struct SpecOp {
    family: &'static str,
    method: Method,
    /// The full path template as served (family prefix included).
    template: String,
    id: String,
    /// The `userAuth` scopes (any one, or all when the description says so).
    scopes: Vec<String>,
    all_scopes: bool,
    application_auth: bool,
    /// The user levels: `x-sailpoint-userLevels`, or where that field is missing, the
    /// levels the description names ("A token with … authority is required"); `None`
    /// when the entry names none (every user level may call it).
    levels: Option<Vec<String>>,
    levels_from_description: bool,
    experimental: bool,
    /// The 2xx statuses the spec documents (CONTRACT overrides applied).
    success: Vec<u16>,
    /// User levels that get 403 from this list unless they pass `for-subadmin` (the
    /// parameter's description says so, e.g. `listSources`).
    must_name_itself: Vec<String>,
}

impl SpecOp {
    fn is_write(&self) -> bool {
        !matches!(self.method, Method::GET | Method::HEAD)
    }

    fn key(&self) -> (&'static str, String) {
        (self.family, self.id.clone())
    }

    /// The operationId without the v1 document's `V1` suffix.
    fn base_id(&self) -> &str {
        if self.family == "v1" {
            self.id.strip_suffix("V1").unwrap_or(&self.id)
        } else {
            &self.id
        }
    }

    fn name(&self) -> String {
        format!(
            "{} {} {} ({})",
            self.family, self.method, self.template, self.id
        )
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

/// Follows a local `$ref` (`#/components/...`).
fn resolve<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
    match v.get("$ref").and_then(Value::as_str) {
        Some(r) => doc.pointer(r.trim_start_matches('#')).unwrap_or(v),
        None => v,
    }
}

/// The user levels named by "A token with X, Y, or Z authority is required …" (or
/// "You must have a token with …"), the sentence ISC writes where the machine-readable
/// field is missing. Sentences like "a token with ROLE_SUBADMIN authority can only …"
/// are restrictions, not the list, and are skipped.
fn levels_from_description(description: &str) -> Option<Vec<String>> {
    const LEAD: &str = "token with ";
    for (at, _) in description.match_indices(LEAD) {
        let rest = &description[at + LEAD.len()..];
        let Some(end) = rest.find(" authority") else {
            continue;
        };
        let tail = &rest[end + " authority".len()..];
        if !(tail.starts_with(" is required") || tail.starts_with(" to call")) {
            continue;
        }
        let levels: Vec<String> = rest[..end]
            .split(',')
            .flat_map(|p| p.split(" or "))
            .map(|p| p.trim().trim_start_matches("or ").trim().to_string())
            .filter(|p| !p.is_empty())
            .collect();
        if !levels.is_empty()
            && levels
                .iter()
                .all(|l| l.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'))
        {
            return Some(levels);
        }
    }
    None
}

fn load_spec() -> Vec<SpecOp> {
    let mut ops = Vec::new();
    for (family, prefix) in FAMILIES {
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("spec/{family}.json"));
        let text = std::fs::read_to_string(&file).expect("spec document");
        let doc: Value = serde_json::from_str(&text).expect("spec JSON");
        for (path, item) in doc["paths"].as_object().expect("paths") {
            let item = resolve(&doc, item);
            for (method, op) in item.as_object().expect("path item") {
                let Some(id) = op.get("operationId").and_then(Value::as_str) else {
                    continue;
                };
                let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
                let mut scopes = Vec::new();
                let mut application_auth = false;
                for requirement in op["security"].as_array().into_iter().flatten() {
                    if let Some(s) = requirement.get("userAuth") {
                        scopes = strings(s);
                    }
                    application_auth |= requirement.get("applicationAuth").is_some();
                }
                let description = op["description"].as_str().unwrap_or("");
                let params: Vec<&Value> = op["parameters"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .chain(item["parameters"].as_array().into_iter().flatten())
                    .map(|p| resolve(&doc, p))
                    .collect();
                let experimental = params.iter().any(|p| {
                    p["in"] == "header"
                        && p["required"] == true
                        && p["name"]
                            .as_str()
                            .is_some_and(|n| n.eq_ignore_ascii_case(EXPERIMENTAL))
                });
                let must_name_itself = params
                    .iter()
                    .filter(|p| p["name"] == "for-subadmin")
                    .filter_map(|p| p["description"].as_str())
                    .filter_map(|d| {
                        let (_, rest) = d.split_once("If the current user is a ")?;
                        let (level, rest) = rest.split_once(" but fails to pass")?;
                        rest.contains("403").then(|| level.trim().to_string())
                    })
                    .collect();
                let (levels, levels_from_description) = match op.get("x-sailpoint-userLevels") {
                    Some(l) => (Some(strings(l)), false),
                    None => {
                        let l = levels_from_description(description);
                        let found = l.is_some();
                        (l, found)
                    }
                };
                let mut success: Vec<u16> = op["responses"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .filter_map(|(code, _)| code.parse::<u16>().ok())
                    .filter(|c| (200..300).contains(c))
                    .collect();
                // Where CONTRACT overrides the spec's success status ("where the seeds
                // and the current spec disagree, the seeds win").
                for d in &crate::deviations::deviations().undeclared_statuses {
                    if d.family == family && d.operation == id && (200..300).contains(&d.status) {
                        success = vec![d.status];
                    }
                }
                ops.push(SpecOp {
                    family,
                    method,
                    template: format!("{prefix}{path}"),
                    id: id.to_string(),
                    all_scopes: description.contains("need all the listed scopes"),
                    scopes,
                    application_auth,
                    levels,
                    levels_from_description,
                    experimental,
                    success,
                    must_name_itself,
                });
            }
        }
    }
    ops
}

/// Whether a spec path (without the family prefix) is on a resource accessd serves.
fn served(op: &SpecOp) -> bool {
    let (_, prefix) = FAMILIES
        .iter()
        .find(|(f, _)| *f == op.family)
        .expect("family");
    let path = &op.template[prefix.len()..];
    let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
    SERVED.contains(&first) && (first != "identity-profiles" || path.contains("/lifecycle-states"))
}

/// Fills `{name}` placeholders; every one must have a value.
fn fill(template: &str, params: &[(&'static str, String)]) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let close = rest[open..].find('}').expect("closing brace") + open;
        let name = &rest[open + 1..close];
        let value = params
            .iter()
            .find(|(k, _)| *k == name)
            .unwrap_or_else(|| panic!("no value for {{{name}}} in {template}"));
        out.push_str(&rest[..open]);
        out.push_str(&value.1);
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

// ------------------------------------------------------------------ cases

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Case {
    NoToken,
    Expired,
    BadSignature,
    WrongScope,
    WrongLevel,
    SourceSubadmin,
    RoleSubadmin,
    /// Not one of the seven: the admin without `X-SailPoint-Experimental` on an
    /// operation that requires it (CONTRACT §3.3).
    NoExperimentalHeader,
    Correct,
}

const CASES: [Case; 9] = [
    Case::NoToken,
    Case::Expired,
    Case::BadSignature,
    Case::WrongScope,
    Case::WrongLevel,
    Case::SourceSubadmin,
    Case::RoleSubadmin,
    Case::NoExperimentalHeader,
    Case::Correct,
];

impl Case {
    fn label(self) -> &'static str {
        match self {
            Case::NoToken => "no token",
            Case::Expired => "expired",
            Case::BadSignature => "bad signature",
            Case::WrongScope => "wrong scope",
            Case::WrongLevel => "wrong user level (USER)",
            Case::SourceSubadmin => "SOURCE_SUBADMIN outside its sources",
            Case::RoleSubadmin => "ROLE_SUBADMIN outside its sources",
            Case::NoExperimentalHeader => "no experimental header (extra)",
            Case::Correct => "correct (ORG_ADMIN)",
        }
    }

    fn short(self) -> &'static str {
        match self {
            Case::NoToken => "none",
            Case::Expired => "exp",
            Case::BadSignature => "sig",
            Case::WrongScope => "scope",
            Case::WrongLevel => "USER",
            Case::SourceSubadmin => "SSUB",
            Case::RoleSubadmin => "RSUB",
            Case::NoExperimentalHeader => "xhdr",
            Case::Correct => "ok",
        }
    }

    fn subadmin_level(self) -> Option<&'static str> {
        match self {
            Case::SourceSubadmin => Some("SOURCE_SUBADMIN"),
            Case::RoleSubadmin => Some("ROLE_SUBADMIN"),
            _ => None,
        }
    }
}

/// How a request relates to the sub-admin's sources.
#[derive(Debug, Clone)]
enum Scoped {
    /// Targets (or references) objects on sources the sub-admins do not administer.
    Foreign,
    /// A list: a confined sub-admin sees `present` and not `absent`; the admin both.
    List {
        present: Vec<String>,
        absent: Vec<String>,
    },
    /// Touches nothing that belongs to a source.
    Unscoped,
}

#[derive(Debug, Clone)]
enum Expect {
    Unauthorized {
        message: &'static str,
        exact: bool,
    },
    Forbidden,
    ExperimentalMissing,
    ListFiltered,
    /// 403 without `for-subadmin`, the filtered list with `for-subadmin=me`.
    MustNameItself,
    Success(Vec<u16>),
    NotApplicable(&'static str),
}

impl Expect {
    fn statuses(&self) -> Vec<u16> {
        match self {
            Expect::Unauthorized { .. } => vec![401],
            Expect::Forbidden | Expect::MustNameItself => vec![403],
            Expect::ExperimentalMissing => vec![400],
            Expect::ListFiltered => vec![200],
            Expect::Success(s) => s.clone(),
            Expect::NotApplicable(_) => vec![],
        }
    }
}

/// The expected answer of `op` for `case`, from the spec entry alone.
fn expect(op: &SpecOp, case: Case, req: &Prepared) -> Expect {
    let any_level = |levels: &Option<Vec<String>>| match levels {
        None => true,
        Some(l) => l.iter().any(|x| x == "Any"),
    };
    match case {
        Case::NoToken => Expect::Unauthorized {
            message: "JWT is required",
            exact: true,
        },
        Case::Expired => Expect::Unauthorized {
            message: "JWT validation failed: JWT is expired",
            exact: true,
        },
        Case::BadSignature => Expect::Unauthorized {
            message: "JWT validation failed: ",
            exact: false,
        },
        Case::WrongScope if op.scopes.is_empty() => {
            Expect::NotApplicable("the operation lists no scopes")
        }
        Case::WrongScope => Expect::Forbidden,
        Case::WrongLevel if any_level(&op.levels) => {
            Expect::NotApplicable("the spec entry names no user levels (every level)")
        }
        Case::WrongLevel if op.levels.iter().flatten().any(|l| l == "USER") => {
            Expect::NotApplicable("USER is one of its user levels")
        }
        Case::WrongLevel => Expect::Forbidden,
        Case::SourceSubadmin | Case::RoleSubadmin => {
            let level = case.subadmin_level().expect("a sub-admin case");
            if any_level(&op.levels) {
                return Expect::NotApplicable(
                    "no user levels: open to every level, so nobody is confined",
                );
            }
            let levels = op.levels.as_ref().expect("levels");
            // Every identity's token also carries USER (src/auth/token.rs).
            if levels.iter().any(|l| l == "USER") {
                return Expect::NotApplicable("USER is one of its user levels: not confined");
            }
            if !levels.iter().any(|l| l == level) {
                return Expect::Forbidden;
            }
            match &req.scoped {
                Scoped::Foreign => Expect::Forbidden,
                Scoped::List { .. } if op.must_name_itself.iter().any(|l| l == level) => {
                    Expect::MustNameItself
                }
                Scoped::List { .. } => Expect::ListFiltered,
                Scoped::Unscoped => {
                    Expect::NotApplicable("touches nothing on a source: sub-admin scope moot")
                }
            }
        }
        Case::NoExperimentalHeader if op.experimental => Expect::ExperimentalMissing,
        Case::NoExperimentalHeader => Expect::NotApplicable("no experimental header required"),
        Case::Correct => Expect::Success(op.success.clone()),
    }
}

fn known_bug(op: &SpecOp, case: Case) -> Option<&'static KnownBug> {
    KNOWN_BUGS
        .iter()
        .find(|b| b.family == op.family && b.op == op.id && b.case == case)
}

// ------------------------------------------------------------------ requests

#[derive(Clone)]
enum Body {
    None,
    Json(Value),
    Patch(Value),
}

/// A real request for one operation: path parameters, body, and how it relates to the
/// sub-admins' sources.
#[derive(Clone)]
struct Prepared {
    params: Vec<(&'static str, String)>,
    body: Body,
    scoped: Scoped,
    /// Whether refused cases drain the task queue before comparing the database
    /// (`updateTaskStatus` needs its task to stay pending; a wrongly enqueued task still
    /// shows as a new row).
    drain: bool,
}

impl Prepared {
    fn new(scoped: Scoped) -> Self {
        Self {
            params: Vec::new(),
            body: Body::None,
            scoped,
            drain: true,
        }
    }

    fn param(mut self, name: &'static str, value: &str) -> Self {
        self.params.push((name, value.to_string()));
        self
    }

    fn json(mut self, body: Value) -> Self {
        self.body = Body::Json(body);
        self
    }

    fn patch(mut self, ops: Value) -> Self {
        self.body = Body::Patch(ops);
        self
    }

    /// The same request on objects that do not exist (every path parameter unknown).
    fn unknown(&self) -> Self {
        let mut other = self.clone();
        for (_, v) in &mut other.params {
            *v = new_id();
        }
        other
    }

    fn list(present: &[&str], absent: &[&str]) -> Self {
        let own = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
        Self::new(Scoped::List {
            present: own(present),
            absent: own(absent),
        })
    }
}

struct Tokens {
    expired: String,
    bad_signature: String,
    wrong_scope: String,
    user: String,
    source_subadmin: String,
    role_subadmin: String,
}

/// One tenant for the whole matrix: the fixture's sources (HR, CRM) that no sub-admin
/// administers, and "Own", managed by a governance group both sub-admins belong to.
/// Objects every request may read are made once; whatever a correct write consumes is
/// made fresh by [`World::prepare`].
struct World {
    app: TestApp,
    f: Fixture,
    own: Source,
    own_entitlement: String,
    group: String,
    own_profile: String,
    foreign_profile: String,
    own_role: String,
    foreign_role: String,
    identity_profile: String,
    lifecycle_state: String,
    source_app: String,
    finished_task: String,
    tokens: Tokens,
    seq: usize,
}

fn id_of(v: &Value) -> String {
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {v}"))
        .to_string()
}

fn ids_of(list: &Value) -> Option<BTreeSet<String>> {
    list.as_array().map(|items| {
        items
            .iter()
            .filter_map(|x| x["id"].as_str().map(str::to_string))
            .collect()
    })
}

impl World {
    async fn build() -> World {
        let mut app = TestApp::spawn_with(|c| {
            c.tasks.task_runner = false; // tasks run at drain_tasks(), so nothing races a snapshot
            c.token_ttl_secs = TTL;
        })
        .await;
        // An ORG_ADMIN token that is only expired: mint it, then move past its lifetime.
        let (expired, _) = app.token_for(&["ORG_ADMIN"], ALL).await;
        app.clock.advance(TTL as i64 + 1);
        app.renew_token().await;
        let f = app.fixture().await;
        let (wrong_scope, _) = app.token_for(&["ORG_ADMIN"], &["idn:unrelated:read"]).await;
        let (user, _) = app.token_for(&["USER"], ALL).await;
        let (source_subadmin, source_sub) = app.token_for(&["SOURCE_SUBADMIN"], ALL).await;
        let (role_subadmin, role_sub) = app.token_for(&["ROLE_SUBADMIN"], ALL).await;
        // The admin token's header and claims under another token's signature: well
        // formed, this tenant's key id, a signature that does not match.
        let bad_signature = format!(
            "{}.{}",
            app.token.rsplit_once('.').expect("jwt").0,
            wrong_scope.rsplit_once('.').expect("jwt").1
        );
        let (own, group, own_entitlement) = app
            .seed_subadmin_source(&f.owner, "Own", &[source_sub.id, role_sub.id])
            .await;
        let identity_profile = app.seed_identity_profile("Employees").await.id;
        let mut w = World {
            app,
            f,
            own,
            own_entitlement,
            group,
            own_profile: String::new(),
            foreign_profile: String::new(),
            own_role: String::new(),
            foreign_role: String::new(),
            identity_profile,
            lifecycle_state: String::new(),
            source_app: String::new(),
            finished_task: String::new(),
            tokens: Tokens {
                expired,
                bad_signature,
                wrong_scope,
                user,
                source_subadmin,
                role_subadmin,
            },
            seq: 0,
        };
        w.own_profile = w.profile(true).await;
        w.foreign_profile = w.profile(false).await;
        w.own_role = w.role(&[&w.own_profile.clone()]).await;
        w.foreign_role = w.role(&[&w.foreign_profile.clone()]).await;
        w.lifecycle_state = w.lifecycle_state().await;
        let held = w.profile(false).await;
        w.source_app = w.source_app(&[&held]).await;
        let doomed = w.profile(false).await;
        let resp = w
            .app
            .delete(&format!("/beta/access-profiles/{doomed}"))
            .await;
        assert_eq!(resp.status(), 202, "beta delete");
        w.finished_task = id_of(&resp.json::<Value>().await.expect("task ref"));
        w.app.drain_tasks().await;
        w
    }

    fn name(&mut self, what: &str) -> String {
        self.seq += 1;
        format!("Matrix {what} {}", self.seq)
    }

    /// A new access profile on Own (`own`) or on the fixture's HR source.
    async fn profile(&mut self, own: bool) -> String {
        let name = self.name("profile");
        let mut body = ap_body(&self.f, &name);
        if own {
            body["source"] = json!({"type": "SOURCE", "id": self.own.id});
            body["entitlements"] = json!([{"type": "ENTITLEMENT", "id": self.own_entitlement}]);
        }
        id_of(
            &self
                .app
                .create_access_profile("/v3/access-profiles", &body)
                .await,
        )
    }

    async fn role(&mut self, profiles: &[&str]) -> String {
        let name = self.name("role");
        let body = role_body(&name, &self.f.owner.id, profiles);
        id_of(&self.app.create_role("/v3/roles", &body).await)
    }

    async fn admin_json(&self, method: Method, path: &str, body: &Value, status: u16) -> Value {
        let mut req = self.app.request(method.clone(), path);
        req = if method == Method::PATCH {
            req.header("Content-Type", "application/json-patch+json")
                .body(body.to_string())
        } else {
            req.json(body)
        };
        let resp = req.send().await.expect("request");
        let got = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        assert_eq!(got, status, "{method} {path}: {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    async fn lifecycle_state(&mut self) -> String {
        let name = self.name("state");
        let path = format!(
            "/v3/identity-profiles/{}/lifecycle-states",
            self.identity_profile
        );
        let body = state_body(&name, &format!("state{}", self.seq));
        id_of(&self.admin_json(Method::POST, &path, &body, 201).await)
    }

    /// A source app on HR holding `profiles` (which must be on HR).
    async fn source_app(&mut self, profiles: &[&str]) -> String {
        let name = self.name("app");
        let body =
            json!({"name": name, "description": "d", "accountSource": {"id": self.f.source.id}});
        let app_id = id_of(
            &self
                .admin_json(Method::POST, "/beta/source-apps", &body, 200)
                .await,
        );
        let hold = json!([{"op": "replace", "path": "/accessProfiles", "value": profiles}]);
        self.admin_json(
            Method::PATCH,
            &format!("/beta/source-apps/{app_id}"),
            &hold,
            200,
        )
        .await;
        app_id
    }

    /// A task left pending (the runner is off until `drain_tasks`).
    async fn pending_task(&mut self) -> String {
        let doomed = self.profile(false).await;
        let body = json!({"accessProfileIds": [doomed]});
        let answer = self
            .admin_json(
                Method::POST,
                "/beta/access-profiles/bulk-delete",
                &body,
                202,
            )
            .await;
        answer["taskId"].as_str().expect("taskId").to_string()
    }

    /// A new segment (ORG_ADMIN only; segments belong to no source).
    async fn segment(&mut self) -> String {
        let body = json!({"name": self.name("segment")});
        id_of(
            &self
                .admin_json(Method::POST, "/v3/segments", &body, 201)
                .await,
        )
    }

    async fn workgroup(&mut self) -> String {
        let body = json!({"name": self.name("group")});
        id_of(
            &self
                .admin_json(Method::POST, "/beta/workgroups", &body, 200)
                .await,
        )
    }

    /// A new source outside the sub-admins' sources, with no entitlements: nothing
    /// uses it, so it can be replaced, patched or deleted.
    async fn source(&mut self) -> String {
        let name = self.name("source");
        self.app.seed_source(&self.f.owner, &name, 0).await.0.id
    }

    /// A request for `op` that succeeds for the admin, on objects outside the
    /// sub-admins' sources where the operation has a target.
    async fn prepare(&mut self, op: &SpecOp) -> Prepared {
        use Scoped::{Foreign, Unscoped};
        let describe =
            json!([{"op": "replace", "path": "/description", "value": self.name("description")}]);
        let ip = self.identity_profile.clone();
        match op.base_id() {
            "listAccessProfiles" => Prepared::list(&[&self.own_profile], &[&self.foreign_profile]),
            "createAccessProfile" => {
                let name = self.name("profile");
                Prepared::new(Foreign).json(ap_body(&self.f, &name))
            }
            "getAccessProfile" | "getAccessProfileEntitlements" => {
                Prepared::new(Foreign).param("id", &self.foreign_profile)
            }
            "patchAccessProfile" => Prepared::new(Foreign)
                .param("id", &self.foreign_profile)
                .patch(describe),
            "deleteAccessProfile" => {
                let doomed = self.profile(false).await;
                Prepared::new(Foreign).param("id", &doomed)
            }
            "deleteAccessProfilesInBulk" => {
                // One profile of its own and one foreign: the foreign one refuses it all.
                let own = self.profile(true).await;
                let foreign = self.profile(false).await;
                Prepared::new(Foreign)
                    .json(json!({"accessProfileIds": [own, foreign], "bestEffortOnly": false}))
            }
            "updateAccessProfilesInBulk" => Prepared::new(Foreign)
                .json(json!([{"id": self.foreign_profile, "requestable": true}])),
            "listRoles" => Prepared::list(&[&self.own_role], &[&self.foreign_role]),
            "createRole" => {
                let name = self.name("role");
                let profiles = [self.own_profile.as_str(), self.foreign_profile.as_str()];
                Prepared::new(Foreign).json(role_body(&name, &self.f.owner.id, &profiles))
            }
            "getRole" => Prepared::new(Foreign).param("id", &self.foreign_role),
            "patchRole" => Prepared::new(Foreign)
                .param("id", &self.foreign_role)
                .patch(describe),
            "deleteRole" => {
                let fp = self.foreign_profile.clone();
                let doomed = self.role(&[&fp]).await;
                Prepared::new(Foreign).param("id", &doomed)
            }
            "deleteBulkRoles" => {
                // A role of its own and a foreign one: the foreign one refuses it all.
                let (own_ap, foreign_ap) = (self.own_profile.clone(), self.foreign_profile.clone());
                let own = self.role(&[&own_ap]).await;
                let foreign = self.role(&[&foreign_ap]).await;
                Prepared::new(Foreign).json(json!({"roleIds": [own, foreign]}))
            }
            "listSources" => Prepared::list(
                &[&self.own.id],
                &[&self.f.source.id, &self.f.other_source.id],
            ),
            // A new source belongs to no sub-admin yet: "outside its sources" is moot.
            "createSource" => Prepared::new(Unscoped).json(json!({
                "name": self.name("source"),
                "owner": {"type": "IDENTITY", "id": self.f.owner.id},
                "connector": "delimited-file",
            })),
            "getSource" => Prepared::new(Foreign).param("id", &self.f.source.id),
            "putSource" => {
                let id = self.source().await;
                Prepared::new(Foreign).param("id", &id).json(json!({
                    "name": self.name("source"),
                    "owner": {"type": "IDENTITY", "id": self.f.owner.id},
                    "connector": "delimited-file",
                }))
            }
            "updateSource" => {
                let id = self.source().await;
                Prepared::new(Foreign).param("id", &id).patch(describe)
            }
            "deleteSource" => {
                let id = self.source().await;
                Prepared::new(Foreign).param("id", &id)
            }
            // Segments belong to no source: "outside its sources" is moot.
            "createSegment" => Prepared::new(Unscoped).json(json!({"name": self.name("segment")})),
            "listSegments" => Prepared::new(Unscoped),
            "getSegment" => {
                let id = self.segment().await;
                Prepared::new(Unscoped).param("id", &id)
            }
            "patchSegment" => {
                let id = self.segment().await;
                Prepared::new(Unscoped).param("id", &id).patch(describe)
            }
            "deleteSegment" => {
                let id = self.segment().await;
                Prepared::new(Unscoped).param("id", &id)
            }
            "getPublicIdentities" => Prepared::new(Unscoped),
            "getLifecycleStates" => Prepared::new(Unscoped).param("identity-profile-id", &ip),
            "createLifecycleState" => {
                let name = self.name("state");
                let body = state_body(&name, &format!("state{}", self.seq));
                Prepared::new(Unscoped)
                    .param("identity-profile-id", &ip)
                    .json(body)
            }
            "getLifecycleState" => Prepared::new(Unscoped)
                .param("identity-profile-id", &ip)
                .param("lifecycle-state-id", &self.lifecycle_state),
            "updateLifecycleStates" => Prepared::new(Unscoped)
                .param("identity-profile-id", &ip)
                .param("lifecycle-state-id", &self.lifecycle_state)
                .patch(describe),
            "deleteLifecycleState" => {
                let doomed = self.lifecycle_state().await;
                Prepared::new(Unscoped)
                    .param("identity-profile-id", &ip)
                    .param("lifecycle-state-id", &doomed)
            }
            "listAvailableSourceApps" | "listAllSourceApp" | "listAssignedSourceApp" => {
                Prepared::new(Unscoped)
            }
            "createSourceApp" => Prepared::new(Unscoped).json(json!({
                "name": self.name("app"),
                "description": "d",
                "accountSource": {"id": self.f.source.id},
            })),
            "getSourceApp" | "listAccessProfilesForSourceApp" => {
                Prepared::new(Unscoped).param("id", &self.source_app)
            }
            "patchSourceApp" => Prepared::new(Unscoped)
                .param("id", &self.source_app)
                .patch(describe),
            "deleteSourceApp" => {
                let doomed = self.source_app(&[]).await;
                Prepared::new(Unscoped).param("id", &doomed)
            }
            "updateSourceAppsInBulk" => Prepared::new(Unscoped)
                .json(json!({"appIds": [self.source_app], "jsonPatch": describe})),
            "deleteAccessProfilesFromSourceAppByBulk" => {
                let held = self.profile(false).await;
                let app_id = self.source_app(&[&held]).await;
                Prepared::new(Unscoped)
                    .param("id", &app_id)
                    .json(json!([held]))
            }
            "getTaskStatusList" | "getPendingTasks" | "getPendingTaskHeaders" => {
                Prepared::new(Unscoped)
            }
            "getTaskStatus" => Prepared::new(Unscoped).param("id", &self.finished_task),
            "updateTaskStatus" => {
                let task = self.pending_task().await;
                let mut p = Prepared::new(Unscoped).param("id", &task).patch(
                    json!([{"op": "replace", "path": "/completionStatus", "value": "TERMINATED"}]),
                );
                p.drain = false;
                p
            }
            "listEntitlements" => Prepared::new(Unscoped),
            "getEntitlement" => Prepared::new(Unscoped).param("id", &self.f.entitlements[0]),
            "patchEntitlement" => Prepared::new(Unscoped)
                .param("id", &self.f.entitlements[0])
                .patch(describe),
            "listIdentities" => Prepared::new(Unscoped),
            "getIdentity" => Prepared::new(Unscoped).param("id", &self.f.owner.id),
            "deleteIdentity" => {
                let id = self.app.seed_identity(&[]).await.id;
                Prepared::new(Unscoped).param("id", &id)
            }
            "listWorkgroups" => Prepared::new(Unscoped),
            "createWorkgroup" => Prepared::new(Unscoped).json(json!({"name": self.name("group")})),
            "getWorkgroup" => Prepared::new(Unscoped).param("id", &self.group),
            "listWorkgroupMembers" => Prepared::new(Unscoped).param("workgroupId", &self.group),
            "updateWorkgroupMembers" => {
                // Not the sub-admins' group: a wrongly accepted request must not widen
                // their scope for the rest of the matrix.
                let group = self.workgroup().await;
                Prepared::new(Unscoped)
                    .param("workgroupId", &group)
                    .json(json!([{"id": self.f.owner.id}]))
            }
            "patchWorkgroup" => {
                let group = self.workgroup().await;
                Prepared::new(Unscoped).param("id", &group).patch(describe)
            }
            "deleteWorkgroup" => {
                let group = self.workgroup().await;
                Prepared::new(Unscoped).param("id", &group)
            }
            "deleteWorkgroupsInBulk" => {
                let group = self.workgroup().await;
                Prepared::new(Unscoped).json(json!({"ids": [group]}))
            }
            "deleteWorkgroupMembers" => {
                let group = self.workgroup().await;
                let owner = json!([{"type": "IDENTITY", "id": self.f.owner.id}]);
                let add = format!("/beta/workgroups/{group}/members/bulk-add");
                self.admin_json(Method::POST, &add, &owner, 207).await;
                Prepared::new(Unscoped)
                    .param("workgroupId", &group)
                    .json(json!([{"type": "IDENTITY", "id": self.f.owner.id}]))
            }
            other => panic!("no request for {other}: add one to World::prepare"),
        }
    }

    fn token(&self, case: Case) -> Option<&str> {
        match case {
            Case::NoToken => None,
            Case::Expired => Some(&self.tokens.expired),
            Case::BadSignature => Some(&self.tokens.bad_signature),
            Case::WrongScope => Some(&self.tokens.wrong_scope),
            Case::WrongLevel => Some(&self.tokens.user),
            Case::SourceSubadmin => Some(&self.tokens.source_subadmin),
            Case::RoleSubadmin => Some(&self.tokens.role_subadmin),
            Case::NoExperimentalHeader | Case::Correct => Some(&self.app.token),
        }
    }

    async fn send(
        &self,
        op: &SpecOp,
        req: &Prepared,
        case: Case,
        query: &str,
    ) -> reqwest::Response {
        let path = format!("{}{query}", fill(&op.template, &req.params));
        let mut r = self
            .app
            .http
            .request(op.method.clone(), self.app.url(&path));
        if let Some(token) = self.token(case) {
            r = r.bearer_auth(token);
        }
        if op.experimental && case != Case::NoExperimentalHeader {
            r = r.header(EXPERIMENTAL, "true");
        }
        r = match &req.body {
            Body::None => r,
            Body::Json(b) => r.json(b),
            Body::Patch(b) => r
                .header("Content-Type", "application/json-patch+json")
                .body(b.to_string()),
        };
        r.send().await.expect("request")
    }

    /// Checks `resp` against `expect` beyond its status; `Err` says what is wrong.
    async fn verify(
        &self,
        op: &SpecOp,
        req: &Prepared,
        case: Case,
        expect: &Expect,
        resp: reqwest::Response,
    ) -> Result<(), String> {
        let status = resp.status().as_u16();
        let head = op.method == Method::HEAD;
        let request_id = resp
            .headers()
            .get("SLPT-Request-ID")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let text = resp.text().await.unwrap_or_default();
        if !expect.statuses().contains(&status) {
            return Err(format!("expected {:?}, got {status}: {text}", expect));
        }
        let body = || -> Result<Value, String> {
            serde_json::from_str(&text).map_err(|e| format!("body is not JSON ({e}): {text}"))
        };
        match expect {
            Expect::Unauthorized { message, exact } if !head => {
                let b = body()?;
                let got = b["error"].as_str().unwrap_or_default();
                let ok = if *exact {
                    got == *message
                } else {
                    got.starts_with(message) && !got.ends_with("JWT is expired")
                };
                if !ok {
                    return Err(format!("401 body {b}, expected error {message:?}"));
                }
            }
            Expect::Forbidden | Expect::MustNameItself if !head => {
                // CONTRACT §7: the ISC body, its trackingId also sent as SLPT-Request-ID.
                let b = body()?;
                let tracking = b["trackingId"].as_str();
                if b["detailCode"] != "403 Forbidden"
                    || !b["messages"][0]["text"].is_string()
                    || !b["causes"].is_array()
                    || tracking.map(str::len) != Some(32)
                    || tracking != request_id.as_deref()
                {
                    return Err(format!("403 without the ISC body: {b} ({request_id:?})"));
                }
            }
            Expect::ExperimentalMissing => {
                let b = body()?;
                if b != json!({"error": EXPERIMENTAL_ERROR}) {
                    return Err(format!("400 body {b}"));
                }
            }
            _ => {}
        }
        let list_check = |text: &str, admin: bool| -> Result<(), String> {
            let Scoped::List { present, absent } = &req.scoped else {
                return Ok(());
            };
            let v: Value = serde_json::from_str(text).map_err(|e| format!("{e}: {text}"))?;
            let ids = ids_of(&v).ok_or_else(|| format!("not a list: {v}"))?;
            let missing: Vec<&String> = present.iter().filter(|i| !ids.contains(*i)).collect();
            let leaked: Vec<&String> = absent.iter().filter(|i| ids.contains(*i)).collect();
            if !missing.is_empty() {
                return Err(format!("list lacks {missing:?}"));
            }
            if admin {
                let hidden: Vec<&String> = absent.iter().filter(|i| !ids.contains(*i)).collect();
                if !hidden.is_empty() {
                    return Err(format!("the admin's list lacks {hidden:?}"));
                }
            } else if !leaked.is_empty() {
                return Err(format!(
                    "a confined sub-admin sees foreign objects {leaked:?}"
                ));
            }
            Ok(())
        };
        match expect {
            Expect::ListFiltered => list_check(&text, false)?,
            Expect::Success(_) if !head => list_check(&text, true)?,
            Expect::MustNameItself => {
                let resp = self.send(op, req, case, "?for-subadmin=me").await;
                let status = resp.status().as_u16();
                let text = resp.text().await.unwrap_or_default();
                if status != 200 {
                    return Err(format!("with for-subadmin=me: {status} {text}"));
                }
                list_check(&text, false).map_err(|e| format!("with for-subadmin=me: {e}"))?;
            }
            _ => {}
        }
        Ok(())
    }
}

fn state_body(name: &str, technical: &str) -> Value {
    json!({
        "name": name,
        "technicalName": technical,
        "description": format!("{name} state"),
        "enabled": true,
        "accessProfileIds": [],
    })
}

// ------------------------------------------------------------------ the database

/// Every table but `_sqlx_migrations` and `rate_limits`, each row rendered as `column=value` pairs,
/// sorted: read through the store's export, the same on SQLite and PostgreSQL.
type Dump = BTreeMap<String, Vec<String>>;

async fn dump(store: &Arc<dyn Store>) -> Dump {
    let export = store
        .export_tenant()
        .await
        .expect("export the test database");
    assert!(!export.tables.is_empty(), "no tables to compare");
    export
        .tables
        .into_iter()
        // The rate-limit counters are the gateway's bookkeeping, not tenant data: a
        // refused request is counted too (CONTRACT §8), so its row moves.
        .filter(|t| t.name != "rate_limits")
        .map(|t| {
            let mut rows: Vec<String> = t
                .rows
                .iter()
                .map(|r| {
                    t.columns
                        .iter()
                        .zip(r)
                        .map(|(c, v)| format!("{c}={v}"))
                        .collect::<Vec<_>>()
                        .join(" | ")
                })
                .collect();
            rows.sort();
            (t.name, rows)
        })
        .collect()
}

/// The rows that differ, per table.
fn diff(before: &Dump, after: &Dump) -> String {
    let mut out = String::new();
    for (table, rows) in after {
        let old = before.get(table).cloned().unwrap_or_default();
        let added: Vec<&String> = rows.iter().filter(|r| !old.contains(r)).collect();
        let removed: Vec<&String> = old.iter().filter(|r| !rows.contains(r)).collect();
        if !added.is_empty() || !removed.is_empty() {
            let _ = write!(out, "\n    {table}: +{added:?} -{removed:?}");
        }
    }
    out
}

// ------------------------------------------------------------------ the matrix

/// A request for `op` on fresh objects and, for a write, the database it starts from
/// (with every task run first, unless the request needs its task pending).
async fn start(w: &mut World, db: &Arc<dyn Store>, op: &SpecOp) -> (Prepared, Option<Dump>) {
    w.app.drain_tasks().await;
    let req = w.prepare(op).await;
    if !op.is_write() {
        return (req, None);
    }
    if req.drain {
        w.app.drain_tasks().await;
    }
    let before = dump(db).await;
    (req, Some(before))
}

#[derive(Default)]
struct Tally {
    checked: usize,
    not_applicable: usize,
    known_bugs: usize,
}

/// The coverage test: every operation of every spec file in spec/ is implemented (and
/// then exercised by the matrix, whose success answers the response validator must
/// accept) or listed in `notServed` of spec/deviations.json with its reason; and
/// every listed operation is one of the spec's.
#[test]
fn every_operation_of_every_spec_file_is_served_and_tested_or_listed_as_not_served() {
    let spec = load_spec();
    let served_ops: BTreeSet<(&str, String)> = spec.iter().map(SpecOp::key).collect();
    for n in &crate::deviations::deviations().not_served {
        assert!(
            n.reason.starts_with("not served yet: ") && n.reason.len() > 40,
            "{} {}: the reason it is not served must say why",
            n.family,
            n.operation
        );
    }
    let mut seen = BTreeSet::new();
    for (family, id) in IMPLEMENTED.iter().copied().chain(not_implemented()) {
        assert!(
            seen.insert((family, id)),
            "{family} {id} is listed twice (implemented and not, or twice in one list)"
        );
        assert!(
            served_ops.contains(&(family, id.to_string())),
            "{family} {id} is listed but is no operation of spec/{family}.json"
        );
    }
    for (family, id) in &served_ops {
        assert!(
            seen.contains(&(*family, id.as_str())) || WHOLE_FAMILIES.contains(family),
            "spec/{family}.json has {id}: add it to IMPLEMENTED (with a request in \
             World::prepare) or to notServed in spec/deviations.json, with the reason"
        );
    }
    for bug in KNOWN_BUGS {
        assert!(
            is_implemented(bug.family, bug.op),
            "known bug on an unlisted operation {} {}",
            bug.family,
            bug.op
        );
    }
    // The description fallback finds exactly the sentences it is meant for.
    assert_eq!(
        levels_from_description(
            "Bulk. A token with API, ORG_ADMIN, ROLE_ADMIN, or ROLE_SUBADMIN authority is \
             required to call this endpoint. In addition, a token with ROLE_SUBADMIN \
             authority can only call this endpoint if …"
        ),
        Some(vec![
            "API".into(),
            "ORG_ADMIN".into(),
            "ROLE_ADMIN".into(),
            "ROLE_SUBADMIN".into()
        ])
    );
    assert_eq!(
        levels_from_description("a token with ROLE_SUBADMIN authority can only call this"),
        None
    );
}

// One test per family, each in a world of its own: they run side by side, and each
// snapshot holds only what its family's operations wrote.
#[tokio::test]
async fn v3_operations_answer_each_kind_of_caller_as_their_spec_entries_say() {
    matrix_of("v3").await;
}

#[tokio::test]
async fn beta_operations_answer_each_kind_of_caller_as_their_spec_entries_say() {
    matrix_of("beta").await;
}

#[tokio::test]
async fn v1_operations_answer_each_kind_of_caller_as_their_spec_entries_say() {
    matrix_of("v1").await;
}

#[tokio::test]
async fn v2024_operations_answer_each_kind_of_caller_as_their_spec_entries_say() {
    matrix_of("v2024").await;
}

#[tokio::test]
async fn v2025_operations_answer_each_kind_of_caller_as_their_spec_entries_say() {
    matrix_of("v2025").await;
}

#[tokio::test]
async fn v2026_operations_answer_each_kind_of_caller_as_their_spec_entries_say() {
    matrix_of("v2026").await;
}

/// The matrix of one family's operations.
async fn matrix_of(family: &str) {
    let started = std::time::Instant::now();
    let spec: Vec<SpecOp> = load_spec()
        .into_iter()
        .filter(|o| o.family == family)
        .collect();
    let outside_served = spec.iter().filter(|o| !served(o)).count();
    let implemented: Vec<&SpecOp> = spec
        .iter()
        .filter(|o| is_implemented(o.family, &o.id))
        .collect();
    assert!(!implemented.is_empty(), "{family} serves operations");
    let mut w = World::build().await;
    let db = w.app.store.clone();
    let mut tally: BTreeMap<Case, Tally> = BTreeMap::new();
    let mut failures: Vec<String> = Vec::new();
    let mut lines: Vec<String> = Vec::new();
    let mut bugs_seen: Vec<String> = Vec::new();
    let mut why_not: BTreeMap<(Case, &str), usize> = BTreeMap::new();
    let mut unknown_ids = 0;

    for op in &implemented {
        let (mut req, mut before) = start(&mut w, &db, op).await;
        let mut cells = Vec::new();
        for case in CASES {
            let expected = expect(op, case, &req);
            let t = tally.entry(case).or_default();
            if let Expect::NotApplicable(why) = expected {
                t.not_applicable += 1;
                *why_not.entry((case, why)).or_insert(0usize) += 1;
                cells.push(format!("{}=n/a", case.short()));
                continue;
            }
            let refused = case != Case::Correct;
            if op.is_write() && refused && expected.statuses().iter().any(|s| *s < 400) {
                failures.push(format!(
                    "{}: {}: a refused write case expects success ({expected:?}); the matrix \
                     cannot check that nothing changed",
                    op.name(),
                    case.label()
                ));
                continue;
            }
            let resp = w.send(op, &req, case, "").await;
            let status = resp.status().as_u16();
            let what = format!("{}: {}", op.name(), case.label());
            if let Some(bug) = known_bug(op, case) {
                t.known_bugs += 1;
                cells.push(format!("{}=BUG{status}", case.short()));
                if status == bug.observed {
                    bugs_seen.push(format!(
                        "{what}: answers {status}, the spec entry says {:?} ({})",
                        expected.statuses(),
                        bug.why
                    ));
                } else {
                    failures.push(format!(
                        "{what}: known bug no longer answers {} (now {status}); if fixed, \
                         remove it from KNOWN_BUGS",
                        bug.observed
                    ));
                }
                if op.is_write() {
                    // It may have written: go on with fresh objects.
                    (req, before) = start(&mut w, &db, op).await;
                }
                continue;
            }
            t.checked += 1;
            let label = match expected {
                Expect::MustNameItself => format!("{status}(me:200)"),
                _ => status.to_string(),
            };
            cells.push(format!("{}={label}", case.short()));
            if let Err(e) = w.verify(op, &req, case, &expected, resp).await {
                failures.push(format!("{what}: {e}"));
            }
            // A caller refused before any lookup gets the same answer for an object that
            // does not exist: the refusal reveals nothing. Sub-admins are
            // not asked: they may read what exists, and get 404 for what does not.
            if refused && case.subadmin_level().is_none() && !req.params.is_empty() {
                let unknown = req.unknown();
                let resp = w.send(op, &unknown, case, "").await;
                unknown_ids += 1;
                if let Err(e) = w.verify(op, &unknown, case, &expected, resp).await {
                    failures.push(format!("{what}, unknown ids: {e}"));
                }
            }
            if refused {
                if let Some(b) = &before {
                    if req.drain {
                        w.app.drain_tasks().await;
                    }
                    let after = dump(&db).await;
                    if &after != b {
                        failures.push(format!(
                            "{what}: a refused write changed the database:{}",
                            diff(b, &after)
                        ));
                        // Go on with fresh objects, so one failure does not cascade.
                        (req, before) = start(&mut w, &db, op).await;
                    }
                }
            }
        }
        w.app.drain_tasks().await;
        if let Some(b) = &before {
            // The correct write must show in the dump, or "nothing changed" above proves
            // nothing for this operation.
            if dump(&db).await == *b {
                failures.push(format!(
                    "{}: the correct write changed no table: the snapshot cannot see it",
                    op.name()
                ));
            }
        }
        let levels = match (&op.levels, op.levels_from_description) {
            (None, _) => "levels: any".to_string(),
            (Some(l), false) => format!("levels: {}", l.join(",")),
            (Some(l), true) => format!("levels (description): {}", l.join(",")),
        };
        let scopes = format!(
            "scopes: {} of {}{}",
            if op.all_scopes { "all" } else { "one" },
            op.scopes.len(),
            if op.application_auth { ", +app" } else { "" }
        );
        lines.push(format!(
            "  {:<6}{:<7}{:<62} {}  [{levels}; {scopes}]",
            op.family,
            op.method.as_str(),
            op.template,
            cells.join(" "),
        ));
    }

    // Operations not implemented must still be unrouted (no 401 from a handler).
    let mut probed = 0;
    for (_, id) in not_implemented().filter(|(f, _)| *f == family) {
        let op = spec
            .iter()
            .find(|o| o.family == family && o.id == id)
            .expect("in the spec");
        let params: Vec<(&'static str, String)> = [
            "id",
            "workgroupId",
            "identity-profile-id",
            "lifecycle-state-id",
        ]
        .into_iter()
        .map(|k| (k, "0123456789abcdef0123456789abcdef".to_string()))
        .collect();
        let path = fill(&op.template, &params);
        let resp = w
            .app
            .http
            .request(op.method.clone(), w.app.url(&path))
            .send()
            .await
            .expect("probe");
        let status = resp.status().as_u16();
        probed += 1;
        if status != 404 && status != 405 {
            failures.push(format!(
                "{}: listed as not implemented, but without a token it answers {status}: \
                 move it to IMPLEMENTED and give it a request",
                op.name()
            ));
        }
    }

    println!(
        "\nauthorization matrix of {family} ({} operations):",
        implemented.len()
    );
    for line in &lines {
        println!("{line}");
    }
    println!("\ncases (cells checked / not applicable / known bugs):");
    let mut total = Tally::default();
    for case in CASES {
        let t = tally.entry(case).or_default();
        println!(
            "  {:<38} {:>4} checked {:>4} n/a {:>3} known bug",
            case.label(),
            t.checked,
            t.not_applicable,
            t.known_bugs
        );
        total.checked += t.checked;
        total.not_applicable += t.not_applicable;
        total.known_bugs += t.known_bugs;
    }
    println!(
        "  {:<38} {:>4} checked {:>4} n/a {:>3} known bug",
        "all", total.checked, total.not_applicable, total.known_bugs
    );
    println!(
        "  (and {unknown_ids} refused cells sent again with unknown ids: same answer, \
         nothing revealed)"
    );
    println!("\nwhy cells are not applicable:");
    for ((case, why), n) in &why_not {
        println!("  {:<38} {n:>4}  {why}", case.label());
    }
    println!(
        "{} operations × {} cases; {} not implemented (probed unrouted: {probed}); {} spec \
         operations outside the served resources; {:.1} s",
        implemented.len(),
        CASES.len(),
        crate::deviations::deviations().not_served.len(),
        outside_served,
        started.elapsed().as_secs_f64()
    );
    if !bugs_seen.is_empty() {
        println!("\nknown server bugs (cells excepted):");
        for b in &bugs_seen {
            println!("  {b}");
        }
    }
    // Every implemented operation was exercised here with a success the response
    // validator accepted (`crate::conformance`).
    let succeeded = crate::conformance::succeeded();
    for op in &implemented {
        if !succeeded.contains(&(op.family.to_string(), op.id.clone())) {
            failures.push(format!(
                "{}: no 2xx answer valid against its schema was seen",
                op.name()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} cell(s) differ from the spec:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}
