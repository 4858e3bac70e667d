//! One user's facts read live, as much as the rule needs: the password, its records, and the
//! MFA devices where the rule looks at them. The fact types and the reads of single IAM answers
//! are in [`crate::facts`].

use std::time::Instant;

use aws_sdk_iam::Client;
use chrono::{DateTime, Utc};
use iam_remediation::reads::TagState;
use iam_remediation::{Observed, Principal, Result, Window};

use crate::facts::{
    ConsolePassword, Lead, MFA_REMOVED_TAG, Mfa, PASSWORD_SET_TAG, UserPassword,
    login_profile_created, mfa, record_key, recorded, user,
};
use crate::rule;
use crate::settings::ConsolePasswords;

/// Reads one user live: its password, its records, and its MFA devices where the rule needs
/// them. A user that does not exist is [`Error::NotFound`].
pub async fn read(
    iam: &Client,
    function: &ConsolePasswords,
    lead: Lead,
    window: Window,
) -> Result<Observed<UserPassword>> {
    let read_at = Instant::now();
    let (last_used, user_tags) = user(iam, &lead.user).await?;
    let tags = lead.tags.unwrap_or(user_tags);
    let created = login_profile_created(iam, &lead.user).await?;
    let set_at = latest(recorded(&tags, PASSWORD_SET_TAG), lead.heard_set);
    let mfa_removed = latest(recorded(&tags, MFA_REMOVED_TAG), lead.heard_mfa_removed);
    let set_record = record_key(&tags, PASSWORD_SET_TAG);
    let mfa_record = record_key(&tags, MFA_REMOVED_TAG);
    let mut password = created.map(|created| ConsolePassword {
        user: lead.user.clone(),
        created,
        set_at,
        last_used,
        mfa: Mfa::NotRead,
        mfa_removed,
    });
    // A removal, heard or recorded, needs the devices too: the record is kept only while
    // the user has none.
    if let Some(password) = &mut password
        && (rule::needs_mfa(password, function, window.until)
            || (function.mfa_grace_days > 0 && (mfa_removed.is_some() || mfa_record.is_some())))
    {
        password.mfa = mfa(iam, &lead.user).await?;
    }
    Ok(Observed {
        subject: Principal::user(&lead.user).into(),
        tags: TagState::Known(tags),
        // A run that heard of a device removal judges nothing (it never deletes), so the
        // user's warnings stay for the next sweep to judge.
        judged_whole: lead.heard_mfa_removed.is_none(),
        facts: UserPassword {
            user: lead.user,
            password,
            heard_set: lead.heard_set,
            set_record,
            heard_mfa_removed: lead.heard_mfa_removed,
            mfa_record,
            read_at,
        },
    })
}

/// The later of a recorded time and one heard in this run.
fn latest(recorded: Option<DateTime<Utc>>, heard: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (recorded, heard) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}
