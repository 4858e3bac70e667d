//! `password-policy`: keeps the account password policy at least as strict as a configured
//! floor, and never weakens it.
//!
//! The function's whole remediation lives in this crate: the floor (its settings), the policy
//! (its facts), the merge (its pure rule) and the one complete `UpdateAccountPasswordPolicy`
//! (its change), merged again against the policy read right before it. The shared pipeline runs
//! them through [`Remediation`]: every event is about the one account.

pub mod apply;
pub mod control;
pub mod facts;
pub mod rule;
pub mod settings;

use aws_config::SdkConfig;
use chrono::{DateTime, Utc};
use iam_remediation::feedback::securityhub::ControlState;
use iam_remediation::intake::ApiCall;
use iam_remediation::reads::TagState;
use iam_remediation::{
    Clients, CommonSettings, Inputs, Observed, Outcome, PlannedAction, Remediation, Result, Scope,
    Subject, Survey, Window,
};

use crate::facts::PasswordPolicy;
pub use crate::rule::PolicyChange;
pub use crate::settings::Settings;

/// The password-policy function: its clients (built once per cold start) and the floor.
#[derive(Debug, Clone)]
pub struct PasswordPolicies {
    clients: Clients,
    settings: Settings,
}

/// The one thing this function reads: the account's password policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountPolicy;

impl std::fmt::Display for AccountPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the account password policy")
    }
}

impl Remediation for PasswordPolicies {
    const NAME: &'static str = "password-policy";
    /// The two CloudTrail calls that can weaken the policy, the password-policy controls of
    /// Security Hub, and a manual payload of `dry_run` only.
    const INPUTS: Inputs = Inputs {
        cloudtrail_events: &["UpdateAccountPasswordPolicy", "DeleteAccountPasswordPolicy"],
        securityhub_controls: &[
            "IAM.7", "IAM.10", "IAM.11", "IAM.12", "IAM.13", "IAM.14", "IAM.15", "IAM.16", "IAM.17",
        ],
        ..Inputs::NONE
    };
    const COVERS_ACCOUNT: bool = true;
    type Target = AccountPolicy;
    type Lead = AccountPolicy;
    type Facts = Option<PasswordPolicy>;
    type Order = PolicyChange;
    type Settings = Settings;

    fn new(sdk: &SdkConfig, settings: Settings) -> Self {
        Self {
            clients: Clients::new(sdk),
            settings,
        }
    }

    fn common(&self) -> &CommonSettings {
        &self.settings.common
    }

    fn clients(&self) -> &Clients {
        &self.clients
    }

    /// Whatever an UpdateAccountPasswordPolicy asked for, the live policy is what counts; a
    /// DeleteAccountPasswordPolicy left none, which the merge restores at once.
    fn api_call(&self, _call: &ApiCall) -> Result<Scope<AccountPolicy>> {
        Ok(Scope::Subjects(vec![Subject::Account]))
    }

    async fn survey(
        &self,
        scope: Scope<AccountPolicy>,
        _window: Window,
    ) -> Result<Survey<AccountPolicy>> {
        Ok(Survey::of(match scope {
            Scope::Nothing(_) => Vec::new(),
            _ => vec![AccountPolicy],
        }))
    }

    async fn read(
        &self,
        _lead: AccountPolicy,
        _window: Window,
    ) -> Result<Observed<Option<PasswordPolicy>>> {
        // Nothing protects the account: it carries no tags and has no name to list in
        // EXEMPT_PRINCIPALS, and the identity the function runs as is a user or role, never the
        // account. MAX_ACTIONS and dry run still apply.
        Ok(Observed {
            subject: Subject::Account,
            tags: TagState::Untaggable,
            judged_whole: true,
            facts: facts::current(&self.clients.iam).await?,
        })
    }

    fn plan(
        &self,
        policy: &Option<PasswordPolicy>,
        _now: DateTime<Utc>,
    ) -> Vec<PlannedAction<PolicyChange>> {
        rule::plan(policy.as_ref(), &self.settings.floor)
    }

    fn control(
        &self,
        control: &str,
        policy: &Option<PasswordPolicy>,
        _now: DateTime<Utc>,
    ) -> Option<ControlState> {
        control::state(control, policy.as_ref(), &self.settings.floor)
    }

    async fn apply(
        &self,
        action: &PlannedAction<PolicyChange>,
        _now: DateTime<Utc>,
    ) -> Result<Outcome> {
        tighten(&self.clients.iam, &self.settings.floor, action).await
    }
}

/// Applies a planned change safely: re-reads the live policy right before the update and merges
/// the floor into it again, so a stricter change made since the plan is kept, never overwritten
/// with the plan's older values. When the policy changed since it was read, the outcome carries
/// the reason and undo record of the change as carried out.
pub async fn tighten(
    iam: &aws_sdk_iam::Client,
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
    apply::update(iam, &action.order.after).await?;
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
    use super::*;
    use aws_sdk_iam::Client;
    use aws_sdk_iam::operation::get_account_password_policy::GetAccountPasswordPolicyOutput;
    use aws_sdk_iam::operation::update_account_password_policy::UpdateAccountPasswordPolicyOutput;
    use aws_sdk_iam::types::PasswordPolicy as SdkPolicy;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use iam_remediation::testing::iam_error;
    use iam_remediation::{FromEnv, Status};
    use serde_json::json;

    fn floor() -> PasswordPolicy {
        Settings::defaults().floor
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
}
