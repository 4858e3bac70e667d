//! A subject's facts read live, as much as the rule needs: a sweep's candidates from the
//! credential report, one user's keys (and their last use where the rule looks at it), the root
//! user. The fact types and the reads of single IAM answers are in [`crate::facts`].

use aws_sdk_iam::Client;
use chrono::{DateTime, Utc};
use iam_remediation::plan::days;
use iam_remediation::reads::{ReportKey, TagState, Tags, credential_report, identity, tags};
use iam_remediation::{Clients, Observed, Principal, Remediation, Result, Subject, Survey, Window};

use crate::facts::{
    Facts, Focus, KeyFacts, KeyRecord, LastUse, Lead, Records, UserKeys, list_keys,
    root_keys_present,
};
use crate::settings::{AccessKeys, KeyAction, check_secret_name};
use crate::{rotation, rule};

/// Reads one lead live. A user or key that does not exist is [`Error::NotFound`].
pub async fn read(
    clients: &Clients,
    function: &AccessKeys,
    lead: Lead,
    window: Window,
) -> Result<Observed<Facts>> {
    let root = |root| Observed {
        subject: Subject::RootUser,
        tags: TagState::Untaggable,
        judged_whole: true,
        facts: Facts::Root(root),
    };
    match lead {
        Lead::User {
            name,
            tags,
            reactivated,
        } => {
            read_user(
                clients,
                function,
                name,
                tags,
                Focus::All,
                reactivated,
                window,
            )
            .await
        }
        Lead::Key { key_id, focus } => {
            let owner = identity::access_key_owner(&clients.iam, &key_id).await?;
            read_user(clients, function, owner.user, None, focus, None, window).await
        }
        Lead::Root(report_root) => Ok(root(report_root)),
        // A finding about the account (IAM.4): the credential report says which keys, and
        // GetAccountSummary whether one exists now (the report may be hours old).
        Lead::Account => {
            let iam = &clients.iam;
            let report = credential_report::fetch(iam).await?;
            let keys_present = root_keys_present(iam).await?;
            Ok(Observed {
                subject: Subject::RootUser,
                tags: TagState::Untaggable,
                judged_whole: true,
                facts: Facts::Account {
                    root: report.root.unwrap_or_default(),
                    keys_present,
                },
            })
        }
    }
}

/// A sweep's candidates: the credential report's users whose keys may be due, and the root
/// user when it has keys.
pub async fn sweep(iam: &Client, function: &AccessKeys, window: Window) -> Result<Survey<Lead>> {
    let is_candidate = |row: &_, tags: &_| rule::is_candidate(row, tags, function, window.until);
    let (survey, root) = credential_report::sweep(
        iam,
        AccessKeys::NAME,
        function.common.warn_days,
        window,
        is_candidate,
    )
    .await?;
    let mut survey = survey.map(|candidate| Lead::User {
        name: candidate.user,
        tags: candidate.tags,
        reactivated: None,
    });
    if let Some(root) = root.filter(|root| root.keys.iter().any(ReportKey::exists)) {
        survey.leads.push(Lead::Root(root));
    }
    Ok(survey)
}

/// Reads one user live: its tags (unless a sweep already has them), its keys, and each key's
/// last use where the rule needs it. A user that does not exist is [`Error::NotFound`].
async fn read_user(
    clients: &Clients,
    function: &AccessKeys,
    name: String,
    tags: Option<Tags>,
    focus: Focus,
    reactivated: Option<String>,
    window: Window,
) -> Result<Observed<Facts>> {
    let iam = &clients.iam;
    let principal = Principal::user(&name);
    let tags = match tags {
        Some(tags) => TagState::Known(tags),
        None => TagState::from_read(tags::read(iam, &principal).await, &principal)?,
    };
    let mut keys = list_keys(iam, &name).await?;
    let mut records = tags.known().map(Records::from_tags).unwrap_or_default();
    let whole = focus == Focus::All;
    if whole && function.key_action == KeyAction::Rotate {
        recover_unrecorded_rotation(clients, function, &name, &keys, &mut records, window.now)
            .await?;
    }
    if whole {
        let reads = keys
            .iter()
            .map(|key| {
                let wanted = rule::needs_last_use(key, &records, function, window.until);
                async move {
                    if wanted {
                        identity::access_key_owner(iam, &key.id)
                            .await
                            .map(|owner| LastUse::from(owner.last_used))
                    } else {
                        Ok(LastUse::NotRead)
                    }
                }
            })
            .collect::<Vec<_>>();
        let last_uses = futures::future::join_all(reads).await;
        for (key, last_use) in keys.iter_mut().zip(last_uses) {
            key.last_used = last_use?;
        }
    }
    Ok(Observed {
        subject: principal.into(),
        tags,
        judged_whole: whole,
        facts: Facts::User(UserKeys {
            user: name,
            keys,
            records,
            focus,
            reactivated,
        }),
    })
}

/// A rotation whose record could not be written (the run failed after storing the new key)
/// shows as two active keys, one too old, and the newer one held in the user's secret. Treat
/// it as the rotation it is, so the next run finishes it instead of reporting no room.
async fn recover_unrecorded_rotation(
    clients: &Clients,
    function: &AccessKeys,
    user: &str,
    keys: &[KeyFacts],
    records: &mut Records,
    now: DateTime<Utc>,
) -> Result<()> {
    let [first, second] = keys else { return Ok(()) };
    let (old, new) = if first.created <= second.created {
        (first, second)
    } else {
        (second, first)
    };
    let too_old = now - old.created > days(function.max_key_age_days);
    if !(old.active && new.active && too_old) || records.get(&old.id).is_some() {
        return Ok(());
    }
    let secret = function.secret_name(user);
    if check_secret_name(&secret).is_ok()
        && rotation::stored_key_id(clients.secretsmanager(), &secret)
            .await?
            .as_deref()
            == Some(new.id.as_str())
    {
        records
            .by_key
            .insert(old.id.clone(), KeyRecord::ReplacedBy(new.id.clone()));
    }
    Ok(())
}
