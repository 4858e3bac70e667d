//! `access-keys`: deactivates (or rotates) access keys that are too old, deactivates keys
//! unused for too long, deletes keys it deactivated once they stayed inactive, deactivates
//! keys AWS reports as exposed, and reports root user access keys.
//!
//! The function's whole remediation lives in this crate: its inputs ([`order`]), its settings,
//! its facts, its pure rule, and its changes ([`apply`], [`rotation`]). The shared pipeline runs
//! them through [`Remediation`].

pub mod apply;
pub mod control;
pub mod facts;
pub mod order;
pub mod rotation;
pub mod rule;
pub mod settings;

use std::fmt;

use aws_config::SdkConfig;
use chrono::{DateTime, Utc};
use iam_remediation::feedback::securityhub::ControlState;
use iam_remediation::guard::TagChanges;
use iam_remediation::intake::{ApiCall, HealthEvent, ManualPayload};
use iam_remediation::plan::days;
use iam_remediation::reads::{TagState, Tags, credential_report, identity, tags};
use iam_remediation::{
    Clients, CommonSettings, Error, Inputs, Observed, Outcome, PlannedAction, Principal,
    PrincipalKind, Remediation, Result, Scope, Subject, Survey, Window,
};

use crate::facts::{KeyRecord, LAST_USE_MARGIN, LastUse, Records, list_keys};
use crate::order::{CREDENTIALS_EXPOSED, KeyOrder as Order};
use crate::rotation::RotationOutcome;
pub use crate::rule::{Facts, Focus, KeyOrder, UserKeys};
pub use crate::settings::{KeyAction, Settings};

/// The access-keys function: its clients (built once per cold start) and settings.
#[derive(Debug, Clone)]
pub struct AccessKeys {
    clients: Clients,
    secrets: aws_sdk_secretsmanager::Client,
    settings: Settings,
}

/// What access-keys' own triggers name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A user a CloudTrail call named; `reactivated`: a key the call turned back on.
    User {
        name: String,
        reactivated: Option<String>,
    },
    /// A key AWS Health reported as exposed.
    Exposed(String),
    /// An operator's order on one key.
    Order(Order),
}

/// Where a live read starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lead {
    /// A user; its tags when a sweep already read them.
    User {
        name: String,
        tags: Option<Tags>,
        reactivated: Option<String>,
    },
    /// One key: its user is found from it.
    Key { key_id: String, focus: Focus },
    /// The root user's keys, as the credential report shows them.
    Root(iam_remediation::reads::RootUser),
    /// The account: the root user's keys, read from the credential report.
    Account,
}

impl fmt::Display for Lead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::User { name, .. } => write!(f, "user {name}"),
            Self::Key { key_id, .. } => write!(f, "access key {key_id}"),
            Self::Root(_) | Self::Account => f.write_str("the root user"),
        }
    }
}

impl Remediation for AccessKeys {
    const NAME: &'static str = "access-keys";
    const INPUTS: Inputs = Inputs {
        cloudtrail_events: &["CreateAccessKey", "UpdateAccessKey"],
        health_events: &[CREDENTIALS_EXPOSED],
        securityhub_controls: &["IAM.3", "IAM.4", "IAM.8", "IAM.22"],
        securityhub_shared_controls: &["IAM.8", "IAM.22"],
        unused_access_findings: &["UnusedIAMUserAccessKey"],
        manual_principals: &[PrincipalKind::User],
    };
    const COVERS_ACCOUNT: bool = true;
    type Target = Target;
    type Lead = Lead;
    type Facts = Facts;
    type Order = KeyOrder;
    type Settings = Settings;

    fn new(sdk: &SdkConfig, settings: Settings) -> Self {
        Self {
            clients: Clients::new(sdk),
            secrets: aws_sdk_secretsmanager::Client::new(sdk),
            settings,
        }
    }

    fn common(&self) -> &CommonSettings {
        &self.settings.common
    }

    fn clients(&self) -> &Clients {
        &self.clients
    }

    fn api_call(&self, call: &ApiCall) -> Result<Scope<Target>> {
        // CreateAccessKey without userName creates a key for the caller.
        let name = call.user("/accessKey/userName")?.to_owned();
        let reactivated = match (call.event_name.as_str(), call.parameter("status")?) {
            ("UpdateAccessKey", Some("Active")) => {
                call.parameter("accessKeyId")?.map(str::to_owned)
            }
            _ => None,
        };
        Ok(Scope::Targets(vec![Target::User { name, reactivated }]))
    }

    fn health(&self, event: &HealthEvent) -> Result<Scope<Target>> {
        let keys = order::exposed_keys(event)?;
        Ok(Scope::Urgent(
            keys.into_iter().map(Target::Exposed).collect(),
        ))
    }

    fn manual_fields(&self, payload: &ManualPayload) -> Result<Scope<Target>> {
        Ok(Scope::Targets(vec![Target::Order(order::parse(payload)?)]))
    }

    async fn survey(&self, scope: Scope<Target>, window: Window) -> Result<Survey<Lead>> {
        let user = |name: String| Lead::User {
            name,
            tags: None,
            reactivated: None,
        };
        Ok(match scope {
            Scope::Nothing(_) => Survey::of(Vec::new()),
            Scope::Sweep => self.sweep(window).await?,
            Scope::Subjects(subjects) => Survey::of(
                subjects
                    .into_iter()
                    .map(|subject| match subject {
                        Subject::Principal(principal) => user(principal.name),
                        Subject::Account | Subject::RootUser => Lead::Account,
                    })
                    .collect(),
            ),
            Scope::Targets(targets) | Scope::Urgent(targets) => Survey::of(
                targets
                    .into_iter()
                    .map(|target| match target {
                        Target::User { name, reactivated } => Lead::User {
                            name,
                            tags: None,
                            reactivated,
                        },
                        Target::Exposed(key_id) => Lead::Key {
                            focus: Focus::Exposed(key_id.clone()),
                            key_id,
                        },
                        Target::Order(order) => Lead::Key {
                            focus: Focus::Order {
                                key_id: order.key_id.clone(),
                                action: order.action,
                            },
                            key_id: order.key_id,
                        },
                    })
                    .collect(),
            ),
        })
    }

    async fn read(&self, lead: Lead, window: Window) -> Result<Observed<Facts>> {
        let root = |root| Observed {
            subject: Subject::RootUser,
            tags: TagState::Untaggable,
            judged_whole: true,
            facts: Facts::Root(root),
        };
        match lead {
            Lead::User {
                name,
                tags,
                reactivated,
            } => {
                self.read_user(name, tags, Focus::All, reactivated, window)
                    .await
            }
            Lead::Key { key_id, focus } => {
                let owner = identity::access_key_owner(&self.clients.iam, &key_id).await?;
                self.read_user(owner.user, None, focus, None, window).await
            }
            Lead::Root(report_root) => Ok(root(report_root)),
            // A finding about the account (IAM.4): the credential report says which keys, and
            // GetAccountSummary whether one exists now (the report may be hours old).
            Lead::Account => {
                let iam = &self.clients.iam;
                let report = credential_report::fetch(iam).await?;
                let keys_present = facts::root_keys_present(iam).await?;
                Ok(Observed {
                    subject: Subject::RootUser,
                    tags: TagState::Untaggable,
                    judged_whole: true,
                    facts: Facts::Account {
                        root: report.root.unwrap_or_default(),
                        keys_present,
                    },
                })
            }
        }
    }

    fn plan(&self, facts: &Facts, now: DateTime<Utc>) -> Vec<PlannedAction<KeyOrder>> {
        rule::plan(facts, &self.settings, now)
    }

    fn control(&self, control: &str, facts: &Facts, now: DateTime<Utc>) -> Option<ControlState> {
        control::state(control, facts, &self.settings, now)
    }

    async fn apply(&self, action: &PlannedAction<KeyOrder>, now: DateTime<Utc>) -> Result<Outcome> {
        let iam = &self.clients.iam;
        let Some(user) = action.subject.principal().map(|p| p.name.as_str()) else {
            return Ok(Outcome::Skipped(
                "nothing in the account can do this".into(),
            ));
        };
        match &action.order {
            KeyOrder::Deactivate { key_id } => {
                apply::deactivate(iam, user, key_id, now, None).await
            }
            KeyOrder::DeactivateNow { key_id } => {
                apply::deactivate_now(iam, user, key_id, now).await
            }
            KeyOrder::RetireRotated {
                key_id,
                replacement,
            } => {
                let rotation = KeyRecord::ReplacedBy(replacement.clone());
                apply::deactivate(iam, user, key_id, now, Some(&rotation)).await
            }
            KeyOrder::Delete {
                key_id,
                has_record,
                ordered,
            } => apply::delete(iam, user, key_id, *has_record, *ordered).await,
            KeyOrder::Rotate { key_id } | KeyOrder::Replace { key_id } => {
                self.rotate(
                    user,
                    key_id,
                    matches!(action.order, KeyOrder::Rotate { .. }),
                )
                .await
            }
            KeyOrder::ReportOnly => Ok(Outcome::Skipped(
                "nothing in the account can do this".into(),
            )),
        }
    }

    /// Records that no longer hold: of keys that are gone, deactivation records of keys seen
    /// active again, heard being turned back on, or used after the record.
    fn records(&self, observed: &Observed<Facts>, _now: DateTime<Utc>) -> TagChanges {
        let Facts::User(user) = &observed.facts else {
            return TagChanges::default();
        };
        let mut remove = Vec::new();
        for (key_id, tag_key) in &user.records.tag_keys {
            let key = user.keys.iter().find(|k| &k.id == key_id);
            let stale = match (key, user.records.get(key_id)) {
                (None, _) => true,
                (Some(key), Some(KeyRecord::Deactivated(at))) => {
                    key.active
                        || user.reactivated.as_deref() == Some(key_id.as_str())
                        || key
                            .last_used
                            .at()
                            .is_some_and(|used| used > *at + LAST_USE_MARGIN)
                }
                (Some(_), _) => false,
            };
            if stale {
                remove.push(tag_key.clone());
            }
        }
        TagChanges {
            set: Vec::new(),
            remove,
        }
    }
}

impl AccessKeys {
    /// A sweep's candidates: the credential report's users whose keys may be due, and the root
    /// user when it has keys.
    async fn sweep(&self, window: Window) -> Result<Survey<Lead>> {
        let (survey, root) = credential_report::sweep(self, window, |row, tags| {
            rule::is_candidate(row, tags, &self.settings, window.until)
        })
        .await?;
        let mut survey = survey.map(|candidate| Lead::User {
            name: candidate.user,
            tags: candidate.tags,
            reactivated: None,
        });
        if let Some(root) = root.filter(|root| {
            root.keys
                .iter()
                .any(iam_remediation::reads::ReportKey::exists)
        }) {
            survey.leads.push(Lead::Root(root));
        }
        Ok(survey)
    }

    /// Reads one user live: its tags (unless a sweep already has them), its keys, and each key's
    /// last use where the rule needs it. A user that does not exist is [`Error::NotFound`].
    async fn read_user(
        &self,
        name: String,
        tags: Option<Tags>,
        focus: Focus,
        reactivated: Option<String>,
        window: Window,
    ) -> Result<Observed<Facts>> {
        let iam = &self.clients.iam;
        let principal = Principal::user(&name);
        let tags = match tags {
            Some(tags) => TagState::Known(tags),
            None => TagState::from_read(tags::read(iam, &principal).await, &principal)?,
        };
        let mut keys = list_keys(iam, &name).await?;
        let mut records = tags.known().map(Records::from_tags).unwrap_or_default();
        let whole = focus == Focus::All;
        if whole && self.settings.key_action == KeyAction::Rotate {
            self.recover_unrecorded_rotation(&name, &keys, &mut records, window.now)
                .await?;
        }
        if whole {
            let reads = keys
                .iter()
                .map(|key| {
                    let wanted = rule::needs_last_use(key, &records, &self.settings, window.until);
                    async move {
                        if wanted {
                            identity::access_key_owner(iam, &key.id)
                                .await
                                .map(|owner| LastUse::from(owner.last_used))
                        } else {
                            Ok(LastUse::NotRead)
                        }
                    }
                })
                .collect::<Vec<_>>();
            let last_uses = futures::future::join_all(reads).await;
            for (key, last_use) in keys.iter_mut().zip(last_uses) {
                key.last_used = last_use?;
            }
        }
        Ok(Observed {
            subject: principal.into(),
            tags,
            judged_whole: whole,
            facts: Facts::User(UserKeys {
                user: name,
                keys,
                records,
                focus,
                reactivated,
            }),
        })
    }

    /// A rotation whose record could not be written (the run failed after storing the new key)
    /// shows as two active keys, one too old, and the newer one held in the user's secret. Treat
    /// it as the rotation it is, so the next run finishes it instead of reporting no room.
    async fn recover_unrecorded_rotation(
        &self,
        user: &str,
        keys: &[facts::KeyFacts],
        records: &mut Records,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let [first, second] = keys else { return Ok(()) };
        let (old, new) = if first.created <= second.created {
            (first, second)
        } else {
            (second, first)
        };
        let too_old = now - old.created > days(self.settings.max_key_age_days);
        if !(old.active && new.active && too_old) || records.get(&old.id).is_some() {
            return Ok(());
        }
        let secret = self.settings.secret_name(user);
        if settings::check_secret_name(&secret).is_ok()
            && rotation::stored_key_id(&self.secrets, &secret)
                .await?
                .as_deref()
                == Some(new.id.as_str())
        {
            records
                .by_key
                .insert(old.id.clone(), KeyRecord::ReplacedBy(new.id.clone()));
        }
        Ok(())
    }

    /// Creates and stores a replacement for `key_id`; for a rotation (not the replacement of a
    /// key just deactivated), records it so the old key is retired after grace.
    async fn rotate(&self, user: &str, key_id: &str, record: bool) -> Result<Outcome> {
        let iam = &self.clients.iam;
        let secret_name = self.settings.secret_name(user);
        let stored = match rotation::create_and_store(
            iam,
            &self.secrets,
            user,
            key_id,
            &secret_name,
            self.settings.secret_kms_key_id.as_deref(),
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
            apply::write_record(iam, user, key_id, &replaced)
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
}
