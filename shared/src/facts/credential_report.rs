//! The IAM credential report: the whole account's users, passwords and keys in two or three
//! calls. A sweep finds its candidates here and then re-reads each candidate live, because the
//! report can be up to four hours old.

use std::time::Duration;

use aws_sdk_iam::Client;
use aws_sdk_iam::types::ReportStateType;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::error::{Error, Result};

/// How long to wait for AWS to generate the report.
const GENERATION_TIMEOUT: Duration = Duration::from_mins(2);

/// A report cell: a date or one of the report's sentinels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportTime {
    At(DateTime<Utc>),
    /// `N/A`: the thing does not exist (no key, no password) or was never used.
    NotApplicable,
    /// `no_information`: never used since IAM started tracking.
    NoInformation,
    /// `not_supported`: the report does not carry this value (root account fields).
    NotSupported,
}

impl ReportTime {
    pub fn at(self) -> Option<DateTime<Utc>> {
        match self {
            Self::At(time) => Some(time),
            _ => None,
        }
    }

    fn parse(column: &str, value: &str) -> Result<Self> {
        match value {
            "N/A" => Ok(Self::NotApplicable),
            "no_information" => Ok(Self::NoInformation),
            "not_supported" => Ok(Self::NotSupported),
            _ => DateTime::parse_from_rfc3339(value)
                .map(|t| Self::At(t.with_timezone(&Utc)))
                .map_err(|e| {
                    Error::CredentialReport(format!(
                        "column {column}: {value:?} is not a date: {e}"
                    ))
                }),
        }
    }
}

/// One access key slot of a report row (the report names no key IDs: only slots 1 and 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportKey {
    pub active: bool,
    /// When the key was created (or last rotated); `NotApplicable` when the slot is empty.
    pub last_rotated: ReportTime,
    pub last_used: ReportTime,
}

impl ReportKey {
    pub fn exists(&self) -> bool {
        self.last_rotated.at().is_some()
    }
}

/// One user of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportUser {
    pub user: String,
    pub arn: String,
    pub created: ReportTime,
    pub password_enabled: bool,
    pub password_last_used: ReportTime,
    pub password_last_changed: ReportTime,
    pub keys: [ReportKey; 2],
}

/// The root account's row: it has no IAM user and the functions never act on it.
pub const ROOT_ACCOUNT: &str = "<root_account>";

#[derive(Deserialize)]
struct Row {
    user: String,
    arn: String,
    user_creation_time: String,
    password_enabled: String,
    password_last_used: String,
    password_last_changed: String,
    access_key_1_active: String,
    access_key_1_last_rotated: String,
    access_key_1_last_used_date: String,
    access_key_2_active: String,
    access_key_2_last_rotated: String,
    access_key_2_last_used_date: String,
}

/// Parses the report's CSV. The root account's row is left out.
pub fn parse(csv_text: &[u8]) -> Result<Vec<ReportUser>> {
    let mut reader = csv::Reader::from_reader(csv_text);
    let mut users = Vec::new();
    for row in reader.deserialize::<Row>() {
        let row = row.map_err(|e| Error::CredentialReport(format!("unreadable CSV: {e}")))?;
        if row.user == ROOT_ACCOUNT {
            continue;
        }
        let flag = |column: &str, value: &str| match value {
            "true" => Ok(true),
            "false" | "not_supported" | "N/A" => Ok(false),
            other => Err(Error::CredentialReport(format!(
                "column {column}: {other:?} is not true or false"
            ))),
        };
        users.push(ReportUser {
            created: ReportTime::parse("user_creation_time", &row.user_creation_time)?,
            password_enabled: flag("password_enabled", &row.password_enabled)?,
            password_last_used: ReportTime::parse("password_last_used", &row.password_last_used)?,
            password_last_changed: ReportTime::parse(
                "password_last_changed",
                &row.password_last_changed,
            )?,
            keys: [
                ReportKey {
                    active: flag("access_key_1_active", &row.access_key_1_active)?,
                    last_rotated: ReportTime::parse(
                        "access_key_1_last_rotated",
                        &row.access_key_1_last_rotated,
                    )?,
                    last_used: ReportTime::parse(
                        "access_key_1_last_used_date",
                        &row.access_key_1_last_used_date,
                    )?,
                },
                ReportKey {
                    active: flag("access_key_2_active", &row.access_key_2_active)?,
                    last_rotated: ReportTime::parse(
                        "access_key_2_last_rotated",
                        &row.access_key_2_last_rotated,
                    )?,
                    last_used: ReportTime::parse(
                        "access_key_2_last_used_date",
                        &row.access_key_2_last_used_date,
                    )?,
                },
            ],
            user: row.user,
            arn: row.arn,
        });
    }
    Ok(users)
}

/// Generates the report (or reuses AWS's recent one), waits for it, fetches and parses it.
pub async fn fetch(iam: &Client) -> Result<Vec<ReportUser>> {
    let started = tokio::time::Instant::now();
    let mut pause = Duration::from_millis(250);
    loop {
        let state = iam
            .generate_credential_report()
            .send()
            .await
            .map_err(|e| Error::aws("GenerateCredentialReport", &e))?
            .state;
        if state == Some(ReportStateType::Complete) {
            break;
        }
        if started.elapsed() > GENERATION_TIMEOUT {
            return Err(Error::CredentialReport(format!(
                "not ready after {}s (state {state:?})",
                GENERATION_TIMEOUT.as_secs()
            )));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(4));
    }
    let report = iam
        .get_credential_report()
        .send()
        .await
        .map_err(|e| Error::aws("GetCredentialReport", &e))?;
    let content = report
        .content
        .ok_or_else(|| Error::CredentialReport("GetCredentialReport returned no content".into()))?;
    parse(content.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_iam::operation::generate_credential_report::GenerateCredentialReportOutput;
    use aws_sdk_iam::operation::get_credential_report::GetCredentialReportOutput;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};
    use aws_smithy_types::Blob;

    const HEADER: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated";

    fn report() -> String {
        format!(
            "{HEADER}\n\
<root_account>,arn:aws:iam::123456789012:root,2020-01-01T00:00:00+00:00,not_supported,2026-01-01T00:00:00+00:00,not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n\
alice,arn:aws:iam::123456789012:user/alice,2024-01-01T00:00:00+00:00,true,no_information,2024-01-01T00:00:00+00:00,N/A,false,true,2024-02-01T00:00:00+00:00,2024-03-01T10:00:00+00:00,us-east-1,iam,false,2024-05-01T00:00:00+00:00,N/A,N/A,N/A,false,N/A,false,N/A\n\
bob,arn:aws:iam::123456789012:user/bob,2025-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n"
        )
    }

    #[test]
    fn parses_rows_and_sentinels() {
        let users = parse(report().as_bytes()).unwrap();
        assert_eq!(users.len(), 2, "the root row is left out");
        let alice = &users[0];
        assert_eq!(alice.user, "alice");
        assert!(alice.password_enabled);
        assert_eq!(alice.password_last_used, ReportTime::NoInformation);
        assert!(alice.keys[0].active && alice.keys[0].exists());
        assert_eq!(
            alice.keys[0].last_used.at().unwrap().to_rfc3339(),
            "2024-03-01T10:00:00+00:00"
        );
        assert!(!alice.keys[1].active && alice.keys[1].exists());
        assert_eq!(alice.keys[1].last_used, ReportTime::NotApplicable);
        let bob = &users[1];
        assert!(!bob.password_enabled && !bob.keys[0].exists() && !bob.keys[1].exists());
    }

    #[test]
    fn malformed_reports_are_errors() {
        assert!(parse(format!("{HEADER}\nalice,arn,yesterday,true,N/A,N/A,N/A,false,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n").as_bytes()).is_err());
        assert!(parse(b"user,arn\nalice,arn\n").is_err());
        assert!(parse(format!("{HEADER}\nalice,arn,2024-01-01T00:00:00+00:00,maybe,N/A,N/A,N/A,false,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n").as_bytes()).is_err());
    }

    #[tokio::test]
    async fn waits_for_generation_then_fetches() {
        let generate = mock!(Client::generate_credential_report)
            .sequence()
            .output(|| {
                GenerateCredentialReportOutput::builder()
                    .state(ReportStateType::Started)
                    .build()
            })
            .output(|| {
                GenerateCredentialReportOutput::builder()
                    .state(ReportStateType::Inprogress)
                    .build()
            })
            .output(|| {
                GenerateCredentialReportOutput::builder()
                    .state(ReportStateType::Complete)
                    .build()
            })
            .build();
        let get = mock!(Client::get_credential_report).then_output(|| {
            GetCredentialReportOutput::builder()
                .content(Blob::new(report()))
                .build()
        });
        let iam = mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&generate, &get]);
        let users = fetch(&iam).await.unwrap();
        assert_eq!(users.len(), 2);
        assert_eq!(generate.num_calls(), 3);
        assert_eq!(get.num_calls(), 1);
    }

    #[tokio::test]
    async fn throttling_is_retried_by_the_sdk() {
        let generate = mock!(Client::generate_credential_report)
            .sequence()
            .http_status(400, Some(r"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>".into()))
            .output(|| GenerateCredentialReportOutput::builder().state(ReportStateType::Complete).build())
            .build();
        let get = mock!(Client::get_credential_report).then_output(|| {
            GetCredentialReportOutput::builder()
                .content(Blob::new(report()))
                .build()
        });
        let iam = mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&generate, &get], |c| c
            .retry_config(
                aws_smithy_types::retry::RetryConfig::standard().with_max_attempts(3)
            ));
        assert_eq!(fetch(&iam).await.unwrap().len(), 2);
        assert_eq!(generate.num_calls(), 2);
    }

    #[tokio::test]
    async fn a_denied_call_is_an_error_naming_the_operation() {
        let generate = mock!(Client::generate_credential_report).then_http_response(|| {
            aws_smithy_runtime_api::http::Response::new(
                aws_smithy_runtime_api::http::StatusCode::try_from(403).unwrap(),
                aws_smithy_types::body::SdkBody::from(
                    r"<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not allowed</Message></Error></ErrorResponse>",
                ),
            )
        });
        let iam = mock_client!(aws_sdk_iam, [&generate]);
        let err = fetch(&iam).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "GenerateCredentialReport failed: AccessDenied: not allowed"
        );
    }
}
