//! What access-keys knows about a user: its keys as IAM reports them now, each key's last use
//! where the rule needs it, and the records this function keeps as user tags.

use std::collections::BTreeMap;
use std::fmt;

use aws_sdk_iam::Client;
use aws_sdk_iam::types::StatusType;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use iam_remediation::principal::is_valid_access_key_id;
use iam_remediation::reads::{RootUser, Tags, to_utc};
use iam_remediation::records::TagChanges;
use iam_remediation::{Error, Observed, Result, call};

use crate::order::{OperatorOrder, OrderAction};

/// Tag key prefix of a key record: `iam-remediation:key:<AccessKeyId>`. This function keeps what
/// it did to a key in IAM itself, as a tag on the key's user, so no database is needed:
/// `deactivated <time>` (the quiet-period rule deletes only keys with such a record) or
/// `replaced-by <AccessKeyId>` (a rotation waiting for its grace period).
pub const KEY_RECORD_PREFIX: &str = "iam-remediation:key:";

/// How much later than a deactivation record a key's last use may be and still count as a use
/// from before it: a key in use when it was deactivated may show a last use just after the
/// record, and IAM records uses coarsely.
pub const LAST_USE_MARGIN: Duration = Duration::minutes(15);

/// What this function did to a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRecord {
    /// Deactivated by this function at that time.
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
            "replaced-by" if is_valid_access_key_id(argument) => {
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

/// The key records in a user's tags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Records {
    /// Readable records, by key ID.
    pub by_key: BTreeMap<String, KeyRecord>,
    /// The tag key each record is held under (tag keys ignore case; this is IAM's spelling).
    pub tag_keys: BTreeMap<String, String>,
}

impl Records {
    /// Key records found in a user's tags. Unreadable values are left out: a record we cannot
    /// read never leads to a deletion.
    pub fn from_tags(tags: &Tags) -> Self {
        let mut records = Self::default();
        for tag in tags.with_prefix(KEY_RECORD_PREFIX) {
            let key_id = tag.rest.to_ascii_uppercase();
            records.tag_keys.insert(key_id.clone(), tag.key.to_owned());
            if let Some(record) = KeyRecord::parse(tag.value) {
                records.by_key.insert(key_id, record);
            }
        }
        records
    }

    pub fn get(&self, key_id: &str) -> Option<&KeyRecord> {
        self.by_key.get(key_id)
    }

    /// When this function deactivated the key, if it did.
    pub fn deactivated_at(&self, key_id: &str) -> Option<DateTime<Utc>> {
        match self.by_key.get(key_id) {
            Some(KeyRecord::Deactivated(at)) => Some(*at),
            _ => None,
        }
    }

    /// The replacement of a key being rotated.
    pub fn replacement_of(&self, key_id: &str) -> Option<&str> {
        match self.by_key.get(key_id) {
            Some(KeyRecord::ReplacedBy(replacement)) => Some(replacement),
            _ => None,
        }
    }

    /// True when some key's record names `key_id` as its replacement.
    pub fn is_replacement(&self, key_id: &str) -> bool {
        self.by_key
            .values()
            .any(|record| matches!(record, KeyRecord::ReplacedBy(id) if id == key_id))
    }
}

/// A key's last use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LastUse {
    /// Not read: the rule did not need it.
    NotRead,
    Never,
    At(DateTime<Utc>),
}

impl LastUse {
    pub fn at(self) -> Option<DateTime<Utc>> {
        match self {
            Self::At(at) => Some(at),
            Self::NotRead | Self::Never => None,
        }
    }
}

impl From<Option<DateTime<Utc>>> for LastUse {
    fn from(last_used: Option<DateTime<Utc>>) -> Self {
        last_used.map_or(Self::Never, Self::At)
    }
}

/// One access key as IAM reports it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFacts {
    pub id: String,
    pub active: bool,
    pub created: DateTime<Utc>,
    pub last_used: LastUse,
}

/// The user's access keys, live (ListAccessKeys; a user has at most two). A user that does not
/// exist is [`Error::NotFound`].
pub async fn list_keys(iam: &Client, user: &str) -> Result<Vec<KeyFacts>> {
    let output = call(
        "ListAccessKeys",
        iam.list_access_keys().user_name(user).send(),
    )
    .await
    .map_err(|e| e.or_not_found("user", user))?;
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
                last_used: LastUse::NotRead,
            })
        })
        .collect()
}

/// Whether the root user has an access key now (`GetAccountSummary`
/// `AccountAccessKeysPresent`), active or not. Live, unlike the credential report, which
/// `GenerateCredentialReport` reuses for up to 4 hours: a root key created since is missing there.
pub async fn root_keys_present(iam: &Client) -> Result<bool> {
    let output = call("GetAccountSummary", iam.get_account_summary().send()).await?;
    let present = output
        .summary_map
        .unwrap_or_default()
        .get(&aws_sdk_iam::types::SummaryKeyType::AccountAccessKeysPresent)
        .copied()
        .unwrap_or_default();
    Ok(present > 0)
}

/// What a run asks of a user's keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Focus {
    /// Every hygiene rule on every key.
    All,
    /// One key AWS reported as exposed: deactivate it now.
    Exposed(String),
    /// An operator's order on one key.
    Order { key_id: String, action: OrderAction },
}

/// Everything the rule knows about one user, read live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserKeys {
    pub user: String,
    pub keys: Vec<KeyFacts>,
    /// What this function did to each key (user tags).
    pub records: Records,
    pub focus: Focus,
    /// A key a CloudTrail `UpdateAccessKey` call was heard turning back on: its deactivation
    /// record no longer counts, whatever happened to it since.
    pub reactivated: Option<String>,
}

/// What one read found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Facts {
    User(UserKeys),
    /// The root user's keys, from the credential report.
    Root(RootUser),
    /// The account (a finding about it): the root user's keys from the credential report, and
    /// whether `GetAccountSummary` shows a root access key now.
    Account {
        root: RootUser,
        keys_present: bool,
    },
}

/// Where a live read starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lead {
    /// A user; its tags when a sweep already read them.
    User {
        name: String,
        tags: Option<Tags>,
        reactivated: Option<String>,
    },
    /// One key: its user is found from it.
    Key { key_id: String, focus: Focus },
    /// The root user's keys, as the credential report shows them.
    Root(RootUser),
    /// The account: the root user's keys, read from the credential report.
    Account,
}

impl Lead {
    /// A key AWS Health reported as exposed.
    pub fn exposed(key_id: String) -> Self {
        Self::Key {
            focus: Focus::Exposed(key_id.clone()),
            key_id,
        }
    }

    /// An operator's order on one key.
    pub fn ordered(order: OperatorOrder) -> Self {
        Self::Key {
            focus: Focus::Order {
                key_id: order.key_id.clone(),
                action: order.action,
            },
            key_id: order.key_id,
        }
    }
}

impl fmt::Display for Lead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::User { name, .. } => write!(f, "user {name}"),
            Self::Key { key_id, .. } => write!(f, "access key {key_id}"),
            Self::Root(_) | Self::Account => f.write_str("the root user"),
        }
    }
}

/// Records that no longer hold: of keys that are gone, deactivation records of keys seen
/// active again, heard being turned back on, or used after the record.
pub fn stale_records(observed: &Observed<Facts>) -> TagChanges {
    let Facts::User(user) = &observed.facts else {
        return TagChanges::default();
    };
    let mut remove = Vec::new();
    for (key_id, tag_key) in &user.records.tag_keys {
        let key = user.keys.iter().find(|k| &k.id == key_id);
        let stale = match (key, user.records.get(key_id)) {
            (None, _) => true,
            (Some(key), Some(KeyRecord::Deactivated(at))) => {
                key.active
                    || user.reactivated.as_deref() == Some(key_id.as_str())
                    || key
                        .last_used
                        .at()
                        .is_some_and(|used| used > *at + LAST_USE_MARGIN)
            }
            (Some(_), _) => false,
        };
        if stale {
            remove.push(tag_key.clone());
        }
    }
    TagChanges {
        set: Vec::new(),
        remove,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_ignore_other_tags_and_case() {
        let at = DateTime::parse_from_rfc3339("2026-05-01T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let deactivated = KeyRecord::Deactivated(at);
        let replaced = KeyRecord::ReplacedBy("AKIAREPLACEMENT00001".into());
        let tags = Tags::new(vec![
            (
                record_tag_key("AKIAIOSFODNN7EXAMPLE"),
                deactivated.tag_value(),
            ),
            (
                "IAM-Remediation:Key:AKIAROTATED000000001".to_owned(),
                replaced.tag_value(),
            ),
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
        ]);
        let records = Records::from_tags(&tags);
        assert_eq!(records.by_key.len(), 2);
        assert_eq!(records.get("AKIAIOSFODNN7EXAMPLE"), Some(&deactivated));
        assert_eq!(records.get("AKIAROTATED000000001"), Some(&replaced));
        assert_eq!(
            records.tag_keys["AKIAROTATED000000001"], "IAM-Remediation:Key:AKIAROTATED000000001",
            "removed under IAM's spelling"
        );
        assert_eq!(
            records.tag_keys.len(),
            4,
            "unreadable records are known by key"
        );
        assert!(records.is_replacement("AKIAREPLACEMENT00001"));
        assert_eq!(deactivated.tag_value(), "deactivated 2026-05-01T10:00:00Z");
    }
}
