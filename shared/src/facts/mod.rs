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
