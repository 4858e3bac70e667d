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
    Clients, Inputs, Observed, Outcome, PlannedAction, Reach, Remediation, Result, Scope, Subject,
    Survey, Window,
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
        securityhub_controls: &["IAM.4", "IAM.6", "IAM.9"],
        ..Inputs::NONE
    };
    type Lead = MemberAccount;
    /// Every account of the organisation, through `sts:AssumeRoot` from this account: no member
    /// role.
    const REACH: Reach = Reach::Itself;

    /// Whatever asked (a sweep of the account, a finding about it), the one thing to read is
    /// the account's root user.
    async fn survey(
        &self,
        clients: &Clients,
        _scope: Scope<MemberAccount>,
        _window: Window,
    ) -> Result<Survey<MemberAccount>> {
        let account = clients.account().await?.to_owned();
        Ok(Survey::of(vec![MemberAccount(account)]))
    }

    /// The root user's credentials (an audit root session) and the account's tags in AWS
    /// Organizations (exemption, warnings), read at once.
    async fn read(
        &self,
        clients: &Clients,
        lead: MemberAccount,
        _window: Window,
    ) -> Result<Observed<RootFacts>> {
        let account = lead.0.as_str();
        let (facts, tags) = futures::try_join!(
            facts::read(clients.sdk_config(), &clients.sts, account),
            account_tags::state(clients.organizations(), account),
        )?;
        Ok(Observed {
            subject: Subject::RootUser,
            tags,
            judged_whole: true,
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

/// A member account, by ID: where root-credentials reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberAccount(pub String);

impl fmt::Display for MemberAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "account {}", self.0)
    }
}

#[cfg(test)]
mod fake;
