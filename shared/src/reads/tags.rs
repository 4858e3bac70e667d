//! Principal tags: exemptions, owners, warnings and the records this system keeps in IAM itself.
//!
//! Tag keys on IAM users and roles are case-insensitive: "you cannot have separate Department
//! and department tag keys" (IAM User Guide, "Tagging IAM resources"). Every lookup here ignores
//! case, so an exemption written `IAM-Remediation:Exempt` is never lost.

use std::collections::HashMap;

use aws_sdk_iam::Client;
use aws_sdk_iam::types::{EntityType, Tag};

use crate::by_kind;
use crate::error::{Error, Result, call, change};
use crate::principal::Principal;

/// A principal's tags.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tags(Vec<(String, String)>);

impl Tags {
    pub fn new(tags: Vec<(String, String)>) -> Self {
        Self(tags)
    }

    /// The value of `key`, matched regardless of case.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    /// The tags whose key starts with `prefix` (regardless of case): each as the whole key,
    /// the rest of the key after the prefix, and the value.
    pub fn with_prefix<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = Prefixed<'a>> {
        self.0.iter().filter_map(move |(key, value)| {
            let head = key.get(..prefix.len())?;
            head.eq_ignore_ascii_case(prefix).then(|| Prefixed {
                key,
                rest: &key[prefix.len()..],
                value,
            })
        })
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<Option<Vec<Tag>>> for Tags {
    fn from(tags: Option<Vec<Tag>>) -> Self {
        Self(
            tags.unwrap_or_default()
                .into_iter()
                .map(|t| (t.key, t.value))
                .collect(),
        )
    }
}

/// A tag found by its key's prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prefixed<'a> {
    /// The whole key, as IAM holds it.
    pub key: &'a str,
    /// The key after the prefix.
    pub rest: &'a str,
    pub value: &'a str,
}

/// What is known of a subject's tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagState {
    Known(Tags),
    /// They could not be read: exemptions are unknown, so rules fail closed.
    Unreadable(String),
    /// The subject cannot carry tags (an IAM group, the account).
    Untaggable,
}

impl TagState {
    /// The tags, when known.
    pub fn known(&self) -> Option<&Tags> {
        match self {
            Self::Known(tags) => Some(tags),
            Self::Unreadable(_) | Self::Untaggable => None,
        }
    }

    /// The tags as read (`Known`), or why not (`Unreadable`), from a tag read's result. A
    /// principal that does not exist is an error, not unreadable tags.
    pub fn from_read(read: Result<Tags>, principal: &Principal) -> Result<Self> {
        match read {
            Ok(tags) => Ok(Self::Known(tags)),
            Err(error) if error.is_no_such_entity() => {
                Err(error.or_not_found(principal.kind.as_str(), &principal.name))
            }
            Err(error) => Ok(Self::Unreadable(error.to_string())),
        }
    }
}

/// Reads a user's or role's tags (`ListUserTags` / `ListRoleTags`). IAM allows at most 50 tags
/// per principal, so one page of 100 holds them all. Groups carry none.
pub async fn read(iam: &Client, principal: &Principal) -> Result<Tags> {
    let tags = by_kind!(
        principal,
        iam,
        [list_user_tags, list_role_tags],
        |request, operation| call(operation, request.max_items(100).send()).await?.tags
    );
    Ok(Tags::from(tags))
}

/// Every user's tags, by user name in lower case (names are unique regardless of case), read
/// in pages of 1,000 users with `GetAccountAuthorizationDetails`: a sweep knows every user's
/// exemption, owner and records in a call or two instead of one `ListUserTags` per user.
pub async fn all_user_tags(iam: &Client) -> Result<HashMap<String, Tags>> {
    let mut tags = HashMap::new();
    super::authorization_details(iam, vec![EntityType::User], |page| {
        for user in page.user_detail_list.unwrap_or_default() {
            if let Some(name) = user.user_name {
                tags.insert(name.to_ascii_lowercase(), Tags::from(user.tags));
            }
        }
    })
    .await?;
    Ok(tags)
}

/// Adds or overwrites tags on a user or role (`TagUser` / `TagRole`).
pub async fn write(iam: &Client, principal: &Principal, tags: &[(String, String)]) -> Result<()> {
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
    by_kind!(
        principal,
        iam,
        [tag_user, tag_role],
        |request, operation| change(operation, request.set_tags(Some(tags)).send()).await
    )
    .unwrap_or_else(|| Err(untaggable(principal)))
}

/// Removes tags from a user or role (`UntagUser` / `UntagRole`).
pub async fn remove(iam: &Client, principal: &Principal, keys: &[String]) -> Result<()> {
    by_kind!(
        principal,
        iam,
        [untag_user, untag_role],
        |request, operation| change(operation, request.set_tag_keys(Some(keys.to_vec())).send())
            .await
    )
    .unwrap_or_else(|| Err(untaggable(principal)))
}

fn untaggable(principal: &Principal) -> Error {
    Error::Internal(format!("{principal} cannot carry tags"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_match_regardless_of_case() {
        let tags = Tags::new(vec![
            ("IAM-Remediation:Exempt".into(), "true".into()),
            ("iam-remediation:key:AKIA1".into(), "deactivated x".into()),
            ("IAM-REMEDIATION:KEY:AKIA2".into(), "replaced-by y".into()),
            ("team".into(), "x".into()),
        ]);
        assert_eq!(tags.get("iam-remediation:exempt"), Some("true"));
        assert_eq!(tags.get("TEAM"), Some("x"));
        assert_eq!(tags.get("owner"), None);
        let records: Vec<_> = tags
            .with_prefix("iam-remediation:key:")
            .map(|t| (t.key, t.rest, t.value))
            .collect();
        assert_eq!(
            records,
            [
                ("iam-remediation:key:AKIA1", "AKIA1", "deactivated x"),
                ("IAM-REMEDIATION:KEY:AKIA2", "AKIA2", "replaced-by y")
            ]
        );
    }
}
