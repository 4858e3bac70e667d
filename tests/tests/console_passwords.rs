//! `console-passwords` against moto: every input kind, the rule, the guard, and the bad cases.

use aws_sdk_iam::operation::get_login_profile::GetLoginProfileError;
use chrono::{DateTime, Duration, Utc};
use console_passwords::{Settings, handle};
use iam_remediation::intake::TriggerKind;
use iam_remediation::{ActionRecord, Clients, Env, Error, Report, Status};
use integration_tests::{
    Moto, add_key, create_user, days_ago, key_status, sample_event, snapshot, tag_user, with,
};
use serde_json::{Value, json};

const FUNCTION: &str = "console-passwords";

fn settings(pairs: &[(&str, &str)]) -> Settings {
    Settings::from_env(&Env::from_pairs(pairs.iter().copied())).expect("valid settings")
}

async fn invoke(moto: &Moto, settings: &Settings, event: Value) -> Result<Report, Error> {
    invoke_at(moto, settings, event, Utc::now()).await
}

async fn invoke_at(
    moto: &Moto,
    settings: &Settings,
    event: Value,
    now: DateTime<Utc>,
) -> Result<Report, Error> {
    handle(
        &Clients::new(&moto.sdk_config()),
        settings,
        event,
        now,
        None,
    )
    .await
}

fn schedule() -> Value {
    sample_event(FUNCTION, "scheduled")
}

/// Creates a user with a console password whose login profile was created `created_days` ago
/// and last used `last_used_days` ago (`None`: never used).
async fn user_with_password(
    moto: &Moto,
    user: &str,
    created_days: i64,
    last_used_days: Option<i64>,
) {
    let iam = moto.iam();
    create_user(&iam, user).await;
    iam.create_login_profile()
        .user_name(user)
        .password("Correct-Horse-Battery-9!")
        .send()
        .await
        .expect("CreateLoginProfile");
    // moto dates the login profile by its user's creation.
    moto.set_user(
        user,
        Some(days_ago(created_days)),
        Some(last_used_days.map(days_ago)),
    );
}

async fn has_password(iam: &aws_sdk_iam::Client, user: &str) -> bool {
    match iam.get_login_profile().user_name(user).send().await {
        Ok(_) => true,
        Err(error)
            if error
                .as_service_error()
                .is_some_and(GetLoginProfileError::is_no_such_entity_exception) =>
        {
            false
        }
        Err(error) => panic!("GetLoginProfile {user}: {error:?}"),
    }
}

/// (principal, action, target, status) of each action, sorted.
fn outcomes(report: &Report) -> Vec<(String, String, String, Status)> {
    let mut rows: Vec<_> = report
        .actions
        .iter()
        .map(|a| {
            (
                a.principal.clone(),
                a.action.as_str().to_owned(),
                a.target.clone(),
                a.status,
            )
        })
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    rows
}

fn deleted(user: &str, status: Status) -> (String, String, String, Status) {
    (
        user.into(),
        "delete-login-profile".into(),
        "login-profile".into(),
        status,
    )
}

fn action_for<'a>(report: &'a Report, user: &str) -> &'a ActionRecord {
    report
        .actions
        .iter()
        .find(|a| a.principal == user)
        .unwrap_or_else(|| panic!("no action on {user}: {report:#?}"))
}

#[tokio::test]
async fn sweep_deletes_unused_passwords_and_keeps_the_rest() {
    let moto = Moto::start();
    let iam = moto.iam();
    user_with_password(&moto, "never-used", 120, None).await;
    let key = add_key(&moto, "never-used", 10, Some(1)).await;
    user_with_password(&moto, "used-long-ago", 400, Some(140)).await;
    user_with_password(&moto, "recent", 400, Some(10)).await;
    user_with_password(&moto, "newcomer", 1, None).await;
    create_user(&iam, "no-password").await;
    moto.set_user("no-password", Some(days_ago(400)), None);

    let report = invoke(&moto, &settings(&[]), schedule())
        .await
        .expect("report");

    assert_eq!(report.trigger, TriggerKind::Schedule);
    assert_eq!(report.examined, 5);
    assert!(report.errors.is_empty(), "{report:#?}");
    assert_eq!(
        outcomes(&report),
        vec![
            deleted("never-used", Status::Applied),
            deleted("used-long-ago", Status::Applied)
        ]
    );
    assert_eq!(
        action_for(&report, "never-used").reason,
        "never used, login profile created 120 days ago (limit 90)"
    );
    assert_eq!(
        action_for(&report, "used-long-ago").reason,
        "last used 140 days ago (limit 90)"
    );
    let details = action_for(&report, "never-used")
        .details
        .as_ref()
        .expect("details");
    assert_eq!(details["password_last_used"], Value::Null);

    assert!(!has_password(&iam, "never-used").await);
    assert!(!has_password(&iam, "used-long-ago").await);
    assert!(has_password(&iam, "recent").await);
    assert!(
        has_password(&iam, "newcomer").await,
        "a user created yesterday with no login yet is kept"
    );
    // Only the password goes: the user and its access keys stay.
    assert_eq!(
        key_status(&iam, "never-used", &key).await.as_deref(),
        Some("Active")
    );
}

#[tokio::test]
async fn the_limit_and_the_clock_decide() {
    let moto = Moto::start();
    let iam = moto.iam();
    user_with_password(&moto, "newcomer", 1, None).await;
    user_with_password(&moto, "monthly", 400, Some(45)).await;
    let now = Utc::now();

    let report = invoke_at(&moto, &settings(&[]), schedule(), now)
        .await
        .unwrap();
    assert!(report.actions.is_empty(), "{report:#?}");

    let report = invoke_at(
        &moto,
        &settings(&[("MAX_PASSWORD_UNUSED_DAYS", "30")]),
        schedule(),
        now,
    )
    .await
    .unwrap();
    assert_eq!(outcomes(&report), vec![deleted("monthly", Status::Applied)]);
    assert_eq!(
        action_for(&report, "monthly").reason,
        "last used 45 days ago (limit 30)"
    );

    // 89 days on, the newcomer who never logged in still has time; 91 days on it has not.
    let report = invoke_at(&moto, &settings(&[]), schedule(), now + Duration::days(88))
        .await
        .unwrap();
    assert!(report.actions.is_empty(), "{report:#?}");
    assert!(has_password(&iam, "newcomer").await);
    let report = invoke_at(&moto, &settings(&[]), schedule(), now + Duration::days(90))
        .await
        .unwrap();
    assert_eq!(
        outcomes(&report),
        vec![deleted("newcomer", Status::Applied)]
    );
    assert_eq!(
        action_for(&report, "newcomer").reason,
        "never used, login profile created 91 days ago (limit 90)"
    );
    assert!(!has_password(&iam, "newcomer").await);
}

#[tokio::test]
async fn exemptions_are_honoured_and_reported_as_skipped() {
    let moto = Moto::start();
    let iam = moto.iam();
    for user in ["tagged", "until-next-year", "lapsed", "breakglass-1"] {
        user_with_password(&moto, user, 200, Some(150)).await;
    }
    tag_user(&iam, "tagged", "iam-remediation:exempt", "true").await;
    let next_year = (Utc::now() + Duration::days(365))
        .format("%Y-%m-%d")
        .to_string();
    tag_user(
        &iam,
        "until-next-year",
        "iam-remediation:exempt",
        &next_year,
    )
    .await;
    tag_user(&iam, "lapsed", "iam-remediation:exempt", "2020-01-31").await;

    let report = invoke(
        &moto,
        &settings(&[("EXEMPT_PRINCIPALS", "breakglass-*")]),
        schedule(),
    )
    .await
    .unwrap();

    for user in ["tagged", "until-next-year", "breakglass-1"] {
        let action = action_for(&report, user);
        assert_eq!(action.status, Status::Skipped, "{user}");
        assert!(
            action.reason.starts_with("exempt"),
            "{user}: {}",
            action.reason
        );
        assert!(
            action
                .reason
                .ends_with("(rule: last used 150 days ago (limit 90))"),
            "{user}: {}",
            action.reason
        );
        assert!(has_password(&iam, user).await, "{user}");
    }
    assert!(
        action_for(&report, "breakglass-1")
            .reason
            .contains("breakglass-*")
    );
    let lapsed = action_for(&report, "lapsed");
    assert_eq!(lapsed.status, Status::Applied);
    assert!(
        lapsed.reason.contains("lapsed on 2020-01-31"),
        "{}",
        lapsed.reason
    );
    assert!(!has_password(&iam, "lapsed").await);
}

#[tokio::test]
async fn unreadable_exemption_tags_fail_closed() {
    let moto = Moto::start();
    let iam = moto.iam();
    user_with_password(&moto, "alice", 200, None).await;
    moto.inject_fault("iam:ListUserTags", "AccessDenied", 403, 1, 0);
    let report = invoke(&moto, &settings(&[]), schedule()).await.unwrap();
    let action = action_for(&report, "alice");
    assert_eq!(action.status, Status::Skipped);
    assert!(
        action.reason.contains("failing closed"),
        "{}",
        action.reason
    );
    assert!(has_password(&iam, "alice").await);
}

#[tokio::test]
async fn never_acts_on_its_own_identity() {
    let moto = Moto::start();
    let iam = moto.iam();
    // moto's GetCallerIdentity answers arn:aws:sts::123456789012:user/moto.
    user_with_password(&moto, "moto", 200, None).await;
    let report = invoke(&moto, &settings(&[]), schedule()).await.unwrap();
    let action = action_for(&report, "moto");
    assert_eq!(action.status, Status::Skipped);
    assert!(
        action.reason.contains("runs as this identity"),
        "{}",
        action.reason
    );
    assert!(has_password(&iam, "moto").await);
}

#[tokio::test]
async fn dry_run_plans_and_changes_nothing() {
    let moto = Moto::start();
    let iam = moto.iam();
    user_with_password(&moto, "alice", 200, None).await;
    user_with_password(&moto, "bob", 200, Some(100)).await;
    let before = snapshot(&iam).await;

    let report = invoke(&moto, &settings(&[("DRY_RUN", "true")]), schedule())
        .await
        .unwrap();
    assert!(report.dry_run);
    assert_eq!(
        outcomes(&report),
        vec![
            deleted("alice", Status::Planned),
            deleted("bob", Status::Planned)
        ]
    );
    assert_eq!(snapshot(&iam).await, before);

    // A manual payload's dry_run overrides DRY_RUN=false for that invocation.
    let report = invoke(
        &moto,
        &settings(&[]),
        sample_event(FUNCTION, "manual-users-dry-run"),
    )
    .await
    .unwrap();
    assert_eq!(report.trigger, TriggerKind::Manual);
    assert!(report.dry_run);
    assert_eq!(outcomes(&report), vec![deleted("alice", Status::Planned)]);
    let report = invoke(
        &moto,
        &settings(&[]),
        sample_event(FUNCTION, "manual-account-dry-run"),
    )
    .await
    .unwrap();
    assert_eq!(report.count(Status::Planned), 2);
    assert_eq!(snapshot(&iam).await, before);
}

#[tokio::test]
async fn max_actions_refuses_and_changes_nothing() {
    let moto = Moto::start();
    let iam = moto.iam();
    for user in ["a", "b", "c"] {
        user_with_password(&moto, user, 200, None).await;
    }
    let before = snapshot(&iam).await;
    let err = invoke(&moto, &settings(&[("MAX_ACTIONS", "2")]), schedule())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::TooManyActions {
                planned: 3,
                limit: 2
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string().contains('3') && err.to_string().contains("MAX_ACTIONS=2"),
        "{err}"
    );
    assert_eq!(snapshot(&iam).await, before);

    // Exempt users are not changes: the same account fits once one of them is exempt.
    tag_user(&iam, "c", "iam-remediation:exempt", "true").await;
    let report = invoke(&moto, &settings(&[("MAX_ACTIONS", "2")]), schedule())
        .await
        .unwrap();
    assert_eq!(report.count(Status::Applied), 2);
    assert!(has_password(&iam, "c").await);
}

#[tokio::test]
async fn the_same_event_twice_applies_nothing_the_second_time() {
    let moto = Moto::start();
    let iam = moto.iam();
    user_with_password(&moto, "alice", 200, None).await;
    let settings = settings(&[]);
    for event in [
        schedule(),
        sample_event(FUNCTION, "cloudtrail-update-login-profile"),
    ] {
        if !has_password(&iam, "alice").await {
            iam.create_login_profile()
                .user_name("alice")
                .password("Another-Horse-7!")
                .send()
                .await
                .unwrap();
            moto.set_user("alice", Some(days_ago(200)), Some(None));
        }
        let first = invoke(&moto, &settings, event.clone()).await.unwrap();
        assert_eq!(outcomes(&first), vec![deleted("alice", Status::Applied)]);
        let after_first = snapshot(&iam).await;
        let second = invoke(&moto, &settings, event).await.unwrap();
        assert!(
            second.actions.is_empty() && second.errors.is_empty(),
            "{second:#?}"
        );
        assert_eq!(snapshot(&iam).await, after_first);
    }
}

#[tokio::test]
async fn a_profile_deleted_meanwhile_is_not_an_error() {
    let moto = Moto::start();
    user_with_password(&moto, "alice", 200, None).await;
    // Someone deletes the password between the live check and the deletion.
    moto.inject_fault("iam:DeleteLoginProfile", "NoSuchEntity", 404, 1, 0);
    let report = invoke(&moto, &settings(&[]), schedule())
        .await
        .expect("not an error");
    assert!(report.errors.is_empty(), "{report:#?}");
    let action = action_for(&report, "alice");
    assert_eq!(action.status, Status::Skipped);
    assert!(
        action
            .reason
            .starts_with("already gone: DeleteLoginProfile failed: NoSuchEntity"),
        "{}",
        action.reason
    );
    assert!(
        action
            .reason
            .ends_with("(rule: never used, login profile created 200 days ago (limit 90))"),
        "{}",
        action.reason
    );
    assert_eq!(action.error, None);
}

#[tokio::test]
async fn two_invocations_at_once_end_as_one() {
    let moto = Moto::start();
    let iam = moto.iam();
    for user in ["a", "b", "c"] {
        user_with_password(&moto, user, 200, None).await;
    }
    let settings = settings(&[]);
    // Both read all three users before either deletes anything (their calls interleave).
    let users = json!({"users": ["a", "b", "c"]});
    let (first, second) = tokio::join!(
        invoke(&moto, &settings, users.clone()),
        invoke(&moto, &settings, users.clone())
    );
    let (first, second) = (first.expect("first"), second.expect("second"));
    assert!(first.errors.is_empty() && second.errors.is_empty());
    // Each password is deleted exactly once; the other invocation found it gone.
    for user in ["a", "b", "c"] {
        let applied = [&first, &second]
            .iter()
            .flat_map(|r| r.actions.iter())
            .filter(|a| a.principal == user && a.status == Status::Applied)
            .count();
        assert_eq!(applied, 1, "{user}: {first:#?} {second:#?}");
        assert!(!has_password(&iam, user).await);
    }
    for action in first
        .actions
        .iter()
        .chain(&second.actions)
        .filter(|a| a.status != Status::Applied)
    {
        assert_eq!(action.status, Status::Skipped);
        assert!(
            action.reason.starts_with("already gone"),
            "{}",
            action.reason
        );
    }
}

#[tokio::test]
async fn cloudtrail_evaluates_the_named_user_only() {
    let moto = Moto::start();
    let iam = moto.iam();
    user_with_password(&moto, "alice", 200, None).await;
    user_with_password(&moto, "bob", 200, None).await;

    let report = invoke(
        &moto,
        &settings(&[]),
        sample_event(FUNCTION, "cloudtrail-update-login-profile"),
    )
    .await
    .unwrap();
    assert_eq!(report.trigger, TriggerKind::Cloudtrail);
    assert_eq!(report.examined, 1);
    assert_eq!(outcomes(&report), vec![deleted("alice", Status::Applied)]);
    assert!(!has_password(&iam, "alice").await);
    assert!(has_password(&iam, "bob").await);

    // A password just created is kept.
    iam.create_login_profile()
        .user_name("alice")
        .password("Another-Horse-7!")
        .send()
        .await
        .unwrap();
    moto.set_user("alice", Some(Utc::now()), Some(None));
    let report = invoke(
        &moto,
        &settings(&[]),
        sample_event(FUNCTION, "cloudtrail-create-login-profile"),
    )
    .await
    .unwrap();
    assert_eq!(report.examined, 1);
    assert!(report.actions.is_empty(), "{report:#?}");
    assert!(has_password(&iam, "alice").await);

    // The user named only in the response (no userName in the request) is found there.
    let event = with(
        sample_event(FUNCTION, "cloudtrail-create-login-profile"),
        "/detail/requestParameters",
        json!({"password": "HIDDEN_DUE_TO_SECURITY_REASONS"}),
    );
    let event = with(
        event,
        "/detail/responseElements/loginProfile/userName",
        json!("bob"),
    );
    let report = invoke(&moto, &settings(&[]), event).await.unwrap();
    assert_eq!(outcomes(&report), vec![deleted("bob", Status::Applied)]);

    // A call that failed changed nothing and needs nothing.
    let report = invoke(
        &moto,
        &settings(&[]),
        sample_event(FUNCTION, "cloudtrail-create-login-profile-failed"),
    )
    .await
    .unwrap();
    assert!(report.actions.is_empty() && report.examined == 0);
}

#[tokio::test]
async fn config_compliance_change_resolves_the_unique_id() {
    let moto = Moto::start();
    let iam = moto.iam();
    user_with_password(&moto, "alice", 200, None).await;
    user_with_password(&moto, "bob", 200, None).await;
    let id = async |user: &str| {
        iam.get_user()
            .user_name(user)
            .send()
            .await
            .unwrap()
            .user
            .unwrap()
            .user_id
    };

    let event = with(
        sample_event(FUNCTION, "config-compliance-unused-credentials"),
        "/detail/resourceId",
        json!(id("alice").await),
    );
    let report = invoke(&moto, &settings(&[]), event).await.unwrap();
    assert_eq!(report.trigger, TriggerKind::Config);
    assert_eq!(outcomes(&report), vec![deleted("alice", Status::Applied)]);
    assert!(!has_password(&iam, "alice").await);
    assert!(has_password(&iam, "bob").await);

    // COMPLIANT needs nothing.
    let event = with(
        sample_event(FUNCTION, "config-compliance-unused-credentials"),
        "/detail/newEvaluationResult/complianceType",
        json!("COMPLIANT"),
    );
    let event = with(event, "/detail/resourceId", json!(id("bob").await));
    let report = invoke(&moto, &settings(&[]), event).await.unwrap();
    assert!(report.actions.is_empty() && report.examined == 0);
    assert!(has_password(&iam, "bob").await);
}

#[tokio::test]
async fn config_rule_invocations_report_evaluations_back() {
    let moto = Moto::start();
    let iam = moto.iam();
    user_with_password(&moto, "alice", 200, None).await;
    let report = invoke(
        &moto,
        &settings(&[]),
        sample_event(FUNCTION, "config-rule-change"),
    )
    .await
    .unwrap();
    assert_eq!(report.trigger, TriggerKind::ConfigRule);
    assert!(!has_password(&iam, "alice").await);

    let report = invoke(
        &moto,
        &settings(&[("DRY_RUN", "true")]),
        sample_event(FUNCTION, "config-rule-scheduled"),
    )
    .await
    .unwrap();
    assert!(
        report.actions.is_empty(),
        "alice is fixed already: {report:#?}"
    );
    user_with_password(&moto, "bob", 200, None).await;
    let report = invoke(
        &moto,
        &settings(&[("DRY_RUN", "true")]),
        sample_event(FUNCTION, "config-rule-scheduled"),
    )
    .await
    .unwrap();
    assert_eq!(outcomes(&report), vec![deleted("bob", Status::Planned)]);

    let left = with(
        sample_event(FUNCTION, "config-rule-change"),
        "/eventLeftScope",
        json!(true),
    );
    invoke(&moto, &settings(&[]), left).await.unwrap();

    let results: Vec<(String, String, String)> = moto
        .evaluations()
        .iter()
        .map(|e| {
            let evaluation = &e["Evaluations"][0];
            (
                evaluation["ComplianceResourceType"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
                evaluation["ComplianceType"].as_str().unwrap().to_owned(),
                e["ResultToken"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let token = "eyJyZXN1bHRUb2tlbiI6ImV4YW1wbGUifQ==".to_owned();
    assert_eq!(
        results,
        vec![
            ("AWS::IAM::User".into(), "COMPLIANT".into(), token.clone()),
            ("AWS::::Account".into(), "COMPLIANT".into(), token.clone()),
            (
                "AWS::::Account".into(),
                "NON_COMPLIANT".into(),
                token.clone()
            ),
            ("AWS::IAM::User".into(), "NOT_APPLICABLE".into(), token),
        ]
    );
    assert!(has_password(&iam, "bob").await);
}

#[tokio::test]
async fn manual_users_act_on_those_users_only() {
    let moto = Moto::start();
    let iam = moto.iam();
    user_with_password(&moto, "alice", 200, None).await;
    user_with_password(&moto, "bob", 300, Some(100)).await;
    user_with_password(&moto, "carol", 200, None).await;
    create_user(&iam, "dave").await;

    let report = invoke(
        &moto,
        &settings(&[]),
        sample_event(FUNCTION, "manual-users"),
    )
    .await
    .unwrap();
    assert_eq!(report.examined, 2);
    assert_eq!(
        outcomes(&report),
        vec![
            deleted("alice", Status::Applied),
            deleted("bob", Status::Applied)
        ]
    );
    assert!(has_password(&iam, "carol").await);

    // A user with no password, or named twice, is examined and needs nothing more.
    let report = invoke(
        &moto,
        &settings(&[]),
        json!({"users": ["dave", "alice", "alice"]}),
    )
    .await
    .unwrap();
    assert_eq!(report.examined, 2);
    assert!(
        report.actions.is_empty() && report.errors.is_empty(),
        "{report:#?}"
    );
}

#[tokio::test]
async fn bad_input_is_a_clear_error_and_changes_nothing() {
    let moto = Moto::start();
    let iam = moto.iam();
    user_with_password(&moto, "alice", 200, None).await;
    let before = snapshot(&iam).await;
    let trail = || sample_event(FUNCTION, "cloudtrail-update-login-profile");
    let cases = [
        (json!([1, 2, 3]), "expected a JSON object, got an array"),
        (json!("schedule"), "expected a JSON object, got a string"),
        (
            with(schedule(), "/detail-type", json!("Object Created")),
            "unknown event",
        ),
        (
            sample_event("access-keys", "health-credentials-exposed"),
            "unknown event: source \"aws.health\"",
        ),
        (
            sample_event("access-keys", "cloudtrail-create-access-key"),
            "CloudTrail event CreateAccessKey is not handled here",
        ),
        (json!({"dryrun": true}), "unknown field `dryrun`"),
        (
            json!({"users": ["ghost", "alice"]}),
            "user ghost does not exist",
        ),
        (json!({"users": []}), "`users` is empty"),
        (json!({"users": ["bad name"]}), "not a valid IAM name"),
        (json!({"groups": ["admins"]}), "`groups` is not accepted"),
        (
            json!({"access_key_id": "AKIAIOSFODNN7EXAMPLE", "action": "delete"}),
            "`access_key_id` is not accepted",
        ),
        (
            with(
                trail(),
                "/detail/requestParameters/userName",
                json!("ghost"),
            ),
            "user ghost does not exist",
        ),
        (
            with(trail(), "/detail/requestParameters/userName", json!(42)),
            "requestParameters.userName is not a string",
        ),
        (
            with(trail(), "/detail/requestParameters", json!({})),
            "UpdateLoginProfile names no user",
        ),
        (
            with(
                sample_event(FUNCTION, "config-compliance-unused-credentials"),
                "/detail/resourceId",
                json!("AIDANOSUCHUSER000000"),
            ),
            "user with unique ID AIDANOSUCHUSER000000 does not exist",
        ),
        (
            with(
                sample_event(FUNCTION, "config-compliance-unused-credentials"),
                "/detail/resourceType",
                json!("AWS::S3::Bucket"),
            ),
            "resource type AWS::S3::Bucket is not an IAM user, group or role",
        ),
        (
            with(
                sample_event(FUNCTION, "config-rule-change"),
                "/resultToken",
                json!(""),
            ),
            "without resultToken",
        ),
    ];
    for (event, expected) in cases {
        let err = invoke(&moto, &settings(&[]), event.clone())
            .await
            .unwrap_err();
        assert!(err.to_string().contains(expected), "{event}: {err}");
        assert_eq!(snapshot(&iam).await, before, "{event} changed something");
    }
}

#[tokio::test]
async fn a_failure_half_way_fails_the_run_but_not_the_other_users() {
    let moto = Moto::start();
    let iam = moto.iam();
    user_with_password(&moto, "a", 200, None).await;
    user_with_password(&moto, "b", 200, None).await;
    moto.inject_fault("iam:DeleteLoginProfile", "AccessDenied", 403, 1, 0);
    let err = invoke(&moto, &settings(&[]), schedule()).await.unwrap_err();
    let Error::ActionsFailed { count: 1, summary } = &err else {
        panic!("{err}")
    };
    assert!(
        summary.contains("delete-login-profile login-profile of user"),
        "{summary}"
    );
    assert!(
        summary.contains("DeleteLoginProfile failed: AccessDenied"),
        "{summary}"
    );
    let remaining = [has_password(&iam, "a").await, has_password(&iam, "b").await];
    assert_eq!(
        remaining.iter().filter(|&&left| left).count(),
        1,
        "{remaining:?}"
    );
    // The next run completes the work.
    let report = invoke(&moto, &settings(&[]), schedule()).await.unwrap();
    assert_eq!(report.count(Status::Applied), 1);
    assert!(!has_password(&iam, "a").await && !has_password(&iam, "b").await);
}

#[tokio::test]
async fn a_user_that_cannot_be_read_fails_the_run_but_not_the_others() {
    let moto = Moto::start();
    let iam = moto.iam();
    user_with_password(&moto, "a", 200, None).await;
    user_with_password(&moto, "b", 200, None).await;
    moto.inject_fault("iam:GetLoginProfile", "AccessDenied", 403, 1, 0);
    let err = invoke(&moto, &settings(&[]), schedule()).await.unwrap_err();
    let Error::ActionsFailed { count: 1, summary } = &err else {
        panic!("{err}")
    };
    assert!(
        summary.contains("GetLoginProfile failed: AccessDenied"),
        "{summary}"
    );
    // Sweeps read their candidates in an order rotated by the clock: either user may be the one
    // that could not be read.
    let remaining = [has_password(&iam, "a").await, has_password(&iam, "b").await];
    assert_eq!(
        remaining.iter().filter(|&&left| left).count(),
        1,
        "the unread user is kept, the other is done: {remaining:?}"
    );
}

#[tokio::test]
async fn throttling_is_retried() {
    let moto = Moto::start();
    let iam = moto.iam();
    user_with_password(&moto, "alice", 200, None).await;
    moto.inject_fault("iam:GenerateCredentialReport", "ServiceFailure", 500, 1, 0);
    moto.inject_fault("iam:GetUser", "Throttling", 400, 1, 0);
    moto.inject_fault("iam:DeleteLoginProfile", "Throttling", 400, 2, 0);
    let report = invoke(&moto, &settings(&[]), schedule()).await.unwrap();
    assert_eq!(action_for(&report, "alice").status, Status::Applied);
    assert_eq!(moto.calls()["iam:DeleteLoginProfile"], 3);
    assert!(!has_password(&iam, "alice").await);
}

#[tokio::test]
async fn a_sweep_reads_the_account_through_the_credential_report() {
    let moto = Moto::start();
    let iam = moto.iam();
    let users = 200;
    let mut offenders = 0;
    for i in 0..users {
        let user = format!("user-{i:03}");
        if i % 10 == 0 {
            user_with_password(&moto, &user, 200, Some(120)).await;
            offenders += 1;
        } else if i % 3 == 0 {
            user_with_password(&moto, &user, 200, Some(5)).await;
        } else {
            create_user(&iam, &user).await;
        }
    }
    moto.reset_calls();
    let report = invoke(&moto, &settings(&[("MAX_ACTIONS", "100")]), schedule())
        .await
        .unwrap();
    assert_eq!(report.examined, users);
    assert_eq!(report.count(Status::Applied), offenders);
    let calls = moto.calls();
    let iam_calls = moto.service_calls("iam");
    eprintln!(
        "sweep of {users} users with {offenders} unused passwords: {iam_calls} IAM calls: {calls:?}"
    );
    // The report (generate until COMPLETE + get), then per unused password: user, login profile, tags; and
    // the re-check (user, login profile) and deletion. Users with no password or a recently
    // used one cost nothing beyond the report.
    assert_eq!(calls["iam:GetCredentialReport"], 1);
    assert!(
        !calls.contains_key("iam:ListUsers"),
        "a sweep does not list users: {calls:?}"
    );
    assert_eq!(calls["iam:GetUser"], 2 * offenders as u64, "{calls:?}");
    assert!(
        iam_calls <= 3 + 6 * offenders as u64,
        "{iam_calls} calls: {calls:?}"
    );
    assert!(!has_password(&iam, "user-000").await);
    assert!(has_password(&iam, "user-003").await);
}
