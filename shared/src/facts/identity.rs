//! Who is who: the identity the function runs as, and principals behind AWS Config's unique IDs.

use aws_sdk_iam::Client;

use crate::error::{Error, Result};
use crate::principal::{Principal, PrincipalKind};

/// The IAM principal behind a caller ARN: a user, or the role of an assumed-role session.
/// `None` for the root account and federated sessions, which no function could act on anyway.
pub fn principal_from_arn(arn: &str) -> Option<Principal> {
    // arn:aws:iam::123456789012:user/path/alice
    // arn:aws:sts::123456789012:assumed-role/RoleName/session
    let resource = arn.splitn(6, ':').nth(5)?;
    let mut parts = resource.split('/');
    match parts.next()? {
        "user" => resource.rsplit('/').next().map(Principal::user),
        "assumed-role" => parts.next().map(Principal::role),
        "role" => resource.rsplit('/').next().map(Principal::role),
        _ => None,
    }
}

/// The principal the function runs as (STS GetCallerIdentity).
pub async fn caller(sts: &aws_sdk_sts::Client) -> Result<Option<Principal>> {
    let identity = sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| Error::aws("GetCallerIdentity", &e))?;
    Ok(identity.arn.as_deref().and_then(principal_from_arn))
}

/// Finds the user, group or role whose unique ID (AIDA…, AGPA…, AROA…) AWS Config reported.
/// IAM has no lookup by ID, so this lists the principals of that kind (1,000 a page).
pub async fn resolve_unique_id(iam: &Client, kind: PrincipalKind, id: &str) -> Result<Principal> {
    let not_found = || Error::NotFound {
        kind: kind.as_str(),
        name: format!("with unique ID {id}"),
    };
    match kind {
        PrincipalKind::User => {
            let mut pages = iam.list_users().max_items(1000).into_paginator().send();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|e| Error::aws("ListUsers", &e))?;
                if let Some(user) = page.users.into_iter().find(|u| u.user_id == id) {
                    return Ok(Principal::user(user.user_name));
                }
            }
        }
        PrincipalKind::Group => {
            let mut pages = iam.list_groups().max_items(1000).into_paginator().send();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|e| Error::aws("ListGroups", &e))?;
                if let Some(group) = page.groups.into_iter().find(|g| g.group_id == id) {
                    return Ok(Principal::group(group.group_name));
                }
            }
        }
        PrincipalKind::Role => {
            let mut pages = iam.list_roles().max_items(1000).into_paginator().send();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|e| Error::aws("ListRoles", &e))?;
                if let Some(role) = page.roles.into_iter().find(|r| r.role_id == id) {
                    return Ok(Principal::role(role.role_name));
                }
            }
        }
        PrincipalKind::Account => return Err(not_found()),
    }
    Err(not_found())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_iam::operation::list_users::ListUsersOutput;
    use aws_sdk_iam::types::User;
    use aws_smithy_mocks::{mock, mock_client};

    #[test]
    fn caller_arns() {
        assert_eq!(
            principal_from_arn("arn:aws:iam::123456789012:user/ops/alice"),
            Some(Principal::user("alice"))
        );
        assert_eq!(
            principal_from_arn("arn:aws:sts::123456789012:assumed-role/access-keys-role/session-1"),
            Some(Principal::role("access-keys-role"))
        );
        assert_eq!(principal_from_arn("arn:aws:iam::123456789012:root"), None);
        assert_eq!(principal_from_arn("garbage"), None);
    }

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
