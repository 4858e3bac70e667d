//! What only access-keys takes as input: an operator's order on one key (manual payload
//! `{"access_key_id": "AKIA…", "action": "deactivate" | "rotate" | "delete"}`) and AWS Health's
//! exposed keys.

use iam_remediation::intake::{HealthEvent, ManualPayload};
use iam_remediation::principal::is_valid_access_key_id;
use iam_remediation::{Error, Result};
use serde_json::Value;

/// The Health event type this function acts on.
pub const CREDENTIALS_EXPOSED: &str = "AWS_RISK_CREDENTIALS_EXPOSED";

/// What an operator orders done to one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderAction {
    Deactivate,
    Rotate,
    Delete,
}

/// An operator's order on one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorOrder {
    pub key_id: String,
    pub action: OrderAction,
}

fn invalid(message: &str) -> Error {
    Error::InvalidEvent(format!("manual payload: {message}"))
}

/// Reads the order from a manual payload's own fields. Anything else is an error: a mistyped
/// field must never run for real.
pub fn parse(payload: &ManualPayload) -> Result<OperatorOrder> {
    if let Some(field) = payload
        .fields
        .keys()
        .find(|f| !matches!(f.as_str(), "access_key_id" | "action"))
    {
        return Err(invalid(&format!(
            "unknown field `{field}` (this function takes: users, dry_run, access_key_id, action)"
        )));
    }
    let text = |field: &str| match payload.fields.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(value)) => Ok(Some(value.as_str())),
        Some(other) => Err(invalid(&format!("`{field}` must be a string, not {other}"))),
    };
    let (key_id, action) = match (text("access_key_id")?, text("action")?) {
        (Some(key_id), Some(action)) => (key_id, action),
        (Some(_), None) => {
            return Err(invalid(
                "`access_key_id` needs `action` (deactivate, rotate or delete)",
            ));
        }
        (None, _) => return Err(invalid("`action` needs `access_key_id`")),
    };
    if !is_valid_access_key_id(key_id) {
        return Err(invalid(&format!("{key_id:?} is not an access key ID")));
    }
    let action = match action {
        "deactivate" => OrderAction::Deactivate,
        "rotate" => OrderAction::Rotate,
        "delete" => OrderAction::Delete,
        other => {
            return Err(invalid(&format!(
                "action {other:?} is not deactivate, rotate or delete"
            )));
        }
    };
    if payload.users.is_some() {
        return Err(invalid("give either `users` or `access_key_id`, not both"));
    }
    Ok(OperatorOrder {
        key_id: key_id.to_owned(),
        action,
    })
}

/// The keys an `AWS_RISK_CREDENTIALS_EXPOSED` event names.
pub fn exposed_keys(event: &HealthEvent) -> Result<Vec<String>> {
    if let Some(bad) = event.entities.iter().find(|e| !is_valid_access_key_id(e)) {
        return Err(Error::InvalidEvent(format!(
            "affected entity {bad:?} is not an access key ID"
        )));
    }
    if event.entities.is_empty() {
        return Err(Error::InvalidEvent(
            "AWS Health event names no affected access key".into(),
        ));
    }
    Ok(event.entities.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use iam_remediation::intake::{self, Trigger};
    use serde_json::json;

    fn order(payload: Value) -> Result<OperatorOrder> {
        let inputs = <crate::AccessKeys as iam_remediation::Remediation>::INPUTS;
        match intake::parse(payload, &inputs)? {
            Trigger::Manual(payload) => parse(&payload),
            other => panic!("{other:?}"),
        }
    }

    fn refused(payload: Value) -> String {
        match order(payload) {
            Err(Error::InvalidEvent(message)) => message,
            other => panic!("expected InvalidEvent, got {other:?}"),
        }
    }

    #[test]
    fn an_order_on_one_key() {
        assert_eq!(
            order(json!({"access_key_id": "AKIAIOSFODNN7EXAMPLE", "action": "deactivate"}))
                .unwrap(),
            OperatorOrder {
                key_id: "AKIAIOSFODNN7EXAMPLE".into(),
                action: OrderAction::Deactivate
            }
        );
    }

    #[test]
    fn mistakes_are_errors_that_name_the_problem() {
        assert!(refused(json!({"dryrun": true})).contains("unknown field `dryrun`"));
        assert!(
            refused(json!({"access_key_id": "AKIAIOSFODNN7EXAMPLE"})).contains("needs `action`")
        );
        assert!(refused(json!({"action": "delete"})).contains("needs `access_key_id`"));
        assert!(
            refused(json!({"access_key_id": "nope", "action": "delete"}))
                .contains("not an access key ID")
        );
        assert!(
            refused(json!({"access_key_id": "AKIAIOSFODNN7EXAMPLE", "action": "explode"}))
                .contains("explode")
        );
        assert!(
            refused(json!({"access_key_id": "AKIAIOSFODNN7EXAMPLE", "action": 3}))
                .contains("string")
        );
        assert!(
            refused(json!({"access_key_id": "AKIAIOSFODNN7EXAMPLE", "action": "delete", "users": ["alice"]}))
                .contains("not both")
        );
    }

    #[test]
    fn exposed_keys_must_be_key_ids() {
        let event = |entities: &[&str]| HealthEvent {
            event_type_code: CREDENTIALS_EXPOSED.into(),
            entities: entities.iter().map(|e| (*e).to_owned()).collect(),
        };
        assert_eq!(
            exposed_keys(&event(&["AKIAIOSFODNN7EXAMPLE"])).unwrap(),
            ["AKIAIOSFODNN7EXAMPLE"]
        );
        assert!(
            exposed_keys(&event(&["alice"]))
                .unwrap_err()
                .to_string()
                .contains("not an access key ID")
        );
        assert!(
            exposed_keys(&event(&[]))
                .unwrap_err()
                .to_string()
                .contains("no affected access key")
        );
    }
}
