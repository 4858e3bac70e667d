//! The plan: what a function's rule wants done, as data.
//!
//! A rule is a pure function of facts, configuration and the clock that returns
//! [`PlannedAction`]s; the guard decides which of them may run, and the apply stage runs them.
//! Keeping the rule free of I/O is what lets it be tested exhaustively.

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use crate::principal::Subject;

/// Why an action may run, which decides whether exemptions apply to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authority {
    /// A hygiene rule: exemptions protect the principal, and with `WARN_DAYS` a non-urgent
    /// action is warned first.
    Rule,
    /// An exposed credential or an operator's explicit order: runs now, whatever the exemption.
    Override,
}

/// Whether the owner is warned before the action (`WARN_DAYS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Urgency {
    /// Due because of age, disuse or a missing MFA device: warned first.
    WarnFirst,
    /// Done as soon as it is due (the end of a quiet or grace period the owner already had).
    Now,
}

/// One change a rule wants made.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedAction<O> {
    pub subject: Subject,
    /// The report's `action` (`deactivate-access-key`).
    pub action: &'static str,
    /// What the action changes: an access key ID, a policy name, `login-profile`, …
    pub target: String,
    /// Why, in words an operator reads in the report ("last used 140 days ago (limit 90)").
    pub reason: String,
    pub authority: Authority,
    pub urgency: Urgency,
    /// Extra facts for the report (the undo record: a policy document, before/after values).
    pub details: Option<Value>,
    /// Set when the facts already show the action cannot be done safely (no room for a new
    /// key, a managed-policy quota reached): reported as skipped with this reason, never applied.
    pub blocked: Option<String>,
    /// What the apply stage needs to carry the action out.
    pub order: O,
}

impl<O> PlannedAction<O> {
    pub fn new(
        subject: impl Into<Subject>,
        action: &'static str,
        target: impl Into<String>,
        reason: impl Into<String>,
        order: O,
    ) -> Self {
        Self {
            subject: subject.into(),
            action,
            target: target.into(),
            reason: reason.into(),
            authority: Authority::Rule,
            urgency: Urgency::Now,
            details: None,
            blocked: None,
            order,
        }
    }

    /// Marks the action as one that must not run, with the reason.
    #[must_use]
    pub fn blocked_by(mut self, reason: impl Into<String>) -> Self {
        self.blocked = Some(reason.into());
        self
    }

    /// Marks the action as an override of exemptions (exposed key, operator's order).
    #[must_use]
    pub fn overriding_exemptions(mut self) -> Self {
        self.authority = Authority::Override;
        self
    }

    /// Marks the action as one whose owner is warned first when `WARN_DAYS` is set.
    #[must_use]
    pub fn warning_first(mut self) -> Self {
        self.urgency = Urgency::WarnFirst;
        self
    }

    #[must_use]
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }
}

/// An action and the day it is due: a warned action's deadline, or one the forecast sees
/// coming.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    pub subject: Subject,
    pub action: &'static str,
    pub target: String,
    pub reason: String,
    pub at: DateTime<Utc>,
}

/// Whole days from `earlier` to `later` (0 when `earlier` is in the future).
pub fn days_between(earlier: DateTime<Utc>, later: DateTime<Utc>) -> i64 {
    (later - earlier).num_days().max(0)
}

/// A day-count setting (`MAX_KEY_AGE_DAYS`) as a duration.
pub fn days(count: u32) -> Duration {
    Duration::days(i64::from(count))
}

/// True when `time` is more than `limit` days before `now`: over a day-count limit.
pub fn older_than(time: DateTime<Utc>, limit: u32, now: DateTime<Utc>) -> bool {
    now - time > days(limit)
}
