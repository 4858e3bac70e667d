//! Warnings that protect owners without flooding them (issue 19): an owner hears of a warning
//! when it is first recorded and once more before its deadline, never for a warning that was not
//! recorded; a dry run says so; `MAX_ACTIONS` counts warnings; an SNS message stays under SNS's
//! size limit and the run keeps time for its messages; a warning that cannot be recorded never
//! blocks the action. Against moto's SNS, with an SQS queue subscribed to the topic.

#![allow(clippy::unwrap_used, reason = "a test fails loudly")]

use std::time::{Duration as StdDuration, SystemTime};

use access_keys::AccessKeys;
use chrono::{DateTime, Duration, Utc};
use iam_remediation::Status;
use integration_tests::{
    ACTIVE, Deployed, INACTIVE, Inbox, Instance, Moto, Published, action_on, assert_keys,
    assert_too_many_actions, has_password, invoke, iso, notifying, schedule, sweep_after, tag_user,
    user_tags, user_with_key, user_with_password,
};
use serde_json::json;

/// A fresh test bed with a notification topic and a queue to read it, where alice owns (tag
/// `owner`) her user and has one key, 100 days old and used yesterday: the test bed, an IAM
/// client, the queue and alice's key.
async fn alice_owns_a_key() -> (Moto, aws_sdk_iam::Client, Inbox, String) {
    let (moto, iam) = Moto::with_iam();
    let inbox = moto.inbox().await;
    let key = user_with_key(&moto, "alice", 100, Some(1)).await;
    tag_user(&iam, "alice", "owner", "alice@example.com").await;
    (moto, iam, inbox, key)
}

/// The owners' messages among `published` (those naming a principal; the summary names none).
fn to_owners(published: &[Published]) -> Vec<&Published> {
    published
        .iter()
        .filter(|p| p.attributes.contains_key("principal"))
        .collect()
}

/// Asserts that nothing published since the last read was to an owner (`why` says why).
async fn assert_no_owner_told(inbox: &Inbox, why: &str) {
    let published = inbox.read().await;
    assert!(to_owners(&published).is_empty(), "{why}: {published:#?}");
}

/// The owners' messages published since the last read.
async fn owner_messages(inbox: &Inbox) -> Vec<Published> {
    to_owners(&inbox.read().await)
        .into_iter()
        .cloned()
        .collect()
}

/// The warning records of `function` on `user`.
async fn warning_records(moto: &Moto, user: &str, function: &str) -> Vec<(String, String)> {
    let prefix = format!("iam-remediation:warned:{function}:");
    user_tags(&moto.iam(), user)
        .await
        .into_iter()
        .filter(|(key, _)| key.starts_with(&prefix))
        .collect()
}

// -- scenario 4: owners warned again and again ------------------------------------------------

/// A sweep of `function` `day` days after `start` that still only warns of `key`: the owners'
/// messages it published.
async fn sweep_still_warning(
    function: &Instance<AccessKeys>,
    inbox: &Inbox,
    start: DateTime<Utc>,
    day: i64,
    key: &str,
) -> Vec<Published> {
    let report = sweep_after(function, start, day).await.unwrap();
    assert_eq!(
        action_on(&report, key).status,
        Status::Warned,
        "day {day}: {report:#?}"
    );
    owner_messages(inbox).await
}

#[tokio::test]
async fn an_owner_hears_of_a_warning_once_and_is_reminded_once_before_the_deadline() {
    let (moto, iam, inbox, key) = alice_owns_a_key().await;
    let function = moto.access_keys(&notifying(&inbox, &[("WARN_DAYS", "14")]));
    let start = Utc::now();
    let deadline = (start + Duration::days(14)).date_naive().to_string();

    // Day 0: warned and recorded; the owner hears of it.
    let first = sweep_still_warning(&function, &inbox, start, 0, &key).await;
    assert_eq!(first.len(), 1, "the first warning: {first:#?}");
    assert_eq!(first[0].attributes["owner"], "alice@example.com");
    assert!(first[0].body.contains(&deadline), "{}", first[0].body);

    // The same sweep again (a Lambda retry), the next days' sweeps: still warned, not re-sent.
    for day in [0, 1, 5, 11] {
        let again = sweep_still_warning(&function, &inbox, start, day, &key).await;
        assert!(
            again.is_empty(),
            "day {day}: the owner already knows: {again:#?}"
        );
    }

    // Two days before the deadline: one reminder, and only one, whatever runs again.
    let reminder = sweep_still_warning(&function, &inbox, start, 12, &key).await;
    assert_eq!(reminder.len(), 1, "the reminder: {reminder:#?}");
    assert!(
        reminder[0].subject.to_lowercase().contains("reminder"),
        "{}",
        reminder[0].subject
    );
    assert!(reminder[0].body.contains(&deadline), "{}", reminder[0].body);
    for day in [12, 13] {
        sweep_after(&function, start, day).await.unwrap();
        let again = owner_messages(&inbox).await;
        assert!(again.is_empty(), "day {day}: reminded already: {again:#?}");
    }
    assert_keys(&iam, &[("alice", &key, ACTIVE)], "before the deadline").await;

    // The deadline: acted on, the record goes, and the owner is not warned again.
    let report = sweep_after(&function, start, 14).await.unwrap();
    assert_eq!(
        action_on(&report, &key).status,
        Status::Applied,
        "{report:#?}"
    );
    assert_keys(&iam, &[("alice", &key, INACTIVE)], "at the deadline").await;
    assert!(owner_messages(&inbox).await.is_empty());
    assert!(
        warning_records(&moto, "alice", "access-keys")
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn a_run_refused_by_max_actions_counts_warnings_and_records_and_tells_no_owner() {
    let (moto, iam) = Moto::with_iam();
    let inbox = moto.inbox().await;
    for user in ["a", "b", "c"] {
        user_with_key(&moto, user, 100, Some(1)).await;
        tag_user(&iam, user, "owner", &format!("{user}@example.com")).await;
    }
    let function = moto.access_keys(&notifying(
        &inbox,
        &[("WARN_DAYS", "7"), ("MAX_ACTIONS", "2")],
    ));

    let error = invoke(&function, schedule("access-keys"))
        .await
        .unwrap_err();

    assert_too_many_actions(
        &error,
        3,
        2,
        "three warnings are three deadlines set on one day",
    );
    for user in ["a", "b", "c"] {
        assert!(
            warning_records(&moto, user, "access-keys").await.is_empty(),
            "{user}: a refused run records nothing"
        );
    }
    assert_no_owner_told(&inbox, "a refused run tells no owner").await;
}

#[tokio::test]
async fn a_warning_whose_record_failed_is_not_sent_to_its_owner() {
    let (moto, _, inbox, _) = alice_owns_a_key().await;
    // IAM keeps failing the write (after the SDK's retries): the warning is not recorded.
    moto.inject_fault("iam:TagUser", "ServiceFailure", 500, 50, 0);
    let function = moto.access_keys(&notifying(&inbox, &[("WARN_DAYS", "7")]));

    let error = invoke(&function, schedule("access-keys"))
        .await
        .unwrap_err();

    assert!(error.to_string().contains("ServiceFailure"), "{error}");
    assert!(
        warning_records(&moto, "alice", "access-keys")
            .await
            .is_empty()
    );
    assert_no_owner_told(&inbox, "no message for a warning that was not recorded").await;
}

#[tokio::test]
async fn a_dry_run_tells_the_owner_it_is_a_dry_run() {
    let (moto, _, inbox, _) = alice_owns_a_key().await;
    let function = moto.access_keys(&notifying(
        &inbox,
        &[("WARN_DAYS", "7"), ("DRY_RUN", "true")],
    ));

    invoke(&function, schedule("access-keys")).await.unwrap();

    let published = inbox.read().await;
    let owners = to_owners(&published);
    assert_eq!(owners.len(), 1, "{published:#?}");
    let personal = owners[0];
    assert!(
        personal.subject.to_lowercase().contains("dry run"),
        "{}",
        personal.subject
    );
    assert!(
        personal.body.to_lowercase().contains("dry run"),
        "{}",
        personal.body
    );
    assert!(
        warning_records(&moto, "alice", "access-keys")
            .await
            .is_empty()
    );
}

// -- scenario 5: the SNS summary has no size limit --------------------------------------------

/// SNS's limit on one message: "at most 256 KB in size (262,144 bytes, not 262,144
/// characters)", message attributes included (SNS API Reference, Publish and
/// MessageAttributeValue).
const SNS_MAX_BYTES: usize = 262_144;

#[tokio::test]
async fn a_first_run_over_many_old_keys_fits_every_message_under_the_sns_limit() {
    let moto = Moto::start();
    let inbox = moto.inbox().await;
    let old = iso(Utc::now() - Duration::days(200));
    let used = iso(Utc::now() - Duration::days(1));
    let users: Vec<_> = (0..1200)
        .map(|i| {
            json!({
                "user_name": format!("a-rather-long-service-user-name-{i:05}"),
                "tags": {"owner": format!("team-{}@example.com", i % 7)},
                "access_keys": [{"create_date": old, "last_used": used}],
            })
        })
        .collect();
    moto.seed_users(&users);
    let function = moto.access_keys(&notifying(
        &inbox,
        &[("WARN_DAYS", "14"), ("MAX_ACTIONS", "2000")],
    ));

    let report = invoke(&function, schedule("access-keys"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    assert_eq!(report.count(Status::Warned), 1200);
    let published = inbox.read().await;
    let summary = published
        .iter()
        .find(|p| !p.attributes.contains_key("principal"))
        .expect("a summary");
    assert!(
        summary
            .subject
            .starts_with("access-keys: 0 applied, 1200 warned"),
        "{}",
        summary.subject
    );
    assert!(summary.body.len() < SNS_MAX_BYTES, "{}", summary.body.len());
    assert!(
        summary.body.contains("… and "),
        "the summary says what it left out"
    );
    assert_eq!(
        to_owners(&published).len(),
        1200,
        "every owner hears of theirs"
    );
}

#[tokio::test]
async fn a_run_keeps_time_before_its_deadline_to_tell_the_owners_it_warned() {
    let moto = Moto::start();
    let inbox = moto.inbox().await;
    let old = iso(Utc::now() - Duration::days(200));
    let users: Vec<_> = (0..60)
        .map(|i| {
            json!({
                "user_name": format!("user-{i:03}"),
                "tags": {"owner": format!("user-{i:03}@example.com")},
                "access_keys": [{"create_date": old}],
            })
        })
        .collect();
    moto.seed_users(&users);
    // Every call answered 50 ms late, as a real endpoint's latency.
    moto.set_latency_ms(50);
    let function = Deployed::<AccessKeys>::new(
        &moto.sdk_config(),
        &notifying(&inbox, &[("WARN_DAYS", "14"), ("MAX_ACTIONS", "100")]),
    );
    // Sending 61 messages one after another alone takes 3 s.
    let deadline = SystemTime::now() + StdDuration::from_secs(3);

    let report = function
        .invoke(schedule("access-keys"), Some(deadline))
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    let overran = SystemTime::now().duration_since(deadline);
    assert!(overran.is_err(), "ended {overran:?} after its deadline");
    moto.set_latency_ms(0);
    let mut recorded = 0;
    for i in 0..60 {
        recorded += warning_records(&moto, &format!("user-{i:03}"), "access-keys")
            .await
            .len();
    }
    let told = to_owners(&inbox.read().await).len();
    assert!(recorded > 0, "the run made progress: {report:#?}");
    assert_eq!(
        told, recorded,
        "every warning recorded was sent to its owner in time"
    );
    assert_eq!(report.count(Status::Warned), recorded, "{report:#?}");
}

// -- scenario 8: a user at IAM's 50-tag limit ------------------------------------------------

/// dave, whose console password is 200 days old and unused for 150, with `tags` tags of his own
/// (an owner among them), and console-passwords warning first and notifying `inbox`.
async fn dave_with_tags(
    moto: &Moto,
    inbox: &Inbox,
    tags: usize,
) -> Instance<console_passwords::ConsolePasswords> {
    let iam = moto.iam();
    user_with_password(moto, "dave", 200, Some(150)).await;
    tag_user(&iam, "dave", "owner", "dave@example.com").await;
    for i in 1..tags {
        tag_user(&iam, "dave", &format!("cost-centre-{i}"), "x").await;
    }
    moto.console_passwords(&notifying(inbox, &[("WARN_DAYS", "7")]))
}

#[tokio::test]
async fn a_user_at_the_tag_limit_is_acted_on_though_the_warning_cannot_be_recorded() {
    let (moto, iam) = Moto::with_iam();
    let inbox = moto.inbox().await;
    let function = dave_with_tags(&moto, &inbox, 50).await;

    let report = invoke(&function, schedule("console-passwords"))
        .await
        .unwrap_or_else(|e| panic!("a full tag set is no failure of the run: {e}"));

    let action = action_on(&report, "login-profile");
    assert_eq!(action.status, Status::Applied, "{report:#?}");
    assert!(
        action.reason.contains("could not be recorded"),
        "{}",
        action.reason
    );
    assert!(!has_password(&iam, "dave").await);
    let published = inbox.read().await;
    assert!(
        to_owners(&published).is_empty(),
        "no owner message for a warning that was not recorded: {published:#?}"
    );
    assert!(
        published[0].body.contains("could not be recorded"),
        "{}",
        published[0].body
    );
}

#[tokio::test]
async fn a_denied_tag_user_never_holds_a_due_action_back() {
    let (moto, iam) = Moto::with_iam();
    let inbox = moto.inbox().await;
    let function = dave_with_tags(&moto, &inbox, 1).await;
    moto.inject_fault("iam:TagUser", "AccessDenied", 403, 10, 0);

    let report = invoke(&function, schedule("console-passwords"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    let action = action_on(&report, "login-profile");
    assert_eq!(action.status, Status::Applied, "{report:#?}");
    assert!(action.reason.contains("AccessDenied"), "{}", action.reason);
    assert!(!has_password(&iam, "dave").await);
    assert!(to_owners(&inbox.read().await).is_empty());
}
