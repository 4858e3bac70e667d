//! `console-passwords`: deletes console passwords (login profiles) that went unused for longer
//! than `MAX_PASSWORD_UNUSED_DAYS`, and, with `MFA_GRACE_DAYS`, those whose user has no MFA
//! device that long after the password was set.
//!
//! The function's whole remediation lives in this crate: its settings (which are the function),
//! its inputs (here), its facts and their reads, its pure rule (and Security Hub's criteria in
//! `control`) and its change. The shared pipeline runs them through [`Remediation`].

pub mod apply;
pub mod control;
pub mod facts;
pub mod read;
pub mod rule;
pub mod settings;

use chrono::{DateTime, Utc};
use iam_remediation::intake::ApiCall;
use iam_remediation::reads::credential_report;
use iam_remediation::records::TagChanges;
use iam_remediation::{
    Asked, Clients, Inputs, Observed, Outcome, OwnTrigger, PlannedAction, PrincipalKind,
    Remediation, Result, Scope, Survey, Window,
};

use crate::facts::{Lead, UserPassword};
pub use crate::rule::Deletion;
pub use crate::settings::ConsolePasswords;

impl Remediation for ConsolePasswords {
    const NAME: &'static str = "console-passwords";
    const INPUTS: Inputs = Inputs {
        principals: &[PrincipalKind::User],
        cloudtrail_events: &[
            "CreateLoginProfile",
            "UpdateLoginProfile",
            "DeactivateMFADevice",
            "DeleteVirtualMFADevice",
        ],
        securityhub_controls: &["IAM.5", "IAM.8", "IAM.22"],
        securityhub_shared_controls: &["IAM.8", "IAM.22"],
        unused_access_findings: &["UnusedIAMUserPassword"],
        ..Inputs::NONE
    };
    type Lead = Lead;

    fn scope(&self, trigger: OwnTrigger<'_>) -> Result<Asked<Lead>> {
        let OwnTrigger::ApiCall(call) = trigger else {
            return Err(trigger.not_handled(&Self::INPUTS));
        };
        let look = |lead| Asked::Look(Scope::Leads(vec![lead]));
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
                look(Lead {
                    heard_set: Some(call.event_time.unwrap_or_else(Utc::now)),
                    ..Lead::named(user)
                })
            }
            // The removal of a user's MFA device starts its MFA grace again; it needs nothing
            // while the MFA rule is off.
            _ if self.mfa_grace_days == 0 => Asked::Nothing(format!(
                "{} matters to the MFA rule only, which is off (MFA_GRACE_DAYS=0)",
                call.event_name
            )),
            // The root user's own device (through an `sts:AssumeRoot` session): no IAM user's.
            "DeactivateMFADevice"
                if call.principal_name("userName")?.is_none() && call.made_by_root() =>
            {
                Asked::Nothing("DeactivateMFADevice of the root user's MFA device".to_owned())
            }
            "DeactivateMFADevice" => look(Lead {
                heard_mfa_removed: Some(call.event_time.unwrap_or_else(Utc::now)),
                ..Lead::named(mfa_device_user(call)?)
            }),
            // DeleteVirtualMFADevice names only the device, and IAM deletes only a virtual
            // device that no user has ("You must deactivate a user's virtual MFA device before
            // you can delete it", IAM API reference): the DeactivateMFADevice call before it
            // removed the device from its user, named that user, and started the clock.
            _ => Asked::Nothing(format!(
                "{} removes no device from a user: the DeactivateMFADevice call before it did",
                call.event_name
            )),
        })
    }

    async fn survey(
        &self,
        clients: &Clients,
        scope: Scope<Lead>,
        window: Window,
    ) -> Result<Survey<Lead>> {
        Ok(match scope {
            Scope::Sweep => {
                let is_candidate =
                    |row: &_, tags: &_| rule::is_candidate(row, tags, self, window.until);
                let (survey, _) = credential_report::sweep(
                    &clients.iam,
                    Self::NAME,
                    self.common.warn_days,
                    window,
                    is_candidate,
                )
                .await?;
                survey.map(|candidate| Lead {
                    tags: candidate.tags,
                    ..Lead::named(candidate.user)
                })
            }
            Scope::Subjects(subjects) => Survey::of(
                subjects
                    .into_iter()
                    .filter_map(|s| s.principal().map(|p| Lead::named(p.name.clone())))
                    .collect(),
            ),
            Scope::Leads(leads) | Scope::Urgent(leads) => Survey::of(leads),
        })
    }

    async fn read(
        &self,
        clients: &Clients,
        lead: Lead,
        window: Window,
    ) -> Result<Observed<UserPassword>> {
        read::read(&clients.iam, self, lead, window).await
    }

    async fn apply(
        &self,
        clients: &Clients,
        action: &PlannedAction<Deletion>,
        _now: DateTime<Utc>,
    ) -> Result<Outcome> {
        apply::delete_login_profile(&clients.iam, &action.order).await
    }

    /// Records the time an administrator set the password and the time the user's MFA device
    /// was removed (both heard from CloudTrail), and removes the records no longer needed.
    fn records(&self, observed: &Observed<UserPassword>, _now: DateTime<Utc>) -> TagChanges {
        facts::records(observed)
    }
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
