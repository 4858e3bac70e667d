//! Configuration from environment variables.
//!
//! Each function reads its variables once at start-up; a value it cannot use stops the start-up
//! with a message that names the variable, the value and what was expected, so a typo in a SAM
//! parameter shows in the first invocation's error instead of silently running with a default.

use std::collections::HashMap;
use std::fmt;
use std::ops::RangeInclusive;

use globset::{GlobSet, GlobSetBuilder};

/// The exemption tag's default key.
pub const DEFAULT_EXEMPT_TAG: &str = "iam-remediation:exempt";

/// A configuration variable with a value the function cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration: {variable}={value:?}: expected {expected}")]
pub struct ConfigError {
    pub variable: String,
    pub value: String,
    pub expected: String,
}

/// Where variables come from: the process environment in Lambda, a map in tests.
#[derive(Clone, Default)]
pub struct Env {
    overrides: HashMap<String, String>,
    read_process: bool,
}

impl fmt::Debug for Env {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Env")
            .field("overrides", &self.overrides.keys().collect::<Vec<_>>())
            .field("read_process", &self.read_process)
            .finish()
    }
}

impl Env {
    /// The process environment.
    pub fn process() -> Self {
        Self {
            overrides: HashMap::new(),
            read_process: true,
        }
    }

    /// Only the given variables (tests, tools).
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self {
            overrides: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
            read_process: false,
        }
    }

    /// The raw value, trimmed; an empty value counts as unset.
    pub fn get(&self, variable: &str) -> Option<String> {
        let raw = match self.overrides.get(variable) {
            Some(value) => Some(value.clone()),
            None if self.read_process => std::env::var(variable).ok(),
            None => None,
        };
        raw.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
    }

    /// A boolean: `true`/`false` (any case); unset gives `default`.
    pub fn bool(&self, variable: &str, default: bool) -> Result<bool, ConfigError> {
        match self.get(variable) {
            None => Ok(default),
            Some(value) => match value.to_ascii_lowercase().as_str() {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(invalid(variable, &value, "true or false")),
            },
        }
    }

    /// A whole number within `range`; unset gives `default`.
    pub fn number(
        &self,
        variable: &str,
        default: u32,
        range: RangeInclusive<u32>,
    ) -> Result<u32, ConfigError> {
        match self.get(variable) {
            None => Ok(default),
            Some(value) => value
                .parse::<u32>()
                .ok()
                .filter(|n| range.contains(n))
                .ok_or_else(|| {
                    invalid(
                        variable,
                        &value,
                        &format!("a whole number from {} to {}", range.start(), range.end()),
                    )
                }),
        }
    }

    /// One of `choices` (case-insensitive, returned lowercase); unset gives `default`.
    pub fn choice(
        &self,
        variable: &str,
        default: &'static str,
        choices: &[&'static str],
    ) -> Result<&'static str, ConfigError> {
        match self.get(variable) {
            None => Ok(default),
            Some(value) => choices
                .iter()
                .find(|c| c.eq_ignore_ascii_case(&value))
                .copied()
                .ok_or_else(|| {
                    invalid(variable, &value, &format!("one of {}", choices.join(", ")))
                }),
        }
    }

    /// A comma-separated list (items trimmed, empty items dropped).
    pub fn list(&self, variable: &str) -> Vec<String> {
        self.get(variable)
            .map(|value| {
                value
                    .split(',')
                    .map(str::trim)
                    .filter(|item| !item.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A string; unset gives `default`.
    pub fn string(&self, variable: &str, default: &str) -> String {
        self.get(variable).unwrap_or_else(|| default.to_owned())
    }
}

/// A configuration error for `variable`.
pub fn invalid(variable: &str, value: &str, expected: &str) -> ConfigError {
    ConfigError {
        variable: variable.to_owned(),
        value: value.to_owned(),
        expected: expected.to_owned(),
    }
}

/// Names in `EXEMPT_PRINCIPALS`, with `*` globs.
#[derive(Debug, Clone)]
pub struct ExemptNames {
    patterns: Vec<String>,
    set: GlobSet,
}

impl ExemptNames {
    /// Compiles the patterns; a malformed one is a configuration error.
    pub fn new(patterns: Vec<String>) -> Result<Self, ConfigError> {
        let mut builder = GlobSetBuilder::new();
        for pattern in &patterns {
            // IAM names never contain `/`, so the glob's path rules do not matter; a literal
            // separator keeps `*` from being special about anything IAM names can hold.
            let glob = globset::GlobBuilder::new(pattern)
                .literal_separator(true)
                .build()
                .map_err(|e| {
                    invalid(
                        "EXEMPT_PRINCIPALS",
                        pattern,
                        &format!("a name or glob ({e})"),
                    )
                })?;
            builder.add(glob);
        }
        let set = builder
            .build()
            .map_err(|e| invalid("EXEMPT_PRINCIPALS", &patterns.join(","), &e.to_string()))?;
        Ok(Self { patterns, set })
    }

    /// The pattern that matches `name`, if any.
    pub fn matching(&self, name: &str) -> Option<&str> {
        self.set
            .matches(name)
            .first()
            .map(|&index| self.patterns[index].as_str())
    }
}

impl Default for ExemptNames {
    fn default() -> Self {
        Self {
            patterns: Vec::new(),
            set: GlobSet::empty(),
        }
    }
}

/// The settings every function shares.
#[derive(Debug, Clone)]
pub struct CommonSettings {
    /// `DRY_RUN`: plan and report, change nothing.
    pub dry_run: bool,
    /// `MAX_ACTIONS`: a run that plans more changes than this changes nothing and fails.
    pub max_actions: usize,
    /// `EXEMPT_TAG`: the tag key that exempts a principal.
    pub exempt_tag: String,
    /// `EXEMPT_PRINCIPALS`: names and globs left alone.
    pub exempt_principals: ExemptNames,
}

impl CommonSettings {
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let exempt_tag = env.string("EXEMPT_TAG", DEFAULT_EXEMPT_TAG);
        if exempt_tag.len() > 128 {
            return Err(invalid(
                "EXEMPT_TAG",
                &exempt_tag,
                "a tag key of at most 128 characters",
            ));
        }
        Ok(Self {
            dry_run: env.bool("DRY_RUN", false)?,
            max_actions: env.number("MAX_ACTIONS", 25, 1..=10_000)? as usize,
            exempt_tag,
            exempt_principals: ExemptNames::new(env.list("EXEMPT_PRINCIPALS"))?,
        })
    }
}

impl Default for CommonSettings {
    fn default() -> Self {
        Self {
            dry_run: false,
            max_actions: 25,
            exempt_tag: DEFAULT_EXEMPT_TAG.to_owned(),
            exempt_principals: ExemptNames::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_apply_when_unset() {
        let settings = CommonSettings::from_env(&Env::from_pairs::<&str, &str>([])).unwrap();
        assert!(!settings.dry_run);
        assert_eq!(settings.max_actions, 25);
        assert_eq!(settings.exempt_tag, DEFAULT_EXEMPT_TAG);
        assert_eq!(settings.exempt_principals.matching("alice"), None);
    }

    #[test]
    fn bad_values_name_the_variable() {
        let err = CommonSettings::from_env(&Env::from_pairs([("DRY_RUN", "yes")])).unwrap_err();
        assert_eq!(err.variable, "DRY_RUN");
        assert!(err.to_string().contains("DRY_RUN=\"yes\""), "{err}");

        let err =
            CommonSettings::from_env(&Env::from_pairs([("MAX_ACTIONS", "lots")])).unwrap_err();
        assert_eq!(err.variable, "MAX_ACTIONS");
        let err = CommonSettings::from_env(&Env::from_pairs([("MAX_ACTIONS", "0")])).unwrap_err();
        assert_eq!(err.variable, "MAX_ACTIONS");
        let err = Env::from_pairs([("MAX_KEY_AGE_DAYS", "ninety")])
            .number("MAX_KEY_AGE_DAYS", 90, 1..=3650)
            .unwrap_err();
        assert!(err.to_string().contains("MAX_KEY_AGE_DAYS"), "{err}");
    }

    #[test]
    fn booleans_and_choices_are_case_insensitive() {
        let env = Env::from_pairs([("DRY_RUN", "TRUE"), ("KEY_ACTION", "Rotate")]);
        assert!(env.bool("DRY_RUN", false).unwrap());
        assert_eq!(
            env.choice("KEY_ACTION", "deactivate", &["deactivate", "rotate"])
                .unwrap(),
            "rotate"
        );
        let err = Env::from_pairs([("KEY_ACTION", "delete")])
            .choice("KEY_ACTION", "deactivate", &["deactivate", "rotate"])
            .unwrap_err();
        assert_eq!(err.expected, "one of deactivate, rotate");
    }

    #[test]
    fn exempt_principals_match_names_and_globs() {
        let env = Env::from_pairs([("EXEMPT_PRINCIPALS", " breakglass-*, ci-bot ,,")]);
        let settings = CommonSettings::from_env(&env).unwrap();
        let names = &settings.exempt_principals;
        assert_eq!(names.matching("breakglass-1"), Some("breakglass-*"));
        assert_eq!(names.matching("ci-bot"), Some("ci-bot"));
        assert_eq!(names.matching("ci-bot2"), None);
        assert_eq!(names.matching("alice"), None);
    }

    #[test]
    fn a_malformed_glob_is_a_configuration_error() {
        let err =
            CommonSettings::from_env(&Env::from_pairs([("EXEMPT_PRINCIPALS", "a[")])).unwrap_err();
        assert_eq!(err.variable, "EXEMPT_PRINCIPALS");
    }
}
