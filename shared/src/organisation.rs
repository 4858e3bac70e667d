//! Organisation mode: which accounts an invocation covers, the clients of each, and the fan-out
//! of a sweep into one asynchronous invocation per account.
//!
//! In account mode (no `MEMBER_ROLE_NAME`) an invocation covers the function's own account, as
//! it always did. In organisation mode an event is acted on in the account it is about (a
//! finding's account, the envelope's `account` of a forwarded CloudTrail or Config event, a
//! manual payload's `accounts`), through the member role there; a sweep of the organisation is
//! not run here but handed to Lambda, one invocation per account, so each account gets its own
//! time budget, retries and failure destination.

use serde_json::Value;

use crate::clients::Clients;
use crate::config::CommonSettings;
use crate::contract::Reach;
use crate::error::{Error, Result, call};
use crate::intake::{Accounts, Findings, ManualPayload, Trigger, UnusedAccess};

/// The path of the member role in every member account (`member-template.yaml`).
pub const MEMBER_ROLE_PATH: &str = "/iam-remediation/";

/// What one invocation covers.
#[derive(Debug)]
pub enum Coverage {
    /// The pipeline runs here, in each of these accounts, on the part of the trigger about it.
    Accounts(Vec<AccountRun>),
    /// One asynchronous invocation of the function per account, with this payload each.
    FanOut(Vec<(String, Value)>),
}

/// The pipeline's run in one account.
#[derive(Debug)]
pub struct AccountRun {
    pub account: String,
    /// True for the function's own account, reached with its own credentials.
    pub own: bool,
    pub trigger: Trigger,
}

/// The accounts `trigger` covers. Account mode: the function's own, and a manual payload's
/// `accounts` is an error. Organisation mode: see the module's documentation; an account in
/// `EXEMPT_ACCOUNTS` is left out, with a note.
pub async fn coverage(
    settings: &CommonSettings,
    organisation: bool,
    clients: &Clients,
    trigger: Trigger,
    delivered_to: Option<String>,
    notes: &mut Vec<String>,
) -> Result<Coverage> {
    if !organisation {
        if let Trigger::Manual(payload) = &trigger
            && payload.accounts.is_some()
        {
            return Err(Error::InvalidEvent(
                "manual payload: `accounts` is for organisation mode, and MEMBER_ROLE_NAME is not \
                 set: leave it out to act on this account"
                    .into(),
            ));
        }
        let account = match delivered_to {
            Some(account) => account,
            None => clients.account().await?.to_owned(),
        };
        return Ok(Coverage::Accounts(vec![AccountRun {
            account,
            own: true,
            trigger,
        }]));
    }
    let home = clients.account().await?.to_owned();
    let here = delivered_to.unwrap_or_else(|| home.clone());
    let runs: Vec<(String, Trigger)> = match trigger {
        Trigger::Schedule => {
            let accounts = without_exempt(settings, active_accounts(clients).await?, notes);
            return Ok(one_per_account(accounts, &ManualPayload::default()));
        }
        Trigger::Manual(payload) => match payload.accounts.clone() {
            None => vec![(home.clone(), Trigger::Manual(payload))],
            Some(Accounts::All) => {
                let accounts = without_exempt(settings, active_accounts(clients).await?, notes);
                return Ok(one_per_account(accounts, &payload));
            }
            Some(Accounts::Ids(ids)) if ids.len() > 1 => {
                let accounts = without_exempt(settings, ids, notes);
                return Ok(one_per_account(accounts, &payload));
            }
            Some(Accounts::Ids(ids)) => ids
                .into_iter()
                .map(|account| (account, Trigger::Manual(payload.clone())))
                .collect(),
        },
        Trigger::Findings(findings) => by_finding_account(findings, &here),
        Trigger::UnusedAccess(UnusedAccess::Finding(finding)) => {
            let account = finding.account.clone().unwrap_or_else(|| here.clone());
            vec![(
                account,
                Trigger::UnusedAccess(UnusedAccess::Finding(finding)),
            )]
        }
        other => vec![(here, other)],
    };
    let runs = runs
        .into_iter()
        .filter(|(account, _)| !exempt(settings, account, notes))
        .map(|(account, trigger)| AccountRun {
            own: account == home,
            account,
            trigger,
        })
        .collect();
    Ok(Coverage::Accounts(runs))
}

/// One invocation per account, each with `payload` for that account (a schedule's: just
/// `{"accounts": ["<id>"]}`).
fn one_per_account(accounts: Vec<String>, payload: &ManualPayload) -> Coverage {
    Coverage::FanOut(
        accounts
            .into_iter()
            .map(|account| {
                let body = payload.for_account(&account);
                (account, body)
            })
            .collect(),
    )
}

/// A Security Hub event's findings, split by the account each is about (in the order they
/// came); what the event left alone goes with the first.
fn by_finding_account(findings: Findings, here: &str) -> Vec<(String, Trigger)> {
    if findings.handled.is_empty() {
        return vec![(here.to_owned(), Trigger::Findings(findings))];
    }
    let mut groups: Vec<(String, Findings)> = Vec::new();
    for finding in findings.handled {
        let account = finding.account.clone().unwrap_or_else(|| here.to_owned());
        match groups.iter_mut().find(|(a, _)| *a == account) {
            Some((_, group)) => group.handled.push(finding),
            None => groups.push((
                account,
                Findings {
                    handled: vec![finding],
                    ignored: Vec::new(),
                },
            )),
        }
    }
    groups[0].1.ignored = findings.ignored;
    groups
        .into_iter()
        .map(|(account, group)| (account, Trigger::Findings(group)))
        .collect()
}

fn exempt(settings: &CommonSettings, account: &str, notes: &mut Vec<String>) -> bool {
    let exempt = settings.exempts_account(account);
    if exempt {
        notes.push(format!(
            "account {account} is in EXEMPT_ACCOUNTS: left alone"
        ));
    }
    exempt
}

fn without_exempt(
    settings: &CommonSettings,
    accounts: Vec<String>,
    notes: &mut Vec<String>,
) -> Vec<String> {
    accounts
        .into_iter()
        .filter(|account| !exempt(settings, account, notes))
        .collect()
}

/// The organisation's `ACTIVE` accounts (`organizations:ListAccounts`, page by page: AWS
/// answers at most 20 a page), in the order listed. An account's `State` is read when AWS gives
/// it, its older `Status` otherwise (Organizations API Reference, `Account`).
pub async fn active_accounts(clients: &Clients) -> Result<Vec<String>> {
    let mut pages = clients
        .organizations()
        .list_accounts()
        .into_paginator()
        .send();
    let mut active = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| Error::aws("ListAccounts", &e))?;
        for account in page.accounts.unwrap_or_default() {
            let state = match (account.state(), account.status()) {
                (Some(state), _) => state.as_str() == "ACTIVE",
                (None, Some(status)) => status.as_str() == "ACTIVE",
                (None, None) => false,
            };
            if let (true, Some(id)) = (state, account.id) {
                active.push(id);
            }
        }
    }
    Ok(active)
}

/// The clients of `run`'s account: for a function that reaches accounts itself, its own clients
/// said to act on that account; the function's own in its own account; otherwise the member
/// role's (`arn:<partition>:iam::<account>:role/iam-remediation/<MEMBER_ROLE_NAME>`), in a
/// session named after the function.
pub async fn clients_in(
    settings: &CommonSettings,
    reach: Reach,
    clients: &Clients,
    run: &AccountRun,
    function: &str,
) -> std::result::Result<Clients, MemberRoleRefused> {
    if reach == Reach::Itself {
        return Ok(clients.acting_on(&run.account));
    }
    let Some(name) = settings.member_role_name.as_deref().filter(|_| !run.own) else {
        return Ok(clients.clone());
    };
    let partition = match clients.identity().await {
        Ok(identity) => identity.partition.clone(),
        Err(error) => {
            return Err(MemberRoleRefused {
                role_arn: String::new(),
                error,
            });
        }
    };
    let role_arn = format!(
        "arn:{partition}:iam::{}:role{MEMBER_ROLE_PATH}{name}",
        run.account
    );
    clients
        .assume_role(&run.account, &role_arn, function)
        .await
        .map_err(|error| MemberRoleRefused { role_arn, error })
}

/// A member role that could not be assumed: its ARN, and why.
#[derive(Debug)]
pub struct MemberRoleRefused {
    pub role_arn: String,
    pub error: Error,
}

/// Starts one asynchronous invocation (`InvocationType=Event`) of `function_name` per account,
/// up to `limit` at once; returns each account with what came of its invocation.
pub async fn fan_out(
    clients: &Clients,
    function_name: &str,
    invocations: Vec<(String, Value)>,
    limit: usize,
) -> Vec<(String, Result<()>)> {
    let lambda = clients.lambda();
    crate::concurrent::concurrently(limit, invocations, |(account, payload)| async move {
        let request = lambda
            .invoke()
            .function_name(function_name)
            .invocation_type(aws_sdk_lambda::types::InvocationType::Event)
            .payload(aws_smithy_types::Blob::new(payload.to_string()));
        let sent = call("Invoke", request.send()).await.map(|_| ());
        (account, sent)
    })
    .await
}
