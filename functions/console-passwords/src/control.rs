//! Security Hub's own criteria of the controls console-passwords covers, on live facts: a finding
//! is resolved only when they pass, whatever this function's settings (Security Hub does not
//! reopen a resolved finding that keeps failing).
//!
//! From the Security Hub User Guide, "Security Hub controls for IAM"
//! (<https://docs.aws.amazon.com/securityhub/latest/userguide/iam-controls.html>):
//! - IAM.5 "MFA should be enabled for all IAM users that have a console password"
//!   (`mfa-enabled-for-iam-console-access`): fails while the user has a console password and no
//!   MFA device, whatever grace `MFA_GRACE_DAYS` gives.
//! - IAM.8 "Unused IAM user credentials should be removed" and IAM.22 "IAM user credentials
//!   unused for 45 days should be removed" (`iam-user-unused-credentials-check`,
//!   `maxCredentialUsageAge` 90 and 45): fail while a password or an active access key went
//!   unused that long (counted from when it was set when never used). This function judges the
//!   password half; access-keys the key half.

use chrono::{DateTime, Utc};
use iam_remediation::ControlState;
use iam_remediation::contract::{IAM8_MAX_UNUSED_DAYS, IAM22_MAX_UNUSED_DAYS};
use iam_remediation::plan::{days, days_between};

use crate::facts::{Mfa, UserPassword};
use crate::settings::ConsolePasswords;

/// The state of `control` on `facts`; `None` when the facts say nothing of it.
pub fn state(
    control: &str,
    facts: &UserPassword,
    settings: &ConsolePasswords,
    now: DateTime<Utc>,
) -> Option<ControlState> {
    let limit = match control {
        "IAM.5" => None,
        "IAM.8" => Some(IAM8_MAX_UNUSED_DAYS),
        "IAM.22" => Some(IAM22_MAX_UNUSED_DAYS),
        _ => return None,
    };
    // No console password: both controls pass for this user's password.
    let Some(password) = &facts.password else {
        return Some(ControlState::Passes);
    };
    Some(match limit {
        None => match password.mfa {
            Mfa::Present => ControlState::Passes,
            Mfa::Absent => {
                let grace = if settings.mfa_grace_days > 0 {
                    format!(
                        "; MFA_GRACE_DAYS gives {} days after the password was set",
                        settings.mfa_grace_days
                    )
                } else {
                    String::new()
                };
                ControlState::Fails(format!(
                    "the user has a console password and no MFA device (IAM.5){grace}"
                ))
            }
            Mfa::NotRead => ControlState::Fails(
                "the user has a console password and its MFA devices were not read (IAM.5)"
                    .to_owned(),
            ),
        },
        Some(limit) => {
            let (since, what) = password
                .last_used
                .map_or((password.since(), "never used, set"), |used| {
                    (used, "last used")
                });
            if now - since > days(limit) {
                ControlState::Fails(format!(
                    "the console password was {what} {} days ago (the control allows {limit} days \
                     unused)",
                    days_between(since, now)
                ))
            } else {
                ControlState::Passes
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use iam_remediation::testing::assert_control_state;
    use iam_remediation::{Env, FromEnv};

    fn now() -> DateTime<Utc> {
        "2026-12-01T12:00:00Z".parse().unwrap()
    }

    fn password(set_days: u32, used_days: Option<u32>, mfa: Mfa) -> UserPassword {
        crate::facts::alice(
            now() - days(set_days),
            used_days.map(|d| now() - days(d)),
            mfa,
        )
    }

    #[test]
    fn each_control_is_judged_by_its_own_criterion() {
        let grace =
            ConsolePasswords::from_env(&Env::from_pairs([("MFA_GRACE_DAYS", "30")])).unwrap();
        let none = UserPassword {
            password: None,
            ..password(1, None, Mfa::Absent)
        };
        for (control, facts, passes, says) in [
            (
                "IAM.5",
                password(3, Some(1), Mfa::Absent),
                false,
                "MFA_GRACE_DAYS gives 30",
            ),
            ("IAM.5", password(3, Some(1), Mfa::Present), true, ""),
            (
                "IAM.5",
                password(3, Some(1), Mfa::NotRead),
                false,
                "not read",
            ),
            ("IAM.5", none.clone(), true, ""),
            (
                "IAM.8",
                password(200, Some(100), Mfa::Present),
                false,
                "last used 100",
            ),
            ("IAM.8", password(200, Some(60), Mfa::Present), true, ""),
            (
                "IAM.22",
                password(200, Some(60), Mfa::Present),
                false,
                "45 days",
            ),
            (
                "IAM.22",
                password(50, None, Mfa::Present),
                false,
                "never used",
            ),
            ("IAM.22", none, true, ""),
        ] {
            let state = state(control, &facts, &grace, now());
            assert_control_state(state, passes, says, &format!("{control} {facts:?}"));
        }
        assert_eq!(
            state("IAM.3", &password(3, None, Mfa::Absent), &grace, now()),
            None
        );
    }
}
