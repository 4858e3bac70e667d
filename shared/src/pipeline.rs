//! The one pipeline every function runs: event → scope → facts → plan → guard → apply →
//! report. A function supplies what is its own through [`Remediation`]; [`handle`] does the rest,
//! the same way for all four.

use std::cell::Cell;
use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, Instant, SystemTime};

use aws_config::SdkConfig;
use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt};
use serde_json::Value;

use crate::clients::Clients;
use crate::config::{CommonSettings, FromEnv};
use crate::error::{Error, Result};
use crate::guard::{self, Approved, Known, Notice, TagChanges, Warning};
use crate::intake::{self, ApiCall, Finding, HealthEvent, Inputs, ManualPayload, Trigger};
use crate::plan::{Due, PlannedAction};
use crate::principal::{Principal, PrincipalKind, Subject};
use crate::reads::{TagState, tags};
use crate::report::{ActionRecord, Report, Status};
use crate::scope::{self, Scope};
use crate::{feedback, metrics, notify};

/// Time kept in hand before the Lambda deadline: no new change starts after it, so a run never
/// dies half-way through one. What is left is reported and the next run picks it up. A short
/// invocation budget keeps a fifth of it instead.
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(10);

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

/// What a function supplies to the pipeline: everything that is its own.
#[allow(
    async_fn_in_trait,
    reason = "the functions run on a current-thread runtime"
)]
pub trait Remediation {
    /// The function's name (binary, SAM function, report, metrics).
    const NAME: &'static str;
    /// The inputs it takes beyond schedules and Config events.
    const INPUTS: Inputs;
    /// True when the account itself has something this function checks (the password policy,
    /// the root user's access keys).
    const COVERS_ACCOUNT: bool;
    /// What the function's own triggers name (an exposed key, an order on one key, one policy).
    type Target: fmt::Debug;
    /// Where a live read starts (a user of the credential report, a key, a principal).
    type Lead: fmt::Display;
    /// One subject's facts.
    type Facts;
    /// What the apply stage does for one planned action.
    type Order;
    /// Its configuration variables, read once per cold start.
    type Settings: FromEnv + Clone + fmt::Debug;

    /// The function, with its SDK clients built once from `sdk` (see [`crate::runtime::start`]).
    fn new(sdk: &SdkConfig, settings: Self::Settings) -> Self;

    /// The settings every function shares.
    fn common(&self) -> &CommonSettings;
    fn clients(&self) -> &Clients;

    /// True when the function covers principals of `kind`: by default, the kinds a manual
    /// payload may name.
    fn covers(&self, kind: PrincipalKind) -> bool {
        Self::INPUTS.manual_principals.contains(&kind)
    }

    /// True when the function acts on findings of this Security Hub control with its current
    /// settings (a control whose rule is switched off is left alone).
    fn handles_control(&self, _control: &str) -> bool {
        true
    }

    /// Security Hub's own criterion of `control` (not the function's configured rule) applied to
    /// one subject's live facts: whether the control passes, or why it fails. `None` when the
    /// facts say nothing of that control. A finding is resolved only when this passes.
    fn control(
        &self,
        _control: &str,
        _facts: &Self::Facts,
        _now: DateTime<Utc>,
    ) -> Option<feedback::securityhub::ControlState> {
        None
    }

    /// The scope of a successful CloudTrail call it handles.
    fn api_call(&self, call: &ApiCall) -> Result<Scope<Self::Target>>;

    /// The scope of an AWS Health event of a type it handles.
    fn health(&self, event: &HealthEvent) -> Result<Scope<Self::Target>> {
        Err(Error::InvalidEvent(format!(
            "AWS Health event {} is not handled here",
            event.event_type_code
        )))
    }

    /// The scope of a manual payload's own fields (beyond users, groups, roles and dry_run).
    fn manual_fields(&self, payload: &ManualPayload) -> Result<Scope<Self::Target>> {
        let field = payload.fields.keys().next().map_or("", String::as_str);
        Err(Error::InvalidEvent(format!(
            "manual payload: unknown field `{field}` (this function takes: {})",
            scope::manual_field_names(&Self::INPUTS)
        )))
    }

    /// The leads of a scope (never [`Scope::Nothing`]): for a sweep, the candidates the
    /// account-wide reads point at; otherwise the named subjects or targets.
    async fn survey(
        &self,
        scope: Scope<Self::Target>,
        window: Window,
    ) -> Result<Survey<Self::Lead>>;

    /// Reads one lead live. A subject that does not exist is [`Error::NotFound`].
    async fn read(&self, lead: Self::Lead, window: Window) -> Result<Observed<Self::Facts>>;

    /// The rule: a pure function of one subject's facts and the clock.
    fn plan(&self, facts: &Self::Facts, now: DateTime<Utc>) -> Vec<PlannedAction<Self::Order>>;

    /// Applies one approved action: re-check, change, record.
    async fn apply(
        &self,
        action: &PlannedAction<Self::Order>,
        now: DateTime<Utc>,
    ) -> Result<Outcome>;

    /// Bookkeeping tags to write or remove on the subject before the changes (records of
    /// things that no longer exist, a time to remember).
    fn records(&self, _observed: &Observed<Self::Facts>, _now: DateTime<Utc>) -> TagChanges {
        TagChanges::default()
    }
}

/// The Lambda deadline, and how close to it the run may start a read or a change.
#[derive(Debug)]
struct Deadline {
    at: Option<SystemTime>,
    margin: Duration,
    /// The slowest read or change so far: the time kept in hand is never less than one and a
    /// half of it, so a slow API cannot carry a change past the deadline.
    slowest: Cell<Duration>,
    /// The closing work promised so far (findings, Config, messages), kept in hand too: a run
    /// that recorded a warning has the time to tell its owner.
    closing: Cell<Closing>,
    /// `MAX_CONCURRENCY`: messages are published this many at once.
    concurrency: usize,
}

/// The calls a run's closing work makes after its changes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Closing {
    /// Calls made one after another (each finding's update, the Config evaluation, the summary).
    sequential: usize,
    /// Owner messages, published `MAX_CONCURRENCY` at once.
    messages: usize,
}

impl Deadline {
    fn new(at: Option<SystemTime>, concurrency: usize) -> Self {
        let budget = at.map(|d| d.duration_since(SystemTime::now()).unwrap_or_default());
        tracing::debug!(
            budget_ms = budget.map(|b| b.as_millis()),
            "invocation budget"
        );
        Self {
            at,
            margin: budget.map_or(DEADLINE_MARGIN, |budget| DEADLINE_MARGIN.min(budget / 5)),
            slowest: Cell::new(Duration::ZERO),
            closing: Cell::new(Closing::default()),
            concurrency: concurrency.max(1),
        }
    }

    /// The time kept in hand: the margin (or one and a half of the slowest call), plus the
    /// closing work, each of its rounds of calls counted as long as the slowest call so far.
    fn in_hand(&self) -> Duration {
        let closing = self.closing.get();
        let rounds = closing.sequential + closing.messages.div_ceil(self.concurrency);
        let slowest = self.slowest.get();
        self.margin.max(slowest.mul_f64(1.5)) + slowest * u32::try_from(rounds).unwrap_or(u32::MAX)
    }

    /// Keeps time for `calls` closing calls made one after another.
    fn reserve_sequential(&self, calls: usize) {
        let mut closing = self.closing.get();
        closing.sequential += calls;
        self.closing.set(closing);
    }

    /// Keeps time for one more owner message, when there is time for it and for a change before
    /// it; false (and nothing kept) when there is not.
    fn reserve_message(&self) -> bool {
        let before = self.closing.get();
        self.closing.set(Closing {
            messages: before.messages + 1,
            ..before
        });
        if self.too_close_to_change() {
            self.closing.set(before);
            return false;
        }
        true
    }

    /// Gives back the time kept for an owner message that will not be sent.
    fn release_message(&self) {
        let mut closing = self.closing.get();
        closing.messages = closing.messages.saturating_sub(1);
        self.closing.set(closing);
    }

    fn left_below(&self, threshold: Duration) -> bool {
        self.at.is_some_and(|deadline| {
            deadline
                .duration_since(SystemTime::now())
                .map_or(true, |left| left < threshold)
        })
    }

    /// True when the deadline is too close to start another change.
    fn too_close_to_change(&self) -> bool {
        self.left_below(self.in_hand())
    }

    /// True when a sweep should stop reading to leave time for its changes (twice what is kept
    /// in hand for the changes themselves).
    fn too_close_to_read(&self) -> bool {
        self.left_below(self.in_hand() * 2)
    }

    fn observe(&self, took: Duration) {
        self.slowest.set(self.slowest.get().max(took));
    }
}

/// One invocation's state between the stages.
#[derive(Debug)]
struct Run {
    report: Report,
    deadline: Deadline,
    /// Handled Security Hub findings and the subject each is about.
    findings: Vec<(Finding, Subject)>,
    /// Every warning standing after the run (the summary's forecast).
    warned: Vec<Due>,
    /// The warnings whose owners hear of them: recorded in this run (or, in a dry run, that
    /// would be).
    notices: Vec<(Due, Notice)>,
    /// Each warned principal's owner (`OWNER_TAG`).
    owners: HashMap<Subject, String>,
    upcoming: Vec<Due>,
}

impl Run {
    fn add_error(&mut self, message: String) {
        tracing::warn!(error = %message, "run error");
        self.report.errors.push(message);
    }

    fn note(&mut self, note: String) {
        tracing::info!(%note, "note");
        self.report.notes.push(note);
    }
}

/// Handles one invocation of `function`: returns the report, or the Lambda error after logging
/// the report (and reporting back to Config, Security Hub and SNS).
pub async fn handle<F: Remediation>(
    function: &F,
    event: Value,
    now: DateTime<Utc>,
    deadline: Option<SystemTime>,
) -> Result<Report> {
    let trigger = intake::parse(event, &F::INPUTS)?;
    let dry_run = trigger
        .dry_run_override()
        .unwrap_or(function.common().dry_run);
    let mut run = Run {
        report: Report::new(F::NAME, trigger.kind(), dry_run),
        deadline: Deadline::new(deadline, function.common().max_concurrency),
        findings: Vec::new(),
        warned: Vec::new(),
        notices: Vec::new(),
        owners: HashMap::new(),
        upcoming: Vec::new(),
    };
    let outcome = drive(function, &trigger, &mut run, now).await;
    conclude(function, &trigger, run, outcome, now).await
}

async fn drive<F: Remediation>(
    function: &F,
    trigger: &Trigger,
    run: &mut Run,
    now: DateTime<Utc>,
) -> Result<()> {
    let settings = function.common();
    let mut notes = Vec::new();
    let resolved = scope::resolve(function, trigger, &mut run.findings, &mut notes).await;
    for note in notes {
        run.note(note);
    }
    let scope = resolved?;
    if let Scope::Nothing(why) = &scope {
        run.note(format!("nothing to do: {why}"));
        return Ok(());
    }
    let horizon = settings
        .notify_topic_arn
        .as_ref()
        .map(|_| notify::horizon(settings.warn_days));
    let window = Window {
        now,
        until: now + horizon.unwrap_or_default(),
    };
    // The closing work, kept in hand from the start: each finding's update, the Config
    // evaluation, the summary (owner messages are added as their warnings are recorded).
    run.deadline.reserve_sequential(run.findings.len() + 2);
    let observed = read_stage(function, scope, run, window).await?;

    let planned: Vec<_> = observed
        .iter()
        .flat_map(|o| function.plan(&o.facts, now))
        .collect();
    if let Some(horizon) = horizon {
        run.upcoming = forecast(function, &observed, &planned, now, horizon);
    }
    // Only a principal can be the identity the function runs as (read once per container).
    let caller = if planned.iter().any(|a| a.subject.principal().is_some()) {
        function.clients().caller().await?.cloned()
    } else {
        None
    };
    let subjects: HashMap<Subject, Known<'_>> = observed
        .iter()
        .map(|o| {
            let known = Known {
                tags: &o.tags,
                judged_whole: o.judged_whole,
            };
            (o.subject.clone(), known)
        })
        .collect();
    let review = guard::review(
        F::NAME,
        planned,
        &subjects,
        settings,
        caller.as_ref(),
        now,
        run.report.dry_run,
    );
    run.report.actions.extend(review.decided);
    for warning in &review.warned {
        let subject = &warning.action.subject;
        if let Some(owner) = subjects
            .get(subject)
            .and_then(|known| known.tags.known())
            .and_then(|tags| tags.get(&settings.owner_tag))
        {
            run.owners.insert(subject.clone(), owner.to_owned());
        }
    }
    if let Some(refusal) = review.refused {
        settle_warnings(review.warned, &HashMap::new(), run);
        return Err(refusal);
    }
    let mut approved = review.approved;
    if run.report.dry_run {
        settle_warnings(review.warned, &HashMap::new(), run);
    } else {
        let notify = settings.notify_topic_arn.is_some();
        let unwritten = bookkeeping(
            function,
            &observed,
            review.warnings,
            &review.warned,
            notify,
            run,
            now,
        )
        .await;
        approved.extend(settle_warnings(review.warned, &unwritten, run));
    }
    apply_stage(function, approved, run, now).await;
    Ok(())
}

/// Puts each warning in the report as its record came out, and returns those to act on now:
/// - recorded (or nothing to write, or a dry run): `warned`; its owner hears of it when it has a
///   notice;
/// - not written, the deadline too close: `skipped`, the next run records it;
/// - its first record refused for good (a full tag quota, a denied `TagUser`): acted on now, with
///   a note, since no record will ever count its days and a record never holds a due action
///   back; nobody is told of a warning that was not recorded;
/// - its first record failed otherwise: `skipped`, an error of the run, tried again next run.
///
/// A reminder that could not be written stays `warned`, unsent, for the next run to send.
fn settle_warnings<O>(
    warned: Vec<Warning<O>>,
    unwritten: &HashMap<Principal, Unwritten>,
    run: &mut Run,
) -> Vec<Approved<O>> {
    let mut act_now = Vec::new();
    for warning in warned {
        let failure = warning
            .action
            .subject
            .principal()
            .and_then(|principal| unwritten.get(principal));
        match (warning.notice, failure) {
            (Some(Notice::First), Some(Unwritten::Stopped)) => {
                let record = ActionRecord::from_plan(&warning.action, Status::Skipped).because(
                    Status::Skipped,
                    "stopped before the Lambda timeout; the next run records the warning",
                );
                run.report.actions.push(record);
            }
            (Some(Notice::First), Some(Unwritten::Failed(error))) if guard::unrecordable(error) => {
                let mut action = warning.action;
                action.reason = format!(
                    "{}; the warning could not be recorded ({error}), so it is not waited for",
                    action.reason
                );
                act_now.push(Approved {
                    action,
                    clears_warning: None,
                });
            }
            (Some(Notice::First), Some(Unwritten::Failed(error))) => {
                let why = format!(
                    "the warning could not be recorded ({error}); the next run tries again"
                );
                let record = ActionRecord::from_plan(&warning.action, Status::Skipped)
                    .because(Status::Skipped, &why);
                run.report.actions.push(record);
            }
            (notice, failure) => {
                run.report.actions.push(warning.record());
                let due = warning.due();
                if let (Some(notice), None) = (notice, failure) {
                    run.notices.push((due.clone(), notice));
                }
                run.warned.push(due);
            }
        }
    }
    act_now
}

/// How a scope's reads may fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReadPolicy {
    /// A sweep: a subject deleted since the account was surveyed is skipped, one that cannot be
    /// read is an error of the run that does not stop the others, and reading stops in time to
    /// leave the changes room before the deadline.
    Sweep,
    /// Named subjects or targets: every one is read before anything changes; any failure stops
    /// the run.
    AllOrNothing,
    /// Urgent targets (exposed keys): each one that can be read is acted on; the others are
    /// errors of the run.
    BestEffort,
}

/// One lead's read: its place, its name, and what reading it gave (`None`: not read, the
/// deadline was too close).
type LeadRead<F> = (usize, String, Option<Result<Observed<F>>>);

async fn read_stage<F: Remediation>(
    function: &F,
    scope: Scope<F::Target>,
    run: &mut Run,
    window: Window,
) -> Result<Vec<Observed<F::Facts>>> {
    // A sweep of a function that covers no principal reads the account alone: that one read
    // failing is the run failing.
    let covers_principals = PrincipalKind::ALL.iter().any(|kind| function.covers(*kind));
    let policy = match &scope {
        Scope::Sweep if covers_principals => ReadPolicy::Sweep,
        Scope::Urgent(_) => ReadPolicy::BestEffort,
        Scope::Nothing(_) | Scope::Sweep | Scope::Subjects(_) | Scope::Targets(_) => {
            ReadPolicy::AllOrNothing
        }
    };
    let survey = function.survey(scope, window).await?;
    run.report.examined += survey.examined;
    for note in survey.notes {
        run.note(note);
    }
    let mut leads = survey.leads;
    if policy == ReadPolicy::Sweep {
        reading_order(&mut leads, window.now);
    }
    let deadline = &run.deadline;
    let limit = function.common().max_concurrency;
    let mut results: Vec<LeadRead<F::Facts>> = concurrently(
        limit,
        leads.into_iter().enumerate(),
        |(index, lead)| async move {
            let name = lead.to_string();
            if policy == ReadPolicy::Sweep && deadline.too_close_to_read() {
                return (index, name, None);
            }
            let started = Instant::now();
            let read = function.read(lead, window).await;
            deadline.observe(started.elapsed());
            (index, name, Some(read))
        },
    )
    .await;
    results.sort_by_key(|(index, _, _)| *index);
    let mut observed = Vec::with_capacity(results.len());
    let mut unread = 0;
    for (_, lead, result) in results {
        match (policy, result) {
            (_, None) => unread += 1,
            (_, Some(Ok(facts))) => observed.push(facts),
            // Deleted since the account was surveyed: nothing left to fix.
            (ReadPolicy::Sweep, Some(Err(Error::NotFound { .. }))) => {}
            (ReadPolicy::AllOrNothing, Some(Err(error))) => return Err(error),
            (ReadPolicy::BestEffort, Some(Err(error @ Error::NotFound { .. }))) => {
                run.add_error(error.to_string());
            }
            (ReadPolicy::Sweep | ReadPolicy::BestEffort, Some(Err(error))) => {
                run.add_error(format!("{lead}: {error}"));
            }
        }
    }
    if unread > 0 {
        run.note(format!(
            "stopped reading before the Lambda timeout: {unread} candidates left for the next run"
        ));
    }
    Ok(observed)
}

/// Runs `work` on each item, up to `limit` (`MAX_CONCURRENCY`) at once, and gathers what each
/// returned, in the order they finished.
pub(crate) async fn concurrently<I, T, W>(
    limit: usize,
    items: impl IntoIterator<Item = I>,
    work: impl FnMut(I) -> W,
) -> Vec<T>
where
    W: Future<Output = T>,
{
    stream::iter(items)
        .map(work)
        .buffer_unordered(limit)
        .collect()
        .await
}

/// Puts a sweep's leads in reading order: rotated by the clock (a new start every minute), so
/// that sweeps cut short by their deadline start elsewhere each time and every lead is reached,
/// even behind a run of exempt ones that are never fixed.
pub fn reading_order<T>(leads: &mut [T], now: DateTime<Utc>) {
    if !leads.is_empty() {
        let start = usize::try_from(now.timestamp() / 60).unwrap_or_default() % leads.len();
        leads.rotate_left(start);
    }
}

/// What the rule will do within `horizon` that it does not do now: the rule run again on the
/// same facts at each day ahead (it is pure, so this costs no call).
fn forecast<F: Remediation>(
    function: &F,
    observed: &[Observed<F::Facts>],
    planned: &[PlannedAction<F::Order>],
    now: DateTime<Utc>,
    horizon: chrono::Duration,
) -> Vec<Due> {
    let due_now: Vec<(&Subject, &str)> = planned
        .iter()
        .map(|a| (&a.subject, a.target.as_str()))
        .collect();
    let mut upcoming: Vec<Due> = Vec::new();
    for subject in observed {
        for day in 1..=horizon.num_days() {
            let then = now + chrono::Duration::days(day);
            for action in function.plan(&subject.facts, then) {
                let known = due_now.contains(&(&action.subject, action.target.as_str()))
                    || upcoming
                        .iter()
                        .any(|u| u.subject == action.subject && u.target == action.target);
                if !known && action.blocked.is_none() {
                    upcoming.push(Due {
                        subject: action.subject,
                        action: action.action,
                        target: action.target,
                        reason: action.reason,
                        at: then,
                    });
                }
            }
        }
    }
    upcoming
}

/// One principal's bookkeeping: why its records were not written, if they were not, and why
/// its stale records were not removed, if they were not.
type Written = (Principal, Option<Unwritten>, Option<String>);

/// Why a principal's records were not written.
#[derive(Debug)]
enum Unwritten {
    /// Not tried: too close to the deadline to write them and tell their owner.
    Stopped,
    Failed(Error),
}

/// Writes each principal's bookkeeping tags (warnings, reminders, the function's records) before
/// the changes, and returns the principals whose tags were not written, with why. A warning the
/// owner hears of is written only when there is time left to tell them ([`Deadline`]). A write
/// that failed is an error of the run, unless it is a first warning refused for good, which
/// [`settle_warnings`] acts on instead.
async fn bookkeeping<F: Remediation>(
    function: &F,
    observed: &[Observed<F::Facts>],
    warnings: HashMap<Principal, TagChanges>,
    warned: &[Warning<F::Order>],
    notify: bool,
    run: &mut Run,
    now: DateTime<Utc>,
) -> HashMap<Principal, Unwritten> {
    let mut changes = warnings;
    for subject in observed {
        let records = function.records(subject, now);
        if records.is_empty() {
            continue;
        }
        if let Some(principal) = subject.subject.principal() {
            let entry = changes.entry(principal.clone()).or_default();
            entry.set.extend(records.set);
            entry.remove.extend(records.remove);
        }
    }
    let deadline = &run.deadline;
    let iam = &function.clients().iam;
    let limit = function.common().max_concurrency;
    let written: Vec<Written> =
        concurrently(limit, changes, |(principal, mut change)| async move {
            let tells = notify && notices(warned, &principal).next().is_some();
            // One message per principal; without the time to send it, nothing is recorded.
            let in_time = if tells {
                deadline.reserve_message()
            } else {
                !deadline.too_close_to_change()
            };
            if !in_time {
                return (principal, Some(Unwritten::Stopped), None);
            }
            change.remove.sort();
            change.remove.dedup();
            change.remove.retain(|key| {
                !change
                    .set
                    .iter()
                    .any(|(set, _)| set.eq_ignore_ascii_case(key))
            });
            let mut unwritten = None;
            if !change.set.is_empty() {
                let started = Instant::now();
                let result = tags::write(iam, &principal, &change.set).await;
                deadline.observe(started.elapsed());
                if let Err(error) = result {
                    if tells {
                        deadline.release_message();
                    }
                    unwritten = Some(Unwritten::Failed(error));
                }
            }
            let mut removal = None;
            if !change.remove.is_empty()
                && let Err(error) = tags::remove(iam, &principal, &change.remove).await
            {
                removal = Some(format!(
                    "stale records of {principal} could not be removed: {error}"
                ));
            }
            (principal, unwritten, removal)
        })
        .await;
    let mut unwritten = HashMap::new();
    let mut stopped = 0;
    for (principal, failure, removal) in written {
        if let Some(removal) = removal {
            run.add_error(removal);
        }
        let Some(failure) = failure else { continue };
        match &failure {
            Unwritten::Stopped => stopped += 1,
            Unwritten::Failed(error) => {
                let acted_on = guard::unrecordable(error)
                    && notices(warned, &principal).any(|w| w.notice == Some(Notice::First));
                let message = format!("records of {principal} could not be written: {error}");
                if acted_on {
                    run.note(format!(
                        "{message}; its due actions are taken without a warning"
                    ));
                } else {
                    run.add_error(message);
                }
            }
        }
        unwritten.insert(principal, failure);
    }
    if stopped > 0 {
        run.note(format!(
            "stopped recording before the Lambda timeout: {stopped} principals left for the next run"
        ));
    }
    unwritten
}

/// The warnings of `principal` whose owner hears of them in this run.
fn notices<'a, O>(
    warned: &'a [Warning<O>],
    principal: &'a Principal,
) -> impl Iterator<Item = &'a Warning<O>> {
    warned
        .iter()
        .filter(move |w| w.notice.is_some() && w.action.subject.principal() == Some(principal))
}

/// Applies approved actions: up to `MAX_CONCURRENCY` subjects at once, each subject's actions in
/// their planned order, none started too close to the deadline.
async fn apply_stage<F: Remediation>(
    function: &F,
    approved: Vec<Approved<F::Order>>,
    run: &mut Run,
    now: DateTime<Utc>,
) {
    let mut by_subject: Vec<(Subject, Vec<Approved<F::Order>>)> = Vec::new();
    for action in approved {
        match by_subject
            .iter_mut()
            .find(|(subject, _)| *subject == action.action.subject)
        {
            Some((_, actions)) => actions.push(action),
            None => by_subject.push((action.action.subject.clone(), vec![action])),
        }
    }
    let deadline = &run.deadline;
    let iam = &function.clients().iam;
    let limit = function.common().max_concurrency;
    let done: Vec<Vec<Applied>> =
        concurrently(limit, by_subject, |(subject, actions)| async move {
            let mut done = Vec::with_capacity(actions.len());
            for Approved {
                action,
                clears_warning,
            } in actions
            {
                if deadline.too_close_to_change() {
                    let record = ActionRecord::from_plan(&action, Status::Skipped).because(
                        Status::Skipped,
                        "stopped before the Lambda timeout; the next run continues",
                    );
                    done.push(Applied::decided(record));
                    continue;
                }
                let started = Instant::now();
                let result = function.apply(&action, now).await;
                deadline.observe(started.elapsed());
                let mut applied = Applied::from_result(&action, result);
                if applied.record.status == Status::Applied
                    && let (Some(key), Some(principal)) = (clears_warning, subject.principal())
                    && let Err(error) = tags::remove(iam, principal, &[key]).await
                {
                    applied.notes.push(format!(
                        "the warning record of {principal} could not be removed ({error}); the next run removes it"
                    ));
                }
                done.push(applied);
            }
            done
        })
        .await;
    for applied in done.into_iter().flatten() {
        if let Some(error) = applied.error {
            run.add_error(error);
        }
        for note in applied.notes {
            run.note(note);
        }
        run.report.actions.push(applied.record);
    }
}

/// One action's outcome, ready for the report.
struct Applied {
    record: ActionRecord,
    error: Option<String>,
    notes: Vec<String>,
}

impl Applied {
    fn decided(record: ActionRecord) -> Self {
        Self {
            record,
            error: None,
            notes: Vec::new(),
        }
    }

    fn from_result<O>(action: &PlannedAction<O>, result: Result<Outcome>) -> Self {
        let record = ActionRecord::from_plan(action, Status::Applied);
        match result {
            Ok(Outcome::Applied) => {
                tracing::info!(subject = %action.subject, action = action.action, target = %action.target, "applied");
                Self::decided(record)
            }
            Ok(Outcome::AppliedWithNote(note)) => {
                tracing::warn!(subject = %action.subject, action = action.action, target = %action.target, %note, "applied with a note");
                Self {
                    record,
                    error: None,
                    notes: vec![format!(
                        "{} {} of {}: {note}",
                        action.action, action.target, action.subject
                    )],
                }
            }
            Ok(Outcome::AppliedAs { reason, details }) => {
                tracing::info!(subject = %action.subject, action = action.action, target = %action.target, "applied as re-planned");
                let mut record = record;
                record.reason = reason;
                record.details = details;
                Self::decided(record)
            }
            Ok(Outcome::Skipped(why)) => Self::decided(record.because(Status::Skipped, &why)),
            // The target went away between the plan and the change: nothing left to do.
            Err(error @ Error::NotFound { .. }) => {
                Self::decided(record.because(Status::Skipped, &format!("already gone: {error}")))
            }
            Err(error) => {
                let message = format!(
                    "{} {} of {}: {error}",
                    action.action, action.target, action.subject
                );
                tracing::error!(error = %message, "action failed");
                let mut record = record;
                record.status = Status::Failed;
                record.error = Some(error.to_string());
                Self {
                    record,
                    error: Some(message),
                    notes: Vec::new(),
                }
            }
        }
    }
}

/// Ends a run: the report in order, then what goes back to the sources (Config evaluations,
/// Security Hub findings) and out to people (SNS), then the log and metrics; returns the report,
/// or the Lambda error when anything failed or the run was stopped.
async fn conclude<F: Remediation>(
    function: &F,
    trigger: &Trigger,
    mut run: Run,
    outcome: Result<()>,
    now: DateTime<Utc>,
) -> Result<Report> {
    let stopped = outcome.err();
    if let Some(error) = &stopped {
        run.report.errors.push(error.to_string());
    }
    run.report.sort();
    let clients = function.clients();
    if let Trigger::ConfigRule(invocation) = trigger
        && stopped.is_none()
        && let Err(error) =
            feedback::config_rule::put_evaluation(&clients.config, invocation, &run.report).await
    {
        run.add_error(error.to_string());
    }
    // A run stopped before acting (an event that names what does not exist, a refusal) leaves
    // the findings as they are, as it leaves IAM; Lambda's error is the signal.
    if !run.findings.is_empty() && stopped.is_none() {
        let verdicts =
            feedback::securityhub::judge(function, &run.findings, &run.report, now).await;
        if let Err(error) = feedback::securityhub::update(
            &clients.securityhub,
            &run.findings,
            &verdicts,
            &run.report,
            F::INPUTS.securityhub_shared_controls,
        )
        .await
        {
            run.add_error(error.to_string());
        }
    }
    if let Some(topic) = &function.common().notify_topic_arn {
        let message = notify::Messages {
            report: &run.report,
            warned: &run.warned,
            notices: &run.notices,
            owners: &run.owners,
            upcoming: &run.upcoming,
            now,
        };
        let limit = function.common().max_concurrency;
        for error in notify::publish(&clients.sns, topic, &message, limit).await {
            run.add_error(error);
        }
    }
    let report = serde_json::to_string(&run.report).unwrap_or_default();
    tracing::info!(report = %report, "report");
    metrics::emit(&run.report);
    if let Some(error) = stopped {
        return Err(error);
    }
    if !run.report.errors.is_empty() {
        return Err(Error::ActionsFailed {
            count: run.report.errors.len(),
            summary: run.report.errors.join("; "),
        });
    }
    Ok(run.report)
}
