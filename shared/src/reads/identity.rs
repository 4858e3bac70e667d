//! Who is who: the identity the function runs as, and principals behind AWS Config's unique IDs.

use aws_sdk_iam::Client;

use crate::error::{Error, Result, call};
use crate::principal::{Arn, Principal, PrincipalKind};

/// Who the clients' credentials are (STS GetCallerIdentity): the account, the partition, and
/// the principal, a user or the role of an assumed-role session (`None` for the root user and
/// federated sessions, which no function could act on anyway).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub account: String,
    /// `aws`, `aws-cn`, `aws-us-gov`: the partition of the identity's ARN.
    pub partition: String,
    pub principal: Option<Principal>,
}

/// Reads who the clients' credentials are.
pub async fn caller(sts: &aws_sdk_sts::Client) -> Result<Identity> {
    let identity = call("GetCallerIdentity", sts.get_caller_identity().send()).await?;
    let arn = identity.arn.as_deref().and_then(Arn::parse);
    Ok(Identity {
        account: identity.account.unwrap_or_default(),
        partition: arn
            .as_ref()
            .map_or_else(|| "aws".to_owned(), |arn| arn.partition.to_owned()),
        principal: arn.and_then(|arn| arn.principal()),
    })
}

/// The user an access key belongs to, and when it was last used (GetAccessKeyLastUsed, the one
/// IAM call that finds a key's user from its ID). A key that does not exist is
/// [`Error::NotFound`].
pub async fn access_key_owner(iam: &Client, key_id: &str) -> Result<KeyOwner> {
    let not_found = || Error::NotFound {
        kind: "access key",
        name: key_id.to_owned(),
    };
    let request = iam.get_access_key_last_used().access_key_id(key_id);
    let output = call("GetAccessKeyLastUsed", request.send())
        .await
        .map_err(|e| e.or_not_found("access key", key_id))?;
    let user = output.user_name.ok_or_else(not_found)?;
    let last_used = output
        .access_key_last_used
        .and_then(|used| used.last_used_date)
        .map(|time| super::to_utc("GetAccessKeyLastUsed", time))
        .transpose()?;
    Ok(KeyOwner { user, last_used })
}

/// Who owns an access key and when it was last used (`None`: never).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyOwner {
    pub user: String,
    pub last_used: Option<chrono::DateTime<chrono::Utc>>,
}

/// The name (`$name` field) of the first principal of a listing (`ListUsers`, …) whose unique ID
/// (`$id_field`) is `$id`, read page by page until it is found: `None` when none is. The three
/// listings answer with three types, hence a macro rather than a function.
macro_rules! name_of_id {
    ($listing:expr, $operation:literal, $id_field:ident, $name:ident, $id:expr) => {{
        let mut principals = $listing.max_items(1000).into_paginator().items().send();
        let mut found = None;
        while let Some(principal) = principals.next().await {
            let principal = principal.map_err(|e| Error::aws($operation, &e))?;
            if principal.$id_field == $id {
                found = Some(principal.$name);
                break;
            }
        }
        found
    }};
}

/// Finds the user, group or role whose unique ID (AIDA…, AGPA…, AROA…) AWS Config reported.
/// IAM has no lookup by ID, so this lists the principals of that kind (1,000 a page).
pub async fn resolve_unique_id(iam: &Client, kind: PrincipalKind, id: &str) -> Result<Principal> {
    let name = match kind {
        PrincipalKind::User => name_of_id!(iam.list_users(), "ListUsers", user_id, user_name, id),
        PrincipalKind::Group => {
            name_of_id!(iam.list_groups(), "ListGroups", group_id, group_name, id)
        }
        PrincipalKind::Role => name_of_id!(iam.list_roles(), "ListRoles", role_id, role_name, id),
    };
    name.map(|name| Principal { kind, name })
        .ok_or_else(|| Error::NotFound {
            kind: kind.as_str(),
            name: format!("with unique ID {id}"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_iam::operation::list_users::ListUsersOutput;
    use aws_sdk_iam::types::User;
    use aws_smithy_mocks::{mock, mock_client};

    fn user(name: &str, id: &str) -> User {
        User::builder()
            .user_name(name)
            .user_id(id)
            .arn(format!("arn:aws:iam::123456789012:user/{name}"))
            .path("/")
            .create_date(aws_smithy_types::DateTime::from_secs(0))
            .build()
            .unwrap()
    }

    #[tokio::test]
    async fn resolves_a_user_across_pages() {
        let pages = mock!(Client::list_users)
            .sequence()
            .output(|| {
                ListUsersOutput::builder()
                    .users(user("a", "AIDA1"))
                    .is_truncated(true)
                    .marker("m")
                    .build()
                    .unwrap()
            })
            .output(|| {
                ListUsersOutput::builder()
                    .users(user("b", "AIDA2"))
                    .is_truncated(false)
                    .build()
                    .unwrap()
            })
            .build();
        let iam = mock_client!(aws_sdk_iam, [&pages]);
        assert_eq!(
            resolve_unique_id(&iam, PrincipalKind::User, "AIDA2")
                .await
                .unwrap(),
            Principal::user("b")
        );
        assert_eq!(pages.num_calls(), 2);
    }

    #[tokio::test]
    async fn an_unknown_id_is_not_found() {
        let page = mock!(Client::list_users).then_output(|| {
            ListUsersOutput::builder()
                .users(user("a", "AIDA1"))
                .is_truncated(false)
                .build()
                .unwrap()
        });
        let iam = mock_client!(aws_sdk_iam, [&page]);
        let err = resolve_unique_id(&iam, PrincipalKind::User, "AIDA9")
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "user with unique ID AIDA9 does not exist");
    }
}
