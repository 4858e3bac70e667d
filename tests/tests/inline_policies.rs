//! `inline-policies` against moto: conversion and deletion for users, groups and roles, the
//! protections, re-runs, every input kind, and the bad cases.
#![allow(clippy::unwrap_used, reason = "a test fails loudly")]

use iam_remediation::intake::TriggerKind;
use iam_remediation::{Principal, Report, Status};
use integration_tests::{
    ALL_KINDS, EXEMPT, Moto, Row, action_for, alice_developers_and_ci, assert_exempt,
    assert_failed, attached, compliance_change, create_group, create_role, create_user, document,
    inline_names, invoke, managed_arn as arn, managed_document, managed_policies, outcomes,
    put_policy, row, sample_event, schedule, snapshot, tag, tag_user, unique_id, user_with_policy,
};
use serde_json::json;

const FUNCTION: &str = "inline-policies";
const CONVERT: &str = "convert-inline-policy";

fn converted(principal: &str, policy: &str) -> Row {
    row(principal, CONVERT, policy, Status::Applied)
}

/// Asserts the principal's inline policies (by name) and attached managed policies (by the
/// name of their `arn`).
async fn assert_holds(moto: &Moto, principal: &Principal, inline: &[&str], managed: &[&str]) {
    let iam = moto.iam();
    assert_eq!(inline_names(&iam, principal).await, inline, "{principal}");
    let arns: Vec<String> = managed.iter().map(|name| arn(name)).collect();
    assert_eq!(attached(&iam, principal).await, arns, "{principal}");
}

/// Asserts the customer managed policies in the account, by the name of their `arn`.
async fn assert_managed(moto: &Moto, names: &[&str]) {
    let arns: Vec<String> = names.iter().map(|name| arn(name)).collect();
    assert_eq!(managed_policies(&moto.iam()).await, arns);
}

/// One sweep of `inline-policies` with these variables, for a report.
async fn sweep(moto: &Moto, pairs: &[(&str, &str)]) -> Report {
    let function = moto.inline_policies(pairs);
    invoke(&function, schedule(FUNCTION)).await.expect("report")
}

#[tokio::test]
async fn users_and_groups_get_identical_attached_managed_policies_and_roles_are_left_by_default() {
    let (moto, iam) = Moto::with_iam();
    let [alice, developers, ci] = alice_developers_and_ci(&iam, &[]).await;
    create_user(&iam, "no-policies").await;
    put_policy(&iam, &alice, "s3-read", &document("s3:GetObject")).await;
    put_policy(&iam, &alice, "logs", &document("logs:PutLogEvents")).await;
    put_policy(&iam, &developers, "s3-read", &document("s3:ListBucket")).await;
    put_policy(&iam, &ci, "deploy", &document("lambda:UpdateFunctionCode")).await;

    let report = sweep(&moto, &[]).await;

    assert_eq!(report.trigger, TriggerKind::Schedule);
    assert_eq!(
        report.examined, 3,
        "two users and a group; roles are not read"
    );
    assert_eq!(
        outcomes(&report),
        vec![
            converted("alice", "logs"),
            converted("alice", "s3-read"),
            converted("developers", "s3-read"),
        ]
    );
    // The same policy name on a user and a group gives two distinct managed policies.
    let (alice_logs, alice_s3) = ("user+alice+logs", "user+alice+s3-read");
    let developers_s3 = "group+developers+s3-read";
    assert_managed(&moto, &[developers_s3, alice_logs, alice_s3]).await;
    assert_holds(&moto, &alice, &[], &[alice_logs, alice_s3]).await;
    assert_holds(&moto, &developers, &[], &[developers_s3]).await;
    for (managed, expected) in [
        (alice_s3, document("s3:GetObject")),
        (alice_logs, document("logs:PutLogEvents")),
        (developers_s3, document("s3:ListBucket")),
    ] {
        let held = managed_document(&iam, &arn(managed)).await;
        assert_eq!(held, expected, "{managed}");
    }
    // The report carries the document and where it went.
    let action = action_for(&report, "alice", "s3-read");
    let details = action.details.as_ref().expect("details");
    assert_eq!(details["document"], document("s3:GetObject"));
    assert_eq!(details["managed_policy_arn"], arn(alice_s3));
    assert_eq!(
        action.reason,
        "inline policy: replaced by customer managed policy user+alice+s3-read"
    );

    // Roles are not covered by default.
    assert_holds(&moto, &ci, &["deploy"], &[]).await;
}

#[tokio::test]
async fn roles_are_converted_when_enabled_but_never_aws_owned_or_exempt_ones() {
    let (moto, iam) = Moto::with_iam();
    let ours = "iam-remediation-inline-policies-role";
    for (role, path) in [
        ("ci-deploy", "/team/"),
        (
            "AWSServiceRoleForConfig",
            "/aws-service-role/config.amazonaws.com/",
        ),
        (
            "AWSReservedSSO_Admin_0123456789abcdef",
            "/aws-reserved/sso.amazonaws.com/",
        ),
        (ours, "/"),
    ] {
        create_role(&iam, role, path).await;
    }
    tag(&iam, &Principal::role(ours), EXEMPT, "true").await;
    create_user(&iam, "breakglass-1").await;
    let protected = [
        Principal::role("AWSServiceRoleForConfig"),
        Principal::role("AWSReservedSSO_Admin_0123456789abcdef"),
        Principal::role(ours),
        Principal::user("breakglass-1"),
    ];
    let ci = Principal::role("ci-deploy");
    put_policy(&iam, &ci, "deploy", &document("lambda:UpdateFunctionCode")).await;
    for principal in &protected {
        put_policy(&iam, principal, "inline", &document("s3:GetObject")).await;
    }

    let report = sweep(&moto, &[ALL_KINDS, ("EXEMPT_PRINCIPALS", "breakglass-*")]).await;

    assert_eq!(report.examined, 5);
    assert_eq!(
        outcomes(&report),
        vec![
            row("breakglass-1", CONVERT, "inline", Status::Skipped),
            converted("ci-deploy", "deploy"),
            row(ours, CONVERT, "inline", Status::Skipped),
        ],
        "AWS-owned roles get no action at all"
    );
    let glob = &action_for(&report, "breakglass-1", "inline").reason;
    assert!(
        glob.contains("EXEMPT_PRINCIPALS \"breakglass-*\""),
        "{glob}"
    );
    let tagged = &action_for(&report, ours, "inline").reason;
    let exempt = "exempt: tag iam-remediation:exempt=true";
    assert!(tagged.starts_with(exempt), "{tagged}");

    let deploy = "role+ci-deploy+deploy";
    assert_holds(&moto, &ci, &[], &[deploy]).await;
    assert_eq!(
        managed_document(&iam, &arn(deploy)).await,
        document("lambda:UpdateFunctionCode")
    );
    for principal in &protected {
        assert_holds(&moto, principal, &["inline"], &[]).await;
    }
    assert_managed(&moto, &[deploy]).await;
}

#[tokio::test]
async fn delete_mode_leaves_no_managed_policy_and_reports_the_document() {
    let (moto, iam) = Moto::with_iam();
    let alice = user_with_policy(&iam, "alice", "s3-read", "s3:GetObject").await;
    let developers = Principal::group("developers");
    create_group(&iam, "developers").await;
    put_policy(&iam, &developers, "admin", &document("*")).await;

    let report = sweep(&moto, &[("INLINE_POLICY_ACTION", "delete")]).await;

    let delete = "delete-inline-policy";
    assert_eq!(
        outcomes(&report),
        vec![
            row("alice", delete, "s3-read", Status::Applied),
            row("developers", delete, "admin", Status::Applied),
        ]
    );
    for (principal, policy, action) in [
        ("alice", "s3-read", "s3:GetObject"),
        ("developers", "admin", "*"),
    ] {
        let details = action_for(&report, principal, policy).details.as_ref();
        assert_eq!(
            details.unwrap()["document"],
            document(action),
            "{principal}"
        );
    }
    // The serialized report (what is returned and logged) holds the document too.
    let logged = serde_json::to_value(&report).unwrap();
    assert_eq!(
        logged["actions"][0]["details"]["document"]["Statement"][0]["Effect"],
        "Allow"
    );
    assert_holds(&moto, &alice, &[], &[]).await;
    assert!(inline_names(&iam, &developers).await.is_empty());
    assert_managed(&moto, &[]).await;
}

#[tokio::test]
async fn a_second_run_changes_nothing_and_creates_no_duplicate() {
    let (moto, iam) = Moto::with_iam();
    user_with_policy(&iam, "alice", "s3-read", "s3:GetObject").await;
    let first = sweep(&moto, &[]).await;
    assert_eq!(first.count(Status::Applied), 1);
    let after_first = snapshot(&iam).await;

    moto.reset_calls();
    let second = sweep(&moto, &[]).await;
    assert!(second.actions.is_empty(), "{second:#?}");
    assert_eq!(snapshot(&iam).await, after_first);
    let calls = moto.calls();
    assert!(
        !calls.contains_key("iam:CreatePolicy") && !calls.contains_key("iam:GetAccountSummary"),
        "{calls:?}"
    );
    assert_managed(&moto, &["user+alice+s3-read"]).await;
}

/// bob with an inline policy `logs`, whose attachment (AttachUserPolicy) fails as `fault` says:
/// whatever comes of the run, the inline policy stays and no managed policy is left for it.
async fn bob_cannot_be_attached(
    moto: &Moto,
    fault: (&str, u16, u32),
    event: serde_json::Value,
) -> Result<Report, iam_remediation::Error> {
    let iam = moto.iam();
    let bob = user_with_policy(&iam, "bob", "logs", "logs:PutLogEvents").await;
    let (code, status, count) = fault;
    moto.inject_fault("iam:AttachUserPolicy", code, status, count, 0);
    let result = invoke(&moto.inline_policies(&[]), event).await;
    assert_eq!(inline_names(&iam, &bob).await, ["logs"], "{result:#?}");
    let left = managed_policies(&iam).await;
    assert!(!left.contains(&arn("user+bob+logs")), "{left:?}");
    result
}

#[tokio::test]
async fn the_managed_policy_is_attached_before_the_inline_one_goes_and_a_rerun_reuses_it() {
    let (moto, iam) = Moto::with_iam();
    let alice = user_with_policy(&iam, "alice", "s3-read", "s3:GetObject").await;
    let managed = "user+alice+s3-read";

    // The inline policy cannot be deleted: the managed copy is there and attached, the inline
    // policy too, and nothing is lost.
    moto.inject_fault("iam:DeleteUserPolicy", "AccessDenied", 403, 1, 0);
    let result = invoke(&moto.inline_policies(&[]), schedule(FUNCTION)).await;
    assert_failed(
        result,
        1,
        &["DeleteUserPolicy failed: AccessDenied", "is attached"],
    );
    assert_holds(&moto, &alice, &["s3-read"], &[managed]).await;

    // The next run reuses the identical managed policy and finishes the job.
    moto.reset_calls();
    let report = sweep(&moto, &[]).await;
    assert_eq!(outcomes(&report), vec![converted("alice", "s3-read")]);
    assert_eq!(
        moto.calls()["iam:CreatePolicy"],
        1,
        "one refused creation, then reuse"
    );
    assert_holds(&moto, &alice, &[], &[managed]).await;
    assert_managed(&moto, &[managed]).await;

    // Attaching fails: the inline policy stays and the managed policy made for it is removed.
    let err = bob_cannot_be_attached(&moto, ("ServiceFailure", 500, 5), schedule(FUNCTION))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("AttachUserPolicy failed: ServiceFailure"),
        "{err}"
    );
    assert_managed(&moto, &[managed]).await;
}

#[tokio::test]
async fn a_managed_policy_with_that_name_and_another_document_is_never_overwritten() {
    let (moto, iam) = Moto::with_iam();
    let alice = user_with_policy(&iam, "alice", "s3-read", "s3:GetObject").await;
    iam.create_policy()
        .policy_name("user+alice+s3-read")
        .path("/iam-remediation/")
        .policy_document(document("s3:*").to_string())
        .send()
        .await
        .unwrap();

    let report = sweep(&moto, &[]).await;
    let action = action_for(&report, "alice", "s3-read");
    assert_eq!(action.status, Status::Skipped);
    let kept = "different document: it is not overwritten";
    assert!(action.reason.contains(kept), "{}", action.reason);
    assert_holds(&moto, &alice, &["s3-read"], &[]).await;
    assert_eq!(
        managed_document(&iam, &arn("user+alice+s3-read")).await,
        document("s3:*")
    );
}

#[tokio::test]
async fn a_principal_at_its_attachment_quota_is_skipped_and_keeps_its_inline_policy() {
    let (moto, iam) = Moto::with_iam();
    create_user(&iam, "alice").await;
    for i in 0..10 {
        let created = iam
            .create_policy()
            .policy_name(format!("team-{i}"))
            .policy_document(document("s3:GetObject").to_string())
            .send()
            .await
            .unwrap();
        let policy_arn = created.policy.and_then(|p| p.arn).unwrap();
        iam.attach_user_policy()
            .user_name("alice")
            .policy_arn(policy_arn)
            .send()
            .await
            .unwrap();
    }
    let alice = Principal::user("alice");
    put_policy(&iam, &alice, "s3-read", &document("s3:GetObject")).await;
    let before = snapshot(&iam).await;

    let report = sweep(&moto, &[]).await;
    let action = action_for(&report, "alice", "s3-read");
    assert_eq!(action.status, Status::Skipped);
    let quota = "user alice is at its quota of 10 attached managed policies";
    assert!(action.reason.starts_with(quota), "{}", action.reason);
    assert_eq!(snapshot(&iam).await, before);

    // moto has no quota: when IAM refuses the attachment itself, the result is the same and
    // the managed policy made for it is removed.
    let report =
        bob_cannot_be_attached(&moto, ("LimitExceeded", 409, 1), json!({"users": ["bob"]}))
            .await
            .unwrap();
    let action = action_for(&report, "bob", "logs");
    assert_eq!(action.status, Status::Skipped);
    assert!(action.reason.contains("quota"), "{}", action.reason);
}

#[tokio::test]
async fn a_policy_deleted_meanwhile_is_not_an_error() {
    let (moto, iam) = Moto::with_iam();
    user_with_policy(&iam, "alice", "s3-read", "s3:GetObject").await;

    // Gone between the account read and the change (the re-read finds nothing).
    moto.inject_fault("iam:GetUserPolicy", "NoSuchEntity", 404, 1, 0);
    let report = sweep(&moto, &[]).await;
    let action = action_for(&report, "alice", "s3-read");
    assert_eq!(action.status, Status::Skipped);
    let gone = "inline policy s3-read no longer exists";
    assert!(action.reason.starts_with(gone), "{}", action.reason);
    assert_managed(&moto, &[]).await;

    // Gone before a CloudTrail event about it is handled.
    iam.delete_user_policy()
        .user_name("alice")
        .policy_name("s3-read")
        .send()
        .await
        .unwrap();
    let event = sample_event(FUNCTION, "cloudtrail-put-user-policy");
    let report = invoke(&moto.inline_policies(&[]), event)
        .await
        .expect("not an error");
    assert!(report.actions.is_empty(), "{report:#?}");
    assert_eq!(report.examined, 1);
}

#[tokio::test]
async fn cloudtrail_acts_on_the_named_policy_only() {
    let (moto, iam) = Moto::with_iam();
    let policies = [("s3-read", "s3:GetObject"), ("other", "sqs:SendMessage")];
    let [alice, developers, ci] = alice_developers_and_ci(&iam, &policies).await;

    for name in ["cloudtrail-put-user-policy", "cloudtrail-put-group-policy"] {
        let event = sample_event(FUNCTION, name);
        let report = invoke(&moto.inline_policies(&[]), event).await.unwrap();
        assert_eq!(report.trigger, TriggerKind::Cloudtrail);
        assert_eq!(report.examined, 1, "{name}");
        assert_eq!(report.count(Status::Applied), 1, "{name}");
    }
    for principal in [&alice, &developers] {
        assert_eq!(inline_names(&iam, principal).await, ["other"]);
    }

    // Roles are not covered by default: nothing to do; covered when enabled.
    let role_event = sample_event(FUNCTION, "cloudtrail-put-role-policy");
    let report = invoke(&moto.inline_policies(&[]), role_event.clone())
        .await
        .unwrap();
    assert!(
        report.actions.is_empty() && report.examined == 0,
        "{report:#?}"
    );
    let report = invoke(&moto.inline_policies(&[ALL_KINDS]), role_event)
        .await
        .unwrap();
    assert_eq!(outcomes(&report), vec![converted("ci-deploy", "s3-read")]);
    assert_eq!(inline_names(&iam, &ci).await, ["other"]);
}

/// Config names groups and roles by their unique IDs too (users: see the contract tests).
#[tokio::test]
async fn config_compliance_changes_resolve_groups_and_roles_by_unique_id() {
    let (moto, iam) = Moto::with_iam();
    let [alice, developers, ci] = alice_developers_and_ci(&iam, &[("p", "s3:GetObject")]).await;

    let function = moto.inline_policies(&[ALL_KINDS]);
    for (name, principal) in [
        ("config-compliance-group", &developers),
        ("config-compliance-role", &ci),
    ] {
        let id = unique_id(&iam, principal).await;
        let event = compliance_change(FUNCTION, name, Some(&id), false);
        let report = invoke(&function, event).await.unwrap();
        assert_eq!(report.trigger, TriggerKind::Config);
        assert_eq!(report.count(Status::Applied), 1, "{name}: {report:#?}");
        assert!(
            inline_names(&iam, principal).await.is_empty(),
            "{principal}"
        );
    }
    assert_eq!(inline_names(&iam, &alice).await, ["p"]);
}

#[tokio::test]
async fn manual_payloads_act_on_the_named_principals() {
    let (moto, iam) = Moto::with_iam();
    let named = alice_developers_and_ci(&iam, &[("p", "s3:GetObject")]).await;
    let carol = user_with_policy(&iam, "carol", "p", "s3:GetObject").await;
    let event = sample_event(FUNCTION, "manual-principals");
    let report = invoke(&moto.inline_policies(&[ALL_KINDS]), event)
        .await
        .unwrap();
    assert_eq!(report.examined, 3);
    assert_eq!(
        outcomes(&report),
        vec![
            converted("alice", "p"),
            converted("ci-deploy", "p"),
            converted("developers", "p"),
        ]
    );
    for principal in &named {
        assert!(
            inline_names(&iam, principal).await.is_empty(),
            "{principal}"
        );
    }
    assert_eq!(inline_names(&iam, &carol).await, ["p"]);
}

#[tokio::test]
#[allow(
    clippy::print_stdout,
    reason = "the call count is a measured result to read"
)]
async fn a_sweep_reads_the_account_in_one_call_not_per_principal() {
    let (moto, iam) = Moto::with_iam();
    let (users, groups, roles) = (200, 60, 40);
    let mut with_policies = Vec::new();
    for i in 0..users {
        let user = format!("user-{i:03}");
        create_user(&iam, &user).await;
        if i % 20 == 0 {
            with_policies.push(Principal::user(user));
        }
    }
    for i in 0..groups {
        let group = format!("group-{i:02}");
        create_group(&iam, &group).await;
        if i % 10 == 0 {
            with_policies.push(Principal::group(group));
        }
    }
    for i in 0..roles {
        let role = format!("role-{i:02}");
        create_role(&iam, &role, "/").await;
        if i % 10 == 0 {
            with_policies.push(Principal::role(role));
        }
    }
    for principal in &with_policies {
        put_policy(&iam, principal, "inline", &document("s3:GetObject")).await;
    }
    moto.reset_calls();
    let report = sweep(&moto, &[ALL_KINDS, ("MAX_ACTIONS", "100")]).await;
    assert_eq!(report.examined, users + groups + roles);
    assert_eq!(report.count(Status::Applied), with_policies.len());
    let calls = moto.calls();
    let iam_calls = moto.service_calls("iam");
    println!(
        "sweep of {} principals with {} inline policies: {iam_calls} IAM calls: {calls:?}",
        users + groups + roles,
        with_policies.len()
    );
    // One account read, the quotas, then per policy: re-read, create, attach, delete.
    assert_eq!(calls["iam:GetAccountAuthorizationDetails"], 1);
    assert_eq!(calls["iam:GetAccountSummary"], 1);
    for per_principal in [
        "iam:ListUserPolicies",
        "iam:ListGroupPolicies",
        "iam:ListRolePolicies",
        "iam:ListUsers",
        "iam:ListUserTags",
    ] {
        assert!(
            !calls.contains_key(per_principal),
            "{per_principal}: {calls:?}"
        );
    }
    assert_eq!(iam_calls, 2 + 4 * with_policies.len() as u64, "{calls:?}");
    for principal in &with_policies {
        assert!(
            inline_names(&iam, principal).await.is_empty(),
            "{principal}"
        );
    }
}

#[tokio::test]
async fn exempt_users_are_skipped_and_lapsed_exemptions_are_reported() {
    let (moto, iam) = Moto::with_iam();
    for (user, until) in [("tagged", "true"), ("lapsed", "2020-01-31")] {
        user_with_policy(&iam, user, "p", "s3:GetObject").await;
        tag_user(&iam, user, EXEMPT, until).await;
    }
    let report = sweep(&moto, &[]).await;
    assert_exempt(action_for(&report, "tagged", "p"), true);
    assert_exempt(action_for(&report, "lapsed", "p"), false);
    assert_eq!(inline_names(&iam, &Principal::user("tagged")).await, ["p"]);
}
