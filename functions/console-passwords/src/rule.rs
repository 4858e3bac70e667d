//! The console-password rule: a pure function of one user's password, the settings and the
//! clock.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use iam_remediation::facts::ReportUser;
use iam_remediation::facts::login_profiles::ConsolePassword;
use iam_remediation::plan::days_between;
use iam_remediation::{ActionKind, PlannedAction, Principal};
use serde_json::json;

use crate::settings::Settings;

/// The report's `target` of a deletion: a user has at most one login profile.
pub const TARGET: &str = "login-profile";

/// The deletion of `password` when it went unused for longer than `MAX_PASSWORD_UNUSED_DAYS`
/// (counted from the login profile's creation if never used). The order is the password as
/// judged, so the apply stage can check that nothing changed since.
pub fn plan(
    password: &ConsolePassword,
    settings: &Settings,
    now: DateTime<Utc>,
) -> Option<PlannedAction<ConsolePassword>> {
    let limit_days = settings.max_password_unused_days;
    let limit = Duration::days(i64::from(limit_days));
    let created = password.created;
    let created_days = days_between(created, now);
    let reason = match password.last_used {
        Some(used) if used >= created => (now - used > limit).then(|| {
            format!(
                "last used {} days ago (limit {limit_days})",
                days_between(used, now)
            )
        }),
        // `PasswordLastUsed` belongs to the user, not to the profile: a use before the profile
        // was created was of an earlier password (deleted, then set again). The current one
        // has not been used, and may not be judged idle for longer than it has existed.
        Some(used) => (now - created > limit).then(|| {
            format!(
                "never used since its login profile was created {created_days} days ago (an \
                 earlier password was last used {} days ago; limit {limit_days})",
                days_between(used, now)
            )
        }),
        None => (now - created > limit).then(|| {
            format!(
                "never used, login profile created {created_days} days ago (limit {limit_days})"
            )
        }),
    }?;
    let iso = |time: DateTime<Utc>| time.to_rfc3339_opts(SecondsFormat::Secs, true);
    Some(
        PlannedAction::new(
            Principal::user(&password.user),
            ActionKind::DeleteLoginProfile,
            TARGET,
            reason,
            password.clone(),
        )
        .with_details(json!({
            "login_profile_created": iso(created),
            "password_last_used": password.last_used.map(iso),
        })),
    )
}

/// True when a credential-report row may hold a password to delete and is worth a live look.
/// The report can be hours old, so this only picks candidates (never fewer than the rule would
/// act on); the decision is made on live facts.
pub fn is_candidate(row: &ReportUser, settings: &Settings, now: DateTime<Utc>) -> bool {
    let limit = Duration::days(i64::from(settings.max_password_unused_days));
    let older_than_limit = |time: DateTime<Utc>| now - time > limit;
    // A login profile is never older than its user, so a user younger than the limit cannot
    // have an idle-enough password. `password_last_changed` is no bound: a reset moves it, while
    // the rule counts from the profile's creation.
    row.password_enabled
        && row.created.at().is_some_and(older_than_limit)
        && row.password_last_used.at().is_none_or(older_than_limit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use iam_remediation::facts::{ReportKey, ReportTime};
    use iam_remediation::plan::Authority;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-06-15T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn ago(days: i64) -> DateTime<Utc> {
        now() - Duration::days(days)
    }

    fn password(created: DateTime<Utc>, last_used: Option<DateTime<Utc>>) -> ConsolePassword {
        ConsolePassword {
            user: "alice".into(),
            created,
            last_used,
        }
    }

    fn settings(days: u32) -> Settings {
        Settings {
            max_password_unused_days: days,
            ..Settings::default()
        }
    }

    /// The reason of the planned deletion, or `None` when the password is kept.
    fn verdict(created: DateTime<Utc>, last_used: Option<DateTime<Utc>>) -> Option<String> {
        plan(&password(created, last_used), &settings(90), now()).map(|action| action.reason)
    }

    #[test]
    fn a_never_used_password_is_deleted_once_its_profile_is_older_than_the_limit() {
        assert_eq!(
            verdict(ago(120), None).as_deref(),
            Some("never used, login profile created 120 days ago (limit 90)")
        );
        assert_eq!(
            verdict(ago(90) - Duration::seconds(1), None).as_deref(),
            Some("never used, login profile created 90 days ago (limit 90)")
        );
        assert_eq!(
            verdict(ago(90), None),
            None,
            "exactly the limit is not more than it"
        );
        assert_eq!(
            verdict(ago(1), None),
            None,
            "a user created yesterday who has not logged in yet"
        );
        assert_eq!(verdict(now(), None), None);
    }

    #[test]
    fn a_used_password_is_judged_on_its_last_use() {
        assert_eq!(
            verdict(ago(400), Some(ago(140))).as_deref(),
            Some("last used 140 days ago (limit 90)")
        );
        assert_eq!(
            verdict(ago(400), Some(ago(90) - Duration::minutes(1))).as_deref(),
            Some("last used 90 days ago (limit 90)")
        );
        assert_eq!(verdict(ago(400), Some(ago(90))), None);
        assert_eq!(verdict(ago(400), Some(ago(10))), None, "recently used");
        assert_eq!(verdict(ago(400), Some(now())), None);
    }

    #[test]
    fn a_use_before_the_profile_existed_belongs_to_an_earlier_password() {
        // Deleted and set again yesterday: the new password is not idle for 200 days.
        assert_eq!(verdict(ago(1), Some(ago(200))), None);
        assert_eq!(
            verdict(ago(100), Some(ago(200))).as_deref(),
            Some(
                "never used since its login profile was created 100 days ago (an earlier password was last used 200 days ago; limit 90)"
            )
        );
        // Used the moment it was created counts as used.
        assert_eq!(
            verdict(ago(100), Some(ago(100))).as_deref(),
            Some("last used 100 days ago (limit 90)")
        );
    }

    #[test]
    fn times_in_the_future_keep_the_password() {
        assert_eq!(verdict(now() + Duration::days(3), None), None);
        assert_eq!(verdict(ago(400), Some(now() + Duration::days(3))), None);
    }

    #[test]
    fn the_limit_comes_from_the_settings() {
        let idle = password(ago(400), Some(ago(45)));
        assert!(plan(&idle, &settings(90), now()).is_none());
        assert_eq!(
            plan(&idle, &settings(30), now()).unwrap().reason,
            "last used 45 days ago (limit 30)"
        );
        assert!(plan(&idle, &settings(3650), now()).is_none());
    }

    #[test]
    fn the_action_deletes_the_users_login_profile_under_the_rule() {
        let judged = password(ago(120), Some(ago(100)));
        let action = plan(&judged, &settings(90), now()).unwrap();
        assert_eq!(action.principal, Principal::user("alice"));
        assert_eq!(action.kind, ActionKind::DeleteLoginProfile);
        assert_eq!(action.kind.as_str(), "delete-login-profile");
        assert_eq!(action.target, "login-profile");
        assert_eq!(action.authority, Authority::Rule, "exemptions protect it");
        assert_eq!(action.blocked, None);
        assert_eq!(
            action.order, judged,
            "the apply stage re-checks against what was judged"
        );
        assert_eq!(
            action.details,
            Some(
                json!({"login_profile_created": "2026-02-15T12:00:00Z", "password_last_used": "2026-03-07T12:00:00Z"})
            )
        );
        let never = plan(&password(ago(120), None), &settings(90), now()).unwrap();
        assert_eq!(
            never.details.unwrap()["password_last_used"],
            serde_json::Value::Null
        );
    }

    fn row(
        created: ReportTime,
        enabled: bool,
        last_used: ReportTime,
        last_changed: ReportTime,
    ) -> ReportUser {
        let no_key = ReportKey {
            active: false,
            last_rotated: ReportTime::NotApplicable,
            last_used: ReportTime::NotApplicable,
        };
        ReportUser {
            user: "alice".into(),
            arn: "arn:aws:iam::123456789012:user/alice".into(),
            created,
            password_enabled: enabled,
            password_last_used: last_used,
            password_last_changed: last_changed,
            keys: [no_key; 2],
        }
    }

    #[test]
    fn report_candidates() {
        use ReportTime::{At, NoInformation, NotApplicable, NotSupported};
        let candidate = |row: ReportUser| is_candidate(&row, &settings(90), now());
        // Never used, old user.
        assert!(candidate(row(
            At(ago(200)),
            true,
            NoInformation,
            At(ago(200))
        )));
        assert!(candidate(row(
            At(ago(200)),
            true,
            NotApplicable,
            At(ago(200))
        )));
        // Used long ago.
        assert!(candidate(row(
            At(ago(400)),
            true,
            At(ago(140)),
            At(ago(400))
        )));
        // A password reset yesterday on an old, never-used profile: the live read decides.
        assert!(candidate(row(
            At(ago(400)),
            true,
            NoInformation,
            At(ago(1))
        )));
        // No password; used recently; a user younger than the limit; no creation time.
        assert!(!candidate(row(
            At(ago(400)),
            false,
            NotSupported,
            NotApplicable
        )));
        assert!(!candidate(row(
            At(ago(400)),
            true,
            At(ago(10)),
            At(ago(400))
        )));
        assert!(!candidate(row(At(ago(1)), true, NoInformation, At(ago(1)))));
        assert!(!candidate(row(
            At(ago(89)),
            true,
            NoInformation,
            At(ago(89))
        )));
        assert!(!candidate(row(
            NotSupported,
            true,
            NoInformation,
            NotSupported
        )));
    }

    #[test]
    fn every_password_the_rule_deletes_is_a_candidate() {
        // The report is never newer than the live facts: its last use is at most the live one,
        // and the user was created at or before the profile.
        let s = settings(90);
        for created_days in [0, 1, 89, 90, 91, 120, 400] {
            for used_days in [
                None,
                Some(0),
                Some(10),
                Some(89),
                Some(91),
                Some(140),
                Some(500),
            ] {
                let created = ago(created_days) - Duration::seconds(1);
                let used = used_days.map(|d| ago(d) - Duration::seconds(1));
                if plan(&password(created, used), &s, now()).is_none() {
                    continue;
                }
                let report_used = used.map_or(ReportTime::NoInformation, ReportTime::At);
                let report = row(
                    ReportTime::At(created),
                    true,
                    report_used,
                    ReportTime::At(created),
                );
                assert!(
                    is_candidate(&report, &s, now()),
                    "created {created_days}, used {used_days:?}"
                );
            }
        }
    }
}
