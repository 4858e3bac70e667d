//! `access-keys` with `KEY_ACTION=rotate`, against moto's IAM and Secrets Manager.

use access_keys::{Deps, Settings, handle};
use aws_sdk_iam::config::{Credentials, SharedCredentialsProvider};
use chrono::{DateTime, Duration, Utc};
use iam_remediation::{Env, Error, Report, Status};
use integration_tests::{
    Moto, add_key, key_status, key_statuses, sample_event, tag_user, user_with_key, with,
};
use serde_json::{Value, json};

fn rotate_settings(extra: &[(&str, &str)]) -> Settings {
    let mut pairs = vec![("KEY_ACTION", "rotate")];
    pairs.extend_from_slice(extra);
    Settings::from_env(&Env::from_pairs(pairs)).expect("valid settings")
}

async fn invoke_at(
    moto: &Moto,
    settings: &Settings,
    event: Value,
    now: DateTime<Utc>,
) -> Result<Report, Error> {
    let deps = Deps::new(&moto.sdk_config());
    handle(&deps, settings, event, now, None).await
}

fn schedule() -> Value {
    sample_event("access-keys", "scheduled")
}

fn secrets(moto: &Moto) -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(&moto.sdk_config())
}

/// The JSON stored in the user's secret, at a version stage.
async fn stored(moto: &Moto, user: &str, stage: &str) -> Option<Value> {
    let output = secrets(moto)
        .get_secret_value()
        .secret_id(format!("iam-remediation/access-keys/{user}"))
        .version_stage(stage)
        .send()
        .await
        .ok()?;
    serde_json::from_str(output.secret_string()?).ok()
}

fn other_key(keys: &std::collections::BTreeMap<String, String>, old: &str) -> String {
    keys.keys()
        .find(|k| *k != old)
        .expect("a second key")
        .clone()
}

#[tokio::test]
async fn rotation_stores_a_working_key_before_anything_happens_to_the_old_one() {
    let moto = Moto::start();
    let iam = moto.iam();
    let old = user_with_key(&moto, "alice", 200, Some(1)).await;
    moto.reset_calls();

    let report = invoke_at(&moto, &rotate_settings(&[]), schedule(), Utc::now())
        .await
        .unwrap();
    let calls = moto.calls();
    let action = &report.actions[0];
    assert_eq!(
        (
            action.action.as_str(),
            action.target.as_str(),
            action.status
        ),
        ("create-access-key", old.as_str(), Status::Applied)
    );

    let keys = key_statuses(&iam, "alice").await;
    assert_eq!(keys.len(), 2);
    assert_eq!(
        keys[&old], "Active",
        "the old key stays active during grace"
    );
    let new = other_key(&keys, &old);
    let secret = stored(&moto, "alice", "AWSCURRENT")
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
    let signed_with = |secret: &str| {
        let config = moto
            .sdk_config()
            .into_builder()
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                new.clone(),
                secret.to_owned(),
                None,
                None,
                "rotated",
            )))
            .build();
        aws_sdk_iam::Client::new(&config)
    };
    moto.enforce_auth(true);
    let good = signed_with(secret["SecretAccessKey"].as_str().unwrap())
        .list_access_keys()
        .user_name("alice")
        .send()
        .await;
    let bad = signed_with("not-the-secret-access-key-0000000000000")
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
    let iam = moto.iam();
    let old = user_with_key(&moto, "alice", 200, Some(1)).await;
    let settings = rotate_settings(&[]);
    let now = Utc::now();
    invoke_at(&moto, &settings, schedule(), now).await.unwrap();
    let new = other_key(&key_statuses(&iam, "alice").await, &old);

    for days in [0, 6] {
        let report = invoke_at(&moto, &settings, schedule(), now + Duration::days(days))
            .await
            .unwrap();
        assert!(
            report.actions.is_empty(),
            "day {days}: grace, nothing to do: {report:#?}"
        );
        assert_eq!(
            key_status(&iam, "alice", &old).await.as_deref(),
            Some("Active")
        );
    }

    let report = invoke_at(
        &moto,
        &settings,
        schedule(),
        now + Duration::days(7) + Duration::minutes(1),
    )
    .await
    .unwrap();
    let action = &report.actions[0];
    assert_eq!(
        (
            action.action.as_str(),
            action.target.as_str(),
            action.status
        ),
        ("deactivate-access-key", old.as_str(), Status::Applied)
    );
    assert_eq!(
        action.reason,
        format!("replaced by {new} 7 days ago (grace 7 days)")
    );
    assert_eq!(
        key_status(&iam, "alice", &old).await.as_deref(),
        Some("Inactive")
    );
    assert_eq!(
        key_status(&iam, "alice", &new).await.as_deref(),
        Some("Active")
    );

    let report = invoke_at(&moto, &settings, schedule(), now + Duration::days(38))
        .await
        .unwrap();
    assert_eq!(report.actions[0].action.as_str(), "delete-access-key");
    assert_eq!(
        key_statuses(&iam, "alice")
            .await
            .into_keys()
            .collect::<Vec<_>>(),
        vec![new.clone()]
    );

    // A later rotation keeps the previous key as AWSPREVIOUS.
    invoke_at(&moto, &settings, schedule(), now + Duration::days(200))
        .await
        .unwrap();
    let current = stored(&moto, "alice", "AWSCURRENT").await.unwrap();
    let previous = stored(&moto, "alice", "AWSPREVIOUS").await.unwrap();
    assert_eq!(previous["AccessKeyId"], json!(new));
    assert_ne!(current["AccessKeyId"], json!(new));
}

#[tokio::test]
async fn the_old_key_is_retired_once_the_new_key_is_used() {
    let moto = Moto::start();
    let iam = moto.iam();
    let old = user_with_key(&moto, "alice", 200, Some(1)).await;
    let settings = rotate_settings(&[]);
    invoke_at(&moto, &settings, schedule(), Utc::now())
        .await
        .unwrap();
    let new = other_key(&key_statuses(&iam, "alice").await, &old);
    let secret = stored(&moto, "alice", "AWSCURRENT").await.unwrap();

    // A consumer picks up the new key: moto records the use of any key that signs a request.
    let consumer = aws_sdk_iam::Client::new(
        &moto
            .sdk_config()
            .into_builder()
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                new.clone(),
                secret["SecretAccessKey"].as_str().unwrap().to_owned(),
                None,
                None,
                "consumer",
            )))
            .build(),
    );
    consumer.list_users().send().await.unwrap();

    let report = invoke_at(&moto, &settings, schedule(), Utc::now())
        .await
        .unwrap();
    assert_eq!(report.actions.len(), 1, "{report:#?}");
    assert!(
        report.actions[0]
            .reason
            .contains(&format!("replaced by {new}, which was used")),
        "{}",
        report.actions[0].reason
    );
    assert_eq!(
        key_status(&iam, "alice", &old).await.as_deref(),
        Some("Inactive")
    );
}

#[tokio::test]
async fn a_failure_to_store_leaves_no_orphan_key_and_the_old_key_untouched() {
    for failing in [
        "secretsmanager:CreateSecret",
        "secretsmanager:GetSecretValue",
    ] {
        let moto = Moto::start();
        let iam = moto.iam();
        let old = user_with_key(&moto, "alice", 200, Some(1)).await;
        moto.inject_fault(failing, "AccessDeniedException", 400, 1, 0);
        let err = invoke_at(&moto, &rotate_settings(&[]), schedule(), Utc::now())
            .await
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("it was deleted and the old key is unchanged"),
            "{failing}: {err}"
        );
        let keys = key_statuses(&iam, "alice").await;
        assert_eq!(
            keys.into_iter().collect::<Vec<_>>(),
            vec![(old.clone(), "Active".to_owned())],
            "{failing}"
        );
        let tags = iam
            .list_user_tags()
            .user_name("alice")
            .send()
            .await
            .unwrap()
            .tags;
        assert!(tags.is_empty(), "{failing}: no rotation recorded: {tags:?}");

        // The next run completes the work.
        let report = invoke_at(&moto, &rotate_settings(&[]), schedule(), Utc::now())
            .await
            .unwrap();
        assert_eq!(report.actions[0].status, Status::Applied, "{failing}");
        assert_eq!(key_statuses(&iam, "alice").await.len(), 2);
    }
}

#[tokio::test]
async fn a_rotation_whose_record_failed_is_recovered_from_the_secret() {
    let moto = Moto::start();
    let iam = moto.iam();
    let old = user_with_key(&moto, "alice", 200, Some(1)).await;
    moto.inject_fault("iam:TagUser", "ServiceFailure", 500, 5, 0);
    let err = invoke_at(&moto, &rotate_settings(&[]), schedule(), Utc::now())
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("the next run recovers it from the secret"),
        "{err}"
    );
    moto.reset_calls();
    let new = other_key(&key_statuses(&iam, "alice").await, &old);
    let report = invoke_at(
        &moto,
        &rotate_settings(&[]),
        schedule(),
        Utc::now() + Duration::days(8),
    )
    .await
    .unwrap();
    assert_eq!(report.actions.len(), 1, "{report:#?}");
    assert_eq!(
        report.actions[0].reason,
        format!("replaced by {new} 8 days ago (grace 7 days)")
    );
    assert_eq!(
        key_status(&iam, "alice", &old).await.as_deref(),
        Some("Inactive")
    );
    assert!(
        !moto.calls().contains_key("iam:CreateAccessKey"),
        "no second rotation"
    );
}

#[tokio::test]
async fn re_runs_and_concurrent_runs_never_make_a_third_key_or_a_second_rotation() {
    let moto = Moto::start();
    let iam = moto.iam();
    let old = user_with_key(&moto, "alice", 200, Some(1)).await;
    let settings = rotate_settings(&[]);
    let now = Utc::now();
    let (a, b) = tokio::join!(
        invoke_at(&moto, &settings, schedule(), now),
        invoke_at(&moto, &settings, schedule(), now)
    );
    let reports = [a.unwrap(), b.unwrap()];
    let applied: usize = reports.iter().map(|r| r.count(Status::Applied)).sum();
    assert_eq!(applied, 1, "{reports:#?}");
    let keys = key_statuses(&iam, "alice").await;
    assert_eq!(keys.len(), 2);
    let new = other_key(&keys, &old);
    assert_eq!(
        stored(&moto, "alice", "AWSCURRENT").await.unwrap()["AccessKeyId"],
        json!(new)
    );

    let again = invoke_at(&moto, &settings, schedule(), now).await.unwrap();
    assert!(again.actions.is_empty(), "{again:#?}");
    let order = json!({"access_key_id": old, "action": "rotate"});
    let report = invoke_at(&moto, &settings, order, now).await.unwrap();
    assert_eq!(report.actions[0].status, Status::Skipped);
    assert!(
        report.actions[0].reason.contains("no room for a new key"),
        "{}",
        report.actions[0].reason
    );
    assert_eq!(key_statuses(&iam, "alice").await.len(), 2);
}

#[tokio::test]
async fn a_user_with_no_room_is_skipped_with_the_reason() {
    let moto = Moto::start();
    let iam = moto.iam();
    let old = user_with_key(&moto, "alice", 200, Some(1)).await;
    let spare = add_key(&moto, "alice", 20, Some(1)).await;
    let report = invoke_at(&moto, &rotate_settings(&[]), schedule(), Utc::now())
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
    assert_eq!(
        key_statuses(&iam, "alice")
            .await
            .values()
            .filter(|s| *s == "Active")
            .count(),
        2,
        "both keys still work"
    );
}

#[tokio::test]
async fn manual_rotation_and_exposed_keys_in_rotate_mode() {
    let moto = Moto::start();
    let iam = moto.iam();
    let fresh = user_with_key(&moto, "alice", 1, Some(0)).await;
    tag_user(&iam, "alice", "iam-remediation:exempt", "true").await;
    let order = json!({"access_key_id": fresh, "action": "rotate"});
    let report = invoke_at(&moto, &rotate_settings(&[]), order, Utc::now())
        .await
        .unwrap();
    assert_eq!(
        report.actions[0].status,
        Status::Applied,
        "an operator's order overrides the exemption"
    );
    assert_eq!(key_statuses(&iam, "alice").await.len(), 2);

    let exposed = user_with_key(&moto, "bob", 1, Some(0)).await;
    let event = with(
        sample_event("access-keys", "health-credentials-exposed"),
        "/detail/affectedEntities",
        json!([{"entityValue": exposed}]),
    );
    let report = invoke_at(&moto, &rotate_settings(&[]), event, Utc::now())
        .await
        .unwrap();
    let rows: Vec<_> = report
        .actions
        .iter()
        .map(|a| (a.action.as_str(), a.status))
        .collect();
    assert_eq!(
        rows,
        vec![
            ("deactivate-access-key", Status::Applied),
            ("create-access-key", Status::Applied)
        ]
    );
    let keys = key_statuses(&iam, "bob").await;
    assert_eq!(keys[&exposed], "Inactive");
    let replacement = other_key(&keys, &exposed);
    assert_eq!(keys[&replacement], "Active");
    assert_eq!(
        stored(&moto, "bob", "AWSCURRENT").await.unwrap()["AccessKeyId"],
        json!(replacement)
    );
}
