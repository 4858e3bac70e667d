//! Root sessions: `sts:AssumeRoot` into one member account, with one of the two task policies
//! this function uses, and the IAM client that acts as that account's root user.
//!
//! STS API Reference, AssumeRoot: "You must use credentials from an Organizations management
//! account or a delegated administrator account for IAM to call AssumeRoot", "Before you can
//! launch a privileged session, you must have centralized root access in your organization",
//! "The STS global endpoint is not supported for AssumeRoot. You must send this request to a
//! Regional STS endpoint", `DurationSeconds` "can range from 0 seconds up to the maximum session
//! duration of 900 seconds". AWS documents `ExpiredTokenException` and `RegionDisabledException`
//! as AssumeRoot's own errors; a refusal is the common `AccessDenied`, whose message AWS does not
//! document. So a refusal is explained by asking what AWS documents instead (only after a
//! refusal): IAM `ListOrganizationsFeatures` answers which centralized root access features are
//! on, or refuses with `ServiceAccessNotEnabledException` (no trusted access for IAM),
//! `AccountNotManagementOrDelegatedAdministratorException`, `OrganizationNotFoundException`,
//! `OrganizationNotInAllFeaturesModeException` (IAM API Reference,
//! ListOrganizationsFeatures); Organizations `DescribeOrganization` names the management
//! account, which AssumeRoot cannot reach (IAM User Guide, "Centrally manage root access for
//! member accounts": root access is managed for member accounts).

use std::fmt;

use aws_config::SdkConfig;
use aws_sdk_iam::error::ProvideErrorMetadata;
use aws_sdk_iam::types::FeatureType;
use aws_sdk_sts::types::PolicyDescriptorType;
use iam_remediation::{Error, Result, call};

/// The task policy that reads the root user's credentials.
pub const AUDIT_POLICY: &str = "arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials";
/// The task policy that reads and deletes them.
pub const DELETE_POLICY: &str = "arn:aws:iam::aws:policy/root-task/IAMDeleteRootUserCredentials";

/// How long a root session lasts. A read is at most six IAM calls (two keys' last uses among
/// them) and a delete session a few more (a re-read before each change; a root user has at most
/// two keys, one password, eight MFA devices and two signing certificates): seconds at IAM's
/// latency, and well inside five minutes with the SDK's five attempts and backoff of at most 5 s
/// each. 300 s rather than AWS's default and maximum of 900: credentials as powerful as a
/// member's root user should outlive their work by as little as possible. A session that still
/// ran out would fail its next call with `ExpiredToken`: that action fails, nothing else
/// happens, and the next run repeats it.
pub const SESSION_SECONDS: i32 = 300;

/// The IAM service principal, for trusted access and delegated administration.
pub const IAM_SERVICE_PRINCIPAL: &str = "iam.amazonaws.com";

/// Why nothing is done in the management account: reported as the reason it is skipped.
pub const MANAGEMENT_ACCOUNT: &str = "AssumeRoot cannot reach the management account";

/// What a root session is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    /// Read the root user's credentials (`IAMAuditRootUserCredentials`).
    Audit,
    /// Delete them (`IAMDeleteRootUserCredentials`).
    Delete,
}

impl Task {
    /// The task policy of the session.
    pub fn policy_arn(self) -> &'static str {
        match self {
            Self::Audit => AUDIT_POLICY,
            Self::Delete => DELETE_POLICY,
        }
    }
}

/// Where AssumeRoot led.
#[derive(Debug, Clone)]
pub enum Reached {
    /// The member account's root user: IAM as that user, for the session's task only.
    RootUser(aws_sdk_iam::Client),
    /// The organization's management account, which AssumeRoot cannot reach.
    ManagementAccount,
}

/// A prerequisite of AssumeRoot that is missing, with the command that provides it (each run
/// from the organization's management account).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prerequisite {
    /// The caller's account is in no organization.
    Organization,
    /// The organization does not have all features enabled.
    AllFeatures,
    /// Trusted access for IAM is not enabled in AWS Organizations.
    TrustedAccess,
    /// The caller is neither the management account nor IAM's delegated administrator.
    Administrator { caller_account: Option<String> },
    /// Centralized root access features that are off (`RootCredentialsManagement`,
    /// `RootSessions`).
    Features(Vec<FeatureType>),
}

impl Prerequisite {
    /// What is missing, in words.
    pub fn missing(&self) -> String {
        match self {
            Self::Organization => "this account is in no AWS Organizations organization".into(),
            Self::AllFeatures => "the organization does not have all features enabled".into(),
            Self::TrustedAccess => {
                "trusted access for IAM (iam.amazonaws.com) is not enabled in AWS Organizations"
                    .into()
            }
            Self::Administrator { caller_account } => format!(
                "{} is neither the organization's management account nor the delegated \
                 administrator for IAM (iam.amazonaws.com)",
                caller_account.as_deref().map_or_else(
                    || "this account".to_owned(),
                    |account| format!("the account {account}")
                )
            ),
            Self::Features(features) => format!(
                "centralized root access is not enabled for the organization ({} off)",
                features
                    .iter()
                    .map(FeatureType::as_str)
                    .collect::<Vec<_>>()
                    .join(" and ")
            ),
        }
    }

    /// The command that provides it.
    pub fn command(&self) -> String {
        match self {
            Self::Organization => "aws organizations create-organization --feature-set ALL".into(),
            Self::AllFeatures => "aws organizations enable-all-features".into(),
            Self::TrustedAccess => format!(
                "aws organizations enable-aws-service-access --service-principal \
                 {IAM_SERVICE_PRINCIPAL}"
            ),
            Self::Administrator { caller_account } => format!(
                "aws organizations register-delegated-administrator --account-id {} \
                 --service-principal {IAM_SERVICE_PRINCIPAL}",
                caller_account.as_deref().unwrap_or("<this account's ID>")
            ),
            Self::Features(features) => features
                .iter()
                .map(|feature| match feature {
                    FeatureType::RootCredentialsManagement => {
                        "aws iam enable-organizations-root-credentials-management"
                    }
                    _ => "aws iam enable-organizations-root-sessions",
                })
                .collect::<Vec<_>>()
                .join(" and "),
        }
    }

    /// The run's error: AssumeRoot's refusal, explained.
    pub fn error(&self, account: &str, aws_said: &str) -> Error {
        Error::Aws {
            operation: "AssumeRoot",
            code: "AccessDenied".to_owned(),
            message: format!(
                "missing prerequisite for sts:AssumeRoot into {account}: {}; from the \
                 organization's management account run: {} (AWS said: {aws_said})",
                self.missing(),
                self.command()
            ),
        }
    }
}

impl fmt::Display for Prerequisite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.missing(), self.command())
    }
}

/// Opens a root session in `account` for `task` (AssumeRoot through `sts`, which must be a
/// regional STS client) and returns IAM acting as its root user, built from `sdk` (the same
/// endpoint, region, retries and timeouts) with the session's credentials; or
/// [`Reached::ManagementAccount`]. A refusal for a missing prerequisite is an error naming it
/// and the command that enables it.
pub async fn open(
    sdk: &SdkConfig,
    sts: &aws_sdk_sts::Client,
    account: &str,
    task: Task,
) -> Result<Reached> {
    let policy = PolicyDescriptorType::builder()
        .arn(task.policy_arn())
        .build();
    let request = sts
        .assume_root()
        .target_principal(account)
        .task_policy_arn(policy)
        .duration_seconds(SESSION_SECONDS);
    let output = match request.send().await {
        Ok(output) => output,
        Err(error) => {
            let denied = error
                .as_service_error()
                .filter(|e| matches!(e.code(), Some("AccessDenied" | "AccessDeniedException")))
                .map(|e| e.message().unwrap_or_default().to_owned());
            return match denied {
                Some(aws_said) => explain_refusal(sdk, sts, account, &aws_said).await,
                None => Err(Error::aws("AssumeRoot", &error)),
            };
        }
    };
    let Some(session) = output.credentials else {
        return Err(Error::Aws {
            operation: "AssumeRoot",
            code: "InvalidResponse".to_owned(),
            message: format!("no credentials for the root session in {account}"),
        });
    };
    let config = iam_remediation::clients::with_session(sdk, session, "AssumeRoot");
    Ok(Reached::RootUser(aws_sdk_iam::Client::new(&config)))
}

/// Why AssumeRoot into `account` was refused, asked of IAM and Organizations as the caller: a
/// missing prerequisite (an error naming it), the management account as target, or, when
/// neither explains it (a service control policy, a closed account), AWS's own refusal.
async fn explain_refusal(
    sdk: &SdkConfig,
    sts: &aws_sdk_sts::Client,
    account: &str,
    aws_said: &str,
) -> Result<Reached> {
    let refused = |why: String| Error::Aws {
        operation: "AssumeRoot",
        code: "AccessDenied".to_owned(),
        message: format!("sts:AssumeRoot into {account} was refused: {aws_said}{why}"),
    };
    let iam = aws_sdk_iam::Client::new(sdk);
    let features = call(
        "ListOrganizationsFeatures",
        iam.list_organizations_features().send(),
    )
    .await;
    let missing = match features {
        Ok(output) => {
            let off: Vec<FeatureType> = [
                FeatureType::RootCredentialsManagement,
                FeatureType::RootSessions,
            ]
            .into_iter()
            .filter(|feature| !output.enabled_features().contains(feature))
            .collect();
            (!off.is_empty()).then_some(Prerequisite::Features(off))
        }
        Err(error) => match error.aws_code() {
            Some("ServiceAccessNotEnabledException") => Some(Prerequisite::TrustedAccess),
            Some("AccountNotManagementOrDelegatedAdministratorException") => {
                let identity = sts.get_caller_identity().send().await;
                Some(Prerequisite::Administrator {
                    caller_account: identity.ok().and_then(|identity| identity.account),
                })
            }
            Some("OrganizationNotFoundException") => Some(Prerequisite::Organization),
            Some("OrganizationNotInAllFeaturesModeException") => Some(Prerequisite::AllFeatures),
            _ => return Err(refused(format!(" (its cause could not be read: {error})"))),
        },
    };
    if let Some(missing) = missing {
        return Err(missing.error(account, aws_said));
    }
    let organizations = aws_sdk_organizations::Client::new(sdk);
    let management = call(
        "DescribeOrganization",
        organizations.describe_organization().send(),
    )
    .await
    .map(|output| {
        output
            .organization
            .and_then(|organization| organization.master_account_id)
    });
    match management {
        Ok(Some(management)) if management == account => Ok(Reached::ManagementAccount),
        Ok(_) => Err(refused(String::new())),
        Err(error) => Err(refused(format!(" (its cause could not be read: {error})"))),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityOutput;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use iam_remediation::testing::iam_error;

    use super::*;
    use crate::facts::{self, RootFacts};
    use crate::fake::{self, Fake};

    const MEMBER: &str = "111122223333";

    /// What `read` makes of an AssumeRoot refused with AccessDenied, when the explaining calls
    /// find `fake`'s organisation.
    async fn refusal(fake: Fake, target: &'static str) -> (Result<RootFacts>, Vec<String>) {
        let fake = Arc::new(Mutex::new(fake));
        let denied = mock!(aws_sdk_sts::Client::assume_root)
            .then_http_response(|| iam_error(403, "AccessDenied"));
        let identity = mock!(aws_sdk_sts::Client::get_caller_identity).then_output(|| {
            GetCallerIdentityOutput::builder()
                .account("444455556666")
                .build()
        });
        let sts = mock_client!(aws_sdk_sts, RuleMode::MatchAny, [&denied, &identity]);
        let read = facts::read(&fake::sdk(&fake), &sts, target).await;
        let calls = fake.lock().expect("the fake").calls.clone();
        (read, calls)
    }

    fn message(read: Result<RootFacts>) -> String {
        match read {
            Err(error @ Error::Aws { .. }) => error.to_string(),
            other => panic!("expected AssumeRoot's refusal, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn each_missing_prerequisite_is_named_with_the_command_that_enables_it() {
        let features = |on: Vec<&'static str>| Fake {
            features: Ok(on),
            ..Fake::new()
        };
        let refused = |code: &'static str| Fake {
            features: Err(code),
            ..Fake::new()
        };
        for (fake, says) in [
            (
                features(vec!["RootCredentialsManagement"]),
                "centralized root access is not enabled for the organization (RootSessions off); \
                 from the organization's management account run: aws iam \
                 enable-organizations-root-sessions",
            ),
            (
                features(vec![]),
                "(RootCredentialsManagement and RootSessions off); from the organization's \
                 management account run: aws iam enable-organizations-root-credentials-management \
                 and aws iam enable-organizations-root-sessions",
            ),
            (
                refused("ServiceAccessNotEnabledException"),
                "trusted access for IAM (iam.amazonaws.com) is not enabled in AWS Organizations; \
                 from the organization's management account run: aws organizations \
                 enable-aws-service-access --service-principal iam.amazonaws.com",
            ),
            (
                refused("AccountNotManagementOrDelegatedAdministratorException"),
                "the account 444455556666 is neither the organization's management account nor \
                 the delegated administrator for IAM (iam.amazonaws.com); from the \
                 organization's management account run: aws organizations \
                 register-delegated-administrator --account-id 444455556666 \
                 --service-principal iam.amazonaws.com",
            ),
            (
                refused("OrganizationNotFoundException"),
                "this account is in no AWS Organizations organization",
            ),
        ] {
            let (read, _) = refusal(fake, MEMBER).await;
            let message = message(read);
            assert!(
                message.starts_with(
                    "AssumeRoot failed: AccessDenied: missing prerequisite for sts:AssumeRoot \
                     into 111122223333: "
                ) && message.contains(says)
                    && message.ends_with("(AWS said: injected)"),
                "{message}"
            );
        }
    }

    #[tokio::test]
    async fn the_management_account_is_a_distinct_outcome() {
        let (read, calls) = refusal(Fake::new(), "123456789012").await;
        assert_eq!(
            read.expect("not an error"),
            RootFacts::ManagementAccount {
                account: "123456789012".into()
            }
        );
        assert_eq!(
            calls,
            [
                format!("ListOrganizationsFeatures by {}", fake::ADMIN_KEY),
                format!("DescribeOrganization by {}", fake::ADMIN_KEY)
            ],
            "explained as the function itself, after the refusal"
        );
    }

    #[tokio::test]
    async fn a_refusal_nothing_explains_is_aws_own() {
        let (read, _) = refusal(Fake::new(), MEMBER).await;
        assert_eq!(
            message(read),
            "AssumeRoot failed: AccessDenied: sts:AssumeRoot into 111122223333 was refused: \
             injected"
        );
        let (read, _) = refusal(
            Fake {
                features: Err("AccessDenied"),
                ..Fake::new()
            },
            MEMBER,
        )
        .await;
        assert!(message(read).contains(
            "was refused: injected (its cause could not be read: ListOrganizationsFeatures \
                 failed: AccessDenied: fake)"
        ));
    }

    #[tokio::test]
    async fn other_errors_are_not_explained() {
        let fake = Arc::new(Mutex::new(Fake::new()));
        let expired = mock!(aws_sdk_sts::Client::assume_root)
            .then_http_response(|| iam_error(400, "ExpiredTokenException"));
        let sts = mock_client!(aws_sdk_sts, [&expired]);
        let read = facts::read(&fake::sdk(&fake), &sts, MEMBER).await;
        assert_eq!(
            message(read),
            "AssumeRoot failed: ExpiredTokenException: injected"
        );
        assert!(fake.lock().expect("the fake").calls.is_empty());
    }
}
