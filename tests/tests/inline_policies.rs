//! `inline-policies` against moto: conversion and deletion for users, groups and roles, the
//! protections, re-runs, every input kind, and the bad cases.
#![allow(clippy::unwrap_used, reason = "a test fails loudly")]

use aws_sdk_iam::Client;
use chrono::Utc;
use iam_remediation::facts::inline_policies::decode_document;
use iam_remediation::intake::TriggerKind;
use iam_remediation::{
    ActionRecord, Clients, Env, Error, Principal, PrincipalKind, Report, Status,
};
use inline_policies::{Settings, handle};
use integration_tests::{Moto, create_user, sample_event, snapshot, tag_user, with};
use serde_json::{Value, json};

const FUNCTION: &str = "inline-policies";
const ALL_KINDS: (&str, &str) = ("INLINE_POLICY_PRINCIPALS", "users,groups,roles");

fn settings(pairs: &[(&str, &str)]) -> Settings {
    Settings::from_env(&Env::from_pairs(pairs.iter().copied())).expect("valid settings")
}

async fn invoke(moto: &Moto, settings: &Settings, event: Value) -> Result<Report, Error> {
    let clients = Clients::new(&moto.sdk_config());
    handle(&clients, settings, event, Utc::now(), None).await
}

fn schedule() -> Value {
    sample_event(FUNCTION, "scheduled")
}

fn document(action: &str) -> Value {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]})
}

// -- seeding and reading IAM --------------------------------------------------------------

async fn create_group(iam: &Client, group: &str) {
    iam.create_group()
        .group_name(group)
        .send()
        .await
        .expect("CreateGroup");
}

async fn create_role(iam: &Client, role: &str, path: &str) {
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
    iam.create_role()
        .role_name(role)
        .path(path)
        .assume_role_policy_document(trust.to_string())
        .send()
        .await
        .expect("CreateRole");
}

async fn tag_role(iam: &Client, role: &str, key: &str, value: &str) {
    iam.tag_role()
        .role_name(role)
        .tags(
            aws_sdk_iam::types::Tag::builder()
                .key(key)
                .value(value)
                .build()
                .expect("tag"),
        )
        .send()
        .await
        .expect("TagRole");
}

async fn put_policy(iam: &Client, principal: &Principal, policy: &str, document: &Value) {
    let text = serde_json::to_string_pretty(document).expect("JSON");
    let name = &principal.name;
    match principal.kind {
        PrincipalKind::User => drop(
            iam.put_user_policy()
                .user_name(name)
                .policy_name(policy)
                .policy_document(text)
                .send()
                .await
                .expect("PutUserPolicy"),
        ),
        PrincipalKind::Group => drop(
            iam.put_group_policy()
                .group_name(name)
                .policy_name(policy)
                .policy_document(text)
                .send()
                .await
                .expect("PutGroupPolicy"),
        ),
        _ => drop(
            iam.put_role_policy()
                .role_name(name)
                .policy_name(policy)
                .policy_document(text)
                .send()
                .await
                .expect("PutRolePolicy"),
        ),
    }
}

async fn inline_names(iam: &Client, principal: &Principal) -> Vec<String> {
    let name = &principal.name;
    let mut names = match principal.kind {
        PrincipalKind::User => {
            iam.list_user_policies()
                .user_name(name)
                .send()
                .await
                .expect("ListUserPolicies")
                .policy_names
        }
        PrincipalKind::Group => {
            iam.list_group_policies()
                .group_name(name)
                .send()
                .await
                .expect("ListGroupPolicies")
                .policy_names
        }
        _ => {
            iam.list_role_policies()
                .role_name(name)
                .send()
                .await
                .expect("ListRolePolicies")
                .policy_names
        }
    };
    names.sort();
    names
}

async fn attached(iam: &Client, principal: &Principal) -> Vec<String> {
    let name = &principal.name;
    let policies = match principal.kind {
        PrincipalKind::User => {
            iam.list_attached_user_policies()
                .user_name(name)
                .send()
                .await
                .expect("ListAttachedUserPolicies")
                .attached_policies
        }
        PrincipalKind::Group => {
            iam.list_attached_group_policies()
                .group_name(name)
                .send()
                .await
                .expect("ListAttachedGroupPolicies")
                .attached_policies
        }
        _ => {
            iam.list_attached_role_policies()
                .role_name(name)
                .send()
                .await
                .expect("ListAttachedRolePolicies")
                .attached_policies
        }
    };
    let mut arns: Vec<String> = policies
        .unwrap_or_default()
        .into_iter()
        .filter_map(|p| p.policy_arn)
        .collect();
    arns.sort();
    arns
}

/// ARNs of the customer managed policies in the account.
async fn managed_policies(iam: &Client) -> Vec<String> {
    let policies = iam
        .list_policies()
        .scope(aws_sdk_iam::types::PolicyScopeType::Local)
        .send()
        .await
        .expect("ListPolicies")
        .policies
        .unwrap_or_default();
    let mut arns: Vec<String> = policies.into_iter().filter_map(|p| p.arn).collect();
    arns.sort();
    arns
}

/// The default version's document of a managed policy, parsed.
async fn managed_document(iam: &Client, arn: &str) -> Value {
    let policy = iam
        .get_policy()
        .policy_arn(arn)
        .send()
        .await
        .expect("GetPolicy")
        .policy
        .expect("policy");
    let version = iam
        .get_policy_version()
        .policy_arn(arn)
        .version_id(policy.default_version_id.expect("default version"))
        .send()
        .await
        .expect("GetPolicyVersion");
    let raw = version
        .policy_version
        .and_then(|v| v.document)
        .expect("document");
    serde_json::from_str(&decode_document(&raw).expect("decodable")).expect("JSON")
}

fn arn(name: &str) -> String {
    format!("arn:aws:iam::123456789012:policy/iam-remediation/{name}")
}

// -- reading reports ----------------------------------------------------------------------

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

fn row(
    principal: &str,
    action: &str,
    target: &str,
    status: Status,
) -> (String, String, String, Status) {
    (principal.into(), action.into(), target.into(), status)
}

fn action_for<'a>(report: &'a Report, principal: &str, target: &str) -> &'a ActionRecord {
    report
        .actions
        .iter()
        .find(|a| a.principal == principal && a.target == target)
        .unwrap_or_else(|| panic!("no action on {principal}/{target}: {report:#?}"))
}

// -- the tests ----------------------------------------------------------------------------

#[tokio::test]
async fn users_and_groups_get_identical_attached_managed_policies_and_roles_are_left_by_default() {
    let moto = Moto::start();
    let iam = moto.iam();
    let alice = Principal::user("alice");
    let developers = Principal::group("developers");
    let ci = Principal::role("ci-deploy");
    create_user(&iam, "alice").await;
    create_user(&iam, "no-policies").await;
    create_group(&iam, "developers").await;
    create_role(&iam, "ci-deploy", "/").await;
    put_policy(&iam, &alice, "s3-read", &document("s3:GetObject")).await;
    put_policy(&iam, &alice, "logs", &document("logs:PutLogEvents")).await;
    put_policy(&iam, &developers, "s3-read", &document("s3:ListBucket")).await;
    put_policy(&iam, &ci, "deploy", &document("lambda:UpdateFunctionCode")).await;

    let report = invoke(&moto, &settings(&[]), schedule())
        .await
        .expect("report");

    assert_eq!(report.trigger, TriggerKind::Schedule);
    assert_eq!(
        report.examined, 3,
        "two users and a group; roles are not read"
    );
    assert_eq!(
        outcomes(&report),
        vec![
            row("alice", "convert-inline-policy", "logs", Status::Applied),
            row("alice", "convert-inline-policy", "s3-read", Status::Applied),
            row(
                "developers",
                "convert-inline-policy",
                "s3-read",
                Status::Applied
            ),
        ]
    );
    // The same policy name on a user and a group gives two distinct managed policies.
    assert_eq!(
        managed_policies(&iam).await,
        vec![
            arn("group+developers+s3-read"),
            arn("user+alice+logs"),
            arn("user+alice+s3-read")
        ]
    );
    assert!(inline_names(&iam, &alice).await.is_empty());
    assert!(inline_names(&iam, &developers).await.is_empty());
    assert_eq!(
        attached(&iam, &alice).await,
        vec![arn("user+alice+logs"), arn("user+alice+s3-read")]
    );
    assert_eq!(
        attached(&iam, &developers).await,
        vec![arn("group+developers+s3-read")]
    );
    for (managed, expected) in [
        ("user+alice+s3-read", document("s3:GetObject")),
        ("user+alice+logs", document("logs:PutLogEvents")),
        ("group+developers+s3-read", document("s3:ListBucket")),
    ] {
        assert_eq!(
            managed_document(&iam, &arn(managed)).await,
            expected,
            "{managed}"
        );
    }
    // The report carries the document and where it went.
    let action = action_for(&report, "alice", "s3-read");
    let details = action.details.as_ref().expect("details");
    assert_eq!(details["document"], document("s3:GetObject"));
    assert_eq!(details["managed_policy_arn"], arn("user+alice+s3-read"));
    assert_eq!(
        action.reason,
        "inline policy: replaced by customer managed policy user+alice+s3-read"
    );

    // Roles are not covered by default.
    assert_eq!(inline_names(&iam, &ci).await, vec!["deploy".to_owned()]);
    assert!(attached(&iam, &ci).await.is_empty());
}

#[tokio::test]
async fn roles_are_converted_when_enabled_but_never_aws_owned_or_exempt_ones() {
    let moto = Moto::start();
    let iam = moto.iam();
    create_role(&iam, "ci-deploy", "/team/").await;
    create_role(
        &iam,
        "AWSServiceRoleForConfig",
        "/aws-service-role/config.amazonaws.com/",
    )
    .await;
    create_role(
        &iam,
        "AWSReservedSSO_Admin_0123456789abcdef",
        "/aws-reserved/sso.amazonaws.com/",
    )
    .await;
    create_role(&iam, "iam-remediation-inline-policies-role", "/").await;
    tag_role(
        &iam,
        "iam-remediation-inline-policies-role",
        "iam-remediation:exempt",
        "true",
    )
    .await;
    create_user(&iam, "breakglass-1").await;
    let protected = [
        Principal::role("AWSServiceRoleForConfig"),
        Principal::role("AWSReservedSSO_Admin_0123456789abcdef"),
        Principal::role("iam-remediation-inline-policies-role"),
        Principal::user("breakglass-1"),
    ];
    put_policy(
        &iam,
        &Principal::role("ci-deploy"),
        "deploy",
        &document("lambda:UpdateFunctionCode"),
    )
    .await;
    for principal in &protected {
        put_policy(&iam, principal, "inline", &document("s3:GetObject")).await;
    }

    let settings = settings(&[ALL_KINDS, ("EXEMPT_PRINCIPALS", "breakglass-*")]);
    let report = invoke(&moto, &settings, schedule()).await.expect("report");

    assert_eq!(report.examined, 5);
    assert_eq!(
        outcomes(&report),
        vec![
            row(
                "breakglass-1",
                "convert-inline-policy",
                "inline",
                Status::Skipped
            ),
            row(
                "ci-deploy",
                "convert-inline-policy",
                "deploy",
                Status::Applied
            ),
            row(
                "iam-remediation-inline-policies-role",
                "convert-inline-policy",
                "inline",
                Status::Skipped
            ),
        ],
        "AWS-owned roles get no action at all"
    );
    assert!(
        action_for(&report, "breakglass-1", "inline")
            .reason
            .contains("EXEMPT_PRINCIPALS \"breakglass-*\"")
    );
    assert!(
        action_for(&report, "iam-remediation-inline-policies-role", "inline")
            .reason
            .starts_with("exempt: tag iam-remediation:exempt=true")
    );

    let ci = Principal::role("ci-deploy");
    assert!(inline_names(&iam, &ci).await.is_empty());
    assert_eq!(
        attached(&iam, &ci).await,
        vec![arn("role+ci-deploy+deploy")]
    );
    assert_eq!(
        managed_document(&iam, &arn("role+ci-deploy+deploy")).await,
        document("lambda:UpdateFunctionCode")
    );
    for principal in &protected {
        assert_eq!(
            inline_names(&iam, principal).await,
            vec!["inline".to_owned()],
            "{principal}"
        );
        assert!(attached(&iam, principal).await.is_empty(), "{principal}");
    }
    assert_eq!(
        managed_policies(&iam).await,
        vec![arn("role+ci-deploy+deploy")]
    );
}

#[tokio::test]
async fn delete_mode_leaves_no_managed_policy_and_reports_the_document() {
    let moto = Moto::start();
    let iam = moto.iam();
    let alice = Principal::user("alice");
    let developers = Principal::group("developers");
    create_user(&iam, "alice").await;
    create_group(&iam, "developers").await;
    put_policy(&iam, &alice, "s3-read", &document("s3:GetObject")).await;
    put_policy(&iam, &developers, "admin", &document("*")).await;

    let report = invoke(
        &moto,
        &settings(&[("INLINE_POLICY_ACTION", "delete")]),
        schedule(),
    )
    .await
    .expect("report");

    assert_eq!(
        outcomes(&report),
        vec![
            row("alice", "delete-inline-policy", "s3-read", Status::Applied),
            row(
                "developers",
                "delete-inline-policy",
                "admin",
                Status::Applied
            ),
        ]
    );
    assert_eq!(
        action_for(&report, "alice", "s3-read")
            .details
            .as_ref()
            .unwrap()["document"],
        document("s3:GetObject")
    );
    assert_eq!(
        action_for(&report, "developers", "admin")
            .details
            .as_ref()
            .unwrap()["document"],
        document("*")
    );
    // The serialized report (what is returned and logged) holds the document too.
    let logged = serde_json::to_value(&report).unwrap();
    assert_eq!(
        logged["actions"][0]["details"]["document"]["Statement"][0]["Effect"],
        "Allow"
    );
    assert!(inline_names(&iam, &alice).await.is_empty());
    assert!(inline_names(&iam, &developers).await.is_empty());
    assert!(managed_policies(&iam).await.is_empty());
    assert!(attached(&iam, &alice).await.is_empty());
}

#[tokio::test]
async fn a_second_run_changes_nothing_and_creates_no_duplicate() {
    let moto = Moto::start();
    let iam = moto.iam();
    create_user(&iam, "alice").await;
    put_policy(
        &iam,
        &Principal::user("alice"),
        "s3-read",
        &document("s3:GetObject"),
    )
    .await;
    let settings = settings(&[]);
    let first = invoke(&moto, &settings, schedule()).await.unwrap();
    assert_eq!(first.count(Status::Applied), 1);
    let after_first = snapshot(&iam).await;

    moto.reset_calls();
    let second = invoke(&moto, &settings, schedule()).await.unwrap();
    assert!(second.actions.is_empty(), "{second:#?}");
    assert_eq!(snapshot(&iam).await, after_first);
    let calls = moto.calls();
    assert!(
        !calls.contains_key("iam:CreatePolicy") && !calls.contains_key("iam:GetAccountSummary"),
        "{calls:?}"
    );
    assert_eq!(
        managed_policies(&iam).await,
        vec![arn("user+alice+s3-read")]
    );
}

#[tokio::test]
async fn the_managed_policy_is_attached_before_the_inline_one_goes_and_a_rerun_reuses_it() {
    let moto = Moto::start();
    let iam = moto.iam();
    let alice = Principal::user("alice");
    create_user(&iam, "alice").await;
    put_policy(&iam, &alice, "s3-read", &document("s3:GetObject")).await;

    // The inline policy cannot be deleted: the managed copy is there and attached, the inline
    // policy too, and nothing is lost.
    moto.inject_fault("iam:DeleteUserPolicy", "AccessDenied", 403, 1, 0);
    let err = invoke(&moto, &settings(&[]), schedule()).await.unwrap_err();
    let Error::ActionsFailed { count: 1, summary } = &err else {
        panic!("{err}")
    };
    assert!(
        summary.contains("DeleteUserPolicy failed: AccessDenied")
            && summary.contains("is attached"),
        "{summary}"
    );
    assert_eq!(inline_names(&iam, &alice).await, vec!["s3-read".to_owned()]);
    assert_eq!(
        attached(&iam, &alice).await,
        vec![arn("user+alice+s3-read")]
    );

    // The next run reuses the identical managed policy and finishes the job.
    moto.reset_calls();
    let report = invoke(&moto, &settings(&[]), schedule()).await.unwrap();
    assert_eq!(
        outcomes(&report),
        vec![row(
            "alice",
            "convert-inline-policy",
            "s3-read",
            Status::Applied
        )]
    );
    assert_eq!(
        moto.calls()["iam:CreatePolicy"],
        1,
        "one refused creation, then reuse"
    );
    assert!(inline_names(&iam, &alice).await.is_empty());
    assert_eq!(
        managed_policies(&iam).await,
        vec![arn("user+alice+s3-read")]
    );
    assert_eq!(
        attached(&iam, &alice).await,
        vec![arn("user+alice+s3-read")]
    );

    // Attaching fails: the inline policy stays and the managed policy made for it is removed.
    let bob = Principal::user("bob");
    create_user(&iam, "bob").await;
    put_policy(&iam, &bob, "logs", &document("logs:PutLogEvents")).await;
    moto.inject_fault("iam:AttachUserPolicy", "ServiceFailure", 500, 5, 0);
    let err = invoke(&moto, &settings(&[]), schedule()).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("AttachUserPolicy failed: ServiceFailure"),
        "{err}"
    );
    assert_eq!(inline_names(&iam, &bob).await, vec!["logs".to_owned()]);
    assert_eq!(
        managed_policies(&iam).await,
        vec![arn("user+alice+s3-read")]
    );
}

#[tokio::test]
async fn a_managed_policy_with_that_name_and_another_document_is_never_overwritten() {
    let moto = Moto::start();
    let iam = moto.iam();
    let alice = Principal::user("alice");
    create_user(&iam, "alice").await;
    put_policy(&iam, &alice, "s3-read", &document("s3:GetObject")).await;
    iam.create_policy()
        .policy_name("user+alice+s3-read")
        .path("/iam-remediation/")
        .policy_document(document("s3:*").to_string())
        .send()
        .await
        .unwrap();

    let report = invoke(&moto, &settings(&[]), schedule()).await.unwrap();
    let action = action_for(&report, "alice", "s3-read");
    assert_eq!(action.status, Status::Skipped);
    assert!(
        action
            .reason
            .contains("different document: it is not overwritten"),
        "{}",
        action.reason
    );
    assert_eq!(inline_names(&iam, &alice).await, vec!["s3-read".to_owned()]);
    assert!(attached(&iam, &alice).await.is_empty());
    assert_eq!(
        managed_document(&iam, &arn("user+alice+s3-read")).await,
        document("s3:*")
    );
}

#[tokio::test]
async fn a_principal_at_its_attachment_quota_is_skipped_and_keeps_its_inline_policy() {
    let moto = Moto::start();
    let iam = moto.iam();
    let alice = Principal::user("alice");
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
    put_policy(&iam, &alice, "s3-read", &document("s3:GetObject")).await;
    let before = snapshot(&iam).await;

    let report = invoke(&moto, &settings(&[]), schedule()).await.unwrap();
    let action = action_for(&report, "alice", "s3-read");
    assert_eq!(action.status, Status::Skipped);
    assert!(
        action
            .reason
            .starts_with("user alice is at its quota of 10 attached managed policies"),
        "{}",
        action.reason
    );
    assert_eq!(snapshot(&iam).await, before);

    // moto has no quota: when IAM refuses the attachment itself, the result is the same and
    // the managed policy made for it is removed.
    let bob = Principal::user("bob");
    create_user(&iam, "bob").await;
    put_policy(&iam, &bob, "logs", &document("logs:PutLogEvents")).await;
    moto.inject_fault("iam:AttachUserPolicy", "LimitExceeded", 409, 1, 0);
    let report = invoke(&moto, &settings(&[]), json!({"users": ["bob"]}))
        .await
        .unwrap();
    let action = action_for(&report, "bob", "logs");
    assert_eq!(action.status, Status::Skipped);
    assert!(action.reason.contains("quota"), "{}", action.reason);
    assert_eq!(inline_names(&iam, &bob).await, vec!["logs".to_owned()]);
    assert!(!managed_policies(&iam).await.contains(&arn("user+bob+logs")));
}

#[tokio::test]
async fn a_policy_deleted_meanwhile_is_not_an_error() {
    let moto = Moto::start();
    let iam = moto.iam();
    let alice = Principal::user("alice");
    create_user(&iam, "alice").await;
    put_policy(&iam, &alice, "s3-read", &document("s3:GetObject")).await;

    // Gone between the account read and the change (the re-read finds nothing).
    moto.inject_fault("iam:GetUserPolicy", "NoSuchEntity", 404, 1, 0);
    let report = invoke(&moto, &settings(&[]), schedule())
        .await
        .expect("not an error");
    let action = action_for(&report, "alice", "s3-read");
    assert_eq!(action.status, Status::Skipped);
    assert!(
        action
            .reason
            .starts_with("inline policy s3-read no longer exists"),
        "{}",
        action.reason
    );
    assert!(managed_policies(&iam).await.is_empty());

    // Gone before a CloudTrail event about it is handled.
    iam.delete_user_policy()
        .user_name("alice")
        .policy_name("s3-read")
        .send()
        .await
        .unwrap();
    let report = invoke(
        &moto,
        &settings(&[]),
        sample_event(FUNCTION, "cloudtrail-put-user-policy"),
    )
    .await
    .expect("not an error");
    assert!(report.actions.is_empty(), "{report:#?}");
    assert_eq!(report.examined, 1);
}

#[tokio::test]
async fn dry_run_plans_and_changes_nothing() {
    let moto = Moto::start();
    let iam = moto.iam();
    create_user(&iam, "alice").await;
    put_policy(
        &iam,
        &Principal::user("alice"),
        "s3-read",
        &document("s3:GetObject"),
    )
    .await;
    let before = snapshot(&iam).await;

    let report = invoke(&moto, &settings(&[("DRY_RUN", "true")]), schedule())
        .await
        .unwrap();
    assert!(report.dry_run);
    assert_eq!(
        outcomes(&report),
        vec![row(
            "alice",
            "convert-inline-policy",
            "s3-read",
            Status::Planned
        )]
    );
    assert_eq!(snapshot(&iam).await, before);

    for name in ["manual-users-dry-run", "manual-account-dry-run"] {
        let report = invoke(&moto, &settings(&[]), sample_event(FUNCTION, name))
            .await
            .unwrap();
        assert_eq!(report.trigger, TriggerKind::Manual);
        assert_eq!(
            outcomes(&report),
            vec![row(
                "alice",
                "convert-inline-policy",
                "s3-read",
                Status::Planned
            )],
            "{name}"
        );
        assert_eq!(snapshot(&iam).await, before, "{name}");
    }
}

#[tokio::test]
async fn max_actions_refuses_and_changes_nothing() {
    let moto = Moto::start();
    let iam = moto.iam();
    create_user(&iam, "alice").await;
    for policy in ["a", "b", "c"] {
        put_policy(
            &iam,
            &Principal::user("alice"),
            policy,
            &document("s3:GetObject"),
        )
        .await;
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
    assert_eq!(snapshot(&iam).await, before);
}

#[tokio::test]
async fn cloudtrail_acts_on_the_named_policy_only() {
    let moto = Moto::start();
    let iam = moto.iam();
    let alice = Principal::user("alice");
    let developers = Principal::group("developers");
    let ci = Principal::role("ci-deploy");
    create_user(&iam, "alice").await;
    create_group(&iam, "developers").await;
    create_role(&iam, "ci-deploy", "/").await;
    for principal in [&alice, &developers, &ci] {
        put_policy(&iam, principal, "s3-read", &document("s3:GetObject")).await;
        put_policy(&iam, principal, "other", &document("sqs:SendMessage")).await;
    }

    for name in ["cloudtrail-put-user-policy", "cloudtrail-put-group-policy"] {
        let report = invoke(&moto, &settings(&[]), sample_event(FUNCTION, name))
            .await
            .unwrap();
        assert_eq!(report.trigger, TriggerKind::Cloudtrail);
        assert_eq!(report.examined, 1, "{name}");
        assert_eq!(report.count(Status::Applied), 1, "{name}");
    }
    assert_eq!(inline_names(&iam, &alice).await, vec!["other".to_owned()]);
    assert_eq!(
        inline_names(&iam, &developers).await,
        vec!["other".to_owned()]
    );

    // Roles are not covered by default: nothing to do; covered when enabled.
    let role_event = sample_event(FUNCTION, "cloudtrail-put-role-policy");
    let report = invoke(&moto, &settings(&[]), role_event.clone())
        .await
        .unwrap();
    assert!(
        report.actions.is_empty() && report.examined == 0,
        "{report:#?}"
    );
    let report = invoke(&moto, &settings(&[ALL_KINDS]), role_event)
        .await
        .unwrap();
    assert_eq!(
        outcomes(&report),
        vec![row(
            "ci-deploy",
            "convert-inline-policy",
            "s3-read",
            Status::Applied
        )]
    );
    assert_eq!(inline_names(&iam, &ci).await, vec!["other".to_owned()]);

    // A call that failed changed nothing and needs nothing.
    let report = invoke(
        &moto,
        &settings(&[]),
        sample_event(FUNCTION, "cloudtrail-put-user-policy-failed"),
    )
    .await
    .unwrap();
    assert!(report.actions.is_empty() && report.examined == 0);
    assert_eq!(inline_names(&iam, &alice).await, vec!["other".to_owned()]);
}

#[tokio::test]
async fn config_compliance_changes_resolve_users_groups_and_roles_by_unique_id() {
    let moto = Moto::start();
    let iam = moto.iam();
    create_user(&iam, "alice").await;
    create_user(&iam, "bob").await;
    create_group(&iam, "developers").await;
    create_role(&iam, "ci-deploy", "/").await;
    for principal in [
        Principal::user("alice"),
        Principal::user("bob"),
        Principal::group("developers"),
        Principal::role("ci-deploy"),
    ] {
        put_policy(&iam, &principal, "p", &document("s3:GetObject")).await;
    }
    let user_id = iam
        .get_user()
        .user_name("alice")
        .send()
        .await
        .unwrap()
        .user
        .unwrap()
        .user_id;
    let group_id = iam
        .get_group()
        .group_name("developers")
        .send()
        .await
        .unwrap()
        .group
        .unwrap()
        .group_id;
    let role_id = iam
        .get_role()
        .role_name("ci-deploy")
        .send()
        .await
        .unwrap()
        .role
        .unwrap()
        .role_id;

    let settings = settings(&[ALL_KINDS]);
    for (name, id) in [
        ("config-compliance-user", &user_id),
        ("config-compliance-group", &group_id),
        ("config-compliance-role", &role_id),
    ] {
        let event = with(
            sample_event(FUNCTION, name),
            "/detail/resourceId",
            json!(id),
        );
        let report = invoke(&moto, &settings, event).await.unwrap();
        assert_eq!(report.trigger, TriggerKind::Config);
        assert_eq!(report.count(Status::Applied), 1, "{name}: {report:#?}");
    }
    assert!(
        inline_names(&iam, &Principal::user("alice"))
            .await
            .is_empty()
    );
    assert!(
        inline_names(&iam, &Principal::group("developers"))
            .await
            .is_empty()
    );
    assert!(
        inline_names(&iam, &Principal::role("ci-deploy"))
            .await
            .is_empty()
    );
    assert_eq!(
        inline_names(&iam, &Principal::user("bob")).await,
        vec!["p".to_owned()]
    );

    // COMPLIANT needs nothing.
    let bob_id = iam
        .get_user()
        .user_name("bob")
        .send()
        .await
        .unwrap()
        .user
        .unwrap()
        .user_id;
    let event = with(
        sample_event(FUNCTION, "config-compliance-user"),
        "/detail/resourceId",
        json!(bob_id),
    );
    let event = with(
        event,
        "/detail/newEvaluationResult/complianceType",
        json!("COMPLIANT"),
    );
    let report = invoke(&moto, &settings, event).await.unwrap();
    assert!(report.actions.is_empty());
    assert_eq!(
        inline_names(&iam, &Principal::user("bob")).await,
        vec!["p".to_owned()]
    );
}

#[tokio::test]
async fn config_rule_invocations_report_evaluations_back() {
    let moto = Moto::start();
    let iam = moto.iam();
    create_user(&iam, "alice").await;
    put_policy(
        &iam,
        &Principal::user("alice"),
        "s3-read",
        &document("s3:GetObject"),
    )
    .await;

    let report = invoke(
        &moto,
        &settings(&[]),
        sample_event(FUNCTION, "config-rule-change"),
    )
    .await
    .unwrap();
    assert_eq!(report.trigger, TriggerKind::ConfigRule);
    assert_eq!(
        outcomes(&report),
        vec![row(
            "alice",
            "convert-inline-policy",
            "s3-read",
            Status::Applied
        )]
    );

    invoke(
        &moto,
        &settings(&[]),
        sample_event(FUNCTION, "config-rule-scheduled"),
    )
    .await
    .unwrap();
    create_user(&iam, "bob").await;
    put_policy(
        &iam,
        &Principal::user("bob"),
        "logs",
        &document("logs:PutLogEvents"),
    )
    .await;
    invoke(
        &moto,
        &settings(&[("DRY_RUN", "true")]),
        sample_event(FUNCTION, "config-rule-scheduled"),
    )
    .await
    .unwrap();

    let results: Vec<(String, String)> = moto
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
            )
        })
        .collect();
    assert_eq!(
        results,
        vec![
            ("AWS::IAM::User".into(), "COMPLIANT".into()),
            ("AWS::::Account".into(), "COMPLIANT".into()),
            ("AWS::::Account".into(), "NON_COMPLIANT".into()),
        ]
    );
}

#[tokio::test]
async fn manual_payloads_act_on_the_named_principals() {
    let moto = Moto::start();
    let iam = moto.iam();
    let named = [
        Principal::user("alice"),
        Principal::group("developers"),
        Principal::role("ci-deploy"),
    ];
    create_user(&iam, "alice").await;
    create_user(&iam, "carol").await;
    create_group(&iam, "developers").await;
    create_role(&iam, "ci-deploy", "/").await;
    for principal in named.iter().chain([&Principal::user("carol")]) {
        put_policy(&iam, principal, "p", &document("s3:GetObject")).await;
    }
    let report = invoke(
        &moto,
        &settings(&[ALL_KINDS]),
        sample_event(FUNCTION, "manual-principals"),
    )
    .await
    .unwrap();
    assert_eq!(report.examined, 3);
    assert_eq!(
        outcomes(&report),
        vec![
            row("alice", "convert-inline-policy", "p", Status::Applied),
            row("ci-deploy", "convert-inline-policy", "p", Status::Applied),
            row("developers", "convert-inline-policy", "p", Status::Applied),
        ]
    );
    for principal in &named {
        assert!(
            inline_names(&iam, principal).await.is_empty(),
            "{principal}"
        );
    }
    assert_eq!(
        inline_names(&iam, &Principal::user("carol")).await,
        vec!["p".to_owned()]
    );
}

#[tokio::test]
async fn bad_input_is_a_clear_error_and_changes_nothing() {
    let moto = Moto::start();
    let iam = moto.iam();
    create_user(&iam, "alice").await;
    create_role(&iam, "ci-deploy", "/").await;
    put_policy(
        &iam,
        &Principal::user("alice"),
        "s3-read",
        &document("s3:GetObject"),
    )
    .await;
    let before = snapshot(&iam).await;
    let trail = || sample_event(FUNCTION, "cloudtrail-put-user-policy");
    let no_policy_name = with(
        trail(),
        "/detail/requestParameters",
        json!({"userName": "alice"}),
    );
    let ghost_trail = with(
        trail(),
        "/detail/requestParameters/userName",
        json!("ghost"),
    );
    let bad_name = with(
        trail(),
        "/detail/requestParameters/policyName",
        json!("no spaces allowed"),
    );
    let ghost_config = with(
        sample_event(FUNCTION, "config-compliance-user"),
        "/detail/resourceId",
        json!("AIDANOSUCHUSER000000"),
    );
    let bucket = with(
        sample_event(FUNCTION, "config-compliance-user"),
        "/detail/resourceType",
        json!("AWS::S3::Bucket"),
    );
    let access_key = with(trail(), "/detail/eventName", json!("CreateAccessKey"));
    let cases = [
        (json!([1, 2, 3]), "expected a JSON object, got an array"),
        (
            with(schedule(), "/detail-type", json!("Object Created")),
            "unknown event",
        ),
        (json!({"dryrun": true}), "unknown field `dryrun`"),
        (
            json!({"users": ["ghost", "alice"]}),
            "user ghost does not exist",
        ),
        (json!({"groups": ["ghosts"]}), "group ghosts does not exist"),
        (
            json!({"roles": ["ci-deploy"]}),
            "`roles` given, but roles are not covered here",
        ),
        (
            json!({"access_key_id": "AKIAIOSFODNN7EXAMPLE", "action": "delete"}),
            "not accepted",
        ),
        (no_policy_name, "PutUserPolicy names no policyName"),
        (ghost_trail, "user ghost does not exist"),
        (bad_name, "not a valid IAM name"),
        (access_key, "CreateAccessKey is not handled"),
        (
            ghost_config,
            "user with unique ID AIDANOSUCHUSER000000 does not exist",
        ),
        (bucket, "AWS::S3::Bucket is not an IAM user, group or role"),
        (
            sample_event("access-keys", "health-credentials-exposed"),
            "unknown event",
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
async fn never_acts_on_its_own_identity() {
    let moto = Moto::start();
    let iam = moto.iam();
    // moto's GetCallerIdentity answers arn:aws:sts::123456789012:user/moto.
    create_user(&iam, "moto").await;
    put_policy(&iam, &Principal::user("moto"), "self", &document("iam:*")).await;
    let report = invoke(&moto, &settings(&[]), schedule()).await.unwrap();
    let action = action_for(&report, "moto", "self");
    assert_eq!(action.status, Status::Skipped);
    assert!(
        action.reason.contains("runs as this identity"),
        "{}",
        action.reason
    );
    assert_eq!(
        inline_names(&iam, &Principal::user("moto")).await,
        vec!["self".to_owned()]
    );
}

#[tokio::test]
async fn throttling_is_retried() {
    let moto = Moto::start();
    let iam = moto.iam();
    create_user(&iam, "alice").await;
    put_policy(
        &iam,
        &Principal::user("alice"),
        "s3-read",
        &document("s3:GetObject"),
    )
    .await;
    moto.inject_fault(
        "iam:GetAccountAuthorizationDetails",
        "Throttling",
        400,
        2,
        0,
    );
    moto.inject_fault("iam:CreatePolicy", "Throttling", 400, 1, 0);
    let report = invoke(&moto, &settings(&[]), schedule()).await.unwrap();
    assert_eq!(
        outcomes(&report),
        vec![row(
            "alice",
            "convert-inline-policy",
            "s3-read",
            Status::Applied
        )]
    );
    let calls = moto.calls();
    assert_eq!(
        (
            calls["iam:GetAccountAuthorizationDetails"],
            calls["iam:CreatePolicy"]
        ),
        (3, 2)
    );
    assert!(
        inline_names(&iam, &Principal::user("alice"))
            .await
            .is_empty()
    );
}

#[tokio::test]
#[allow(
    clippy::print_stdout,
    reason = "the call count is a measured result to read"
)]
async fn a_sweep_reads_the_account_in_one_call_not_per_principal() {
    let moto = Moto::start();
    let iam = moto.iam();
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
    let report = invoke(
        &moto,
        &settings(&[ALL_KINDS, ("MAX_ACTIONS", "100")]),
        schedule(),
    )
    .await
    .unwrap();
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
    let moto = Moto::start();
    let iam = moto.iam();
    for user in ["tagged", "lapsed"] {
        create_user(&iam, user).await;
        put_policy(&iam, &Principal::user(user), "p", &document("s3:GetObject")).await;
    }
    tag_user(&iam, "tagged", "iam-remediation:exempt", "true").await;
    tag_user(&iam, "lapsed", "iam-remediation:exempt", "2020-01-31").await;
    let report = invoke(&moto, &settings(&[]), schedule()).await.unwrap();
    let tagged = action_for(&report, "tagged", "p");
    assert_eq!(tagged.status, Status::Skipped);
    assert!(tagged.reason.starts_with("exempt"), "{}", tagged.reason);
    assert_eq!(
        inline_names(&iam, &Principal::user("tagged")).await,
        vec!["p".to_owned()]
    );
    let lapsed = action_for(&report, "lapsed", "p");
    assert_eq!(lapsed.status, Status::Applied);
    assert!(
        lapsed.reason.contains("lapsed on 2020-01-31"),
        "{}",
        lapsed.reason
    );
}
