//! `inline-policies`: turns the inline policies of users and groups (and roles, when
//! `INLINE_POLICY_PRINCIPALS` includes `roles`) into customer managed policies under
//! `/iam-remediation/`, attached to the same principal before the inline policy is deleted; or,
//! with `INLINE_POLICY_ACTION=delete`, deletes them, keeping each document in the report and the
//! log.
//!
//! Roles AWS owns (`/aws-service-role/`, `/aws-reserved/`) are never acted on and get no action
//! in the report; exempt principals and the function's own identity are reported as skipped.
//!
//! The function's whole remediation lives in this crate: its settings, its facts, its pure rule
//! and its changes. The shared pipeline runs them through [`Remediation`].

pub mod apply;
pub mod facts;
pub mod rule;
pub mod settings;

use std::fmt;

use aws_config::SdkConfig;
use chrono::{DateTime, Utc};
use iam_remediation::intake::ApiCall;
use iam_remediation::reads::TagState;
use iam_remediation::{
    Clients, CommonSettings, Error, Inputs, Observed, Outcome, PlannedAction, Principal,
    PrincipalKind, Remediation, Result, Scope, Subject, Survey, Window,
};

use crate::facts::{AttachmentQuotas, PrincipalPolicies};
pub use crate::rule::PolicyOrder;
pub use crate::settings::{InlinePolicyAction, Settings};

/// The inline-policies function: its clients (built once per cold start) and settings.
#[derive(Debug, Clone)]
pub struct InlinePolicies {
    clients: Clients,
    settings: Settings,
}

/// One inline policy, as a CloudTrail `Put{User,Group,Role}Policy` call names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedPolicy {
    pub principal: Principal,
    pub policy_name: String,
}

/// Where a read starts: a principal (all its inline policies, or one), or one a sweep already
/// read whole; with the account's attachment quotas when converting.
#[derive(Debug, Clone, PartialEq)]
pub struct Lead {
    pub principal: Principal,
    /// Only this policy (a CloudTrail call named it).
    pub only: Option<String>,
    /// Already read (a sweep's `GetAccountAuthorizationDetails`).
    pub known: Option<PrincipalPolicies>,
    pub quotas: AttachmentQuotas,
}

impl fmt::Display for Lead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.principal.fmt(f)
    }
}

/// One principal's inline policies, with the account's quotas for its kind.
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    pub policies: PrincipalPolicies,
    pub quotas: AttachmentQuotas,
}

impl Remediation for InlinePolicies {
    const NAME: &'static str = "inline-policies";
    const INPUTS: Inputs = Inputs {
        cloudtrail_events: &["PutUserPolicy", "PutGroupPolicy", "PutRolePolicy"],
        manual_principals: &[
            PrincipalKind::User,
            PrincipalKind::Group,
            PrincipalKind::Role,
        ],
        ..Inputs::NONE
    };
    const COVERS_ACCOUNT: bool = false;
    type Target = NamedPolicy;
    type Lead = Lead;
    type Facts = Facts;
    type Order = PolicyOrder;
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

    fn covers(&self, kind: PrincipalKind) -> bool {
        self.settings.covers(kind)
    }

    /// The one inline policy a `Put{User,Group,Role}Policy` call wrote.
    fn api_call(&self, call: &ApiCall) -> Result<Scope<NamedPolicy>> {
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
        if !self.settings.covers(kind) {
            return Ok(Scope::Nothing(format!(
                "{kind}s are not covered ({})",
                self.settings.principals_setting()
            )));
        }
        Ok(Scope::Targets(vec![NamedPolicy {
            principal: Principal {
                kind,
                name: name.to_owned(),
            },
            policy_name: policy_name.to_owned(),
        }]))
    }

    async fn survey(&self, scope: Scope<NamedPolicy>, _window: Window) -> Result<Survey<Lead>> {
        let iam = &self.clients.iam;
        let converting = self.settings.action == InlinePolicyAction::Convert;
        // The quotas matter only to conversions.
        let quotas = async {
            if converting {
                facts::attachment_quotas(iam).await
            } else {
                Ok(AttachmentQuotas::default())
            }
        };
        let lead = |principal: Principal, only: Option<String>, quotas| Lead {
            principal,
            only,
            known: None,
            quotas,
        };
        Ok(match scope {
            Scope::Nothing(_) => Survey::of(Vec::new()),
            Scope::Sweep => {
                let all = facts::account(iam, &self.settings.principals).await?;
                let examined = all.len();
                let mut with_inline: Vec<PrincipalPolicies> = Vec::new();
                for principal in all.into_iter().filter(|p| !p.inline.is_empty()) {
                    if principal.is_aws_reserved() {
                        tracing::info!(principal = %principal.principal, path = %principal.path, "role owned by AWS: left alone");
                    } else {
                        with_inline.push(principal);
                    }
                }
                // The quotas are read only when there is something to convert.
                let quotas = if with_inline.is_empty() {
                    AttachmentQuotas::default()
                } else {
                    quotas.await?
                };
                Survey {
                    leads: with_inline
                        .into_iter()
                        .map(|known| Lead {
                            principal: known.principal.clone(),
                            only: None,
                            known: Some(known),
                            quotas,
                        })
                        .collect(),
                    examined,
                    notes: Vec::new(),
                }
            }
            Scope::Subjects(subjects) => {
                let quotas = quotas.await?;
                Survey::of(
                    subjects
                        .into_iter()
                        .filter_map(|subject| match subject {
                            Subject::Principal(principal) => Some(lead(principal, None, quotas)),
                            Subject::Account | Subject::RootUser => None,
                        })
                        .collect(),
                )
            }
            Scope::Targets(policies) | Scope::Urgent(policies) => {
                let quotas = quotas.await?;
                Survey::of(
                    policies
                        .into_iter()
                        .map(|named| lead(named.principal, Some(named.policy_name), quotas))
                        .collect(),
                )
            }
        })
    }

    async fn read(&self, lead: Lead, _window: Window) -> Result<Observed<Facts>> {
        let policies = match lead.known {
            Some(known) => known,
            None => {
                facts::principal(&self.clients.iam, &lead.principal, lead.only.as_deref()).await?
            }
        };
        let tags = match policies.principal.kind {
            PrincipalKind::Group => TagState::Untaggable,
            PrincipalKind::User | PrincipalKind::Role => TagState::Known(policies.tags.clone()),
        };
        Ok(Observed {
            subject: policies.principal.clone().into(),
            tags,
            judged_whole: lead.only.is_none(),
            facts: Facts {
                policies,
                quotas: lead.quotas,
            },
        })
    }

    fn plan(&self, facts: &Facts, _now: DateTime<Utc>) -> Vec<PlannedAction<PolicyOrder>> {
        rule::plan(&facts.policies, &facts.quotas, &self.settings)
    }

    async fn apply(
        &self,
        action: &PlannedAction<PolicyOrder>,
        _now: DateTime<Utc>,
    ) -> Result<Outcome> {
        let iam = &self.clients.iam;
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
    use iam_remediation::{Env, FromEnv};
    use serde_json::{Value, json};

    fn settings(pairs: &[(&str, &str)]) -> Settings {
        Settings::from_env(&Env::from_pairs(pairs.iter().copied())).unwrap()
    }

    fn call(detail: Value) -> ApiCall {
        serde_json::from_value(detail).unwrap()
    }

    #[test]
    fn a_put_call_names_one_policy_of_one_principal() {
        let function = InlinePolicies::new(&SdkConfig::builder().build(), settings(&[]));
        let put = call(json!({"eventName": "PutGroupPolicy",
            "requestParameters": {"groupName": "developers", "policyName": "s3-read", "policyDocument": "{}"}}));
        assert_eq!(
            function.api_call(&put).unwrap(),
            Scope::Targets(vec![NamedPolicy {
                principal: Principal::group("developers"),
                policy_name: "s3-read".into()
            }])
        );
        let role = call(
            json!({"eventName": "PutRolePolicy", "requestParameters": {"roleName": "ci", "policyName": "p"}}),
        );
        assert!(
            matches!(function.api_call(&role).unwrap(), Scope::Nothing(why) if why.contains("roles are not covered"))
        );
        let no_user =
            call(json!({"eventName": "PutUserPolicy", "requestParameters": {"policyName": "p"}}));
        assert!(
            function
                .api_call(&no_user)
                .unwrap_err()
                .to_string()
                .contains("names no userName")
        );
    }
}
