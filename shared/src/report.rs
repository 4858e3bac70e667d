//! The report every invocation returns and logs.

use serde::Serialize;
use serde_json::Value;

use crate::intake::TriggerKind;
use crate::plan::PlannedAction;
use crate::principal::Subject;

/// What happened to one action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Dry run: it would have been done.
    Planned,
    Applied,
    /// Not done yet: the owner is warned, and the action happens on the date in `reason` unless
    /// the principal is fixed first.
    Warned,
    /// Not done, with the reason (exempt, no room, quota, changed since the plan, refused).
    Skipped,
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Planned => "planned",
            Self::Applied => "applied",
            Self::Warned => "warned",
            Self::Skipped => "skipped",
            Self::Failed => "failed",
        }
    }
}

/// One line of the report's `actions`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActionRecord {
    /// The account acted in (set by the driver for every action of an account's run).
    pub account: String,
    pub principal_type: &'static str,
    pub principal: String,
    pub action: &'static str,
    pub target: String,
    pub reason: String,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The subject, for the stages after the report (findings, notifications).
    #[serde(skip)]
    pub subject: Subject,
}

impl ActionRecord {
    pub fn from_plan<O>(action: &PlannedAction<O>, status: Status) -> Self {
        Self {
            account: String::new(),
            principal_type: action.subject.kind(),
            principal: action.subject.name().to_owned(),
            action: action.action,
            target: action.target.clone(),
            reason: action.reason.clone(),
            status,
            details: action.details.clone(),
            error: None,
            subject: action.subject.clone(),
        }
    }

    /// The same record with another status and the reason prefixed by why.
    #[must_use]
    pub fn because(mut self, status: Status, why: &str) -> Self {
        self.reason = format!("{why} (rule: {})", self.reason);
        self.status = status;
        self
    }
}

/// The result of one invocation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub function: &'static str,
    pub trigger: TriggerKind,
    pub dry_run: bool,
    /// The accounts the invocation acted in, or dispatched a sweep to.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<String>,
    /// Principals (or keys, or policies) the function looked at.
    pub examined: usize,
    pub actions: Vec<ActionRecord>,
    pub errors: Vec<String>,
    /// What an operator should know that is not an action nor an error: findings left alone,
    /// bookkeeping that could not be written, what a sweep cut short left for the next run.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Report {
    pub fn new(function: &'static str, trigger: TriggerKind, dry_run: bool) -> Self {
        Self {
            function,
            trigger,
            dry_run,
            accounts: Vec::new(),
            examined: 0,
            actions: Vec::new(),
            errors: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Actions with the given status.
    pub fn with_status(&self, status: Status) -> impl Iterator<Item = &ActionRecord> {
        self.actions.iter().filter(move |a| a.status == status)
    }

    pub fn count(&self, status: Status) -> usize {
        self.with_status(status).count()
    }

    /// The actions about one subject (for the account, its root user's too).
    pub fn about<'a>(&'a self, subject: &'a Subject) -> impl Iterator<Item = &'a ActionRecord> {
        self.actions
            .iter()
            .filter(move |a| subject.includes(&a.subject))
    }

    /// Puts the actions in a stable order (account, principal, target, action), whatever order
    /// the concurrent stages finished in.
    pub fn sort(&mut self) {
        self.actions.sort_by(|a, b| {
            (
                &a.account,
                a.principal_type,
                &a.principal,
                &a.target,
                a.action,
            )
                .cmp(&(
                    &b.account,
                    b.principal_type,
                    &b.principal,
                    &b.target,
                    b.action,
                ))
        });
    }
}
