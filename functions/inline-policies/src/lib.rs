//! `inline-policies`: turns the inline policies of users and groups (and roles, when
//! `INLINE_POLICY_PRINCIPALS` includes `roles`) into customer managed policies under
//! `/iam-remediation/`, attached to the same principal before the inline policy is deleted; or,
//! with `INLINE_POLICY_ACTION=delete`, deletes them, keeping each document in the report and the
//! log.
//!
//! Roles AWS owns (`/aws-service-role/`, `/aws-reserved/`) are never acted on and get no action
//! in the report; exempt principals and the function's own identity are reported as skipped.
//!
//! The rule lives in [`rule`]; this file wires it to the shared pipeline: which principals an
//! event is about, the facts to read, and which shared change carries out each planned action.

pub mod rule;
pub mod settings;

use std::time::SystemTime;

use chrono::{DateTime, Utc};
use iam_remediation::apply::inline_policies as apply_policies;
use iam_remediation::facts::inline_policies::{
    self as policy_facts, AttachmentQuotas, PrincipalPolicies,
};
use iam_remediation::guard;
use iam_remediation::intake::{ApiCall, Trigger};
use iam_remediation::{
    Clients, Error, Inputs, ManualFields, Outcome, PlannedAction, Principal, PrincipalKind, Report,
    Result, Run, Scope, runtime, scope,
};
use serde_json::Value;

pub use rule::PolicyOrder;
pub use settings::{InlinePolicyAction, Settings};

/// The function's name in reports and metrics.
pub const FUNCTION: &str = "inline-policies";

/// What `inline-policies` accepts beyond schedules and Config events.
pub const INPUTS: Inputs = Inputs {
    cloudtrail_events: &["PutUserPolicy", "PutGroupPolicy", "PutRolePolicy"],
    health: false,
    manual: ManualFields {
        users: true,
        groups: true,
        roles: true,
        key_order: false,
    },
};

/// Handles one invocation: returns the report, or the Lambda error after logging the report.
pub async fn handle(
    clients: &Clients,
    settings: &Settings,
    event: Value,
    now: DateTime<Utc>,
    deadline: Option<SystemTime>,
) -> Result<Report> {
    runtime::invocation(
        FUNCTION,
        &INPUTS,
        &settings.common,
        clients,
        event,
        deadline,
        async |trigger, run| execute(clients, settings, trigger, run, now).await,
    )
    .await
}

/// Which inline policies an event is about.
#[derive(Debug, Clone, PartialEq, Eq)]
enum PolicyScope {
    /// Nothing to do (a failed API call, a compliant resource, a kind not covered).
    Nothing(String),
    /// Every covered principal, through `GetAccountAuthorizationDetails`.
    Account,
    /// All inline policies of these principals.
    Principals(Vec<Principal>),
    /// One inline policy (the one a `CloudTrail` event names).
    Policy {
        principal: Principal,
        policy_name: String,
    },
}

fn not_covered(settings: &Settings, kind: PrincipalKind) -> PolicyScope {
    PolicyScope::Nothing(format!(
        "{kind}s are not covered ({})",
        settings.principals_setting()
    ))
}

async fn scope(clients: &Clients, settings: &Settings, trigger: &Trigger) -> Result<PolicyScope> {
    let covered: Vec<PrincipalKind> = [
        PrincipalKind::User,
        PrincipalKind::Group,
        PrincipalKind::Role,
    ]
    .into_iter()
    .filter(|kind| settings.covers(*kind))
    .collect();
    if let Some(common) = scope::resolve(&clients.iam, trigger, &covered).await? {
        return Ok(match common {
            Scope::Nothing(why) => PolicyScope::Nothing(why),
            Scope::Account => PolicyScope::Account,
            Scope::Principals(principals) => PolicyScope::Principals(principals),
        });
    }
    match trigger {
        Trigger::ApiCall(call) => api_call_scope(settings, call),
        other => Err(Error::InvalidEvent(format!(
            "{:?} events are not handled here",
            other.kind()
        ))),
    }
}

/// The one inline policy a `CloudTrail` `Put{User,Group,Role}Policy` call wrote.
fn api_call_scope(settings: &Settings, call: &ApiCall) -> Result<PolicyScope> {
    if let Some(code) = &call.error_code {
        return Ok(PolicyScope::Nothing(format!(
            "{} failed ({code}): nothing changed",
            call.event_name
        )));
    }
    let (kind, parameter) = match call.event_name.as_str() {
        "PutUserPolicy" => (PrincipalKind::User, "userName"),
        "PutGroupPolicy" => (PrincipalKind::Group, "groupName"),
        "PutRolePolicy" => (PrincipalKind::Role, "roleName"),
        other => {
            return Err(Error::InvalidEvent(format!(
                "CloudTrail event {other} is not handled here"
            )));
        }
    };
    let name = call
        .principal_name(parameter)?
        .ok_or_else(|| Error::InvalidEvent(format!("{} names no {parameter}", call.event_name)))?;
    let policy_name = call
        .principal_name("policyName")?
        .ok_or_else(|| Error::InvalidEvent(format!("{} names no policyName", call.event_name)))?;
    if !settings.covers(kind) {
        return Ok(not_covered(settings, kind));
    }
    Ok(PolicyScope::Policy {
        principal: Principal {
            kind,
            name: name.to_owned(),
        },
        policy_name: policy_name.to_owned(),
    })
}

async fn execute(
    clients: &Clients,
    settings: &Settings,
    trigger: &Trigger,
    run: &mut Run,
    now: DateTime<Utc>,
) -> Result<()> {
    let iam = &clients.iam;
    let gathered: Vec<PrincipalPolicies> = match scope(clients, settings, trigger).await? {
        PolicyScope::Nothing(why) => {
            tracing::info!(reason = %why, "nothing to do");
            Vec::new()
        }
        PolicyScope::Account => policy_facts::account(iam, &settings.principals).await?,
        PolicyScope::Principals(principals) => {
            // Every named principal is read before anything changes: a missing one stops the run.
            let mut gathered = Vec::with_capacity(principals.len());
            for principal in &principals {
                gathered.push(policy_facts::principal(iam, principal, None).await?);
            }
            gathered
        }
        PolicyScope::Policy {
            principal,
            policy_name,
        } => {
            vec![policy_facts::principal(iam, &principal, Some(&policy_name)).await?]
        }
    };
    run.add_examined(gathered.len());
    for reserved in gathered
        .iter()
        .filter(|p| p.is_aws_reserved() && !p.inline.is_empty())
    {
        tracing::info!(principal = %reserved.principal, path = %reserved.path, "role owned by AWS: left alone");
    }

    // The quotas matter only to conversions, and only when there is something to convert.
    let converting = settings.action == InlinePolicyAction::Convert
        && gathered
            .iter()
            .any(|p| !p.is_aws_reserved() && !p.inline.is_empty());
    let quotas = if converting {
        policy_facts::attachment_quotas(iam).await?
    } else {
        AttachmentQuotas::default()
    };
    let planned: Vec<PlannedAction<PolicyOrder>> = gathered
        .iter()
        .flat_map(|principal| rule::plan(principal, &quotas, settings))
        .collect();

    let subjects = gathered
        .iter()
        .map(|facts| (&facts.principal, Ok(facts.tags.as_slice())));
    let protections = guard::protections(
        clients,
        subjects,
        &settings.common,
        now.date_naive(),
        !planned.is_empty(),
    )
    .await?;
    let approved = run.review(planned, &protections)?;
    run.apply(approved, async |action| apply(clients, action).await)
        .await;
    Ok(())
}

async fn apply(clients: &Clients, action: &PlannedAction<PolicyOrder>) -> Result<Outcome> {
    let iam = &clients.iam;
    match &action.order {
        PolicyOrder::Convert(conversion) => {
            apply_policies::convert(iam, &action.principal, conversion).await
        }
        PolicyOrder::Delete {
            policy_name,
            document,
        } => apply_policies::delete(iam, &action.principal, policy_name, document).await,
        // Always planned as blocked; kept safe should it ever get here.
        PolicyOrder::Keep => Ok(Outcome::Skipped("nothing can be done safely".into())),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a test fails loudly")]
mod tests {
    use super::*;
    use iam_remediation::Env;
    use serde_json::json;

    fn settings(pairs: &[(&str, &str)]) -> Settings {
        Settings::from_env(&Env::from_pairs(pairs.iter().copied())).unwrap()
    }

    fn call(detail: Value) -> ApiCall {
        serde_json::from_value(detail).unwrap()
    }

    #[test]
    fn a_put_call_names_one_policy_of_one_principal() {
        let put = call(json!({"eventName": "PutGroupPolicy",
            "requestParameters": {"groupName": "developers", "policyName": "s3-read", "policyDocument": "{}"}}));
        assert_eq!(
            api_call_scope(&settings(&[]), &put).unwrap(),
            PolicyScope::Policy {
                principal: Principal::group("developers"),
                policy_name: "s3-read".into()
            }
        );
        let role = call(
            json!({"eventName": "PutRolePolicy", "requestParameters": {"roleName": "ci", "policyName": "p"}}),
        );
        assert!(
            matches!(api_call_scope(&settings(&[]), &role).unwrap(), PolicyScope::Nothing(why) if why.contains("roles are not covered"))
        );
        let failed = call(
            json!({"eventName": "PutUserPolicy", "errorCode": "AccessDenied", "requestParameters": {"userName": "a", "policyName": "p"}}),
        );
        assert!(matches!(
            api_call_scope(&settings(&[]), &failed).unwrap(),
            PolicyScope::Nothing(_)
        ));
        let no_user =
            call(json!({"eventName": "PutUserPolicy", "requestParameters": {"policyName": "p"}}));
        assert!(
            api_call_scope(&settings(&[]), &no_user)
                .unwrap_err()
                .to_string()
                .contains("names no userName")
        );
    }
}
