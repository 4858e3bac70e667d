//! The IAM best practices at the top of AWS's list: MFA for every user who signs in to the
//! console (console-passwords' MFA rule, `MFA_GRACE_DAYS`; Security Hub IAM.5, CIS 1.10) and no
//! access keys for the root user (access-keys reports them; Security Hub IAM.4, CIS 1.4).

#![allow(clippy::unwrap_used, reason = "a test fails loudly")]

use chrono::Utc;
use iam_remediation::Status;
use integration_tests::{
    EXEMPT, Moto, action_for, days_ago, enable_mfa, has_password, iam_call, invoke, made_at,
    sample_event, schedule, snapshot, tag_user, user_tags, user_with_key, user_with_password, with,
    with_passwords,
};
use serde_json::json;

const PASSWORDS: &str = "console-passwords";

/// A user with a console password set `age_days` ago, used today (so the unused rule stays out).
async fn console_user(moto: &Moto, user: &str, age_days: i64) {
    user_with_password(moto, user, age_days, Some(0)).await;
}

const MFA_RULE: &[(&str, &str)] = &[("MFA_GRACE_DAYS", "7")];

#[tokio::test]
async fn a_console_password_without_mfa_after_its_grace_is_deleted_and_the_rest_kept() {
    let moto = Moto::start();
    console_user(&moto, "no-mfa", 30).await;
    console_user(&moto, "with-mfa", 30).await;
    enable_mfa(&moto.iam(), "with-mfa").await;
    console_user(&moto, "in-grace", 3).await;
    console_user(&moto, "exempt", 30).await;
    tag_user(&moto.iam(), "exempt", EXEMPT, "true").await;

    let report = invoke(&moto.console_passwords(MFA_RULE), schedule(PASSWORDS))
        .await
        .unwrap();

    let users = ["no-mfa", "with-mfa", "in-grace", "exempt"];
    let kept = with_passwords(&moto.iam(), &users).await;
    assert_eq!(kept, ["with-mfa", "in-grace", "exempt"], "{report:#?}");
    let deleted = action_for(&report, "no-mfa", "login-profile");
    assert_eq!(deleted.status, Status::Applied);
    assert_eq!(
        deleted.reason,
        "no MFA device 30 days after the password was set (MFA grace 7 days)"
    );
    let exempt = action_for(&report, "exempt", "login-profile");
    assert_eq!(exempt.status, Status::Skipped);
    assert_eq!(report.actions.len(), 2, "{report:#?}");
}

#[tokio::test]
async fn the_mfa_rule_is_off_by_default() {
    let moto = Moto::start();
    console_user(&moto, "no-mfa", 30).await;
    let before = snapshot(&moto.iam()).await;

    let report = invoke(&moto.console_passwords(&[]), schedule(PASSWORDS))
        .await
        .unwrap();

    assert!(report.actions.is_empty(), "{report:#?}");
    assert_eq!(snapshot(&moto.iam()).await, before);
    assert_eq!(
        moto.calls().get("iam:ListMFADevices"),
        None,
        "no MFA device is read when the rule is off"
    );
}

/// The sweep reads MFA from the credential report, then re-checks live (ListMFADevices) before
/// deleting: a device added since the report was made keeps the password.
#[tokio::test]
async fn the_mfa_rule_rechecks_live_before_deleting() {
    let moto = Moto::start();
    console_user(&moto, "late-adopter", 30).await;
    // The report is generated (and cached) without the device...
    invoke(
        &moto.console_passwords(&[("DRY_RUN", "true"), MFA_RULE[0]]),
        schedule(PASSWORDS),
    )
    .await
    .unwrap();
    // ...which is added before the real run.
    enable_mfa(&moto.iam(), "late-adopter").await;
    moto.reset_calls();

    let report = invoke(&moto.console_passwords(MFA_RULE), schedule(PASSWORDS))
        .await
        .unwrap();

    assert!(
        has_password(&moto.iam(), "late-adopter").await,
        "{report:#?}"
    );
    assert!(report.actions.is_empty());
}

#[tokio::test]
async fn deactivating_an_mfa_device_scopes_the_rule_to_that_user() {
    let moto = Moto::start();
    console_user(&moto, "alice", 30).await;
    console_user(&moto, "bob", 30).await;
    let device =
        json!({"userName": "alice", "serialNumber": "arn:aws:iam::123456789012:mfa/alice"});
    let event = iam_call("DeactivateMFADevice", device);

    let report = invoke(&moto.console_passwords(MFA_RULE), event)
        .await
        .unwrap();

    // The removal never deletes by itself: it starts alice's MFA grace again (issue 19; see
    // mfa_replacement.rs), recorded on her alone.
    assert!(report.actions.is_empty(), "{report:#?}");
    assert!(has_password(&moto.iam(), "alice").await, "{report:#?}");
    let record = "iam-remediation:mfa-removed";
    assert!(user_tags(&moto.iam(), "alice").await.contains_key(record));
    assert!(
        !user_tags(&moto.iam(), "bob").await.contains_key(record),
        "only the event's user"
    );
    assert_eq!(report.trigger.as_str(), "cloudtrail");

    // DeleteVirtualMFADevice names only the device: the DeactivateMFADevice before it named the
    // user, so there is nothing to do.
    let device = json!({"serialNumber": "arn:aws:iam::123456789012:mfa/bob"});
    let delete = iam_call("DeleteVirtualMFADevice", device);
    let report = invoke(&moto.console_passwords(MFA_RULE), delete)
        .await
        .unwrap();
    assert!(report.actions.is_empty());
    assert!(has_password(&moto.iam(), "bob").await);
}

#[tokio::test]
async fn an_administrators_reset_starts_the_mfa_grace_again() {
    let moto = Moto::start();
    console_user(&moto, "alice", 30).await;
    let reset = made_at(
        with(
            sample_event(PASSWORDS, "cloudtrail-update-login-profile"),
            "/detail/requestParameters",
            json!({"userName": "alice", "passwordResetRequired": true}),
        ),
        Utc::now(),
    );

    let report = invoke(&moto.console_passwords(MFA_RULE), reset)
        .await
        .unwrap();

    assert!(report.actions.is_empty(), "{report:#?}");
    assert!(has_password(&moto.iam(), "alice").await);
    let sweep = invoke(&moto.console_passwords(MFA_RULE), schedule(PASSWORDS))
        .await
        .unwrap();
    assert!(
        sweep.actions.is_empty(),
        "still in its new grace: {sweep:#?}"
    );
}

#[tokio::test]
async fn a_root_access_key_is_reported_never_hidden_and_never_acted_on() {
    let moto = Moto::start();
    user_with_key(&moto, "alice", 10, Some(0)).await;
    moto.set_root_keys(&[(true, days_ago(400))]);

    let report = invoke(&moto.access_keys(&[]), schedule("access-keys"))
        .await
        .unwrap();

    let root: Vec<_> = report
        .actions
        .iter()
        .filter(|a| a.action == "delete-root-access-key")
        .collect();
    assert_eq!(root.len(), 1, "{report:#?}");
    let root = root[0];
    assert_eq!(
        (
            root.principal_type,
            root.principal.as_str(),
            root.target.as_str()
        ),
        ("account", "root", "root-access-key-1")
    );
    assert_eq!(root.status, Status::Skipped);
    assert!(
        root.reason.contains("sts:AssumeRoot"),
        "who can, and how: {}",
        root.reason
    );
    assert!(root.reason.contains("active access key"), "{}", root.reason);

    // Security Hub IAM.4 (about the account) is a trigger for that check alone.
    let event = sample_event("access-keys", "securityhub-iam4-root");
    moto.import_event_findings(&event).await;
    let report = invoke(&moto.access_keys(&[]), event.clone()).await.unwrap();
    assert_eq!(report.actions.len(), 1, "{report:#?}");
    assert_eq!(report.actions[0].action, "delete-root-access-key");
    let id = event["detail"]["findings"][0]["Id"].as_str().unwrap();
    let (workflow, note) = moto.finding_state(id).await;
    assert_eq!(
        workflow.as_deref(),
        Some("NOTIFIED"),
        "it stays open for a person"
    );
    assert!(note.unwrap().contains("delete-root-access-key"));
}

#[tokio::test]
async fn no_root_key_means_no_root_action() {
    let moto = Moto::start();
    user_with_key(&moto, "alice", 10, Some(0)).await;

    let report = invoke(&moto.access_keys(&[]), schedule("access-keys"))
        .await
        .unwrap();

    assert!(report.actions.is_empty(), "{report:#?}");
}

#[tokio::test]
async fn a_root_key_makes_the_summary_warned() {
    let moto = Moto::start();
    let inbox = moto.inbox().await;
    moto.set_root_keys(&[(true, days_ago(400))]);

    invoke(
        &moto.access_keys(&[("NOTIFY_TOPIC_ARN", inbox.topic_arn.as_str())]),
        schedule("access-keys"),
    )
    .await
    .unwrap();

    let published = inbox.read().await;
    assert_eq!(published.len(), 1, "{published:#?}");
    assert_eq!(published[0].attributes["outcome"], "warned");
    assert!(published[0].body.contains("delete-root-access-key"));
}
