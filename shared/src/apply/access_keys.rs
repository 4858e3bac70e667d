//! Changes to access keys, always on one key by its ID.

use aws_sdk_iam::Client;
use aws_sdk_iam::types::{StatusType, Tag};
use chrono::{DateTime, Utc};

use crate::error::{Error, Result};
use crate::facts::access_keys::{KeyRecord, record_tag_key};
use crate::run::Outcome;

/// Deactivates one key and records when, so the quiet-period rule may delete it later.
/// The record is written after the change: a record always means this system deactivated it.
pub async fn deactivate(
    iam: &Client,
    user: &str,
    key_id: &str,
    now: DateTime<Utc>,
) -> Result<Outcome> {
    iam.update_access_key()
        .user_name(user)
        .access_key_id(key_id)
        .status(StatusType::Inactive)
        .send()
        .await
        .map_err(|e| Error::aws("UpdateAccessKey", &e))?;
    write_record(iam, user, key_id, &KeyRecord::Deactivated(now))
        .await
        .map_err(|error| Error::Aws {
            operation: "TagUser",
            code: error.aws_code().unwrap_or("Unknown").to_owned(),
            message: format!(
                "key {key_id} was deactivated, but its deactivation record could not be \
                     written, so it will not be deleted automatically: {error}"
            ),
        })?;
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
    iam.delete_access_key()
        .user_name(user)
        .access_key_id(key_id)
        .send()
        .await
        .map_err(|e| Error::aws("DeleteAccessKey", &e))?;
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
