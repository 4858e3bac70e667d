//! The reads two or more functions share: the credential report, principal tags, and who is who
//! (the function's own identity, principals behind unique IDs, the owner of an access key).

pub mod credential_report;
pub mod identity;
pub mod tags;

pub use credential_report::{CredentialReport, ReportKey, ReportTime, ReportUser, RootUser};
pub use tags::{TagState, Tags};

use aws_sdk_iam::operation::get_account_authorization_details::GetAccountAuthorizationDetailsOutput;
use aws_sdk_iam::types::EntityType;

/// Reads the account's principals of the kinds `filter` names with `GetAccountAuthorizationDetails`
/// (their tags, policies and attachments, 1,000 principals a page), handing each page to `read`
/// as it arrives: a sweep knows every principal in a call or two instead of several per
/// principal.
pub async fn authorization_details(
    iam: &aws_sdk_iam::Client,
    filter: Vec<EntityType>,
    mut read: impl FnMut(GetAccountAuthorizationDetailsOutput),
) -> crate::Result<()> {
    let mut pages = iam
        .get_account_authorization_details()
        .set_filter(Some(filter))
        .into_paginator()
        .page_size(1000)
        .send();
    while let Some(page) = pages.next().await {
        read(page.map_err(|e| crate::Error::aws("GetAccountAuthorizationDetails", &e))?);
    }
    Ok(())
}

/// A time from an AWS answer. A time chrono cannot hold is an error, never a default: a made-up
/// date could make a key or a password look old or unused.
pub fn to_utc(
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
