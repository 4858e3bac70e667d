//! `inline-policies`: turns the inline policies of users and groups (and roles, when
//! `INLINE_POLICY_PRINCIPALS` includes `roles`) into customer managed policies under
//! `/iam-remediation/`, attached to the same principal before the inline policy is deleted; or,
//! with `INLINE_POLICY_ACTION=delete`, deletes them, keeping each document in the report and the
//! log.
//!
//! Roles AWS owns (`/aws-service-role/`, `/aws-reserved/`) are never acted on and get no action
//! in the report; exempt principals and the function's own identity are reported as skipped.
//!
//! The function's whole remediation lives in this crate: its settings (which are the function),
//! its inputs (here), its facts and their reads, its pure rule and its changes. The shared
//! pipeline runs them through [`Remediation`].

pub mod apply;
pub mod facts;
pub mod rule;
pub mod settings;

use chrono::{DateTime, Utc};
use iam_remediation::{
    Asked, Clients, Error, Inputs, Observed, Outcome, OwnTrigger, PlannedAction, Principal,
    PrincipalKind, Remediation, Result, Scope, Survey, Window,
};

use crate::facts::{Facts, Lead};
pub use crate::rule::PolicyOrder;
pub use crate::settings::{InlinePolicies, InlinePolicyAction};

impl Remediation for InlinePolicies {
    const NAME: &'static str = "inline-policies";
    const INPUTS: Inputs = Inputs {
        principals: &[
            PrincipalKind::User,
            PrincipalKind::Group,
            PrincipalKind::Role,
        ],
        cloudtrail_events: &["PutUserPolicy", "PutGroupPolicy", "PutRolePolicy"],
        ..Inputs::NONE
    };
    type Lead = Lead;

    /// The kinds `INLINE_POLICY_PRINCIPALS` names (roles are left out by default).
    fn covers(&self, kind: PrincipalKind) -> bool {
        self.principals.contains(&kind)
    }

    /// The one inline policy a `Put{User,Group,Role}Policy` call wrote.
    fn scope(&self, trigger: OwnTrigger<'_>) -> Result<Asked<Lead>> {
        let OwnTrigger::ApiCall(call) = trigger else {
            return Err(trigger.not_handled(&Self::INPUTS));
        };
        let (kind, parameter) = match call.event_name.as_str() {
            "PutUserPolicy" => (PrincipalKind::User, "userName"),
            "PutGroupPolicy" => (PrincipalKind::Group, "groupName"),
            _ => (PrincipalKind::Role, "roleName"),
        };
        let name = call.principal_name(parameter)?.ok_or_else(|| {
            Error::InvalidEvent(format!("{} names no {parameter}", call.event_name))
        })?;
        let policy_name = call.principal_name("policyName")?.ok_or_else(|| {
            Error::InvalidEvent(format!("{} names no policyName", call.event_name))
        })?;
        if !self.covers(kind) {
            return Ok(Asked::Nothing(format!(
                "{kind}s are not covered ({})",
                self.principals_setting()
            )));
        }
        let principal = Principal {
            kind,
            name: name.to_owned(),
        };
        Ok(Asked::Look(Scope::Leads(vec![Lead::one_policy(
            principal,
            policy_name.to_owned(),
        )])))
    }

    async fn survey(
        &self,
        clients: &Clients,
        scope: Scope<Lead>,
        _window: Window,
    ) -> Result<Survey<Lead>> {
        facts::survey(&clients.iam, self, scope).await
    }

    async fn read(
        &self,
        clients: &Clients,
        lead: Lead,
        _window: Window,
    ) -> Result<Observed<Facts>> {
        facts::read(&clients.iam, lead).await
    }

    async fn apply(
        &self,
        clients: &Clients,
        action: &PlannedAction<PolicyOrder>,
        _now: DateTime<Utc>,
    ) -> Result<Outcome> {
        let iam = &clients.iam;
        let Some(principal) = action.subject.principal() else {
            return Ok(Outcome::Skipped("not a principal".into()));
        };
        match &action.order {
            PolicyOrder::Convert(conversion) => apply::convert(iam, principal, conversion).await,
            PolicyOrder::Delete {
                policy_name,
                document,
            } => apply::delete(iam, principal, policy_name, document).await,
            // Always planned as blocked; kept safe should it ever get here.
            PolicyOrder::Keep => Ok(Outcome::Skipped("nothing can be done safely".into())),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a test fails loudly")]
mod tests {
    use super::*;
    use iam_remediation::intake::ApiCall;
    use iam_remediation::{Env, FromEnv};
    use serde_json::{Value, json};

    fn settings(pairs: &[(&str, &str)]) -> InlinePolicies {
        InlinePolicies::from_env(&Env::from_pairs(pairs.iter().copied())).unwrap()
    }

    fn call(detail: Value) -> ApiCall {
        serde_json::from_value(detail).unwrap()
    }

    #[test]
    fn a_put_call_names_one_policy_of_one_principal() {
        let function = settings(&[]);
        let put = call(json!({"eventName": "PutGroupPolicy",
            "requestParameters": {"groupName": "developers", "policyName": "s3-read", "policyDocument": "{}"}}));
        assert_eq!(
            function.scope(OwnTrigger::ApiCall(&put)).unwrap(),
            Asked::Look(Scope::Leads(vec![Lead::one_policy(
                Principal::group("developers"),
                "s3-read".into()
            )]))
        );
        let role = call(
            json!({"eventName": "PutRolePolicy", "requestParameters": {"roleName": "ci", "policyName": "p"}}),
        );
        assert!(
            matches!(function.scope(OwnTrigger::ApiCall(&role)).unwrap(), Asked::Nothing(why) if why.contains("roles are not covered"))
        );
        let no_user =
            call(json!({"eventName": "PutUserPolicy", "requestParameters": {"policyName": "p"}}));
        assert!(
            function
                .scope(OwnTrigger::ApiCall(&no_user))
                .unwrap_err()
                .to_string()
                .contains("names no userName")
        );
    }
}
