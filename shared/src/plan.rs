//! The plan: what a function's rule wants done, as data.
//!
//! A rule is a pure function of facts, configuration and the clock that returns
//! [`PlannedAction`]s; the guard decides which of them may run, and the apply stage runs them.
//! Keeping the rule free of I/O is what lets it be tested exhaustively.

use serde::Serialize;
use serde_json::Value;

use crate::principal::Principal;

/// The `action` field of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActionKind {
    CreateAccessKey,
    DeactivateAccessKey,
    DeleteAccessKey,
    DeleteLoginProfile,
    UpdatePasswordPolicy,
    ConvertInlinePolicy,
    DeleteInlinePolicy,
}

impl ActionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CreateAccessKey => "create-access-key",
            Self::DeactivateAccessKey => "deactivate-access-key",
            Self::DeleteAccessKey => "delete-access-key",
            Self::DeleteLoginProfile => "delete-login-profile",
            Self::UpdatePasswordPolicy => "update-password-policy",
            Self::ConvertInlinePolicy => "convert-inline-policy",
            Self::DeleteInlinePolicy => "delete-inline-policy",
        }
    }
}

/// Why an action may run, which decides whether exemptions apply to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authority {
    /// A hygiene rule: exemptions protect the principal.
    Rule,
    /// An exposed credential or an operator's explicit order: runs whatever the exemption.
    Override,
}

/// One change a rule wants made.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedAction<O> {
    pub principal: Principal,
    pub kind: ActionKind,
    /// What the action changes: an access key ID, a policy name, `login-profile`, …
    pub target: String,
    /// Why, in words an operator reads in the report ("last used 140 days ago (limit 90)").
    pub reason: String,
    pub authority: Authority,
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
        principal: Principal,
        kind: ActionKind,
        target: impl Into<String>,
        reason: impl Into<String>,
        order: O,
    ) -> Self {
        Self {
            principal,
            kind,
            target: target.into(),
            reason: reason.into(),
            authority: Authority::Rule,
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

    #[must_use]
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }
}

/// Whole days from `earlier` to `later` (0 when `earlier` is in the future).
pub fn days_between(
    earlier: chrono::DateTime<chrono::Utc>,
    later: chrono::DateTime<chrono::Utc>,
) -> i64 {
    (later - earlier).num_days().max(0)
}
