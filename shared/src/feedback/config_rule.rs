//! Results for AWS Config custom rules: after acting, the function tells Config what it found
//! (PutEvaluations with the invocation's result token), so the rule shows real results.

use aws_sdk_config::types::{ComplianceType, Evaluation};

use crate::error::{Error, Result, change};
use crate::intake::ConfigRuleInvocation;
use crate::report::{Report, Status};

/// The compliance a report amounts to: compliant once fixed or when nothing was wrong;
/// non-compliant when anything was skipped, failed, only warned of, or only planned (a dry run).
pub fn compliance(invocation: &ConfigRuleInvocation, report: &Report) -> ComplianceType {
    if invocation.event_left_scope || invocation.resource.as_ref().is_some_and(|r| r.deleted) {
        return ComplianceType::NotApplicable;
    }
    let unresolved = report.actions.iter().any(|a| a.status != Status::Applied);
    if unresolved || !report.errors.is_empty() {
        ComplianceType::NonCompliant
    } else {
        ComplianceType::Compliant
    }
}

/// Builds the evaluation for the invocation's resource (or the account, for a scheduled rule).
pub fn evaluation(invocation: &ConfigRuleInvocation, report: &Report) -> Result<Evaluation> {
    let (resource_type, resource_id) = match &invocation.resource {
        Some(resource) => (resource.resource_type.clone(), resource.resource_id.clone()),
        None => (
            "AWS::::Account".to_owned(),
            invocation.account_id.clone().ok_or_else(|| {
                Error::InvalidEvent("scheduled Config rule invocation without accountId".into())
            })?,
        ),
    };
    let compliance = compliance(invocation, report);
    let mut annotation = format!(
        "{}: {} applied, {} planned, {} warned, {} skipped, {} failed",
        report.function,
        report.count(Status::Applied),
        report.count(Status::Planned),
        report.count(Status::Warned),
        report.count(Status::Skipped),
        report.count(Status::Failed)
    );
    annotation.truncate(255);
    let ordering = invocation
        .notification_time
        .unwrap_or_else(chrono::Utc::now);
    Evaluation::builder()
        .compliance_resource_type(resource_type)
        .compliance_resource_id(resource_id)
        .compliance_type(compliance)
        .annotation(annotation)
        .ordering_timestamp(aws_sdk_config::primitives::DateTime::from_millis(
            ordering.timestamp_millis(),
        ))
        .build()
        .map_err(|e| Error::Internal(format!("cannot build the Config evaluation: {e}")))
}

/// Sends the evaluation to Config.
pub async fn put_evaluation(
    config: &aws_sdk_config::Client,
    invocation: &ConfigRuleInvocation,
    report: &Report,
) -> Result<()> {
    let request = config
        .put_evaluations()
        .evaluations(evaluation(invocation, report)?)
        .result_token(&invocation.result_token);
    change("PutEvaluations", request.send()).await
}
