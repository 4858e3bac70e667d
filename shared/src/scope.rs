//! Scope: what an event asks a function to look at. Schedules, Config events, findings and
//! manual principal lists are read the same way for every function; a function maps its own
//! triggers itself (the parameters of its CloudTrail calls, AWS Health's keys, an operator's
//! order on one key) through [`Remediation`].

use crate::clients::Clients;
use crate::contract::{Asked, OwnTrigger, Remediation, Scope};
use crate::error::{Error, Result};
use crate::intake::{
    FINDING_AUTHOR_PREFIX, Finding, FindingResource, ManualPayload, Trigger, UnusedAccess,
};
use crate::principal::{Principal, PrincipalKind, Subject};
use crate::reads::identity;

/// The scope of `trigger` for `function`; handled Security Hub findings are added to `findings`
/// with the subject each is about, and findings left alone to `notes`.
pub async fn resolve<F: Remediation>(
    function: &F,
    clients: &Clients,
    trigger: &Trigger,
    findings: &mut Vec<(Finding, Subject)>,
    notes: &mut Vec<String>,
) -> Result<Asked<F::Lead>> {
    let iam = &clients.iam;
    let look = Asked::Look;
    Ok(match trigger {
        Trigger::Schedule => look(Scope::Sweep),
        Trigger::ApiCall(call) => match &call.error_code {
            Some(code) => Asked::Nothing(format!(
                "{} failed ({code}): nothing changed",
                call.event_name
            )),
            None => function.scope(OwnTrigger::ApiCall(call))?,
        },
        Trigger::Health(event) => function.scope(OwnTrigger::Health(event))?,
        Trigger::ComplianceChange(change) => {
            if !change.is_non_compliant() {
                return Ok(Asked::Nothing(format!(
                    "compliance is {}",
                    change.new_evaluation_result.compliance_type
                )));
            }
            match config_subject(function, &change.resource_type, None, &change.resource_id) {
                Named::Subject(subject) => look(Scope::Subjects(vec![subject])),
                Named::Id(kind, id) => {
                    let principal = identity::resolve_unique_id(iam, kind, &id).await?;
                    look(Scope::Subjects(vec![principal.into()]))
                }
                // A function that covers no principal at all (the account's own) was sent a
                // principal's change: a misrouted event, not "nothing to do".
                Named::NotCovered(_) | Named::NotIam
                    if !PrincipalKind::ALL.iter().any(|kind| function.covers(*kind)) =>
                {
                    return Err(Error::InvalidEvent(format!(
                        "resource type {} is not the account (AWS::::Account)",
                        change.resource_type
                    )));
                }
                Named::NotCovered(why) => Asked::Nothing(why),
                Named::NotIam => {
                    return Err(Error::InvalidEvent(format!(
                        "resource type {} is not an IAM user, group or role, nor the account",
                        change.resource_type
                    )));
                }
            }
        }
        Trigger::ConfigRule(invocation) => match &invocation.resource {
            _ if invocation.event_left_scope => {
                Asked::Nothing("the resource left the rule's scope".into())
            }
            None => look(Scope::Sweep),
            Some(resource) if resource.deleted => Asked::Nothing("the resource was deleted".into()),
            Some(resource) => match config_subject(
                function,
                &resource.resource_type,
                resource.resource_name.as_deref(),
                &resource.resource_id,
            ) {
                Named::Subject(subject) => look(Scope::Subjects(vec![subject])),
                Named::Id(kind, id) => {
                    let principal = identity::resolve_unique_id(iam, kind, &id).await?;
                    look(Scope::Subjects(vec![principal.into()]))
                }
                Named::NotCovered(why) => Asked::Nothing(why),
                Named::NotIam => Asked::Nothing(format!(
                    "{} is not an IAM principal",
                    resource.resource_type
                )),
            },
        },
        Trigger::Findings(event) => {
            notes.extend(event.ignored.iter().map(|why| format!("left alone: {why}")));
            findings_scope(function, clients, &event.handled, findings, notes).await?
        }
        Trigger::UnusedAccess(UnusedAccess::Ignored(why)) => Asked::Nothing(why.clone()),
        Trigger::UnusedAccess(UnusedAccess::Finding(finding)) => {
            look(Scope::Subjects(vec![Principal::user(&finding.user).into()]))
        }
        Trigger::Manual(payload) if !payload.fields.is_empty() => {
            function.scope(OwnTrigger::Manual(payload))?
        }
        Trigger::Manual(payload) => look(manual(function, payload)?),
    })
}

/// The subjects of a Security Hub event's handled findings.
async fn findings_scope<F: Remediation>(
    function: &F,
    clients: &Clients,
    handled: &[Finding],
    findings: &mut Vec<(Finding, Subject)>,
    notes: &mut Vec<String>,
) -> Result<Asked<F::Lead>> {
    let mut subjects: Vec<Subject> = Vec::new();
    for finding in handled {
        if !function.handles_control(&finding.control) {
            notes.push(format!(
                "left alone: {}: its rule is off in this configuration",
                finding.label()
            ));
            continue;
        }
        // Every BatchUpdateFindings raises an event for the finding: a note of this function's,
        // or of the other function that shares the control, on a finding Security Hub has not
        // evaluated since, is the echo of an event already handled (the EventBridge rules send
        // every note, so this is where the echo is told from a re-check; never in the rule, which
        // would then drop a shared finding's re-checks for the function that did not note last).
        if let Some(author) = finding
            .noted_by
            .as_deref()
            .filter(|by| by.starts_with(FINDING_AUTHOR_PREFIX))
        {
            notes.push(format!(
                "left alone: {}: already handled by {}",
                finding.label(),
                author.trim_start_matches(FINDING_AUTHOR_PREFIX)
            ));
            continue;
        }
        let Some(subject) = finding_subject(function, clients, &finding.resource).await? else {
            notes.push(format!(
                "left alone: {}: its resource is not covered here",
                finding.label()
            ));
            continue;
        };
        if !subjects.contains(&subject) {
            subjects.push(subject.clone());
        }
        findings.push((finding.clone(), subject));
    }
    Ok(if subjects.is_empty() {
        Asked::Nothing("no finding to act on".into())
    } else {
        Asked::Look(Scope::Subjects(subjects))
    })
}

/// What a Config resource names.
enum Named {
    Subject(Subject),
    /// A principal by unique ID, to be resolved.
    Id(PrincipalKind, String),
    NotCovered(String),
    NotIam,
}

fn config_subject<F: Remediation>(
    function: &F,
    resource_type: &str,
    name: Option<&str>,
    unique_id: &str,
) -> Named {
    if resource_type == "AWS::::Account" {
        return if F::INPUTS.account {
            Named::Subject(Subject::Account)
        } else {
            Named::NotCovered("the account is not covered here".into())
        };
    }
    let Some(kind) = PrincipalKind::from_resource_type(resource_type) else {
        return Named::NotIam;
    };
    // A Config rule may evaluate kinds this function leaves alone (roles by default).
    if !function.covers(kind) {
        return Named::NotCovered(format!("{kind}s are not covered here"));
    }
    match name {
        Some(name) => Named::Subject(
            Principal {
                kind,
                name: name.to_owned(),
            }
            .into(),
        ),
        None => Named::Id(kind, unique_id.to_owned()),
    }
}

/// The subject a finding is about; `None` when the function does not cover it.
async fn finding_subject<F: Remediation>(
    function: &F,
    clients: &Clients,
    resource: &FindingResource,
) -> Result<Option<Subject>> {
    let iam = &clients.iam;
    if !matches!(resource, FindingResource::Account) && !function.covers(PrincipalKind::User) {
        return Ok(None);
    }
    let user = match resource {
        FindingResource::Account => {
            return Ok(F::INPUTS.account.then_some(Subject::Account));
        }
        FindingResource::User(name)
        | FindingResource::AccessKey {
            user: Some(name), ..
        } => Principal::user(name),
        FindingResource::UserId(id) => {
            identity::resolve_unique_id(iam, PrincipalKind::User, id).await?
        }
        FindingResource::AccessKey {
            key_id: Some(key_id),
            user: None,
        } => Principal::user(identity::access_key_owner(iam, key_id).await?.user),
        FindingResource::AccessKey {
            key_id: None,
            user: None,
        } => {
            return Err(Error::InvalidEvent(
                "an access key finding names neither its key nor its user".into(),
            ));
        }
    };
    Ok(Some(user.into()))
}

/// The scope of a manual payload without function fields: the principals it names, or the whole
/// account.
fn manual<F: Remediation>(function: &F, payload: &ManualPayload) -> Result<Scope<F::Lead>> {
    if payload.is_account_wide() {
        return Ok(Scope::Sweep);
    }
    let mut subjects: Vec<Subject> = Vec::new();
    for kind in PrincipalKind::ALL {
        let names = payload.names(kind).unwrap_or_default();
        // An explicit request the configuration would ignore is a mistake to report, not a
        // silent no-op.
        if !names.is_empty() && !function.covers(kind) {
            return Err(Error::InvalidEvent(format!(
                "manual payload: `{kind}s` given, but {kind}s are not covered here"
            )));
        }
        for name in names {
            let principal = Principal {
                kind,
                name: name.clone(),
            };
            // IAM names are unique regardless of case: `Alice` and `alice` are one user.
            if !subjects
                .iter()
                .any(|s| s.principal().is_some_and(|p| p.is(&principal)))
            {
                subjects.push(principal.into());
            }
        }
    }
    Ok(Scope::Subjects(subjects))
}
