//! End to end through a real Lambda runtime: the built binaries (`main.rs`, the environment
//! defaults, the runtime loop) run under cargo-lambda's runtime emulator, the path the demo
//! takes, and are invoked with the sample events of `events/`. A broken `main.rs`, a sample
//! event the function does not accept, or a bad default breaks these tests.
//!
//! The binaries must be built first (`cargo build --bins`; `scripts/test` does it).

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use integration_tests::{Moto, add_key, create_user, days_ago, snapshot, workspace_root};
use serde_json::Value;

const FUNCTIONS: [&str; 4] = [
    "access-keys",
    "console-passwords",
    "password-policy",
    "inline-policies",
];

fn cargo_lambda() -> PathBuf {
    let path = workspace_root().join(".venv/bin/cargo-lambda");
    assert!(
        path.exists(),
        "cargo-lambda is missing: run scripts/setup-venv (scripts/test does)"
    );
    path
}

fn binary(function: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace_root().join("target"), PathBuf::from);
    let path = target.join("debug").join(function);
    assert!(
        path.exists(),
        "{} is missing: build the binaries first (cargo build --bins; scripts/test does)",
        path.display()
    );
    path
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// A process killed on drop.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// cargo-lambda's Lambda runtime API emulator.
struct Emulator {
    port: u16,
    _process: Running,
}

impl Emulator {
    fn start() -> Self {
        let port = free_port();
        let process = Command::new(cargo_lambda())
            .args([
                "lambda",
                "watch",
                "--only-lambda-apis",
                "--invoke-address",
                "127.0.0.1",
                "--invoke-port",
            ])
            .arg(port.to_string())
            .current_dir(workspace_root())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start cargo lambda watch");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the runtime emulator did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self {
            port,
            _process: Running(process),
        }
    }

    /// Runs `function`'s binary as Lambda would, with `env` on top.
    fn run_function(&self, function: &str, moto: &Moto, env: &[(&str, &str)]) -> Running {
        let child = Command::new(binary(function))
            .env_clear()
            .env("AWS_LAMBDA_FUNCTION_NAME", function)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
            .env(
                "AWS_LAMBDA_RUNTIME_API",
                format!("http://127.0.0.1:{}/.rt/{function}", self.port),
            )
            .env("AWS_ENDPOINT_URL", &moto.endpoint)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the function");
        Running(child)
    }

    /// Invokes `function` with `event`: the report, or the error text.
    fn invoke(&self, function: &str, event: &Value) -> Result<Value, String> {
        let output = Command::new(cargo_lambda())
            .args([
                "lambda",
                "invoke",
                function,
                "--invoke-address",
                "127.0.0.1",
                "--invoke-port",
            ])
            .arg(self.port.to_string())
            .arg("--data-ascii")
            .arg(event.to_string())
            .env("NO_COLOR", "1")
            .current_dir(workspace_root())
            .output()
            .expect("cargo lambda invoke");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        if output.status.success() {
            serde_json::from_str(&stdout).map_err(|e| format!("not a report ({e}): {stdout}"))
        } else {
            Err(format!(
                "{stdout}{}",
                String::from_utf8_lossy(&output.stderr)
            ))
        }
    }
}

/// IDs of the seeded account, to put into the sample events in place of their examples.
struct Seeded {
    replacements: Vec<(&'static str, String)>,
}

/// alice (an old key, an unused console password, an inline policy), bob, the group
/// `developers` and the role `ci-deploy` with inline policies, and a weak password policy: every
/// principal the sample events name.
async fn seed(moto: &Moto) -> Seeded {
    let iam = moto.iam();
    create_user(&iam, "alice").await;
    create_user(&iam, "bob").await;
    moto.set_user("alice", Some(days_ago(300)), None);
    let key = add_key(moto, "alice", 200, Some(150)).await;
    iam.create_login_profile()
        .user_name("alice")
        .password("Alice-Pa55word!")
        .send()
        .await
        .expect("login profile");
    let document = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;
    iam.put_user_policy()
        .user_name("alice")
        .policy_name("s3-read")
        .policy_document(document)
        .send()
        .await
        .expect("policy");
    let group = iam
        .create_group()
        .group_name("developers")
        .send()
        .await
        .expect("group")
        .group
        .expect("group");
    iam.put_group_policy()
        .group_name("developers")
        .policy_name("s3-read")
        .policy_document(document)
        .send()
        .await
        .expect("policy");
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    let role = iam
        .create_role()
        .role_name("ci-deploy")
        .assume_role_policy_document(trust)
        .send()
        .await
        .expect("role")
        .role
        .expect("role");
    iam.put_role_policy()
        .role_name("ci-deploy")
        .policy_name("s3-read")
        .policy_document(document)
        .send()
        .await
        .expect("policy");
    iam.update_account_password_policy()
        .minimum_password_length(8)
        .send()
        .await
        .expect("password policy");
    let alice = iam
        .get_user()
        .user_name("alice")
        .send()
        .await
        .expect("alice")
        .user
        .expect("alice");
    Seeded {
        replacements: vec![
            ("AKIAIOSFODNN7EXAMPLE", key),
            ("AIDAJQABLZS4A3QDU576Q", alice.user_id),
            ("AGPAJ2UCCR6DPCEXAMPLE", group.group_id),
            ("AROAJ52OTH4H7LEXAMPLE", role.role_id),
        ],
    }
}

/// Every sample event of a function, with the seeded account's IDs in place of the examples.
fn sample_events(function: &str, seeded: &Seeded) -> Vec<(String, Value)> {
    let dir = workspace_root().join("events").join(function);
    let mut events: Vec<(String, Value)> = std::fs::read_dir(&dir)
        .expect("events dir")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .map(|path| {
            let mut text = std::fs::read_to_string(&path).expect("read event");
            for (example, real) in &seeded.replacements {
                text = text.replace(example, real);
            }
            let name = path
                .file_stem()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            (name, serde_json::from_str(&text).expect("JSON event"))
        })
        .collect();
    events.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(events.len() >= 5, "{function}: too few sample events");
    events
}

fn expected_trigger(event_name: &str) -> &'static str {
    [
        ("scheduled", "schedule"),
        ("cloudtrail", "cloudtrail"),
        ("config-compliance", "config"),
        ("config-rule", "config-rule"),
        ("health", "health"),
        ("manual", "manual"),
    ]
    .into_iter()
    .find(|(prefix, _)| event_name.starts_with(prefix))
    .map_or_else(
        || panic!("sample event {event_name}: name it after its trigger"),
        |(_, trigger)| trigger,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_sample_event_runs_through_the_runtime_and_a_real_sweep_fixes_the_account() {
    let moto = Moto::start();
    let iam = moto.iam();
    let seeded = seed(&moto).await;
    let emulator = Emulator::start();
    let common = [("INLINE_POLICY_PRINCIPALS", "users,groups,roles")];

    // Dry run: every sample event is accepted, reports the right trigger, and changes nothing.
    let before = snapshot(&iam).await;
    let mut dry_env = common.to_vec();
    dry_env.push(("DRY_RUN", "true"));
    let _dry: Vec<Running> = FUNCTIONS
        .iter()
        .map(|f| emulator.run_function(f, &moto, &dry_env))
        .collect();
    for function in FUNCTIONS {
        for (name, event) in sample_events(function, &seeded) {
            let report = emulator
                .invoke(function, &event)
                .unwrap_or_else(|error| panic!("{function} {name}: {error}"));
            assert_eq!(report["function"], function, "{name}");
            assert_eq!(
                report["trigger"],
                expected_trigger(&name),
                "{function} {name}"
            );
            assert_eq!(report["dry_run"], true, "{function} {name}");
            assert!(
                report["actions"]
                    .as_array()
                    .expect("actions")
                    .iter()
                    .all(|a| a["status"] != "applied"),
                "{function} {name}: {report}"
            );
        }
    }
    assert_eq!(snapshot(&iam).await, before, "a dry run changed something");

    // For real, in a second emulator (cargo-lambda names functions after the project's binaries):
    // each function's scheduled sweep fixes what it covers.
    let emulator = Emulator::start();
    let _real: Vec<Running> = FUNCTIONS
        .iter()
        .map(|f| emulator.run_function(f, &moto, &common))
        .collect();
    for function in FUNCTIONS {
        let event = sample_events(function, &seeded)
            .into_iter()
            .find(|(name, _)| name == "scheduled")
            .expect("scheduled.json")
            .1;
        let report = emulator
            .invoke(function, &event)
            .unwrap_or_else(|error| panic!("{function}: {error}"));
        let applied = report["actions"]
            .as_array()
            .expect("actions")
            .iter()
            .filter(|a| a["status"] == "applied")
            .count();
        assert!(applied >= 1, "{function}: {report}");
    }
    let after = snapshot(&iam).await;
    assert!(
        after["users"]["alice"]["keys"]
            .as_object()
            .expect("keys")
            .values()
            .all(|s| s == "Inactive"),
        "{after}"
    );
    assert_eq!(after["users"]["alice"]["login_profile"], false, "{after}");
    assert_eq!(
        after["users"]["alice"]["inline"],
        serde_json::json!([]),
        "{after}"
    );
    assert_eq!(
        after["groups"]["developers"]["inline"],
        serde_json::json!([]),
        "{after}"
    );
    assert_eq!(
        after["roles"]["ci-deploy"]["inline"],
        serde_json::json!([]),
        "{after}"
    );
    assert!(
        after["password_policy"]
            .as_str()
            .expect("a policy")
            .contains("minimum_password_length: Some(14)"),
        "{after}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_through_the_runtime_is_a_lambda_error_naming_the_problem() {
    let moto = Moto::start();
    let emulator = Emulator::start();
    let _function = emulator.run_function("access-keys", &moto, &[]);
    let error = emulator
        .invoke("access-keys", &serde_json::json!({"dryrun": true}))
        .expect_err("an error");
    assert!(
        error.contains("InvalidEvent") && error.contains("unknown field `dryrun`"),
        "{error}"
    );
    let error = emulator
        .invoke("access-keys", &serde_json::json!({"users": ["ghost"]}))
        .expect_err("an error");
    assert!(error.contains("user ghost does not exist"), "{error}");
}

#[test]
fn a_bad_configuration_value_stops_the_start_up_naming_the_variable() {
    for (function, variable, value) in [
        ("access-keys", "MAX_KEY_AGE_DAYS", "ninety"),
        ("console-passwords", "MAX_PASSWORD_UNUSED_DAYS", "-1"),
        ("password-policy", "MIN_PASSWORD_LENGTH", "5"),
        ("inline-policies", "INLINE_POLICY_ACTION", "shred"),
        ("inline-policies", "DRY_RUN", "maybe"),
    ] {
        let output = Command::new(binary(function))
            .env_clear()
            .env("AWS_LAMBDA_FUNCTION_NAME", function)
            .env("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9")
            .env("AWS_REGION", "us-east-1")
            .env(variable, value)
            .output()
            .expect("run the binary");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            !output.status.success(),
            "{function} started with {variable}={value}"
        );
        assert!(text.contains(variable), "{function}: {text}");
    }
}
