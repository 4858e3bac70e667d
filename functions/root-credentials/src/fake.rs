//! Unit-test fixtures: STS's AssumeRoot as aws-smithy-mocks rules, and the IAM and
//! Organizations calls a root session and a refusal's explanation make, answered by a fake
//! HTTP client in the `SdkConfig` (the root session's IAM client is built from it, so its calls
//! cannot go through a mocked client).

use std::sync::{Arc, Mutex};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_iam::config::{Credentials, SharedCredentialsProvider};
use aws_sdk_sts::operation::assume_root::AssumeRootOutput;
use aws_smithy_http_client::test_util::infallible_client_fn;
use aws_smithy_mocks::{Rule, mock};
use aws_smithy_types::body::SdkBody;

use crate::session::{AUDIT_POLICY, DELETE_POLICY, SESSION_SECONDS};

/// The access key ID of the audit session's credentials and of the delete session's.
pub const AUDIT_KEY: &str = "ASIAAUDITSESSION0001";
pub const DELETE_KEY: &str = "ASIADELETESESSION001";
/// The function's own credentials (the administrator account).
pub const ADMIN_KEY: &str = "AKIAADMINISTRATOR001";

/// What the fake holds: the root user's credentials, the organisation's answers, and each call
/// made, as `Action by <access key ID>`.
#[derive(Debug)]
pub struct Fake {
    /// (ID, last used as RFC 3339 or `None`).
    pub keys: Vec<(String, Option<String>)>,
    pub password: bool,
    pub mfa: Vec<String>,
    pub certificates: Vec<String>,
    /// ListOrganizationsFeatures: the features on, or the error code.
    pub features: Result<Vec<&'static str>, &'static str>,
    pub management_account: String,
    pub calls: Vec<String>,
}

impl Fake {
    pub fn new() -> Self {
        Self {
            keys: Vec::new(),
            password: false,
            mfa: Vec::new(),
            certificates: Vec::new(),
            features: Ok(vec!["RootCredentialsManagement", "RootSessions"]),
            management_account: "123456789012".into(),
            calls: Vec::new(),
        }
    }
}

fn xml(action: &str, inner: &str) -> http::Response<SdkBody> {
    let body = format!(
        "<{action}Response><{action}Result>{inner}</{action}Result>\
         <ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></{action}Response>"
    );
    http::Response::builder()
        .status(200)
        .body(SdkBody::from(body))
        .expect("a response")
}

fn error(status: u16, code: &str) -> http::Response<SdkBody> {
    let body = format!(
        "<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>fake</Message>\
         </Error></ErrorResponse>"
    );
    http::Response::builder()
        .status(status)
        .body(SdkBody::from(body))
        .expect("a response")
}

fn param<'a>(body: &'a str, name: &str) -> Option<&'a str> {
    body.split('&')
        .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
}

#[allow(
    clippy::too_many_lines,
    clippy::format_collect,
    reason = "one fake answer per call, read top to bottom"
)]
fn answer(fake: &mut Fake, request: &http::Request<SdkBody>) -> http::Response<SdkBody> {
    let signer = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split("Credential=").nth(1))
        .and_then(|v| v.split('/').next())
        .unwrap_or("?")
        .to_owned();
    if let Some(target) = request.headers().get("x-amz-target") {
        let operation = target
            .to_str()
            .unwrap_or_default()
            .rsplit('.')
            .next()
            .unwrap_or_default();
        fake.calls.push(format!("{operation} by {signer}"));
        let body = format!(
            r#"{{"Organization": {{"Id": "o-example", "MasterAccountId": "{}"}}}}"#,
            fake.management_account
        );
        return http::Response::builder()
            .status(200)
            .body(SdkBody::from(body))
            .expect("a response");
    }
    let body = String::from_utf8_lossy(request.body().bytes().unwrap_or_default()).into_owned();
    let action = param(&body, "Action").unwrap_or_default().to_owned();
    fake.calls.push(format!("{action} by {signer}"));
    assert_eq!(
        param(&body, "UserName"),
        None,
        "a root session names no user"
    );
    match action.as_str() {
        "ListAccessKeys" => {
            let members: String = (fake.keys.iter())
                .map(|(id, _)| {
                    format!(
                        "<member><AccessKeyId>{id}</AccessKeyId><Status>Active</Status>\
                         <CreateDate>2025-01-01T00:00:00Z</CreateDate></member>"
                    )
                })
                .collect();
            xml(
                &action,
                &format!("<AccessKeyMetadata>{members}</AccessKeyMetadata>"),
            )
        }
        "GetAccessKeyLastUsed" => {
            let id = param(&body, "AccessKeyId").unwrap_or_default();
            let used = fake
                .keys
                .iter()
                .find(|(k, _)| k == id)
                .and_then(|(_, u)| u.clone());
            let used = used.map_or_else(String::new, |at| {
                format!("<LastUsedDate>{at}</LastUsedDate>")
            });
            xml(
                &action,
                &format!(
                    "<AccessKeyLastUsed>{used}<ServiceName>iam</ServiceName><Region>us-east-1</Region></AccessKeyLastUsed>"
                ),
            )
        }
        "DeleteAccessKey" => {
            let id = param(&body, "AccessKeyId").unwrap_or_default().to_owned();
            let before = fake.keys.len();
            fake.keys.retain(|(k, _)| *k != id);
            if fake.keys.len() == before {
                return error(404, "NoSuchEntity");
            }
            xml(&action, "")
        }
        "GetLoginProfile" if fake.password => xml(
            &action,
            "<LoginProfile><CreateDate>2025-01-01T00:00:00Z</CreateDate></LoginProfile>",
        ),
        "GetLoginProfile" | "DeleteLoginProfile" if !fake.password => error(404, "NoSuchEntity"),
        "DeleteLoginProfile" => {
            fake.password = false;
            xml(&action, "")
        }
        "ListMFADevices" => {
            let members: String = (fake.mfa.iter())
                .map(|s| format!("<member><SerialNumber>{s}</SerialNumber><EnableDate>2025-01-01T00:00:00Z</EnableDate></member>"))
                .collect();
            xml(&action, &format!("<MFADevices>{members}</MFADevices>"))
        }
        "DeactivateMFADevice" => {
            let serial = param(&body, "SerialNumber")
                .unwrap_or_default()
                .replace("%3A", ":")
                .replace("%2F", "/");
            fake.mfa.retain(|s| *s != serial);
            xml(&action, "")
        }
        "ListSigningCertificates" => {
            let members: String = (fake.certificates.iter())
                .map(|c| format!("<member><CertificateId>{c}</CertificateId><CertificateBody>x</CertificateBody><Status>Active</Status></member>"))
                .collect();
            xml(&action, &format!("<Certificates>{members}</Certificates>"))
        }
        "DeleteSigningCertificate" => {
            let id = param(&body, "CertificateId").unwrap_or_default().to_owned();
            fake.certificates.retain(|c| *c != id);
            xml(&action, "")
        }
        "ListOrganizationsFeatures" => match &fake.features {
            Ok(features) => {
                let members: String = features
                    .iter()
                    .map(|f| format!("<member>{f}</member>"))
                    .collect();
                xml(
                    &action,
                    &format!(
                        "<OrganizationId>o-example</OrganizationId><EnabledFeatures>{members}</EnabledFeatures>"
                    ),
                )
            }
            Err(code) => error(400, code),
        },
        other => panic!("unexpected call {other}"),
    }
}

/// The function's SdkConfig, whose HTTP client is `fake`.
pub fn sdk(fake: &Arc<Mutex<Fake>>) -> SdkConfig {
    let fake = Arc::clone(fake);
    let http =
        infallible_client_fn(move |request| answer(&mut fake.lock().expect("the fake"), &request));
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url("http://localhost:1")
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            ADMIN_KEY,
            "not a secret",
            None,
            None,
            "test",
        )))
        .http_client(http)
        .build()
}

/// AssumeRoot with `policy` (and the target and duration the function uses), answered with
/// credentials whose key ID is `key`.
pub fn assume_root(policy: &'static str, key: &'static str, target: &'static str) -> Rule {
    mock!(aws_sdk_sts::Client::assume_root)
        .match_requests(move |request| {
            request.task_policy_arn().and_then(|p| p.arn()) == Some(policy)
                && request.target_principal() == Some(target)
                && request.duration_seconds() == Some(SESSION_SECONDS)
        })
        .then_output(move || {
            let credentials = aws_sdk_sts::types::Credentials::builder()
                .access_key_id(key)
                .secret_access_key("session secret")
                .session_token("session token")
                .expiration(aws_sdk_sts::primitives::DateTime::from_secs(4_102_444_800))
                .build()
                .expect("credentials");
            AssumeRootOutput::builder().credentials(credentials).build()
        })
}

/// The audit and delete AssumeRoot rules into `target`.
pub fn sessions(target: &'static str) -> (Rule, Rule) {
    (
        assume_root(AUDIT_POLICY, AUDIT_KEY, target),
        assume_root(DELETE_POLICY, DELETE_KEY, target),
    )
}
