//! Security Hub findings, updated after acting on them: `RESOLVED` (OCSF `StatusId` 4) when the
//! finding's subject was fixed or nothing is wrong any more, `NOTIFIED` (OCSF: status left as
//! it is) when anything was skipped, failed, warned or only planned, each with a note saying what
//! was done and by which function. Updating a finding never blocks or undoes a change: it runs
//! after them, and a failure is an error of the run.
//!
//! Security Hub does not reopen a `RESOLVED` finding whose control keeps failing, so a finding is
//! resolved only when live state re-read after the run meets the control's own criterion
//! ([`Remediation::control`]), not merely the function's configured rule; otherwise the note
//! says why it still fails and what the function will do about it, and when.

use std::fmt::Write as _;

use aws_sdk_securityhub::Client;
use aws_sdk_securityhub::types::{
    AwsSecurityFindingIdentifier, BatchUpdateFindingsUnprocessedFinding,
    BatchUpdateFindingsV2UnprocessedFinding, NoteUpdate, OcsfFindingIdentifier, WorkflowStatus,
    WorkflowUpdate,
};

use crate::contract::ControlState;
use crate::error::{Error, Result, call};
use crate::intake::{Finding, FindingFormat, finding_author};
use crate::principal::Subject;
use crate::report::{Report, Status};

/// The most a note (ASFF `Note.Text`) or comment (OCSF `Comment`) may hold.
pub const MAX_NOTE: usize = 512;

/// OCSF `StatusId` of a resolved finding.
const OCSF_RESOLVED: i32 = 4;

/// The updates of ASFF findings and of OCSF findings.
const BATCH_UPDATE: &str = "BatchUpdateFindings";
const BATCH_UPDATE_V2: &str = "BatchUpdateFindingsV2";

/// What a finding's update says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    pub resolved: bool,
    pub note: String,
}

/// The update of one finding about `subject`, from the report and the control's state on live
/// state after the run (`verdict`). `shared` controls are never resolved by one function alone.
pub fn update_for(
    finding: &Finding,
    subject: &Subject,
    report: &Report,
    shared: &[&str],
    verdict: Option<&ControlState>,
) -> Update {
    let actions: Vec<_> = report.about(subject).collect();
    let settled = actions.iter().all(|a| a.status == Status::Applied);
    let is_shared = shared.contains(&finding.control.as_str());
    let failing = match verdict {
        Some(ControlState::Fails(why)) => Some(why),
        Some(ControlState::Passes) | None => None,
    };
    let resolved =
        settled && report.errors.is_empty() && !report.dry_run && !is_shared && failing.is_none();
    let mut note = format!("{} on {subject}: ", report.function);
    if actions.is_empty() && failing.is_some() {
        note.push_str("nothing due under its configuration now");
    } else if actions.is_empty() {
        note.push_str("nothing wrong found on live state");
    } else {
        let lines: Vec<String> = actions
            .iter()
            .map(|a| {
                format!(
                    "{} {} {} ({})",
                    a.action,
                    a.target,
                    a.status.as_str(),
                    a.reason
                )
            })
            .collect();
        note.push_str(&lines.join("; "));
    }
    if let Some(why) = failing {
        let _ = write!(note, "; {} still fails: {why}", finding.control);
    }
    if !report.errors.is_empty() {
        let _ = write!(note, "; run errors: {}", report.errors.join("; "));
    }
    if is_shared && settled && report.errors.is_empty() && failing.is_none() {
        let _ = write!(
            note,
            "; {} covers only part of {}: Security Hub resolves it when its check passes",
            report.function, finding.control
        );
    }
    Update {
        resolved,
        note: truncate(&note, MAX_NOTE),
    }
}

/// Cuts `text` to at most `max` characters, ending with `…` when cut.
fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max - 1).collect();
    cut.push('…');
    cut
}

/// Updates each handled finding, with its control's state after the run (`verdicts`, in the
/// order of `findings`, from [`judge`]).
pub async fn update(
    securityhub: &Client,
    findings: &[(Finding, Subject)],
    verdicts: &[Option<ControlState>],
    report: &Report,
    shared: &[&str],
) -> Result<()> {
    let author = finding_author(report.function);
    let mut failures = Vec::new();
    for (index, (finding, subject)) in findings.iter().enumerate() {
        let verdict = verdicts.get(index).and_then(Option::as_ref);
        let update = update_for(finding, subject, report, shared, verdict);
        let result = match &finding.format {
            FindingFormat::Asff { id, product_arn } => {
                asff(securityhub, id, product_arn, &update, &author).await
            }
            FindingFormat::Ocsf {
                account_uid,
                finding_info_uid,
                product_uid,
                modified,
                ..
            } => {
                let identifier = OcsfFindingIdentifier::builder()
                    .cloud_account_uid(account_uid)
                    .finding_info_uid(finding_info_uid)
                    .metadata_product_uid(product_uid)
                    .build();
                // The comment names its author and the modification time it answers, so that
                // the event this update itself raises is recognised and left alone.
                let prefix = format!(
                    "{author} (finding modified {}): ",
                    modified.as_deref().unwrap_or("-")
                );
                let comment = format!(
                    "{prefix}{}",
                    truncate(&update.note, MAX_NOTE - prefix.chars().count())
                );
                ocsf(securityhub, identifier, update.resolved, comment).await
            }
        };
        if let Err(error) = result {
            failures.push(format!("{}: {error}", finding.label()));
        }
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(Error::Aws {
            operation: BATCH_UPDATE,
            code: "FindingNotUpdated".into(),
            message: failures.join("; "),
        })
    }
}

async fn asff(
    securityhub: &Client,
    id: &str,
    product_arn: &str,
    update: &Update,
    author: &str,
) -> Result<()> {
    let status = if update.resolved {
        WorkflowStatus::Resolved
    } else {
        WorkflowStatus::Notified
    };
    let request = securityhub
        .batch_update_findings()
        .finding_identifiers(
            AwsSecurityFindingIdentifier::builder()
                .id(id)
                .product_arn(product_arn)
                .build(),
        )
        .workflow(WorkflowUpdate::builder().status(status).build())
        .note(
            NoteUpdate::builder()
                .text(&update.note)
                .updated_by(author)
                .build(),
        );
    let output = call(BATCH_UPDATE, request.send()).await?;
    processed(BATCH_UPDATE, output.unprocessed_findings)
}

async fn ocsf(
    securityhub: &Client,
    identifier: OcsfFindingIdentifier,
    resolved: bool,
    comment: String,
) -> Result<()> {
    let request = securityhub
        .batch_update_findings_v2()
        .finding_identifiers(identifier)
        .comment(comment)
        .set_status_id(resolved.then_some(OCSF_RESOLVED));
    let output = call(BATCH_UPDATE_V2, request.send()).await?;
    processed(BATCH_UPDATE_V2, output.unprocessed_findings)
}

/// `Ok` when an update left no finding unprocessed; else the first one's error code and message
/// as the error of `operation`.
fn processed(operation: &'static str, unprocessed: Option<Vec<impl Unprocessed>>) -> Result<()> {
    match unprocessed
        .unwrap_or_default()
        .first()
        .map(Unprocessed::error)
    {
        None => Ok(()),
        Some((code, message)) => Err(Error::Aws {
            operation,
            code: code.unwrap_or_default().to_owned(),
            message: message.unwrap_or_default().to_owned(),
        }),
    }
}

/// A finding an update left unprocessed, in either format.
trait Unprocessed {
    /// Why, as Security Hub said: the error code and message.
    fn error(&self) -> (Option<&str>, Option<&str>);
}

impl Unprocessed for BatchUpdateFindingsUnprocessedFinding {
    fn error(&self) -> (Option<&str>, Option<&str>) {
        (self.error_code.as_deref(), self.error_message.as_deref())
    }
}

impl Unprocessed for BatchUpdateFindingsV2UnprocessedFinding {
    fn error(&self) -> (Option<&str>, Option<&str>) {
        let code = self.error_code.as_ref().map(AsRef::as_ref);
        (code, self.error_message.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intake::{FindingResource, TriggerKind};
    use crate::principal::Principal;
    use crate::report::ActionRecord;

    fn finding(control: &str) -> Finding {
        Finding {
            account: None,
            control: control.into(),
            format: FindingFormat::Asff {
                id: "f".into(),
                product_arn: "p".into(),
            },
            resource: FindingResource::User("alice".into()),
            noted_by: None,
        }
    }

    fn report(statuses: &[Status], dry_run: bool) -> Report {
        let mut report = Report::new("access-keys", TriggerKind::Securityhub, dry_run);
        for status in statuses {
            report.actions.push(ActionRecord {
                account: "123456789012".into(),
                principal_type: "user",
                principal: "alice".into(),
                action: "deactivate-access-key",
                target: "AKIA1".into(),
                reason: "created 100 days ago (limit 90)".into(),
                status: *status,
                details: None,
                error: None,
                subject: Principal::user("alice").into(),
            });
        }
        report
    }

    #[test]
    fn resolved_only_when_everything_was_applied_for_real() {
        let alice: Subject = Principal::user("alice").into();
        let shared = ["IAM.8"];
        for (statuses, dry_run, control, errors, resolved) in [
            (vec![Status::Applied], false, "IAM.3", false, true),
            (vec![], false, "IAM.3", false, true),
            (
                vec![Status::Applied, Status::Skipped],
                false,
                "IAM.3",
                false,
                false,
            ),
            (vec![Status::Warned], false, "IAM.3", false, false),
            (vec![Status::Failed], false, "IAM.3", false, false),
            (vec![Status::Planned], true, "IAM.3", false, false),
            (vec![], true, "IAM.3", false, false),
            (vec![Status::Applied], false, "IAM.3", true, false),
            (vec![Status::Applied], false, "IAM.8", false, false),
        ] {
            let mut report = report(&statuses, dry_run);
            if errors {
                report.errors.push("boom".into());
            }
            let update = update_for(&finding(control), &alice, &report, &shared, None);
            assert_eq!(
                update.resolved, resolved,
                "{statuses:?} {dry_run} {control} {errors}"
            );
            assert!(
                update.note.starts_with("access-keys on user alice: "),
                "{}",
                update.note
            );
        }
        let note = update_for(
            &finding("IAM.8"),
            &alice,
            &report(&[Status::Applied], false),
            &shared,
            None,
        )
        .note;
        assert!(
            note.contains("Security Hub resolves it when its check passes"),
            "{note}"
        );
        let note = update_for(
            &finding("IAM.3"),
            &alice,
            &report(&[], false),
            &shared,
            Some(&ControlState::Passes),
        )
        .note;
        assert!(
            note.ends_with("nothing wrong found on live state"),
            "{note}"
        );
    }

    /// Security Hub does not reopen a RESOLVED finding: one whose control still fails on live
    /// state stays NOTIFIED, whatever the run did, and the note says why.
    #[test]
    fn resolved_only_when_the_control_passes_on_live_state() {
        let alice: Subject = Principal::user("alice").into();
        let fails = ControlState::Fails("AKIA1 is 120 days old (IAM.3: 90)".into());
        for (statuses, verdict, resolved) in [
            (vec![Status::Applied], Some(ControlState::Passes), true),
            (vec![], Some(ControlState::Passes), true),
            (vec![Status::Applied], None, true),
            (vec![Status::Applied], Some(fails.clone()), false),
            (vec![], Some(fails.clone()), false),
        ] {
            let update = update_for(
                &finding("IAM.3"),
                &alice,
                &report(&statuses, false),
                &[],
                verdict.as_ref(),
            );
            assert_eq!(update.resolved, resolved, "{statuses:?} {verdict:?}");
            if verdict == Some(fails.clone()) {
                assert!(
                    update
                        .note
                        .contains("IAM.3 still fails: AKIA1 is 120 days old"),
                    "{}",
                    update.note
                );
                assert!(!update.note.contains("nothing wrong"), "{}", update.note);
            }
        }
        // A shared control's note says its part still fails, never that Security Hub will
        // resolve it.
        let note = update_for(
            &finding("IAM.8"),
            &alice,
            &report(&[Status::Applied], false),
            &["IAM.8"],
            Some(&fails),
        )
        .note;
        assert!(note.contains("IAM.8 still fails"), "{note}");
        assert!(!note.contains("Security Hub resolves it"), "{note}");
    }

    #[test]
    fn notes_fit_in_512_characters() {
        let alice: Subject = Principal::user("alice").into();
        let mut long = report(&[Status::Skipped; 20], false);
        long.errors.push("x".repeat(600));
        let note = update_for(&finding("IAM.3"), &alice, &long, &[], None).note;
        assert_eq!(note.chars().count(), MAX_NOTE);
        assert!(note.ends_with('…'));
    }
}
