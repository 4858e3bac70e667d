//! Issue 19, access-keys: what must hold when a rotation or a deactivation goes wrong half-way
//! in a real account ("Semantics that protect users" of the design).
//!
//! - A rotation deletes its new key only once `AWSCURRENT` is confirmed back on the working key;
//!   otherwise the new key is kept and the action fails, saying what an operator must fix.
//! - Only our own keys are cleaned up after a lost `CreateAccessKey` answer: a key this run
//!   cannot prove it created is kept and reported.
//! - A record that cannot be written (50 tags, a denied `TagUser`) never blocks a due
//!   deactivation.

#![allow(clippy::unwrap_used, reason = "a test fails loudly")]

use access_keys::AccessKeys;
use chrono::Utc;
use iam_remediation::{Error, Report, Status};
use integration_tests::{
    ACTIVE, INACTIVE, Moto, NetworkFault, ROTATE, action_on, alice_with_working_key_in_her_secret,
    assert_keys, key_statuses, run_deployed as run, said, schedule, secret_key_id, tag_user,
    user_tags, user_with_key,
};
use serde_json::json;

const KEYS: &str = "access-keys";
const SECRET: &str = "iam-remediation/access-keys/alice";

/// Asserts that these two keys of alice are both active (`why` they must be).
async fn assert_alice_keeps(iam: &aws_sdk_iam::Client, keys: [&str; 2], why: &str) {
    let expected = keys.map(|key| ("alice", key, ACTIVE));
    assert_keys(iam, &expected, why).await;
}

/// Asserts that alice's keys `[working, kept]` both still work (`context` says which case), and
/// that the run failed (`fails`) naming `kept` as kept for an operator; the run's message.
async fn assert_failed_keeping(
    moto: &Moto,
    [working, kept]: [&str; 2],
    result: Result<Report, Error>,
    context: &str,
    fails: &str,
) -> String {
    let context = format!("{context}; the run said: {}", said(&result));
    assert_alice_keeps(&moto.iam(), [working, kept], &context).await;
    let message = failure_message(moto, result, fails);
    assert!(
        message.contains(kept) && message.contains("kept"),
        "{context}: the run names the key it kept for an operator: {message}"
    );
    message
}

/// The message of the run's error (`why` the run must fail), which must hold no secret access
/// key ever issued.
fn failure_message(moto: &Moto, result: Result<Report, Error>, why: &str) -> String {
    let message = result.expect_err(why).to_string();
    assert_no_secret_in(moto, &message);
    message
}

/// Asserts that no secret access key ever issued appears in what the run said.
fn assert_no_secret_in(moto: &Moto, said: &str) {
    for secret in moto.issued_secrets() {
        assert!(!said.contains(&secret), "a secret reached the report");
    }
}

// == Scenario 6: a failed rotation never deletes the key AWSCURRENT holds ==================

/// The read-back after PutSecretValue fails, and so does every way of putting AWSCURRENT back
/// or of confirming where it is (`broken`): the new key must be kept, since the secret may
/// still hand it out, and the run must fail saying what an operator must fix.
#[tokio::test]
async fn a_rotation_that_cannot_confirm_awscurrent_keeps_the_new_key() {
    let denied = "AccessDeniedException";
    for broken in [
        "secretsmanager:UpdateSecretVersionStage",
        "secretsmanager:DescribeSecret",
    ] {
        let moto = Moto::start();
        let iam = moto.iam();
        let (b, b_version) = alice_with_working_key_in_her_secret(&moto).await;
        // Once the new key is stored (PutSecretValue moved AWSCURRENT to it), reading it back
        // fails, and so does `broken`.
        for action in ["secretsmanager:GetSecretValue", broken] {
            moto.after(
                "secretsmanager:PutSecretValue",
                0,
                &json!({"fault": {"action": action, "code": denied, "status": 400, "count": 100}}),
            );
        }

        let result = run::<AccessKeys>(&moto, &[ROTATE], schedule(KEYS), Utc::now()).await;
        moto.clear_faults();

        let said = said(&result);
        assert_eq!(
            moto.call_count("secretsmanager:PutSecretValue"),
            1,
            "{said}"
        );
        let current = secret_key_id(&moto, "alice", Some("AWSCURRENT")).await;
        let keys = key_statuses(&iam, "alice").await;
        let new: Vec<&String> = keys.keys().filter(|k| **k != b).collect();
        assert_eq!(
            new.len(),
            1,
            "{broken}: the new key was deleted while AWSCURRENT ({current:?}) may hold it: \
             keys {keys:?}; the run said: {said}"
        );
        let new = new[0].as_str();
        assert_eq!(current.as_deref(), Some(new), "{broken}: {said}");

        // The run fails, and says what an operator must fix: which secret, which version holds
        // AWSCURRENT (the new key's), the working key's version, what to do.
        let message = assert_failed_keeping(
            &moto,
            [&b, new],
            result,
            &format!("{broken}: both keys work"),
            "a rotation that was not finished fails the run",
        )
        .await;
        for needed in [
            SECRET,
            &format!("iam-remediation-{new}"),
            new,
            &b,
            "AWSCURRENT",
        ] {
            assert!(
                message.contains(needed),
                "{broken}: the message names {needed}: {message}"
            );
        }
        if broken.ends_with("UpdateSecretVersionStage") {
            assert!(message.contains(&b_version), "{broken}: {message}");
        }
    }
}

// == Scenario 9: only our own keys are cleaned up after a lost answer ======================

/// A rotation run whose `CreateAccessKey` is done in IAM but whose answer is lost.
async fn rotate_losing_the_create_answer(moto: &Moto) -> Result<Report, Error> {
    moto.inject_network_fault("iam:CreateAccessKey", NetworkFault::DropAfter, 1, 0);
    run::<AccessKeys>(moto, &[ROTATE], schedule(KEYS), Utc::now()).await
}

/// An administrator creates a key for alice right before the function's CreateAccessKey reaches
/// IAM; the function's call is done (IAM refuses a third key) but its answer is lost. The key
/// that appeared is the administrator's: it must be kept, and the run must say so.
#[tokio::test]
async fn a_lost_create_access_key_answer_never_deletes_an_administrators_new_key() {
    let moto = Moto::start();
    let old = user_with_key(&moto, "alice", 200, Some(1)).await;
    moto.before(
        "iam:CreateAccessKey",
        0,
        &json!({"create_access_key": {"user_name": "alice"}}),
    );
    moto.reset_calls();

    let result = rotate_losing_the_create_answer(&moto).await;

    let said = said(&result);
    let admins = moto.side_effect_keys();
    assert_eq!(admins.len(), 1, "the administrator's key was made: {said}");
    let admins = admins[0].as_str();
    assert_eq!(moto.call_count("iam:CreateAccessKey"), 1, "{said}");
    assert_failed_keeping(
        &moto,
        [&old, admins],
        result,
        "the administrator's new key is kept",
        "a rotation whose answer was lost fails the run",
    )
    .await;
}

/// The function's own CreateAccessKey is done and its answer lost: a key appeared that nobody
/// may hold, but nothing proves it is the function's (an administrator's key made at the same
/// moment looks the same). It is kept and named for an operator; the old key is untouched, and
/// no secret is stored.
#[tokio::test]
async fn a_key_that_appeared_during_a_lost_answer_is_kept_and_named() {
    let moto = Moto::start();
    let iam = moto.iam();
    let old = user_with_key(&moto, "alice", 200, Some(1)).await;

    let result = rotate_losing_the_create_answer(&moto).await;

    let said = said(&result);
    let keys = key_statuses(&iam, "alice").await;
    let appeared: Vec<&String> = keys.keys().filter(|k| **k != old).collect();
    assert_eq!(
        appeared.len(),
        1,
        "the key that appeared is kept: {keys:?}; the run said: {said}"
    );
    let appeared = appeared[0].as_str();
    assert_alice_keeps(&iam, [&old, appeared], "the old key is untouched").await;
    assert_eq!(secret_key_id(&moto, "alice", None).await, None, "{said}");
    let message = failure_message(&moto, result, "a lost answer fails the run");
    assert!(message.contains(appeared), "{message}");
    assert!(message.contains("delete"), "says what to do: {message}");

    // The next run makes no third key: alice has no room, and the report says which key to
    // look at.
    let next = run::<AccessKeys>(&moto, &[ROTATE], schedule(KEYS), Utc::now()).await;
    assert_eq!(
        key_statuses(&iam, "alice").await.len(),
        2,
        "{}",
        self::said(&next)
    );
    let report = next.expect("no room is a skip, not a failure");
    let action = action_on(&report, &old);
    assert_eq!(action.status, Status::Skipped, "{action:#?}");
    assert!(action.reason.contains(appeared), "{action:#?}");
}

// == Scenario 8: a record that cannot be written never blocks a due deactivation ===========

/// Gives alice IAM's maximum of 50 tags.
async fn fill_alices_tags(moto: &Moto) {
    let iam = moto.iam();
    for i in 0..50 {
        tag_user(&iam, "alice", &format!("team-{i:02}"), "x").await;
    }
}

/// Asserts that `key` was deactivated (applied) and that the run says its record could not be
/// written because of `why`.
async fn assert_deactivated_without_record(
    moto: &Moto,
    key: &str,
    result: &Result<Report, Error>,
    why: &str,
) {
    let said = said(result);
    assert_keys(
        &moto.iam(),
        &[("alice", key, INACTIVE)],
        &format!("a due deactivation was blocked by its record ({why}); the run said: {said}"),
    )
    .await;
    let report = result.as_ref().expect("the deactivation is not a failure");
    let action = action_on(report, key);
    assert_eq!(
        (action.action, action.status),
        ("deactivate-access-key", Status::Applied),
        "{action:#?}"
    );
    assert!(
        report
            .notes
            .iter()
            .any(|note| note.contains(key) && note.contains(why) && note.contains("record")),
        "the report notes that the record could not be written ({why}): {:?}",
        report.notes
    );
}

/// Too old (age rule), alice at 50 tags: TagUser is refused (LimitExceeded), the key is
/// deactivated anyway, and no tag is lost.
#[tokio::test]
async fn an_old_key_is_deactivated_when_its_user_already_has_50_tags() {
    let moto = Moto::start();
    let key = user_with_key(&moto, "alice", 200, Some(1)).await;
    fill_alices_tags(&moto).await;

    let result = run::<AccessKeys>(&moto, &[], schedule(KEYS), Utc::now()).await;

    assert_deactivated_without_record(&moto, &key, &result, "LimitExceeded").await;
    assert_eq!(user_tags(&moto.iam(), "alice").await.len(), 50);
}

/// Unused too long (unused rule, the age limit far away), TagUser denied: deactivated anyway.
#[tokio::test]
async fn an_unused_key_is_deactivated_when_tag_writes_are_denied() {
    let moto = Moto::start();
    let key = user_with_key(&moto, "alice", 200, Some(150)).await;
    moto.inject_fault("iam:TagUser", "AccessDenied", 403, 100, 0);

    let pairs = [("MAX_KEY_AGE_DAYS", "365")];
    let result = run::<AccessKeys>(&moto, &pairs, schedule(KEYS), Utc::now()).await;

    assert_deactivated_without_record(&moto, &key, &result, "TagUser").await;
    let reason = &action_on(result.as_ref().unwrap(), &key).reason;
    assert_eq!(
        reason, "last used 150 days ago (limit 90)",
        "the unused rule"
    );
}

/// Without a record the key is never deleted by us: past the quiet period it is still there.
#[tokio::test]
async fn a_key_deactivated_without_a_record_is_never_deleted_by_us() {
    let moto = Moto::start();
    let key = user_with_key(&moto, "alice", 200, Some(1)).await;
    fill_alices_tags(&moto).await;
    let t0 = Utc::now();
    run::<AccessKeys>(&moto, &[], schedule(KEYS), t0)
        .await
        .unwrap();

    let later = t0 + chrono::Duration::days(40);
    let result = run::<AccessKeys>(&moto, &[], schedule(KEYS), later).await;

    let why = format!("deleted without a record; the run said: {}", said(&result));
    assert_keys(&moto.iam(), &[("alice", &key, INACTIVE)], &why).await;
}
