//! The root-credentials function's configuration.

use iam_remediation::{CommonSettings, ConfigError, Env, FromEnv};

/// The fewest days a root access key in use is warned before it is deleted, whatever
/// `WARN_DAYS` says (shared/DESIGN.md: "once the warning is `WARN_DAYS` old (at least 7 days)"):
/// someone's automation may still use it, and a root key cannot be made again by anyone once
/// the root user has no password.
pub const MIN_ROOT_WARN_DAYS: u32 = 7;

/// Everything `root-credentials` reads from its environment.
#[derive(Debug, Clone)]
pub struct RootCredentials {
    /// The common settings, with `warn_days` the effective warning period of root keys:
    /// `WARN_DAYS`, at least [`MIN_ROOT_WARN_DAYS`]. It is the only warning this function gives,
    /// so the pipeline's warnings (deadlines, reminders, the forecast) all count with it.
    pub common: CommonSettings,
    /// `MAX_KEY_UNUSED_DAYS`: a root key unused this long (counted from creation when never
    /// used) is deleted at once.
    pub max_key_unused_days: u32,
    /// `ROOT_REMOVE_PASSWORD`: also delete the root console password, deactivate its MFA devices
    /// and delete its signing certificates.
    pub remove_password: bool,
}

impl RootCredentials {
    /// The warning period of a root key in use: `WARN_DAYS`, at least [`MIN_ROOT_WARN_DAYS`].
    pub fn warn_days(&self) -> u32 {
        self.common.warn_days
    }
}

impl AsRef<CommonSettings> for RootCredentials {
    fn as_ref(&self) -> &CommonSettings {
        &self.common
    }
}

impl FromEnv for RootCredentials {
    fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let mut common = CommonSettings::from_env(env)?;
        common.warn_days = common.warn_days.max(MIN_ROOT_WARN_DAYS);
        Ok(Self {
            common,
            max_key_unused_days: env.number("MAX_KEY_UNUSED_DAYS", 90, 1..=3650)?,
            remove_password: env.bool("ROOT_REMOVE_PASSWORD", false)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use iam_remediation::testing::assert_each_rejected;

    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> RootCredentials {
        RootCredentials::from_env(&Env::from_pairs(pairs.iter().copied())).expect("valid")
    }

    #[test]
    fn defaults_match_the_contract() {
        let defaults = RootCredentials::defaults();
        assert_eq!(
            (
                defaults.max_key_unused_days,
                defaults.remove_password,
                defaults.warn_days()
            ),
            (90, false, 7),
            "MAX_KEY_UNUSED_DAYS 90, ROOT_REMOVE_PASSWORD false, root keys warned 7 days"
        );
        assert!(!defaults.common.dry_run);
    }

    #[test]
    fn root_keys_are_warned_at_least_seven_days() {
        for (warn_days, effective) in [("0", 7), ("1", 7), ("7", 7), ("8", 8), ("30", 30)] {
            assert_eq!(
                settings(&[("WARN_DAYS", warn_days)]).warn_days(),
                effective,
                "WARN_DAYS={warn_days}"
            );
        }
    }

    #[test]
    fn every_variable_is_read() {
        let read = settings(&[
            ("MAX_KEY_UNUSED_DAYS", "30"),
            ("ROOT_REMOVE_PASSWORD", "TRUE"),
            ("DRY_RUN", "true"),
        ]);
        assert_eq!(read.max_key_unused_days, 30);
        assert!(read.remove_password);
        assert!(read.common.dry_run);
    }

    #[test]
    fn bad_values_name_the_variable() {
        assert_each_rejected::<RootCredentials>(&[
            ("MAX_KEY_UNUSED_DAYS", "ninety"),
            ("MAX_KEY_UNUSED_DAYS", "0"),
            ("MAX_KEY_UNUSED_DAYS", "3651"),
            ("ROOT_REMOVE_PASSWORD", "yes"),
            ("ROOT_REMOVE_PASSWORD", "1"),
            ("WARN_DAYS", "a week"),
            ("WARN_DAYS", "366"),
        ]);
    }
}
