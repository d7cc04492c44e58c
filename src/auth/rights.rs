//! The rights table, read from the OpenAPI documents themselves (`spec/`): for each
//! operation, the scopes of its `security` requirements and its
//! `x-sailpoint-userLevels`. A right is granted when the token's scopes satisfy the
//! operation and its authorities include one of the listed user levels (CONTRACT §6).

use std::collections::HashMap;
use std::sync::LazyLock;

use serde_json::Value;

/// The route families: v3, beta and the per-service v1 paths of CONTRACT §1, and the
/// year-versioned families, each served over the same store under its own prefix. A
/// family is its spec file (which operations, at which paths, with which rights) plus
/// its row in the API's edge table (`api::families`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    V3,
    Beta,
    V1,
    V2024,
    V2025,
    V2026,
}

/// What names a family and where its document is: one row per [`Family`], in the
/// order of its variants.
struct FamilyRow {
    name: &'static str,
    /// `None` for v1, whose paths carry their version after the service
    /// (`/access-profiles/v1`).
    prefix: Option<&'static str>,
    spec: &'static str,
    /// The suffix of the document's operationIds (`V1` in v1's).
    operation_suffix: &'static str,
}

static FAMILY_ROWS: [FamilyRow; 6] = [
    FamilyRow {
        name: "v3",
        prefix: Some("/v3"),
        spec: include_str!("../../spec/v3.json"),
        operation_suffix: "",
    },
    FamilyRow {
        name: "beta",
        prefix: Some("/beta"),
        spec: include_str!("../../spec/beta.json"),
        operation_suffix: "",
    },
    FamilyRow {
        name: "v1",
        prefix: None,
        spec: include_str!("../../spec/v1.json"),
        operation_suffix: "V1",
    },
    FamilyRow {
        name: "v2024",
        prefix: Some("/v2024"),
        spec: include_str!("../../spec/v2024.json"),
        operation_suffix: "",
    },
    FamilyRow {
        name: "v2025",
        prefix: Some("/v2025"),
        spec: include_str!("../../spec/v2025.json"),
        operation_suffix: "",
    },
    FamilyRow {
        name: "v2026",
        prefix: Some("/v2026"),
        spec: include_str!("../../spec/v2026.json"),
        operation_suffix: "",
    },
];

impl Family {
    pub const ALL: [Family; 6] = [
        Family::V3,
        Family::Beta,
        Family::V1,
        Family::V2024,
        Family::V2025,
        Family::V2026,
    ];

    fn row(self) -> &'static FamilyRow {
        &FAMILY_ROWS[self as usize]
    }

    pub fn as_str(self) -> &'static str {
        self.row().name
    }

    /// The path prefix the family's routes are nested under; `None` for v1, whose
    /// paths carry their version after the service (`/access-profiles/v1`).
    pub fn prefix(self) -> Option<&'static str> {
        self.row().prefix
    }

    /// The family whose prefix is the first path segment `segment` (`"v2025"`).
    pub fn of_prefix(segment: &str) -> Option<Family> {
        Family::ALL
            .into_iter()
            .find(|f| f.prefix().is_some_and(|p| &p[1..] == segment))
    }

    /// The family's OpenAPI document, as served (`spec/`).
    pub fn spec(self) -> &'static str {
        self.row().spec
    }

    /// The suffix of the family's operationIds (`V1` in the v1 document; none elsewhere).
    pub fn operation_suffix(self) -> &'static str {
        self.row().operation_suffix
    }
}

/// The operations accessd serves, by their v3/beta operationId (the v1 document's ids
/// carry a `V1` suffix, added when the spec is read). A route names its operation as
/// one of these, so a misspelt operation does not compile.
macro_rules! operation_ids {
    ($($variant:ident => $id:literal,)*) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum OperationId {
            $($variant,)*
        }

        impl OperationId {
            /// Every operation, for checks that each has a rights entry.
            pub const ALL: &'static [OperationId] = &[$(OperationId::$variant,)*];

            /// The spec's operationId (v3/beta spelling).
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(OperationId::$variant => $id,)*
                }
            }
        }
    };
}

operation_ids! {
    CreateAccessProfile => "createAccessProfile",
    CreateLifecycleState => "createLifecycleState",
    CreateRole => "createRole",
    CreateSegment => "createSegment",
    CreateSource => "createSource",
    CreateSourceApp => "createSourceApp",
    CreateWorkgroup => "createWorkgroup",
    DeleteAccessProfile => "deleteAccessProfile",
    DeleteAccessProfilesFromSourceAppByBulk => "deleteAccessProfilesFromSourceAppByBulk",
    DeleteAccessProfilesInBulk => "deleteAccessProfilesInBulk",
    DeleteBulkRoles => "deleteBulkRoles",
    DeleteLifecycleState => "deleteLifecycleState",
    DeleteRole => "deleteRole",
    DeleteSegment => "deleteSegment",
    DeleteSourceApp => "deleteSourceApp",
    GetAccessProfile => "getAccessProfile",
    GetAccessProfileEntitlements => "getAccessProfileEntitlements",
    GetEntitlement => "getEntitlement",
    GetIdentity => "getIdentity",
    GetLifecycleState => "getLifecycleState",
    GetLifecycleStates => "getLifecycleStates",
    GetPendingTaskHeaders => "getPendingTaskHeaders",
    GetPendingTasks => "getPendingTasks",
    GetPublicIdentities => "getPublicIdentities",
    GetRole => "getRole",
    GetSegment => "getSegment",
    GetSource => "getSource",
    GetSourceApp => "getSourceApp",
    GetTaskStatus => "getTaskStatus",
    GetTaskStatusList => "getTaskStatusList",
    GetWorkgroup => "getWorkgroup",
    ListAccessProfiles => "listAccessProfiles",
    ListAccessProfilesForSourceApp => "listAccessProfilesForSourceApp",
    ListAllSourceApp => "listAllSourceApp",
    ListAssignedSourceApp => "listAssignedSourceApp",
    ListAvailableSourceApps => "listAvailableSourceApps",
    ListEntitlements => "listEntitlements",
    ListIdentities => "listIdentities",
    ListRoles => "listRoles",
    ListSegments => "listSegments",
    ListSources => "listSources",
    ListWorkgroupMembers => "listWorkgroupMembers",
    ListWorkgroups => "listWorkgroups",
    PatchAccessProfile => "patchAccessProfile",
    PatchRole => "patchRole",
    PatchSegment => "patchSegment",
    PatchSourceApp => "patchSourceApp",
    UpdateLifecycleStates => "updateLifecycleStates",
    UpdateSourceAppsInBulk => "updateSourceAppsInBulk",
    UpdateTaskStatus => "updateTaskStatus",
    UpdateWorkgroupMembers => "updateWorkgroupMembers",
    DeleteIdentity => "deleteIdentity",
    DeleteSource => "deleteSource",
    DeleteWorkgroup => "deleteWorkgroup",
    DeleteWorkgroupMembers => "deleteWorkgroupMembers",
    DeleteWorkgroupsInBulk => "deleteWorkgroupsInBulk",
    PatchWorkgroup => "patchWorkgroup",
    PutSource => "putSource",
    UpdateSource => "updateSource",
    UpdateAccessProfilesInBulk => "updateAccessProfilesInBulk",
    PatchEntitlement => "patchEntitlement",
}

/// An operation of one family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Operation {
    pub family: Family,
    pub id: OperationId,
}

impl Operation {
    pub const fn new(family: Family, id: OperationId) -> Self {
        Self { family, id }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Requirement {
    /// Scopes of the `userAuth` requirement; any one suffices unless `all_scopes`.
    pub scopes: Vec<String>,
    /// "To use this endpoint, you need all the listed scopes."
    pub all_scopes: bool,
    /// `x-sailpoint-userLevels`; `None` or `Any` = every user level.
    pub user_levels: Option<Vec<String>>,
    /// Whether a client without a user (authority `API`) may call it.
    pub api_clients: bool,
    /// Whether the operation lists the `X-SailPoint-Experimental` header as required
    /// (the v1 source-app operations; CONTRACT §3.3).
    pub experimental: bool,
}

/// Operations the seed documents open to the `API` authority although their spec
/// lists only `userAuth` ("A token with API, ORG_ADMIN, ... authority is required").
const SEED_API_OPERATIONS: [&str; 2] = ["deleteAccessProfile", "deleteAccessProfilesInBulk"];

/// The header experimental operations require (`true`).
pub const EXPERIMENTAL_HEADER: &str = "X-SailPoint-Experimental";

/// Per family, per operationId (v1 ids without their `V1` suffix, so a lookup needs no
/// allocation: it runs on every request).
static SPECS: LazyLock<HashMap<Family, HashMap<String, Requirement>>> = LazyLock::new(|| {
    let mut table: HashMap<Family, HashMap<String, Requirement>> = HashMap::new();
    for family in Family::ALL {
        let Ok(doc) = serde_json::from_str::<Value>(family.spec()) else {
            continue;
        };
        let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
            continue;
        };
        for item in paths.values().filter_map(Value::as_object) {
            for op in item.values().filter_map(Value::as_object) {
                let Some(id) = op.get("operationId").and_then(Value::as_str) else {
                    continue;
                };
                let id = id.strip_suffix(family.operation_suffix()).unwrap_or(id);
                table
                    .entry(family)
                    .or_default()
                    .insert(id.to_string(), requirement_of(op));
            }
        }
    }
    table
});

fn requirement_of(op: &serde_json::Map<String, Value>) -> Requirement {
    let mut req = Requirement::default();
    for sec in op
        .get("security")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(sec) = sec.as_object() else { continue };
        if let Some(scopes) = sec.get("userAuth").and_then(Value::as_array) {
            req.scopes = scopes
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect();
        }
        if sec.contains_key("applicationAuth") {
            req.api_clients = true;
        }
    }
    req.experimental = op
        .get("parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|p| {
            p.get("in").and_then(Value::as_str) == Some("header")
                && p.get("required").and_then(Value::as_bool) == Some(true)
                && p.get("name")
                    .and_then(Value::as_str)
                    .is_some_and(|n| n.eq_ignore_ascii_case(EXPERIMENTAL_HEADER))
        });
    let description = op.get("description").and_then(Value::as_str).unwrap_or("");
    req.all_scopes = description.contains("need all the listed scopes");
    req.user_levels = op
        .get("x-sailpoint-userLevels")
        .and_then(Value::as_array)
        .map(|l| {
            l.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        });
    if req.user_levels.is_none() {
        // A few operations lack `x-sailpoint-userLevels` but name the levels in their
        // description ("A token with API, ORG_ADMIN authority is required"); without
        // this, every level would pass. `API` there does not open the operation to API
        // clients: only `applicationAuth` and the seeds do (CONTRACT §6).
        req.user_levels = described_levels(description);
    }
    if let Some(id) = op.get("operationId").and_then(Value::as_str)
        && SEED_API_OPERATIONS.contains(&id.trim_end_matches("V1"))
    {
        req.api_clients = true;
    }
    req
}

/// The user levels of "A token with X, Y, or Z authority is required", without `API`.
fn described_levels(description: &str) -> Option<Vec<String>> {
    let (_, rest) = description.split_once("A token with ")?;
    let (list, _) = rest.split_once(" authority")?;
    let levels: Vec<String> = list
        .split(',')
        .flat_map(|part| part.split(" or "))
        .map(str::trim)
        .filter(|l| !l.is_empty() && *l != "API")
        .filter(|l| l.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
        .map(str::to_string)
        .collect();
    (!levels.is_empty()).then_some(levels)
}

/// The requirement of `op`, if the spec has it.
pub fn requirement(op: Operation) -> Option<&'static Requirement> {
    SPECS.get(&op.family)?.get(op.id.as_str())
}

/// Whether a token with `scopes` and `authorities` may call `op`.
pub fn allows(req: &Requirement, scopes: &[String], authorities: &[String]) -> bool {
    refusal(req, scopes, authorities).is_none()
}

/// What a token with `scopes` and `authorities` lacks to call `op`, in words for the
/// 403 message (CONTRACT §6); `None` when it may call it.
pub fn refusal(req: &Requirement, scopes: &[String], authorities: &[String]) -> Option<String> {
    let has_scope = |s: &String| scopes.iter().any(|t| t == s || t == "sp:scopes:all");
    let scopes_ok = req.scopes.is_empty()
        || if req.all_scopes {
            req.scopes.iter().all(has_scope)
        } else {
            req.scopes.iter().any(has_scope)
        };
    if !scopes_ok {
        let missing: Vec<&str> = req
            .scopes
            .iter()
            .filter(|s| !has_scope(s))
            .map(String::as_str)
            .collect();
        return Some(if req.all_scopes {
            format!("the token lacks the scopes {}", missing.join(", "))
        } else {
            format!("the token needs one of the scopes {}", missing.join(", "))
        });
    }
    if authorities.iter().any(|a| a == "API") {
        return (!req.api_clients).then(|| {
            "the operation needs a user's token (a personal access token); an API client \
             (authority API) may not call it"
                .to_string()
        });
    }
    match &req.user_levels {
        None => None,
        Some(levels) if levels.iter().any(|l| l == "Any") => None,
        Some(levels) if levels.iter().any(|l| authorities.contains(l)) => None,
        Some(levels) => Some(format!(
            "the operation needs one of the user levels {}",
            levels.join(", ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn each_family_is_its_own_row() {
        for (i, family) in Family::ALL.into_iter().enumerate() {
            assert_eq!(family as usize, i);
            assert_eq!(family.row().name, format!("{family:?}").to_lowercase());
            assert!(family.spec().contains(&format!("/{}", family.as_str())));
        }
        assert_eq!(Family::of_prefix("v2025"), Some(Family::V2025));
        assert_eq!(Family::of_prefix("v1"), None);
    }

    #[test]
    fn the_table_knows_the_operations_of_every_family() {
        for (family, id) in [
            (Family::V3, OperationId::ListAccessProfiles),
            (Family::Beta, OperationId::ListAccessProfiles),
            (Family::V1, OperationId::ListAccessProfiles),
            (Family::V3, OperationId::CreateAccessProfile),
            (Family::Beta, OperationId::ListEntitlements),
            (Family::V3, OperationId::GetPublicIdentities),
        ] {
            assert!(
                requirement(Operation::new(family, id)).is_some(),
                "{family:?} {id:?}"
            );
        }
    }

    #[test]
    fn create_needs_all_listed_scopes_and_list_needs_one() {
        let create =
            requirement(Operation::new(Family::V3, OperationId::CreateAccessProfile)).unwrap();
        assert!(create.all_scopes);
        let admin = s(&["ORG_ADMIN"]);
        assert!(!allows(create, &s(&["idn:access-profile:manage"]), &admin));
        assert!(allows(create, &s(&["sp:scopes:all"]), &admin));
        let list =
            requirement(Operation::new(Family::V3, OperationId::ListAccessProfiles)).unwrap();
        assert!(allows(list, &s(&["idn:access-profile:read"]), &admin));
        assert!(!allows(list, &s(&["idn:role-unchecked:read"]), &admin));
    }

    #[test]
    fn user_levels_come_from_the_spec() {
        let patch =
            requirement(Operation::new(Family::V3, OperationId::PatchAccessProfile)).unwrap();
        let all = s(&["sp:scopes:all"]);
        assert!(allows(patch, &all, &s(&["SOURCE_ADMIN"])));
        assert!(!allows(patch, &all, &s(&["ROLE_ADMIN"])));
        assert!(!allows(patch, &all, &s(&["USER"])));
    }

    #[test]
    fn source_app_operations_are_experimental_outside_beta() {
        for id in [
            OperationId::ListAvailableSourceApps,
            OperationId::CreateSourceApp,
            OperationId::DeleteAccessProfilesFromSourceAppByBulk,
            OperationId::UpdateSourceAppsInBulk,
        ] {
            assert!(
                requirement(Operation::new(Family::V1, id))
                    .unwrap()
                    .experimental,
                "{id:?}"
            );
            assert!(
                !requirement(Operation::new(Family::Beta, id))
                    .unwrap()
                    .experimental,
                "{id:?}"
            );
        }
        let experimental: Vec<_> = SPECS
            .iter()
            .flat_map(|(f, ops)| ops.iter().map(move |(id, r)| (f, id, r)))
            .filter(|(_, _, r)| r.experimental)
            .collect();
        // The ten /source-apps operations, in v1 and in every year-versioned family.
        for family in Family::ALL {
            let count = experimental
                .iter()
                .filter(|(f, _, _)| **f == family)
                .count();
            let expected = match family {
                Family::V3 | Family::Beta => 0,
                _ => 10,
            };
            assert_eq!(count, expected, "{family:?}: {experimental:?}");
        }
    }

    #[test]
    fn levels_named_only_in_the_description_are_enforced() {
        let all = s(&["sp:scopes:all"]);
        let bulk_roles =
            requirement(Operation::new(Family::Beta, OperationId::DeleteBulkRoles)).unwrap();
        assert_eq!(
            bulk_roles.user_levels.as_deref(),
            Some(&s(&["ORG_ADMIN", "ROLE_ADMIN", "ROLE_SUBADMIN"])[..])
        );
        assert!(!allows(bulk_roles, &all, &s(&["USER"])));
        let members = requirement(Operation::new(
            Family::Beta,
            OperationId::UpdateWorkgroupMembers,
        ))
        .unwrap();
        assert_eq!(members.user_levels.as_deref(), Some(&s(&["ORG_ADMIN"])[..]));
        assert!(!allows(members, &all, &s(&["SOURCE_SUBADMIN", "USER"])));
        assert!(allows(members, &all, &s(&["ORG_ADMIN"])));
        assert_eq!(described_levels("No such sentence."), None);
    }

    #[test]
    fn api_clients_only_where_the_spec_or_seeds_allow() {
        let all = s(&["sp:scopes:all"]);
        let api = s(&["API"]);
        let bulk = requirement(Operation::new(
            Family::V3,
            OperationId::DeleteAccessProfilesInBulk,
        ))
        .unwrap();
        assert!(allows(bulk, &all, &api));
        let sources = requirement(Operation::new(Family::V3, OperationId::ListSources)).unwrap();
        assert!(allows(sources, &all, &api));
        let create =
            requirement(Operation::new(Family::V3, OperationId::CreateAccessProfile)).unwrap();
        assert!(!allows(create, &all, &api));
    }
}
