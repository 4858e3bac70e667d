//! What root-credentials knows about a member account: its root user's credentials, as read in
//! one audit root session (task policy `IAMAuditRootUserCredentials`). In a root session IAM's
//! calls name no user: they act on the root user (IAM User Guide, "Perform a privileged task on
//! an AWS Organizations member account").

use aws_config::SdkConfig;
use aws_sdk_iam::Client;
use aws_sdk_iam::types::StatusType;
use chrono::{DateTime, Utc};
use iam_remediation::reads::to_utc;
use iam_remediation::{Error, Result, call};

use crate::session::{self, Reached, Task};

/// One root access key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootKey {
    pub id: String,
    pub active: bool,
    pub created: DateTime<Utc>,
    /// `None`: never used.
    pub last_used: Option<DateTime<Utc>>,
    /// AWS reported it exposed. The read cannot know it: the trigger does (an AWS Health
    /// `AWS_RISK_CREDENTIALS_EXPOSED` event names the key; an IAM.4 finding does not), and the
    /// caller marks it with [`RootUser::mark_exposed`].
    pub exposed: bool,
}

/// One MFA device of the root user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MfaDevice {
    pub serial_number: String,
}

impl MfaDevice {
    /// A virtual (authenticator app) device: its serial number is an ARN of an `mfa/` resource
    /// (`arn:aws:iam::123456789012:mfa/root-account-mfa-device`). A hardware TOTP token has a
    /// plain serial number (`GAHT12345678`), a FIDO security key a `u2f/` ARN: both are hardware
    /// for Security Hub IAM.6.
    pub fn is_virtual(&self) -> bool {
        self.serial_number.starts_with("arn:") && self.serial_number.contains(":mfa/")
    }
}

/// A member account's root user credentials, as read in one audit session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootUser {
    pub account: String,
    pub access_keys: Vec<RootKey>,
    /// The console password's creation date (`GetLoginProfile`), `None` when there is none.
    pub password: Option<DateTime<Utc>>,
    pub mfa_devices: Vec<MfaDevice>,
    /// Signing certificate IDs.
    pub signing_certificates: Vec<String>,
}

impl RootUser {
    /// Marks the keys AWS reported exposed (from the trigger).
    pub fn mark_exposed(&mut self, key_ids: &[String]) {
        for key in &mut self.access_keys {
            if key_ids.contains(&key.id) {
                key.exposed = true;
            }
        }
    }
}

/// What one read of a member account found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootFacts {
    Member(RootUser),
    /// The organization's management account: AssumeRoot cannot reach it, nothing was read.
    ManagementAccount {
        account: String,
    },
}

/// Reads `account`'s root user credentials in one audit session (AssumeRoot through the
/// regional `sts`, task policy `IAMAuditRootUserCredentials`; IAM built from `sdk` with the
/// session's credentials). A refusal for a missing prerequisite is an error naming it and the
/// command that enables it; the management account is [`RootFacts::ManagementAccount`].
pub async fn read(sdk: &SdkConfig, sts: &aws_sdk_sts::Client, account: &str) -> Result<RootFacts> {
    match session::open(sdk, sts, account, Task::Audit).await? {
        Reached::ManagementAccount => Ok(RootFacts::ManagementAccount {
            account: account.to_owned(),
        }),
        Reached::RootUser(iam) => Ok(RootFacts::Member(
            // Boxed: the four overlapping reads make a future of some 20 KB.
            Box::pin(read_root_user(&iam, account)).await?,
        )),
    }
}

/// Everything of the root user, read at once in the session (its calls overlap, so the session
/// is needed for as short a time as possible).
pub async fn read_root_user(iam: &Client, account: &str) -> Result<RootUser> {
    let (access_keys, password, mfa_devices, signing_certificates) = futures::try_join!(
        access_keys(iam),
        password(iam),
        mfa_devices(iam),
        signing_certificates(iam)
    )?;
    Ok(RootUser {
        account: account.to_owned(),
        access_keys,
        password,
        mfa_devices,
        signing_certificates,
    })
}

fn incomplete(operation: &'static str, what: &str) -> Error {
    Error::Aws {
        operation,
        code: "InvalidResponse".to_owned(),
        message: format!("{what} missing in the answer"),
    }
}

/// The root user's access keys with their last use (`ListAccessKeys`, then
/// `GetAccessKeyLastUsed` of each; a root user has at most two keys).
pub async fn access_keys(iam: &Client) -> Result<Vec<RootKey>> {
    let listed = call("ListAccessKeys", iam.list_access_keys().send()).await?;
    let keys = listed
        .access_key_metadata
        .into_iter()
        .map(|key| async move {
            let id = key
                .access_key_id
                .ok_or_else(|| incomplete("ListAccessKeys", "a key's ID"))?;
            let created = key
                .create_date
                .ok_or_else(|| incomplete("ListAccessKeys", "a key's creation date"))?;
            Ok(RootKey {
                last_used: last_used(iam, &id).await?,
                active: key.status == Some(StatusType::Active),
                created: to_utc("ListAccessKeys", created)?,
                exposed: false,
                id,
            })
        });
    futures::future::try_join_all(keys).await
}

/// When a root key was last used (`GetAccessKeyLastUsed`); `None`: never.
pub async fn last_used(iam: &Client, key_id: &str) -> Result<Option<DateTime<Utc>>> {
    let output = call(
        "GetAccessKeyLastUsed",
        iam.get_access_key_last_used().access_key_id(key_id).send(),
    )
    .await?;
    output
        .access_key_last_used
        .and_then(|used| used.last_used_date)
        .map(|at| to_utc("GetAccessKeyLastUsed", at))
        .transpose()
}

/// The root console password's creation date (`GetLoginProfile`); `None` when there is none
/// (`NoSuchEntity`, a normal state).
pub async fn password(iam: &Client) -> Result<Option<DateTime<Utc>>> {
    match call("GetLoginProfile", iam.get_login_profile().send()).await {
        Ok(output) => {
            let profile = output
                .login_profile
                .ok_or_else(|| incomplete("GetLoginProfile", "the login profile"))?;
            Ok(Some(to_utc("GetLoginProfile", profile.create_date)?))
        }
        Err(error) if error.is_no_such_entity() => Ok(None),
        Err(error) => Err(error),
    }
}

/// The root user's MFA devices (`ListMFADevices`; at most eight).
pub async fn mfa_devices(iam: &Client) -> Result<Vec<MfaDevice>> {
    let output = call(
        "ListMFADevices",
        iam.list_mfa_devices().max_items(100).send(),
    )
    .await?;
    Ok(output
        .mfa_devices
        .into_iter()
        .map(|device| MfaDevice {
            serial_number: device.serial_number,
        })
        .collect())
}

/// The root user's signing certificate IDs (`ListSigningCertificates`; at most two).
pub async fn signing_certificates(iam: &Client) -> Result<Vec<String>> {
    let output = call(
        "ListSigningCertificates",
        iam.list_signing_certificates().max_items(100).send(),
    )
    .await?;
    Ok(output
        .certificates
        .into_iter()
        .map(|certificate| certificate.certificate_id)
        .collect())
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use aws_smithy_mocks::{RuleMode, mock_client};

    use super::*;
    use crate::fake::{self, AUDIT_KEY, Fake};

    #[tokio::test]
    async fn one_audit_session_reads_everything_of_the_root_user() {
        let fake = Arc::new(Mutex::new(Fake {
            keys: vec![
                (
                    "AKIAROOTUSED00000001".into(),
                    Some("2026-06-01T10:00:00Z".into()),
                ),
                ("AKIAROOTNEVER0000001".into(), None),
            ],
            password: true,
            mfa: vec!["GAHT12345678".into()],
            certificates: vec!["CERT1".into()],
            ..Fake::new()
        }));
        let (audit, delete) = fake::sessions("111122223333");
        let sts = mock_client!(aws_sdk_sts, RuleMode::MatchAny, [&audit, &delete]);

        let read = read(&fake::sdk(&fake), &sts, "111122223333").await;

        let RootFacts::Member(root) = read.expect("read") else {
            panic!("a member account")
        };
        let keys: Vec<(&str, Option<String>, bool)> = (root.access_keys.iter())
            .map(|k| {
                (
                    k.id.as_str(),
                    k.last_used.map(|at| at.to_rfc3339()),
                    k.exposed,
                )
            })
            .collect();
        assert_eq!(
            keys,
            [
                (
                    "AKIAROOTUSED00000001",
                    Some("2026-06-01T10:00:00+00:00".into()),
                    false
                ),
                ("AKIAROOTNEVER0000001", None, false)
            ]
        );
        assert!(root.password.is_some());
        assert_eq!(
            root.mfa_devices,
            [MfaDevice {
                serial_number: "GAHT12345678".into()
            }]
        );
        assert_eq!(root.signing_certificates, ["CERT1"]);
        assert_eq!(
            (audit.num_calls(), delete.num_calls()),
            (1, 0),
            "one audit session"
        );
        let calls = fake.lock().expect("the fake").calls.clone();
        assert_eq!(calls.len(), 6, "{calls:?}");
        assert!(
            calls
                .iter()
                .all(|call| call.ends_with(&format!("by {AUDIT_KEY}"))),
            "every IAM call in the session, as its root user: {calls:?}"
        );
    }

    #[tokio::test]
    async fn no_password_is_none_not_an_error() {
        let fake = Arc::new(Mutex::new(Fake::new()));
        let (audit, _) = fake::sessions("111122223333");
        let sts = mock_client!(aws_sdk_sts, [&audit]);
        let read = read(&fake::sdk(&fake), &sts, "111122223333").await;
        let RootFacts::Member(root) = read.expect("read") else {
            panic!("a member account")
        };
        assert_eq!((root.access_keys.len(), root.password), (0, None));
    }
}
