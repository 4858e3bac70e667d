//! Typed errors of the pipeline, and their mapping to the Lambda runtime's `Diagnostic`.
//!
//! Every variant has a stable `error_type` (what alarms and `aws lambda invoke` callers match on)
//! and a message that names what was wrong. No variant ever carries a secret: SDK errors are
//! reduced to the operation, the AWS error code and AWS's message before they get here.

use aws_sdk_iam::error::ProvideErrorMetadata;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response as HttpResponse;
use aws_smithy_types::error::display::DisplayErrorContext;
use futures::FutureExt as _;
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

    /// Something the run needed does not exist: a principal or key an event names, or the
    /// target of a change that went away meanwhile.
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

    /// A failure of this program itself (a value it built that the SDK refused): a bug to
    /// report, never the event's or AWS's fault.
    #[error("internal error: {0}")]
    Internal(String),
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

    /// This error, or [`Error::NotFound`] naming `kind` `name` when AWS answered `NoSuchEntity`.
    #[must_use]
    pub fn or_not_found(self, kind: &'static str, name: &str) -> Self {
        if self.is_no_such_entity() {
            Self::NotFound {
                kind,
                name: name.to_owned(),
            }
        } else {
            self
        }
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
            Self::Internal(_) => "InternalError",
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

/// One AWS call (a fluent builder's `send()`), its failure reduced with [`Error::aws`]: the one
/// way the pipeline calls AWS. An error then holds the operation, the AWS error code and AWS's
/// message, and nothing else of the SDK's error (its raw HTTP response, the request behind it),
/// so no error a run reports or logs can carry a secret.
///
/// ```text
/// let output = call("GetUser", iam.get_user().user_name(user).send()).await?;
/// ```
///
/// A caller that must tell a lost answer from a refusal (no service error at all) awaits
/// `send()` itself and reads the `SdkError`.
///
/// A combinator rather than an `async fn`: an `async fn` would hold the SDK's future twice (the
/// argument, and the future it awaits), and those futures are several kilobytes each.
pub fn call<T, E>(
    operation: &'static str,
    sent: impl Future<Output = Result<T, SdkError<E, HttpResponse>>>,
) -> impl Future<Output = Result<T>>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    sent.map(move |answer| answer.map_err(|e| Error::aws(operation, &e)))
}

/// [`call`] for a change, whose answer says no more than that it was made.
pub fn change<T, E>(
    operation: &'static str,
    sent: impl Future<Output = Result<T, SdkError<E, HttpResponse>>>,
) -> impl Future<Output = Result<()>>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    call(operation, sent).map(|answer| answer.map(drop))
}
