//! Key rotation through Secrets Manager, in the order that never loses a credential:
//! create the new key, store it as a new version of the user's secret, read it back, and only
//! then record the rotation. If storing or reading back fails, the secret's labels are put back
//! (so `AWSCURRENT` holds the key that still works), the new key is deleted, and the old one is
//! left exactly as it was. The old key is retired later, by the rule, once the new key has been
//! used or the grace period is over.
//!
//! The secret access key lives in a [`SecretString`] (no `Display`, a redacted `Debug`, wiped on
//! drop) from the moment IAM returns it until it is written to Secrets Manager; it never reaches
//! a log line, the report or an error message.

use aws_sdk_iam::Client as IamClient;
use aws_sdk_secretsmanager::Client as SecretsClient;
use chrono::{DateTime, SecondsFormat, Utc};
use iam_remediation::reads::to_utc;
use iam_remediation::{Error, Result, call};

use crate::apply::delete_key;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// The staging label of a secret's current version.
const AWSCURRENT: &str = "AWSCURRENT";
/// The staging label Secrets Manager moves to the version that was current.
const AWSPREVIOUS: &str = "AWSPREVIOUS";
/// Secrets Manager's answer about a secret that does not exist.
const NOT_FOUND: &str = "ResourceNotFoundException";

/// What is stored in the user's secret (the contract's field names).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StoredKey {
    pub access_key_id: String,
    pub secret_access_key: SecretString,
    pub user_name: String,
    pub create_date: String,
}

impl StoredKey {
    /// The JSON written to Secrets Manager.
    fn to_json(&self) -> String {
        serde_json::json!({
            "AccessKeyId": self.access_key_id,
            "SecretAccessKey": self.secret_access_key.expose_secret(),
            "UserName": self.user_name,
            "CreateDate": self.create_date,
        })
        .to_string()
    }

    fn same_as(&self, other: &Self) -> bool {
        self.access_key_id == other.access_key_id
            && self.secret_access_key.expose_secret() == other.secret_access_key.expose_secret()
            && self.user_name == other.user_name
            && self.create_date == other.create_date
    }
}

/// A new key, stored and read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredReplacement {
    pub access_key_id: String,
    pub secret_name: String,
    pub version_id: String,
}

/// What a rotation came to (the `Err` side is for failures).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RotationOutcome {
    Stored(StoredReplacement),
    /// IAM refused a third key: the reason for the report.
    NoRoom(String),
}

/// Creates a new key for `user`, stores it in `secret_name` (creating the secret if needed;
/// the previous version stays as AWSPREVIOUS), and reads it back.
pub async fn create_and_store(
    iam: &IamClient,
    secrets: &SecretsClient,
    user: &str,
    secret_name: &str,
    kms_key_id: Option<&str>,
) -> Result<RotationOutcome> {
    let created = match create_key_once(iam, user).await? {
        Created::Key(created) => created,
        Created::NoRoom(no_room) => return Ok(RotationOutcome::NoRoom(no_room)),
    };
    match store_and_verify(secrets, secret_name, &created, kms_key_id).await {
        Ok(version_id) => Ok(RotationOutcome::Stored(StoredReplacement {
            access_key_id: created.access_key_id,
            secret_name: secret_name.to_owned(),
            version_id,
        })),
        Err(failure) => {
            // Never leave an orphan key that nobody holds: delete it, the old key is untouched.
            let message = match delete_key(iam, user, &created.access_key_id).await {
                Ok(()) => format!(
                    "the new key could not be stored ({}); {}it was deleted and the old key is \
                     unchanged",
                    failure.error, failure.labels
                ),
                Err(cleanup) => format!(
                    "the new key {} could not be stored ({}); {}deleting it failed too \
                     ({cleanup}); delete it by hand, the old key is unchanged",
                    created.access_key_id, failure.error, failure.labels,
                ),
            };
            Err(Error::Aws {
                operation: "rotation",
                code: failure.error.aws_code().unwrap_or("StoreFailed").to_owned(),
                message,
            })
        }
    }
}

enum Created {
    Key(StoredKey),
    /// The user has no room for a new key: why.
    NoRoom(String),
}

/// Creates one key, sent so that a lost answer can never leave a second key behind: the SDK's
/// retries are off for this call (a retry after a lost answer would create another key, or find
/// no room and leave the first one orphaned), throttling, which creates nothing, is retried
/// here, and after a lost answer a key created meanwhile that nobody holds is deleted.
async fn create_key_once(iam: &IamClient, user: &str) -> Result<Created> {
    let mut pause = std::time::Duration::from_millis(200);
    let mut attempt = 1;
    loop {
        let sent_at = Utc::now();
        let answer = iam
            .create_access_key()
            .user_name(user)
            .customize()
            .config_override(
                aws_sdk_iam::config::Builder::default()
                    .retry_config(aws_smithy_types::retry::RetryConfig::disabled()),
            )
            .send()
            .await;
        let e = match answer {
            Ok(output) => {
                let key = output.access_key.ok_or_else(|| Error::Aws {
                    operation: "CreateAccessKey",
                    code: "EmptyResponse".into(),
                    message: "no key in the response".into(),
                })?;
                return Ok(Created::Key(StoredKey {
                    // Informational for consumers: "now" is close enough if the date cannot be
                    // read, and an error here would strand the key just created.
                    create_date: key
                        .create_date
                        .and_then(|time| to_utc("CreateAccessKey", time).ok())
                        .unwrap_or_else(Utc::now)
                        .to_rfc3339_opts(SecondsFormat::Secs, true),
                    access_key_id: key.access_key_id,
                    secret_access_key: SecretString::from(key.secret_access_key),
                    user_name: user.to_owned(),
                }));
            }
            Err(e) => e,
        };
        let error = Error::aws("CreateAccessKey", &e);
        match error.aws_code() {
            Some("LimitExceeded") => {
                return Ok(Created::NoRoom(format!(
                    "no room for a new key: {user} already has two ({error})"
                )));
            }
            Some("Throttling") if attempt < 4 => {
                tokio::time::sleep(pause).await;
                pause *= 2;
                attempt += 1;
            }
            _ if e.as_service_error().is_none() => {
                let orphans = delete_keys_created_since(iam, user, sent_at).await?;
                let message = if orphans.is_empty() {
                    format!("no answer ({error}); no key was created, the old key is unchanged")
                } else {
                    format!(
                        "the answer was lost ({error}); the key it created ({}) was deleted and \
                         the old key is unchanged",
                        orphans.join(", ")
                    )
                };
                return Err(Error::Aws {
                    operation: "CreateAccessKey",
                    code: "AnswerLost".into(),
                    message,
                });
            }
            _ => return Err(error),
        }
    }
}

/// Deletes the user's keys created since `since` (less a few seconds of clock skew): keys a
/// lost CreateAccessKey answer left behind. Returns their IDs.
async fn delete_keys_created_since(
    iam: &IamClient,
    user: &str,
    since: DateTime<Utc>,
) -> Result<Vec<String>> {
    let cutoff = since - chrono::Duration::seconds(5);
    let keys = crate::facts::list_keys(iam, user).await?;
    let mut deleted = Vec::new();
    for key in keys.into_iter().filter(|k| k.created >= cutoff) {
        delete_key(iam, user, &key.id).await?;
        deleted.push(key.id);
    }
    Ok(deleted)
}

/// A store that failed, and what was done about the secret's labels.
struct StoreFailure {
    error: Error,
    /// What happened to the labels ("" when nothing was stored), ending in "; ".
    labels: String,
}

/// Writes the key as a new version of the secret and reads that version back. If anything
/// fails once the new version may exist, the labels are put back first.
async fn store_and_verify(
    secrets: &SecretsClient,
    secret_name: &str,
    stored: &StoredKey,
    kms_key_id: Option<&str>,
) -> std::result::Result<String, StoreFailure> {
    // The token is the version's ID, and makes a retried store of the same key idempotent.
    let token = format!("iam-remediation-{}", stored.access_key_id);
    let (written, created_secret) =
        put_or_create(secrets, secret_name, stored, kms_key_id, &token).await;
    let verified = async {
        let version_id = written?;
        read_back(secrets, secret_name, &version_id, stored).await?;
        Ok(version_id)
    };
    let error = match verified.await {
        Ok(version_id) => return Ok(version_id),
        Err(error) => error,
    };
    let labels = restore_labels(secrets, secret_name, &token, created_secret).await;
    Err(StoreFailure { error, labels })
}

/// PutSecretValue, or CreateSecret when the user has no secret yet. Also says whether this call
/// created the secret.
async fn put_or_create(
    secrets: &SecretsClient,
    secret_name: &str,
    stored: &StoredKey,
    kms_key_id: Option<&str>,
    token: &str,
) -> (Result<String>, bool) {
    let secret_string = stored.to_json();
    let no_version = |operation| Error::Aws {
        operation,
        code: "EmptyResponse".into(),
        message: "no version ID in the response".into(),
    };
    let put = secrets
        .put_secret_value()
        .secret_id(secret_name)
        .secret_string(&secret_string)
        .client_request_token(token);
    match call("PutSecretValue", put.send()).await {
        Ok(output) => (
            output
                .version_id
                .ok_or_else(|| no_version("PutSecretValue")),
            false,
        ),
        Err(error) if error.aws_code() == Some(NOT_FOUND) => {
            let mut create = secrets
                .create_secret()
                .name(secret_name)
                .description("IAM access key stored by iam-remediation access-keys rotation")
                .secret_string(&secret_string)
                .client_request_token(token);
            if let Some(kms_key_id) = kms_key_id {
                create = create.kms_key_id(kms_key_id);
            }
            let created = call("CreateSecret", create.send()).await;
            (
                created.and_then(|o| o.version_id.ok_or_else(|| no_version("CreateSecret"))),
                true,
            )
        }
        Err(error) => (Err(error), false),
    }
}

async fn read_back(
    secrets: &SecretsClient,
    secret_name: &str,
    version_id: &str,
    stored: &StoredKey,
) -> Result<()> {
    let request = secrets
        .get_secret_value()
        .secret_id(secret_name)
        .version_id(version_id);
    let read = call("GetSecretValue", request.send()).await?;
    let read_back: Option<StoredKey> = read
        .secret_string
        .as_deref()
        .and_then(|text| serde_json::from_str(text).ok());
    if read_back.is_some_and(|read| read.same_as(stored)) {
        Ok(())
    } else {
        Err(Error::Aws {
            operation: "GetSecretValue",
            code: "ReadBackMismatch".into(),
            message: format!("secret {secret_name} version {version_id} does not hold the new key"),
        })
    }
}

/// After a failed store: when `AWSCURRENT` is on the new version (`token`), moves it back to the
/// version that was current (now `AWSPREVIOUS`), or deletes a secret this rotation created, so
/// that no consumer picks up a key about to be deleted. Says what it did, for the report.
async fn restore_labels(
    secrets: &SecretsClient,
    secret_name: &str,
    token: &str,
    created_secret: bool,
) -> String {
    let describe = secrets.describe_secret().secret_id(secret_name);
    let described = match call("DescribeSecret", describe.send()).await {
        Ok(described) => described,
        Err(error) if error.aws_code() == Some(NOT_FOUND) => return String::new(),
        Err(error) => {
            return format!(
                "the secret's labels could not be checked ({error}): make sure AWSCURRENT of \
                 {secret_name} is not version {token}; "
            );
        }
    };
    let stages = described.version_ids_to_stages.unwrap_or_default();
    let holds = |version: &str, label: &str| {
        stages
            .get(version)
            .is_some_and(|labels| labels.iter().any(|l| l == label))
    };
    if !holds(token, AWSCURRENT) {
        return String::new();
    }
    let previous = stages
        .keys()
        .find(|version| version.as_str() != token && holds(version, AWSPREVIOUS));
    let restored = match previous {
        Some(previous) => {
            let request = secrets
                .update_secret_version_stage()
                .secret_id(secret_name)
                .version_stage(AWSCURRENT)
                .move_to_version_id(previous)
                .remove_from_version_id(token);
            call("UpdateSecretVersionStage", request.send())
                .await
                .map(|_| {
                    format!("AWSCURRENT of {secret_name} was moved back to version {previous}; ")
                })
        }
        None if created_secret => {
            let request = secrets
                .delete_secret()
                .secret_id(secret_name)
                .force_delete_without_recovery(true);
            call("DeleteSecret", request.send())
                .await
                .map(|_| format!("secret {secret_name}, created for it, was deleted; "))
        }
        None => Ok(format!(
            "AWSCURRENT of {secret_name} holds it and no previous version exists; "
        )),
    };
    restored.unwrap_or_else(|error| {
        format!(
            "AWSCURRENT of {secret_name} could not be put back ({error}): move it off version \
             {token} by hand; "
        )
    })
}

/// Reads the key ID stored in the user's secret (AWSCURRENT), if the secret exists. Used to
/// recover a rotation whose record could not be written.
pub async fn stored_key_id(secrets: &SecretsClient, secret_name: &str) -> Result<Option<String>> {
    let request = secrets.get_secret_value().secret_id(secret_name);
    match call("GetSecretValue", request.send()).await {
        Ok(output) => Ok(output
            .secret_string
            .as_deref()
            .and_then(|text| serde_json::from_str::<StoredKey>(text).ok())
            .map(|stored| stored.access_key_id)),
        Err(error) if error.aws_code() == Some(NOT_FOUND) => Ok(None),
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_never_shows_in_debug_output() {
        let stored = StoredKey {
            access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
            secret_access_key: SecretString::from("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
            user_name: "alice".into(),
            create_date: "2026-01-01T00:00:00Z".into(),
        };
        let debug = format!("{stored:?} {stored:#?}");
        assert!(!debug.contains("wJalrXUtnFEMI"), "{debug}");
        // The stored JSON holds it, with the contract's field names, and reads back the same.
        let json: serde_json::Value = serde_json::from_str(&stored.to_json()).unwrap();
        assert_eq!(
            json["SecretAccessKey"],
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
        );
        assert_eq!(json["AccessKeyId"], "AKIAIOSFODNN7EXAMPLE");
        assert_eq!(json["UserName"], "alice");
        assert_eq!(json["CreateDate"], "2026-01-01T00:00:00Z");
        let read: StoredKey = serde_json::from_str(&stored.to_json()).unwrap();
        assert!(read.same_as(&stored));
    }
}
