//! Key rotation through Secrets Manager, in the order that never loses a credential:
//! create the new key, store it as a new version of the user's secret, read it back, and only
//! then record the rotation. If storing or reading back fails, the new key is deleted and the old
//! one is left exactly as it was. The old key is retired later, by the rule, once the new key
//! has been used or the grace period is over.
//!
//! The secret access key lives in a [`SecretAccessKey`], which has no `Display` and whose
//! `Debug` is redacted, from the moment IAM returns it until it is written to Secrets Manager;
//! it never reaches a log line, the report or an error message.

use std::fmt;

use aws_sdk_iam::Client as IamClient;
use aws_sdk_secretsmanager::Client as SecretsClient;
use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::facts::to_utc;

/// A secret access key. Deliberately not `Display`; `Debug` shows nothing of it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SecretAccessKey(String);

impl fmt::Debug for SecretAccessKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretAccessKey(** redacted **)")
    }
}

/// What is stored in the user's secret (the contract's field names).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StoredKey {
    pub access_key_id: String,
    pub secret_access_key: SecretAccessKey,
    pub user_name: String,
    pub create_date: String,
}

/// A new key, stored and read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredReplacement {
    pub access_key_id: String,
    pub secret_name: String,
    pub version_id: String,
}

/// Why a rotation did not happen (the `Err` side is for failures).
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
        Ok(created) => created,
        Err(no_room) => return Ok(RotationOutcome::NoRoom(no_room)),
    };
    let stored = StoredKey {
        access_key_id: created.access_key_id.clone(),
        secret_access_key: SecretAccessKey(created.secret_access_key.clone()),
        user_name: user.to_owned(),
        // Informational for consumers: "now" is close enough if IAM's answer lacks it, and an
        // error here would strand the key just created.
        create_date: created
            .create_date
            .and_then(|time| to_utc("CreateAccessKey", time).ok())
            .unwrap_or_else(Utc::now)
            .to_rfc3339_opts(SecondsFormat::Secs, true),
    };
    drop(created);
    match store_and_verify(secrets, secret_name, &stored, kms_key_id).await {
        Ok(version_id) => Ok(RotationOutcome::Stored(StoredReplacement {
            access_key_id: stored.access_key_id,
            secret_name: secret_name.to_owned(),
            version_id,
        })),
        Err(store_error) => {
            // Never leave an orphan key that nobody holds: delete it, the old key is untouched.
            let cleanup = iam
                .delete_access_key()
                .user_name(user)
                .access_key_id(&stored.access_key_id)
                .send()
                .await;
            let message = match cleanup {
                Ok(_) => format!(
                    "the new key could not be stored ({store_error}); it was deleted and the \
                     old key is unchanged"
                ),
                Err(e) => format!(
                    "the new key {} could not be stored ({store_error}) and deleting it failed \
                     too ({}); delete it by hand, the old key is unchanged",
                    stored.access_key_id,
                    Error::aws("DeleteAccessKey", &e)
                ),
            };
            Err(Error::Aws {
                operation: "rotation",
                code: store_error.aws_code().unwrap_or("StoreFailed").to_owned(),
                message,
            })
        }
    }
}

/// Creates one key, sent so that a lost answer can never leave a second key behind: the SDK's
/// retries are off for this call (a retry after a lost answer would create another key, or find
/// no room and leave the first one orphaned), throttling, which creates nothing, is retried
/// here, and after a lost answer a key created meanwhile that nobody holds is deleted.
/// `Ok(Err(reason))` when the user has no room for a new key.
async fn create_key_once(
    iam: &IamClient,
    user: &str,
) -> Result<std::result::Result<aws_sdk_iam::types::AccessKey, String>> {
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
                return output.access_key.map(Ok).ok_or_else(|| Error::Aws {
                    operation: "CreateAccessKey",
                    code: "EmptyResponse".into(),
                    message: "no key in the response".into(),
                });
            }
            Err(e) => e,
        };
        let error = Error::aws("CreateAccessKey", &e);
        match error.aws_code() {
            Some("LimitExceeded") => {
                return Ok(Err(format!(
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
    let keys = crate::facts::access_keys::list_keys(iam, user).await?;
    let mut deleted = Vec::new();
    for key in keys.into_iter().filter(|k| k.created >= cutoff) {
        iam.delete_access_key()
            .user_name(user)
            .access_key_id(&key.id)
            .send()
            .await
            .map_err(|e| Error::aws("DeleteAccessKey", &e))?;
        deleted.push(key.id);
    }
    Ok(deleted)
}

/// Writes the key as a new version of the secret and reads that version back.
async fn store_and_verify(
    secrets: &SecretsClient,
    secret_name: &str,
    stored: &StoredKey,
    kms_key_id: Option<&str>,
) -> Result<String> {
    let secret_string = serde_json::to_string(stored).map_err(|e| Error::Aws {
        operation: "rotation",
        code: "SerializationFailed".into(),
        message: e.to_string(),
    })?;
    // The token makes a retried store of the same key idempotent.
    let token = format!("iam-remediation-{}", stored.access_key_id);
    let version_id = match secrets
        .put_secret_value()
        .secret_id(secret_name)
        .secret_string(&secret_string)
        .client_request_token(&token)
        .send()
        .await
    {
        Ok(output) => output.version_id,
        Err(e) if e.code() == Some("ResourceNotFoundException") => {
            let mut create = secrets
                .create_secret()
                .name(secret_name)
                .description("IAM access key stored by iam-remediation access-keys rotation")
                .secret_string(&secret_string)
                .client_request_token(&token);
            if let Some(kms_key_id) = kms_key_id {
                create = create.kms_key_id(kms_key_id);
            }
            create
                .send()
                .await
                .map_err(|e| Error::aws("CreateSecret", &e))?
                .version_id
        }
        Err(e) => return Err(Error::aws("PutSecretValue", &e)),
    }
    .ok_or_else(|| Error::Aws {
        operation: "PutSecretValue",
        code: "EmptyResponse".into(),
        message: "no version ID in the response".into(),
    })?;
    let read = secrets
        .get_secret_value()
        .secret_id(secret_name)
        .version_id(&version_id)
        .send()
        .await
        .map_err(|e| Error::aws("GetSecretValue", &e))?;
    let read_back: Option<StoredKey> = read
        .secret_string
        .as_deref()
        .and_then(|text| serde_json::from_str(text).ok());
    if read_back.as_ref() != Some(stored) {
        return Err(Error::Aws {
            operation: "GetSecretValue",
            code: "ReadBackMismatch".into(),
            message: format!("secret {secret_name} version {version_id} does not hold the new key"),
        });
    }
    Ok(version_id)
}

/// Reads the key ID stored in the user's secret (AWSCURRENT), if the secret exists. Used to
/// recover a rotation whose record could not be written.
pub async fn stored_key_id(secrets: &SecretsClient, secret_name: &str) -> Result<Option<String>> {
    match secrets
        .get_secret_value()
        .secret_id(secret_name)
        .send()
        .await
    {
        Ok(output) => Ok(output
            .secret_string
            .as_deref()
            .and_then(|text| serde_json::from_str::<StoredKey>(text).ok())
            .map(|stored| stored.access_key_id)),
        Err(e) if e.code() == Some("ResourceNotFoundException") => Ok(None),
        Err(e) => Err(Error::aws("GetSecretValue", &e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_never_shows_in_debug_output() {
        let stored = StoredKey {
            access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
            secret_access_key: SecretAccessKey("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into()),
            user_name: "alice".into(),
            create_date: "2026-01-01T00:00:00Z".into(),
        };
        let debug = format!("{stored:?} {stored:#?}");
        assert!(!debug.contains("wJalrXUtnFEMI"), "{debug}");
        // The stored JSON holds it, with the contract's field names.
        let json: serde_json::Value = serde_json::to_value(&stored).unwrap();
        assert_eq!(
            json["SecretAccessKey"],
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
        );
        assert_eq!(json["AccessKeyId"], "AKIAIOSFODNN7EXAMPLE");
        assert_eq!(json["UserName"], "alice");
        assert_eq!(json["CreateDate"], "2026-01-01T00:00:00Z");
    }
}
