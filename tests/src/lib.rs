//! The local IAM test bed: moto's server behind a small test-only wrapper
//! (`tests/moto/server.py`), started on a free loopback port for each test and stopped when the
//! test ends, plus helpers to seed accounts, travel in time, inject faults, count calls and
//! snapshot IAM state.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_iam::config::Credentials;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
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
            .build()
    }

    pub fn iam(&self) -> aws_sdk_iam::Client {
        aws_sdk_iam::Client::new(&self.sdk_config())
    }

    fn control(&self, method: &str, path: &str, body: Option<Value>) -> Value {
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

    /// Sets a key's creation time and last use (`Some(None)`: never used).
    pub fn set_key(
        &self,
        key_id: &str,
        created: Option<DateTime<Utc>>,
        last_used: Option<Option<DateTime<Utc>>>,
    ) {
        let mut body = json!({"access_key_id": key_id});
        if let Some(created) = created {
            body["create_date"] = json!(iso(created));
        }
        if let Some(last_used) = last_used {
            body["last_used"] = last_used.map_or(Value::Null, |t| json!(iso(t)));
        }
        self.control("POST", "/_test/access-key", Some(body));
    }

    /// Sets a user's creation time (also its login profile's) and password last use.
    pub fn set_user(
        &self,
        user: &str,
        created: Option<DateTime<Utc>>,
        password_last_used: Option<Option<DateTime<Utc>>>,
    ) {
        let mut body = json!({"user_name": user});
        if let Some(created) = created {
            body["create_date"] = json!(iso(created));
        }
        if let Some(used) = password_last_used {
            body["password_last_used"] = used.map_or(Value::Null, |t| json!(iso(t)));
        }
        self.control("POST", "/_test/user", Some(body));
    }

    /// Makes the next `count` calls of `action` (`iam:UpdateAccessKey`, `secretsmanager:PutSecretValue`)
    /// fail with `code` and HTTP `status`, after letting `skip` calls through.
    pub fn inject_fault(&self, action: &str, code: &str, status: u16, count: u32, skip: u32) {
        self.control(
            "POST",
            "/_test/faults",
            Some(json!({"action": action, "code": code, "status": status, "count": count, "skip": skip})),
        );
    }

    /// Calls made so far, by `service:Action`.
    pub fn calls(&self) -> BTreeMap<String, u64> {
        serde_json::from_value(self.control("GET", "/_test/calls", None)).expect("call counts")
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

    /// Every SecretAccessKey that CreateAccessKey has returned.
    pub fn issued_secrets(&self) -> Vec<String> {
        serde_json::from_value(self.control("GET", "/_test/issued-secrets", None)).expect("secrets")
    }

    /// Turns moto's request authentication (signature and policy checks) on or off.
    pub fn enforce_auth(&self, enabled: bool) {
        self.control(
            "POST",
            "/_test/enforce-auth",
            Some(json!({"enabled": enabled})),
        );
    }

    /// Config evaluations sent with PutEvaluations.
    pub fn evaluations(&self) -> Vec<Value> {
        serde_json::from_value(self.control("GET", "/_test/evaluations", None))
            .expect("evaluations")
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// RFC 3339 with seconds, as IAM writes times.
pub fn iso(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `days` days before now.
pub fn days_ago(days: i64) -> DateTime<Utc> {
    Utc::now() - Duration::days(days)
}

/// Creates a user.
pub async fn create_user(iam: &aws_sdk_iam::Client, user: &str) {
    iam.create_user()
        .user_name(user)
        .send()
        .await
        .expect("CreateUser");
}

/// Creates a user with one key created `age_days` ago and last used `last_used_days` ago
/// (`None`: never used). Returns the key ID.
pub async fn user_with_key(
    moto: &Moto,
    user: &str,
    age_days: i64,
    last_used_days: Option<i64>,
) -> String {
    let iam = moto.iam();
    create_user(&iam, user).await;
    add_key(moto, user, age_days, last_used_days).await
}

/// Adds a key to an existing user. Returns the key ID.
pub async fn add_key(
    moto: &Moto,
    user: &str,
    age_days: i64,
    last_used_days: Option<i64>,
) -> String {
    let key = moto
        .iam()
        .create_access_key()
        .user_name(user)
        .send()
        .await
        .expect("CreateAccessKey")
        .access_key
        .expect("key");
    moto.set_key(
        &key.access_key_id,
        Some(days_ago(age_days)),
        Some(last_used_days.map(days_ago)),
    );
    key.access_key_id
}

/// Tags a user.
pub async fn tag_user(iam: &aws_sdk_iam::Client, user: &str, key: &str, value: &str) {
    iam.tag_user()
        .user_name(user)
        .tags(
            aws_sdk_iam::types::Tag::builder()
                .key(key)
                .value(value)
                .build()
                .expect("tag"),
        )
        .send()
        .await
        .expect("TagUser");
}

/// Key → value of a user's tags.
pub async fn user_tags(iam: &aws_sdk_iam::Client, user: &str) -> BTreeMap<String, String> {
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
pub async fn key_statuses(iam: &aws_sdk_iam::Client, user: &str) -> BTreeMap<String, String> {
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
pub async fn key_status(iam: &aws_sdk_iam::Client, user: &str, key_id: &str) -> Option<String> {
    key_statuses(iam, user).await.remove(key_id)
}

/// Everything the functions can change, as JSON: users with their keys, tags, login profile,
/// inline and attached policies; groups and roles with theirs; customer managed policies; the
/// password policy. Equal snapshots mean nothing changed.
pub async fn snapshot(iam: &aws_sdk_iam::Client) -> Value {
    let mut users = serde_json::Map::new();
    let listed = iam.list_users().send().await.expect("ListUsers").users;
    for user in listed {
        let state = user_state(iam, &user.user_name).await;
        users.insert(user.user_name, state);
    }
    let mut groups = serde_json::Map::new();
    for group in iam.list_groups().send().await.expect("ListGroups").groups {
        let name = group.group_name;
        let inline = iam
            .list_group_policies()
            .group_name(&name)
            .send()
            .await
            .expect("ListGroupPolicies")
            .policy_names;
        let attached: Vec<String> = iam
            .list_attached_group_policies()
            .group_name(&name)
            .send()
            .await
            .expect("ListAttachedGroupPolicies")
            .attached_policies
            .unwrap_or_default()
            .into_iter()
            .filter_map(|p| p.policy_arn)
            .collect();
        groups.insert(name, json!({"inline": inline, "attached": attached}));
    }
    let mut roles = serde_json::Map::new();
    for role in iam.list_roles().send().await.expect("ListRoles").roles {
        let name = role.role_name;
        let inline = iam
            .list_role_policies()
            .role_name(&name)
            .send()
            .await
            .expect("ListRolePolicies")
            .policy_names;
        let attached: Vec<String> = iam
            .list_attached_role_policies()
            .role_name(&name)
            .send()
            .await
            .expect("ListAttachedRolePolicies")
            .attached_policies
            .unwrap_or_default()
            .into_iter()
            .filter_map(|p| p.policy_arn)
            .collect();
        roles.insert(name, json!({"inline": inline, "attached": attached}));
    }
    let policies: Vec<String> = iam
        .list_policies()
        .scope(aws_sdk_iam::types::PolicyScopeType::Local)
        .send()
        .await
        .expect("ListPolicies")
        .policies
        .unwrap_or_default()
        .into_iter()
        .filter_map(|p| p.arn)
        .collect();
    let password_policy = iam
        .get_account_password_policy()
        .send()
        .await
        .ok()
        .and_then(|o| o.password_policy)
        .map(|p| format!("{p:?}"));
    json!({"users": users, "groups": groups, "roles": roles, "policies": policies, "password_policy": password_policy})
}

/// A sample event from `events/<function>/<name>.json`.
pub fn sample_event(function: &str, name: &str) -> Value {
    let path = workspace_root()
        .join("events")
        .join(function)
        .join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Sets the value at a JSON pointer of an event (the pointer must exist).
pub fn with(mut event: Value, pointer: &str, value: Value) -> Value {
    *event
        .pointer_mut(pointer)
        .unwrap_or_else(|| panic!("no {pointer} in the event")) = value;
    event
}

/// One user's keys, tags, login profile, inline and attached policies.
async fn user_state(iam: &aws_sdk_iam::Client, name: &str) -> Value {
    let keys = key_statuses(iam, name).await;
    let tags: BTreeMap<String, String> = iam
        .list_user_tags()
        .user_name(name)
        .send()
        .await
        .expect("ListUserTags")
        .tags
        .into_iter()
        .map(|t| (t.key, t.value))
        .collect();
    let login_profile = iam.get_login_profile().user_name(name).send().await.is_ok();
    let inline = iam
        .list_user_policies()
        .user_name(name)
        .send()
        .await
        .expect("ListUserPolicies")
        .policy_names;
    let attached: Vec<String> = iam
        .list_attached_user_policies()
        .user_name(name)
        .send()
        .await
        .expect("ListAttachedUserPolicies")
        .attached_policies
        .unwrap_or_default()
        .into_iter()
        .filter_map(|p| p.policy_arn)
        .collect();
    json!({"keys": keys, "tags": tags, "login_profile": login_profile, "inline": inline, "attached": attached})
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

impl Moto {
    /// Puts `fault` on the next `count` calls of `action` (`iam:UpdateAccessKey`), after letting
    /// `skip` calls through.
    pub fn inject_network_fault(&self, action: &str, fault: NetworkFault, count: u32, skip: u32) {
        let (code, delay) = match fault {
            NetworkFault::Drop => ("DropConnection", 0.0),
            NetworkFault::DropAfter => ("DropConnectionAfter", 0.0),
            NetworkFault::Delay(delay) => ("Delay", delay.as_secs_f64()),
            NetworkFault::DelayAnswer(delay) => ("DelayAnswer", delay.as_secs_f64()),
        };
        self.control(
            "POST",
            "/_test/faults",
            Some(json!({"action": action, "code": code, "count": count, "skip": skip, "delay_seconds": delay})),
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

    /// The parameters of every IAM call of `action` (`iam:CreateAccessKey`) made since the start
    /// or the last [`Moto::reset_calls`], in order (IAM only: Secrets Manager bodies hold secrets).
    pub fn requests(&self, action: &str) -> Vec<BTreeMap<String, String>> {
        let all: Vec<Value> =
            serde_json::from_value(self.control("GET", "/_test/requests", None)).expect("requests");
        all.into_iter()
            .filter(|r| r["action"] == action)
            .map(|r| serde_json::from_value(r["params"].clone()).expect("parameters"))
            .collect()
    }

    pub fn secrets(&self) -> aws_sdk_secretsmanager::Client {
        aws_sdk_secretsmanager::Client::new(&self.sdk_config())
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
}
