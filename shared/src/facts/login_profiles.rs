//! Live facts about console passwords: a user's login profile and when its password was last
//! used. Read right before a decision, because the credential report can be hours old.

use aws_sdk_iam::Client;
use chrono::{DateTime, Utc};

use super::to_utc;
use crate::error::{Error, Result};

/// A user's console password (login profile) as IAM reports it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsolePassword {
    pub user: String,
    /// When the login profile was created (`GetLoginProfile` `CreateDate`).
    pub created: DateTime<Utc>,
    /// The user's `PasswordLastUsed` (`GetUser`): `None` when the password was never used (since
    /// IAM began tracking it in October 2014).
    pub last_used: Option<DateTime<Utc>>,
}

/// The user's `PasswordLastUsed` (`GetUser`). Errors keep AWS's code, so a missing user is
/// `NoSuchEntity` ([`Error::is_no_such_entity`]).
pub async fn password_last_used(iam: &Client, user: &str) -> Result<Option<DateTime<Utc>>> {
    let output = iam
        .get_user()
        .user_name(user)
        .send()
        .await
        .map_err(|e| Error::aws("GetUser", &e))?;
    let user = output.user.ok_or_else(|| Error::Aws {
        operation: "GetUser",
        code: "InvalidResponse".to_owned(),
        message: format!("no user in the answer for {user}"),
    })?;
    user.password_last_used
        .map(|time| to_utc("GetUser", time))
        .transpose()
}

/// When the user's login profile was created (`GetLoginProfile`); `None` when the user has no
/// console password. IAM answers `NoSuchEntity` for a missing user too, so check that the user
/// exists first (as [`console_password`] does).
pub async fn login_profile_created(iam: &Client, user: &str) -> Result<Option<DateTime<Utc>>> {
    let output = match iam.get_login_profile().user_name(user).send().await {
        Ok(output) => output,
        Err(e) => {
            let error = Error::aws("GetLoginProfile", &e);
            return if error.is_no_such_entity() {
                Ok(None)
            } else {
                Err(error)
            };
        }
    };
    let profile = output.login_profile.ok_or_else(|| Error::Aws {
        operation: "GetLoginProfile",
        code: "InvalidResponse".to_owned(),
        message: format!("no login profile in the answer for {user}"),
    })?;
    to_utc("GetLoginProfile", profile.create_date).map(Some)
}

/// The user's console password, read live (`GetUser`, then `GetLoginProfile`): `None` when the
/// user has none. A user that does not exist is [`Error::NotFound`].
pub async fn console_password(iam: &Client, user: &str) -> Result<Option<ConsolePassword>> {
    let last_used = password_last_used(iam, user).await.map_err(|error| {
        if error.is_no_such_entity() {
            Error::NotFound {
                kind: "user",
                name: user.to_owned(),
            }
        } else {
            error
        }
    })?;
    Ok(login_profile_created(iam, user)
        .await?
        .map(|created| ConsolePassword {
            user: user.to_owned(),
            created,
            last_used,
        }))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use aws_sdk_iam::operation::get_login_profile::GetLoginProfileOutput;
    use aws_sdk_iam::operation::get_user::GetUserOutput;
    use aws_sdk_iam::types::{LoginProfile, User};
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use aws_smithy_types::DateTime as SdkTime;

    pub(crate) fn user(name: &str, password_last_used: Option<i64>) -> User {
        User::builder()
            .user_name(name)
            .user_id("AIDAEXAMPLE000000001")
            .arn(format!("arn:aws:iam::123456789012:user/{name}"))
            .path("/")
            .create_date(SdkTime::from_secs(1_600_000_000))
            .set_password_last_used(password_last_used.map(SdkTime::from_secs))
            .build()
            .unwrap()
    }

    pub(crate) fn profile(name: &str, created: i64) -> LoginProfile {
        LoginProfile::builder()
            .user_name(name)
            .create_date(SdkTime::from_secs(created))
            .build()
            .unwrap()
    }

    pub(crate) fn error_response(
        status: u16,
        code: &str,
    ) -> aws_smithy_runtime_api::http::Response {
        aws_smithy_runtime_api::http::Response::new(
            aws_smithy_runtime_api::http::StatusCode::try_from(status).unwrap(),
            aws_smithy_types::body::SdkBody::from(format!(
                "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>injected</Message></Error></ErrorResponse>"
            )),
        )
    }

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap()
    }

    #[tokio::test]
    async fn reads_last_use_and_profile_creation() {
        let get_user = mock!(Client::get_user).then_output(|| {
            GetUserOutput::builder()
                .user(user("alice", Some(1_700_000_000)))
                .build()
        });
        let get_profile = mock!(Client::get_login_profile).then_output(|| {
            GetLoginProfileOutput::builder()
                .login_profile(profile("alice", 1_650_000_000))
                .build()
        });
        let iam = mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&get_user, &get_profile]);
        let password = console_password(&iam, "alice").await.unwrap().unwrap();
        assert_eq!(
            password,
            ConsolePassword {
                user: "alice".into(),
                created: at(1_650_000_000),
                last_used: Some(at(1_700_000_000)),
            }
        );
    }

    #[tokio::test]
    async fn never_used_and_no_profile() {
        let get_user = mock!(Client::get_user)
            .then_output(|| GetUserOutput::builder().user(user("bob", None)).build());
        let get_profile = mock!(Client::get_login_profile)
            .sequence()
            .output(|| {
                GetLoginProfileOutput::builder()
                    .login_profile(profile("bob", 1_650_000_000))
                    .build()
            })
            .http_response(|| error_response(404, "NoSuchEntity"))
            .build();
        let iam = mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&get_user, &get_profile]);
        assert_eq!(
            console_password(&iam, "bob")
                .await
                .unwrap()
                .unwrap()
                .last_used,
            None
        );
        assert_eq!(
            console_password(&iam, "bob").await.unwrap(),
            None,
            "no login profile: no password"
        );
    }

    #[tokio::test]
    async fn a_missing_user_is_not_found_and_other_errors_name_the_operation() {
        let get_user = mock!(Client::get_user)
            .sequence()
            .http_response(|| error_response(404, "NoSuchEntity"))
            .http_response(|| error_response(403, "AccessDenied"))
            .build();
        let iam = mock_client!(aws_sdk_iam, [&get_user]);
        let missing = console_password(&iam, "ghost").await.unwrap_err();
        assert_eq!(missing.to_string(), "user ghost does not exist");
        let denied = console_password(&iam, "ghost").await.unwrap_err();
        assert_eq!(denied.to_string(), "GetUser failed: AccessDenied: injected");
    }

    #[tokio::test]
    async fn a_denied_profile_read_is_an_error_not_no_password() {
        let get_user = mock!(Client::get_user)
            .then_output(|| GetUserOutput::builder().user(user("alice", None)).build());
        let get_profile = mock!(Client::get_login_profile)
            .then_http_response(|| error_response(403, "AccessDenied"));
        let iam = mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&get_user, &get_profile]);
        let err = console_password(&iam, "alice").await.unwrap_err();
        assert_eq!(err.aws_code(), Some("AccessDenied"));
    }

    #[tokio::test]
    async fn throttling_is_retried_by_the_sdk() {
        let get_user = mock!(Client::get_user)
            .sequence()
            .http_response(|| error_response(400, "Throttling"))
            .output(|| GetUserOutput::builder().user(user("alice", None)).build())
            .build();
        let get_profile = mock!(Client::get_login_profile).then_output(|| {
            GetLoginProfileOutput::builder()
                .login_profile(profile("alice", 1_650_000_000))
                .build()
        });
        let iam = mock_client!(
            aws_sdk_iam,
            RuleMode::MatchAny,
            [&get_user, &get_profile],
            |c| c.retry_config(
                aws_smithy_types::retry::RetryConfig::standard().with_max_attempts(3)
            )
        );
        assert!(console_password(&iam, "alice").await.unwrap().is_some());
        assert_eq!(get_user.num_calls(), 2);
    }
}
