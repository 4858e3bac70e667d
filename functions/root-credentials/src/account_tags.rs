//! Exemptions, warnings and records of a member account, kept as tags on the account in AWS
//! Organizations (so no database is needed), read and written from the administrator account
//! the function runs in.
//!
//! Organizations API Reference, ListTagsForResource and TagResource: "This operation can be
//! called only from the organization's management account or by a member account that is a
//! delegated administrator for an AWS service" (UntagResource likewise); `ResourceId` is the
//! account ID for an account. Tags: the exemption `iam-remediation:exempt` (`EXEMPT_TAG`, value
//! `true` or a date `YYYY-MM-DD`), and the pipeline's warning records
//! `iam-remediation:warned:root-credentials:<access key ID>` = `delete-root-access-key <time>`
//! (shared `records`). Organizations holds at most 50 tags per resource, keys of up to 128
//! characters and values of up to 256 (Organizations User Guide, "Tagging AWS Organizations
//! resources"): a warning key is 60 characters.

use aws_sdk_organizations::Client;
use aws_sdk_organizations::types::Tag;
use iam_remediation::reads::{Tags, tags::TagState};
use iam_remediation::{Error, Result, call, change};

/// The account's tags (`ListTagsForResource`, every page).
pub async fn read(organizations: &Client, account: &str) -> Result<Tags> {
    let mut tags = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let request = organizations
            .list_tags_for_resource()
            .resource_id(account)
            .set_next_token(token.take());
        let page = call("ListTagsForResource", request.send()).await?;
        tags.extend(
            page.tags
                .unwrap_or_default()
                .into_iter()
                .map(|t| (t.key, t.value)),
        );
        match page.next_token {
            Some(next) if !next.is_empty() => token = Some(next),
            _ => return Ok(Tags::new(tags)),
        }
    }
}

/// What the guard knows of the account's tags: read, or why not (then exemptions are unknown and
/// rules fail closed). An account Organizations does not know is an error.
pub async fn state(organizations: &Client, account: &str) -> Result<TagState> {
    match read(organizations, account).await {
        Ok(tags) => Ok(TagState::Known(tags)),
        Err(error) if error.aws_code() == Some("TargetNotFoundException") => Err(Error::NotFound {
            kind: "account",
            name: account.to_owned(),
        }),
        Err(error) => Ok(TagState::Unreadable(error.to_string())),
    }
}

/// Adds or overwrites tags on the account (`TagResource`).
pub async fn write(organizations: &Client, account: &str, tags: &[(String, String)]) -> Result<()> {
    if tags.is_empty() {
        return Ok(());
    }
    let tags = tags
        .iter()
        .map(|(key, value)| {
            Tag::builder()
                .key(key)
                .value(value)
                .build()
                .map_err(|e| Error::Internal(format!("tag {key}: {e}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let request = organizations
        .tag_resource()
        .resource_id(account)
        .set_tags(Some(tags));
    change("TagResource", request.send()).await
}

/// Removes tags from the account (`UntagResource`).
pub async fn remove(organizations: &Client, account: &str, keys: &[String]) -> Result<()> {
    if keys.is_empty() {
        return Ok(());
    }
    let request = organizations
        .untag_resource()
        .resource_id(account)
        .set_tag_keys(Some(keys.to_vec()));
    change("UntagResource", request.send()).await
}
