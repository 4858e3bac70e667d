//! Changes to the account password policy.

use aws_sdk_iam::Client;

use iam_remediation::{Outcome, Result, call};

use crate::facts::PasswordPolicy;

/// Sets the account password policy to `policy`, every field of it.
///
/// `UpdateAccountPasswordPolicy` resets every field it is not given to IAM's default, so the
/// complete policy is always sent; "never expire" and "no reuse prevention" are sent by leaving
/// `MaxPasswordAge` and `PasswordReusePrevention` out, which is the only way IAM accepts them.
pub async fn update(iam: &Client, policy: &PasswordPolicy) -> Result<Outcome> {
    let to_i32 = |value: u32| i32::try_from(value).unwrap_or(i32::MAX);
    let request = iam
        .update_account_password_policy()
        .minimum_password_length(to_i32(policy.minimum_length))
        .require_uppercase_characters(policy.require_uppercase)
        .require_lowercase_characters(policy.require_lowercase)
        .require_numbers(policy.require_numbers)
        .require_symbols(policy.require_symbols)
        .allow_users_to_change_password(policy.allow_users_to_change_password)
        .set_max_password_age(policy.max_age_days.map(to_i32))
        .set_password_reuse_prevention(policy.reuse_prevention.map(to_i32))
        .hard_expiry(policy.hard_expiry);
    call("UpdateAccountPasswordPolicy", request.send()).await?;
    Ok(Outcome::Applied)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a test fails loudly")]
mod tests {
    use super::*;
    use aws_sdk_iam::operation::update_account_password_policy::UpdateAccountPasswordPolicyOutput;
    use aws_smithy_mocks::{mock, mock_client};
    use iam_remediation::testing::iam_error;

    #[tokio::test]
    async fn sends_every_field_and_leaves_out_what_is_not_set() {
        let full = mock!(Client::update_account_password_policy)
            .match_requests(|r| {
                r.minimum_password_length == Some(14)
                    && r.require_uppercase_characters == Some(true)
                    && r.require_lowercase_characters == Some(true)
                    && r.require_numbers == Some(false)
                    && r.require_symbols == Some(true)
                    && r.allow_users_to_change_password == Some(true)
                    && r.max_password_age == Some(90)
                    && r.password_reuse_prevention == Some(24)
                    && r.hard_expiry == Some(false)
            })
            .then_output(|| UpdateAccountPasswordPolicyOutput::builder().build());
        let iam = mock_client!(aws_sdk_iam, [&full]);
        let policy = PasswordPolicy {
            minimum_length: 14,
            require_uppercase: true,
            require_lowercase: true,
            require_numbers: false,
            require_symbols: true,
            allow_users_to_change_password: true,
            max_age_days: Some(90),
            reuse_prevention: Some(24),
            hard_expiry: false,
        };
        assert_eq!(update(&iam, &policy).await.unwrap(), Outcome::Applied);
        assert_eq!(full.num_calls(), 1);

        let unset = mock!(Client::update_account_password_policy)
            .match_requests(|r| {
                r.minimum_password_length == Some(6)
                    && r.max_password_age.is_none()
                    && r.password_reuse_prevention.is_none()
                    && r.hard_expiry == Some(false)
                    && r.require_symbols == Some(false)
            })
            .then_output(|| UpdateAccountPasswordPolicyOutput::builder().build());
        let iam = mock_client!(aws_sdk_iam, [&unset]);
        update(&iam, &PasswordPolicy::WEAKEST).await.unwrap();
        assert_eq!(unset.num_calls(), 1);
    }

    #[tokio::test]
    async fn a_refused_update_names_the_operation() {
        let denied = mock!(Client::update_account_password_policy)
            .then_http_response(|| iam_error(403, "AccessDenied"));
        let iam = mock_client!(aws_sdk_iam, [&denied]);
        let err = update(&iam, &PasswordPolicy::WEAKEST).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "UpdateAccountPasswordPolicy failed: AccessDenied: injected"
        );
    }
}
