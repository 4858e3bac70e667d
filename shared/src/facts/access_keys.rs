//! Live facts about access keys: the key list of one user, each key's last use, and the
//! deactivation records this system keeps as user tags.

use std::collections::BTreeMap;

use aws_sdk_iam::Client;
use aws_sdk_iam::types::StatusType;
use chrono::{DateTime, SecondsFormat, Utc};

use crate::error::{Error, Result};

/// Tag key prefix of a deactivation record: `iam-remediation:deactivated:<AccessKeyId>` with the
/// time of deactivation as its value. Kept in IAM itself, so no database is needed, and only a
/// key with such a record is ever deleted by the quiet-period rule.
pub const DEACTIVATION_RECORD_PREFIX: &str = "iam-remediation:deactivated:";

/// One access key as IAM reports it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFacts {
    pub id: String,
    pub active: bool,
    pub created: DateTime<Utc>,
    /// The key's last use: `None` when not read (not needed), `Some(None)` when never used.
    pub last_used: Option<Option<DateTime<Utc>>>,
}

/// The tag key of the deactivation record of `key_id`.
pub fn record_tag_key(key_id: &str) -> String {
    format!("{DEACTIVATION_RECORD_PREFIX}{key_id}")
}

/// The tag value of a deactivation record made at `at`.
pub fn record_tag_value(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Deactivation records found in a user's tags, by key ID. Unreadable values are left out:
/// a record we cannot read never leads to a deletion.
pub fn deactivation_records(tags: &[(String, String)]) -> BTreeMap<String, DateTime<Utc>> {
    tags.iter()
        .filter_map(|(key, value)| {
            let key_id = key.strip_prefix(DEACTIVATION_RECORD_PREFIX)?;
            let at = DateTime::parse_from_rfc3339(value).ok()?;
            Some((key_id.to_owned(), at.with_timezone(&Utc)))
        })
        .collect()
}

fn to_chrono(time: aws_smithy_types::DateTime) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(time.to_millis().unwrap_or_default()).unwrap_or_default()
}

/// The user's access keys, live (ListAccessKeys; a user has at most two).
pub async fn list_keys(iam: &Client, user: &str) -> Result<Vec<KeyFacts>> {
    let output = iam
        .list_access_keys()
        .user_name(user)
        .send()
        .await
        .map_err(|e| Error::aws("ListAccessKeys", &e))?;
    Ok(output
        .access_key_metadata
        .into_iter()
        .filter_map(|key| {
            Some(KeyFacts {
                id: key.access_key_id?,
                active: key.status == Some(StatusType::Active),
                created: key.create_date.map(to_chrono)?,
                last_used: None,
            })
        })
        .collect())
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
            .map(to_chrono),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_ignore_other_tags() {
        let at = DateTime::parse_from_rfc3339("2026-05-01T10:00:00Z").unwrap().with_timezone(&Utc);
        let tags = vec![
            (record_tag_key("AKIAIOSFODNN7EXAMPLE"), record_tag_value(at)),
            (record_tag_key("AKIAOTHER0000000000"), "garbage".to_owned()),
            ("team".to_owned(), "2026-05-01T10:00:00Z".to_owned()),
        ];
        let records = deactivation_records(&tags);
        assert_eq!(records.len(), 1);
        assert_eq!(records["AKIAIOSFODNN7EXAMPLE"], at);
        assert_eq!(record_tag_value(at), "2026-05-01T10:00:00Z");
    }
}
