//! Changes to console passwords: deleting a login profile, after checking it is still the one
//! the rule judged.

use aws_sdk_iam::Client;
use chrono::SecondsFormat;

use crate::error::{Error, Result};
use crate::facts::login_profiles::{ConsolePassword, console_password};
use crate::run::Outcome;

/// Deletes `judged.user`'s login profile (the console password; access keys are untouched).
///
/// Right before the change the password is read again: one used since it was judged, or a
/// login profile re-created meanwhile, is skipped with the reason, since a sweep can judge many
/// users before it applies anything. One already gone is skipped as such; a profile that goes
/// between this check and the deletion comes back as `NoSuchEntity`, which [`crate::Run`]
/// records as already gone.
pub async fn delete_login_profile(iam: &Client, judged: &ConsolePassword) -> Result<Outcome> {
    let current = match console_password(iam, &judged.user).await {
        Ok(Some(current)) => current,
        Ok(None) => {
            return Ok(Outcome::Skipped(
                "already gone: the user has no console password any more".into(),
            ));
        }
        Err(Error::NotFound { .. }) => {
            return Ok(Outcome::Skipped(
                "already gone: the user no longer exists".into(),
            ));
        }
        Err(error) => return Err(error),
    };
    if current.created != judged.created {
        return Ok(Outcome::Skipped(format!(
            "the login profile was re-created at {} after it was judged",
            current.created.to_rfc3339_opts(SecondsFormat::Secs, true)
        )));
    }
    if let Some(used) = current.last_used
        && judged.last_used.is_none_or(|judged| used > judged)
    {
        return Ok(Outcome::Skipped(format!(
            "the password was used at {} after it was judged",
            used.to_rfc3339_opts(SecondsFormat::Secs, true)
        )));
    }
    iam.delete_login_profile()
        .user_name(&judged.user)
        .send()
        .await
        .map_err(|e| Error::aws("DeleteLoginProfile", &e))?;
    Ok(Outcome::Applied)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::login_profiles::tests::{error_response, profile, user};
    use aws_sdk_iam::operation::delete_login_profile::DeleteLoginProfileOutput;
    use aws_sdk_iam::operation::get_login_profile::GetLoginProfileOutput;
    use aws_sdk_iam::operation::get_user::GetUserOutput;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use chrono::{DateTime, Utc};

    const CREATED: i64 = 1_600_000_000;
    const USED: i64 = 1_650_000_000;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap()
    }

    fn judged(last_used: Option<i64>) -> ConsolePassword {
        ConsolePassword {
            user: "alice".into(),
            created: at(CREATED),
            last_used: last_used.map(at),
        }
    }

    /// Runs the deletion against IAM answering `GetUser` with `last_used` and `GetLoginProfile`
    /// with `created`; returns the outcome and the number of `DeleteLoginProfile` calls.
    async fn delete_with(
        judged: &ConsolePassword,
        last_used: Option<i64>,
        created: i64,
    ) -> (Result<Outcome>, usize) {
        let get_user = mock!(Client::get_user).then_output(move || {
            GetUserOutput::builder()
                .user(user("alice", last_used))
                .build()
        });
        let get_profile = mock!(Client::get_login_profile).then_output(move || {
            GetLoginProfileOutput::builder()
                .login_profile(profile("alice", created))
                .build()
        });
        let delete = mock!(Client::delete_login_profile)
            .match_requests(|r| r.user_name() == Some("alice"))
            .then_output(|| DeleteLoginProfileOutput::builder().build());
        let iam = mock_client!(
            aws_sdk_iam,
            RuleMode::MatchAny,
            [&get_user, &get_profile, &delete]
        );
        let outcome = delete_login_profile(&iam, judged).await;
        (outcome, delete.num_calls())
    }

    #[tokio::test]
    async fn deletes_an_unchanged_password() {
        let (outcome, deletes) = delete_with(&judged(None), None, CREATED).await;
        assert_eq!((outcome.unwrap(), deletes), (Outcome::Applied, 1));
        let (outcome, deletes) = delete_with(&judged(Some(USED)), Some(USED), CREATED).await;
        assert_eq!((outcome.unwrap(), deletes), (Outcome::Applied, 1));
    }

    #[tokio::test]
    async fn a_password_used_since_it_was_judged_is_kept() {
        let (outcome, deletes) = delete_with(&judged(Some(USED)), Some(USED + 60), CREATED).await;
        assert_eq!(
            outcome.unwrap(),
            Outcome::Skipped(
                "the password was used at 2022-04-15T05:21:00Z after it was judged".into()
            )
        );
        assert_eq!(deletes, 0);
        let (outcome, deletes) = delete_with(&judged(None), Some(USED), CREATED).await;
        assert!(matches!(outcome.unwrap(), Outcome::Skipped(why) if why.contains("used at")));
        assert_eq!(deletes, 0);
    }

    #[tokio::test]
    async fn a_re_created_profile_is_kept() {
        let (outcome, deletes) = delete_with(&judged(None), None, CREATED + 10).await;
        assert!(matches!(outcome.unwrap(), Outcome::Skipped(why) if why.contains("re-created")));
        assert_eq!(deletes, 0);
    }

    #[tokio::test]
    async fn a_profile_gone_before_or_during_the_deletion_is_not_a_failure() {
        // Gone before the re-check.
        let get_user = mock!(Client::get_user)
            .then_output(|| GetUserOutput::builder().user(user("alice", None)).build());
        let get_profile = mock!(Client::get_login_profile)
            .then_http_response(|| error_response(404, "NoSuchEntity"));
        let iam = mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&get_user, &get_profile]);
        let outcome = delete_login_profile(&iam, &judged(None)).await.unwrap();
        assert!(matches!(outcome, Outcome::Skipped(why) if why.starts_with("already gone")));

        // The user itself is gone.
        let get_user =
            mock!(Client::get_user).then_http_response(|| error_response(404, "NoSuchEntity"));
        let iam = mock_client!(aws_sdk_iam, [&get_user]);
        let outcome = delete_login_profile(&iam, &judged(None)).await.unwrap();
        assert_eq!(
            outcome,
            Outcome::Skipped("already gone: the user no longer exists".into())
        );

        // Gone between the re-check and the deletion: NoSuchEntity, which the run records as
        // already gone.
        let get_user = mock!(Client::get_user)
            .then_output(|| GetUserOutput::builder().user(user("alice", None)).build());
        let get_profile = mock!(Client::get_login_profile).then_output(|| {
            GetLoginProfileOutput::builder()
                .login_profile(profile("alice", CREATED))
                .build()
        });
        let delete = mock!(Client::delete_login_profile)
            .then_http_response(|| error_response(404, "NoSuchEntity"));
        let iam = mock_client!(
            aws_sdk_iam,
            RuleMode::MatchAny,
            [&get_user, &get_profile, &delete]
        );
        let err = delete_login_profile(&iam, &judged(None)).await.unwrap_err();
        assert!(err.is_no_such_entity(), "{err}");
    }

    #[tokio::test]
    async fn a_denied_deletion_is_an_error_naming_the_operation() {
        let get_user = mock!(Client::get_user)
            .then_output(|| GetUserOutput::builder().user(user("alice", None)).build());
        let get_profile = mock!(Client::get_login_profile).then_output(|| {
            GetLoginProfileOutput::builder()
                .login_profile(profile("alice", CREATED))
                .build()
        });
        let delete = mock!(Client::delete_login_profile)
            .then_http_response(|| error_response(403, "AccessDenied"));
        let iam = mock_client!(
            aws_sdk_iam,
            RuleMode::MatchAny,
            [&get_user, &get_profile, &delete]
        );
        let err = delete_login_profile(&iam, &judged(None)).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "DeleteLoginProfile failed: AccessDenied: injected"
        );
    }
}
