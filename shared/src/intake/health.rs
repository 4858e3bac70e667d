//! AWS Health events.

use serde::Deserialize;
use serde_json::Value;

use crate::error::{Error, Result};

/// An AWS Health event: its type and the entities it names (for
/// `AWS_RISK_CREDENTIALS_EXPOSED`, access key IDs). The function that handles the type checks
/// what the entities are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthEvent {
    pub event_type_code: String,
    /// `affectedEntities[].entityValue`, deduplicated, in the order given.
    pub entities: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Detail {
    event_type_code: String,
    #[serde(default)]
    affected_entities: Vec<Entity>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entity {
    entity_value: String,
}

pub(super) fn parse(detail: Value) -> Result<HealthEvent> {
    let detail: Detail = serde_json::from_value(detail)
        .map_err(|e| Error::InvalidEvent(format!("AWS Health Event: unreadable detail: {e}")))?;
    let mut entities = Vec::new();
    for entity in detail.affected_entities {
        if !entities.contains(&entity.entity_value) {
            entities.push(entity.entity_value);
        }
    }
    Ok(HealthEvent {
        event_type_code: detail.event_type_code,
        entities,
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::{INPUTS, eventbridge, invalid};
    use super::super::{Trigger, parse};
    use super::HealthEvent;
    use serde_json::json;

    #[test]
    fn entities_are_deduplicated_and_other_types_refused() {
        let event = eventbridge(
            "aws.health",
            "AWS Health Event",
            &json!({"eventTypeCode": "AWS_RISK_CREDENTIALS_EXPOSED", "service": "RISK",
                   "affectedEntities": [{"entityValue": "AKIAIOSFODNN7EXAMPLE"}, {"entityValue": "AKIAIOSFODNN7EXAMPLE"}]}),
        );
        assert_eq!(
            parse(event, &INPUTS).unwrap(),
            Trigger::Health(HealthEvent {
                event_type_code: "AWS_RISK_CREDENTIALS_EXPOSED".into(),
                entities: vec!["AKIAIOSFODNN7EXAMPLE".into()]
            })
        );
        let other = eventbridge(
            "aws.health",
            "AWS Health Event",
            &json!({"eventTypeCode": "AWS_EC2_MAINTENANCE"}),
        );
        assert!(invalid(other).contains("AWS_EC2_MAINTENANCE"));
        let unreadable = eventbridge(
            "aws.health",
            "AWS Health Event",
            &json!({"service": "RISK"}),
        );
        assert!(invalid(unreadable).contains("eventTypeCode"));
    }
}
