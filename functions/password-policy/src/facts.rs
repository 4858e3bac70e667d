//! The account password policy, read live, in terms the floor rule can compare field by field.

use std::fmt;

use std::ops::RangeInclusive;

use aws_sdk_iam::Client;

use iam_remediation::{Result, call};

/// The minimum password lengths IAM accepts.
pub const MINIMUM_LENGTH_RANGE: RangeInclusive<u32> = 6..=128;
/// The maximum password ages (days) IAM accepts.
pub const MAX_AGE_DAYS_RANGE: RangeInclusive<u32> = 1..=1095;
/// The numbers of remembered passwords IAM accepts.
pub const REUSE_PREVENTION_RANGE: RangeInclusive<u32> = 1..=24;
/// The minimum length `UpdateAccountPasswordPolicy` applies when it is not given one.
pub const IAM_DEFAULT_MINIMUM_LENGTH: u32 = 6;

/// An account password policy, every field explicit.
///
/// `None` in `max_age_days` and `reuse_prevention` is IAM's "not set": passwords never expire,
/// previous passwords may be reused. IAM expresses it by leaving the field out (moto answers `0`,
/// which means the same and is read the same way).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "IAM's policy is these five flags"
)]
pub struct PasswordPolicy {
    /// `MinimumPasswordLength`.
    pub minimum_length: u32,
    /// `RequireUppercaseCharacters`.
    pub require_uppercase: bool,
    /// `RequireLowercaseCharacters`.
    pub require_lowercase: bool,
    /// `RequireNumbers`.
    pub require_numbers: bool,
    /// `RequireSymbols`.
    pub require_symbols: bool,
    /// `AllowUsersToChangePassword`.
    pub allow_users_to_change_password: bool,
    /// `MaxPasswordAge` in days; `None`: passwords never expire.
    pub max_age_days: Option<u32>,
    /// `PasswordReusePrevention`; `None`: previous passwords may be reused.
    pub reuse_prevention: Option<u32>,
    /// `HardExpiry`.
    pub hard_expiry: bool,
}

impl PasswordPolicy {
    /// What each field is when `UpdateAccountPasswordPolicy` is given nothing: the weakest policy
    /// IAM can hold.
    pub const WEAKEST: Self = Self {
        minimum_length: IAM_DEFAULT_MINIMUM_LENGTH,
        require_uppercase: false,
        require_lowercase: false,
        require_numbers: false,
        require_symbols: false,
        allow_users_to_change_password: false,
        max_age_days: None,
        reuse_prevention: None,
        hard_expiry: false,
    };

    /// How many of the four character types the policy requires.
    pub fn required_character_types(&self) -> usize {
        [
            self.require_uppercase,
            self.require_lowercase,
            self.require_numbers,
            self.require_symbols,
        ]
        .into_iter()
        .filter(|required| *required)
        .count()
    }
}

impl From<aws_sdk_iam::types::PasswordPolicy> for PasswordPolicy {
    fn from(policy: aws_sdk_iam::types::PasswordPolicy) -> Self {
        // Zero and negative values are IAM's "not set" (moto writes 0 where AWS leaves the field
        // out); a missing minimum length is the one IAM applies when given none.
        let positive =
            |value: Option<i32>| value.and_then(|v| u32::try_from(v).ok()).filter(|v| *v > 0);
        Self {
            minimum_length: positive(policy.minimum_password_length)
                .unwrap_or(IAM_DEFAULT_MINIMUM_LENGTH),
            require_uppercase: policy.require_uppercase_characters,
            require_lowercase: policy.require_lowercase_characters,
            require_numbers: policy.require_numbers,
            require_symbols: policy.require_symbols,
            allow_users_to_change_password: policy.allow_users_to_change_password,
            max_age_days: positive(policy.max_password_age),
            reuse_prevention: positive(policy.password_reuse_prevention),
            hard_expiry: policy.hard_expiry.unwrap_or(false),
        }
    }
}

/// The account's password policy (`GetAccountPasswordPolicy`); `None` when the account has none,
/// which is a normal state, not an error.
pub async fn current(iam: &Client) -> Result<Option<PasswordPolicy>> {
    match call(
        "GetAccountPasswordPolicy",
        iam.get_account_password_policy().send(),
    )
    .await
    {
        Ok(output) => Ok(output.password_policy.map(PasswordPolicy::from)),
        Err(error) if error.is_no_such_entity() => Ok(None),
        Err(error) => Err(error),
    }
}

/// The one thing this function reads: the account's password policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountPolicy;

impl fmt::Display for AccountPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the account password policy")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a test fails loudly")]
mod tests {
    use super::*;
    use aws_sdk_iam::operation::get_account_password_policy::GetAccountPasswordPolicyOutput;
    use aws_sdk_iam::types::PasswordPolicy as SdkPolicy;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    fn error_body(code: &str, message: &str) -> String {
        format!(
            "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error></ErrorResponse>"
        )
    }

    #[tokio::test]
    async fn reads_every_field() {
        let get = mock!(Client::get_account_password_policy).then_output(|| {
            GetAccountPasswordPolicyOutput::builder()
                .password_policy(
                    SdkPolicy::builder()
                        .minimum_password_length(12)
                        .require_uppercase_characters(true)
                        .require_numbers(true)
                        .allow_users_to_change_password(true)
                        .expire_passwords(true)
                        .max_password_age(60)
                        .password_reuse_prevention(5)
                        .hard_expiry(true)
                        .build(),
                )
                .build()
        });
        let iam = mock_client!(aws_sdk_iam, [&get]);
        assert_eq!(
            current(&iam).await.unwrap(),
            Some(PasswordPolicy {
                minimum_length: 12,
                require_uppercase: true,
                require_lowercase: false,
                require_numbers: true,
                require_symbols: false,
                allow_users_to_change_password: true,
                max_age_days: Some(60),
                reuse_prevention: Some(5),
                hard_expiry: true,
            })
        );
    }

    #[tokio::test]
    async fn absent_and_zero_values_mean_not_set() {
        let get = mock!(Client::get_account_password_policy)
            .sequence()
            .output(|| {
                GetAccountPasswordPolicyOutput::builder()
                    .password_policy(SdkPolicy::builder().build())
                    .build()
            })
            .output(|| {
                // moto's shape: zeros instead of absent fields.
                GetAccountPasswordPolicyOutput::builder()
                    .password_policy(
                        SdkPolicy::builder()
                            .minimum_password_length(0)
                            .max_password_age(0)
                            .password_reuse_prevention(0)
                            .build(),
                    )
                    .build()
            })
            .build();
        let iam = mock_client!(aws_sdk_iam, RuleMode::Sequential, [&get]);
        assert_eq!(current(&iam).await.unwrap(), Some(PasswordPolicy::WEAKEST));
        assert_eq!(current(&iam).await.unwrap(), Some(PasswordPolicy::WEAKEST));
    }

    #[tokio::test]
    async fn no_policy_is_none_not_an_error() {
        let get = mock!(Client::get_account_password_policy).then_http_response(|| {
            aws_smithy_runtime_api::http::Response::new(
                aws_smithy_runtime_api::http::StatusCode::try_from(404).unwrap(),
                aws_smithy_types::body::SdkBody::from(error_body(
                    "NoSuchEntity",
                    "The Password Policy with domain name 123456789012 cannot be found.",
                )),
            )
        });
        let iam = mock_client!(aws_sdk_iam, [&get]);
        assert_eq!(current(&iam).await.unwrap(), None);
    }

    #[tokio::test]
    async fn other_errors_name_the_operation_and_throttling_is_retried() {
        let get = mock!(Client::get_account_password_policy).then_http_response(|| {
            aws_smithy_runtime_api::http::Response::new(
                aws_smithy_runtime_api::http::StatusCode::try_from(403).unwrap(),
                aws_smithy_types::body::SdkBody::from(error_body("AccessDenied", "not allowed")),
            )
        });
        let iam = mock_client!(aws_sdk_iam, [&get]);
        let err = current(&iam).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "GetAccountPasswordPolicy failed: AccessDenied: not allowed"
        );

        let throttled = mock!(Client::get_account_password_policy)
            .sequence()
            .http_status(400, Some(error_body("Throttling", "Rate exceeded")))
            .output(|| {
                GetAccountPasswordPolicyOutput::builder()
                    .password_policy(SdkPolicy::builder().minimum_password_length(14).build())
                    .build()
            })
            .build();
        let iam = mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&throttled], |c| c
            .retry_config(
                aws_smithy_types::retry::RetryConfig::standard().with_max_attempts(3)
            ));
        assert_eq!(
            current(&iam).await.unwrap().map(|p| p.minimum_length),
            Some(14)
        );
        assert_eq!(throttled.num_calls(), 2);
    }
}
