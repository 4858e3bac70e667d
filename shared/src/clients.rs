//! SDK clients, built once per cold start and borrowed by every invocation.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use tokio::sync::OnceCell;

use aws_sdk_sts::config::{Credentials, SharedCredentialsProvider};

use crate::error::{Result, call};
use crate::principal::Principal;
use crate::reads::identity::{self, Identity};

/// The SDK clients of the account a function acts in: those the shared pipeline uses, built
/// with it, and those only some functions or organisation mode use (Secrets Manager,
/// Organizations, Lambda), built on first use.
///
/// In organisation mode the clients of a member account ([`Clients::assume_role`]) act there
/// through the member role (IAM, STS, Config, Secrets Manager), while Security Hub (findings
/// updated from the administrator account), SNS, Organizations and Lambda stay the function's own.
#[derive(Debug, Clone)]
pub struct Clients {
    sdk: SdkConfig,
    pub iam: aws_sdk_iam::Client,
    pub sts: aws_sdk_sts::Client,
    /// AWS Config: evaluations back to custom rules.
    pub config: aws_sdk_config::Client,
    /// Security Hub: findings updated after acting on them.
    pub securityhub: aws_sdk_securityhub::Client,
    /// SNS: run summaries and warnings.
    pub sns: aws_sdk_sns::Client,
    /// The function's own configuration (Organizations and Lambda are always called as the
    /// function itself, from its own account).
    home: SdkConfig,
    secretsmanager: Arc<OnceLock<aws_sdk_secretsmanager::Client>>,
    organizations: Arc<OnceLock<aws_sdk_organizations::Client>>,
    lambda: Arc<OnceLock<aws_sdk_lambda::Client>>,
    identity: Arc<OnceCell<Identity>>,
    /// The account these clients act on, when it is not the credentials' own (set by
    /// [`Clients::acting_on`]).
    target: Option<String>,
}

impl Clients {
    pub fn new(sdk: &SdkConfig) -> Self {
        Self {
            sdk: sdk.clone(),
            iam: aws_sdk_iam::Client::new(sdk),
            sts: aws_sdk_sts::Client::new(sdk),
            config: aws_sdk_config::Client::new(sdk),
            securityhub: aws_sdk_securityhub::Client::new(sdk),
            sns: aws_sdk_sns::Client::new(sdk),
            home: sdk.clone(),
            secretsmanager: Arc::default(),
            organizations: Arc::default(),
            lambda: Arc::default(),
            identity: Arc::default(),
            target: None,
        }
    }

    /// The SDK configuration these clients were built from (the member role's in a member
    /// account), for clients a function builds itself.
    pub fn sdk_config(&self) -> &SdkConfig {
        &self.sdk
    }

    /// Secrets Manager (access-keys' rotation), built on first use.
    pub fn secretsmanager(&self) -> &aws_sdk_secretsmanager::Client {
        self.secretsmanager
            .get_or_init(|| aws_sdk_secretsmanager::Client::new(&self.sdk))
    }

    /// AWS Organizations, as the function itself (organisation mode), built on first use.
    pub fn organizations(&self) -> &aws_sdk_organizations::Client {
        self.organizations
            .get_or_init(|| aws_sdk_organizations::Client::new(&self.home))
    }

    /// Lambda, as the function itself (the fan-out), built on first use.
    pub fn lambda(&self) -> &aws_sdk_lambda::Client {
        self.lambda
            .get_or_init(|| aws_sdk_lambda::Client::new(&self.home))
    }

    /// Who these clients' credentials are, read once per container (STS GetCallerIdentity).
    pub async fn identity(&self) -> Result<&Identity> {
        self.identity
            .get_or_try_init(|| identity::caller(&self.sts))
            .await
    }

    /// The principal the function runs as (in a member account: the member role).
    pub async fn caller(&self) -> Result<Option<&Principal>> {
        Ok(self.identity().await?.principal.as_ref())
    }

    /// The account these clients act on.
    pub async fn account(&self) -> Result<&str> {
        match &self.target {
            Some(account) => Ok(account),
            None => Ok(&self.identity().await?.account),
        }
    }

    /// The same clients, said to act on `account`: for a function that reaches another account
    /// by its own means (root-credentials' `sts:AssumeRoot`) rather than through a member role.
    #[must_use]
    pub fn acting_on(&self, account: &str) -> Self {
        Self {
            target: Some(account.to_owned()),
            ..self.clone()
        }
    }

    /// The clients of role `role_arn` in `account`: one `sts:AssumeRole` session (named
    /// `session_name`, for CloudTrail), made now, so that a role that cannot be assumed is known
    /// before anything else happens in that account. The STS client calls the regional
    /// endpoint: the AWS SDKs released after July 2022, the Rust SDK among them, default to
    /// regional STS endpoints (AWS SDKs and Tools Reference Guide, "AWS STS Regional
    /// endpoints"). The session lasts 15 minutes, STS's minimum and Lambda's longest run.
    pub async fn assume_role(
        &self,
        account: &str,
        role_arn: &str,
        session_name: &str,
    ) -> Result<Self> {
        let request = self
            .sts
            .assume_role()
            .role_arn(role_arn)
            .role_session_name(session_name)
            .duration_seconds(SESSION_SECONDS);
        let session = call("AssumeRole", request.send()).await?;
        let credentials = session.credentials.ok_or_else(|| {
            crate::error::Error::Internal("AssumeRole answered without credentials".into())
        })?;
        let member = Self::new(&with_session(&self.sdk, credentials, "member-role"));
        Ok(Self {
            securityhub: self.securityhub.clone(),
            sns: self.sns.clone(),
            home: self.home.clone(),
            organizations: self.organizations.clone(),
            lambda: self.lambda.clone(),
            target: Some(account.to_owned()),
            ..member
        })
    }
}

/// How long a member role's session lasts.
const SESSION_SECONDS: i32 = 900;

/// `sdk` (its endpoint, region, retries and timeouts) with the credentials of an STS session
/// (AssumeRole, AssumeRoot), named `source` in the SDK's logs.
pub fn with_session(
    sdk: &SdkConfig,
    session: aws_sdk_sts::types::Credentials,
    source: &'static str,
) -> SdkConfig {
    let expiry = std::time::SystemTime::try_from(session.expiration).ok();
    let credentials = Credentials::new(
        session.access_key_id,
        session.secret_access_key,
        Some(session.session_token),
        expiry,
        source,
    );
    sdk.to_builder()
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .build()
}

/// Loads the SDK configuration from the environment (region, credentials, `AWS_ENDPOINT_URL`),
/// with retries and timeouts suited to IAM: its control plane throttles at low rates, so
/// throttling is retried with the SDK's exponential backoff and jitter, five attempts in all, in
/// adaptive mode: once throttled, the client slows its own rate, so a sweep with many calls in
/// flight slows down instead of failing.
pub async fn load_sdk_config() -> SdkConfig {
    loader().load().await
}

/// What [`load_sdk_config`] loads: the environment, with this HTTP client, retries and timeouts.
fn loader() -> aws_config::ConfigLoader {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client())
        .retry_config(retry_config())
        .timeout_config(timeout_config())
}

/// The HTTP client every SDK client uses (and aws-config's credential providers): the SDK's own
/// hyper client, HTTP/1.1 and HTTP/2, TLS through rustls with *ring*'s cryptography (TLS 1.2 and
/// 1.3, the SDK's cipher suites) and the system's root certificates; `http://` endpoints (a local
/// test server) in the clear. The SDK's default client is the same on aws-lc's cryptography,
/// which made each binary about 0.73 MB larger: the SDK crates are built without it. What *ring*
/// lacks is the post-quantum hybrid key exchange (X25519MLKEM768) aws-lc would offer first;
/// X25519 and the NIST curves remain.
pub fn http_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// The retry policy used by every client. A retry never waits more than [`MAX_BACKOFF`]: the
/// SDK's 20 s default is more than the run keeps in hand before its deadline.
pub fn retry_config() -> RetryConfig {
    RetryConfig::adaptive()
        .with_max_attempts(5)
        .with_initial_backoff(Duration::from_millis(200))
        .with_max_backoff(MAX_BACKOFF)
}

/// The longest wait before a retry.
pub const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// The timeouts used by every client.
pub fn timeout_config() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(3))
        .operation_attempt_timeout(Duration::from_secs(10))
        .operation_timeout(Duration::from_mins(1))
        .build()
}

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::net::TcpListener;
    use std::sync::mpsc;

    use aws_config::Region;
    use aws_sdk_iam::config::Credentials;

    use super::*;

    /// A server on a local port that records the first bytes of each of the first `connections`
    /// connections, then hangs up on it. Returns its address.
    fn recording_server(connections: usize) -> (String, mpsc::Receiver<Vec<u8>>) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a local port");
        let address = listener.local_addr().expect("its address").to_string();
        let (sender, received) = mpsc::channel();
        std::thread::spawn(move || {
            for stream in listener.incoming().take(connections) {
                let mut stream = stream.expect("a connection");
                let mut first = vec![0; 16];
                stream.read_exact(&mut first).expect("the first bytes");
                sender.send(first).expect("the test is listening");
            }
        });
        (address, received)
    }

    /// The functions' configuration ([`load_sdk_config`]), with a region, credentials and an
    /// endpoint given (nothing looked up), and no retries.
    async fn sdk_config(endpoint: &str) -> SdkConfig {
        loader()
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new(
                "AKIDEXAMPLE",
                "not a secret",
                None,
                None,
                "tests",
            ))
            .endpoint_url(endpoint)
            .retry_config(RetryConfig::disabled())
            .load()
            .await
    }

    fn received(bytes: &mpsc::Receiver<Vec<u8>>) -> Vec<u8> {
        bytes
            .recv_timeout(Duration::from_secs(10))
            .expect("the client connected")
    }

    #[tokio::test]
    async fn every_client_speaks_tls_to_an_https_endpoint() {
        let (address, bytes) = recording_server(5);
        let sdk = sdk_config(&format!("https://{address}")).await;
        assert!(sdk.http_client().is_some());
        let clients = Clients::new(&sdk);

        // The server hangs up in the middle of the handshake: every call fails, after its
        // client sent a TLS ClientHello (record type 22, handshake type 1).
        let calls = [
            clients.iam.list_users().send().await.is_err(),
            clients.sts.get_caller_identity().send().await.is_err(),
            clients.config.describe_config_rules().send().await.is_err(),
            clients.securityhub.get_findings().send().await.is_err(),
            clients.sns.list_topics().send().await.is_err(),
        ];
        assert_eq!(calls, [true; 5]);
        for client in ["iam", "sts", "config", "securityhub", "sns"] {
            let hello = received(&bytes);
            assert_eq!(
                (hello[0], hello[1], hello[5]),
                (0x16, 0x03, 0x01),
                "{client}: {hello:?}"
            );
        }
    }

    #[tokio::test]
    async fn an_http_endpoint_is_spoken_to_in_the_clear() {
        let (address, bytes) = recording_server(1);
        let sdk = sdk_config(&format!("http://{address}")).await;
        let result = Clients::new(&sdk).iam.list_users().send().await;
        assert!(result.is_err());
        let request = received(&bytes);
        assert!(request.starts_with(b"POST / HTTP/1.1"), "{request:?}");
    }
}
