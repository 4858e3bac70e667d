//! AWS Config: compliance-change events and custom rule invocations.

use aws_lambda_events::event::config::ConfigEvent;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use crate::error::{Error, Result};

/// `detail` of a `Config Rules Compliance Change` event.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ComplianceChange {
    #[serde(default)]
    pub config_rule_name: Option<String>,
    pub resource_type: String,
    /// For IAM users, groups and roles: the unique ID (AIDA…, AGPA…, AROA…), not the name.
    pub resource_id: String,
    pub new_evaluation_result: EvaluationResult,
}

impl ComplianceChange {
    pub fn is_non_compliant(&self) -> bool {
        self.new_evaluation_result.compliance_type == "NON_COMPLIANT"
    }
}

/// `newEvaluationResult` of a compliance change.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EvaluationResult {
    pub compliance_type: String,
}

/// An AWS Config custom rule invocation, with its `invokingEvent` decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigRuleInvocation {
    pub config_rule_name: Option<String>,
    pub account_id: Option<String>,
    pub result_token: String,
    pub event_left_scope: bool,
    pub message_type: String,
    /// The resource a change notification is about; `None` for a scheduled notification.
    pub resource: Option<ConfigResource>,
    /// When Config made the notification: the evaluation's ordering timestamp.
    pub notification_time: Option<DateTime<Utc>>,
}

/// A resource named by a Config rule invocation.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigResource {
    pub resource_type: String,
    pub resource_id: String,
    pub resource_name: Option<String>,
    /// `ResourceDeleted` / `ResourceDeletedNotRecorded` resources need no action.
    pub deleted: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InvokingEvent {
    message_type: String,
    #[serde(default)]
    configuration_item: Option<ConfigurationItem>,
    #[serde(default)]
    configuration_item_summary: Option<ConfigurationItem>,
    #[serde(default)]
    notification_creation_time: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(clippy::struct_field_names, reason = "Config's own field names")]
struct ConfigurationItem {
    resource_type: String,
    resource_id: String,
    #[serde(default)]
    resource_name: Option<String>,
    #[serde(default)]
    configuration_item_status: Option<String>,
}

pub(super) fn parse_rule_invocation(event: Value) -> Result<ConfigRuleInvocation> {
    let event: ConfigEvent = serde_json::from_value(event)
        .map_err(|e| Error::InvalidEvent(format!("not an AWS Config rule invocation: {e}")))?;
    let result_token = event
        .result_token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Error::InvalidEvent("Config rule invocation without resultToken".into()))?;
    let invoking_event = event.invoking_event.ok_or_else(|| {
        Error::InvalidEvent("Config rule invocation without invokingEvent".into())
    })?;
    let invoking: InvokingEvent = serde_json::from_str(&invoking_event)
        .map_err(|e| Error::InvalidEvent(format!("invokingEvent is not readable: {e}")))?;
    let item = match invoking.message_type.as_str() {
        "ConfigurationItemChangeNotification" => {
            Some(invoking.configuration_item.ok_or_else(|| {
                Error::InvalidEvent("change notification without configurationItem".into())
            })?)
        }
        "OversizedConfigurationItemChangeNotification" => {
            Some(invoking.configuration_item_summary.ok_or_else(|| {
                Error::InvalidEvent(
                    "oversized notification without configurationItemSummary".into(),
                )
            })?)
        }
        "ScheduledNotification" => None,
        other => {
            return Err(Error::InvalidEvent(format!(
                "unknown Config messageType {other:?}"
            )));
        }
    };
    let resource = item.map(|item| ConfigResource {
        deleted: item
            .configuration_item_status
            .as_deref()
            .is_some_and(|s| s.starts_with("ResourceDeleted")),
        resource_type: item.resource_type,
        resource_id: item.resource_id,
        resource_name: item.resource_name,
    });
    Ok(ConfigRuleInvocation {
        config_rule_name: event.config_rule_name,
        account_id: event.account_id,
        result_token,
        event_left_scope: event.event_left_scope,
        message_type: invoking.message_type,
        resource,
        notification_time: invoking.notification_creation_time,
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::{INPUTS, invalid};
    use super::super::{Trigger, parse};
    use serde_json::json;

    #[test]
    fn rule_invocations() {
        let item = json!({"messageType": "ConfigurationItemChangeNotification", "notificationCreationTime": "2026-11-01T12:00:00.000Z",
            "configurationItem": {"resourceType": "AWS::IAM::User", "resourceId": "AIDAEXAMPLE", "resourceName": "alice", "configurationItemStatus": "OK"}});
        let event = json!({"invokingEvent": item.to_string(), "ruleParameters": "{}", "resultToken": "token",
            "eventLeftScope": false, "configRuleName": "keys", "accountId": "123456789012", "version": "1.0"});
        let Trigger::ConfigRule(rule) = parse(event, &INPUTS).unwrap() else {
            panic!()
        };
        let resource = rule.resource.unwrap();
        assert_eq!(resource.resource_name.as_deref(), Some("alice"));
        assert!(!resource.deleted);
        assert_eq!(rule.result_token, "token");

        let scheduled = json!({"invokingEvent": json!({"messageType": "ScheduledNotification"}).to_string(),
            "resultToken": "t", "eventLeftScope": false});
        let Trigger::ConfigRule(rule) = parse(scheduled, &INPUTS).unwrap() else {
            panic!()
        };
        assert!(rule.resource.is_none());

        let garbled =
            json!({"invokingEvent": "{not json", "resultToken": "t", "eventLeftScope": false});
        assert!(invalid(garbled).contains("invokingEvent"));
        let no_token = json!({"invokingEvent": "{}", "eventLeftScope": false});
        assert!(invalid(no_token).contains("resultToken"));
        let unknown = json!({"invokingEvent": json!({"messageType": "Other"}).to_string(), "resultToken": "t", "eventLeftScope": false});
        assert!(invalid(unknown).contains("messageType"));
    }
}
