//! The names and descriptions every resource carries, validated once: one rule, one
//! message and one length limit for all of them ("The maximum supported length for
//! the description field is 2000 characters"; names follow the access profile's 128).

use super::{invalid, DomainResult};

/// A name: present, not blank, at most [`Name::MAX_LEN`] characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Name(String);

impl Name {
    pub const MAX_LEN: usize = 128;

    /// The name of field `field` (e.g. `name`), as sent.
    pub fn parse(value: Option<String>, field: &str) -> DomainResult<Name> {
        match value {
            Some(v) if !v.trim().is_empty() => {
                if v.chars().count() > Self::MAX_LEN {
                    return invalid(format!(
                        "{field} must be at most {} characters.",
                        Self::MAX_LEN
                    ));
                }
                Ok(Name(v))
            }
            _ => invalid(format!("{field} is required and can't be empty.")),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl std::ops::Deref for Name {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl PartialEq<&str> for Name {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<String> for Name {
    fn eq(&self, other: &String) -> bool {
        &self.0 == other
    }
}

impl std::fmt::Display for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A description: at most [`Description::MAX_LEN`] characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Description(String);

impl Description {
    pub const MAX_LEN: usize = 2000;

    /// An optional description (absent or `null` stays absent).
    pub fn parse_optional(value: Option<String>) -> DomainResult<Option<Description>> {
        value.map(Self::checked).transpose()
    }

    /// A description the resource requires (source apps): present and not blank.
    pub fn parse_required(value: Option<String>) -> DomainResult<Description> {
        match value {
            Some(v) if !v.trim().is_empty() => Self::checked(v),
            _ => invalid("description is required and can't be empty."),
        }
    }

    fn checked(value: String) -> DomainResult<Description> {
        if value.chars().count() > Self::MAX_LEN {
            return invalid(format!(
                "description must be at most {} characters.",
                Self::MAX_LEN
            ));
        }
        Ok(Description(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl std::ops::Deref for Description {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::DomainError;

    fn message<T: std::fmt::Debug>(r: DomainResult<T>) -> String {
        match r {
            Err(DomainError::Invalid(m)) => m,
            other => panic!("expected a 400, got {other:?}"),
        }
    }

    #[test]
    fn a_name_is_required_not_blank_and_at_most_128_characters() {
        assert_eq!(
            message(Name::parse(None, "name")),
            "name is required and can't be empty."
        );
        assert_eq!(
            message(Name::parse(Some(" \t".into()), "name")),
            "name is required and can't be empty."
        );
        assert_eq!(
            message(Name::parse(Some("é".repeat(129)), "name")),
            "name must be at most 128 characters."
        );
        let ok = Name::parse(Some("é".repeat(128)), "name").unwrap();
        assert_eq!(ok.as_str().chars().count(), 128);
    }

    #[test]
    fn a_description_is_at_most_2000_characters_and_optional_unless_required() {
        assert_eq!(Description::parse_optional(None).unwrap(), None);
        assert_eq!(
            message(Description::parse_optional(Some("x".repeat(2001)))),
            "description must be at most 2000 characters."
        );
        assert!(Description::parse_optional(Some("x".repeat(2000))).is_ok());
        assert_eq!(
            message(Description::parse_required(Some(" ".into()))),
            "description is required and can't be empty."
        );
    }
}
