//! Real-AWS safety scenarios (the "Semantics that protect users" of the design): what must hold
//! when IAM, Secrets Manager and people behave as they do in a real account, not as in a tidy
//! test. Each test names the wanted behaviour; `run` (the test bed's `run_deployed`) is
//! the only place that knows the functions' entry point, so the scenarios port easily when the
//! API changes.

#![allow(clippy::unwrap_used, reason = "a test fails loudly")]

use access_keys::AccessKeys;
use chrono::{DateTime, Duration, Utc};
use console_passwords::ConsolePasswords;
use iam_remediation::{Error, Principal, Report, Status};
use inline_policies::InlinePolicies;
use integration_tests::{
    ACTIVE, INACTIVE, Moto, ROTATE, account_password_policy, action_on, add_key,
    alice_with_working_key_in_her_secret, assert_keys, assert_only_key, attached, delete_key,
    exposed, has_password, inline_names, key_statuses, managed_arn, outcomes, row,
    run_deployed as run, said, sample_event, schedule, secret_key_id, set_key_status, tag_user,
    user_tags, user_with_key, user_with_password, user_with_policy, with,
};
use password_policy::PasswordPolicies;
use serde_json::{Value, json};

const KEYS: &str = "access-keys";

// -- the functions, called the way the runtime calls them, and what they said ---------------

/// CloudTrail's UpdateAccessKey of `key_id` of `user` to `status`.
fn update_access_key_event(user: &str, key_id: &str, status: &str) -> Value {
    with(
        sample_event(KEYS, "cloudtrail-update-access-key"),
        "/detail/requestParameters",
        json!({"userName": user, "accessKeyId": key_id, "status": status}),
    )
}

/// Asserts the keys' statuses (as [`assert_keys`]), `why` they should be so, and what the run
/// said.
async fn assert_keys_after(
    moto: &Moto,
    expected: &[(&str, &str, Option<&str>)],
    why: &str,
    result: &Result<Report, Error>,
) {
    let context = format!("{why}; the run said: {}", said(result));
    assert_keys(&moto.iam(), expected, &context).await;
}

/// alice with one key (returned), 200 days old and used yesterday, that a sweep at `at`
/// deactivated and recorded.
async fn alice_deactivated(moto: &Moto, at: DateTime<Utc>) -> String {
    let key = user_with_key(moto, "alice", 200, Some(1)).await;
    run::<AccessKeys>(moto, &[], schedule(KEYS), at)
        .await
        .unwrap();
    key
}

/// Asserts that the sweep 31 days after `t0` (past the quiet period) leaves alice's inactive
/// `key` there: a failure says `why`.
async fn assert_kept_after_the_quiet_period(moto: &Moto, key: &str, t0: DateTime<Utc>, why: &str) {
    let later = t0 + Duration::days(31);
    let result = run::<AccessKeys>(moto, &[], schedule(KEYS), later).await;
    assert_keys_after(moto, &[("alice", key, INACTIVE)], why, &result).await;
}

/// Reports `key` exposed (AWS Health) while the test bed denies every call of each of `denied`.
async fn report_exposed(moto: &Moto, key: &str, denied: &[&str]) -> Result<Report, Error> {
    for action in denied {
        moto.inject_fault(action, "AccessDenied", 403, 100, 0);
    }
    run::<AccessKeys>(moto, &[], exposed(&[key]), Utc::now()).await
}

/// Asserts that the run says why the deactivation's record could not be written (`what` failed).
fn assert_record_not_written(result: &Result<Report, Error>, what: &str) {
    let said = said(result);
    let why = "the report says the record could not be written";
    assert!(said.contains(what), "{why}: {said}");
}

/// The run said the exposed key is still active.
const STILL_ACTIVE: &str = "the exposed key is still active";

// == 1. An exposed key is deactivated whatever else fails =====================================

/// 1a. ListUserTags (and GetUser) denied: the exemption is unknown, but an exposed key ignores
/// exemptions, so it needs no tag read.
#[tokio::test]
async fn exposed_key_is_deactivated_when_tags_cannot_be_read() {
    let moto = Moto::start();
    let key = user_with_key(&moto, "alice", 10, Some(0)).await;

    let result = report_exposed(&moto, &key, &["iam:ListUserTags", "iam:GetUser"]).await;

    assert_keys_after(&moto, &[("alice", &key, INACTIVE)], STILL_ACTIVE, &result).await;
    if let Ok(report) = &result {
        let action = action_on(report, &key);
        assert_eq!(action.status, Status::Applied, "{report:#?}");
    }
}

/// 1a, the other half: when the exposed key itself cannot be deactivated, the run is a Lambda
/// error (alarms fire), even when the tags could not be read either.
#[tokio::test]
async fn exposed_key_that_cannot_be_deactivated_is_a_lambda_error() {
    let moto = Moto::start();
    let key = user_with_key(&moto, "alice", 10, Some(0)).await;
    let denied = ["iam:ListUserTags", "iam:UpdateAccessKey"];

    let result = report_exposed(&moto, &key, &denied).await;

    let error = result.expect_err("an exposed key left active must fail the run");
    assert!(
        error.to_string().contains("UpdateAccessKey") && error.to_string().contains(&key),
        "{error}"
    );
    moto.clear_faults();
    assert_keys(&moto.iam(), &[("alice", &key, ACTIVE)], "not deactivated").await;
}

/// 1b. The record cannot be written because the user already has IAM's 50 tags (TagUser:
/// LimitExceeded, which the test bed answers as IAM does): the key is deactivated anyway, and
/// the missing record is a warning in the report.
#[tokio::test]
async fn exposed_key_is_deactivated_when_its_user_already_has_50_tags() {
    let (moto, iam) = Moto::with_iam();
    let key = user_with_key(&moto, "alice", 10, Some(0)).await;
    for i in 0..50 {
        tag_user(&iam, "alice", &format!("team-{i:02}"), "x").await;
    }
    // The test bed holds IAM's quota: a 51st tag is refused.
    let refused = iam
        .tag_user()
        .user_name("alice")
        .tags(
            aws_sdk_iam::types::Tag::builder()
                .key("one-more")
                .value("x")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect_err("IAM refuses a 51st tag");
    assert_eq!(
        aws_sdk_iam::error::ProvideErrorMetadata::code(&refused),
        Some("LimitExceeded"),
        "{refused:?}"
    );

    let result = report_exposed(&moto, &key, &[]).await;

    assert_keys_after(&moto, &[("alice", &key, INACTIVE)], STILL_ACTIVE, &result).await;
    assert_record_not_written(&result, "LimitExceeded");
    assert_eq!(user_tags(&iam, "alice").await.len(), 50, "no tag was lost");
}

/// 1c. TagUser denied: the record is bookkeeping, never a precondition of the deactivation.
#[tokio::test]
async fn exposed_key_is_deactivated_when_tag_writes_are_denied() {
    let moto = Moto::start();
    let key = user_with_key(&moto, "alice", 10, Some(0)).await;

    let result = report_exposed(&moto, &key, &["iam:TagUser"]).await;

    let still = [("alice", key.as_str(), INACTIVE)];
    assert_keys_after(&moto, &still, STILL_ACTIVE, &result).await;
    assert_record_not_written(&result, "TagUser");
}

/// 1d. Rotate mode: the user's rotation secret cannot be read (GetSecretValue denied). The
/// secret matters to the replacement, not to turning the exposed key off.
#[tokio::test]
async fn exposed_key_is_deactivated_in_rotate_mode_when_the_secret_cannot_be_read() {
    let moto = Moto::start();
    // Two active keys, one too old: what a rotation whose record was lost looks like, so the
    // function consults the user's secret.
    let old = user_with_key(&moto, "bob", 200, Some(1)).await;
    let key = add_key(&moto, "bob", 5, Some(0)).await;
    let denied = "AccessDeniedException";
    moto.inject_fault("secretsmanager:GetSecretValue", denied, 400, 100, 0);

    let result = run::<AccessKeys>(&moto, &[ROTATE], exposed(&[&key]), Utc::now()).await;

    // Only the exposed key is acted on.
    let expected = [("bob", key.as_str(), INACTIVE), ("bob", &old, ACTIVE)];
    assert_keys_after(&moto, &expected, STILL_ACTIVE, &result).await;
}

/// 1e. A Health event naming a key that no longer exists and a live one: the live one is
/// deactivated, and the missing one is reported as an error.
#[tokio::test]
async fn exposed_live_key_is_deactivated_when_the_event_also_names_a_deleted_key() {
    let (moto, iam) = Moto::with_iam();
    let gone = user_with_key(&moto, "alice", 10, Some(0)).await;
    delete_key(&iam, "alice", &gone).await;
    let live = user_with_key(&moto, "bob", 10, Some(0)).await;

    let result = run::<AccessKeys>(&moto, &[], exposed(&[&gone, &live]), Utc::now()).await;

    assert_keys_after(&moto, &[("bob", &live, INACTIVE)], STILL_ACTIVE, &result).await;
    let error = result.expect_err("a key that cannot be found is an error of the run");
    assert!(error.to_string().contains(&gone), "{error}");
}

/// 1e, as real IAM may answer: the current IAM API Reference lists no error for
/// GetAccessKeyLastUsed (older versions listed NoSuchEntity, which moto answers), so a key that
/// is gone or belongs to another account can come back as something else, here AccessDenied.
/// One key that cannot be looked up must not keep the other exposed keys active.
#[tokio::test]
async fn exposed_live_key_is_deactivated_when_another_named_key_cannot_be_looked_up() {
    let moto = Moto::start();
    let live = user_with_key(&moto, "bob", 10, Some(0)).await;
    // The first lookup (of the foreign key, named first) is refused; one read at a time, so that
    // the fault lands on it.
    moto.inject_fault("iam:GetAccessKeyLastUsed", "AccessDenied", 403, 1, 0);

    let foreign = "AKIAFOREIGNACCOUNT01";
    let one_at_a_time = [("MAX_CONCURRENCY", "1")];
    let event = exposed(&[foreign, &live]);
    let result = run::<AccessKeys>(&moto, &one_at_a_time, event, Utc::now()).await;

    assert_keys_after(&moto, &[("bob", &live, INACTIVE)], STILL_ACTIVE, &result).await;
    let error = result.expect_err("a key that could not be looked up is an error of the run");
    assert!(error.to_string().contains(foreign), "{error}");
}

/// 1f. Records of keys that no longer exist (`iam-remediation:key:<id>` user tags) are removed
/// when the user is next handled, so that a user's tag count does not creep towards IAM's 50.
#[tokio::test]
async fn records_of_keys_that_no_longer_exist_are_removed_when_the_user_is_next_handled() {
    let (moto, iam) = Moto::with_iam();
    let now = Utc::now();
    let old = alice_deactivated(&moto, now).await;
    let record = format!("iam-remediation:key:{old}");
    assert!(user_tags(&iam, "alice").await.contains_key(&record));

    // The owner deletes the old key by hand and creates a new one; CloudTrail tells the function.
    delete_key(&iam, "alice", &old).await;
    let new = add_key(&moto, "alice", 0, None).await;
    let event = sample_event(KEYS, "cloudtrail-create-access-key");
    let result = run::<AccessKeys>(&moto, &[], event, now + Duration::hours(1)).await;

    let tags = user_tags(&iam, "alice").await;
    assert!(
        !tags.contains_key(&record),
        "the record of deleted key {old} is still on alice: {tags:?}; the run said: {}",
        said(&result)
    );
    assert_keys(&iam, &[("alice", &new, ACTIVE)], "the new key").await;
}

// == 2. A rotation never leaves AWSCURRENT on a deleted key =================================

#[tokio::test]
async fn a_failed_rotation_puts_awscurrent_back_on_the_working_key() {
    let (moto, iam) = Moto::with_iam();
    let secrets = moto.secrets();
    // Key B works and is what the user's secret holds (an earlier rotation); it is now too old.
    let (b, b_version) = alice_with_working_key_in_her_secret(&moto).await;
    let current = secret_key_id(&moto, "alice", Some("AWSCURRENT")).await;
    assert_eq!(current.as_deref(), Some(b.as_str()));
    // Once the new key is stored (PutSecretValue moved AWSCURRENT to it), reading it back fails.
    moto.after(
        "secretsmanager:PutSecretValue",
        0,
        &json!({"fault": {"action": "secretsmanager:GetSecretValue", "code": "AccessDeniedException", "status": 400, "count": 100}}),
    );

    let result = run::<AccessKeys>(&moto, &[ROTATE], schedule(KEYS), Utc::now()).await;
    moto.clear_faults();

    assert!(
        moto.call_count("secretsmanager:PutSecretValue") >= 1,
        "the scenario needs the new key stored first: {:?}",
        moto.calls()
    );
    let context = format!(
        "the new key is deleted, B untouched; the run said: {}",
        said(&result)
    );
    assert_only_key(&iam, "alice", &b, "Active", &context).await;
    let current = secret_key_id(&moto, "alice", Some("AWSCURRENT")).await;
    assert_eq!(
        current.as_deref(),
        Some(b.as_str()),
        "AWSCURRENT must hold the working key B again, not the deleted new key; the run said: {}",
        said(&result)
    );
    assert_eq!(
        secret_key_id(&moto, "alice", None).await.as_deref(),
        Some(b.as_str()),
        "consumers (GetSecretValue without a stage) must read B again"
    );
    // The labels were put back (UpdateSecretVersionStage): AWSCURRENT is B's own version again.
    let versions = secrets
        .list_secret_version_ids()
        .secret_id("iam-remediation/access-keys/alice")
        .send()
        .await
        .unwrap()
        .versions
        .unwrap_or_default();
    let current: Vec<_> = versions
        .iter()
        .filter(|v| v.version_stages().iter().any(|s| s == "AWSCURRENT"))
        .filter_map(|v| v.version_id())
        .collect();
    assert_eq!(current, vec![b_version.as_str()], "{versions:#?}");
    assert!(
        result.is_err(),
        "a rotation that failed fails the run: {}",
        said(&result)
    );
}

// == 3. A stale record never deletes a key someone else deactivated =========================

/// 3a. Deactivated (and recorded) by this system, reactivated by someone through UpdateAccessKey,
/// which the function hears; later a human deactivates it again. That deactivation is theirs:
/// the quiet-period rule must not delete the key on the old record.
#[tokio::test]
async fn a_key_reactivated_since_its_record_is_never_deleted_on_that_record() {
    let (moto, iam) = Moto::with_iam();
    let key = user_with_key(&moto, "alice", 10, Some(1)).await;
    let t0 = Utc::now();
    // An operator turns the key off through the function: recorded.
    let order = json!({"access_key_id": key, "action": "deactivate"});
    run::<AccessKeys>(&moto, &[], order, t0).await.unwrap();
    assert_keys(&iam, &[("alice", &key, INACTIVE)], "ordered off").await;
    assert!(
        user_tags(&iam, "alice").await[&format!("iam-remediation:key:{key}")]
            .starts_with("deactivated ")
    );

    // Someone turns it back on, and the function hears the call.
    set_key_status(&iam, "alice", &key, "Active").await;
    let event = update_access_key_event("alice", &key, "Active");
    let heard = run::<AccessKeys>(&moto, &[], event, t0 + Duration::hours(1))
        .await
        .unwrap();
    assert!(
        heard.actions.is_empty(),
        "a fresh, used key needs nothing: {heard:#?}"
    );

    // Two days later a human turns it off (CloudTrail tells the function too).
    set_key_status(&iam, "alice", &key, "Inactive").await;
    let event = update_access_key_event("alice", &key, "Inactive");
    run::<AccessKeys>(&moto, &[], event, t0 + Duration::days(2))
        .await
        .unwrap();

    let why = "the key a human deactivated was deleted on this system's stale record";
    assert_kept_after_the_quiet_period(&moto, &key, t0, why).await;
}

/// 3b. Deactivated and recorded, then used again well after the record (someone reactivated it
/// unheard, used it ten days later), then deactivated by a human: not deleted on the old record.
#[tokio::test]
async fn a_key_used_after_its_record_is_never_deleted_on_that_record() {
    let (moto, iam) = Moto::with_iam();
    let t0 = Utc::now();
    let key = alice_deactivated(&moto, t0).await;
    assert_keys(&iam, &[("alice", &key, INACTIVE)], "deactivated").await;

    set_key_status(&iam, "alice", &key, "Active").await;
    moto.set_key(&key, None, Some(Some(t0 + Duration::days(10))));
    set_key_status(&iam, "alice", &key, "Inactive").await;

    let why = "a key used 10 days after the record was deleted on that record";
    assert_kept_after_the_quiet_period(&moto, &key, t0, why).await;
}

// == 4. An administrator's password reset is a fresh start =================================

#[tokio::test]
async fn an_administrators_password_reset_is_not_deleted() {
    let (moto, iam) = Moto::with_iam();
    // An old password, last used 150 days ago.
    user_with_password(&moto, "alice", 200, Some(150)).await;
    // An administrator resets it. IAM (and moto) keep the profile's CreateDate and the user's
    // PasswordLastUsed: only the call itself says the password is new.
    let reset = iam.update_login_profile().user_name("alice");
    let reset = reset.password("Fresh-Start-Password-8!");
    reset.password_reset_required(true).send().await.unwrap();
    let t0 = Utc::now();

    let event = sample_event("console-passwords", "cloudtrail-update-login-profile");
    let result = run::<ConsolePasswords>(&moto, &[], event, t0).await;
    assert!(
        has_password(&iam, "alice").await,
        "the reset password was deleted when its UpdateLoginProfile arrived: {}",
        said(&result)
    );

    for (days, pairs) in [(1, vec![]), (30, vec![("MAX_PASSWORD_UNUSED_DAYS", "90")])] {
        let later = t0 + Duration::days(days);
        let result = run::<ConsolePasswords>(&moto, &pairs, schedule("console-passwords"), later);
        let result = result.await;
        assert!(
            has_password(&iam, "alice").await,
            "the reset password was deleted by the sweep {days} days later: {}",
            said(&result)
        );
    }
}

// == 5. Rotate mode mints no keys for nobody ================================================

#[tokio::test]
async fn rotate_mode_deactivates_an_unused_old_key_instead_of_replacing_it() {
    let (moto, iam) = Moto::with_iam();
    let never_used = user_with_key(&moto, "idle", 200, None).await;
    let long_unused = user_with_key(&moto, "stale", 200, Some(150)).await;
    moto.reset_calls();

    let pairs = [ROTATE, ("MAX_KEY_UNUSED_DAYS", "90")];
    let report = run::<AccessKeys>(&moto, &pairs, schedule(KEYS), Utc::now())
        .await
        .expect("report");

    for (user, key) in [("idle", &never_used), ("stale", &long_unused)] {
        let action = action_on(&report, key);
        assert_eq!(
            (action.action, action.status),
            ("deactivate-access-key", Status::Applied),
            "{user}: {action:#?}"
        );
        assert_only_key(&iam, user, key, "Inactive", "deactivated, not replaced").await;
        let current = secret_key_id(&moto, user, Some("AWSCURRENT")).await;
        assert_eq!(current, None, "{user}");
    }
    assert_eq!(moto.calls().get("iam:CreateAccessKey"), None);
}

// == 6. Names Secrets Manager refuses; a report row that does not parse =====================

/// IAM allows `,` in user names; Secrets Manager names allow only letters, digits and /_+=.@-
/// (the test bed answers ValidationException as Secrets Manager does). Known before any key is
/// created, so no key is made for nobody to hold.
#[tokio::test]
async fn a_user_name_secrets_manager_refuses_is_skipped_before_any_key_is_created() {
    let (moto, iam) = Moto::with_iam();
    let refused = user_with_key(&moto, "svc,ci", 200, Some(1)).await;
    let alice = user_with_key(&moto, "alice", 200, Some(1)).await;
    moto.reset_calls();

    let users = json!({"users": ["svc,ci", "alice"]});
    let result = run::<AccessKeys>(&moto, &[ROTATE], users, Utc::now()).await;

    let created_for: Vec<String> = moto
        .requests("iam:CreateAccessKey")
        .into_iter()
        .filter_map(|params| params.get("UserName").cloned())
        .collect();
    assert!(
        !created_for.iter().any(|user| user == "svc,ci"),
        "CreateAccessKey was called for svc,ci ({created_for:?}); the run said: {}",
        said(&result)
    );
    let report = result.expect("a skipped user is not an error");
    let action = action_on(&report, &refused);
    assert_eq!(action.status, Status::Skipped, "{action:#?}");
    assert!(
        action.reason.contains("iam-remediation/access-keys/svc,ci"),
        "{}",
        action.reason
    );
    assert_only_key(&iam, "svc,ci", &refused, "Active", "no key made").await;
    // The other user is rotated as usual.
    assert_eq!(action_on(&report, &alice).status, Status::Applied);
    assert_eq!(key_statuses(&iam, "alice").await.len(), 2);
    let current = secret_key_id(&moto, "alice", Some("AWSCURRENT")).await;
    assert!(current.is_some());
}

/// 6b. moto writes the credential report without CSV quoting, so a user name with a comma makes
/// its row two fields longer than the header (the name and the ARN each split; checked below). One unreadable row never stops a
/// sweep: the other users are handled, that user is read live, and the report's notes say so.
#[tokio::test]
async fn an_unreadable_credential_report_row_does_not_stop_the_sweep() {
    let (moto, iam) = Moto::with_iam();
    let odd = user_with_key(&moto, "svc,ci", 200, Some(1)).await;
    let alice = user_with_key(&moto, "alice", 200, Some(1)).await;
    // The scenario: the report has a row that does not parse.
    iam.generate_credential_report().send().await.unwrap();
    let content = iam
        .get_credential_report()
        .send()
        .await
        .unwrap()
        .content
        .unwrap();
    let text = String::from_utf8(content.into_inner()).unwrap();
    let header_fields = text.lines().next().unwrap().split(',').count();
    let odd_row = text.lines().find(|l| l.starts_with("svc,ci")).unwrap();
    assert_eq!(odd_row.split(',').count(), header_fields + 2, "{odd_row}");

    let result = run::<AccessKeys>(&moto, &[], schedule(KEYS), Utc::now()).await;

    let report = result.expect("one unreadable row must not stop the sweep");
    let read_live = format!("the user of the unreadable row is read live: {report:#?}");
    let expected = [
        ("alice", alice.as_str(), INACTIVE),
        ("svc,ci", &odd, INACTIVE),
    ];
    assert_keys(&iam, &expected, &read_live).await;
    assert!(
        report.notes.iter().any(|note| note.contains("svc,ci")),
        "the notes say which row was read live: {:?}",
        report.notes
    );
}

// == 7. IAM's eventual consistency (inline-policies) ========================================

/// alice, with an inline policy, swept while AttachUserPolicy answers NoSuchEntity `times`
/// times: what the run came to, and then alice's inline policies (names) and attached managed
/// policies (ARNs).
async fn attach_not_found(times: u32) -> (Result<Report, Error>, Vec<String>, Vec<String>) {
    let moto = Moto::start();
    let (iam, alice) = (moto.iam(), Principal::user("alice"));
    user_with_policy(&iam, "alice", "s3-read", "s3:GetObject").await;
    moto.inject_fault("iam:AttachUserPolicy", "NoSuchEntity", 404, times, 0);
    let event = schedule("inline-policies");
    let result = run::<InlinePolicies>(&moto, &[], event, Utc::now()).await;
    let (inline, attached) = (
        inline_names(&iam, &alice).await,
        attached(&iam, &alice).await,
    );
    (result, inline, attached)
}

/// 7a. AttachUserPolicy right after our own CreatePolicy answers NoSuchEntity once (the new
/// policy has not reached every IAM replica yet): retried, and the conversion succeeds.
#[tokio::test]
async fn no_such_entity_right_after_our_own_create_policy_is_retried() {
    let (result, inline, attached) = attach_not_found(1).await;

    let report = result.expect("a retried conversion is not an error");
    assert_eq!(
        outcomes(&report),
        [row(
            "alice",
            "convert-inline-policy",
            "s3-read",
            Status::Applied
        )]
    );
    assert!(inline.is_empty(), "{inline:?}");
    assert_eq!(attached, [managed_arn("user+alice+s3-read")]);
}

/// 7b. NoSuchEntity that persists after our own CreatePolicy is a failure, never "already
/// gone"; the run is a Lambda error, and the inline policy is still there.
#[tokio::test]
async fn persistent_no_such_entity_after_our_own_create_policy_fails_and_keeps_the_inline_policy() {
    let (result, inline, attached) = attach_not_found(10).await;

    assert_eq!(inline, ["s3-read"], "the inline policy is kept");
    assert!(attached.is_empty(), "{attached:?}");
    let error = result.expect_err("a conversion that could not attach must fail the run");
    let message = error.to_string();
    assert!(
        message.contains("AttachUserPolicy") && !message.contains("already gone"),
        "{message}"
    );
}

// == 8. IAM names and user/role tag keys are case-insensitive ===============================

/// 8a. IAM user names are unique regardless of case ("you cannot create groups named both ADMINS
/// and admins", IAM User Guide, IAM name requirements): `breakglass-*` protects `BreakGlass-1`.
/// 8b. "Tag key values for IAM users and roles are not case sensitive, but case is preserved"
/// (IAM User Guide, Tagging IAM resources, Case sensitivity; the test bed keys user and role
/// tags that way): `IAM-Remediation:Exempt=true` is the exempt tag.
#[tokio::test]
async fn exemptions_match_names_and_tag_keys_regardless_of_case() {
    for (user, pairs) in [
        ("BreakGlass-1", &[("EXEMPT_PRINCIPALS", "breakglass-*")][..]),
        ("alice", &[]),
    ] {
        let (moto, iam) = Moto::with_iam();
        let key = user_with_key(&moto, user, 200, Some(1)).await;
        if pairs.is_empty() {
            tag_user(&iam, user, "IAM-Remediation:Exempt", "true").await;
            // As in IAM, the same key in another case is the same tag, not a second one.
            tag_user(&iam, user, "IAM-REMEDIATION:EXEMPT", "true").await;
            assert_eq!(user_tags(&iam, user).await.len(), 1);
        }

        let result = run::<AccessKeys>(&moto, pairs, schedule(KEYS), Utc::now()).await;

        let why = format!("the exempt user {user}'s key was deactivated");
        assert_keys_after(&moto, &[(user, &key, ACTIVE)], &why, &result).await;
        let report = result.unwrap();
        let action = action_on(&report, &key);
        assert_eq!(action.status, Status::Skipped);
        if !pairs.is_empty() {
            assert!(action.reason.contains("breakglass-*"), "{}", action.reason);
        }
    }
}

// == 9. Never lock every user out at once (password-policy) =================================

/// MaxPasswordAge and HardExpiry as IAM holds them (`None`: not set).
async fn max_age_and_hard_expiry(iam: &aws_sdk_iam::Client) -> (Option<i32>, bool) {
    let policy = account_password_policy(iam).await.unwrap();
    // moto writes 0 where AWS leaves a field out: both mean "not set".
    (
        policy.max_password_age.filter(|age| *age > 0),
        policy.hard_expiry.unwrap_or(false),
    )
}

/// The floor in every field but the ones given; HardExpiry on.
async fn set_hard_expiry_policy(iam: &aws_sdk_iam::Client, max_age: Option<i32>) {
    iam.update_account_password_policy()
        .minimum_password_length(14)
        .require_uppercase_characters(true)
        .require_lowercase_characters(true)
        .require_numbers(true)
        .require_symbols(true)
        .allow_users_to_change_password(true)
        .set_max_password_age(max_age)
        .password_reuse_prevention(24)
        .hard_expiry(true)
        .send()
        .await
        .unwrap();
    assert_eq!(max_age_and_hard_expiry(iam).await, (max_age, true));
}

/// 9a. HardExpiry on, no MaxPasswordAge: adding the floor's 90 days would expire every password
/// older than that at once, and HardExpiry means those users cannot even set a new one.
/// 9b. HardExpiry on with MaxPasswordAge 180: not shortened to the floor's 90.
#[tokio::test]
async fn a_hard_expiry_policy_max_password_age_is_neither_added_nor_shortened() {
    for max_age in [None, Some(180)] {
        let (moto, iam) = Moto::with_iam();
        set_hard_expiry_policy(&iam, max_age).await;

        let event = schedule("password-policy");
        let result = run::<PasswordPolicies>(&moto, &[], event, Utc::now()).await;

        assert_eq!(
            max_age_and_hard_expiry(&iam).await,
            (max_age, true),
            "MaxPasswordAge {max_age:?} was changed under HardExpiry; the run said: {}",
            said(&result)
        );
        let report = result.expect("report");
        let skipped = report
            .actions
            .iter()
            .any(|a| a.status == Status::Skipped && a.reason.contains("HardExpiry"));
        assert!(skipped, "{report:#?}");
    }
}

// == 10. Delete only after a re-check ========================================================

/// A key this system deactivated 40 days ago is reactivated by someone between the facts read
/// and the deletion (the test bed turns it back on right after the sweep's ListAccessKeys):
/// a key found active right before the deletion is never deleted.
#[tokio::test]
async fn a_key_found_active_right_before_deletion_is_never_deleted() {
    let moto = Moto::start();
    let now = Utc::now();
    let key = alice_deactivated(&moto, now - Duration::days(40)).await;
    assert_keys(&moto.iam(), &[("alice", &key, INACTIVE)], "deactivated").await;
    moto.after(
        "iam:ListAccessKeys",
        0,
        &json!({"set_key_status": {"access_key_id": key, "status": "Active"}}),
    );

    let result = run::<AccessKeys>(&moto, &[], schedule(KEYS), now).await;

    let why = "a key reactivated before the deletion was deleted";
    assert_keys_after(&moto, &[("alice", &key, ACTIVE)], why, &result).await;
}
