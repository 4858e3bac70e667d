//! `root-credentials` (organisation mode only): deletes member accounts' root user access keys,
//! and with `ROOT_REMOVE_PASSWORD` their console passwords, MFA devices and signing
//! certificates, through `sts:AssumeRoot` from the management account or IAM's delegated
//! administrator (shared/DESIGN.md, "Organisations").
//!
//! What is the function's own lives here, as free functions taking SDK clients: its settings
//! ([`settings`]), its root sessions ([`session`]), its facts read in an audit session
//! ([`facts`]), its pure rule ([`rule`], and Security Hub's criteria in [`control`]), its
//! changes in a delete session ([`apply`]), and the member account's tags in AWS Organizations
//! ([`account_tags`]).

pub mod account_tags;
pub mod apply;
pub mod control;
pub mod facts;
pub mod rule;
pub mod session;
pub mod settings;

use std::fmt;

use chrono::{DateTime, Utc};
use iam_remediation::{
    Asked, Clients, Inputs, Observed, Outcome, OwnTrigger, PlannedAction, Reach, Remediation,
    Result, Scope, Subject, Survey, Window,
};

pub use crate::facts::{MfaDevice, RootFacts, RootKey, RootUser};
pub use crate::rule::RootOrder;
pub use crate::settings::RootCredentials;

impl Remediation for RootCredentials {
    const NAME: &'static str = "root-credentials";
    /// The root user of each member account; Security Hub's root user controls (IAM.6 and IAM.9
    /// only with `ROOT_REMOVE_PASSWORD`, see [`iam_remediation::Rule::handles_control`]); a
    /// manual payload of `accounts` and `dry_run` only.
    const INPUTS: Inputs = Inputs {
        account: true,
        health_events: &["AWS_RISK_CREDENTIALS_EXPOSED"],
        securityhub_controls: &["IAM.4", "IAM.6", "IAM.9"],
        ..Inputs::NONE
    };
    type Lead = MemberAccount;
    /// Every account of the organisation, through `sts:AssumeRoot` from this account: no member
    /// role.
    const REACH: Reach = Reach::Itself;

    /// An AWS Health exposed-key event (forwarded by the member account) names the keys AWS
    /// found exposed: the account's root keys among them are deleted at once, whatever their
    /// use or exemption.
    fn scope(&self, trigger: OwnTrigger<'_>) -> Result<Asked<MemberAccount>> {
        match trigger {
            OwnTrigger::Health(event) => Ok(Asked::Look(Scope::Urgent(vec![MemberAccount {
                exposed: event.entities.clone(),
            }]))),
            other => Err(other.not_handled(&Self::INPUTS)),
        }
    }

    /// Whatever asked (a sweep of the account, a finding about it, exposed keys), the one thing
    /// to read is the account's root user.
    async fn survey(
        &self,
        _clients: &Clients,
        scope: Scope<MemberAccount>,
        _window: Window,
    ) -> Result<Survey<MemberAccount>> {
        let lead = match scope {
            Scope::Leads(leads) | Scope::Urgent(leads) => {
                leads.into_iter().next().unwrap_or_default()
            }
            Scope::Sweep | Scope::Subjects(_) => MemberAccount::default(),
        };
        Ok(Survey::of(vec![lead]))
    }

    /// The root user's credentials (an audit root session) and the account's tags in AWS
    /// Organizations (exemption, warnings), read at once.
    async fn read(
        &self,
        clients: &Clients,
        lead: MemberAccount,
        _window: Window,
    ) -> Result<Observed<RootFacts>> {
        let account = clients.account().await?;
        let (mut facts, tags) = futures::try_join!(
            facts::read(clients.sdk_config(), &clients.sts, account),
            account_tags::state(clients.organizations(), account),
        )?;
        // An exposed-key event is about those keys alone: nothing else of the root user is
        // judged (nor warned, nor its warnings withdrawn) in that urgent run.
        let exposed_only = !lead.exposed.is_empty();
        if let (RootFacts::Member(root), true) = (&mut facts, exposed_only) {
            root.mark_exposed(&lead.exposed);
            root.access_keys.retain(|key| key.exposed);
            root.password = None;
            root.mfa_devices.clear();
            root.signing_certificates.clear();
        }
        Ok(Observed {
            subject: Subject::RootUser,
            tags,
            judged_whole: !exposed_only,
            facts,
        })
    }

    /// One change in its own delete root session, re-read there first.
    async fn apply(
        &self,
        clients: &Clients,
        action: &PlannedAction<RootOrder>,
        _now: DateTime<Utc>,
    ) -> Result<Outcome> {
        let account = clients.account().await?;
        apply::apply(clients.sdk_config(), &clients.sts, account, &action.order).await
    }

    /// Warnings are tags on the member account in AWS Organizations.
    async fn write_tags(
        &self,
        clients: &Clients,
        _subject: &Subject,
        tags: &[(String, String)],
    ) -> Result<()> {
        account_tags::write(clients.organizations(), clients.account().await?, tags).await
    }

    async fn remove_tags(
        &self,
        clients: &Clients,
        _subject: &Subject,
        keys: &[String],
    ) -> Result<()> {
        account_tags::remove(clients.organizations(), clients.account().await?, keys).await
    }
}

/// Where root-credentials reads: the root user of the account its clients act on, with the
/// access keys AWS reported exposed there (none but for an AWS Health event).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberAccount {
    pub exposed: Vec<String>,
}

impl fmt::Display for MemberAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.exposed.is_empty() {
            f.write_str("the root user")
        } else {
            write!(f, "the root user (exposed: {})", self.exposed.join(", "))
        }
    }
}

#[cfg(test)]
mod fake;
