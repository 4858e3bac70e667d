//! Typed errors of the pipeline, and their mapping to the Lambda runtime's `Diagnostic`.
//!
//! Every variant has a stable `error_type` (what alarms and `aws lambda invoke` callers match on)
//! and a message that names what was wrong. No variant ever carries a secret: SDK errors are
//! reduced to the operation, the AWS error code and AWS's message before they get here.

use aws_sdk_iam::error::ProvideErrorMetadata;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response as HttpResponse;
use aws_smithy_types::error::display::DisplayErrorContext;
use lambda_runtime::Diagnostic;

/// What can stop an invocation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The event or manual payload is not one of the documented shapes.
    #[error("invalid event: {0}")]
    InvalidEvent(String),

    /// A configuration variable has a value the function cannot use.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),

    /// The event names a principal or key that does not exist.
    #[error("{kind} {name} does not exist")]
    NotFound { kind: &'static str, name: String },

    /// The run planned more changes than `MAX_ACTIONS` allows: nothing was changed.
    #[error(
        "refused: {planned} changes planned, more than MAX_ACTIONS={limit}; nothing was changed"
    )]
    TooManyActions { planned: usize, limit: usize },

    /// Some actions failed or a principal could not be handled (the rest was done); the report,
    /// logged before this error, lists each one.
    #[error("run ended with {count} error(s): {summary}")]
    ActionsFailed { count: usize, summary: String },

    /// An AWS call failed after the SDK's retries.
    #[error("{operation} failed: {code}: {message}")]
    Aws {
        operation: &'static str,
        code: String,
        message: String,
    },

    /// The credential report could not be produced in time.
    #[error("credential report: {0}")]
    CredentialReport(String),
}

impl Error {
    /// Reduces an SDK error to the operation, AWS error code and message.
    pub fn aws<E>(operation: &'static str, err: &SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let (code, message) = match err.as_service_error() {
            Some(service) => (
                service.code().unwrap_or("Unknown").to_owned(),
                service.message().unwrap_or_default().to_owned(),
            ),
            // Timeouts, dispatch and response errors: the context chain says what happened.
            None => (
                "RequestFailed".to_owned(),
                DisplayErrorContext(err).to_string(),
            ),
        };
        Self::Aws {
            operation,
            code,
            message,
        }
    }

    /// The AWS error code, when this is an AWS error.
    pub fn aws_code(&self) -> Option<&str> {
        match self {
            Self::Aws { code, .. } => Some(code),
            _ => None,
        }
    }

    /// True when AWS answered that the entity does not exist.
    pub fn is_no_such_entity(&self) -> bool {
        self.aws_code() == Some("NoSuchEntity")
    }

    /// The stable error type reported to Lambda.
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::InvalidEvent(_) => "InvalidEvent",
            Self::Config(_) => "InvalidConfiguration",
            Self::NotFound { .. } => "NotFound",
            Self::TooManyActions { .. } => "TooManyActions",
            Self::ActionsFailed { .. } => "ActionsFailed",
            Self::Aws { .. } => "AwsCallFailed",
            Self::CredentialReport(_) => "CredentialReportUnavailable",
        }
    }
}

impl From<Error> for Diagnostic {
    fn from(error: Error) -> Self {
        Self {
            error_type: error.error_type().to_owned(),
            error_message: error.to_string(),
        }
    }
}

/// Shorthand for the pipeline's results.
pub type Result<T, E = Error> = std::result::Result<T, E>;
