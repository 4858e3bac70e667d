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
    ConsolePassword, Mfa, PASSWORD_SET_TAG, UserPassword, recorded_set, set_record_value,
};
pub use crate::rule::Deletion;
pub use crate::settings::Settings;

/// The console-passwords function: its clients (built once per cold start) and settings.
#[derive(Debug, Clone)]
pub struct ConsolePasswords {
    clients: Clients,
    settings: Settings,
}

/// A user to read: with its tags when a sweep already has them, and the time an administrator
/// set its password when a CloudTrail call was just heard doing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lead {
    pub user: String,
    pub tags: Option<Tags>,
    pub heard_set: Option<DateTime<Utc>>,
}

impl Lead {
    fn named(user: String) -> Self {
        Self {
            user,
            tags: None,
            heard_set: None,
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
                    user,
                    tags: None,
                    heard_set: Some(call.event_time.unwrap_or_else(Utc::now)),
                }])
            }
            // DeleteVirtualMFADevice names only the device: the DeactivateMFADevice call before
            // it (IAM deletes no device still enabled for a user) named the user.
            _ => match call.principal_name("userName")? {
                Some(user) => Scope::Targets(vec![Lead::named(user.to_owned())]),
                None => Scope::Nothing(format!(
                    "{} names no user; the DeactivateMFADevice call before it did",
                    call.event_name
                )),
            },
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
        let recorded = recorded_set(&tags);
        let set_at = match (recorded, lead.heard_set) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        let mut password = created.map(|created| ConsolePassword {
            user: lead.user.clone(),
            created,
            set_at,
            last_used,
            mfa: Mfa::NotRead,
        });
        if let Some(password) = &mut password
            && rule::needs_mfa(password, &self.settings, window.until)
        {
            password.mfa = facts::mfa(iam, &lead.user).await?;
        }
        let set_record = tags
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(PASSWORD_SET_TAG))
            .map(|(key, _)| key.to_owned());
        Ok(Observed {
            subject: Principal::user(&lead.user).into(),
            tags: TagState::Known(tags),
            judged_whole: true,
            facts: UserPassword {
                user: lead.user,
                password,
                heard_set: lead.heard_set,
                set_record,
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

    /// Records the time an administrator set the password (heard from CloudTrail), and removes
    /// the record of a password that no longer exists.
    fn records(&self, observed: &Observed<UserPassword>, _now: DateTime<Utc>) -> TagChanges {
        let facts = &observed.facts;
        let mut changes = TagChanges::default();
        match (&facts.password, facts.heard_set, &facts.set_record) {
            (Some(password), Some(_), _) => {
                if let Some(at) = password.set_at {
                    changes
                        .set
                        .push((PASSWORD_SET_TAG.to_owned(), set_record_value(at)));
                }
            }
            (None, _, Some(stale)) => changes.remove.push(stale.clone()),
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
            user: candidate.user,
            tags: candidate.tags,
            heard_set: None,
        }))
    }
}
