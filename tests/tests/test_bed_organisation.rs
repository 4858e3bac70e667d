//! The organisation test bed (issues 21 and 22): several accounts in one AWS Organizations
//! organisation on moto's server, and what real AWS does that moto lacks, taught in
//! `tests/moto/organisation_ext.py`: role trust on AssumeRole, asynchronous Lambda invocations
//! recorded for replay, ListAccounts paging, and `sts:AssumeRoot` root sessions on seeded root
//! user credentials. Each rule of the test bed has its test here; the helpers the organisation
//! tests build on are in `integration_tests::organisation` (`tests/src/organisation.rs`).

use aws_config::SdkConfig;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use integration_tests::organisation::{
    ACCOUNT_ACCESS_ROLE, AUDIT_ROOT, DELETE_ROOT, Dispatched, FUNCTION_ROLE_PATH, FUNCTIONS,
    IAM_SERVICE, MANAGEMENT, Organisation, RootCredentials, RootKey, account_admin,
    account_user_config, add_member_role, assume_role, assume_root, config_as_role, config_with,
    create_function, create_role_trusting, dispatched, error_text, function_config, list_accounts,
    root_config, root_credentials, root_iam, root_sessions, seed_organisation,
    seed_root_credentials, set_account_state, set_accounts_page_size, set_root_features,
    take_dispatched, trusting,
};
use integration_tests::{EXEMPT, Moto, Time, create_user, days_ago};
use serde_json::{Value, json};

/// The management account turns trusted access for IAM off (`DisableAWSServiceAccess`).
async fn disable_trusted_access_for_iam(moto: &Moto) {
    let organizations = aws_sdk_organizations::Client::new(&moto.sdk_config());
    let disabled = organizations
        .disable_aws_service_access()
        .service_principal(IAM_SERVICE)
        .send()
        .await;
    disabled.expect("DisableAWSServiceAccess");
}

// ================================================================================================
// The tests
// ================================================================================================

/// The account `config` acts in, as STS says.
async fn account_of(config: &SdkConfig) -> String {
    let sts = aws_sdk_sts::Client::new(config);
    let identity = sts
        .get_caller_identity()
        .send()
        .await
        .expect("GetCallerIdentity");
    identity.account.expect("account")
}

async fn user_names(iam: &aws_sdk_iam::Client) -> Vec<String> {
    let users = iam.list_users().send().await.expect("ListUsers");
    users.users.into_iter().map(|u| u.user_name).collect()
}

#[tokio::test]
async fn an_organisation_of_several_accounts_each_with_its_own_iam() {
    let moto = Moto::start();
    let org = seed_organisation(&moto, 2).await;

    // The delegated administrator reads the whole organisation, states included.
    let security = function_config(&moto, org.function_role("access-keys"));
    let (accounts, _) = list_accounts(&security, None).await.expect("ListAccounts");
    let active: Vec<String> = {
        let mut ids: Vec<String> = (accounts.iter())
            .filter(|(_, state)| state == "ACTIVE")
            .map(|(id, _)| id.clone())
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(active, org.active_accounts(), "{accounts:?}");
    let suspended = accounts.iter().find(|(id, _)| *id == org.suspended_member);
    assert_eq!(suspended.map(|(_, s)| s.as_str()), Some("SUSPENDED"));
    assert_eq!(account_of(&security).await, org.security);

    // A function role's session assumes the member role and acts in that member account only.
    let member = &org.members[0];
    let as_member = config_as_role(&moto, &security, &Organisation::member_role(member)).await;
    assert_eq!(account_of(&as_member).await, *member);
    let member_iam = aws_sdk_iam::Client::new(&as_member);
    create_user(&member_iam, "alice").await;
    assert_eq!(user_names(&member_iam).await, ["alice"]);
    let other = config_as_role(
        &moto,
        &security,
        &Organisation::member_role(&org.members[1]),
    )
    .await;
    assert!(
        user_names(&aws_sdk_iam::Client::new(&other))
            .await
            .is_empty()
    );
    assert!(
        user_names(&moto.iam()).await.is_empty(),
        "the management account"
    );

    // The exempt member carries its tag in Organizations.
    let organizations = aws_sdk_organizations::Client::new(&security);
    let tags = organizations
        .list_tags_for_resource()
        .resource_id(&org.exempt_member)
        .send()
        .await
        .expect("ListTagsForResource");
    assert!(
        tags.tags()
            .iter()
            .any(|t| t.key() == EXEMPT && t.value() == "true"),
        "{tags:?}"
    );
}

#[tokio::test]
async fn a_member_that_is_no_delegated_administrator_cannot_list_the_accounts() {
    let moto = Moto::start();
    let org = seed_organisation(&moto, 1).await;

    let member = account_admin(&moto, &org.members[0]).await;
    let refused = list_accounts(&member, None).await.expect_err("refused");
    assert!(refused.starts_with("AccessDeniedException"), "{refused}");
}

#[tokio::test]
async fn assume_role_into_a_role_that_does_not_exist_is_refused() {
    let moto = Moto::start();
    let org = seed_organisation(&moto, 1).await;
    let security = function_config(&moto, org.function_role("access-keys"));

    let missing = Organisation::member_role(&org.member_without_role);
    let refused = assume_role(&security, &missing, "access-keys").await;

    let error = refused.expect_err("a role that does not exist");
    assert!(
        error.starts_with("AccessDenied: User: arn:aws:sts::")
            && error.contains(&format!(
                "is not authorized to perform: sts:AssumeRole on resource: {missing}"
            )),
        "{error}"
    );
}

#[tokio::test]
async fn assume_role_is_refused_to_whom_the_trust_policy_does_not_name() {
    let moto = Moto::start();
    let org = seed_organisation(&moto, 1).await;
    let member_role = Organisation::member_role(&org.members[0]);

    // The management account is not among the member role's trusted principals.
    let error = assume_role(&moto.sdk_config(), &member_role, "management").await;
    let error = error.expect_err("the management account");
    assert!(error.starts_with("AccessDenied"), "{error}");

    // A role of the security account that is not a function role.
    let security_iam = aws_sdk_iam::Client::new(&account_admin(&moto, &org.security).await);
    let lambda_trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
    let other =
        create_role_trusting(&security_iam, "other-function", "/", &lambda_trust, &[]).await;
    let error = assume_role(&function_config(&moto, &other), &member_role, "other").await;
    assert!(error.expect_err("another role").starts_with("AccessDenied"));

    // Each function role is trusted.
    for function in FUNCTIONS {
        let config = function_config(&moto, org.function_role(function));
        let assumed = assume_role(&config, &member_role, function).await;
        assert!(assumed.is_ok(), "{function}: {assumed:?}");
    }

    // A role Lambda is not trusted by gets no function credentials.
    let not_for_lambda = create_role_trusting(
        &security_iam,
        "not-for-lambda",
        "/",
        &trusting(&[MANAGEMENT]),
        &[],
    )
    .await;
    let url = format!("{}/_test/sts/service-credentials", moto.endpoint);
    let refused = ureq::post(&url).send_json(json!({"role_arn": not_for_lambda}));
    assert!(refused.is_err(), "a role that does not trust Lambda");
}

#[tokio::test]
async fn a_trust_policy_on_the_function_roles_path_holds_inside_the_organisation_only() {
    let moto = Moto::start();
    let org = seed_organisation(&moto, 1).await;
    let path_trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole",
        "Condition": {
            "StringEquals": {"aws:PrincipalOrgID": org.id},
            "ArnLike": {"aws:PrincipalArn": format!("arn:aws:iam::{}:role{FUNCTION_ROLE_PATH}*", org.security)}}}]});
    let target = org.member_without_role.clone();
    let role = add_member_role(&moto, &target, &path_trust).await;

    let function = function_config(&moto, org.function_role("root-credentials"));
    assert!(assume_role(&function, &role, "fn").await.is_ok());

    // A role elsewhere in the organisation, not on the path.
    let management_role = format!("arn:aws:iam::{}:role/{ACCOUNT_ACCESS_ROLE}", org.members[0]);
    let member = config_as_role(&moto, &moto.sdk_config(), &management_role).await;
    let error = assume_role(&member, &role, "member")
        .await
        .expect_err("off the path");
    assert!(error.starts_with("AccessDenied"), "{error}");

    // The same path in an account outside the organisation.
    let outsider = aws_sdk_iam::Client::new(&account_user_config(&moto, "999988887777", "admin"));
    let lambda_trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
    let impostor = create_role_trusting(
        &outsider,
        "iam-remediation-access-keys",
        FUNCTION_ROLE_PATH,
        &lambda_trust,
        &[],
    )
    .await;
    let error = assume_role(&function_config(&moto, &impostor), &role, "x").await;
    assert!(error.expect_err("outside").starts_with("AccessDenied"));
}

#[tokio::test]
async fn asynchronous_invocations_are_recorded_for_replay() {
    let moto = Moto::start();
    let org = seed_organisation(&moto, 1).await;
    let role = org.function_role("access-keys").to_owned();
    let security = function_config(&moto, &role);
    let admin = account_admin(&moto, &org.security).await;
    let arn = create_function(&aws_sdk_lambda::Client::new(&admin), "access-keys", &role).await;

    let lambda = aws_sdk_lambda::Client::new(&security);
    for account in &org.members {
        let payload = json!({ "accounts": [account] });
        let answer = lambda
            .invoke()
            .function_name("access-keys")
            .invocation_type(InvocationType::Event)
            .payload(Blob::new(payload.to_string()))
            .send()
            .await
            .expect("Invoke");
        assert_eq!(answer.status_code, 202);
    }
    lambda
        .invoke()
        .function_name(&arn)
        .invocation_type(InvocationType::Event)
        .payload(Blob::new(r#"{"accounts": ["*"]}"#))
        .send()
        .await
        .expect("Invoke by ARN");

    let expected: Vec<Dispatched> = org
        .members
        .iter()
        .map(|a| json!({ "accounts": [a] }))
        .chain([json!({"accounts": ["*"]})])
        .map(|payload| Dispatched {
            function_name: "access-keys".into(),
            function_arn: arn.clone(),
            account: org.security.clone(),
            payload,
        })
        .collect();
    assert_eq!(dispatched(&moto), expected);
    assert_eq!(moto.call_count("lambda:Invoke"), 2);
    assert_eq!(take_dispatched(&moto), expected);
    assert!(dispatched(&moto).is_empty(), "taken");

    let missing = lambda
        .invoke()
        .function_name("no-such-function")
        .invocation_type(InvocationType::Event)
        .payload(Blob::new("{}"))
        .send()
        .await
        .map_err(|e| error_text(&e));
    let error = missing.expect_err("no such function");
    assert!(error.starts_with("ResourceNotFoundException"), "{error}");
    assert!(dispatched(&moto).is_empty());
}

#[tokio::test]
async fn list_accounts_pages_at_most_twenty_accounts() {
    let moto = Moto::start();
    let org = seed_organisation(&moto, 20).await;
    let security = function_config(&moto, org.function_role("access-keys"));
    let all = org.active_accounts().len() + 1;
    assert_eq!(all, 25);

    let (accounts, pages) = list_accounts(&security, None).await.expect("default pages");
    assert_eq!((accounts.len(), pages), (all, 2));
    let (by_seven, pages) = list_accounts(&security, Some(7)).await.expect("7 a page");
    assert_eq!(
        (pages, &by_seven),
        (4, &accounts),
        "the same accounts in the same order"
    );
    let (_, pages) = list_accounts(&security, Some(20)).await.expect("20 a page");
    assert_eq!(pages, 2);

    let error = list_accounts(&security, Some(21))
        .await
        .expect_err("21 a page");
    assert!(error.starts_with("InvalidInputException"), "{error}");

    // Fewer than asked, as AWS may answer: the caller must follow NextToken.
    set_accounts_page_size(&moto, Some(3));
    let (short, pages) = list_accounts(&security, Some(20))
        .await
        .expect("short pages");
    assert_eq!((pages, &short), (9, &accounts));
    set_accounts_page_size(&moto, None);

    let organizations = aws_sdk_organizations::Client::new(&security);
    let bad = organizations
        .list_accounts()
        .next_token("not-a-token")
        .send()
        .await;
    let error = error_text(&bad.expect_err("a token AWS never gave"));
    assert!(error.starts_with("InvalidInputException"), "{error}");
}

#[tokio::test]
async fn account_states_are_set_as_time_would() {
    let moto = Moto::start();
    let org = seed_organisation(&moto, 2).await;
    set_account_state(&moto, &org.members[0], "PENDING_CLOSURE");
    set_account_state(&moto, &org.members[1], "CLOSED");

    let (accounts, _) = list_accounts(&moto.sdk_config(), None)
        .await
        .expect("ListAccounts");
    let state = |id: &str| {
        accounts
            .iter()
            .find(|(a, _)| a == id)
            .map(|(_, s)| s.clone())
    };
    assert_eq!(state(&org.members[0]).as_deref(), Some("PENDING_CLOSURE"));
    assert_eq!(state(&org.members[1]).as_deref(), Some("CLOSED"));
    assert_eq!(state(&org.suspended_member).as_deref(), Some("SUSPENDED"));
    assert_eq!(state(&org.security).as_deref(), Some("ACTIVE"));
}

// -- AssumeRoot -----------------------------------------------------------------------------------

#[tokio::test]
async fn assume_root_is_for_the_management_account_and_the_iam_delegated_administrator() {
    let moto = Moto::start();
    let org = seed_organisation(&moto, 2).await;
    let target = &org.members[0];

    let management = assume_root(&moto.sdk_config(), target, AUDIT_ROOT, None).await;
    assert!(management.is_ok(), "{management:?}");
    let security = function_config(&moto, org.function_role("root-credentials"));
    let delegated = assume_root(&security, target, AUDIT_ROOT, Some(300)).await;
    assert!(delegated.is_ok(), "{delegated:?}");

    let member = account_admin(&moto, &org.members[1]).await;
    let error = assume_root(&member, target, AUDIT_ROOT, None)
        .await
        .expect_err("a member");
    assert!(
        error.starts_with(&format!(
            "AccessDenied: User: arn:aws:sts::{}:assumed-role/{ACCOUNT_ACCESS_ROLE}/",
            org.members[1]
        )) && error.contains(&format!(
            "sts:AssumeRoot on resource: arn:aws:iam::{target}:root"
        )) && error
            .contains("neither the management account nor the delegated administrator for IAM"),
        "{error}"
    );

    let sessions = root_sessions(&moto);
    let seen: Vec<(&str, &str, i64)> = sessions
        .iter()
        .map(|s| {
            (
                s["caller_account"].as_str().unwrap_or_default(),
                s["task_policy_arn"].as_str().unwrap_or_default(),
                s["duration_seconds"].as_i64().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (MANAGEMENT, AUDIT_ROOT, 900),
            (org.security.as_str(), AUDIT_ROOT, 300)
        ]
    );
}

#[tokio::test]
async fn assume_root_needs_trusted_access_for_iam_and_root_sessions() {
    let moto = Moto::start();
    let org = seed_organisation(&moto, 1).await;
    let security = function_config(&moto, org.function_role("root-credentials"));
    let target = &org.members[0];

    set_root_features(&moto, &["RootCredentialsManagement"]);
    let error = assume_root(&security, target, AUDIT_ROOT, None).await;
    let error = error.expect_err("root sessions off");
    assert!(
        error.starts_with("AccessDenied") && error.contains("RootSessions"),
        "{error}"
    );

    set_root_features(&moto, &["RootCredentialsManagement", "RootSessions"]);
    assert!(
        assume_root(&security, target, AUDIT_ROOT, None)
            .await
            .is_ok()
    );

    disable_trusted_access_for_iam(&moto).await;
    let error = assume_root(&security, target, AUDIT_ROOT, None).await;
    let error = error.expect_err("no trusted access");
    assert!(
        error.starts_with("AccessDenied") && error.contains("trusted access for IAM"),
        "{error}"
    );
}

#[tokio::test]
async fn centralized_root_access_is_switched_by_the_management_account() {
    let moto = Moto::start();
    let org = seed_organisation(&moto, 1).await;
    let iam = moto.iam();
    let security_iam = aws_sdk_iam::Client::new(&function_config(
        &moto,
        org.function_role("root-credentials"),
    ));

    let features = security_iam.list_organizations_features().send().await;
    let features = features.expect("the delegated administrator reads them");
    assert_eq!(features.organization_id(), Some(org.id.as_str()));
    let mut enabled: Vec<&str> = features
        .enabled_features()
        .iter()
        .map(aws_sdk_iam::types::FeatureType::as_str)
        .collect();
    enabled.sort_unstable();
    assert_eq!(enabled, ["RootCredentialsManagement", "RootSessions"]);

    let refused = security_iam
        .enable_organizations_root_sessions()
        .send()
        .await;
    let error = error_text(&refused.expect_err("only the management account enables"));
    assert!(
        error.starts_with("CallerIsNotManagementAccountException"),
        "{error}"
    );

    let member_iam = aws_sdk_iam::Client::new(&account_admin(&moto, &org.members[0]).await);
    let refused = member_iam.list_organizations_features().send().await;
    let error = error_text(&refused.expect_err("a member"));
    assert!(
        error.starts_with("AccountNotManagementOrDelegatedAdministratorException"),
        "{error}"
    );

    iam.disable_organizations_root_sessions()
        .send()
        .await
        .expect("DisableOrganizationsRootSessions");
    let target = &org.members[0];
    let error = assume_root(&moto.sdk_config(), target, AUDIT_ROOT, None).await;
    assert!(error.expect_err("disabled").contains("RootSessions"));
    iam.enable_organizations_root_sessions()
        .send()
        .await
        .expect("EnableOrganizationsRootSessions");
    assert!(
        assume_root(&moto.sdk_config(), target, AUDIT_ROOT, None)
            .await
            .is_ok()
    );

    disable_trusted_access_for_iam(&moto).await;
    let refused = iam.list_organizations_features().send().await;
    let error = error_text(&refused.expect_err("no trusted access"));
    assert!(
        error.starts_with("ServiceAccessNotEnabledException"),
        "{error}"
    );
}

#[tokio::test]
async fn assume_root_reaches_active_member_accounts_with_a_root_task_policy_for_at_most_900_seconds()
 {
    let moto = Moto::start();
    let org = seed_organisation(&moto, 1).await;
    let security = function_config(&moto, org.function_role("root-credentials"));
    let member = &org.members[0];

    for (target, why) in [
        (MANAGEMENT, "is the organization's management account"),
        (org.suspended_member.as_str(), "is SUSPENDED"),
        (
            "999988887777",
            "is not a member account of the organization",
        ),
    ] {
        let error = assume_root(&security, target, DELETE_ROOT, None).await;
        let error = error.expect_err(target);
        assert!(
            error.starts_with("AccessDenied") && error.contains(why),
            "{target}: {error}"
        );
    }

    let error = assume_root(
        &security,
        member,
        "arn:aws:iam::aws:policy/AdministratorAccess",
        None,
    );
    let error = error.await.expect_err("not a root-task policy");
    assert!(error.starts_with("ValidationError"), "{error}");

    let error = assume_root(&security, member, DELETE_ROOT, Some(901)).await;
    let error = error.expect_err("longer than 900 seconds");
    assert!(
        error.starts_with("ValidationError") && error.contains("900"),
        "{error}"
    );

    let by_arn = format!("arn:aws:iam::{member}:root");
    let credentials = assume_root(&security, &by_arn, DELETE_ROOT, Some(900)).await;
    let iam = aws_sdk_iam::Client::new(&config_with(&moto, credentials.expect("by ARN")));
    assert!(iam.list_access_keys().send().await.is_ok());

    // A session that has ended.
    let expired = assume_root(&security, member, AUDIT_ROOT, Some(0)).await;
    let iam = aws_sdk_iam::Client::new(&config_with(&moto, expired.expect("0 seconds")));
    let error = error_text(&iam.list_access_keys().send().await.expect_err("expired"));
    assert!(error.starts_with("ExpiredToken"), "{error}");
}

/// `GetAccessKeyLastUsed` of `key_id`.
async fn last_use(
    iam: &aws_sdk_iam::Client,
    key_id: &str,
) -> aws_sdk_iam::types::AccessKeyLastUsed {
    let used = iam.get_access_key_last_used().access_key_id(key_id).send();
    let used = used.await.expect("GetAccessKeyLastUsed");
    used.access_key_last_used.expect("last used")
}

/// A fresh test bed with an organisation of `member_count` members, the first member's root
/// user seeded with credentials, and the root-credentials function's root session on it with
/// `task_policy`: the test bed, the organisation, the root user's credentials as seeded, its
/// access key IDs, the function's configuration and IAM in the session.
async fn root_session(
    member_count: usize,
    task_policy: &str,
) -> (
    Moto,
    Organisation,
    Value,
    Vec<String>,
    SdkConfig,
    aws_sdk_iam::Client,
) {
    let moto = Moto::start();
    let org = seed_organisation(&moto, member_count).await;
    let member = &org.members[0];
    let seeded = seeded_root(&moto, member);
    let keys = ids(&seeded, "access_keys", "access_key_id");
    let security = function_config(&moto, org.function_role("root-credentials"));
    let iam = root_iam(&moto, &security, member, task_policy).await;
    (moto, org, seeded, keys, security, iam)
}

fn seeded_root(moto: &Moto, account: &str) -> Value {
    seed_root_credentials(
        moto,
        account,
        &RootCredentials {
            access_keys: vec![
                RootKey {
                    active: true,
                    created: days_ago(400),
                    last_used: Some(days_ago(3)),
                },
                RootKey {
                    active: false,
                    created: days_ago(200),
                    last_used: None,
                },
            ],
            password: Some((days_ago(300), Some(days_ago(30)))),
            mfa_devices: vec![true, false],
            signing_certificates: 1,
        },
    )
}

fn ids(seeded: &Value, list: &str, field: &str) -> Vec<String> {
    seeded[list]
        .as_array()
        .expect(list)
        .iter()
        .map(|entry| entry[field].as_str().expect(field).to_owned())
        .collect()
}

#[tokio::test]
async fn an_audit_root_session_reads_the_root_user_credentials() {
    let (moto, org, _, keys, security, iam) = root_session(2, AUDIT_ROOT).await;
    let member = &org.members[0];

    let listed = iam.list_access_keys().send().await.expect("ListAccessKeys");
    let listed: Vec<(String, String, String)> = listed
        .access_key_metadata()
        .iter()
        .map(|k| {
            let created = k.create_date().expect("created");
            let created = Time::from_timestamp(created.secs(), 0).expect("time");
            (
                k.access_key_id().unwrap_or_default().to_owned(),
                k.status()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
                created.format("%Y-%m-%d").to_string(),
            )
        })
        .collect();
    let day = |days| days_ago(days).format("%Y-%m-%d").to_string();
    assert_eq!(
        listed,
        [
            (keys[0].clone(), "Active".into(), day(400)),
            (keys[1].clone(), "Inactive".into(), day(200)),
        ]
    );
    let used = last_use(&iam, &keys[0]).await;
    let when = used.last_used_date.expect("used");
    assert_eq!(
        Time::from_timestamp(when.secs(), 0)
            .expect("time")
            .format("%Y-%m-%d")
            .to_string(),
        day(3)
    );
    let never = last_use(&iam, &keys[1]).await;
    assert!(never.last_used_date.is_none());
    assert_eq!(never.service_name, "N/A");

    assert!(
        iam.get_login_profile().send().await.is_ok(),
        "the root password"
    );
    let devices = iam.list_mfa_devices().send().await.expect("ListMFADevices");
    assert_eq!(devices.mfa_devices().len(), 2);
    let certificates = iam
        .list_signing_certificates()
        .send()
        .await
        .expect("certificates");
    assert_eq!(certificates.certificates().len(), 1);
    let me = iam
        .get_user()
        .send()
        .await
        .expect("GetUser")
        .user
        .expect("user");
    assert_eq!(me.arn, format!("arn:aws:iam::{member}:root"));
    let sts =
        aws_sdk_sts::Client::new(&root_config(&moto, &security, member, AUDIT_ROOT, None).await);
    let identity = sts
        .get_caller_identity()
        .send()
        .await
        .expect("GetCallerIdentity");
    assert_eq!(
        identity.arn(),
        Some(format!("arn:aws:iam::{member}:root").as_str())
    );

    // Each account has its own root user: the other member's is empty.
    let other = root_iam(&moto, &security, &org.members[1], AUDIT_ROOT).await;
    let none = other
        .list_access_keys()
        .send()
        .await
        .expect("ListAccessKeys");
    assert!(none.access_key_metadata().is_empty());
}

#[tokio::test]
async fn an_audit_root_session_changes_nothing_and_reaches_nothing_else() {
    let (moto, org, seeded, keys, security, iam) = root_session(1, AUDIT_ROOT).await;
    let member = &org.members[0];

    // Nothing the audit policy does not allow: no deletion, no IAM user, no other call.
    let delete_key = iam.delete_access_key().access_key_id(&keys[0]).send().await;
    let delete_password = iam.delete_login_profile().send().await;
    let users = iam.list_users().send().await;
    let users_keys = iam.list_access_keys().user_name("alice").send().await;
    let create_user = iam.create_user().user_name("mallory").send().await;
    let denied = [
        error_text(&delete_key.expect_err("delete")),
        error_text(&delete_password.expect_err("delete password")),
        error_text(&users.expect_err("ListUsers")),
        error_text(&users_keys.expect_err("a user's keys")),
        error_text(&create_user.expect_err("CreateUser")),
    ];
    for error in &denied {
        assert!(
            error.starts_with(&format!(
                "AccessDenied: User: arn:aws:iam::{member}:root is not authorized to perform: iam:"
            )),
            "{error}"
        );
    }
    assert!(denied[0].contains("because no session policy allows the iam:DeleteAccessKey action"));
    let organizations = aws_sdk_organizations::Client::new(
        &root_config(&moto, &security, member, AUDIT_ROOT, None).await,
    );
    let error = organizations
        .list_accounts()
        .send()
        .await
        .expect_err("Organizations");
    assert!(error_text(&error).starts_with("AccessDenied"), "{error:?}");
    assert_eq!(root_credentials(&moto, member), seeded, "unchanged");
}

/// GetAccountSummary's root user fields: access keys, MFA, signing certificates present (0 or 1).
async fn root_summary(iam: &aws_sdk_iam::Client) -> [i32; 3] {
    use aws_sdk_iam::types::SummaryKeyType;
    let summary = iam
        .get_account_summary()
        .send()
        .await
        .expect("GetAccountSummary");
    let map = summary.summary_map.unwrap_or_default();
    [
        SummaryKeyType::AccountAccessKeysPresent,
        SummaryKeyType::AccountMfaEnabled,
        SummaryKeyType::AccountSigningCertificatesPresent,
    ]
    .map(|key| map.get(&key).copied().unwrap_or_default())
}

#[tokio::test]
async fn a_delete_root_session_deletes_the_root_user_credentials() {
    let (moto, org, seeded, keys, _, iam) = root_session(1, DELETE_ROOT).await;
    let member = &org.members[0];
    let devices = ids(&seeded, "mfa_devices", "serial_number");
    let certificates = ids(&seeded, "signing_certificates", "certificate_id");
    let member_role = Organisation::member_role(member);
    let function = function_config(&moto, org.function_role("access-keys"));
    let member_iam =
        aws_sdk_iam::Client::new(&config_as_role(&moto, &function, &member_role).await);
    assert_eq!(root_summary(&member_iam).await, [1, 1, 1], "seeded");

    for key in &keys {
        let deleted = iam.delete_access_key().access_key_id(key).send().await;
        deleted.expect("DeleteAccessKey");
    }
    let again = iam.delete_access_key().access_key_id(&keys[0]).send().await;
    assert!(error_text(&again.expect_err("gone")).starts_with("NoSuchEntity"));
    iam.delete_login_profile()
        .send()
        .await
        .expect("DeleteLoginProfile");
    let gone = iam
        .get_login_profile()
        .send()
        .await
        .expect_err("no password");
    assert!(error_text(&gone).starts_with("NoSuchEntity"));

    // A virtual device is deactivated, then deleted; deleting it first is a conflict.
    let conflict = iam
        .delete_virtual_mfa_device()
        .serial_number(&devices[0])
        .send()
        .await;
    assert!(error_text(&conflict.expect_err("in use")).starts_with("DeleteConflict"));
    for device in &devices {
        iam.deactivate_mfa_device()
            .serial_number(device)
            .send()
            .await
            .expect("DeactivateMFADevice");
    }
    iam.delete_virtual_mfa_device()
        .serial_number(&devices[0])
        .send()
        .await
        .expect("DeleteVirtualMFADevice");
    iam.delete_signing_certificate()
        .certificate_id(&certificates[0])
        .send()
        .await
        .expect("DeleteSigningCertificate");

    let left = root_credentials(&moto, member);
    assert_eq!(
        left,
        json!({"access_keys": [], "login_profile": null, "mfa_devices": [], "signing_certificates": []})
    );
    let listed = iam.list_mfa_devices().send().await.expect("ListMFADevices");
    assert!(listed.mfa_devices().is_empty());
    assert_eq!(root_summary(&member_iam).await, [0, 0, 0], "deleted");

    // Still nothing beyond the delete policy.
    let error = iam
        .update_access_key()
        .access_key_id("AKIAEXAMPLE")
        .status("Inactive".into())
        .send()
        .await;
    assert!(error_text(&error.expect_err("UpdateAccessKey")).starts_with("AccessDenied"));
    let error = iam
        .create_login_profile()
        .password("Correct-Horse-Battery-9!")
        .send()
        .await;
    assert!(error_text(&error.expect_err("CreateLoginProfile")).starts_with("AccessDenied"));
}

// -- Organizations tags on member accounts ----------------------------------------------------------

/// An account's tags as `config`'s principal reads them (`ListTagsForResource`), sorted.
async fn account_tags(config: &SdkConfig, account: &str) -> Result<Vec<(String, String)>, String> {
    let organizations = aws_sdk_organizations::Client::new(config);
    let listed = organizations
        .list_tags_for_resource()
        .resource_id(account)
        .send()
        .await
        .map_err(|e| error_text(&e))?;
    let mut tags: Vec<(String, String)> = listed
        .tags()
        .iter()
        .map(|t| (t.key().to_owned(), t.value().to_owned()))
        .collect();
    tags.sort();
    Ok(tags)
}

#[tokio::test]
async fn the_delegated_administrator_tags_and_untags_member_accounts() {
    let moto = Moto::start();
    let org = seed_organisation(&moto, 2).await;
    let security = function_config(&moto, org.function_role("root-credentials"));
    let organizations = aws_sdk_organizations::Client::new(&security);
    let member = &org.members[0];
    let warning = "iam-remediation:warned:root-credentials:AKIAROOTEXAMPLE00001";

    let tag = aws_sdk_organizations::types::Tag::builder()
        .key(warning)
        .value("delete-root-access-key 2026-06-15T12:00:00Z")
        .build()
        .expect("tag");
    let tagged = organizations
        .tag_resource()
        .resource_id(member)
        .tags(tag.clone())
        .send()
        .await
        .map_err(|e| error_text(&e));
    assert!(tagged.is_ok(), "{tagged:?}");
    let expected = vec![(
        warning.to_owned(),
        "delete-root-access-key 2026-06-15T12:00:00Z".to_owned(),
    )];
    assert_eq!(account_tags(&security, member).await, Ok(expected.clone()));
    assert_eq!(
        account_tags(&moto.sdk_config(), member).await,
        Ok(expected),
        "the organisation's own tags, as the management account sees them"
    );

    // A member that is no delegated administrator can do neither.
    let other = account_admin(&moto, &org.members[1]).await;
    let refused = aws_sdk_organizations::Client::new(&other)
        .tag_resource()
        .resource_id(member)
        .tags(tag)
        .send()
        .await
        .map_err(|e| error_text(&e));
    let error = refused.expect_err("not a delegated administrator");
    assert!(error.starts_with("AccessDeniedException"), "{error}");

    let untagged = organizations
        .untag_resource()
        .resource_id(member)
        .tag_keys(warning)
        .send()
        .await
        .map_err(|e| error_text(&e));
    assert!(untagged.is_ok(), "{untagged:?}");
    assert_eq!(account_tags(&security, member).await, Ok(Vec::new()));
}
