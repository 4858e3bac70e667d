//! The driver: runs the one pipeline every function shares, event → scope → facts → plan →
//! guard → apply → report, through the [`Remediation`] contract. A function supplies what is its
//! own; [`handle`] does the rest, the same way for all of them. Each stage after the guard has
//! its module: [`read`] (survey, live reads, forecast), [`record`] (bookkeeping before the
//! changes), [`apply`] (the changes); [`deadline`] keeps them clear of the Lambda deadline.
//! An invocation runs the pipeline once per account it covers ([`crate::organisation`]), or fans
//! out ([`accounts`]).

mod accounts;
mod apply;
mod deadline;
mod judge;
mod read;
mod record;

use std::collections::HashMap;
use std::time::SystemTime;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::clients::Clients;
use crate::concurrent::concurrently;
use crate::contract::{Asked, Reach, Remediation, Window};
use crate::error::{Error, Result};
use crate::guard::{self, Known, Notice};
use crate::intake::{self, Deployment, Finding, Trigger};
use crate::organisation::{self, AccountRun, Coverage};
use crate::plan::Due;
use crate::principal::Subject;
use crate::report::Report;
use crate::{feedback, metrics, notify, scope};

pub use deadline::DEADLINE_MARGIN;
use deadline::Deadline;
pub use read::reading_order;

/// One invocation's state between the stages.
#[derive(Debug)]
pub(crate) struct Run {
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
    clients: &Clients,
    event: Value,
    now: DateTime<Utc>,
    deadline: Option<SystemTime>,
) -> Result<Report> {
    let settings = function.as_ref();
    let in_organisation = settings.organisation() || F::REACH == Reach::Itself;
    let deployment = if in_organisation {
        Deployment::Organisation
    } else {
        Deployment::Account
    };
    let delivered_to = intake::delivered_to(&event);
    let trigger = intake::parse_in(event, &F::INPUTS, deployment)?;
    let dry_run = trigger.dry_run_override().unwrap_or(settings.dry_run);
    let mut report = Report::new(F::NAME, trigger.kind(), dry_run);
    let coverage = organisation::coverage(
        settings,
        in_organisation,
        clients,
        trigger,
        delivered_to,
        &mut report.notes,
    )
    .await?;
    let stopped = match coverage {
        Coverage::FanOut(invocations) => {
            accounts::fan_out(settings, clients, invocations, &mut report).await;
            None
        }
        Coverage::Accounts(runs) => {
            let single = runs.len() == 1 && !in_organisation;
            let limit = settings.max_concurrency;
            let ran =
                concurrently(limit, runs, |run| async move {
                    let account = run.account.clone();
                    let outcome =
                        match organisation::clients_in(settings, F::REACH, clients, &run, F::NAME)
                            .await
                        {
                            Ok(clients) => {
                                in_account(function, &clients, run, dry_run, now, deadline).await
                            }
                            Err(refused) => (
                                accounts::refused_account::<F>(clients, &run, refused, dry_run)
                                    .await,
                                None,
                            ),
                        };
                    (account, outcome)
                })
                .await;
            accounts::merge(&mut report, ran, single)
        }
    };
    finish(report, stopped)
}

/// Logs the invocation's report and metrics; returns it, or the Lambda error when anything
/// failed or the run was stopped.
fn finish(report: Report, stopped: Option<Error>) -> Result<Report> {
    let mut report = report;
    report.sort();
    report.accounts.sort();
    let logged = serde_json::to_string(&report).unwrap_or_default();
    tracing::info!(report = %logged, "report");
    metrics::emit(&report);
    if let Some(error) = stopped {
        return Err(error);
    }
    if !report.errors.is_empty() {
        return Err(Error::ActionsFailed {
            count: report.errors.len(),
            summary: report.errors.join("; "),
        });
    }
    Ok(report)
}

/// The pipeline in one account: its report, and what stopped it, if anything did (the stop is
/// also among the report's errors).
async fn in_account<F: Remediation>(
    function: &F,
    clients: &Clients,
    account_run: AccountRun,
    dry_run: bool,
    now: DateTime<Utc>,
    deadline: Option<SystemTime>,
) -> (Report, Option<Error>) {
    let trigger = account_run.trigger;
    let mut run = Run {
        report: Report::new(F::NAME, trigger.kind(), dry_run),
        deadline: Deadline::new(deadline, function.as_ref().max_concurrency),
        findings: Vec::new(),
        warned: Vec::new(),
        notices: Vec::new(),
        owners: HashMap::new(),
        upcoming: Vec::new(),
    };
    let outcome = drive(function, clients, &trigger, &mut run, now).await;
    conclude(
        function,
        clients,
        &trigger,
        &account_run.account,
        run,
        outcome,
        now,
    )
    .await
}

async fn drive<F: Remediation>(
    function: &F,
    clients: &Clients,
    trigger: &Trigger,
    run: &mut Run,
    now: DateTime<Utc>,
) -> Result<()> {
    let settings = function.as_ref();
    let mut notes = Vec::new();
    let resolved = scope::resolve(function, clients, trigger, &mut run.findings, &mut notes).await;
    for note in notes {
        run.note(note);
    }
    let scope = match resolved? {
        Asked::Nothing(why) => {
            run.note(format!("nothing to do: {why}"));
            return Ok(());
        }
        Asked::Look(scope) => scope,
    };
    let horizon = settings
        .notify_topic_arn
        .as_ref()
        .map(|_| notify::horizon(settings.warn_days));
    let window = Window {
        now,
        until: now + horizon.unwrap_or_default(),
    };
    // The closing work, kept in hand from the start: each finding's update, the Config
    // evaluation of a custom rule's invocation, the summary when a topic is set (owner messages
    // are added as their warnings are recorded). Work that will not happen keeps no time.
    let evaluation = usize::from(matches!(trigger, Trigger::ConfigRule(_)));
    let summary = usize::from(settings.notify_topic_arn.is_some());
    run.deadline
        .reserve_sequential(run.findings.len() + evaluation + summary);
    let observed = read::read_stage(function, clients, scope, run, window).await?;

    let planned: Vec<_> = observed
        .iter()
        .flat_map(|o| function.plan(&o.facts, now))
        .collect();
    if let Some(horizon) = horizon {
        run.upcoming = read::forecast(function, &observed, &planned, now, horizon);
    }
    // Only a principal can be the identity the function runs as (read once per container).
    let caller = if planned.iter().any(|a| a.subject.principal().is_some()) {
        clients.caller().await?.cloned()
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
        record::settle_warnings(review.warned, &HashMap::new(), run);
        return Err(refusal);
    }
    let mut approved = review.approved;
    if run.report.dry_run {
        record::settle_warnings(review.warned, &HashMap::new(), run);
    } else {
        let unwritten = record::bookkeeping(
            function,
            clients,
            &observed,
            review.warnings,
            &review.warned,
            run,
            now,
        )
        .await;
        approved.extend(record::settle_warnings(review.warned, &unwritten, run));
    }
    apply::apply_stage(function, clients, approved, run, now).await;
    Ok(())
}

/// Ends an account's run: the report in order, each action naming the account, then what goes
/// back to the sources (Config evaluations, Security Hub findings) and out to people (SNS).
async fn conclude<F: Remediation>(
    function: &F,
    clients: &Clients,
    trigger: &Trigger,
    account: &str,
    mut run: Run,
    outcome: Result<()>,
    now: DateTime<Utc>,
) -> (Report, Option<Error>) {
    let stopped = outcome.err();
    if let Some(error) = &stopped {
        run.report.errors.push(error.to_string());
    }
    for action in &mut run.report.actions {
        account.clone_into(&mut action.account);
    }
    run.report.sort();
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
        let verdicts = judge::judge(function, clients, &run.findings, &run.report, now).await;
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
    if let Some(topic) = &function.as_ref().notify_topic_arn {
        let message = notify::Messages {
            report: &run.report,
            account,
            warned: &run.warned,
            notices: &run.notices,
            owners: &run.owners,
            upcoming: &run.upcoming,
            now,
        };
        let limit = function.as_ref().max_concurrency;
        for error in notify::publish(&clients.sns, topic, &message, limit).await {
            run.add_error(error);
        }
    }
    (run.report, stopped)
}
