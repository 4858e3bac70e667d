//! The inline-policies function's configuration.

use iam_remediation::config::invalid;
use iam_remediation::{CommonSettings, ConfigError, Env, FromEnv, PrincipalKind};

/// What happens to an inline policy (`INLINE_POLICY_ACTION`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InlinePolicyAction {
    /// Create a customer managed policy with the same document, attach it, then delete the
    /// inline policy.
    Convert,
    /// Delete the inline policy; the report and the log keep its document.
    Delete,
}

/// The `inline-policies` function: everything it reads from its environment.
#[derive(Debug, Clone)]
pub struct InlinePolicies {
    pub common: CommonSettings,
    pub action: InlinePolicyAction,
    /// The kinds of principal covered (`INLINE_POLICY_PRINCIPALS`), in the order users, groups,
    /// roles.
    pub principals: Vec<PrincipalKind>,
}

const PRINCIPALS: &str = "INLINE_POLICY_PRINCIPALS";
const PRINCIPALS_EXPECTED: &str = "a comma-separated list of users, groups, roles";

impl FromEnv for InlinePolicies {
    fn from_env(env: &Env) -> Result<Self, ConfigError> {
        let action = match env.choice("INLINE_POLICY_ACTION", "convert", &["convert", "delete"])? {
            "delete" => InlinePolicyAction::Delete,
            _ => InlinePolicyAction::Convert,
        };
        Ok(Self {
            common: CommonSettings::from_env(env)?,
            action,
            principals: principals(env)?,
        })
    }
}

impl AsRef<CommonSettings> for InlinePolicies {
    fn as_ref(&self) -> &CommonSettings {
        &self.common
    }
}

impl InlinePolicies {
    /// The value of `INLINE_POLICY_PRINCIPALS` in effect, for messages.
    pub fn principals_setting(&self) -> String {
        let names: Vec<&str> = self.principals.iter().map(|kind| kind.plural()).collect();
        format!("{PRINCIPALS}={}", names.join(","))
    }
}

fn principals(env: &Env) -> Result<Vec<PrincipalKind>, ConfigError> {
    let Some(raw) = env.get(PRINCIPALS) else {
        return Ok(vec![PrincipalKind::User, PrincipalKind::Group]);
    };
    let mut kinds = Vec::new();
    for item in env.list(PRINCIPALS) {
        let kind = match item.to_ascii_lowercase().as_str() {
            "users" => PrincipalKind::User,
            "groups" => PrincipalKind::Group,
            "roles" => PrincipalKind::Role,
            _ => return Err(invalid(PRINCIPALS, &raw, PRINCIPALS_EXPECTED)),
        };
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    if kinds.is_empty() {
        return Err(invalid(PRINCIPALS, &raw, PRINCIPALS_EXPECTED));
    }
    kinds.sort();
    Ok(kinds)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a test fails loudly")]
mod tests {
    use iam_remediation::testing::assert_each_rejected;

    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Result<InlinePolicies, ConfigError> {
        InlinePolicies::from_env(&Env::from_pairs(pairs.iter().copied()))
    }

    #[test]
    fn defaults_match_the_contract() {
        let settings = InlinePolicies::defaults();
        assert_eq!(settings.action, InlinePolicyAction::Convert);
        assert_eq!(
            settings.principals,
            vec![PrincipalKind::User, PrincipalKind::Group]
        );
        assert!(!settings.principals.contains(&PrincipalKind::Role));
        assert_eq!(
            settings.principals_setting(),
            "INLINE_POLICY_PRINCIPALS=users,groups"
        );
    }

    #[test]
    fn roles_can_be_added_and_kinds_left_out() {
        let all = settings(&[("INLINE_POLICY_PRINCIPALS", " Roles, users ,groups,users")]).unwrap();
        assert_eq!(
            all.principals,
            vec![
                PrincipalKind::User,
                PrincipalKind::Group,
                PrincipalKind::Role
            ]
        );
        let groups = settings(&[("INLINE_POLICY_PRINCIPALS", "groups")]).unwrap();
        assert_eq!(groups.principals, vec![PrincipalKind::Group]);
        let delete = settings(&[("INLINE_POLICY_ACTION", "DELETE")]).unwrap();
        assert_eq!(delete.action, InlinePolicyAction::Delete);
    }

    #[test]
    fn bad_values_name_the_variable() {
        assert_each_rejected::<InlinePolicies>(&[
            ("INLINE_POLICY_ACTION", "detach"),
            ("INLINE_POLICY_PRINCIPALS", "users,computers"),
            ("INLINE_POLICY_PRINCIPALS", "user"),
            ("INLINE_POLICY_PRINCIPALS", ",,"),
        ]);
    }
}
