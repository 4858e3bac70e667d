//! Notifications (`NOTIFY_TOPIC_ARN`): after a run that applied, skipped, failed or warned
//! anything, one summary message for the people who watch the account; and one message per
//! principal whose owner hears of a warning in this run (its first warning, or its one
//! reminder), with its owner as a message attribute, so an e-mail subscription can filter on it.
//! Message attributes carry what subscription filter policies match on. Every message stays
//! under SNS's size limit: long lists end with "… and N more".

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use aws_sdk_sns::Client;
use aws_sdk_sns::types::MessageAttributeValue;
use chrono::{DateTime, Duration, Utc};
use futures::stream::{self, StreamExt};

use crate::error::{Error, call};
use crate::guard::Notice;
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
    /// The account the run acted in.
    pub account: &'a str,
    /// Every warning standing after the run: the summary's forecast.
    pub warned: &'a [Due],
    /// The warnings whose owners hear of them in this run.
    pub notices: &'a [(Due, Notice)],
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

/// The most one message may hold: "at most 256 KB in size (262,144 bytes, not 262,144
/// characters)", and "all parts of the message attribute, including name, type, and value, are
/// included in the message size restriction" (SNS API Reference, Publish and
/// MessageAttributeValue).
pub const MAX_MESSAGE_BYTES: usize = 262_144;

/// Lines a list of a message shows: a person reads it in a mail client, and the run's report
/// (in the logs) lists every action. The rest is counted: "… and N more".
const MAX_LISTED: usize = 100;

/// The longest line of a list, in bytes (an AWS error message can be long).
const MAX_LINE_BYTES: usize = 600;

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
    messages.into_iter().map(Message::within_limit).collect()
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
        "{}: {} applied, {} warned, {} skipped, {} failed{}",
        report.function,
        report.count(Status::Applied),
        report.count(Status::Warned),
        report.count(Status::Skipped),
        report.count(Status::Failed),
        if report.dry_run { " (dry run)" } else { "" }
    ));
    let mut body = format!(
        "{} ran in account {} ({} trigger{}) and examined {}.\n\n",
        report.function,
        input.account,
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
    if !report.notes.is_empty() {
        body.push_str("\nNotes:\n");
        list(&mut body, &report.notes);
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
            ("account", input.account.to_owned()),
            ("trigger", report.trigger.as_str().to_owned()),
            ("outcome", outcome(report).to_owned()),
        ]),
    }
}

/// Writes one line per item, a list in a message's body: at most [`MAX_LISTED`] lines of at most
/// [`MAX_LINE_BYTES`], then how many more there were.
fn list(body: &mut String, items: impl IntoIterator<Item = impl std::fmt::Display>) {
    let mut more = 0_usize;
    for (index, item) in items.into_iter().enumerate() {
        if index < MAX_LISTED {
            let line = item.to_string();
            let _ = writeln!(body, "- {}", cut(&line, MAX_LINE_BYTES));
        } else {
            more += 1;
        }
    }
    if more > 0 {
        let _ = writeln!(
            body,
            "- … and {more} more (the run's report in the function's log lists every one)"
        );
    }
}

/// `text` cut to at most `max` bytes on a character boundary, ending with `…` when cut.
fn cut(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if text.len() <= max {
        return text.into();
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end]).into()
}

impl Message {
    /// The bytes SNS counts against [`MAX_MESSAGE_BYTES`]: the body and each attribute's name,
    /// type (`String`) and value; the subject too, to be safe.
    pub fn size(&self) -> usize {
        self.subject.len()
            + self.body.len()
            + self
                .attributes
                .iter()
                .map(|(name, value)| name.len() + "String".len() + value.len())
                .sum::<usize>()
    }

    /// The message cut to SNS's limit (the lists are capped already; this is the last guard).
    #[must_use]
    fn within_limit(mut self) -> Self {
        let size = self.size();
        if size > MAX_MESSAGE_BYTES {
            let note = "\n… (cut to SNS's message size limit)\n";
            let keep = self.body.len() - (size - MAX_MESSAGE_BYTES) - note.len();
            self.body = format!("{}{note}", cut(&self.body, keep).trim_end_matches('…'));
        }
        self
    }
}

/// One message per principal whose owner hears of a warning in this run: its first warning, or
/// its one reminder. A dry run's says it is one (and carries the attribute `dry_run`, so a
/// subscription can leave it out).
fn warnings(input: &Messages<'_>) -> Vec<Message> {
    let mut by_subject: Vec<(&Subject, Vec<(&Due, Notice)>)> = Vec::new();
    for (warned, notice) in input.notices {
        match by_subject.iter_mut().find(|(s, _)| *s == &warned.subject) {
            Some((_, list)) => list.push((warned, *notice)),
            None => by_subject.push((&warned.subject, vec![(warned, *notice)])),
        }
    }
    let function = input.report.function;
    let dry_run = input.report.dry_run;
    by_subject
        .into_iter()
        .map(|(subject, warned)| {
            let first = warned.iter().map(|(w, _)| w.at).min().unwrap_or(input.now);
            let reminder = warned.iter().all(|(_, n)| *n == Notice::Reminder);
            let mut body = String::new();
            if dry_run {
                body.push_str(
                    "DRY RUN: nothing was recorded or changed. This is the message a real run \
                     would send.\n\n",
                );
            }
            if reminder {
                body.push_str("Reminder: ");
            }
            let _ = writeln!(
                body,
                "{function} will act on {subject} in account {} unless it is fixed first.\n",
                input.account
            );
            let lines = warned.iter().map(|(w, _)| {
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
            if !reminder && !dry_run {
                let _ = writeln!(
                    body,
                    "You will be reminded once, {} days before the action.",
                    crate::guard::REMINDER_DAYS
                );
            }
            let mut actions: Vec<&str> = warned.iter().map(|(w, _)| w.action).collect();
            actions.dedup();
            let mut attributes = BTreeMap::from([
                ("function", function.to_owned()),
                ("account", input.account.to_owned()),
                ("principal", subject.name().to_owned()),
                ("action", actions.join(",")),
            ]);
            if let Some(owner) = input.owners.get(subject).filter(|o| !o.is_empty()) {
                attributes.insert("owner", owner.clone());
            }
            if dry_run {
                attributes.insert("dry_run", "true".to_owned());
            }
            let label = match (dry_run, reminder) {
                (true, _) => "[dry run] ",
                (false, true) => "Reminder: ",
                (false, false) => "",
            };
            Message {
                subject: ascii_subject(&format!(
                    "{label}{function}: {} {} - action on {}",
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

/// Publishes the run's messages: the summary first, then the owners' up to `limit`
/// (`MAX_CONCURRENCY`) at once; returns what could not be published, as run errors (one,
/// counting them, when several failed).
pub async fn publish(sns: &Client, topic: &str, input: &Messages<'_>, limit: usize) -> Vec<String> {
    let mut messages = messages(input).into_iter();
    let Some(summary) = messages.next() else {
        return Vec::new();
    };
    let total = 1 + messages.len();
    let mut failures: Vec<String> = publish_one(sns, topic, &summary)
        .await
        .err()
        .into_iter()
        .collect();
    failures.extend(
        stream::iter(messages)
            .map(|message| async move { publish_one(sns, topic, &message).await.err() })
            .buffer_unordered(limit.max(1))
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .flatten(),
    );
    match failures.as_slice() {
        [] | [_] => failures,
        [first, ..] => vec![format!(
            "{} of {total} notifications not published; the first: {first}",
            failures.len()
        )],
    }
}

async fn publish_one(sns: &Client, topic: &str, message: &Message) -> Result<(), String> {
    let mut request = sns
        .publish()
        .topic_arn(topic)
        .subject(&message.subject)
        .message(&message.body);
    for (name, value) in &message.attributes {
        let value = MessageAttributeValue::builder()
            .data_type("String")
            .string_value(value)
            .build()
            .map_err(|e| Error::Internal(format!("attribute {name}: {e}")).to_string())?;
        request = request.message_attributes(*name, value);
    }
    call("Publish", request.send())
        .await
        .map(drop)
        .map_err(|error| format!("notification {:?} not published: {error}", message.subject))
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
            account: "123456789012".into(),
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

    /// The messages of a run that warned `warned`, each owner told of it as a first warning.
    fn messages_of(report: &Report, warned: &[Due], upcoming: &[Due]) -> Vec<Message> {
        let notices: Vec<(Due, Notice)> =
            warned.iter().map(|w| (w.clone(), Notice::First)).collect();
        messages_told(report, warned, &notices, upcoming)
    }

    fn messages_told(
        report: &Report,
        warned: &[Due],
        notices: &[(Due, Notice)],
        upcoming: &[Due],
    ) -> Vec<Message> {
        let owners = HashMap::from([(alice(), "alice@example.com".to_owned())]);
        messages(&Messages {
            report,
            account: "123456789012",
            warned,
            notices,
            owners: &owners,
            upcoming,
            now: now(),
        })
    }

    fn due(user: &str, key: &str, days: i64) -> Due {
        Due {
            subject: Principal::user(user).into(),
            action: "deactivate-access-key",
            target: key.into(),
            reason: "created 100 days ago (limit 90)".into(),
            at: now() + Duration::days(days),
        }
    }

    #[test]
    fn owners_are_told_only_of_notices_and_reminders_and_dry_runs_say_so() {
        // (dry run, notices, owner messages, subject says, body says)
        for (dry_run, notice, told, subject_says, body_says) in [
            (false, None, 0, "", ""),
            (
                false,
                Some(Notice::First),
                1,
                "access-keys: user alice - action on 2026-06-29",
                "reminded once",
            ),
            (
                false,
                Some(Notice::Reminder),
                1,
                "Reminder: access-keys: user alice",
                "Reminder: access-keys will act",
            ),
            (
                true,
                Some(Notice::First),
                1,
                "[dry run] access-keys: user alice",
                "DRY RUN: nothing was recorded",
            ),
        ] {
            let mut report = Report::new("access-keys", TriggerKind::Schedule, dry_run);
            report.actions.push(record(Status::Warned, alice()));
            let warned = [due("alice", "AKIA1", 14)];
            let notices: Vec<(Due, Notice)> =
                notice.map(|n| (warned[0].clone(), n)).into_iter().collect();
            let sent = messages_told(&report, &warned, &notices, &[]);
            let owners: Vec<&Message> = sent
                .iter()
                .filter(|m| m.attributes.contains_key("principal"))
                .collect();
            let case = format!("dry run {dry_run}, {notice:?}");
            assert_eq!(owners.len(), told, "{case}: {sent:#?}");
            assert!(
                sent[0].body.contains("AKIA1"),
                "the summary lists every standing warning"
            );
            if dry_run {
                assert!(
                    sent[0].subject.ends_with("(dry run)"),
                    "{}",
                    sent[0].subject
                );
            }
            if let Some(owner) = owners.first() {
                assert!(
                    owner.subject.starts_with(subject_says),
                    "{case}: {}",
                    owner.subject
                );
                assert!(owner.body.contains(body_says), "{case}: {}", owner.body);
                assert_eq!(owner.attributes.contains_key("dry_run"), dry_run, "{case}");
            }
        }
    }

    #[test]
    fn every_message_fits_sns_and_long_lists_say_how_many_more() {
        // (actions, forecast, error bytes, listed lines expected in the actions)
        for (actions, forecast, error_bytes) in [
            (3, 3, 10),
            (100, 0, 10),
            (1_200, 1_200, 10),
            (5_000, 5_000, 100_000),
            (0, 0, 1_000_000),
        ] {
            let mut report = Report::new("access-keys", TriggerKind::Schedule, false);
            for i in 0..actions {
                let mut action = record(
                    Status::Warned,
                    Principal::user(format!("user-{i:05}-{}", "x".repeat(40))).into(),
                );
                action.reason = "é".repeat(300);
                report.actions.push(action);
            }
            report.errors = vec!["e".repeat(error_bytes); 3];
            let warned: Vec<Due> = (0..forecast)
                .map(|i| due(&format!("user-{i}"), "AKIA1", 5))
                .collect();
            let sent = messages_told(&report, &warned, &[], &[]);
            let case =
                format!("{actions} actions, {forecast} warned, errors of {error_bytes} bytes");
            assert!(
                sent[0].size() <= MAX_MESSAGE_BYTES,
                "{case}: {}",
                sent[0].size()
            );
            let listed = sent[0]
                .body
                .lines()
                .filter(|l| l.starts_with("- warned:"))
                .count();
            assert_eq!(listed, actions.min(MAX_LISTED), "{case}");
            if actions > MAX_LISTED {
                let more = format!("- … and {} more", actions - MAX_LISTED);
                assert!(sent[0].body.contains(&more), "{case}");
            }
        }
        let huge = Message {
            subject: "s".into(),
            body: "ü".repeat(MAX_MESSAGE_BYTES),
            attributes: BTreeMap::from([("owner", "o".repeat(256))]),
        }
        .within_limit();
        assert!(huge.size() <= MAX_MESSAGE_BYTES, "{}", huge.size());
        assert!(huge.body.ends_with("(cut to SNS's message size limit)\n"));
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
