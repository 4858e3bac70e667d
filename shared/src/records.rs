//! The records this system keeps in IAM instead of a database: warning records (a tag per
//! warned target, holding when it was warned and whether its owner was reminded), and the
//! bookkeeping tag changes a run writes before its changes. Reads (a sweep picking users whose
//! warning falls due) and the guard (deadlines) both read them.

use chrono::{DateTime, SecondsFormat, Utc};

use crate::plan::days;
use crate::reads::tags::Tags;

/// Tag key prefix of warning records: `iam-remediation:warned:<function>:<target>` holds a
/// [`WarningRecord`], so the next run knows the deadline, and whether the owner was reminded,
/// without a database. The function is part of the key: each function withdraws only its own
/// warnings.
pub const WARNING_PREFIX: &str = "iam-remediation:warned:";

/// The prefix of `function`'s warning records.
pub fn warning_prefix(function: &str) -> String {
    format!("{WARNING_PREFIX}{function}:")
}

/// The tag key of `function`'s warning record for `target`.
pub fn warning_key(function: &str, target: &str) -> String {
    format!("{}{target}", warning_prefix(function))
}

/// A warning record's value: `<action> <warned at>`, and once the owner was reminded
/// `<action> reminded <reminded at> <warned at>`. The warning's time stays the last word, as it
/// always was, so records written before reminders existed (and any reader of that form) keep
/// the same deadline. Times are RFC 3339 in seconds, which tag values allow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarningRecord {
    pub action: String,
    pub warned: DateTime<Utc>,
    pub reminded: Option<DateTime<Utc>>,
}

impl WarningRecord {
    pub fn parse(value: &str) -> Option<Self> {
        let time = |text: &str| {
            DateTime::parse_from_rfc3339(text)
                .ok()
                .map(|at| at.with_timezone(&Utc))
        };
        let words: Vec<&str> = value.split_whitespace().collect();
        match words.as_slice() {
            [action, warned] => Some(Self {
                action: (*action).to_owned(),
                warned: time(warned)?,
                reminded: None,
            }),
            [action, "reminded", reminded, warned] => Some(Self {
                action: (*action).to_owned(),
                warned: time(warned)?,
                reminded: Some(time(reminded)?),
            }),
            _ => None,
        }
    }

    /// The tag value.
    pub fn value(&self) -> String {
        let at = |time: DateTime<Utc>| time.to_rfc3339_opts(SecondsFormat::Secs, true);
        match self.reminded {
            None => format!("{} {}", self.action, at(self.warned)),
            Some(reminded) => format!(
                "{} reminded {} {}",
                self.action,
                at(reminded),
                at(self.warned)
            ),
        }
    }
}

/// True when `tags` hold a warning whose deadline falls by `until`: a sweep reads that principal
/// live, to act on it or to withdraw the warning.
pub fn warning_due(tags: &Tags, function: &str, warn_days: u32, until: DateTime<Utc>) -> bool {
    let prefix = warning_prefix(function);
    tags.with_prefix(&prefix).any(|warning| {
        WarningRecord::parse(warning.value)
            .is_none_or(|record| record.warned + days(warn_days) <= until)
    })
}

/// Bookkeeping tags of one principal: written before the changes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TagChanges {
    pub set: Vec<(String, String)>,
    pub remove: Vec<String>,
}

impl TagChanges {
    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.remove.is_empty()
    }
}
