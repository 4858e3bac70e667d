//! `password-policy`: keeps the account password policy at least as strict as a configured
//! floor, and never weakens it.
//!
//! The rule lives in [`rule`]; this file wires it to the shared pipeline: every event is about
//! the one account, the fact is its live policy, and the change is one complete
//! `UpdateAccountPasswordPolicy` merged again against the policy read right before it.

pub mod rule;
pub mod settings;

use std::collections::HashMap;
use std::time::SystemTime;

use chrono::{DateTime, Utc};
use iam_remediation::apply::password_policy as apply_policy;
use iam_remediation::facts::password_policy::{self as policy_facts, PasswordPolicy};
use iam_remediation::intake::Trigger;
use iam_remediation::{
    Clients, Error, Inputs, ManualFields, Outcome, PlannedAction, PrincipalKind, Report, Result,
    Run, runtime,
};
use serde_json::Value;

pub use rule::PolicyChange;
pub use settings::Settings;

/// The function's name in reports and metrics.
pub const FUNCTION: &str = "password-policy";

/// What `password-policy` accepts beyond schedules and Config events: the two `CloudTrail` calls
/// that can weaken the policy, and a manual payload of `dry_run` only.
pub const INPUTS: Inputs = Inputs {
    cloudtrail_events: &["UpdateAccountPasswordPolicy", "DeleteAccountPasswordPolicy"],
    health: false,
    manual: ManualFields {
        users: false,
        groups: false,
        roles: false,
        key_order: false,
    },
};

/// Handles one invocation: returns the report, or the Lambda error after logging the report.
///
/// `now` is unused (the rule needs no clock); it keeps every function's handler the same shape.
pub async fn handle(
    clients: &Clients,
    settings: &Settings,
    event: Value,
    _now: DateTime<Utc>,
    deadline: Option<SystemTime>,
) -> Result<Report> {
    runtime::invocation(
        FUNCTION,
        &INPUTS,
        &settings.common,
        clients,
        event,
        deadline,
        async |trigger, run| execute(clients, settings, trigger, run).await,
    )
    .await
}

/// What an event asks for: the account's policy, or nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Scope {
    /// Nothing to do (a failed API call, a compliant account, a resource out of scope).
    Nothing(String),
    Account,
}

fn scope(trigger: &Trigger) -> Result<Scope> {
    let account = PrincipalKind::Account.config_resource_type();
    Ok(match trigger {
        // Whatever an UpdateAccountPasswordPolicy asked for, the live policy is what counts; a
        // DeleteAccountPasswordPolicy left none, which the merge restores at once.
        Trigger::Schedule | Trigger::Manual(_) => Scope::Account,
        Trigger::ApiCall(call) => match &call.error_code {
            Some(code) => Scope::Nothing(format!(
                "{} failed ({code}): nothing changed",
                call.event_name
            )),
            None => Scope::Account,
        },
        Trigger::ComplianceChange(change) => {
            if change.resource_type != account {
                return Err(Error::InvalidEvent(format!(
                    "resource type {} is not the account ({account})",
                    change.resource_type
                )));
            }
            if change.is_non_compliant() {
                Scope::Account
            } else {
                Scope::Nothing(format!(
                    "compliance is {}",
                    change.new_evaluation_result.compliance_type
                ))
            }
        }
        Trigger::ConfigRule(invocation) => match &invocation.resource {
            _ if invocation.event_left_scope => {
                Scope::Nothing("the resource left the rule's scope".into())
            }
            None => Scope::Account,
            Some(resource) if resource.resource_type == account => Scope::Account,
            Some(resource) => {
                Scope::Nothing(format!("{} is not the account", resource.resource_type))
            }
        },
        // Not in INPUTS: intake refuses it before we get here.
        Trigger::CredentialsExposed(_) => {
            return Err(Error::InvalidEvent(
                "AWS Health events are not handled here".into(),
            ));
        }
    })
}

async fn execute(
    clients: &Clients,
    settings: &Settings,
    trigger: &Trigger,
    run: &mut Run,
) -> Result<()> {
    let planned: Vec<PlannedAction<PolicyChange>> = match scope(trigger)? {
        Scope::Nothing(why) => {
            tracing::info!(reason = %why, "nothing to do");
            Vec::new()
        }
        Scope::Account => {
            let current = policy_facts::current(&clients.iam).await?;
            run.add_examined(1);
            rule::plan(current.as_ref(), &settings.floor)
                .into_iter()
                .collect()
        }
    };
    // Nothing protects the account: it carries no tags and has no name to list in
    // EXEMPT_PRINCIPALS, and the identity the function runs as is a user or role, never the
    // account. MAX_ACTIONS and dry run still apply.
    let approved = run.review(planned, &HashMap::new())?;
    run.apply_replanning(approved, async |action| {
        tighten(&clients.iam, &settings.floor, action).await
    })
    .await;
    Ok(())
}

/// Applies a planned change safely: re-reads the live policy right before the update and merges
/// the floor into it again, so a stricter change made since the plan is kept, never overwritten
/// with the plan's older values. Returns the action as carried out (its undo record describes
/// the live policy it replaced) and its outcome.
pub async fn tighten(
    iam: &aws_sdk_iam::Client,
    floor: &PasswordPolicy,
    planned: PlannedAction<PolicyChange>,
) -> (PlannedAction<PolicyChange>, Result<Outcome>) {
    let live = match policy_facts::current(iam).await {
        Ok(live) => live,
        Err(error) => return (planned, Err(error)),
    };
    let Some(mut action) = rule::plan(live.as_ref(), floor) else {
        return (
            planned,
            Ok(Outcome::Skipped(
                "the policy was changed since it was read and now meets the floor".into(),
            )),
        );
    };
    if live != planned.order.before {
        action.reason = format!(
            "{}; re-planned: the policy changed since it was first read",
            action.reason
        );
    }
    if let Some(why) = action.blocked.clone() {
        return (action, Ok(Outcome::Skipped(why)));
    }
    let result = apply_policy::update(iam, &action.order.after).await;
    (action, result)
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
    use iam_remediation::Status;
    use serde_json::json;

    fn floor() -> PasswordPolicy {
        Settings::default().floor
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

    #[tokio::test]
    async fn an_unchanged_policy_gets_the_planned_update() {
        let planned = rule::plan(Some(&weak()), &floor()).unwrap();
        let get = mock!(Client::get_account_password_policy).then_output(|| sdk(&weak()));
        let update = mock!(Client::update_account_password_policy)
            .match_requests(|r| {
                r.minimum_password_length == Some(14) && r.max_password_age == Some(90)
            })
            .then_output(|| UpdateAccountPasswordPolicyOutput::builder().build());
        let iam = mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&get, &update]);
        let (done, result) = tighten(&iam, &floor(), planned.clone()).await;
        assert_eq!(result.unwrap(), Outcome::Applied);
        assert_eq!(done, planned);
        assert_eq!(update.num_calls(), 1);
    }

    #[tokio::test]
    async fn a_stricter_change_made_since_the_plan_is_kept() {
        let planned = rule::plan(Some(&weak()), &floor()).unwrap();
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
        let (done, result) = tighten(&iam, &floor(), planned).await;
        assert_eq!(result.unwrap(), Outcome::Applied);
        assert_eq!(
            update.num_calls(),
            1,
            "the update sent the re-merged policy"
        );
        assert_eq!(done.order.before, Some(concurrent));
        let details = done.details.unwrap();
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
        assert!(done.reason.contains("re-planned"), "{}", done.reason);
    }

    #[tokio::test]
    async fn a_policy_that_meets_the_floor_by_now_is_left_alone() {
        let planned = rule::plan(None, &floor()).unwrap();
        let stricter = PasswordPolicy {
            minimum_length: 30,
            ..floor()
        };
        let get = mock!(Client::get_account_password_policy).then_output(move || sdk(&stricter));
        let update = mock!(Client::update_account_password_policy)
            .then_output(|| UpdateAccountPasswordPolicyOutput::builder().build());
        let iam = mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&get, &update]);
        let (_, result) = tighten(&iam, &floor(), planned).await;
        assert!(
            matches!(result.unwrap(), Outcome::Skipped(why) if why.contains("now meets the floor"))
        );
        assert_eq!(update.num_calls(), 0);
    }

    #[tokio::test]
    async fn a_failed_re_read_changes_nothing() {
        let planned = rule::plan(None, &floor()).unwrap();
        let get = mock!(Client::get_account_password_policy)
            .sequence()
            .http_status(
                403,
                Some("<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>no</Message></Error></ErrorResponse>".into()),
            )
            .build();
        let update = mock!(Client::update_account_password_policy)
            .then_output(|| UpdateAccountPasswordPolicyOutput::builder().build());
        let iam = mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&get, &update]);
        let (_, result) = tighten(&iam, &floor(), planned).await;
        assert_eq!(result.unwrap_err().aws_code(), Some("AccessDenied"));
        assert_eq!(update.num_calls(), 0);
    }

    fn scope_of(event: Value) -> Result<Scope> {
        scope(&iam_remediation::intake::parse(event, &INPUTS)?)
    }

    #[test]
    fn every_input_is_about_the_account() {
        let eventbridge = |source: &str, detail_type: &str, detail: Value| {
            json!({"version": "0", "id": "1", "detail-type": detail_type, "source": source,
                   "account": "123456789012", "time": "2026-11-22T06:00:00Z", "region": "us-east-1",
                   "resources": [], "detail": detail})
        };
        let schedule = eventbridge("aws.events", "Scheduled Event", json!({}));
        assert_eq!(scope_of(schedule).unwrap(), Scope::Account);
        for name in ["UpdateAccountPasswordPolicy", "DeleteAccountPasswordPolicy"] {
            let call = eventbridge(
                "aws.iam",
                "AWS API Call via CloudTrail",
                json!({"eventName": name}),
            );
            assert_eq!(scope_of(call).unwrap(), Scope::Account, "{name}");
        }
        let failed = eventbridge(
            "aws.iam",
            "AWS API Call via CloudTrail",
            json!({"eventName": "DeleteAccountPasswordPolicy", "errorCode": "AccessDenied"}),
        );
        assert!(
            matches!(scope_of(failed).unwrap(), Scope::Nothing(why) if why.contains("AccessDenied"))
        );
        let other_call = eventbridge(
            "aws.iam",
            "AWS API Call via CloudTrail",
            json!({"eventName": "CreateAccessKey"}),
        );
        assert!(
            scope_of(other_call)
                .unwrap_err()
                .to_string()
                .contains("not handled")
        );

        let change = |resource_type: &str, compliance: &str| {
            eventbridge(
                "aws.config",
                "Config Rules Compliance Change",
                json!({"resourceId": "123456789012", "resourceType": resource_type, "configRuleName": "iam-password-policy",
                       "newEvaluationResult": {"complianceType": compliance}}),
            )
        };
        assert_eq!(
            scope_of(change("AWS::::Account", "NON_COMPLIANT")).unwrap(),
            Scope::Account
        );
        assert!(matches!(
            scope_of(change("AWS::::Account", "COMPLIANT")).unwrap(),
            Scope::Nothing(_)
        ));
        assert!(
            scope_of(change("AWS::IAM::User", "NON_COMPLIANT"))
                .unwrap_err()
                .to_string()
                .contains("not the account")
        );

        let rule = |invoking: Value, left: bool| {
            json!({"invokingEvent": invoking.to_string(), "ruleParameters": "{}", "resultToken": "t",
                   "eventLeftScope": left, "accountId": "123456789012"})
        };
        let scheduled =
            json!({"messageType": "ScheduledNotification", "awsAccountId": "123456789012"});
        assert_eq!(
            scope_of(rule(scheduled.clone(), false)).unwrap(),
            Scope::Account
        );
        assert!(matches!(
            scope_of(rule(scheduled, true)).unwrap(),
            Scope::Nothing(_)
        ));
        let user_item = json!({"messageType": "ConfigurationItemChangeNotification",
            "configurationItem": {"resourceType": "AWS::IAM::User", "resourceId": "AIDA", "resourceName": "alice"}});
        assert!(matches!(
            scope_of(rule(user_item, false)).unwrap(),
            Scope::Nothing(_)
        ));

        assert_eq!(scope_of(json!({"dry_run": true})).unwrap(), Scope::Account);
        assert_eq!(scope_of(json!({})).unwrap(), Scope::Account);
        for refused in [
            json!({"users": ["alice"]}),
            json!({"groups": ["g"]}),
            json!({"access_key_id": "AKIAIOSFODNN7EXAMPLE", "action": "delete"}),
        ] {
            assert!(
                matches!(scope_of(refused.clone()), Err(Error::InvalidEvent(_))),
                "{refused}"
            );
        }
        let health = eventbridge(
            "aws.health",
            "AWS Health Event",
            json!({"eventTypeCode": "AWS_RISK_CREDENTIALS_EXPOSED", "affectedEntities": [{"entityValue": "AKIAIOSFODNN7EXAMPLE"}]}),
        );
        assert!(scope_of(health).is_err());
    }

    #[test]
    fn the_report_names_the_account() {
        let action = rule::plan(None, &floor()).unwrap();
        let record = iam_remediation::ActionRecord::from_plan(&action, Status::Planned);
        let record = serde_json::to_value(record).unwrap();
        assert_eq!(record["principal_type"], "account");
        assert_eq!(record["principal"], "account");
        assert_eq!(record["action"], "update-password-policy");
        assert_eq!(record["target"], "password-policy");
    }
}
