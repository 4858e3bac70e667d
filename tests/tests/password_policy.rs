//! `password-policy` against moto: a floor that only tightens, every input kind, and the bad
//! cases.

#![allow(clippy::unwrap_used, reason = "a test fails loudly")]

use iam_remediation::intake::TriggerKind;
use iam_remediation::{Report, Status};
use integration_tests::{
    Moto, account_password_policy, assert_failed, invoke, sample_event, schedule, snapshot,
};
use serde_json::{Value, json};

const FUNCTION: &str = "password-policy";
const UPDATE: &str = "iam:UpdateAccountPasswordPolicy";

/// One invocation of `password-policy` with these variables, for a report.
async fn run(moto: &Moto, pairs: &[(&str, &str)], event: Value) -> Report {
    invoke(&moto.password_policy(pairs), event)
        .await
        .expect("report")
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

/// A floor that sets no MaxPasswordAge and no PasswordReusePrevention (0).
const NO_EXPIRY_FLOOR: &[(&str, &str)] = &[
    ("MAX_PASSWORD_AGE_DAYS", "0"),
    ("PASSWORD_REUSE_PREVENTION", "0"),
];

/// A floor of its own in every field.
const CUSTOM_FLOOR: &[(&str, &str)] = &[
    ("MIN_PASSWORD_LENGTH", "32"),
    ("REQUIRE_SYMBOLS", "false"),
    ("ALLOW_USERS_TO_CHANGE_PASSWORD", "false"),
    ("MAX_PASSWORD_AGE_DAYS", "45"),
    ("PASSWORD_REUSE_PREVENTION", "10"),
    ("HARD_EXPIRY", "true"),
];

/// A floor weaker than AWS's default policy.
const WEAK_FLOOR: &[(&str, &str)] = &[
    ("MIN_PASSWORD_LENGTH", "6"),
    ("REQUIRE_SYMBOLS", "false"),
    ("REQUIRE_NUMBERS", "false"),
];

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
    let p = account_password_policy(iam).await?;
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
    moto.call_count(UPDATE)
}

/// (target, status) of each action, in the report's order.
fn targets(report: &Report) -> Vec<(&str, Status)> {
    report
        .actions
        .iter()
        .map(|a| (a.target.as_str(), a.status))
        .collect()
}

/// The report's single action.
fn the_action(report: &Report) -> &iam_remediation::ActionRecord {
    assert_eq!(report.actions.len(), 1, "{report:#?}");
    &report.actions[0]
}

#[tokio::test]
async fn no_policy_becomes_exactly_the_floor() {
    let (moto, iam) = Moto::with_iam();
    assert_eq!(policy(&iam).await, None);
    moto.reset_calls();

    let report = run(&moto, &[], schedule(FUNCTION)).await;

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
    assert_eq!(action.principal_type, "account");
    assert_eq!(
        (
            action.principal.as_str(),
            action.action,
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
    let (moto, iam) = Moto::with_iam();
    let weak = Policy {
        min: 8,
        lower: false,
        numbers: false,
        symbols: false,
        allow_change: false,
        max_age: Some(365),
        reuse: Some(3),
        ..FLOOR
    };
    set_policy(&iam, weak).await;

    let report = run(&moto, &[], schedule(FUNCTION)).await;

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
    let reason = "weaker than the floor: MinimumPasswordLength 8 -> 14, ";
    assert!(action.reason.starts_with(reason), "{}", action.reason);
}

/// A policy stricter than the floor in some fields, weaker in others.
const STRICTER_IN_PARTS: Policy = Policy {
    min: 20,
    lower: false,
    symbols: false,
    max_age: Some(30),
    reuse: None,
    hard_expiry: true,
    ..FLOOR
};

#[tokio::test]
async fn a_stricter_policy_keeps_its_stricter_values_and_gains_what_is_missing() {
    let (moto, iam) = Moto::with_iam();
    set_policy(&iam, STRICTER_IN_PARTS).await;

    let report = run(&moto, &[], schedule(FUNCTION)).await;

    let kept_and_gained = Policy {
        lower: true,
        symbols: true,
        reuse: Some(24),
        ..STRICTER_IN_PARTS
    };
    assert_eq!(policy(&iam).await, Some(kept_and_gained));
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
    let (moto, iam) = Moto::with_iam();
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

        let report = run(&moto, &[], schedule(FUNCTION)).await;

        assert!(report.actions.is_empty(), "{report:#?}");
        assert_eq!(report.examined, 1);
        let calls = moto.calls();
        assert_eq!(calls.get(UPDATE), None, "{calls:?}");
        assert_eq!(calls["iam:GetAccountPasswordPolicy"], 1, "{calls:?}");
        assert_eq!(snapshot(&iam).await, before);
        assert_eq!(policy(&iam).await, Some(current));
    }
}

/// Whatever brings the function in, a policy deleted, weakened or missing is set to the floor:
/// the CloudTrail event of its deletion or of the weakening update, a Config compliance change, a
/// manual payload without fields.
#[tokio::test]
async fn every_trigger_sets_the_floor() {
    // What the sample update event records someone doing.
    let weakened = Policy {
        min: 8,
        symbols: false,
        max_age: Some(365),
        reuse: Some(3),
        ..FLOOR
    };
    for (sample, before, delete, trigger) in [
        (
            "cloudtrail-delete-account-password-policy",
            Some(FLOOR),
            true,
            TriggerKind::Cloudtrail,
        ),
        (
            "cloudtrail-update-account-password-policy",
            Some(weakened),
            false,
            TriggerKind::Cloudtrail,
        ),
        (
            "config-compliance-iam-password-policy",
            None,
            false,
            TriggerKind::Config,
        ),
        ("manual-run", None, false, TriggerKind::Manual),
    ] {
        let (moto, iam) = Moto::with_iam();
        if let Some(before) = before {
            set_policy(&iam, before).await;
        }
        if delete {
            iam.delete_account_password_policy()
                .send()
                .await
                .expect("DeleteAccountPasswordPolicy");
            assert_eq!(policy(&iam).await, None);
        }

        let report = run(&moto, &[], sample_event(FUNCTION, sample)).await;

        let action = the_action(&report);
        assert_eq!(
            (report.trigger, action.status),
            (trigger, Status::Applied),
            "{sample}"
        );
        assert_eq!(policy(&iam).await, Some(FLOOR), "{sample}");
    }
}

#[tokio::test]
async fn dry_run_changes_nothing() {
    let (moto, iam) = Moto::with_iam();
    // No policy at all, from DRY_RUN and from the manual payload.
    let manual_dry_run = || sample_event(FUNCTION, "manual-account-dry-run");
    for (pairs, event) in [
        (&[("DRY_RUN", "true")][..], schedule(FUNCTION)),
        (&[], manual_dry_run()),
    ] {
        let report = run(&moto, pairs, event).await;
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
    let report = run(&moto, &[], manual_dry_run()).await;
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
    let report = run(&moto, &[("DRY_RUN", "true")], json!({"dry_run": false})).await;
    assert_eq!(
        (report.trigger, the_action(&report).status),
        (TriggerKind::Manual, Status::Applied)
    );
    assert_eq!(policy(&iam).await, Some(FLOOR));
}

#[tokio::test]
async fn zero_sets_no_floor_for_max_age_and_reuse_prevention() {
    let (moto, iam) = Moto::with_iam();
    run(&moto, NO_EXPIRY_FLOOR, schedule(FUNCTION)).await;
    let floor = Policy {
        max_age: None,
        reuse: None,
        ..FLOOR
    };
    assert_eq!(policy(&iam).await, Some(floor));

    // An account's own values are kept, never removed.
    let own = Policy {
        max_age: Some(60),
        reuse: Some(5),
        ..FLOOR
    };
    set_policy(&iam, Policy { min: 8, ..own }).await;
    run(&moto, NO_EXPIRY_FLOOR, schedule(FUNCTION)).await;
    assert_eq!(policy(&iam).await, Some(own));
}

#[tokio::test]
async fn a_custom_floor_is_honoured_field_by_field() {
    let (moto, iam) = Moto::with_iam();
    let report = run(&moto, CUSTOM_FLOOR, schedule(FUNCTION)).await;
    // HARD_EXPIRY=true is held back: the policy's passwords expire (MaxPasswordAge 45), and
    // hard expiry would lock out every user whose password is past it. The rest of the floor
    // is set.
    let custom = Policy {
        min: 32,
        symbols: false,
        allow_change: false,
        max_age: Some(45),
        reuse: Some(10),
        hard_expiry: false,
        ..FLOOR
    };
    assert_eq!(policy(&iam).await, Some(custom));
    assert_eq!(
        targets(&report),
        vec![
            ("HardExpiry", Status::Skipped),
            ("password-policy", Status::Applied)
        ]
    );
}

#[tokio::test]
async fn hard_expiry_holds_back_a_new_or_shorter_max_age_but_not_the_rest() {
    let (moto, iam) = Moto::with_iam();
    for max_age in [None, Some(365)] {
        let hard = Policy {
            min: 8,
            max_age,
            hard_expiry: true,
            ..FLOOR
        };
        set_policy(&iam, hard).await;
        let report = run(&moto, &[], schedule(FUNCTION)).await;
        assert_eq!(
            policy(&iam).await,
            Some(Policy { min: 14, ..hard }),
            "MaxPasswordAge and HardExpiry stay as they were"
        );
        assert_eq!(
            targets(&report),
            vec![
                ("MaxPasswordAge", Status::Skipped),
                ("password-policy", Status::Applied)
            ],
            "{report:#?}"
        );
        let held_back = &report.actions[0].reason;
        assert!(held_back.contains("HardExpiry"), "{held_back}");
    }
}

#[tokio::test]
async fn a_floor_weaker_than_aws_default_is_not_set_on_an_account_without_a_policy() {
    let (moto, iam) = Moto::with_iam();
    let report = run(&moto, WEAK_FLOOR, schedule(FUNCTION)).await;
    let action = the_action(&report);
    assert_eq!(action.status, Status::Skipped);
    let weaker = "weaker than AWS's default policy";
    assert!(action.reason.contains(weaker), "{}", action.reason);
    assert_eq!(policy(&iam).await, None);
    assert_eq!(update_calls(&moto), 0);
}

#[tokio::test]
async fn a_refused_update_fails_the_run_and_the_next_run_completes_it() {
    let (moto, iam) = Moto::with_iam();
    let weak = Policy { min: 8, ..FLOOR };
    set_policy(&iam, weak).await;
    moto.inject_fault(UPDATE, "AccessDenied", 403, 1, 0);

    let result = invoke(&moto.password_policy(&[]), schedule(FUNCTION)).await;

    assert_failed(
        result,
        1,
        &["UpdateAccountPasswordPolicy failed: AccessDenied"],
    );
    assert_eq!(policy(&iam).await, Some(weak));
    let report = run(&moto, &[], schedule(FUNCTION)).await;
    assert_eq!(the_action(&report).status, Status::Applied);
    assert_eq!(policy(&iam).await, Some(FLOOR));
}

/// The first read, or the re-read right before the change, fails: the run fails naming it, and
/// nothing is changed.
#[tokio::test]
async fn an_unreadable_policy_stops_the_run_before_any_change() {
    let (moto, iam) = Moto::with_iam();
    for skip in [0, 1] {
        moto.inject_fault("iam:GetAccountPasswordPolicy", "AccessDenied", 403, 1, skip);
        let err = invoke(&moto.password_policy(&[]), schedule(FUNCTION))
            .await
            .unwrap_err();
        let denied = "GetAccountPasswordPolicy failed: AccessDenied";
        assert!(err.to_string().contains(denied), "{skip}: {err}");
        if skip == 0 {
            let whole = format!("{denied}: injected by the test bed");
            assert_eq!(err.to_string(), whole);
        }
        assert_eq!(update_calls(&moto), 0, "{skip}");
        assert_eq!(policy(&iam).await, None, "{skip}");
    }
}
