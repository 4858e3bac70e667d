//! The password-policy function, as configured: the floor.

use iam_remediation::{CommonSettings, ConfigError, Env, FromEnv};

use crate::facts::{
    MAX_AGE_DAYS_RANGE, MINIMUM_LENGTH_RANGE, PasswordPolicy, REUSE_PREVENTION_RANGE,
};

/// The `password-policy` function: everything it reads from its environment.
#[derive(Debug, Clone)]
pub struct PasswordPolicies {
    pub common: CommonSettings,
    /// The weakest policy the account may have. `max_age_days` / `reuse_prevention` of `None`
    /// (`MAX_PASSWORD_AGE_DAYS=0`, `PASSWORD_REUSE_PREVENTION=0`) set no floor for that field:
    /// whatever the account has is kept, and nothing is added.
    pub floor: PasswordPolicy,
}

impl FromEnv for PasswordPolicies {
    fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let floor = PasswordPolicy {
            minimum_length: env.number("MIN_PASSWORD_LENGTH", 14, MINIMUM_LENGTH_RANGE)?,
            require_uppercase: env.bool("REQUIRE_UPPERCASE", true)?,
            require_lowercase: env.bool("REQUIRE_LOWERCASE", true)?,
            require_numbers: env.bool("REQUIRE_NUMBERS", true)?,
            require_symbols: env.bool("REQUIRE_SYMBOLS", true)?,
            allow_users_to_change_password: env.bool("ALLOW_USERS_TO_CHANGE_PASSWORD", true)?,
            // 0 is outside IAM's ranges, so it can only mean "no floor for this field".
            max_age_days: optional(env.number(
                "MAX_PASSWORD_AGE_DAYS",
                90,
                0..=*MAX_AGE_DAYS_RANGE.end(),
            )?),
            reuse_prevention: optional(env.number(
                "PASSWORD_REUSE_PREVENTION",
                24,
                0..=*REUSE_PREVENTION_RANGE.end(),
            )?),
            hard_expiry: env.bool("HARD_EXPIRY", false)?,
        };
        Ok(Self {
            common: CommonSettings::from_env(env)?,
            floor,
        })
    }
}

impl AsRef<CommonSettings> for PasswordPolicies {
    fn as_ref(&self) -> &CommonSettings {
        &self.common
    }
}

fn optional(value: u32) -> Option<u32> {
    (value > 0).then_some(value)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a test fails loudly")]
mod tests {
    use iam_remediation::testing::assert_each_rejected;

    use super::*;

    #[test]
    fn defaults_match_the_contract() {
        assert_eq!(
            PasswordPolicies::defaults().floor,
            PasswordPolicy {
                minimum_length: 14,
                require_uppercase: true,
                require_lowercase: true,
                require_numbers: true,
                require_symbols: true,
                allow_users_to_change_password: true,
                max_age_days: Some(90),
                reuse_prevention: Some(24),
                hard_expiry: false,
            }
        );
    }

    #[test]
    fn every_variable_is_read() {
        let env = Env::from_pairs([
            ("MIN_PASSWORD_LENGTH", "128"),
            ("REQUIRE_UPPERCASE", "false"),
            ("REQUIRE_LOWERCASE", "FALSE"),
            ("REQUIRE_NUMBERS", "false"),
            ("REQUIRE_SYMBOLS", "false"),
            ("ALLOW_USERS_TO_CHANGE_PASSWORD", "false"),
            ("MAX_PASSWORD_AGE_DAYS", "1095"),
            ("PASSWORD_REUSE_PREVENTION", "1"),
            ("HARD_EXPIRY", "true"),
        ]);
        assert_eq!(
            PasswordPolicies::from_env(&env).unwrap().floor,
            PasswordPolicy {
                minimum_length: 128,
                require_uppercase: false,
                require_lowercase: false,
                require_numbers: false,
                require_symbols: false,
                allow_users_to_change_password: false,
                max_age_days: Some(1095),
                reuse_prevention: Some(1),
                hard_expiry: true,
            }
        );
    }

    #[test]
    fn zero_sets_no_floor_for_max_age_and_reuse() {
        let env = Env::from_pairs([
            ("MAX_PASSWORD_AGE_DAYS", "0"),
            ("PASSWORD_REUSE_PREVENTION", "0"),
        ]);
        let floor = PasswordPolicies::from_env(&env).unwrap().floor;
        assert_eq!((floor.max_age_days, floor.reuse_prevention), (None, None));
        assert_eq!(floor.minimum_length, 14);
    }

    #[test]
    fn bad_values_name_the_variable() {
        assert_each_rejected::<PasswordPolicies>(&[
            ("MIN_PASSWORD_LENGTH", "5"),
            ("MIN_PASSWORD_LENGTH", "129"),
            ("MIN_PASSWORD_LENGTH", "fourteen"),
            ("MAX_PASSWORD_AGE_DAYS", "2000"),
            ("MAX_PASSWORD_AGE_DAYS", "1096"),
            ("MAX_PASSWORD_AGE_DAYS", "-1"),
            ("PASSWORD_REUSE_PREVENTION", "25"),
            ("REQUIRE_UPPERCASE", "yes"),
            ("REQUIRE_LOWERCASE", "1"),
            ("REQUIRE_NUMBERS", "no"),
            ("REQUIRE_SYMBOLS", "maybe"),
            ("ALLOW_USERS_TO_CHANGE_PASSWORD", "y"),
            ("HARD_EXPIRY", "sometimes"),
        ]);
    }
}
