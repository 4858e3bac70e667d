//! `access-keys` with `KEY_ACTION=rotate`, against moto's IAM and Secrets Manager.

use access_keys::AccessKeys;
use aws_sdk_iam::config::{Credentials, SharedCredentialsProvider};
use chrono::{DateTime, Duration, Utc};
use iam_remediation::Status;
use integration_tests::{
    ACTIVE, EXEMPT, INACTIVE, Instance, Moto, ROTATE, add_key, assert_keys, exposed, invoke_at,
    key_statuses, other_key, schedule, stored_secret, tag_user, user_tags, user_with_key,
};
use serde_json::json;

const KEYS: &str = "access-keys";

/// `access-keys` in rotate mode.
fn rotating(moto: &Moto) -> Instance<AccessKeys> {
    moto.access_keys(&[ROTATE])
}

/// alice, whose only key (returned) is 200 days old and was used yesterday: due for rotation.
async fn alice_due(moto: &Moto) -> String {
    user_with_key(moto, "alice", 200, Some(1)).await
}

/// Rotates alice's `old` key at `now`; returns the new key's ID.
async fn rotate(
    moto: &Moto,
    function: &Instance<AccessKeys>,
    old: &str,
    now: DateTime<Utc>,
) -> String {
    invoke_at(function, schedule(KEYS), now)
        .await
        .expect("rotation");
    other_key(&key_statuses(&moto.iam(), "alice").await, old)
}

/// The key ID in `user`'s rotation secret at `stage`.
async fn stored_key(moto: &Moto, user: &str, stage: &str) -> Option<String> {
    let secret = stored_secret(moto, user, Some(stage)).await?;
    secret["AccessKeyId"].as_str().map(str::to_owned)
}

/// An IAM client that signs its requests with this key.
fn signed_with(moto: &Moto, key_id: &str, secret: &str) -> aws_sdk_iam::Client {
    let credentials = Credentials::new(key_id, secret, None, None, "rotated");
    let config = moto
        .sdk_config()
        .into_builder()
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .build();
    aws_sdk_iam::Client::new(&config)
}

#[tokio::test]
async fn rotation_stores_a_working_key_before_anything_happens_to_the_old_one() {
    let (moto, iam) = Moto::with_iam();
    let old = alice_due(&moto).await;
    moto.reset_calls();

    let report = invoke_at(&rotating(&moto), schedule(KEYS), Utc::now())
        .await
        .unwrap();
    let calls = moto.calls();
    let action = &report.actions[0];
    assert_eq!(
        (action.action, action.target.as_str(), action.status),
        ("create-access-key", old.as_str(), Status::Applied)
    );

    let keys = key_statuses(&iam, "alice").await;
    assert_eq!(keys.len(), 2);
    assert_eq!(
        keys[&old], "Active",
        "the old key stays active during grace"
    );
    let new = other_key(&keys, &old);
    let secret = stored_secret(&moto, "alice", Some("AWSCURRENT"))
        .await
        .expect("secret stored");
    assert_eq!(secret["AccessKeyId"], json!(new));
    assert_eq!(secret["UserName"], "alice");
    assert!(DateTime::parse_from_rfc3339(secret["CreateDate"].as_str().unwrap()).is_ok());

    // Calls of the rotation itself: create, store (the secret did not exist: put, then create),
    // read back, record.
    println!("rotation calls: {calls:?}");
    assert_eq!(calls["iam:CreateAccessKey"], 1);
    assert_eq!(calls["secretsmanager:GetSecretValue"], 1);
    assert_eq!(calls["iam:TagUser"], 1);
    assert_eq!(
        calls["secretsmanager:PutSecretValue"] + calls["secretsmanager:CreateSecret"],
        2
    );

    // The stored secret really signs a request: moto checks signatures when auth is enforced.
    iam.put_user_policy()
        .user_name("alice")
        .policy_name("read-own-keys")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListAccessKeys","Resource":"*"}]}"#)
        .send()
        .await
        .unwrap();
    moto.enforce_auth(true);
    let good = signed_with(&moto, &new, secret["SecretAccessKey"].as_str().unwrap())
        .list_access_keys()
        .user_name("alice")
        .send()
        .await;
    let bad = signed_with(&moto, &new, "not-the-secret-access-key-0000000000000")
        .list_access_keys()
        .user_name("alice")
        .send()
        .await;
    moto.enforce_auth(false);
    assert!(good.is_ok(), "the stored secret signs: {good:?}");
    let bad = bad.expect_err("a wrong secret does not sign");
    assert!(
        format!("{bad:?}").contains("SignatureDoesNotMatch"),
        "{bad:?}"
    );
}

#[tokio::test]
async fn the_old_key_is_retired_after_grace_and_deleted_after_the_quiet_period() {
    let moto = Moto::start();
    let old = alice_due(&moto).await;
    let function = rotating(&moto);
    let now = Utc::now();
    let new = rotate(&moto, &function, &old, now).await;
    let sweep_at = async |later: Duration| {
        invoke_at(&function, schedule(KEYS), now + later)
            .await
            .unwrap()
    };

    for days in [0, 6] {
        let report = sweep_at(Duration::days(days)).await;
        assert!(
            report.actions.is_empty(),
            "day {days}: grace, nothing to do: {report:#?}"
        );
        assert_keys(&moto.iam(), &[("alice", &old, ACTIVE)], "in grace").await;
    }

    let report = sweep_at(Duration::days(7) + Duration::minutes(1)).await;
    let action = &report.actions[0];
    assert_eq!(
        (action.action, action.target.as_str(), action.status),
        ("deactivate-access-key", old.as_str(), Status::Applied)
    );
    assert_eq!(
        action.reason,
        format!("replaced by {new} 7 days ago (grace 7 days)")
    );
    let expected = [("alice", old.as_str(), INACTIVE), ("alice", &new, ACTIVE)];
    assert_keys(&moto.iam(), &expected, "after grace").await;

    let report = sweep_at(Duration::days(38)).await;
    assert_eq!(report.actions[0].action, "delete-access-key");
    let left: Vec<String> = key_statuses(&moto.iam(), "alice")
        .await
        .into_keys()
        .collect();
    assert_eq!(left, vec![new.clone()]);

    // A later rotation keeps the previous key as AWSPREVIOUS. The new key is in use: a key
    // that is old and unused is deactivated, never rotated.
    moto.set_key(&new, None, Some(Some(now + Duration::days(199))));
    sweep_at(Duration::days(200)).await;
    let current = stored_key(&moto, "alice", "AWSCURRENT").await.unwrap();
    let previous = stored_key(&moto, "alice", "AWSPREVIOUS").await.unwrap();
    assert_eq!(previous, new);
    assert_ne!(current, new);
}

#[tokio::test]
async fn the_old_key_is_retired_once_the_new_key_is_used() {
    let moto = Moto::start();
    let old = alice_due(&moto).await;
    let function = rotating(&moto);
    let new = rotate(&moto, &function, &old, Utc::now()).await;
    let secret = stored_secret(&moto, "alice", Some("AWSCURRENT"))
        .await
        .unwrap();

    // A consumer picks up the new key: moto records the use of any key that signs a request.
    let consumer = signed_with(&moto, &new, secret["SecretAccessKey"].as_str().unwrap());
    consumer.list_users().send().await.unwrap();

    let report = invoke_at(&function, schedule(KEYS), Utc::now())
        .await
        .unwrap();
    assert_eq!(report.actions.len(), 1, "{report:#?}");
    let reason = &report.actions[0].reason;
    let used = format!("replaced by {new}, which was used");
    assert!(reason.contains(&used), "{reason}");
    assert_keys(&moto.iam(), &[("alice", &old, INACTIVE)], "retired").await;
}

#[tokio::test]
async fn a_failure_to_store_leaves_no_orphan_key_and_the_old_key_untouched() {
    for failing in [
        "secretsmanager:CreateSecret",
        "secretsmanager:GetSecretValue",
    ] {
        let (moto, iam) = Moto::with_iam();
        let old = alice_due(&moto).await;
        moto.inject_fault(failing, "AccessDeniedException", 400, 1, 0);
        let err = invoke_at(&rotating(&moto), schedule(KEYS), Utc::now())
            .await
            .unwrap_err();
        let unchanged = "it was deleted and the old key is unchanged";
        assert!(err.to_string().contains(unchanged), "{failing}: {err}");
        let keys = key_statuses(&iam, "alice").await;
        assert_eq!(
            keys.into_iter().collect::<Vec<_>>(),
            vec![(old.clone(), "Active".to_owned())],
            "{failing}"
        );
        let tags = user_tags(&iam, "alice").await;
        assert!(tags.is_empty(), "{failing}: no rotation recorded: {tags:?}");

        // The next run completes the work.
        let report = invoke_at(&rotating(&moto), schedule(KEYS), Utc::now())
            .await
            .unwrap();
        assert_eq!(report.actions[0].status, Status::Applied, "{failing}");
        assert_eq!(key_statuses(&iam, "alice").await.len(), 2);
    }
}

#[tokio::test]
async fn a_rotation_whose_record_failed_is_recovered_from_the_secret() {
    let moto = Moto::start();
    let old = alice_due(&moto).await;
    moto.inject_fault("iam:TagUser", "ServiceFailure", 500, 5, 0);
    let err = invoke_at(&rotating(&moto), schedule(KEYS), Utc::now())
        .await
        .unwrap_err();
    let recovered = "the next run recovers it from the secret";
    assert!(err.to_string().contains(recovered), "{err}");
    moto.reset_calls();
    let new = other_key(&key_statuses(&moto.iam(), "alice").await, &old);
    let later = Utc::now() + Duration::days(8);
    let report = invoke_at(&rotating(&moto), schedule(KEYS), later)
        .await
        .unwrap();
    assert_eq!(report.actions.len(), 1, "{report:#?}");
    assert_eq!(
        report.actions[0].reason,
        format!("replaced by {new} 8 days ago (grace 7 days)")
    );
    assert_keys(&moto.iam(), &[("alice", &old, INACTIVE)], "retired").await;
    assert!(
        !moto.calls().contains_key("iam:CreateAccessKey"),
        "no second rotation"
    );
}

#[tokio::test]
async fn re_runs_and_concurrent_runs_never_make_a_third_key_or_a_second_rotation() {
    let moto = Moto::start();
    let old = alice_due(&moto).await;
    let now = Utc::now();
    let function = rotating(&moto);
    let (a, b) = tokio::join!(
        invoke_at(&function, schedule(KEYS), now),
        invoke_at(&function, schedule(KEYS), now)
    );
    let reports = [a.unwrap(), b.unwrap()];
    let applied: usize = reports.iter().map(|r| r.count(Status::Applied)).sum();
    assert_eq!(applied, 1, "{reports:#?}");
    let keys = key_statuses(&moto.iam(), "alice").await;
    assert_eq!(keys.len(), 2);
    let new = other_key(&keys, &old);
    assert_eq!(stored_key(&moto, "alice", "AWSCURRENT").await, Some(new));

    let again = invoke_at(&function, schedule(KEYS), now).await.unwrap();
    assert!(again.actions.is_empty(), "{again:#?}");
    let order = json!({"access_key_id": old, "action": "rotate"});
    let report = invoke_at(&function, order, now).await.unwrap();
    assert_eq!(report.actions[0].status, Status::Skipped);
    let reason = &report.actions[0].reason;
    assert!(reason.contains("no room for a new key"), "{reason}");
    assert_eq!(key_statuses(&moto.iam(), "alice").await.len(), 2);
}

#[tokio::test]
async fn a_user_with_no_room_is_skipped_with_the_reason() {
    let moto = Moto::start();
    let old = alice_due(&moto).await;
    let spare = add_key(&moto, "alice", 20, Some(1)).await;
    let report = invoke_at(&rotating(&moto), schedule(KEYS), Utc::now())
        .await
        .unwrap();
    let action = &report.actions[0];
    assert_eq!(
        (action.target.as_str(), action.status),
        (old.as_str(), Status::Skipped)
    );
    assert!(
        action.reason.contains("no room for a new key") && action.reason.contains(&spare),
        "{}",
        action.reason
    );
    assert_keys(
        &moto.iam(),
        &[("alice", &old, ACTIVE), ("alice", &spare, ACTIVE)],
        "both keys still work",
    )
    .await;
}

#[tokio::test]
async fn manual_rotation_and_exposed_keys_in_rotate_mode() {
    let (moto, iam) = Moto::with_iam();
    let fresh = user_with_key(&moto, "alice", 1, Some(0)).await;
    tag_user(&iam, "alice", EXEMPT, "true").await;
    let order = json!({"access_key_id": fresh, "action": "rotate"});
    let report = invoke_at(&rotating(&moto), order, Utc::now())
        .await
        .unwrap();
    assert_eq!(
        report.actions[0].status,
        Status::Applied,
        "an operator's order overrides the exemption"
    );
    assert_eq!(key_statuses(&iam, "alice").await.len(), 2);

    let key = user_with_key(&moto, "bob", 1, Some(0)).await;
    let report = invoke_at(&rotating(&moto), exposed(&[&key]), Utc::now())
        .await
        .unwrap();
    // The report lists actions sorted by (principal, target, action), not in the order done.
    let rows: Vec<_> = report
        .actions
        .iter()
        .map(|a| (a.action, a.status))
        .collect();
    assert_eq!(
        rows,
        vec![
            ("create-access-key", Status::Applied),
            ("deactivate-access-key", Status::Applied)
        ]
    );
    let keys = key_statuses(&iam, "bob").await;
    assert_eq!(keys[&key], "Inactive");
    let replacement = other_key(&keys, &key);
    assert_eq!(keys[&replacement], "Active");
    let current = stored_key(&moto, "bob", "AWSCURRENT").await;
    assert_eq!(current, Some(replacement));
}
