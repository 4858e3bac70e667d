//! The console-passwords function, as configured.

use iam_remediation::{CommonSettings, ConfigError, Env, FromEnv};

/// The `console-passwords` function: everything it reads from its environment.
#[derive(Debug, Clone)]
pub struct ConsolePasswords {
    pub common: CommonSettings,
    /// `MAX_PASSWORD_UNUSED_DAYS`: a console password unused this long (counted from the time
    /// it was set if never used) is deleted.
    pub max_password_unused_days: u32,
    /// `MFA_GRACE_DAYS`: a console password whose user has no MFA device this many days after
    /// it was set is deleted; `0` turns the rule off.
    pub mfa_grace_days: u32,
}

impl FromEnv for ConsolePasswords {
    fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            common: CommonSettings::from_env(env)?,
            max_password_unused_days: env.number("MAX_PASSWORD_UNUSED_DAYS", 90, 1..=3650)?,
            mfa_grace_days: env.number("MFA_GRACE_DAYS", 0, 0..=3650)?,
        })
    }
}

impl AsRef<CommonSettings> for ConsolePasswords {
    fn as_ref(&self) -> &CommonSettings {
        &self.common
    }
}

#[cfg(test)]
mod tests {
    use iam_remediation::testing::assert_each_rejected;

    use super::*;

    #[test]
    fn defaults_match_the_contract() {
        let settings = ConsolePasswords::defaults();
        assert_eq!(settings.max_password_unused_days, 90);
        assert_eq!(settings.mfa_grace_days, 0, "the MFA rule is off by default");
        assert!(!settings.common.dry_run);
        assert_eq!(settings.common.max_actions, 25);
    }

    #[test]
    fn values_are_read() {
        let settings =
            ConsolePasswords::from_env(&Env::from_pairs([("MAX_PASSWORD_UNUSED_DAYS", " 45 ")]))
                .unwrap();
        assert_eq!(settings.max_password_unused_days, 45);
    }

    #[test]
    fn bad_values_name_the_variable() {
        assert_each_rejected::<ConsolePasswords>(&[
            ("MAX_PASSWORD_UNUSED_DAYS", "ninety"),
            ("MAX_PASSWORD_UNUSED_DAYS", "0"),
            ("MAX_PASSWORD_UNUSED_DAYS", "-5"),
            ("MAX_PASSWORD_UNUSED_DAYS", "3651"),
        ]);
    }
}
