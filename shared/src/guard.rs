//! The guard: which planned actions may run.
//!
//! Exemptions (the exempt tag, `true` or a date; `EXEMPT_PRINCIPALS` globs), the identity the
//! function runs as, and `MAX_ACTIONS`. Everything here is a pure function; it fails closed: a
//! principal whose tags could not be read is protected, never acted on.

use chrono::NaiveDate;

use crate::config::CommonSettings;
use crate::plan::{Authority, PlannedAction};
use crate::principal::Principal;

/// Whether a principal may be acted on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Protection {
    /// Nothing protects it.
    None,
    /// An exemption that ran out: reported, and no longer protects.
    Lapsed(String),
    /// Exempt: rule-driven actions are skipped with this reason.
    Exempt(String),
    /// Never acted on, whatever the authority (the function's own identity, unreadable tags).
    Untouchable(String),
}

/// The principal's exemption, from its tags (`Err` when they could not be read) and its name.
pub fn protection(
    principal: &Principal,
    tags: Result<&[(String, String)], &str>,
    settings: &CommonSettings,
    today: NaiveDate,
) -> Protection {
    if let Some(pattern) = settings.exempt_principals.matching(&principal.name) {
        return Protection::Exempt(format!(
            "exempt: name matches EXEMPT_PRINCIPALS {pattern:?}"
        ));
    }
    let tags = match tags {
        Ok(tags) => tags,
        Err(why) => {
            return Protection::Untouchable(format!(
                "exemption unknown: tags could not be read ({why}); failing closed"
            ));
        }
    };
    let Some((_, value)) = tags.iter().find(|(key, _)| *key == settings.exempt_tag) else {
        return Protection::None;
    };
    let tag = &settings.exempt_tag;
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
    /// May run; a note (a lapsed exemption) goes into the report's reason.
    Proceed {
        note: Option<String>,
    },
    Skip(String),
}

/// The verdict for one planned action given its principal's protection.
pub fn verdict<O>(action: &PlannedAction<O>, protection: &Protection) -> Verdict {
    match (protection, action.authority) {
        (Protection::None, _) => Verdict::Proceed { note: None },
        (Protection::Lapsed(note), _) => Verdict::Proceed {
            note: Some(note.clone()),
        },
        (Protection::Exempt(why), Authority::Rule) | (Protection::Untouchable(why), _) => {
            Verdict::Skip(why.clone())
        }
        (Protection::Exempt(why), Authority::Override) => Verdict::Proceed {
            note: Some(format!("{why}, overridden")),
        },
    }
}

/// The protections of the principals a run looked at (from their tags, `Err` when the tags could
/// not be read), plus the function's own identity, which is never touched. The identity is read
/// (once per container) only when something is planned.
pub async fn protections<'a>(
    clients: &crate::Clients,
    principals: impl IntoIterator<Item = (&'a Principal, Result<&'a [(String, String)], &'a str>)>,
    settings: &CommonSettings,
    today: NaiveDate,
    anything_planned: bool,
) -> Result<std::collections::HashMap<Principal, Protection>, crate::Error> {
    let mut protections: std::collections::HashMap<Principal, Protection> = principals
        .into_iter()
        .map(|(principal, tags)| {
            (
                principal.clone(),
                protection(principal, tags, settings, today),
            )
        })
        .collect();
    if anything_planned && let Some(caller) = clients.caller().await? {
        protections.insert(
            caller.clone(),
            Protection::Untouchable("the function runs as this identity".into()),
        );
    }
    Ok(protections)
}

/// `Err` when more changes are planned than `MAX_ACTIONS` allows.
pub fn check_max_actions(planned: usize, limit: usize) -> Result<(), crate::Error> {
    if planned > limit {
        Err(crate::Error::TooManyActions { planned, limit })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Env, ExemptNames};
    use crate::plan::ActionKind;

    fn settings() -> CommonSettings {
        CommonSettings {
            exempt_principals: ExemptNames::new(vec!["breakglass-*".into()]).unwrap(),
            ..CommonSettings::from_env(&Env::from_pairs::<&str, &str>([])).unwrap()
        }
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 6, 15).unwrap()
    }

    fn tags(value: &str) -> Vec<(String, String)> {
        vec![
            ("iam-remediation:exempt".into(), value.into()),
            ("team".into(), "x".into()),
        ]
    }

    #[test]
    fn tag_true_and_future_dates_exempt() {
        let alice = Principal::user("alice");
        assert!(matches!(
            protection(&alice, Ok(&tags("true")), &settings(), today()),
            Protection::Exempt(_)
        ));
        assert!(matches!(
            protection(&alice, Ok(&tags("TRUE")), &settings(), today()),
            Protection::Exempt(_)
        ));
        assert!(matches!(
            protection(&alice, Ok(&tags("2026-06-15")), &settings(), today()),
            Protection::Exempt(_)
        ));
        assert!(matches!(
            protection(&alice, Ok(&tags("2027-01-01")), &settings(), today()),
            Protection::Exempt(_)
        ));
    }

    #[test]
    fn past_dates_lapse() {
        let alice = Principal::user("alice");
        assert_eq!(
            protection(&alice, Ok(&tags("2026-06-14")), &settings(), today()),
            Protection::Lapsed(
                "exemption iam-remediation:exempt=2026-06-14 lapsed on 2026-06-14".into()
            )
        );
    }

    #[test]
    fn unreadable_values_and_unreadable_tags_protect() {
        let alice = Principal::user("alice");
        assert!(matches!(
            protection(&alice, Ok(&tags("yes please")), &settings(), today()),
            Protection::Exempt(_)
        ));
        assert!(matches!(
            protection(&alice, Err("AccessDenied"), &settings(), today()),
            Protection::Untouchable(_)
        ));
    }

    #[test]
    fn names_and_no_tags() {
        assert!(matches!(
            protection(
                &Principal::user("breakglass-1"),
                Ok(&[]),
                &settings(),
                today()
            ),
            Protection::Exempt(_)
        ));
        assert_eq!(
            protection(&Principal::user("alice"), Ok(&[]), &settings(), today()),
            Protection::None
        );
        // Other tags do not count.
        let other = vec![("exempt".to_owned(), "true".to_owned())];
        assert_eq!(
            protection(&Principal::user("alice"), Ok(&other), &settings(), today()),
            Protection::None
        );
    }

    #[test]
    fn overrides_beat_exemptions_but_not_untouchables() {
        let rule = PlannedAction::new(
            Principal::user("a"),
            ActionKind::DeactivateAccessKey,
            "AKIA",
            "old",
            (),
        );
        let order = rule.clone().overriding_exemptions();
        let exempt = Protection::Exempt("exempt".into());
        let untouchable = Protection::Untouchable("self".into());
        assert_eq!(verdict(&rule, &exempt), Verdict::Skip("exempt".into()));
        assert!(matches!(
            verdict(&order, &exempt),
            Verdict::Proceed { note: Some(_) }
        ));
        assert_eq!(verdict(&order, &untouchable), Verdict::Skip("self".into()));
        assert_eq!(
            verdict(&rule, &Protection::None),
            Verdict::Proceed { note: None }
        );
        assert!(matches!(
            verdict(&rule, &Protection::Lapsed("l".into())),
            Verdict::Proceed { note: Some(_) }
        ));
    }

    #[test]
    fn max_actions() {
        assert!(check_max_actions(25, 25).is_ok());
        let err = check_max_actions(26, 25).unwrap_err();
        assert!(
            err.to_string().contains("26") && err.to_string().contains("25"),
            "{err}"
        );
    }
}
