//! The guard: which planned actions may run, and when.
//!
//! Exemptions (the exempt tag, `true` or a date; `EXEMPT_PRINCIPALS` globs), the identity the
//! function runs as, warnings (`WARN_DAYS`), and `MAX_ACTIONS`. Everything here is a pure
//! function of the plan, the tags read with the facts, the settings and the clock. It fails
//! closed: a principal whose tags could not be read is never acted on by a rule.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};

use crate::config::CommonSettings;
use crate::error::Error;
use crate::plan::{Authority, Due, PlannedAction, Urgency, days};
use crate::principal::{Principal, Subject};
use crate::reads::TagState;
use crate::report::{ActionRecord, Status};

/// Tag key prefix of warning records: `iam-remediation:warned:<function>:<target>` holds
/// `<action> <time warned>`, so the next run knows the deadline without a database. The function
/// is part of the key: each function withdraws only its own warnings.
pub const WARNING_PREFIX: &str = "iam-remediation:warned:";

/// The prefix of `function`'s warning records.
pub fn warning_prefix(function: &str) -> String {
    format!("{WARNING_PREFIX}{function}:")
}

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
    let Some(principal) = subject.principal() else {
        // The account has no tags and no name to list; the root user cannot be acted on.
        return Protection::None;
    };
    if caller.is_some_and(|caller| caller.is(principal)) {
        return Protection::Untouchable("the function runs as this identity".into());
    }
    if let Some(pattern) = settings.exempt_principals.matching(&principal.name) {
        return Protection::Exempt(format!(
            "exempt: name matches EXEMPT_PRINCIPALS {pattern:?}"
        ));
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

/// The tag key of `function`'s warning record for `target`.
pub fn warning_key(function: &str, target: &str) -> String {
    format!("{}{target}", warning_prefix(function))
}

fn warning_value(action: &str, at: DateTime<Utc>) -> String {
    format!("{action} {}", at.to_rfc3339_opts(SecondsFormat::Secs, true))
}

/// True when `tags` hold a warning whose deadline falls by `until`: a sweep reads that principal
/// live, to act on it or to withdraw the warning.
pub fn warning_due(
    tags: &crate::reads::Tags,
    function: &str,
    warn_days: u32,
    until: DateTime<Utc>,
) -> bool {
    let prefix = warning_prefix(function);
    tags.with_prefix(&prefix).any(|warning| {
        warning
            .value
            .rsplit_once(' ')
            .and_then(|(_, at)| DateTime::parse_from_rfc3339(at).ok())
            .is_none_or(|at| at.with_timezone(&Utc) + days(warn_days) <= until)
    })
}

/// When `function` warned about `target`, from its warning record.
fn warned_at(tags: &TagState, function: &str, target: &str) -> Option<DateTime<Utc>> {
    let value = tags.known()?.get(&warning_key(function, target))?;
    let (_, at) = value.rsplit_once(' ')?;
    DateTime::parse_from_rfc3339(at)
        .ok()
        .map(|at| at.with_timezone(&Utc))
}

/// An action the guard lets through.
#[derive(Debug, Clone, PartialEq)]
pub struct Approved<O> {
    pub action: PlannedAction<O>,
    /// Its warning record, to remove once the action is applied.
    pub clears_warning: Option<String>,
}

/// Bookkeeping tags of one principal: written before the changes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TagChanges {
    pub set: Vec<(String, String)>,
    pub remove: Vec<String>,
}

impl TagChanges {
    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.remove.is_empty()
    }
}

/// The guard's decisions on a whole plan.
#[derive(Debug)]
pub struct Review<O> {
    /// Actions to apply (none in a dry run).
    pub approved: Vec<Approved<O>>,
    /// Actions decided here: skipped, warned, planned (dry run), or refused.
    pub decided: Vec<ActionRecord>,
    pub warned: Vec<Due>,
    /// Warning records to write and stale ones to remove, per principal.
    pub warnings: HashMap<Principal, TagChanges>,
    /// Set when the plan is over `MAX_ACTIONS`: nothing may be applied.
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

/// Reviews a whole plan: exemptions, warnings, `MAX_ACTIONS`, dry run.
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
    // Warning records still wanted after this run, per principal.
    let mut kept: HashMap<Principal, Vec<String>> = HashMap::new();
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
        let principal = action.subject.principal().filter(|_| warnable).cloned();
        let Some(principal) = principal else {
            review.approved.push(Approved {
                action,
                clears_warning: None,
            });
            continue;
        };
        let key = warning_key(function, &action.target);
        match warned_at(subject.tags, function, &action.target) {
            Some(at) if now - at >= warn_days => {
                action.reason = format!("{}; warned on {}", action.reason, at.date_naive());
                kept.entry(principal).or_default().push(key.clone());
                review.approved.push(Approved {
                    action,
                    clears_warning: Some(key),
                });
            }
            warned => {
                let deadline = warned.unwrap_or(now) + warn_days;
                if warned.is_none() {
                    review
                        .warnings
                        .entry(principal.clone())
                        .or_default()
                        .set
                        .push((key.clone(), warning_value(action.action, now)));
                }
                kept.entry(principal).or_default().push(key);
                let when = format!("on {} unless fixed first", deadline.date_naive());
                review.warned.push(Due {
                    subject: action.subject.clone(),
                    action: action.action,
                    target: action.target.clone(),
                    reason: action.reason.clone(),
                    at: deadline,
                });
                let mut record = ActionRecord::from_plan(&action, Status::Warned);
                record.reason = format!("{when}: {}", action.reason);
                review.decided.push(record);
            }
        }
    }
    // A warning whose target is no longer due (used again, rotated, deleted, exempt by now) is
    // stale: the principal was fixed before the deadline, and loses its warning.
    let prefix = warning_prefix(function);
    for (subject, known) in subjects {
        let (Some(principal), Some(tags)) = (subject.principal(), known.tags.known()) else {
            continue;
        };
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
    if review.approved.len() > settings.max_actions {
        let refusal = Error::TooManyActions {
            planned: review.approved.len(),
            limit: settings.max_actions,
        };
        let why = refusal.to_string();
        for approved in review.approved.drain(..) {
            review.decided.push(
                ActionRecord::from_plan(&approved.action, Status::Skipped)
                    .because(Status::Skipped, &why),
            );
        }
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
    use chrono::Duration;

    use super::*;
    use crate::config::{Env, ExemptNames, FromEnv};
    use crate::reads::Tags;
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
        assert!(review.approved.is_empty());
        assert_eq!(review.decided[0].status, Status::Warned);
        assert!(
            review.decided[0]
                .reason
                .starts_with("on 2026-06-22 unless fixed first: "),
            "{}",
            review.decided[0].reason
        );
        let changes = &review.warnings[&Principal::user("alice")];
        assert_eq!(
            changes.set,
            [(
                "iam-remediation:warned:access-keys:AKIA1".to_owned(),
                "deactivate-access-key 2026-06-15T12:00:00Z".to_owned()
            )]
        );
        assert_eq!(review.warned[0].at.date_naive().to_string(), "2026-06-22");
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
            early.decided[0].reason.contains("on 2026-06-19"),
            "{:?}",
            early.decided
        );
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
            fixed.warnings[&Principal::user("alice")].remove,
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

    #[test]
    fn max_actions_counts_actions_not_warnings_and_refuses_everything() {
        let many: Vec<_> = (0..3).map(|i| deactivate(&format!("AKIA{i}"))).collect();
        let warned = run(
            many.clone(),
            &tags(&[]),
            &[("WARN_DAYS", "7"), ("MAX_ACTIONS", "2")],
            false,
        );
        assert!(warned.refused.is_none(), "three warnings are no action");
        let refused = run(many, &tags(&[]), &[("MAX_ACTIONS", "2")], false);
        let err = refused.refused.unwrap().to_string();
        assert!(err.contains('3') && err.contains('2'), "{err}");
        assert!(refused.approved.is_empty());
        assert!(refused.decided.iter().all(|a| a.status == Status::Skipped));
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
        assert_eq!(warned.decided[0].status, Status::Warned);
        assert!(warned.warnings.is_empty(), "a dry run writes nothing");
    }
}
