//! Facts: what the account looks like, read through the credential report for a sweep and
//! through live calls for one principal.

pub mod access_keys;
pub mod credential_report;
pub mod identity;
pub mod inline_policies;
pub mod login_profiles;
pub mod password_policy;
pub mod tags;

pub use credential_report::{ReportKey, ReportTime, ReportUser};

/// A time from an AWS answer. A time chrono cannot hold is an error, never a default: a made-up
/// date could make a key or a password look old or unused.
pub(crate) fn to_utc(
    operation: &'static str,
    time: aws_smithy_types::DateTime,
) -> crate::Result<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::from_timestamp(time.secs(), time.subsec_nanos()).ok_or_else(|| {
        crate::Error::Aws {
            operation,
            code: "InvalidResponse".to_owned(),
            message: format!("time {time} is out of range"),
        }
    })
}
