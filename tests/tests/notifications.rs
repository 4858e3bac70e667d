//! Warnings before acting (`WARN_DAYS`, `OWNER_TAG`) and notifications (`NOTIFY_TOPIC_ARN`),
//! against moto's SNS with an SQS queue subscribed to the topic to read what was published.

#![allow(clippy::unwrap_used, reason = "a test fails loudly")]

use chrono::{Duration, Utc};
use iam_remediation::{Report, Status};
use integration_tests::{
    ACTIVE, INACTIVE, Inbox, Moto, Published, action_on, add_key, assert_keys,
    assert_too_many_actions, delete_key, exposed, has_password, invoke, notifying, schedule,
    sweep_after, tag_user, user_tags, user_with_key, user_with_password,
};

fn status_of(report: &Report, target: &str) -> Status {
    action_on(report, target).status
}

/// A fresh test bed where alice has one key, `age_days` old and last used `last_used_days` ago,
/// with a notification topic and a queue to read it: the test bed, an IAM client, the queue
/// and alice's key.
async fn alice_notified(
    age_days: i64,
    last_used_days: Option<i64>,
) -> (Moto, aws_sdk_iam::Client, Inbox, String) {
    let (moto, iam) = Moto::with_iam();
    let inbox = moto.inbox().await;
    let key = user_with_key(&moto, "alice", age_days, last_used_days).await;
    (moto, iam, inbox, key)
}

/// The only message published since the last read: access-keys' summary of one applied action.
async fn one_applied(inbox: &Inbox) -> Published {
    let mut published = inbox.read().await;
    assert_eq!(published.len(), 1, "{published:#?}");
    let summary = published.remove(0);
    let subject = "access-keys: 1 applied, 0 warned, 0 skipped, 0 failed";
    assert_eq!(summary.subject, subject);
    summary
}

/// Whether alice's warning about `key` is recorded in IAM.
async fn warned(moto: &Moto, key: &str) -> bool {
    let record = format!("iam-remediation:warned:access-keys:{key}");
    user_tags(&moto.iam(), "alice").await.contains_key(&record)
}

#[tokio::test]
async fn a_warned_key_stays_active_until_its_deadline_then_is_deactivated() {
    let (moto, iam, inbox, key) = alice_notified(100, Some(1)).await;
    tag_user(&iam, "alice", "owner", "alice@example.com").await;
    let function = moto.access_keys(&notifying(&inbox, &[("WARN_DAYS", "7")]));
    let now = Utc::now();

    // Day 0: warned, not deactivated; the owner gets a message of their own.
    let report = sweep_after(&function, now, 0).await.unwrap();
    assert_eq!(status_of(&report, &key), Status::Warned, "{report:#?}");
    let reason = &report.actions[0].reason;
    let deadline = (now + Duration::days(7)).date_naive().to_string();
    assert!(
        reason.contains(&deadline),
        "the reason gives the date: {reason}"
    );
    assert_keys(&iam, &[("alice", &key, ACTIVE)], "key").await;
    assert!(warned(&moto, &key).await, "the warning is recorded in IAM");
    let published = inbox.read().await;
    assert_eq!(published.len(), 2, "{published:#?}");
    let summary = &published[0];
    assert_eq!(
        summary.subject,
        "access-keys: 0 applied, 1 warned, 0 skipped, 0 failed"
    );
    assert_eq!(summary.attributes["outcome"], "warned");
    assert_eq!(summary.attributes["function"], "access-keys");
    assert_eq!(summary.attributes["trigger"], "schedule");
    let personal = &published[1];
    assert_eq!(personal.attributes["owner"], "alice@example.com");
    assert_eq!(personal.attributes["principal"], "alice");
    assert_eq!(personal.attributes["action"], "deactivate-access-key");
    assert!(
        personal.body.contains(&key),
        "the owner's message names the key: {}",
        personal.body
    );
    assert!(personal.body.contains(&deadline), "{}", personal.body);
    assert!(personal.body.contains("To avoid it"), "{}", personal.body);

    // Day 3: still warned, still active; the warning is not renewed.
    let report = sweep_after(&function, now, 3).await.unwrap();
    assert_eq!(status_of(&report, &key), Status::Warned);
    assert!(
        report.actions[0].reason.contains(&deadline),
        "the same deadline"
    );
    assert_keys(&iam, &[("alice", &key, ACTIVE)], "key").await;
    inbox.read().await;

    // Day 8: the warning is old enough: deactivated, and the summary names it.
    let report = sweep_after(&function, now, 8).await.unwrap();
    assert_eq!(status_of(&report, &key), Status::Applied, "{report:#?}");
    assert_keys(&iam, &[("alice", &key, INACTIVE)], "key").await;
    // No warning any more.
    let summary = one_applied(&inbox).await;
    assert!(summary.body.contains(&key), "{}", summary.body);
    assert_eq!(summary.attributes["outcome"], "ok");
    assert!(
        !warned(&moto, &key).await,
        "the warning record goes once acted on"
    );
}

#[tokio::test]
async fn a_user_who_rotated_before_the_deadline_is_left_alone_and_loses_the_warning() {
    let (moto, iam) = Moto::with_iam();
    let old = user_with_key(&moto, "alice", 100, Some(1)).await;
    let function = moto.access_keys(&[("WARN_DAYS", "7")]);
    let now = Utc::now();
    sweep_after(&function, now, 0).await.unwrap();
    assert!(warned(&moto, &old).await);

    // The owner rotates by hand: a new key, the old one deleted.
    let new = add_key(&moto, "alice", 0, Some(0)).await;
    delete_key(&iam, "alice", &old).await;

    let report = sweep_after(&function, now, 8).await.unwrap();
    assert!(report.actions.is_empty(), "{report:#?}");
    assert_keys(&iam, &[("alice", &new, ACTIVE)], "new").await;
    assert!(
        user_tags(&iam, "alice").await.is_empty(),
        "the stale warning is removed"
    );
}

#[tokio::test]
async fn an_exposed_key_is_never_delayed_and_the_summary_says_so() {
    let (moto, iam, inbox, key) = alice_notified(3, Some(0)).await;
    let function = moto.access_keys(&notifying(&inbox, &[("WARN_DAYS", "30")]));
    let report = invoke(&function, exposed(&[&key])).await.unwrap();

    assert_eq!(status_of(&report, &key), Status::Applied);
    assert_keys(&iam, &[("alice", &key, INACTIVE)], "key").await;
    let summary = one_applied(&inbox).await;
    assert_eq!(summary.attributes["trigger"], "health");
    assert!(
        summary.body.contains("reported exposed by AWS Health"),
        "{}",
        summary.body
    );
}

#[tokio::test]
async fn a_clean_sweep_publishes_nothing() {
    let (moto, _, inbox, _) = alice_notified(10, Some(0)).await;
    for report in [
        invoke(
            &moto.access_keys(&notifying(&inbox, &[])),
            schedule("access-keys"),
        )
        .await,
        invoke(
            &moto.console_passwords(&notifying(&inbox, &[])),
            schedule("console-passwords"),
        )
        .await,
        invoke(
            &moto.inline_policies(&notifying(&inbox, &[])),
            schedule("inline-policies"),
        )
        .await,
    ] {
        assert!(report.unwrap().actions.is_empty());
    }
    assert!(inbox.read().await.is_empty());
}

#[tokio::test]
async fn the_forecast_names_what_reaches_its_limit_within_a_week() {
    let (moto, _, inbox, _) = alice_notified(200, Some(1)).await;
    let soon = user_with_key(&moto, "bob", 86, Some(1)).await;
    let later = user_with_key(&moto, "carol", 60, Some(1)).await;
    let function = moto.access_keys(&notifying(&inbox, &[]));

    invoke(&function, schedule("access-keys")).await.unwrap();

    let published = inbox.read().await;
    let body = &published[0].body;
    let (_, forecast) = body.split_once("Coming up in the next 7 days:").unwrap();
    assert!(
        forecast.contains(&soon),
        "bob's key reaches 90 days in 4: {body}"
    );
    assert!(forecast.contains("deactivate-access-key"), "{body}");
    assert!(
        !forecast.contains(&later),
        "carol's is 30 days away: {body}"
    );
}

#[tokio::test]
async fn a_publish_that_fails_is_a_run_error_and_leaves_iam_as_the_rule_decided() {
    let (moto, iam, inbox, key) = alice_notified(200, Some(1)).await;
    moto.inject_fault("sns:Publish", "AuthorizationError", 403, 10, 0);

    let error = invoke(
        &moto.access_keys(&notifying(&inbox, &[])),
        schedule("access-keys"),
    )
    .await
    .unwrap_err();

    assert!(error.to_string().contains("not published"), "{error}");
    assert!(error.to_string().contains("AuthorizationError"), "{error}");
    assert_keys(&iam, &[("alice", &key, INACTIVE)], "key").await;
}

#[tokio::test]
async fn console_passwords_warn_first_then_delete() {
    let (moto, iam) = Moto::with_iam();
    let inbox = moto.inbox().await;
    user_with_password(&moto, "dave", 200, Some(150)).await;
    tag_user(&iam, "dave", "team", "platform").await;
    let function = moto.console_passwords(&notifying(
        &inbox,
        &[("WARN_DAYS", "7"), ("OWNER_TAG", "team")],
    ));
    let now = Utc::now();

    let report = sweep_after(&function, now, 0).await.unwrap();
    assert_eq!(
        status_of(&report, "login-profile"),
        Status::Warned,
        "{report:#?}"
    );
    assert!(has_password(&iam, "dave").await);
    let published = inbox.read().await;
    assert_eq!(
        published[1].attributes["owner"], "platform",
        "OWNER_TAG names the tag"
    );
    assert_eq!(published[1].attributes["action"], "delete-login-profile");

    let report = sweep_after(&function, now, 3).await.unwrap();
    assert_eq!(status_of(&report, "login-profile"), Status::Warned);
    assert!(has_password(&iam, "dave").await);

    let report = sweep_after(&function, now, 8).await.unwrap();
    assert_eq!(
        status_of(&report, "login-profile"),
        Status::Applied,
        "{report:#?}"
    );
    assert!(!has_password(&iam, "dave").await);
}

#[tokio::test]
async fn max_actions_counts_warnings_like_changes() {
    let (moto, iam) = Moto::with_iam();
    for user in ["a", "b", "c"] {
        user_with_key(&moto, user, 100, Some(1)).await;
    }
    let error = invoke(
        &moto.access_keys(&[("WARN_DAYS", "7"), ("MAX_ACTIONS", "1")]),
        schedule("access-keys"),
    )
    .await
    .expect_err("three warnings set three deadlines: more than MAX_ACTIONS=1");
    assert_too_many_actions(&error, 3, 1, "three warnings");
    for user in ["a", "b", "c"] {
        assert!(
            user_tags(&iam, user).await.is_empty(),
            "{user}: nothing recorded"
        );
    }
}

#[tokio::test]
async fn a_dry_run_that_warns_publishes_and_records_nothing() {
    let (moto, iam, inbox, _) = alice_notified(100, Some(1)).await;
    let function = moto.access_keys(&notifying(
        &inbox,
        &[("WARN_DAYS", "7"), ("DRY_RUN", "true")],
    ));

    let report = invoke(&function, schedule("access-keys")).await.unwrap();

    assert_eq!(report.count(Status::Warned), 1);
    assert!(
        user_tags(&iam, "alice").await.is_empty(),
        "a dry run records nothing"
    );
    assert_eq!(
        inbox.read().await.len(),
        2,
        "but it tells the owner what would come"
    );
}
