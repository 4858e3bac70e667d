//! The report every invocation returns and logs.

use serde::Serialize;
use serde_json::Value;

use crate::intake::TriggerKind;
use crate::plan::{ActionKind, PlannedAction};
use crate::principal::PrincipalKind;

/// What happened to one action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Dry run: it would have been done.
    Planned,
    Applied,
    /// Not done, with the reason (exempt, no room, quota, changed since the plan, refused).
    Skipped,
    Failed,
}

/// One line of the report's `actions`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActionRecord {
    pub principal_type: PrincipalKind,
    pub principal: String,
    pub action: ActionKind,
    pub target: String,
    pub reason: String,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl ActionRecord {
    pub fn from_plan<O>(action: &PlannedAction<O>, status: Status) -> Self {
        Self {
            principal_type: action.principal.kind,
            principal: action.principal.name.clone(),
            action: action.kind,
            target: action.target.clone(),
            reason: action.reason.clone(),
            status,
            details: action.details.clone(),
            error: None,
        }
    }
}

/// The result of one invocation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub function: &'static str,
    pub trigger: TriggerKind,
    pub dry_run: bool,
    /// Principals (or keys, or policies) the function looked at.
    pub examined: usize,
    pub actions: Vec<ActionRecord>,
    pub errors: Vec<String>,
    /// What the run left for the next one (a sweep cut short by its deadline); absent when empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Report {
    pub fn new(function: &'static str, trigger: TriggerKind, dry_run: bool) -> Self {
        Self {
            function,
            trigger,
            dry_run,
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
}
