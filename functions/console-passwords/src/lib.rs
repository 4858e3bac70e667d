//! `console-passwords`: deletes console passwords (login profiles) that went unused for longer
//! than `MAX_PASSWORD_UNUSED_DAYS`.
//!
//! The rule lives in [`rule`]; this file wires it to the shared pipeline: which users an event
//! is about, the facts to read, and the shared change that carries out a planned deletion.

pub mod rule;
pub mod settings;

use std::time::SystemTime;

use chrono::{DateTime, Utc};
use iam_remediation::apply::login_profiles as apply_profiles;
use iam_remediation::facts::credential_report::{self, ReportUser};
use iam_remediation::facts::login_profiles::{self as profile_facts, ConsolePassword};
use iam_remediation::facts::tags::{self, Tags};
use iam_remediation::guard;
use iam_remediation::intake::Trigger;
use iam_remediation::{
    Clients, Error, Inputs, ManualFields, PlannedAction, Principal, PrincipalKind, Report, Result,
    Run, Scope, runtime, scope,
};
use serde_json::Value;

pub use settings::Settings;

/// The function's name in reports and metrics.
pub const FUNCTION: &str = "console-passwords";

/// What `console-passwords` accepts beyond schedules and Config events.
pub const INPUTS: Inputs = Inputs {
    cloudtrail_events: &["CreateLoginProfile", "UpdateLoginProfile"],
    health: false,
    manual: ManualFields {
        users: true,
        groups: false,
        roles: false,
        key_order: false,
    },
};

/// Handles one invocation: returns the report, or the Lambda error after logging the report.
pub async fn handle(
    clients: &Clients,
    settings: &Settings,
    event: Value,
    now: DateTime<Utc>,
    deadline: Option<SystemTime>,
) -> Result<Report> {
    runtime::invocation(
        FUNCTION,
        &INPUTS,
        &settings.common,
        clients,
        event,
        deadline,
        async |trigger, run| execute(clients, settings, trigger, run, now).await,
    )
    .await
}

/// The users an event is about. CloudTrail's login-profile calls name theirs; every other
/// trigger is read the shared way.
async fn scope(clients: &Clients, trigger: &Trigger) -> Result<Scope> {
    if let Some(scope) = scope::resolve(&clients.iam, trigger, &[PrincipalKind::User]).await? {
        return Ok(scope);
    }
    match trigger {
        Trigger::ApiCall(call) => {
            let user = match call.principal_name("userName")? {
                Some(user) => user,
                None => call
                    .response_element("/loginProfile/userName")
                    .ok_or_else(|| {
                        Error::InvalidEvent(format!("{} names no user", call.event_name))
                    })?,
            };
            Ok(Scope::Principals(vec![Principal::user(user)]))
        }
        other => Err(Error::InvalidEvent(format!(
            "{:?} events are not handled here",
            other.kind()
        ))),
    }
}

/// A planned deletion, with the tags behind its user's exemption (`Err` when unreadable).
struct Finding {
    action: PlannedAction<ConsolePassword>,
    tags: std::result::Result<Tags, String>,
}

/// Reads one user live and judges its password. Tags are read only when there is something to
/// delete, since only then does an exemption matter. A user that does not exist is
/// [`Error::NotFound`].
async fn evaluate(
    iam: &aws_sdk_iam::Client,
    user: &str,
    settings: &Settings,
    now: DateTime<Utc>,
) -> Result<Option<Finding>> {
    let Some(password) = profile_facts::console_password(iam, user).await? else {
        return Ok(None);
    };
    let Some(action) = rule::plan(&password, settings, now) else {
        return Ok(None);
    };
    let tags = tags::principal_tags(iam, &action.principal)
        .await
        .map_err(|e| e.to_string());
    Ok(Some(Finding { action, tags }))
}

async fn execute(
    clients: &Clients,
    settings: &Settings,
    trigger: &Trigger,
    run: &mut Run,
    now: DateTime<Utc>,
) -> Result<()> {
    let iam = &clients.iam;
    let mut findings: Vec<Finding> = Vec::new();
    match scope(clients, trigger).await? {
        Scope::Nothing(why) => {
            tracing::info!(reason = %why, "nothing to do");
        }
        Scope::Account => {
            let report = credential_report::fetch(iam).await?;
            let is_candidate = |row: &ReportUser| rule::is_candidate(row, settings, now);
            let read = run
                .read_candidates(&report, is_candidate, now, async |row| {
                    evaluate(iam, &row.user, settings, now).await
                })
                .await;
            findings.extend(read.into_iter().flatten());
        }
        Scope::Principals(users) => {
            // Every named user is read before anything changes: a missing one stops the run.
            for user in &users {
                findings.extend(evaluate(iam, &user.name, settings, now).await?);
            }
            run.add_examined(users.len());
        }
    }

    let subjects = findings.iter().map(|finding| {
        let tags = finding.tags.as_deref().map_err(String::as_str);
        (&finding.action.principal, tags)
    });
    let protections = guard::protections(
        clients,
        subjects,
        &settings.common,
        now.date_naive(),
        !findings.is_empty(),
    )
    .await?;
    let planned = findings.into_iter().map(|finding| finding.action).collect();
    let approved = run.review(planned, &protections)?;
    run.apply(approved, async |action| {
        apply_profiles::delete_login_profile(iam, &action.order).await
    })
    .await;
    Ok(())
}
