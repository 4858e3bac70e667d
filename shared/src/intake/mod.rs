//! Event intake: turns whatever invoked the function into a typed [`Trigger`].
//!
//! The EventBridge envelope and the AWS Config rule invocation are typed with `aws_lambda_events`.
//! The `detail` objects are read with small structs of our own that hold only the fields we use:
//! the crate's detail types require fields that real events leave out (a Health event has no
//! `endTime` while it is open; CloudTrail's `errorCode` is not modelled at all), and an event we
//! cannot read must be an error, never a silent no-op or a guess.
//!
//! Anything that is not one of the documented shapes is an [`Error::InvalidEvent`] that names
//! what was wrong, raised before any AWS call is made.

mod cloudtrail;
mod config;
mod findings;
mod health;
mod manual;

use aws_lambda_events::event::cloudwatch_events::CloudWatchEvent;
use serde::Serialize;
use serde_json::Value;

pub use cloudtrail::ApiCall;
pub use config::{ComplianceChange, ConfigResource, ConfigRuleInvocation, EvaluationResult};
pub use findings::{
    FINDING_AUTHOR_PREFIX, Finding, FindingFormat, FindingResource, Findings, UnusedAccess,
    UnusedAccessFinding, finding_author,
};
pub use health::HealthEvent;
pub use manual::{Accounts, ManualPayload};

use crate::error::{Error, Result};
use crate::principal::PrincipalKind;

/// What a function covers and accepts beyond what every function accepts (schedules, Config
/// events): its one declaration of coverage.
#[derive(Debug, Clone, Copy)]
pub struct Inputs {
    /// True when the account itself has something the function checks (the password policy,
    /// the root user's access keys).
    pub account: bool,
    /// The principal kinds it covers, the lists (`users`, `groups`, `roles`) a manual payload
    /// may name; its settings may narrow them ([`crate::Remediation::covers`]).
    pub principals: &'static [PrincipalKind],
    /// CloudTrail event names the function handles.
    pub cloudtrail_events: &'static [&'static str],
    /// AWS Health event type codes the function handles.
    pub health_events: &'static [&'static str],
    /// Security Hub consolidated control IDs (`IAM.3`) whose findings the function handles.
    pub securityhub_controls: &'static [&'static str],
    /// Those of `securityhub_controls` that another function covers in part (IAM.8 and IAM.22
    /// check both access keys and passwords): the function notes what it did on such a finding
    /// but never resolves it, and Security Hub resolves it once its own check passes.
    pub securityhub_shared_controls: &'static [&'static str],
    /// IAM Access Analyzer unused-access finding types the function handles.
    pub unused_access_findings: &'static [&'static str],
}

impl Inputs {
    /// Nothing beyond what every function accepts; a function names what it adds
    /// (`Inputs { cloudtrail_events: &[…], ..Inputs::NONE }`).
    pub const NONE: Self = Self {
        account: false,
        principals: &[],
        cloudtrail_events: &[],
        health_events: &[],
        securityhub_controls: &[],
        securityhub_shared_controls: &[],
        unused_access_findings: &[],
    };

    /// The manual fields every function of these inputs takes, for error messages.
    pub fn manual_field_names(&self) -> String {
        let mut fields: Vec<&str> = self.principals.iter().map(|kind| kind.plural()).collect();
        fields.push("dry_run");
        fields.join(", ")
    }
}

/// The `trigger` field of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TriggerKind {
    Schedule,
    Cloudtrail,
    Config,
    ConfigRule,
    Health,
    Securityhub,
    AccessAnalyzer,
    Manual,
}

impl TriggerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Schedule => "schedule",
            Self::Cloudtrail => "cloudtrail",
            Self::Config => "config",
            Self::ConfigRule => "config-rule",
            Self::Health => "health",
            Self::Securityhub => "securityhub",
            Self::AccessAnalyzer => "access-analyzer",
            Self::Manual => "manual",
        }
    }
}

/// What invoked the function.
#[derive(Debug, Clone, PartialEq)]
pub enum Trigger {
    /// EventBridge schedule: sweep the account.
    Schedule,
    /// An IAM API call recorded by CloudTrail.
    ApiCall(ApiCall),
    /// An AWS Config rule's compliance change.
    ComplianceChange(ComplianceChange),
    /// An AWS Health event of a type the function handles.
    Health(HealthEvent),
    /// An AWS Config custom rule invocation.
    ConfigRule(ConfigRuleInvocation),
    /// AWS Security Hub findings (ASFF or OCSF) of controls the function handles.
    Findings(Findings),
    /// An IAM Access Analyzer unused-access finding.
    UnusedAccess(UnusedAccess),
    /// An operator's payload.
    Manual(ManualPayload),
}

impl Trigger {
    pub fn kind(&self) -> TriggerKind {
        match self {
            Self::Schedule => TriggerKind::Schedule,
            Self::ApiCall(_) => TriggerKind::Cloudtrail,
            Self::ComplianceChange(_) => TriggerKind::Config,
            Self::Health(_) => TriggerKind::Health,
            Self::ConfigRule(_) => TriggerKind::ConfigRule,
            Self::Findings(_) => TriggerKind::Securityhub,
            Self::UnusedAccess(_) => TriggerKind::AccessAnalyzer,
            Self::Manual(_) => TriggerKind::Manual,
        }
    }

    /// The manual payload's `dry_run`, which overrides `DRY_RUN` for this invocation.
    pub fn dry_run_override(&self) -> Option<bool> {
        match self {
            Self::Manual(payload) => payload.dry_run,
            _ => None,
        }
    }
}

/// Reads an invocation's event, in account mode.
pub fn parse(event: Value, inputs: &Inputs) -> Result<Trigger> {
    parse_in(event, inputs, Deployment::Account)
}

/// How the function is deployed: what an event about another account means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deployment {
    /// Findings about another account than the one whose bus delivered them are left alone.
    Account,
    /// Every account of the organisation is the function's: findings keep their account.
    Organisation,
}

/// The account an event comes from: the EventBridge envelope's `account` (the bus that
/// delivered it), or a Config rule invocation's `accountId`; `None` for a manual payload.
pub fn delivered_to(event: &Value) -> Option<String> {
    ["account", "accountId"]
        .into_iter()
        .find_map(|field| event.get(field)?.as_str())
        .filter(|account| crate::config::is_account_id(account))
        .map(str::to_owned)
}

/// Reads an invocation's event for a function deployed as `deployment`.
pub fn parse_in(event: Value, inputs: &Inputs, deployment: Deployment) -> Result<Trigger> {
    let Value::Object(object) = event else {
        return Err(Error::InvalidEvent(format!(
            "expected a JSON object, got {}",
            json_kind(&event)
        )));
    };
    if object.contains_key("detail-type") || object.contains_key("source") {
        return parse_eventbridge(Value::Object(object), inputs, deployment);
    }
    if object.contains_key("invokingEvent") || object.contains_key("resultToken") {
        return config::parse_rule_invocation(Value::Object(object)).map(Trigger::ConfigRule);
    }
    manual::parse(object, inputs.principals).map(Trigger::Manual)
}

fn parse_eventbridge(event: Value, inputs: &Inputs, deployment: Deployment) -> Result<Trigger> {
    let envelope: CloudWatchEvent<Value> = serde_json::from_value(event)
        .map_err(|e| Error::InvalidEvent(format!("not an EventBridge event: {e}")))?;
    let source = envelope.source.as_deref().unwrap_or("");
    let detail_type = envelope.detail_type.as_deref().unwrap_or("");
    // The account whose event bus delivered the event: in account mode, findings about another
    // account (a Security Hub administrator account sees its members') are not this function's
    // to fix; in organisation mode they are, in their own account.
    let account = match deployment {
        Deployment::Account => envelope.account_id.as_deref().unwrap_or(""),
        Deployment::Organisation => "",
    };
    let detail = envelope.detail.unwrap_or(Value::Null);
    let handled = |list: &[&str], what: &str, name: &str| {
        if list.contains(&name) {
            Ok(())
        } else if list.is_empty() {
            Err(Error::InvalidEvent(format!(
                "{what} events are not handled here ({name})"
            )))
        } else {
            Err(Error::InvalidEvent(format!(
                "{what} {name} is not handled here (handled: {})",
                list.join(", ")
            )))
        }
    };
    match (source, detail_type) {
        ("aws.events", "Scheduled Event") => Ok(Trigger::Schedule),
        ("aws.iam", "AWS API Call via CloudTrail") => {
            let call: ApiCall = read_detail(detail, detail_type)?;
            handled(
                inputs.cloudtrail_events,
                "CloudTrail event",
                &call.event_name,
            )?;
            Ok(Trigger::ApiCall(call))
        }
        ("aws.config", "Config Rules Compliance Change") => {
            let change: ComplianceChange = read_detail(detail, detail_type)?;
            if change.resource_id.is_empty() {
                return Err(Error::InvalidEvent("detail.resourceId is empty".into()));
            }
            Ok(Trigger::ComplianceChange(change))
        }
        // A function that takes no Health event does not know the shape: an unknown event.
        ("aws.health", "AWS Health Event") if !inputs.health_events.is_empty() => {
            let event = health::parse(detail)?;
            handled(
                inputs.health_events,
                "AWS Health event",
                &event.event_type_code,
            )?;
            Ok(Trigger::Health(event))
        }
        ("aws.securityhub", findings::ASFF_DETAIL_TYPE | findings::OCSF_DETAIL_TYPE) => {
            if inputs.securityhub_controls.is_empty() {
                return Err(Error::InvalidEvent(
                    "Security Hub findings are not handled here".into(),
                ));
            }
            findings::parse_securityhub(detail_type, detail, inputs.securityhub_controls, account)
                .map(Trigger::Findings)
        }
        ("aws.access-analyzer", findings::UNUSED_ACCESS_DETAIL_TYPE) => {
            if inputs.unused_access_findings.is_empty() {
                return Err(Error::InvalidEvent(
                    "IAM Access Analyzer findings are not handled here".into(),
                ));
            }
            findings::parse_unused_access(detail, inputs.unused_access_findings, account)
                .map(Trigger::UnusedAccess)
        }
        _ => Err(Error::InvalidEvent(format!(
            "unknown event: source {source:?}, detail-type {detail_type:?}"
        ))),
    }
}

fn read_detail<T: serde::de::DeserializeOwned>(detail: Value, detail_type: &str) -> Result<T> {
    serde_json::from_value(detail)
        .map_err(|e| Error::InvalidEvent(format!("{detail_type}: unreadable detail: {e}")))
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    pub(crate) const INPUTS: Inputs = Inputs {
        account: true,
        cloudtrail_events: &["CreateAccessKey", "UpdateAccessKey"],
        health_events: &["AWS_RISK_CREDENTIALS_EXPOSED"],
        securityhub_controls: &["IAM.3", "IAM.8"],
        securityhub_shared_controls: &["IAM.8"],
        unused_access_findings: &["UnusedIAMUserAccessKey"],
        principals: &[PrincipalKind::User],
    };

    pub(crate) fn eventbridge(source: &str, detail_type: &str, detail: &Value) -> Value {
        json!({
            "version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
            "detail-type": detail_type, "source": source, "account": "123456789012",
            "time": "2026-11-01T12:00:00Z", "region": "us-east-1", "resources": [],
            "detail": detail
        })
    }

    pub(crate) fn invalid(event: Value) -> String {
        match parse(event, &INPUTS) {
            Err(Error::InvalidEvent(message)) => message,
            other => panic!("expected InvalidEvent, got {other:?}"),
        }
    }

    #[test]
    fn schedule() {
        let event = eventbridge("aws.events", "Scheduled Event", &json!({}));
        assert_eq!(parse(event, &INPUTS).unwrap(), Trigger::Schedule);
    }

    #[test]
    fn compliance_change() {
        let event = eventbridge(
            "aws.config",
            "Config Rules Compliance Change",
            &json!({"resourceId": "AIDAEXAMPLE", "resourceType": "AWS::IAM::User", "configRuleName": "access-keys-rotated",
                   "newEvaluationResult": {"complianceType": "NON_COMPLIANT"}}),
        );
        let Trigger::ComplianceChange(change) = parse(event, &INPUTS).unwrap() else {
            panic!()
        };
        assert!(change.is_non_compliant());
        assert_eq!(change.resource_id, "AIDAEXAMPLE");
        let empty = eventbridge(
            "aws.config",
            "Config Rules Compliance Change",
            &json!({"resourceId": "", "resourceType": "AWS::IAM::User", "newEvaluationResult": {"complianceType": "NON_COMPLIANT"}}),
        );
        assert!(invalid(empty).contains("resourceId is empty"));
    }

    #[test]
    fn inputs_a_function_does_not_take_are_refused() {
        let inputs = Inputs {
            health_events: &[],
            securityhub_controls: &[],
            unused_access_findings: &[],
            ..INPUTS
        };
        let health = eventbridge("aws.health", "AWS Health Event", &json!({}));
        assert!(
            parse(health, &inputs)
                .unwrap_err()
                .to_string()
                .contains("unknown event: source \"aws.health\"")
        );
        for (source, detail_type) in [
            ("aws.securityhub", "Security Hub Findings - Imported"),
            ("aws.securityhub", "Findings Imported V2"),
            (
                "aws.access-analyzer",
                "Unused Access Finding for IAM entities",
            ),
        ] {
            let event = eventbridge(source, detail_type, &json!({}));
            let err = parse(event, &inputs).unwrap_err();
            assert!(
                err.to_string().contains("not handled here"),
                "{source}: {err}"
            );
        }
    }

    #[test]
    fn non_objects_and_unknown_events_are_errors() {
        assert!(invalid(json!([1, 2])).contains("an array"));
        assert!(invalid(json!("hello")).contains("a string"));
        assert!(invalid(json!(null)).contains("null"));
        let unknown = eventbridge("aws.s3", "Object Created", &json!({}));
        assert!(invalid(unknown).contains("aws.s3"));
        let no_time = json!({"source": "aws.events", "detail-type": "Scheduled Event"});
        assert!(invalid(no_time).contains("not an EventBridge event"));
    }
}
