//! `console-passwords`: deletes console passwords (login profiles) that went unused for longer
//! than `MAX_PASSWORD_UNUSED_DAYS`, and, with `MFA_GRACE_DAYS`, those whose user has no MFA
//! device that long after the password was set.
//!
//! The function's whole remediation lives in this crate: its settings, its facts, its pure rule
//! and its change. The shared pipeline runs them through [`Remediation`].

pub mod apply;
pub mod control;
pub mod facts;
pub mod rule;
pub mod settings;

use std::fmt;
use std::time::Instant;

use aws_config::SdkConfig;
use chrono::{DateTime, Utc};
use iam_remediation::feedback::securityhub::ControlState;
use iam_remediation::guard::TagChanges;
use iam_remediation::intake::ApiCall;
use iam_remediation::reads::{TagState, Tags, credential_report};
use iam_remediation::{
    Clients, CommonSettings, Inputs, Observed, Outcome, PlannedAction, Principal, PrincipalKind,
    Remediation, Result, Scope, Survey, Window,
};

use crate::facts::{
    ConsolePassword, MFA_REMOVED_TAG, Mfa, PASSWORD_SET_TAG, UserPassword, record_key,
    record_value, recorded,
};
pub use crate::rule::Deletion;
pub use crate::settings::Settings;

/// The console-passwords function: its clients (built once per cold start) and settings.
#[derive(Debug, Clone)]
pub struct ConsolePasswords {
    clients: Clients,
    settings: Settings,
}

/// A user to read: with its tags when a sweep already has them, the time an administrator set
/// its password when a CloudTrail call was just heard doing it, and the time its MFA device was
/// removed when a CloudTrail call was just heard doing that.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lead {
    pub user: String,
    pub tags: Option<Tags>,
    pub heard_set: Option<DateTime<Utc>>,
    pub heard_mfa_removed: Option<DateTime<Utc>>,
}

impl Lead {
    fn named(user: String) -> Self {
        Self {
            user,
            tags: None,
            heard_set: None,
            heard_mfa_removed: None,
        }
    }
}

impl fmt::Display for Lead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "user {}", self.user)
    }
}

impl Remediation for ConsolePasswords {
    const NAME: &'static str = "console-passwords";
    const INPUTS: Inputs = Inputs {
        cloudtrail_events: &[
            "CreateLoginProfile",
            "UpdateLoginProfile",
            "DeactivateMFADevice",
            "DeleteVirtualMFADevice",
        ],
        securityhub_controls: &["IAM.5", "IAM.8", "IAM.22"],
        securityhub_shared_controls: &["IAM.8", "IAM.22"],
        unused_access_findings: &["UnusedIAMUserPassword"],
        manual_principals: &[PrincipalKind::User],
        ..Inputs::NONE
    };
    const COVERS_ACCOUNT: bool = false;
    type Target = Lead;
    type Lead = Lead;
    type Facts = UserPassword;
    type Order = Deletion;
    type Settings = Settings;

    fn new(sdk: &SdkConfig, settings: Settings) -> Self {
        Self {
            clients: Clients::new(sdk),
            settings,
        }
    }

    fn common(&self) -> &CommonSettings {
        &self.settings.common
    }

    fn clients(&self) -> &Clients {
        &self.clients
    }

    fn handles_control(&self, control: &str) -> bool {
        // IAM.5 (MFA for console users) is this function's only with the MFA rule on.
        control != "IAM.5" || self.settings.mfa_grace_days > 0
    }

    fn api_call(&self, call: &ApiCall) -> Result<Scope<Lead>> {
        Ok(match call.event_name.as_str() {
            // An administrator set the password: a fresh start, judged from the call's time.
            // CreateLoginProfile without a user name is for the caller; UpdateLoginProfile
            // always names its user.
            "CreateLoginProfile" | "UpdateLoginProfile" => {
                let user = if call.event_name == "CreateLoginProfile" {
                    call.user("/loginProfile/userName")?
                } else {
                    call.principal_name("userName")?.ok_or_else(|| {
                        iam_remediation::Error::InvalidEvent(format!(
                            "{} names no user",
                            call.event_name
                        ))
                    })?
                }
                .to_owned();
                Scope::Targets(vec![Lead {
                    heard_set: Some(call.event_time.unwrap_or_else(Utc::now)),
                    ..Lead::named(user)
                }])
            }
            // The removal of a user's MFA device starts its MFA grace again; it needs nothing
            // while the MFA rule is off.
            _ if self.settings.mfa_grace_days == 0 => Scope::Nothing(format!(
                "{} matters to the MFA rule only, which is off (MFA_GRACE_DAYS=0)",
                call.event_name
            )),
            // The root user's own device (through an `sts:AssumeRoot` session): no IAM user's.
            "DeactivateMFADevice"
                if call.principal_name("userName")?.is_none() && is_root(call) =>
            {
                Scope::Nothing("DeactivateMFADevice of the root user's MFA device".to_owned())
            }
            "DeactivateMFADevice" => Scope::Targets(vec![Lead {
                heard_mfa_removed: Some(call.event_time.unwrap_or_else(Utc::now)),
                ..Lead::named(mfa_device_user(call)?)
            }]),
            // DeleteVirtualMFADevice names only the device, and IAM deletes only a virtual
            // device that no user has ("You must deactivate a user's virtual MFA device before
            // you can delete it", IAM API reference): the DeactivateMFADevice call before it
            // removed the device from its user, named that user, and started the clock.
            _ => Scope::Nothing(format!(
                "{} removes no device from a user: the DeactivateMFADevice call before it did",
                call.event_name
            )),
        })
    }

    async fn survey(&self, scope: Scope<Lead>, window: Window) -> Result<Survey<Lead>> {
        Ok(match scope {
            Scope::Sweep => self.sweep(window).await?,
            Scope::Nothing(_) => Survey::of(Vec::new()),
            Scope::Subjects(subjects) => Survey::of(
                subjects
                    .into_iter()
                    .filter_map(|s| s.principal().map(|p| Lead::named(p.name.clone())))
                    .collect(),
            ),
            Scope::Targets(leads) | Scope::Urgent(leads) => Survey::of(leads),
        })
    }

    async fn read(&self, lead: Lead, window: Window) -> Result<Observed<UserPassword>> {
        let iam = &self.clients.iam;
        let read_at = Instant::now();
        let (last_used, user_tags) = facts::user(iam, &lead.user).await?;
        let tags = lead.tags.unwrap_or(user_tags);
        let created = facts::login_profile_created(iam, &lead.user).await?;
        let set_at = latest(recorded(&tags, PASSWORD_SET_TAG), lead.heard_set);
        let mfa_removed = latest(recorded(&tags, MFA_REMOVED_TAG), lead.heard_mfa_removed);
        let set_record = record_key(&tags, PASSWORD_SET_TAG);
        let mfa_record = record_key(&tags, MFA_REMOVED_TAG);
        let mut password = created.map(|created| ConsolePassword {
            user: lead.user.clone(),
            created,
            set_at,
            last_used,
            mfa: Mfa::NotRead,
            mfa_removed,
        });
        // A removal, heard or recorded, needs the devices too: the record is kept only while
        // the user has none.
        if let Some(password) = &mut password
            && (rule::needs_mfa(password, &self.settings, window.until)
                || (self.settings.mfa_grace_days > 0
                    && (mfa_removed.is_some() || mfa_record.is_some())))
        {
            password.mfa = facts::mfa(iam, &lead.user).await?;
        }
        Ok(Observed {
            subject: Principal::user(&lead.user).into(),
            tags: TagState::Known(tags),
            // A run that heard of a device removal judges nothing (it never deletes), so the
            // user's warnings stay for the next sweep to judge.
            judged_whole: lead.heard_mfa_removed.is_none(),
            facts: UserPassword {
                user: lead.user,
                password,
                heard_set: lead.heard_set,
                set_record,
                heard_mfa_removed: lead.heard_mfa_removed,
                mfa_record,
                read_at,
            },
        })
    }

    fn plan(&self, facts: &UserPassword, now: DateTime<Utc>) -> Vec<PlannedAction<Deletion>> {
        rule::plan(facts, &self.settings, now).into_iter().collect()
    }

    fn control(
        &self,
        control: &str,
        facts: &UserPassword,
        now: DateTime<Utc>,
    ) -> Option<ControlState> {
        control::state(control, facts, &self.settings, now)
    }

    async fn apply(
        &self,
        action: &PlannedAction<Deletion>,
        _now: DateTime<Utc>,
    ) -> Result<Outcome> {
        apply::delete_login_profile(&self.clients.iam, &action.order).await
    }

    /// Records the time an administrator set the password and the time the user's MFA device
    /// was removed (both heard from CloudTrail), and removes the records no longer needed: of a
    /// password that no longer exists, of a removal once the user has an MFA device again.
    fn records(&self, observed: &Observed<UserPassword>, _now: DateTime<Utc>) -> TagChanges {
        let facts = &observed.facts;
        let mut changes = TagChanges::default();
        match (&facts.password, facts.heard_set, &facts.set_record) {
            (Some(password), Some(_), _) => {
                if let Some(at) = password.set_at {
                    changes
                        .set
                        .push((PASSWORD_SET_TAG.to_owned(), record_value(at)));
                }
            }
            (None, _, Some(stale)) => changes.remove.push(stale.clone()),
            _ => {}
        }
        let mfa = facts.password.as_ref().map(|password| password.mfa);
        match (&facts.password, mfa, &facts.mfa_record) {
            (Some(password), Some(Mfa::Absent), _) if facts.heard_mfa_removed.is_some() => {
                if let Some(at) = password.mfa_removed {
                    changes
                        .set
                        .push((MFA_REMOVED_TAG.to_owned(), record_value(at)));
                }
            }
            (None, _, Some(stale)) | (Some(_), Some(Mfa::Present), Some(stale)) => {
                changes.remove.push(stale.clone());
            }
            _ => {}
        }
        changes
    }
}

impl ConsolePasswords {
    /// A sweep's candidates: the credential report's users whose password may be due.
    async fn sweep(&self, window: Window) -> Result<Survey<Lead>> {
        let (survey, _) = credential_report::sweep(self, window, |row, tags| {
            rule::is_candidate(row, tags, &self.settings, window.until)
        })
        .await?;
        Ok(survey.map(|candidate| Lead {
            tags: candidate.tags,
            ..Lead::named(candidate.user)
        }))
    }
}

/// The later of a recorded time and one heard in this run.
fn latest(recorded: Option<DateTime<Utc>>, heard: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (recorded, heard) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// True when the root user made the call (`userIdentity.type` `Root`).
fn is_root(call: &ApiCall) -> bool {
    call.user_identity
        .as_ref()
        .and_then(|identity| identity.get("type"))
        .and_then(serde_json::Value::as_str)
        == Some("Root")
}

/// The user whose MFA device a `DeactivateMFADevice` call removed: `requestParameters.userName`,
/// or, without one, the calling IAM user ("If no user name is included, it defaults to the
/// principal making the request", IAM API reference). A call naming nobody is an invalid event.
fn mfa_device_user(call: &ApiCall) -> Result<String> {
    match call.principal_name("userName")? {
        Some(user) => Ok(user.to_owned()),
        None => call.calling_user().map(str::to_owned).ok_or_else(|| {
            iam_remediation::Error::InvalidEvent(format!(
                "{} names no user (no requestParameters.userName, and the caller is no IAM user)",
                call.event_name
            ))
        }),
    }
}
