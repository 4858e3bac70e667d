//! Secrets never reach a log line, a report, an error or a panic message: every path that
//! handles a SecretAccessKey runs with logging at TRACE (the SDK's own logs included), and the
//! captured output is searched for every secret IAM ever issued in the test.
//!
//! Its own test binary: the capturing subscriber is the process-wide default, so no other test
//! can race it for tracing's callsite registration.

use std::io::Write;
use std::sync::{Arc, Mutex};

use iam_remediation::{Error, Report};
use integration_tests::{Moto, sample_event, user_with_key};
use serde_json::{Value, json};

/// One invocation of `access-keys` in rotate mode.
async fn invoke(moto: &Moto, event: Value) -> Result<Report, Error> {
    let function = moto.access_keys(&[("KEY_ACTION", "rotate")]);
    integration_tests::invoke(&function, event).await
}

/// A writer that keeps everything logged, for searching.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn no_secret_reaches_a_log_line_a_report_or_an_error() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");

    let moto = Moto::start();
    let mut outputs = Vec::new();
    // Happy path, with a throttled store that is retried.
    user_with_key(&moto, "alice", 200, Some(1)).await;
    moto.inject_fault(
        "secretsmanager:PutSecretValue",
        "ThrottlingException",
        400,
        1,
        0,
    );
    outputs.push(format!(
        "{:?}",
        invoke(&moto, sample_event("access-keys", "scheduled")).await
    ));
    // Storage fails: the new key is deleted.
    user_with_key(&moto, "bob", 200, Some(1)).await;
    moto.inject_fault(
        "secretsmanager:CreateSecret",
        "InternalServiceError",
        500,
        5,
        0,
    );
    outputs.push(format!(
        "{:?}",
        invoke(&moto, json!({"users": ["bob"]})).await
    ));
    // Read-back fails.
    user_with_key(&moto, "carol", 200, Some(1)).await;
    moto.inject_fault(
        "secretsmanager:GetSecretValue",
        "DecryptionFailure",
        400,
        1,
        0,
    );
    outputs.push(format!(
        "{:?}",
        invoke(&moto, json!({"users": ["carol"]})).await
    ));

    let secrets = moto.issued_secrets();
    assert!(secrets.len() >= 3, "{secrets:?}");
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("replacement key stored"),
        "the logs were captured: {} bytes, {outputs:?}",
        logs.len()
    );
    for secret in &secrets {
        assert!(!logs.contains(secret.as_str()), "a secret reached the logs");
        for output in &outputs {
            assert!(
                !output.contains(secret.as_str()),
                "a secret reached a report or an error"
            );
        }
    }
}
