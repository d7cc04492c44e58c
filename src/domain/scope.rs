//! Sub-admin scoping (CONTRACT §6): a SOURCE_SUBADMIN or ROLE_SUBADMIN acts
//! only on the sources whose governance groups (`managementWorkgroup`) it belongs to,
//! on the access profiles of those sources, and — for roles — on roles whose access
//! profiles all come from those sources. Pure rules; the store finds the sources.

use super::{invalid, DomainResult};

pub const SOURCE_SUBADMIN: &str = "SOURCE_SUBADMIN";
pub const ROLE_SUBADMIN: &str = "ROLE_SUBADMIN";

/// User levels that may not be held together: a sub-admin level is a restricted form
/// of the admin levels it is paired with here, so holding both is contradictory.
const EXCLUSIVE: [(&str, &str); 4] = [
    (SOURCE_SUBADMIN, "SOURCE_ADMIN"),
    (SOURCE_SUBADMIN, "ORG_ADMIN"),
    (ROLE_SUBADMIN, "ROLE_ADMIN"),
    (ROLE_SUBADMIN, "ORG_ADMIN"),
];

/// Refuses a set of user levels that holds two mutually exclusive ones.
pub fn check_user_levels(levels: &[String]) -> DomainResult<()> {
    let has = |l: &str| levels.iter().any(|x| x == l);
    for (a, b) in EXCLUSIVE {
        if has(a) && has(b) {
            return invalid(format!(
                "The user levels {a} and {b} are mutually exclusive; an identity holds at most one of them."
            ));
        }
    }
    Ok(())
}

/// Whether an identity with these user levels is a sub-admin (for `for-subadmin`).
pub fn is_subadmin(levels: &[String], kinds: &[&str]) -> bool {
    levels.iter().any(|l| kinds.contains(&l.as_str()))
}

/// Whether a caller is confined to its sources for an operation open to
/// `op_levels`: it holds one of the listed sub-admin levels and none of the operation's
/// other levels (an ORG_ADMIN, a SOURCE_ADMIN, an API client act on everything).
pub fn is_confined(authorities: &[String], op_levels: Option<&[String]>) -> bool {
    let Some(op_levels) = op_levels else {
        return false;
    };
    let held: Vec<&String> = authorities
        .iter()
        .filter(|a| op_levels.contains(a))
        .collect();
    !held.is_empty()
        && held
            .iter()
            .all(|a| *a == SOURCE_SUBADMIN || *a == ROLE_SUBADMIN)
}

/// What a caller may act on for one operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Everything (not a sub-admin for this operation).
    All,
    /// Only these sources, their profiles, and roles built from those profiles.
    Sources(Vec<String>),
}

impl Scope {
    /// Whether the caller acts on everything (is not confined).
    pub fn is_all(&self) -> bool {
        *self == Scope::All
    }

    pub fn allows(&self, source_id: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Sources(ids) => ids.iter().any(|s| s == source_id),
        }
    }

    /// The narrower of two scopes (a sub-admin asking `for-subadmin` of another).
    pub fn intersect(&self, other: &Scope) -> Scope {
        match (self, other) {
            (Scope::All, s) | (s, Scope::All) => s.clone(),
            (Scope::Sources(a), Scope::Sources(b)) => {
                Scope::Sources(a.iter().filter(|s| b.contains(s)).cloned().collect())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn exclusive_levels_are_refused() {
        check_user_levels(&s(&["SOURCE_SUBADMIN", "ROLE_SUBADMIN", "USER"])).unwrap();
        check_user_levels(&s(&["ORG_ADMIN", "SOURCE_ADMIN"])).unwrap();
        for bad in [
            &["SOURCE_SUBADMIN", "SOURCE_ADMIN"][..],
            &["ORG_ADMIN", "ROLE_SUBADMIN"],
            &["ROLE_ADMIN", "ROLE_SUBADMIN"],
        ] {
            let err = check_user_levels(&s(bad)).unwrap_err().to_string();
            assert!(err.contains("mutually exclusive"), "{bad:?}: {err}");
        }
    }

    #[test]
    fn only_a_caller_holding_nothing_but_subadmin_levels_of_the_operation_is_confined() {
        let levels = s(&["ORG_ADMIN", "SOURCE_ADMIN", "SOURCE_SUBADMIN"]);
        assert!(is_confined(&s(&["SOURCE_SUBADMIN", "USER"]), Some(&levels)));
        assert!(!is_confined(&s(&["SOURCE_ADMIN", "USER"]), Some(&levels)));
        assert!(!is_confined(&s(&["API"]), Some(&levels)));
        assert!(!is_confined(&s(&["SOURCE_SUBADMIN"]), None));
        let roles = s(&["ORG_ADMIN", "ROLE_ADMIN", "ROLE_SUBADMIN"]);
        assert!(is_confined(
            &s(&["ROLE_SUBADMIN", "SOURCE_SUBADMIN"]),
            Some(&roles)
        ));
        assert!(!is_confined(&s(&["SOURCE_SUBADMIN"]), Some(&roles)));
    }

    #[test]
    fn scopes_allow_their_sources_and_intersect() {
        let a = Scope::Sources(s(&["s1", "s2"]));
        assert!(a.allows("s1") && !a.allows("s3") && Scope::All.allows("s3"));
        assert_eq!(a.intersect(&Scope::All), a);
        assert_eq!(
            a.intersect(&Scope::Sources(s(&["s2", "s3"]))),
            Scope::Sources(s(&["s2"]))
        );
    }
}
