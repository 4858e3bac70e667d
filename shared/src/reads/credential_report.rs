//! The IAM credential report: the whole account's users, passwords and keys in two or three
//! calls. A sweep finds its candidates here and then re-reads each candidate live, because the
//! report can be up to four hours old.

use std::fmt;
use std::time::Duration;

use aws_sdk_iam::Client;
use aws_sdk_iam::types::ReportStateType;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::contract::{Survey, Window};
use crate::error::{Error, Result, call};
use crate::reads::tags::{self, Tags};
use crate::records::warning_due;

/// How long to wait for AWS to generate the report.
const GENERATION_TIMEOUT: Duration = Duration::from_mins(2);

/// A report cell: a date or one of the report's sentinels.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ReportTime {
    At(DateTime<Utc>),
    /// `N/A`: the thing does not exist (no key, no password) or was never used.
    #[default]
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

    fn parse(column: impl fmt::Display, value: &str) -> Result<Self> {
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
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
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
    /// Whether the user has an MFA device (virtual or hardware).
    pub mfa_active: bool,
    pub keys: [ReportKey; 2],
}

/// The root user's row: nothing in the account can act on it, but its keys are reported.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RootUser {
    pub mfa_active: bool,
    pub keys: [ReportKey; 2],
}

/// A row that could not be read. One bad row never stops a sweep: the function reads that user
/// live instead, when the row still names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnreadableRow {
    /// The row's line in the report (1 is the header).
    pub line: u64,
    /// The user, when the row still names one.
    pub user: Option<String>,
    pub error: String,
}

/// The whole report, parsed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CredentialReport {
    pub users: Vec<ReportUser>,
    pub root: Option<RootUser>,
    pub unreadable: Vec<UnreadableRow>,
}

/// The root account's row.
pub const ROOT_ACCOUNT: &str = "<root_account>";

#[derive(Deserialize)]
struct Row {
    user: String,
    arn: String,
    user_creation_time: String,
    password_enabled: String,
    password_last_used: String,
    password_last_changed: String,
    mfa_active: String,
    access_key_1_active: String,
    access_key_1_last_rotated: String,
    access_key_1_last_used_date: String,
    access_key_2_active: String,
    access_key_2_last_rotated: String,
    access_key_2_last_used_date: String,
}

fn flag(column: impl fmt::Display, value: &str) -> Result<bool> {
    match value {
        "true" => Ok(true),
        "false" | "not_supported" | "N/A" => Ok(false),
        other => Err(Error::CredentialReport(format!(
            "column {column}: {other:?} is not true or false"
        ))),
    }
}

/// Column `access_key_<slot>_<field>`, as errors name it.
struct KeyColumn(u8, &'static str);

impl fmt::Display for KeyColumn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "access_key_{}_{}", self.0, self.1)
    }
}

/// Access key slot `slot` from its `active`, `last_rotated` and `last_used_date` columns.
fn key(slot: u8, [active, rotated, used]: [&str; 3]) -> Result<ReportKey> {
    Ok(ReportKey {
        active: flag(KeyColumn(slot, "active"), active)?,
        last_rotated: ReportTime::parse(KeyColumn(slot, "last_rotated"), rotated)?,
        last_used: ReportTime::parse(KeyColumn(slot, "last_used_date"), used)?,
    })
}

impl Row {
    fn keys(&self) -> Result<[ReportKey; 2]> {
        Ok([
            key(
                1,
                [
                    &self.access_key_1_active,
                    &self.access_key_1_last_rotated,
                    &self.access_key_1_last_used_date,
                ],
            )?,
            key(
                2,
                [
                    &self.access_key_2_active,
                    &self.access_key_2_last_rotated,
                    &self.access_key_2_last_used_date,
                ],
            )?,
        ])
    }

    fn user(self) -> Result<ReportUser> {
        Ok(ReportUser {
            created: ReportTime::parse("user_creation_time", &self.user_creation_time)?,
            password_enabled: flag("password_enabled", &self.password_enabled)?,
            password_last_used: ReportTime::parse("password_last_used", &self.password_last_used)?,
            password_last_changed: ReportTime::parse(
                "password_last_changed",
                &self.password_last_changed,
            )?,
            mfa_active: flag("mfa_active", &self.mfa_active)?,
            keys: self.keys()?,
            user: self.user,
            arn: self.arn,
        })
    }
}

/// The user a malformed row is about: the fields before the first one that starts an ARN,
/// joined again (IAM user names may hold `,`, which the report does not quote).
fn user_of_bad_row(record: &csv::StringRecord) -> Option<String> {
    let arn_at = record.iter().position(|field| field.starts_with("arn:"))?;
    let name = record.iter().take(arn_at).collect::<Vec<_>>().join(",");
    (arn_at > 0 && crate::principal::is_valid_name(&name) && name != ROOT_ACCOUNT).then_some(name)
}

/// Parses the report's CSV. A row that cannot be read is set aside (see [`UnreadableRow`]);
/// a report without the columns the functions need is an error.
pub fn parse(csv_text: &[u8]) -> Result<CredentialReport> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(csv_text);
    let headers = reader
        .headers()
        .map_err(|e| Error::CredentialReport(format!("unreadable header: {e}")))?
        .clone();
    for column in ["user", "arn", "mfa_active", "access_key_2_last_used_date"] {
        if !headers.iter().any(|h| h == column) {
            return Err(Error::CredentialReport(format!(
                "the report has no {column} column"
            )));
        }
    }
    let mut report = CredentialReport::default();
    for record in reader.records() {
        let record = record.map_err(|e| Error::CredentialReport(format!("unreadable CSV: {e}")))?;
        let line = record.position().map_or(0, csv::Position::line);
        let read = if record.len() == headers.len() {
            record
                .deserialize::<Row>(Some(&headers))
                .map_err(|e| Error::CredentialReport(e.to_string()))
        } else {
            Err(Error::CredentialReport(format!(
                "{} fields where the header has {}",
                record.len(),
                headers.len()
            )))
        };
        let parsed = read.and_then(|row| {
            if row.user == ROOT_ACCOUNT {
                Ok(Err(RootUser {
                    mfa_active: flag("mfa_active", &row.mfa_active)?,
                    keys: row.keys()?,
                }))
            } else {
                row.user().map(Ok)
            }
        });
        match parsed {
            Ok(Ok(user)) => report.users.push(user),
            Ok(Err(root)) => report.root = Some(root),
            Err(error) => report.unreadable.push(UnreadableRow {
                line,
                user: user_of_bad_row(&record),
                error: error.to_string(),
            }),
        }
    }
    Ok(report)
}

/// A user a credential-report sweep reads live, with its tags when the sweep has them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub user: String,
    pub tags: Option<Tags>,
}

/// A sweep of the users in the credential report: the report and every user's tags (one
/// `GetAccountAuthorizationDetails` page per 1,000 users) are read together, and the users
/// `is_candidate` picks from them, or whose warning from `function` is due by `until`, are the
/// leads. A row that could not be read never stops the sweep: its user, when the row still
/// names one, is read live instead, and a note says so. Returns the leads and the root user's
/// row.
pub async fn sweep(
    iam: &Client,
    function: &str,
    warn_days: u32,
    window: Window,
    is_candidate: impl Fn(&ReportUser, &Tags) -> bool,
) -> Result<(Survey<Candidate>, Option<RootUser>)> {
    let until = window.until;
    let (report, all_tags) = futures::join!(fetch(iam), tags::all_user_tags(iam));
    let (report, mut all_tags) = (report?, all_tags?);
    let mut survey = Survey {
        leads: Vec::new(),
        examined: report.users.len() + report.unreadable.len(),
        notes: Vec::new(),
    };
    for row in &report.users {
        let tags = all_tags
            .remove(&row.user.to_ascii_lowercase())
            .unwrap_or_default();
        if is_candidate(row, &tags) || warning_due(&tags, function, warn_days, until) {
            survey.leads.push(Candidate {
                user: row.user.clone(),
                tags: Some(tags),
            });
        }
    }
    for bad in report.unreadable {
        let Some(user) = bad.user else {
            survey.notes.push(format!(
                "credential report line {} could not be read ({}), nor the user it is about",
                bad.line, bad.error
            ));
            continue;
        };
        survey.notes.push(format!(
            "credential report line {} could not be read ({}): user {user} was read live",
            bad.line, bad.error
        ));
        survey.leads.push(Candidate {
            tags: all_tags.remove(&user.to_ascii_lowercase()),
            user,
        });
    }
    Ok((survey, report.root))
}

/// Generates the report (or reuses AWS's recent one), waits for it, fetches and parses it.
pub async fn fetch(iam: &Client) -> Result<CredentialReport> {
    let started = tokio::time::Instant::now();
    let mut pause = Duration::from_millis(250);
    loop {
        let state = call(
            "GenerateCredentialReport",
            iam.generate_credential_report().send(),
        )
        .await?
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
    let report = call("GetCredentialReport", iam.get_credential_report().send()).await?;
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
    use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
    use aws_smithy_types::Blob;

    use crate::testing::iam_error;

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
        let parsed = parse(report().as_bytes()).unwrap();
        let root = parsed.root.unwrap();
        assert!(root.mfa_active && !root.keys[0].active && !root.keys[0].exists());
        assert!(parsed.unreadable.is_empty());
        let users = parsed.users;
        assert_eq!(users.len(), 2, "the root row is apart");
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
        assert!(!alice.mfa_active);
    }

    #[test]
    fn a_bad_row_is_set_aside_naming_its_user() {
        // IAM allows `,` in user names and the report does not quote them: that row has two
        // fields too many. An unreadable date is set aside too; the other rows are read.
        let text = format!(
            "{}svc,ci,arn:aws:iam::123456789012:user/svc,ci,2024-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,true,2024-02-01T00:00:00+00:00,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n\
carol,arn:aws:iam::123456789012:user/carol,yesterday,true,N/A,N/A,N/A,false,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n",
            report()
        );
        let parsed = parse(text.as_bytes()).unwrap();
        assert_eq!(parsed.users.len(), 2);
        let bad: Vec<_> = parsed
            .unreadable
            .iter()
            .map(|row| (row.line, row.user.as_deref()))
            .collect();
        assert_eq!(bad, [(5, Some("svc,ci")), (6, Some("carol"))]);
        assert!(
            parsed.unreadable[0].error.contains("24 fields"),
            "{:?}",
            parsed.unreadable
        );
    }

    #[test]
    fn a_report_without_the_columns_is_an_error() {
        assert!(parse(b"user,arn\nalice,arn\n").is_err());
        let flag = parse(format!("{HEADER}\nalice,arn,2024-01-01T00:00:00+00:00,maybe,N/A,N/A,N/A,false,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n").as_bytes()).unwrap();
        assert_eq!(flag.unreadable.len(), 1);
        assert_eq!(
            flag.unreadable[0].user, None,
            "no ARN field: the user is unknown"
        );
    }

    fn generated(state: ReportStateType) -> GenerateCredentialReportOutput {
        GenerateCredentialReportOutput::builder()
            .state(state)
            .build()
    }

    /// `GetCredentialReport` answering with [`report`].
    fn get_report() -> Rule {
        mock!(Client::get_credential_report).then_output(|| {
            GetCredentialReportOutput::builder()
                .content(Blob::new(report()))
                .build()
        })
    }

    #[tokio::test]
    async fn waits_for_generation_then_fetches() {
        let generate = mock!(Client::generate_credential_report)
            .sequence()
            .output(|| generated(ReportStateType::Started))
            .output(|| generated(ReportStateType::Inprogress))
            .output(|| generated(ReportStateType::Complete))
            .build();
        let get = get_report();
        let iam = mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&generate, &get]);
        let report = fetch(&iam).await.unwrap();
        assert_eq!(report.users.len(), 2);
        assert_eq!(generate.num_calls(), 3);
        assert_eq!(get.num_calls(), 1);
    }

    #[tokio::test]
    async fn throttling_is_retried_by_the_sdk() {
        let generate = mock!(Client::generate_credential_report)
            .sequence()
            .http_response(|| iam_error(400, "Throttling"))
            .output(|| generated(ReportStateType::Complete))
            .build();
        let get = get_report();
        let iam = mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&generate, &get], |c| c
            .retry_config(
                aws_smithy_types::retry::RetryConfig::standard().with_max_attempts(3)
            ));
        assert_eq!(fetch(&iam).await.unwrap().users.len(), 2);
        assert_eq!(generate.num_calls(), 2);
    }

    #[tokio::test]
    async fn a_denied_call_is_an_error_naming_the_operation() {
        let denied = || iam_error(403, "AccessDenied");
        let generate = mock!(Client::generate_credential_report).then_http_response(denied);
        let generate_err = fetch(&mock_client!(aws_sdk_iam, [&generate]))
            .await
            .unwrap_err();
        let generated = mock!(Client::generate_credential_report)
            .then_output(|| generated(ReportStateType::Complete));
        let get = mock!(Client::get_credential_report).then_http_response(denied);
        let iam = mock_client!(aws_sdk_iam, RuleMode::MatchAny, [&generated, &get]);
        let get_err = fetch(&iam).await.unwrap_err();
        assert_eq!(
            [generate_err.to_string(), get_err.to_string()],
            [
                "GenerateCredentialReport failed: AccessDenied: injected",
                "GetCredentialReport failed: AccessDenied: injected"
            ]
        );
    }
}
