//! End to end through a real Lambda runtime: the built binaries (`main.rs`, the environment
//! defaults, the runtime loop) run under cargo-lambda's runtime emulator, the path the demo
//! takes, and are invoked with the sample events of `events/`. A broken `main.rs`, a sample
//! event the function does not accept, or a bad default breaks these tests.
//!
//! The binaries must be built first (`cargo build --bins`; `scripts/test` does it).

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use integration_tests::{
    Moto, add_key, add_password, alice_developers_and_ci, create_user, sample_event,
    set_minimum_password_length, snapshot, unique_id, workspace_root,
};
use serde_json::Value;

/// The functions of an account; root-credentials (organisation mode only) is run against the
/// organisation test bed in tests/tests/root_credentials.rs.
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

/// Everything a process wrote, standard output then standard error.
fn written(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr)
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
        let process = Self::cargo_lambda(port, &["watch", "--only-lambda-apis"])
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

    /// `cargo lambda <subcommand>` talking to the emulator on `port`.
    fn cargo_lambda(port: u16, subcommand: &[&str]) -> Command {
        let mut command = Command::new(cargo_lambda());
        command
            .arg("lambda")
            .args(subcommand)
            .args(["--invoke-address", "127.0.0.1", "--invoke-port"])
            .arg(port.to_string())
            .current_dir(workspace_root());
        command
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
        let output = Self::cargo_lambda(self.port, &["invoke", function])
            .arg("--data-ascii")
            .arg(event.to_string())
            .env("NO_COLOR", "1")
            .output()
            .expect("cargo lambda invoke");
        if output.status.success() {
            let stdout = String::from_utf8_lossy(&output.stdout);
            serde_json::from_str(&stdout).map_err(|e| format!("not a report ({e}): {stdout}"))
        } else {
            Err(written(&output))
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
    let principals = alice_developers_and_ci(&iam, &[("s3-read", "s3:GetObject")]).await;
    add_password(moto, "alice", 300, None).await;
    create_user(&iam, "bob").await;
    let key = add_key(moto, "alice", 200, Some(150)).await;
    set_minimum_password_length(&iam, 8).await;
    let mut replacements = vec![("AKIAIOSFODNN7EXAMPLE", key)];
    let examples = [
        "AIDAJQABLZS4A3QDU576Q",
        "AGPAJ2UCCR6DPCEXAMPLE",
        "AROAJ52OTH4H7LEXAMPLE",
    ];
    for (example, principal) in examples.into_iter().zip(&principals) {
        replacements.push((example, unique_id(&iam, principal).await));
    }
    Seeded { replacements }
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

/// Imports the ASFF findings of every Security Hub sample event into the test bed, as a real
/// account holds them before their events arrive (the functions update them afterwards).
async fn import_sample_findings(moto: &Moto, seeded: &Seeded) {
    for function in FUNCTIONS {
        for (_, event) in sample_events(function, seeded) {
            if event["source"] == "aws.securityhub"
                && event["detail-type"] == "Security Hub Findings - Imported"
            {
                moto.import_event_findings(&event).await;
            }
        }
    }
}

fn expected_trigger(event_name: &str) -> &'static str {
    [
        ("scheduled", "schedule"),
        ("cloudtrail", "cloudtrail"),
        ("config-compliance", "config"),
        ("config-rule", "config-rule"),
        ("health", "health"),
        ("securityhub", "securityhub"),
        ("access-analyzer", "access-analyzer"),
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
    let (moto, iam) = Moto::with_iam();
    let seeded = seed(&moto).await;
    import_sample_findings(&moto, &seeded).await;
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
    // A Security Hub finding about a user the account does not have.
    let finding = sample_event("access-keys", "securityhub-iam3-user")
        .to_string()
        .replace("user/alice", "user/ghost")
        .replace("\"alice\"", "\"ghost\"");
    let finding: Value = serde_json::from_str(&finding).expect("JSON event");
    let error = emulator
        .invoke("access-keys", &finding)
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
        ("root-credentials", "ROOT_REMOVE_PASSWORD", "maybe"),
        ("access-keys", "EXEMPT_ACCOUNTS", "12345"),
    ] {
        let output = Command::new(binary(function))
            .env_clear()
            .env("AWS_LAMBDA_FUNCTION_NAME", function)
            .env("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9")
            .env("AWS_REGION", "us-east-1")
            .env(variable, value)
            .output()
            .expect("run the binary");
        let text = written(&output);
        assert!(
            !output.status.success(),
            "{function} started with {variable}={value}"
        );
        assert!(text.contains(variable), "{function}: {text}");
    }
}
