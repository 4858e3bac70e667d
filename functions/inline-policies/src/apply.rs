//! Changes to inline policies: converting one into a customer managed policy, or deleting it.
//!
//! A conversion never loses a permission: the managed policy is created with the same document
//! (or an identical one reused) and attached before the inline policy is deleted; if creating or
//! attaching fails, the inline policy stays, and a managed policy created for nothing is removed.
//! Both changes re-read the inline policy first and act only if its document is still the one
//! planned (and recorded in the report).

use std::time::Duration;

use aws_sdk_iam::Client;
use iam_remediation::principal::Arn;
use iam_remediation::{Error, Outcome, Principal, PrincipalKind, Result, by_kind, call, change};
use serde_json::Value;

use crate::facts;

/// The path of the managed policies this system creates.
pub const MANAGED_POLICY_PATH: &str = "/iam-remediation/";

/// IAM's limit on a managed policy's name.
pub const MAX_MANAGED_POLICY_NAME: usize = 128;

/// IAM's limit on a managed policy document, in characters not counting whitespace.
pub const MAX_MANAGED_POLICY_SIZE: usize = 6144;

/// Length of the hash suffix of a shortened name (16 hex digits: 64 bits).
const HASH_DIGITS: usize = 16;

/// The managed policy name for a principal's inline policy.
///
/// `<kind>+<principal>+<policy>` (`user+alice+s3-read`) when that fits in 128 characters and
/// the principal name has no `+`; otherwise `<kind>+<principal>_<policy>`, with `+` replaced by
/// `_` and cut to fit, then `-` and 16 hex digits of a stable hash of the exact triple. The two
/// forms cannot collide (the first has two `+` or more, the second exactly one), the first is
/// unambiguous (the second `+` ends the principal name), and the second differs for different
/// triples unless their 64-bit hashes collide. The name stays the same from run to run, which
/// is what lets a re-run find the policy it made.
pub fn managed_policy_name(principal: &Principal, policy_name: &str) -> String {
    let kind = principal.kind.as_str();
    let plain = format!("{kind}+{}+{policy_name}", principal.name);
    if !principal.name.contains('+') && plain.len() <= MAX_MANAGED_POLICY_NAME {
        return plain;
    }
    let hash = fnv1a_64(&[kind, &principal.name, policy_name]);
    let room = MAX_MANAGED_POLICY_NAME - kind.len() - 2 - HASH_DIGITS;
    let stem: String = format!("{}_{policy_name}", principal.name)
        .chars()
        .map(|c| if c == '+' { '_' } else { c })
        .take(room)
        .collect();
    format!("{kind}+{stem}-{hash:016x}")
}

/// FNV-1a (64 bits) of the parts, each followed by 0xFF (a byte UTF-8 never contains), so the
/// parts' boundaries are part of what is hashed. Stable across builds and platforms, unlike the
/// standard library's hasher.
fn fnv1a_64(parts: &[&str]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut hash = OFFSET;
    for part in parts {
        for byte in part.bytes().chain(std::iter::once(0xFF)) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(PRIME);
        }
    }
    hash
}

/// The ARN the managed policy `name` gets in the account (and partition) of `principal_arn`.
pub fn managed_policy_arn(principal_arn: &str, name: &str) -> Option<String> {
    let arn =
        Arn::parse(principal_arn).filter(|arn| arn.service == "iam" && !arn.account.is_empty())?;
    Some(format!(
        "arn:{}:iam::{}:policy{MANAGED_POLICY_PATH}{name}",
        arn.partition, arn.account
    ))
}

/// A document's size as IAM counts it against [`MAX_MANAGED_POLICY_SIZE`].
pub fn policy_size(text: &str) -> usize {
    text.chars().filter(|c| !c.is_whitespace()).count()
}

/// Everything needed to convert one inline policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Conversion {
    pub policy_name: String,
    /// The inline document's text: the managed policy is created from it.
    pub text: String,
    /// The inline document as planned: the live one must still be this.
    pub document: Value,
    pub managed_name: String,
    pub managed_arn: String,
}

/// Converts one inline policy: create (or reuse an identical) managed policy, attach it, then
/// delete the inline policy.
pub async fn convert(
    iam: &Client,
    principal: &Principal,
    conversion: &Conversion,
) -> Result<Outcome> {
    if let Some(skip) = recheck(
        iam,
        principal,
        &conversion.policy_name,
        &conversion.document,
    )
    .await?
    {
        return Ok(skip);
    }
    let created = match create_or_reuse(iam, principal, conversion).await? {
        Managed::Created => true,
        Managed::Reused => false,
        Managed::Conflict(why) => return Ok(Outcome::Skipped(why)),
    };
    // Attached every time, even when a previous run already did: attaching is idempotent, and
    // only a live attachment makes it safe to delete the inline policy.
    if let Err(error) = attach_consistently(iam, principal, &conversion.managed_arn, created).await
    {
        let cleanup = if created {
            delete_managed(iam, &conversion.managed_arn).await.err()
        } else {
            None
        };
        return match (error.aws_code(), cleanup) {
            (Some("LimitExceeded"), None) => Ok(Outcome::Skipped(format!(
                "{principal} is at its quota of attached managed policies: the inline policy \
                 is kept ({error})"
            ))),
            (_, None) => Err(error),
            (_, Some(cleanup)) => Err(Error::Aws {
                operation: attach_operation(principal.kind),
                code: error.aws_code().unwrap_or("Unknown").to_owned(),
                message: format!(
                    "{error}; the inline policy is kept, and the unattached managed policy {} \
                     could not be removed ({cleanup})",
                    conversion.managed_arn
                ),
            }),
        };
    }
    match delete_inline(iam, principal, &conversion.policy_name).await {
        Ok(()) => Ok(Outcome::Applied),
        // Deleted by someone else meanwhile: the attached managed policy holds its permissions.
        Err(error) if error.is_no_such_entity() => Ok(Outcome::Applied),
        Err(error) => Err(Error::Aws {
            operation: delete_operation(principal.kind),
            code: error.aws_code().unwrap_or("Unknown").to_owned(),
            message: format!(
                "{error}; managed policy {} is attached, and the next run deletes the inline \
                 policy",
                conversion.managed_arn
            ),
        }),
    }
}

/// Deletes one inline policy whose document (the undo record) is in the report and the log.
pub async fn delete(
    iam: &Client,
    principal: &Principal,
    policy_name: &str,
    document: &Value,
) -> Result<Outcome> {
    if let Some(skip) = recheck(iam, principal, policy_name, document).await? {
        return Ok(skip);
    }
    tracing::info!(
        principal = %principal,
        policy = policy_name,
        document = %document,
        "deleting inline policy; its document is the undo record"
    );
    match delete_inline(iam, principal, policy_name).await {
        Ok(()) => Ok(Outcome::Applied),
        Err(error) if error.is_no_such_entity() => Ok(gone(policy_name)),
        Err(error) => Err(error),
    }
}

fn gone(policy_name: &str) -> Outcome {
    Outcome::Skipped(format!(
        "inline policy {policy_name} no longer exists: nothing to do"
    ))
}

/// Re-reads the inline policy: `Some(skip)` when it is gone or its document changed.
async fn recheck(
    iam: &Client,
    principal: &Principal,
    policy_name: &str,
    planned: &Value,
) -> Result<Option<Outcome>> {
    match facts::inline_policy(iam, principal, policy_name).await {
        Ok(live) if live.document.as_ref().ok() == Some(planned) => Ok(None),
        Ok(_) => Ok(Some(Outcome::Skipped(format!(
            "inline policy {policy_name} changed since it was read; the next run handles the new \
             document"
        )))),
        Err(error) if error.is_no_such_entity() => Ok(Some(gone(policy_name))),
        Err(error) => Err(error),
    }
}

enum Managed {
    Created,
    /// A managed policy with that name and the same document already exists (a re-run).
    Reused,
    /// A managed policy with that name exists and cannot be used: why.
    Conflict(String),
}

async fn create_or_reuse(
    iam: &Client,
    principal: &Principal,
    conversion: &Conversion,
) -> Result<Managed> {
    let description = format!(
        "Converted by iam-remediation from inline policy {} of {principal}",
        conversion.policy_name
    );
    let request = iam
        .create_policy()
        .policy_name(&conversion.managed_name)
        .path(MANAGED_POLICY_PATH)
        .policy_document(&conversion.text)
        .description(description);
    let Err(error) = call("CreatePolicy", request.send()).await else {
        return Ok(Managed::Created);
    };
    if error.aws_code() != Some("EntityAlreadyExists") {
        return Err(error);
    }
    let name = &conversion.managed_name;
    match facts::managed_policy_document(iam, &conversion.managed_arn).await {
        Ok(Some(existing)) if existing == conversion.document => Ok(Managed::Reused),
        Ok(_) => Ok(Managed::Conflict(format!(
            "managed policy {name} already exists with a different document: it is not \
             overwritten, and the inline policy is kept"
        ))),
        // Names are unique in the account whatever the path: it lives elsewhere.
        Err(lookup) if lookup.is_no_such_entity() => Ok(Managed::Conflict(format!(
            "a managed policy named {name} exists outside {MANAGED_POLICY_PATH}: the inline \
             policy is kept"
        ))),
        Err(lookup) => Err(lookup),
    }
}

fn attach_operation(kind: PrincipalKind) -> &'static str {
    match kind {
        PrincipalKind::Group => "AttachGroupPolicy",
        PrincipalKind::Role => "AttachRolePolicy",
        PrincipalKind::User => "AttachUserPolicy",
    }
}

fn delete_operation(kind: PrincipalKind) -> &'static str {
    match kind {
        PrincipalKind::Group => "DeleteGroupPolicy",
        PrincipalKind::Role => "DeleteRolePolicy",
        PrincipalKind::User => "DeleteUserPolicy",
    }
}

/// How often, and after what first pause, an attachment that IAM does not see yet is tried
/// again: about three seconds in all, doubling each time.
const CONSISTENCY_ATTEMPTS: u32 = 5;
const CONSISTENCY_PAUSE: Duration = Duration::from_millis(200);

/// Attaches the managed policy. IAM is eventually consistent: "changes that you make ... might
/// not be immediately visible" (IAM User Guide, troubleshooting, "Changes that I make are not
/// always immediately visible"), so a policy created a moment ago can answer `NoSuchEntity`.
/// For a policy this run just created, that answer is retried with backoff; if it persists it is
/// an error, never "already gone".
async fn attach_consistently(
    iam: &Client,
    principal: &Principal,
    arn: &str,
    just_created: bool,
) -> Result<()> {
    let mut pause = CONSISTENCY_PAUSE;
    let mut attempt = 1;
    loop {
        let attached = by_kind!(
            principal,
            iam,
            [attach_user_policy, attach_group_policy, attach_role_policy],
            |request, operation| change(operation, request.policy_arn(arn).send()).await
        );
        match attached {
            Err(error)
                if just_created && error.is_no_such_entity() && attempt < CONSISTENCY_ATTEMPTS =>
            {
                tracing::info!(%principal, policy = arn, attempt, "not visible yet: attaching again");
                tokio::time::sleep(pause).await;
                pause *= 2;
                attempt += 1;
            }
            result => return result,
        }
    }
}

async fn delete_inline(iam: &Client, principal: &Principal, policy_name: &str) -> Result<()> {
    by_kind!(
        principal,
        iam,
        [delete_user_policy, delete_group_policy, delete_role_policy],
        |request, operation| change(operation, request.policy_name(policy_name).send()).await
    )
}

async fn delete_managed(iam: &Client, arn: &str) -> Result<()> {
    change("DeletePolicy", iam.delete_policy().policy_arn(arn).send()).await
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a test fails loudly")]
mod tests {
    use super::*;
    use std::collections::HashSet;

    use aws_sdk_iam::operation::attach_user_policy::AttachUserPolicyOutput;
    use aws_sdk_iam::operation::create_policy::CreatePolicyOutput;
    use aws_sdk_iam::operation::delete_policy::DeletePolicyOutput;
    use aws_sdk_iam::operation::delete_user_policy::DeleteUserPolicyOutput;
    use aws_sdk_iam::operation::get_policy::GetPolicyOutput;
    use aws_sdk_iam::operation::get_policy_version::GetPolicyVersionOutput;
    use aws_sdk_iam::operation::get_user_policy::GetUserPolicyOutput;
    use aws_sdk_iam::types::{Policy, PolicyVersion};
    use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
    use iam_remediation::testing::iam_error;
    use serde_json::json;

    fn is_valid_policy_name(name: &str) -> bool {
        (1..=MAX_MANAGED_POLICY_NAME).contains(&name.len())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
    }

    #[test]
    fn short_names_are_readable() {
        assert_eq!(
            managed_policy_name(&Principal::user("alice"), "s3-read"),
            "user+alice+s3-read"
        );
        assert_eq!(
            managed_policy_name(&Principal::group("admins"), "all"),
            "group+admins+all"
        );
        assert_eq!(
            managed_policy_name(&Principal::role("ci"), "deploy+x"),
            "role+ci+deploy+x"
        );
    }

    #[test]
    fn long_names_are_cut_and_hashed_within_the_limit() {
        let group = "g".repeat(128);
        let policy = "p".repeat(128);
        let name = managed_policy_name(&Principal::group(&group), &policy);
        assert_eq!(name.len(), MAX_MANAGED_POLICY_NAME);
        assert!(name.starts_with("group+ggg"), "{name}");
        assert!(is_valid_policy_name(&name), "{name}");
        // Stable from run to run (a fixed value: the re-run finds the policy by this name).
        assert_eq!(
            name,
            managed_policy_name(&Principal::group(&group), &policy)
        );
        assert_eq!(
            managed_policy_name(&Principal::user("a+b"), "p"),
            format!("user+a_b_p-{:016x}", fnv1a_64(&["user", "a+b", "p"]))
        );
        assert_eq!(fnv1a_64(&[]), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a_64(&["a"]), fnv1a_64(&["a"]));
    }

    #[test]
    fn names_never_collide_between_principals() {
        let long = "x".repeat(100);
        let longer = format!("{long}y");
        let cases: Vec<(Principal, String)> = vec![
            // The same policy name on different kinds and principals.
            (Principal::user("alice"), "p".into()),
            (Principal::group("alice"), "p".into()),
            (Principal::role("alice"), "p".into()),
            (Principal::user("bob"), "p".into()),
            // Separator look-alikes: the boundary between principal and policy moves.
            (Principal::user("a"), "b+c".into()),
            (Principal::user("a+b"), "c".into()),
            (Principal::user("a_b"), "c".into()),
            (Principal::user("a"), "b_c".into()),
            (Principal::user("a-b"), "c".into()),
            (Principal::user("a"), "b-c".into()),
            // Long names that share their first 110 characters.
            (Principal::user(&long), format!("{long}1")),
            (Principal::user(&long), format!("{long}2")),
            (Principal::user(&longer), long.clone()),
            (Principal::group(&long), format!("{long}1")),
            (Principal::role("r".repeat(64)), "q".repeat(128)),
            (
                Principal::role("r".repeat(64)),
                format!("{}z", "q".repeat(127)),
            ),
        ];
        let mut names = HashSet::new();
        for (principal, policy) in &cases {
            let name = managed_policy_name(principal, policy);
            assert!(is_valid_policy_name(&name), "{principal} {policy}: {name}");
            assert!(
                names.insert(name.clone()),
                "collision: {principal} {policy}: {name}"
            );
        }
        // Every length from 1 to 128 on both sides stays within the limit.
        for principal_len in [1, 63, 64, 100, 128] {
            for policy_len in [1, 50, 64, 127, 128] {
                let name = managed_policy_name(
                    &Principal::role("r".repeat(principal_len)),
                    &"p".repeat(policy_len),
                );
                assert!(
                    is_valid_policy_name(&name),
                    "{principal_len}/{policy_len}: {name}"
                );
            }
        }
    }

    #[test]
    fn arns_follow_the_principal_account_and_partition() {
        assert_eq!(
            managed_policy_arn("arn:aws:iam::123456789012:user/ops/alice", "user+alice+p")
                .as_deref(),
            Some("arn:aws:iam::123456789012:policy/iam-remediation/user+alice+p")
        );
        assert_eq!(
            managed_policy_arn("arn:aws-cn:iam::123456789012:role/r", "n").as_deref(),
            Some("arn:aws-cn:iam::123456789012:policy/iam-remediation/n")
        );
        assert_eq!(managed_policy_arn("garbage", "n"), None);
        assert_eq!(managed_policy_arn("arn:aws:s3:::bucket", "n"), None);
    }

    #[test]
    fn size_ignores_whitespace() {
        assert_eq!(policy_size("{ \"a\" :\n\t1 }"), 7);
    }

    fn document() -> Value {
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]})
    }

    fn conversion() -> Conversion {
        Conversion {
            policy_name: "s3".into(),
            text: document().to_string(),
            document: document(),
            managed_name: "user+alice+s3".into(),
            managed_arn: "arn:aws:iam::123456789012:policy/iam-remediation/user+alice+s3".into(),
        }
    }

    /// `GetUserPolicy` answering with alice's inline policy `s3` holding `document`.
    fn live(document: &Value) -> Rule {
        let encoded = document
            .to_string()
            .replace('{', "%7B")
            .replace('}', "%7D")
            .replace('"', "%22");
        mock!(Client::get_user_policy).then_output(move || {
            GetUserPolicyOutput::builder()
                .user_name("alice")
                .policy_name("s3")
                .policy_document(&encoded)
                .build()
                .unwrap()
        })
    }

    /// `CreatePolicy` done.
    fn created() -> Rule {
        mock!(Client::create_policy).then_output(|| CreatePolicyOutput::builder().build())
    }

    /// `CreatePolicy` refused: the name is taken.
    fn name_taken() -> Rule {
        mock!(Client::create_policy).then_http_response(|| iam_error(409, "EntityAlreadyExists"))
    }

    /// `AttachUserPolicy` done.
    fn attached() -> Rule {
        mock!(Client::attach_user_policy).then_output(|| AttachUserPolicyOutput::builder().build())
    }

    /// `DeleteUserPolicy` done.
    fn deleted() -> Rule {
        mock!(Client::delete_user_policy).then_output(|| DeleteUserPolicyOutput::builder().build())
    }

    /// `GetPolicy` and `GetPolicyVersion` answering with a managed policy holding `document`.
    fn existing(document: &Value) -> (Rule, Rule) {
        let text = document.to_string();
        (
            mock!(Client::get_policy).then_output(|| {
                GetPolicyOutput::builder()
                    .policy(Policy::builder().default_version_id("v3").build())
                    .build()
            }),
            mock!(Client::get_policy_version)
                .match_requests(|r| r.version_id() == Some("v3"))
                .then_output(move || {
                    GetPolicyVersionOutput::builder()
                        .policy_version(PolicyVersion::builder().document(text.clone()).build())
                        .build()
                }),
        )
    }

    /// Converts alice's `s3` policy.
    async fn convert_s3(iam: &Client) -> Result<Outcome> {
        convert(iam, &Principal::user("alice"), &conversion()).await
    }

    /// Why the conversion of alice's `s3` policy was skipped.
    async fn skipped(iam: &Client) -> String {
        match convert_s3(iam).await.unwrap() {
            Outcome::Skipped(why) => why,
            other => panic!("expected a skip, not {other:?}"),
        }
    }

    #[tokio::test]
    async fn converts_in_order_create_attach_delete() {
        let create = mock!(Client::create_policy)
            .match_requests(|r| {
                r.path() == Some(MANAGED_POLICY_PATH)
                    && r.policy_name() == Some("user+alice+s3")
                    && serde_json::from_str::<Value>(r.policy_document().unwrap()).unwrap()
                        == document()
            })
            .then_output(|| CreatePolicyOutput::builder().build());
        let attach = mock!(Client::attach_user_policy)
            .match_requests(|r| r.policy_arn() == Some(conversion().managed_arn.as_str()))
            .then_output(|| AttachUserPolicyOutput::builder().build());
        let (get, delete) = (live(&document()), deleted());
        let iam = mock_client!(
            aws_sdk_iam,
            RuleMode::Sequential,
            [&get, &create, &attach, &delete]
        );
        assert_eq!(convert_s3(&iam).await.unwrap(), Outcome::Applied);
        assert_eq!(
            (create.num_calls(), attach.num_calls(), delete.num_calls()),
            (1, 1, 1)
        );
    }

    #[tokio::test]
    async fn an_identical_managed_policy_is_reused() {
        let (get, create, attach, delete) =
            (live(&document()), name_taken(), attached(), deleted());
        let (get_policy, get_version) = existing(&document());
        let iam = mock_client!(
            aws_sdk_iam,
            RuleMode::Sequential,
            [&get, &create, &get_policy, &get_version, &attach, &delete]
        );
        assert_eq!(convert_s3(&iam).await.unwrap(), Outcome::Applied);
        assert_eq!(delete.num_calls(), 1);
    }

    #[tokio::test]
    async fn a_different_managed_policy_is_never_overwritten() {
        let (get, create) = (live(&document()), name_taken());
        let (get_policy, get_version) =
            existing(&json!({"Version": "2012-10-17", "Statement": []}));
        let iam = mock_client!(
            aws_sdk_iam,
            RuleMode::Sequential,
            [&get, &create, &get_policy, &get_version]
        );
        let why = skipped(&iam).await;
        assert!(
            why.contains("different document") && why.contains("kept"),
            "{why}"
        );
    }

    #[tokio::test]
    async fn a_quota_reached_at_attach_time_removes_the_new_policy_and_keeps_the_inline_one() {
        let attach = mock!(Client::attach_user_policy)
            .then_http_response(|| iam_error(409, "LimitExceeded"));
        let cleanup = mock!(Client::delete_policy)
            .match_requests(|r| r.policy_arn() == Some(conversion().managed_arn.as_str()))
            .then_output(|| DeletePolicyOutput::builder().build());
        let (get, create, delete) = (live(&document()), created(), deleted());
        let iam = mock_client!(
            aws_sdk_iam,
            RuleMode::MatchAny,
            [&get, &create, &attach, &cleanup, &delete]
        );
        let why = skipped(&iam).await;
        assert!(why.contains("quota"), "{why}");
        assert_eq!((cleanup.num_calls(), delete.num_calls()), (1, 0));
    }

    #[tokio::test]
    async fn a_failed_attach_keeps_the_inline_policy_and_says_what_is_left() {
        let attach =
            mock!(Client::attach_user_policy).then_http_response(|| iam_error(403, "AccessDenied"));
        let cleanup =
            mock!(Client::delete_policy).then_http_response(|| iam_error(403, "AccessDenied"));
        let (get, create, delete) = (live(&document()), created(), deleted());
        let iam = mock_client!(
            aws_sdk_iam,
            RuleMode::MatchAny,
            [&get, &create, &attach, &cleanup, &delete]
        );
        let message = convert_s3(&iam).await.unwrap_err().to_string();
        assert!(
            message.starts_with("AttachUserPolicy failed: AccessDenied"),
            "{message}"
        );
        assert!(
            message.contains("inline policy is kept") && message.contains("could not be removed"),
            "{message}"
        );
        assert_eq!(delete.num_calls(), 0);
    }

    #[tokio::test]
    async fn a_changed_or_vanished_inline_policy_is_left_alone() {
        let changed = live(&json!({"Version": "2012-10-17", "Statement": []}));
        let create = created();
        let iam = mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&changed, &create]);
        let why = skipped(&iam).await;
        assert!(why.contains("changed since"), "{why}");
        assert_eq!(create.num_calls(), 0);

        let vanished =
            mock!(Client::get_user_policy).then_http_response(|| iam_error(404, "NoSuchEntity"));
        let iam = mock_client!(aws_sdk_iam, [&vanished]);
        let outcome = delete(&iam, &Principal::user("alice"), "s3", &document())
            .await
            .unwrap();
        assert_eq!(
            outcome,
            Outcome::Skipped("inline policy s3 no longer exists: nothing to do".into())
        );
    }
}
