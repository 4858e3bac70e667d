//! The change console-passwords makes: deleting a login profile (the console password; access
//! keys are untouched), after checking it is still the one the rule judged, and, for a password
//! without MFA, that its user still has no MFA device.

use std::time::Duration;

use aws_sdk_iam::Client;
use chrono::SecondsFormat;
use iam_remediation::reads::tags;
use iam_remediation::{Error, Outcome, Principal, Result, call};

use crate::facts::{MFA_REMOVED_TAG, Mfa, PASSWORD_SET_TAG, console_password};
use crate::rule::{Deletion, Ground};

/// How old a read may be and still count as "right before" the deletion. A sweep reads every
/// candidate before it changes anything; past this, the password is read again first.
pub const RECHECK_AFTER: Duration = Duration::from_mins(1);

/// Deletes the judged user's login profile.
///
/// When the facts are older than [`RECHECK_AFTER`], the password is read again first: one used
/// since it was judged, or set again meanwhile, is skipped with the reason. A password deleted
/// for want of MFA is kept when its user has an MFA device right before the deletion (a user who
/// just registered a new one). One already gone is [`Error::NotFound`], which the pipeline
/// records as already gone.
pub async fn delete_login_profile(iam: &Client, deletion: &Deletion) -> Result<Outcome> {
    let judged = &deletion.judged;
    if deletion.read_at.elapsed() > RECHECK_AFTER
        && let Some(skip) = recheck(iam, deletion).await?
    {
        return Ok(skip);
    }
    if deletion.ground == Ground::NoMfa
        && crate::facts::mfa(iam, &judged.user).await? == Mfa::Present
    {
        return Ok(Outcome::Skipped(
            "the user has an MFA device now (registered after the password was judged)".to_owned(),
        ));
    }
    let request = iam.delete_login_profile().user_name(&judged.user);
    call("DeleteLoginProfile", request.send())
        .await
        .map_err(|e| e.or_not_found("login profile of user", &judged.user))?;
    // The reset and MFA-removal records belonged to the password just deleted.
    let records: Vec<String> = [
        (judged.set_at, PASSWORD_SET_TAG),
        (judged.mfa_removed, MFA_REMOVED_TAG),
    ]
    .into_iter()
    .filter_map(|(at, record)| at.map(|_| record.to_owned()))
    .collect();
    if !records.is_empty()
        && let Err(error) = tags::remove(iam, &Principal::user(&judged.user), &records).await
    {
        return Ok(Outcome::AppliedWithNote(format!(
            "its records ({}) could not be removed ({error}); the next run removes them",
            records.join(", ")
        )));
    }
    Ok(Outcome::Applied)
}

/// Reads the password again: `Some(skip)` when it changed since it was judged.
async fn recheck(iam: &Client, deletion: &Deletion) -> Result<Option<Outcome>> {
    let judged = &deletion.judged;
    let current = match console_password(iam, &judged.user).await {
        Ok(Some(current)) => current,
        Ok(None) => {
            return Err(Error::NotFound {
                kind: "login profile of user",
                name: judged.user.clone(),
            });
        }
        Err(error) => return Err(error),
    };
    if current.since() != judged.since() {
        return Ok(Some(Outcome::Skipped(format!(
            "the password was set again at {} after it was judged",
            current.since().to_rfc3339_opts(SecondsFormat::Secs, true)
        ))));
    }
    if let Some(used) = current.last_used
        && judged.last_used.is_none_or(|judged| used > judged)
    {
        return Ok(Some(Outcome::Skipped(format!(
            "the password was used at {} after it was judged",
            used.to_rfc3339_opts(SecondsFormat::Secs, true)
        ))));
    }
    if deletion.ground == Ground::NoMfa && current.mfa_grace_since() > judged.mfa_grace_since() {
        return Ok(Some(Outcome::Skipped(format!(
            "the user's MFA device was removed at {} after it was judged: a new MFA grace",
            current
                .mfa_grace_since()
                .to_rfc3339_opts(SecondsFormat::Secs, true)
        ))));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::ConsolePassword;
    use crate::facts::tests::{get_profile, get_user, profile_refused};
    use aws_sdk_iam::operation::delete_login_profile::DeleteLoginProfileOutput;
    use aws_sdk_iam::operation::list_mfa_devices::ListMfaDevicesOutput;
    use aws_sdk_iam::operation::untag_user::UntagUserOutput;
    use aws_sdk_iam::types::MfaDevice;
    use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
    use chrono::{DateTime, Utc};
    use iam_remediation::testing::iam_error;
    use std::time::Instant;

    const CREATED: i64 = 1_600_000_000;
    /// The reset record the mocked GetUser carries (2022-01-01).
    const SET: i64 = 1_640_995_200;
    const USED: i64 = 1_650_000_000;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap()
    }

    /// The password as judged more than a minute ago: the deletion re-reads it first.
    fn judged(last_used: Option<i64>) -> Deletion {
        Deletion {
            judged: ConsolePassword {
                user: "alice".into(),
                created: at(CREATED),
                set_at: Some(at(SET)),
                last_used: last_used.map(at),
                mfa: Mfa::NotRead,
                mfa_removed: None,
            },
            read_at: Instant::now()
                .checked_sub(RECHECK_AFTER * 2)
                .expect("a monotonic clock two minutes old"),
            ground: Ground::Unused,
        }
    }

    /// `DeleteLoginProfile` and `UntagUser` (the reset record) for alice, both done.
    fn deleted() -> (Rule, Rule) {
        let delete = mock!(Client::delete_login_profile)
            .match_requests(|r| r.user_name() == Some("alice"))
            .then_output(|| DeleteLoginProfileOutput::builder().build());
        let untag = mock!(Client::untag_user)
            .match_requests(|r| r.tag_keys() == ["iam-remediation:password-set"])
            .then_output(|| UntagUserOutput::builder().build());
        (delete, untag)
    }

    /// Runs the deletion of `judged` against IAM answering `GetUser` with `last_used`,
    /// `GetLoginProfile` with `created`, and `DeleteLoginProfile` as `delete` says.
    async fn delete_against(
        judged: &Deletion,
        last_used: Option<i64>,
        created: i64,
        delete: &Rule,
    ) -> Result<Outcome> {
        let (get_user, get_profile) = (get_user("alice", last_used), get_profile("alice", created));
        let (_, untag) = deleted();
        let iam = mock_client!(
            aws_sdk_iam,
            RuleMode::MatchAny,
            [&get_user, &get_profile, delete, &untag]
        );
        delete_login_profile(&iam, judged).await
    }

    /// The deletion against IAM that deletes; also the number of `DeleteLoginProfile` calls.
    async fn delete_with(
        judged: &Deletion,
        last_used: Option<i64>,
        created: i64,
    ) -> (Result<Outcome>, usize) {
        let (delete, _) = deleted();
        let outcome = delete_against(judged, last_used, created, &delete).await;
        (outcome, delete.num_calls())
    }

    #[tokio::test]
    async fn a_fresh_read_is_not_read_again() {
        let (delete, untag) = deleted();
        let iam = mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&delete, &untag]);
        let mut fresh = judged(None);
        fresh.read_at = Instant::now();
        assert_eq!(
            delete_login_profile(&iam, &fresh).await.unwrap(),
            Outcome::Applied
        );
        assert_eq!(
            (delete.num_calls(), untag.num_calls()),
            (1, 1),
            "the reset record goes with it"
        );
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
        let (outcome, deletes) = delete_with(&judged(None), None, SET + 10).await;
        assert!(matches!(outcome.unwrap(), Outcome::Skipped(why) if why.contains("set again")));
        assert_eq!(deletes, 0);
    }

    #[tokio::test]
    async fn a_profile_gone_before_or_during_the_deletion_is_not_a_failure() {
        // Gone before the re-check.
        let iam = profile_refused(404, "NoSuchEntity");
        let err = delete_login_profile(&iam, &judged(None)).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "login profile of user alice does not exist"
        );

        // The user itself is gone.
        let get_user =
            mock!(Client::get_user).then_http_response(|| iam_error(404, "NoSuchEntity"));
        let iam = mock_client!(aws_sdk_iam, [&get_user]);
        let err = delete_login_profile(&iam, &judged(None)).await.unwrap_err();
        assert_eq!(err.to_string(), "user alice does not exist");

        // Gone between the re-check and the deletion: not found, which the run records as
        // already gone.
        let gone = mock!(Client::delete_login_profile)
            .then_http_response(|| iam_error(404, "NoSuchEntity"));
        let err = delete_against(&judged(None), None, CREATED, &gone)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::NotFound { .. }), "{err}");
    }

    /// `ListMFADevices` answering with `devices` devices for alice.
    fn mfa_devices(devices: usize) -> Rule {
        mock!(Client::list_mfa_devices).then_output(move || {
            let device = MfaDevice::builder()
                .user_name("alice")
                .serial_number("arn:aws:iam::123456789012:mfa/alice")
                .enable_date(aws_smithy_types::DateTime::from_secs(SET))
                .build()
                .unwrap();
            ListMfaDevicesOutput::builder()
                .set_mfa_devices(Some(vec![device; devices]))
                .build()
                .unwrap()
        })
    }

    #[tokio::test]
    async fn mfa_is_read_again_right_before_a_deletion_for_want_of_it() {
        // Judged this instant: only the MFA devices are read again.
        let for_mfa = |removed: Option<i64>| {
            let mut deletion = judged(Some(USED));
            deletion.read_at = Instant::now();
            deletion.ground = Ground::NoMfa;
            deletion.judged.mfa = Mfa::Absent;
            deletion.judged.mfa_removed = removed.map(at);
            deletion
        };
        let (delete, untag) = deleted();
        let registered = mfa_devices(1);
        let iam = mock_client!(
            aws_sdk_iam,
            RuleMode::MatchAny,
            [&registered, &delete, &untag]
        );
        assert_eq!(
            delete_login_profile(&iam, &for_mfa(None)).await.unwrap(),
            Outcome::Skipped(
                "the user has an MFA device now (registered after the password was judged)".into()
            )
        );
        assert_eq!((registered.num_calls(), delete.num_calls()), (1, 0));

        let none = mfa_devices(0);
        let untag_both = mock!(Client::untag_user)
            .match_requests(|r| {
                r.tag_keys()
                    == [
                        "iam-remediation:password-set",
                        "iam-remediation:mfa-removed",
                    ]
            })
            .then_output(|| UntagUserOutput::builder().build());
        let iam = mock_client!(
            aws_sdk_iam,
            RuleMode::MatchAny,
            [&none, &delete, &untag_both]
        );
        assert_eq!(
            delete_login_profile(&iam, &for_mfa(Some(SET)))
                .await
                .unwrap(),
            Outcome::Applied
        );
        assert_eq!(
            (none.num_calls(), delete.num_calls(), untag_both.num_calls()),
            (1, 1, 1),
            "both records go with the password"
        );
    }

    #[tokio::test]
    async fn a_denied_deletion_is_an_error_naming_the_operation() {
        let denied = mock!(Client::delete_login_profile)
            .then_http_response(|| iam_error(403, "AccessDenied"));
        let err = delete_against(&judged(None), None, CREATED, &denied)
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "DeleteLoginProfile failed: AccessDenied: injected"
        );
    }
}
