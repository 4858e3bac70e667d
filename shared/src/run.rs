//! One invocation's run through guard, apply and report.
//!
//! A function's handler gathers facts and plans; [`Run`] does the rest the same way for every
//! function: exemptions, `MAX_ACTIONS`, dry run, applying one action at a time with its outcome
//! recorded, stopping safely before the Lambda deadline, and the final report or Lambda error.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};

use crate::config::CommonSettings;
use crate::error::{Error, Result};
use crate::facts::ReportUser;
use crate::guard::{self, Protection, Verdict};
use crate::intake::Trigger;
use crate::metrics;
use crate::plan::PlannedAction;
use crate::principal::Principal;
use crate::report::{ActionRecord, Report, Status};

/// Time kept in hand before the Lambda deadline: no new change starts after it, so a run never
/// dies half-way through one. What is left is reported and the next run picks it up. A short
/// invocation budget keeps a fifth of it instead.
pub const DEADLINE_MARGIN: Duration = Duration::from_secs(10);

/// What applying one action came to (errors are the `Err` side).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Applied,
    /// Live state changed since the plan, or something makes the change unsafe: the reason.
    Skipped(String),
}

/// The state of one invocation after intake.
#[derive(Debug)]
pub struct Run {
    report: Report,
    settings: CommonSettings,
    deadline: Option<SystemTime>,
    margin: Duration,
    /// The slowest read or change so far: the time kept in hand is never less than one and a
    /// half of it, so a slow API cannot carry a change past the deadline.
    slowest: Duration,
}

impl Run {
    pub fn new(
        function: &'static str,
        trigger: &Trigger,
        settings: &CommonSettings,
        deadline: Option<SystemTime>,
    ) -> Self {
        let dry_run = trigger.dry_run_override().unwrap_or(settings.dry_run);
        let budget = deadline.map(|d| d.duration_since(SystemTime::now()).unwrap_or_default());
        tracing::debug!(
            budget_ms = budget.map(|b| b.as_millis()),
            "invocation budget"
        );
        Self {
            report: Report::new(function, trigger.kind(), dry_run),
            settings: settings.clone(),
            deadline,
            margin: budget.map_or(DEADLINE_MARGIN, |budget| DEADLINE_MARGIN.min(budget / 5)),
            slowest: Duration::ZERO,
        }
    }

    pub fn dry_run(&self) -> bool {
        self.report.dry_run
    }

    pub fn settings(&self) -> &CommonSettings {
        &self.settings
    }

    pub fn report(&self) -> &Report {
        &self.report
    }

    /// Counts principals (or keys, or policies) looked at.
    pub fn add_examined(&mut self, count: usize) {
        self.report.examined += count;
    }

    /// A problem that does not stop the run but makes it end as a Lambda error.
    pub fn add_error(&mut self, message: impl Into<String>) {
        let message = message.into();
        tracing::warn!(error = %message, "run error");
        self.report.errors.push(message);
    }

    /// Time to keep in hand before the deadline.
    fn in_hand(&self) -> Duration {
        self.margin.max(self.slowest.mul_f64(1.5))
    }

    fn time_left_below(&self, threshold: Duration) -> bool {
        self.deadline.is_some_and(|deadline| {
            deadline
                .duration_since(SystemTime::now())
                .map_or(true, |left| left < threshold)
        })
    }

    /// True when the deadline is too close to start another change.
    pub fn out_of_time(&self) -> bool {
        self.time_left_below(self.in_hand())
    }

    /// True when a sweep should stop reading the account to leave time for its changes (twice
    /// what is kept in hand for the changes themselves).
    pub fn out_of_reading_time(&self) -> bool {
        self.time_left_below(self.in_hand() * 2)
    }

    /// Notes how long a read or a change took.
    pub fn observe(&mut self, took: Duration) {
        self.slowest = self.slowest.max(took);
    }

    /// Records that a sweep stopped reading with `left` candidates unread.
    pub fn stopped_reading(&mut self, left: usize) {
        let note = format!(
            "stopped reading before the Lambda timeout: {left} candidates left for the next run"
        );
        tracing::warn!(%note, "sweep cut short");
        self.report.notes.push(note);
    }

    /// A credential-report sweep's live reads: each candidate row (a user the report says may
    /// need fixing) is read with `read`, one at a time, in [`reading_order`], until the deadline
    /// says to stop reading. A user deleted since the report is skipped; a user that cannot be
    /// read is an error of the run that does not stop the others.
    pub async fn read_candidates<'r, T>(
        &mut self,
        report: &'r [ReportUser],
        is_candidate: impl Fn(&ReportUser) -> bool,
        now: DateTime<Utc>,
        mut read: impl AsyncFnMut(&'r ReportUser) -> Result<T>,
    ) -> Vec<T> {
        self.add_examined(report.len());
        let mut candidates: Vec<&ReportUser> =
            report.iter().filter(|row| is_candidate(row)).collect();
        reading_order(&mut candidates, now);
        let mut facts = Vec::with_capacity(candidates.len());
        for (index, row) in candidates.iter().enumerate() {
            if self.out_of_reading_time() {
                self.stopped_reading(candidates.len() - index);
                break;
            }
            let started = std::time::Instant::now();
            let result = read(row).await;
            self.observe(started.elapsed());
            match result {
                Ok(value) => facts.push(value),
                // Deleted since the report was made: nothing left to fix.
                Err(Error::NotFound { .. }) => {}
                Err(error) => self.add_error(format!("user {}: {error}", row.user)),
            }
        }
        facts
    }

    /// Applies exemptions, `MAX_ACTIONS` and dry run to the plan. Returns the actions to apply:
    /// none in a dry run (they are reported as planned). When the plan is over `MAX_ACTIONS`,
    /// every action is reported as refused and the error is returned: nothing may be applied.
    pub fn review<O>(
        &mut self,
        planned: Vec<PlannedAction<O>>,
        protections: &HashMap<Principal, Protection>,
    ) -> Result<Vec<PlannedAction<O>>> {
        let mut approved = Vec::with_capacity(planned.len());
        for mut action in planned {
            let protection = protections
                .get(&action.principal)
                .unwrap_or(&Protection::None);
            let verdict = match &action.blocked {
                Some(why) => Verdict::Skip(why.clone()),
                None => guard::verdict(&action, protection),
            };
            match verdict {
                Verdict::Skip(why) => {
                    let mut record = ActionRecord::from_plan(&action, Status::Skipped);
                    record.reason = format!("{why} (rule: {})", action.reason);
                    self.report.actions.push(record);
                }
                Verdict::Proceed { note } => {
                    if let Some(note) = note {
                        action.reason = format!("{}; {note}", action.reason);
                    }
                    approved.push(action);
                }
            }
        }
        if let Err(refusal) = guard::check_max_actions(approved.len(), self.settings.max_actions) {
            for action in &approved {
                let mut record = ActionRecord::from_plan(action, Status::Skipped);
                record.reason = format!("{refusal} (rule: {})", action.reason);
                self.report.actions.push(record);
            }
            return Err(refusal);
        }
        if self.dry_run() {
            for action in &approved {
                self.report
                    .actions
                    .push(ActionRecord::from_plan(action, Status::Planned));
            }
            return Ok(Vec::new());
        }
        Ok(approved)
    }

    /// Applies approved actions one at a time, recording each outcome. A failure is recorded and
    /// the run goes on with the next action; the run then ends as a Lambda error.
    pub async fn apply<O>(
        &mut self,
        approved: Vec<PlannedAction<O>>,
        mut apply_one: impl AsyncFnMut(&PlannedAction<O>) -> Result<Outcome>,
    ) {
        self.apply_replanning(approved, async |action| {
            let result = apply_one(&action).await;
            (action, result)
        })
        .await;
    }

    /// [`Run::apply`] for a function that re-plans each action from live state right before the
    /// change: `apply_one` returns the action as carried out (its reason and undo record), which
    /// is what the report records.
    pub async fn apply_replanning<O>(
        &mut self,
        approved: Vec<PlannedAction<O>>,
        mut apply_one: impl AsyncFnMut(PlannedAction<O>) -> (PlannedAction<O>, Result<Outcome>),
    ) {
        for action in approved {
            if self.out_of_time() {
                let mut record = ActionRecord::from_plan(&action, Status::Skipped);
                record.reason = format!(
                    "stopped before the Lambda timeout; the next run continues (rule: {})",
                    action.reason
                );
                self.report.actions.push(record);
                continue;
            }
            let started = std::time::Instant::now();
            let (done, result) = apply_one(action).await;
            self.observe(started.elapsed());
            self.record(&done, result);
        }
    }

    /// Records the outcome of one action.
    pub fn record<O>(&mut self, action: &PlannedAction<O>, result: Result<Outcome>) {
        let mut record = ActionRecord::from_plan(action, Status::Applied);
        match result {
            Ok(Outcome::Applied) => {
                tracing::info!(principal = %action.principal, action = action.kind.as_str(), target = %action.target, "applied");
            }
            Ok(Outcome::Skipped(why)) => {
                record.status = Status::Skipped;
                record.reason = format!("{why} (rule: {})", action.reason);
            }
            // The target vanished between the plan and the change: nothing left to do.
            Err(error) if error.is_no_such_entity() => {
                record.status = Status::Skipped;
                record.reason = format!("already gone: {error} (rule: {})", action.reason);
            }
            Err(error) => {
                record.status = Status::Failed;
                let message = format!(
                    "{} {} of {}: {error}",
                    action.kind.as_str(),
                    action.target,
                    action.principal
                );
                tracing::error!(error = %message, "action failed");
                self.report.errors.push(message);
                record.error = Some(error.to_string());
            }
        }
        self.report.actions.push(record);
    }

    /// Logs the report and returns it, or the Lambda error when anything failed.
    pub fn finish(self) -> Result<Report> {
        self.log();
        if !self.report.errors.is_empty() {
            return Err(Error::ActionsFailed {
                count: self.report.errors.len(),
                summary: self.report.errors.join("; "),
            });
        }
        Ok(self.report)
    }

    /// Logs the report of a run stopped by `error`, and returns the error.
    pub fn abort(mut self, error: Error) -> Error {
        self.report.errors.push(error.to_string());
        self.log();
        error
    }

    fn log(&self) {
        let report = serde_json::to_string(&self.report).unwrap_or_default();
        tracing::info!(report = %report, "report");
        metrics::emit(&self.report);
    }
}

/// Puts a sweep's candidates in reading order: rotated by the clock (a new start every minute), so
/// that sweeps cut short by their deadline start elsewhere each time and every candidate is
/// reached, even behind a run of exempt ones that are never fixed.
pub fn reading_order<T>(candidates: &mut [T], now: DateTime<Utc>) {
    if !candidates.is_empty() {
        let start = usize::try_from(now.timestamp() / 60).unwrap_or_default() % candidates.len();
        candidates.rotate_left(start);
    }
}
