//! The access-key rule: a pure function of one user's keys, the settings and the clock.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use iam_remediation::facts::access_keys::{KeyFacts, KeyRecord};
use iam_remediation::plan::days_between;
use iam_remediation::{ActionKind, PlannedAction, Principal};

use crate::settings::{KeyAction, Settings};

/// Everything the rule knows about one user, read live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserKeys {
    pub user: String,
    pub keys: Vec<KeyFacts>,
    /// What this system did to each key, by key ID (user tags).
    pub records: BTreeMap<String, KeyRecord>,
}

impl UserKeys {
    /// When this system deactivated the key, if it did.
    pub fn deactivated_at(&self, key_id: &str) -> Option<DateTime<Utc>> {
        match self.records.get(key_id) {
            Some(KeyRecord::Deactivated(at)) => Some(*at),
            _ => None,
        }
    }

    /// The replacement of a key being rotated.
    pub fn replacement_of(&self, key_id: &str) -> Option<&str> {
        match self.records.get(key_id) {
            Some(KeyRecord::ReplacedBy(replacement)) => Some(replacement),
            _ => None,
        }
    }
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
    /// Create and store a replacement for a key that was just deactivated (an exposed key in
    /// rotate mode): no grace period, the old key is already off.
    Replace { key_id: String },
}

impl KeyOrder {
    pub fn key_id(&self) -> &str {
        match self {
            Self::Deactivate { key_id }
            | Self::Delete { key_id, .. }
            | Self::Rotate { key_id }
            | Self::Replace { key_id }
            | Self::RetireRotated { key_id, .. } => key_id,
        }
    }
}

/// The planned changes for one user's keys under the hygiene rules.
pub fn plan(
    user: &UserKeys,
    settings: &Settings,
    now: DateTime<Utc>,
) -> Vec<PlannedAction<KeyOrder>> {
    let principal = Principal::user(&user.user);
    let mut actions = Vec::new();
    for key in &user.keys {
        if key.active {
            if let Some(action) = plan_active_key(user, key, settings, now) {
                actions.push(action);
            }
        } else if let Some(deactivated_at) = user.deactivated_at(&key.id) {
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
    if let Some(replacement_id) = user.replacement_of(&key.id) {
        let replacement = user
            .keys
            .iter()
            .find(|k| k.id == replacement_id && k.active);
        if let Some(replacement) = replacement {
            let grace = Duration::days(i64::from(settings.rotation_grace_days));
            let replacement_used = replacement.last_used.flatten();
            let reason = match replacement_used {
                Some(at) => Some(format!(
                    "replaced by {replacement_id}, which was used {} days ago",
                    days_between(at, now)
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
                        replacement: replacement_id.to_owned(),
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
            KeyAction::Rotate => rotate(user, key, &reason, settings),
        });
    }

    // Unused for too long (counted from creation if never used), in both modes.
    let unused_limit = Duration::days(i64::from(settings.max_key_unused_days));
    let reason = match key.last_used {
        Some(Some(last_use)) if now - last_use > unused_limit => Some(format!(
            "last used {} days ago (limit {})",
            days_between(last_use, now),
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
fn rotate(
    user: &UserKeys,
    key: &KeyFacts,
    reason: &str,
    settings: &Settings,
) -> PlannedAction<KeyOrder> {
    let action = PlannedAction::new(
        Principal::user(&user.user),
        ActionKind::CreateAccessKey,
        &key.id,
        format!(
            "{reason}: replace it, stored in secret {}{}",
            settings.secret_prefix, user.user
        ),
        KeyOrder::Rotate {
            key_id: key.id.clone(),
        },
    );
    if user.keys.len() >= 2 {
        let others: Vec<String> = user
            .keys
            .iter()
            .filter(|k| k.id != key.id)
            .map(|k| {
                format!(
                    "{} ({})",
                    k.id,
                    if k.active { "active" } else { "inactive" }
                )
            })
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

/// True when the rule needs the key's last use: an active key old enough for the unused rule
/// that the age rule does not already settle.
pub fn needs_last_use(key: &KeyFacts, settings: &Settings, now: DateTime<Utc>) -> bool {
    let age = now - key.created;
    // A key younger than the unused limit cannot have been unused that long (unused time counts
    // from creation), and one older than the age limit is settled by the age rule.
    key.active
        && age > Duration::days(i64::from(settings.max_key_unused_days))
        && age <= Duration::days(i64::from(settings.max_key_age_days))
}

/// An exposed key (AWS Health): deactivated at once, whatever its age or exemption. In rotate
/// mode a replacement is then created and stored (when the user has room for one).
pub fn plan_exposed(
    user: &UserKeys,
    key: &KeyFacts,
    settings: &Settings,
) -> Vec<PlannedAction<KeyOrder>> {
    if !key.active {
        return Vec::new();
    }
    let reason = "reported exposed by AWS Health (AWS_RISK_CREDENTIALS_EXPOSED)";
    let mut actions = vec![
        deactivate(Principal::user(&user.user), key, reason.to_owned()).overriding_exemptions(),
    ];
    if settings.key_action == KeyAction::Rotate {
        let mut replace = rotate(user, key, reason, settings).overriding_exemptions();
        replace.order = KeyOrder::Replace {
            key_id: key.id.clone(),
        };
        actions.push(replace);
    }
    actions
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
                has_record: user.records.contains_key(&key.id),
            },
        ),
        KeyOrderAction::Rotate => rotate(user, key, reason, settings),
    };
    action.overriding_exemptions()
}

/// True when a credential-report row may have something to fix and is worth a live look: an
/// active key old enough for the age rule or unused for long enough, or an inactive key old
/// enough to have finished its quiet period. The report can be hours old, so this only picks
/// candidates; the decision is made on live facts.
pub fn is_candidate(
    row: &iam_remediation::facts::ReportUser,
    settings: &Settings,
    now: DateTime<Utc>,
) -> bool {
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

#[cfg(test)]
mod tests {
    //! The rule table. Given a user's keys, settings and the clock, when planned, then exactly
    //! these actions.

    use super::*;
    use iam_remediation::intake::KeyOrderAction;
    use iam_remediation::plan::Authority;
    use iam_remediation::{Env, PrincipalKind};

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-06-15T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn days_ago(days: i64) -> DateTime<Utc> {
        now() - Duration::days(days)
    }

    fn settings(pairs: &[(&str, &str)]) -> Settings {
        Settings::from_env(&Env::from_pairs(pairs.iter().copied())).unwrap()
    }

    /// An active key `age` days old, last used `used` days ago (`None`: never).
    fn active(id: &str, age: i64, used: Option<i64>) -> KeyFacts {
        KeyFacts {
            id: id.into(),
            active: true,
            created: days_ago(age),
            last_used: Some(used.map(days_ago)),
        }
    }

    fn inactive(id: &str, age: i64) -> KeyFacts {
        KeyFacts {
            id: id.into(),
            active: false,
            created: days_ago(age),
            last_used: None,
        }
    }

    fn user(keys: Vec<KeyFacts>) -> UserKeys {
        UserKeys {
            user: "alice".into(),
            keys,
            records: BTreeMap::new(),
        }
    }

    /// (action, target, reason) of each planned action.
    fn planned(user: &UserKeys, settings: &Settings) -> Vec<(&'static str, String, String)> {
        plan(user, settings, now())
            .into_iter()
            .map(|a| {
                (
                    a.kind.as_str(),
                    a.target,
                    a.blocked.map_or(a.reason, |b| format!("BLOCKED {b}")),
                )
            })
            .collect()
    }

    fn row(action: &'static str, target: &str, reason: &str) -> (&'static str, String, String) {
        (action, target.to_owned(), reason.to_owned())
    }

    #[test]
    fn age_rule() {
        let s = settings(&[]);
        assert_eq!(
            planned(&user(vec![active("OLD", 91, Some(1))]), &s),
            vec![row(
                "deactivate-access-key",
                "OLD",
                "created 91 days ago (limit 90)"
            )]
        );
        assert!(
            planned(&user(vec![active("EDGE", 90, Some(1))]), &s).is_empty(),
            "exactly at the limit is not older"
        );
        assert!(planned(&user(vec![active("NEW", 1, Some(0))]), &s).is_empty());
    }

    #[test]
    fn unused_rule_counts_from_last_use_or_creation() {
        let s = settings(&[("MAX_KEY_UNUSED_DAYS", "30")]);
        assert_eq!(
            planned(&user(vec![active("STALE", 60, Some(31))]), &s),
            vec![row(
                "deactivate-access-key",
                "STALE",
                "last used 31 days ago (limit 30)"
            )]
        );
        assert_eq!(
            planned(&user(vec![active("NEVER", 31, None)]), &s),
            vec![row(
                "deactivate-access-key",
                "NEVER",
                "never used, created 31 days ago (limit 30)"
            )]
        );
        assert!(planned(&user(vec![active("RECENT", 60, Some(29))]), &s).is_empty());
        assert!(
            planned(&user(vec![active("YOUNG", 29, None)]), &s).is_empty(),
            "never used but young"
        );
        // Last use not read: the unused rule cannot judge and does nothing.
        let mut unknown = active("UNKNOWN", 60, None);
        unknown.last_used = None;
        assert!(planned(&user(vec![unknown]), &s).is_empty());
    }

    #[test]
    fn the_age_rule_wins_over_the_unused_rule() {
        let s = settings(&[("MAX_KEY_UNUSED_DAYS", "30")]);
        assert_eq!(
            planned(&user(vec![active("BOTH", 200, None)]), &s),
            vec![row(
                "deactivate-access-key",
                "BOTH",
                "created 200 days ago (limit 90)"
            )]
        );
    }

    #[test]
    fn two_keys_are_judged_one_by_one() {
        let s = settings(&[]);
        assert_eq!(
            planned(
                &user(vec![active("OLD", 200, Some(1)), active("NEW", 3, Some(0))]),
                &s
            ),
            vec![row(
                "deactivate-access-key",
                "OLD",
                "created 200 days ago (limit 90)"
            )]
        );
        assert_eq!(
            planned(
                &user(vec![active("A", 100, Some(1)), active("B", 120, Some(1))]),
                &s
            )
            .len(),
            2
        );
    }

    #[test]
    fn inactive_keys_are_deleted_only_with_a_record_after_the_quiet_period() {
        let s = settings(&[]);
        let mut ours = user(vec![inactive("OURS", 200), inactive("THEIRS", 300)]);
        ours.records
            .insert("OURS".into(), KeyRecord::Deactivated(days_ago(30)));
        assert_eq!(
            planned(&ours, &s),
            vec![row(
                "delete-access-key",
                "OURS",
                "deactivated by iam-remediation 30 days ago (limit 30)"
            )]
        );
        ours.records
            .insert("OURS".into(), KeyRecord::Deactivated(days_ago(29)));
        assert!(planned(&ours, &s).is_empty(), "quiet period not over");
        ours.records
            .insert("OURS".into(), KeyRecord::Deactivated(days_ago(400)));
        assert!(
            planned(&ours, &settings(&[("DELETE_INACTIVE_AFTER_DAYS", "0")])).is_empty(),
            "0 never deletes"
        );
        let orders: Vec<_> = plan(&ours, &s, now())
            .into_iter()
            .map(|a| a.order)
            .collect();
        assert_eq!(
            orders,
            vec![KeyOrder::Delete {
                key_id: "OURS".into(),
                has_record: true
            }]
        );
    }

    #[test]
    fn a_record_on_an_active_key_does_not_delete_it() {
        let mut reactivated = user(vec![active("K", 10, Some(0))]);
        reactivated
            .records
            .insert("K".into(), KeyRecord::Deactivated(days_ago(100)));
        assert!(planned(&reactivated, &settings(&[])).is_empty());
    }

    #[test]
    fn rule_actions_respect_exemptions_and_orders_override_them() {
        let s = settings(&[]);
        let actions = plan(&user(vec![active("OLD", 200, Some(1))]), &s, now());
        assert_eq!(actions[0].authority, Authority::Rule);
        assert_eq!(actions[0].principal.kind, PrincipalKind::User);
        let exposed_user = user(vec![active("EXPOSED", 1, Some(0))]);
        let exposed = plan_exposed(&exposed_user, &exposed_user.keys[0], &s);
        assert_eq!(exposed.len(), 1);
        assert_eq!(exposed[0].authority, Authority::Override);
        assert_eq!(exposed[0].kind.as_str(), "deactivate-access-key");
        let off = user(vec![inactive("GONE", 1)]);
        assert!(
            plan_exposed(&off, &off.keys[0], &s).is_empty(),
            "already inactive"
        );

        // Rotate mode: deactivate at once, then a replacement.
        let rotate = settings(&[("KEY_ACTION", "rotate")]);
        let exposed = plan_exposed(&exposed_user, &exposed_user.keys[0], &rotate);
        let orders: Vec<_> = exposed
            .iter()
            .map(|a| (a.kind.as_str(), a.order.clone(), a.authority))
            .collect();
        assert_eq!(
            orders,
            vec![
                (
                    "deactivate-access-key",
                    KeyOrder::Deactivate {
                        key_id: "EXPOSED".into()
                    },
                    Authority::Override
                ),
                (
                    "create-access-key",
                    KeyOrder::Replace {
                        key_id: "EXPOSED".into()
                    },
                    Authority::Override
                ),
            ]
        );
        let alice = user(vec![active("FRESH", 1, Some(0))]);
        for (order, kind) in [
            (KeyOrderAction::Deactivate, "deactivate-access-key"),
            (KeyOrderAction::Delete, "delete-access-key"),
            (KeyOrderAction::Rotate, "create-access-key"),
        ] {
            let action = plan_order(&alice, &alice.keys[0], order, &s);
            assert_eq!(action.kind.as_str(), kind);
            assert_eq!(action.authority, Authority::Override);
            assert_eq!(action.target, "FRESH");
        }
    }

    #[test]
    fn rotate_mode_replaces_old_keys_and_still_deactivates_unused_ones() {
        let s = settings(&[("KEY_ACTION", "rotate"), ("MAX_KEY_UNUSED_DAYS", "30")]);
        let actions = plan(&user(vec![active("OLD", 200, Some(1))]), &s, now());
        assert_eq!(actions.len(), 1);
        assert_eq!(actions[0].kind.as_str(), "create-access-key");
        assert_eq!(
            actions[0].order,
            KeyOrder::Rotate {
                key_id: "OLD".into()
            }
        );
        assert!(
            actions[0]
                .reason
                .contains("iam-remediation/access-keys/alice"),
            "{}",
            actions[0].reason
        );
        assert_eq!(
            planned(&user(vec![active("STALE", 60, Some(40))]), &s),
            vec![row(
                "deactivate-access-key",
                "STALE",
                "last used 40 days ago (limit 30)"
            )]
        );
    }

    #[test]
    fn rotation_without_room_is_blocked_with_the_reason() {
        let s = settings(&[("KEY_ACTION", "rotate")]);
        let full = user(vec![active("OLD", 200, Some(1)), inactive("SPARE", 10)]);
        let actions = plan(&full, &s, now());
        let blocked = actions[0].blocked.as_deref().unwrap();
        assert!(
            blocked.contains("no room for a new key") && blocked.contains("SPARE (inactive)"),
            "{blocked}"
        );
    }

    #[test]
    fn a_rotated_key_is_retired_after_first_use_of_its_replacement_or_after_grace() {
        let s = settings(&[("KEY_ACTION", "rotate")]);
        let mut rotating = user(vec![active("OLD", 200, Some(1)), active("NEW", 2, None)]);
        rotating
            .records
            .insert("OLD".into(), KeyRecord::ReplacedBy("NEW".into()));
        assert!(
            planned(&rotating, &s).is_empty(),
            "grace: the old key stays active"
        );

        rotating.keys[1] = active("NEW", 2, Some(0));
        assert_eq!(
            planned(&rotating, &s),
            vec![row(
                "deactivate-access-key",
                "OLD",
                "replaced by NEW, which was used 0 days ago"
            )]
        );

        rotating.keys[1] = active("NEW", 7, None);
        assert_eq!(
            planned(&rotating, &s),
            vec![row(
                "deactivate-access-key",
                "OLD",
                "replaced by NEW 7 days ago (grace 7 days)"
            )]
        );
        let orders: Vec<_> = plan(&rotating, &s, now())
            .into_iter()
            .map(|a| a.order)
            .collect();
        assert_eq!(
            orders,
            vec![KeyOrder::RetireRotated {
                key_id: "OLD".into(),
                replacement: "NEW".into()
            }]
        );
    }

    #[test]
    fn a_rotation_whose_replacement_is_gone_is_judged_afresh() {
        let s = settings(&[("KEY_ACTION", "rotate")]);
        let mut broken = user(vec![active("OLD", 200, Some(1))]);
        broken
            .records
            .insert("OLD".into(), KeyRecord::ReplacedBy("GONE".into()));
        assert_eq!(
            plan(&broken, &s, now())[0].order,
            KeyOrder::Rotate {
                key_id: "OLD".into()
            }
        );
    }

    #[test]
    fn last_use_is_read_only_where_the_rule_needs_it() {
        let s = settings(&[("MAX_KEY_UNUSED_DAYS", "30")]);
        assert!(needs_last_use(&active("MIDDLE", 45, None), &s, now()));
        assert!(
            !needs_last_use(&active("YOUNG", 10, None), &s, now()),
            "younger than the unused limit: cannot be unused that long"
        );
        assert!(
            !needs_last_use(&active("OLD", 200, None), &s, now()),
            "the age rule settles it"
        );
        assert!(!needs_last_use(&inactive("OFF", 45), &s, now()));
    }

    #[test]
    fn report_rows_pick_sweep_candidates() {
        use iam_remediation::facts::{ReportKey, ReportTime, ReportUser};
        let s = settings(&[]);
        let slot = |active: bool, rotated: Option<i64>, used: Option<i64>| ReportKey {
            active,
            last_rotated: rotated
                .map_or(ReportTime::NotApplicable, |d| ReportTime::At(days_ago(d))),
            last_used: used.map_or(ReportTime::NotApplicable, |d| ReportTime::At(days_ago(d))),
        };
        let row = |keys: [ReportKey; 2]| ReportUser {
            user: "u".into(),
            arn: "arn".into(),
            created: ReportTime::At(days_ago(500)),
            password_enabled: false,
            password_last_used: ReportTime::NotApplicable,
            password_last_changed: ReportTime::NotApplicable,
            keys,
        };
        let none = slot(false, None, None);
        assert!(
            is_candidate(&row([slot(true, Some(91), Some(1)), none]), &s, now()),
            "old"
        );
        assert!(
            !is_candidate(&row([none, slot(true, Some(80), Some(79))]), &s, now()),
            "young, used"
        );
        assert!(
            is_candidate(&row([slot(true, Some(95), None), none]), &s, now()),
            "never used and old"
        );
        assert!(
            !is_candidate(&row([slot(true, Some(10), Some(1)), none]), &s, now()),
            "fresh"
        );
        assert!(
            is_candidate(&row([slot(false, Some(30), None), none]), &s, now()),
            "inactive long enough to maybe delete"
        );
        assert!(
            !is_candidate(&row([slot(false, Some(29), None), none]), &s, now()),
            "inactive too recently created"
        );
        assert!(!is_candidate(&row([none, none]), &s, now()), "no keys");
        let unused = settings(&[("MAX_KEY_UNUSED_DAYS", "30")]);
        assert!(
            is_candidate(&row([slot(true, Some(60), Some(31)), none]), &unused, now()),
            "unused"
        );
        assert!(!is_candidate(
            &row([slot(true, Some(60), Some(29)), none]),
            &unused,
            now()
        ));
    }
}
