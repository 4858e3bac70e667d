//! Key rotation through Secrets Manager, in the order that never loses a credential:
//! create the new key, store it as a new version of the user's secret, read it back, and only
//! then record the rotation. If storing or reading back fails, the secret's labels are put back
//! (so `AWSCURRENT` holds the key that still works), and once that is confirmed (read back) the
//! new key is deleted; the old one is left exactly as it was. When it cannot be confirmed, the
//! new key is kept (the secret may still hand it out) and the failure says what an operator
//! must fix. The old key is retired later, by the rule, once the new key has been used or the
//! grace period is over.
//!
//! The secret access key lives in a [`SecretString`] (no `Display`, a redacted `Debug`, wiped on
//! drop) from the moment IAM returns it until it is written to Secrets Manager; it never reaches
//! a log line, the report or an error message.

use std::collections::HashMap;

use aws_sdk_iam::Client as IamClient;
use aws_sdk_secretsmanager::Client as SecretsClient;
use chrono::{SecondsFormat, Utc};
use iam_remediation::reads::to_utc;
use iam_remediation::{Clients, Error, Outcome, Result, call};

use crate::apply::{delete_key, write_record};
use crate::facts::{KeyFacts, KeyRecord, list_keys};
use crate::settings::AccessKeys;
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

/// Creates a new key for `user` (replacing `working_key`), stores it in `secret_name` (creating
/// the secret if needed; the previous version stays as AWSPREVIOUS), and reads it back.
pub async fn create_and_store(
    iam: &IamClient,
    secrets: &SecretsClient,
    user: &str,
    working_key: &str,
    secret_name: &str,
    kms_key_id: Option<&str>,
) -> Result<RotationOutcome> {
    let created = match create_key_once(iam, user).await? {
        Created::Key(created) => created,
        Created::NoRoom(no_room) => return Ok(RotationOutcome::NoRoom(no_room)),
    };
    let failure = match store_and_verify(secrets, secret_name, &created, kms_key_id).await {
        Ok(version_id) => {
            return Ok(RotationOutcome::Stored(StoredReplacement {
                access_key_id: created.access_key_id,
                secret_name: secret_name.to_owned(),
                version_id,
            }));
        }
        Err(failure) => failure,
    };
    let new_key = &created.access_key_id;
    let message = match failure.labels {
        // Never leave an orphan key that nobody holds: delete it, the old key is untouched.
        Labels::OffTheNewKey(done) => match delete_key(iam, user, new_key).await {
            Ok(()) => format!(
                "the new key could not be stored ({}); {done}it was deleted and the old key is \
                 unchanged",
                failure.error
            ),
            Err(cleanup) => format!(
                "the new key {new_key} could not be stored ({}); {done}deleting it failed too \
                 ({cleanup}); delete it by hand, the old key is unchanged",
                failure.error
            ),
        },
        // The secret may still hand the new key out: deleting it could break every consumer.
        Labels::Unconfirmed {
            why,
            working_version,
        } => {
            let back_to = working_version.map_or_else(
                || format!("the version that holds {working_key}"),
                |version| format!("version {version} (it holds {working_key})"),
            );
            format!(
                "the new key {new_key} could not be stored ({error}), and {why}, so {new_key} \
                 is kept (active): whoever reads secret {secret_name} still gets a working key. \
                 The old key {working_key} is unchanged. An operator must fix it: if \
                 AWSCURRENT of {secret_name} is on version {token} (key {new_key}), either move \
                 it back to {back_to} and then delete key {new_key} of {user}, or keep \
                 {new_key} as {user}'s new key (the next run then treats it as the replacement \
                 of {working_key})",
                error = failure.error,
                token = failure.token,
            )
        }
    };
    Err(Error::Aws {
        operation: "rotation",
        code: failure.error.aws_code().unwrap_or("StoreFailed").to_owned(),
        message,
    })
}

enum Created {
    Key(StoredKey),
    /// The user has no room for a new key: why.
    NoRoom(String),
}

/// Creates one key, sent so that a lost answer can never leave a second key behind: the SDK's
/// retries are off for this call (a retry after a lost answer would create another key, or find
/// no room and leave the first one orphaned), and throttling, which creates nothing, is retried
/// here. After a lost answer nothing is deleted: a key that appeared meanwhile is kept and
/// named for an operator (see [`LostAnswer::from_keys`]).
async fn create_key_once(iam: &IamClient, user: &str) -> Result<Created> {
    // The keys right before the call: none of them can be the call's.
    let before = list_keys(iam, user).await?;
    let mut pause = std::time::Duration::from_millis(200);
    let mut attempt = 1;
    loop {
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
                return Err(Error::Aws {
                    operation: "CreateAccessKey",
                    code: "AnswerLost".into(),
                    message: lost_answer(iam, user, &before, &error).await,
                });
            }
            _ => return Err(error),
        }
    }
}

/// What became of a CreateAccessKey whose answer was lost, read from the user's keys before and
/// after the call.
#[derive(Debug, Clone, PartialEq, Eq)]
enum LostAnswer {
    /// No key appeared: the call created nothing.
    NothingCreated,
    /// These keys appeared. Each is kept: nothing proves it is the call's.
    Appeared(Vec<String>),
}

impl LostAnswer {
    /// Compares the keys read right before the call with those read after it.
    ///
    /// No key that appeared can be proved ours, so none is ever deleted. A user holds at most two
    /// keys, and a rotation starts from one, so at most one key appears; but that one key is
    /// explained just as well by our call as by someone else's CreateAccessKey that reached IAM
    /// first (ours then failed with LimitExceeded, an answer we never saw). IAM's answer to
    /// ListAccessKeys says nothing of who created a key, creation times are whole seconds,
    /// CreateAccessKey takes no idempotency token, and CloudTrail is neither available here
    /// nor timely. A key whose secret we never received is held by nobody if it is ours, and by
    /// an administrator if it is theirs: deleting it is safe only in the first case, keeping it
    /// is safe in both (nobody can use a key whose secret nobody holds; unused, the rule
    /// deactivates it after `MAX_KEY_UNUSED_DAYS`, and deletes it after the quiet period).
    fn from_keys(before: &[KeyFacts], after: &[KeyFacts]) -> Self {
        let appeared: Vec<String> = after
            .iter()
            .filter(|key| !before.iter().any(|known| known.id == key.id))
            .map(|key| key.id.clone())
            .collect();
        if appeared.is_empty() {
            Self::NothingCreated
        } else {
            Self::Appeared(appeared)
        }
    }
}

/// After a lost CreateAccessKey answer (`error`): re-reads the user's keys and says what
/// happened and what an operator must do, for the report. Deletes nothing (see
/// [`LostAnswer::from_keys`]).
async fn lost_answer(iam: &IamClient, user: &str, before: &[KeyFacts], error: &Error) -> String {
    let after = match list_keys(iam, user).await {
        Ok(after) => after,
        Err(read) => {
            return format!(
                "no answer ({error}), and the keys of {user} could not be re-read ({read}): if \
                 a key of {user} appeared that nobody holds, delete it; the old key is unchanged"
            );
        }
    };
    match LostAnswer::from_keys(before, &after) {
        LostAnswer::NothingCreated => {
            format!("no answer ({error}); no key was created, the old key is unchanged")
        }
        LostAnswer::Appeared(keys) => {
            let keys = keys.join(" and ");
            format!(
                "the answer was lost ({error}); key {keys} of {user} appeared meanwhile and is \
                 kept: it is either the key this call created (nobody received its secret) or \
                 one someone else created at the same moment, and nothing tells which. The old \
                 key is unchanged. If nobody created {keys}, delete it (aws iam \
                 delete-access-key --user-name {user} --access-key-id <id>); left unused, it is \
                 deactivated after MAX_KEY_UNUSED_DAYS like any other key"
            )
        }
    }
}

/// A store that failed, and where the secret's labels are now.
struct StoreFailure {
    error: Error,
    /// The new version's ID.
    token: String,
    labels: Labels,
}

/// Where `AWSCURRENT` of the secret is after a failed store.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Labels {
    /// Confirmed (read back) off the new key's version, or no secret holds it: the new key may
    /// be deleted. What was done, for the report ("" when nothing), ending in "; ".
    OffTheNewKey(String),
    /// Not confirmed: the secret may still hand out the new key. Why (for the report), and the
    /// version that holds the working key, when known.
    Unconfirmed {
        why: String,
        working_version: Option<String>,
    },
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
    Err(StoreFailure {
        error,
        token,
        labels,
    })
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

/// Where `AWSCURRENT` is, from a secret's `VersionIdsToStages`, as far as the new version
/// (`token`) is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Current<'a> {
    /// Not on the new version: the secret does not hand out the new key.
    Elsewhere,
    /// On the new version; `previous`: the version labelled AWSPREVIOUS (the working key's).
    OnNew { previous: Option<&'a str> },
}

impl<'a> Current<'a> {
    fn of(stages: &'a HashMap<String, Vec<String>>, token: &str) -> Self {
        let holds = |version: &str, label: &str| {
            stages
                .get(version)
                .is_some_and(|labels| labels.iter().any(|l| l == label))
        };
        if !holds(token, AWSCURRENT) {
            return Self::Elsewhere;
        }
        let previous = stages
            .keys()
            .find(|version| version.as_str() != token && holds(version, AWSPREVIOUS))
            .map(String::as_str);
        Self::OnNew { previous }
    }
}

/// The secret's labels as Secrets Manager holds them now (`None`: the secret does not exist, or
/// is deleted, so it hands out nothing).
async fn read_labels(
    secrets: &SecretsClient,
    secret_name: &str,
) -> Result<Option<HashMap<String, Vec<String>>>> {
    let describe = secrets.describe_secret().secret_id(secret_name);
    match call("DescribeSecret", describe.send()).await {
        Ok(described) if described.deleted_date.is_some() => Ok(None),
        Ok(described) => Ok(Some(described.version_ids_to_stages.unwrap_or_default())),
        Err(error) if error.aws_code() == Some(NOT_FOUND) => Ok(None),
        Err(error) => Err(error),
    }
}

/// After a failed store: when `AWSCURRENT` is on the new version (`token`), moves it back to the
/// version that was current (now `AWSPREVIOUS`), or deletes a secret this rotation created, and
/// reads the labels back, so that the new key is deleted only once no consumer can pick it up.
async fn restore_labels(
    secrets: &SecretsClient,
    secret_name: &str,
    token: &str,
    created_secret: bool,
) -> Labels {
    let unconfirmed = |why: String, working_version: Option<&str>| Labels::Unconfirmed {
        why,
        working_version: working_version.map(str::to_owned),
    };
    let stages = match read_labels(secrets, secret_name).await {
        Ok(Some(stages)) => stages,
        Ok(None) => return Labels::OffTheNewKey(String::new()),
        Err(error) => {
            let why = format!("the labels of {secret_name} could not be read ({error})");
            return unconfirmed(why, None);
        }
    };
    let (done, previous) = match Current::of(&stages, token) {
        Current::Elsewhere => return Labels::OffTheNewKey(String::new()),
        Current::OnNew {
            previous: Some(previous),
        } => {
            let request = secrets
                .update_secret_version_stage()
                .secret_id(secret_name)
                .version_stage(AWSCURRENT)
                .move_to_version_id(previous)
                .remove_from_version_id(token);
            if let Err(error) = call("UpdateSecretVersionStage", request.send()).await {
                let why = format!(
                    "AWSCURRENT of {secret_name} could not be moved back to version {previous} \
                     ({error})"
                );
                return unconfirmed(why, Some(previous));
            }
            (
                format!("AWSCURRENT of {secret_name} was moved back to version {previous}; "),
                Some(previous),
            )
        }
        Current::OnNew { previous: None } if created_secret => {
            let request = secrets
                .delete_secret()
                .secret_id(secret_name)
                .force_delete_without_recovery(true);
            if let Err(error) = call("DeleteSecret", request.send()).await {
                let why = format!(
                    "secret {secret_name}, created for the new key, could not be deleted ({error})"
                );
                return unconfirmed(why, None);
            }
            (
                format!("secret {secret_name}, created for it, was deleted; "),
                None,
            )
        }
        Current::OnNew { previous: None } => {
            let why =
                format!("AWSCURRENT of {secret_name} holds it and no previous version exists");
            return unconfirmed(why, None);
        }
    };
    // Read back: only labels seen off the new version let the new key go.
    match read_labels(secrets, secret_name).await {
        Ok(None) => Labels::OffTheNewKey(done),
        Ok(Some(stages)) if Current::of(&stages, token) == Current::Elsewhere => {
            Labels::OffTheNewKey(done)
        }
        Ok(Some(_)) => unconfirmed(
            format!("{done}yet AWSCURRENT of {secret_name} still reads as version {token}"),
            previous,
        ),
        Err(error) => unconfirmed(
            format!("{done}but the labels could not be read back to confirm it ({error})"),
            previous,
        ),
    }
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

/// Creates and stores a replacement for `key_id`; for a rotation (not the replacement of a
/// key just deactivated), records it so the old key is retired after grace.
pub async fn rotate(
    clients: &Clients,
    function: &AccessKeys,
    user: &str,
    key_id: &str,
    record: bool,
) -> Result<Outcome> {
    let iam = &clients.iam;
    let secret_name = function.secret_name(user);
    let stored = match create_and_store(
        iam,
        clients.secretsmanager(),
        user,
        key_id,
        &secret_name,
        function.secret_kms_key_id.as_deref(),
    )
    .await?
    {
        RotationOutcome::Stored(stored) => stored,
        RotationOutcome::NoRoom(reason) => return Ok(Outcome::Skipped(reason)),
    };
    tracing::info!(user = %user, old_key = %key_id, new_key = %stored.access_key_id, secret = %stored.secret_name, version = %stored.version_id, "replacement key stored");
    if record {
        // The old key stays active during grace; the record tells later runs.
        let replaced = KeyRecord::ReplacedBy(stored.access_key_id.clone());
        write_record(iam, user, key_id, &replaced)
            .await
            .map_err(|error| Error::Aws {
                operation: "TagUser",
                code: error.aws_code().unwrap_or("Unknown").to_owned(),
                message: format!(
                    "replacement {} is stored in {secret_name}, but the rotation record \
                     could not be written ({error}); the next run recovers it from the secret",
                    stored.access_key_id
                ),
            })?;
    }
    Ok(Outcome::Applied)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::LastUse;

    fn keys(ids: &[&str]) -> Vec<KeyFacts> {
        ids.iter()
            .map(|id| KeyFacts {
                id: (*id).to_owned(),
                active: true,
                created: Utc::now(),
                last_used: LastUse::NotRead,
            })
            .collect()
    }

    #[test]
    fn after_a_lost_answer_every_key_that_appeared_is_kept_never_proved_ours() {
        let appeared =
            |ids: &[&str]| LostAnswer::Appeared(ids.iter().map(|&id| id.into()).collect());
        let table: [(&[&str], &[&str], LostAnswer, &str); 6] = [
            (
                &["OLD"],
                &["OLD"],
                LostAnswer::NothingCreated,
                "the call did nothing",
            ),
            (
                &["OLD"],
                &["OLD", "NEW"],
                appeared(&["NEW"]),
                "ours, or an administrator's",
            ),
            (
                &["OLD", "ADMIN"],
                &["OLD", "ADMIN"],
                LostAnswer::NothingCreated,
                "known before",
            ),
            (
                &["OLD"],
                &["NEW"],
                appeared(&["NEW"]),
                "the old key was deleted meanwhile",
            ),
            (
                &[],
                &["A", "B"],
                appeared(&["A", "B"]),
                "two appeared: at most one is ours",
            ),
            (
                &["OLD"],
                &[],
                LostAnswer::NothingCreated,
                "gone, nothing appeared",
            ),
        ];
        for (before, after, expected, case) in table {
            let got = LostAnswer::from_keys(&keys(before), &keys(after));
            assert_eq!(got, expected, "{case}");
        }
    }

    #[test]
    fn awscurrent_is_off_the_new_version_only_when_the_labels_say_so() {
        type Stages = HashMap<String, Vec<String>>;
        let stages = |pairs: &[(&str, &[&str])]| -> Stages {
            pairs
                .iter()
                .map(|(version, labels)| {
                    let labels = labels.iter().map(|&l| l.to_owned()).collect();
                    ((*version).to_owned(), labels)
                })
                .collect()
        };
        let new = "iam-remediation-AKIANEW";
        let table: [(Stages, Current<'static>, &str); 5] = [
            (stages(&[]), Current::Elsewhere, "no versions"),
            (
                stages(&[("V1", &[AWSCURRENT]), (new, &["AWSPENDING"])]),
                Current::Elsewhere,
                "put back",
            ),
            (
                stages(&[("V1", &[AWSPREVIOUS]), (new, &[AWSCURRENT])]),
                Current::OnNew {
                    previous: Some("V1"),
                },
                "the working key's version is AWSPREVIOUS",
            ),
            (
                stages(&[(new, &[AWSCURRENT, AWSPREVIOUS])]),
                Current::OnNew { previous: None },
                "only the new version",
            ),
            (
                stages(&[("V1", &[]), (new, &[AWSCURRENT])]),
                Current::OnNew { previous: None },
                "no AWSPREVIOUS",
            ),
        ];
        for (stages, expected, case) in &table {
            let got = Current::of(stages, new);
            assert_eq!(got, *expected, "{case}");
        }
    }

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
