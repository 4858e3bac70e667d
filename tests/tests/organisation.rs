//! Organisation mode (issue 21, DESIGN.md "Organisations: one deployment for every account"):
//! the functions run in the organisation's security account with `MEMBER_ROLE_NAME` set and act
//! in each member account through its member role. Against the organisation test bed
//! (`integration_tests::organisation`, `tests/moto/organisation_ext.py`): a management account,
//! the security account (delegated administrator, where the functions run with their function
//! roles' credentials), members with the member role, one without it, an exempt one (in
//! `EXEMPT_ACCOUNTS`) and a closed (`SUSPENDED`) one. Each test asserts IAM state in the accounts,
//! the report (every action carries `account`) and, where the run fans out, the asynchronous
//! invocations it dispatched, which a test replays into the function as Lambda would.

#![allow(clippy::unwrap_used, reason = "a test fails loudly")]

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Mutex;

use access_keys::AccessKeys;
use iam_remediation::{Error, FromEnv, Principal, Remediation, Report, Status};
use inline_policies::InlinePolicies;
use integration_tests::organisation::{
    MANAGEMENT, MEMBER_ROLE_NAME, MEMBER_ROLE_PATH, Organisation, account_admin, create_function,
    create_role_trusting, dispatched, function_config, seed_organisation, take_dispatched,
    trusting,
};
use integration_tests::{
    ACTIVE, ALL_KINDS, Deployed, EXEMPT, INACTIVE, Moto, days_ago, document, env, finding_state_in,
    import_findings_into, inline_names, iso, key_status, put_policy, sample_event, schedule,
    snapshot, user_tags, user_with_policy, with,
};
use serde_json::{Value, json};

/// access-keys' action on a key it deactivates.
const DEACTIVATE: &str = "deactivate-access-key";

// -- the organisation, the functions in it ----------------------------------------------------

/// An organisation of `members` members (and the fixed cast of [`seed_organisation`]), with
/// `access-keys` and `inline-policies` created as Lambda functions in the security account, so
/// that their asynchronous invocations of themselves are accepted and recorded.
async fn organisation(members: usize) -> (Moto, Organisation) {
    let moto = Moto::start();
    let org = seed_organisation(&moto, members).await;
    let lambda = aws_sdk_lambda::Client::new(&account_admin(&moto, &org.security).await);
    for function in [AccessKeys::NAME, InlinePolicies::NAME] {
        create_function(&lambda, function, org.function_role(function)).await;
    }
    (moto, org)
}

/// The organisation stack's settings of function `F` (member role, its own name as Lambda sets
/// it, the exempt member in `EXEMPT_ACCOUNTS`), then `extra`.
fn settings<'a, F: Remediation>(
    org: &'a Organisation,
    extra: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut pairs = vec![
        ("MEMBER_ROLE_NAME", MEMBER_ROLE_NAME),
        ("AWS_LAMBDA_FUNCTION_NAME", F::NAME),
        ("EXEMPT_ACCOUNTS", org.exempt_member.as_str()),
    ];
    pairs.extend_from_slice(extra);
    pairs
}

/// Function `F` deployed in the security account: its function role's credentials, the
/// organisation stack's settings and `extra`.
fn deployed<F: Remediation>(
    moto: &Moto,
    org: &Organisation,
    extra: &[(&str, &str)],
) -> Deployed<F> {
    let sdk = function_config(moto, org.function_role(F::NAME));
    Deployed::new(&sdk, &settings::<F>(org, extra))
}

/// An administrator's IAM client in `account` (the management account: the tests' own).
async fn iam_in(moto: &Moto, account: &str) -> aws_sdk_iam::Client {
    if account == MANAGEMENT {
        return moto.iam();
    }
    aws_sdk_iam::Client::new(&account_admin(moto, account).await)
}

/// Creates `user` in `iam`'s `account` with one key, 200 days old and used yesterday: due for
/// deactivation by access-keys' defaults. The key's ID.
async fn user_with_old_key(
    moto: &Moto,
    iam: &aws_sdk_iam::Client,
    account: &str,
    user: &str,
) -> String {
    iam.create_user()
        .user_name(user)
        .send()
        .await
        .expect("CreateUser");
    let created = iam.create_access_key().user_name(user).send().await;
    let key = created.expect("CreateAccessKey").access_key.expect("key");
    let body = json!({"account": account, "access_key_id": key.access_key_id,
        "create_date": iso(days_ago(200)), "last_used": iso(days_ago(1))});
    moto.control("POST", "/_test/access-key", Some(body));
    key.access_key_id
}

/// An account with its administrator's IAM client and alice's old key there.
struct Seeded {
    account: String,
    iam: aws_sdk_iam::Client,
    key: String,
}

/// Gives alice an old key in each of `accounts`.
async fn alice_everywhere(moto: &Moto, accounts: &[&str]) -> Vec<Seeded> {
    let mut seeded = Vec::new();
    for account in accounts {
        let iam = iam_in(moto, account).await;
        let key = user_with_old_key(moto, &iam, account, "alice").await;
        seeded.push(Seeded {
            account: (*account).to_owned(),
            iam,
            key,
        });
    }
    seeded
}

/// Asserts alice's key status in each seeded account: `Inactive` in `fixed`, `Active` elsewhere.
async fn assert_alice_fixed_in(seeded: &[Seeded], fixed: &[&str], context: &str) {
    for s in seeded {
        let expected = if fixed.contains(&s.account.as_str()) {
            INACTIVE
        } else {
            ACTIVE
        };
        let status = key_status(&s.iam, "alice", &s.key).await;
        assert_eq!(
            status.as_deref(),
            expected,
            "{context}: alice's key in {}",
            s.account
        );
    }
}

// -- reading reports and dispatches -----------------------------------------------------------

/// The report's actions as JSON, as Lambda returns them.
fn actions(report: &Report) -> Vec<Value> {
    let report = serde_json::to_value(report).unwrap();
    report["actions"].as_array().unwrap().clone()
}

/// (account, principal, action, status) of each action of a report (as JSON), sorted.
/// `rows` in the order [`rows`] gives them.
fn sorted(
    mut rows: Vec<(String, String, String, String)>,
) -> Vec<(String, String, String, String)> {
    rows.sort();
    rows
}

fn rows(report: &Value) -> Vec<(String, String, String, String)> {
    let text = |action: &Value, field: &str| action[field].as_str().unwrap_or("(none)").to_owned();
    let mut rows: Vec<_> = (report["actions"].as_array().unwrap().iter())
        .map(|a| {
            (
                text(a, "account"),
                text(a, "principal"),
                text(a, "action"),
                text(a, "status"),
            )
        })
        .collect();
    rows.sort();
    rows
}

fn report_rows(report: &Report) -> Vec<(String, String, String, String)> {
    rows(&serde_json::to_value(report).unwrap())
}

fn row(
    account: &str,
    principal: &str,
    action: &str,
    status: &str,
) -> (String, String, String, String) {
    (
        account.into(),
        principal.into(),
        action.into(),
        status.into(),
    )
}

/// The dispatched payloads, sorted, after checking that each is an asynchronous invocation of
/// `function` by its own name in the security account.
fn payloads_of(org: &Organisation, function: &str, dispatched: &[Dispatch]) -> Vec<Value> {
    let mut payloads: Vec<Value> = dispatched
        .iter()
        .map(|d| {
            assert_eq!(
                (d.function_name.as_str(), d.account.as_str()),
                (function, org.security.as_str()),
                "{d:?}"
            );
            d.payload.clone()
        })
        .collect();
    payloads.sort_by_key(Value::to_string);
    payloads
}

type Dispatch = integration_tests::organisation::Dispatched;

/// `{"accounts": [id]}` and `fields` for each of `accounts`, sorted as [`payloads_of`] sorts.
fn one_account_payloads(accounts: &[&str], fields: &Value) -> Vec<Value> {
    let mut payloads: Vec<Value> = accounts
        .iter()
        .map(|id| {
            let mut payload = fields.clone();
            payload["accounts"] = json!([id]);
            payload
        })
        .collect();
    payloads.sort_by_key(Value::to_string);
    payloads
}

/// Everything the functions of this test binary logged: one JSON subscriber for the whole
/// binary (a scoped subscriber per test misses events when another test thread's callsite
/// interest is cached meanwhile).
static LOGGED: Mutex<Vec<u8>> = Mutex::new(Vec::new());

/// A writer into [`LOGGED`].
struct Captured;

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOGGED.lock().expect("log buffer").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One invocation, with the report the run logged (a failed run returns only Lambda's error;
/// its report is in the log, as CloudWatch Logs would hold it): the last report logged that
/// names `account` (each test's accounts are its own).
async fn invoke_logged<F: Remediation>(
    function: &Deployed<F>,
    event: Value,
    account: &str,
) -> (Result<Report, Error>, Value) {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        tracing_subscriber::fmt()
            .json()
            .with_max_level(tracing::Level::INFO)
            .with_writer(|| Captured)
            .init();
    });
    let result = function.invoke(event, None).await;
    let logged = String::from_utf8(LOGGED.lock().unwrap().clone()).unwrap();
    let report = logged
        .lines()
        .rev()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["fields"]["message"] == "report")
        .filter_map(|line| serde_json::from_str::<Value>(line["fields"]["report"].as_str()?).ok())
        .find(|report| report.to_string().contains(account))
        .unwrap_or_else(|| panic!("no report logged about {account}: {result:?}"));
    (result, report)
}

// -- events -----------------------------------------------------------------------------------

/// An IAM.3 finding (ASFF) about `user` of `account`, as Security Hub aggregates it in the
/// administrator account.
fn iam3_finding(account: &str, user: &str) -> Value {
    let sample = sample_event(AccessKeys::NAME, "securityhub-iam3-user");
    let mut finding = sample["detail"]["findings"][0].clone();
    let id =
        format!("arn:aws:securityhub:us-east-1:{account}:security-control/IAM.3/finding/{user}");
    let arn = format!("arn:aws:iam::{account}:user/{user}");
    finding["Id"] = json!(id);
    finding["AwsAccountId"] = json!(account);
    finding["Resources"][0]["Id"] = json!(arn);
    finding["Resources"][0]["Details"]["AwsIamUser"]["UserName"] = json!(user);
    finding["ProductFields"]["Resources:0/Id"] = json!(arn);
    finding["ProductFields"]["aws/securityhub/FindingId"] =
        json!(format!("{}/{id}", finding["ProductArn"].as_str().unwrap()));
    finding
}

/// The Security Hub event the security account's bus delivers with these findings.
fn findings_event(org: &Organisation, findings: &[Value]) -> Value {
    let event = sample_event(AccessKeys::NAME, "securityhub-iam3-user");
    let event = with(event, "/account", json!(org.security));
    let resources: Vec<Value> = findings.iter().map(|f| f["Id"].clone()).collect();
    let event = with(event, "/resources", json!(resources));
    with(event, "/detail/findings", json!(findings))
}

/// The security account's Security Hub (where findings are aggregated and updated).
async fn security_hub(moto: &Moto, org: &Organisation) -> aws_sdk_securityhub::Client {
    aws_sdk_securityhub::Client::new(&account_admin(moto, &org.security).await)
}

/// `access-keys`' scheduled sweep, as the security account's EventBridge rule sends it.
fn org_schedule(org: &Organisation) -> Value {
    with(schedule(AccessKeys::NAME), "/account", json!(org.security))
}

// -- Security Hub findings --------------------------------------------------------------------

#[tokio::test]
async fn a_members_iam3_finding_is_fixed_in_that_member_only_and_updated_from_the_security_account()
{
    let (moto, org) = organisation(2).await;
    let [m0, m1] = [org.members[0].as_str(), org.members[1].as_str()];
    let seeded = alice_everywhere(&moto, &[m0, m1, &org.security, MANAGEMENT]).await;
    let finding = iam3_finding(m0, "alice");
    let hub = security_hub(&moto, &org).await;
    import_findings_into(&hub, std::slice::from_ref(&finding)).await;

    let event = findings_event(&org, std::slice::from_ref(&finding));
    let report = deployed::<AccessKeys>(&moto, &org, &[])
        .invoke(event, None)
        .await
        .unwrap();

    assert_alice_fixed_in(&seeded, &[m0], "only the finding's member").await;
    assert_eq!(
        report_rows(&report),
        sorted(vec![row(m0, "alice", DEACTIVATE, "applied")]),
        "{report:#?}"
    );
    let (workflow, note) = finding_state_in(&hub, finding["Id"].as_str().unwrap()).await;
    assert_eq!(workflow.as_deref(), Some("RESOLVED"), "{note:?}");
    let updates = moto.control("GET", "/_test/securityhub/batch-update-findings", None);
    let updates = updates.as_array().unwrap();
    assert_eq!(updates.len(), 1, "{updates:#?}");
    assert_eq!(
        updates[0]["account"], org.security,
        "updated from the administrator account"
    );
    assert!(
        dispatched(&moto).is_empty(),
        "a finding is acted on in-process"
    );
}

#[tokio::test]
async fn a_finding_event_about_two_members_fails_only_the_one_whose_member_role_is_missing() {
    let (moto, org) = organisation(1).await;
    let (m0, no_role) = (org.members[0].as_str(), org.member_without_role.as_str());
    let seeded = alice_everywhere(&moto, &[m0, no_role]).await;
    let findings = [iam3_finding(m0, "alice"), iam3_finding(no_role, "alice")];
    import_findings_into(&security_hub(&moto, &org).await, &findings).await;

    let function = deployed::<AccessKeys>(&moto, &org, &[]);
    let (result, report) = invoke_logged(&function, findings_event(&org, &findings), no_role).await;

    let role = Organisation::member_role(no_role);
    let error = result.expect_err("a member role that cannot be assumed is a Lambda error");
    assert!(matches!(&error, Error::ActionsFailed { .. }), "{error}");
    assert_alice_fixed_in(&seeded, &[m0], "the other member still acts").await;
    let mut expected = vec![
        row(m0, "alice", DEACTIVATE, "applied"),
        row(no_role, no_role, "assume-member-role", "failed"),
    ];
    expected.sort();
    assert_eq!(rows(&report), expected, "{report:#}");
    let failed = (report["actions"].as_array().unwrap().iter())
        .find(|a| a["action"] == "assume-member-role")
        .unwrap();
    assert_eq!(failed["target"], role, "{failed:#}");
    assert_eq!(failed["principal_type"], "account", "{failed:#}");
    let errors = report["errors"].as_array().unwrap();
    assert!(
        errors.iter().any(|e| {
            let e = e.as_str().unwrap_or_default();
            e.contains(no_role) && e.contains(&role)
        }),
        "an error naming the account and the role: {errors:#?}"
    );
    assert!(
        error.to_string().contains(no_role),
        "Lambda's error names the account: {error}"
    );
    // Each finding tells the truth: the one fixed is resolved, the other noted with the role.
    let hub = security_hub(&moto, &org).await;
    let fixed = finding_state_in(&hub, findings[0]["Id"].as_str().unwrap()).await;
    assert_eq!(fixed.0.as_deref(), Some("RESOLVED"), "{fixed:?}");
    let (workflow, note) = finding_state_in(&hub, findings[1]["Id"].as_str().unwrap()).await;
    assert_eq!(workflow.as_deref(), Some("NOTIFIED"), "{note:?}");
    let note = note.unwrap_or_default();
    assert!(
        note.contains("assume-member-role") && note.contains(&role),
        "{note}"
    );
}

#[tokio::test]
async fn max_actions_counts_per_account() {
    let (moto, org) = organisation(2).await;
    let (m0, m1) = (org.members[0].as_str(), org.members[1].as_str());
    let mut keys = Vec::new();
    let mut findings = Vec::new();
    for account in [m0, m1] {
        let iam = iam_in(&moto, account).await;
        for user in ["alice", "bob"] {
            keys.push((
                user_with_old_key(&moto, &iam, account, user).await,
                user,
                account,
            ));
            findings.push(iam3_finding(account, user));
        }
    }
    import_findings_into(&security_hub(&moto, &org).await, &findings).await;

    let function = deployed::<AccessKeys>(&moto, &org, &[("MAX_ACTIONS", "3")]);
    let report = function
        .invoke(findings_event(&org, &findings), None)
        .await
        .unwrap_or_else(|e| panic!("4 actions over two accounts, 2 in each: {e}"));

    for (key, user, account) in &keys {
        let iam = iam_in(&moto, account).await;
        let status = key_status(&iam, user, key).await;
        assert_eq!(status.as_deref(), INACTIVE, "{user} in {account}");
    }
    assert_eq!(
        report_rows(&report),
        sorted(vec![
            row(m0, "alice", DEACTIVATE, "applied"),
            row(m0, "bob", DEACTIVATE, "applied"),
            row(m1, "alice", DEACTIVATE, "applied"),
            row(m1, "bob", DEACTIVATE, "applied"),
        ])
    );
}

#[tokio::test]
async fn a_finding_about_an_exempt_account_changes_nothing() {
    let (moto, org) = organisation(1).await;
    let exempt = org.exempt_member.as_str();
    let seeded = alice_everywhere(&moto, &[exempt]).await;
    let finding = iam3_finding(exempt, "alice");
    let hub = security_hub(&moto, &org).await;
    import_findings_into(&hub, std::slice::from_ref(&finding)).await;
    let before = snapshot(&seeded[0].iam).await;

    let function = deployed::<AccessKeys>(&moto, &org, &[]);
    let report = function
        .invoke(findings_event(&org, std::slice::from_ref(&finding)), None)
        .await
        .unwrap();
    let manual = function
        .invoke(json!({"accounts": [exempt], "users": ["alice"]}), None)
        .await
        .unwrap();

    assert_eq!(snapshot(&seeded[0].iam).await, before);
    assert!(
        report.actions.is_empty() && report.errors.is_empty(),
        "{report:#?}"
    );
    assert!(
        report.notes.iter().any(|n| n.contains(exempt)),
        "the finding left alone, saying why: {:?}",
        report.notes
    );
    assert!(
        manual.actions.is_empty() && manual.errors.is_empty(),
        "{manual:#?}"
    );
    assert!(dispatched(&moto).is_empty());
}

/// Account mode is unchanged: a finding about another account is ignored with the reason.
#[tokio::test]
async fn account_mode_still_ignores_a_finding_about_another_account() {
    let (moto, org) = organisation(1).await;
    let m0 = org.members[0].as_str();
    let seeded = alice_everywhere(&moto, &[m0, &org.security]).await;
    let finding = iam3_finding(m0, "alice");
    import_findings_into(
        &security_hub(&moto, &org).await,
        std::slice::from_ref(&finding),
    )
    .await;

    let sdk = function_config(&moto, org.function_role(AccessKeys::NAME));
    let function = Deployed::<AccessKeys>::new(&sdk, &[]);
    let report = function
        .invoke(findings_event(&org, std::slice::from_ref(&finding)), None)
        .await
        .unwrap();

    assert_alice_fixed_in(&seeded, &[], "account mode").await;
    assert!(report.actions.is_empty(), "{report:#?}");
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.contains(&format!("about account {m0}, not this one"))),
        "{:?}",
        report.notes
    );
}

// -- CloudTrail -------------------------------------------------------------------------------

#[tokio::test]
async fn a_cloudtrail_event_from_a_members_bus_acts_in_that_member() {
    let (moto, org) = organisation(2).await;
    let m0 = org.members[0].as_str();
    let seeded = alice_everywhere(&moto, &[m0, &org.members[1], &org.security]).await;
    let event = sample_event(AccessKeys::NAME, "cloudtrail-create-access-key");
    let event = with(event, "/account", json!(m0));
    let event = with(event, "/detail/recipientAccountId", json!(m0));
    let event = with(event, "/detail/userIdentity/accountId", json!(m0));
    let event = with(
        event,
        "/detail/userIdentity/arn",
        json!(format!("arn:aws:iam::{m0}:user/admin")),
    );

    let report = deployed::<AccessKeys>(&moto, &org, &[])
        .invoke(event, None)
        .await
        .unwrap();

    assert_alice_fixed_in(&seeded, &[m0], "the envelope's account only").await;
    assert_eq!(
        report_rows(&report),
        sorted(vec![row(m0, "alice", DEACTIVATE, "applied")])
    );
}

// -- the scheduled sweep of the organisation ---------------------------------------------------

/// The accounts a schedule or `["*"]` dispatches to: every ACTIVE account but the exempt one.
fn swept_accounts(org: &Organisation) -> Vec<&str> {
    let mut accounts = vec![MANAGEMENT, org.security.as_str()];
    accounts.extend(org.members.iter().map(String::as_str));
    accounts.push(&org.member_without_role);
    accounts
}

#[tokio::test]
async fn a_scheduled_sweep_dispatches_one_invocation_per_active_account_and_changes_nothing() {
    let (moto, org) = organisation(2).await;
    let mut accounts = swept_accounts(&org);
    accounts.push(&org.exempt_member);
    let seeded = alice_everywhere(&moto, &accounts).await;

    let report = deployed::<AccessKeys>(&moto, &org, &[])
        .invoke(org_schedule(&org), None)
        .await
        .unwrap();

    assert_alice_fixed_in(&seeded, &[], "the dispatching run").await;
    let swept = swept_accounts(&org);
    let expected: Vec<_> = swept
        .iter()
        .map(|id| row(id, id, "dispatch-sweep", "applied"))
        .collect();
    let mut expected = expected;
    expected.sort();
    assert_eq!(report_rows(&report), expected, "{report:#?}");
    for action in actions(&report) {
        assert_eq!(action["principal_type"], "account", "{action:#}");
        assert_eq!(action["target"], action["account"], "{action:#}");
    }
    let payloads = payloads_of(&org, AccessKeys::NAME, &take_dispatched(&moto));
    assert_eq!(
        payloads,
        one_account_payloads(&swept, &json!({})),
        "neither the exempt nor the suspended account ({})",
        org.suspended_member
    );
    assert_eq!(moto.call_count("lambda:Invoke"), swept.len() as u64);
}

#[tokio::test]
async fn replaying_the_dispatched_sweeps_fixes_every_account_through_its_member_role() {
    let (moto, org) = organisation(2).await;
    // The management account carries the member role too (a StackSet does not reach it: its
    // administrators deploy member-template.yaml there themselves).
    let trusted: Vec<&str> = org.function_roles.iter().map(|(_, a)| a.as_str()).collect();
    create_role_trusting(
        &moto.iam(),
        MEMBER_ROLE_NAME,
        MEMBER_ROLE_PATH,
        &trusting(&trusted),
        &[(EXEMPT, "true")],
    )
    .await;
    let mut accounts = swept_accounts(&org);
    accounts.push(&org.exempt_member);
    let seeded = alice_everywhere(&moto, &accounts).await;
    let function = deployed::<AccessKeys>(&moto, &org, &[]);
    function.invoke(org_schedule(&org), None).await.unwrap();

    let dispatches = take_dispatched(&moto);
    assert_eq!(
        dispatches.len(),
        swept_accounts(&org).len(),
        "{dispatches:#?}"
    );
    let mut failed = Vec::new();
    for dispatch in dispatches {
        let account = dispatch.payload["accounts"][0].as_str().unwrap().to_owned();
        let (result, report) = invoke_logged(&function, dispatch.payload.clone(), &account).await;
        if account == org.member_without_role {
            assert!(result.is_err(), "{account}: {report:#}");
            assert_eq!(
                rows(&report),
                [row(&account, &account, "assume-member-role", "failed")]
            );
            failed.push(account);
        } else {
            let report = result.unwrap_or_else(|e| panic!("{account}: {e}"));
            assert_eq!(
                report_rows(&report),
                sorted(vec![row(&account, "alice", DEACTIVATE, "applied")]),
                "{account}"
            );
        }
    }

    assert_eq!(failed, std::slice::from_ref(&org.member_without_role));
    let mut fixed = swept_accounts(&org);
    fixed.retain(|a| *a != org.member_without_role);
    assert_alice_fixed_in(&seeded, &fixed, "after the replays").await;
    assert!(
        dispatched(&moto).is_empty(),
        "a one-account invocation sweeps in-process"
    );
}

// -- manual payloads --------------------------------------------------------------------------

#[tokio::test]
async fn a_manual_payload_naming_one_account_acts_there_in_process() {
    let (moto, org) = organisation(2).await;
    let (m0, m1) = (org.members[0].as_str(), org.members[1].as_str());
    let seeded = alice_everywhere(&moto, &[m0, m1, &org.security]).await;
    let bob = user_with_old_key(&moto, &seeded[0].iam, m0, "bob").await;
    let function = deployed::<AccessKeys>(&moto, &org, &[]);

    let dry = function
        .invoke(
            json!({"accounts": [m0], "users": ["alice"], "dry_run": true}),
            None,
        )
        .await
        .unwrap();
    assert_alice_fixed_in(&seeded, &[], "a dry run").await;
    assert_eq!(report_rows(&dry), [row(m0, "alice", DEACTIVATE, "planned")]);

    let report = function
        .invoke(json!({"accounts": [m0], "users": ["alice"]}), None)
        .await
        .unwrap();

    assert_alice_fixed_in(&seeded, &[m0], "the named account only").await;
    let bob_status = key_status(&seeded[0].iam, "bob", &bob).await;
    assert_eq!(bob_status.as_deref(), ACTIVE, "only the named users");
    assert_eq!(
        report_rows(&report),
        sorted(vec![row(m0, "alice", DEACTIVATE, "applied")])
    );
    assert!(dispatched(&moto).is_empty(), "one account: in-process");
}

#[tokio::test]
async fn a_manual_payload_naming_several_accounts_or_all_fans_out_with_its_other_fields() {
    let (moto, org) = organisation(2).await;
    let (m0, m1) = (org.members[0].as_str(), org.members[1].as_str());
    let seeded = alice_everywhere(&moto, &[m0, m1]).await;
    let function = deployed::<AccessKeys>(&moto, &org, &[]);
    let fields = json!({"users": ["alice"], "dry_run": false});

    let mut several = fields.clone();
    several["accounts"] = json!([m0, m1]);
    let report = function.invoke(several, None).await.unwrap();
    assert_eq!(
        payloads_of(&org, AccessKeys::NAME, &take_dispatched(&moto)),
        one_account_payloads(&[m0, m1], &fields)
    );
    assert_eq!(
        report_rows(&report),
        sorted(vec![
            row(m0, m0, "dispatch-sweep", "applied"),
            row(m1, m1, "dispatch-sweep", "applied"),
        ])
    );

    let mut all = fields.clone();
    all["accounts"] = json!(["*"]);
    let report = function.invoke(all, None).await.unwrap();
    let swept = swept_accounts(&org);
    assert_eq!(
        payloads_of(&org, AccessKeys::NAME, &take_dispatched(&moto)),
        one_account_payloads(&swept, &fields),
        "every ACTIVE account but the exempt one (not the suspended {})",
        org.suspended_member
    );
    assert_eq!(report.actions.len(), swept.len(), "{report:#?}");

    assert_alice_fixed_in(&seeded, &[], "the dispatching runs").await;
}

#[tokio::test]
async fn the_functions_own_account_is_acted_on_with_its_own_credentials() {
    let (moto, org) = organisation(1).await;
    let (m0, security) = (org.members[0].as_str(), org.security.as_str());
    let seeded = alice_everywhere(&moto, &[m0, security]).await;
    let bob = user_with_old_key(&moto, &seeded[1].iam, security, "bob").await;
    let function = deployed::<AccessKeys>(&moto, &org, &[]);

    // Without `accounts`: the function's own account, as in account mode.
    let report = function
        .invoke(json!({"users": ["alice"]}), None)
        .await
        .unwrap();
    assert_alice_fixed_in(&seeded, &[security], "no accounts: its own").await;
    assert_eq!(
        report_rows(&report),
        sorted(vec![row(security, "alice", DEACTIVATE, "applied")])
    );

    // Named: no member role there (the security account has none), its own credentials.
    let report = function
        .invoke(json!({"accounts": [security], "users": ["bob"]}), None)
        .await
        .unwrap();
    let status = key_status(&seeded[1].iam, "bob", &bob).await;
    assert_eq!(status.as_deref(), INACTIVE, "{report:#?}");
    assert_eq!(
        report_rows(&report),
        sorted(vec![row(security, "bob", DEACTIVATE, "applied")])
    );
    assert!(dispatched(&moto).is_empty());
}

#[tokio::test]
async fn malformed_accounts_are_an_error_that_changes_and_dispatches_nothing() {
    let (moto, org) = organisation(1).await;
    let m0 = org.members[0].as_str();
    let seeded = alice_everywhere(&moto, &[m0, &org.security]).await;
    let function = deployed::<AccessKeys>(&moto, &org, &[]);

    for (why, accounts) in [
        ("not a list", json!(m0)),
        ("an empty list", json!([])),
        ("not 12 digits", json!(["12345"])),
        ("a number", json!([123_456_789_012_u64])),
        ("\"*\" mixed with IDs", json!(["*", m0])),
    ] {
        let result = function
            .invoke(json!({"accounts": accounts, "users": ["alice"]}), None)
            .await;
        let error = result.expect_err(why).to_string();
        // A field the function knows, read and refused (not an unknown field).
        assert!(
            error.contains("accounts") && !error.contains("unknown field"),
            "{why}: {error}"
        );
        assert!(dispatched(&moto).is_empty(), "{why}");
        assert_alice_fixed_in(&seeded, &[], why).await;
    }
}

#[tokio::test]
async fn accounts_in_account_mode_is_an_error_naming_member_role_name() {
    let (moto, org) = organisation(1).await;
    let m0 = org.members[0].as_str();
    let seeded = alice_everywhere(&moto, &[m0, &org.security]).await;
    let sdk = function_config(&moto, org.function_role(AccessKeys::NAME));
    let function = Deployed::<AccessKeys>::new(&sdk, &[]);

    let result = function
        .invoke(json!({"accounts": [m0], "users": ["alice"]}), None)
        .await;

    let error = result.expect_err("accounts in account mode");
    assert!(error.to_string().contains("MEMBER_ROLE_NAME"), "{error}");
    assert_alice_fixed_in(&seeded, &[], "account mode").await;
    assert!(dispatched(&moto).is_empty());
}

// -- settings -----------------------------------------------------------------------------------

#[test]
fn exempt_accounts_must_be_twelve_digit_ids() {
    let good = env(&[
        ("MEMBER_ROLE_NAME", MEMBER_ROLE_NAME),
        ("EXEMPT_ACCOUNTS", "111122223333, 444455556666"),
    ]);
    assert!(AccessKeys::from_env(&good).is_ok());
    for bad in ["12345", "111122223333,abc", "1111222233334"] {
        let pairs = env(&[
            ("MEMBER_ROLE_NAME", MEMBER_ROLE_NAME),
            ("EXEMPT_ACCOUNTS", bad),
        ]);
        for refused in [
            AccessKeys::from_env(&pairs).err().map(|e| e.to_string()),
            InlinePolicies::from_env(&pairs)
                .err()
                .map(|e| e.to_string()),
        ] {
            let error = refused.unwrap_or_else(|| panic!("EXEMPT_ACCOUNTS={bad} accepted"));
            assert!(error.contains("EXEMPT_ACCOUNTS"), "{bad}: {error}");
        }
    }
}

#[tokio::test]
async fn an_exempt_account_is_never_dispatched() {
    let (moto, org) = organisation(2).await;
    let m1 = org.members[1].as_str();
    let exempt = format!("{},{m1}", org.exempt_member);
    let function = deployed::<AccessKeys>(&moto, &org, &[("EXEMPT_ACCOUNTS", &exempt)]);

    function.invoke(org_schedule(&org), None).await.unwrap();
    let scheduled = payloads_of(&org, AccessKeys::NAME, &take_dispatched(&moto));
    function
        .invoke(json!({"accounts": ["*"]}), None)
        .await
        .unwrap();
    let all = payloads_of(&org, AccessKeys::NAME, &take_dispatched(&moto));

    let mut swept = swept_accounts(&org);
    swept.retain(|a| *a != m1);
    assert_eq!(scheduled, one_account_payloads(&swept, &json!({})));
    assert_eq!(all, scheduled);
}

// -- records and warnings in the member account ------------------------------------------------

#[tokio::test]
async fn warnings_are_recorded_on_the_members_user_in_the_member_account() {
    let (moto, org) = organisation(1).await;
    let m0 = org.members[0].as_str();
    let seeded = alice_everywhere(&moto, &[m0, &org.security]).await;
    let function = deployed::<AccessKeys>(&moto, &org, &[("WARN_DAYS", "7")]);

    let report = function
        .invoke(json!({"accounts": [m0]}), None)
        .await
        .unwrap();

    assert_alice_fixed_in(&seeded, &[], "warned first").await;
    assert_eq!(
        report_rows(&report),
        sorted(vec![row(m0, "alice", DEACTIVATE, "warned")])
    );
    let record = format!("iam-remediation:warned:access-keys:{}", seeded[0].key);
    let member_tags = user_tags(&seeded[0].iam, "alice").await;
    assert!(member_tags.contains_key(&record), "{member_tags:?}");
    let security_tags = user_tags(&seeded[1].iam, "alice").await;
    assert!(
        !security_tags
            .keys()
            .any(|k| k.starts_with("iam-remediation:")),
        "nothing recorded in the security account: {security_tags:?}"
    );
}

// -- inline-policies: a second function; the member role is never acted on ---------------------

#[tokio::test]
async fn inline_policies_act_in_the_member_and_never_on_the_member_role() {
    let (moto, org) = organisation(1).await;
    let m0 = org.members[0].as_str();
    let iam = iam_in(&moto, m0).await;
    let alice = user_with_policy(&iam, "alice", "s3-read", "s3:GetObject").await;
    let member_role = Principal::role(MEMBER_ROLE_NAME);
    put_policy(&iam, &member_role, "extra", &document("iam:ListUsers")).await;
    // Untagged: only the rule that the member role is never acted on protects it now.
    iam.untag_role()
        .role_name(MEMBER_ROLE_NAME)
        .tag_keys(EXEMPT)
        .send()
        .await
        .expect("UntagRole");
    let security_iam = iam_in(&moto, &org.security).await;
    user_with_policy(&security_iam, "alice", "s3-read", "s3:GetObject").await;

    let function = deployed::<InlinePolicies>(&moto, &org, &[ALL_KINDS]);
    let report = function
        .invoke(json!({"accounts": [m0]}), None)
        .await
        .unwrap();

    assert!(inline_names(&iam, &alice).await.is_empty(), "{report:#?}");
    assert_eq!(
        inline_names(&iam, &member_role).await,
        ["extra"],
        "the member role keeps its inline policy: {report:#?}"
    );
    assert_eq!(
        inline_names(&security_iam, &Principal::user("alice")).await,
        ["s3-read"],
        "the security account untouched"
    );
    // The member role is the identity the function runs as there: at most reported as skipped,
    // with that reason, as the function's own role is in account mode.
    let about_member_role: Vec<_> = actions(&report)
        .into_iter()
        .filter(|a| a["principal"] == MEMBER_ROLE_NAME)
        .collect();
    assert!(
        about_member_role.iter().all(|a| a["status"] == "skipped"
            && a["reason"]
                .as_str()
                .unwrap()
                .contains("the function runs as this identity")),
        "{about_member_role:#?}"
    );
    assert!(
        actions(&report).iter().all(|a| a["account"] == m0),
        "{report:#?}"
    );
    assert!(!report.actions.is_empty(), "{report:#?}");
}

/// A member's sweep costs what the same sweep costs in account mode, plus the member role's
/// one AssumeRole and the function's own identity (read once per container: a `Deployed`
/// function builds its clients per invocation, so here once per invocation).
#[tokio::test]
async fn a_members_sweep_costs_an_account_mode_sweep_plus_one_assume_role() {
    let (moto, org) = organisation(2).await;
    let (m0, m1) = (org.members[0].as_str(), org.members[1].as_str());
    for account in [m0, m1] {
        let iam = iam_in(&moto, account).await;
        for user in ["alice", "bob"] {
            user_with_old_key(&moto, &iam, account, user).await;
        }
    }
    let account_mode = Deployed::<AccessKeys>::new(&account_admin(&moto, m1).await, &[]);
    let organisation_mode = deployed::<AccessKeys>(&moto, &org, &[]);

    moto.reset_calls();
    let alone = account_mode.invoke(json!({}), None).await.unwrap();
    let alone_calls = moto.calls();
    moto.reset_calls();
    let member = organisation_mode
        .invoke(json!({"accounts": [m0]}), None)
        .await
        .unwrap();
    let member_calls = moto.calls();

    assert_eq!(alone.count(Status::Applied), 2, "{alone:#?}");
    assert_eq!(member.count(Status::Applied), 2, "{member:#?}");
    let mut extra = BTreeMap::new();
    for action in alone_calls.keys().chain(member_calls.keys()) {
        let (was, is) = (
            alone_calls.get(action).copied().unwrap_or(0),
            member_calls.get(action).copied().unwrap_or(0),
        );
        if was != is {
            extra.insert(action.clone(), i128::from(is) - i128::from(was));
        }
    }
    assert_eq!(
        extra,
        BTreeMap::from([
            ("sts:AssumeRole".to_owned(), 1),
            ("sts:GetCallerIdentity".to_owned(), 1)
        ]),
        "account mode {alone_calls:?}, organisation mode {member_calls:?}"
    );
}

/// An AWS Health exposed-key event that a member forwards (member-template.yaml's
/// ForwardExposedKeys: the envelope keeps the member's account) is acted on in that member, at
/// once, through its member role.
#[tokio::test]
async fn an_exposed_key_forwarded_from_a_member_is_deactivated_there() {
    let (moto, org) = organisation(2).await;
    let (m0, m1) = (org.members[0].as_str(), org.members[1].as_str());
    let seeded = alice_everywhere(&moto, &[m0, m1]).await;
    let event = sample_event(AccessKeys::NAME, "health-credentials-exposed");
    let event = with(event, "/account", json!(m0));
    let event = with(event, "/detail/affectedAccount", json!(m0));
    let event = with(
        event,
        "/detail/affectedEntities",
        json!([{ "entityValue": seeded[0].key }]),
    );

    let report = deployed::<AccessKeys>(&moto, &org, &[])
        .invoke(event, None)
        .await
        .unwrap();

    assert_alice_fixed_in(&seeded, &[m0], "the exposed key, in its account only").await;
    assert_eq!(
        report_rows(&report),
        sorted(vec![row(m0, "alice", DEACTIVATE, "applied")])
    );
}
