//! `access-keys`: deactivates (or rotates) access keys that are too old, deactivates keys
//! unused for too long, deletes keys it deactivated once they stayed inactive, deactivates
//! keys AWS reports as exposed, and reports root user access keys.
//!
//! The function's whole remediation lives in this crate: its settings (which are the
//! function), its inputs (here and in [`order`]), its facts ([`facts`]), its
//! pure rule ([`rule`], and Security Hub's criteria in [`control`]), and its changes ([`apply`],
//! [`rotation`]); [`read`] reads a subject's facts, as much as the rule needs. The shared pipeline runs them through [`Remediation`].

pub mod apply;
pub mod control;
pub mod facts;
pub mod order;
pub mod read;
pub mod rotation;
pub mod rule;
pub mod settings;

use chrono::{DateTime, Utc};
use iam_remediation::records::TagChanges;
use iam_remediation::{
    Asked, Clients, Inputs, Observed, Outcome, OwnTrigger, PlannedAction, PrincipalKind,
    Remediation, Result, Scope, Subject, Survey, Window,
};

pub use crate::facts::{Facts, Focus, KeyRecord, Lead, UserKeys};
use crate::order::CREDENTIALS_EXPOSED;
pub use crate::rule::KeyOrder;
pub use crate::settings::{AccessKeys, KeyAction};

impl Remediation for AccessKeys {
    const NAME: &'static str = "access-keys";
    const INPUTS: Inputs = Inputs {
        account: true,
        principals: &[PrincipalKind::User],
        cloudtrail_events: &["CreateAccessKey", "UpdateAccessKey"],
        health_events: &[CREDENTIALS_EXPOSED],
        securityhub_controls: &["IAM.3", "IAM.4", "IAM.8", "IAM.22"],
        securityhub_shared_controls: &["IAM.8", "IAM.22"],
        unused_access_findings: &["UnusedIAMUserAccessKey"],
    };
    type Lead = Lead;

    /// A CloudTrail call names a user (and a key it turned back on); AWS Health names exposed
    /// keys, acted on whatever happens to the others; an operator's payload orders one key.
    fn scope(&self, trigger: OwnTrigger<'_>) -> Result<Asked<Lead>> {
        Ok(Asked::Look(match trigger {
            OwnTrigger::ApiCall(call) => {
                // CreateAccessKey without userName creates a key for the caller.
                let name = call.user("/accessKey/userName")?.to_owned();
                let reactivated = match (call.event_name.as_str(), call.parameter("status")?) {
                    ("UpdateAccessKey", Some("Active")) => {
                        call.parameter("accessKeyId")?.map(str::to_owned)
                    }
                    _ => None,
                };
                Scope::Leads(vec![Lead::User {
                    name,
                    tags: None,
                    reactivated,
                }])
            }
            OwnTrigger::Health(event) => Scope::Urgent(
                order::exposed_keys(event)?
                    .into_iter()
                    .map(Lead::exposed)
                    .collect(),
            ),
            OwnTrigger::Manual(payload) => {
                Scope::Leads(vec![Lead::ordered(order::parse(payload)?)])
            }
        }))
    }

    async fn survey(
        &self,
        clients: &Clients,
        scope: Scope<Lead>,
        window: Window,
    ) -> Result<Survey<Lead>> {
        Ok(match scope {
            Scope::Sweep => read::sweep(&clients.iam, self, window).await?,
            Scope::Subjects(subjects) => Survey::of(
                subjects
                    .into_iter()
                    .map(|subject| match subject {
                        Subject::Principal(principal) => Lead::User {
                            name: principal.name,
                            tags: None,
                            reactivated: None,
                        },
                        Subject::Account | Subject::RootUser => Lead::Account,
                    })
                    .collect(),
            ),
            Scope::Leads(leads) | Scope::Urgent(leads) => Survey::of(leads),
        })
    }

    async fn read(&self, clients: &Clients, lead: Lead, window: Window) -> Result<Observed<Facts>> {
        read::read(clients, self, lead, window).await
    }

    async fn apply(
        &self,
        clients: &Clients,
        action: &PlannedAction<KeyOrder>,
        now: DateTime<Utc>,
    ) -> Result<Outcome> {
        let iam = &clients.iam;
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
                let record = matches!(action.order, KeyOrder::Rotate { .. });
                rotation::rotate(clients, self, user, key_id, record).await
            }
            KeyOrder::ReportOnly => Ok(Outcome::Skipped(
                "nothing in the account can do this".into(),
            )),
        }
    }

    /// Records that no longer hold: of keys that are gone, deactivation records of keys seen
    /// active again, heard being turned back on, or used after the record.
    fn records(&self, observed: &Observed<Facts>, _now: DateTime<Utc>) -> TagChanges {
        facts::stale_records(observed)
    }
}
