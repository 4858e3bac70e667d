//! The change to the account password policy: the floor merged again into the policy read right
//! before it, then one complete `UpdateAccountPasswordPolicy`.

use aws_sdk_iam::Client;

use iam_remediation::{Outcome, PlannedAction, Result, call};

use crate::facts::{self, PasswordPolicy};
use crate::rule::{self, PolicyChange};

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

/// Applies a planned change safely: re-reads the live policy right before the update and merges
/// the floor into it again, so a stricter change made since the plan is kept, never overwritten
/// with the plan's older values. When the policy changed since it was read, the outcome carries
/// the reason and undo record of the change as carried out.
pub async fn tighten(
    iam: &Client,
    floor: &PasswordPolicy,
    planned: &PlannedAction<PolicyChange>,
) -> Result<Outcome> {
    let live = facts::current(iam).await?;
    let Some(action) = rule::plan(live.as_ref(), floor)
        .into_iter()
        .find(|action| action.target == rule::TARGET)
    else {
        return Ok(Outcome::Skipped(
            "the policy was changed since it was read and now meets the floor".into(),
        ));
    };
    if let Some(why) = action.blocked {
        return Ok(Outcome::Skipped(why));
    }
    update(iam, &action.order.after).await?;
    if live == planned.order.before {
        return Ok(Outcome::Applied);
    }
    Ok(Outcome::AppliedAs {
        reason: format!(
            "{}; re-planned: the policy changed since it was first read",
            action.reason
        ),
        details: action.details,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a test fails loudly")]
mod tests {
    use aws_sdk_iam::operation::get_account_password_policy::GetAccountPasswordPolicyOutput;
    use aws_sdk_iam::operation::update_account_password_policy::UpdateAccountPasswordPolicyOutput;
    use aws_sdk_iam::types::PasswordPolicy as SdkPolicy;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use iam_remediation::testing::iam_error;
    use iam_remediation::{FromEnv, Status};
    use serde_json::json;

    use super::*;
    use crate::settings::PasswordPolicies;

    fn floor() -> PasswordPolicy {
        PasswordPolicies::defaults().floor
    }

    fn weak() -> PasswordPolicy {
        PasswordPolicy {
            minimum_length: 8,
            ..PasswordPolicy::WEAKEST
        }
    }

    fn sdk(policy: &PasswordPolicy) -> GetAccountPasswordPolicyOutput {
        let to_i32 = |v: u32| i32::try_from(v).unwrap();
        GetAccountPasswordPolicyOutput::builder()
            .password_policy(
                SdkPolicy::builder()
                    .minimum_password_length(to_i32(policy.minimum_length))
                    .require_uppercase_characters(policy.require_uppercase)
                    .require_lowercase_characters(policy.require_lowercase)
                    .require_numbers(policy.require_numbers)
                    .require_symbols(policy.require_symbols)
                    .allow_users_to_change_password(policy.allow_users_to_change_password)
                    .expire_passwords(policy.max_age_days.is_some())
                    .set_max_password_age(policy.max_age_days.map(to_i32))
                    .set_password_reuse_prevention(policy.reuse_prevention.map(to_i32))
                    .hard_expiry(policy.hard_expiry)
                    .build(),
            )
            .build()
    }

    fn update_of(current: Option<&PasswordPolicy>) -> PlannedAction<PolicyChange> {
        rule::plan(current, &floor()).into_iter().next().unwrap()
    }

    #[tokio::test]
    async fn an_unchanged_policy_gets_the_planned_update() {
        let planned = update_of(Some(&weak()));
        let get = mock!(Client::get_account_password_policy).then_output(|| sdk(&weak()));
        let update = mock!(Client::update_account_password_policy)
            .match_requests(|r| {
                r.minimum_password_length == Some(14) && r.max_password_age == Some(90)
            })
            .then_output(|| UpdateAccountPasswordPolicyOutput::builder().build());
        let iam = mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&get, &update]);
        let result = tighten(&iam, &floor(), &planned).await;
        assert_eq!(result.unwrap(), Outcome::Applied);
        assert_eq!(update.num_calls(), 1);
    }

    #[tokio::test]
    async fn a_stricter_change_made_since_the_plan_is_kept() {
        let planned = update_of(Some(&weak()));
        // Between the plan and the change someone set 30 days and 20 characters.
        let concurrent = PasswordPolicy {
            minimum_length: 20,
            max_age_days: Some(30),
            ..weak()
        };
        let get = mock!(Client::get_account_password_policy).then_output(move || sdk(&concurrent));
        let update = mock!(Client::update_account_password_policy)
            .match_requests(|r| {
                r.minimum_password_length == Some(20)
                    && r.max_password_age == Some(30)
                    && r.password_reuse_prevention == Some(24)
                    && r.require_symbols == Some(true)
            })
            .then_output(|| UpdateAccountPasswordPolicyOutput::builder().build());
        let iam = mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&get, &update]);
        let Outcome::AppliedAs { reason, details } =
            tighten(&iam, &floor(), &planned).await.unwrap()
        else {
            panic!("re-planned")
        };
        assert_eq!(
            update.num_calls(),
            1,
            "the update sent the re-merged policy"
        );
        let details = details.unwrap();
        // 20 characters and 30 days are stricter than the floor: kept, so not in the record.
        assert!(
            details["before"].get("MinimumPasswordLength").is_none(),
            "{details}"
        );
        assert!(
            details["before"].get("MaxPasswordAge").is_none(),
            "{details}"
        );
        assert_eq!(details["before"]["RequireSymbols"], json!(false));
        assert_eq!(details["after"]["PasswordReusePrevention"], json!(24));
        assert!(reason.contains("re-planned"), "{reason}");
    }

    #[tokio::test]
    async fn a_policy_that_meets_the_floor_by_now_is_left_alone() {
        let planned = update_of(None);
        let stricter = PasswordPolicy {
            minimum_length: 30,
            ..floor()
        };
        let get = mock!(Client::get_account_password_policy).then_output(move || sdk(&stricter));
        let update = mock!(Client::update_account_password_policy)
            .then_output(|| UpdateAccountPasswordPolicyOutput::builder().build());
        let iam = mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&get, &update]);
        let result = tighten(&iam, &floor(), &planned).await;
        assert!(
            matches!(result.unwrap(), Outcome::Skipped(why) if why.contains("now meets the floor"))
        );
        assert_eq!(update.num_calls(), 0);
    }

    #[tokio::test]
    async fn a_failed_re_read_changes_nothing() {
        let planned = update_of(None);
        let get = mock!(Client::get_account_password_policy)
            .then_http_response(|| iam_error(403, "AccessDenied"));
        let update = mock!(Client::update_account_password_policy)
            .then_output(|| UpdateAccountPasswordPolicyOutput::builder().build());
        let iam = mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&get, &update]);
        let result = tighten(&iam, &floor(), &planned).await;
        assert_eq!(result.unwrap_err().aws_code(), Some("AccessDenied"));
        assert_eq!(update.num_calls(), 0);
    }

    #[test]
    fn the_report_names_the_account() {
        let action = update_of(None);
        let record = iam_remediation::ActionRecord::from_plan(&action, Status::Planned);
        let record = serde_json::to_value(record).unwrap();
        assert_eq!(record["principal_type"], "account");
        assert_eq!(record["principal"], "account");
        assert_eq!(record["action"], "update-password-policy");
        assert_eq!(record["target"], "password-policy");
    }

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
