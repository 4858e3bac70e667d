//! Fixtures for the functions' unit tests (feature `testing`, dev-dependencies only): a fixed
//! clock and IAM's error answers for aws-smithy-mocks.

use chrono::{DateTime, Duration, Utc};

/// The clock the rule tables run at.
pub fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-06-15T12:00:00Z")
        .expect("a valid time")
        .with_timezone(&Utc)
}

/// `days` days before [`now`].
pub fn days_ago(days: i64) -> DateTime<Utc> {
    now() - Duration::days(days)
}

/// IAM's answer to a refused call: HTTP `status` with error `code` and message `injected`.
pub fn iam_error(status: u16, code: &str) -> aws_smithy_runtime_api::http::Response {
    aws_smithy_runtime_api::http::Response::new(
        aws_smithy_runtime_api::http::StatusCode::try_from(status).expect("an HTTP status"),
        aws_smithy_types::body::SdkBody::from(format!(
            "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>\
             <Message>injected</Message></Error></ErrorResponse>"
        )),
    )
}

/// Asserts that each `(variable, value)` alone stops `S` from starting, with an error that names
/// the variable.
pub fn assert_each_rejected<S: crate::FromEnv>(cases: &[(&str, &str)]) {
    for &(variable, value) in cases {
        match S::from_env(&crate::Env::from_pairs([(variable, value)])) {
            Ok(_) => panic!("{variable}={value} was accepted"),
            Err(err) => {
                assert_eq!(err.variable, variable, "{variable}={value}");
                assert!(err.to_string().contains(variable), "{err}");
            }
        }
    }
}

/// Asserts a control's state as a `control.rs` table expects it: passing, or failing with a
/// reason that contains `says`; `case` names the row.
pub fn assert_control_state(
    state: Option<crate::ControlState>,
    passes: bool,
    says: &str,
    case: &str,
) {
    match state {
        Some(crate::ControlState::Passes) => assert!(passes, "{case}: passes"),
        Some(crate::ControlState::Fails(why)) => {
            assert!(!passes, "{case}: {why}");
            assert!(why.contains(says), "{case}: {why}");
        }
        None => panic!("{case}: not judged"),
    }
}
