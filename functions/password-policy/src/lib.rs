//! `password-policy`: keeps the account password policy at least as strict as a configured
//! floor, and never weakens it.
//!
//! The function's whole remediation lives in this crate: the floor (its settings, which are the
//! function), the policy (its facts), the merge (its pure rule, and Security Hub's criteria in
//! `control`) and the one complete `UpdateAccountPasswordPolicy` (its change), merged again
//! against the policy read right before it. Every event is about the one account.

pub mod apply;
pub mod control;
pub mod facts;
pub mod rule;
pub mod settings;

use chrono::{DateTime, Utc};
use iam_remediation::reads::TagState;
use iam_remediation::{
    Asked, Clients, Inputs, Observed, Outcome, OwnTrigger, PlannedAction, Remediation, Result,
    Scope, Subject, Survey, Window,
};

use crate::facts::{AccountPolicy, PasswordPolicy};
pub use crate::rule::PolicyChange;
pub use crate::settings::PasswordPolicies;

impl Remediation for PasswordPolicies {
    const NAME: &'static str = "password-policy";
    /// The account's policy; the two CloudTrail calls that can weaken it, the password-policy
    /// controls of Security Hub, and a manual payload of `dry_run` only.
    const INPUTS: Inputs = Inputs {
        account: true,
        cloudtrail_events: &["UpdateAccountPasswordPolicy", "DeleteAccountPasswordPolicy"],
        securityhub_controls: &[
            "IAM.7", "IAM.10", "IAM.11", "IAM.12", "IAM.13", "IAM.14", "IAM.15", "IAM.16", "IAM.17",
        ],
        ..Inputs::NONE
    };
    type Lead = AccountPolicy;

    /// Whatever an UpdateAccountPasswordPolicy asked for, the live policy is what counts; a
    /// DeleteAccountPasswordPolicy left none, which the merge restores at once.
    fn scope(&self, trigger: OwnTrigger<'_>) -> Result<Asked<AccountPolicy>> {
        match trigger {
            OwnTrigger::ApiCall(_) => Ok(Asked::Look(Scope::Subjects(vec![Subject::Account]))),
            other => Err(other.not_handled(&Self::INPUTS)),
        }
    }

    async fn survey(
        &self,
        _clients: &Clients,
        _scope: Scope<AccountPolicy>,
        _window: Window,
    ) -> Result<Survey<AccountPolicy>> {
        Ok(Survey::of(vec![AccountPolicy]))
    }

    async fn read(
        &self,
        clients: &Clients,
        _lead: AccountPolicy,
        _window: Window,
    ) -> Result<Observed<Option<PasswordPolicy>>> {
        // Nothing protects the account: it carries no tags and has no name to list in
        // EXEMPT_PRINCIPALS, and the identity the function runs as is a user or role, never the
        // account. MAX_ACTIONS and dry run still apply.
        Ok(Observed {
            subject: Subject::Account,
            tags: TagState::Untaggable,
            judged_whole: true,
            facts: facts::current(&clients.iam).await?,
        })
    }

    async fn apply(
        &self,
        clients: &Clients,
        action: &PlannedAction<PolicyChange>,
        _now: DateTime<Utc>,
    ) -> Result<Outcome> {
        apply::tighten(&clients.iam, &self.floor, action).await
    }
}
