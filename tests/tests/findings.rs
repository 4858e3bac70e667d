//! Security Hub and IAM Access Analyzer findings as triggers (DESIGN.md inputs 7 and 8), against
//! moto with the findings imported into its Security Hub. The same table runs over the three
//! functions that take findings: the finding says where to look, the function's own rule
//! decides on live state, and the finding is updated afterwards.

#![allow(clippy::unwrap_used, reason = "a test fails loudly")]

use iam_remediation::{Remediation, Report, Result, Status};
use integration_tests::{
    EXEMPT, Moto, enable_mfa, has_password, invoke, key_statuses, minimum_password_length,
    sample_event, set_minimum_password_length, snapshot, tag_user, user_with_key,
    user_with_password, with, with_finding,
};
use serde_json::{Value, json};

/// A function that takes findings, with what its findings are about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Function {
    AccessKeys,
    ConsolePasswords,
    PasswordPolicy,
}

use Function::{AccessKeys, ConsolePasswords, PasswordPolicy};

/// Settings: console-passwords' IAM.5 needs its MFA rule on.
const MFA_RULE: (&str, &str) = ("MFA_GRACE_DAYS", "7");

impl Function {
    fn name(self) -> &'static str {
        match self {
            AccessKeys => access_keys::AccessKeys::NAME,
            ConsolePasswords => console_passwords::ConsolePasswords::NAME,
            PasswordPolicy => password_policy::PasswordPolicies::NAME,
        }
    }

    /// The ASFF sample event of a control this function resolves on its own.
    fn asff_event(self) -> Value {
        let file = match self {
            AccessKeys => "securityhub-iam3-user",
            ConsolePasswords => "securityhub-iam5-user",
            PasswordPolicy => "securityhub-iam7-account",
        };
        sample_event(self.name(), file)
    }

    /// One invocation, with the MFA rule on and these further variables.
    async fn invoke(self, moto: &Moto, extra: &[(&str, &str)], event: Value) -> Result<Report> {
        let mut pairs = vec![MFA_RULE];
        pairs.extend_from_slice(extra);
        match self {
            AccessKeys => invoke(&moto.access_keys(&pairs), event).await,
            ConsolePasswords => invoke(&moto.console_passwords(&pairs), event).await,
            PasswordPolicy => invoke(&moto.password_policy(&pairs), event).await,
        }
    }

    /// Gives `user` (or the account) what the function's control fails on (`fine`: passes on).
    async fn seed(self, moto: &Moto, user: &str, fine: bool) {
        let iam = moto.iam();
        match self {
            AccessKeys => {
                let (age, last_used) = if fine { (10, 0) } else { (200, 1) };
                user_with_key(moto, user, age, Some(last_used)).await;
            }
            ConsolePasswords => {
                user_with_password(moto, user, 30, None).await;
                if fine {
                    enable_mfa(&iam, user).await;
                }
            }
            PasswordPolicy if fine => {
                invoke(&moto.password_policy(&[]), json!({})).await.unwrap();
            }
            PasswordPolicy => set_minimum_password_length(&iam, 8).await,
        }
    }

    /// Gives `user` (or the account) what the function's control fails on.
    async fn seed_offender(self, moto: &Moto, user: &str) {
        self.seed(moto, user, false).await;
    }

    /// True when `user` (or the account) no longer fails the control.
    async fn fixed(self, moto: &Moto, user: &str) -> bool {
        let iam = moto.iam();
        match self {
            AccessKeys => key_statuses(&iam, user)
                .await
                .values()
                .all(|status| status == "Inactive"),
            ConsolePasswords => !has_password(&iam, user).await,
            PasswordPolicy => minimum_password_length(&iam).await == Some(14),
        }
    }

    /// Whether the finding is about a user (not the account).
    fn about_a_user(self) -> bool {
        self != PasswordPolicy
    }
}

const FUNCTIONS: [Function; 3] = [AccessKeys, ConsolePasswords, PasswordPolicy];

/// The event's first finding.
fn finding(event: &Value) -> &Value {
    &event["detail"]["findings"][0]
}

/// Imports the event's findings, as Security Hub holds them before it sends the event.
async fn import(moto: &Moto, event: &Value) {
    moto.import_event_findings(event).await;
}

fn finding_id(event: &Value) -> String {
    finding(event)["Id"].as_str().unwrap().to_owned()
}

fn statuses(report: &Report) -> Vec<(String, &'static str, Status)> {
    report
        .actions
        .iter()
        .map(|a| (a.principal.clone(), a.action, a.status))
        .collect()
}

#[tokio::test]
async fn the_findings_principal_is_remediated_and_the_finding_resolved_with_a_note() {
    for function in FUNCTIONS {
        let moto = Moto::start();
        function.seed_offender(&moto, "alice").await;
        if function.about_a_user() {
            function.seed_offender(&moto, "bob").await;
        }
        let event = function.asff_event();
        import(&moto, &event).await;

        let report = function.invoke(&moto, &[], event.clone()).await.unwrap();

        assert!(
            function.fixed(&moto, "alice").await,
            "{function:?}: {report:#?}"
        );
        if function.about_a_user() {
            assert!(
                !function.fixed(&moto, "bob").await,
                "{function:?}: only the finding's user"
            );
        }
        assert_eq!(report.trigger.as_str(), "securityhub");
        assert!(
            report.actions.iter().all(|a| a.status == Status::Applied)
                && !report.actions.is_empty(),
            "{function:?}: {report:#?}"
        );
        let (workflow, note) = moto.finding_state(&finding_id(&event)).await;
        assert_eq!(workflow.as_deref(), Some("RESOLVED"), "{function:?}");
        let note = note.unwrap();
        assert!(note.starts_with(function.name()), "{function:?}: {note}");
        assert!(note.contains("applied"), "{function:?}: {note}");
        let update = &moto.securityhub_updates()[0];
        assert_eq!(
            update["Note"]["UpdatedBy"],
            format!("iam-remediation/{}", function.name()),
            "{function:?}"
        );
    }
}

#[tokio::test]
async fn a_finding_whose_principal_is_already_fine_is_resolved_without_a_change() {
    for function in FUNCTIONS {
        let moto = Moto::start();
        function.seed(&moto, "alice", true).await;
        let event = function.asff_event();
        import(&moto, &event).await;
        let before = snapshot(&moto.iam()).await;

        let report = function.invoke(&moto, &[], event.clone()).await.unwrap();

        assert!(report.actions.is_empty(), "{function:?}: {report:#?}");
        assert_eq!(snapshot(&moto.iam()).await, before, "{function:?}");
        let (workflow, note) = moto.finding_state(&finding_id(&event)).await;
        assert_eq!(workflow.as_deref(), Some("RESOLVED"), "{function:?}");
        assert!(note.unwrap().contains("nothing wrong found on live state"));
    }
}

#[tokio::test]
async fn an_exempt_principal_is_skipped_and_its_finding_notified() {
    for function in [AccessKeys, ConsolePasswords] {
        let moto = Moto::start();
        function.seed_offender(&moto, "alice").await;
        tag_user(&moto.iam(), "alice", EXEMPT, "true").await;
        let event = function.asff_event();
        import(&moto, &event).await;

        let report = function.invoke(&moto, &[], event.clone()).await.unwrap();

        assert!(!function.fixed(&moto, "alice").await, "{function:?}");
        assert_eq!(
            report.count(Status::Skipped),
            1,
            "{function:?}: {report:#?}"
        );
        let (workflow, note) = moto.finding_state(&finding_id(&event)).await;
        assert_eq!(workflow.as_deref(), Some("NOTIFIED"), "{function:?}");
        assert!(note.unwrap().contains("exempt"), "{function:?}");
    }
}

#[tokio::test]
async fn a_dry_run_changes_no_iam_state_and_notifies_the_finding() {
    for function in FUNCTIONS {
        let moto = Moto::start();
        function.seed_offender(&moto, "alice").await;
        let event = function.asff_event();
        import(&moto, &event).await;
        let before = snapshot(&moto.iam()).await;

        let report = function
            .invoke(&moto, &[("DRY_RUN", "true")], event.clone())
            .await
            .unwrap();

        assert_eq!(snapshot(&moto.iam()).await, before, "{function:?}");
        assert!(
            report.dry_run && report.count(Status::Planned) > 0,
            "{report:#?}"
        );
        let (workflow, _) = moto.finding_state(&finding_id(&event)).await;
        assert_eq!(workflow.as_deref(), Some("NOTIFIED"), "{function:?}");
    }
}

/// Findings of other controls, and suppressed, passed, resolved or archived ones, need nothing:
/// nothing changes, nothing is updated, and the report says why.
#[tokio::test]
async fn findings_the_function_does_not_handle_change_nothing() {
    for function in FUNCTIONS {
        for (why, changes) in [
            (
                "control not handled here",
                vec![("/Compliance/SecurityControlId", json!("S3.1"))],
            ),
            (
                "workflow SUPPRESSED",
                vec![("/Workflow/Status", json!("SUPPRESSED"))],
            ),
            (
                "workflow RESOLVED",
                vec![("/Workflow/Status", json!("RESOLVED"))],
            ),
            (
                "compliance PASSED",
                vec![("/Compliance/Status", json!("PASSED"))],
            ),
            (
                "record state ARCHIVED",
                vec![("/RecordState", json!("ARCHIVED"))],
            ),
        ] {
            let moto = Moto::start();
            function.seed_offender(&moto, "alice").await;
            let event = with_finding(function.asff_event(), &changes);
            let before = snapshot(&moto.iam()).await;

            let report = function.invoke(&moto, &[], event).await.unwrap();

            assert_eq!(snapshot(&moto.iam()).await, before, "{function:?} {why}");
            assert!(report.actions.is_empty(), "{function:?} {why}: {report:#?}");
            assert!(
                report.notes.iter().any(|n| n.contains(why)),
                "{function:?} {why}: {:?}",
                report.notes
            );
            assert!(moto.securityhub_updates().is_empty(), "{function:?} {why}");
        }
    }
}

/// In one event, another control's finding is left untouched while the handled one is acted on.
#[tokio::test]
async fn another_controls_finding_in_the_same_event_is_left_untouched() {
    let moto = Moto::start();
    AccessKeys.seed_offender(&moto, "alice").await;
    let mut event = AccessKeys.asff_event();
    let mut other = finding(&event).clone();
    other["Id"] =
        json!("arn:aws:securityhub:us-east-1:123456789012:security-control/S3.1/finding/other");
    other["Compliance"]["SecurityControlId"] = json!("S3.1");
    event["detail"]["findings"]
        .as_array_mut()
        .unwrap()
        .push(other);
    import(&moto, &event).await;

    let report = AccessKeys.invoke(&moto, &[], event.clone()).await.unwrap();

    assert!(AccessKeys.fixed(&moto, "alice").await, "{report:#?}");
    let updated: Vec<String> = moto
        .securityhub_updates()
        .iter()
        .map(|u| {
            u["FindingIdentifiers"][0]["Id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        updated,
        [finding_id(&event)],
        "only the handled finding is updated"
    );
    let (workflow, _) = moto
        .finding_state(
            "arn:aws:securityhub:us-east-1:123456789012:security-control/S3.1/finding/other",
        )
        .await;
    assert_eq!(workflow.as_deref(), Some("NEW"));
}

/// IAM.8 and IAM.22 check keys and passwords: one function fixing its part does not resolve the
/// finding (Security Hub does, once its own check passes); it notes what it did.
#[tokio::test]
async fn a_shared_control_is_noted_never_resolved_by_one_function() {
    let moto = Moto::start();
    user_with_key(&moto, "alice", 200, Some(150)).await;
    let event = sample_event("access-keys", "securityhub-iam3-user");
    let event = with_finding(
        event,
        &[
            ("/Compliance/SecurityControlId", json!("IAM.22")),
            (
                "/Id",
                json!(
                    "arn:aws:securityhub:us-east-1:123456789012:security-control/IAM.22/finding/1"
                ),
            ),
        ],
    );
    import(&moto, &event).await;

    let report = AccessKeys.invoke(&moto, &[], event.clone()).await.unwrap();

    assert!(AccessKeys.fixed(&moto, "alice").await, "{report:#?}");
    let (workflow, note) = moto.finding_state(&finding_id(&event)).await;
    assert_eq!(workflow.as_deref(), Some("NOTIFIED"));
    assert!(
        note.unwrap()
            .contains("Security Hub resolves it when its check passes"),
        "the note says why it stays open"
    );
}

/// Every BatchUpdateFindings raises a new event for the finding: the function's own note on an
/// unchanged finding must not be acted on again (or it would loop).
#[tokio::test]
async fn a_finding_the_function_already_noted_is_left_alone() {
    let moto = Moto::start();
    AccessKeys.seed_offender(&moto, "alice").await;
    let event = with_finding(
        AccessKeys.asff_event(),
        &[
            ("/Workflow/Status", json!("NOTIFIED")),
            (
                "/Note",
                json!({"Text": "access-keys on user alice: ...", "UpdatedBy": "iam-remediation/access-keys",
                       "UpdatedAt": "2026-11-22T10:05:30.000Z"}),
            ),
        ],
    );
    let report = AccessKeys.invoke(&moto, &[], event.clone()).await.unwrap();
    assert!(report.actions.is_empty(), "{report:#?}");
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.contains("already handled by access-keys")),
        "{:?}",
        report.notes
    );
    assert!(moto.securityhub_updates().is_empty());

    // Noted by someone else, or before the finding changed again: acted on.
    let someone_else = with_finding(event.clone(), &[("/Note/UpdatedBy", json!("secops-team"))]);
    import(&moto, &someone_else).await;
    let report = AccessKeys.invoke(&moto, &[], someone_else).await.unwrap();
    assert_eq!(report.count(Status::Applied), 1, "{report:#?}");
}

#[tokio::test]
async fn ocsf_findings_are_resolved_through_batch_update_findings_v2() {
    let moto = Moto::start();
    PasswordPolicy.seed_offender(&moto, "").await;
    let event = sample_event("password-policy", "securityhub-ocsf-iam15");

    let report = PasswordPolicy
        .invoke(&moto, &[], event.clone())
        .await
        .unwrap();

    assert!(PasswordPolicy.fixed(&moto, "").await, "{report:#?}");
    let updates = moto.securityhub_v2_updates();
    assert_eq!(updates.len(), 1, "{updates:#?}");
    let update = &updates[0];
    assert_eq!(update["StatusId"], 4, "resolved");
    let ocsf = finding(&event);
    assert_eq!(
        update["FindingIdentifiers"][0],
        json!({"CloudAccountUid": ocsf["cloud"]["account"]["uid"], "FindingInfoUid": ocsf["finding_info"]["uid"],
               "MetadataProductUid": ocsf["metadata"]["product"]["uid"]})
    );
    let comment = update["Comment"].as_str().unwrap();
    assert!(
        comment.starts_with("iam-remediation/password-policy (finding modified "),
        "{comment}"
    );
    assert!(comment.len() <= 512);

    // A shared control (IAM.22) is only commented: the status stays as it is.
    let moto = Moto::start();
    user_with_key(&moto, "alice", 200, Some(150)).await;
    let report = AccessKeys
        .invoke(
            &moto,
            &[],
            sample_event("access-keys", "securityhub-ocsf-iam22"),
        )
        .await
        .unwrap();
    assert!(AccessKeys.fixed(&moto, "alice").await, "{report:#?}");
    let update = &moto.securityhub_v2_updates()[0];
    assert!(update.get("StatusId").is_none(), "{update}");
    assert!(
        update["Comment"]
            .as_str()
            .unwrap()
            .contains("deactivate-access-key")
    );
}

#[tokio::test]
async fn malformed_findings_are_a_clear_error_that_changes_nothing() {
    for (what, changes, expected) in [
        (
            "no resources",
            vec![("/Resources", json!([]))],
            "names no resource",
        ),
        (
            "an unknown resource type",
            vec![(
                "/Resources",
                json!([{"Type": "AwsS3Bucket", "Id": "arn:aws:s3:::b"}]),
            )],
            "AwsS3Bucket",
        ),
        (
            "a user that does not exist",
            vec![(
                "/Resources",
                json!([{"Type": "AwsIamUser", "Id": "arn:aws:iam::123456789012:user/ghost"}]),
            )],
            "ghost",
        ),
    ] {
        let moto = Moto::start();
        AccessKeys.seed_offender(&moto, "alice").await;
        let before = snapshot(&moto.iam()).await;
        let event = with_finding(AccessKeys.asff_event(), &changes);

        let error = AccessKeys.invoke(&moto, &[], event).await;
        let error = error.expect_err(what);

        assert!(error.to_string().contains(expected), "{what}: {error}");
        assert_eq!(snapshot(&moto.iam()).await, before, "{what}");
        assert!(moto.securityhub_updates().is_empty(), "{what}");
    }
}

#[tokio::test]
async fn a_finding_update_that_fails_is_a_run_error_and_never_undoes_the_change() {
    let moto = Moto::start();
    AccessKeys.seed_offender(&moto, "alice").await;
    moto.inject_fault(
        "securityhub:BatchUpdateFindings",
        "AccessDeniedException",
        403,
        10,
        0,
    );
    let event = AccessKeys.asff_event();
    import(&moto, &event).await;

    let error = AccessKeys.invoke(&moto, &[], event).await.unwrap_err();

    assert!(error.to_string().contains("BatchUpdateFindings"), "{error}");
    assert!(
        AccessKeys.fixed(&moto, "alice").await,
        "the key stays deactivated"
    );
}

// -- IAM Access Analyzer ------------------------------------------------------------------------

fn unused_access(function: Function) -> Value {
    match function {
        AccessKeys => sample_event("access-keys", "access-analyzer-unused-access-key"),
        _ => sample_event("console-passwords", "access-analyzer-unused-password"),
    }
}

#[tokio::test]
async fn an_unused_access_finding_scopes_the_functions_own_rule_to_its_user() {
    for function in [AccessKeys, ConsolePasswords] {
        let moto = Moto::start();
        match function {
            AccessKeys => {
                user_with_key(&moto, "alice", 120, Some(100)).await;
                user_with_key(&moto, "bob", 120, Some(100)).await;
            }
            _ => {
                for user in ["alice", "bob"] {
                    user_with_password(&moto, user, 200, None).await;
                }
            }
        }

        let report = function
            .invoke(&moto, &[], unused_access(function))
            .await
            .unwrap();

        assert_eq!(report.trigger.as_str(), "access-analyzer");
        assert_eq!(
            statuses(&report),
            [(
                "alice".to_owned(),
                if function == AccessKeys {
                    "deactivate-access-key"
                } else {
                    "delete-login-profile"
                },
                Status::Applied
            )],
            "{function:?}"
        );
        assert!(function.fixed(&moto, "alice").await);
        assert!(
            !function.fixed(&moto, "bob").await,
            "{function:?}: only the finding's user"
        );
    }
}

#[tokio::test]
async fn other_unused_access_findings_and_statuses_change_nothing() {
    for (what, pointer, value) in [
        (
            "UnusedPermission",
            "/detail/findingType",
            json!("UnusedPermission"),
        ),
        (
            "UnusedIAMRole",
            "/detail/findingType",
            json!("UnusedIAMRole"),
        ),
        ("a RESOLVED finding", "/detail/status", json!("RESOLVED")),
        ("an ARCHIVED finding", "/detail/status", json!("ARCHIVED")),
        ("a deleted finding", "/detail/isDeleted", json!(true)),
    ] {
        let moto = Moto::start();
        user_with_key(&moto, "alice", 120, Some(100)).await;
        let before = snapshot(&moto.iam()).await;
        let event = with(unused_access(AccessKeys), pointer, value);

        let report = AccessKeys.invoke(&moto, &[], event).await.unwrap();

        assert!(
            report.actions.is_empty() && report.errors.is_empty(),
            "{what}: {report:#?}"
        );
        assert!(
            report.notes.iter().any(|n| n.starts_with("nothing to do")),
            "{what}: {report:#?}"
        );
        assert_eq!(snapshot(&moto.iam()).await, before, "{what}");
    }
    // A finding about a user that does not exist is an error naming it.
    let moto = Moto::start();
    let event = with(
        unused_access(AccessKeys),
        "/detail/resource",
        json!("arn:aws:iam::123456789012:user/ghost"),
    );
    let error = AccessKeys.invoke(&moto, &[], event).await.unwrap_err();
    assert!(error.to_string().contains("ghost"), "{error}");
}
