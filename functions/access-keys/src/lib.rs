//! `access-keys`: deactivates (or rotates) access keys that are too old, deactivates keys
//! unused for too long, deletes keys it deactivated once they stayed inactive, and deactivates
//! keys AWS reports as exposed.
//!
//! The rule lives in [`rule`]; this file wires it to the shared pipeline: which users an event
//! is about, the facts to read, and which shared change carries out each planned action.

pub mod rule;
pub mod settings;

use std::time::SystemTime;

use chrono::{DateTime, Utc};
use iam_remediation::apply::access_keys as apply_keys;
use iam_remediation::apply::rotation::{self, RotationOutcome};
use iam_remediation::facts::access_keys::{self as key_facts, KeyFacts, KeyRecord};
use iam_remediation::facts::credential_report::{self, ReportUser};
use iam_remediation::facts::tags::{self, Tags};
use iam_remediation::guard;
use iam_remediation::intake::{KeyOrderAction, ManualPayload, Trigger};
use iam_remediation::{
    Clients, Error, Inputs, ManualFields, Outcome, PlannedAction, Principal, PrincipalKind, Report,
    Result, Run, Scope, runtime, scope,
};
use serde_json::Value;

pub use rule::{KeyOrder, UserKeys};
pub use settings::{KeyAction, Settings};

/// The function's name in reports and metrics.
pub const FUNCTION: &str = "access-keys";

/// What `access-keys` accepts beyond schedules and Config events.
pub const INPUTS: Inputs = Inputs {
    cloudtrail_events: &["CreateAccessKey", "UpdateAccessKey"],
    health: true,
    manual: ManualFields {
        users: true,
        groups: false,
        roles: false,
        key_order: true,
    },
};

/// The clients the function uses, built once per cold start.
#[derive(Debug, Clone)]
pub struct Deps {
    pub clients: Clients,
    pub secrets: aws_sdk_secretsmanager::Client,
}

impl Deps {
    pub fn new(sdk: &aws_config::SdkConfig) -> Self {
        Self {
            clients: Clients::new(sdk),
            secrets: aws_sdk_secretsmanager::Client::new(sdk),
        }
    }
}

/// Handles one invocation: returns the report, or the Lambda error after logging the report.
pub async fn handle(
    deps: &Deps,
    settings: &Settings,
    event: Value,
    now: DateTime<Utc>,
    deadline: Option<SystemTime>,
) -> Result<Report> {
    runtime::invocation(
        FUNCTION,
        &INPUTS,
        &settings.common,
        &deps.clients,
        event,
        deadline,
        async |trigger, run| execute(deps, settings, trigger, run, now).await,
    )
    .await
}

/// Which keys an event is about.
#[derive(Debug, Clone, PartialEq, Eq)]
enum KeyScope {
    /// Nothing to do (a failed API call, a compliant resource, a resource out of scope).
    Nothing(String),
    /// Every user, through the credential report.
    Account,
    Users(Vec<String>),
    /// Keys AWS Health reported as exposed.
    Exposed(Vec<String>),
    /// An operator's order on one key.
    Order {
        key_id: String,
        action: KeyOrderAction,
    },
}

async fn scope(clients: &Clients, trigger: &Trigger) -> Result<KeyScope> {
    if let Some(common) = scope::resolve(&clients.iam, trigger, &[PrincipalKind::User]).await? {
        return Ok(match common {
            Scope::Nothing(why) => KeyScope::Nothing(why),
            Scope::Account => KeyScope::Account,
            Scope::Principals(users) => {
                KeyScope::Users(users.into_iter().map(|u| u.name).collect())
            }
        });
    }
    match trigger {
        Trigger::ApiCall(call) => {
            // CreateAccessKey without userName creates a key for the caller.
            let user = match call.principal_name("userName")? {
                Some(user) => user,
                None => call
                    .response_element("/accessKey/userName")
                    .or_else(|| call.calling_user())
                    .ok_or_else(|| {
                        Error::InvalidEvent(format!("{} names no user", call.event_name))
                    })?,
            };
            Ok(KeyScope::Users(vec![user.to_owned()]))
        }
        Trigger::CredentialsExposed(exposed) => {
            Ok(KeyScope::Exposed(exposed.access_key_ids.clone()))
        }
        Trigger::Manual(ManualPayload {
            access_key_id: Some(key_id),
            action: Some(action),
            ..
        }) => Ok(KeyScope::Order {
            key_id: key_id.clone(),
            action: *action,
        }),
        other => Err(Error::InvalidEvent(format!(
            "{:?} events are not handled here",
            other.kind()
        ))),
    }
}

/// One user's facts and the tags behind its exemption (`Err` when they could not be read).
struct Gathered {
    keys: UserKeys,
    tags: std::result::Result<Tags, String>,
}

/// Reads one user live: tags (exemption and records), keys, and each key's last use where the
/// rule needs it. A user that does not exist is an error (`NoSuchEntity`).
async fn gather(
    deps: &Deps,
    user: &str,
    settings: &Settings,
    now: DateTime<Utc>,
) -> Result<Gathered> {
    let iam = &deps.clients.iam;
    let tags = match tags::principal_tags(iam, &Principal::user(user)).await {
        Ok(tags) => Ok(tags),
        Err(error) if error.is_no_such_entity() => return Err(not_found(user)),
        Err(error) => Err(error.to_string()),
    };
    let mut keys = key_facts::list_keys(iam, user).await.map_err(|e| {
        if e.is_no_such_entity() {
            not_found(user)
        } else {
            e
        }
    })?;
    let mut records = key_facts::key_records(tags.as_deref().unwrap_or_default());
    if settings.key_action == KeyAction::Rotate {
        recover_unrecorded_rotation(deps, user, &keys, &mut records, settings, now).await?;
    }
    for key in &mut keys {
        let is_replacement = records
            .values()
            .any(|record| matches!(record, KeyRecord::ReplacedBy(id) if id == &key.id));
        if rule::needs_last_use(key, settings, now) || is_replacement {
            key.last_used = Some(key_facts::last_use(iam, &key.id).await?.last_used);
        }
    }
    Ok(Gathered {
        keys: UserKeys {
            user: user.to_owned(),
            keys,
            records,
        },
        tags,
    })
}

/// A rotation whose record could not be written (the run failed after storing the new key)
/// shows as two active keys, one too old, and the newer one held in the user's secret. Treat it
/// as the rotation it is, so the next run finishes it instead of reporting no room.
async fn recover_unrecorded_rotation(
    deps: &Deps,
    user: &str,
    keys: &[KeyFacts],
    records: &mut std::collections::BTreeMap<String, KeyRecord>,
    settings: &Settings,
    now: DateTime<Utc>,
) -> Result<()> {
    let [first, second] = keys else { return Ok(()) };
    let (old, new) = if first.created <= second.created {
        (first, second)
    } else {
        (second, first)
    };
    let too_old = now - old.created > chrono::Duration::days(i64::from(settings.max_key_age_days));
    if !(old.active && new.active && too_old) || records.contains_key(&old.id) {
        return Ok(());
    }
    if rotation::stored_key_id(&deps.secrets, &settings.secret_name(user))
        .await?
        .as_deref()
        == Some(new.id.as_str())
    {
        records.insert(old.id.clone(), KeyRecord::ReplacedBy(new.id.clone()));
    }
    Ok(())
}

fn not_found(user: &str) -> Error {
    Error::NotFound {
        kind: "user",
        name: user.to_owned(),
    }
}

async fn execute(
    deps: &Deps,
    settings: &Settings,
    trigger: &Trigger,
    run: &mut Run,
    now: DateTime<Utc>,
) -> Result<()> {
    let iam = &deps.clients.iam;
    let mut gathered: Vec<Gathered> = Vec::new();
    let mut planned: Vec<PlannedAction<KeyOrder>> = Vec::new();
    match scope(&deps.clients, trigger).await? {
        KeyScope::Nothing(why) => {
            tracing::info!(reason = %why, "nothing to do");
        }
        KeyScope::Account => {
            let report = credential_report::fetch(iam).await?;
            let is_candidate = |row: &ReportUser| rule::is_candidate(row, settings, now);
            let users = run
                .read_candidates(&report, is_candidate, now, async |row| {
                    gather(deps, &row.user, settings, now).await
                })
                .await;
            for user in users {
                planned.extend(rule::plan(&user.keys, settings, now));
                gathered.push(user);
            }
        }
        KeyScope::Users(users) => {
            // Every named user is read before anything changes: a missing one stops the run.
            for user in &users {
                gathered.push(gather(deps, user, settings, now).await?);
            }
            run.add_examined(gathered.len());
            for user in &gathered {
                planned.extend(rule::plan(&user.keys, settings, now));
            }
        }
        KeyScope::Exposed(key_ids) => {
            run.add_examined(key_ids.len());
            for key_id in &key_ids {
                let owner = match key_facts::last_use(iam, key_id).await {
                    Ok(owner) => owner,
                    Err(error @ Error::NotFound { .. }) => {
                        // Already deleted, or not in this account: reported, the others go on.
                        run.add_error(format!("exposed {error}"));
                        continue;
                    }
                    Err(error) => return Err(error),
                };
                let user = gather(deps, &owner.user, settings, now).await?;
                if let Some(key) = user.keys.keys.iter().find(|k| &k.id == key_id) {
                    planned.extend(rule::plan_exposed(&user.keys, key, settings));
                }
                gathered.push(user);
            }
        }
        KeyScope::Order { key_id, action } => {
            let owner = key_facts::last_use(iam, &key_id).await?;
            let user = gather(deps, &owner.user, settings, now).await?;
            let key = find_key(&user.keys.keys, &key_id)?;
            planned.push(rule::plan_order(&user.keys, key, action, settings));
            run.add_examined(1);
            gathered.push(user);
        }
    }

    let principals: Vec<Principal> = gathered
        .iter()
        .map(|user| Principal::user(&user.keys.user))
        .collect();
    let subjects = principals
        .iter()
        .zip(&gathered)
        .map(|(principal, user)| (principal, user.tags.as_deref().map_err(String::as_str)));
    let protections = guard::protections(
        &deps.clients,
        subjects,
        &settings.common,
        now.date_naive(),
        !planned.is_empty(),
    )
    .await?;
    let approved = run.review(planned, &protections)?;
    run.apply(approved, async |action| {
        apply(deps, settings, action, now).await
    })
    .await;
    Ok(())
}

fn find_key<'a>(keys: &'a [KeyFacts], key_id: &str) -> Result<&'a KeyFacts> {
    keys.iter()
        .find(|k| k.id == key_id)
        .ok_or_else(|| Error::NotFound {
            kind: "access key",
            name: key_id.to_owned(),
        })
}

async fn apply(
    deps: &Deps,
    settings: &Settings,
    action: &PlannedAction<KeyOrder>,
    now: DateTime<Utc>,
) -> Result<Outcome> {
    let iam = &deps.clients.iam;
    let user = &action.principal.name;
    match &action.order {
        KeyOrder::Deactivate { key_id } => {
            apply_keys::deactivate(iam, user, key_id, now, None).await
        }
        KeyOrder::RetireRotated {
            key_id,
            replacement,
        } => {
            let rotation = KeyRecord::ReplacedBy(replacement.clone());
            apply_keys::deactivate(iam, user, key_id, now, Some(&rotation)).await
        }
        KeyOrder::Delete { key_id, has_record } => {
            apply_keys::delete(iam, user, key_id, *has_record).await
        }
        KeyOrder::Rotate { key_id } | KeyOrder::Replace { key_id } => {
            let secret_name = settings.secret_name(user);
            let stored = match rotation::create_and_store(
                iam,
                &deps.secrets,
                user,
                &secret_name,
                settings.secret_kms_key_id.as_deref(),
            )
            .await?
            {
                RotationOutcome::Stored(stored) => stored,
                RotationOutcome::NoRoom(reason) => return Ok(Outcome::Skipped(reason)),
            };
            tracing::info!(user = %user, old_key = %key_id, new_key = %stored.access_key_id, secret = %stored.secret_name, version = %stored.version_id, "replacement key stored");
            if matches!(action.order, KeyOrder::Rotate { .. }) {
                // The old key stays active during grace; the record tells later runs.
                let record = KeyRecord::ReplacedBy(stored.access_key_id.clone());
                apply_keys::write_record(iam, user, key_id, &record).await.map_err(|error| Error::Aws {
                    operation: "TagUser",
                    code: error.aws_code().unwrap_or("Unknown").to_owned(),
                    message: format!(
                        "replacement {} is stored in {secret_name}, but the rotation record could \
                         not be written ({error}); the next run recovers it from the secret",
                        stored.access_key_id
                    ),
                })?;
            }
            Ok(Outcome::Applied)
        }
    }
}
