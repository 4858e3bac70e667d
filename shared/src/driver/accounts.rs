//! The driver's organisation parts: the fan-out of a sweep, an account whose member role could
//! not be assumed, and each account's report merged into the invocation's.

use crate::clients::Clients;
use crate::config::CommonSettings;
use crate::contract::Remediation;
use crate::error::Error;
use crate::feedback;
use crate::intake::{Finding, Trigger};
use crate::organisation::{self, AccountRun, MemberRoleRefused};
use crate::principal::Subject;
use crate::report::{ActionRecord, Report, Status};

/// Dispatches a sweep: one asynchronous invocation per account, each reported as a
/// `dispatch-sweep` action (failed when Lambda refused it). Nothing changes here.
pub(super) async fn fan_out(
    settings: &CommonSettings,
    clients: &Clients,
    invocations: Vec<(String, serde_json::Value)>,
    report: &mut Report,
) {
    report.examined = invocations.len();
    let Some(name) = settings.function_name.as_deref() else {
        report.errors.push(
            "AWS_LAMBDA_FUNCTION_NAME is not set: the sweep cannot be dispatched to each account"
                .into(),
        );
        return;
    };
    for (account, sent) in
        organisation::fan_out(clients, name, invocations, settings.max_concurrency).await
    {
        report.accounts.push(account.clone());
        let mut action = ActionRecord {
            account: account.clone(),
            principal_type: Subject::Account.kind(),
            principal: account.clone(),
            action: "dispatch-sweep",
            target: account.clone(),
            reason: format!("swept in its own invocation of {name}"),
            status: Status::Applied,
            details: None,
            error: None,
            subject: Subject::Account,
        };
        if let Err(error) = sent {
            action.status = Status::Failed;
            action.error = Some(error.to_string());
            report
                .errors
                .push(format!("account {account}: not dispatched: {error}"));
        }
        report.actions.push(action);
    }
}

/// The report of an account whose member role could not be assumed: nothing was done there.
/// The findings about it are noted so (`NOTIFIED`, naming the role), from the function's own
/// account: Security Hub tells the truth about them too.
pub(super) async fn refused_account<F: Remediation>(
    clients: &Clients,
    run: &AccountRun,
    refused: MemberRoleRefused,
    dry_run: bool,
) -> Report {
    let mut report = Report::new(F::NAME, run.trigger.kind(), dry_run);
    let why = format!(
        "cannot assume {}: {}; nothing was done in this account",
        refused.role_arn, refused.error
    );
    report.errors.push(why.clone());
    report.actions.push(ActionRecord {
        account: run.account.clone(),
        principal_type: Subject::Account.kind(),
        principal: run.account.clone(),
        action: "assume-member-role",
        target: refused.role_arn,
        reason: why,
        status: Status::Failed,
        details: None,
        error: Some(refused.error.to_string()),
        subject: Subject::Account,
    });
    if let Trigger::Findings(findings) = &run.trigger
        && !findings.handled.is_empty()
    {
        let noted: Vec<(Finding, Subject)> = (findings.handled.iter())
            .map(|finding| (finding.clone(), Subject::Account))
            .collect();
        let verdicts = vec![None; noted.len()];
        let shared = F::INPUTS.securityhub_shared_controls;
        if let Err(error) =
            feedback::securityhub::update(&clients.securityhub, &noted, &verdicts, &report, shared)
                .await
        {
            report.errors.push(error.to_string());
        }
    }
    report
}

/// Puts each account's report into the invocation's; returns what stopped the one account of
/// an account-mode run, as it is. With several accounts (organisation mode), each account's
/// errors and notes name it, and an account stopped before acting is one more error.
pub(super) fn merge(
    report: &mut Report,
    ran: Vec<(String, (Report, Option<Error>))>,
    single: bool,
) -> Option<Error> {
    let mut ran = ran;
    ran.sort_by(|a, b| a.0.cmp(&b.0));
    for (account, (part, stopped)) in ran {
        report.accounts.push(account.clone());
        report.examined += part.examined;
        report.actions.extend(part.actions);
        if single {
            report.errors.extend(part.errors);
            report.notes.extend(part.notes);
            return stopped;
        }
        let named = |line: String| format!("account {account}: {line}");
        report.errors.extend(part.errors.into_iter().map(named));
        report.notes.extend(part.notes.into_iter().map(named));
    }
    None
}
