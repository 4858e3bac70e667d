//! The read stage: a scope's leads surveyed and read live, up to `MAX_CONCURRENCY` at once, and
//! the forecast the rule makes on what was read.

use std::time::Instant;

use chrono::{DateTime, Utc};

use super::Run;
use crate::clients::Clients;
use crate::concurrent::concurrently;
use crate::contract::{Observed, Remediation, Scope, Window};
use crate::error::{Error, Result};
use crate::plan::{Due, PlannedAction};
use crate::principal::{PrincipalKind, Subject};

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

pub(super) async fn read_stage<F: Remediation>(
    function: &F,
    clients: &Clients,
    scope: Scope<F::Lead>,
    run: &mut Run,
    window: Window,
) -> Result<Vec<Observed<F::Facts>>> {
    // A sweep of a function that covers no principal reads the account alone: that one read
    // failing is the run failing.
    let covers_principals = PrincipalKind::ALL.iter().any(|kind| function.covers(*kind));
    let policy = match &scope {
        Scope::Sweep if covers_principals => ReadPolicy::Sweep,
        Scope::Urgent(_) => ReadPolicy::BestEffort,
        Scope::Sweep | Scope::Subjects(_) | Scope::Leads(_) => ReadPolicy::AllOrNothing,
    };
    let survey = function.survey(clients, scope, window).await?;
    run.report.examined += survey.examined;
    for note in survey.notes {
        run.note(note);
    }
    let mut leads = survey.leads;
    if policy == ReadPolicy::Sweep {
        reading_order(&mut leads, window.now);
    }
    let deadline = &run.deadline;
    let limit = function.as_ref().max_concurrency;
    let mut results: Vec<LeadRead<F::Facts>> = concurrently(
        limit,
        leads.into_iter().enumerate(),
        |(index, lead)| async move {
            let name = lead.to_string();
            if policy == ReadPolicy::Sweep && deadline.too_close_to_read() {
                return (index, name, None);
            }
            let started = Instant::now();
            let read = function.read(clients, lead, window).await;
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
pub(super) fn forecast<F: Remediation>(
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
