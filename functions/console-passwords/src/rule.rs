//! The console-password rules: a pure function of one user's password, the settings and the
//! clock. A password is deleted when it went unused for longer than `MAX_PASSWORD_UNUSED_DAYS`,
//! or, with `MFA_GRACE_DAYS`, when its user has no MFA device that long after it was set. Both
//! count from when the password was set: the login profile's creation, or an administrator's
//! later reset. The MFA grace starts again when the user's MFA device is removed (a user
//! replacing a lost device must still be able to sign in to register the new one), and a run
//! that heard of such a removal deletes nothing.

use std::time::Instant;

use chrono::{DateTime, SecondsFormat, Utc};
use iam_remediation::plan::{days, days_between, older_than};
use iam_remediation::reads::{ReportUser, Tags};
use iam_remediation::{ControlState, PlannedAction, Principal, Rule};
use serde_json::json;

use crate::control;
use crate::facts::{
    ConsolePassword, MFA_REMOVED_TAG, Mfa, PASSWORD_SET_TAG, UserPassword, recorded,
};
use crate::settings::ConsolePasswords;

/// The report's `action`.
pub const DELETE_LOGIN_PROFILE: &str = "delete-login-profile";
/// The report's `target` of a deletion: a user has at most one login profile.
pub const TARGET: &str = "login-profile";

/// What the apply stage deletes: the password as judged, when it was read, and under which
/// rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deletion {
    pub judged: ConsolePassword,
    pub read_at: Instant,
    pub ground: Ground,
}

/// The rule under which a password is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ground {
    /// Unused for longer than `MAX_PASSWORD_UNUSED_DAYS`.
    Unused,
    /// No MFA device after `MFA_GRACE_DAYS`: the apply stage reads the MFA devices again right
    /// before deleting.
    NoMfa,
}

/// Why an unused password is due, if it is.
fn unused(
    password: &ConsolePassword,
    settings: &ConsolePasswords,
    now: DateTime<Utc>,
) -> Option<String> {
    let limit_days = settings.max_password_unused_days;
    let limit = days(limit_days);
    let since = password.since();
    let days = days_between(since, now);
    let (set, since_set) = if password.set_at.is_some_and(|set| set > password.created) {
        (
            format!("set by an administrator {days} days ago"),
            format!("an administrator set it {days} days ago"),
        )
    } else {
        (
            format!("login profile created {days} days ago"),
            format!("its login profile was created {days} days ago"),
        )
    };
    match password.last_used {
        Some(used) if used >= since => (now - used > limit).then(|| {
            format!(
                "last used {} days ago (limit {limit_days})",
                days_between(used, now)
            )
        }),
        // `PasswordLastUsed` belongs to the user, not to the password: a use before it was set
        // was of an earlier password (deleted and set again, or reset). The current one has not
        // been used, and may not be judged idle for longer than it has existed.
        Some(used) => (now - since > limit).then(|| {
            format!(
                "never used since {since_set} (an earlier password was last used {} days ago; limit {limit_days})",
                days_between(used, now)
            )
        }),
        None => (now - since > limit).then(|| format!("never used, {set} (limit {limit_days})")),
    }
}

/// Why a password without MFA is due, if it is (the rule is off with `MFA_GRACE_DAYS=0`).
fn without_mfa(
    password: &ConsolePassword,
    settings: &ConsolePasswords,
    now: DateTime<Utc>,
) -> Option<String> {
    let grace = settings.mfa_grace_days;
    let since = password.mfa_grace_since();
    (grace > 0 && password.mfa == Mfa::Absent && now - since > days(grace)).then(|| {
        let days = days_between(since, now);
        if since > password.since() {
            format!(
                "no MFA device {days} days after the user's MFA device was removed (MFA grace {grace} days)"
            )
        } else {
            format!("no MFA device {days} days after the password was set (MFA grace {grace} days)")
        }
    })
}

/// True when the MFA rule needs the user's MFA devices: it is on and the unused rule does not
/// already settle the password.
pub fn needs_mfa(
    password: &ConsolePassword,
    settings: &ConsolePasswords,
    now: DateTime<Utc>,
) -> bool {
    settings.mfa_grace_days > 0 && unused(password, settings, now).is_none()
}

impl Rule for ConsolePasswords {
    type Facts = UserPassword;
    type Order = Deletion;

    fn plan(&self, facts: &UserPassword, now: DateTime<Utc>) -> Vec<PlannedAction<Deletion>> {
        plan(facts, self, now).into_iter().collect()
    }

    fn control(
        &self,
        control: &str,
        facts: &UserPassword,
        now: DateTime<Utc>,
    ) -> Option<ControlState> {
        control::state(control, facts, self, now)
    }

    /// IAM.5 (MFA for console users) is this function's only with the MFA rule on.
    fn handles_control(&self, control: &str) -> bool {
        control != "IAM.5" || self.mfa_grace_days > 0
    }
}

/// The deletion of the user's password when a rule finds it due. The order is the password as
/// judged, so the apply stage can check that nothing changed since.
///
/// The removal of the user's MFA device, heard from CloudTrail, never deletes by itself: it only
/// starts the MFA grace again (recorded), and a later sweep judges the password.
pub fn plan(
    facts: &UserPassword,
    settings: &ConsolePasswords,
    now: DateTime<Utc>,
) -> Option<PlannedAction<Deletion>> {
    if facts.heard_mfa_removed.is_some() {
        return None;
    }
    let password = facts.password.as_ref()?;
    let (ground, reason) = match unused(password, settings, now) {
        Some(reason) => (Ground::Unused, reason),
        None => (Ground::NoMfa, without_mfa(password, settings, now)?),
    };
    let iso = |time: DateTime<Utc>| time.to_rfc3339_opts(SecondsFormat::Secs, true);
    Some(
        PlannedAction::new(
            Principal::user(&password.user),
            DELETE_LOGIN_PROFILE,
            TARGET,
            reason,
            Deletion {
                judged: password.clone(),
                read_at: facts.read_at,
                ground,
            },
        )
        .warning_first()
        .with_details(json!({
            "login_profile_created": iso(password.created),
            "password_set": password.set_at.map(iso),
            "password_last_used": password.last_used.map(iso),
            "mfa_removed": password.mfa_removed.map(iso),
        })),
    )
}

/// True when a credential-report row, with the user's tags, may hold a password due by `until`
/// and is worth a live look. The report can be hours old, so this only picks candidates (never
/// fewer than the rules would act on); the decision is made on live facts. A user carrying an
/// MFA-removal record that may no longer be needed (a device again, or no password) is read too,
/// so the record is removed.
pub fn is_candidate(
    row: &ReportUser,
    tags: &Tags,
    settings: &ConsolePasswords,
    until: DateTime<Utc>,
) -> bool {
    let mfa_removed = recorded(tags, MFA_REMOVED_TAG);
    if tags.get(MFA_REMOVED_TAG).is_some()
        && ((row.mfa_active && settings.mfa_grace_days > 0) || !row.password_enabled)
    {
        return true;
    }
    if !row.password_enabled {
        return false;
    }
    // A login profile is never older than its user, so a user younger than a limit cannot have
    // a password due under it. `password_last_changed` is no bound: a user's own change moves
    // it, while the rules count from the time an administrator set the password.
    let Some(created) = row.created.at() else {
        return false;
    };
    let since = recorded(tags, PASSWORD_SET_TAG).map_or(created, |set| set.max(created));
    let limit = settings.max_password_unused_days;
    let unused = older_than(since, limit, until)
        && row
            .password_last_used
            .at()
            .is_none_or(|used| older_than(used, limit, until));
    let mfa_grace_since = mfa_removed.map_or(since, |removed| removed.max(since));
    let without_mfa = settings.mfa_grace_days > 0
        && !row.mfa_active
        && older_than(mfa_grace_since, settings.mfa_grace_days, until);
    unused || without_mfa
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use iam_remediation::FromEnv;
    use iam_remediation::plan::{Authority, Urgency};
    use iam_remediation::reads::{ReportKey, ReportTime};
    use iam_remediation::testing::{days_ago as ago, now};

    fn password(created: DateTime<Utc>, last_used: Option<DateTime<Utc>>) -> UserPassword {
        crate::facts::alice(created, last_used, Mfa::NotRead)
    }

    fn settings(days: u32) -> ConsolePasswords {
        ConsolePasswords {
            max_password_unused_days: days,
            ..ConsolePasswords::defaults()
        }
    }

    /// The reason of the planned deletion, or `None` when the password is kept.
    fn verdict(created: DateTime<Utc>, last_used: Option<DateTime<Utc>>) -> Option<String> {
        plan(&password(created, last_used), &settings(90), now()).map(|action| action.reason)
    }

    /// A password created `created` days ago, reset by an administrator `set` days ago.
    fn reset(created: i64, set: i64, used: Option<i64>) -> UserPassword {
        let mut facts = password(ago(created), used.map(ago));
        if let Some(password) = &mut facts.password {
            password.set_at = Some(ago(set));
        }
        facts
    }

    fn mfa(facts: &mut UserPassword, mfa: Mfa) {
        if let Some(password) = &mut facts.password {
            password.mfa = mfa;
        }
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
    fn an_administrators_reset_is_a_fresh_start() {
        // UpdateLoginProfile keeps CreateDate and PasswordLastUsed: the reset time decides.
        assert_eq!(
            plan(&reset(200, 0, Some(150)), &settings(90), now()),
            None,
            "reset today after 150 idle days"
        );
        assert_eq!(plan(&reset(200, 30, Some(150)), &settings(90), now()), None);
        assert_eq!(
            plan(&reset(200, 100, Some(150)), &settings(90), now())
                .map(|a| a.reason)
                .as_deref(),
            Some(
                "never used since an administrator set it 100 days ago (an earlier password was last used 150 days ago; limit 90)"
            )
        );
        assert_eq!(
            plan(&reset(200, 100, None), &settings(90), now())
                .map(|a| a.reason)
                .as_deref(),
            Some("never used, set by an administrator 100 days ago (limit 90)")
        );
        assert_eq!(
            plan(&reset(200, 100, Some(5)), &settings(90), now()),
            None,
            "used since the reset"
        );
        assert_eq!(
            plan(&reset(100, 300, None), &settings(90), now())
                .map(|a| a.reason)
                .as_deref(),
            Some("never used, login profile created 100 days ago (limit 90)"),
            "a record older than the profile is of an earlier password"
        );
    }

    #[test]
    fn the_mfa_rule_deletes_a_password_without_mfa_after_its_grace() {
        let s = ConsolePasswords {
            mfa_grace_days: 7,
            ..settings(90)
        };
        let verdict = |created: i64, state: Mfa| {
            let mut facts = password(ago(created), Some(ago(0)));
            mfa(&mut facts, state);
            plan(&facts, &s, now()).map(|a| a.reason)
        };
        assert_eq!(
            verdict(8, Mfa::Absent).as_deref(),
            Some("no MFA device 8 days after the password was set (MFA grace 7 days)")
        );
        assert_eq!(verdict(7, Mfa::Absent), None, "in grace");
        assert_eq!(verdict(8, Mfa::Present), None, "has MFA");
        assert_eq!(verdict(8, Mfa::NotRead), None, "not read: not judged");
        let mut off = password(ago(100), Some(ago(0)));
        mfa(&mut off, Mfa::Absent);
        assert_eq!(plan(&off, &settings(90), now()), None, "off by default");
        let mut reset = reset(300, 3, Some(0));
        mfa(&mut reset, Mfa::Absent);
        assert_eq!(
            plan(&reset, &s, now()),
            None,
            "a reset starts the grace again"
        );
        assert!(needs_mfa(
            &password(ago(8), Some(ago(0))).password.unwrap(),
            &s,
            now()
        ));
        assert!(
            !needs_mfa(&password(ago(200), None).password.unwrap(), &s, now()),
            "the unused rule settles it"
        );
    }

    #[test]
    #[allow(clippy::too_many_lines, reason = "one row per case")]
    fn the_mfa_grace_runs_from_the_later_of_the_password_and_the_device_removal() {
        use Mfa::{Absent, Present};
        let s = ConsolePasswords {
            mfa_grace_days: 30,
            ..settings(90)
        };
        let after_removal = |days: i64| {
            format!(
                "no MFA device {days} days after the user's MFA device was removed (MFA grace 30 days)"
            )
        };
        let after_set = |days: i64| {
            format!("no MFA device {days} days after the password was set (MFA grace 30 days)")
        };
        // (case, password set days ago, last used days ago, MFA device removed days ago, MFA
        // now, a removal heard in this run, the reason of the deletion or `None`: kept).
        for (case, set, used, removed, mfa, heard, expected) in [
            (
                "never had MFA",
                200,
                Some(1),
                None,
                Absent,
                false,
                Some(after_set(200)),
            ),
            ("removed today", 200, Some(1), Some(0), Absent, false, None),
            (
                "removed 29 days ago",
                200,
                Some(1),
                Some(29),
                Absent,
                false,
                None,
            ),
            (
                "exactly the grace is not more",
                200,
                Some(1),
                Some(30),
                Absent,
                false,
                None,
            ),
            (
                "removed 31 days ago",
                200,
                Some(1),
                Some(31),
                Absent,
                false,
                Some(after_removal(31)),
            ),
            (
                "a new device since",
                200,
                Some(1),
                Some(31),
                Present,
                false,
                None,
            ),
            (
                "a removal before the password: in its grace",
                10,
                Some(1),
                Some(100),
                Absent,
                false,
                None,
            ),
            (
                "a removal before the password",
                40,
                Some(1),
                Some(100),
                Absent,
                false,
                Some(after_set(40)),
            ),
            (
                "heard: never deletes by itself",
                200,
                Some(1),
                Some(0),
                Absent,
                true,
                None,
            ),
            (
                "heard: even a stale clock",
                200,
                Some(1),
                Some(31),
                Absent,
                true,
                None,
            ),
            (
                "heard: not even an unused password",
                200,
                None,
                Some(0),
                Absent,
                true,
                None,
            ),
            (
                "unused: the removal is no grace for it",
                200,
                None,
                Some(0),
                Absent,
                false,
                Some("never used, login profile created 200 days ago (limit 90)".to_owned()),
            ),
        ] {
            let mut facts = password(ago(set), used.map(ago));
            if let Some(password) = &mut facts.password {
                password.mfa = mfa;
                password.mfa_removed = removed.map(ago);
            }
            if heard {
                facts.heard_mfa_removed = removed.map(ago);
            }
            let action = plan(&facts, &s, now());
            assert_eq!(
                action.as_ref().map(|a| a.reason.clone()),
                expected,
                "{case}"
            );
            if let Some(action) = action {
                let ground = if used.is_some() {
                    Ground::NoMfa
                } else {
                    Ground::Unused
                };
                assert_eq!(action.order.ground, ground, "{case}");
                assert_eq!(
                    action.details.unwrap()["mfa_removed"],
                    json!(removed.map(|days| crate::facts::record_value(ago(days)))),
                    "{case}"
                );
            }
        }
    }

    #[test]
    fn mfa_removal_records_in_the_report_pick_candidates() {
        use ReportTime::{At, NotApplicable, NotSupported};
        let s = ConsolePasswords {
            mfa_grace_days: 30,
            ..settings(90)
        };
        let removed = |days: i64| {
            Tags::new(vec![(
                MFA_REMOVED_TAG.to_owned(),
                crate::facts::record_value(ago(days)),
            )])
        };
        let in_use = row(At(ago(200)), true, At(ago(1)), At(ago(200)));
        let mut with_mfa = in_use.clone();
        with_mfa.mfa_active = true;
        let no_password = row(At(ago(200)), false, NotSupported, NotApplicable);
        // (case, row, tags, candidate).
        for (case, row, tags, expected) in [
            ("never had MFA", &in_use, Tags::default(), true),
            (
                "removed 10 days ago: in its grace",
                &in_use,
                removed(10),
                false,
            ),
            ("removed 31 days ago", &in_use, removed(31), true),
            (
                "a device again: the record goes",
                &with_mfa,
                removed(10),
                true,
            ),
            ("a device, no record", &with_mfa, Tags::default(), false),
            (
                "no password any more: the record goes",
                &no_password,
                removed(10),
                true,
            ),
            (
                "no password, no record",
                &no_password,
                Tags::default(),
                false,
            ),
        ] {
            assert_eq!(is_candidate(row, &tags, &s, now()), expected, "{case}");
        }
        // With the MFA rule off, a user with MFA is not read for its record alone (nothing
        // reads the devices then).
        assert!(!is_candidate(&with_mfa, &removed(10), &settings(90), now()));
    }

    #[test]
    fn the_action_deletes_the_users_login_profile_under_the_rule() {
        let judged = password(ago(120), Some(ago(100)));
        let action = plan(&judged, &settings(90), now()).unwrap();
        assert_eq!(action.subject, Principal::user("alice").into());
        assert_eq!(action.action, "delete-login-profile");
        assert_eq!(action.target, "login-profile");
        assert_eq!(action.authority, Authority::Rule, "exemptions protect it");
        assert_eq!(action.urgency, Urgency::WarnFirst);
        assert_eq!(action.blocked, None);
        assert_eq!(
            Some(action.order.judged),
            judged.password,
            "the apply stage re-checks against what was judged"
        );
        assert_eq!(
            action.details,
            Some(
                json!({"login_profile_created": "2026-02-15T12:00:00Z", "password_set": null, "password_last_used": "2026-03-07T12:00:00Z", "mfa_removed": null})
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
            mfa_active: false,
            keys: [no_key; 2],
        }
    }

    #[test]
    fn report_candidates() {
        use ReportTime::{At, NoInformation, NotApplicable, NotSupported};
        // (user created, password enabled, password last used, password last changed): whether
        // the row is worth a live read, with the rule at 90 days.
        let (old, older, young) = (At(ago(200)), At(ago(400)), At(ago(89)));
        let yesterday = At(ago(1));
        for (case, created, enabled, last_used, last_changed, expected) in [
            ("never used, old user", old, true, NoInformation, old, true),
            (
                "never used, not applicable",
                old,
                true,
                NotApplicable,
                old,
                true,
            ),
            ("used long ago", older, true, At(ago(140)), older, true),
            // The live read decides whether yesterday's change was an administrator's reset.
            (
                "changed yesterday",
                older,
                true,
                NoInformation,
                yesterday,
                true,
            ),
            (
                "no password",
                older,
                false,
                NotSupported,
                NotApplicable,
                false,
            ),
            ("used recently", older, true, At(ago(10)), older, false),
            (
                "a new user",
                yesterday,
                true,
                NoInformation,
                yesterday,
                false,
            ),
            (
                "younger than the limit",
                young,
                true,
                NoInformation,
                young,
                false,
            ),
            (
                "no creation time",
                NotSupported,
                true,
                NoInformation,
                NotSupported,
                false,
            ),
        ] {
            let row = row(created, enabled, last_used, last_changed);
            let candidate = is_candidate(&row, &Tags::default(), &settings(90), now());
            assert_eq!(candidate, expected, "{case}");
        }
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
                    is_candidate(&report, &Tags::default(), &s, now()),
                    "created {created_days}, used {used_days:?}"
                );
            }
        }
    }

    #[test]
    fn reset_records_and_mfa_in_the_report_pick_candidates() {
        use ReportTime::{At, NoInformation};
        let old = row(At(ago(400)), true, At(ago(200)), At(ago(400)));
        let reset = |days: i64| {
            Tags::new(vec![(
                PASSWORD_SET_TAG.to_owned(),
                crate::facts::record_value(ago(days)),
            )])
        };
        let s = settings(90);
        assert!(is_candidate(&old, &Tags::default(), &s, now()));
        assert!(
            !is_candidate(&old, &reset(10), &s, now()),
            "reset 10 days ago"
        );
        assert!(is_candidate(&old, &reset(100), &s, now()));
        let mfa = ConsolePasswords {
            mfa_grace_days: 7,
            ..settings(90)
        };
        let young = row(At(ago(10)), true, At(ago(0)), At(ago(10)));
        assert!(
            is_candidate(&young, &Tags::default(), &mfa, now()),
            "no MFA after grace"
        );
        assert!(
            !is_candidate(&young, &Tags::default(), &s, now()),
            "MFA rule off"
        );
        let mut with_mfa = young.clone();
        with_mfa.mfa_active = true;
        assert!(!is_candidate(&with_mfa, &Tags::default(), &mfa, now()));
        let fresh = row(At(ago(3)), true, NoInformation, At(ago(3)));
        assert!(
            !is_candidate(&fresh, &Tags::default(), &mfa, now()),
            "in grace"
        );
    }
}
