//! The changes access-keys makes, always on one key by its ID.

use aws_sdk_iam::Client;
use aws_sdk_iam::types::StatusType;
use chrono::{DateTime, Utc};
use iam_remediation::reads::tags;
use iam_remediation::{Error, Outcome, Principal, Result, change};

use crate::facts::{KeyRecord, list_keys, record_tag_key};

/// Deactivates one key (`UpdateAccessKey`); a key that no longer exists is [`Error::NotFound`].
async fn update_inactive(iam: &Client, user: &str, key_id: &str) -> Result<()> {
    let request = iam
        .update_access_key()
        .user_name(user)
        .access_key_id(key_id);
    change(
        "UpdateAccessKey",
        request.status(StatusType::Inactive).send(),
    )
    .await
    .map_err(|e| e.or_not_found("access key", key_id))
}

/// Deletes one key (`DeleteAccessKey`), whatever its status.
pub(crate) async fn delete_key(iam: &Client, user: &str, key_id: &str) -> Result<()> {
    let request = iam
        .delete_access_key()
        .user_name(user)
        .access_key_id(key_id);
    change("DeleteAccessKey", request.send()).await
}

/// A rule's deactivation: records when, then deactivates, so that a key this function turned
/// off always carries its record, even when the run dies right after (a record on a key that is
/// still active deletes nothing, and is removed the next time the user is read). A record that
/// cannot be written (a user at IAM's 50 tags, a denied TagUser) never blocks a due
/// deactivation: the key is deactivated with a note. If the deactivation fails, a record
/// written is put back as it was (`previous`), so it never claims a deactivation that did not
/// happen.
pub async fn deactivate(
    iam: &Client,
    user: &str,
    key_id: &str,
    now: DateTime<Utc>,
    previous: Option<&KeyRecord>,
) -> Result<Outcome> {
    let recorded = write_record(iam, user, key_id, &KeyRecord::Deactivated(now)).await;
    if let Err(error) = update_inactive(iam, user, key_id).await {
        if recorded.is_ok() {
            let restored = match previous {
                Some(record) => write_record(iam, user, key_id, record).await,
                None => forget_record(iam, user, key_id).await,
            };
            if let Err(restore_error) = restored {
                tracing::warn!(%user, %key_id, error = %restore_error, "the key record could not be restored");
            }
        }
        return Err(error);
    }
    Ok(recorded.map_or_else(|error| unrecorded(&error), |()| Outcome::Applied))
}

/// An exposed key or an operator's order: deactivates first, whatever else fails, then records
/// it. The record is bookkeeping (it lets the quiet-period rule delete the key later): one that
/// cannot be written (a user at 50 tags, a denied TagUser) is a note in the report.
pub async fn deactivate_now(
    iam: &Client,
    user: &str,
    key_id: &str,
    now: DateTime<Utc>,
) -> Result<Outcome> {
    update_inactive(iam, user, key_id).await?;
    let recorded = write_record(iam, user, key_id, &KeyRecord::Deactivated(now)).await;
    Ok(recorded.map_or_else(|error| unrecorded(&error), |()| Outcome::Applied))
}

/// A deactivation done without its record: what an operator should know.
fn unrecorded(error: &Error) -> Outcome {
    Outcome::AppliedWithNote(format!(
        "deactivated, but its record could not be written ({error}): it will not be deleted \
         after the quiet period"
    ))
}

/// Writes (or overwrites) the record of a key on its user.
pub async fn write_record(
    iam: &Client,
    user: &str,
    key_id: &str,
    record: &KeyRecord,
) -> Result<()> {
    tags::write(
        iam,
        &Principal::user(user),
        &[(record_tag_key(key_id), record.tag_value())],
    )
    .await
}

/// Removes the record of a key.
pub async fn forget_record(iam: &Client, user: &str, key_id: &str) -> Result<()> {
    tags::remove(iam, &Principal::user(user), &[record_tag_key(key_id)]).await
}

/// Deletes one key, after re-reading it: for a rule's deletion, a key found active right before
/// is never deleted (it was turned back on since it was judged); an operator's order deletes it
/// whatever its status. Then removes its record.
pub async fn delete(
    iam: &Client,
    user: &str,
    key_id: &str,
    has_record: bool,
    ordered: bool,
) -> Result<Outcome> {
    let live = list_keys(iam, user).await?;
    let Some(key) = live.iter().find(|k| k.id == key_id) else {
        if has_record {
            forget_record(iam, user, key_id).await?;
        }
        return Err(Error::NotFound {
            kind: "access key",
            name: key_id.to_owned(),
        });
    };
    if key.active && !ordered {
        return Ok(Outcome::Skipped(
            "the key is active again: it was turned back on since it was judged".into(),
        ));
    }
    match delete_key(iam, user, key_id).await {
        // Gone already: a retried call whose first answer was lost, or another run. Either way
        // the key is deleted, and its record must go with it.
        Err(error) if !error.is_no_such_entity() => return Err(error),
        _ => {}
    }
    if has_record {
        forget_record(iam, user, key_id).await?;
    }
    Ok(Outcome::Applied)
}
