//! Changes to access keys, always on one key by its ID.

use aws_sdk_iam::Client;
use aws_sdk_iam::types::{StatusType, Tag};
use chrono::{DateTime, Utc};

use crate::error::{Error, Result};
use crate::facts::access_keys::{KeyRecord, record_tag_key};
use crate::run::Outcome;

/// Deactivates one key and records when, so the quiet-period rule may delete it later.
///
/// The record is written first: a key this system turned off always carries its record, even
/// when the run dies right after (a record on a key that is still active deletes nothing). If
/// the deactivation then fails, the record is put back as it was (`previous`), so it never
/// claims a deactivation that did not happen.
pub async fn deactivate(
    iam: &Client,
    user: &str,
    key_id: &str,
    now: DateTime<Utc>,
    previous: Option<&KeyRecord>,
) -> Result<Outcome> {
    write_record(iam, user, key_id, &KeyRecord::Deactivated(now)).await?;
    let deactivated = iam
        .update_access_key()
        .user_name(user)
        .access_key_id(key_id)
        .status(StatusType::Inactive)
        .send()
        .await
        .map_err(|e| Error::aws("UpdateAccessKey", &e));
    if let Err(error) = deactivated {
        let restored = match previous {
            Some(record) => write_record(iam, user, key_id, record).await,
            None => forget_record(iam, user, key_id).await,
        };
        if let Err(restore_error) = restored {
            tracing::warn!(%user, %key_id, error = %restore_error, "the key record could not be restored");
        }
        return Err(error);
    }
    Ok(Outcome::Applied)
}

/// Writes (or overwrites) the record of a key on its user.
pub async fn write_record(
    iam: &Client,
    user: &str,
    key_id: &str,
    record: &KeyRecord,
) -> Result<()> {
    let tag = Tag::builder()
        .key(record_tag_key(key_id))
        .value(record.tag_value())
        .build()
        .map_err(|e| Error::InvalidEvent(format!("key record: {e}")))?;
    iam.tag_user()
        .user_name(user)
        .tags(tag)
        .send()
        .await
        .map_err(|e| Error::aws("TagUser", &e))?;
    Ok(())
}

/// Deletes one key and then its record.
pub async fn delete(iam: &Client, user: &str, key_id: &str, has_record: bool) -> Result<Outcome> {
    let deleted = iam
        .delete_access_key()
        .user_name(user)
        .access_key_id(key_id)
        .send()
        .await
        .map_err(|e| Error::aws("DeleteAccessKey", &e));
    match deleted {
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

/// Removes the record of a key.
pub async fn forget_record(iam: &Client, user: &str, key_id: &str) -> Result<()> {
    iam.untag_user()
        .user_name(user)
        .tag_keys(record_tag_key(key_id))
        .send()
        .await
        .map_err(|e| Error::aws("UntagUser", &e))?;
    Ok(())
}
