//! An operator's manual payload: `{"users": [...], "dry_run": true}`, plus the fields only some
//! functions take (access-keys' order on one key), which the function itself reads.

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::principal::{PrincipalKind, is_valid_name};

/// An operator's payload. Unknown fields are an error (`{"dryrun": true}` must never run for
/// real): the fields every function knows are read here, and whatever is left goes to the
/// function, which refuses what it does not know.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ManualPayload {
    pub users: Option<Vec<String>>,
    pub groups: Option<Vec<String>>,
    pub roles: Option<Vec<String>>,
    pub dry_run: Option<bool>,
    /// The function's own fields (for example `access_key_id` and `action`).
    pub fields: Map<String, Value>,
}

impl ManualPayload {
    /// The names given for `kind`.
    pub fn names(&self, kind: PrincipalKind) -> Option<&[String]> {
        match kind {
            PrincipalKind::User => self.users.as_deref(),
            PrincipalKind::Group => self.groups.as_deref(),
            PrincipalKind::Role => self.roles.as_deref(),
        }
    }

    /// True when the payload names no principal and has no function field: the whole account.
    pub fn is_account_wide(&self) -> bool {
        PrincipalKind::ALL
            .iter()
            .all(|kind| self.names(*kind).is_none())
            && self.fields.is_empty()
    }
}

pub(super) fn parse(
    mut object: Map<String, Value>,
    principals: &[PrincipalKind],
) -> Result<ManualPayload> {
    let refuse = |message: String| Err(Error::InvalidEvent(format!("manual payload: {message}")));
    let dry_run = match object.remove("dry_run") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(value)) => Some(value),
        Some(other) => return refuse(format!("`dry_run` must be true or false, not {other}")),
    };
    let mut payload = ManualPayload {
        dry_run,
        ..ManualPayload::default()
    };
    for kind in PrincipalKind::ALL {
        let field = kind.plural();
        let Some(value) = object.remove(field) else {
            continue;
        };
        if !principals.contains(&kind) {
            return refuse(format!("field `{field}` is not accepted by this function"));
        }
        let names: Vec<String> = match serde_json::from_value(value) {
            Ok(names) => names,
            Err(_) => return refuse(format!("`{field}` must be a list of names")),
        };
        if names.is_empty() {
            return refuse(format!(
                "`{field}` is empty; leave it out to cover the whole account"
            ));
        }
        if let Some(bad) = names.iter().find(|n| !is_valid_name(n)) {
            return refuse(format!("{bad:?} in `{field}` is not a valid IAM name"));
        }
        match kind {
            PrincipalKind::User => payload.users = Some(names),
            PrincipalKind::Group => payload.groups = Some(names),
            PrincipalKind::Role => payload.roles = Some(names),
        }
    }
    payload.fields = object;
    Ok(payload)
}

#[cfg(test)]
mod tests {
    use super::super::tests::{INPUTS, invalid};
    use super::super::{Trigger, parse};
    use serde_json::json;

    #[test]
    fn payloads() {
        let Trigger::Manual(payload) =
            parse(json!({"users": ["alice"], "dry_run": true}), &INPUTS).unwrap()
        else {
            panic!()
        };
        assert_eq!(payload.users, Some(vec!["alice".to_owned()]));
        assert_eq!(payload.dry_run, Some(true));
        assert!(payload.fields.is_empty() && !payload.is_account_wide());
        let Trigger::Manual(payload) = parse(
            json!({"access_key_id": "AKIAIOSFODNN7EXAMPLE", "action": "deactivate"}),
            &INPUTS,
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(payload.fields.len(), 2, "left for the function to read");
        let Trigger::Manual(payload) = parse(json!({}), &INPUTS).unwrap() else {
            panic!()
        };
        assert!(payload.is_account_wide());
    }

    #[test]
    fn mistakes_are_errors_that_name_the_problem() {
        assert!(invalid(json!({"groups": ["admins"]})).contains("`groups` is not accepted"));
        assert!(invalid(json!({"users": []})).contains("empty"));
        assert!(invalid(json!({"users": ["a b"]})).contains("not a valid IAM name"));
        assert!(invalid(json!({"users": "alice"})).contains("list of names"));
        assert!(invalid(json!({"dry_run": "yes"})).contains("`dry_run` must be true or false"));
    }
}
