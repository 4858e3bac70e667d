//! Real-AWS safety scenarios (the "Semantics that protect users" of the design): what must hold
//! when IAM, Secrets Manager and people behave as they do in a real account, not as in a tidy
//! test. Each test names the wanted behaviour; the `invoke_*` wrappers below are the only place
//! that knows each function's entry point, so the scenarios port easily when the API changes.

#![allow(clippy::unwrap_used, reason = "a test fails loudly")]

use chrono::{DateTime, Duration, Utc};
use iam_remediation::{ActionRecord, Clients, Env, Error, Report, Status};
use integration_tests::{
    Moto, add_key, create_user, days_ago, iso, key_status, key_statuses, sample_event, tag_user,
    user_tags, user_with_key, with,
};
use serde_json::{Value, json};

// -- the four functions, called the way the runtime calls them ----------------------------

fn key_settings(pairs: &[(&str, &str)]) -> access_keys::Settings {
    access_keys::Settings::from_env(&Env::from_pairs(pairs.iter().copied())).expect("settings")
}

fn rotate_settings(extra: &[(&str, &str)]) -> access_keys::Settings {
    let mut pairs = vec![("KEY_ACTION", "rotate")];
    pairs.extend_from_slice(extra);
    key_settings(&pairs)
}

async fn invoke_access_keys(
    moto: &Moto,
    settings: &access_keys::Settings,
    event: Value,
    now: DateTime<Utc>,
) -> Result<Report, Error> {
    let deps = access_keys::Deps::new(&moto.sdk_config());
    access_keys::handle(&deps, settings, event, now, None).await
}

async fn invoke_console_passwords(
    moto: &Moto,
    pairs: &[(&str, &str)],
    event: Value,
    now: DateTime<Utc>,
) -> Result<Report, Error> {
    let settings = console_passwords::Settings::from_env(&Env::from_pairs(pairs.iter().copied()))
        .expect("settings");
    let clients = Clients::new(&moto.sdk_config());
    console_passwords::handle(&clients, &settings, event, now, None).await
}

async fn invoke_password_policy(
    moto: &Moto,
    pairs: &[(&str, &str)],
    event: Value,
) -> Result<Report, Error> {
    let settings = password_policy::Settings::from_env(&Env::from_pairs(pairs.iter().copied()))
        .expect("settings");
    let clients = Clients::new(&moto.sdk_config());
    password_policy::handle(&clients, &settings, event, Utc::now(), None).await
}

async fn invoke_inline_policies(
    moto: &Moto,
    pairs: &[(&str, &str)],
    event: Value,
) -> Result<Report, Error> {
    let settings = inline_policies::Settings::from_env(&Env::from_pairs(pairs.iter().copied()))
        .expect("settings");
    let clients = Clients::new(&moto.sdk_config());
    inline_policies::handle(&clients, &settings, event, Utc::now(), None).await
}

// -- events and reading the outcome ---------------------------------------------------------

fn schedule(function: &str) -> Value {
    sample_event(function, "scheduled")
}

/// AWS Health's AWS_RISK_CREDENTIALS_EXPOSED naming these keys.
fn exposed(key_ids: &[&str]) -> Value {
    let entities: Vec<Value> = key_ids
        .iter()
        .map(|id| json!({"entityValue": id}))
        .collect();
    with(
        sample_event("access-keys", "health-credentials-exposed"),
        "/detail/affectedEntities",
        json!(entities),
    )
}

/// CloudTrail's UpdateAccessKey of `key_id` of `user` to `status`.
fn update_access_key_event(user: &str, key_id: &str, status: &str) -> Value {
    with(
        sample_event("access-keys", "cloudtrail-update-access-key"),
        "/detail/requestParameters",
        json!({"userName": user, "accessKeyId": key_id, "status": status}),
    )
}

/// Everything a run said, to search: the report as JSON, or the Lambda error's message.
fn said(result: &Result<Report, Error>) -> String {
    match result {
        Ok(report) => serde_json::to_string(report).unwrap(),
        Err(error) => format!("Lambda error: {error}"),
    }
}

fn action_on<'a>(report: &'a Report, target: &str) -> &'a ActionRecord {
    report
        .actions
        .iter()
        .find(|a| a.target == target)
        .unwrap_or_else(|| panic!("no action on {target}: {report:#?}"))
}

async fn set_key_status(iam: &aws_sdk_iam::Client, user: &str, key_id: &str, status: &str) {
    iam.update_access_key()
        .user_name(user)
        .access_key_id(key_id)
        .status(status.into())
        .send()
        .await
        .expect("UpdateAccessKey");
}

/// The key ID the user's rotation secret holds at `stage`, or what a consumer reads (no stage:
/// AWSCURRENT) when `None`. `None` back: no secret, or no such stage.
async fn secret_key_id(moto: &Moto, user: &str, stage: Option<&str>) -> Option<String> {
    let output = moto
        .secrets()
        .get_secret_value()
        .secret_id(format!("iam-remediation/access-keys/{user}"))
        .set_version_stage(stage.map(str::to_owned))
        .send()
        .await
        .ok()?;
    let stored: Value = serde_json::from_str(output.secret_string()?).ok()?;
    stored["AccessKeyId"].as_str().map(str::to_owned)
}

async fn has_password(iam: &aws_sdk_iam::Client, user: &str) -> bool {
    iam.get_login_profile().user_name(user).send().await.is_ok()
}

// == 1. An exposed key is deactivated whatever else fails =====================================

/// 1a. ListUserTags (and GetUser) denied: the exemption is unknown, but an exposed key ignores
/// exemptions, so it needs no tag read.
#[tokio::test]
async fn exposed_key_is_deactivated_when_tags_cannot_be_read() {
    let moto = Moto::start();
    let iam = moto.iam();
    let key = user_with_key(&moto, "alice", 10, Some(0)).await;
    moto.inject_fault("iam:ListUserTags", "AccessDenied", 403, 100, 0);
    moto.inject_fault("iam:GetUser", "AccessDenied", 403, 100, 0);

    let result = invoke_access_keys(&moto, &key_settings(&[]), exposed(&[&key]), Utc::now()).await;

    assert_eq!(
        key_status(&iam, "alice", &key).await.as_deref(),
        Some("Inactive"),
        "the exposed key is still active; the run said: {}",
        said(&result)
    );
    if let Ok(report) = &result {
        assert_eq!(
            action_on(report, &key).status,
            Status::Applied,
            "{report:#?}"
        );
    }
}

/// 1a, the other half: when the exposed key itself cannot be deactivated, the run is a Lambda
/// error (alarms fire), even when the tags could not be read either.
#[tokio::test]
async fn exposed_key_that_cannot_be_deactivated_is_a_lambda_error() {
    let moto = Moto::start();
    let iam = moto.iam();
    let key = user_with_key(&moto, "alice", 10, Some(0)).await;
    moto.inject_fault("iam:ListUserTags", "AccessDenied", 403, 100, 0);
    moto.inject_fault("iam:UpdateAccessKey", "AccessDenied", 403, 100, 0);

    let result = invoke_access_keys(&moto, &key_settings(&[]), exposed(&[&key]), Utc::now()).await;

    let error = result.expect_err("an exposed key left active must fail the run");
    assert!(
        error.to_string().contains("UpdateAccessKey") && error.to_string().contains(&key),
        "{error}"
    );
    moto.clear_faults();
    assert_eq!(
        key_status(&iam, "alice", &key).await.as_deref(),
        Some("Active")
    );
}

/// 1b. The record cannot be written because the user already has IAM's 50 tags (TagUser:
/// LimitExceeded, which the test bed answers as IAM does): the key is deactivated anyway, and
/// the missing record is a warning in the report.
#[tokio::test]
async fn exposed_key_is_deactivated_when_its_user_already_has_50_tags() {
    let moto = Moto::start();
    let iam = moto.iam();
    let key = user_with_key(&moto, "alice", 10, Some(0)).await;
    let tags: Vec<_> = (0..50)
        .map(|i| {
            aws_sdk_iam::types::Tag::builder()
                .key(format!("team-{i:02}"))
                .value("x")
                .build()
                .unwrap()
        })
        .collect();
    iam.tag_user()
        .user_name("alice")
        .set_tags(Some(tags))
        .send()
        .await
        .unwrap();
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

    let result = invoke_access_keys(&moto, &key_settings(&[]), exposed(&[&key]), Utc::now()).await;

    assert_eq!(
        key_status(&iam, "alice", &key).await.as_deref(),
        Some("Inactive"),
        "the exposed key is still active; the run said: {}",
        said(&result)
    );
    assert!(
        said(&result).contains("LimitExceeded"),
        "the report says the record could not be written: {}",
        said(&result)
    );
    assert_eq!(user_tags(&iam, "alice").await.len(), 50, "no tag was lost");
}

/// 1c. TagUser denied: the record is bookkeeping, never a precondition of the deactivation.
#[tokio::test]
async fn exposed_key_is_deactivated_when_tag_writes_are_denied() {
    let moto = Moto::start();
    let iam = moto.iam();
    let key = user_with_key(&moto, "alice", 10, Some(0)).await;
    moto.inject_fault("iam:TagUser", "AccessDenied", 403, 100, 0);

    let result = invoke_access_keys(&moto, &key_settings(&[]), exposed(&[&key]), Utc::now()).await;

    assert_eq!(
        key_status(&iam, "alice", &key).await.as_deref(),
        Some("Inactive"),
        "the exposed key is still active; the run said: {}",
        said(&result)
    );
    assert!(
        said(&result).contains("TagUser"),
        "the report says the record could not be written: {}",
        said(&result)
    );
}

/// 1d. Rotate mode: the user's rotation secret cannot be read (GetSecretValue denied). The
/// secret matters to the replacement, not to turning the exposed key off.
#[tokio::test]
async fn exposed_key_is_deactivated_in_rotate_mode_when_the_secret_cannot_be_read() {
    let moto = Moto::start();
    let iam = moto.iam();
    // Two active keys, one too old: what a rotation whose record was lost looks like, so the
    // function consults the user's secret.
    let old = user_with_key(&moto, "bob", 200, Some(1)).await;
    let key = add_key(&moto, "bob", 5, Some(0)).await;
    moto.inject_fault(
        "secretsmanager:GetSecretValue",
        "AccessDeniedException",
        400,
        100,
        0,
    );

    let result =
        invoke_access_keys(&moto, &rotate_settings(&[]), exposed(&[&key]), Utc::now()).await;

    assert_eq!(
        key_status(&iam, "bob", &key).await.as_deref(),
        Some("Inactive"),
        "the exposed key is still active; the run said: {}",
        said(&result)
    );
    assert_eq!(
        key_status(&iam, "bob", &old).await.as_deref(),
        Some("Active"),
        "only the exposed key is acted on"
    );
}

/// 1e. A Health event naming a key that no longer exists and a live one: the live one is
/// deactivated, and the missing one is reported as an error.
#[tokio::test]
async fn exposed_live_key_is_deactivated_when_the_event_also_names_a_deleted_key() {
    let moto = Moto::start();
    let iam = moto.iam();
    let gone = user_with_key(&moto, "alice", 10, Some(0)).await;
    iam.delete_access_key()
        .user_name("alice")
        .access_key_id(&gone)
        .send()
        .await
        .unwrap();
    let live = user_with_key(&moto, "bob", 10, Some(0)).await;

    let result = invoke_access_keys(
        &moto,
        &key_settings(&[]),
        exposed(&[&gone, &live]),
        Utc::now(),
    )
    .await;

    assert_eq!(
        key_status(&iam, "bob", &live).await.as_deref(),
        Some("Inactive"),
        "the run said: {}",
        said(&result)
    );
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
    let iam = moto.iam();
    let live = user_with_key(&moto, "bob", 10, Some(0)).await;
    // The first lookup (of the foreign key, named first) is refused.
    moto.inject_fault("iam:GetAccessKeyLastUsed", "AccessDenied", 403, 1, 0);

    let foreign = "AKIAFOREIGNACCOUNT01";
    let result = invoke_access_keys(
        &moto,
        &key_settings(&[]),
        exposed(&[foreign, &live]),
        Utc::now(),
    )
    .await;

    assert_eq!(
        key_status(&iam, "bob", &live).await.as_deref(),
        Some("Inactive"),
        "the live exposed key is still active; the run said: {}",
        said(&result)
    );
    let error = result.expect_err("a key that could not be looked up is an error of the run");
    assert!(error.to_string().contains(foreign), "{error}");
}

/// 1f. Records of keys that no longer exist (`iam-remediation:key:<id>` user tags) are removed
/// when the user is next handled, so that a user's tag count does not creep towards IAM's 50.
#[tokio::test]
async fn records_of_keys_that_no_longer_exist_are_removed_when_the_user_is_next_handled() {
    let moto = Moto::start();
    let iam = moto.iam();
    let old = user_with_key(&moto, "alice", 200, Some(1)).await;
    let now = Utc::now();
    invoke_access_keys(&moto, &key_settings(&[]), schedule("access-keys"), now)
        .await
        .unwrap();
    let record = format!("iam-remediation:key:{old}");
    assert!(user_tags(&iam, "alice").await.contains_key(&record));

    // The owner deletes the old key by hand and creates a new one; CloudTrail tells the function.
    iam.delete_access_key()
        .user_name("alice")
        .access_key_id(&old)
        .send()
        .await
        .unwrap();
    let new = add_key(&moto, "alice", 0, None).await;
    let event = sample_event("access-keys", "cloudtrail-create-access-key");
    let result =
        invoke_access_keys(&moto, &key_settings(&[]), event, now + Duration::hours(1)).await;

    let tags = user_tags(&iam, "alice").await;
    assert!(
        !tags.contains_key(&record),
        "the record of deleted key {old} is still on alice: {tags:?}; the run said: {}",
        said(&result)
    );
    assert_eq!(
        key_status(&iam, "alice", &new).await.as_deref(),
        Some("Active")
    );
}

// == 2. A rotation never leaves AWSCURRENT on a deleted key =================================

#[tokio::test]
async fn a_failed_rotation_puts_awscurrent_back_on_the_working_key() {
    let moto = Moto::start();
    let iam = moto.iam();
    let secrets = moto.secrets();
    create_user(&iam, "alice").await;
    // Key B works and is what the user's secret holds (an earlier rotation); it is now too old.
    let working = iam
        .create_access_key()
        .user_name("alice")
        .send()
        .await
        .unwrap()
        .access_key
        .unwrap();
    let b = working.access_key_id.clone();
    moto.set_key(&b, Some(days_ago(200)), Some(Some(days_ago(1))));
    let b_version = secrets
        .create_secret()
        .name("iam-remediation/access-keys/alice")
        .secret_string(
            json!({
                "AccessKeyId": b,
                "SecretAccessKey": working.secret_access_key,
                "UserName": "alice",
                "CreateDate": iso(days_ago(200)),
            })
            .to_string(),
        )
        .send()
        .await
        .unwrap()
        .version_id
        .unwrap();
    assert_eq!(
        secret_key_id(&moto, "alice", Some("AWSCURRENT"))
            .await
            .as_deref(),
        Some(b.as_str())
    );
    // Once the new key is stored (PutSecretValue moved AWSCURRENT to it), reading it back fails.
    moto.after(
        "secretsmanager:PutSecretValue",
        0,
        &json!({"fault": {"action": "secretsmanager:GetSecretValue", "code": "AccessDeniedException", "status": 400, "count": 100}}),
    );

    let result = invoke_access_keys(
        &moto,
        &rotate_settings(&[]),
        schedule("access-keys"),
        Utc::now(),
    )
    .await;
    moto.clear_faults();

    assert!(
        moto.calls()
            .get("secretsmanager:PutSecretValue")
            .copied()
            .unwrap_or(0)
            >= 1,
        "the scenario needs the new key stored first: {:?}",
        moto.calls()
    );
    assert_eq!(
        key_statuses(&iam, "alice")
            .await
            .into_iter()
            .collect::<Vec<_>>(),
        vec![(b.clone(), "Active".to_owned())],
        "the new key is deleted, B untouched; the run said: {}",
        said(&result)
    );
    assert_eq!(
        secret_key_id(&moto, "alice", Some("AWSCURRENT"))
            .await
            .as_deref(),
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
    let moto = Moto::start();
    let iam = moto.iam();
    let key = user_with_key(&moto, "alice", 10, Some(1)).await;
    let settings = key_settings(&[]);
    let t0 = Utc::now();
    // An operator turns the key off through the function: recorded.
    let order = json!({"access_key_id": key, "action": "deactivate"});
    invoke_access_keys(&moto, &settings, order, t0)
        .await
        .unwrap();
    assert_eq!(
        key_status(&iam, "alice", &key).await.as_deref(),
        Some("Inactive")
    );
    assert!(
        user_tags(&iam, "alice").await[&format!("iam-remediation:key:{key}")]
            .starts_with("deactivated ")
    );

    // Someone turns it back on, and the function hears the call.
    set_key_status(&iam, "alice", &key, "Active").await;
    let heard = invoke_access_keys(
        &moto,
        &settings,
        update_access_key_event("alice", &key, "Active"),
        t0 + Duration::hours(1),
    )
    .await
    .unwrap();
    assert!(
        heard.actions.is_empty(),
        "a fresh, used key needs nothing: {heard:#?}"
    );

    // Two days later a human turns it off (CloudTrail tells the function too).
    set_key_status(&iam, "alice", &key, "Inactive").await;
    invoke_access_keys(
        &moto,
        &settings,
        update_access_key_event("alice", &key, "Inactive"),
        t0 + Duration::days(2),
    )
    .await
    .unwrap();

    let result = invoke_access_keys(
        &moto,
        &settings,
        schedule("access-keys"),
        t0 + Duration::days(31),
    )
    .await;
    assert_eq!(
        key_status(&iam, "alice", &key).await.as_deref(),
        Some("Inactive"),
        "the key a human deactivated was deleted on this system's stale record; the run said: {}",
        said(&result)
    );
}

/// 3b. Deactivated and recorded, then used again well after the record (someone reactivated it
/// unheard, used it ten days later), then deactivated by a human: not deleted on the old record.
#[tokio::test]
async fn a_key_used_after_its_record_is_never_deleted_on_that_record() {
    let moto = Moto::start();
    let iam = moto.iam();
    let key = user_with_key(&moto, "alice", 200, Some(1)).await;
    let settings = key_settings(&[]);
    let t0 = Utc::now();
    invoke_access_keys(&moto, &settings, schedule("access-keys"), t0)
        .await
        .unwrap();
    assert_eq!(
        key_status(&iam, "alice", &key).await.as_deref(),
        Some("Inactive")
    );

    set_key_status(&iam, "alice", &key, "Active").await;
    moto.set_key(&key, None, Some(Some(t0 + Duration::days(10))));
    set_key_status(&iam, "alice", &key, "Inactive").await;

    let result = invoke_access_keys(
        &moto,
        &settings,
        schedule("access-keys"),
        t0 + Duration::days(31),
    )
    .await;
    assert_eq!(
        key_status(&iam, "alice", &key).await.as_deref(),
        Some("Inactive"),
        "a key used 10 days after the record was deleted on that record; the run said: {}",
        said(&result)
    );
}

// == 4. An administrator's password reset is a fresh start =================================

#[tokio::test]
async fn an_administrators_password_reset_is_not_deleted() {
    let moto = Moto::start();
    let iam = moto.iam();
    create_user(&iam, "alice").await;
    iam.create_login_profile()
        .user_name("alice")
        .password("Correct-Horse-Battery-9!")
        .send()
        .await
        .unwrap();
    // An old password, last used 150 days ago (moto dates the login profile by its user).
    moto.set_user("alice", Some(days_ago(200)), Some(Some(days_ago(150))));
    // An administrator resets it. IAM (and moto) keep the profile's CreateDate and the user's
    // PasswordLastUsed: only the call itself says the password is new.
    iam.update_login_profile()
        .user_name("alice")
        .password("Fresh-Start-Password-8!")
        .password_reset_required(true)
        .send()
        .await
        .unwrap();
    let t0 = Utc::now();

    let event = sample_event("console-passwords", "cloudtrail-update-login-profile");
    let result = invoke_console_passwords(&moto, &[], event, t0).await;
    assert!(
        has_password(&iam, "alice").await,
        "the reset password was deleted when its UpdateLoginProfile arrived: {}",
        said(&result)
    );

    for (days, pairs) in [(1, vec![]), (30, vec![("MAX_PASSWORD_UNUSED_DAYS", "90")])] {
        let result = invoke_console_passwords(
            &moto,
            &pairs,
            schedule("console-passwords"),
            t0 + Duration::days(days),
        )
        .await;
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
    let moto = Moto::start();
    let iam = moto.iam();
    let never_used = user_with_key(&moto, "idle", 200, None).await;
    let long_unused = user_with_key(&moto, "stale", 200, Some(150)).await;
    moto.reset_calls();

    let report = invoke_access_keys(
        &moto,
        &rotate_settings(&[("MAX_KEY_UNUSED_DAYS", "90")]),
        schedule("access-keys"),
        Utc::now(),
    )
    .await
    .expect("report");

    for (user, key) in [("idle", &never_used), ("stale", &long_unused)] {
        let action = action_on(&report, key);
        assert_eq!(
            (action.action.as_str(), action.status),
            ("deactivate-access-key", Status::Applied),
            "{user}: {action:#?}"
        );
        assert_eq!(
            key_statuses(&iam, user)
                .await
                .into_iter()
                .collect::<Vec<_>>(),
            vec![(key.clone(), "Inactive".to_owned())],
            "{user}"
        );
        assert_eq!(
            secret_key_id(&moto, user, Some("AWSCURRENT")).await,
            None,
            "{user}"
        );
    }
    assert_eq!(moto.calls().get("iam:CreateAccessKey"), None);
}

// == 6. Names Secrets Manager refuses; a report row that does not parse =====================

/// IAM allows `,` in user names; Secrets Manager names allow only letters, digits and /_+=.@-
/// (the test bed answers ValidationException as Secrets Manager does). Known before any key is
/// created, so no key is made for nobody to hold.
#[tokio::test]
async fn a_user_name_secrets_manager_refuses_is_skipped_before_any_key_is_created() {
    let moto = Moto::start();
    let iam = moto.iam();
    let refused = user_with_key(&moto, "svc,ci", 200, Some(1)).await;
    let alice = user_with_key(&moto, "alice", 200, Some(1)).await;
    moto.reset_calls();

    let result = invoke_access_keys(
        &moto,
        &rotate_settings(&[]),
        json!({"users": ["svc,ci", "alice"]}),
        Utc::now(),
    )
    .await;

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
    assert_eq!(
        key_statuses(&iam, "svc,ci")
            .await
            .into_iter()
            .collect::<Vec<_>>(),
        vec![(refused.clone(), "Active".to_owned())]
    );
    // The other user is rotated as usual.
    assert_eq!(action_on(&report, &alice).status, Status::Applied);
    assert_eq!(key_statuses(&iam, "alice").await.len(), 2);
    assert!(
        secret_key_id(&moto, "alice", Some("AWSCURRENT"))
            .await
            .is_some()
    );
}

/// 6b. moto writes the credential report without CSV quoting, so a user name with a comma makes
/// its row two fields longer than the header (the name and the ARN each split; checked below). One unreadable row never stops a
/// sweep: the other users are handled, that user is read live, and the report's notes say so.
#[tokio::test]
async fn an_unreadable_credential_report_row_does_not_stop_the_sweep() {
    let moto = Moto::start();
    let iam = moto.iam();
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

    let result = invoke_access_keys(
        &moto,
        &key_settings(&[]),
        schedule("access-keys"),
        Utc::now(),
    )
    .await;

    let report = result.expect("one unreadable row must not stop the sweep");
    assert_eq!(
        key_status(&iam, "alice", &alice).await.as_deref(),
        Some("Inactive")
    );
    assert_eq!(
        key_status(&iam, "svc,ci", &odd).await.as_deref(),
        Some("Inactive"),
        "the user of the unreadable row is read live: {report:#?}"
    );
    assert!(
        report.notes.iter().any(|note| note.contains("svc,ci")),
        "the notes say which row was read live: {:?}",
        report.notes
    );
}

// == 7. IAM's eventual consistency (inline-policies) ========================================

fn read_document() -> String {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]})
        .to_string()
}

async fn user_with_inline_policy(iam: &aws_sdk_iam::Client, user: &str) {
    create_user(iam, user).await;
    iam.put_user_policy()
        .user_name(user)
        .policy_name("s3-read")
        .policy_document(read_document())
        .send()
        .await
        .unwrap();
}

async fn inline_and_attached(iam: &aws_sdk_iam::Client, user: &str) -> (Vec<String>, Vec<String>) {
    let inline = iam
        .list_user_policies()
        .user_name(user)
        .send()
        .await
        .unwrap()
        .policy_names;
    let attached = iam
        .list_attached_user_policies()
        .user_name(user)
        .send()
        .await
        .unwrap()
        .attached_policies
        .unwrap_or_default()
        .into_iter()
        .filter_map(|p| p.policy_name)
        .collect();
    (inline, attached)
}

/// 7a. AttachUserPolicy right after our own CreatePolicy answers NoSuchEntity once (the new
/// policy has not reached every IAM replica yet): retried, and the conversion succeeds.
#[tokio::test]
async fn no_such_entity_right_after_our_own_create_policy_is_retried() {
    let moto = Moto::start();
    let iam = moto.iam();
    user_with_inline_policy(&iam, "alice").await;
    moto.inject_fault("iam:AttachUserPolicy", "NoSuchEntity", 404, 1, 0);

    let result = invoke_inline_policies(&moto, &[], schedule("inline-policies")).await;

    let report = result.expect("a retried conversion is not an error");
    let action = action_on(&report, "s3-read");
    assert_eq!(
        (action.action.as_str(), action.status),
        ("convert-inline-policy", Status::Applied),
        "{action:#?}"
    );
    assert_eq!(
        inline_and_attached(&iam, "alice").await,
        (vec![], vec!["user+alice+s3-read".to_owned()])
    );
}

/// 7b. NoSuchEntity that persists after our own CreatePolicy is a failure, never "already
/// gone"; the run is a Lambda error, and the inline policy is still there.
#[tokio::test]
async fn persistent_no_such_entity_after_our_own_create_policy_fails_and_keeps_the_inline_policy() {
    let moto = Moto::start();
    let iam = moto.iam();
    user_with_inline_policy(&iam, "alice").await;
    moto.inject_fault("iam:AttachUserPolicy", "NoSuchEntity", 404, 10, 0);

    let result = invoke_inline_policies(&moto, &[], schedule("inline-policies")).await;

    let (inline, attached) = inline_and_attached(&iam, "alice").await;
    assert_eq!(
        inline,
        vec!["s3-read".to_owned()],
        "the inline policy is kept"
    );
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
#[tokio::test]
async fn exempt_principals_globs_match_names_regardless_of_case() {
    let moto = Moto::start();
    let iam = moto.iam();
    let key = user_with_key(&moto, "BreakGlass-1", 200, Some(1)).await;

    let result = invoke_access_keys(
        &moto,
        &key_settings(&[("EXEMPT_PRINCIPALS", "breakglass-*")]),
        schedule("access-keys"),
        Utc::now(),
    )
    .await;

    assert_eq!(
        key_status(&iam, "BreakGlass-1", &key).await.as_deref(),
        Some("Active"),
        "the break-glass user's key was deactivated; the run said: {}",
        said(&result)
    );
    let report = result.unwrap();
    let action = action_on(&report, &key);
    assert_eq!(action.status, Status::Skipped);
    assert!(action.reason.contains("breakglass-*"), "{}", action.reason);
}

/// 8b. "Tag key values for IAM users and roles are not case sensitive, but case is preserved"
/// (IAM User Guide, Tagging IAM resources, Case sensitivity; the test bed now keys user and role
/// tags that way): `IAM-Remediation:Exempt=true` is the exempt tag.
#[tokio::test]
async fn the_exempt_tag_matches_regardless_of_case() {
    let moto = Moto::start();
    let iam = moto.iam();
    let key = user_with_key(&moto, "alice", 200, Some(1)).await;
    tag_user(&iam, "alice", "IAM-Remediation:Exempt", "true").await;
    // As in IAM, the same key in another case is the same tag, not a second one.
    tag_user(&iam, "alice", "IAM-REMEDIATION:EXEMPT", "true").await;
    assert_eq!(user_tags(&iam, "alice").await.len(), 1);

    let result = invoke_access_keys(
        &moto,
        &key_settings(&[]),
        schedule("access-keys"),
        Utc::now(),
    )
    .await;

    assert_eq!(
        key_status(&iam, "alice", &key).await.as_deref(),
        Some("Active"),
        "the exempt user's key was deactivated; the run said: {}",
        said(&result)
    );
    let report = result.unwrap();
    assert_eq!(action_on(&report, &key).status, Status::Skipped);
}

// == 9. Never lock every user out at once (password-policy) =================================

/// MaxPasswordAge and HardExpiry as IAM holds them (`None`: not set).
async fn max_age_and_hard_expiry(iam: &aws_sdk_iam::Client) -> (Option<i32>, bool) {
    let policy = iam
        .get_account_password_policy()
        .send()
        .await
        .unwrap()
        .password_policy
        .unwrap();
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

fn skipped_naming_hard_expiry(report: &Report) -> bool {
    report
        .actions
        .iter()
        .any(|a| a.status == Status::Skipped && a.reason.contains("HardExpiry"))
}

/// 9a. HardExpiry on, no MaxPasswordAge: adding the floor's 90 days would expire every password
/// older than that at once, and HardExpiry means those users cannot even set a new one.
#[tokio::test]
async fn a_hard_expiry_policy_gets_no_max_password_age() {
    let moto = Moto::start();
    let iam = moto.iam();
    set_hard_expiry_policy(&iam, None).await;

    let result = invoke_password_policy(&moto, &[], schedule("password-policy")).await;

    assert_eq!(
        max_age_and_hard_expiry(&iam).await,
        (None, true),
        "a MaxPasswordAge was added under HardExpiry; the run said: {}",
        said(&result)
    );
    let report = result.expect("report");
    assert!(skipped_naming_hard_expiry(&report), "{report:#?}");
}

/// 9b. HardExpiry on with MaxPasswordAge 180: not shortened to the floor's 90.
#[tokio::test]
async fn a_hard_expiry_policy_max_password_age_is_not_shortened() {
    let moto = Moto::start();
    let iam = moto.iam();
    set_hard_expiry_policy(&iam, Some(180)).await;

    let result = invoke_password_policy(&moto, &[], schedule("password-policy")).await;

    assert_eq!(
        max_age_and_hard_expiry(&iam).await,
        (Some(180), true),
        "MaxPasswordAge was shortened under HardExpiry; the run said: {}",
        said(&result)
    );
    let report = result.expect("report");
    assert!(skipped_naming_hard_expiry(&report), "{report:#?}");
}

// == 10. Delete only after a re-check ========================================================

/// A key this system deactivated 40 days ago is reactivated by someone between the facts read
/// and the deletion (the test bed turns it back on right after the sweep's ListAccessKeys):
/// a key found active right before the deletion is never deleted.
#[tokio::test]
async fn a_key_found_active_right_before_deletion_is_never_deleted() {
    let moto = Moto::start();
    let iam = moto.iam();
    let key = user_with_key(&moto, "alice", 200, Some(1)).await;
    let settings = key_settings(&[]);
    let now = Utc::now();
    invoke_access_keys(
        &moto,
        &settings,
        schedule("access-keys"),
        now - Duration::days(40),
    )
    .await
    .unwrap();
    assert_eq!(
        key_status(&iam, "alice", &key).await.as_deref(),
        Some("Inactive")
    );
    moto.after(
        "iam:ListAccessKeys",
        0,
        &json!({"set_key_status": {"access_key_id": key, "status": "Active"}}),
    );

    let result = invoke_access_keys(&moto, &settings, schedule("access-keys"), now).await;

    assert_eq!(
        key_status(&iam, "alice", &key).await.as_deref(),
        Some("Active"),
        "a key reactivated before the deletion was deleted; the run said: {}",
        said(&result)
    );
}
