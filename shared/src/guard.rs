//! The guard: which planned actions may run, and when.
//!
//! Exemptions (the exempt tag, `true` or a date; `EXEMPT_PRINCIPALS` globs), the identity the
//! function runs as, warnings (`WARN_DAYS`), and `MAX_ACTIONS`. Everything here is a pure
//! function of the plan, the tags read with the facts, the settings and the clock. It fails
//! closed: a principal whose tags could not be read is never acted on by a rule.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};

use crate::config::CommonSettings;
use crate::error::Error;
use crate::plan::{Authority, Due, PlannedAction, Urgency, days};
use crate::principal::{Principal, Subject};
use crate::reads::TagState;
use crate::records::{TagChanges, WarningRecord, warning_key, warning_prefix};
use crate::report::{ActionRecord, Status};

/// How many days before a warning's deadline its owner is reminded, once. With `WARN_DAYS` of
/// this or less the first message already comes this close to the deadline: no reminder.
pub const REMINDER_DAYS: u32 = 2;

/// Whether a subject may be acted on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Protection {
    /// Nothing protects it.
    None,
    /// An exemption that ran out: reported, and no longer protects.
    Lapsed(String),
    /// Exempt: rule-driven actions are skipped with this reason.
    Exempt(String),
    /// Its exemption could not be read: rules fail closed. An exposed key or an operator's
    /// order ignores exemptions, so it needs no tag read and proceeds.
    Unknown(String),
    /// Never acted on, whatever the authority: the identity the function runs as.
    Untouchable(String),
}

/// The subject's protection, from its tags, its name and the function's own identity.
pub fn protection(
    subject: &Subject,
    tags: &TagState,
    settings: &CommonSettings,
    today: NaiveDate,
    caller: Option<&Principal>,
) -> Protection {
    // The account (and its root user) has no name to list; its tags, when its function keeps
    // them (a member account's, in AWS Organizations), exempt it as a principal's do.
    if let Some(principal) = subject.principal() {
        if caller.is_some_and(|caller| caller.is(principal)) {
            return Protection::Untouchable("the function runs as this identity".into());
        }
        if let Some(pattern) = settings.exempt_principals.matching(&principal.name) {
            return Protection::Exempt(format!(
                "exempt: name matches EXEMPT_PRINCIPALS {pattern:?}"
            ));
        }
    }
    let tags = match tags {
        TagState::Known(tags) => tags,
        TagState::Untaggable => return Protection::None,
        TagState::Unreadable(why) => {
            return Protection::Unknown(format!(
                "exemption unknown: tags could not be read ({why}); failing closed"
            ));
        }
    };
    let tag = &settings.exempt_tag;
    let Some(value) = tags.get(tag) else {
        return Protection::None;
    };
    let value = value.trim();
    if value.eq_ignore_ascii_case("true") {
        return Protection::Exempt(format!("exempt: tag {tag}=true"));
    }
    match NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        Ok(until) if until >= today => {
            Protection::Exempt(format!("exempt: tag {tag}={value} (until {until})"))
        }
        Ok(until) => Protection::Lapsed(format!("exemption {tag}={value} lapsed on {until}")),
        // A value we cannot read is treated as an exemption: the owner meant to protect it.
        Err(_) => Protection::Exempt(format!(
            "exempt: tag {tag}={value:?} (not true or YYYY-MM-DD; treated as exempt)"
        )),
    }
}

/// The guard's verdict on one action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// May run; a note (a lapsed or overridden exemption) goes into the report's reason.
    Proceed {
        note: Option<String>,
    },
    Skip(String),
}

/// The verdict for an action of `authority` on a subject with `protection`.
pub fn verdict(authority: Authority, protection: &Protection) -> Verdict {
    match (protection, authority) {
        (Protection::None, _) => Verdict::Proceed { note: None },
        (Protection::Lapsed(note), _) => Verdict::Proceed {
            note: Some(note.clone()),
        },
        (Protection::Exempt(why) | Protection::Unknown(why), Authority::Rule)
        | (Protection::Untouchable(why), _) => Verdict::Skip(why.clone()),
        (Protection::Exempt(why) | Protection::Unknown(why), Authority::Override) => {
            Verdict::Proceed {
                note: Some(format!("{why}, overridden")),
            }
        }
    }
}

/// `function`'s warning record about `target`.
fn warning_record(tags: &TagState, function: &str, target: &str) -> Option<WarningRecord> {
    WarningRecord::parse(tags.known()?.get(&warning_key(function, target))?)
}

/// Why an owner hears of a warning in this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// The warning is recorded now: its deadline is set.
    First,
    /// The one reminder, [`REMINDER_DAYS`] before the deadline.
    Reminder,
}

/// Whether the owner hears of a warning now: when it is first recorded, and once more
/// [`REMINDER_DAYS`] before its deadline; never again (the record says it was reminded, so a
/// retry, a finding's re-check or the next sweep stays quiet).
pub fn notice(
    record: Option<&WarningRecord>,
    warn_days: u32,
    now: DateTime<Utc>,
) -> Option<Notice> {
    let Some(record) = record else {
        return Some(Notice::First);
    };
    let remind_from = record.warned + days(warn_days.saturating_sub(REMINDER_DAYS));
    (record.reminded.is_none() && warn_days > REMINDER_DAYS && now >= remind_from)
        .then_some(Notice::Reminder)
}

/// True when a record that could not be written never will be by retrying: the principal's
/// tag quota is full (`LimitExceeded`) or the function may not tag it (`AccessDenied`). Such a
/// record never holds a due action back.
pub fn unrecordable(error: &Error) -> bool {
    matches!(
        error.aws_code(),
        Some("LimitExceeded" | "AccessDenied" | "AccessDeniedException")
    )
}

/// A warned action: it waits for its deadline.
#[derive(Debug, Clone, PartialEq)]
pub struct Warning<O> {
    pub action: PlannedAction<O>,
    pub deadline: DateTime<Utc>,
    /// Set when its owner hears of it in this run (once its record is written).
    pub notice: Option<Notice>,
}

impl<O> Warning<O> {
    /// The action and its deadline.
    pub fn due(&self) -> Due {
        Due {
            subject: self.action.subject.clone(),
            action: self.action.action,
            target: self.action.target.clone(),
            reason: self.action.reason.clone(),
            at: self.deadline,
        }
    }

    /// Its line in the report: `warned`, the reason giving the date.
    pub fn record(&self) -> ActionRecord {
        let mut record = ActionRecord::from_plan(&self.action, Status::Warned);
        record.reason = format!(
            "on {} unless fixed first: {}",
            self.deadline.date_naive(),
            self.action.reason
        );
        record
    }
}

/// An action the guard lets through.
#[derive(Debug, Clone, PartialEq)]
pub struct Approved<O> {
    pub action: PlannedAction<O>,
    /// Its warning record, to remove once the action is applied.
    pub clears_warning: Option<String>,
}

/// The guard's decisions on a whole plan.
#[derive(Debug)]
pub struct Review<O> {
    /// Actions to apply (none in a dry run).
    pub approved: Vec<Approved<O>>,
    /// Actions decided here: skipped, planned (dry run), or refused.
    pub decided: Vec<ActionRecord>,
    /// Warned actions: reported `warned` once their records are written (a dry run writes
    /// none and reports them as they would be).
    pub warned: Vec<Warning<O>>,
    /// Warning records to write (first warnings, reminders) and stale ones to remove, per
    /// subject (a principal, or an account whose tags its function keeps).
    pub warnings: HashMap<Subject, TagChanges>,
    /// Set when the plan is over `MAX_ACTIONS`: nothing may be applied nor recorded.
    pub refused: Option<Error>,
}

/// What the guard knows of one subject.
#[derive(Debug, Clone, Copy)]
pub struct Known<'a> {
    pub tags: &'a TagState,
    /// True when the rule judged everything of the subject, so a warning for a target it did not
    /// plan is stale (the principal was fixed). False for a run about one key of a user.
    pub judged_whole: bool,
}

/// Reviews a whole plan: exemptions, warnings, `MAX_ACTIONS` (changes and first warnings: each
/// sets a deadline), dry run.
#[allow(
    clippy::too_many_lines,
    reason = "one decision table, read top to bottom"
)]
pub fn review<O, S: std::hash::BuildHasher>(
    function: &str,
    planned: Vec<PlannedAction<O>>,
    subjects: &HashMap<Subject, Known<'_>, S>,
    settings: &CommonSettings,
    caller: Option<&Principal>,
    now: DateTime<Utc>,
    dry_run: bool,
) -> Review<O> {
    let warn_days = days(settings.warn_days);
    let mut review = Review {
        approved: Vec::new(),
        decided: Vec::new(),
        warned: Vec::new(),
        warnings: HashMap::new(),
        refused: None,
    };
    let untaggable = TagState::Untaggable;
    let known = |subject: &Subject| {
        subjects.get(subject).copied().unwrap_or(Known {
            tags: &untaggable,
            judged_whole: false,
        })
    };
    // Warning records still wanted after this run, per subject.
    let mut kept: HashMap<Subject, Vec<String>> = HashMap::new();
    for mut action in planned {
        let subject = known(&action.subject);
        let protection = protection(
            &action.subject,
            subject.tags,
            settings,
            now.date_naive(),
            caller,
        );
        let verdict = match &action.blocked {
            Some(why) => Verdict::Skip(why.clone()),
            None => verdict(action.authority, &protection),
        };
        let note = match verdict {
            Verdict::Skip(why) => {
                review.decided.push(
                    ActionRecord::from_plan(&action, Status::Skipped)
                        .because(Status::Skipped, &why),
                );
                continue;
            }
            Verdict::Proceed { note } => note,
        };
        if let Some(note) = note {
            action.reason = format!("{}; {note}", action.reason);
        }
        let warnable = settings.warn_days > 0
            && action.urgency == Urgency::WarnFirst
            && action.authority == Authority::Rule
            && matches!(subject.tags, TagState::Known(_));
        // Only a subject whose tags were read can hold a warning (a user, an account in AWS
        // Organizations); the others are acted on at once.
        let Some(principal) = warnable.then(|| action.subject.clone()) else {
            review.approved.push(Approved {
                action,
                clears_warning: None,
            });
            continue;
        };
        let key = warning_key(function, &action.target);
        let record = warning_record(subject.tags, function, &action.target);
        match &record {
            Some(record) if now - record.warned >= warn_days => {
                action.reason = format!(
                    "{}; warned on {}",
                    action.reason,
                    record.warned.date_naive()
                );
                kept.entry(principal).or_default().push(key.clone());
                review.approved.push(Approved {
                    action,
                    clears_warning: Some(key),
                });
            }
            _ => {
                let notice = notice(record.as_ref(), settings.warn_days, now);
                let written = match (notice, record) {
                    (Some(Notice::First), _) => Some(WarningRecord {
                        action: action.action.to_owned(),
                        warned: now,
                        reminded: None,
                    }),
                    (Some(Notice::Reminder), Some(record)) => Some(WarningRecord {
                        reminded: Some(now),
                        ..record
                    }),
                    (_, record) => record,
                };
                let warned = written.as_ref().map_or(now, |r| r.warned);
                if notice.is_some()
                    && let Some(written) = &written
                {
                    review
                        .warnings
                        .entry(principal.clone())
                        .or_default()
                        .set
                        .push((key.clone(), written.value()));
                }
                kept.entry(principal).or_default().push(key);
                review.warned.push(Warning {
                    action,
                    deadline: warned + warn_days,
                    notice,
                });
            }
        }
    }
    // A warning whose target is no longer due (used again, rotated, deleted, exempt by now) is
    // stale: the principal was fixed before the deadline, and loses its warning.
    let prefix = warning_prefix(function);
    for (subject, known) in subjects {
        let Some(tags) = known.tags.known() else {
            continue;
        };
        let principal = subject;
        if !known.judged_whole {
            continue;
        }
        for warning in tags.with_prefix(&prefix) {
            let wanted = kept
                .get(principal)
                .is_some_and(|keys| keys.iter().any(|k| k.eq_ignore_ascii_case(warning.key)));
            if !wanted {
                review
                    .warnings
                    .entry(principal.clone())
                    .or_default()
                    .remove
                    .push(warning.key.to_owned());
            }
        }
    }
    // Each change, and each warning recorded now (a deadline set), counts.
    let planned = review.approved.len()
        + review
            .warned
            .iter()
            .filter(|w| w.notice == Some(Notice::First))
            .count();
    if planned > settings.max_actions {
        let refusal = Error::TooManyActions {
            planned,
            limit: settings.max_actions,
        };
        let why = refusal.to_string();
        let skipped = |action: &PlannedAction<O>| {
            ActionRecord::from_plan(action, Status::Skipped).because(Status::Skipped, &why)
        };
        for approved in review.approved.drain(..) {
            review.decided.push(skipped(&approved.action));
        }
        // Warnings recorded before stand as they are; new ones are not set, nobody is told.
        let (new, standing): (Vec<_>, Vec<_>) = review
            .warned
            .drain(..)
            .partition(|w| w.notice == Some(Notice::First));
        review
            .decided
            .extend(new.iter().map(|w| skipped(&w.action)));
        review.warned = standing
            .into_iter()
            .map(|w| Warning { notice: None, ..w })
            .collect();
        review.refused = Some(refusal);
        review.warnings.clear();
    } else if dry_run {
        for approved in review.approved.drain(..) {
            review
                .decided
                .push(ActionRecord::from_plan(&approved.action, Status::Planned));
        }
        review.warnings.clear();
    }
    review
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, SecondsFormat};

    use super::*;
    use crate::config::{Env, ExemptNames, FromEnv};
    use crate::reads::Tags;
    use crate::records::warning_due;
    use crate::testing::now;

    fn settings(pairs: &[(&str, &str)]) -> CommonSettings {
        CommonSettings {
            exempt_principals: ExemptNames::new(vec!["breakglass-*".into()]).unwrap(),
            ..CommonSettings::from_env(&Env::from_pairs(pairs.iter().copied())).unwrap()
        }
    }

    fn today() -> NaiveDate {
        now().date_naive()
    }

    fn tags(pairs: &[(&str, &str)]) -> TagState {
        TagState::Known(Tags::new(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        ))
    }

    fn alice() -> Subject {
        Principal::user("alice").into()
    }

    fn protection_of(subject: &Subject, state: &TagState) -> Protection {
        protection(subject, state, &settings(&[]), today(), None)
    }

    #[test]
    fn tag_true_and_future_dates_exempt_regardless_of_case() {
        for value in ["true", "TRUE", "2026-06-15", "2027-01-01", "yes please"] {
            let state = tags(&[("iam-remediation:exempt", value), ("team", "x")]);
            assert!(
                matches!(protection_of(&alice(), &state), Protection::Exempt(_)),
                "{value}"
            );
        }
        let shouted = tags(&[("IAM-Remediation:Exempt", "true")]);
        assert!(matches!(
            protection_of(&alice(), &shouted),
            Protection::Exempt(_)
        ));
    }

    #[test]
    fn past_dates_lapse() {
        assert_eq!(
            protection_of(&alice(), &tags(&[("iam-remediation:exempt", "2026-06-14")])),
            Protection::Lapsed(
                "exemption iam-remediation:exempt=2026-06-14 lapsed on 2026-06-14".into()
            )
        );
    }

    #[test]
    fn names_identity_unreadable_tags_and_the_account() {
        let breakglass: Subject = Principal::user("BreakGlass-1").into();
        assert!(matches!(
            protection_of(&breakglass, &tags(&[])),
            Protection::Exempt(_)
        ));
        assert!(matches!(
            protection_of(&alice(), &TagState::Unreadable("AccessDenied".into())),
            Protection::Unknown(_)
        ));
        let me = Principal::role("access-keys-role");
        assert!(matches!(
            protection(
                &Principal::role("Access-Keys-Role").into(),
                &tags(&[]),
                &settings(&[]),
                today(),
                Some(&me)
            ),
            Protection::Untouchable(_)
        ));
        assert_eq!(protection_of(&alice(), &tags(&[])), Protection::None);
        assert_eq!(
            protection_of(&alice(), &tags(&[("exempt", "true")])),
            Protection::None,
            "other tags do not count"
        );
        assert_eq!(
            protection_of(&Subject::Account, &TagState::Untaggable),
            Protection::None
        );
    }

    #[test]
    fn verdicts() {
        use Authority::{Override, Rule};
        let exempt = Protection::Exempt("exempt".into());
        let unknown = Protection::Unknown("unknown".into());
        let untouchable = Protection::Untouchable("self".into());
        let lapsed = Protection::Lapsed("lapsed".into());
        for (authority, protection, proceeds) in [
            (Rule, &Protection::None, true),
            (Override, &Protection::None, true),
            (Rule, &lapsed, true),
            (Override, &lapsed, true),
            (Rule, &exempt, false),
            (Override, &exempt, true),
            (Rule, &unknown, false),
            (Override, &unknown, true),
            (Rule, &untouchable, false),
            (Override, &untouchable, false),
        ] {
            assert_eq!(
                matches!(verdict(authority, protection), Verdict::Proceed { .. }),
                proceeds,
                "{authority:?} {protection:?}"
            );
        }
    }

    fn deactivate(target: &str) -> PlannedAction<()> {
        PlannedAction::new(
            Principal::user("alice"),
            "deactivate-access-key",
            target,
            "created 100 days ago (limit 90)",
            (),
        )
        .warning_first()
    }

    fn run(
        planned: Vec<PlannedAction<()>>,
        state: &TagState,
        pairs: &[(&str, &str)],
        dry_run: bool,
    ) -> Review<()> {
        let subjects = HashMap::from([(
            alice(),
            Known {
                tags: state,
                judged_whole: true,
            },
        )]);
        review(
            "access-keys",
            planned,
            &subjects,
            &settings(pairs),
            None,
            now(),
            dry_run,
        )
    }

    #[test]
    fn without_warn_days_actions_proceed_at_once() {
        let review = run(vec![deactivate("AKIA1")], &tags(&[]), &[], false);
        assert_eq!(review.approved.len(), 1);
        assert!(review.decided.is_empty() && review.warnings.is_empty());
    }

    #[test]
    fn a_first_warning_is_recorded_and_the_action_waits() {
        let review = run(
            vec![deactivate("AKIA1")],
            &tags(&[]),
            &[("WARN_DAYS", "7")],
            false,
        );
        assert!(review.approved.is_empty() && review.decided.is_empty());
        let record = review.warned[0].record();
        assert_eq!(record.status, Status::Warned);
        assert!(
            record
                .reason
                .starts_with("on 2026-06-22 unless fixed first: "),
            "{}",
            record.reason
        );
        assert_eq!(review.warned[0].notice, Some(Notice::First));
        let changes = &review.warnings[&Subject::from(Principal::user("alice"))];
        assert_eq!(
            changes.set,
            [(
                "iam-remediation:warned:access-keys:AKIA1".to_owned(),
                "deactivate-access-key 2026-06-15T12:00:00Z".to_owned()
            )]
        );
        assert_eq!(
            review.warned[0].due().at.date_naive().to_string(),
            "2026-06-22"
        );
    }

    #[test]
    fn the_action_happens_once_the_warning_is_old_enough() {
        let warned = |days: i64| {
            let at = (now() - Duration::days(days)).to_rfc3339_opts(SecondsFormat::Secs, true);
            tags(&[(
                "iam-remediation:warned:access-keys:AKIA1",
                &format!("deactivate-access-key {at}"),
            )])
        };
        let early = run(
            vec![deactivate("AKIA1")],
            &warned(3),
            &[("WARN_DAYS", "7")],
            false,
        );
        assert!(early.approved.is_empty());
        assert!(
            early.warned[0].record().reason.contains("on 2026-06-19"),
            "{:?}",
            early.warned
        );
        assert_eq!(early.warned[0].notice, None, "the owner knows already");
        assert!(early.warnings.is_empty(), "the record stays as it is");

        let due = run(
            vec![deactivate("AKIA1")],
            &warned(7),
            &[("WARN_DAYS", "7")],
            false,
        );
        assert_eq!(due.approved.len(), 1);
        assert_eq!(
            due.approved[0].clears_warning.as_deref(),
            Some("iam-remediation:warned:access-keys:AKIA1")
        );
        assert!(
            due.approved[0]
                .action
                .reason
                .ends_with("warned on 2026-06-08")
        );
    }

    #[test]
    fn a_fixed_principal_loses_its_warning_and_urgent_actions_never_wait() {
        let state = tags(&[
            (
                "iam-remediation:warned:access-keys:AKIA1",
                "deactivate-access-key 2026-06-14T00:00:00Z",
            ),
            (
                "iam-remediation:warned:console-passwords:login-profile",
                "delete-login-profile 2026-06-14T00:00:00Z",
            ),
        ]);
        let fixed = run(Vec::new(), &state, &[("WARN_DAYS", "7")], false);
        assert_eq!(
            fixed.warnings[&Subject::from(Principal::user("alice"))].remove,
            ["iam-remediation:warned:access-keys:AKIA1"],
            "another function's warning is its own to withdraw"
        );
        let exposed = deactivate("AKIA2").overriding_exemptions();
        let review = run(vec![exposed], &state, &[("WARN_DAYS", "7")], false);
        assert_eq!(review.approved.len(), 1, "an override is never delayed");
        let mut delete = deactivate("AKIA3");
        delete.urgency = Urgency::Now;
        assert_eq!(
            run(vec![delete], &tags(&[]), &[("WARN_DAYS", "7")], false)
                .approved
                .len(),
            1
        );
    }

    #[test]
    fn a_warning_due_makes_its_principal_a_sweep_candidate() {
        let warned = |key: &str, days: i64| {
            let at = (now() - Duration::days(days)).to_rfc3339_opts(SecondsFormat::Secs, true);
            Tags::new(vec![(
                key.to_owned(),
                format!("deactivate-access-key {at}"),
            )])
        };
        let ours = "iam-remediation:warned:access-keys:AKIA9";
        assert!(!warning_due(&warned(ours, 3), "access-keys", 7, now()));
        assert!(
            warning_due(&warned(ours, 7), "access-keys", 7, now()),
            "the deadline came"
        );
        assert!(
            warning_due(
                &warned(ours, 3),
                "access-keys",
                7,
                now() + Duration::days(4)
            ),
            "due within the forecast"
        );
        let theirs = "iam-remediation:warned:console-passwords:login-profile";
        assert!(
            !warning_due(&warned(theirs, 30), "access-keys", 7, now()),
            "another function's warning is not ours to act on"
        );
    }

    fn warned_days_ago(days: i64, reminded: bool) -> String {
        let at =
            |days: i64| (now() - Duration::days(days)).to_rfc3339_opts(SecondsFormat::Secs, true);
        if reminded {
            format!("deactivate-access-key reminded {} {}", at(1), at(days))
        } else {
            format!("deactivate-access-key {}", at(days))
        }
    }

    #[test]
    fn max_actions_counts_changes_and_new_warnings_and_refuses_everything() {
        let key = |i: usize| format!("iam-remediation:warned:access-keys:AKIA{i}");
        // (warning records already there: (days ago, reminded), WARN_DAYS, MAX_ACTIONS, refused)
        for (standing, warn_days, limit, refused) in [
            (vec![], "7", "3", false),
            (vec![], "7", "2", true),
            (vec![], "0", "2", true),
            // Standing warnings set no new deadline, a reminder neither.
            (vec![(1, false), (6, false), (3, true)], "7", "1", false),
            (vec![(1, false), (2, false)], "7", "1", false),
            (vec![(1, false)], "7", "1", true),
            // Two due now, one new warning.
            (vec![(8, false), (9, true)], "7", "2", true),
            (vec![(8, false), (9, true)], "7", "3", false),
        ] {
            let pairs: Vec<(String, String)> = standing
                .iter()
                .enumerate()
                .map(|(i, (days, reminded))| (key(i), warned_days_ago(*days, *reminded)))
                .collect();
            let pairs: Vec<(&str, &str)> = pairs
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let many: Vec<_> = (0..3).map(|i| deactivate(&format!("AKIA{i}"))).collect();
            let review = run(
                many,
                &tags(&pairs),
                &[("WARN_DAYS", warn_days), ("MAX_ACTIONS", limit)],
                false,
            );
            let case = format!("{standing:?} WARN_DAYS={warn_days} MAX_ACTIONS={limit}");
            assert_eq!(review.refused.is_some(), refused, "{case}: {review:#?}");
            if refused {
                let err = review.refused.unwrap().to_string();
                assert!(err.contains(&format!("MAX_ACTIONS={limit}")), "{err}");
                assert!(review.approved.is_empty(), "{case}");
                assert!(review.warnings.is_empty(), "{case}: nothing recorded");
                assert!(
                    review.warned.iter().all(|w| w.notice.is_none()),
                    "{case}: nobody told"
                );
                assert!(review.decided.iter().all(|a| a.status == Status::Skipped));
            }
        }
    }

    #[test]
    fn warning_records_round_trip_and_keep_the_warning_time_last() {
        let warned = "2026-06-01T08:00:00Z";
        for (value, reminded) in [
            (format!("deactivate-access-key {warned}"), None),
            (
                format!("delete-login-profile reminded 2026-06-06T09:00:00Z {warned}"),
                Some("2026-06-06T09:00:00Z"),
            ),
        ] {
            let record = WarningRecord::parse(&value).unwrap();
            assert_eq!(record.value(), value);
            assert_eq!(
                record.warned.to_rfc3339_opts(SecondsFormat::Secs, true),
                warned
            );
            assert_eq!(
                record
                    .reminded
                    .map(|r| r.to_rfc3339_opts(SecondsFormat::Secs, true)),
                reminded.map(str::to_owned)
            );
            let (_, last) = value.rsplit_once(' ').unwrap();
            assert_eq!(last, warned, "older readers take the last word");
        }
        for bad in [
            "",
            "deactivate-access-key",
            "x y z",
            "a reminded soon 2026-06-01T08:00:00Z",
        ] {
            assert_eq!(WarningRecord::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn owners_hear_of_a_warning_when_recorded_and_once_more_before_the_deadline() {
        let record = |days: i64, reminded: bool| {
            WarningRecord::parse(&warned_days_ago(days, reminded)).unwrap()
        };
        // (record: (days ago, reminded), WARN_DAYS, notice)
        for (record, warn_days, expected) in [
            (None, 14, Some(Notice::First)),
            (None, 1, Some(Notice::First)),
            (Some(record(0, false)), 14, None),
            (Some(record(11, false)), 14, None),
            (Some(record(12, false)), 14, Some(Notice::Reminder)),
            (Some(record(13, false)), 14, Some(Notice::Reminder)),
            (Some(record(12, true)), 14, None),
            (Some(record(13, true)), 14, None),
            (Some(record(1, false)), 3, Some(Notice::Reminder)),
            // Two days or less: the first message already came that close.
            (Some(record(1, false)), 2, None),
            (Some(record(0, false)), 1, None),
        ] {
            assert_eq!(
                notice(record.as_ref(), warn_days, now()),
                expected,
                "{record:?} WARN_DAYS={warn_days}"
            );
        }
    }

    #[test]
    fn a_reminder_is_recorded_in_the_warning_itself() {
        let key = "iam-remediation:warned:access-keys:AKIA1";
        let value = warned_days_ago(12, false);
        let review = run(
            vec![deactivate("AKIA1")],
            &tags(&[(key, &value)]),
            &[("WARN_DAYS", "14")],
            false,
        );
        assert_eq!(review.warned[0].notice, Some(Notice::Reminder));
        let (written_key, written) =
            &review.warnings[&Subject::from(Principal::user("alice"))].set[0];
        assert_eq!(written_key, key);
        let written = WarningRecord::parse(written).unwrap();
        assert_eq!(written.reminded, Some(now()));
        assert_eq!(
            Some(written.warned),
            WarningRecord::parse(&value).map(|r| r.warned)
        );
    }

    #[test]
    fn only_a_full_quota_or_a_denial_makes_a_record_unrecordable() {
        let aws = |code: &str| Error::Aws {
            operation: "TagUser",
            code: code.into(),
            message: String::new(),
        };
        for (error, expected) in [
            (aws("LimitExceeded"), true),
            (aws("AccessDenied"), true),
            (aws("AccessDeniedException"), true),
            (aws("Throttling"), false),
            (aws("ServiceFailure"), false),
            (aws("RequestFailed"), false),
            (Error::Internal("x".into()), false),
        ] {
            assert_eq!(unrecordable(&error), expected, "{error}");
        }
    }

    #[test]
    fn a_dry_run_plans_and_records_no_warning() {
        let dry = run(vec![deactivate("AKIA1")], &tags(&[]), &[], true);
        assert!(dry.approved.is_empty());
        assert_eq!(dry.decided[0].status, Status::Planned);
        let warned = run(
            vec![deactivate("AKIA1")],
            &tags(&[]),
            &[("WARN_DAYS", "7")],
            true,
        );
        assert_eq!(warned.warned[0].record().status, Status::Warned);
        assert_eq!(
            warned.warned[0].notice,
            Some(Notice::First),
            "its owner hears what a real run would say"
        );
        assert!(warned.warnings.is_empty(), "a dry run writes nothing");
    }
}
