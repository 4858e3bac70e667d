//! IAM principals: what a function acts on.

use std::fmt;

use serde::Serialize;

/// The kinds of IAM principal the functions act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PrincipalKind {
    User,
    Group,
    Role,
    /// The account itself (the password policy).
    Account,
}

impl PrincipalKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Group => "group",
            Self::Role => "role",
            Self::Account => "account",
        }
    }

    /// The AWS Config resource type of this kind.
    pub fn config_resource_type(self) -> &'static str {
        match self {
            Self::User => "AWS::IAM::User",
            Self::Group => "AWS::IAM::Group",
            Self::Role => "AWS::IAM::Role",
            Self::Account => "AWS::::Account",
        }
    }

    /// The kind behind an AWS Config resource type.
    pub fn from_config_resource_type(resource_type: &str) -> Option<Self> {
        match resource_type {
            "AWS::IAM::User" => Some(Self::User),
            "AWS::IAM::Group" => Some(Self::Group),
            "AWS::IAM::Role" => Some(Self::Role),
            "AWS::::Account" => Some(Self::Account),
            _ => None,
        }
    }
}

impl fmt::Display for PrincipalKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One principal, by name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Principal {
    pub kind: PrincipalKind,
    pub name: String,
}

impl Principal {
    pub fn user(name: impl Into<String>) -> Self {
        Self {
            kind: PrincipalKind::User,
            name: name.into(),
        }
    }

    pub fn group(name: impl Into<String>) -> Self {
        Self {
            kind: PrincipalKind::Group,
            name: name.into(),
        }
    }

    pub fn role(name: impl Into<String>) -> Self {
        Self {
            kind: PrincipalKind::Role,
            name: name.into(),
        }
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, self.name)
    }
}

/// True when `name` can be an IAM user, group or role name (1 to 128 characters of
/// letters, digits and `+=,.@_-`). Checked at intake so that a malformed name is a clear error
/// rather than an AWS validation error half-way through a run.
pub fn is_valid_name(name: &str) -> bool {
    (1..=128).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
}

/// True when `id` looks like an IAM access key ID (`AKIA…`/`ASIA…`, 16 to 128 characters).
pub fn is_valid_access_key_id(id: &str) -> bool {
    (16..=128).contains(&id.len())
        && id.starts_with('A')
        && id
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_iam_rules() {
        assert!(is_valid_name("alice"));
        assert!(is_valid_name("svc+ci=1,a.b@c_d-e"));
        assert!(!is_valid_name(""));
        assert!(!is_valid_name("has space"));
        assert!(!is_valid_name("path/alice"));
        assert!(!is_valid_name(&"a".repeat(129)));
    }

    #[test]
    fn access_key_ids_are_checked() {
        assert!(is_valid_access_key_id("AKIAIOSFODNN7EXAMPLE"));
        assert!(!is_valid_access_key_id("akiaiosfodnn7example"));
        assert!(!is_valid_access_key_id("AKIA"));
        assert!(!is_valid_access_key_id("AKIA IOSFODNN7EXAMPLE"));
    }

    #[test]
    fn config_resource_types_round_trip() {
        for kind in [
            PrincipalKind::User,
            PrincipalKind::Group,
            PrincipalKind::Role,
            PrincipalKind::Account,
        ] {
            assert_eq!(
                PrincipalKind::from_config_resource_type(kind.config_resource_type()),
                Some(kind)
            );
        }
        assert_eq!(
            PrincipalKind::from_config_resource_type("AWS::S3::Bucket"),
            None
        );
    }
}
