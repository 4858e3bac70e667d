//! Security Hub's own criteria of the controls access-keys covers, on live facts: a finding is
//! resolved only when they pass, whatever this function's settings (Security Hub does not reopen
//! a resolved finding that keeps failing).
//!
//! From the Security Hub User Guide, "Security Hub controls for IAM"
//! (<https://docs.aws.amazon.com/securityhub/latest/userguide/iam-controls.html>):
//! - IAM.3 "IAM users' access keys should be rotated every 90 days or less": fails while an
//!   active key is older than 90 days (Config rule `access-keys-rotated`, `maxAccessKeyAge` 90).
//! - IAM.4 "IAM root user access key should not exist" (`iam-root-access-key-check`): fails while
//!   the root user has an access key, active or not.
//! - IAM.8 "Unused IAM user credentials should be removed" and IAM.22 "IAM user credentials
//!   unused for 45 days should be removed" (`iam-user-unused-credentials-check`,
//!   `maxCredentialUsageAge` 90 and 45): fail while a password or an active access key went
//!   unused that long (counted from its creation when never used). This function judges the key
//!   half; console-passwords the password half.

use chrono::{DateTime, Utc};
use iam_remediation::ControlState;
use iam_remediation::contract::{IAM8_MAX_UNUSED_DAYS, IAM22_MAX_UNUSED_DAYS};
use iam_remediation::plan::{days, days_between};

use crate::facts::Facts;
use crate::facts::{KeyFacts, LastUse};
use crate::settings::AccessKeys;

/// IAM.3's age limit.
pub const IAM3_MAX_KEY_AGE_DAYS: u32 = 90;

/// The state of `control` on `facts`; `None` when the facts say nothing of it.
pub fn state(
    control: &str,
    facts: &Facts,
    settings: &AccessKeys,
    now: DateTime<Utc>,
) -> Option<ControlState> {
    match (control, facts) {
        ("IAM.3", Facts::User(user)) => Some(failing(
            user.keys
                .iter()
                .filter(|key| key.active && too_old(key, now))
                .map(|key| {
                    let laxer = if settings.max_key_age_days > IAM3_MAX_KEY_AGE_DAYS {
                        format!(
                            "; MAX_KEY_AGE_DAYS is {}, laxer than the control",
                            settings.max_key_age_days
                        )
                    } else {
                        String::new()
                    };
                    format!(
                        "active key {} is {} days old (IAM.3: at most {IAM3_MAX_KEY_AGE_DAYS}){laxer}",
                        key.id,
                        days_between(key.created, now)
                    )
                }),
        )),
        ("IAM.8" | "IAM.22", Facts::User(user)) => {
            let limit = if control == "IAM.8" {
                IAM8_MAX_UNUSED_DAYS
            } else {
                IAM22_MAX_UNUSED_DAYS
            };
            Some(failing(
                user.keys.iter().filter(|key| key.active).filter_map(|key| {
                    unused(key, limit, now).map(|why| format!("active key {}: {why}", key.id))
                }),
            ))
        }
        ("IAM.4", Facts::Account { keys_present, .. }) => Some(if *keys_present {
            ControlState::Fails(
                "the root user has an access key (GetAccountSummary AccountAccessKeysPresent); \
                 only the root user, or centralized root access, can delete it"
                    .to_owned(),
            )
        } else {
            ControlState::Passes
        }),
        // A sweep's credential report can show a key; it cannot show that none exists now.
        ("IAM.4", Facts::Root(root)) => root
            .keys
            .iter()
            .any(iam_remediation::reads::ReportKey::exists)
            .then(|| {
                ControlState::Fails("the credential report shows a root access key".to_owned())
            }),
        _ => None,
    }
}

/// `Passes` when nothing fails, else each reason.
fn failing(reasons: impl Iterator<Item = String>) -> ControlState {
    let reasons: Vec<String> = reasons.collect();
    if reasons.is_empty() {
        ControlState::Passes
    } else {
        ControlState::Fails(reasons.join("; "))
    }
}

fn too_old(key: &KeyFacts, now: DateTime<Utc>) -> bool {
    now - key.created > days(IAM3_MAX_KEY_AGE_DAYS)
}

/// Why `key` counts as unused for `limit` days, if it does (from its creation when never used;
/// a last use that was not read cannot show it was used).
fn unused(key: &KeyFacts, limit: u32, now: DateTime<Utc>) -> Option<String> {
    let (since, what) = match key.last_used {
        LastUse::At(at) => (at, "last used"),
        LastUse::Never => (key.created, "never used, created"),
        LastUse::NotRead if now - key.created > days(limit) => {
            return Some(format!(
                "its last use was not read (the control allows {limit} days unused)"
            ));
        }
        LastUse::NotRead => return None,
    };
    (now - since > days(limit)).then(|| {
        format!(
            "{what} {} days ago (the control allows {limit} days unused)",
            days_between(since, now)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{Focus, UserKeys};
    use iam_remediation::Env;
    use iam_remediation::FromEnv;
    use iam_remediation::reads::RootUser;
    use iam_remediation::testing::assert_control_state;

    fn now() -> DateTime<Utc> {
        "2026-12-01T12:00:00Z".parse().unwrap()
    }

    fn settings(pairs: &[(&str, &str)]) -> AccessKeys {
        AccessKeys::from_env(&Env::from_pairs(pairs.iter().copied())).unwrap()
    }

    fn user(keys: &[(bool, i64, Option<i64>)]) -> Facts {
        Facts::User(UserKeys {
            user: "alice".into(),
            keys: keys
                .iter()
                .enumerate()
                .map(|(i, (active, age, used))| KeyFacts {
                    id: format!("AKIAKEY{i}"),
                    active: *active,
                    created: now() - days(u32::try_from(*age).unwrap()),
                    last_used: used.map_or(LastUse::Never, |d| {
                        LastUse::At(now() - days(u32::try_from(d).unwrap()))
                    }),
                })
                .collect(),
            records: crate::facts::Records::default(),
            focus: Focus::All,
            reactivated: None,
        })
    }

    #[test]
    fn each_control_is_judged_by_its_own_criterion() {
        let defaults = settings(&[]);
        let lax = settings(&[("MAX_KEY_AGE_DAYS", "180")]);
        for (control, facts, settings, passes, says) in [
            (
                "IAM.3",
                user(&[(true, 120, Some(1))]),
                &defaults,
                false,
                "120 days old",
            ),
            (
                "IAM.3",
                user(&[(true, 120, Some(1))]),
                &lax,
                false,
                "MAX_KEY_AGE_DAYS is 180",
            ),
            ("IAM.3", user(&[(false, 120, Some(1))]), &defaults, true, ""),
            ("IAM.3", user(&[(true, 90, Some(1))]), &defaults, true, ""),
            ("IAM.3", user(&[]), &defaults, true, ""),
            (
                "IAM.8",
                user(&[(true, 200, Some(100))]),
                &defaults,
                false,
                "last used 100",
            ),
            ("IAM.8", user(&[(true, 200, Some(60))]), &defaults, true, ""),
            (
                "IAM.22",
                user(&[(true, 200, Some(60))]),
                &defaults,
                false,
                "45 days",
            ),
            (
                "IAM.22",
                user(&[(true, 50, None)]),
                &defaults,
                false,
                "never used",
            ),
            ("IAM.22", user(&[(false, 200, None)]), &defaults, true, ""),
        ] {
            let state = state(control, &facts, settings, now());
            assert_control_state(state, passes, says, &format!("{control} {facts:?}"));
        }
    }

    #[test]
    fn iam4_is_judged_from_the_live_summary() {
        let s = settings(&[]);
        let account = |keys_present| Facts::Account {
            root: RootUser::default(),
            keys_present,
        };
        assert_eq!(
            state("IAM.4", &account(false), &s, now()),
            Some(ControlState::Passes)
        );
        assert!(matches!(
            state("IAM.4", &account(true), &s, now()),
            Some(ControlState::Fails(_))
        ));
        assert_eq!(state("IAM.4", &user(&[]), &s, now()), None);
        assert_eq!(state("IAM.3", &account(true), &s, now()), None);
    }
}
