//! Principal tags: exemptions and the records this system keeps in IAM itself.

use aws_sdk_iam::Client;

use crate::error::{Error, Result};
use crate::principal::{Principal, PrincipalKind};

/// A principal's tags as key/value pairs.
pub type Tags = Vec<(String, String)>;

/// Reads a principal's tags. Groups cannot carry tags in IAM: they have none.
pub async fn principal_tags(iam: &Client, principal: &Principal) -> Result<Tags> {
    // IAM allows at most 50 tags per principal, so one page of 100 holds them all.
    let tags = match principal.kind {
        PrincipalKind::User => {
            iam.list_user_tags()
                .user_name(&principal.name)
                .max_items(100)
                .send()
                .await
                .map_err(|e| Error::aws("ListUserTags", &e))?
                .tags
        }
        PrincipalKind::Role => {
            iam.list_role_tags()
                .role_name(&principal.name)
                .max_items(100)
                .send()
                .await
                .map_err(|e| Error::aws("ListRoleTags", &e))?
                .tags
        }
        PrincipalKind::Group | PrincipalKind::Account => Vec::new(),
    };
    Ok(tags.into_iter().map(|t| (t.key, t.value)).collect())
}

/// The tag value for `key`, if present.
pub fn tag_value<'a>(tags: &'a [(String, String)], key: &str) -> Option<&'a str> {
    tags.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}
