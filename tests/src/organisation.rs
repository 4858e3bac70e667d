//! The organisation test bed (issues 21 and 22): helpers shared by the organisation tests
//! (`tests/tests/test_bed_organisation.rs`, the test bed's own tests, and
//! `tests/tests/organisation.rs`, the functions' organisation mode). Several accounts in one AWS
//! Organizations organisation on moto's server, and what real AWS does that moto lacks, taught in
//! `tests/moto/organisation_ext.py`: role trust on AssumeRole, asynchronous Lambda invocations
//! recorded for replay, ListAccounts paging, and `sts:AssumeRoot` root sessions on seeded root
//! user credentials.

use aws_config::SdkConfig;
use aws_sdk_iam::config::{Credentials, SharedCredentialsProvider};
use aws_sdk_iam::error::ProvideErrorMetadata;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{FunctionCode, Runtime};
use aws_sdk_organizations::types::{AccountState, OrganizationFeatureSet};
use aws_sdk_sts::types::PolicyDescriptorType;
use serde_json::{Value, json};

use crate::{EXEMPT, Moto, Time, iso};

/// The organisation's management account: the account of the tests' own credentials, which
/// creates the organisation.
pub const MANAGEMENT: &str = "123456789012";
/// The member role's name and path (`MEMBER_ROLE_NAME`, `member-template.yaml`).
pub const MEMBER_ROLE_NAME: &str = "iam-remediation-member";
pub const MEMBER_ROLE_PATH: &str = "/iam-remediation/";
/// The path of the organisation stack's function roles (as `template.yaml` puts them).
pub const FUNCTION_ROLE_PATH: &str = "/iam-remediation/";
/// The role Organizations creates in every account it creates, trusting the management account.
pub const ACCOUNT_ACCESS_ROLE: &str = "OrganizationAccountAccessRole";
/// The root-task policies AssumeRoot accepts that the functions use.
pub const AUDIT_ROOT: &str = "arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials";
pub const DELETE_ROOT: &str = "arn:aws:iam::aws:policy/root-task/IAMDeleteRootUserCredentials";
pub const IAM_SERVICE: &str = "iam.amazonaws.com";

/// An organisation seeded by [`seed_organisation`]: account IDs and the function roles.
#[derive(Debug, Clone)]
pub struct Organisation {
    pub id: String,
    /// [`MANAGEMENT`].
    pub management: String,
    /// The security account: delegated administrator for IAM and Security Hub, where the
    /// functions run.
    pub security: String,
    /// Members carrying the member role (`/iam-remediation/<MEMBER_ROLE_NAME>`).
    pub members: Vec<String>,
    /// A member without the member role.
    pub member_without_role: String,
    /// A member with the member role, tagged `iam-remediation:exempt=true` in Organizations.
    pub exempt_member: String,
    /// A member closed with CloseAccount (`SUSPENDED`), its member role still there.
    pub suspended_member: String,
    /// The function roles in the security account, by function (`access-keys` …), which the
    /// member roles trust.
    pub function_roles: Vec<(String, String)>,
}

impl Organisation {
    /// The function role ARN of `function` (`access-keys`, `root-credentials` …).
    pub fn function_role(&self, function: &str) -> &str {
        self.function_roles
            .iter()
            .find(|(name, _)| name == function)
            .map_or_else(|| panic!("no function role {function}"), |(_, arn)| arn)
    }

    /// The member role's ARN in `account`.
    pub fn member_role(account: &str) -> String {
        format!("arn:aws:iam::{account}:role{MEMBER_ROLE_PATH}{MEMBER_ROLE_NAME}")
    }

    /// Every account that ListAccounts shows `ACTIVE`.
    pub fn active_accounts(&self) -> Vec<String> {
        let mut accounts = vec![self.management.clone(), self.security.clone()];
        accounts.extend(self.members.iter().cloned());
        accounts.push(self.member_without_role.clone());
        accounts.push(self.exempt_member.clone());
        accounts.sort();
        accounts
    }
}

/// The functions of the organisation stack, each with its own role in the security account.
pub const FUNCTIONS: [&str; 5] = [
    "access-keys",
    "console-passwords",
    "password-policy",
    "inline-policies",
    "root-credentials",
];

/// [`Moto::sdk_config`] signed with `credentials`.
pub fn config_with(moto: &Moto, credentials: Credentials) -> SdkConfig {
    moto.sdk_config()
        .to_builder()
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .build()
}

/// SDK credentials from STS credentials (AssumeRole's or AssumeRoot's).
pub fn credentials_of(sts: &aws_sdk_sts::types::Credentials) -> Credentials {
    Credentials::new(
        sts.access_key_id(),
        sts.secret_access_key(),
        Some(sts.session_token().to_owned()),
        None,
        "test-bed",
    )
}

/// Assumes `role_arn` as `config`'s principal; the SDK's error as it comes (a refusal is a test).
pub async fn assume_role(
    config: &SdkConfig,
    role_arn: &str,
    session: &str,
) -> Result<Credentials, String> {
    let sts = aws_sdk_sts::Client::new(config);
    let request = sts
        .assume_role()
        .role_arn(role_arn)
        .role_session_name(session);
    let answer = request.send().await.map_err(|e| error_text(&e))?;
    Ok(credentials_of(answer.credentials().expect("credentials")))
}

/// Assumes `role_arn` as `config`'s principal and returns an SDK configuration acting as it.
pub async fn config_as_role(moto: &Moto, config: &SdkConfig, role_arn: &str) -> SdkConfig {
    let credentials = assume_role(config, role_arn, "test-bed")
        .await
        .unwrap_or_else(|e| panic!("AssumeRole {role_arn}: {e}"));
    config_with(moto, credentials)
}

/// An administrator of `account`: the management account's session in the account's
/// `OrganizationAccountAccessRole` (created by Organizations with the account).
pub async fn account_admin(moto: &Moto, account: &str) -> SdkConfig {
    let role = format!("arn:aws:iam::{account}:role/{ACCOUNT_ACCESS_ROLE}");
    config_as_role(moto, &moto.sdk_config(), &role).await
}

/// What Lambda gives a function whose execution role is `role_arn` (`POST
/// /_test/sts/service-credentials`: refused unless the role trusts lambda.amazonaws.com).
pub fn function_config(moto: &Moto, role_arn: &str) -> SdkConfig {
    let body = json!({"role_arn": role_arn, "service": "lambda.amazonaws.com"});
    control_credentials(moto, "/_test/sts/service-credentials", body, "lambda")
}

/// [`Moto::sdk_config`] signed with the credentials (`AccessKeyId`, `SecretAccessKey` and
/// `SessionToken` if any) that `POST path` with `body` answers.
fn control_credentials(moto: &Moto, path: &str, body: Value, provider: &'static str) -> SdkConfig {
    let answer = moto.control("POST", path, Some(body));
    let text = |field: &str| answer[field].as_str().expect(field).to_owned();
    let token = answer["SessionToken"].as_str().map(str::to_owned);
    let credentials = Credentials::new(
        text("AccessKeyId"),
        text("SecretAccessKey"),
        token,
        None,
        provider,
    );
    config_with(moto, credentials)
}

/// Credentials of an IAM user `user_name` created (with an access key) in `account`, any account,
/// in the organisation or not (`POST /_test/organisation/account-user`).
pub fn account_user_config(moto: &Moto, account: &str, user_name: &str) -> SdkConfig {
    let body = json!({"account": account, "user_name": user_name});
    control_credentials(
        moto,
        "/_test/organisation/account-user",
        body,
        "account-user",
    )
}

/// `code: message` of an AWS error (what the tests assert on).
pub fn error_text<E: ProvideErrorMetadata>(error: &E) -> String {
    format!(
        "{}: {}",
        error.code().unwrap_or("(no code)"),
        error.message().unwrap_or("(no message)")
    )
}

/// A role trust policy allowing `sts:AssumeRole` to these AWS principals.
pub fn trusting(principals: &[&str]) -> Value {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": principals}, "Action": "sts:AssumeRole"}]})
}

/// Creates a role in `iam`'s account with this trust policy, tagged with `tags`.
pub async fn create_role_trusting(
    iam: &aws_sdk_iam::Client,
    name: &str,
    path: &str,
    trust: &Value,
    tags: &[(&str, &str)],
) -> String {
    let tags = tags.iter().map(|(key, value)| {
        let tag = aws_sdk_iam::types::Tag::builder().key(*key).value(*value);
        tag.build().expect("tag")
    });
    let role = iam
        .create_role()
        .role_name(name)
        .path(path)
        .assume_role_policy_document(trust.to_string())
        .set_tags(Some(tags.collect()))
        .send()
        .await
        .expect("CreateRole")
        .role
        .expect("role");
    role.arn
}

/// Creates an account in the organisation (as the management account), tagged with `tags`.
pub async fn create_account(
    organizations: &aws_sdk_organizations::Client,
    name: &str,
    tags: &[(&str, &str)],
) -> String {
    let mut request = organizations
        .create_account()
        .account_name(name)
        .email(format!("{name}@example.com"));
    for (key, value) in tags {
        let tag = aws_sdk_organizations::types::Tag::builder()
            .key(*key)
            .value(*value);
        request = request.tags(tag.build().expect("tag"));
    }
    let status = request.send().await.expect("CreateAccount");
    let status = status.create_account_status.expect("status");
    status.account_id.expect("account ID")
}

/// Seeds an organisation as its administrators would: the organisation (all features, created
/// by [`MANAGEMENT`]), a security account that is the delegated administrator for IAM and
/// Security Hub with trusted access for both, one role per function in it
/// (`/iam-remediation/iam-remediation-<function>`, trusting Lambda), `member_count` members with
/// the member role (trusting exactly those function roles, tagged exempt), a member without it,
/// an exempt member (account tag `iam-remediation:exempt=true`) and a suspended member, and
/// centralized root access (root credentials management and root sessions) enabled.
pub async fn seed_organisation(moto: &Moto, member_count: usize) -> Organisation {
    let organizations = aws_sdk_organizations::Client::new(&moto.sdk_config());
    let created = organizations
        .create_organization()
        .feature_set(OrganizationFeatureSet::All)
        .send()
        .await
        .expect("CreateOrganization");
    let id = created
        .organization
        .and_then(|o| o.id)
        .expect("organisation ID");
    let security = create_account(&organizations, "security", &[]).await;
    let mut members = Vec::new();
    for n in 0..member_count {
        members.push(create_account(&organizations, &format!("member-{n}"), &[]).await);
    }
    let member_without_role = create_account(&organizations, "no-role", &[]).await;
    let exempt_member = create_account(&organizations, "exempt", &[(EXEMPT, "true")]).await;
    let suspended_member = create_account(&organizations, "suspended", &[]).await;

    for service in [IAM_SERVICE, "securityhub.amazonaws.com"] {
        organizations
            .enable_aws_service_access()
            .service_principal(service)
            .send()
            .await
            .expect("EnableAWSServiceAccess");
        organizations
            .register_delegated_administrator()
            .account_id(&security)
            .service_principal(service)
            .send()
            .await
            .expect("RegisterDelegatedAdministrator");
    }

    let security_iam = aws_sdk_iam::Client::new(&account_admin(moto, &security).await);
    let lambda_trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
    let mut function_roles = Vec::new();
    for function in FUNCTIONS {
        let name = format!("iam-remediation-{function}");
        let arn = create_role_trusting(
            &security_iam,
            &name,
            FUNCTION_ROLE_PATH,
            &lambda_trust,
            &[(EXEMPT, "true")],
        )
        .await;
        function_roles.push((function.to_owned(), arn));
    }

    let trusted: Vec<&str> = function_roles.iter().map(|(_, arn)| arn.as_str()).collect();
    let with_role = members
        .iter()
        .chain([&exempt_member, &suspended_member])
        .cloned()
        .collect::<Vec<_>>();
    for account in &with_role {
        add_member_role(moto, account, &trusting(&trusted)).await;
    }

    organizations
        .close_account()
        .account_id(&suspended_member)
        .send()
        .await
        .expect("CloseAccount");

    let iam = moto.iam();
    iam.enable_organizations_root_credentials_management()
        .send()
        .await
        .expect("EnableOrganizationsRootCredentialsManagement");
    iam.enable_organizations_root_sessions()
        .send()
        .await
        .expect("EnableOrganizationsRootSessions");

    Organisation {
        id,
        management: MANAGEMENT.to_owned(),
        security,
        members,
        member_without_role,
        exempt_member,
        suspended_member,
        function_roles,
    }
}

/// Gives `account` the member role with this trust policy (as `member-template.yaml` does).
pub async fn add_member_role(moto: &Moto, account: &str, trust: &Value) -> String {
    let iam = aws_sdk_iam::Client::new(&account_admin(moto, account).await);
    create_role_trusting(
        &iam,
        MEMBER_ROLE_NAME,
        MEMBER_ROLE_PATH,
        trust,
        &[(EXEMPT, "true")],
    )
    .await
}

/// Every account of the organisation as `config`'s principal reads them, page by page
/// (`max_results` per page): (ID, state) in the order ListAccounts gives them, and the number of
/// pages.
pub async fn list_accounts(
    config: &SdkConfig,
    max_results: Option<i32>,
) -> Result<(Vec<(String, String)>, usize), String> {
    let organizations = aws_sdk_organizations::Client::new(config);
    let mut accounts = Vec::new();
    let mut pages = 0;
    let mut token: Option<String> = None;
    loop {
        let request = organizations
            .list_accounts()
            .set_max_results(max_results)
            .set_next_token(token.take());
        let page = request.send().await.map_err(|e| error_text(&e))?;
        pages += 1;
        for account in page.accounts() {
            let state = account
                .state()
                .map(AccountState::as_str)
                .unwrap_or_default();
            accounts.push((
                account.id().unwrap_or_default().to_owned(),
                state.to_owned(),
            ));
        }
        match page.next_token {
            Some(next) => token = Some(next),
            None => return Ok((accounts, pages)),
        }
    }
}

/// Sets an account's `State` (`PENDING_CLOSURE`, `CLOSED` …) straight, as time would.
pub fn set_account_state(moto: &Moto, account: &str, state: &str) {
    let body = json!({"account_id": account, "state": state});
    moto.control("POST", "/_test/organisation/account-state", Some(body));
}

/// Makes every ListAccounts page at most `size` accounts long, whatever MaxResults asked
/// (`None`: as asked, 20 at most).
pub fn set_accounts_page_size(moto: &Moto, size: Option<u32>) {
    let body = json!({ "page_size": size });
    moto.control("POST", "/_test/organisation/list-accounts", Some(body));
}

/// Sets the organisation's centralized root access features straight
/// (`RootCredentialsManagement`, `RootSessions`), as IAM's Enable/Disable calls would.
pub fn set_root_features(moto: &Moto, features: &[&str]) {
    let body = json!({ "features": features });
    moto.control("POST", "/_test/organisation/root-features", Some(body));
}

// -- Lambda -------------------------------------------------------------------------------------

/// An empty zip archive: moto stores a function's code without running it.
const EMPTY_ZIP: [u8; 22] = [
    0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
];

/// Creates the function `name` with execution role `role_arn` in `lambda`'s account; its ARN.
pub async fn create_function(
    lambda: &aws_sdk_lambda::Client,
    name: &str,
    role_arn: &str,
) -> String {
    let code = FunctionCode::builder()
        .zip_file(Blob::new(EMPTY_ZIP.to_vec()))
        .build();
    let created = lambda
        .create_function()
        .function_name(name)
        .runtime(Runtime::Providedal2023)
        .handler("bootstrap")
        .role(role_arn)
        .code(code)
        .send()
        .await
        .expect("CreateFunction");
    created.function_arn.expect("function ARN")
}

/// One asynchronous invocation (`InvocationType=Event`) the test bed recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct Dispatched {
    pub function_name: String,
    pub function_arn: String,
    pub account: String,
    pub payload: Value,
}

fn dispatched_from(recorded: &Value) -> Vec<Dispatched> {
    let text = |entry: &Value, field: &str| entry[field].as_str().unwrap_or_default().to_owned();
    recorded
        .as_array()
        .expect("invocations")
        .iter()
        .map(|entry| Dispatched {
            function_name: text(entry, "function_name"),
            function_arn: text(entry, "function_arn"),
            account: text(entry, "account"),
            payload: entry["payload"].clone(),
        })
        .collect()
}

/// The asynchronous invocations made so far (`GET /_test/lambda/invocations`), oldest first.
pub fn dispatched(moto: &Moto) -> Vec<Dispatched> {
    dispatched_from(&moto.control("GET", "/_test/lambda/invocations", None))
}

/// The asynchronous invocations made so far, forgotten by the test bed (`POST
/// /_test/lambda/invocations/take`): a test replays each one exactly once, as Lambda runs it.
pub fn take_dispatched(moto: &Moto) -> Vec<Dispatched> {
    dispatched_from(&moto.control("POST", "/_test/lambda/invocations/take", None))
}

// -- root user credentials and AssumeRoot ---------------------------------------------------------

/// A root access key to seed: active or not, created and last used when.
#[derive(Debug, Clone, Copy)]
pub struct RootKey {
    pub active: bool,
    pub created: Time,
    pub last_used: Option<Time>,
}

/// The root user credentials of a member account, to seed.
#[derive(Debug, Clone, Default)]
pub struct RootCredentials {
    pub access_keys: Vec<RootKey>,
    /// A console password: created when, last used when.
    pub password: Option<(Time, Option<Time>)>,
    /// MFA devices: `true` for a virtual one, `false` for a hardware one.
    pub mfa_devices: Vec<bool>,
    pub signing_certificates: usize,
}

/// Gives `account`'s root user these credentials (`POST /_test/organisation/root-credentials/<account>`),
/// replacing what it had. Returns them as the test bed holds them, with their IDs:
/// `{"access_keys": [{"access_key_id", "status", "create_date", "last_used"}], "login_profile",
/// "mfa_devices": [{"serial_number", "virtual", "enabled"}], "signing_certificates":
/// [{"certificate_id", "status"}]}`.
pub fn seed_root_credentials(moto: &Moto, account: &str, credentials: &RootCredentials) -> Value {
    let keys: Vec<Value> = credentials
        .access_keys
        .iter()
        .map(|key| {
            json!({"status": if key.active { "Active" } else { "Inactive" },
                   "create_date": iso(key.created),
                   "last_used": key.last_used.map(iso)})
        })
        .collect();
    let password = credentials.password.map(
        |(created, used)| json!({"create_date": iso(created), "password_last_used": used.map(iso)}),
    );
    let devices: Vec<Value> = (credentials.mfa_devices.iter().enumerate())
        .map(|(n, is_virtual)| {
            let serial = if *is_virtual {
                format!("arn:aws:iam::{account}:mfa/root-device-{n}")
            } else {
                format!("GAHT1234567{n}")
            };
            json!({"serial_number": serial, "virtual": is_virtual})
        })
        .collect();
    let certificates = vec![json!({}); credentials.signing_certificates];
    moto.control(
        "POST",
        &format!("/_test/organisation/root-credentials/{account}"),
        Some(json!({"access_keys": keys, "login_profile": password,
                    "mfa_devices": devices, "signing_certificates": certificates})),
    )
}

/// `account`'s root user credentials as the test bed holds them now (as
/// [`seed_root_credentials`] returns them).
pub fn root_credentials(moto: &Moto, account: &str) -> Value {
    let path = format!("/_test/organisation/root-credentials/{account}");
    moto.control("GET", &path, None)
}

/// The root sessions AssumeRoot issued: `{"account", "task_policy_arn", "duration_seconds",
/// "caller", "caller_account", …}` (no secrets).
pub fn root_sessions(moto: &Moto) -> Vec<Value> {
    let sessions = moto.control("GET", "/_test/organisation/root-sessions", None);
    sessions.as_array().expect("sessions").clone()
}

/// AssumeRoot as `config`'s principal into `target` with `task_policy`, for `duration` seconds
/// (`None`: AWS's default); the SDK's error as `code: message`.
pub async fn assume_root(
    config: &SdkConfig,
    target: &str,
    task_policy: &str,
    duration: Option<i32>,
) -> Result<Credentials, String> {
    let sts = aws_sdk_sts::Client::new(config);
    let policy = PolicyDescriptorType::builder().arn(task_policy).build();
    let request = sts
        .assume_root()
        .target_principal(target)
        .task_policy_arn(policy)
        .set_duration_seconds(duration);
    let answer = request.send().await.map_err(|e| error_text(&e))?;
    Ok(credentials_of(answer.credentials().expect("credentials")))
}

/// An IAM client acting as `target`'s root user with `task_policy`, through AssumeRoot as
/// `config`'s principal.
pub async fn root_iam(
    moto: &Moto,
    config: &SdkConfig,
    target: &str,
    task_policy: &str,
) -> aws_sdk_iam::Client {
    aws_sdk_iam::Client::new(&root_config(moto, config, target, task_policy, Some(900)).await)
}

/// [`Moto::sdk_config`] signed with the root session [`assume_root`] gives.
pub async fn root_config(
    moto: &Moto,
    config: &SdkConfig,
    target: &str,
    task_policy: &str,
    duration_seconds: Option<i32>,
) -> SdkConfig {
    let credentials = assume_root(config, target, task_policy, duration_seconds)
        .await
        .unwrap_or_else(|e| panic!("AssumeRoot {target}: {e}"));
    config_with(moto, credentials)
}
