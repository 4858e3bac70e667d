//! What console-passwords knows about a user: its console password (login profile) as IAM
//! reports it now, when it was last used, whether the user has an MFA device, when an
//! administrator last set it (a record this function keeps in a user tag, since IAM keeps the
//! profile's creation date through a reset), and when the user's MFA device was last removed
//! (another such record: IAM forgets a device once it is deactivated).

use std::fmt;
use std::time::Instant;

use aws_sdk_iam::Client;
use chrono::{DateTime, SecondsFormat, Utc};
use iam_remediation::reads::{Tags, to_utc};
use iam_remediation::records::TagChanges;
use iam_remediation::{Error, Observed, Result, call};

/// The tag that records when an administrator last set the user's console password
/// (`CreateLoginProfile` / `UpdateLoginProfile`): `iam-remediation:password-set` = RFC 3339.
pub const PASSWORD_SET_TAG: &str = "iam-remediation:password-set";

/// The tag that records when the user's MFA device was last removed (`DeactivateMFADevice`),
/// while the user has none: `iam-remediation:mfa-removed` = RFC 3339. The MFA grace runs from
/// then, so a user replacing a lost device can still sign in to register the new one.
pub const MFA_REMOVED_TAG: &str = "iam-remediation:mfa-removed";

/// Whether the user has an MFA device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mfa {
    /// Not read: the rule did not need it.
    NotRead,
    Absent,
    Present,
}

/// A user's console password (login profile) as IAM reports it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsolePassword {
    pub user: String,
    /// When the login profile was created (`GetLoginProfile` `CreateDate`).
    pub created: DateTime<Utc>,
    /// When an administrator last set the password (`UpdateLoginProfile` keeps `CreateDate`):
    /// the password is judged from then, like a new one.
    pub set_at: Option<DateTime<Utc>>,
    /// The user's `PasswordLastUsed` (`GetUser`): `None` when the password was never used (since
    /// IAM began tracking it in October 2014).
    pub last_used: Option<DateTime<Utc>>,
    pub mfa: Mfa,
    /// When the user's MFA device was last removed (recorded, or heard in this run): the MFA
    /// grace runs from the later of this and [`ConsolePassword::since`].
    pub mfa_removed: Option<DateTime<Utc>>,
}

impl ConsolePassword {
    /// When the current password was set: the profile's creation, or a later reset.
    pub fn since(&self) -> DateTime<Utc> {
        self.set_at
            .map_or(self.created, |set| set.max(self.created))
    }

    /// When the MFA grace started: when the password was set, or the user's MFA device was
    /// removed after that.
    pub fn mfa_grace_since(&self) -> DateTime<Utc> {
        self.mfa_removed
            .map_or(self.since(), |removed| removed.max(self.since()))
    }
}

/// One user's console password facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPassword {
    pub user: String,
    /// `None`: the user has no console password.
    pub password: Option<ConsolePassword>,
    /// A reset heard from CloudTrail in this run, to record.
    pub heard_set: Option<DateTime<Utc>>,
    /// The tag key of the password-set record the user carries, if any (IAM's spelling).
    pub set_record: Option<String>,
    /// A removal of the user's MFA device heard from CloudTrail in this run, to record (the
    /// call's time). Such a run never deletes: it only starts the MFA grace again.
    pub heard_mfa_removed: Option<DateTime<Utc>>,
    /// The tag key of the MFA-removal record the user carries, if any (IAM's spelling).
    pub mfa_record: Option<String>,
    /// When the facts were read: a deletion long after re-reads first.
    pub read_at: Instant,
}

/// The time recorded in a user's tag `record` ([`PASSWORD_SET_TAG`], [`MFA_REMOVED_TAG`]).
pub fn recorded(tags: &Tags, record: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(tags.get(record)?)
        .ok()
        .map(|at| at.with_timezone(&Utc))
}

/// The key of the user's tag `record` as IAM spells it, if the user carries it.
pub fn record_key(tags: &Tags, record: &str) -> Option<String> {
    tags.iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(record))
        .map(|(key, _)| key.to_owned())
}

/// The tag value of a record's time.
pub fn record_value(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The user as `GetUser` reports it: its `PasswordLastUsed` and its tags. A user that does not
/// exist is [`Error::NotFound`].
pub async fn user(iam: &Client, user: &str) -> Result<(Option<DateTime<Utc>>, Tags)> {
    let output = call("GetUser", iam.get_user().user_name(user).send())
        .await
        .map_err(|e| e.or_not_found("user", user))?;
    let found = output.user.ok_or_else(|| Error::Aws {
        operation: "GetUser",
        code: "InvalidResponse".to_owned(),
        message: format!("no user in the answer for {user}"),
    })?;
    let last_used = found
        .password_last_used
        .map(|time| to_utc("GetUser", time))
        .transpose()?;
    Ok((last_used, Tags::from(found.tags)))
}

/// When the user's login profile was created (`GetLoginProfile`); `None` when the user has no
/// console password. IAM answers `NoSuchEntity` for a missing user too, so read the user first.
pub async fn login_profile_created(iam: &Client, user: &str) -> Result<Option<DateTime<Utc>>> {
    let output = match call(
        "GetLoginProfile",
        iam.get_login_profile().user_name(user).send(),
    )
    .await
    {
        Ok(output) => output,
        Err(error) if error.is_no_such_entity() => return Ok(None),
        Err(error) => return Err(error),
    };
    let profile = output.login_profile.ok_or_else(|| Error::Aws {
        operation: "GetLoginProfile",
        code: "InvalidResponse".to_owned(),
        message: format!("no login profile in the answer for {user}"),
    })?;
    to_utc("GetLoginProfile", profile.create_date).map(Some)
}

/// Whether the user has an MFA device, virtual or hardware (`ListMFADevices`).
pub async fn mfa(iam: &Client, user: &str) -> Result<Mfa> {
    let output = call(
        "ListMFADevices",
        iam.list_mfa_devices().user_name(user).send(),
    )
    .await
    .map_err(|e| e.or_not_found("user", user))?;
    Ok(if output.mfa_devices.is_empty() {
        Mfa::Absent
    } else {
        Mfa::Present
    })
}

/// The user's console password, read live (`GetUser`, then `GetLoginProfile`), with the
/// recorded reset and MFA removal times: `None` when the user has none. A user that does not
/// exist is [`Error::NotFound`].
pub async fn console_password(iam: &Client, user: &str) -> Result<Option<ConsolePassword>> {
    let (last_used, tags) = self::user(iam, user).await?;
    Ok(login_profile_created(iam, user)
        .await?
        .map(|created| ConsolePassword {
            user: user.to_owned(),
            created,
            set_at: recorded(&tags, PASSWORD_SET_TAG),
            last_used,
            mfa: Mfa::NotRead,
            mfa_removed: recorded(&tags, MFA_REMOVED_TAG),
        }))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use aws_sdk_iam::operation::get_login_profile::GetLoginProfileOutput;
    use aws_sdk_iam::operation::get_user::GetUserOutput;
    use aws_sdk_iam::types::Tag;
    use aws_sdk_iam::types::{LoginProfile, User};
    use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
    use aws_smithy_types::DateTime as SdkTime;
    use iam_remediation::testing::iam_error;

    fn user(name: &str, password_last_used: Option<i64>) -> User {
        User::builder()
            .user_name(name)
            .user_id("AIDAEXAMPLE000000001")
            .arn(format!("arn:aws:iam::123456789012:user/{name}"))
            .path("/")
            .create_date(SdkTime::from_secs(1_600_000_000))
            .set_password_last_used(password_last_used.map(SdkTime::from_secs))
            .tags(
                Tag::builder()
                    .key("IAM-Remediation:Password-Set")
                    .value("2022-01-01T00:00:00Z")
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap()
    }

    fn user_output(name: &str, password_last_used: Option<i64>) -> GetUserOutput {
        GetUserOutput::builder()
            .user(user(name, password_last_used))
            .build()
    }

    fn profile_output(name: &str, created: i64) -> GetLoginProfileOutput {
        let profile = LoginProfile::builder()
            .user_name(name)
            .create_date(SdkTime::from_secs(created))
            .build()
            .unwrap();
        GetLoginProfileOutput::builder()
            .login_profile(profile)
            .build()
    }

    /// `GetUser` answering with user `name`, its password last used at `password_last_used`
    /// (and the reset record of 2022-01-01 in its tags).
    pub(crate) fn get_user(name: &'static str, password_last_used: Option<i64>) -> Rule {
        mock!(Client::get_user).then_output(move || user_output(name, password_last_used))
    }

    /// `GetLoginProfile` answering with user `name`'s profile, created at `created`.
    pub(crate) fn get_profile(name: &'static str, created: i64) -> Rule {
        mock!(Client::get_login_profile).then_output(move || profile_output(name, created))
    }

    /// IAM where alice exists, her password never used, and reading her login profile is
    /// refused with `code` (HTTP `status`).
    pub(crate) fn profile_refused(status: u16, code: &'static str) -> Client {
        let get_user = get_user("alice", None);
        let get_profile =
            mock!(Client::get_login_profile).then_http_response(move || iam_error(status, code));
        mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&get_user, &get_profile])
    }

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap()
    }

    #[tokio::test]
    async fn reads_last_use_and_profile_creation() {
        let (get_user, get_profile) = (
            get_user("alice", Some(1_700_000_000)),
            get_profile("alice", 1_650_000_000),
        );
        let iam = mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&get_user, &get_profile]);
        let password = console_password(&iam, "alice").await.unwrap().unwrap();
        assert_eq!(
            password,
            ConsolePassword {
                user: "alice".into(),
                created: at(1_650_000_000),
                set_at: Some(at(1_640_995_200)),
                last_used: Some(at(1_700_000_000)),
                mfa: Mfa::NotRead,
                mfa_removed: None,
            }
        );
    }

    #[tokio::test]
    async fn never_used_and_no_profile() {
        let get_user = get_user("bob", None);
        let get_profile = mock!(Client::get_login_profile)
            .sequence()
            .output(|| profile_output("bob", 1_650_000_000))
            .http_response(|| iam_error(404, "NoSuchEntity"))
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
            .http_response(|| iam_error(404, "NoSuchEntity"))
            .http_response(|| iam_error(403, "AccessDenied"))
            .build();
        let iam = mock_client!(aws_sdk_iam, [&get_user]);
        let missing = console_password(&iam, "ghost").await.unwrap_err();
        assert_eq!(missing.to_string(), "user ghost does not exist");
        let denied = console_password(&iam, "ghost").await.unwrap_err();
        assert_eq!(denied.to_string(), "GetUser failed: AccessDenied: injected");
    }

    #[tokio::test]
    async fn a_denied_profile_read_is_an_error_not_no_password() {
        let iam = profile_refused(403, "AccessDenied");
        let err = console_password(&iam, "alice").await.unwrap_err();
        assert_eq!(err.aws_code(), Some("AccessDenied"));
    }

    #[tokio::test]
    async fn throttling_is_retried_by_the_sdk() {
        let get_user = mock!(Client::get_user)
            .sequence()
            .http_response(|| iam_error(400, "Throttling"))
            .output(|| user_output("alice", None))
            .build();
        let get_profile = get_profile("alice", 1_650_000_000);
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

/// A user to read: with its tags when a sweep already has them, the time an administrator set
/// its password when a CloudTrail call was just heard doing it, and the time its MFA device was
/// removed when a CloudTrail call was just heard doing that.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lead {
    pub user: String,
    pub tags: Option<Tags>,
    pub heard_set: Option<DateTime<Utc>>,
    pub heard_mfa_removed: Option<DateTime<Utc>>,
}

impl Lead {
    pub fn named(user: String) -> Self {
        Self {
            user,
            tags: None,
            heard_set: None,
            heard_mfa_removed: None,
        }
    }
}

impl fmt::Display for Lead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "user {}", self.user)
    }
}

/// Records the time an administrator set the password and the time the user's MFA device
/// was removed (both heard from CloudTrail), and removes the records no longer needed: of a
/// password that no longer exists, of a removal once the user has an MFA device again.
pub fn records(observed: &Observed<UserPassword>) -> TagChanges {
    let facts = &observed.facts;
    let mut changes = TagChanges::default();
    match (&facts.password, facts.heard_set, &facts.set_record) {
        (Some(password), Some(_), _) => {
            if let Some(at) = password.set_at {
                changes
                    .set
                    .push((PASSWORD_SET_TAG.to_owned(), record_value(at)));
            }
        }
        (None, _, Some(stale)) => changes.remove.push(stale.clone()),
        _ => {}
    }
    let mfa = facts.password.as_ref().map(|password| password.mfa);
    match (&facts.password, mfa, &facts.mfa_record) {
        (Some(password), Some(Mfa::Absent), _) if facts.heard_mfa_removed.is_some() => {
            if let Some(at) = password.mfa_removed {
                changes
                    .set
                    .push((MFA_REMOVED_TAG.to_owned(), record_value(at)));
            }
        }
        (None, _, Some(stale)) | (Some(_), Some(Mfa::Present), Some(stale)) => {
            changes.remove.push(stale.clone());
        }
        _ => {}
    }
    changes
}

/// alice's facts for the rule's and the controls' tables: a password created at `created`, last
/// used at `last_used`, with `mfa`, and nothing heard or recorded.
#[cfg(test)]
pub(crate) fn alice(
    created: DateTime<Utc>,
    last_used: Option<DateTime<Utc>>,
    mfa: Mfa,
) -> UserPassword {
    UserPassword {
        user: "alice".into(),
        password: Some(ConsolePassword {
            user: "alice".into(),
            created,
            set_at: None,
            last_used,
            mfa,
            mfa_removed: None,
        }),
        heard_set: None,
        set_record: None,
        heard_mfa_removed: None,
        mfa_record: None,
        read_at: Instant::now(),
    }
}
