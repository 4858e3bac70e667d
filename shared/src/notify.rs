//! Notifications (`NOTIFY_TOPIC_ARN`): after a run that applied, skipped, failed or warned
//! anything, one summary message for the people who watch the account; and one message per
//! warned principal, with its owner as a message attribute, so an e-mail subscription can filter
//! on it. Message attributes carry what subscription filter policies match on.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use aws_sdk_sns::Client;
use aws_sdk_sns::types::MessageAttributeValue;
use chrono::{DateTime, Duration, Utc};

use crate::error::{Error, call};
use crate::plan::Due;
use crate::principal::Subject;
use crate::report::{Report, Status};

/// How far ahead the summary's forecast looks: a week, or `WARN_DAYS` when longer.
pub fn horizon(warn_days: u32) -> Duration {
    Duration::days(i64::from(warn_days.max(7)))
}

/// Everything the messages are made from.
#[derive(Debug, Clone, Copy)]
pub struct Messages<'a> {
    pub report: &'a Report,
    pub warned: &'a [Due],
    pub owners: &'a HashMap<Subject, String>,
    pub upcoming: &'a [Due],
    pub now: DateTime<Utc>,
}

/// One SNS message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub subject: String,
    pub body: String,
    pub attributes: BTreeMap<&'static str, String>,
}

/// The longest subject SNS takes ("less than 100 characters", SNS API Reference, Publish).
const MAX_SUBJECT: usize = 99;

/// The run's outcome for subscription filters: `failed` when anything failed, `warned` when a
/// principal was warned or something nobody in the account can fix was found (the root user's
/// keys), `ok` otherwise.
pub fn outcome(report: &Report) -> &'static str {
    if !report.errors.is_empty() || report.count(Status::Failed) > 0 {
        "failed"
    } else if report.count(Status::Warned) > 0
        || report
            .actions
            .iter()
            .any(|a| a.subject == Subject::RootUser)
    {
        "warned"
    } else {
        "ok"
    }
}

/// The messages a run sends: none for a run with nothing to say, nor for a dry run that warned
/// nobody.
pub fn messages(input: &Messages<'_>) -> Vec<Message> {
    let report = input.report;
    let count = |status| report.count(status);
    let said = count(Status::Applied)
        + count(Status::Warned)
        + count(Status::Skipped)
        + count(Status::Failed);
    let worth_saying = if report.dry_run {
        count(Status::Warned) > 0
    } else {
        said > 0 || !report.errors.is_empty()
    };
    if !worth_saying {
        return Vec::new();
    }
    let mut messages = vec![summary(input)];
    messages.extend(warnings(input));
    messages
}

fn ascii_subject(text: &str) -> String {
    let clean: String = text
        .chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() {
                c
            } else {
                '?'
            }
        })
        .collect();
    clean.chars().take(MAX_SUBJECT).collect()
}

fn summary(input: &Messages<'_>) -> Message {
    let report = input.report;
    let subject = ascii_subject(&format!(
        "{}: {} applied, {} warned, {} skipped, {} failed",
        report.function,
        report.count(Status::Applied),
        report.count(Status::Warned),
        report.count(Status::Skipped),
        report.count(Status::Failed)
    ));
    let mut body = format!(
        "{} ran ({} trigger{}) and examined {}.\n\n",
        report.function,
        report.trigger.as_str(),
        if report.dry_run { ", dry run" } else { "" },
        report.examined
    );
    if report.actions.is_empty() {
        body.push_str("No action.\n");
    } else {
        body.push_str("Actions:\n");
        let actions = report.actions.iter().map(|a| {
            let (status, kind, name) = (a.status.as_str(), a.principal_type, &a.principal);
            let (action, target, reason) = (a.action, &a.target, &a.reason);
            format!("{status}: {action} {target} of {kind} {name}: {reason}")
        });
        list(&mut body, actions);
    }
    if !report.errors.is_empty() {
        body.push_str("\nErrors:\n");
        list(&mut body, &report.errors);
    }
    let days = horizon(0).num_days().max(
        input
            .upcoming
            .iter()
            .map(|u| (u.at - input.now).num_days())
            .max()
            .unwrap_or_default(),
    );
    let _ = write!(body, "\nComing up in the next {days} days:\n");
    let mut coming: Vec<(DateTime<Utc>, String)> = input
        .warned
        .iter()
        .map(|w| {
            (
                w.at,
                format!(
                    "{} {} of {}: {} (warned)",
                    w.action, w.target, w.subject, w.reason
                ),
            )
        })
        .chain(input.upcoming.iter().map(|u| {
            (
                u.at,
                format!("{} {} of {}: {}", u.action, u.target, u.subject, u.reason),
            )
        }))
        .collect();
    coming.sort();
    if coming.is_empty() {
        body.push_str("- nothing\n");
    }
    let coming = coming
        .iter()
        .map(|(date, line)| format!("{}: {line}", date.date_naive()));
    list(&mut body, coming);
    Message {
        subject,
        body,
        attributes: BTreeMap::from([
            ("function", report.function.to_owned()),
            ("trigger", report.trigger.as_str().to_owned()),
            ("outcome", outcome(report).to_owned()),
        ]),
    }
}

/// Writes one line per item: a list in a message's body.
fn list(body: &mut String, items: impl IntoIterator<Item = impl std::fmt::Display>) {
    for item in items {
        let _ = writeln!(body, "- {item}");
    }
}

/// One message per warned principal, to its owner.
fn warnings(input: &Messages<'_>) -> Vec<Message> {
    let mut by_subject: Vec<(&Subject, Vec<&Due>)> = Vec::new();
    for warned in input.warned {
        match by_subject.iter_mut().find(|(s, _)| *s == &warned.subject) {
            Some((_, list)) => list.push(warned),
            None => by_subject.push((&warned.subject, vec![warned])),
        }
    }
    let function = input.report.function;
    by_subject
        .into_iter()
        .map(|(subject, warned)| {
            let first = warned.iter().map(|w| w.at).min().unwrap_or(input.now);
            let mut body =
                format!("{function} will act on {subject} unless it is fixed first.\n\n");
            let lines = warned.iter().map(|w| {
                let date = w.at.date_naive();
                let (action, target, reason) = (w.action, &w.target, &w.reason);
                format!("On {date}: {action} {target}. Why: {reason}.")
            });
            list(&mut body, lines);
            body.push_str(
                "\nTo avoid it, fix what the reason says before that date (use or replace the \
                 key, sign in with the password, add an MFA device, or remove what is no longer \
                 needed); the action is then not taken and this warning is withdrawn. If it must \
                 stay as it is, ask the account's administrators for an exemption.\n",
            );
            let mut actions: Vec<&str> = warned.iter().map(|w| w.action).collect();
            actions.dedup();
            let mut attributes = BTreeMap::from([
                ("function", function.to_owned()),
                ("principal", subject.name().to_owned()),
                ("action", actions.join(",")),
            ]);
            if let Some(owner) = input.owners.get(subject).filter(|o| !o.is_empty()) {
                attributes.insert("owner", owner.clone());
            }
            Message {
                subject: ascii_subject(&format!(
                    "{function}: {} {} - action on {}",
                    subject.kind(),
                    subject.name(),
                    first.date_naive()
                )),
                body,
                attributes,
            }
        })
        .collect()
}

/// Publishes the run's messages; returns what could not be published, as run errors.
pub async fn publish(sns: &Client, topic: &str, input: &Messages<'_>) -> Vec<String> {
    let mut errors = Vec::new();
    for message in messages(input) {
        let mut request = sns
            .publish()
            .topic_arn(topic)
            .subject(&message.subject)
            .message(&message.body);
        for (name, value) in &message.attributes {
            let value = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build();
            match value {
                Ok(value) => request = request.message_attributes(*name, value),
                Err(e) => {
                    errors.push(Error::Internal(format!("attribute {name}: {e}")).to_string());
                }
            }
        }
        if let Err(error) = call("Publish", request.send()).await {
            errors.push(format!(
                "notification {:?} not published: {error}",
                message.subject
            ));
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intake::TriggerKind;
    use crate::principal::Principal;
    use crate::report::ActionRecord;
    use crate::testing::now;

    fn record(status: Status, subject: Subject) -> ActionRecord {
        ActionRecord {
            principal_type: subject.kind(),
            principal: subject.name().to_owned(),
            action: "deactivate-access-key",
            target: "AKIA1".into(),
            reason: "created 100 days ago (limit 90)".into(),
            status,
            details: None,
            error: None,
            subject,
        }
    }

    fn alice() -> Subject {
        Principal::user("alice").into()
    }

    fn messages_of(report: &Report, warned: &[Due], upcoming: &[Due]) -> Vec<Message> {
        let owners = HashMap::from([(alice(), "alice@example.com".to_owned())]);
        messages(&Messages {
            report,
            warned,
            owners: &owners,
            upcoming,
            now: now(),
        })
    }

    #[test]
    fn nothing_to_say_publishes_nothing() {
        let quiet = Report::new("access-keys", TriggerKind::Schedule, false);
        assert!(messages_of(&quiet, &[], &[]).is_empty());
        let mut dry = Report::new("access-keys", TriggerKind::Schedule, true);
        dry.actions.push(record(Status::Planned, alice()));
        assert!(
            messages_of(&dry, &[], &[]).is_empty(),
            "a dry run that warned nobody"
        );
    }

    #[test]
    fn the_summary_counts_lists_and_forecasts() {
        let mut report = Report::new("access-keys", TriggerKind::Schedule, false);
        report.examined = 3;
        report.actions.push(record(Status::Applied, alice()));
        let upcoming = [Due {
            subject: Principal::user("bob").into(),
            action: "deactivate-access-key",
            target: "AKIA2".into(),
            reason: "created 91 days ago (limit 90)".into(),
            at: now() + Duration::days(5),
        }];
        let sent = messages_of(&report, &[], &upcoming);
        assert_eq!(sent.len(), 1);
        let summary = &sent[0];
        assert_eq!(
            summary.subject,
            "access-keys: 1 applied, 0 warned, 0 skipped, 0 failed"
        );
        assert!(summary.body.contains("- applied: deactivate-access-key AKIA1 of user alice: created 100 days ago (limit 90)"), "{}", summary.body);
        assert!(summary.body.contains("Coming up in the next 7 days:\n- 2026-06-20: deactivate-access-key AKIA2 of user bob"), "{}", summary.body);
        assert_eq!(summary.attributes["outcome"], "ok");
        assert_eq!(summary.attributes["trigger"], "schedule");
    }

    #[test]
    fn warned_principals_get_their_own_message_with_the_owner() {
        let mut report = Report::new("access-keys", TriggerKind::Schedule, false);
        report.actions.push(record(Status::Warned, alice()));
        let warned = [Due {
            subject: alice(),
            action: "deactivate-access-key",
            target: "AKIA1".into(),
            reason: "created 100 days ago (limit 90)".into(),
            at: now() + Duration::days(7),
        }];
        let sent = messages_of(&report, &warned, &[]);
        assert_eq!(sent.len(), 2);
        assert_eq!(sent[0].attributes["outcome"], "warned");
        let personal = &sent[1];
        assert_eq!(personal.attributes["owner"], "alice@example.com");
        assert_eq!(personal.attributes["principal"], "alice");
        assert_eq!(personal.attributes["action"], "deactivate-access-key");
        assert!(
            personal
                .body
                .contains("On 2026-06-22: deactivate-access-key AKIA1"),
            "{}",
            personal.body
        );
        assert!(personal.subject.len() <= MAX_SUBJECT);
    }

    #[test]
    fn failures_and_the_root_user_set_the_outcome_and_subjects_stay_short() {
        let mut report = Report::new(
            "a-function-with-a-very-long-name-that-goes-on-and-on-and-on-and-on",
            TriggerKind::Schedule,
            false,
        );
        report
            .actions
            .push(record(Status::Skipped, Subject::RootUser));
        assert_eq!(outcome(&report), "warned");
        report.errors.push("boom".into());
        assert_eq!(outcome(&report), "failed");
        let sent = messages_of(&report, &[], &[]);
        assert!(sent[0].subject.len() <= MAX_SUBJECT, "{}", sent[0].subject);
    }
}
