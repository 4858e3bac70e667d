//! `password-policy` against moto: a floor that only tightens, every input kind, and the bad
//! cases.

#![allow(clippy::unwrap_used, reason = "a test fails loudly")]

use aws_sdk_iam::operation::get_account_password_policy::GetAccountPasswordPolicyError;
use iam_remediation::intake::TriggerKind;
use iam_remediation::{Clients, Env, Error, PrincipalKind, Report, Status};
use integration_tests::{Moto, sample_event, snapshot, with};
use password_policy::{Settings, handle};
use serde_json::{Value, json};

const FUNCTION: &str = "password-policy";
const UPDATE: &str = "iam:UpdateAccountPasswordPolicy";

fn settings(pairs: &[(&str, &str)]) -> Settings {
    Settings::from_env(&Env::from_pairs(pairs.iter().copied())).expect("valid settings")
}

async fn invoke(moto: &Moto, settings: &Settings, event: Value) -> Result<Report, Error> {
    let clients = Clients::new(&moto.sdk_config());
    handle(&clients, settings, event, chrono::Utc::now(), None).await
}

fn schedule() -> Value {
    sample_event(FUNCTION, "scheduled")
}

/// A password policy as IAM holds it, field by field under IAM's names; `None` for an age or a
/// reuse count that is not set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(clippy::struct_excessive_bools)]
struct Policy {
    min: i32,
    upper: bool,
    lower: bool,
    numbers: bool,
    symbols: bool,
    allow_change: bool,
    max_age: Option<i32>,
    reuse: Option<i32>,
    hard_expiry: bool,
}

/// The default floor.
const FLOOR: Policy = Policy {
    min: 14,
    upper: true,
    lower: true,
    numbers: true,
    symbols: true,
    allow_change: true,
    max_age: Some(90),
    reuse: Some(24),
    hard_expiry: false,
};

/// Sets the account's policy directly (the test's "someone else").
async fn set_policy(iam: &aws_sdk_iam::Client, policy: Policy) {
    iam.update_account_password_policy()
        .minimum_password_length(policy.min)
        .require_uppercase_characters(policy.upper)
        .require_lowercase_characters(policy.lower)
        .require_numbers(policy.numbers)
        .require_symbols(policy.symbols)
        .allow_users_to_change_password(policy.allow_change)
        .set_max_password_age(policy.max_age)
        .set_password_reuse_prevention(policy.reuse)
        .hard_expiry(policy.hard_expiry)
        .send()
        .await
        .expect("UpdateAccountPasswordPolicy");
}

/// The account's policy read directly (`None`: the account has none).
async fn policy(iam: &aws_sdk_iam::Client) -> Option<Policy> {
    let output = match iam.get_account_password_policy().send().await {
        Ok(output) => output,
        Err(e)
            if e.as_service_error()
                .is_some_and(GetAccountPasswordPolicyError::is_no_such_entity_exception) =>
        {
            return None;
        }
        Err(e) => panic!("GetAccountPasswordPolicy: {e:?}"),
    };
    let p = output.password_policy.expect("a policy");
    // moto writes 0 where AWS leaves a field out: both mean "not set".
    let set = |v: Option<i32>| v.filter(|v| *v > 0);
    Some(Policy {
        min: p.minimum_password_length.expect("a minimum length"),
        upper: p.require_uppercase_characters,
        lower: p.require_lowercase_characters,
        numbers: p.require_numbers,
        symbols: p.require_symbols,
        allow_change: p.allow_users_to_change_password,
        max_age: set(p.max_password_age),
        reuse: set(p.password_reuse_prevention),
        hard_expiry: p.hard_expiry.unwrap_or(false),
    })
}

fn update_calls(moto: &Moto) -> u64 {
    moto.calls().get(UPDATE).copied().unwrap_or(0)
}

/// The report's single action.
fn the_action(report: &Report) -> &iam_remediation::ActionRecord {
    assert_eq!(report.actions.len(), 1, "{report:#?}");
    &report.actions[0]
}

#[tokio::test]
async fn no_policy_becomes_exactly_the_floor() {
    let moto = Moto::start();
    let iam = moto.iam();
    assert_eq!(policy(&iam).await, None);
    moto.reset_calls();

    let report = invoke(&moto, &settings(&[]), schedule())
        .await
        .expect("report");

    // The plan's read, the re-read right before the change, and one complete update: no STS
    // call, no listing.
    let calls = moto.calls();
    assert_eq!(
        calls.into_iter().collect::<Vec<_>>(),
        vec![
            ("iam:GetAccountPasswordPolicy".to_owned(), 2),
            (UPDATE.to_owned(), 1)
        ]
    );
    assert_eq!(policy(&iam).await, Some(FLOOR));
    assert_eq!(
        (report.trigger, report.examined, report.dry_run),
        (TriggerKind::Schedule, 1, false)
    );
    let action = the_action(&report);
    assert_eq!(action.status, Status::Applied);
    assert_eq!(action.principal_type, PrincipalKind::Account);
    assert_eq!(
        (
            action.principal.as_str(),
            action.action.as_str(),
            action.target.as_str()
        ),
        ("account", "update-password-policy", "password-policy")
    );
    assert_eq!(
        action.reason,
        "the account has no password policy: set to the floor"
    );
    assert_eq!(
        action.details,
        Some(json!({"before": null, "after": {
            "MinimumPasswordLength": 14, "RequireUppercaseCharacters": true, "RequireLowercaseCharacters": true,
            "RequireNumbers": true, "RequireSymbols": true, "AllowUsersToChangePassword": true,
            "MaxPasswordAge": 90, "PasswordReusePrevention": 24, "HardExpiry": false}}))
    );
}

#[tokio::test]
async fn a_weak_policy_is_tightened_and_the_report_holds_the_undo_record() {
    let moto = Moto::start();
    let iam = moto.iam();
    let weak = Policy {
        min: 8,
        upper: true,
        lower: false,
        numbers: false,
        symbols: false,
        allow_change: false,
        max_age: Some(365),
        reuse: Some(3),
        hard_expiry: false,
    };
    set_policy(&iam, weak).await;

    let report = invoke(&moto, &settings(&[]), schedule())
        .await
        .expect("report");

    assert_eq!(policy(&iam).await, Some(FLOOR));
    let action = the_action(&report);
    assert_eq!(action.status, Status::Applied);
    assert_eq!(
        action.details,
        Some(json!({
            "before": {"MinimumPasswordLength": 8, "RequireLowercaseCharacters": false, "RequireNumbers": false,
                       "RequireSymbols": false, "AllowUsersToChangePassword": false, "MaxPasswordAge": 365,
                       "PasswordReusePrevention": 3},
            "after": {"MinimumPasswordLength": 14, "RequireLowercaseCharacters": true, "RequireNumbers": true,
                      "RequireSymbols": true, "AllowUsersToChangePassword": true, "MaxPasswordAge": 90,
                      "PasswordReusePrevention": 24},
        }))
    );
    assert!(
        action
            .reason
            .starts_with("weaker than the floor: MinimumPasswordLength 8 -> 14, "),
        "{}",
        action.reason
    );
}

#[tokio::test]
async fn a_stricter_policy_keeps_its_stricter_values_and_gains_what_is_missing() {
    let moto = Moto::start();
    let iam = moto.iam();
    let stricter_in_parts = Policy {
        min: 20,
        upper: true,
        lower: false,
        numbers: true,
        symbols: false,
        allow_change: true,
        max_age: Some(30),
        reuse: None,
        hard_expiry: true,
    };
    set_policy(&iam, stricter_in_parts).await;

    let report = invoke(&moto, &settings(&[]), schedule())
        .await
        .expect("report");

    assert_eq!(
        policy(&iam).await,
        Some(Policy {
            min: 20,
            upper: true,
            lower: true,
            numbers: true,
            symbols: true,
            allow_change: true,
            max_age: Some(30),
            reuse: Some(24),
            hard_expiry: true,
        })
    );
    assert_eq!(
        the_action(&report).details,
        Some(json!({
            "before": {"RequireLowercaseCharacters": false, "RequireSymbols": false, "PasswordReusePrevention": null},
            "after": {"RequireLowercaseCharacters": true, "RequireSymbols": true, "PasswordReusePrevention": 24},
        }))
    );
}

#[tokio::test]
async fn a_policy_at_or_above_the_floor_causes_no_update_call() {
    let moto = Moto::start();
    let iam = moto.iam();
    let above = Policy {
        min: 64,
        max_age: Some(1),
        hard_expiry: true,
        ..FLOOR
    };
    for current in [FLOOR, above] {
        set_policy(&iam, current).await;
        let before = snapshot(&iam).await;
        moto.reset_calls();

        let report = invoke(&moto, &settings(&[]), schedule())
            .await
            .expect("report");

        assert!(report.actions.is_empty(), "{report:#?}");
        assert_eq!(report.examined, 1);
        let calls = moto.calls();
        assert_eq!(calls.get(UPDATE), None, "{calls:?}");
        assert_eq!(calls["iam:GetAccountPasswordPolicy"], 1, "{calls:?}");
        assert_eq!(snapshot(&iam).await, before);
        assert_eq!(policy(&iam).await, Some(current));
    }
}

#[tokio::test]
async fn the_same_event_twice_applies_nothing_the_second_time() {
    let moto = Moto::start();
    let iam = moto.iam();
    let first = invoke(&moto, &settings(&[]), schedule()).await.unwrap();
    assert_eq!(the_action(&first).status, Status::Applied);
    let second = invoke(&moto, &settings(&[]), schedule()).await.unwrap();
    assert!(second.actions.is_empty(), "{second:#?}");
    assert_eq!(update_calls(&moto), 1);
    assert_eq!(policy(&iam).await, Some(FLOOR));
}

#[tokio::test]
async fn two_invocations_at_once_end_like_one() {
    let moto = Moto::start();
    let iam = moto.iam();
    set_policy(
        &iam,
        Policy {
            min: 8,
            symbols: false,
            max_age: None,
            ..FLOOR
        },
    )
    .await;
    let settings = settings(&[]);
    let (a, b) = tokio::join!(
        invoke(&moto, &settings, schedule()),
        invoke(
            &moto,
            &settings,
            sample_event(FUNCTION, "cloudtrail-update-account-password-policy")
        )
    );
    a.unwrap();
    b.unwrap();
    assert_eq!(policy(&iam).await, Some(FLOOR));
}

#[tokio::test]
async fn a_deleted_policy_is_restored_from_the_cloudtrail_event() {
    let moto = Moto::start();
    let iam = moto.iam();
    set_policy(&iam, FLOOR).await;
    iam.delete_account_password_policy()
        .send()
        .await
        .expect("DeleteAccountPasswordPolicy");
    assert_eq!(policy(&iam).await, None);

    let report = invoke(
        &moto,
        &settings(&[]),
        sample_event(FUNCTION, "cloudtrail-delete-account-password-policy"),
    )
    .await
    .expect("report");

    assert_eq!(report.trigger, TriggerKind::Cloudtrail);
    assert_eq!(the_action(&report).status, Status::Applied);
    assert_eq!(policy(&iam).await, Some(FLOOR));
}

#[tokio::test]
async fn a_weakening_update_is_undone_from_the_cloudtrail_event() {
    let moto = Moto::start();
    let iam = moto.iam();
    // What the sample event records someone doing.
    set_policy(
        &iam,
        Policy {
            min: 8,
            symbols: false,
            max_age: Some(365),
            reuse: Some(3),
            ..FLOOR
        },
    )
    .await;
    let report = invoke(
        &moto,
        &settings(&[]),
        sample_event(FUNCTION, "cloudtrail-update-account-password-policy"),
    )
    .await
    .expect("report");
    assert_eq!(the_action(&report).status, Status::Applied);
    assert_eq!(policy(&iam).await, Some(FLOOR));
}

#[tokio::test]
async fn a_failed_call_needs_nothing() {
    let moto = Moto::start();
    let iam = moto.iam();
    set_policy(&iam, Policy { min: 8, ..FLOOR }).await;
    moto.reset_calls();
    let report = invoke(
        &moto,
        &settings(&[]),
        sample_event(FUNCTION, "cloudtrail-delete-account-password-policy-failed"),
    )
    .await
    .expect("report");
    assert!(
        report.actions.is_empty() && report.examined == 0,
        "{report:#?}"
    );
    assert_eq!(moto.service_calls("iam"), 0, "{:?}", moto.calls());
    assert_eq!(policy(&iam).await.map(|p| p.min), Some(8));
}

#[tokio::test]
async fn dry_run_changes_nothing() {
    let moto = Moto::start();
    let iam = moto.iam();
    // No policy at all, from DRY_RUN and from the manual payload.
    for (settings, event) in [
        (settings(&[("DRY_RUN", "true")]), schedule()),
        (
            settings(&[]),
            sample_event(FUNCTION, "manual-account-dry-run"),
        ),
    ] {
        let report = invoke(&moto, &settings, event).await.expect("report");
        assert!(report.dry_run);
        let action = the_action(&report);
        assert_eq!(action.status, Status::Planned);
        assert_eq!(action.details.as_ref().unwrap()["before"], Value::Null);
        assert_eq!(policy(&iam).await, None);
    }
    // A weak policy.
    let weak = Policy {
        min: 8,
        upper: false,
        ..FLOOR
    };
    set_policy(&iam, weak).await;
    let before = snapshot(&iam).await;
    let report = invoke(
        &moto,
        &settings(&[]),
        sample_event(FUNCTION, "manual-account-dry-run"),
    )
    .await
    .expect("report");
    assert_eq!(the_action(&report).status, Status::Planned);
    assert_eq!(
        the_action(&report).details,
        Some(
            json!({"before": {"MinimumPasswordLength": 8, "RequireUppercaseCharacters": false},
                    "after": {"MinimumPasswordLength": 14, "RequireUppercaseCharacters": true}})
        )
    );
    assert_eq!(snapshot(&iam).await, before);
    assert_eq!(update_calls(&moto), 1, "only the test's own set_policy");

    // An explicit `"dry_run": false` overrides DRY_RUN=true.
    let report = invoke(
        &moto,
        &settings(&[("DRY_RUN", "true")]),
        json!({"dry_run": false}),
    )
    .await
    .expect("report");
    assert_eq!(
        (report.trigger, the_action(&report).status),
        (TriggerKind::Manual, Status::Applied)
    );
    assert_eq!(policy(&iam).await, Some(FLOOR));
}

#[tokio::test]
async fn a_manual_payload_without_fields_runs_for_the_account() {
    let moto = Moto::start();
    let iam = moto.iam();
    let report = invoke(&moto, &settings(&[]), sample_event(FUNCTION, "manual-run"))
        .await
        .expect("report");
    assert_eq!(
        (report.trigger, the_action(&report).status),
        (TriggerKind::Manual, Status::Applied)
    );
    assert_eq!(policy(&iam).await, Some(FLOOR));
}

#[tokio::test]
async fn zero_sets_no_floor_for_max_age_and_reuse_prevention() {
    let moto = Moto::start();
    let iam = moto.iam();
    let no_expiry_floor = settings(&[
        ("MAX_PASSWORD_AGE_DAYS", "0"),
        ("PASSWORD_REUSE_PREVENTION", "0"),
    ]);
    invoke(&moto, &no_expiry_floor, schedule())
        .await
        .expect("report");
    assert_eq!(
        policy(&iam).await,
        Some(Policy {
            max_age: None,
            reuse: None,
            ..FLOOR
        })
    );

    // An account's own values are kept, never removed.
    set_policy(
        &iam,
        Policy {
            max_age: Some(60),
            reuse: Some(5),
            min: 8,
            ..FLOOR
        },
    )
    .await;
    invoke(&moto, &no_expiry_floor, schedule())
        .await
        .expect("report");
    assert_eq!(
        policy(&iam).await,
        Some(Policy {
            max_age: Some(60),
            reuse: Some(5),
            ..FLOOR
        })
    );
}

#[tokio::test]
async fn a_custom_floor_is_honoured_field_by_field() {
    let moto = Moto::start();
    let iam = moto.iam();
    let floor = settings(&[
        ("MIN_PASSWORD_LENGTH", "32"),
        ("REQUIRE_SYMBOLS", "false"),
        ("ALLOW_USERS_TO_CHANGE_PASSWORD", "false"),
        ("MAX_PASSWORD_AGE_DAYS", "45"),
        ("PASSWORD_REUSE_PREVENTION", "10"),
        ("HARD_EXPIRY", "true"),
    ]);
    invoke(&moto, &floor, schedule()).await.expect("report");
    assert_eq!(
        policy(&iam).await,
        Some(Policy {
            min: 32,
            symbols: false,
            allow_change: false,
            max_age: Some(45),
            reuse: Some(10),
            hard_expiry: true,
            ..FLOOR
        })
    );
}

#[tokio::test]
async fn a_floor_weaker_than_aws_default_is_not_set_on_an_account_without_a_policy() {
    let moto = Moto::start();
    let iam = moto.iam();
    let weak_floor = settings(&[
        ("MIN_PASSWORD_LENGTH", "6"),
        ("REQUIRE_SYMBOLS", "false"),
        ("REQUIRE_NUMBERS", "false"),
    ]);
    let report = invoke(&moto, &weak_floor, schedule())
        .await
        .expect("report");
    let action = the_action(&report);
    assert_eq!(action.status, Status::Skipped);
    assert!(
        action.reason.contains("weaker than AWS's default policy"),
        "{}",
        action.reason
    );
    assert_eq!(policy(&iam).await, None);
    assert_eq!(update_calls(&moto), 0);
}

#[tokio::test]
async fn config_compliance_change_from_iam_password_policy() {
    let moto = Moto::start();
    let iam = moto.iam();
    let event = sample_event(FUNCTION, "config-compliance-iam-password-policy");

    let compliant = with(
        event.clone(),
        "/detail/newEvaluationResult/complianceType",
        json!("COMPLIANT"),
    );
    let report = invoke(&moto, &settings(&[]), compliant)
        .await
        .expect("report");
    assert!(
        report.actions.is_empty() && report.examined == 0,
        "{report:#?}"
    );
    assert_eq!(policy(&iam).await, None);

    let report = invoke(&moto, &settings(&[]), event).await.expect("report");
    assert_eq!(report.trigger, TriggerKind::Config);
    assert_eq!(the_action(&report).status, Status::Applied);
    assert_eq!(policy(&iam).await, Some(FLOOR));
}

#[tokio::test]
async fn config_rule_invocations_report_evaluations_back() {
    let moto = Moto::start();
    let iam = moto.iam();
    let event = sample_event(FUNCTION, "config-rule-scheduled");

    invoke(&moto, &settings(&[("DRY_RUN", "true")]), event.clone())
        .await
        .expect("dry run");
    assert_eq!(policy(&iam).await, None);
    let report = invoke(&moto, &settings(&[]), event.clone())
        .await
        .expect("report");
    assert_eq!(report.trigger, TriggerKind::ConfigRule);
    assert_eq!(policy(&iam).await, Some(FLOOR));
    let report = invoke(&moto, &settings(&[]), event.clone())
        .await
        .expect("report");
    assert!(report.actions.is_empty());
    invoke(
        &moto,
        &settings(&[]),
        with(event, "/eventLeftScope", json!(true)),
    )
    .await
    .expect("left scope");

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
                evaluation["ComplianceResourceId"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
                evaluation["ComplianceType"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let account = |compliance: &str| {
        (
            "AWS::::Account".to_owned(),
            "123456789012".to_owned(),
            compliance.to_owned(),
        )
    };
    assert_eq!(
        results,
        vec![
            account("NON_COMPLIANT"),
            account("COMPLIANT"),
            account("COMPLIANT"),
            account("NOT_APPLICABLE")
        ]
    );
}

#[tokio::test]
async fn bad_input_is_a_clear_error_and_changes_nothing() {
    let moto = Moto::start();
    let iam = moto.iam();
    set_policy(&iam, Policy { min: 8, ..FLOOR }).await;
    let before = snapshot(&iam).await;
    let updates = update_calls(&moto);
    let other_call = with(
        sample_event(FUNCTION, "cloudtrail-update-account-password-policy"),
        "/detail/eventName",
        json!("CreateAccessKey"),
    );
    let user_change = with(
        sample_event(FUNCTION, "config-compliance-iam-password-policy"),
        "/detail/resourceType",
        json!("AWS::IAM::User"),
    );
    let health = json!({"version": "0", "id": "1", "detail-type": "AWS Health Event", "source": "aws.health",
        "account": "123456789012", "time": "2026-11-22T11:00:00Z", "region": "us-east-1", "resources": [],
        "detail": {"eventTypeCode": "AWS_RISK_CREDENTIALS_EXPOSED", "affectedEntities": [{"entityValue": "AKIAIOSFODNN7EXAMPLE"}]}});
    let cases = [
        (json!([1, 2, 3]), "expected a JSON object, got an array"),
        (json!(null), "expected a JSON object, got null"),
        (
            with(schedule(), "/detail-type", json!("Object Created")),
            "unknown event",
        ),
        (json!({"dryrun": true}), "unknown field `dryrun`"),
        (json!({"dry_run": "yes"}), "manual payload"),
        (json!({"users": ["alice"]}), "`users` is not accepted"),
        (json!({"roles": ["admin"]}), "`roles` is not accepted"),
        (
            other_call,
            "CloudTrail event CreateAccessKey is not handled here",
        ),
        (
            user_change,
            "resource type AWS::IAM::User is not the account",
        ),
        (health, "unknown event"),
    ];
    for (event, expected) in cases {
        let err = invoke(&moto, &settings(&[]), event.clone())
            .await
            .unwrap_err();
        assert!(err.to_string().contains(expected), "{event}: {err}");
        assert_eq!(snapshot(&iam).await, before, "{event} changed something");
    }
    assert_eq!(update_calls(&moto), updates);
}

#[tokio::test]
async fn a_refused_update_fails_the_run_and_the_next_run_completes_it() {
    let moto = Moto::start();
    let iam = moto.iam();
    let weak = Policy { min: 8, ..FLOOR };
    set_policy(&iam, weak).await;
    moto.inject_fault(UPDATE, "AccessDenied", 403, 1, 0);

    let err = invoke(&moto, &settings(&[]), schedule()).await.unwrap_err();

    let Error::ActionsFailed { count: 1, summary } = &err else {
        panic!("{err}")
    };
    assert!(
        summary.contains("UpdateAccountPasswordPolicy failed: AccessDenied"),
        "{summary}"
    );
    assert_eq!(policy(&iam).await, Some(weak));
    let report = invoke(&moto, &settings(&[]), schedule())
        .await
        .expect("report");
    assert_eq!(the_action(&report).status, Status::Applied);
    assert_eq!(policy(&iam).await, Some(FLOOR));
}

#[tokio::test]
async fn an_unreadable_policy_stops_the_run_before_any_change() {
    let moto = Moto::start();
    let iam = moto.iam();
    moto.inject_fault("iam:GetAccountPasswordPolicy", "AccessDenied", 403, 1, 0);
    let err = invoke(&moto, &settings(&[]), schedule()).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "GetAccountPasswordPolicy failed: AccessDenied: injected by the test bed"
    );
    assert_eq!(update_calls(&moto), 0);
    assert_eq!(policy(&iam).await, None);

    // The re-read right before the change fails: still nothing changed.
    moto.inject_fault("iam:GetAccountPasswordPolicy", "AccessDenied", 403, 1, 1);
    let err = invoke(&moto, &settings(&[]), schedule()).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("GetAccountPasswordPolicy failed: AccessDenied"),
        "{err}"
    );
    assert_eq!(update_calls(&moto), 0);
    assert_eq!(policy(&iam).await, None);
}

#[tokio::test]
async fn throttling_is_retried() {
    let moto = Moto::start();
    let iam = moto.iam();
    moto.inject_fault("iam:GetAccountPasswordPolicy", "Throttling", 400, 1, 0);
    moto.inject_fault(UPDATE, "Throttling", 400, 2, 0);
    let report = invoke(&moto, &settings(&[]), schedule())
        .await
        .expect("report");
    assert_eq!(the_action(&report).status, Status::Applied);
    assert_eq!(update_calls(&moto), 3);
    assert_eq!(policy(&iam).await, Some(FLOOR));
}
