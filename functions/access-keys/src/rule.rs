//! The access-key rule: a pure function of one user's keys, the settings and the clock.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use iam_remediation::facts::access_keys::KeyFacts;
use iam_remediation::plan::days_between;
use iam_remediation::{ActionKind, PlannedAction, Principal};

use crate::settings::{KeyAction, Settings};

/// Everything the rule knows about one user, read live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserKeys {
    pub user: String,
    pub keys: Vec<KeyFacts>,
    /// When this system deactivated a key, by key ID (user tags).
    pub deactivated: BTreeMap<String, DateTime<Utc>>,
    /// Rotations in progress: old key ID → its replacement's key ID (user tags).
    pub rotations: BTreeMap<String, String>,
}

/// What the apply stage does for one planned action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyOrder {
    /// Deactivate the key and record when.
    Deactivate { key_id: String },
    /// Delete the key (and its deactivation record, if any).
    Delete { key_id: String, has_record: bool },
    /// Create a replacement, store it in Secrets Manager, read it back; the old key stays
    /// active during the grace period.
    Rotate { key_id: String },
    /// Rotation's second step: deactivate the old key now that its replacement took over.
    RetireRotated { key_id: String, replacement: String },
}

impl KeyOrder {
    pub fn key_id(&self) -> &str {
        match self {
            Self::Deactivate { key_id }
            | Self::Delete { key_id, .. }
            | Self::Rotate { key_id }
            | Self::RetireRotated { key_id, .. } => key_id,
        }
    }
}

/// The planned changes for one user's keys under the hygiene rules.
pub fn plan(user: &UserKeys, settings: &Settings, now: DateTime<Utc>) -> Vec<PlannedAction<KeyOrder>> {
    let principal = Principal::user(&user.user);
    let mut actions = Vec::new();
    for key in &user.keys {
        if key.active {
            if let Some(action) = plan_active_key(user, key, settings, now) {
                actions.push(action);
            }
        } else if let Some(&deactivated_at) = user.deactivated.get(&key.id) {
            // Only keys this system deactivated (a record exists) are ever deleted by the rule.
            let quiet_days = settings.delete_inactive_after_days;
            if quiet_days > 0 && now - deactivated_at >= Duration::days(i64::from(quiet_days)) {
                actions.push(PlannedAction::new(
                    principal.clone(),
                    ActionKind::DeleteAccessKey,
                    &key.id,
                    format!(
                        "deactivated by iam-remediation {} days ago (limit {quiet_days})",
                        days_between(deactivated_at, now)
                    ),
                    KeyOrder::Delete {
                        key_id: key.id.clone(),
                        has_record: true,
                    },
                ));
            }
        }
    }
    actions
}

fn plan_active_key(
    user: &UserKeys,
    key: &KeyFacts,
    settings: &Settings,
    now: DateTime<Utc>,
) -> Option<PlannedAction<KeyOrder>> {
    let principal = Principal::user(&user.user);
    let age_days = days_between(key.created, now);
    let too_old = now - key.created > Duration::days(i64::from(settings.max_key_age_days));

    // A rotation in progress: retire the old key once the replacement is used or grace ends.
    if let Some(replacement_id) = user.rotations.get(&key.id) {
        let replacement = user.keys.iter().find(|k| &k.id == replacement_id && k.active);
        if let Some(replacement) = replacement {
            let grace = Duration::days(i64::from(settings.rotation_grace_days));
            let used = replacement.last_used.flatten();
            let reason = match used {
                Some(used) => Some(format!(
                    "replaced by {replacement_id}, which was used {} days ago",
                    days_between(used, now)
                )),
                None if now - replacement.created >= grace => Some(format!(
                    "replaced by {replacement_id} {} days ago (grace {} days)",
                    days_between(replacement.created, now),
                    settings.rotation_grace_days
                )),
                None => None,
            };
            return reason.map(|reason| {
                PlannedAction::new(
                    principal,
                    ActionKind::DeactivateAccessKey,
                    &key.id,
                    reason,
                    KeyOrder::RetireRotated {
                        key_id: key.id.clone(),
                        replacement: replacement_id.clone(),
                    },
                )
            });
        }
        // The replacement is gone or inactive: the rotation is void, judge the key afresh.
    }

    if too_old {
        let reason = format!(
            "created {age_days} days ago (limit {})",
            settings.max_key_age_days
        );
        return Some(match settings.key_action {
            KeyAction::Deactivate => deactivate(principal, key, reason),
            KeyAction::Rotate => rotate(user, key, reason, settings),
        });
    }

    // Unused for too long (counted from creation if never used), in both modes.
    let unused_limit = Duration::days(i64::from(settings.max_key_unused_days));
    let reason = match key.last_used {
        Some(Some(used)) if now - used > unused_limit => Some(format!(
            "last used {} days ago (limit {})",
            days_between(used, now),
            settings.max_key_unused_days
        )),
        Some(None) if now - key.created > unused_limit => Some(format!(
            "never used, created {age_days} days ago (limit {})",
            settings.max_key_unused_days
        )),
        // Used recently, or last use not read (the facts stage reads it for every active key
        // the age rule did not already condemn).
        _ => None,
    };
    reason.map(|reason| deactivate(principal, key, reason))
}

/// A rotation of `key`: blocked when the user has no room for a new key. The safe behaviour is
/// to wait: deleting or deactivating the other key to make room could leave the user's
/// consumers with no working key, so the operator decides (the report says why).
fn rotate(user: &UserKeys, key: &KeyFacts, reason: String, settings: &Settings) -> PlannedAction<KeyOrder> {
    let action = PlannedAction::new(
        Principal::user(&user.user),
        ActionKind::CreateAccessKey,
        &key.id,
        format!("{reason}: replace it, stored in secret {}{}", settings.secret_prefix, user.user),
        KeyOrder::Rotate {
            key_id: key.id.clone(),
        },
    );
    if user.keys.len() >= 2 {
        let others: Vec<String> = user
            .keys
            .iter()
            .filter(|k| k.id != key.id)
            .map(|k| format!("{} ({})", k.id, if k.active { "active" } else { "inactive" }))
            .collect();
        return action.blocked_by(format!(
            "no room for a new key: the user already has two ({} and {}); delete the unused one \
             to let rotation proceed",
            key.id,
            others.join(", ")
        ));
    }
    action
}

fn deactivate(principal: Principal, key: &KeyFacts, reason: String) -> PlannedAction<KeyOrder> {
    PlannedAction::new(
        principal,
        ActionKind::DeactivateAccessKey,
        &key.id,
        reason,
        KeyOrder::Deactivate {
            key_id: key.id.clone(),
        },
    )
}

/// True when the rule needs the key's last use (an active key the age rule does not settle).
pub fn needs_last_use(key: &KeyFacts, settings: &Settings, now: DateTime<Utc>) -> bool {
    key.active && now - key.created <= Duration::days(i64::from(settings.max_key_age_days))
}

/// An exposed key (AWS Health): deactivated at once, whatever its age or exemption.
pub fn plan_exposed(user: &str, key: &KeyFacts) -> Option<PlannedAction<KeyOrder>> {
    key.active.then(|| {
        deactivate(
            Principal::user(user),
            key,
            "reported exposed by AWS Health (AWS_RISK_CREDENTIALS_EXPOSED)".to_owned(),
        )
        .overriding_exemptions()
    })
}

/// An operator's explicit order on one key: done now, whatever its age or exemption.
pub fn plan_order(
    user: &UserKeys,
    key: &KeyFacts,
    action: iam_remediation::intake::KeyOrderAction,
    settings: &Settings,
) -> PlannedAction<KeyOrder> {
    use iam_remediation::intake::KeyOrderAction;
    let principal = Principal::user(&user.user);
    let reason = "operator's order (manual payload)";
    let action = match action {
        KeyOrderAction::Deactivate => PlannedAction::new(
            principal,
            ActionKind::DeactivateAccessKey,
            &key.id,
            reason,
            KeyOrder::Deactivate {
                key_id: key.id.clone(),
            },
        ),
        KeyOrderAction::Delete => PlannedAction::new(
            principal,
            ActionKind::DeleteAccessKey,
            &key.id,
            reason,
            KeyOrder::Delete {
                key_id: key.id.clone(),
                has_record: user.deactivated.contains_key(&key.id),
            },
        ),
        KeyOrderAction::Rotate => rotate(user, key, reason.to_owned(), settings),
    };
    action.overriding_exemptions()
}

/// True when a credential-report row may have something to fix and is worth a live look: an
/// active key old enough for the age rule or unused for long enough, or an inactive key old
/// enough to have finished its quiet period. The report can be hours old, so this only picks
/// candidates; the decision is made on live facts.
pub fn is_candidate(row: &iam_remediation::facts::ReportUser, settings: &Settings, now: DateTime<Utc>) -> bool {
    let older_than = |time: Option<DateTime<Utc>>, days: u32| {
        time.is_some_and(|t| now - t > Duration::days(i64::from(days)))
    };
    row.keys.iter().filter(|key| key.exists()).any(|key| {
        let created = key.last_rotated.at();
        if key.active {
            let last_activity = key.last_used.at().or(created);
            older_than(created, settings.max_key_age_days)
                || older_than(last_activity, settings.max_key_unused_days)
        } else {
            // A key deactivated N days ago was created at least N days ago.
            let quiet = Duration::days(i64::from(settings.delete_inactive_after_days));
            settings.delete_inactive_after_days > 0 && created.is_some_and(|c| now - c >= quiet)
        }
    })
}
