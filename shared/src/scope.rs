//! Scope: which principals an event is about, for the triggers every function reads the same way.
//!
//! A function maps the rest itself (the parameters of its CloudTrail calls, AWS Health's keys, an
//! operator's order on one key): [`resolve`] returns `None` for those.

use aws_sdk_iam::Client;

use crate::error::{Error, Result};
use crate::facts::identity;
use crate::intake::{ManualPayload, Trigger};
use crate::principal::{Principal, PrincipalKind};

/// What an event asks a function to look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Nothing to do, and why (a failed API call, a compliant resource, out of scope).
    Nothing(String),
    /// The whole account (a sweep).
    Account,
    /// These principals, by name (deduplicated, in the order given).
    Principals(Vec<Principal>),
}

/// The scope of `trigger` for a function that covers principals of the `covered` kinds
/// (`PrincipalKind::Account` for the account itself). Config's unique IDs are resolved to names.
/// `None`: a trigger the function maps itself (a successful CloudTrail call, AWS Health, an
/// order on one access key).
pub async fn resolve(
    iam: &Client,
    trigger: &Trigger,
    covered: &[PrincipalKind],
) -> Result<Option<Scope>> {
    let scope = match trigger {
        Trigger::Schedule => Scope::Account,
        Trigger::ApiCall(call) => match &call.error_code {
            Some(code) => Scope::Nothing(format!(
                "{} failed ({code}): nothing changed",
                call.event_name
            )),
            None => return Ok(None),
        },
        Trigger::CredentialsExposed(_) => return Ok(None),
        Trigger::ComplianceChange(change) => {
            if !change.is_non_compliant() {
                return Ok(Some(Scope::Nothing(format!(
                    "compliance is {}",
                    change.new_evaluation_result.compliance_type
                ))));
            }
            let kind = PrincipalKind::from_config_resource_type(&change.resource_type).ok_or_else(
                || {
                    Error::InvalidEvent(format!(
                        "resource type {} is not an IAM user, group or role, nor the account",
                        change.resource_type
                    ))
                },
            )?;
            covered_principal(iam, kind, None, &change.resource_id, covered).await?
        }
        Trigger::ConfigRule(invocation) => match &invocation.resource {
            _ if invocation.event_left_scope => {
                Scope::Nothing("the resource left the rule's scope".into())
            }
            None => Scope::Account,
            Some(resource) if resource.deleted => Scope::Nothing("the resource was deleted".into()),
            Some(resource) => {
                match PrincipalKind::from_config_resource_type(&resource.resource_type) {
                    None => Scope::Nothing(format!(
                        "{} is not an IAM principal",
                        resource.resource_type
                    )),
                    Some(kind) => {
                        covered_principal(
                            iam,
                            kind,
                            resource.resource_name.as_deref(),
                            &resource.resource_id,
                            covered,
                        )
                        .await?
                    }
                }
            }
        },
        Trigger::Manual(payload) if payload.access_key_id.is_some() => return Ok(None),
        Trigger::Manual(payload) => manual(payload, covered)?,
    };
    Ok(Some(scope))
}

/// The principal a Config event names, when the function covers its kind.
async fn covered_principal(
    iam: &Client,
    kind: PrincipalKind,
    name: Option<&str>,
    unique_id: &str,
    covered: &[PrincipalKind],
) -> Result<Scope> {
    if !covered.contains(&kind) {
        // A Config rule may evaluate kinds this function leaves alone (roles by default).
        return Ok(Scope::Nothing(format!(
            "{}s are not covered here",
            kind.as_str()
        )));
    }
    if kind == PrincipalKind::Account {
        return Ok(Scope::Account);
    }
    let principal = match name {
        Some(name) => Principal {
            kind,
            name: name.to_owned(),
        },
        None => identity::resolve_unique_id(iam, kind, unique_id).await?,
    };
    Ok(Scope::Principals(vec![principal]))
}

fn manual(payload: &ManualPayload, covered: &[PrincipalKind]) -> Result<Scope> {
    if payload.is_account_wide() || covered == [PrincipalKind::Account] {
        return Ok(Scope::Account);
    }
    let mut principals: Vec<Principal> = Vec::new();
    for (field, kind, names) in [
        ("users", PrincipalKind::User, &payload.users),
        ("groups", PrincipalKind::Group, &payload.groups),
        ("roles", PrincipalKind::Role, &payload.roles),
    ] {
        let Some(names) = names else { continue };
        // An explicit request the configuration would ignore is a mistake to report, not a
        // silent no-op.
        if !covered.contains(&kind) {
            return Err(Error::InvalidEvent(format!(
                "manual payload: `{field}` given, but {field} are not covered here"
            )));
        }
        for name in names {
            let principal = Principal {
                kind,
                name: name.clone(),
            };
            if !principals.contains(&principal) {
                principals.push(principal);
            }
        }
    }
    Ok(Scope::Principals(principals))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intake::{self, Inputs, ManualFields};
    use aws_sdk_iam::operation::list_users::ListUsersOutput;
    use aws_sdk_iam::types::User;
    use aws_smithy_mocks::{mock, mock_client};
    use serde_json::{Value, json};

    const INPUTS: Inputs = Inputs {
        cloudtrail_events: &["CreateLoginProfile"],
        health: false,
        manual: ManualFields {
            users: true,
            groups: true,
            roles: true,
            key_order: false,
        },
    };

    fn iam_with_alice() -> Client {
        let users = mock!(Client::list_users).then_output(|| {
            ListUsersOutput::builder()
                .users(
                    User::builder()
                        .user_name("alice")
                        .user_id("AIDAALICE")
                        .arn("arn:aws:iam::123456789012:user/alice")
                        .path("/")
                        .create_date(aws_smithy_types::DateTime::from_secs(0))
                        .build()
                        .unwrap(),
                )
                .is_truncated(false)
                .build()
                .unwrap()
        });
        mock_client!(aws_sdk_iam, [&users])
    }

    async fn scope_of(event: Value, covered: &[PrincipalKind]) -> Result<Option<Scope>> {
        let trigger = intake::parse(event, &INPUTS)?;
        resolve(&iam_with_alice(), &trigger, covered).await
    }

    fn eventbridge(source: &str, detail_type: &str, detail: &Value) -> Value {
        json!({"version": "0", "id": "1", "detail-type": detail_type, "source": source, "account": "123456789012",
               "time": "2026-11-01T12:00:00Z", "region": "us-east-1", "resources": [], "detail": detail})
    }

    fn compliance(resource_type: &str, id: &str, compliance: &str) -> Value {
        eventbridge(
            "aws.config",
            "Config Rules Compliance Change",
            &json!({"resourceType": resource_type, "resourceId": id, "newEvaluationResult": {"complianceType": compliance}}),
        )
    }

    const USERS: &[PrincipalKind] = &[PrincipalKind::User];

    #[tokio::test]
    async fn schedules_and_account_wide_payloads_sweep() {
        let schedule = eventbridge("aws.events", "Scheduled Event", &json!({}));
        assert_eq!(
            scope_of(schedule, USERS).await.unwrap(),
            Some(Scope::Account)
        );
        assert_eq!(
            scope_of(json!({"dry_run": true}), USERS).await.unwrap(),
            Some(Scope::Account)
        );
        assert_eq!(
            scope_of(json!({"users": ["a"]}), &[PrincipalKind::Account])
                .await
                .unwrap(),
            Some(Scope::Account)
        );
    }

    #[tokio::test]
    async fn compliance_changes_resolve_unique_ids_and_respect_coverage() {
        assert_eq!(
            scope_of(
                compliance("AWS::IAM::User", "AIDAALICE", "NON_COMPLIANT"),
                USERS
            )
            .await
            .unwrap(),
            Some(Scope::Principals(vec![Principal::user("alice")]))
        );
        assert!(matches!(
            scope_of(
                compliance("AWS::IAM::User", "AIDAALICE", "COMPLIANT"),
                USERS
            )
            .await
            .unwrap(),
            Some(Scope::Nothing(_))
        ));
        assert!(matches!(
            scope_of(
                compliance("AWS::IAM::Role", "AROAX", "NON_COMPLIANT"),
                USERS
            )
            .await
            .unwrap(),
            Some(Scope::Nothing(_))
        ));
        assert_eq!(
            scope_of(
                compliance("AWS::::Account", "123456789012", "NON_COMPLIANT"),
                &[PrincipalKind::Account]
            )
            .await
            .unwrap(),
            Some(Scope::Account)
        );
        let err = scope_of(compliance("AWS::S3::Bucket", "b", "NON_COMPLIANT"), USERS)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("AWS::S3::Bucket"), "{err}");
        let err = scope_of(
            compliance("AWS::IAM::User", "AIDAGHOST", "NON_COMPLIANT"),
            USERS,
        )
        .await
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "user with unique ID AIDAGHOST does not exist"
        );
    }

    #[tokio::test]
    async fn manual_principals_are_deduplicated_and_checked_against_coverage() {
        assert_eq!(
            scope_of(
                json!({"users": ["a", "b", "a"], "groups": ["g"]}),
                &[PrincipalKind::User, PrincipalKind::Group]
            )
            .await
            .unwrap(),
            Some(Scope::Principals(vec![
                Principal::user("a"),
                Principal::user("b"),
                Principal::group("g")
            ]))
        );
        let err = scope_of(json!({"roles": ["r"]}), USERS).await.unwrap_err();
        assert!(err.to_string().contains("`roles` given"), "{err}");
    }

    #[tokio::test]
    async fn successful_api_calls_are_left_to_the_function() {
        let call = |error: Option<&str>| {
            let mut detail = json!({"eventName": "CreateLoginProfile", "requestParameters": {"userName": "alice"}});
            if let Some(code) = error {
                detail["errorCode"] = json!(code);
            }
            eventbridge("aws.iam", "AWS API Call via CloudTrail", &detail)
        };
        assert_eq!(scope_of(call(None), USERS).await.unwrap(), None);
        assert!(matches!(
            scope_of(call(Some("AccessDenied")), USERS).await.unwrap(),
            Some(Scope::Nothing(_))
        ));
    }
}
