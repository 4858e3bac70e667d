//! Findings as triggers: AWS Security Hub (ASFF `Security Hub Findings - Imported` and OCSF
//! `Findings Imported V2`) and IAM Access Analyzer unused-access findings.
//!
//! A finding only says where to look: its resource (a user, an access key's user, the account)
//! becomes the scope, and the function applies its own rule to live state, exactly as for a
//! Config event. Findings a function does not handle (other controls, passed, suppressed,
//! resolved or archived ones) need nothing; they are listed in the report's notes.

use serde::Deserialize;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::principal::{Arn, Principal, is_valid_access_key_id, is_valid_name};

/// The detail-type of Security Hub's ASFF findings.
pub const ASFF_DETAIL_TYPE: &str = "Security Hub Findings - Imported";
/// The detail-type of Security Hub's OCSF findings.
pub const OCSF_DETAIL_TYPE: &str = "Findings Imported V2";
/// The detail-type of IAM Access Analyzer's unused-access findings.
pub const UNUSED_ACCESS_DETAIL_TYPE: &str = "Unused Access Finding for IAM entities";

/// The start of the marker that signs the notes and comments the functions put on findings.
pub const FINDING_AUTHOR_PREFIX: &str = "iam-remediation/";

/// The marker that signs the notes and comments a function puts on findings.
pub fn finding_author(function: &str) -> String {
    format!("{FINDING_AUTHOR_PREFIX}{function}")
}

/// The findings of one Security Hub event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Findings {
    /// Active, failed findings of the function's controls with workflow NEW or NOTIFIED.
    pub handled: Vec<Finding>,
    /// The others, each with why it needs nothing.
    pub ignored: Vec<String>,
}

/// One finding the function handles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The consolidated control ID (`IAM.3`).
    pub control: String,
    /// The account the finding is about (ASFF `AwsAccountId`, OCSF `cloud.account.uid`), when
    /// it names one.
    pub account: Option<String>,
    /// What identifies the finding to `BatchUpdateFindings(V2)`.
    pub format: FindingFormat,
    /// What the finding is about.
    pub resource: FindingResource,
    /// Who noted the finding last, when nothing in it changed since: an update of ours comes
    /// back as a new event (every BatchUpdateFindings does), which must not be acted on again.
    pub noted_by: Option<String>,
}

impl Finding {
    /// A short name for the report and logs.
    pub fn label(&self) -> String {
        let id = match &self.format {
            FindingFormat::Asff { id, .. } => id,
            FindingFormat::Ocsf { metadata_uid, .. } => metadata_uid,
        };
        format!("{} finding {id}", self.control)
    }
}

/// The finding's format, with what identifies it in that format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FindingFormat {
    /// ASFF: `Id` and `ProductArn`.
    Asff { id: String, product_arn: String },
    /// OCSF: `metadata.uid`, and `cloud.account.uid`, `finding_info.uid`,
    /// `metadata.product.uid`; `finding_info.modified_time_dt`, which a comment of ours
    /// repeats (comment-only updates never move it).
    Ocsf {
        metadata_uid: String,
        account_uid: String,
        finding_info_uid: String,
        product_uid: String,
        modified: Option<String>,
    },
}

/// What a finding is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FindingResource {
    /// An IAM user, by name.
    User(String),
    /// An IAM user by its unique ID (`AIDA…`), to be resolved.
    UserId(String),
    /// An access key; its user when the finding names it.
    AccessKey {
        key_id: Option<String>,
        user: Option<String>,
    },
    /// The account (password policy, root user).
    Account,
}

// -- ASFF -------------------------------------------------------------------------------------

#[derive(Deserialize)]
struct AsffDetail {
    findings: Vec<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Asff {
    id: String,
    product_arn: String,
    #[serde(default)]
    aws_account_id: Option<String>,
    #[serde(default)]
    updated_at: Option<String>,
    #[serde(default)]
    last_observed_at: Option<String>,
    #[serde(default)]
    note: Option<AsffNote>,
    #[serde(default)]
    record_state: Option<String>,
    #[serde(default)]
    compliance: Option<AsffCompliance>,
    #[serde(default)]
    workflow: Option<AsffWorkflow>,
    #[serde(default)]
    resources: Vec<AsffResource>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AsffCompliance {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    security_control_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AsffNote {
    #[serde(default)]
    updated_by: Option<String>,
    #[serde(default)]
    updated_at: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AsffWorkflow {
    #[serde(default)]
    status: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AsffResource {
    #[serde(rename = "Type")]
    kind: String,
    id: String,
    #[serde(default)]
    details: Option<Value>,
}

// -- OCSF -------------------------------------------------------------------------------------

#[derive(Deserialize)]
struct Ocsf {
    #[serde(default)]
    class_uid: Option<u64>,
    #[serde(default)]
    activity_id: Option<u64>,
    #[serde(default)]
    comment: Option<String>,
    metadata: OcsfMetadata,
    finding_info: OcsfFindingInfo,
    #[serde(default)]
    cloud: Option<OcsfCloud>,
    #[serde(default)]
    compliance: Option<OcsfCompliance>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    status_id: Option<u64>,
    #[serde(default)]
    resources: Vec<OcsfResource>,
}

#[derive(Deserialize)]
struct OcsfMetadata {
    uid: String,
    product: OcsfProduct,
}

#[derive(Deserialize)]
struct OcsfProduct {
    uid: String,
}

#[derive(Deserialize)]
struct OcsfFindingInfo {
    uid: String,
    #[serde(default)]
    modified_time_dt: Option<String>,
}

#[derive(Deserialize)]
struct OcsfCloud {
    account: Option<OcsfAccount>,
}

#[derive(Deserialize)]
struct OcsfAccount {
    uid: String,
}

#[derive(Deserialize, Default)]
struct OcsfCompliance {
    #[serde(default)]
    control: Option<String>,
    #[serde(default)]
    status: Option<String>,
}

#[derive(Deserialize)]
struct OcsfResource {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    uid: Option<String>,
    #[serde(default)]
    uid_alt: Option<String>,
}

/// OCSF `status_id`s of findings that may need something: New, In Progress (Security Hub's
/// equivalents of NEW and NOTIFIED). Suppressed (3), Resolved (4) and Archived (5) need nothing.
const OCSF_OPEN: [u64; 2] = [1, 2];
/// OCSF `activity_id` of a closed (archived) finding: "Security Hub considers findings with
/// activity_name != Close as active findings" (Security Hub User Guide, OCSF findings).
const OCSF_CLOSE: u64 = 3;

pub(super) fn parse_securityhub(
    detail_type: &str,
    detail: Value,
    controls: &[&str],
    account: &str,
) -> Result<Findings> {
    let detail: AsffDetail = serde_json::from_value(detail)
        .map_err(|e| Error::InvalidEvent(format!("{detail_type}: unreadable detail: {e}")))?;
    if detail.findings.is_empty() {
        return Err(Error::InvalidEvent(format!(
            "{detail_type}: the event holds no finding"
        )));
    }
    let mut findings = Findings {
        handled: Vec::new(),
        ignored: Vec::new(),
    };
    for (index, raw) in detail.findings.into_iter().enumerate() {
        let read = if detail_type == ASFF_DETAIL_TYPE {
            asff(raw, controls, account)
        } else {
            ocsf(raw, controls, account)
        };
        match read
            .map_err(|e| Error::InvalidEvent(format!("{detail_type}: finding {index}: {e}")))?
        {
            Ok(finding) => findings.handled.push(finding),
            Err(why) => findings.ignored.push(why),
        }
    }
    Ok(findings)
}

/// `Ok(Ok(finding))` when handled, `Ok(Err(why))` when it needs nothing, `Err` when malformed.
type Read = std::result::Result<std::result::Result<Finding, String>, String>;

/// `Some(why)` when a finding is about an account other than the one whose bus delivered it
/// (`account` is empty in organisation mode, where every account is this function's).
fn other_account(label: &str, about: Option<&str>, account: &str) -> Option<String> {
    about
        .filter(|about| !account.is_empty() && about != &account)
        .map(|about| format!("{label}: about account {about}, not this one ({account})"))
}

fn asff(raw: Value, controls: &[&str], account: &str) -> Read {
    let finding: Asff = serde_json::from_value(raw).map_err(|e| format!("unreadable: {e}"))?;
    let compliance = finding.compliance.unwrap_or_default();
    let control = compliance.security_control_id.unwrap_or_default();
    let label = format!("{} finding {}", or_none(&control), finding.id);
    if !controls.contains(&control.as_str()) {
        return Ok(Err(format!("{label}: control not handled here")));
    }
    if let Some(why) = other_account(&label, finding.aws_account_id.as_deref(), account) {
        return Ok(Err(why));
    }
    let record_state = finding.record_state.as_deref().unwrap_or("ACTIVE");
    let compliance = compliance.status.unwrap_or_default();
    let workflow = finding
        .workflow
        .and_then(|w| w.status)
        .unwrap_or_else(|| "NEW".to_owned());
    if record_state != "ACTIVE" {
        return Ok(Err(format!("{label}: record state {record_state}")));
    }
    if compliance != "FAILED" {
        return Ok(Err(format!("{label}: compliance {}", or_none(&compliance))));
    }
    if !matches!(workflow.as_str(), "NEW" | "NOTIFIED") {
        return Ok(Err(format!("{label}: workflow {workflow}")));
    }
    let resource = first_resource(&finding.resources, asff_resource, |r| r.kind.as_str())?;
    // "Updates from BatchUpdateFindings do not affect the value of UpdatedAt" (Security Hub API
    // Reference), nor LastObservedAt, while a new evaluation by Security Hub moves them past the
    // note's UpdatedAt (ProcessedAt moves on both, so it tells nothing). A note at or after the
    // later of the two is the last word on the finding as it stands: the event is its echo.
    let evaluated = [&finding.updated_at, &finding.last_observed_at]
        .into_iter()
        .flatten()
        .map(|at| timestamp(at))
        .max();
    let noted_by = finding.note.and_then(|note| {
        let current = match (note.updated_at.as_deref(), evaluated) {
            (Some(noted), Some(evaluated)) => timestamp(noted) >= evaluated,
            (_, None) => true,
            (None, Some(_)) => false,
        };
        note.updated_by.filter(|_| current)
    });
    Ok(Ok(Finding {
        control,
        account: finding.aws_account_id,
        format: FindingFormat::Asff {
            id: finding.id,
            product_arn: finding.product_arn,
        },
        resource,
        noted_by,
    }))
}

/// The first of a finding's resources that is of a kind the functions act on (`read` says what
/// it is, `None` for another kind), or why there is none, naming the first one's type (`kind`).
fn first_resource<R>(
    resources: &[R],
    read: impl Fn(&R) -> Option<std::result::Result<FindingResource, String>>,
    kind: impl Fn(&R) -> &str,
) -> std::result::Result<FindingResource, String> {
    resources
        .iter()
        .find_map(read)
        .transpose()?
        .ok_or_else(|| match resources.first() {
            None => "it names no resource".to_owned(),
            Some(other) => format!(
                "resource type {} is not an IAM user, access key or account",
                kind(other)
            ),
        })
}

/// The resource a finding is about, when it is of a kind the functions act on.
fn asff_resource(resource: &AsffResource) -> Option<std::result::Result<FindingResource, String>> {
    let detail = |kind: &str, field: &str| {
        resource
            .details
            .as_ref()
            .and_then(|d| d.get(kind)?.get(field)?.as_str())
            .map(str::to_owned)
    };
    Some(match resource.kind.as_str() {
        "AwsIamUser" => user_resource(&resource.id, detail("AwsIamUser", "UserName")),
        "AwsIamAccessKey" => {
            let user = detail("AwsIamAccessKey", "PrincipalName")
                .or_else(|| detail("AwsIamAccessKey", "UserName"));
            let key_id = resource
                .id
                .rsplit([':', '/'])
                .next()
                .filter(|id| is_valid_access_key_id(id))
                .map(str::to_owned);
            access_key_resource(key_id, user, &resource.id)
        }
        "AwsAccount" => Ok(FindingResource::Account),
        _ => return None,
    })
}

fn ocsf(raw: Value, controls: &[&str], account: &str) -> Read {
    let finding: Ocsf = serde_json::from_value(raw).map_err(|e| format!("unreadable: {e}"))?;
    let compliance = finding.compliance.unwrap_or_default();
    let control = compliance.control.unwrap_or_default();
    let label = format!("{} finding {}", or_none(&control), finding.metadata.uid);
    if finding.class_uid.is_some_and(|class| class != 2003) {
        return Ok(Err(format!("{label}: not a compliance finding")));
    }
    if !controls.contains(&control.as_str()) {
        return Ok(Err(format!("{label}: control not handled here")));
    }
    let compliance = compliance.status.unwrap_or_default();
    if !compliance.eq_ignore_ascii_case("fail") {
        return Ok(Err(format!("{label}: compliance {}", or_none(&compliance))));
    }
    if finding.activity_id == Some(OCSF_CLOSE) {
        return Ok(Err(format!("{label}: closed")));
    }
    if let Some(status_id) = finding.status_id.filter(|id| !OCSF_OPEN.contains(id)) {
        let status = finding.status.unwrap_or_else(|| status_id.to_string());
        return Ok(Err(format!("{label}: status {status}")));
    }
    let account_uid = finding
        .cloud
        .and_then(|c| c.account)
        .map(|a| a.uid)
        .ok_or("it names no cloud.account.uid")?;
    if let Some(why) = other_account(&label, Some(&account_uid), account) {
        return Ok(Err(why));
    }
    let resource = first_resource(&finding.resources, ocsf_resource, |r| {
        or_none(r.kind.as_deref().unwrap_or_default())
    })?;
    // A comment of ours names its author and the modification time it saw; comment-only
    // updates never move that time, so a comment that repeats it is the last word.
    let modified = finding.finding_info.modified_time_dt;
    let noted_by = finding.comment.as_deref().and_then(|comment| {
        let (author, rest) = comment.split_once(' ')?;
        let current = modified.as_deref().is_none_or(|m| rest.contains(m));
        current.then(|| author.to_owned())
    });
    Ok(Ok(Finding {
        control,
        account: Some(account_uid.clone()),
        format: FindingFormat::Ocsf {
            metadata_uid: finding.metadata.uid,
            account_uid,
            finding_info_uid: finding.finding_info.uid,
            product_uid: finding.metadata.product.uid,
            modified,
        },
        resource,
        noted_by,
    }))
}

fn ocsf_resource(resource: &OcsfResource) -> Option<std::result::Result<FindingResource, String>> {
    let ids = [resource.uid.as_deref(), resource.uid_alt.as_deref()];
    let arn = ids.into_iter().flatten().find(|id| id.starts_with("arn:"));
    let other = ids.into_iter().flatten().find(|id| !id.starts_with("arn:"));
    Some(match resource.kind.as_deref()? {
        "AWS::IAM::User" | "AwsIamUser" => match (arn, other) {
            (Some(arn), _) => user_resource(arn, None),
            (None, Some(id)) if id.starts_with("AIDA") && id.len() >= 16 => {
                Ok(FindingResource::UserId(id.to_owned()))
            }
            (None, Some(name)) => user_resource(name, None),
            (None, None) => Err("an AWS::IAM::User resource without uid".to_owned()),
        },
        "AWS::IAM::AccessKey" | "AwsIamAccessKey" => {
            let key_id = ids
                .into_iter()
                .flatten()
                .filter_map(|id| id.rsplit([':', '/']).next())
                .find(|id| is_valid_access_key_id(id))
                .map(str::to_owned);
            access_key_resource(key_id, None, other.or(arn).unwrap_or_default())
        }
        "AWS::::Account" | "AwsAccount" => Ok(FindingResource::Account),
        _ => return None,
    })
}

/// A user from an ARN or a name (a finding's `UserName` detail wins over nothing).
fn user_resource(id: &str, name: Option<String>) -> std::result::Result<FindingResource, String> {
    if id.starts_with("arn:") {
        return match Arn::parse(id).and_then(|arn| arn.principal()) {
            Some(Principal {
                kind: crate::principal::PrincipalKind::User,
                name,
            }) => Ok(FindingResource::User(name)),
            _ => Err(format!("{id} is not an IAM user ARN")),
        };
    }
    let name = name.unwrap_or_else(|| id.to_owned());
    if name.starts_with("AIDA")
        && name.len() >= 16
        && name.chars().all(|c| c.is_ascii_alphanumeric())
    {
        return Ok(FindingResource::UserId(name));
    }
    if is_valid_name(&name) {
        Ok(FindingResource::User(name))
    } else {
        Err(format!("{name:?} is not an IAM user name"))
    }
}

fn access_key_resource(
    key_id: Option<String>,
    user: Option<String>,
    id: &str,
) -> std::result::Result<FindingResource, String> {
    if let Some(user) = &user
        && !is_valid_name(user)
    {
        return Err(format!("{user:?} is not an IAM user name"));
    }
    if key_id.is_none() && user.is_none() {
        return Err(format!(
            "access key resource {id:?} names neither its key nor its user"
        ));
    }
    Ok(FindingResource::AccessKey { key_id, user })
}

/// An RFC 3339 time for comparison (a time that does not parse compares as the earliest).
fn timestamp(value: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(value)
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc))
}

fn or_none(value: &str) -> &str {
    if value.is_empty() { "(none)" } else { value }
}

// -- IAM Access Analyzer ----------------------------------------------------------------------

/// An IAM Access Analyzer unused-access event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnusedAccess {
    /// An active finding of a type the function handles, about this user.
    Finding(UnusedAccessFinding),
    /// Another type or status: needs nothing, and why.
    Ignored(String),
}

/// An active unused-access finding the function handles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnusedAccessFinding {
    pub id: String,
    /// The account the finding is about (`accountId`), when it names one.
    pub account: Option<String>,
    pub finding_type: String,
    pub user: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UnusedAccessDetail {
    #[serde(default)]
    finding_id: String,
    #[serde(default)]
    account_id: Option<String>,
    #[serde(default)]
    is_deleted: bool,
    finding_type: String,
    status: String,
    #[serde(default)]
    resource: Option<String>,
    #[serde(default)]
    resource_type: Option<String>,
}

pub(super) fn parse_unused_access(
    detail: Value,
    handled: &[&str],
    account: &str,
) -> Result<UnusedAccess> {
    let detail: UnusedAccessDetail = serde_json::from_value(detail).map_err(|e| {
        Error::InvalidEvent(format!(
            "{UNUSED_ACCESS_DETAIL_TYPE}: unreadable detail: {e}"
        ))
    })?;
    let label = format!(
        "{} finding {}",
        detail.finding_type,
        or_none(&detail.finding_id)
    );
    if !handled.contains(&detail.finding_type.as_str()) {
        return Ok(UnusedAccess::Ignored(format!(
            "{label}: type not handled here"
        )));
    }
    if let Some(why) = other_account(&label, detail.account_id.as_deref(), account) {
        return Ok(UnusedAccess::Ignored(why));
    }
    // A deleted finding keeps its last status (ACTIVE): it needs nothing.
    if detail.is_deleted {
        return Ok(UnusedAccess::Ignored(format!("{label}: deleted")));
    }
    if detail.status != "ACTIVE" {
        return Ok(UnusedAccess::Ignored(format!(
            "{label}: status {}",
            detail.status
        )));
    }
    let resource = detail.resource.unwrap_or_default();
    if let Some(kind) = detail.resource_type.as_deref()
        && kind != "AWS::IAM::User"
    {
        return Err(Error::InvalidEvent(format!(
            "{label}: resource type {kind} is not an IAM user"
        )));
    }
    match user_resource(&resource, None) {
        Ok(FindingResource::User(user)) if resource.starts_with("arn:") => {
            Ok(UnusedAccess::Finding(UnusedAccessFinding {
                id: detail.finding_id,
                account: detail.account_id,
                finding_type: detail.finding_type,
                user,
            }))
        }
        _ => Err(Error::InvalidEvent(format!(
            "{label}: resource {resource:?} is not an IAM user ARN"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// An IAM.8 finding noted by console-passwords at 10:05, with these provider times.
    fn noted(updated_at: &str, last_observed_at: &str) -> Option<String> {
        let detail = json!({"findings": [{
            "Id": "f", "ProductArn": "p", "AwsAccountId": "123456789012",
            "UpdatedAt": updated_at, "LastObservedAt": last_observed_at,
            "ProcessedAt": "2026-11-22T10:06:00Z",
            "Compliance": {"Status": "FAILED", "SecurityControlId": "IAM.8"},
            "Workflow": {"Status": "NOTIFIED"}, "RecordState": "ACTIVE",
            "Note": {"Text": "…", "UpdatedBy": "iam-remediation/console-passwords",
                     "UpdatedAt": "2026-11-22T10:05:00Z"},
            "Resources": [{"Type": "AwsIamUser", "Id": "arn:aws:iam::123456789012:user/alice"}]
        }]});
        let findings =
            parse_securityhub(ASFF_DETAIL_TYPE, detail, &["IAM.8"], "123456789012").unwrap();
        findings.handled[0].noted_by.clone()
    }

    /// BatchUpdateFindings moves neither UpdatedAt nor LastObservedAt; Security Hub's next
    /// evaluation moves them past the note: then the note is no longer the last word.
    #[test]
    fn a_note_newer_than_the_last_evaluation_is_an_echo_and_a_recheck_is_not() {
        let before = "2026-11-22T10:04:00Z";
        let after = "2026-11-22T10:07:00Z";
        assert_eq!(
            noted(before, before).as_deref(),
            Some("iam-remediation/console-passwords")
        );
        assert_eq!(noted(after, after), None);
        assert_eq!(noted(after, before), None);
        assert_eq!(noted(before, after), None);
    }
}
