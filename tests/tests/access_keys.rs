//! `access-keys` against moto: every input kind, the rules, the guard, and the bad cases.

use access_keys::{Deps, Settings, handle};
use chrono::{Duration, Utc};
use iam_remediation::{Env, Error, Report, Status};
use integration_tests::{
    Moto, add_key, create_user, key_status, key_statuses, sample_event, snapshot, tag_user,
    user_with_key, with,
};
use serde_json::{Value, json};

const FUNCTION: &str = "access-keys";

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
    now: chrono::DateTime<Utc>,
) -> Result<Report, Error> {
    let deps = Deps::new(&moto.sdk_config());
    handle(&deps, settings, event, now, None).await
}

fn schedule() -> Value {
    sample_event(FUNCTION, "scheduled")
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
    rows.sort_by(|a, b| (&a.0, &a.2).cmp(&(&b.0, &b.2)));
    rows
}

fn action_for<'a>(report: &'a Report, target: &str) -> &'a iam_remediation::ActionRecord {
    report
        .actions
        .iter()
        .find(|a| a.target == target)
        .unwrap_or_else(|| panic!("no action on {target}: {report:#?}"))
}

#[tokio::test]
async fn sweep_deactivates_old_and_unused_keys_by_id_and_leaves_fresh_ones() {
    let moto = Moto::start();
    let iam = moto.iam();
    let old = user_with_key(&moto, "old", 200, Some(1)).await;
    let unused = user_with_key(&moto, "unused", 60, Some(45)).await;
    let never_used = user_with_key(&moto, "never-used", 40, None).await;
    let fresh = user_with_key(&moto, "fresh", 10, Some(1)).await;
    let young_never_used = user_with_key(&moto, "newcomer", 5, None).await;
    // A second, fresh key of the old key's user must stay active: act on one key by its ID.
    let old_users_fresh_key = add_key(&moto, "old", 3, Some(0)).await;
    create_user(&iam, "no-keys").await;

    let settings = settings(&[("MAX_KEY_UNUSED_DAYS", "30")]);
    let report = invoke(&moto, &settings, schedule()).await.expect("report");

    assert_eq!(report.examined, 6);
    assert_eq!(
        outcomes(&report),
        vec![
            (
                "never-used".into(),
                "deactivate-access-key".into(),
                never_used.clone(),
                Status::Applied
            ),
            (
                "old".into(),
                "deactivate-access-key".into(),
                old.clone(),
                Status::Applied
            ),
            (
                "unused".into(),
                "deactivate-access-key".into(),
                unused.clone(),
                Status::Applied
            ),
        ]
    );
    assert_eq!(
        action_for(&report, &old).reason,
        "created 200 days ago (limit 90)"
    );
    assert_eq!(
        action_for(&report, &unused).reason,
        "last used 45 days ago (limit 30)"
    );
    assert_eq!(
        action_for(&report, &never_used).reason,
        "never used, created 40 days ago (limit 30)"
    );

    assert_eq!(
        key_status(&iam, "old", &old).await.as_deref(),
        Some("Inactive")
    );
    assert_eq!(
        key_status(&iam, "old", &old_users_fresh_key)
            .await
            .as_deref(),
        Some("Active")
    );
    assert_eq!(
        key_status(&iam, "unused", &unused).await.as_deref(),
        Some("Inactive")
    );
    assert_eq!(
        key_status(&iam, "never-used", &never_used).await.as_deref(),
        Some("Inactive")
    );
    assert_eq!(
        key_status(&iam, "fresh", &fresh).await.as_deref(),
        Some("Active")
    );
    assert_eq!(
        key_status(&iam, "newcomer", &young_never_used)
            .await
            .as_deref(),
        Some("Active")
    );

    // The deactivation is recorded on the user, for the quiet-period rule.
    let tags = iam
        .list_user_tags()
        .user_name("old")
        .send()
        .await
        .unwrap()
        .tags;
    assert!(
        tags.iter()
            .any(|t| t.key == format!("iam-remediation:key:{old}")
                && t.value.starts_with("deactivated ")),
        "{tags:?}"
    );
}

#[tokio::test]
async fn a_key_used_since_the_report_is_judged_on_its_real_last_use() {
    let moto = Moto::start();
    let iam = moto.iam();
    let key = user_with_key(&moto, "alice", 60, Some(45)).await;
    // The sweep reads the report, then the live last use; both come from moto here, so make the
    // live answer newer than the threshold: the key must be left alone.
    moto.set_key(&key, None, Some(Some(Utc::now() - Duration::hours(2))));
    let report = invoke(
        &moto,
        &settings(&[("MAX_KEY_UNUSED_DAYS", "30")]),
        schedule(),
    )
    .await
    .unwrap();
    assert!(report.actions.is_empty(), "{report:#?}");
    assert_eq!(
        key_status(&iam, "alice", &key).await.as_deref(),
        Some("Active")
    );
}

#[tokio::test]
async fn exemptions_are_honoured_and_reported_as_skipped() {
    let moto = Moto::start();
    let iam = moto.iam();
    let tagged = user_with_key(&moto, "tagged", 200, Some(1)).await;
    tag_user(&iam, "tagged", "iam-remediation:exempt", "true").await;
    let until = user_with_key(&moto, "until-next-year", 200, Some(1)).await;
    tag_user(
        &iam,
        "until-next-year",
        "iam-remediation:exempt",
        &(Utc::now() + Duration::days(365))
            .format("%Y-%m-%d")
            .to_string(),
    )
    .await;
    let lapsed = user_with_key(&moto, "lapsed", 200, Some(1)).await;
    tag_user(&iam, "lapsed", "iam-remediation:exempt", "2020-01-31").await;
    let glob = user_with_key(&moto, "breakglass-1", 200, Some(1)).await;

    let report = invoke(
        &moto,
        &settings(&[("EXEMPT_PRINCIPALS", "breakglass-*")]),
        schedule(),
    )
    .await
    .unwrap();

    for (user, key) in [
        ("tagged", &tagged),
        ("until-next-year", &until),
        ("breakglass-1", &glob),
    ] {
        let action = action_for(&report, key);
        assert_eq!(action.status, Status::Skipped, "{user}");
        assert!(
            action.reason.starts_with("exempt"),
            "{user}: {}",
            action.reason
        );
        assert_eq!(
            key_status(&iam, user, key).await.as_deref(),
            Some("Active"),
            "{user}"
        );
    }
    assert!(action_for(&report, &glob).reason.contains("breakglass-*"));
    let action = action_for(&report, &lapsed);
    assert_eq!(action.status, Status::Applied);
    assert!(
        action.reason.contains("lapsed on 2020-01-31"),
        "{}",
        action.reason
    );
    assert_eq!(
        key_status(&iam, "lapsed", &lapsed).await.as_deref(),
        Some("Inactive")
    );
}

#[tokio::test]
async fn dry_run_plans_and_changes_nothing() {
    let moto = Moto::start();
    let iam = moto.iam();
    let key = user_with_key(&moto, "alice", 200, Some(1)).await;
    let before = snapshot(&iam).await;

    let report = invoke(&moto, &settings(&[("DRY_RUN", "true")]), schedule())
        .await
        .unwrap();
    assert!(report.dry_run);
    assert_eq!(
        outcomes(&report),
        vec![(
            "alice".into(),
            "deactivate-access-key".into(),
            key.clone(),
            Status::Planned
        )]
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
    assert_eq!(report.trigger, iam_remediation::intake::TriggerKind::Manual);
    assert_eq!(action_for(&report, &key).status, Status::Planned);
    assert_eq!(snapshot(&iam).await, before);
}

#[tokio::test]
async fn max_actions_refuses_and_changes_nothing() {
    let moto = Moto::start();
    let iam = moto.iam();
    for user in ["a", "b", "c"] {
        user_with_key(&moto, user, 200, Some(1)).await;
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
}

#[tokio::test]
async fn the_same_event_twice_applies_nothing_the_second_time() {
    let moto = Moto::start();
    let key = user_with_key(&moto, "alice", 200, Some(1)).await;
    let settings = settings(&[]);
    let first = invoke(&moto, &settings, schedule()).await.unwrap();
    assert_eq!(action_for(&first, &key).status, Status::Applied);
    let second = invoke(&moto, &settings, schedule()).await.unwrap();
    assert!(second.actions.is_empty(), "{second:#?}");
}

#[tokio::test]
async fn a_deactivated_key_is_deleted_only_after_the_quiet_period_and_only_with_a_record() {
    let moto = Moto::start();
    let iam = moto.iam();
    let ours = user_with_key(&moto, "alice", 200, Some(1)).await;
    // Someone else deactivated this one: no record, never deleted.
    let theirs = user_with_key(&moto, "bob", 400, Some(300)).await;
    iam.update_access_key()
        .user_name("bob")
        .access_key_id(&theirs)
        .status(aws_sdk_iam::types::StatusType::Inactive)
        .send()
        .await
        .unwrap();
    let settings = settings(&[]);
    let now = Utc::now();
    invoke_at(&moto, &settings, schedule(), now).await.unwrap();
    assert_eq!(
        key_status(&iam, "alice", &ours).await.as_deref(),
        Some("Inactive")
    );

    let report = invoke_at(&moto, &settings, schedule(), now + Duration::days(29))
        .await
        .unwrap();
    assert!(
        report.actions.is_empty(),
        "within the quiet period: {report:#?}"
    );
    assert!(key_status(&iam, "alice", &ours).await.is_some());

    let report = invoke_at(
        &moto,
        &settings,
        schedule(),
        now + Duration::days(30) + Duration::minutes(1),
    )
    .await
    .unwrap();
    assert_eq!(
        outcomes(&report),
        vec![(
            "alice".into(),
            "delete-access-key".into(),
            ours.clone(),
            Status::Applied
        )]
    );
    assert_eq!(
        action_for(&report, &ours).reason,
        "deactivated by iam-remediation 30 days ago (limit 30)"
    );
    assert_eq!(key_status(&iam, "alice", &ours).await, None);
    let tags = iam
        .list_user_tags()
        .user_name("alice")
        .send()
        .await
        .unwrap()
        .tags;
    assert!(tags.is_empty(), "the record goes with the key: {tags:?}");
    assert_eq!(
        key_status(&iam, "bob", &theirs).await.as_deref(),
        Some("Inactive")
    );

    // DELETE_INACTIVE_AFTER_DAYS=0 never deletes.
    let kept = user_with_key(&moto, "carol", 200, Some(1)).await;
    let never = self::settings(&[("DELETE_INACTIVE_AFTER_DAYS", "0")]);
    invoke_at(&moto, &never, schedule(), now).await.unwrap();
    let report = invoke_at(&moto, &never, schedule(), now + Duration::days(400))
        .await
        .unwrap();
    assert!(
        report.actions.iter().all(|a| a.target != kept),
        "{report:#?}"
    );
    assert_eq!(
        key_status(&iam, "carol", &kept).await.as_deref(),
        Some("Inactive")
    );
}

#[tokio::test]
async fn cloudtrail_acts_on_the_named_user_only() {
    let moto = Moto::start();
    let iam = moto.iam();
    let alice = user_with_key(&moto, "alice", 200, Some(1)).await;
    let bob = user_with_key(&moto, "bob", 200, Some(1)).await;
    for name in [
        "cloudtrail-create-access-key",
        "cloudtrail-update-access-key",
    ] {
        let report = invoke(&moto, &settings(&[]), sample_event(FUNCTION, name))
            .await
            .unwrap();
        assert_eq!(
            report.trigger,
            iam_remediation::intake::TriggerKind::Cloudtrail
        );
        assert_eq!(report.examined, 1);
    }
    assert_eq!(
        key_status(&iam, "alice", &alice).await.as_deref(),
        Some("Inactive")
    );
    assert_eq!(
        key_status(&iam, "bob", &bob).await.as_deref(),
        Some("Active")
    );

    // A call that failed changed nothing and needs nothing.
    let report = invoke(
        &moto,
        &settings(&[]),
        sample_event(FUNCTION, "cloudtrail-create-access-key-failed"),
    )
    .await
    .unwrap();
    assert!(report.actions.is_empty() && report.examined == 0);
}

#[tokio::test]
async fn config_compliance_change_resolves_the_unique_id() {
    let moto = Moto::start();
    let iam = moto.iam();
    let alice = user_with_key(&moto, "alice", 200, Some(1)).await;
    let bob = user_with_key(&moto, "bob", 200, Some(1)).await;
    let alice_id = iam
        .get_user()
        .user_name("alice")
        .send()
        .await
        .unwrap()
        .user
        .unwrap()
        .user_id;
    for name in [
        "config-compliance-access-keys-rotated",
        "config-compliance-unused-credentials",
    ] {
        let event = with(
            sample_event(FUNCTION, name),
            "/detail/resourceId",
            json!(alice_id),
        );
        let report = invoke(&moto, &settings(&[]), event).await.unwrap();
        assert_eq!(report.trigger, iam_remediation::intake::TriggerKind::Config);
    }
    assert_eq!(
        key_status(&iam, "alice", &alice).await.as_deref(),
        Some("Inactive")
    );
    assert_eq!(
        key_status(&iam, "bob", &bob).await.as_deref(),
        Some("Active")
    );

    // COMPLIANT needs nothing.
    let event = with(
        sample_event(FUNCTION, "config-compliance-access-keys-rotated"),
        "/detail/newEvaluationResult/complianceType",
        json!("COMPLIANT"),
    );
    let event = with(
        event,
        "/detail/resourceId",
        json!(
            iam.get_user()
                .user_name("bob")
                .send()
                .await
                .unwrap()
                .user
                .unwrap()
                .user_id
        ),
    );
    let report = invoke(&moto, &settings(&[]), event).await.unwrap();
    assert!(report.actions.is_empty());
    assert_eq!(
        key_status(&iam, "bob", &bob).await.as_deref(),
        Some("Active")
    );
}

#[tokio::test]
async fn health_deactivates_an_exposed_key_at_once_whatever_its_age_or_exemption() {
    let moto = Moto::start();
    let iam = moto.iam();
    let exposed = user_with_key(&moto, "alice", 1, Some(0)).await;
    let other = add_key(&moto, "alice", 1, Some(0)).await;
    tag_user(&iam, "alice", "iam-remediation:exempt", "true").await;
    let event = with(
        sample_event(FUNCTION, "health-credentials-exposed"),
        "/detail/affectedEntities",
        json!([{"entityValue": exposed}]),
    );
    let report = invoke(&moto, &settings(&[]), event).await.unwrap();
    assert_eq!(report.trigger, iam_remediation::intake::TriggerKind::Health);
    let action = action_for(&report, &exposed);
    assert_eq!(action.status, Status::Applied);
    assert!(
        action.reason.contains("exposed") && action.reason.contains("overridden"),
        "{}",
        action.reason
    );
    assert_eq!(
        key_status(&iam, "alice", &exposed).await.as_deref(),
        Some("Inactive")
    );
    assert_eq!(
        key_status(&iam, "alice", &other).await.as_deref(),
        Some("Active")
    );
}

#[tokio::test]
async fn manual_orders_act_on_one_key_and_manual_users_on_those_users() {
    let moto = Moto::start();
    let iam = moto.iam();
    let fresh = user_with_key(&moto, "alice", 1, Some(0)).await;
    let old = user_with_key(&moto, "bob", 200, Some(1)).await;
    let carol = user_with_key(&moto, "carol", 200, Some(1)).await;

    let order = json!({"access_key_id": fresh, "action": "deactivate"});
    let report = invoke(&moto, &settings(&[]), order).await.unwrap();
    assert_eq!(
        outcomes(&report),
        vec![(
            "alice".into(),
            "deactivate-access-key".into(),
            fresh.clone(),
            Status::Applied
        )]
    );
    assert_eq!(
        key_status(&iam, "alice", &fresh).await.as_deref(),
        Some("Inactive")
    );

    let delete = json!({"access_key_id": fresh, "action": "delete"});
    invoke(&moto, &settings(&[]), delete).await.unwrap();
    assert_eq!(key_status(&iam, "alice", &fresh).await, None);

    let report = invoke(&moto, &settings(&[]), json!({"users": ["bob"]}))
        .await
        .unwrap();
    assert_eq!(
        outcomes(&report),
        vec![(
            "bob".into(),
            "deactivate-access-key".into(),
            old.clone(),
            Status::Applied
        )]
    );
    assert_eq!(
        key_status(&iam, "carol", &carol).await.as_deref(),
        Some("Active")
    );
}

#[tokio::test]
async fn bad_input_is_a_clear_error_and_changes_nothing() {
    let moto = Moto::start();
    let iam = moto.iam();
    user_with_key(&moto, "alice", 200, Some(1)).await;
    let before = snapshot(&iam).await;
    let unknown = with(schedule(), "/detail-type", json!("Object Created"));
    let ghost_trail = with(
        sample_event(FUNCTION, "cloudtrail-create-access-key"),
        "/detail/requestParameters/userName",
        json!("ghost"),
    );
    let ghost_config = with(
        sample_event(FUNCTION, "config-compliance-access-keys-rotated"),
        "/detail/resourceId",
        json!("AIDANOSUCHUSER000000"),
    );
    let cases = [
        (json!([1, 2, 3]), "expected a JSON object, got an array"),
        (json!("schedule"), "expected a JSON object, got a string"),
        (unknown, "unknown event"),
        (json!({"dryrun": true}), "unknown field `dryrun`"),
        (
            json!({"users": ["ghost", "alice"]}),
            "user ghost does not exist",
        ),
        (json!({"groups": ["admins"]}), "`groups` is not accepted"),
        (ghost_trail, "user ghost does not exist"),
        (
            ghost_config,
            "user with unique ID AIDANOSUCHUSER000000 does not exist",
        ),
        (
            json!({"access_key_id": "AKIANOSUCHKEY0000000", "action": "delete"}),
            "access key AKIANOSUCHKEY0000000 does not exist",
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
    let a = user_with_key(&moto, "a", 200, Some(1)).await;
    let b = user_with_key(&moto, "b", 200, Some(1)).await;
    moto.inject_fault("iam:UpdateAccessKey", "AccessDenied", 403, 1, 0);
    let err = invoke(&moto, &settings(&[]), schedule()).await.unwrap_err();
    let Error::ActionsFailed { count: 1, summary } = &err else {
        panic!("{err}")
    };
    assert!(
        summary.contains("UpdateAccessKey failed: AccessDenied"),
        "{summary}"
    );
    let statuses = [
        key_status(&iam, "a", &a).await,
        key_status(&iam, "b", &b).await,
    ];
    assert_eq!(
        statuses
            .iter()
            .filter(|s| s.as_deref() == Some("Inactive"))
            .count(),
        1,
        "{statuses:?}"
    );
    // The next run completes the work.
    let report = invoke(&moto, &settings(&[]), schedule()).await.unwrap();
    assert_eq!(report.count(Status::Applied), 1);
    assert_eq!(key_status(&iam, "a", &a).await.as_deref(), Some("Inactive"));
    assert_eq!(key_status(&iam, "b", &b).await.as_deref(), Some("Inactive"));
}

#[tokio::test]
async fn throttling_is_retried() {
    let moto = Moto::start();
    let key = user_with_key(&moto, "alice", 200, Some(1)).await;
    moto.inject_fault("iam:UpdateAccessKey", "Throttling", 400, 2, 0);
    moto.inject_fault("iam:GenerateCredentialReport", "ServiceFailure", 500, 1, 0);
    let report = invoke(&moto, &settings(&[]), schedule()).await.unwrap();
    assert_eq!(action_for(&report, &key).status, Status::Applied);
    assert_eq!(moto.calls()["iam:UpdateAccessKey"], 3);
}

#[tokio::test]
async fn unreadable_exemption_tags_fail_closed() {
    let moto = Moto::start();
    let iam = moto.iam();
    let key = user_with_key(&moto, "alice", 200, Some(1)).await;
    moto.inject_fault("iam:ListUserTags", "AccessDenied", 403, 1, 0);
    let report = invoke(&moto, &settings(&[]), schedule()).await.unwrap();
    let action = action_for(&report, &key);
    assert_eq!(action.status, Status::Skipped);
    assert!(
        action.reason.contains("failing closed"),
        "{}",
        action.reason
    );
    assert_eq!(
        key_status(&iam, "alice", &key).await.as_deref(),
        Some("Active")
    );
}

#[tokio::test]
async fn never_acts_on_its_own_identity() {
    let moto = Moto::start();
    let iam = moto.iam();
    // moto's GetCallerIdentity answers arn:aws:sts::123456789012:user/moto.
    let own = user_with_key(&moto, "moto", 200, Some(1)).await;
    let order = json!({"access_key_id": own, "action": "delete"});
    let report = invoke(&moto, &settings(&[]), order).await.unwrap();
    let action = action_for(&report, &own);
    assert_eq!(action.status, Status::Skipped);
    assert!(
        action.reason.contains("runs as this identity"),
        "{}",
        action.reason
    );
    assert_eq!(
        key_status(&iam, "moto", &own).await.as_deref(),
        Some("Active")
    );
}

#[tokio::test]
async fn config_rule_invocations_report_evaluations_back() {
    let moto = Moto::start();
    let iam = moto.iam();
    let key = user_with_key(&moto, "alice", 200, Some(1)).await;
    let report = invoke(
        &moto,
        &settings(&[]),
        sample_event(FUNCTION, "config-rule-change"),
    )
    .await
    .unwrap();
    assert_eq!(
        report.trigger,
        iam_remediation::intake::TriggerKind::ConfigRule
    );
    assert_eq!(
        key_status(&iam, "alice", &key).await.as_deref(),
        Some("Inactive")
    );

    let dry = invoke(
        &moto,
        &settings(&[("DRY_RUN", "true")]),
        sample_event(FUNCTION, "config-rule-scheduled"),
    )
    .await
    .unwrap();
    assert!(dry.actions.is_empty(), "alice is fixed already: {dry:#?}");
    user_with_key(&moto, "bob", 200, Some(1)).await;
    invoke(
        &moto,
        &settings(&[("DRY_RUN", "true")]),
        sample_event(FUNCTION, "config-rule-scheduled"),
    )
    .await
    .unwrap();

    let left = with(
        sample_event(FUNCTION, "config-rule-change"),
        "/eventLeftScope",
        json!(true),
    );
    invoke(&moto, &settings(&[]), left).await.unwrap();

    let evaluations = moto.evaluations();
    let results: Vec<(String, String, String)> = evaluations
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
}

#[tokio::test]
async fn a_sweep_reads_the_account_through_the_credential_report() {
    let moto = Moto::start();
    let iam = moto.iam();
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
    let report = invoke(&moto, &settings(&[("MAX_ACTIONS", "100")]), schedule())
        .await
        .unwrap();
    assert_eq!(report.examined, users);
    assert_eq!(report.count(Status::Applied), offenders.len());
    let calls = moto.calls();
    let iam_calls = moto.service_calls("iam");
    println!(
        "sweep of {users} users with {} offending keys: {iam_calls} IAM calls: {calls:?}",
        offenders.len()
    );
    // The report: generate (until COMPLETE) + get; then per offending key: tags, list keys,
    // update, record.
    assert_eq!(calls["iam:GetCredentialReport"], 1);
    assert!(
        !calls.contains_key("iam:ListUsers"),
        "a sweep does not list users: {calls:?}"
    );
    assert!(
        iam_calls <= 3 + 4 * offenders.len() as u64,
        "{iam_calls} calls: {calls:?}"
    );
    assert_eq!(
        key_statuses(&iam, "user-000").await[&offenders[0]],
        "Inactive"
    );
}
