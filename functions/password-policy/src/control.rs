//! Security Hub's own criteria of the password-policy controls, on the live policy: a finding is
//! resolved only when they pass, whatever floor this function is configured with (Security Hub
//! does not reopen a resolved finding that keeps failing).
//!
//! From the Security Hub User Guide, "Security Hub controls for IAM"
//! (<https://docs.aws.amazon.com/securityhub/latest/userguide/iam-controls.html>), each the
//! Config rule `iam-password-policy` with these parameters:
//! - IAM.7 "Password policies for IAM users should have strong configurations": uppercase,
//!   lowercase, symbols and numbers required, `MinimumPasswordLength` 8 (its defaults);
//! - IAM.10 (PCI DSS): `MinimumPasswordLength` 7, `PasswordReusePrevention` 4,
//!   `MaxPasswordAge` 90;
//! - IAM.11, IAM.12, IAM.13, IAM.14: an uppercase letter, a lowercase letter, a symbol, a number;
//! - IAM.15: `MinimumPasswordLength` 14; IAM.16: `PasswordReusePrevention` 24; IAM.17: passwords
//!   expire within 90 days (`MaxPasswordAge` 90).

use iam_remediation::ControlState;

use crate::facts::PasswordPolicy;

/// What one control asks of the policy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "the control's four character requirements"
)]
struct Criterion {
    minimum_length: u32,
    uppercase: bool,
    lowercase: bool,
    numbers: bool,
    symbols: bool,
    reuse_prevention: Option<u32>,
    max_age_days: Option<u32>,
}

fn criterion(control: &str) -> Option<Criterion> {
    let none = Criterion::default();
    Some(match control {
        "IAM.7" => Criterion {
            minimum_length: 8,
            uppercase: true,
            lowercase: true,
            numbers: true,
            symbols: true,
            ..none
        },
        "IAM.10" => Criterion {
            minimum_length: 7,
            reuse_prevention: Some(4),
            max_age_days: Some(90),
            ..none
        },
        "IAM.11" => Criterion {
            uppercase: true,
            ..none
        },
        "IAM.12" => Criterion {
            lowercase: true,
            ..none
        },
        "IAM.13" => Criterion {
            symbols: true,
            ..none
        },
        "IAM.14" => Criterion {
            numbers: true,
            ..none
        },
        "IAM.15" => Criterion {
            minimum_length: 14,
            ..none
        },
        "IAM.16" => Criterion {
            reuse_prevention: Some(24),
            ..none
        },
        "IAM.17" => Criterion {
            max_age_days: Some(90),
            ..none
        },
        _ => return None,
    })
}

/// The state of `control` on the live policy (`None`: the account has none); `floor` is the
/// function's configured floor, named when it is laxer than the control.
pub fn state(
    control: &str,
    policy: Option<&PasswordPolicy>,
    floor: &PasswordPolicy,
) -> Option<ControlState> {
    let wanted = criterion(control)?;
    let Some(policy) = policy else {
        return Some(ControlState::Fails(format!(
            "the account has no password policy ({control})"
        )));
    };
    let mut fails = Vec::new();
    if policy.minimum_length < wanted.minimum_length {
        fails.push(with_floor(
            format!(
                "minimum length {} (at least {})",
                policy.minimum_length, wanted.minimum_length
            ),
            floor.minimum_length < wanted.minimum_length,
            "MIN_PASSWORD_LENGTH",
            &floor.minimum_length.to_string(),
        ));
    }
    for (needed, has, floor_has, what, variable) in [
        (
            wanted.uppercase,
            policy.require_uppercase,
            floor.require_uppercase,
            "an uppercase letter",
            "REQUIRE_UPPERCASE",
        ),
        (
            wanted.lowercase,
            policy.require_lowercase,
            floor.require_lowercase,
            "a lowercase letter",
            "REQUIRE_LOWERCASE",
        ),
        (
            wanted.numbers,
            policy.require_numbers,
            floor.require_numbers,
            "a number",
            "REQUIRE_NUMBERS",
        ),
        (
            wanted.symbols,
            policy.require_symbols,
            floor.require_symbols,
            "a symbol",
            "REQUIRE_SYMBOLS",
        ),
    ] {
        if needed && !has {
            fails.push(with_floor(
                format!("{what} not required"),
                !floor_has,
                variable,
                "false",
            ));
        }
    }
    if let Some(wanted_reuse) = wanted.reuse_prevention
        && policy.reuse_prevention.unwrap_or(0) < wanted_reuse
    {
        fails.push(with_floor(
            format!(
                "password reuse prevention {} (at least {wanted_reuse})",
                policy.reuse_prevention.unwrap_or(0)
            ),
            floor.reuse_prevention.unwrap_or(0) < wanted_reuse,
            "PASSWORD_REUSE_PREVENTION",
            &floor.reuse_prevention.unwrap_or(0).to_string(),
        ));
    }
    if let Some(wanted_age) = wanted.max_age_days
        && policy.max_age_days.is_none_or(|age| age > wanted_age)
    {
        let age = |days: Option<u32>| days.map_or_else(|| "none".to_owned(), |d| d.to_string());
        fails.push(with_floor(
            format!(
                "maximum password age {} (at most {wanted_age} days)",
                age(policy.max_age_days)
            ),
            floor.max_age_days.is_none_or(|days| days > wanted_age),
            "MAX_PASSWORD_AGE_DAYS",
            &age(floor.max_age_days),
        ));
    }
    Some(if fails.is_empty() {
        ControlState::Passes
    } else {
        ControlState::Fails(format!("{control}: {}", fails.join(", ")))
    })
}

/// A shortfall, naming the setting when the configured floor is itself laxer than the control.
fn with_floor(shortfall: String, laxer: bool, variable: &str, value: &str) -> String {
    if laxer {
        format!("{shortfall}; {variable} is {value}, laxer than the control")
    } else {
        shortfall
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::PasswordPolicies;
    use iam_remediation::FromEnv;
    use iam_remediation::testing::assert_control_state;

    /// The contract's default floor: it meets every control.
    fn strong() -> PasswordPolicy {
        PasswordPolicies::defaults().floor
    }

    #[test]
    fn each_control_is_judged_by_its_own_criterion() {
        let short = PasswordPolicy {
            minimum_length: 8,
            ..strong()
        };
        let weakest = PasswordPolicy::WEAKEST;
        for (control, policy, floor, passes, says) in [
            ("IAM.15", strong(), strong(), true, ""),
            (
                "IAM.15",
                short,
                strong(),
                false,
                "minimum length 8 (at least 14)",
            ),
            (
                "IAM.15",
                short,
                short,
                false,
                "MIN_PASSWORD_LENGTH is 8, laxer",
            ),
            ("IAM.7", short, short, true, ""),
            (
                "IAM.7",
                weakest,
                strong(),
                false,
                "an uppercase letter not required",
            ),
            (
                "IAM.10",
                weakest,
                strong(),
                false,
                "reuse prevention 0 (at least 4)",
            ),
            ("IAM.11", weakest, strong(), false, "uppercase"),
            ("IAM.12", weakest, strong(), false, "lowercase"),
            ("IAM.13", weakest, strong(), false, "symbol"),
            ("IAM.14", weakest, strong(), false, "number"),
            ("IAM.16", weakest, strong(), false, "at least 24"),
            (
                "IAM.17",
                weakest,
                strong(),
                false,
                "maximum password age none",
            ),
            ("IAM.17", strong(), strong(), true, ""),
        ] {
            let state = state(control, Some(&policy), &floor);
            assert_control_state(state, passes, says, &format!("{control} {policy:?}"));
        }
        assert!(matches!(
            state("IAM.7", None, &strong()),
            Some(ControlState::Fails(_))
        ));
        assert_eq!(state("IAM.3", Some(&strong()), &strong()), None);
    }
}
