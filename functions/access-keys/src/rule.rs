//! The access-key rule: a pure function of one user's keys (or the root user's), the settings
//! and the clock.

use chrono::{DateTime, Utc};
use iam_remediation::plan::{days, days_between, older_than};
use iam_remediation::reads::{ReportKey, ReportUser, RootUser, Tags};
use iam_remediation::{ControlState, PlannedAction, Principal, Rule, Subject};

use crate::control;
use crate::facts::{Facts, Focus, KeyFacts, LAST_USE_MARGIN, LastUse, Records, UserKeys};
use crate::order::OrderAction;
use crate::settings::{AccessKeys, KeyAction};

/// The report's `action` names.
pub const CREATE_ACCESS_KEY: &str = "create-access-key";
pub const DEACTIVATE_ACCESS_KEY: &str = "deactivate-access-key";
pub const DELETE_ACCESS_KEY: &str = "delete-access-key";
pub const DELETE_ROOT_ACCESS_KEY: &str = "delete-root-access-key";

impl Rule for AccessKeys {
    type Facts = Facts;
    type Order = KeyOrder;

    fn plan(&self, facts: &Facts, now: DateTime<Utc>) -> Vec<PlannedAction<KeyOrder>> {
        plan(facts, self, now)
    }

    fn control(&self, control: &str, facts: &Facts, now: DateTime<Utc>) -> Option<ControlState> {
        control::state(control, facts, self, now)
    }
}

/// What the apply stage does for one planned action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyOrder {
    /// A rule's deactivation: record when, then deactivate (the record is what lets the
    /// quiet-period rule delete the key later).
    Deactivate { key_id: String },
    /// An exposed key or an operator's order: deactivate at once; the record is bookkeeping
    /// that may fail without stopping it.
    DeactivateNow { key_id: String },
    /// Delete the key (and its record, if any), after re-reading it. A rule's deletion is of an
    /// inactive key only; an operator's order deletes the key whatever its status.
    Delete {
        key_id: String,
        has_record: bool,
        ordered: bool,
    },
    /// Create a replacement, store it in Secrets Manager, read it back; the old key stays
    /// active during the grace period.
    Rotate { key_id: String },
    /// Rotation's second step: deactivate the old key now that its replacement took over.
    RetireRotated { key_id: String, replacement: String },
    /// Create and store a replacement for a key that was just deactivated (an exposed key in
    /// rotate mode): no grace period, the old key is already off.
    Replace { key_id: String },
    /// Nothing to apply: a root user's key, which nothing in the account can delete.
    ReportOnly,
}

/// The planned changes for what one read found.
pub fn plan(
    facts: &Facts,
    settings: &AccessKeys,
    now: DateTime<Utc>,
) -> Vec<PlannedAction<KeyOrder>> {
    match facts {
        Facts::Root(root) => plan_root(root),
        Facts::Account { root, keys_present } => {
            let mut reported = plan_root(root);
            if reported.is_empty() && *keys_present {
                reported.push(root_key_not_in_report());
            }
            reported
        }
        Facts::User(user) => match &user.focus {
            Focus::All => plan_user(user, settings, now),
            Focus::Exposed(key_id) => user
                .keys
                .iter()
                .find(|k| &k.id == key_id)
                .map(|key| plan_exposed(user, key, settings))
                .unwrap_or_default(),
            Focus::Order { key_id, action } => user
                .keys
                .iter()
                .find(|k| &k.id == key_id)
                .map(|key| vec![plan_order(user, key, *action, settings)])
                .unwrap_or_default(),
        },
    }
}

/// When this function deactivated `key`, if that record still counts: the key has stayed
/// inactive since (it is inactive now, no call was heard turning it back on, and it was not used
/// after the record, within [`LAST_USE_MARGIN`]). A record whose key's last use was not read
/// does not count: it never leads to a deletion.
pub fn valid_deactivation(user: &UserKeys, key: &KeyFacts) -> Option<DateTime<Utc>> {
    let at = user.records.deactivated_at(&key.id)?;
    if key.active || user.reactivated.as_deref() == Some(key.id.as_str()) {
        return None;
    }
    match key.last_used {
        LastUse::Never => Some(at),
        LastUse::At(last_use) if last_use <= at + LAST_USE_MARGIN => Some(at),
        LastUse::At(_) | LastUse::NotRead => None,
    }
}

/// The hygiene rules on every key of a user.
fn plan_user(
    user: &UserKeys,
    settings: &AccessKeys,
    now: DateTime<Utc>,
) -> Vec<PlannedAction<KeyOrder>> {
    let principal = Principal::user(&user.user);
    let mut actions = Vec::new();
    for key in &user.keys {
        if key.active {
            actions.extend(plan_active_key(user, key, settings, now));
            continue;
        }
        // Only keys this function deactivated, and that stayed inactive since, are ever deleted
        // by the rule.
        let quiet_days = settings.delete_inactive_after_days;
        if let Some(deactivated_at) = valid_deactivation(user, key)
            && quiet_days > 0
            && now - deactivated_at >= days(quiet_days)
        {
            actions.push(PlannedAction::new(
                principal.clone(),
                DELETE_ACCESS_KEY,
                &key.id,
                format!(
                    "deactivated by iam-remediation {} days ago (limit {quiet_days})",
                    days_between(deactivated_at, now)
                ),
                KeyOrder::Delete {
                    key_id: key.id.clone(),
                    has_record: true,
                    ordered: false,
                },
            ));
        }
    }
    actions
}

/// Why an active key counts as unused, if it does: unused for longer than
/// `MAX_KEY_UNUSED_DAYS`, counted from creation if never used. `None` when its last use was not
/// read: the rule cannot judge.
fn unused(key: &KeyFacts, settings: &AccessKeys, now: DateTime<Utc>) -> Option<String> {
    let limit = days(settings.max_key_unused_days);
    match key.last_used {
        LastUse::At(last_use) => (now - last_use > limit).then(|| {
            format!(
                "last used {} days ago (limit {})",
                days_between(last_use, now),
                settings.max_key_unused_days
            )
        }),
        LastUse::Never => (now - key.created > limit).then(|| {
            format!(
                "never used, created {} days ago (limit {})",
                days_between(key.created, now),
                settings.max_key_unused_days
            )
        }),
        LastUse::NotRead => None,
    }
}

fn plan_active_key(
    user: &UserKeys,
    key: &KeyFacts,
    settings: &AccessKeys,
    now: DateTime<Utc>,
) -> Option<PlannedAction<KeyOrder>> {
    let principal = Principal::user(&user.user);
    // A rotation in progress: retire the old key once the replacement is used or grace ends.
    if let Some(replacement_id) = user.records.replacement_of(&key.id)
        && let Some(replacement) = user
            .keys
            .iter()
            .find(|k| k.id == replacement_id && k.active)
    {
        let grace = days(settings.rotation_grace_days);
        let reason = match replacement.last_used {
            LastUse::At(at) => Some(format!(
                "replaced by {replacement_id}, which was used {} days ago",
                days_between(at, now)
            )),
            _ if now - replacement.created >= grace => Some(format!(
                "replaced by {replacement_id} {} days ago (grace {} days)",
                days_between(replacement.created, now),
                settings.rotation_grace_days
            )),
            _ => None,
        };
        return reason.map(|reason| {
            PlannedAction::new(
                principal,
                DEACTIVATE_ACCESS_KEY,
                &key.id,
                reason,
                KeyOrder::RetireRotated {
                    key_id: key.id.clone(),
                    replacement: replacement_id.to_owned(),
                },
            )
        });
        // Otherwise the replacement is gone or inactive: the rotation is void, judge afresh.
    }

    let too_old = now - key.created > days(settings.max_key_age_days);
    if too_old {
        let reason = format!(
            "created {} days ago (limit {})",
            days_between(key.created, now),
            settings.max_key_age_days
        );
        return match settings.key_action {
            KeyAction::Deactivate => Some(deactivate(principal, key, reason)),
            // A key nobody uses is deactivated, never replaced: no new keys for nobody.
            KeyAction::Rotate => match (key.last_used, unused(key, settings, now)) {
                (_, Some(unused)) => Some(deactivate(
                    principal,
                    key,
                    format!(
                        "{unused}; over the age limit too ({}), but an unused key is \
                         deactivated, not replaced",
                        settings.max_key_age_days
                    ),
                )),
                (LastUse::NotRead, None) => None,
                (_, None) => Some(rotate(user, key, &reason, settings)),
            },
        }
        .map(PlannedAction::warning_first);
    }
    unused(key, settings, now).map(|reason| deactivate(principal, key, reason).warning_first())
}

/// A rotation of `key`: blocked when the user has no room for a new key, or when Secrets
/// Manager cannot hold the user's secret. The safe behaviour is to wait: deleting or
/// deactivating the other key to make room could leave the user's consumers with no working
/// key, so the operator decides (the report says why).
fn rotate(
    user: &UserKeys,
    key: &KeyFacts,
    reason: &str,
    settings: &AccessKeys,
) -> PlannedAction<KeyOrder> {
    let secret = settings.secret_name(&user.user);
    let action = PlannedAction::new(
        Principal::user(&user.user),
        CREATE_ACCESS_KEY,
        &key.id,
        format!("{reason}: replace it, stored in secret {secret}"),
        KeyOrder::Rotate {
            key_id: key.id.clone(),
        },
    );
    if let Err(why) = crate::settings::check_secret_name(&secret) {
        return action.blocked_by(format!(
            "the user's secret cannot be named {secret:?}: {why}; rotate this key by hand"
        ));
    }
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
        DEACTIVATE_ACCESS_KEY,
        &key.id,
        reason,
        KeyOrder::Deactivate {
            key_id: key.id.clone(),
        },
    )
}

fn deactivate_now(user: &UserKeys, key: &KeyFacts, reason: &str) -> PlannedAction<KeyOrder> {
    PlannedAction::new(
        Principal::user(&user.user),
        DEACTIVATE_ACCESS_KEY,
        &key.id,
        reason,
        KeyOrder::DeactivateNow {
            key_id: key.id.clone(),
        },
    )
    .overriding_exemptions()
}

/// True when the rule needs `key`'s last use at `until`: an active key old enough for the
/// unused rule that the age rule does not already settle (in rotate mode it never does: an
/// unused old key is deactivated, not replaced), a rotation's replacement, or an inactive key
/// whose deactivation record is due (a use after the record voids it).
pub fn needs_last_use(
    key: &KeyFacts,
    records: &Records,
    settings: &AccessKeys,
    until: DateTime<Utc>,
) -> bool {
    let age = until - key.created;
    if records.is_replacement(&key.id) {
        return true;
    }
    if !key.active {
        let quiet = days(settings.delete_inactive_after_days);
        return settings.delete_inactive_after_days > 0
            && records
                .deactivated_at(&key.id)
                .is_some_and(|at| until - at >= quiet);
    }
    // A key younger than the unused limit cannot have been unused that long (unused time counts
    // from creation).
    age > days(settings.max_key_unused_days)
        && (settings.key_action == KeyAction::Rotate || age <= days(settings.max_key_age_days))
}

/// An exposed key (AWS Health): deactivated at once, whatever its age or exemption. In rotate
/// mode a replacement is then created and stored (when the user has room for one).
pub fn plan_exposed(
    user: &UserKeys,
    key: &KeyFacts,
    settings: &AccessKeys,
) -> Vec<PlannedAction<KeyOrder>> {
    if !key.active {
        return Vec::new();
    }
    let reason = "reported exposed by AWS Health (AWS_RISK_CREDENTIALS_EXPOSED)";
    let mut actions = vec![deactivate_now(user, key, reason)];
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
    action: OrderAction,
    settings: &AccessKeys,
) -> PlannedAction<KeyOrder> {
    let reason = "operator's order (manual payload)";
    match action {
        OrderAction::Deactivate => deactivate_now(user, key, reason),
        OrderAction::Delete => PlannedAction::new(
            Principal::user(&user.user),
            DELETE_ACCESS_KEY,
            &key.id,
            reason,
            KeyOrder::Delete {
                key_id: key.id.clone(),
                has_record: user.records.tag_keys.contains_key(&key.id),
                ordered: true,
            },
        )
        .overriding_exemptions(),
        OrderAction::Rotate => rotate(user, key, reason, settings).overriding_exemptions(),
    }
}

/// The root user's keys: reported, never hidden, and never acted on, since nothing inside the
/// account can delete them.
fn plan_root(root: &RootUser) -> Vec<PlannedAction<KeyOrder>> {
    root.keys
        .iter()
        .enumerate()
        .filter(|(_, key)| key.exists())
        .map(|(slot, key)| {
            let created = key
                .last_rotated
                .at()
                .map_or_else(String::new, |at| format!(", created {}", at.date_naive()));
            PlannedAction::new(
                Subject::RootUser,
                DELETE_ROOT_ACCESS_KEY,
                format!("root-access-key-{}", slot + 1),
                format!(
                    "the root user has an {} access key{created}; root access keys should not \
                     exist (Security Hub IAM.4, CIS 1.4)",
                    if key.active { "active" } else { "inactive" }
                ),
                KeyOrder::ReportOnly,
            )
            .blocked_by(ROOT_KEY_BLOCKED)
        })
        .collect()
}

/// A root access key that `GetAccountSummary` shows and the credential report (up to 4 hours old)
/// does not yet: reported like the others.
fn root_key_not_in_report() -> PlannedAction<KeyOrder> {
    PlannedAction::new(
        Subject::RootUser,
        DELETE_ROOT_ACCESS_KEY,
        "root-access-key",
        "the root user has an access key (GetAccountSummary: AccountAccessKeysPresent), newer \
         than the credential report; root access keys should not exist (Security Hub IAM.4, \
         CIS 1.4)",
        KeyOrder::ReportOnly,
    )
    .blocked_by(ROOT_KEY_BLOCKED)
}

/// Why a root key is only reported.
const ROOT_KEY_BLOCKED: &str = "nothing in the account can delete it: only the root user \
     (Security credentials page), or the organization's management account with centralized \
     root access (sts:AssumeRoot, task policy IAMDeleteRootUserCredentials); see docs/deploy.md";

/// True when a credential-report row, with the user's tags, may have something due by `until`
/// and is worth a live look: an active key old enough for the age rule or unused for long
/// enough; a deactivation record whose quiet period is over; a rotation whose replacement was
/// used or whose grace is over; more key records than keys (records of deleted keys, to
/// remove). (The sweep adds the users whose warning is due.) The report can be hours old, so this only picks
/// candidates; the decision is made on live facts.
pub fn is_candidate(
    row: &ReportUser,
    tags: &Tags,
    settings: &AccessKeys,
    until: DateTime<Utc>,
) -> bool {
    let existing: Vec<&ReportKey> = row.keys.iter().filter(|key| key.exists()).collect();
    let active_due = existing.iter().filter(|key| key.active).any(|key| {
        let created = key.last_rotated.at();
        let last_activity = key.last_used.at().or(created);
        created.is_some_and(|at| older_than(at, settings.max_key_age_days, until))
            || last_activity.is_some_and(|at| older_than(at, settings.max_key_unused_days, until))
    });
    let records = Records::from_tags(tags);
    let quiet = days(settings.delete_inactive_after_days);
    let deletion_due = settings.delete_inactive_after_days > 0
        && records
            .by_key
            .keys()
            .filter_map(|id| records.deactivated_at(id))
            .any(|at| until - at >= quiet);
    let grace = days(settings.rotation_grace_days);
    let rotation_due = records
        .by_key
        .keys()
        .any(|id| records.replacement_of(id).is_some())
        && existing.iter().any(|key| {
            key.last_used.at().is_some()
                || key
                    .last_rotated
                    .at()
                    .is_some_and(|created| until - created >= grace)
        });
    active_due || deletion_due || rotation_due || records.tag_keys.len() > existing.len()
}

#[cfg(test)]
mod tests {
    //! The rule table. Given a user's keys, settings and the clock, when planned, then exactly
    //! these actions.

    use chrono::Duration;

    use super::*;
    use crate::facts::{KeyRecord, record_tag_key};
    use iam_remediation::plan::{Authority, Urgency};
    use iam_remediation::reads::ReportTime;
    use iam_remediation::testing::{days_ago, now};
    use iam_remediation::{Env, FromEnv};

    fn settings(pairs: &[(&str, &str)]) -> AccessKeys {
        AccessKeys::from_env(&Env::from_pairs(pairs.iter().copied())).unwrap()
    }

    /// An active key `age` days old, last used `used` days ago (`None`: never).
    fn active(id: &str, age: i64, used: Option<i64>) -> KeyFacts {
        KeyFacts {
            id: id.into(),
            active: true,
            created: days_ago(age),
            last_used: used.map(days_ago).into(),
        }
    }

    /// An inactive key `age` days old, never used.
    fn inactive(id: &str, age: i64) -> KeyFacts {
        KeyFacts {
            id: id.into(),
            active: false,
            created: days_ago(age),
            last_used: LastUse::Never,
        }
    }

    fn user(keys: Vec<KeyFacts>) -> UserKeys {
        UserKeys {
            user: "alice".into(),
            keys,
            records: Records::default(),
            focus: Focus::All,
            reactivated: None,
        }
    }

    fn record(user: &mut UserKeys, key_id: &str, record: KeyRecord) {
        user.records
            .tag_keys
            .insert(key_id.to_owned(), record_tag_key(key_id));
        user.records.by_key.insert(key_id.to_owned(), record);
    }

    fn plan_user(user: &UserKeys, settings: &AccessKeys) -> Vec<PlannedAction<KeyOrder>> {
        plan(&Facts::User(user.clone()), settings, now())
    }

    /// (action, target, reason) of each planned action.
    fn planned(user: &UserKeys, settings: &AccessKeys) -> Vec<(&'static str, String, String)> {
        plan_user(user, settings)
            .into_iter()
            .map(|a| {
                (
                    a.action,
                    a.target,
                    a.blocked.map_or(a.reason, |b| format!("BLOCKED {b}")),
                )
            })
            .collect()
    }

    /// The one action planned for alice with this one key.
    fn only_plan(key: KeyFacts, settings: &AccessKeys) -> (&'static str, String, String) {
        let mut planned = planned(&user(vec![key]), settings);
        assert_eq!(planned.len(), 1, "{planned:?}");
        planned.remove(0)
    }

    fn row(action: &'static str, target: &str, reason: &str) -> (&'static str, String, String) {
        (action, target.to_owned(), reason.to_owned())
    }

    /// The credential report's row of user `u` (no password, no MFA) with these key slots.
    fn report_user(keys: [ReportKey; 2]) -> ReportUser {
        ReportUser {
            user: "u".into(),
            arn: "arn".into(),
            created: ReportTime::At(days_ago(500)),
            password_enabled: false,
            password_last_used: ReportTime::NotApplicable,
            password_last_changed: ReportTime::NotApplicable,
            mfa_active: false,
            keys,
        }
    }

    /// The row of a planned deactivation of `target`, for `reason`.
    fn deactivation(target: &str, reason: &str) -> (&'static str, String, String) {
        row("deactivate-access-key", target, reason)
    }

    #[test]
    fn age_rule() {
        let s = settings(&[]);
        assert_eq!(
            only_plan(active("OLD", 91, Some(1)), &s),
            deactivation("OLD", "created 91 days ago (limit 90)")
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
            only_plan(active("STALE", 60, Some(31)), &s),
            deactivation("STALE", "last used 31 days ago (limit 30)")
        );
        assert_eq!(
            only_plan(active("NEVER", 31, None), &s),
            deactivation("NEVER", "never used, created 31 days ago (limit 30)")
        );
        assert!(planned(&user(vec![active("RECENT", 60, Some(29))]), &s).is_empty());
        assert!(
            planned(&user(vec![active("YOUNG", 29, None)]), &s).is_empty(),
            "never used but young"
        );
        // Last use not read: the unused rule cannot judge and does nothing.
        let mut unknown = active("UNKNOWN", 60, None);
        unknown.last_used = LastUse::NotRead;
        assert!(planned(&user(vec![unknown]), &s).is_empty());
    }

    #[test]
    fn the_age_rule_wins_over_the_unused_rule() {
        let s = settings(&[("MAX_KEY_UNUSED_DAYS", "30")]);
        assert_eq!(
            only_plan(active("BOTH", 200, None), &s),
            deactivation("BOTH", "created 200 days ago (limit 90)")
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
            vec![deactivation("OLD", "created 200 days ago (limit 90)")]
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
        record(&mut ours, "OURS", KeyRecord::Deactivated(days_ago(30)));
        assert_eq!(
            planned(&ours, &s),
            vec![row(
                "delete-access-key",
                "OURS",
                "deactivated by iam-remediation 30 days ago (limit 30)"
            )]
        );
        record(&mut ours, "OURS", KeyRecord::Deactivated(days_ago(29)));
        assert!(planned(&ours, &s).is_empty(), "quiet period not over");
        record(&mut ours, "OURS", KeyRecord::Deactivated(days_ago(400)));
        assert!(
            planned(&ours, &settings(&[("DELETE_INACTIVE_AFTER_DAYS", "0")])).is_empty(),
            "0 never deletes"
        );
        record(&mut ours, "OURS", KeyRecord::Deactivated(days_ago(40)));
        let deletions = plan_user(&ours, &s);
        let orders: Vec<_> = deletions.iter().map(|a| a.order.clone()).collect();
        assert_eq!(
            orders,
            vec![KeyOrder::Delete {
                key_id: "OURS".into(),
                has_record: true,
                ordered: false
            }]
        );
        assert_eq!(
            deletions[0].urgency,
            Urgency::Now,
            "the quiet period was the warning"
        );
    }

    #[test]
    fn a_deactivation_record_counts_only_while_the_key_stayed_inactive() {
        let s = settings(&[]);
        let at = days_ago(40);
        let judged = |key: KeyFacts, reactivated: Option<&str>| {
            let mut keys = user(vec![key]);
            record(&mut keys, "K", KeyRecord::Deactivated(at));
            keys.reactivated = reactivated.map(str::to_owned);
            planned(&keys, &s).len()
        };
        let off = |last_used: LastUse| KeyFacts {
            last_used,
            ..inactive("K", 200)
        };
        assert_eq!(judged(off(LastUse::Never), None), 1, "never used: deleted");
        assert_eq!(
            judged(off(LastUse::At(at - Duration::days(5))), None),
            1,
            "last used before the record"
        );
        assert_eq!(
            judged(off(LastUse::At(at + Duration::minutes(10))), None),
            1,
            "a use minutes after the record is the same use"
        );
        assert_eq!(
            judged(off(LastUse::At(at + Duration::days(10))), None),
            0,
            "used after the record: someone turned it back on"
        );
        assert_eq!(
            judged(off(LastUse::NotRead), None),
            0,
            "not read: never deleted"
        );
        assert_eq!(
            judged(off(LastUse::Never), Some("K")),
            0,
            "heard being reactivated"
        );
    }

    #[test]
    fn a_record_on_an_active_key_does_not_delete_it() {
        let mut reactivated = user(vec![active("K", 10, Some(0))]);
        record(&mut reactivated, "K", KeyRecord::Deactivated(days_ago(100)));
        assert!(planned(&reactivated, &settings(&[])).is_empty());
    }

    #[test]
    fn rule_actions_respect_exemptions_and_orders_override_them() {
        let s = settings(&[]);
        let actions = plan_user(&user(vec![active("OLD", 200, Some(1))]), &s);
        assert_eq!(actions[0].authority, Authority::Rule);
        assert_eq!(actions[0].urgency, Urgency::WarnFirst);
        assert_eq!(actions[0].subject, Principal::user("alice").into());
        let exposed_user = user(vec![active("EXPOSED", 1, Some(0))]);
        let exposed = plan_exposed(&exposed_user, &exposed_user.keys[0], &s);
        assert_eq!(exposed.len(), 1);
        assert_eq!(exposed[0].authority, Authority::Override);
        assert_eq!(exposed[0].urgency, Urgency::Now);
        assert_eq!(exposed[0].action, "deactivate-access-key");
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
            .map(|a| (a.action, a.order.clone(), a.authority))
            .collect();
        assert_eq!(
            orders,
            vec![
                (
                    "deactivate-access-key",
                    KeyOrder::DeactivateNow {
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
            (OrderAction::Deactivate, "deactivate-access-key"),
            (OrderAction::Delete, "delete-access-key"),
            (OrderAction::Rotate, "create-access-key"),
        ] {
            let action = plan_order(&alice, &alice.keys[0], order, &s);
            assert_eq!(action.action, kind);
            assert_eq!(action.authority, Authority::Override);
            assert_eq!(action.target, "FRESH");
        }
    }

    #[test]
    fn rotate_mode_replaces_old_keys_and_still_deactivates_unused_ones() {
        let s = settings(&[("KEY_ACTION", "rotate"), ("MAX_KEY_UNUSED_DAYS", "30")]);
        let actions = plan_user(&user(vec![active("OLD", 200, Some(1))]), &s);
        assert_eq!(actions.len(), 1);
        assert_eq!(actions[0].action, "create-access-key");
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
            only_plan(active("STALE", 60, Some(40)), &s),
            deactivation("STALE", "last used 40 days ago (limit 30)")
        );
    }

    #[test]
    fn rotation_without_room_is_blocked_with_the_reason() {
        let s = settings(&[("KEY_ACTION", "rotate")]);
        let full = user(vec![active("OLD", 200, Some(1)), inactive("SPARE", 10)]);
        let actions = plan_user(&full, &s);
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
        record(&mut rotating, "OLD", KeyRecord::ReplacedBy("NEW".into()));
        assert!(
            planned(&rotating, &s).is_empty(),
            "grace: the old key stays active"
        );

        rotating.keys[1] = active("NEW", 2, Some(0));
        assert_eq!(
            planned(&rotating, &s),
            vec![deactivation(
                "OLD",
                "replaced by NEW, which was used 0 days ago"
            )]
        );

        rotating.keys[1] = active("NEW", 7, None);
        assert_eq!(
            planned(&rotating, &s),
            vec![deactivation(
                "OLD",
                "replaced by NEW 7 days ago (grace 7 days)"
            )]
        );
        let orders: Vec<_> = plan_user(&rotating, &s)
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
        record(&mut broken, "OLD", KeyRecord::ReplacedBy("GONE".into()));
        assert_eq!(
            plan_user(&broken, &s)[0].order,
            KeyOrder::Rotate {
                key_id: "OLD".into()
            }
        );
    }

    #[test]
    fn rotate_mode_deactivates_unused_old_keys_instead_of_minting_new_ones() {
        let s = settings(&[("KEY_ACTION", "rotate")]);
        assert_eq!(
            only_plan(active("IDLE", 200, None), &s),
            deactivation(
                "IDLE",
                "never used, created 200 days ago (limit 90); over the age limit too (90), but an unused key is deactivated, not replaced"
            )
        );
        assert_eq!(
            planned(&user(vec![active("STALE", 200, Some(150))]), &s)[0].0,
            "deactivate-access-key"
        );
        let mut unread = active("UNREAD", 200, None);
        unread.last_used = LastUse::NotRead;
        assert!(
            planned(&user(vec![unread]), &s).is_empty(),
            "never rotated without knowing it is used"
        );
    }

    #[test]
    fn a_user_name_secrets_manager_refuses_blocks_rotation() {
        let s = settings(&[("KEY_ACTION", "rotate")]);
        let mut comma = user(vec![active("OLD", 200, Some(1))]);
        comma.user = "svc,ci".into();
        let actions = plan_user(&comma, &s);
        let blocked = actions[0].blocked.as_deref().unwrap();
        assert!(
            blocked.contains("iam-remediation/access-keys/svc,ci"),
            "{blocked}"
        );
    }

    #[test]
    fn root_keys_are_reported_and_never_acted_on() {
        let slot = |active: bool, created: Option<i64>| ReportKey {
            active,
            last_rotated: created
                .map_or(ReportTime::NotApplicable, |d| ReportTime::At(days_ago(d))),
            last_used: ReportTime::NotApplicable,
        };
        let root = |keys| {
            Facts::Root(RootUser {
                mfa_active: true,
                keys,
            })
        };
        let s = settings(&[]);
        assert!(plan(&root([slot(false, None), slot(false, None)]), &s, now()).is_empty());
        let reported = plan(&root([slot(true, Some(400)), slot(false, None)]), &s, now());
        assert_eq!(reported.len(), 1);
        assert_eq!(reported[0].action, "delete-root-access-key");
        assert_eq!(reported[0].subject, Subject::RootUser);
        assert_eq!(reported[0].target, "root-access-key-1");
        assert!(
            reported[0]
                .reason
                .contains("active access key, created 2025-05-11"),
            "{}",
            reported[0].reason
        );
        assert!(
            reported[0]
                .blocked
                .as_deref()
                .unwrap()
                .contains("sts:AssumeRoot"),
            "who can delete it, and how"
        );
    }

    #[test]
    fn last_use_is_read_only_where_the_rule_needs_it() {
        let s = settings(&[("MAX_KEY_UNUSED_DAYS", "30")]);
        let none = Records::default();
        assert!(needs_last_use(
            &active("MIDDLE", 45, None),
            &none,
            &s,
            now()
        ));
        assert!(
            !needs_last_use(&active("YOUNG", 10, None), &none, &s, now()),
            "younger than the unused limit: cannot be unused that long"
        );
        assert!(
            !needs_last_use(&active("OLD", 200, None), &none, &s, now()),
            "the age rule settles it"
        );
        assert!(
            needs_last_use(
                &active("OLD", 200, None),
                &none,
                &settings(&[("KEY_ACTION", "rotate")]),
                now()
            ),
            "in rotate mode an unused old key is deactivated, not replaced"
        );
        assert!(!needs_last_use(&inactive("OFF", 45), &none, &s, now()));
        let mut off = user(vec![inactive("OFF", 45)]);
        record(&mut off, "OFF", KeyRecord::Deactivated(days_ago(30)));
        assert!(
            needs_last_use(&off.keys[0], &off.records, &s, now()),
            "a due deletion checks the key was not used since"
        );
        record(&mut off, "OFF", KeyRecord::Deactivated(days_ago(29)));
        assert!(!needs_last_use(&off.keys[0], &off.records, &s, now()));
    }

    #[test]
    fn report_rows_pick_sweep_candidates() {
        let s = settings(&[]);
        let no_tags = Tags::default();
        let slot = |active: bool, rotated: Option<i64>, used: Option<i64>| ReportKey {
            active,
            last_rotated: rotated
                .map_or(ReportTime::NotApplicable, |d| ReportTime::At(days_ago(d))),
            last_used: used.map_or(ReportTime::NotApplicable, |d| ReportTime::At(days_ago(d))),
        };
        let row = report_user;
        let is_candidate =
            |row: &ReportUser, s: &AccessKeys, now| is_candidate(row, &no_tags, s, now);
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
            !is_candidate(&row([slot(false, Some(300), None), none]), &s, now()),
            "inactive without a record of ours: nothing to delete"
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

    #[test]
    fn records_in_the_tags_pick_candidates_without_a_call() {
        let s = settings(&[("WARN_DAYS", "7")]);
        let inactive_slot = ReportKey {
            active: false,
            last_rotated: ReportTime::At(days_ago(200)),
            last_used: ReportTime::NotApplicable,
        };
        let empty = ReportKey {
            active: false,
            last_rotated: ReportTime::NotApplicable,
            last_used: ReportTime::NotApplicable,
        };
        let row = report_user([inactive_slot, empty]);
        let tags = |pairs: &[(&str, String)]| {
            Tags::new(
                pairs
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), v.clone()))
                    .collect(),
            )
        };
        let recorded = |days: i64| {
            tags(&[(
                "iam-remediation:key:AKIA1",
                KeyRecord::Deactivated(days_ago(days)).tag_value(),
            )])
        };
        assert!(
            !is_candidate(&row, &recorded(10), &s, now()),
            "waiting out its quiet period"
        );
        assert!(
            is_candidate(&row, &recorded(30), &s, now()),
            "quiet period over"
        );
        assert!(
            is_candidate(&row, &recorded(25), &s, now() + Duration::days(7)),
            "due within the forecast"
        );
        let two = tags(&[
            (
                "iam-remediation:key:AKIA1",
                KeyRecord::Deactivated(days_ago(1)).tag_value(),
            ),
            (
                "iam-remediation:key:AKIA2",
                KeyRecord::Deactivated(days_ago(1)).tag_value(),
            ),
        ]);
        assert!(
            is_candidate(&row, &two, &s, now()),
            "a record of a key that is gone"
        );
    }
}
