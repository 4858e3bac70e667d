//! The access-keys function's configuration.

use iam_remediation::{CommonSettings, ConfigError, Env, FromEnv};

/// What happens to an active key older than `MAX_KEY_AGE_DAYS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAction {
    Deactivate,
    Rotate,
}

/// Everything `access-keys` reads from its environment.
#[derive(Debug, Clone)]
pub struct AccessKeys {
    pub common: CommonSettings,
    pub key_action: KeyAction,
    pub max_key_age_days: u32,
    pub max_key_unused_days: u32,
    pub rotation_grace_days: u32,
    /// `0` never deletes.
    pub delete_inactive_after_days: u32,
    pub secret_prefix: String,
    /// `SECRET_KMS_KEY_ID` (optional): the KMS key that encrypts rotation secrets this function
    /// creates; unset means Secrets Manager's default key.
    pub secret_kms_key_id: Option<String>,
}

impl AccessKeys {
    /// The secret that holds `user`'s rotated key.
    pub fn secret_name(&self, user: &str) -> String {
        format!("{}{user}", self.secret_prefix)
    }
}

impl AsRef<CommonSettings> for AccessKeys {
    fn as_ref(&self) -> &CommonSettings {
        &self.common
    }
}

/// Whether Secrets Manager can hold a secret of that name: "The secret name can contain ASCII
/// letters, numbers, and the following characters: /_+=.@-" and at most 512 of them (Secrets
/// Manager API Reference, CreateSecret, Name). IAM user names may also hold `,`, which Secrets
/// Manager refuses: such a user is skipped before any key is created for it.
pub fn check_secret_name(name: &str) -> Result<(), String> {
    if name.len() > 512 {
        return Err("a secret name holds at most 512 characters".into());
    }
    match name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "/_+=.@-".contains(*c)))
    {
        Some(c) => Err(format!(
            "Secrets Manager names allow only letters, digits and /_+=.@-, not {c:?}"
        )),
        None => Ok(()),
    }
}

impl FromEnv for AccessKeys {
    fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let key_action = match env.choice("KEY_ACTION", "deactivate", &["deactivate", "rotate"])? {
            "rotate" => KeyAction::Rotate,
            _ => KeyAction::Deactivate,
        };
        let secret_prefix = env.string("SECRET_PREFIX", "iam-remediation/access-keys/");
        // User names add up to 64 characters to the prefix.
        if secret_prefix.len() > 448 || check_secret_name(&secret_prefix).is_err() {
            return Err(iam_remediation::config::invalid(
                "SECRET_PREFIX",
                &secret_prefix,
                "at most 448 characters of letters, digits and /_+=.@-",
            ));
        }
        Ok(Self {
            common: CommonSettings::from_env(env)?,
            key_action,
            max_key_age_days: env.number("MAX_KEY_AGE_DAYS", 90, 1..=3650)?,
            max_key_unused_days: env.number("MAX_KEY_UNUSED_DAYS", 90, 1..=3650)?,
            rotation_grace_days: env.number("ROTATION_GRACE_DAYS", 7, 0..=365)?,
            delete_inactive_after_days: env.number("DELETE_INACTIVE_AFTER_DAYS", 30, 0..=3650)?,
            secret_prefix,
            secret_kms_key_id: env.get("SECRET_KMS_KEY_ID"),
        })
    }
}

#[cfg(test)]
mod tests {
    use iam_remediation::testing::assert_each_rejected;

    use super::*;

    #[test]
    fn defaults_match_the_contract() {
        let settings = AccessKeys::defaults();
        assert_eq!(settings.key_action, KeyAction::Deactivate);
        assert_eq!(
            (
                settings.max_key_age_days,
                settings.max_key_unused_days,
                settings.rotation_grace_days,
                settings.delete_inactive_after_days
            ),
            (90, 90, 7, 30)
        );
        assert_eq!(settings.secret_prefix, "iam-remediation/access-keys/");
    }

    #[test]
    fn secret_names_follow_secrets_manager() {
        assert!(check_secret_name("iam-remediation/access-keys/svc+ci=1.a@b_c-d").is_ok());
        assert!(check_secret_name("iam-remediation/access-keys/svc,ci").is_err());
        assert!(check_secret_name(&"a".repeat(513)).is_err());
    }

    #[test]
    fn bad_values_name_the_variable() {
        assert_each_rejected::<AccessKeys>(&[
            ("MAX_KEY_AGE_DAYS", "ninety"),
            ("MAX_KEY_UNUSED_DAYS", "0"),
            ("ROTATION_GRACE_DAYS", "-1"),
            ("DELETE_INACTIVE_AFTER_DAYS", "x"),
            ("KEY_ACTION", "delete"),
            ("SECRET_PREFIX", "has space/"),
        ]);
    }
}
