//! The local IAM test bed: moto's server behind a small test-only wrapper
//! (`tests/moto/server.py`), started on a free loopback port for each test and stopped when the
//! test ends, plus the helpers every test file shares: to seed accounts (users, keys, passwords,
//! groups, roles, policies, tags), travel in time, inject faults, count calls, read IAM state
//! back, build and invoke the four functions, and read their reports.

pub mod organisation;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::SystemTime;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_iam::Client;
use aws_sdk_iam::config::Credentials;
use aws_sdk_iam::operation::get_account_password_policy::GetAccountPasswordPolicyError;
use aws_sdk_iam::operation::get_login_profile::GetLoginProfileError;
use aws_sdk_iam::types::{PasswordPolicy, Tag};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use iam_remediation::{
    ActionRecord, Clients, Error, Principal, PrincipalKind, Remediation, Report, Status,
};
use serde_json::{Value, json};

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// The Python that has moto: `MOTO_PYTHON`, else the workspace's `.venv`.
fn python() -> PathBuf {
    if let Some(python) = std::env::var_os("MOTO_PYTHON") {
        return PathBuf::from(python);
    }
    let venv = workspace_root().join(".venv/bin/python");
    assert!(
        venv.exists(),
        "no Python with moto: run `scripts/setup-venv` (or the README's test command, \
         `scripts/test`), or set MOTO_PYTHON"
    );
    venv
}

/// A running moto server, stopped on drop.
#[derive(Debug)]
pub struct Moto {
    child: Child,
    // Held open: the server exits when its standard input closes.
    _stdin: ChildStdin,
    pub endpoint: String,
}

impl Moto {
    /// Starts a fresh server (an empty account) on a free port.
    pub fn start() -> Self {
        let mut child = Command::new(python())
            .arg(workspace_root().join("tests/moto/server.py"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto's server");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the port");
        let port: u16 = line
            .strip_prefix("PORT ")
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("moto's server did not start: {line:?}"));
        Self {
            child,
            _stdin: stdin,
            endpoint: format!("http://127.0.0.1:{port}"),
        }
    }

    /// Starts a fresh server, as [`Moto::start`], with an IAM client of it.
    pub fn with_iam() -> (Self, Client) {
        let moto = Self::start();
        let iam = moto.iam();
        (moto, iam)
    }

    /// SDK configuration pointed at this server, with retries as in production.
    pub fn sdk_config(&self) -> SdkConfig {
        SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(&self.endpoint)
            .credentials_provider(aws_sdk_iam::config::SharedCredentialsProvider::new(
                Credentials::for_tests(),
            ))
            .retry_config(
                aws_smithy_types::retry::RetryConfig::standard()
                    .with_max_attempts(5)
                    .with_initial_backoff(std::time::Duration::from_millis(10)),
            )
            .sleep_impl(aws_smithy_async::rt::sleep::default_async_sleep().expect("sleep"))
            .time_source(aws_smithy_async::time::SystemTimeSource::new())
            // The functions' own HTTP client: the SDK crates are built without a default one.
            .http_client(iam_remediation::clients::http_client())
            .build()
    }

    /// [`Moto::sdk_config`] with these timeouts (for example a short operation attempt timeout,
    /// so that a slow answer makes the SDK give up on the attempt and retry).
    pub fn sdk_config_with_timeouts(
        &self,
        timeouts: aws_smithy_types::timeout::TimeoutConfig,
    ) -> SdkConfig {
        self.sdk_config()
            .to_builder()
            .timeout_config(timeouts)
            .build()
    }

    pub fn iam(&self) -> Client {
        Client::new(&self.sdk_config())
    }

    pub fn secrets(&self) -> aws_sdk_secretsmanager::Client {
        aws_sdk_secretsmanager::Client::new(&self.sdk_config())
    }

    pub fn securityhub(&self) -> aws_sdk_securityhub::Client {
        aws_sdk_securityhub::Client::new(&self.sdk_config())
    }

    /// A call to the test bed's own API (`/_test/…`, see `tests/moto/server.py`).
    pub fn control(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.endpoint);
        let response = match (method, body) {
            ("GET", _) => ureq::get(&url).call(),
            ("DELETE", _) => ureq::delete(&url).call(),
            (_, Some(body)) => ureq::post(&url).send_json(body),
            (_, None) => ureq::post(&url).send_empty(),
        };
        response
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
            .body_mut()
            .read_json()
            .expect("JSON reply")
    }

    /// What the test bed holds at `path` (a GET of its own API).
    fn read(&self, path: &str) -> Value {
        self.control("GET", path, None)
    }

    /// Sets a key's creation time and last use (`Some(None)`: never used).
    pub fn set_key(&self, key_id: &str, created: Option<Time>, used: Option<Option<Time>>) {
        let body = times(json!({"access_key_id": key_id}), created, "last_used", used);
        self.control("POST", "/_test/access-key", Some(body));
    }

    /// Sets a user's creation time (also its login profile's) and password last use.
    pub fn set_user(&self, user: &str, created: Option<Time>, password_used: Option<Option<Time>>) {
        let body = json!({"user_name": user});
        let body = times(body, created, "password_last_used", password_used);
        self.control("POST", "/_test/user", Some(body));
    }

    /// Gives the root user these access keys in the credential report: `(active, created)`.
    pub fn set_root_keys(&self, keys: &[(bool, DateTime<Utc>)]) {
        let keys: Vec<Value> = keys
            .iter()
            .map(|(active, created)| json!({"active": active, "created": created.to_rfc3339()}))
            .collect();
        self.control(
            "POST",
            "/_test/root",
            Some(json!({"mfa_active": true, "access_keys": keys})),
        );
    }

    /// Creates many users at once, straight in moto's backend (`POST /_test/seed-users`, see
    /// `tests/moto/server.py`): each `{"user_name", "create_date"?, "tags"?, "password"?,
    /// "password_last_used"?, "access_keys"?: [{"create_date"?, "last_used"?, "status"?}],
    /// "inline_policies"?}`.
    pub fn seed_users(&self, users: &[Value]) {
        self.control("POST", "/_test/seed-users", Some(json!({ "users": users })));
    }

    // -- faults ----------------------------------------------------------------------------

    /// Registers a fault (`POST /_test/faults`): `fault` holds `code`, `count` and when it
    /// strikes (`skip`, `every`), `status` or `delay_seconds`.
    fn add_fault(&self, action: &str, mut fault: Value) {
        fault["action"] = json!(action);
        self.control("POST", "/_test/faults", Some(fault));
    }

    /// Makes the next `count` calls of `action` (`iam:UpdateAccessKey`, `secretsmanager:PutSecretValue`)
    /// fail with `code` and HTTP `status`, after letting `skip` calls through.
    pub fn inject_fault(&self, action: &str, code: &str, status: u16, count: u32, skip: u32) {
        self.add_fault(
            action,
            json!({"code": code, "status": status, "count": count, "skip": skip}),
        );
    }

    /// Makes one call in `every` of `action` (`"iam:*"`: every IAM action) fail with `code` and
    /// HTTP `status`, `count` times at most.
    pub fn inject_fault_every(
        &self,
        action: &str,
        code: &str,
        status: u16,
        every: u32,
        count: u32,
    ) {
        self.add_fault(
            action,
            json!({"code": code, "status": status, "count": count, "every": every}),
        );
    }

    /// Puts `fault` on the next `count` calls of `action` (`iam:UpdateAccessKey`), after letting
    /// `skip` calls through.
    pub fn inject_network_fault(&self, action: &str, fault: NetworkFault, count: u32, skip: u32) {
        let (code, delay) = match fault {
            NetworkFault::Drop => ("DropConnection", 0.0),
            NetworkFault::DropAfter => ("DropConnectionAfter", 0.0),
            NetworkFault::Delay(delay) => ("Delay", delay.as_secs_f64()),
            NetworkFault::DelayAnswer(delay) => ("DelayAnswer", delay.as_secs_f64()),
        };
        self.add_fault(
            action,
            json!({"code": code, "count": count, "skip": skip, "delay_seconds": delay}),
        );
    }

    /// Removes every fault not yet used.
    pub fn clear_faults(&self) {
        self.control("DELETE", "/_test/faults", None);
    }

    /// Right after the call of `action` that comes after `skip` others is done, and before its
    /// answer goes back, does `side_effect` (someone else's change racing the function):
    /// `{"set_key_status": {"access_key_id": "AKIA…", "status": "Active"}}`, or
    /// `{"fault": {"action", "code", "status", "count", "skip"}}` (as [`Moto::inject_fault`], from
    /// that moment on). Each registration runs once.
    pub fn after(&self, action: &str, skip: u32, side_effect: &Value) {
        self.control(
            "POST",
            "/_test/after",
            Some(json!({"action": action, "skip": skip, "do": side_effect})),
        );
    }

    /// As [`Moto::after`], but right before that call is done (even when a fault is put on it):
    /// someone else got there first. Also `{"create_access_key": {"user_name": "alice"}}`, an
    /// administrator's CreateAccessKey (its key ID: [`Moto::side_effect_keys`]).
    pub fn before(&self, action: &str, skip: u32, side_effect: &Value) {
        self.control(
            "POST",
            "/_test/after",
            Some(json!({"action": action, "skip": skip, "do": side_effect, "before": true})),
        );
    }

    /// The IDs of the keys side effects created (`create_access_key`), in order.
    pub fn side_effect_keys(&self) -> Vec<String> {
        serde_json::from_value(self.read("/_test/side-effect-keys")).expect("key IDs")
    }

    /// Answers every AWS call `ms` milliseconds late from now on (a real endpoint's latency).
    pub fn set_latency_ms(&self, ms: u64) {
        self.control("POST", "/_test/latency", Some(json!({ "ms": ms })));
    }

    /// Turns moto's request authentication (signature and policy checks) on or off.
    pub fn enforce_auth(&self, enabled: bool) {
        self.control(
            "POST",
            "/_test/enforce-auth",
            Some(json!({"enabled": enabled})),
        );
    }

    // -- what the test bed saw -------------------------------------------------------------

    /// Calls made so far, by `service:Action`.
    pub fn calls(&self) -> BTreeMap<String, u64> {
        serde_json::from_value(self.read("/_test/calls")).expect("call counts")
    }

    /// How many times `action` was called so far (0: never).
    pub fn call_count(&self, action: &str) -> u64 {
        self.calls().get(action).copied().unwrap_or(0)
    }

    /// Asserts how many times each action was called so far.
    pub fn assert_calls(&self, expected: &[(&str, u64)]) {
        let calls = self.calls();
        for (action, count) in expected {
            let made = calls.get(*action).copied().unwrap_or(0);
            assert_eq!(made, *count, "{action}: {calls:?}");
        }
    }

    /// Calls of one service made so far.
    pub fn service_calls(&self, service: &str) -> u64 {
        self.calls()
            .iter()
            .filter(|(action, _)| action.starts_with(&format!("{service}:")))
            .map(|(_, count)| count)
            .sum()
    }

    pub fn reset_calls(&self) {
        self.control("DELETE", "/_test/calls", None);
    }

    /// The IAM calls made so far (since the start or the last [`Moto::reset_calls`]), in the
    /// order they arrived, each with its parameters (IAM only: Secrets Manager bodies hold
    /// secrets).
    pub fn iam_requests(&self) -> Vec<(String, BTreeMap<String, String>)> {
        let requests = self.read("/_test/requests");
        requests
            .as_array()
            .expect("requests")
            .iter()
            .map(|r| {
                (
                    r["action"].as_str().unwrap_or_default().to_owned(),
                    serde_json::from_value(r["params"].clone()).expect("parameters"),
                )
            })
            .collect()
    }

    /// The parameters of every IAM call of `action` (`iam:CreateAccessKey`), as
    /// [`Moto::iam_requests`].
    pub fn requests(&self, action: &str) -> Vec<BTreeMap<String, String>> {
        self.iam_requests()
            .into_iter()
            .filter(|(called, _)| called == action)
            .map(|(_, params)| params)
            .collect()
    }

    /// Every SecretAccessKey that CreateAccessKey has returned.
    pub fn issued_secrets(&self) -> Vec<String> {
        serde_json::from_value(self.read("/_test/issued-secrets")).expect("secrets")
    }

    /// Config evaluations sent with PutEvaluations (each request's body).
    pub fn evaluations(&self) -> Vec<Value> {
        serde_json::from_value(self.read("/_test/evaluations")).expect("evaluations")
    }

    /// The first evaluation of every PutEvaluations request, as (resource type, resource ID,
    /// compliance type).
    pub fn evaluation_results(&self) -> Vec<(String, String, String)> {
        self.evaluations()
            .iter()
            .map(|e| {
                let evaluation = &e["Evaluations"][0];
                let text = |field: &str| evaluation[field].as_str().unwrap_or_default().to_owned();
                (
                    text("ComplianceResourceType"),
                    text("ComplianceResourceId"),
                    text("ComplianceType"),
                )
            })
            .collect()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A moment, as the test bed's times are given.
pub type Time = DateTime<Utc>;

/// `body` with `created` as its `create_date` and `used` at `used_field` (`Some(None)`: never).
#[allow(
    clippy::option_option,
    reason = "as in `Moto::set_key`: left as it is, never used, or used at a time"
)]
fn times(
    mut body: Value,
    created: Option<Time>,
    used_field: &str,
    used: Option<Option<Time>>,
) -> Value {
    if let Some(created) = created {
        body["create_date"] = json!(iso(created));
    }
    if let Some(used) = used {
        body[used_field] = used.map_or(Value::Null, |t| json!(iso(t)));
    }
    body
}

/// A network fault the test bed can put on a call (see `tests/moto/server.py`), as opposed to an
/// AWS error answer ([`Moto::inject_fault`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkFault {
    /// The connection is closed without an answer; the call is not done.
    Drop,
    /// The call is done, then the connection is closed without an answer (the answer is lost).
    DropAfter,
    /// The server waits this long, then does the call and answers (a slow server).
    Delay(std::time::Duration),
    /// The call is done at once and answered this much later (done, the answer late).
    DelayAnswer(std::time::Duration),
}

// -- time -------------------------------------------------------------------------------------

/// RFC 3339 with seconds, as IAM writes times.
pub fn iso(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `days` days before now.
pub fn days_ago(days: i64) -> DateTime<Utc> {
    Utc::now() - Duration::days(days)
}

/// A year from today, as an exemption's end date (`2027-01-31`).
pub fn next_year() -> String {
    (Utc::now() + Duration::days(365))
        .format("%Y-%m-%d")
        .to_string()
}

// -- seeding the account ----------------------------------------------------------------------

/// The tag that exempts a principal (its value: `true`, or the date the exemption ends).
pub const EXEMPT: &str = "iam-remediation:exempt";

/// A password every policy the tests set accepts.
const PASSWORD: &str = "Correct-Horse-Battery-9!";

/// Creates a user.
pub async fn create_user(iam: &Client, user: &str) {
    iam.create_user()
        .user_name(user)
        .send()
        .await
        .expect("CreateUser");
}

/// Creates a group.
pub async fn create_group(iam: &Client, group: &str) {
    iam.create_group()
        .group_name(group)
        .send()
        .await
        .expect("CreateGroup");
}

/// Creates a role at `path` that Lambda may assume.
pub async fn create_role(iam: &Client, role: &str, path: &str) {
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]});
    iam.create_role()
        .role_name(role)
        .path(path)
        .assume_role_policy_document(trust.to_string())
        .send()
        .await
        .expect("CreateRole");
}

/// Creates a user with one key created `age_days` ago and last used `last_used_days` ago
/// (`None`: never used). Returns the key ID.
pub async fn user_with_key(
    moto: &Moto,
    user: &str,
    age_days: i64,
    last_used_days: Option<i64>,
) -> String {
    create_user(&moto.iam(), user).await;
    add_key(moto, user, age_days, last_used_days).await
}

/// Adds a key to an existing user, created `age_days` ago and last used `last_used_days` ago
/// (`None`: never used). Returns the key ID.
pub async fn add_key(
    moto: &Moto,
    user: &str,
    age_days: i64,
    last_used_days: Option<i64>,
) -> String {
    let created = moto.iam().create_access_key().user_name(user).send();
    let key = created.await.expect("CreateAccessKey").access_key;
    let key = key.expect("key");
    moto.set_key(
        &key.access_key_id,
        Some(days_ago(age_days)),
        Some(last_used_days.map(days_ago)),
    );
    key.access_key_id
}

/// Sets a key's status (`Active`, `Inactive`), as someone other than the functions would.
pub async fn set_key_status(iam: &Client, user: &str, key_id: &str, status: &str) {
    let request = iam
        .update_access_key()
        .user_name(user)
        .access_key_id(key_id);
    let sent = request.status(status.into()).send().await;
    sent.expect("UpdateAccessKey");
}

/// Deletes a key, as its owner would.
pub async fn delete_key(iam: &Client, user: &str, key_id: &str) {
    let request = iam
        .delete_access_key()
        .user_name(user)
        .access_key_id(key_id);
    request.send().await.expect("DeleteAccessKey");
}

/// Creates a user with a console password whose login profile was created `created_days` ago
/// and last used `last_used_days` ago (`None`: never used).
pub async fn user_with_password(
    moto: &Moto,
    user: &str,
    created_days: i64,
    last_used_days: Option<i64>,
) {
    create_user(&moto.iam(), user).await;
    add_password(moto, user, created_days, last_used_days).await;
}

/// Gives an existing user a console password, as [`user_with_password`] does (the user's creation
/// time is moved with it).
pub async fn add_password(moto: &Moto, user: &str, created_days: i64, last_used_days: Option<i64>) {
    moto.iam()
        .create_login_profile()
        .user_name(user)
        .password(PASSWORD)
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

/// Creates a virtual MFA device for `user` and enables it.
pub async fn enable_mfa(iam: &Client, user: &str) {
    let created = iam
        .create_virtual_mfa_device()
        .virtual_mfa_device_name(user);
    let device = created.send().await.expect("CreateVirtualMFADevice");
    let device = device.virtual_mfa_device.expect("device");
    iam.enable_mfa_device()
        .user_name(user)
        .serial_number(device.serial_number)
        .authentication_code1("123456")
        .authentication_code2("654321")
        .send()
        .await
        .expect("EnableMFADevice");
}

/// Gives the account a password policy that asks only for `length` characters.
pub async fn set_minimum_password_length(iam: &Client, length: i32) {
    iam.update_account_password_policy()
        .minimum_password_length(length)
        .send()
        .await
        .expect("UpdateAccountPasswordPolicy");
}

/// Tags a user or a role.
pub async fn tag(iam: &Client, principal: &Principal, key: &str, value: &str) {
    let tag = Tag::builder().key(key).value(value).build().expect("tag");
    let name = principal.name.as_str();
    let fail = |error: &dyn std::fmt::Debug| -> ! { panic!("tag {principal}: {error:?}") };
    if principal.kind == PrincipalKind::Role {
        let request = iam.tag_role().role_name(name).tags(tag);
        request.send().await.unwrap_or_else(|e| fail(&e));
    } else {
        let request = iam.tag_user().user_name(name).tags(tag);
        request.send().await.unwrap_or_else(|e| fail(&e));
    }
}

/// Tags a user.
pub async fn tag_user(iam: &Client, user: &str, key: &str, value: &str) {
    tag(iam, &Principal::user(user), key, value).await;
}

/// A small policy document allowing `action` on everything.
pub fn document(action: &str) -> Value {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]})
}

/// Sends `principal`'s form of an IAM call (the user's, the group's or the role's), naming it,
/// and finishes it with `$finish` (`|request| …`: the same further parameters for the three
/// forms, whose types differ); its answer, unwrapped (a test bed that fails the call fails the
/// test).
macro_rules! per_kind {
    ($iam:expr, $principal:expr, [$user:ident, $group:ident, $role:ident], |$request:ident| $finish:expr) => {{
        let principal: &Principal = $principal;
        let name = principal.name.as_str();
        let fail = |error: &dyn std::fmt::Debug| -> ! { panic!("{principal}: {error:?}") };
        match principal.kind {
            PrincipalKind::User => {
                let $request = $iam.$user().user_name(name);
                $finish.unwrap_or_else(|e| fail(&e))
            }
            PrincipalKind::Group => {
                let $request = $iam.$group().group_name(name);
                $finish.unwrap_or_else(|e| fail(&e))
            }
            PrincipalKind::Role => {
                let $request = $iam.$role().role_name(name);
                $finish.unwrap_or_else(|e| fail(&e))
            }
        }
    }};
}

/// Puts the inline policy `policy` with this document on a user, group or role.
pub async fn put_policy(iam: &Client, principal: &Principal, policy: &str, document: &Value) {
    let text = serde_json::to_string_pretty(document).expect("JSON");
    per_kind!(
        iam,
        principal,
        [put_user_policy, put_group_policy, put_role_policy],
        |request| {
            let sent = request.policy_name(policy).policy_document(&text).send();
            sent.await.map(drop)
        }
    );
}

/// Creates alice (a user), developers (a group) and ci-deploy (a role at /), each with these
/// inline policies: (name, the action it allows). Returns the three.
pub async fn alice_developers_and_ci(iam: &Client, policies: &[(&str, &str)]) -> [Principal; 3] {
    create_user(iam, "alice").await;
    create_group(iam, "developers").await;
    create_role(iam, "ci-deploy", "/").await;
    let principals = [
        Principal::user("alice"),
        Principal::group("developers"),
        Principal::role("ci-deploy"),
    ];
    for principal in &principals {
        for (policy, action) in policies {
            put_policy(iam, principal, policy, &document(action)).await;
        }
    }
    principals
}

/// Creates a user with one inline policy, `policy`, allowing `action`; returns the user.
pub async fn user_with_policy(iam: &Client, user: &str, policy: &str, action: &str) -> Principal {
    let principal = Principal::user(user);
    create_user(iam, user).await;
    put_policy(iam, &principal, policy, &document(action)).await;
    principal
}

// -- reading IAM back -------------------------------------------------------------------------

/// Key → value of a user's tags.
pub async fn user_tags(iam: &Client, user: &str) -> BTreeMap<String, String> {
    iam.list_user_tags()
        .user_name(user)
        .send()
        .await
        .expect("ListUserTags")
        .tags
        .into_iter()
        .map(|t| (t.key, t.value))
        .collect()
}

/// Key ID → status of a user's keys.
pub async fn key_statuses(iam: &Client, user: &str) -> BTreeMap<String, String> {
    iam.list_access_keys()
        .user_name(user)
        .send()
        .await
        .expect("ListAccessKeys")
        .access_key_metadata
        .into_iter()
        .map(|k| {
            (
                k.access_key_id.unwrap_or_default(),
                k.status.map(|s| s.as_str().to_owned()).unwrap_or_default(),
            )
        })
        .collect()
}

/// The status of one key (`None` when it no longer exists).
pub async fn key_status(iam: &Client, user: &str, key_id: &str) -> Option<String> {
    key_statuses(iam, user).await.remove(key_id)
}

/// A key that is there and active, as [`assert_keys`] expects it.
pub const ACTIVE: Option<&str> = Some("Active");
/// A key that is there and inactive, as [`assert_keys`] expects it.
pub const INACTIVE: Option<&str> = Some("Inactive");
/// A key that is no longer there, as [`assert_keys`] expects it.
pub const DELETED: Option<&str> = None;

/// Asserts each (user, key ID, status) ([`ACTIVE`], [`INACTIVE`] or [`DELETED`]); a failure
/// names the key and says `context`.
pub async fn assert_keys(iam: &Client, expected: &[(&str, &str, Option<&str>)], context: &str) {
    for &(user, key_id, status) in expected {
        assert_eq!(
            key_status(iam, user, key_id).await.as_deref(),
            status,
            "key {key_id} of {user}: {context}"
        );
    }
}

/// Asserts that `user` has exactly one key, `key_id`, with this status (`Active`, `Inactive`);
/// a failure says `context`.
pub async fn assert_only_key(iam: &Client, user: &str, key_id: &str, status: &str, context: &str) {
    let keys = key_statuses(iam, user).await;
    let expected = BTreeMap::from([(key_id.to_owned(), status.to_owned())]);
    assert_eq!(keys, expected, "{user}: {context}");
}

/// A user's keys other than `old` (the replacement a rotation made), the first of them.
pub fn other_key(keys: &BTreeMap<String, String>, old: &str) -> String {
    keys.keys()
        .find(|k| *k != old)
        .expect("a second key")
        .clone()
}

/// Whether `user` has a console password (a login profile).
pub async fn has_password(iam: &Client, user: &str) -> bool {
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

/// Which of `users` still have a console password, in their order.
pub async fn with_passwords<'a>(iam: &Client, users: &[&'a str]) -> Vec<&'a str> {
    let mut left = Vec::new();
    for user in users {
        if has_password(iam, user).await {
            left.push(*user);
        }
    }
    left
}

/// The account's password policy (`None`: it has none).
pub async fn account_password_policy(iam: &Client) -> Option<PasswordPolicy> {
    match iam.get_account_password_policy().send().await {
        Ok(output) => Some(output.password_policy.expect("a policy")),
        Err(e)
            if e.as_service_error()
                .is_some_and(GetAccountPasswordPolicyError::is_no_such_entity_exception) =>
        {
            None
        }
        Err(e) => panic!("GetAccountPasswordPolicy: {e:?}"),
    }
}

/// The minimum password length the account's policy asks for (`None`: no policy).
pub async fn minimum_password_length(iam: &Client) -> Option<i32> {
    account_password_policy(iam)
        .await
        .and_then(|p| p.minimum_password_length)
}

/// The unique ID IAM gave a user, group or role (AIDA…, AGPA…, AROA…).
pub async fn unique_id(iam: &Client, principal: &Principal) -> String {
    per_kind!(iam, principal, [get_user, get_group, get_role], |request| {
        request.send().await.map(UniqueId::unique_id)
    })
    .unwrap_or_else(|| panic!("{principal}: no unique ID"))
}

/// The unique ID in a GetUser, GetGroup or GetRole answer.
trait UniqueId {
    fn unique_id(self) -> Option<String>;
}

macro_rules! unique_id {
    ($operation:ident :: $output:ident, $entity:ident . $id:ident) => {
        impl UniqueId for aws_sdk_iam::operation::$operation::$output {
            fn unique_id(self) -> Option<String> {
                self.$entity.map(|entity| entity.$id)
            }
        }
    };
}

unique_id!(get_user::GetUserOutput, user.user_id);
unique_id!(get_group::GetGroupOutput, group.group_id);
unique_id!(get_role::GetRoleOutput, role.role_id);
/// The names of a user's, group's or role's inline policies, sorted.
pub async fn inline_names(iam: &Client, principal: &Principal) -> Vec<String> {
    let mut names = per_kind!(
        iam,
        principal,
        [list_user_policies, list_group_policies, list_role_policies],
        |request| request.send().await.map(|o| o.policy_names)
    );
    names.sort();
    names
}

/// The ARNs of the managed policies attached to a user, group or role, sorted.
pub async fn attached(iam: &Client, principal: &Principal) -> Vec<String> {
    let policies = per_kind!(
        iam,
        principal,
        [
            list_attached_user_policies,
            list_attached_group_policies,
            list_attached_role_policies
        ],
        |request| request.send().await.map(|o| o.attached_policies)
    );
    let mut arns: Vec<String> = policies
        .unwrap_or_default()
        .into_iter()
        .filter_map(|p| p.policy_arn)
        .collect();
    arns.sort();
    arns
}

/// ARNs of the customer managed policies in the account, sorted.
pub async fn managed_policies(iam: &Client) -> Vec<String> {
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

/// The ARN of the managed policy `name` (`user+alice+s3-read`) that inline-policies makes.
pub fn managed_arn(name: &str) -> String {
    format!("arn:aws:iam::123456789012:policy/iam-remediation/{name}")
}

/// The default version's document of a managed policy, parsed.
pub async fn managed_document(iam: &Client, arn: &str) -> Value {
    let policy = iam.get_policy().policy_arn(arn).send().await;
    let policy = policy.expect("GetPolicy").policy.expect("policy");
    let version = policy.default_version_id.expect("default version");
    let request = iam.get_policy_version().policy_arn(arn).version_id(version);
    let version = request
        .send()
        .await
        .expect("GetPolicyVersion")
        .policy_version;
    let raw = version.and_then(|v| v.document).expect("document");
    let decoded = inline_policies::facts::decode_document(&raw).expect("decodable");
    serde_json::from_str(&decoded).expect("JSON")
}

/// The JSON in a user's rotation secret (`iam-remediation/access-keys/<user>`) at `stage`, or
/// what a consumer reads (no stage: AWSCURRENT) when `None`. `None` back: no secret, or no such
/// stage.
pub async fn stored_secret(moto: &Moto, user: &str, stage: Option<&str>) -> Option<Value> {
    let output = moto
        .secrets()
        .get_secret_value()
        .secret_id(format!("iam-remediation/access-keys/{user}"))
        .set_version_stage(stage.map(str::to_owned))
        .send()
        .await
        .ok()?;
    serde_json::from_str(output.secret_string()?).ok()
}

/// The key ID a user's rotation secret holds at `stage` (as [`stored_secret`]).
pub async fn secret_key_id(moto: &Moto, user: &str, stage: Option<&str>) -> Option<String> {
    let stored = stored_secret(moto, user, stage).await?;
    stored["AccessKeyId"].as_str().map(str::to_owned)
}

/// Everything the functions can change, as JSON: users with their keys, tags, login profile,
/// inline and attached policies; groups and roles with theirs; customer managed policies; the
/// password policy. Equal snapshots mean nothing changed.
pub async fn snapshot(iam: &Client) -> Value {
    let mut principals = Vec::new();
    let users = iam.list_users().send().await.expect("ListUsers").users;
    principals.extend(users.into_iter().map(|u| Principal::user(u.user_name)));
    let groups = iam.list_groups().send().await.expect("ListGroups").groups;
    principals.extend(groups.into_iter().map(|g| Principal::group(g.group_name)));
    let roles = iam.list_roles().send().await.expect("ListRoles").roles;
    principals.extend(roles.into_iter().map(|r| Principal::role(r.role_name)));
    let mut state = json!({"users": {}, "groups": {}, "roles": {}});
    for principal in principals {
        let mut held = json!({
            "inline": inline_names(iam, &principal).await,
            "attached": attached(iam, &principal).await,
        });
        if principal.kind == PrincipalKind::User {
            let name = principal.name.as_str();
            held["keys"] = json!(key_statuses(iam, name).await);
            held["tags"] = json!(user_tags(iam, name).await);
            let login_profile = iam.get_login_profile().user_name(name).send().await;
            held["login_profile"] = json!(login_profile.is_ok());
        }
        state[format!("{}s", principal.kind)][&principal.name] = held;
    }
    state["policies"] = json!(managed_policies(iam).await);
    state["password_policy"] = json!(
        iam.get_account_password_policy()
            .send()
            .await
            .ok()
            .and_then(|o| o.password_policy)
            .map(|p| format!("{p:?}"))
    );
    state
}

// -- events -----------------------------------------------------------------------------------

/// A sample event from `events/<function>/<name>.json`.
pub fn sample_event(function: &str, name: &str) -> Value {
    let path = workspace_root()
        .join("events")
        .join(function)
        .join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A function's scheduled sweep (`events/<function>/scheduled.json`).
pub fn schedule(function: &str) -> Value {
    sample_event(function, "scheduled")
}

/// Sets the value at a JSON pointer of an event (the pointer must exist).
pub fn with(mut event: Value, pointer: &str, value: Value) -> Value {
    *event
        .pointer_mut(pointer)
        .unwrap_or_else(|| panic!("no {pointer} in the event")) = value;
    event
}

/// A CloudTrail event as if its call had been made at `time` (a sample's own time grows older
/// every day, and some calls are judged from it).
pub fn made_at(event: Value, time: DateTime<Utc>) -> Value {
    with(event, "/detail/eventTime", json!(iso(time)))
}

/// A Config compliance change event of `function` (sample `name`) about the principal with this
/// unique ID (`None`: the sample's resource), `NON_COMPLIANT` as the sample has it or
/// `COMPLIANT`.
pub fn compliance_change(
    function: &str,
    name: &str,
    resource_id: Option<&str>,
    compliant: bool,
) -> Value {
    let mut event = sample_event(function, name);
    if let Some(id) = resource_id {
        event = with(event, "/detail/resourceId", json!(id));
    }
    if compliant {
        with(
            event,
            "/detail/newEvaluationResult/complianceType",
            json!("COMPLIANT"),
        )
    } else {
        event
    }
}

/// The event's first finding, with these fields set (JSON pointers into the finding; the last
/// step may be a new field).
pub fn with_finding(mut event: Value, changes: &[(&str, Value)]) -> Value {
    for (pointer, value) in changes {
        let (parent, field) = pointer
            .rsplit_once('/')
            .expect("a pointer into the finding");
        let target = event
            .pointer_mut(&format!("/detail/findings/0{parent}"))
            .unwrap_or_else(|| panic!("no {parent} in the finding"));
        target[field] = value.clone();
    }
    event
}

/// A CloudTrail event of the IAM call `event_name` (`DeactivateMFADevice`) with these request
/// parameters (console-passwords' sample of another call, renamed).
pub fn iam_call(event_name: &str, parameters: Value) -> Value {
    let event = sample_event("console-passwords", "cloudtrail-update-login-profile");
    let event = with(event, "/detail/eventName", json!(event_name));
    with(event, "/detail/requestParameters", parameters)
}

/// AWS Health's AWS_RISK_CREDENTIALS_EXPOSED naming these keys.
pub fn exposed(key_ids: &[&str]) -> Value {
    let entities: Vec<Value> = key_ids
        .iter()
        .map(|id| json!({"entityValue": id}))
        .collect();
    with(
        sample_event("access-keys", "health-credentials-exposed"),
        "/detail/affectedEntities",
        json!(entities),
    )
}

// -- the four functions, built as their `main` builds them, pointed at the test bed -----------

/// Configuration from these variables only (the process environment is not read).
pub fn env(pairs: &[(&str, &str)]) -> iam_remediation::Env {
    iam_remediation::Env::from_pairs(pairs.iter().copied())
}

/// `access-keys`' `KEY_ACTION=rotate`.
pub const ROTATE: (&str, &str) = ("KEY_ACTION", "rotate");

/// inline-policies' coverage of every kind of principal (roles are left out by default).
pub const ALL_KINDS: (&str, &str) = ("INLINE_POLICY_PRINCIPALS", "users,groups,roles");

/// The function these variables configure (they must be valid).
fn settings<F: Remediation>(pairs: &[(&str, &str)]) -> F {
    F::from_env(&env(pairs)).expect("valid settings")
}

/// A function's settings and SDK configuration, its clients built anew for each invocation, as
/// a new Lambda instance would be (invocations at once share nothing).
#[derive(Debug, Clone)]
pub struct Deployed<F: Remediation> {
    sdk: SdkConfig,
    settings: F,
}

impl<F: Remediation> Deployed<F> {
    /// The function with the settings these variables give, talking to AWS through `sdk`.
    pub fn new(sdk: &SdkConfig, pairs: &[(&str, &str)]) -> Self {
        Self {
            sdk: sdk.clone(),
            settings: settings::<F>(pairs),
        }
    }

    /// The SDK configuration it talks to AWS through.
    pub fn sdk(&self) -> &SdkConfig {
        &self.sdk
    }

    /// One invocation at `now` (travel in time), stopped before `deadline` if any.
    pub async fn invoke_at(
        &self,
        event: Value,
        now: DateTime<Utc>,
        deadline: Option<SystemTime>,
    ) -> Result<Report, Error> {
        let clients = Clients::new(&self.sdk);
        iam_remediation::handle(&self.settings, &clients, event, now, deadline).await
    }

    /// One invocation now, stopped before `deadline` if any.
    pub async fn invoke(
        &self,
        event: Value,
        deadline: Option<SystemTime>,
    ) -> Result<Report, Error> {
        self.invoke_at(event, Utc::now(), deadline).await
    }
}

/// One invocation of function `F`, deployed afresh on `moto`, at `now`, with the settings these
/// variables give.
pub async fn run_deployed<F: Remediation>(
    moto: &Moto,
    pairs: &[(&str, &str)],
    event: Value,
    now: DateTime<Utc>,
) -> Result<Report, Error> {
    let function = Deployed::<F>::new(&moto.sdk_config(), pairs);
    function.invoke_at(event, now, None).await
}

/// Everything a run said, to search: the report as JSON, or the Lambda error's message.
pub fn said(result: &Result<Report, Error>) -> String {
    match result {
        Ok(report) => serde_json::to_string(report).expect("a report is JSON"),
        Err(error) => format!("Lambda error: {error}"),
    }
}

/// One Lambda instance of a function: its settings and its clients, built once and used by
/// every invocation, as a warm container would.
#[derive(Debug, Clone)]
pub struct Instance<F: Remediation> {
    pub function: F,
    pub clients: Clients,
}

impl Moto {
    /// A function with the settings these variables give, pointed at this server.
    pub fn function<F: Remediation>(&self, pairs: &[(&str, &str)]) -> Instance<F> {
        Instance {
            function: settings::<F>(pairs),
            clients: Clients::new(&self.sdk_config()),
        }
    }

    /// `access-keys` with the settings these variables give.
    pub fn access_keys(&self, pairs: &[(&str, &str)]) -> Instance<access_keys::AccessKeys> {
        self.function(pairs)
    }

    /// `console-passwords` with the settings these variables give.
    pub fn console_passwords(
        &self,
        pairs: &[(&str, &str)],
    ) -> Instance<console_passwords::ConsolePasswords> {
        self.function(pairs)
    }

    /// `password-policy` with the settings these variables give.
    pub fn password_policy(
        &self,
        pairs: &[(&str, &str)],
    ) -> Instance<password_policy::PasswordPolicies> {
        self.function(pairs)
    }

    /// `inline-policies` with the settings these variables give.
    pub fn inline_policies(
        &self,
        pairs: &[(&str, &str)],
    ) -> Instance<inline_policies::InlinePolicies> {
        self.function(pairs)
    }
}

/// One invocation of `instance` now, without a deadline.
pub async fn invoke<F: Remediation>(instance: &Instance<F>, event: Value) -> Result<Report, Error> {
    invoke_at(instance, event, Utc::now()).await
}

/// One invocation of `instance` at `now` (travel in time), without a deadline.
pub async fn invoke_at<F: Remediation>(
    instance: &Instance<F>,
    event: Value,
    now: DateTime<Utc>,
) -> Result<Report, Error> {
    iam_remediation::handle(&instance.function, &instance.clients, event, now, None).await
}

/// A sweep of `function` `days` days after `start`.
pub async fn sweep_after<F: Remediation>(
    function: &Instance<F>,
    start: DateTime<Utc>,
    days: i64,
) -> Result<Report, Error> {
    invoke_at(function, schedule(F::NAME), start + Duration::days(days)).await
}

/// Asserts that `error` refuses a run that planned `planned` actions, more than
/// `MAX_ACTIONS=limit` (`why` says what the run was).
pub fn assert_too_many_actions(error: &Error, planned: usize, limit: usize, why: &str) {
    assert!(
        matches!(error, Error::TooManyActions { planned: p, limit: l } if (*p, *l) == (planned, limit)),
        "{why}: {error}"
    );
}

/// alice's working key B (returned), 200 days old and used yesterday, held by her secret's
/// AWSCURRENT (an earlier rotation), with that version's ID.
pub async fn alice_with_working_key_in_her_secret(moto: &Moto) -> (String, String) {
    let iam = moto.iam();
    create_user(&iam, "alice").await;
    let created = iam.create_access_key().user_name("alice").send();
    let working = created
        .await
        .expect("CreateAccessKey")
        .access_key
        .expect("a key");
    let b = working.access_key_id.clone();
    moto.set_key(&b, Some(days_ago(200)), Some(Some(days_ago(1))));
    let stored = json!({
        "AccessKeyId": b,
        "SecretAccessKey": working.secret_access_key,
        "UserName": "alice",
        "CreateDate": iso(days_ago(200)),
    });
    let version = moto
        .secrets()
        .create_secret()
        .name("iam-remediation/access-keys/alice")
        .secret_string(stored.to_string())
        .send()
        .await
        .expect("CreateSecret")
        .version_id
        .expect("a version");
    (b, version)
}

// -- reading reports --------------------------------------------------------------------------

/// An action as a row: (principal, action, target, status).
pub type Row = (String, String, String, Status);

/// A [`Row`].
pub fn row(principal: &str, action: &str, target: &str, status: Status) -> Row {
    (principal.into(), action.into(), target.into(), status)
}

/// The report's actions as [`Row`]s, sorted by principal and target.
pub fn outcomes(report: &Report) -> Vec<Row> {
    let mut rows: Vec<Row> = report
        .actions
        .iter()
        .map(|a| row(&a.principal, a.action, &a.target, a.status))
        .collect();
    rows.sort_by(|a, b| (&a.0, &a.2).cmp(&(&b.0, &b.2)));
    rows
}

/// The report's action on `target` (a key ID, a policy name, `login-profile`…), the first
/// if several principals have one.
pub fn action_on<'a>(report: &'a Report, target: &str) -> &'a ActionRecord {
    report
        .actions
        .iter()
        .find(|a| a.target == target)
        .unwrap_or_else(|| panic!("no action on {target}: {report:#?}"))
}

/// The report's action on `principal`'s `target`.
pub fn action_for<'a>(report: &'a Report, principal: &str, target: &str) -> &'a ActionRecord {
    report
        .actions
        .iter()
        .find(|a| a.principal == principal && a.target == target)
        .unwrap_or_else(|| panic!("no action on {principal}/{target}: {report:#?}"))
}

/// The exemption tags the exemption tests give their users: `tagged` (`true`),
/// `until-next-year` (a date to come) and `lapsed` (a date gone by: no longer exempt). A fourth,
/// `breakglass-1`, is exempt by `EXEMPT_PRINCIPALS=breakglass-*`.
pub async fn tag_exemptions(iam: &Client) {
    for (user, until) in [
        ("tagged", "true".to_owned()),
        ("until-next-year", next_year()),
        ("lapsed", "2020-01-31".to_owned()),
    ] {
        tag_user(iam, user, EXEMPT, &until).await;
    }
}

/// Asserts an action's status, and that its reason says `says`.
pub fn assert_action(action: &ActionRecord, status: Status, says: &str) {
    assert_eq!(action.status, status, "{action:#?}");
    assert!(
        action.reason.contains(says),
        "not saying {says:?}: {}",
        action.reason
    );
}

/// Asserts that `action` was skipped as exempt (`exempt`), or applied because its exemption
/// lapsed on 2020-01-31 (as [`tag_exemptions`] tags `lapsed`).
pub fn assert_exempt(action: &ActionRecord, exempt: bool) {
    let (status, reason) = if exempt {
        (Status::Skipped, "exempt")
    } else {
        (Status::Applied, "lapsed on 2020-01-31")
    };
    assert_action(action, status, reason);
    if exempt {
        assert!(action.reason.starts_with(reason), "{}", action.reason);
    }
}

/// Asserts that a run failed with `count` actions failing (an `ActionsFailed` error) and that
/// its summary says each of `says`; the summary.
pub fn assert_failed(result: Result<Report, Error>, count: usize, says: &[&str]) -> String {
    let Err(Error::ActionsFailed {
        count: failed,
        summary,
    }) = result
    else {
        panic!("expected ActionsFailed, got {result:#?}")
    };
    assert_eq!(failed, count, "{summary}");
    for said in says {
        assert!(summary.contains(said), "not saying {said:?}: {summary}");
    }
    summary
}

// -- Security Hub, notifications --------------------------------------------------------------

/// One message published to the notification topic, as the subscribed queue received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub subject: String,
    pub body: String,
    /// Message attributes (name → string value).
    pub attributes: BTreeMap<String, String>,
}

/// Settings with notifications to `inbox` and these variables.
pub fn notifying<'a>(inbox: &'a Inbox, pairs: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut all = vec![("NOTIFY_TOPIC_ARN", inbox.topic_arn.as_str())];
    all.extend_from_slice(pairs);
    all
}

/// A notification topic with a queue subscribed to it.
#[derive(Debug, Clone)]
pub struct Inbox {
    pub topic_arn: String,
    queue_url: String,
    sqs: aws_sdk_sqs::Client,
}

impl Inbox {
    /// Everything published since the last read, oldest first.
    pub async fn read(&self) -> Vec<Published> {
        let mut published = Vec::new();
        loop {
            let received = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .send()
                .await
                .expect("ReceiveMessage");
            let messages = received.messages.unwrap_or_default();
            if messages.is_empty() {
                return published;
            }
            for message in messages {
                // Not raw delivery: the body is SNS's envelope, attributes inside it.
                let envelope: Value =
                    serde_json::from_str(message.body().unwrap_or_default()).expect("envelope");
                let attributes = envelope["MessageAttributes"]
                    .as_object()
                    .map(|attributes| {
                        attributes
                            .iter()
                            .map(|(name, value)| {
                                (
                                    name.clone(),
                                    value["Value"].as_str().unwrap_or_default().to_owned(),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                published.push(Published {
                    subject: envelope["Subject"].as_str().unwrap_or_default().to_owned(),
                    body: envelope["Message"].as_str().unwrap_or_default().to_owned(),
                    attributes,
                });
                self.sqs
                    .delete_message()
                    .queue_url(&self.queue_url)
                    .set_receipt_handle(message.receipt_handle)
                    .send()
                    .await
                    .expect("DeleteMessage");
            }
        }
    }
}

impl Moto {
    /// A notification topic with a queue subscribed to it (no filter policy: it gets everything).
    pub async fn inbox(&self) -> Inbox {
        let sns = aws_sdk_sns::Client::new(&self.sdk_config());
        let sqs = aws_sdk_sqs::Client::new(&self.sdk_config());
        let topic = sns.create_topic().name("iam-remediation").send().await;
        let topic_arn = topic.expect("CreateTopic").topic_arn.expect("topic ARN");
        let queue = sqs.create_queue().queue_name("notifications").send().await;
        let queue_url = queue.expect("CreateQueue").queue_url.expect("queue URL");
        let queue_arn = sqs
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .expect("GetQueueAttributes")
            .attributes
            .and_then(|a| {
                a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)
                    .cloned()
            })
            .expect("queue ARN");
        sns.subscribe()
            .topic_arn(&topic_arn)
            .protocol("sqs")
            .endpoint(queue_arn)
            .send()
            .await
            .expect("Subscribe");
        Inbox {
            topic_arn,
            queue_url,
            sqs,
        }
    }

    /// Imports findings into Security Hub (BatchImportFindings, ASFF), as a real account holds
    /// them before their events arrive.
    pub async fn import_findings(&self, findings: &[Value]) {
        import_findings_into(&self.securityhub(), findings).await;
    }

    /// Imports the findings of a Security Hub event (its `detail.findings`).
    pub async fn import_event_findings(&self, event: &Value) {
        let findings = event["detail"]["findings"].as_array().expect("findings");
        self.import_findings(findings).await;
    }

    /// A finding's workflow status and note as Security Hub holds them now (GetFindings).
    pub async fn finding_state(&self, id: &str) -> (Option<String>, Option<String>) {
        finding_state_in(&self.securityhub(), id).await
    }

    /// The BatchUpdateFindingsV2 requests the test bed received (their bodies).
    pub fn securityhub_v2_updates(&self) -> Vec<Value> {
        self.recorded_updates("/_test/securityhub/batch-update-findings-v2")
    }

    /// The BatchUpdateFindings requests the test bed received (their bodies).
    pub fn securityhub_updates(&self) -> Vec<Value> {
        self.recorded_updates("/_test/securityhub/batch-update-findings")
    }

    fn recorded_updates(&self, path: &str) -> Vec<Value> {
        let recorded = self.read(path);
        let recorded = recorded.as_array().expect("requests");
        recorded.iter().map(|r| r["request"].clone()).collect()
    }
}

/// Imports findings into the Security Hub of `client`'s account (BatchImportFindings, ASFF).
pub async fn import_findings_into(client: &aws_sdk_securityhub::Client, findings: &[Value]) {
    let findings: Vec<aws_sdk_securityhub::types::AwsSecurityFinding> =
        findings.iter().map(asff_finding).collect();
    let output = client
        .batch_import_findings()
        .set_findings(Some(findings))
        .send()
        .await
        .expect("BatchImportFindings");
    assert_eq!(output.failed_count, Some(0), "{output:?}");
}

/// A finding's workflow status and note as the Security Hub of `client`'s account holds them
/// now (GetFindings).
pub async fn finding_state_in(
    client: &aws_sdk_securityhub::Client,
    id: &str,
) -> (Option<String>, Option<String>) {
    let findings = client
        .get_findings()
        .send()
        .await
        .expect("GetFindings")
        .findings
        .unwrap_or_default();
    let finding = findings
        .into_iter()
        .find(|f| f.id.as_deref() == Some(id))
        .unwrap_or_else(|| panic!("no finding {id}"));
    (
        finding
            .workflow
            .and_then(|w| w.status)
            .map(|s| s.as_str().to_owned()),
        finding.note.and_then(|n| n.text),
    )
}

/// An ASFF finding from its JSON (a sample event's `detail.findings[i]`), for BatchImportFindings.
fn asff_finding(value: &Value) -> aws_sdk_securityhub::types::AwsSecurityFinding {
    use aws_sdk_securityhub::types::{
        AwsSecurityFinding, Compliance, ComplianceStatus, RecordState, Resource, Severity,
        SeverityLabel, Workflow, WorkflowStatus,
    };
    let text = |pointer: &str| {
        value
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_default()
    };
    let resources = value["Resources"]
        .as_array()
        .map(|resources| {
            resources
                .iter()
                .map(|r| {
                    Resource::builder()
                        .r#type(r["Type"].as_str().unwrap_or_default())
                        .id(r["Id"].as_str().unwrap_or_default())
                        .partition(aws_sdk_securityhub::types::Partition::Aws)
                        .region(r["Region"].as_str().unwrap_or("us-east-1"))
                        .build()
                })
                .collect()
        })
        .unwrap_or_default();
    AwsSecurityFinding::builder()
        .schema_version(text("/SchemaVersion"))
        .id(text("/Id"))
        .product_arn(text("/ProductArn"))
        .generator_id(text("/GeneratorId"))
        .aws_account_id(text("/AwsAccountId"))
        .created_at(text("/CreatedAt"))
        .updated_at(text("/UpdatedAt"))
        .title(text("/Title"))
        .description(text("/Description"))
        .types(text("/Types/0"))
        .severity(Severity::builder().label(SeverityLabel::Medium).build())
        .compliance(
            Compliance::builder()
                .status(ComplianceStatus::from(text("/Compliance/Status")))
                .security_control_id(text("/Compliance/SecurityControlId"))
                .build(),
        )
        .workflow(
            Workflow::builder()
                .status(WorkflowStatus::from(text("/Workflow/Status")))
                .build(),
        )
        .record_state(RecordState::from(text("/RecordState")))
        .set_resources(Some(resources))
        .build()
}
