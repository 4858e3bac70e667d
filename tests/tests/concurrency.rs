//! Concurrency (`MAX_CONCURRENCY`) changes how long a sweep takes, never what it does: the same
//! IAM state and the same report at 1 and at 8 principals at once; throttling slows it down but
//! it still ends complete; principals' steps interleave while each principal's own steps stay in
//! order.

#![allow(clippy::unwrap_used, reason = "a test fails loudly")]

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use iam_remediation::{Report, Status};
use integration_tests::{Moto, days_ago, invoke_at, key_statuses, sample_event, user_tags};
use serde_json::{Value, json};

/// An account of 24 users: old keys, unused keys, fresh keys, two-key users, an exempt user.
fn seed(moto: &Moto) {
    let users: Vec<Value> = (0..24)
        .map(|i| {
            let key = |age: i64, used: Option<i64>| {
                let mut key = json!({"create_date": days_ago(age).to_rfc3339()});
                if let Some(used) = used {
                    key["last_used"] = json!(days_ago(used).to_rfc3339());
                }
                key
            };
            let keys = match i % 4 {
                0 => vec![key(200, Some(1))],
                1 => vec![key(60, Some(120))],
                2 => vec![key(10, Some(0)), key(150, Some(2))],
                _ => vec![key(5, None)],
            };
            let mut user = json!({"user_name": format!("user-{i:02}"), "access_keys": keys});
            if i == 7 {
                user["tags"] = json!({"iam-remediation:exempt": "true"});
            }
            user
        })
        .collect();
    moto.seed_users(&users);
}

/// Each user's key statuses in creation order, and its tags with key IDs replaced by the key's
/// place: two accounts seeded alike compare equal although moto gives their keys other IDs.
async fn state(moto: &Moto) -> BTreeMap<String, (Vec<String>, Vec<String>)> {
    let iam = moto.iam();
    let mut state = BTreeMap::new();
    for i in 0..24 {
        let user = format!("user-{i:02}");
        let mut keys: Vec<(DateTime<Utc>, String, String)> = iam
            .list_access_keys()
            .user_name(&user)
            .send()
            .await
            .unwrap()
            .access_key_metadata
            .into_iter()
            .map(|k| {
                let created = k.create_date.unwrap();
                (
                    DateTime::from_timestamp(created.secs(), 0).unwrap(),
                    k.access_key_id.unwrap(),
                    k.status.unwrap().as_str().to_owned(),
                )
            })
            .collect();
        keys.sort();
        let statuses = keys.iter().map(|(_, _, status)| status.clone()).collect();
        let tags = user_tags(&iam, &user)
            .await
            .into_iter()
            .map(|(key, value)| {
                let mut text = format!("{key}={}", value.split(' ').next().unwrap_or_default());
                for (place, (_, id, _)) in keys.iter().enumerate() {
                    text = text.replace(id, &format!("key{place}"));
                }
                text
            })
            .collect();
        state.insert(user, (statuses, tags));
    }
    state
}

/// The report's actions with key IDs left out (principal, action, status, reason).
fn actions(report: &Report) -> Vec<(String, &'static str, Status, String)> {
    report
        .actions
        .iter()
        .map(|a| (a.principal.clone(), a.action, a.status, a.reason.clone()))
        .collect()
}

#[tokio::test]
async fn one_or_eight_at_once_end_in_the_same_state_with_the_same_report() {
    let now = Utc::now();
    let schedule = sample_event("access-keys", "scheduled");
    let mut results = Vec::new();
    for concurrency in ["1", "8"] {
        let moto = Moto::start();
        seed(&moto);
        let function = moto.access_keys(&[
            ("MAX_CONCURRENCY", concurrency),
            ("MAX_KEY_UNUSED_DAYS", "90"),
        ]);
        let report = invoke_at(&function, schedule.clone(), now).await.unwrap();
        // And a later run, for the deletions after the quiet period.
        let later = invoke_at(
            &function,
            schedule.clone(),
            now + chrono::Duration::days(31),
        )
        .await
        .unwrap();
        results.push((actions(&report), actions(&later), state(&moto).await));
    }
    let (one, eight) = (&results[0], &results[1]);
    assert!(one.0.iter().any(|a| a.2 == Status::Applied), "{:#?}", one.0);
    assert!(
        one.1.iter().any(|a| a.1 == "delete-access-key"),
        "{:#?}",
        one.1
    );
    assert_eq!(one.0, eight.0, "the same first report");
    assert_eq!(one.1, eight.1, "the same later report");
    assert_eq!(one.2, eight.2, "the same IAM state");
}

#[tokio::test]
async fn throttling_on_a_fifth_of_all_calls_still_ends_complete() {
    let moto = Moto::start();
    seed(&moto);
    moto.inject_fault_every("iam:*", "Throttling", 400, 5, 1000);

    let report = invoke_at(
        &moto.access_keys(&[]),
        sample_event("access-keys", "scheduled"),
        Utc::now(),
    )
    .await
    .expect("throttling is retried, never a failure");

    assert!(report.errors.is_empty(), "{report:#?}");
    assert_eq!(report.count(Status::Failed), 0);
    let calls = moto.calls();
    let throttled: u64 = calls.values().sum::<u64>() / 5;
    assert!(throttled > 5, "faults were injected: {calls:?}");
    // Every offender is fixed: no active key older than 90 days or unused for 90 is left,
    // but for the exempt user's.
    let iam = moto.iam();
    for i in (0..24).filter(|i| i % 4 == 0 && *i != 7) {
        let user = format!("user-{i:02}");
        assert!(
            key_statuses(&iam, &user)
                .await
                .values()
                .all(|s| s == "Inactive"),
            "{user}: {report:#?}"
        );
    }
}

#[tokio::test]
async fn principals_interleave_while_each_principals_own_steps_stay_in_order() {
    let moto = Moto::start();
    for user in ["a", "b", "c", "d"] {
        integration_tests::user_with_key(&moto, user, 200, Some(1)).await;
    }
    // Calls in flight overlap only if each takes a while, as on a real endpoint.
    moto.set_latency_ms(50);
    moto.reset_calls();

    invoke_at(
        &moto.access_keys(&[("MAX_CONCURRENCY", "8")]),
        sample_event("access-keys", "scheduled"),
        Utc::now(),
    )
    .await
    .unwrap();

    let steps: Vec<(String, String)> = moto
        .iam_requests()
        .into_iter()
        .filter(|(action, _)| action == "iam:TagUser" || action == "iam:UpdateAccessKey")
        .map(|(action, params)| (params["UserName"].clone(), action))
        .collect();
    assert_eq!(steps.len(), 8, "{steps:?}");
    // Each user's record is written before its key is turned off.
    for user in ["a", "b", "c", "d"] {
        let own: Vec<&str> = steps
            .iter()
            .filter(|(u, _)| u == user)
            .map(|(_, action)| action.as_str())
            .collect();
        assert_eq!(
            own,
            ["iam:TagUser", "iam:UpdateAccessKey"],
            "{user}: {steps:?}"
        );
    }
    // And the users' steps interleave: a second user starts before the first is done.
    let first_user = &steps[0].0;
    let first_done = steps
        .iter()
        .position(|(u, a)| u == first_user && a == "iam:UpdateAccessKey")
        .unwrap();
    assert!(
        steps[..first_done].iter().any(|(u, _)| u != first_user),
        "one user at a time: {steps:?}"
    );
}
