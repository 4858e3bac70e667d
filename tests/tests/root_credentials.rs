//! `root-credentials` (issue 22, DESIGN.md "Organisations"): member accounts' root user
//! credentials removed through `sts:AssumeRoot`, from the security account (the IAM delegated
//! administrator), against the organisation test bed's AssumeRoot (`organisation_ext.py`: who
//! may call it, the task policies' reach, 900 s at most, root credentials per account with last
//! uses). Each test asserts the root credentials left in the account, the report, and the
//! sessions AssumeRoot issued.

#![allow(clippy::unwrap_used, reason = "a test fails loudly")]

use chrono::{Duration, Utc};
use iam_remediation::{Error, Report};
use integration_tests::organisation::{
    AUDIT_ROOT, DELETE_ROOT, Organisation, RootCredentials as Seeded, RootKey, account_admin,
    function_config, root_credentials, root_sessions, seed_organisation, seed_root_credentials,
    set_root_features,
};
use integration_tests::{
    Deployed, Moto, days_ago, finding_state_in, import_findings_into, sample_event, schedule, with,
};
use root_credentials::RootCredentials;
use serde_json::{Value, json};

const FUNCTION: &str = "root-credentials";

async fn organisation() -> (Moto, Organisation) {
    let moto = Moto::start();
    let org = seed_organisation(&moto, 2).await;
    (moto, org)
}

/// The function in the security account, with its function role's credentials.
fn deployed(moto: &Moto, org: &Organisation, extra: &[(&str, &str)]) -> Deployed<RootCredentials> {
    let mut pairs = vec![
        ("AWS_LAMBDA_FUNCTION_NAME", FUNCTION),
        ("EXEMPT_ACCOUNTS", ""),
    ];
    pairs.extend_from_slice(extra);
    Deployed::new(&function_config(moto, org.function_role(FUNCTION)), &pairs)
}

fn key(created: i64, last_used: Option<i64>) -> RootKey {
    RootKey {
        active: true,
        created: days_ago(created),
        last_used: last_used.map(days_ago),
    }
}

/// Seeds `account`'s root user; returns its access key IDs, in the order given.
fn seed(moto: &Moto, account: &str, credentials: &Seeded) -> Vec<String> {
    let seeded = seed_root_credentials(moto, account, credentials);
    ids(&seeded, "access_keys", "access_key_id")
}

fn keys_only(keys: Vec<RootKey>) -> Seeded {
    Seeded {
        access_keys: keys,
        password: None,
        mfa_devices: Vec::new(),
        signing_certificates: 0,
    }
}

fn ids(credentials: &Value, list: &str, field: &str) -> Vec<String> {
    credentials[list]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry[field].as_str().unwrap().to_owned())
        .collect()
}

/// The root access keys `account` still has.
fn root_keys(moto: &Moto, account: &str) -> Vec<String> {
    ids(
        &root_credentials(moto, account),
        "access_keys",
        "access_key_id",
    )
}

/// The report's actions as (account, action, target, status), sorted.
fn rows(report: &Report) -> Vec<(String, String, String, String)> {
    let mut rows: Vec<_> = report
        .actions
        .iter()
        .map(|a| {
            (
                a.account.clone(),
                a.action.to_owned(),
                a.target.clone(),
                a.status.as_str().to_owned(),
            )
        })
        .collect();
    rows.sort();
    rows
}

fn row(
    account: &str,
    action: &str,
    target: &str,
    status: &str,
) -> (String, String, String, String) {
    (account.into(), action.into(), target.into(), status.into())
}

fn in_account(account: &str) -> Value {
    json!({ "accounts": [account] })
}

#[tokio::test]
async fn a_root_key_never_used_is_deleted_in_an_audit_then_a_delete_session() {
    let (moto, org) = organisation().await;
    let member = org.members[0].as_str();
    let keys = seed(&moto, member, &keys_only(vec![key(200, None)]));
    let other = seed(&moto, &org.members[1], &keys_only(vec![key(200, None)]));

    let report = deployed(&moto, &org, &[])
        .invoke(in_account(member), None)
        .await
        .unwrap();

    assert_eq!(
        rows(&report),
        [row(member, "delete-root-access-key", &keys[0], "applied")],
        "{report:#?}"
    );
    assert!(root_keys(&moto, member).is_empty());
    assert_eq!(
        root_keys(&moto, &org.members[1]),
        other,
        "another member untouched"
    );
    let sessions: Vec<(String, String)> = root_sessions(&moto)
        .iter()
        .map(|s| {
            (
                s["account"].as_str().unwrap().into(),
                s["task_policy_arn"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        sessions,
        [
            (member.to_owned(), AUDIT_ROOT.to_owned()),
            (member.to_owned(), DELETE_ROOT.to_owned())
        ],
        "read in an audit session, deleted in a delete session"
    );
    for session in root_sessions(&moto) {
        let seconds = session["duration_seconds"].as_i64().unwrap();
        assert!(seconds <= 900, "{session}");
    }
}

#[tokio::test]
async fn a_root_key_unused_for_max_key_unused_days_is_deleted_and_one_in_use_is_warned_first() {
    let (moto, org) = organisation().await;
    let member = org.members[0].as_str();
    let keys = seed(
        &moto,
        member,
        &keys_only(vec![key(400, Some(120)), key(400, Some(3))]),
    );
    let function = deployed(&moto, &org, &[("WARN_DAYS", "0")]);

    let report = function.invoke(in_account(member), None).await.unwrap();
    let mut expected = vec![
        row(member, "delete-root-access-key", &keys[0], "applied"),
        row(member, "delete-root-access-key", &keys[1], "warned"),
    ];
    expected.sort();
    assert_eq!(rows(&report), expected, "{report:#?}");
    assert_eq!(root_keys(&moto, member), [keys[1].clone()]);
    let warned = report
        .actions
        .iter()
        .find(|a| a.status.as_str() == "warned")
        .unwrap();
    assert!(warned.reason.contains("warned"), "{warned:#?}");
    let tags = account_tags(&moto, &org, member).await;
    let record = format!("iam-remediation:warned:{FUNCTION}:{}", keys[1]);
    assert!(
        tags.iter().any(|(k, _)| k == &record),
        "the warning is a tag on the account: {tags:?}"
    );

    // WARN_DAYS=0 still waits 7 days for a root key in use: 6 days on it is still warned, 8
    // days on it is deleted and its warning tag removed.
    let six = function
        .invoke_at(in_account(member), Utc::now() + Duration::days(6), None)
        .await
        .unwrap();
    assert_eq!(
        rows(&six),
        [row(member, "delete-root-access-key", &keys[1], "warned")]
    );
    assert_eq!(root_keys(&moto, member), [keys[1].clone()]);
    let eight = function
        .invoke_at(in_account(member), Utc::now() + Duration::days(8), None)
        .await
        .unwrap();
    assert_eq!(
        rows(&eight),
        [row(member, "delete-root-access-key", &keys[1], "applied")],
        "{eight:#?}"
    );
    assert!(root_keys(&moto, member).is_empty());
    let tags = account_tags(&moto, &org, member).await;
    assert!(
        !tags.iter().any(|(k, _)| k == &record),
        "the warning tag is gone: {tags:?}"
    );
}

/// The member account's tags in AWS Organizations, as the management account reads them.
async fn account_tags(moto: &Moto, org: &Organisation, account: &str) -> Vec<(String, String)> {
    let _ = org;
    let organizations = aws_sdk_organizations::Client::new(&moto.sdk_config());
    let listed = organizations
        .list_tags_for_resource()
        .resource_id(account)
        .send()
        .await
        .expect("ListTagsForResource");
    listed
        .tags
        .unwrap_or_default()
        .into_iter()
        .map(|t| (t.key, t.value))
        .collect()
}

#[tokio::test]
async fn an_exempt_account_and_the_management_account_are_left_alone() {
    let (moto, org) = organisation().await;
    let exempt = seed(&moto, &org.exempt_member, &keys_only(vec![key(200, None)]));
    let function = deployed(&moto, &org, &[]);

    let report = function
        .invoke(in_account(&org.exempt_member), None)
        .await
        .unwrap();
    assert_eq!(root_keys(&moto, &org.exempt_member), exempt, "{report:#?}");
    assert_eq!(
        rows(&report),
        [row(
            &org.exempt_member,
            "delete-root-access-key",
            &exempt[0],
            "skipped"
        )],
        "{report:#?}"
    );
    assert!(
        report.actions[0]
            .reason
            .contains("exempt: tag iam-remediation:exempt=true"),
        "{report:#?}"
    );

    let report = function
        .invoke(in_account(&org.management), None)
        .await
        .unwrap();
    assert_eq!(report.actions.len(), 1, "{report:#?}");
    let skipped = &report.actions[0];
    assert_eq!(skipped.status.as_str(), "skipped");
    assert!(
        skipped.reason.contains("management account"),
        "{skipped:#?}"
    );
}

#[tokio::test]
async fn root_remove_password_is_off_by_default_and_on_removes_password_mfa_and_certificates() {
    let (moto, org) = organisation().await;
    let member = org.members[0].as_str();
    let full = Seeded {
        access_keys: Vec::new(),
        password: Some((days_ago(300), Some(days_ago(30)))),
        mfa_devices: vec![true, false],
        signing_certificates: 1,
    };
    seed(&moto, member, &full);

    let report = deployed(&moto, &org, &[])
        .invoke(in_account(member), None)
        .await
        .unwrap();
    assert!(report.actions.is_empty(), "off by default: {report:#?}");
    let left = root_credentials(&moto, member);
    assert!(!left["login_profile"].is_null());

    let report = deployed(&moto, &org, &[("ROOT_REMOVE_PASSWORD", "true")])
        .invoke(in_account(member), None)
        .await
        .unwrap();
    let mut actions: Vec<(String, String)> = report
        .actions
        .iter()
        .map(|a| (a.action.to_owned(), a.status.as_str().to_owned()))
        .collect();
    actions.sort();
    assert_eq!(
        actions,
        [
            ("deactivate-root-mfa-device".into(), "applied".into()),
            ("deactivate-root-mfa-device".into(), "applied".into()),
            ("delete-root-login-profile".into(), "applied".into()),
            ("delete-root-signing-certificate".into(), "applied".into()),
        ],
        "{report:#?}"
    );
    let left = root_credentials(&moto, member);
    assert!(left["login_profile"].is_null(), "{left:#}");
    // A hardware device is gone once deactivated; a virtual one stays, disabled.
    let devices = left["mfa_devices"].as_array().unwrap();
    assert!(
        devices.iter().all(|d| d["enabled"] == json!(false)),
        "{left:#}"
    );
    assert!(
        left["signing_certificates"].as_array().unwrap().is_empty(),
        "{left:#}"
    );
}

#[tokio::test]
async fn a_dry_run_changes_nothing_and_opens_no_delete_session() {
    let (moto, org) = organisation().await;
    let member = org.members[0].as_str();
    let keys = seed(&moto, member, &keys_only(vec![key(200, None)]));

    let report = deployed(&moto, &org, &[])
        .invoke(json!({"accounts": [member], "dry_run": true}), None)
        .await
        .unwrap();
    assert!(report.dry_run);
    assert_eq!(
        rows(&report),
        [row(member, "delete-root-access-key", &keys[0], "planned")]
    );
    assert_eq!(root_keys(&moto, member), keys);
    assert!(
        root_sessions(&moto)
            .iter()
            .all(|s| s["task_policy_arn"] == AUDIT_ROOT),
        "{:#?}",
        root_sessions(&moto)
    );
}

#[tokio::test]
async fn an_iam4_finding_of_a_member_is_resolved_once_no_root_key_is_left() {
    let (moto, org) = organisation().await;
    let member = org.members[0].as_str();
    seed(
        &moto,
        member,
        &keys_only(vec![key(200, None), key(100, Some(95))]),
    );
    let event = sample_event(FUNCTION, "securityhub-iam4-member");
    let event = serde_json::to_string(&event)
        .unwrap()
        .replace("111122223333", member)
        .replace("444455556666", &org.security);
    let event: Value = serde_json::from_str(&event).unwrap();
    let finding = event["detail"]["findings"][0].clone();
    let id = finding["Id"].as_str().unwrap().to_owned();
    let hub = aws_sdk_securityhub::Client::new(&account_admin(&moto, &org.security).await);
    import_findings_into(&hub, &[finding]).await;

    let report = deployed(&moto, &org, &[])
        .invoke(event, None)
        .await
        .unwrap();

    assert_eq!(
        report.count(iam_remediation::Status::Applied),
        2,
        "{report:#?}"
    );
    assert!(root_keys(&moto, member).is_empty());
    let (workflow, _) = finding_state_in(&hub, &id).await;
    assert_eq!(workflow.as_deref(), Some("RESOLVED"), "{report:#?}");
}

#[tokio::test]
async fn a_missing_prerequisite_is_a_clear_error_that_changes_nothing() {
    let (moto, org) = organisation().await;
    let member = org.members[0].as_str();
    let keys = seed(&moto, member, &keys_only(vec![key(200, None)]));
    set_root_features(&moto, &[]);

    let error = deployed(&moto, &org, &[])
        .invoke(in_account(member), None)
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(message.contains("enable-organizations-root"), "{message}");
    assert_eq!(root_keys(&moto, member), keys);
}

#[tokio::test]
async fn malformed_accounts_are_a_clear_error_that_changes_nothing() {
    let (moto, org) = organisation().await;
    let member = org.members[0].as_str();
    let keys = seed(&moto, member, &keys_only(vec![key(200, None)]));
    let function = deployed(&moto, &org, &[]);
    for bad in [
        json!({"accounts": "x"}),
        json!({"accounts": ["12345"]}),
        json!({"accounts": []}),
        json!({"users": ["alice"]}),
    ] {
        let error = function.invoke(bad.clone(), None).await.unwrap_err();
        assert!(matches!(error, Error::InvalidEvent(_)), "{bad}: {error}");
    }
    assert_eq!(root_keys(&moto, member), keys);
    assert!(root_sessions(&moto).is_empty());
}

#[tokio::test]
async fn a_schedule_fans_out_to_every_active_account() {
    let (moto, org) = organisation().await;
    let lambda = aws_sdk_lambda::Client::new(&account_admin(&moto, &org.security).await);
    integration_tests::organisation::create_function(
        &lambda,
        FUNCTION,
        org.function_role(FUNCTION),
    )
    .await;
    let event = with(schedule(FUNCTION), "/account", json!(org.security));

    let report = deployed(
        &moto,
        &org,
        &[("EXEMPT_ACCOUNTS", org.exempt_member.as_str())],
    )
    .invoke(event, None)
    .await
    .unwrap();

    let mut dispatched: Vec<String> = integration_tests::organisation::dispatched(&moto)
        .iter()
        .map(|d| d.payload["accounts"][0].as_str().unwrap().to_owned())
        .collect();
    dispatched.sort();
    let mut expected: Vec<String> = org
        .active_accounts()
        .into_iter()
        .filter(|a| a != &org.exempt_member)
        .collect();
    expected.sort();
    assert_eq!(dispatched, expected, "{report:#?}");
    assert!(
        root_sessions(&moto).is_empty(),
        "the dispatching run reads nothing"
    );
}

/// An AWS Health exposed-key event forwarded by a member: its root access key is deleted at
/// once, though it was used yesterday and the account is exempt; nothing else is judged.
#[tokio::test]
async fn an_exposed_root_key_is_deleted_at_once_whatever_its_use_or_exemption() {
    let (moto, org) = organisation().await;
    let exempt = org.exempt_member.as_str();
    let keys = seed(
        &moto,
        exempt,
        &keys_only(vec![key(400, Some(1)), key(300, Some(2))]),
    );
    let event = sample_event(FUNCTION, "health-credentials-exposed");
    let event = with(event, "/account", json!(exempt));
    let event = with(
        event,
        "/detail/affectedEntities",
        json!([{ "entityValue": keys[0] }]),
    );

    let report = deployed(&moto, &org, &[])
        .invoke(event, None)
        .await
        .unwrap();

    // The event is about the exposed key alone: the other one (exempt, used the day before)
    // is not judged in this urgent run.
    assert_eq!(
        rows(&report),
        [row(exempt, "delete-root-access-key", &keys[0], "applied")],
        "{report:#?}"
    );
    assert_eq!(root_keys(&moto, exempt), [keys[1].clone()]);
}
