//! `AWS API Call via CloudTrail` events.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::principal::is_valid_name;

/// `detail` of an `AWS API Call via CloudTrail` event.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApiCall {
    pub event_name: String,
    /// When the call was made.
    #[serde(default)]
    pub event_time: Option<DateTime<Utc>>,
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

    /// The kind of identity that made the call (`userIdentity.type`: `IAMUser`, `Root`, …).
    fn caller_type(&self) -> Option<&str> {
        self.user_identity.as_ref()?.get("type")?.as_str()
    }

    /// The IAM user that made the call, when it was an IAM user (`userIdentity.type` `IAMUser`).
    pub fn calling_user(&self) -> Option<&str> {
        (self.caller_type()? == "IAMUser")
            .then(|| self.user_identity.as_ref()?.get("userName")?.as_str())
            .flatten()
    }

    /// True when the root user made the call (`userIdentity.type` `Root`, also through an
    /// `sts:AssumeRoot` session).
    pub fn made_by_root(&self) -> bool {
        self.caller_type() == Some("Root")
    }

    /// The user a call is about: `requestParameters.userName`, else the user named in the
    /// answer at `response_pointer`, else the calling IAM user (IAM applies user-level calls
    /// without a user name to the caller).
    pub fn user(&self, response_pointer: &str) -> Result<&str> {
        match self.principal_name("userName")? {
            Some(user) => Ok(user),
            None => self
                .response_element(response_pointer)
                .or_else(|| self.calling_user())
                .ok_or_else(|| Error::InvalidEvent(format!("{} names no user", self.event_name))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{INPUTS, eventbridge, invalid};
    use super::super::{Trigger, parse};
    use super::ApiCall;
    use serde_json::{Value, json};

    /// A CloudTrail event with `detail`.
    fn event(detail: &Value) -> Value {
        eventbridge("aws.iam", "AWS API Call via CloudTrail", detail)
    }

    /// The call an event with `detail` is read as.
    fn call(detail: &Value) -> ApiCall {
        let Trigger::ApiCall(call) = parse(event(detail), &INPUTS).unwrap() else {
            panic!("not an API call")
        };
        call
    }

    #[test]
    fn a_call_with_its_parameters() {
        let call = call(
            &json!({"eventName": "UpdateAccessKey", "eventSource": "iam.amazonaws.com", "eventTime": "2026-11-22T10:00:00Z",
                   "requestParameters": {"userName": "alice", "accessKeyId": "AKIAIOSFODNN7EXAMPLE", "status": "Active"},
                   "responseElements": null,
                   "userIdentity": {"type": "IAMUser", "userName": "bob"}}),
        );
        assert_eq!(call.event_name, "UpdateAccessKey");
        assert_eq!(call.principal_name("userName").unwrap(), Some("alice"));
        assert_eq!(call.user("/accessKey/userName").unwrap(), "alice");
        assert_eq!(
            call.parameter("accessKeyId").unwrap(),
            Some("AKIAIOSFODNN7EXAMPLE")
        );
        assert_eq!(call.calling_user(), Some("bob"));
        assert_eq!(call.error_code, None);
        assert_eq!(
            call.event_time.unwrap().to_rfc3339(),
            "2026-11-22T10:00:00+00:00"
        );
    }

    #[test]
    fn the_user_falls_back_to_the_answer_then_the_caller() {
        let answered = call(
            &json!({"eventName": "CreateAccessKey", "responseElements": {"accessKey": {"userName": "carol"}}}),
        );
        assert_eq!(answered.user("/accessKey/userName").unwrap(), "carol");
        let caller = call(
            &json!({"eventName": "CreateAccessKey", "userIdentity": {"type": "IAMUser", "userName": "dave"}}),
        );
        assert_eq!(caller.user("/accessKey/userName").unwrap(), "dave");
        let nobody = call(&json!({"eventName": "CreateAccessKey"}));
        assert!(
            nobody
                .user("/accessKey/userName")
                .unwrap_err()
                .to_string()
                .contains("names no user")
        );
    }

    #[test]
    fn bad_names_and_unhandled_calls_are_errors() {
        let bad_name = call(
            &json!({"eventName": "CreateAccessKey", "requestParameters": {"userName": "bad/name"}}),
        );
        assert!(bad_name.principal_name("userName").is_err());
        let unhandled =
            event(&json!({"eventName": "DeleteUser", "requestParameters": {"userName": "alice"}}));
        assert!(invalid(unhandled).contains("DeleteUser is not handled"));
        assert!(invalid(event(&json!({"requestParameters": {}}))).contains("eventName"));
    }
}
