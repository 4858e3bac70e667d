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
    /// Organisation mode: the accounts the payload is for (`None`: the function's own).
    pub accounts: Option<Accounts>,
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

    /// The same payload for one account (`"accounts": [account]`, the other fields as given):
    /// what a fanned-out invocation receives.
    pub fn for_account(&self, account: &str) -> Value {
        let mut object = self.fields.clone();
        object.insert("accounts".into(), Value::from(vec![account]));
        for kind in PrincipalKind::ALL {
            if let Some(names) = self.names(kind) {
                object.insert(kind.plural().into(), Value::from(names.to_vec()));
            }
        }
        if let Some(dry_run) = self.dry_run {
            object.insert("dry_run".into(), Value::Bool(dry_run));
        }
        Value::Object(object)
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
        accounts: object.remove("accounts").map(accounts).transpose()?,
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

/// The accounts a manual payload is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accounts {
    /// `["*"]`: every active account of the organisation.
    All,
    /// These account IDs, each once, in the order given.
    Ids(Vec<String>),
}

/// Reads `accounts`: a non-empty list of 12-digit account IDs, or `["*"]`.
fn accounts(value: Value) -> Result<Accounts> {
    let refuse = |why: &str| {
        Err(Error::InvalidEvent(format!(
            "manual payload: `accounts` {why}: give a list of 12-digit account IDs, or [\"*\"] \
             for every active account"
        )))
    };
    let Ok(ids) = serde_json::from_value::<Vec<String>>(value) else {
        return refuse("is not a list of strings");
    };
    if ids.is_empty() {
        return refuse("is empty");
    }
    if ids.iter().any(|id| id == "*") {
        return if ids.len() == 1 {
            Ok(Accounts::All)
        } else {
            refuse("mixes \"*\" with account IDs")
        };
    }
    if let Some(bad) = ids.iter().find(|id| !crate::config::is_account_id(id)) {
        return refuse(&format!("holds {bad:?}, not a 12-digit account ID"));
    }
    let mut unique: Vec<String> = Vec::with_capacity(ids.len());
    for id in ids {
        if !unique.contains(&id) {
            unique.push(id);
        }
    }
    Ok(Accounts::Ids(unique))
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

    #[test]
    fn accounts_are_twelve_digit_ids_or_every_account() {
        use super::Accounts;
        let accounts = |value| match parse(json!({ "accounts": value }), &INPUTS).unwrap() {
            Trigger::Manual(payload) => payload.accounts,
            other => panic!("{other:?}"),
        };
        assert_eq!(accounts(json!(["*"])), Some(Accounts::All));
        assert_eq!(
            accounts(json!(["111122223333", "444455556666", "111122223333"])),
            Some(Accounts::Ids(vec![
                "111122223333".into(),
                "444455556666".into()
            ]))
        );
        for (bad, why) in [
            (json!("111122223333"), "not a list"),
            (json!([]), "is empty"),
            (json!(["12345"]), "\"12345\", not a 12-digit"),
            (json!(["*", "111122223333"]), "mixes"),
            (json!([111_122_223_333_u64]), "not a list of strings"),
        ] {
            let message = invalid(json!({ "accounts": bad }));
            assert!(
                message.contains("`accounts`") && message.contains(why),
                "{message}"
            );
        }
    }

    #[test]
    fn a_payload_for_one_account_keeps_the_other_fields() {
        let Trigger::Manual(payload) = parse(
            json!({"accounts": ["*"], "users": ["alice"], "dry_run": true, "access_key_id": "AKIAIOSFODNN7EXAMPLE", "action": "deactivate"}),
            &INPUTS,
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(
            payload.for_account("111122223333"),
            json!({"accounts": ["111122223333"], "users": ["alice"], "dry_run": true,
                   "access_key_id": "AKIAIOSFODNN7EXAMPLE", "action": "deactivate"})
        );
    }
}
