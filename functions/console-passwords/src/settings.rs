//! The console-passwords function's configuration.

use iam_remediation::{CommonSettings, ConfigError, Env};

/// Everything `console-passwords` reads from its environment.
#[derive(Debug, Clone)]
pub struct Settings {
    pub common: CommonSettings,
    /// `MAX_PASSWORD_UNUSED_DAYS`: a console password unused this long (counted from the login
    /// profile's creation if never used) is deleted.
    pub max_password_unused_days: u32,
}

impl Settings {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            common: CommonSettings::from_env(env)?,
            max_password_unused_days: env.number("MAX_PASSWORD_UNUSED_DAYS", 90, 1..=3650)?,
        })
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self::from_env(&Env::from_pairs::<&str, &str>([])).expect("the defaults are valid")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_contract() {
        let settings = Settings::default();
        assert_eq!(settings.max_password_unused_days, 90);
        assert!(!settings.common.dry_run);
        assert_eq!(settings.common.max_actions, 25);
    }

    #[test]
    fn values_are_read() {
        let settings =
            Settings::from_env(&Env::from_pairs([("MAX_PASSWORD_UNUSED_DAYS", " 45 ")])).unwrap();
        assert_eq!(settings.max_password_unused_days, 45);
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (variable, value) in [
            ("MAX_PASSWORD_UNUSED_DAYS", "ninety"),
            ("MAX_PASSWORD_UNUSED_DAYS", "0"),
            ("MAX_PASSWORD_UNUSED_DAYS", "-5"),
            ("MAX_PASSWORD_UNUSED_DAYS", "3651"),
            ("MAX_ACTIONS", "many"),
            ("DRY_RUN", "maybe"),
        ] {
            let err = Settings::from_env(&Env::from_pairs([(variable, value)])).unwrap_err();
            assert_eq!(err.variable, variable);
            assert!(err.to_string().contains(variable), "{err}");
        }
    }
}
