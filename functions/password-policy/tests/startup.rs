//! A floor the function cannot use stops it at start-up, naming the variable, before any event
//! is read or any AWS call made.

use std::process::Command;

fn start_with(variable: &str, value: &str) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_password-policy"))
        .env(variable, value)
        // Nothing here may reach AWS or a Lambda runtime API.
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .output()
        .expect("run the binary");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[test]
fn bad_floor_values_fail_at_start_up_naming_the_variable() {
    for (variable, value) in [
        ("MIN_PASSWORD_LENGTH", "5"),
        ("MIN_PASSWORD_LENGTH", "129"),
        ("MAX_PASSWORD_AGE_DAYS", "2000"),
        ("PASSWORD_REUSE_PREVENTION", "25"),
        ("REQUIRE_SYMBOLS", "yes"),
        ("HARD_EXPIRY", "sometimes"),
    ] {
        let (succeeded, output) = start_with(variable, value);
        assert!(!succeeded, "{variable}={value} started: {output}");
        assert!(
            output.contains(&format!("invalid configuration: {variable}=\"{value}\"")),
            "{variable}={value}: {output}"
        );
    }
}

#[test]
fn a_valid_floor_gets_past_the_configuration() {
    // With a valid floor the binary goes on to the Lambda runtime, which is absent here: it
    // fails for that reason, not for its configuration.
    let (succeeded, output) = start_with("MIN_PASSWORD_LENGTH", "6");
    assert!(!succeeded);
    assert!(!output.contains("invalid configuration"), "{output}");
}
