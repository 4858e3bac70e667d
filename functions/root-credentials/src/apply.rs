//! The changes root-credentials makes, in delete root sessions (task policy
//! `IAMDeleteRootUserCredentials`, opened only when there is something to delete), each change
//! made after re-reading, in that session, what it is about. The pipeline applies one action at
//! a time ([`apply`]): each change has its own session, as short as it can be; [`apply_all`]
//! makes several in one. In a root session IAM's
//! calls name no user: `DeleteAccessKey`, `DeleteLoginProfile`, `DeactivateMFADevice` (by serial
//! number) and `DeleteSigningCertificate` act on the root user.

use aws_config::SdkConfig;
use aws_sdk_iam::Client;
use iam_remediation::{Error, Outcome, Result, change};

use crate::facts;
use crate::rule::RootOrder;
use crate::session::{self, MANAGEMENT_ACCOUNT, Reached, Task};

/// Applies one order in `account` (its own delete session).
pub async fn apply(
    sdk: &SdkConfig,
    sts: &aws_sdk_sts::Client,
    account: &str,
    order: &RootOrder,
) -> Result<Outcome> {
    let mut outcomes = apply_all(sdk, sts, account, std::slice::from_ref(order)).await;
    outcomes.pop().unwrap_or_else(|| {
        Err(Error::Internal(
            "no outcome for the one order applied".into(),
        ))
    })
}

/// Applies `orders` in `account`, in their order (the password before its MFA devices), in one
/// delete root session, opened only if one of them changes something; one outcome per order.
/// A session that cannot be opened fails every order with the same error; the management
/// account skips every order.
pub async fn apply_all(
    sdk: &SdkConfig,
    sts: &aws_sdk_sts::Client,
    account: &str,
    orders: &[RootOrder],
) -> Vec<Result<Outcome>> {
    let changes = orders
        .iter()
        .any(|order| !matches!(order, RootOrder::Unreachable));
    if !changes {
        return orders.iter().map(|_| Ok(unreachable())).collect();
    }
    let iam = match session::open(sdk, sts, account, Task::Delete).await {
        Ok(Reached::RootUser(iam)) => iam,
        Ok(Reached::ManagementAccount) => {
            return orders.iter().map(|_| Ok(unreachable())).collect();
        }
        Err(error) => return orders.iter().map(|_| Err(copy(&error))).collect(),
    };
    let mut outcomes = Vec::with_capacity(orders.len());
    for order in orders {
        outcomes.push(apply_in_session(&iam, order).await);
    }
    outcomes
}

fn unreachable() -> Outcome {
    Outcome::Skipped(MANAGEMENT_ACCOUNT.to_owned())
}

/// The same error, for each order a failed session leaves undone (errors are not `Clone`; the
/// ones a session's opening gives are AWS's, reduced to their operation, code and message).
fn copy(error: &Error) -> Error {
    match error {
        Error::Aws {
            operation,
            code,
            message,
        } => Error::Aws {
            operation,
            code: code.clone(),
            message: message.clone(),
        },
        other => Error::Internal(other.to_string()),
    }
}

/// One order, in the delete session: re-read, then change.
pub async fn apply_in_session(iam: &Client, order: &RootOrder) -> Result<Outcome> {
    match order {
        RootOrder::DeleteAccessKey {
            key_id,
            last_used,
            exposed,
        } => delete_access_key(iam, key_id, *last_used, *exposed).await,
        RootOrder::DeleteLoginProfile => {
            if facts::password(iam).await?.is_none() {
                return Ok(Outcome::Skipped(
                    "the root user has no console password any more".into(),
                ));
            }
            gone_is_skipped(
                change("DeleteLoginProfile", iam.delete_login_profile().send()).await,
                "the root user's console password was deleted meanwhile",
            )
        }
        RootOrder::DeactivateMfaDevice { serial_number } => {
            // Never a password without its MFA: a password that could not be deleted keeps it.
            if facts::password(iam).await?.is_some() {
                return Ok(Outcome::Skipped(
                    "the root user still has a console password: its MFA device is kept".into(),
                ));
            }
            let devices = facts::mfa_devices(iam).await?;
            if !devices.iter().any(|d| &d.serial_number == serial_number) {
                return Ok(Outcome::Skipped(format!(
                    "the root user's MFA device {serial_number} is no longer enabled"
                )));
            }
            let request = iam.deactivate_mfa_device().serial_number(serial_number);
            gone_is_skipped(
                change("DeactivateMFADevice", request.send()).await,
                "the MFA device was deactivated meanwhile",
            )
        }
        RootOrder::DeleteSigningCertificate { certificate_id } => {
            let certificates = facts::signing_certificates(iam).await?;
            if !certificates.contains(certificate_id) {
                return Ok(Outcome::Skipped(format!(
                    "the root user's signing certificate {certificate_id} no longer exists"
                )));
            }
            let request = iam
                .delete_signing_certificate()
                .certificate_id(certificate_id);
            gone_is_skipped(
                change("DeleteSigningCertificate", request.send()).await,
                "the signing certificate was deleted meanwhile",
            )
        }
        RootOrder::Unreachable => Ok(unreachable()),
    }
}

/// A root access key, after re-reading it: one that is gone is skipped; one used after the use
/// the rule judged is skipped (it is judged again on the next run), unless AWS reported it
/// exposed.
async fn delete_access_key(
    iam: &Client,
    key_id: &str,
    judged_last_use: Option<chrono::DateTime<chrono::Utc>>,
    exposed: bool,
) -> Result<Outcome> {
    let listed = iam_remediation::call("ListAccessKeys", iam.list_access_keys().send()).await?;
    let present = listed
        .access_key_metadata
        .iter()
        .any(|key| key.access_key_id.as_deref() == Some(key_id));
    if !present {
        return Ok(Outcome::Skipped(format!(
            "the root access key {key_id} no longer exists"
        )));
    }
    if !exposed {
        let live = facts::last_used(iam, key_id).await?;
        if let Some(used) = live
            && judged_last_use.is_none_or(|judged| used > judged)
        {
            return Ok(Outcome::Skipped(format!(
                "the root access key {key_id} was used since it was judged (last used {}): it \
                 is judged again on the next run",
                used.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            )));
        }
    }
    let request = iam.delete_access_key().access_key_id(key_id);
    gone_is_skipped(
        change("DeleteAccessKey", request.send()).await,
        "the root access key was deleted meanwhile",
    )
}

/// A change whose target IAM no longer finds (`NoSuchEntity`: another run, or an operator, got
/// there first) is skipped with `why`.
fn gone_is_skipped(result: Result<()>, why: &str) -> Result<Outcome> {
    match result {
        Ok(()) => Ok(Outcome::Applied),
        Err(error) if error.is_no_such_entity() => Ok(Outcome::Skipped(why.to_owned())),
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use chrono::{DateTime, Utc};
    use iam_remediation::testing::iam_error;

    use super::*;
    use crate::fake::{self, DELETE_KEY, Fake};

    const MEMBER: &str = "111122223333";
    const KEY: &str = "AKIAROOTKEY000000001";

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().expect("a time")
    }

    fn delete_key(last_used: Option<&str>, exposed: bool) -> RootOrder {
        RootOrder::DeleteAccessKey {
            key_id: KEY.into(),
            last_used: last_used.map(at),
            exposed,
        }
    }

    /// Applies `orders` in MEMBER on `fake`: the outcomes (errors as text), the AssumeRoot calls
    /// (audit, delete), and the calls the fake saw.
    async fn applied(
        fake: Fake,
        orders: &[RootOrder],
    ) -> (
        Vec<Result<Outcome, String>>,
        (usize, usize),
        Vec<String>,
        Fake,
    ) {
        let fake = Arc::new(Mutex::new(fake));
        let (audit, delete) = fake::sessions(MEMBER);
        let sts = mock_client!(aws_sdk_sts, RuleMode::MatchAny, [&audit, &delete]);
        let outcomes = apply_all(&fake::sdk(&fake), &sts, MEMBER, orders).await;
        let outcomes = outcomes
            .into_iter()
            .map(|o| o.map_err(|e| e.to_string()))
            .collect();
        let fake = Arc::try_unwrap(fake)
            .expect("one owner")
            .into_inner()
            .expect("the fake");
        let calls = fake.calls.clone();
        (
            outcomes,
            (audit.num_calls(), delete.num_calls()),
            calls,
            fake,
        )
    }

    #[allow(
        clippy::unnecessary_wraps,
        reason = "an expected outcome, as apply_all gives it"
    )]
    fn skipped(why: &str) -> Result<Outcome, String> {
        Ok(Outcome::Skipped(why.to_owned()))
    }

    #[tokio::test]
    async fn every_change_of_an_account_is_made_in_one_delete_session() {
        let fake = Fake {
            keys: vec![(KEY.into(), Some("2026-01-01T00:00:00Z".into()))],
            password: true,
            mfa: vec!["GAHT12345678".into()],
            certificates: vec!["CERT1".into()],
            ..Fake::new()
        };
        let orders = [
            delete_key(Some("2026-01-01T00:00:00Z"), false),
            RootOrder::DeleteLoginProfile,
            RootOrder::DeactivateMfaDevice {
                serial_number: "GAHT12345678".into(),
            },
            RootOrder::DeleteSigningCertificate {
                certificate_id: "CERT1".into(),
            },
        ];
        let (outcomes, sessions, calls, left) = applied(fake, &orders).await;
        assert_eq!(outcomes, vec![Ok(Outcome::Applied); 4]);
        assert_eq!(sessions, (0, 1), "one session, with the delete policy");
        let by = |call: &str| format!("{call} by {DELETE_KEY}");
        assert_eq!(
            calls,
            [
                by("ListAccessKeys"),
                by("GetAccessKeyLastUsed"),
                by("DeleteAccessKey"),
                by("GetLoginProfile"),
                by("DeleteLoginProfile"),
                by("GetLoginProfile"),
                by("ListMFADevices"),
                by("DeactivateMFADevice"),
                by("ListSigningCertificates"),
                by("DeleteSigningCertificate"),
            ],
            "each change after its re-read, in the order given"
        );
        assert!(left.keys.is_empty() && !left.password && left.mfa.is_empty());
        assert!(left.certificates.is_empty());
    }

    #[tokio::test]
    async fn a_key_gone_between_read_and_delete_is_skipped() {
        let (outcomes, sessions, calls, _) = applied(Fake::new(), &[delete_key(None, false)]).await;
        assert_eq!(
            outcomes,
            [skipped(
                "the root access key AKIAROOTKEY000000001 no longer exists"
            )]
        );
        assert_eq!(sessions, (0, 1));
        assert_eq!(calls, [format!("ListAccessKeys by {DELETE_KEY}")]);
    }

    #[tokio::test]
    async fn a_key_used_since_it_was_judged_is_kept_unless_exposed() {
        let used_since = || Fake {
            keys: vec![(KEY.into(), Some("2026-06-10T00:00:00Z".into()))],
            ..Fake::new()
        };
        for judged in [None, Some("2026-01-01T00:00:00Z")] {
            let (outcomes, _, _, left) = applied(used_since(), &[delete_key(judged, false)]).await;
            assert_eq!(
                outcomes,
                [skipped(
                    "the root access key AKIAROOTKEY000000001 was used since it was judged (last \
                     used 2026-06-10T00:00:00Z): it is judged again on the next run"
                )],
                "judged {judged:?}"
            );
            assert_eq!(left.keys.len(), 1);
        }
        let (outcomes, _, _, left) = applied(used_since(), &[delete_key(None, true)]).await;
        assert_eq!(outcomes, [Ok(Outcome::Applied)], "an exposed key");
        assert!(left.keys.is_empty());
    }

    #[tokio::test]
    async fn an_mfa_device_is_kept_while_the_root_user_has_a_password() {
        let fake = Fake {
            password: true,
            mfa: vec!["GAHT12345678".into()],
            ..Fake::new()
        };
        let order = RootOrder::DeactivateMfaDevice {
            serial_number: "GAHT12345678".into(),
        };
        let (outcomes, _, _, left) = applied(fake, &[order]).await;
        assert_eq!(
            outcomes,
            [skipped(
                "the root user still has a console password: its MFA device is kept"
            )]
        );
        assert_eq!(left.mfa, ["GAHT12345678"]);
    }

    #[tokio::test]
    async fn nothing_to_change_opens_no_session() {
        let (outcomes, sessions, calls, _) = applied(Fake::new(), &[]).await;
        assert!(outcomes.is_empty());
        assert_eq!((sessions, calls.len()), ((0, 0), 0));
        let (outcomes, sessions, _, _) = applied(Fake::new(), &[RootOrder::Unreachable]).await;
        assert_eq!(
            outcomes,
            [skipped("AssumeRoot cannot reach the management account")]
        );
        assert_eq!(sessions, (0, 0));
    }

    #[tokio::test]
    async fn a_refused_session_fails_every_order_and_changes_nothing() {
        let fake = Arc::new(Mutex::new(Fake {
            keys: vec![(KEY.into(), None)],
            features: Ok(vec!["RootCredentialsManagement"]),
            ..Fake::new()
        }));
        let denied = mock!(aws_sdk_sts::Client::assume_root)
            .then_http_response(|| iam_error(403, "AccessDenied"));
        let sts = mock_client!(aws_sdk_sts, [&denied]);
        let orders = [delete_key(None, false), RootOrder::DeleteLoginProfile];
        let outcomes = apply_all(&fake::sdk(&fake), &sts, MEMBER, &orders).await;
        assert_eq!(outcomes.len(), 2);
        for outcome in outcomes {
            let error = outcome.expect_err("refused").to_string();
            assert!(
                error.contains("RootSessions off")
                    && error.contains("enable-organizations-root-sessions"),
                "{error}"
            );
        }
        assert_eq!(denied.num_calls(), 1, "asked once for the account");
        let fake = fake.lock().expect("the fake");
        assert_eq!(fake.keys.len(), 1, "unchanged");
        assert_eq!(
            fake.calls,
            [format!("ListOrganizationsFeatures by {}", fake::ADMIN_KEY)]
        );
    }

    #[tokio::test]
    async fn the_management_account_skips_every_order() {
        let fake = Arc::new(Mutex::new(Fake::new()));
        let denied = mock!(aws_sdk_sts::Client::assume_root)
            .then_http_response(|| iam_error(403, "AccessDenied"));
        let sts = mock_client!(aws_sdk_sts, [&denied]);
        let outcome = apply(
            &fake::sdk(&fake),
            &sts,
            "123456789012",
            &delete_key(None, false),
        )
        .await;
        assert_eq!(
            outcome.expect("not an error"),
            Outcome::Skipped("AssumeRoot cannot reach the management account".into())
        );
    }
}
