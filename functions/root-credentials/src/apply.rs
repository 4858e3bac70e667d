//! The changes root-credentials makes: in one delete root session per account and run (task
//! policy `IAMDeleteRootUserCredentials`, opened only when there is something to delete), each
//! change made after re-reading, in that session, what it is about. In a root session IAM's
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
