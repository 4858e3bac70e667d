//! Bookkeeping: the warning records and the function's own records, written on each principal
//! before the changes, and each warning settled in the report as its record came out.

use std::collections::HashMap;
use std::time::Instant;

use chrono::{DateTime, Utc};

use super::Run;
use crate::clients::Clients;
use crate::concurrent::concurrently;
use crate::contract::{Observed, Remediation};
use crate::error::Error;
use crate::guard::{self, Approved, Notice, Warning};
use crate::principal::Subject;
use crate::records::TagChanges;
use crate::report::{ActionRecord, Status};

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
pub(super) fn settle_warnings<O>(
    warned: Vec<Warning<O>>,
    unwritten: &HashMap<Subject, Unwritten>,
    run: &mut Run,
) -> Vec<Approved<O>> {
    let mut act_now = Vec::new();
    for warning in warned {
        let failure = unwritten.get(&warning.action.subject);
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

/// One subject's bookkeeping: why its records were not written, if they were not, and why
/// its stale records were not removed, if they were not.
type Written = (Subject, Option<Unwritten>, Option<String>);

/// Why a principal's records were not written.
#[derive(Debug)]
pub(super) enum Unwritten {
    /// Not tried: too close to the deadline to write them and tell their owner.
    Stopped,
    Failed(Error),
}

/// Writes each principal's bookkeeping tags (warnings, reminders, the function's records) before
/// the changes, and returns the principals whose tags were not written, with why. A warning the
/// owner hears of is written only when there is time left to tell them ([`super::deadline::Deadline`]). A write
/// that failed is an error of the run, unless it is a first warning refused for good, which
/// [`settle_warnings`] acts on instead.
pub(super) async fn bookkeeping<F: Remediation>(
    function: &F,
    clients: &Clients,
    observed: &[Observed<F::Facts>],
    warnings: HashMap<Subject, TagChanges>,
    warned: &[Warning<F::Order>],
    run: &mut Run,
    now: DateTime<Utc>,
) -> HashMap<Subject, Unwritten> {
    let mut changes = warnings;
    for subject in observed {
        let records = function.records(subject, now);
        if records.is_empty() {
            continue;
        }
        let entry = changes.entry(subject.subject.clone()).or_default();
        entry.set.extend(records.set);
        entry.remove.extend(records.remove);
    }
    let notify = function.as_ref().notify_topic_arn.is_some();
    let deadline = &run.deadline;
    let limit = function.as_ref().max_concurrency;
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
                let result = function.write_tags(clients, &principal, &change.set).await;
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
                && let Err(error) = function
                    .remove_tags(clients, &principal, &change.remove)
                    .await
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

/// The warnings of `subject` whose owner hears of them in this run.
fn notices<'a, O>(
    warned: &'a [Warning<O>],
    subject: &'a Subject,
) -> impl Iterator<Item = &'a Warning<O>> {
    warned
        .iter()
        .filter(move |w| w.notice.is_some() && &w.action.subject == subject)
}
