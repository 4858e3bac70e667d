//! Configuration from environment variables.
//!
//! Each function reads its variables once at start-up; a value it cannot use stops the start-up
//! with a message that names the variable, the value and what was expected, so a typo in a SAM
//! parameter shows in the first invocation's error instead of silently running with a default.

use std::collections::HashMap;
use std::fmt;
use std::ops::RangeInclusive;

/// The exemption tag's default key.
pub const DEFAULT_EXEMPT_TAG: &str = "iam-remediation:exempt";
/// The owner tag's default key.
pub const DEFAULT_OWNER_TAG: &str = "owner";

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

/// Settings read from environment variables.
pub trait FromEnv: Sized {
    /// Reads the settings; a value that cannot be used is an error naming its variable.
    fn from_env(env: &Env) -> Result<Self, ConfigError>;

    /// The settings when no variable is set: the contract's defaults.
    fn defaults() -> Self {
        Self::from_env(&Env::from_pairs::<&str, &str>([])).expect("the defaults are valid")
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

/// Names in `EXEMPT_PRINCIPALS`: exact names, or globs where `*` stands for any run of
/// characters and `?` for one. Matched regardless of case, as IAM names are unique regardless of
/// case: `breakglass-*` protects `BreakGlass-1`.
#[derive(Debug, Clone, Default)]
pub struct ExemptNames {
    patterns: Vec<String>,
}

impl ExemptNames {
    /// Checks the patterns: IAM name characters plus `*` and `?`; anything else could never match
    /// and is a configuration error rather than a silent gap in the exemptions.
    pub fn new(patterns: Vec<String>) -> Result<Self, ConfigError> {
        for pattern in &patterns {
            let name_chars = pattern.replace(['*', '?'], "a");
            if !crate::principal::is_valid_name(&name_chars) {
                return Err(invalid(
                    "EXEMPT_PRINCIPALS",
                    pattern,
                    "names or globs of letters, digits, +=,.@_- and the wildcards * and ?",
                ));
            }
        }
        Ok(Self { patterns })
    }

    /// The pattern that matches `name`, if any.
    pub fn matching(&self, name: &str) -> Option<&str> {
        self.patterns
            .iter()
            .find(|pattern| glob_matches(pattern, name))
            .map(String::as_str)
    }
}

/// Wildcard matching (`*`: any run of characters, `?`: one character), ASCII case-insensitive.
/// The classic linear backtracking: on a mismatch, the last `*` takes one more character.
fn glob_matches(pattern: &str, name: &str) -> bool {
    let pattern = pattern.as_bytes();
    let name = name.as_bytes();
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, n));
                p += 1;
            }
            Some(&c) if c == b'?' || c.eq_ignore_ascii_case(&name[n]) => {
                p += 1;
                n += 1;
            }
            _ => match star {
                Some((star_p, star_n)) => {
                    p = star_p + 1;
                    n = star_n + 1;
                    star = Some((star_p, star_n + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// The settings every function shares.
#[derive(Debug, Clone)]
pub struct CommonSettings {
    /// `DRY_RUN`: plan and report, change nothing.
    pub dry_run: bool,
    /// `MAX_ACTIONS`: a run that plans more changes than this changes nothing and fails.
    pub max_actions: usize,
    /// `EXEMPT_TAG`: the tag key that exempts a principal (matched regardless of case, as IAM
    /// tag keys on users and roles are).
    pub exempt_tag: String,
    /// `EXEMPT_PRINCIPALS`: names and globs left alone.
    pub exempt_principals: ExemptNames,
    /// `WARN_DAYS`: a non-urgent action is first warned, and happens once the warning is this
    /// many days old; `0` acts at once.
    pub warn_days: u32,
    /// `OWNER_TAG`: the principal tag whose value is put on its warnings.
    pub owner_tag: String,
    /// `NOTIFY_TOPIC_ARN`: where run summaries and warnings are published; `None` is off.
    pub notify_topic_arn: Option<String>,
    /// `MAX_CONCURRENCY`: principals read and changed at once.
    pub max_concurrency: usize,
    /// `MEMBER_ROLE_NAME`: organisation mode, the role (path `/iam-remediation/`) assumed in
    /// each member account; `None` is account mode.
    pub member_role_name: Option<String>,
    /// `EXEMPT_ACCOUNTS`: organisation mode, accounts never acted on.
    pub exempt_accounts: Vec<String>,
    /// `AWS_LAMBDA_FUNCTION_NAME` (set by Lambda): the function invokes itself by this name to
    /// fan a sweep out, one invocation per account.
    pub function_name: Option<String>,
}

impl CommonSettings {
    /// True in organisation mode (`MEMBER_ROLE_NAME` set).
    pub fn organisation(&self) -> bool {
        self.member_role_name.is_some()
    }

    /// True when `account` is in `EXEMPT_ACCOUNTS`.
    pub fn exempts_account(&self, account: &str) -> bool {
        self.exempt_accounts.iter().any(|exempt| exempt == account)
    }
}

/// True for an AWS account ID: twelve digits.
pub fn is_account_id(value: &str) -> bool {
    value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit())
}

impl FromEnv for CommonSettings {
    fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let tag_key = |variable: &str, default: &str| {
            let key = env.string(variable, default);
            if key.len() > 128 {
                return Err(invalid(
                    variable,
                    &key,
                    "a tag key of at most 128 characters",
                ));
            }
            Ok(key)
        };
        let notify_topic_arn = env.get("NOTIFY_TOPIC_ARN");
        if let Some(arn) = &notify_topic_arn
            && crate::principal::Arn::parse(arn).is_none_or(|arn| arn.service != "sns")
        {
            return Err(invalid("NOTIFY_TOPIC_ARN", arn, "an SNS topic ARN"));
        }
        Ok(Self {
            dry_run: env.bool("DRY_RUN", false)?,
            max_actions: env.number("MAX_ACTIONS", 25, 1..=10_000)? as usize,
            exempt_tag: tag_key("EXEMPT_TAG", DEFAULT_EXEMPT_TAG)?,
            exempt_principals: ExemptNames::new(env.list("EXEMPT_PRINCIPALS"))?,
            warn_days: env.number("WARN_DAYS", 0, 0..=365)?,
            owner_tag: tag_key("OWNER_TAG", DEFAULT_OWNER_TAG)?,
            notify_topic_arn,
            max_concurrency: env.number("MAX_CONCURRENCY", 8, 1..=64)? as usize,
            member_role_name: member_role_name(env)?,
            exempt_accounts: exempt_accounts(env)?,
            function_name: env.get("AWS_LAMBDA_FUNCTION_NAME"),
        })
    }
}

/// `MEMBER_ROLE_NAME`: a role name IAM accepts (at most 64 of its name characters), without
/// the path, which is always `/iam-remediation/`.
fn member_role_name(env: &Env) -> Result<Option<String>, ConfigError> {
    let Some(name) = env.get("MEMBER_ROLE_NAME") else {
        return Ok(None);
    };
    if name.len() > 64 || !crate::principal::is_valid_name(&name) {
        return Err(invalid(
            "MEMBER_ROLE_NAME",
            &name,
            "an IAM role name (at most 64 letters, digits and +=,.@_-), without its path",
        ));
    }
    Ok(Some(name))
}

/// `EXEMPT_ACCOUNTS`: comma-separated account IDs; anything else could never match an account
/// and is refused rather than left as a silent gap in the exemptions.
fn exempt_accounts(env: &Env) -> Result<Vec<String>, ConfigError> {
    let accounts = env.list("EXEMPT_ACCOUNTS");
    if let Some(bad) = accounts.iter().find(|account| !is_account_id(account)) {
        return Err(invalid(
            "EXEMPT_ACCOUNTS",
            bad,
            "comma-separated 12-digit account IDs",
        ));
    }
    Ok(accounts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn organisation_settings_are_checked() {
        let defaults = CommonSettings::from_env(&Env::from_pairs::<&str, &str>([])).unwrap();
        assert!(!defaults.organisation());
        let env = Env::from_pairs([
            ("MEMBER_ROLE_NAME", "iam-remediation-member"),
            ("EXEMPT_ACCOUNTS", "111122223333, 444455556666"),
        ]);
        let settings = CommonSettings::from_env(&env).unwrap();
        assert!(settings.organisation());
        assert!(settings.exempts_account("444455556666"));
        assert!(!settings.exempts_account("777788889999"));
        for (variable, value) in [
            ("EXEMPT_ACCOUNTS", "111122223333,12345"),
            ("EXEMPT_ACCOUNTS", "11112222333a"),
            ("MEMBER_ROLE_NAME", "iam-remediation/member"),
            ("MEMBER_ROLE_NAME", &"r".repeat(65)),
        ] {
            let err = CommonSettings::from_env(&Env::from_pairs([(variable, value)])).unwrap_err();
            assert_eq!(err.variable, variable, "{value}");
        }
    }

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

    #[test]
    fn globs_match_regardless_of_case() {
        let names = ExemptNames::new(vec![
            "breakglass-*".into(),
            "ci-?".into(),
            "*-admin*".into(),
        ])
        .unwrap();
        for (name, expected) in [
            ("breakglass-1", Some("breakglass-*")),
            ("BreakGlass-1", Some("breakglass-*")),
            ("BREAKGLASS-", Some("breakglass-*")),
            ("breakglass", None),
            ("ci-1", Some("ci-?")),
            ("CI-X", Some("ci-?")),
            ("ci-12", None),
            ("ops-admin", Some("*-admin*")),
            ("ops-ADMIN-2", Some("*-admin*")),
            ("opsadmin", None),
            ("alice", None),
        ] {
            assert_eq!(names.matching(name), expected, "{name}");
        }
        let star = ExemptNames::new(vec!["*".into()]).unwrap();
        assert_eq!(star.matching("anyone"), Some("*"));
        let backtrack = ExemptNames::new(vec!["a*b*c".into()]).unwrap();
        assert_eq!(backtrack.matching("aXbYbZc"), Some("a*b*c"));
        assert_eq!(backtrack.matching("aXbYbZ"), None);
    }

    #[test]
    fn warnings_notifications_and_concurrency() {
        let settings = CommonSettings::defaults();
        assert_eq!(
            (
                settings.warn_days,
                settings.owner_tag.as_str(),
                settings.max_concurrency
            ),
            (0, "owner", 8)
        );
        assert_eq!(settings.notify_topic_arn, None);
        let env = Env::from_pairs([
            ("WARN_DAYS", "7"),
            ("OWNER_TAG", "team"),
            ("MAX_CONCURRENCY", "2"),
            (
                "NOTIFY_TOPIC_ARN",
                "arn:aws:sns:us-east-1:123456789012:iam-remediation",
            ),
        ]);
        let settings = CommonSettings::from_env(&env).unwrap();
        assert_eq!((settings.warn_days, settings.max_concurrency), (7, 2));
        assert_eq!(settings.owner_tag, "team");
        crate::testing::assert_each_rejected::<CommonSettings>(&[
            ("WARN_DAYS", "soon"),
            ("MAX_CONCURRENCY", "0"),
            ("NOTIFY_TOPIC_ARN", "my-topic"),
            ("NOTIFY_TOPIC_ARN", "arn:aws:sqs:us-east-1:123456789012:q"),
        ]);
    }
}
