//! What the functions act on: IAM principals (users, groups, roles) and the account itself, and
//! the one ARN parser they all use.

use std::fmt;

use serde::Serialize;

/// The kinds of IAM principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PrincipalKind {
    User,
    Group,
    Role,
}

impl PrincipalKind {
    pub const ALL: [Self; 3] = [Self::User, Self::Group, Self::Role];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Group => "group",
            Self::Role => "role",
        }
    }

    /// The plural, as in a manual payload's field (`users`) and in settings.
    pub fn plural(self) -> &'static str {
        match self {
            Self::User => "users",
            Self::Group => "groups",
            Self::Role => "roles",
        }
    }

    /// The AWS Config (and CloudFormation) resource type of this kind.
    pub fn resource_type(self) -> &'static str {
        match self {
            Self::User => "AWS::IAM::User",
            Self::Group => "AWS::IAM::Group",
            Self::Role => "AWS::IAM::Role",
        }
    }

    /// The kind behind an AWS Config resource type.
    pub fn from_resource_type(resource_type: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.resource_type() == resource_type)
    }
}

impl fmt::Display for PrincipalKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Calls the user, group or role form of an IAM operation for `principal`. The three forms take
/// the same arguments under a name of their own kind (`user_name`, `group_name`, `role_name`),
/// and answer with the same fields; `$then` is written once, with the request (the principal's
/// name set) and the operation's name (for errors, spelled from the method's:
/// `attach_user_policy` is `AttachUserPolicy`, see [`OperationName`]) bound to the two names
/// given.
///
/// ```text
/// by_kind!(principal, iam, [attach_user_policy, attach_group_policy, attach_role_policy],
///     |request, operation| call(operation, request.policy_arn(arn).send()).await)
/// ```
///
/// With two methods, `[user_method, role_method]`, it is for what IAM groups do not have (tags):
/// the result is `Some` for a user or role, and `None` for a group, which is not called.
#[macro_export]
macro_rules! by_kind {
    (
        $principal:expr, $iam:expr, [$user:ident, $group:ident, $role:ident],
        |$request:ident, $operation:ident| $then:expr
    ) => {{
        let principal: &$crate::Principal = $principal;
        match principal.kind {
            $crate::PrincipalKind::User => $crate::by_kind!(
                @one $iam.$user().user_name(&principal.name), $user, |$request, $operation| $then
            ),
            $crate::PrincipalKind::Group => $crate::by_kind!(
                @one $iam.$group().group_name(&principal.name), $group, |$request, $operation| $then
            ),
            $crate::PrincipalKind::Role => $crate::by_kind!(
                @one $iam.$role().role_name(&principal.name), $role, |$request, $operation| $then
            ),
        }
    }};
    (
        $principal:expr, $iam:expr, [$user:ident, $role:ident],
        |$request:ident, $operation:ident| $then:expr
    ) => {{
        let principal: &$crate::Principal = $principal;
        match principal.kind {
            $crate::PrincipalKind::User => Some($crate::by_kind!(
                @one $iam.$user().user_name(&principal.name), $user, |$request, $operation| $then
            )),
            $crate::PrincipalKind::Role => Some($crate::by_kind!(
                @one $iam.$role().role_name(&principal.name), $role, |$request, $operation| $then
            )),
            $crate::PrincipalKind::Group => None,
        }
    }};
    (@one $built:expr, $method:ident, |$request:ident, $operation:ident| $then:expr) => {{
        static OPERATION: $crate::principal::OperationName =
            $crate::principal::OperationName::of_method(stringify!($method));
        let ($request, $operation) = ($built, OPERATION.as_str());
        $then
    }};
}

/// An AWS operation's name spelled from its SDK method's, at compile time: `list_user_policies`
/// is `ListUserPolicies`. Held in a `static`, it names the operation in [`Error::Aws`] for as
/// long as the program runs, as a literal would. Only for names without an acronym: the SDK's
/// `list_mfa_devices` is IAM's `ListMFADevices`, not `ListMfaDevices`.
///
/// [`Error::Aws`]: crate::Error::Aws
#[derive(Debug)]
pub struct OperationName {
    bytes: [u8; Self::MAX],
    len: usize,
}

impl OperationName {
    /// Room for the longest name (of the methods [`by_kind!`] calls, the longest,
    /// `list_attached_group_policies`, has 28 characters).
    pub const MAX: usize = 64;

    /// The name of the operation behind a snake_case method: each word capitalised, the
    /// underscores dropped. Evaluated for a `static`, as in [`by_kind!`], a method longer than
    /// [`Self::MAX`] stops the build.
    pub const fn of_method(method: &str) -> Self {
        let method = method.as_bytes();
        let mut bytes = [0; Self::MAX];
        let (mut from, mut len, mut word_start) = (0, 0, true);
        while from < method.len() {
            let byte = method[from];
            if byte == b'_' {
                word_start = true;
            } else {
                assert!(len < Self::MAX, "a method name too long for an operation");
                bytes[len] = if word_start {
                    byte.to_ascii_uppercase()
                } else {
                    byte
                };
                len += 1;
                word_start = false;
            }
            from += 1;
        }
        Self { bytes, len }
    }

    pub const fn as_str(&self) -> &str {
        match std::str::from_utf8(self.bytes.split_at(self.len).0) {
            Ok(name) => name,
            Err(_) => panic!("a method name is ASCII"),
        }
    }
}

/// One IAM principal, by name.
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

    /// True when both name the same principal. IAM names are unique regardless of case ("you
    /// cannot create resources named both MyResource and myresource", IAM User Guide, IAM
    /// identifiers), so `Alice` and `alice` are one user.
    pub fn is(&self, other: &Self) -> bool {
        self.kind == other.kind && self.name.eq_ignore_ascii_case(&other.name)
    }
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, self.name)
    }
}

/// What an action is about: a principal, or the account itself (its password policy, its root
/// user).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Subject {
    Principal(Principal),
    /// The account: the password policy.
    Account,
    /// The account's root user, which no IAM call inside the account can change.
    RootUser,
}

impl Subject {
    /// The report's `principal_type`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Principal(principal) => principal.kind.as_str(),
            Self::Account | Self::RootUser => "account",
        }
    }

    /// The report's `principal`.
    pub fn name(&self) -> &str {
        match self {
            Self::Principal(principal) => &principal.name,
            Self::Account => "account",
            Self::RootUser => "root",
        }
    }

    pub fn principal(&self) -> Option<&Principal> {
        match self {
            Self::Principal(principal) => Some(principal),
            Self::Account | Self::RootUser => None,
        }
    }

    /// True when what is about `other` is about this subject too: the account takes in its
    /// root user (a Security Hub finding about the account covers the root user's keys).
    pub fn includes(&self, other: &Self) -> bool {
        self == other || (*self == Self::Account && *other == Self::RootUser)
    }
}

impl From<Principal> for Subject {
    fn from(principal: Principal) -> Self {
        Self::Principal(principal)
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Principal(principal) => principal.fmt(f),
            Self::Account => f.write_str("the account"),
            Self::RootUser => f.write_str("the root user"),
        }
    }
}

/// An ARN's parts (`arn:partition:service:region:account:resource`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arn<'a> {
    pub partition: &'a str,
    pub service: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub resource: &'a str,
}

impl<'a> Arn<'a> {
    /// Splits an ARN; `None` when it is not one.
    pub fn parse(arn: &'a str) -> Option<Self> {
        let mut parts = arn.splitn(6, ':');
        let (
            Some("arn"),
            Some(partition),
            Some(service),
            Some(region),
            Some(account),
            Some(resource),
        ) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        )
        else {
            return None;
        };
        (!partition.is_empty() && !service.is_empty() && !resource.is_empty()).then_some(Self {
            partition,
            service,
            region,
            account,
            resource,
        })
    }

    /// The IAM principal an ARN names: a user or role (`iam`), or the role of an assumed-role
    /// session (`sts`). The path, if any, is not part of the name. `None` for anything else (the
    /// root user, federated sessions, other resources).
    pub fn principal(&self) -> Option<Principal> {
        let (kind, rest) = self.resource.split_once('/')?;
        let last = || rest.rsplit('/').next().filter(|name| !name.is_empty());
        match (self.service, kind) {
            // STS names a user caller `arn:aws:sts::…:user/…` in some implementations (moto).
            ("iam" | "sts", "user") => last().map(Principal::user),
            ("iam", "role") => last().map(Principal::role),
            ("iam", "group") => last().map(Principal::group),
            ("sts", "assumed-role") => rest
                .split('/')
                .next()
                .filter(|name| !name.is_empty())
                .map(Principal::role),
            _ => None,
        }
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
    fn operations_are_named_from_their_methods() {
        static AT_COMPILE_TIME: OperationName = OperationName::of_method("delete_role_policy");
        assert_eq!(AT_COMPILE_TIME.as_str(), "DeleteRolePolicy");
        for (method, operation) in [
            ("get_user", "GetUser"),
            ("list_attached_group_policies", "ListAttachedGroupPolicies"),
            ("untag_role", "UntagRole"),
            ("x", "X"),
            ("", ""),
        ] {
            assert_eq!(OperationName::of_method(method).as_str(), operation);
        }
    }

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
    fn resource_types_round_trip() {
        for kind in PrincipalKind::ALL {
            assert_eq!(
                PrincipalKind::from_resource_type(kind.resource_type()),
                Some(kind)
            );
        }
        assert_eq!(PrincipalKind::from_resource_type("AWS::S3::Bucket"), None);
        assert_eq!(PrincipalKind::from_resource_type("AWS::::Account"), None);
    }

    #[test]
    fn arns_name_principals() {
        for (arn, principal) in [
            (
                "arn:aws:iam::123456789012:user/ops/alice",
                Some(Principal::user("alice")),
            ),
            (
                "arn:aws-us-gov:iam::123456789012:role/service/ci",
                Some(Principal::role("ci")),
            ),
            (
                "arn:aws:sts::123456789012:assumed-role/access-keys-role/session-1",
                Some(Principal::role("access-keys-role")),
            ),
            (
                "arn:aws:sts::123456789012:user/moto",
                Some(Principal::user("moto")),
            ),
            ("arn:aws:iam::123456789012:root", None),
            ("arn:aws:iam::123456789012:user/", None),
            ("arn:aws:s3:::bucket/user/x", None),
            ("garbage", None),
        ] {
            assert_eq!(
                Arn::parse(arn).and_then(|arn| arn.principal()),
                principal,
                "{arn}"
            );
        }
        let arn = Arn::parse("arn:aws-cn:iam::123456789012:policy/p").unwrap();
        assert_eq!((arn.partition, arn.account), ("aws-cn", "123456789012"));
    }

    #[test]
    fn names_are_one_principal_regardless_of_case() {
        assert!(Principal::user("Alice").is(&Principal::user("alice")));
        assert!(!Principal::user("alice").is(&Principal::role("alice")));
        assert_eq!(Subject::Account.name(), "account");
        assert!(Subject::Account.includes(&Subject::RootUser));
        assert!(!Subject::RootUser.includes(&Subject::Account));
        assert!(!Subject::Account.includes(&Principal::user("a").into()));
        assert_eq!(Subject::from(Principal::group("g")).kind(), "group");
    }
}
