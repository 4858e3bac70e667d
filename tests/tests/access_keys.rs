//! `access-keys` against moto: every input kind, the rules, the guard, and the bad cases.

use chrono::{Duration, Utc};
use iam_remediation::Status;
use iam_remediation::intake::TriggerKind;
use integration_tests::{
    ACTIVE, DELETED, EXEMPT, INACTIVE, Moto, action_on, add_key, assert_exempt, assert_failed,
    assert_keys, create_user, exposed, invoke, invoke_at, key_status, outcomes, row, sample_event,
    schedule, set_key_status, tag_exemptions, tag_user, user_tags, user_with_key,
};
use serde_json::json;

const FUNCTION: &str = "access-keys";
const DEACTIVATE: &str = "deactivate-access-key";

#[tokio::test]
async fn sweep_deactivates_old_and_unused_keys_by_id_and_leaves_fresh_ones() {
    let (moto, iam) = Moto::with_iam();
    let old = user_with_key(&moto, "old", 200, Some(1)).await;
    let unused = user_with_key(&moto, "unused", 60, Some(45)).await;
    let never_used = user_with_key(&moto, "never-used", 40, None).await;
    let fresh = user_with_key(&moto, "fresh", 10, Some(1)).await;
    let young_never_used = user_with_key(&moto, "newcomer", 5, None).await;
    // A second, fresh key of the old key's user must stay active: act on one key by its ID.
    let old_users_fresh_key = add_key(&moto, "old", 3, Some(0)).await;
    create_user(&iam, "no-keys").await;

    let function = moto.access_keys(&[("MAX_KEY_UNUSED_DAYS", "30")]);
    let report = invoke(&function, schedule(FUNCTION)).await.expect("report");

    assert_eq!(report.examined, 6);
    assert_eq!(
        outcomes(&report),
        vec![
            row("never-used", DEACTIVATE, &never_used, Status::Applied),
            row("old", DEACTIVATE, &old, Status::Applied),
            row("unused", DEACTIVATE, &unused, Status::Applied),
        ]
    );
    for (key, reason) in [
        (&old, "created 200 days ago (limit 90)"),
        (&unused, "last used 45 days ago (limit 30)"),
        (&never_used, "never used, created 40 days ago (limit 30)"),
    ] {
        assert_eq!(action_on(&report, key).reason, reason);
    }
    assert_keys(
        &iam,
        &[
            ("old", &old, INACTIVE),
            ("old", &old_users_fresh_key, ACTIVE),
            ("unused", &unused, INACTIVE),
            ("never-used", &never_used, INACTIVE),
            ("fresh", &fresh, ACTIVE),
            ("newcomer", &young_never_used, ACTIVE),
        ],
        "after the sweep",
    )
    .await;

    // The deactivation is recorded on the user, for the quiet-period rule.
    let tags = user_tags(&iam, "old").await;
    assert!(
        tags.get(&format!("iam-remediation:key:{old}"))
            .is_some_and(|value| value.starts_with("deactivated ")),
        "{tags:?}"
    );
}

#[tokio::test]
async fn a_key_used_since_the_report_is_judged_on_its_real_last_use() {
    let moto = Moto::start();
    let key = user_with_key(&moto, "alice", 60, Some(45)).await;
    // The sweep reads the report, then the live last use; both come from moto here, so make the
    // live answer newer than the threshold: the key must be left alone.
    moto.set_key(&key, None, Some(Some(Utc::now() - Duration::hours(2))));
    let function = moto.access_keys(&[("MAX_KEY_UNUSED_DAYS", "30")]);
    let report = invoke(&function, schedule(FUNCTION)).await.unwrap();
    assert!(report.actions.is_empty(), "{report:#?}");
    assert_keys(&moto.iam(), &[("alice", &key, ACTIVE)], "recently used").await;
}

#[tokio::test]
async fn exemptions_are_honoured_and_reported_as_skipped() {
    let (moto, iam) = Moto::with_iam();
    let mut keys = Vec::new();
    for user in ["tagged", "until-next-year", "lapsed", "breakglass-1"] {
        keys.push((user, user_with_key(&moto, user, 200, Some(1)).await));
    }
    tag_exemptions(&iam).await;

    let function = moto.access_keys(&[("EXEMPT_PRINCIPALS", "breakglass-*")]);
    let report = invoke(&function, schedule(FUNCTION)).await.unwrap();

    for (user, key) in &keys {
        let exempt = *user != "lapsed";
        assert_exempt(action_on(&report, key), exempt);
        let status = if exempt { ACTIVE } else { INACTIVE };
        assert_keys(&iam, &[(user, key, status)], user).await;
    }
    assert!(
        action_on(&report, &keys[3].1)
            .reason
            .contains("breakglass-*")
    );
}

#[tokio::test]
async fn a_deactivated_key_is_deleted_only_after_the_quiet_period_and_only_with_a_record() {
    let (moto, iam) = Moto::with_iam();
    let ours = user_with_key(&moto, "alice", 200, Some(1)).await;
    // Someone else deactivated this one: no record, never deleted.
    let theirs = user_with_key(&moto, "bob", 400, Some(300)).await;
    set_key_status(&iam, "bob", &theirs, "Inactive").await;
    let function = moto.access_keys(&[]);
    let now = Utc::now();
    invoke_at(&function, schedule(FUNCTION), now).await.unwrap();
    assert_keys(&iam, &[("alice", &ours, INACTIVE)], "deactivated").await;

    let later = now + Duration::days(29);
    let report = invoke_at(&function, schedule(FUNCTION), later)
        .await
        .unwrap();
    assert!(
        report.actions.is_empty(),
        "within the quiet period: {report:#?}"
    );
    assert_keys(
        &iam,
        &[("alice", &ours, INACTIVE)],
        "within the quiet period",
    )
    .await;

    let later = now + Duration::days(30) + Duration::minutes(1);
    let report = invoke_at(&function, schedule(FUNCTION), later)
        .await
        .unwrap();
    assert_eq!(
        outcomes(&report),
        vec![row("alice", "delete-access-key", &ours, Status::Applied)]
    );
    assert_eq!(
        action_on(&report, &ours).reason,
        "deactivated by iam-remediation 30 days ago (limit 30)"
    );
    let tags = user_tags(&iam, "alice").await;
    assert!(tags.is_empty(), "the record goes with the key: {tags:?}");
    assert_keys(
        &iam,
        &[("alice", &ours, DELETED), ("bob", &theirs, INACTIVE)],
        "after the quiet period",
    )
    .await;

    // DELETE_INACTIVE_AFTER_DAYS=0 never deletes.
    let kept = user_with_key(&moto, "carol", 200, Some(1)).await;
    let never = moto.access_keys(&[("DELETE_INACTIVE_AFTER_DAYS", "0")]);
    invoke_at(&never, schedule(FUNCTION), now).await.unwrap();
    let later = now + Duration::days(400);
    let report = invoke_at(&never, schedule(FUNCTION), later).await.unwrap();
    assert!(
        report.actions.iter().all(|a| a.target != kept),
        "{report:#?}"
    );
    assert_keys(&iam, &[("carol", &kept, INACTIVE)], "never deleted").await;
}

#[tokio::test]
async fn cloudtrail_acts_on_the_named_user_only() {
    let moto = Moto::start();
    let alice = user_with_key(&moto, "alice", 200, Some(1)).await;
    let bob = user_with_key(&moto, "bob", 200, Some(1)).await;
    for name in [
        "cloudtrail-create-access-key",
        "cloudtrail-update-access-key",
    ] {
        let event = sample_event(FUNCTION, name);
        let report = invoke(&moto.access_keys(&[]), event).await.unwrap();
        assert_eq!(report.trigger, TriggerKind::Cloudtrail);
        assert_eq!(report.examined, 1);
    }
    let expected = [("alice", alice.as_str(), INACTIVE), ("bob", &bob, ACTIVE)];
    assert_keys(&moto.iam(), &expected, "only the event's user").await;
}

#[tokio::test]
async fn health_deactivates_an_exposed_key_at_once_whatever_its_age_or_exemption() {
    let (moto, iam) = Moto::with_iam();
    let key = user_with_key(&moto, "alice", 1, Some(0)).await;
    let other = add_key(&moto, "alice", 1, Some(0)).await;
    tag_user(&iam, "alice", EXEMPT, "true").await;
    let report = invoke(&moto.access_keys(&[]), exposed(&[&key]))
        .await
        .unwrap();
    assert_eq!(report.trigger, TriggerKind::Health);
    let action = action_on(&report, &key);
    assert_eq!(action.status, Status::Applied);
    assert!(
        action.reason.contains("exposed") && action.reason.contains("overridden"),
        "{}",
        action.reason
    );
    let expected = [("alice", key.as_str(), INACTIVE), ("alice", &other, ACTIVE)];
    assert_keys(&iam, &expected, "only the exposed key").await;
}

#[tokio::test]
async fn manual_orders_act_on_one_key_and_manual_users_on_those_users() {
    let (moto, iam) = Moto::with_iam();
    let fresh = user_with_key(&moto, "alice", 1, Some(0)).await;
    let old = user_with_key(&moto, "bob", 200, Some(1)).await;
    let carol = user_with_key(&moto, "carol", 200, Some(1)).await;

    let order = json!({"access_key_id": fresh, "action": "deactivate"});
    let report = invoke(&moto.access_keys(&[]), order).await.unwrap();
    assert_eq!(
        outcomes(&report),
        vec![row("alice", DEACTIVATE, &fresh, Status::Applied)]
    );
    assert_keys(&iam, &[("alice", &fresh, INACTIVE)], "ordered off").await;

    let delete = json!({"access_key_id": fresh, "action": "delete"});
    invoke(&moto.access_keys(&[]), delete).await.unwrap();
    assert_keys(&iam, &[("alice", &fresh, DELETED)], "ordered deleted").await;

    let users = json!({"users": ["bob"]});
    let report = invoke(&moto.access_keys(&[]), users).await.unwrap();
    assert_eq!(
        outcomes(&report),
        vec![row("bob", DEACTIVATE, &old, Status::Applied)]
    );
    assert_keys(&iam, &[("carol", &carol, ACTIVE)], "not named").await;
}

#[tokio::test]
async fn a_failure_half_way_fails_the_run_but_not_the_other_users() {
    let (moto, iam) = Moto::with_iam();
    let a = user_with_key(&moto, "a", 200, Some(1)).await;
    let b = user_with_key(&moto, "b", 200, Some(1)).await;
    moto.inject_fault("iam:UpdateAccessKey", "AccessDenied", 403, 1, 0);
    let result = invoke(&moto.access_keys(&[]), schedule(FUNCTION)).await;
    assert_failed(result, 1, &["UpdateAccessKey failed: AccessDenied"]);
    let statuses = [
        key_status(&iam, "a", &a).await,
        key_status(&iam, "b", &b).await,
    ];
    let inactive = statuses.iter().filter(|s| s.as_deref() == Some("Inactive"));
    assert_eq!(inactive.count(), 1, "{statuses:?}");
    // The next run completes the work.
    let report = invoke(&moto.access_keys(&[]), schedule(FUNCTION))
        .await
        .unwrap();
    assert_eq!(report.count(Status::Applied), 1);
    let expected = [("a", a.as_str(), INACTIVE), ("b", &b, INACTIVE)];
    assert_keys(&iam, &expected, "after the next run").await;
}

#[tokio::test]
async fn a_sweep_reads_the_account_through_the_credential_report() {
    let (moto, iam) = Moto::with_iam();
    let users = 300;
    let mut offenders = Vec::new();
    for i in 0..users {
        let user = format!("user-{i:03}");
        create_user(&iam, &user).await;
        if i % 10 == 0 {
            offenders.push(add_key(&moto, &user, 200, Some(1)).await);
        } else if i % 3 == 0 {
            add_key(&moto, &user, 10, Some(1)).await;
        }
    }
    moto.reset_calls();
    let function = moto.access_keys(&[("MAX_ACTIONS", "100")]);
    let report = invoke(&function, schedule(FUNCTION)).await.unwrap();
    assert_eq!(report.examined, users);
    assert_eq!(report.count(Status::Applied), offenders.len());
    let calls = moto.calls();
    let iam_calls = moto.service_calls("iam");
    println!(
        "sweep of {users} users with {} offending keys: {iam_calls} IAM calls: {calls:?}",
        offenders.len()
    );
    // The report: generate (until COMPLETE) + get, and every user's tags in one
    // GetAccountAuthorizationDetails page; then per offending key: list keys, update, record.
    assert_eq!(calls["iam:GetCredentialReport"], 1);
    assert!(
        !calls.contains_key("iam:ListUsers"),
        "a sweep does not list users: {calls:?}"
    );
    assert!(
        iam_calls <= 3 + 4 * offenders.len() as u64,
        "{iam_calls} calls: {calls:?}"
    );
    assert_keys(&iam, &[("user-000", &offenders[0], INACTIVE)], "offender").await;
}
