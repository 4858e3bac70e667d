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

use aws_lambda_events::event::cloudwatch_events::CloudWatchEvent;
use aws_lambda_events::event::config::ConfigEvent;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::principal::{is_valid_access_key_id, is_valid_name};

/// The Health event type this project acts on.
pub const CREDENTIALS_EXPOSED: &str = "AWS_RISK_CREDENTIALS_EXPOSED";

/// What a function accepts, beyond what every function accepts.
#[derive(Debug, Clone, Copy)]
pub struct Inputs {
    /// CloudTrail event names the function handles.
    pub cloudtrail_events: &'static [&'static str],
    /// AWS Health exposed-credentials events (access-keys only).
    pub health: bool,
    /// Manual payload fields beyond `dry_run`.
    pub manual: ManualFields,
}

/// The manual payload fields a function takes (`dry_run` is always allowed).
#[derive(Debug, Clone, Copy, Default)]
#[allow(clippy::struct_excessive_bools)]
pub struct ManualFields {
    pub users: bool,
    pub groups: bool,
    pub roles: bool,
    /// `access_key_id` with `action` (access-keys).
    pub key_order: bool,
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
    Manual,
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
    /// AWS Health: access keys reported as exposed.
    CredentialsExposed(CredentialsExposed),
    /// An AWS Config custom rule invocation.
    ConfigRule(ConfigRuleInvocation),
    /// An operator's payload.
    Manual(ManualPayload),
}

impl Trigger {
    pub fn kind(&self) -> TriggerKind {
        match self {
            Self::Schedule => TriggerKind::Schedule,
            Self::ApiCall(_) => TriggerKind::Cloudtrail,
            Self::ComplianceChange(_) => TriggerKind::Config,
            Self::CredentialsExposed(_) => TriggerKind::Health,
            Self::ConfigRule(_) => TriggerKind::ConfigRule,
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

/// `detail` of an `AWS API Call via CloudTrail` event.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiCall {
    pub event_name: String,
    /// Present when the call failed: then nothing changed and nothing needs doing.
    #[serde(default)]
    pub error_code: Option<String>,
    #[serde(default)]
    pub request_parameters: Option<Map<String, Value>>,
    #[serde(default)]
    pub response_elements: Option<Value>,
    #[serde(default)]
    pub user_identity: Option<Value>,
}

impl ApiCall {
    /// A string field of `requestParameters`, checked when present.
    pub fn parameter(&self, name: &str) -> Result<Option<&str>> {
        match self.request_parameters.as_ref().and_then(|p| p.get(name)) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(value)) => Ok(Some(value)),
            Some(other) => Err(Error::InvalidEvent(format!(
                "requestParameters.{name} is not a string: {other}"
            ))),
        }
    }

    /// An IAM principal name from `requestParameters`, validated.
    pub fn principal_name(&self, name: &str) -> Result<Option<&str>> {
        let value = self.parameter(name)?;
        if let Some(value) = value
            && !is_valid_name(value)
        {
            return Err(Error::InvalidEvent(format!(
                "requestParameters.{name} {value:?} is not a valid IAM name"
            )));
        }
        Ok(value)
    }

    /// A string at a JSON pointer in `responseElements` (for example `/accessKey/userName`).
    pub fn response_element(&self, pointer: &str) -> Option<&str> {
        self.response_elements.as_ref()?.pointer(pointer)?.as_str()
    }

    /// The IAM user that made the call, when it was an IAM user (`userIdentity.type` `IAMUser`).
    pub fn calling_user(&self) -> Option<&str> {
        let identity = self.user_identity.as_ref()?;
        (identity.get("type")?.as_str()? == "IAMUser")
            .then(|| identity.get("userName")?.as_str())
            .flatten()
    }
}

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

/// `detail` of an AWS Health `AWS_RISK_CREDENTIALS_EXPOSED` event.
#[derive(Debug, Clone, PartialEq)]
pub struct CredentialsExposed {
    pub access_key_ids: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HealthDetail {
    event_type_code: String,
    #[serde(default)]
    affected_entities: Vec<HealthEntity>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct HealthEntity {
    entity_value: String,
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
    pub notification_time: Option<chrono::DateTime<chrono::Utc>>,
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
    notification_creation_time: Option<chrono::DateTime<chrono::Utc>>,
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

/// An operator's payload. Unknown fields are an error: `{"dryrun": true}` must never run for real.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManualPayload {
    #[serde(default)]
    pub users: Option<Vec<String>>,
    #[serde(default)]
    pub groups: Option<Vec<String>>,
    #[serde(default)]
    pub roles: Option<Vec<String>>,
    #[serde(default)]
    pub dry_run: Option<bool>,
    #[serde(default)]
    pub access_key_id: Option<String>,
    #[serde(default)]
    pub action: Option<KeyOrderAction>,
}

impl ManualPayload {
    /// True when the payload names no principal: the whole account.
    pub fn is_account_wide(&self) -> bool {
        self.users.is_none()
            && self.groups.is_none()
            && self.roles.is_none()
            && self.access_key_id.is_none()
    }
}

/// An operator's explicit order on one access key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyOrderAction {
    Deactivate,
    Rotate,
    Delete,
}

/// Reads an invocation's event.
pub fn parse(event: Value, inputs: &Inputs) -> Result<Trigger> {
    let Value::Object(object) = event else {
        return Err(Error::InvalidEvent(format!(
            "expected a JSON object, got {}",
            json_kind(&event)
        )));
    };
    if object.contains_key("detail-type") || object.contains_key("source") {
        return parse_eventbridge(Value::Object(object), inputs);
    }
    if object.contains_key("invokingEvent") || object.contains_key("resultToken") {
        return parse_config_rule(Value::Object(object));
    }
    parse_manual(Value::Object(object), inputs.manual).map(Trigger::Manual)
}

fn parse_eventbridge(event: Value, inputs: &Inputs) -> Result<Trigger> {
    let envelope: CloudWatchEvent<Value> = serde_json::from_value(event)
        .map_err(|e| Error::InvalidEvent(format!("not an EventBridge event: {e}")))?;
    let source = envelope.source.as_deref().unwrap_or("");
    let detail_type = envelope.detail_type.as_deref().unwrap_or("");
    let detail = envelope.detail.unwrap_or(Value::Null);
    match (source, detail_type) {
        ("aws.events", "Scheduled Event") => Ok(Trigger::Schedule),
        ("aws.iam", "AWS API Call via CloudTrail") => {
            let call: ApiCall = read_detail(detail, detail_type)?;
            if !inputs.cloudtrail_events.contains(&call.event_name.as_str()) {
                return Err(Error::InvalidEvent(format!(
                    "CloudTrail event {} is not handled here (handled: {})",
                    call.event_name,
                    inputs.cloudtrail_events.join(", ")
                )));
            }
            Ok(Trigger::ApiCall(call))
        }
        ("aws.config", "Config Rules Compliance Change") => {
            let change: ComplianceChange = read_detail(detail, detail_type)?;
            if change.resource_id.is_empty() {
                return Err(Error::InvalidEvent("detail.resourceId is empty".into()));
            }
            Ok(Trigger::ComplianceChange(change))
        }
        ("aws.health", "AWS Health Event") if inputs.health => {
            let health: HealthDetail = read_detail(detail, detail_type)?;
            if health.event_type_code != CREDENTIALS_EXPOSED {
                return Err(Error::InvalidEvent(format!(
                    "AWS Health event {} is not handled here (handled: {CREDENTIALS_EXPOSED})",
                    health.event_type_code
                )));
            }
            let mut access_key_ids = Vec::new();
            for entity in health.affected_entities {
                if !is_valid_access_key_id(&entity.entity_value) {
                    return Err(Error::InvalidEvent(format!(
                        "affected entity {:?} is not an access key ID",
                        entity.entity_value
                    )));
                }
                if !access_key_ids.contains(&entity.entity_value) {
                    access_key_ids.push(entity.entity_value);
                }
            }
            if access_key_ids.is_empty() {
                return Err(Error::InvalidEvent(
                    "AWS Health event names no affected access key".into(),
                ));
            }
            Ok(Trigger::CredentialsExposed(CredentialsExposed {
                access_key_ids,
            }))
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

fn parse_config_rule(event: Value) -> Result<Trigger> {
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
    Ok(Trigger::ConfigRule(ConfigRuleInvocation {
        config_rule_name: event.config_rule_name,
        account_id: event.account_id,
        result_token,
        event_left_scope: event.event_left_scope,
        message_type: invoking.message_type,
        resource,
        notification_time: invoking.notification_creation_time,
    }))
}

fn parse_manual(event: Value, fields: ManualFields) -> Result<ManualPayload> {
    let payload: ManualPayload = serde_json::from_value(event)
        .map_err(|e| Error::InvalidEvent(format!("manual payload: {e}")))?;
    let refuse = |field: &str| {
        Err(Error::InvalidEvent(format!(
            "manual payload: field `{field}` is not accepted by this function"
        )))
    };
    for (field, present, allowed) in [
        ("users", payload.users.is_some(), fields.users),
        ("groups", payload.groups.is_some(), fields.groups),
        ("roles", payload.roles.is_some(), fields.roles),
        (
            "access_key_id",
            payload.access_key_id.is_some(),
            fields.key_order,
        ),
        ("action", payload.action.is_some(), fields.key_order),
    ] {
        if present && !allowed {
            return refuse(field);
        }
    }
    for (field, names) in [
        ("users", &payload.users),
        ("groups", &payload.groups),
        ("roles", &payload.roles),
    ] {
        let Some(names) = names else { continue };
        if names.is_empty() {
            return Err(Error::InvalidEvent(format!(
                "manual payload: `{field}` is empty; leave it out to cover the whole account"
            )));
        }
        if let Some(bad) = names.iter().find(|n| !is_valid_name(n)) {
            return Err(Error::InvalidEvent(format!(
                "manual payload: {bad:?} in `{field}` is not a valid IAM name"
            )));
        }
    }
    match (&payload.access_key_id, payload.action) {
        (Some(id), Some(_)) => {
            if !is_valid_access_key_id(id) {
                return Err(Error::InvalidEvent(format!(
                    "manual payload: {id:?} is not an access key ID"
                )));
            }
            if payload.users.is_some() {
                return Err(Error::InvalidEvent(
                    "manual payload: give either `users` or `access_key_id`, not both".into(),
                ));
            }
        }
        (Some(_), None) => {
            return Err(Error::InvalidEvent(
                "manual payload: `access_key_id` needs `action` (deactivate, rotate or delete)"
                    .into(),
            ));
        }
        (None, Some(_)) => {
            return Err(Error::InvalidEvent(
                "manual payload: `action` needs `access_key_id`".into(),
            ));
        }
        (None, None) => {}
    }
    Ok(payload)
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
mod tests {
    use super::*;
    use serde_json::json;

    const INPUTS: Inputs = Inputs {
        cloudtrail_events: &["CreateAccessKey", "UpdateAccessKey"],
        health: true,
        manual: ManualFields {
            users: true,
            groups: false,
            roles: false,
            key_order: true,
        },
    };

    fn eventbridge(source: &str, detail_type: &str, detail: &Value) -> Value {
        json!({
            "version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
            "detail-type": detail_type, "source": source, "account": "123456789012",
            "time": "2026-11-01T12:00:00Z", "region": "us-east-1", "resources": [],
            "detail": detail
        })
    }

    fn invalid(event: Value) -> String {
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
    fn cloudtrail_call_with_its_parameters() {
        let event = eventbridge(
            "aws.iam",
            "AWS API Call via CloudTrail",
            &json!({"eventName": "UpdateAccessKey", "eventSource": "iam.amazonaws.com",
                   "requestParameters": {"userName": "alice", "accessKeyId": "AKIAIOSFODNN7EXAMPLE", "status": "Active"},
                   "responseElements": null,
                   "userIdentity": {"type": "IAMUser", "userName": "bob"}}),
        );
        let Trigger::ApiCall(call) = parse(event, &INPUTS).unwrap() else {
            panic!()
        };
        assert_eq!(call.event_name, "UpdateAccessKey");
        assert_eq!(call.principal_name("userName").unwrap(), Some("alice"));
        assert_eq!(
            call.parameter("accessKeyId").unwrap(),
            Some("AKIAIOSFODNN7EXAMPLE")
        );
        assert_eq!(call.calling_user(), Some("bob"));
        assert_eq!(call.error_code, None);
    }

    #[test]
    fn cloudtrail_bad_names_and_unhandled_calls_are_errors() {
        let event = eventbridge(
            "aws.iam",
            "AWS API Call via CloudTrail",
            &json!({"eventName": "CreateAccessKey", "requestParameters": {"userName": "bad/name"}}),
        );
        let Trigger::ApiCall(call) = parse(event, &INPUTS).unwrap() else {
            panic!()
        };
        assert!(call.principal_name("userName").is_err());

        let event = eventbridge(
            "aws.iam",
            "AWS API Call via CloudTrail",
            &json!({"eventName": "DeleteUser", "requestParameters": {"userName": "alice"}}),
        );
        assert!(invalid(event).contains("DeleteUser is not handled"));
        let event = eventbridge(
            "aws.iam",
            "AWS API Call via CloudTrail",
            &json!({"requestParameters": {}}),
        );
        assert!(invalid(event).contains("eventName"));
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
    }

    #[test]
    fn health_exposed_keys() {
        let event = eventbridge(
            "aws.health",
            "AWS Health Event",
            &json!({"eventTypeCode": "AWS_RISK_CREDENTIALS_EXPOSED", "service": "RISK",
                   "affectedEntities": [{"entityValue": "AKIAIOSFODNN7EXAMPLE"}, {"entityValue": "AKIAIOSFODNN7EXAMPLE"}]}),
        );
        assert_eq!(
            parse(event, &INPUTS).unwrap(),
            Trigger::CredentialsExposed(CredentialsExposed {
                access_key_ids: vec!["AKIAIOSFODNN7EXAMPLE".into()]
            })
        );
        let other = eventbridge(
            "aws.health",
            "AWS Health Event",
            &json!({"eventTypeCode": "AWS_EC2_MAINTENANCE"}),
        );
        assert!(invalid(other).contains("AWS_EC2_MAINTENANCE"));
        let empty = eventbridge(
            "aws.health",
            "AWS Health Event",
            &json!({"eventTypeCode": "AWS_RISK_CREDENTIALS_EXPOSED"}),
        );
        assert!(invalid(empty).contains("no affected access key"));
        let not_a_key = eventbridge(
            "aws.health",
            "AWS Health Event",
            &json!({"eventTypeCode": "AWS_RISK_CREDENTIALS_EXPOSED", "affectedEntities": [{"entityValue": "alice"}]}),
        );
        assert!(invalid(not_a_key).contains("not an access key ID"));
    }

    #[test]
    fn health_is_refused_by_functions_that_do_not_take_it() {
        let inputs = Inputs {
            health: false,
            ..INPUTS
        };
        let event = eventbridge(
            "aws.health",
            "AWS Health Event",
            &json!({"eventTypeCode": "AWS_RISK_CREDENTIALS_EXPOSED", "affectedEntities": [{"entityValue": "AKIAIOSFODNN7EXAMPLE"}]}),
        );
        assert!(matches!(parse(event, &inputs), Err(Error::InvalidEvent(_))));
    }

    #[test]
    fn config_rule_invocations() {
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
    }

    #[test]
    fn manual_payloads() {
        let Trigger::Manual(payload) =
            parse(json!({"users": ["alice"], "dry_run": true}), &INPUTS).unwrap()
        else {
            panic!()
        };
        assert_eq!(payload.users, Some(vec!["alice".to_owned()]));
        assert_eq!(payload.dry_run, Some(true));
        let Trigger::Manual(payload) = parse(
            json!({"access_key_id": "AKIAIOSFODNN7EXAMPLE", "action": "deactivate"}),
            &INPUTS,
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(payload.action, Some(KeyOrderAction::Deactivate));
        assert!(parse(json!({}), &INPUTS).is_ok());
    }

    #[test]
    fn manual_mistakes_are_errors_that_name_the_problem() {
        assert!(invalid(json!({"dryrun": true})).contains("dryrun"));
        assert!(invalid(json!({"groups": ["admins"]})).contains("`groups` is not accepted"));
        assert!(invalid(json!({"users": []})).contains("empty"));
        assert!(invalid(json!({"users": ["a b"]})).contains("not a valid IAM name"));
        assert!(invalid(json!({"users": "alice"})).contains("manual payload"));
        assert!(invalid(json!({"dry_run": "yes"})).contains("manual payload"));
        assert!(
            invalid(json!({"access_key_id": "AKIAIOSFODNN7EXAMPLE"})).contains("needs `action`")
        );
        assert!(invalid(json!({"action": "delete"})).contains("needs `access_key_id`"));
        assert!(
            invalid(json!({"access_key_id": "nope", "action": "delete"}))
                .contains("not an access key ID")
        );
        assert!(
            invalid(json!({"access_key_id": "AKIAIOSFODNN7EXAMPLE", "action": "explode"}))
                .contains("manual payload")
        );
        assert!(
            invalid(json!({"access_key_id": "AKIAIOSFODNN7EXAMPLE", "action": "delete", "users": ["alice"]}))
                .contains("not both")
        );
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
