//! Findings judged after the run: each handled finding's subject re-read live (the function's
//! own reads) and the control's own criterion ([`Rule::control`]) applied, so a finding is
//! resolved only when the control itself passes; a failing one's note says what the function
//! will do about it, and when.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};

use crate::clients::Clients;
use crate::contract::{ControlState, Observed, Remediation, Scope, Window};
use crate::error::Result;
use crate::intake::Finding;
use crate::plan::Urgency;
use crate::principal::Subject;
use crate::report::Report;

/// How far ahead the note of a failing control looks for the function's next action.
const LOOKAHEAD_DAYS: i64 = 400;

/// Judges each handled finding on live state after the run: its subject re-read (the function's
/// own reads) and the control's criterion applied to what was read. `None` where nothing was
/// judged: a dry run (never resolved anyway), or a control the facts say nothing of. A subject
/// that cannot be re-read fails: nothing shows that the control passes.
pub(super) async fn judge<F: Remediation>(
    function: &F,
    clients: &Clients,
    findings: &[(Finding, Subject)],
    report: &Report,
    now: DateTime<Utc>,
) -> Vec<Option<ControlState>> {
    if report.dry_run {
        return vec![None; findings.len()];
    }
    let mut reads: HashMap<&Subject, Reread<F::Facts>> = HashMap::new();
    let mut verdicts = Vec::with_capacity(findings.len());
    for (finding, subject) in findings {
        if !reads.contains_key(subject) {
            let read = reread(function, clients, subject, now).await;
            reads.insert(subject, read.map_err(|error| error.to_string()));
        }
        verdicts.push(match reads.get(subject) {
            Some(Ok(observed)) => verdict(function, &finding.control, observed, now),
            Some(Err(error)) => Some(ControlState::Fails(format!(
                "live state could not be re-read after the run: {error}"
            ))),
            None => None,
        });
    }
    verdicts
}

/// What re-reading one subject gave: its facts, or why they could not be read.
type Reread<F> = std::result::Result<Vec<Observed<F>>, String>;

/// Reads `subject` live, as the run did: what the rule needs to judge it now.
async fn reread<F: Remediation>(
    function: &F,
    clients: &Clients,
    subject: &Subject,
    now: DateTime<Utc>,
) -> Result<Vec<Observed<F::Facts>>> {
    let window = Window::at(now);
    let survey = function
        .survey(clients, Scope::Subjects(vec![subject.clone()]), window)
        .await?;
    let mut observed = Vec::with_capacity(survey.leads.len());
    for lead in survey.leads {
        observed.push(function.read(clients, lead, window).await?);
    }
    Ok(observed)
}

/// The control's state over everything read of one subject: failing when any part fails.
fn verdict<F: Remediation>(
    function: &F,
    control: &str,
    observed: &[Observed<F::Facts>],
    now: DateTime<Utc>,
) -> Option<ControlState> {
    let mut judged = false;
    let mut fails = Vec::new();
    for subject in observed {
        match function.control(control, &subject.facts, now) {
            None => {}
            Some(ControlState::Passes) => judged = true,
            Some(ControlState::Fails(why)) => {
                judged = true;
                fails.push(format!("{why}{}", next_step(function, &subject.facts, now)));
            }
        }
    }
    judged.then(|| {
        if fails.is_empty() {
            ControlState::Passes
        } else {
            ControlState::Fails(fails.join("; "))
        }
    })
}

/// What the function's own rule will do about a failing subject, and when: its first action due
/// after now (the rule is pure, so looking ahead costs no call), or that nothing it is configured
/// to do will change it. Nothing when an action is due now: the run's actions say what became of
/// it (skipped, warned, failed).
fn next_step<F: Remediation>(function: &F, facts: &F::Facts, now: DateTime<Utc>) -> String {
    if !function.plan(facts, now).is_empty() {
        return String::new();
    }
    for day in 1..=LOOKAHEAD_DAYS {
        let then = now + Duration::days(day);
        let due = function.plan(facts, then);
        if let Some(action) = due.iter().find(|a| a.blocked.is_none()) {
            let warn_days = function.as_ref().warn_days;
            let warned = if warn_days > 0 && action.urgency == Urgency::WarnFirst {
                format!(", after a warning of {warn_days} days")
            } else {
                String::new()
            };
            return format!(
                "; {} will {} {} from {}{warned} ({})",
                F::NAME,
                action.action,
                action.target,
                then.date_naive(),
                action.reason
            );
        }
        if !due.is_empty() {
            break;
        }
    }
    format!("; nothing {} is configured to do will change that", F::NAME)
}
