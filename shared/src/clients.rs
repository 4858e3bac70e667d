//! SDK clients, built once per cold start and borrowed by every invocation.

use std::time::Duration;

use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use tokio::sync::OnceCell;

use crate::error::Result;
use crate::facts::identity;
use crate::principal::Principal;

/// The clients every function uses.
#[derive(Debug, Clone)]
pub struct Clients {
    pub iam: aws_sdk_iam::Client,
    pub sts: aws_sdk_sts::Client,
    pub config: aws_sdk_config::Client,
    caller: std::sync::Arc<OnceCell<Option<Principal>>>,
}

impl Clients {
    pub fn new(sdk: &SdkConfig) -> Self {
        Self {
            iam: aws_sdk_iam::Client::new(sdk),
            sts: aws_sdk_sts::Client::new(sdk),
            config: aws_sdk_config::Client::new(sdk),
            caller: std::sync::Arc::default(),
        }
    }

    /// The principal the function runs as, read once per container (STS GetCallerIdentity).
    pub async fn caller(&self) -> Result<Option<&Principal>> {
        self.caller
            .get_or_try_init(|| identity::caller(&self.sts))
            .await
            .map(Option::as_ref)
    }
}

/// Loads the SDK configuration from the environment (region, credentials, `AWS_ENDPOINT_URL`),
/// with retries and timeouts suited to IAM: its control plane throttles at low rates, so
/// throttling is retried with the SDK's exponential backoff and jitter, five attempts in all.
pub async fn load_sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .retry_config(retry_config())
        .timeout_config(timeout_config())
        .load()
        .await
}

/// The retry policy used by every client.
pub fn retry_config() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(5)
        .with_initial_backoff(Duration::from_millis(200))
}

/// The timeouts used by every client.
pub fn timeout_config() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(3))
        .operation_attempt_timeout(Duration::from_secs(15))
        .operation_timeout(Duration::from_mins(1))
        .build()
}
