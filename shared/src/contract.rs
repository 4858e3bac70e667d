//! The contract between the pipeline and a function: what a function supplies ([`Remediation`],
//! its pure [`Rule`]) and the small types it sees. The driver ([`crate::driver`]) runs the
//! pipeline through it; nothing here depends on the driver.

use std::fmt;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::clients::Clients;
use crate::config::{CommonSettings, FromEnv};
use crate::error::{Error, Result};
use crate::intake::{ApiCall, HealthEvent, Inputs, ManualPayload};
use crate::plan::PlannedAction;
use crate::principal::{PrincipalKind, Subject};
use crate::reads::tags::TagState;
use crate::records::TagChanges;

/// A function: its settings (read once per cold start) are the function itself, and the
/// driver hands it the SDK clients of the account it acts in.
///
/// A function writes six items: its name, its inputs, where its reads start ([`Self::Lead`]),
/// and how it surveys, reads and changes; its rule is the [`Rule`] its settings implement.
#[allow(
    async_fn_in_trait,
    reason = "the functions run on a current-thread runtime"
)]
pub trait Remediation: Rule + FromEnv + AsRef<CommonSettings> + Clone + fmt::Debug {
    /// The function's name (binary, SAM function, report, metrics).
    const NAME: &'static str;
    /// What it covers (the account, principal kinds) and the inputs it takes beyond schedules
    /// and Config events: its one declaration of coverage.
    const INPUTS: Inputs;
    /// Where a live read starts: what the function's own triggers name (a key, a user, one
    /// policy) and what a sweep finds.
    type Lead: fmt::Display;
    /// How it reaches the accounts of an organisation.
    const REACH: Reach = Reach::MemberRole;

    /// True when the function covers principals of `kind` with these settings: by default, the
    /// kinds [`Inputs::principals`] declares.
    fn covers(&self, kind: PrincipalKind) -> bool {
        Self::INPUTS.principals.contains(&kind)
    }

    /// What one of the function's own triggers asks for: a CloudTrail call it handles, an AWS
    /// Health event, a manual payload's own fields. By default, none is handled.
    fn scope(&self, trigger: OwnTrigger<'_>) -> Result<Asked<Self::Lead>> {
        Err(trigger.not_handled(&Self::INPUTS))
    }

    /// The leads of a scope: for a sweep, the candidates the account-wide reads point at;
    /// otherwise the named subjects or leads.
    async fn survey(
        &self,
        clients: &Clients,
        scope: Scope<Self::Lead>,
        window: Window,
    ) -> Result<Survey<Self::Lead>>;

    /// Reads one lead live. A subject that does not exist is [`Error::NotFound`].
    async fn read(
        &self,
        clients: &Clients,
        lead: Self::Lead,
        window: Window,
    ) -> Result<Observed<Self::Facts>>;

    /// Applies one approved action: re-check, change, record.
    async fn apply(
        &self,
        clients: &Clients,
        action: &PlannedAction<Self::Order>,
        now: DateTime<Utc>,
    ) -> Result<Outcome>;

    /// Bookkeeping tags to write or remove on the subject before the changes (records of
    /// things that no longer exist, a time to remember).
    fn records(&self, _observed: &Observed<Self::Facts>, _now: DateTime<Utc>) -> TagChanges {
        TagChanges::default()
    }

    /// Writes bookkeeping tags (warnings, the function's records) on `subject`: by default its
    /// IAM tags, when it is a principal. A function whose subjects keep their tags elsewhere (a
    /// member account's, in AWS Organizations) writes them itself.
    async fn write_tags(
        &self,
        clients: &Clients,
        subject: &Subject,
        tags: &[(String, String)],
    ) -> Result<()> {
        match subject.principal() {
            Some(principal) => crate::reads::tags::write(&clients.iam, principal, tags).await,
            None => Err(Error::Internal(format!("{subject} carries no tags here"))),
        }
    }

    /// Removes bookkeeping tags from `subject` (see [`Self::write_tags`]).
    async fn remove_tags(
        &self,
        clients: &Clients,
        subject: &Subject,
        keys: &[String],
    ) -> Result<()> {
        match subject.principal() {
            Some(principal) => crate::reads::tags::remove(&clients.iam, principal, keys).await,
            None => Err(Error::Internal(format!("{subject} carries no tags here"))),
        }
    }
}

/// How a function reaches the accounts of an organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Through the member role (`MEMBER_ROLE_NAME`) in each account; without one, the function's
    /// own account only (account mode).
    MemberRole,
    /// By its own means from the function's account (root-credentials' `sts:AssumeRoot`): the
    /// function works on every account of the organisation, always.
    Itself,
}

/// A function's rule: pure functions of one subject's facts, the settings and the clock, with
/// no I/O, so they are tested exhaustively as tables.
pub trait Rule {
    /// One subject's facts.
    type Facts;
    /// What the apply stage does for one planned action.
    type Order;

    /// What should be done about the subject now.
    fn plan(&self, facts: &Self::Facts, now: DateTime<Utc>) -> Vec<PlannedAction<Self::Order>>;

    /// Security Hub's own criterion of `control` (not the configured rule) on one subject's live
    /// facts: whether the control passes, or why it fails. `None` when the facts say nothing of
    /// that control. A finding is resolved only when this passes.
    fn control(
        &self,
        _control: &str,
        _facts: &Self::Facts,
        _now: DateTime<Utc>,
    ) -> Option<ControlState> {
        None
    }

    /// True when the rule acts on findings of this Security Hub control with these settings (a
    /// control whose rule is switched off is left alone).
    fn handles_control(&self, _control: &str) -> bool {
        true
    }
}

/// Whether live state meets a control's own criterion (Security Hub's, whatever the function's
/// settings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControlState {
    Passes,
    /// It fails, and why (the criterion, and a laxer setting of the function's, if any).
    Fails(String),
}

/// The unused-credential limits of the two Security Hub controls that access keys and console
/// passwords share (IAM.8: 90 days, IAM.22: 45 days; Security Hub User Guide, "Security Hub
/// controls for IAM"): each function judges its own half by them.
pub const IAM8_MAX_UNUSED_DAYS: u32 = 90;
pub const IAM22_MAX_UNUSED_DAYS: u32 = 45;

/// What an event asks a function to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Asked<L> {
    /// Nothing, and why (a failed API call, a compliant resource, out of scope).
    Nothing(String),
    /// Look at this scope.
    Look(Scope<L>),
}

/// What a function looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope<L> {
    /// Everything the function covers (a sweep).
    Sweep,
    /// These principals, or the account itself: each is read before anything changes, and one
    /// that does not exist stops the run.
    Subjects(Vec<Subject>),
    /// The function's own leads, read like [`Scope::Subjects`].
    Leads(Vec<L>),
    /// The function's own urgent leads (exposed keys): each one that can be read is acted on,
    /// whatever happens to the others.
    Urgent(Vec<L>),
}

/// One of the triggers a function maps to a scope itself.
#[derive(Debug, Clone, Copy)]
pub enum OwnTrigger<'a> {
    /// A successful CloudTrail call of one of [`Inputs::cloudtrail_events`].
    ApiCall(&'a ApiCall),
    /// An AWS Health event of one of [`Inputs::health_events`].
    Health(&'a HealthEvent),
    /// A manual payload with fields beyond users, groups, roles and dry_run.
    Manual(&'a ManualPayload),
}

impl OwnTrigger<'_> {
    /// The error for a trigger the function does not handle.
    pub fn not_handled(&self, inputs: &Inputs) -> Error {
        Error::InvalidEvent(match self {
            Self::ApiCall(call) => format!("{} is not handled here", call.event_name),
            Self::Health(event) => {
                format!(
                    "AWS Health event {} is not handled here",
                    event.event_type_code
                )
            }
            Self::Manual(payload) => {
                let field = payload.fields.keys().next().map_or("", String::as_str);
                format!(
                    "manual payload: unknown field `{field}` (this function takes: {})",
                    inputs.manual_field_names()
                )
            }
        })
    }
}

/// One subject's facts, as read, with the tags the guard needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Observed<F> {
    pub subject: Subject,
    pub tags: TagState,
    /// True when the rule judges everything of the subject (a whole user), so a warning for a
    /// target it does not plan is stale. False when the run is about one key of a user.
    pub judged_whole: bool,
    pub facts: F,
}

/// What a function's survey of a scope found: the leads to read live, how many principals (or
/// keys, or policies) it looked at, and anything the report should note.
#[derive(Debug, Clone, PartialEq)]
pub struct Survey<L> {
    pub leads: Vec<L>,
    pub examined: usize,
    pub notes: Vec<String>,
}

impl<L> Survey<L> {
    /// Leads that were looked at one by one (named principals, targets).
    pub fn of(leads: Vec<L>) -> Self {
        Self {
            examined: leads.len(),
            leads,
            notes: Vec::new(),
        }
    }

    /// The same survey with each lead made another kind of lead.
    #[must_use]
    pub fn map<M>(self, lead: impl FnMut(L) -> M) -> Survey<M> {
        Survey {
            leads: self.leads.into_iter().map(lead).collect(),
            examined: self.examined,
            notes: self.notes,
        }
    }
}

/// The time a survey works to: `now`, and how far ahead it looks for the forecast (`until` is
/// `now` unless a notification will carry a forecast).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub now: DateTime<Utc>,
    pub until: DateTime<Utc>,
}

impl Window {
    /// A window that looks no further than `now`.
    pub fn at(now: DateTime<Utc>) -> Self {
        Self { now, until: now }
    }
}

/// What applying one action came to (errors are the `Err` side).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Applied,
    /// Done, with something an operator should know (bookkeeping that could not be written).
    AppliedWithNote(String),
    /// Done as re-planned on the state read right before the change: the report shows this
    /// reason and undo record instead of the plan's.
    AppliedAs {
        reason: String,
        details: Option<Value>,
    },
    /// Live state changed since the plan, or something makes the change unsafe: the reason.
    Skipped(String),
}
