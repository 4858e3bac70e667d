//! `console-passwords` against moto: every input kind, the rule, the guard, and the bad cases.

use chrono::{DateTime, Duration, Utc};
use iam_remediation::intake::TriggerKind;
use iam_remediation::{Report, Status};
use integration_tests::{
    ACTIVE, Moto, Row, action_for, add_key, assert_exempt, assert_failed, assert_keys, create_user,
    days_ago, has_password, iam_call, invoke, invoke_at, iso, made_at, outcomes, row, sample_event,
    schedule, tag_exemptions, user_tags, user_with_password, with, with_passwords,
};
use serde_json::{Value, json};

const FUNCTION: &str = "console-passwords";
/// The tag in which an administrator's CreateLoginProfile / UpdateLoginProfile is recorded.
const PASSWORD_SET_TAG: &str = "iam-remediation:password-set";
const LOGIN_PROFILE: &str = "login-profile";

fn deleted(user: &str, status: Status) -> Row {
    row(user, "delete-login-profile", LOGIN_PROFILE, status)
}

/// The report's action on `user`'s password.
fn reason<'a>(report: &'a Report, user: &str) -> &'a str {
    &action_for(report, user, LOGIN_PROFILE).reason
}

/// A CloudTrail sample of a login profile call, as made at `time`, with these request
/// parameters if any, naming `user.0` at the pointers `user.1` (in the request, the response).
fn login_profile_call(
    sample: &str,
    time: DateTime<Utc>,
    user: (&str, &[&str]),
    request: Option<Value>,
) -> Value {
    let mut event = made_at(sample_event(FUNCTION, sample), time);
    if let Some(request) = request {
        event = with(event, "/detail/requestParameters", request);
    }
    let (name, pointers) = user;
    for pointer in pointers {
        event = with(event, pointer, json!(name));
    }
    event
}

#[tokio::test]
async fn sweep_deletes_unused_passwords_and_keeps_the_rest() {
    let (moto, iam) = Moto::with_iam();
    user_with_password(&moto, "never-used", 120, None).await;
    let key = add_key(&moto, "never-used", 10, Some(1)).await;
    user_with_password(&moto, "used-long-ago", 400, Some(140)).await;
    user_with_password(&moto, "recent", 400, Some(10)).await;
    user_with_password(&moto, "newcomer", 1, None).await;
    create_user(&iam, "no-password").await;
    moto.set_user("no-password", Some(days_ago(400)), None);

    let report = invoke(&moto.console_passwords(&[]), schedule(FUNCTION))
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
        reason(&report, "never-used"),
        "never used, login profile created 120 days ago (limit 90)"
    );
    assert_eq!(
        reason(&report, "used-long-ago"),
        "last used 140 days ago (limit 90)"
    );
    let details = action_for(&report, "never-used", LOGIN_PROFILE)
        .details
        .as_ref()
        .expect("details");
    assert_eq!(details["password_last_used"], Value::Null);

    // A user created yesterday with no login yet is kept.
    let users = ["never-used", "used-long-ago", "recent", "newcomer"];
    assert_eq!(
        with_passwords(&moto.iam(), &users).await,
        ["recent", "newcomer"]
    );
    // Only the password goes: the user and its access keys stay.
    assert_keys(&iam, &[("never-used", &key, ACTIVE)], "its key stays").await;
}

#[tokio::test]
async fn the_limit_and_the_clock_decide() {
    let (moto, iam) = Moto::with_iam();
    user_with_password(&moto, "newcomer", 1, None).await;
    user_with_password(&moto, "monthly", 400, Some(45)).await;
    let now = Utc::now();
    let sweep = async |pairs: &[(&str, &str)], days: i64| {
        let function = moto.console_passwords(pairs);
        let at = now + Duration::days(days);
        invoke_at(&function, schedule(FUNCTION), at).await.unwrap()
    };

    let report = sweep(&[], 0).await;
    assert!(report.actions.is_empty(), "{report:#?}");

    let report = sweep(&[("MAX_PASSWORD_UNUSED_DAYS", "30")], 0).await;
    assert_eq!(outcomes(&report), vec![deleted("monthly", Status::Applied)]);
    assert_eq!(
        reason(&report, "monthly"),
        "last used 45 days ago (limit 30)"
    );

    // 89 days on, the newcomer who never logged in still has time; 91 days on it has not.
    let report = sweep(&[], 88).await;
    assert!(report.actions.is_empty(), "{report:#?}");
    assert!(has_password(&iam, "newcomer").await);
    let report = sweep(&[], 90).await;
    assert_eq!(
        outcomes(&report),
        vec![deleted("newcomer", Status::Applied)]
    );
    assert_eq!(
        reason(&report, "newcomer"),
        "never used, login profile created 91 days ago (limit 90)"
    );
    assert!(!has_password(&iam, "newcomer").await);
}

#[tokio::test]
async fn exemptions_are_honoured_and_reported_as_skipped() {
    let (moto, iam) = Moto::with_iam();
    let users = ["tagged", "until-next-year", "lapsed", "breakglass-1"];
    for user in users {
        user_with_password(&moto, user, 200, Some(150)).await;
    }
    tag_exemptions(&iam).await;

    let function = moto.console_passwords(&[("EXEMPT_PRINCIPALS", "breakglass-*")]);
    let report = invoke(&function, schedule(FUNCTION)).await.unwrap();

    for user in users {
        let exempt = user != "lapsed";
        assert_exempt(action_for(&report, user, LOGIN_PROFILE), exempt);
        if exempt {
            let reason = reason(&report, user);
            let rule = "(rule: last used 150 days ago (limit 90))";
            assert!(reason.ends_with(rule), "{user}: {reason}");
        }
    }
    assert_eq!(
        with_passwords(&moto.iam(), &users).await,
        ["tagged", "until-next-year", "breakglass-1"]
    );
    assert!(reason(&report, "breakglass-1").contains("breakglass-*"));
}

#[tokio::test]
async fn a_profile_deleted_meanwhile_is_not_an_error() {
    let moto = Moto::start();
    user_with_password(&moto, "alice", 200, None).await;
    // Someone deletes the password between the live check and the deletion.
    moto.inject_fault("iam:DeleteLoginProfile", "NoSuchEntity", 404, 1, 0);
    let report = invoke(&moto.console_passwords(&[]), schedule(FUNCTION))
        .await
        .expect("not an error");
    assert!(report.errors.is_empty(), "{report:#?}");
    let action = action_for(&report, "alice", LOGIN_PROFILE);
    assert_eq!(action.status, Status::Skipped);
    let gone = "already gone: login profile of user alice does not exist";
    assert!(action.reason.starts_with(gone), "{}", action.reason);
    let rule = "(rule: never used, login profile created 200 days ago (limit 90))";
    assert!(action.reason.ends_with(rule), "{}", action.reason);
    assert_eq!(action.error, None);
}

#[tokio::test]
async fn cloudtrail_evaluates_the_named_user_only() {
    let (moto, iam) = Moto::with_iam();
    let users = ["alice", "bob", "carol"];
    for user in users {
        user_with_password(&moto, user, 200, None).await;
    }
    let reset = days_ago(1);
    let run = async |event: Value| {
        let report = invoke(&moto.console_passwords(&[]), event).await.unwrap();
        assert_eq!(report.trigger, TriggerKind::Cloudtrail);
        assert_eq!(report.examined, 1);
        report
    };
    let password_set = async |user: &str| user_tags(&iam, user).await.remove(PASSWORD_SET_TAG);

    // An administrator's UpdateLoginProfile is a fresh start: alice's password, never used in
    // the 200 days since its profile was created, is judged from the call's time, kept, and
    // that time recorded.
    let update = "cloudtrail-update-login-profile";
    let report = run(login_profile_call(update, reset, ("alice", &[]), None)).await;
    assert_eq!(outcomes(&report), vec![]);
    assert_eq!(with_passwords(&moto.iam(), &users).await, users);
    assert_eq!(password_set("alice").await, Some(iso(reset)));
    assert!(user_tags(&iam, "bob").await.is_empty());

    // The removal of an MFA device deletes nothing by itself (with the MFA rule off, as here,
    // it needs nothing at all; see mfa_replacement.rs): carol's unused password waits for a
    // sweep, or, as here, for her administrator.
    let device =
        json!({"userName": "carol", "serialNumber": "arn:aws:iam::123456789012:mfa/carol"});
    let deactivate = iam_call("DeactivateMFADevice", device);
    let report = invoke(&moto.console_passwords(&[]), deactivate)
        .await
        .unwrap();
    assert!(report.actions.is_empty(), "{report:#?}");
    assert_eq!(with_passwords(&moto.iam(), &users).await, users);
    iam.delete_login_profile()
        .user_name("carol")
        .send()
        .await
        .unwrap();

    // A password just created is kept.
    iam.create_login_profile()
        .user_name("carol")
        .password("Another-Horse-7!")
        .send()
        .await
        .unwrap();
    moto.set_user("carol", Some(Utc::now()), Some(None));
    let create = "cloudtrail-create-login-profile";
    let response = "/detail/responseElements/loginProfile/userName";
    let named = (
        "carol",
        &["/detail/requestParameters/userName", response][..],
    );
    let report = run(login_profile_call(create, Utc::now(), named, None)).await;
    assert!(report.actions.is_empty(), "{report:#?}");
    assert_eq!(with_passwords(&moto.iam(), &users).await, users);

    // The user named only in the response (no userName in the request) is found there: bob's
    // CreateLoginProfile is a fresh start too.
    let hidden = json!({"password": "HIDDEN_DUE_TO_SECURITY_REASONS"});
    let report = run(login_profile_call(
        create,
        reset,
        ("bob", &[response]),
        Some(hidden),
    ))
    .await;
    assert_eq!(outcomes(&report), vec![]);
    assert!(has_password(&iam, "bob").await);
    assert_eq!(password_set("bob").await, Some(iso(reset)));
}

#[tokio::test]
async fn manual_users_act_on_those_users_only() {
    let moto = Moto::start();
    user_with_password(&moto, "alice", 200, None).await;
    user_with_password(&moto, "bob", 300, Some(100)).await;
    user_with_password(&moto, "carol", 200, None).await;
    create_user(&moto.iam(), "dave").await;

    let event = sample_event(FUNCTION, "manual-users");
    let report = invoke(&moto.console_passwords(&[]), event).await.unwrap();
    assert_eq!(report.examined, 2);
    assert_eq!(
        outcomes(&report),
        vec![
            deleted("alice", Status::Applied),
            deleted("bob", Status::Applied)
        ]
    );
    assert!(has_password(&moto.iam(), "carol").await);

    // A user with no password, or named twice, is examined and needs nothing more.
    let event = json!({"users": ["dave", "alice", "alice"]});
    let report = invoke(&moto.console_passwords(&[]), event).await.unwrap();
    assert_eq!(report.examined, 2);
    assert!(
        report.actions.is_empty() && report.errors.is_empty(),
        "{report:#?}"
    );
}

/// One user's deletion (`iam:DeleteLoginProfile`) or read (`iam:GetLoginProfile`) fails: the run
/// fails naming it, the other user's password goes, and the next run completes the work.
#[tokio::test]
async fn a_failure_half_way_fails_the_run_but_not_the_other_users() {
    for (failing, says) in [
        (
            "iam:DeleteLoginProfile",
            &[
                "delete-login-profile login-profile of user",
                "DeleteLoginProfile failed: AccessDenied",
            ][..],
        ),
        (
            "iam:GetLoginProfile",
            &["GetLoginProfile failed: AccessDenied"],
        ),
    ] {
        let moto = Moto::start();
        user_with_password(&moto, "a", 200, None).await;
        user_with_password(&moto, "b", 200, None).await;
        moto.inject_fault(failing, "AccessDenied", 403, 1, 0);
        let result = invoke(&moto.console_passwords(&[]), schedule(FUNCTION)).await;
        assert_failed(result, 1, says);
        // Sweeps read their candidates in an order rotated by the clock: either user may be
        // the one that failed.
        let left = with_passwords(&moto.iam(), &["a", "b"]).await;
        assert_eq!(left.len(), 1, "{failing}: the other is done: {left:?}");
        // The next run completes the work.
        let report = invoke(&moto.console_passwords(&[]), schedule(FUNCTION))
            .await
            .unwrap();
        assert_eq!(report.count(Status::Applied), 1, "{failing}");
        assert!(with_passwords(&moto.iam(), &["a", "b"]).await.is_empty());
    }
}

#[tokio::test]
async fn a_sweep_reads_the_account_through_the_credential_report() {
    let (moto, iam) = Moto::with_iam();
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
    let function = moto.console_passwords(&[("MAX_ACTIONS", "100")]);
    let report = invoke(&function, schedule(FUNCTION)).await.unwrap();
    assert_eq!(report.examined, users);
    assert_eq!(report.count(Status::Applied), offenders);
    let calls = moto.calls();
    let iam_calls = moto.service_calls("iam");
    eprintln!(
        "sweep of {users} users with {offenders} unused passwords: {iam_calls} IAM calls: {calls:?}"
    );
    // The report (generate until COMPLETE + get) and every user's tags (one
    // GetAccountAuthorizationDetails page per 1,000 users), then per unused password: user (with
    // its tags) and login profile, and the deletion (no re-check: the facts are fresh). Users with
    // no password or a recently used one cost nothing beyond the report.
    assert_eq!(calls["iam:GetCredentialReport"], 1);
    assert!(
        !calls.contains_key("iam:ListUsers"),
        "a sweep does not list users: {calls:?}"
    );
    assert_eq!(calls["iam:GetAccountAuthorizationDetails"], 1, "{calls:?}");
    assert!(!calls.contains_key("iam:ListUserTags"), "{calls:?}");
    assert_eq!(calls["iam:GetUser"], offenders as u64, "{calls:?}");
    assert!(
        iam_calls <= 3 + 6 * offenders as u64,
        "{iam_calls} calls: {calls:?}"
    );
    assert_eq!(
        with_passwords(&moto.iam(), &["user-000", "user-003"]).await,
        ["user-003"]
    );
}
