//! The apply stage: approved actions carried out, up to `MAX_CONCURRENCY` subjects at once.

use std::time::Instant;

use chrono::{DateTime, Utc};

use super::Run;
use crate::clients::Clients;
use crate::concurrent::concurrently;
use crate::contract::{Outcome, Remediation};
use crate::error::{Error, Result};
use crate::guard::Approved;
use crate::plan::PlannedAction;
use crate::principal::Subject;
use crate::report::{ActionRecord, Status};

/// Applies approved actions: up to `MAX_CONCURRENCY` subjects at once, each subject's actions in
/// their planned order, none started too close to the deadline.
pub(super) async fn apply_stage<F: Remediation>(
    function: &F,
    clients: &Clients,
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
    let limit = function.as_ref().max_concurrency;
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
                let result = function.apply(clients, &action, now).await;
                deadline.observe(started.elapsed());
                let mut applied = Applied::from_result(&action, result);
                if applied.record.status == Status::Applied
                    && let Some(key) = clears_warning
                    && let Err(error) = function.remove_tags(clients, &subject, &[key]).await
                {
                    applied.notes.push(format!(
                        "the warning record of {subject} could not be removed ({error}); the next run removes it"
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
