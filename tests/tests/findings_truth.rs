//! Security Hub findings tell the truth (issue 19): a finding is `RESOLVED` only when live state
//! after the run meets the control's own criterion (Security Hub does not reopen a `RESOLVED`
//! finding that keeps failing), IAM.4 is judged from live state rather than a credential report
//! that may be hours old, and each function covering a shared control (IAM.8, IAM.22) still
//! hears that finding's later re-checks without answering its own notes.

#![allow(clippy::unwrap_used, reason = "a test fails loudly")]

use chrono::{Duration, Utc};
use iam_remediation::{Remediation, Report, Status};
use integration_tests::{
    Instance, Moto, add_key, add_password, days_ago, has_password, invoke, key_statuses,
    sample_event, schedule, set_minimum_password_length, user_with_key, user_with_password,
    with_finding,
};
use serde_json::{Value, json};

fn finding_id(event: &Value) -> String {
    event["detail"]["findings"][0]["Id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The finding of `event` as another control's, with its own ID.
fn as_control(event: Value, control: &str) -> Value {
    let id = format!(
        "arn:aws:securityhub:us-east-1:123456789012:security-control/{control}/finding/truth"
    );
    with_finding(
        event,
        &[
            ("/Compliance/SecurityControlId", json!(control)),
            ("/Id", json!(id)),
        ],
    )
}

/// Imports the event's finding, invokes `function` with the event, and returns the report with
/// the finding's workflow status and note afterwards.
async fn handled<F: Remediation>(
    moto: &Moto,
    function: &Instance<F>,
    event: &Value,
) -> (Report, String, String) {
    moto.import_event_findings(event).await;
    let report = invoke(function, event.clone()).await.unwrap();
    let (workflow, note) = moto.finding_state(&finding_id(event)).await;
    (
        report,
        workflow.unwrap_or_default(),
        note.unwrap_or_default(),
    )
}

/// A fresh test bed where alice has a 120-day key, used yesterday, that fails IAM.3, and that
/// finding handled by access-keys with the settings these variables give: the test bed, alice's
/// key, and what [`handled`] returns.
async fn alice_iam3_handled(pairs: &[(&str, &str)]) -> (Moto, String, (Report, String, String)) {
    let moto = Moto::start();
    let key = user_with_key(&moto, "alice", 120, Some(1)).await;
    let event = sample_event("access-keys", "securityhub-iam3-user");
    let outcome = Box::pin(handled(&moto, &moto.access_keys(pairs), &event)).await;
    (moto, key, outcome)
}

/// Whether `note` names the date `days` from now or the day after (a deadline counted in whole
/// days may round to either).
fn names_day(note: &str, days: i64) -> bool {
    note.contains(&day(days)) || note.contains(&day(days + 1))
}

/// The days from now, as the notes write dates.
fn day(days: i64) -> String {
    (Utc::now() + Duration::days(days))
        .format("%Y-%m-%d")
        .to_string()
}

// -- Scenario 2: RESOLVED only when the control's own criterion passes ---------------------------

/// IAM.5 (MFA for console users): a password 3 days old without MFA, with a 30-day grace, is
/// left alone by the rule today; the control still fails, so the finding stays open, and the
/// note says when the password will be deleted.
#[tokio::test]
async fn iam5_in_its_mfa_grace_is_notified_with_the_deletion_date() {
    let moto = Moto::start();
    user_with_password(&moto, "alice", 3, Some(1)).await;
    let event = sample_event("console-passwords", "securityhub-iam5-user");

    let (report, workflow, note) = handled(
        &moto,
        &moto.console_passwords(&[("MFA_GRACE_DAYS", "30")]),
        &event,
    )
    .await;

    assert!(report.actions.is_empty(), "in its grace: {report:#?}");
    assert!(has_password(&moto.iam(), "alice").await);
    assert_eq!(workflow, "NOTIFIED", "the control still fails: {note}");
    assert!(note.contains("IAM.5"), "{note}");
    assert!(
        note.contains("delete-login-profile") && names_day(&note, 27),
        "the note says when the password will be deleted: {note}"
    );
}

/// IAM.3 in rotate mode: the new key is made and stored, the old one stays active for its grace
/// period; IAM.3 still fails on the old key until it is deactivated.
#[tokio::test]
async fn iam3_rotated_with_the_old_key_in_its_grace_is_notified() {
    let (moto, old, (report, workflow, note)) =
        alice_iam3_handled(&[("KEY_ACTION", "rotate")]).await;

    let keys = key_statuses(&moto.iam(), "alice").await;
    assert_eq!(keys.len(), 2, "rotated: {report:#?}");
    assert_eq!(keys[&old], "Active", "the old key is in its grace");
    assert!(report.actions.iter().all(|a| a.status == Status::Applied));
    assert_eq!(
        workflow, "NOTIFIED",
        "the old key still fails IAM.3: {note}"
    );
    assert!(note.contains(&old), "names the failing key: {note}");
    assert!(
        names_day(&note, 7),
        "says when the old key is deactivated: {note}"
    );
}

/// IAM.3 with `MAX_KEY_AGE_DAYS=180`: a 120-day key is fine by the function's rule and fails
/// Security Hub's 90 days; the note names the laxer floor and when the key will be acted on.
#[tokio::test]
async fn iam3_with_a_laxer_max_key_age_is_notified() {
    let (moto, key, (report, workflow, note)) =
        alice_iam3_handled(&[("MAX_KEY_AGE_DAYS", "180")]).await;

    assert!(report.actions.is_empty(), "{report:#?}");
    assert_eq!(key_statuses(&moto.iam(), "alice").await[&key], "Active");
    assert_eq!(workflow, "NOTIFIED", "IAM.3 fails after 90 days: {note}");
    assert!(note.contains(&key) && note.contains("90"), "{note}");
    assert!(
        names_day(&note, 60),
        "says when the configured limit is reached: {note}"
    );
}

/// IAM.15 with `MIN_PASSWORD_LENGTH=8`: the policy meets the configured floor, not the control's
/// 14 characters; nothing the function is configured to do will change that.
#[tokio::test]
async fn iam15_with_a_laxer_minimum_length_is_notified() {
    let moto = Moto::start();
    set_minimum_password_length(&moto.iam(), 8).await;
    let event = as_control(
        sample_event("password-policy", "securityhub-iam7-account"),
        "IAM.15",
    );

    let (_, workflow, note) = handled(
        &moto,
        &moto.password_policy(&[("MIN_PASSWORD_LENGTH", "8")]),
        &event,
    )
    .await;

    assert_eq!(workflow, "NOTIFIED", "a length of 8 fails IAM.15: {note}");
    assert!(note.contains("14"), "names the control's criterion: {note}");
    assert!(
        note.contains("MIN_PASSWORD_LENGTH"),
        "names the setting: {note}"
    );
}

/// The ordinary case: a 120-day key deactivated with the defaults meets IAM.3: resolved.
#[tokio::test]
async fn iam3_fixed_with_the_defaults_is_resolved() {
    let (moto, key, (report, workflow, note)) = alice_iam3_handled(&[]).await;

    assert_eq!(key_statuses(&moto.iam(), "alice").await[&key], "Inactive");
    assert_eq!(report.count(Status::Applied), 1, "{report:#?}");
    assert_eq!(workflow, "RESOLVED", "{note}");
}

// -- Scenario 3: IAM.4 from live state -----------------------------------------------------------

/// GenerateCredentialReport reuses a report up to 4 hours old: a root key created after it is
/// invisible there. IAM.4 is judged from GetAccountSummary, so the finding stays open.
#[tokio::test]
async fn iam4_is_not_resolved_from_a_credential_report_older_than_the_root_key() {
    let moto = Moto::start();
    user_with_key(&moto, "alice", 10, Some(0)).await;
    // A sweep makes the credential report, before the root user has a key.
    invoke(&moto.access_keys(&[]), schedule("access-keys"))
        .await
        .unwrap();
    moto.set_root_keys(&[(true, days_ago(0))]);
    let event = sample_event("access-keys", "securityhub-iam4-root");

    let (report, workflow, note) = handled(&moto, &moto.access_keys(&[]), &event).await;

    assert_ne!(workflow, "RESOLVED", "{note} {report:#?}");
    assert_eq!(workflow, "NOTIFIED");
    assert!(note.contains("IAM.4"), "{note}");
}

// -- Scenario 10: shared controls keep hearing their re-checks ------------------------------------

/// The finding's note as Security Hub holds it: who wrote it and when.
async fn note_of(moto: &Moto, id: &str) -> (String, String) {
    let findings = moto
        .securityhub()
        .get_findings()
        .send()
        .await
        .unwrap()
        .findings
        .unwrap_or_default();
    let finding = findings
        .into_iter()
        .find(|f| f.id.as_deref() == Some(id))
        .unwrap();
    let note = finding.note.unwrap();
    (note.updated_by.unwrap(), note.updated_at.unwrap())
}

/// Alice fails IAM.8 on both halves: an unused old key and an unused old password.
async fn both_halves_fail(moto: &Moto) {
    user_with_key(moto, "alice", 200, Some(150)).await;
    add_password(moto, "alice", 200, None).await;
}

/// Each covering function, on one event: the applied actions of each.
async fn both_on(moto: &Moto, event: &Value) -> (usize, usize) {
    let keys = invoke(&moto.access_keys(&[]), event.clone()).await.unwrap();
    let passwords = invoke(&moto.console_passwords(&[]), event.clone())
        .await
        .unwrap();
    (
        keys.count(Status::Applied),
        passwords.count(Status::Applied),
    )
}

/// The IAM.8 event as Security Hub sends it after the last note: the note as held, workflow
/// NOTIFIED; `rechecked`: with the provider's times moved past the note (a new evaluation).
async fn after_the_notes(moto: &Moto, first: &Value, rechecked: bool) -> Value {
    let (by, at) = note_of(moto, &finding_id(first)).await;
    let mut changes = vec![
        ("/Workflow/Status", json!("NOTIFIED")),
        (
            "/Note",
            json!({"Text": "…", "UpdatedBy": by, "UpdatedAt": at}),
        ),
    ];
    if rechecked {
        let later = (Utc::now() + Duration::seconds(1)).to_rfc3339();
        changes.push(("/UpdatedAt", json!(later.clone())));
        changes.push(("/LastObservedAt", json!(later.clone())));
        changes.push(("/ProcessedAt", json!(later)));
    }
    with_finding(first.clone(), &changes)
}

/// A fresh test bed where each covering function fixed its half of alice's IAM.8 finding, alice
/// fails both halves again (a new unused old key and an unused old password), and the IAM.8 event
/// after the notes (as [`after_the_notes`]): the test bed, that event, and how many Security Hub
/// updates were made before it.
async fn failing_again_after_both_notes(rechecked: bool) -> (Moto, Value, usize) {
    let moto = Moto::start();
    both_halves_fail(&moto).await;
    let first = sample_event("console-passwords", "securityhub-iam8-user");
    moto.import_event_findings(&first).await;
    assert_eq!(both_on(&moto, &first).await, (1, 1), "both fix their half");
    add_key(&moto, "alice", 200, Some(150)).await;
    add_password(&moto, "alice", 200, None).await;
    let next = after_the_notes(&moto, &first, rechecked).await;
    let updates = moto.securityhub_updates().len();
    (moto, next, updates)
}

/// After both functions noted an IAM.8 finding, Security Hub's next evaluation still reaches and
/// is handled by both: the one that did not write the last note too.
#[tokio::test]
async fn a_recheck_after_both_notes_is_handled_by_both_functions() {
    // Alice fails again on both halves; Security Hub re-checks.
    let (moto, recheck, updates_before) = failing_again_after_both_notes(true).await;

    assert_eq!(
        both_on(&moto, &recheck).await,
        (1, 1),
        "each covering function handles the re-check"
    );
    assert_eq!(moto.securityhub_updates().len(), updates_before + 2);
    assert!(!has_password(&moto.iam(), "alice").await);
    assert!(
        key_statuses(&moto.iam(), "alice")
            .await
            .values()
            .all(|s| s == "Inactive")
    );
}

/// The echo of a note (BatchUpdateFindings moves none of the provider's times) is left alone by
/// both functions, whoever wrote it: no loop.
#[tokio::test]
async fn the_echo_of_a_note_is_left_alone_by_both_functions() {
    // Something to do, were the echo taken for a re-check.
    let (moto, echo, updates_before) = failing_again_after_both_notes(false).await;

    assert_eq!(both_on(&moto, &echo).await, (0, 0), "left alone");
    assert_eq!(moto.securityhub_updates().len(), updates_before, "no loop");
}
