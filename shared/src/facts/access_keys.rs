//! Live facts about access keys: the key list of one user, each key's last use, and the
//! deactivation records this system keeps as user tags.

use std::collections::BTreeMap;

use aws_sdk_iam::Client;
use aws_sdk_iam::types::StatusType;
use chrono::{DateTime, SecondsFormat, Utc};

use super::to_utc;
use crate::error::{Error, Result};

/// Tag key prefix of a key record: `iam-remediation:key:<AccessKeyId>`. This system keeps what it
/// did to a key in IAM itself, as a tag on the key's user, so no database is needed:
/// `deactivated <time>` (the quiet-period rule deletes only keys with such a record) or
/// `replaced-by <AccessKeyId>` (a rotation waiting for its grace period).
pub const KEY_RECORD_PREFIX: &str = "iam-remediation:key:";

/// What this system did to a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRecord {
    /// Deactivated by this system at that time.
    Deactivated(DateTime<Utc>),
    /// Rotated: replaced by that key, stored in the user's secret; retired after grace.
    ReplacedBy(String),
}

impl KeyRecord {
    /// The tag value of the record.
    pub fn tag_value(&self) -> String {
        match self {
            Self::Deactivated(at) => format!(
                "deactivated {}",
                at.to_rfc3339_opts(SecondsFormat::Secs, true)
            ),
            Self::ReplacedBy(key_id) => format!("replaced-by {key_id}"),
        }
    }

    fn parse(value: &str) -> Option<Self> {
        let (kind, argument) = value.split_once(' ')?;
        match kind {
            "deactivated" => DateTime::parse_from_rfc3339(argument)
                .ok()
                .map(|at| Self::Deactivated(at.with_timezone(&Utc))),
            "replaced-by" if crate::principal::is_valid_access_key_id(argument) => {
                Some(Self::ReplacedBy(argument.to_owned()))
            }
            _ => None,
        }
    }
}

/// The tag key of the record of `key_id`.
pub fn record_tag_key(key_id: &str) -> String {
    format!("{KEY_RECORD_PREFIX}{key_id}")
}

/// Key records found in a user's tags, by key ID. Unreadable values are left out: a record we
/// cannot read never leads to a deletion.
pub fn key_records(tags: &[(String, String)]) -> BTreeMap<String, KeyRecord> {
    tags.iter()
        .filter_map(|(key, value)| {
            let key_id = key.strip_prefix(KEY_RECORD_PREFIX)?;
            Some((key_id.to_owned(), KeyRecord::parse(value)?))
        })
        .collect()
}

/// One access key as IAM reports it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFacts {
    pub id: String,
    pub active: bool,
    pub created: DateTime<Utc>,
    /// The key's last use: `None` when not read (not needed), `Some(None)` when never used.
    pub last_used: Option<Option<DateTime<Utc>>>,
}

/// The user's access keys, live (ListAccessKeys; a user has at most two).
pub async fn list_keys(iam: &Client, user: &str) -> Result<Vec<KeyFacts>> {
    let output = iam
        .list_access_keys()
        .user_name(user)
        .send()
        .await
        .map_err(|e| Error::aws("ListAccessKeys", &e))?;
    output
        .access_key_metadata
        .into_iter()
        .map(|key| {
            let incomplete = || Error::Aws {
                operation: "ListAccessKeys",
                code: "InvalidResponse".to_owned(),
                message: format!("a key of {user} without its ID or creation date"),
            };
            Ok(KeyFacts {
                id: key.access_key_id.ok_or_else(incomplete)?,
                active: key.status == Some(StatusType::Active),
                created: to_utc("ListAccessKeys", key.create_date.ok_or_else(incomplete)?)?,
                last_used: None,
            })
        })
        .collect()
}

/// Who owns a key and when it was last used (GetAccessKeyLastUsed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyLastUse {
    pub user: String,
    pub last_used: Option<DateTime<Utc>>,
}

/// Reads a key's owner and last use; a key that does not exist is [`Error::NotFound`].
pub async fn last_use(iam: &Client, key_id: &str) -> Result<KeyLastUse> {
    let output = iam
        .get_access_key_last_used()
        .access_key_id(key_id)
        .send()
        .await
        .map_err(|e| {
            let error = Error::aws("GetAccessKeyLastUsed", &e);
            if error.is_no_such_entity() {
                Error::NotFound {
                    kind: "access key",
                    name: key_id.to_owned(),
                }
            } else {
                error
            }
        })?;
    let user = output.user_name.ok_or_else(|| Error::NotFound {
        kind: "access key",
        name: key_id.to_owned(),
    })?;
    Ok(KeyLastUse {
        user,
        last_used: output
            .access_key_last_used
            .and_then(|used| used.last_used_date)
            .map(|time| to_utc("GetAccessKeyLastUsed", time))
            .transpose()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_ignore_other_tags() {
        let at = DateTime::parse_from_rfc3339("2026-05-01T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let deactivated = KeyRecord::Deactivated(at);
        let replaced = KeyRecord::ReplacedBy("AKIAREPLACEMENT00001".into());
        let tags = vec![
            (
                record_tag_key("AKIAIOSFODNN7EXAMPLE"),
                deactivated.tag_value(),
            ),
            (record_tag_key("AKIAROTATED000000001"), replaced.tag_value()),
            (
                record_tag_key("AKIAOTHER0000000000"),
                "deactivated yesterday".to_owned(),
            ),
            (
                record_tag_key("AKIAOTHER0000000001"),
                "replaced-by nobody".to_owned(),
            ),
            (
                "team".to_owned(),
                "deactivated 2026-05-01T10:00:00Z".to_owned(),
            ),
        ];
        let records = key_records(&tags);
        assert_eq!(records.len(), 2);
        assert_eq!(records["AKIAIOSFODNN7EXAMPLE"], deactivated);
        assert_eq!(records["AKIAROTATED000000001"], replaced);
        assert_eq!(deactivated.tag_value(), "deactivated 2026-05-01T10:00:00Z");
    }
}
