//! Issue 19, scenario 1: replacing a lost MFA device never locks its user out.
//!
//! `MFA_GRACE_DAYS=30`; alice's console password was set 200 days ago (and is in daily use) and
//! she has a virtual MFA device. She loses her phone, her administrator deactivates the device
//! (`DeactivateMFADevice`, then usually `DeleteVirtualMFADevice`), and she needs her password to
//! sign in and register the new one. The MFA grace runs from the later of the password's date and
//! the device's removal, recorded in a user tag from the event's time; the event itself never
//! deletes.

#![allow(clippy::unwrap_used, reason = "a test fails loudly")]

use chrono::{DateTime, Duration, Utc};
use iam_remediation::{Error, Report, Status};
use integration_tests::{
    Moto, action_for, days_ago, enable_mfa, has_password, iam_call, invoke, invoke_at, iso,
    made_at, outcomes, row, schedule, snapshot, user_tags, user_with_password, with,
};
use serde_json::{Value, json};

const FUNCTION: &str = "console-passwords";
const LOGIN_PROFILE: &str = "login-profile";
/// The user tag in which the time of a user's MFA device removal is recorded.
const MFA_REMOVED_TAG: &str = "iam-remediation:mfa-removed";
const MFA_RULE: &[(&str, &str)] = &[("MFA_GRACE_DAYS", "30")];

/// The serial number (ARN) of a virtual MFA device named `name` in moto's account.
fn serial(name: &str) -> String {
    format!("arn:aws:iam::123456789012:mfa/{name}")
}

/// A user whose console password was set 200 days ago and used yesterday (so the unused rule
/// stays out of it), with a virtual MFA device named after the user.
async fn user_with_mfa(moto: &Moto, user: &str) {
    user_with_password(moto, user, 200, Some(1)).await;
    enable_mfa(&moto.iam(), user).await;
}

/// What the administrator does when `user` lost the phone: deactivates the device (and deletes
/// it, as the console's "Remove" does) in IAM, and the `DeactivateMFADevice` CloudTrail event
/// of that call, made at `at`.
async fn remove_device(moto: &Moto, user: &str, at: DateTime<Utc>) -> Value {
    let iam = moto.iam();
    iam.deactivate_mfa_device()
        .user_name(user)
        .serial_number(serial(user))
        .send()
        .await
        .expect("DeactivateMFADevice");
    iam.delete_virtual_mfa_device()
        .serial_number(serial(user))
        .send()
        .await
        .expect("DeleteVirtualMFADevice");
    deactivated(user, at)
}

/// The CloudTrail event of an administrator's `DeactivateMFADevice` of `user`'s device at `at`.
fn deactivated(user: &str, at: DateTime<Utc>) -> Value {
    let device = json!({"userName": user, "serialNumber": serial(user)});
    made_at(iam_call("DeactivateMFADevice", device), at)
}

/// The CloudTrail event of an administrator's `DeleteVirtualMFADevice` of `user`'s device at `at`
/// (it names only the device).
fn deleted_device(user: &str, at: DateTime<Utc>) -> Value {
    let device = json!({"serialNumber": serial(user)});
    made_at(iam_call("DeleteVirtualMFADevice", device), at)
}

/// The recorded removal time of `user`'s MFA device, if any.
async fn removal_record(moto: &Moto, user: &str) -> Option<String> {
    user_tags(&moto.iam(), user).await.remove(MFA_REMOVED_TAG)
}

/// What the function does with `event` with the MFA rule on.
async fn handle(moto: &Moto, event: Value) -> Report {
    invoke(&moto.console_passwords(MFA_RULE), event)
        .await
        .unwrap()
}

/// Handles `event` with the MFA rule on and asserts that it took no action and changed nothing
/// in IAM (`why` says why it should not).
async fn handle_changes_nothing(moto: &Moto, event: Value, why: &str) {
    let before = snapshot(&moto.iam()).await;
    let report = handle(moto, event).await;
    assert!(report.actions.is_empty(), "{why}: {report:#?}");
    assert_eq!(snapshot(&moto.iam()).await, before, "{why}");
}

/// Asserts that `report`'s only action deleted `user`'s password, for `reason`, and that the
/// password is gone.
async fn assert_password_deleted(moto: &Moto, report: &Report, user: &str, reason: &str) {
    assert_eq!(
        outcomes(report),
        vec![row(
            user,
            "delete-login-profile",
            LOGIN_PROFILE,
            Status::Applied
        )]
    );
    assert_eq!(action_for(report, user, LOGIN_PROFILE).reason, reason);
    assert!(!has_password(&moto.iam(), user).await);
}

/// A fresh test bed where alice (as [`user_with_mfa`]) lost her device: it was removed two hours
/// ago and the function handled that event. The test bed and the removal's time.
async fn alice_lost_her_device() -> (Moto, DateTime<Utc>) {
    let moto = Moto::start();
    user_with_mfa(&moto, "alice").await;
    let removed = Utc::now() - Duration::hours(2);
    let event = remove_device(&moto, "alice", removed).await;
    handle(&moto, event).await;
    (moto, removed)
}

/// A sweep of the account at `at` with the MFA rule on.
async fn sweep_at(moto: &Moto, at: DateTime<Utc>) -> Report {
    let function = moto.console_passwords(MFA_RULE);
    invoke_at(&function, schedule(FUNCTION), at).await.unwrap()
}

#[tokio::test]
async fn the_removal_event_deletes_nothing_and_records_the_events_time() {
    let moto = Moto::start();
    user_with_mfa(&moto, "alice").await;
    user_with_mfa(&moto, "bob").await;
    // The event reaches the function some time after the call: the call's time is recorded.
    let removed = Utc::now() - Duration::hours(2);
    let event = remove_device(&moto, "alice", removed).await;

    let report = handle(&moto, event.clone()).await;

    assert!(report.actions.is_empty(), "{report:#?}");
    assert!(report.errors.is_empty(), "{report:#?}");
    assert_eq!(report.examined, 1);
    assert!(
        has_password(&moto.iam(), "alice").await,
        "alice can still sign in to register her new device"
    );
    assert_eq!(removal_record(&moto, "alice").await, Some(iso(removed)));
    assert_eq!(
        removal_record(&moto, "bob").await,
        None,
        "only the event's user"
    );

    handle_changes_nothing(&moto, event, "the same event again ends in the same state").await;
}

#[tokio::test]
async fn the_grace_runs_from_the_removal_then_the_password_goes() {
    let (moto, removed) = alice_lost_her_device().await;

    // Within 30 days of the removal a sweep keeps the password.
    let report = sweep_at(&moto, removed + Duration::days(29)).await;
    assert!(report.actions.is_empty(), "{report:#?}");
    assert!(has_password(&moto.iam(), "alice").await);
    assert_eq!(removal_record(&moto, "alice").await, Some(iso(removed)));

    // After 30 days without a new device it goes, and so does the record.
    let report = sweep_at(&moto, removed + Duration::days(31)).await;
    assert_password_deleted(
        &moto,
        &report,
        "alice",
        "no MFA device 31 days after the user's MFA device was removed (MFA grace 30 days)",
    )
    .await;
    assert_eq!(removal_record(&moto, "alice").await, None);
}

#[tokio::test]
async fn a_new_device_keeps_the_password_and_removes_the_record() {
    let (moto, removed) = alice_lost_her_device().await;
    assert_eq!(removal_record(&moto, "alice").await, Some(iso(removed)));

    // Alice registers her new phone.
    enable_mfa(&moto.iam(), "alice").await;

    let report = sweep_at(&moto, removed + Duration::days(31)).await;
    assert!(report.actions.is_empty(), "{report:#?}");
    assert!(report.errors.is_empty(), "{report:#?}");
    assert!(has_password(&moto.iam(), "alice").await);
    assert_eq!(
        removal_record(&moto, "alice").await,
        None,
        "a record of a removal no longer relevant is removed"
    );
}

#[tokio::test]
async fn a_user_who_never_had_mfa_is_still_deleted() {
    let moto = Moto::start();
    user_with_password(&moto, "carol", 200, Some(1)).await;

    let report = sweep_at(&moto, Utc::now()).await;

    assert_password_deleted(
        &moto,
        &report,
        "carol",
        "no MFA device 200 days after the password was set (MFA grace 30 days)",
    )
    .await;
}

#[tokio::test]
async fn the_delete_virtual_mfa_device_event_changes_nothing_after_the_deactivation() {
    let moto = Moto::start();
    user_with_mfa(&moto, "alice").await;
    let removed = Utc::now() - Duration::hours(2);
    let deactivate = remove_device(&moto, "alice", removed).await;
    let function = moto.console_passwords(MFA_RULE);

    // The console's removal: both calls, each an event. IAM deletes only a virtual device no
    // user has, so the deactivation is the removal, and the deletion after it names only the
    // device.
    invoke(&function, deactivate).await.unwrap();
    let before = snapshot(&moto.iam()).await;
    let report = invoke(
        &function,
        deleted_device("alice", removed + Duration::seconds(1)),
    )
    .await
    .unwrap();
    assert!(report.actions.is_empty(), "{report:#?}");
    assert!(report.errors.is_empty(), "{report:#?}");
    assert_eq!(snapshot(&moto.iam()).await, before);
    assert!(has_password(&moto.iam(), "alice").await);
    assert_eq!(removal_record(&moto, "alice").await, Some(iso(removed)));

    // Its grace still runs from the deactivation.
    let report = sweep_at(&moto, removed + Duration::days(29)).await;
    assert!(report.actions.is_empty(), "{report:#?}");
    assert!(has_password(&moto.iam(), "alice").await);
}

#[tokio::test]
async fn a_removal_for_a_user_without_a_password_needs_nothing() {
    let moto = Moto::start();
    integration_tests::create_user(&moto.iam(), "dave").await;
    enable_mfa(&moto.iam(), "dave").await;
    let event = remove_device(&moto, "dave", Utc::now()).await;

    handle_changes_nothing(&moto, event, "no record").await;
}

#[tokio::test]
async fn with_the_mfa_rule_off_a_removal_changes_nothing() {
    let moto = Moto::start();
    // Never used in 200 days: the unused rule would delete it, but not on this event.
    user_with_password(&moto, "erin", 200, None).await;
    enable_mfa(&moto.iam(), "erin").await;
    let event = remove_device(&moto, "erin", Utc::now()).await;
    let before = snapshot(&moto.iam()).await;

    for pairs in [&[][..], MFA_RULE] {
        let report = invoke(&moto.console_passwords(pairs), event.clone())
            .await
            .unwrap();
        assert!(report.actions.is_empty(), "{pairs:?}: {report:#?}");
        assert!(has_password(&moto.iam(), "erin").await, "{pairs:?}");
    }
    // With the rule on, only the record was written.
    let mut after = snapshot(&moto.iam()).await;
    let tags = after["users"]["erin"]["tags"].as_object_mut().unwrap();
    assert!(tags.remove(MFA_REMOVED_TAG).is_some(), "{after:#?}");
    assert_eq!(after, before);
}

#[tokio::test]
async fn a_removal_event_naming_no_user_is_a_clear_error_that_changes_nothing() {
    let moto = Moto::start();
    user_with_mfa(&moto, "alice").await;
    remove_device(&moto, "alice", Utc::now()).await;
    let before = snapshot(&moto.iam()).await;

    // No userName, and a caller that is no IAM user (IAM would apply a call without a user name
    // to the calling IAM user): nobody to act on.
    let event = iam_call(
        "DeactivateMFADevice",
        json!({"serialNumber": serial("alice")}),
    );
    let event = with(
        event,
        "/detail/userIdentity",
        json!({"type": "AssumedRole", "arn": "arn:aws:sts::123456789012:assumed-role/admin/s"}),
    );
    let result = invoke(&moto.console_passwords(MFA_RULE), event).await;

    let Err(Error::InvalidEvent(message)) = &result else {
        panic!("expected an invalid event, got {result:#?}")
    };
    assert!(
        message.contains("DeactivateMFADevice names no user"),
        "{message}"
    );
    assert_eq!(snapshot(&moto.iam()).await, before);
    assert!(has_password(&moto.iam(), "alice").await);
}

#[tokio::test]
async fn a_removal_event_without_a_user_name_is_about_the_calling_user() {
    let moto = Moto::start();
    user_with_mfa(&moto, "admin").await;
    let removed = Utc::now() - Duration::hours(1);
    remove_device(&moto, "admin", removed).await;

    // IAM applies DeactivateMFADevice without a UserName to the calling IAM user (the sample's
    // caller is the IAM user admin).
    let event = iam_call(
        "DeactivateMFADevice",
        json!({"serialNumber": serial("admin")}),
    );
    let report = handle(&moto, made_at(event, removed)).await;

    assert!(report.actions.is_empty(), "{report:#?}");
    assert!(has_password(&moto.iam(), "admin").await);
    assert_eq!(removal_record(&moto, "admin").await, Some(iso(removed)));
}

#[tokio::test]
async fn the_clock_starts_at_the_calls_time_not_the_events_arrival() {
    let moto = Moto::start();
    user_with_mfa(&moto, "alice").await;
    // The call was made 10 days ago; the event is handled only now.
    let removed = days_ago(10);
    let event = remove_device(&moto, "alice", removed).await;
    handle(&moto, event).await;
    assert_eq!(removal_record(&moto, "alice").await, Some(iso(removed)));

    let report = sweep_at(&moto, Utc::now() + Duration::days(19)).await;
    assert!(report.actions.is_empty(), "{report:#?}");
    let report = sweep_at(&moto, Utc::now() + Duration::days(21)).await;
    assert_eq!(report.count(Status::Applied), 1, "{report:#?}");
    assert!(!has_password(&moto.iam(), "alice").await);
}

#[tokio::test]
async fn a_user_who_keeps_another_device_needs_no_record() {
    let moto = Moto::start();
    user_with_mfa(&moto, "alice").await;
    // IAM allows a user several MFA devices: alice registered a second one.
    let iam = moto.iam();
    let second = iam
        .create_virtual_mfa_device()
        .virtual_mfa_device_name("alice-spare")
        .send()
        .await
        .unwrap();
    iam.enable_mfa_device()
        .user_name("alice")
        .serial_number(second.virtual_mfa_device.unwrap().serial_number)
        .authentication_code1("123456")
        .authentication_code2("654321")
        .send()
        .await
        .unwrap();
    let event = remove_device(&moto, "alice", Utc::now()).await;

    handle_changes_nothing(&moto, event, "she still has MFA").await;
}

#[tokio::test]
async fn the_record_of_a_password_deleted_by_someone_else_goes_at_the_next_sweep() {
    let moto = Moto::start();
    user_with_mfa(&moto, "alice").await;
    let event = remove_device(&moto, "alice", Utc::now()).await;
    handle(&moto, event).await;
    assert!(removal_record(&moto, "alice").await.is_some());
    // Her administrator deletes the password instead.
    moto.iam()
        .delete_login_profile()
        .user_name("alice")
        .send()
        .await
        .unwrap();

    let report = sweep_at(&moto, Utc::now()).await;

    assert!(report.actions.is_empty(), "{report:#?}");
    assert!(report.errors.is_empty(), "{report:#?}");
    assert_eq!(removal_record(&moto, "alice").await, None);
}
