//! The password-policy rule: a pure function of the account's policy and the floor.
//!
//! The policy only ever tightens: field by field the result is the stricter of the current
//! value and the floor (longer minimum length; each requirement kept once `true`; a smaller
//! maximum age, where "never expires" is the weakest; a larger reuse count, where "none" is the
//! weakest; hard expiry kept once `true`). A value stricter than the floor is therefore kept,
//! and an account without a policy gets exactly the floor.
//!
//! One exception keeps people able to sign in: with hard expiry on, no maximum age is set or
//! shortened. A new or shorter `MaxPasswordAge` expires every password older than it at once,
//! and `HardExpiry` then stops those users from choosing a new one: each is locked out until an
//! administrator resets their password. That part of the floor is reported as skipped instead.

use chrono::{DateTime, Utc};
use iam_remediation::{ControlState, PlannedAction, Rule, Subject};
use serde_json::{Map, Value, json};

use crate::control;
use crate::facts::PasswordPolicy;
use crate::settings::PasswordPolicies;

/// The report's `action`.
pub const UPDATE_PASSWORD_POLICY: &str = "update-password-policy";
/// The report's `target`.
pub const TARGET: &str = "password-policy";
/// The report's `target` of a maximum age held back by hard expiry.
pub const MAX_AGE_TARGET: &str = "MaxPasswordAge";
/// The report's `target` of hard expiry held back on a policy whose passwords expire.
pub const HARD_EXPIRY_TARGET: &str = "HardExpiry";

/// The minimum length of the policy AWS applies to an account that has none of its own.
pub const AWS_DEFAULT_MINIMUM_LENGTH: u32 = 8;
/// How many of the four character types AWS's default policy requires (any three).
pub const AWS_DEFAULT_CHARACTER_TYPES: usize = 3;

/// What the apply stage does: set the whole policy to `after` (IAM resets any field it is not
/// given, so the change is always the complete policy).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolicyChange {
    /// The policy as read; `None`: the account had none.
    pub before: Option<PasswordPolicy>,
    pub after: PasswordPolicy,
}

/// The stricter of two policies, field by field. Commutative: the floor and the current policy
/// play the same part, which is what makes "never weaker than either" hold by construction.
pub fn stricter(a: &PasswordPolicy, b: &PasswordPolicy) -> PasswordPolicy {
    PasswordPolicy {
        minimum_length: a.minimum_length.max(b.minimum_length),
        require_uppercase: a.require_uppercase || b.require_uppercase,
        require_lowercase: a.require_lowercase || b.require_lowercase,
        require_numbers: a.require_numbers || b.require_numbers,
        require_symbols: a.require_symbols || b.require_symbols,
        allow_users_to_change_password: a.allow_users_to_change_password
            || b.allow_users_to_change_password,
        // "Never expires" is the weakest age: any set age beats it, and the smaller one wins.
        max_age_days: match (a.max_age_days, b.max_age_days) {
            (Some(x), Some(y)) => Some(x.min(y)),
            (x, y) => x.or(y),
        },
        // `None` remembers no password: the larger count wins. `Option`'s order has None lowest.
        reuse_prevention: a.reuse_prevention.max(b.reuse_prevention),
        hard_expiry: a.hard_expiry || b.hard_expiry,
    }
}

/// The policy the floor asks for: the floor merged into the current policy (a missing policy
/// counts as the weakest one IAM can hold).
pub fn merge(current: Option<&PasswordPolicy>, floor: &PasswordPolicy) -> PasswordPolicy {
    stricter(current.unwrap_or(&PasswordPolicy::WEAKEST), floor)
}

/// A part of the floor held back because it would lock users out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeldBack {
    /// A new or shorter `MaxPasswordAge` while `HardExpiry` is on: it would expire every password
    /// older than it at once, and hard expiry then stops those users from choosing a new one.
    MaxAge(u32),
    /// `HardExpiry` on a policy whose passwords expire: a user whose password is already past
    /// its age, who may choose a new one at sign-in today, would be locked out instead.
    HardExpiry,
}

/// The policy to write: the merge, less what would lock users out. Returns it with what is
/// held back, if anything.
pub fn lockout_safe(
    current: Option<&PasswordPolicy>,
    floor: &PasswordPolicy,
) -> (PasswordPolicy, Option<HeldBack>) {
    let merged = merge(current, floor);
    let current_age = current.and_then(|c| c.max_age_days);
    let had_hard_expiry = current.is_some_and(|c| c.hard_expiry);
    if !merged.hard_expiry {
        return (merged, None);
    }
    if !had_hard_expiry && merged.max_age_days.is_some() {
        return (
            PasswordPolicy {
                hard_expiry: false,
                ..merged
            },
            Some(HeldBack::HardExpiry),
        );
    }
    // The merge never lengthens an age: a different one is new or shorter.
    match merged.max_age_days {
        Some(wanted) if merged.max_age_days != current_age => (
            PasswordPolicy {
                max_age_days: current_age,
                ..merged
            },
            Some(HeldBack::MaxAge(wanted)),
        ),
        _ => (merged, None),
    }
}

impl Rule for PasswordPolicies {
    type Facts = Option<PasswordPolicy>;
    type Order = PolicyChange;

    fn plan(&self, policy: &Self::Facts, _now: DateTime<Utc>) -> Vec<PlannedAction<PolicyChange>> {
        plan(policy.as_ref(), &self.floor)
    }

    fn control(
        &self,
        control: &str,
        policy: &Self::Facts,
        _now: DateTime<Utc>,
    ) -> Option<ControlState> {
        control::state(control, policy.as_ref(), &self.floor)
    }
}

/// The changes the account needs: none when the current policy already meets the floor; the
/// update; and, when hard expiry holds a maximum age back, that part as a skipped action.
pub fn plan(
    current: Option<&PasswordPolicy>,
    floor: &PasswordPolicy,
) -> Vec<PlannedAction<PolicyChange>> {
    let (after, held_back) = lockout_safe(current, floor);
    let change = PolicyChange {
        before: current.copied(),
        after,
    };
    let mut actions = Vec::new();
    match current {
        Some(before) if *before == after => {}
        Some(before) => actions.push(
            PlannedAction::new(
                Subject::Account,
                UPDATE_PASSWORD_POLICY,
                TARGET,
                format!(
                    "weaker than the floor: {}",
                    describe_changes(before, &after)
                ),
                change,
            )
            .with_details(undo_record(&change)),
        ),
        None => {
            let action = PlannedAction::new(
                Subject::Account,
                UPDATE_PASSWORD_POLICY,
                TARGET,
                "the account has no password policy: set to the floor",
                change,
            )
            .with_details(undo_record(&change));
            actions.push(match weaker_than_aws_default(floor) {
                Some(why) => action.blocked_by(why),
                None => action,
            });
        }
    }
    match held_back {
        Some(HeldBack::MaxAge(wanted)) => {
            let now = current
                .and_then(|c| c.max_age_days)
                .map_or_else(|| "not set".to_owned(), |days| days.to_string());
            actions.push(
                PlannedAction::new(
                    Subject::Account,
                    UPDATE_PASSWORD_POLICY,
                    MAX_AGE_TARGET,
                    format!("the floor asks for MaxPasswordAge {wanted} (now {now})"),
                    change,
                )
                .blocked_by(
                    "HardExpiry is on: a new or shorter MaxPasswordAge would expire every \
                     password older than it at once, and hard expiry then locks those users out \
                     until an administrator resets each one; warn users and set MaxPasswordAge \
                     by hand, or turn HardExpiry off first (HardExpiry itself is never weakened)",
                ),
            );
        }
        Some(HeldBack::HardExpiry) => actions.push(
            PlannedAction::new(
                Subject::Account,
                UPDATE_PASSWORD_POLICY,
                HARD_EXPIRY_TARGET,
                "the floor asks for HardExpiry (HARD_EXPIRY=true)",
                change,
            )
            .blocked_by(
                "passwords expire under this policy: with HardExpiry, every user whose password \
                 is already past MaxPasswordAge would be locked out until an administrator \
                 resets it, instead of choosing a new one at sign-in; make sure no password is \
                 expired, then set HardExpiry by hand",
            ),
        ),
        None => {}
    }
    actions
}

/// Without a policy of its own an account is held to AWS's default one (at least 8 characters,
/// three of the four character types). Setting a custom policy weaker than that would loosen
/// the rules users already meet, so a floor below it is never applied to such an account.
fn weaker_than_aws_default(floor: &PasswordPolicy) -> Option<String> {
    let types = floor.required_character_types();
    (floor.minimum_length < AWS_DEFAULT_MINIMUM_LENGTH || types < AWS_DEFAULT_CHARACTER_TYPES).then(
        || {
            format!(
                "the floor (MIN_PASSWORD_LENGTH={}, {types} required character types) is weaker \
                 than AWS's default policy ({AWS_DEFAULT_MINIMUM_LENGTH} characters, \
                 {AWS_DEFAULT_CHARACTER_TYPES} of 4 character types), which holds while the \
                 account has no policy; raise the floor",
                floor.minimum_length
            )
        },
    )
}

/// The policy's fields under IAM's names, with `null` for "not set".
pub fn fields(policy: &PasswordPolicy) -> [(&'static str, Value); 9] {
    [
        ("MinimumPasswordLength", json!(policy.minimum_length)),
        (
            "RequireUppercaseCharacters",
            json!(policy.require_uppercase),
        ),
        (
            "RequireLowercaseCharacters",
            json!(policy.require_lowercase),
        ),
        ("RequireNumbers", json!(policy.require_numbers)),
        ("RequireSymbols", json!(policy.require_symbols)),
        (
            "AllowUsersToChangePassword",
            json!(policy.allow_users_to_change_password),
        ),
        ("MaxPasswordAge", json!(policy.max_age_days)),
        ("PasswordReusePrevention", json!(policy.reuse_prevention)),
        ("HardExpiry", json!(policy.hard_expiry)),
    ]
}

/// The fields that differ: (IAM name, before, after).
pub fn changed_fields(
    before: &PasswordPolicy,
    after: &PasswordPolicy,
) -> Vec<(&'static str, Value, Value)> {
    fields(before)
        .into_iter()
        .zip(fields(after))
        .filter(|((_, old), (_, new))| old != new)
        .map(|((name, old), (_, new))| (name, old, new))
        .collect()
}

/// The report's `details`, enough to undo the change: `before` and `after` hold the value of
/// every changed field under IAM's names (`null`: not set, that is never expires / no reuse
/// prevention). When the account had no policy, `before` is `null` (undo: delete the policy)
/// and `after` is the whole policy set.
pub fn undo_record(change: &PolicyChange) -> Value {
    let Some(before) = &change.before else {
        let after: Map<String, Value> = fields(&change.after)
            .into_iter()
            .map(|(name, value)| (name.to_owned(), value))
            .collect();
        return json!({"before": null, "after": after});
    };
    let (mut old, mut new) = (Map::new(), Map::new());
    for (name, before_value, after_value) in changed_fields(before, &change.after) {
        old.insert(name.to_owned(), before_value);
        new.insert(name.to_owned(), after_value);
    }
    json!({"before": old, "after": new})
}

fn describe_changes(before: &PasswordPolicy, after: &PasswordPolicy) -> String {
    let shown = |value: &Value| match value {
        Value::Null => "not set".to_owned(),
        other => other.to_string(),
    };
    changed_fields(before, after)
        .iter()
        .map(|(name, old, new)| format!("{name} {} -> {}", shown(old), shown(new)))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a test fails loudly")]
mod tests {
    use iam_remediation::FromEnv;

    use super::*;
    use crate::settings::PasswordPolicies;

    /// The default floor: 14 characters, every requirement, 90 days, 24 passwords (the
    /// contract's numbers, checked in `settings`).
    fn floor() -> PasswordPolicy {
        PasswordPolicies::defaults().floor
    }

    /// How the current value compares with the floor's.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Ordering {
        Weaker,
        Equal,
        Stricter,
        /// The account has no policy at all.
        NoPolicy,
        /// The field is not set in the current policy (never expires, no reuse prevention).
        UnsetCurrent,
        /// The floor sets nothing for the field (`0` in its variable).
        UnsetFloor,
    }
    use Ordering::{Equal, NoPolicy, Stricter, UnsetCurrent, UnsetFloor, Weaker};

    /// Sets one field, by its IAM name, from a JSON value (`null`: not set).
    fn set(mut policy: PasswordPolicy, field: &str, value: &Value) -> PasswordPolicy {
        let number = || u32::try_from(value.as_u64().expect("a number")).unwrap();
        let flag = || value.as_bool().expect("a boolean");
        match field {
            "MinimumPasswordLength" => policy.minimum_length = number(),
            "RequireUppercaseCharacters" => policy.require_uppercase = flag(),
            "RequireLowercaseCharacters" => policy.require_lowercase = flag(),
            "RequireNumbers" => policy.require_numbers = flag(),
            "RequireSymbols" => policy.require_symbols = flag(),
            "AllowUsersToChangePassword" => policy.allow_users_to_change_password = flag(),
            "MaxPasswordAge" => policy.max_age_days = value.as_u64().map(|_| number()),
            "PasswordReusePrevention" => policy.reuse_prevention = value.as_u64().map(|_| number()),
            "HardExpiry" => policy.hard_expiry = flag(),
            other => panic!("unknown field {other}"),
        }
        policy
    }

    fn value_of(policy: &PasswordPolicy, field: &str) -> Value {
        fields(policy)
            .into_iter()
            .find(|(name, _)| *name == field)
            .expect("a field")
            .1
    }

    /// (field, ordering, current value, floor value, merged value). `current` is ignored for
    /// `NoPolicy`, where the rest of the policy is absent too.
    #[allow(clippy::too_many_lines, reason = "one row per case")]
    fn table() -> Vec<(&'static str, Ordering, Value, Value, Value)> {
        let (t, f, n) = (json!(true), json!(false), Value::Null);
        let mut rows = vec![
            (
                "MinimumPasswordLength",
                Weaker,
                json!(8),
                json!(14),
                json!(14),
            ),
            (
                "MinimumPasswordLength",
                Weaker,
                json!(6),
                json!(128),
                json!(128),
            ),
            (
                "MinimumPasswordLength",
                Equal,
                json!(14),
                json!(14),
                json!(14),
            ),
            (
                "MinimumPasswordLength",
                Stricter,
                json!(20),
                json!(14),
                json!(20),
            ),
            (
                "MinimumPasswordLength",
                Stricter,
                json!(128),
                json!(6),
                json!(128),
            ),
            (
                "MinimumPasswordLength",
                NoPolicy,
                n.clone(),
                json!(14),
                json!(14),
            ),
            (
                "MinimumPasswordLength",
                NoPolicy,
                n.clone(),
                json!(9),
                json!(9),
            ),
            ("MaxPasswordAge", Weaker, json!(180), json!(90), json!(90)),
            ("MaxPasswordAge", Weaker, json!(1095), json!(1), json!(1)),
            ("MaxPasswordAge", Equal, json!(90), json!(90), json!(90)),
            ("MaxPasswordAge", Stricter, json!(30), json!(90), json!(30)),
            ("MaxPasswordAge", Stricter, json!(1), json!(1095), json!(1)),
            (
                "MaxPasswordAge",
                UnsetCurrent,
                n.clone(),
                json!(90),
                json!(90),
            ),
            (
                "MaxPasswordAge",
                UnsetFloor,
                json!(60),
                n.clone(),
                json!(60),
            ),
            (
                "MaxPasswordAge",
                UnsetFloor,
                n.clone(),
                n.clone(),
                n.clone(),
            ),
            ("MaxPasswordAge", NoPolicy, n.clone(), json!(90), json!(90)),
            ("MaxPasswordAge", NoPolicy, n.clone(), n.clone(), n.clone()),
            (
                "PasswordReusePrevention",
                Weaker,
                json!(5),
                json!(24),
                json!(24),
            ),
            (
                "PasswordReusePrevention",
                Weaker,
                json!(1),
                json!(2),
                json!(2),
            ),
            (
                "PasswordReusePrevention",
                Equal,
                json!(24),
                json!(24),
                json!(24),
            ),
            (
                "PasswordReusePrevention",
                Stricter,
                json!(24),
                json!(10),
                json!(24),
            ),
            (
                "PasswordReusePrevention",
                UnsetCurrent,
                n.clone(),
                json!(24),
                json!(24),
            ),
            (
                "PasswordReusePrevention",
                UnsetFloor,
                json!(5),
                n.clone(),
                json!(5),
            ),
            (
                "PasswordReusePrevention",
                UnsetFloor,
                n.clone(),
                n.clone(),
                n.clone(),
            ),
            (
                "PasswordReusePrevention",
                NoPolicy,
                n.clone(),
                json!(24),
                json!(24),
            ),
            (
                "PasswordReusePrevention",
                NoPolicy,
                n.clone(),
                n.clone(),
                n.clone(),
            ),
        ];
        for field in [
            "RequireUppercaseCharacters",
            "RequireLowercaseCharacters",
            "RequireNumbers",
            "RequireSymbols",
            "AllowUsersToChangePassword",
            "HardExpiry",
        ] {
            rows.extend([
                (field, Weaker, f.clone(), t.clone(), t.clone()),
                (field, Equal, t.clone(), t.clone(), t.clone()),
                (field, Equal, f.clone(), f.clone(), f.clone()),
                (field, Stricter, t.clone(), f.clone(), t.clone()),
                (field, NoPolicy, n.clone(), t.clone(), t.clone()),
                (field, NoPolicy, n.clone(), f.clone(), f.clone()),
            ]);
        }
        rows
    }

    #[test]
    fn merge_table_covers_every_field_and_ordering() {
        let rows = table();
        // Every field appears, and with every ordering that applies to its type.
        for (name, _) in fields(&floor()) {
            let orderings: Vec<Ordering> =
                rows.iter().filter(|r| r.0 == name).map(|r| r.1).collect();
            for needed in [Weaker, Equal, Stricter, NoPolicy] {
                assert!(orderings.contains(&needed), "{name} lacks {needed:?}");
            }
            if matches!(name, "MaxPasswordAge" | "PasswordReusePrevention") {
                assert!(
                    orderings.contains(&UnsetCurrent) && orderings.contains(&UnsetFloor),
                    "{name}"
                );
            }
        }
        for (field, ordering, current, floor_value, expected) in rows {
            let case = format!("{field} {ordering:?}: current {current}, floor {floor_value}");
            let floor = set(floor(), field, &floor_value);
            let current = (ordering != NoPolicy).then(|| set(self::floor(), field, &current));
            let merged = merge(current.as_ref(), &floor);
            assert_eq!(value_of(&merged, field), expected, "{case}");
            // Every other field is the floor's (the current policy equals it there).
            for (other, value) in fields(&merged) {
                if other != field {
                    assert_eq!(value, value_of(&floor, other), "{case}: {other}");
                }
            }

            let actions = plan(current.as_ref(), &floor);
            // What would lock users out is held back as a skipped action of its own (see the
            // hard expiry tests); the rest of the merge still applies.
            let (safe, held) = lockout_safe(current.as_ref(), &floor);
            if held.is_some() {
                let last = actions
                    .last()
                    .unwrap_or_else(|| panic!("{case}: no action"));
                assert!(last.blocked.is_some(), "{case}: held back");
                let update = actions.iter().find(|a| a.target == TARGET);
                assert_eq!(
                    update.map(|a| a.order.after),
                    (current != Some(safe)).then_some(safe),
                    "{case}"
                );
                continue;
            }
            let action = actions.into_iter().next();
            match (current, ordering) {
                (Some(current), Weaker | UnsetCurrent) => {
                    let action = action.unwrap_or_else(|| panic!("{case}: no action"));
                    assert_eq!(
                        action.order,
                        PolicyChange {
                            before: Some(current),
                            after: merged
                        },
                        "{case}"
                    );
                    let before = value_of(&current, field);
                    assert_eq!(
                        action.details,
                        Some(json!({"before": {field: before}, "after": {field: expected}})),
                        "{case}"
                    );
                    assert!(
                        action
                            .reason
                            .starts_with(&format!("weaker than the floor: {field} ")),
                        "{case}: {}",
                        action.reason
                    );
                    assert!(action.blocked.is_none());
                }
                (Some(_), Equal | Stricter | UnsetFloor) => {
                    assert_eq!(
                        action, None,
                        "{case}: a policy at or above the floor needs nothing"
                    );
                }
                (None, _) => {
                    let action = action.unwrap_or_else(|| panic!("{case}: no action"));
                    assert_eq!(
                        action.order,
                        PolicyChange {
                            before: None,
                            after: floor
                        },
                        "{case}: exactly the floor"
                    );
                    assert_eq!(action.details.as_ref().unwrap()["before"], Value::Null);
                    assert_eq!(action.details.as_ref().unwrap()["after"][field], expected);
                }
                (Some(_), NoPolicy) => unreachable!(),
            }
        }
    }

    #[test]
    fn a_weak_policy_is_raised_and_stricter_values_are_kept_in_one_change() {
        let current = PasswordPolicy {
            minimum_length: 20,
            require_uppercase: true,
            require_lowercase: false,
            require_numbers: true,
            require_symbols: false,
            allow_users_to_change_password: false,
            max_age_days: None,
            reuse_prevention: Some(24),
            hard_expiry: true,
        };
        let actions = plan(Some(&current), &floor());
        let action = &actions[0];
        assert_eq!(
            action.order.after,
            PasswordPolicy {
                minimum_length: 20,
                require_uppercase: true,
                require_lowercase: true,
                require_numbers: true,
                require_symbols: true,
                allow_users_to_change_password: true,
                // Hard expiry is on: a new maximum age would lock out every older password.
                max_age_days: None,
                reuse_prevention: Some(24),
                hard_expiry: true,
            }
        );
        assert_eq!(
            action.details.clone().unwrap(),
            json!({
                "before": {"RequireLowercaseCharacters": false, "RequireSymbols": false, "AllowUsersToChangePassword": false},
                "after": {"RequireLowercaseCharacters": true, "RequireSymbols": true, "AllowUsersToChangePassword": true},
            })
        );
        assert_eq!(
            action.reason,
            "weaker than the floor: RequireLowercaseCharacters false -> true, RequireSymbols false -> true, \
             AllowUsersToChangePassword false -> true"
        );
        assert_eq!(action.subject, Subject::Account);
        assert_eq!(
            (action.action, action.target.as_str()),
            (UPDATE_PASSWORD_POLICY, TARGET)
        );
        let held = &actions[1];
        assert_eq!(
            (held.action, held.target.as_str()),
            (UPDATE_PASSWORD_POLICY, MAX_AGE_TARGET)
        );
        assert_eq!(
            held.reason,
            "the floor asks for MaxPasswordAge 90 (now not set)"
        );
        assert!(
            held.blocked
                .as_deref()
                .unwrap()
                .starts_with("HardExpiry is on")
        );
    }

    #[test]
    fn hard_expiry_never_gets_a_new_or_shorter_max_age_and_is_never_weakened() {
        let hard = |max_age_days| PasswordPolicy {
            max_age_days,
            hard_expiry: true,
            ..floor()
        };
        // A longer age than the floor's: held at 180, the rest already meets the floor.
        let actions = plan(Some(&hard(Some(180))), &floor());
        assert_eq!(actions.len(), 1, "{actions:?}");
        assert_eq!(actions[0].target, MAX_AGE_TARGET);
        assert_eq!(
            actions[0].reason,
            "the floor asks for MaxPasswordAge 90 (now 180)"
        );
        // A shorter one is kept; an equal one needs nothing.
        assert!(plan(Some(&hard(Some(30))), &floor()).is_empty());
        assert!(plan(Some(&hard(Some(90))), &floor()).is_empty());
        // A floor that asks for hard expiry on a policy whose passwords expire (or will, by
        // the floor's age) gets the age, and hard expiry is held back.
        let soft = PasswordPolicy {
            max_age_days: None,
            ..floor()
        };
        let hard_floor = PasswordPolicy {
            hard_expiry: true,
            ..floor()
        };
        let actions = plan(Some(&soft), &hard_floor);
        assert_eq!(actions[0].order.after.max_age_days, Some(90));
        assert!(!actions[0].order.after.hard_expiry);
        assert_eq!(actions[1].target, HARD_EXPIRY_TARGET);
        assert!(
            plan(Some(&floor()), &hard_floor)[0].blocked.is_some(),
            "only held back"
        );
        // Where passwords never expire, hard expiry locks nobody out: it is added.
        let never = PasswordPolicy {
            max_age_days: None,
            ..hard_floor
        };
        let added = plan(Some(&soft), &never);
        assert_eq!(added.len(), 1);
        assert!(added[0].order.after.hard_expiry);
        // Without hard expiry, the age is set as usual.
        assert_eq!(
            plan(Some(&soft), &floor())[0].order.after.max_age_days,
            Some(90)
        );
    }

    #[test]
    fn no_policy_gets_exactly_the_floor_with_a_full_undo_record() {
        let action = plan(None, &floor()).into_iter().next().unwrap();
        assert_eq!(
            action.order,
            PolicyChange {
                before: None,
                after: floor()
            }
        );
        assert_eq!(
            action.reason,
            "the account has no password policy: set to the floor"
        );
        assert_eq!(
            action.details.unwrap(),
            json!({"before": null, "after": {
                "MinimumPasswordLength": 14, "RequireUppercaseCharacters": true, "RequireLowercaseCharacters": true,
                "RequireNumbers": true, "RequireSymbols": true, "AllowUsersToChangePassword": true,
                "MaxPasswordAge": 90, "PasswordReusePrevention": 24, "HardExpiry": false}})
        );
        assert!(action.blocked.is_none());
    }

    #[test]
    fn a_floor_weaker_than_aws_default_is_never_set_on_an_account_without_a_policy() {
        let short = PasswordPolicy {
            minimum_length: 7,
            ..floor()
        };
        let two_types = PasswordPolicy {
            require_numbers: false,
            require_symbols: false,
            ..floor()
        };
        for floor in [short, two_types, PasswordPolicy::WEAKEST] {
            let action = plan(None, &floor).into_iter().next().unwrap();
            assert!(
                action
                    .blocked
                    .as_deref()
                    .unwrap()
                    .contains("weaker than AWS's default policy"),
                "{floor:?}"
            );
        }
        // Exactly the default's strength is fine, and so is any weak floor on an existing policy.
        let three_types = PasswordPolicy {
            minimum_length: 8,
            require_symbols: false,
            ..floor()
        };
        assert!(plan(None, &three_types)[0].blocked.is_none());
        let weak_policy = PasswordPolicy {
            minimum_length: 6,
            ..PasswordPolicy::WEAKEST
        };
        assert!(plan(Some(&weak_policy), &short)[0].blocked.is_none());
    }

    /// A spread of policies: every field at its extremes and some values between.
    fn policies() -> Vec<PasswordPolicy> {
        let mut all = Vec::new();
        for minimum_length in [6, 14, 128] {
            for flags in 0..4u8 {
                for max_age_days in [None, Some(1), Some(90), Some(1095)] {
                    for reuse_prevention in [None, Some(1), Some(24)] {
                        all.push(PasswordPolicy {
                            minimum_length,
                            require_uppercase: flags & 1 != 0,
                            require_lowercase: flags & 2 != 0,
                            require_numbers: flags & 1 != 0,
                            require_symbols: flags & 2 != 0,
                            allow_users_to_change_password: flags & 1 != 0,
                            max_age_days,
                            reuse_prevention,
                            hard_expiry: flags & 2 != 0,
                        });
                    }
                }
            }
        }
        all
    }

    /// True when `a` is at least as strict as `b` in every field.
    fn at_least_as_strict(a: &PasswordPolicy, b: &PasswordPolicy) -> bool {
        let age = match (a.max_age_days, b.max_age_days) {
            (_, None) => true,
            (None, Some(_)) => false,
            (Some(x), Some(y)) => x <= y,
        };
        a.minimum_length >= b.minimum_length
            && (a.require_uppercase || !b.require_uppercase)
            && (a.require_lowercase || !b.require_lowercase)
            && (a.require_numbers || !b.require_numbers)
            && (a.require_symbols || !b.require_symbols)
            && (a.allow_users_to_change_password || !b.allow_users_to_change_password)
            && age
            && a.reuse_prevention.unwrap_or(0) >= b.reuse_prevention.unwrap_or(0)
            && (a.hard_expiry || !b.hard_expiry)
    }

    #[test]
    fn the_merge_never_weakens_either_side_and_is_stable() {
        let all = policies();
        for a in &all {
            for b in &all {
                let merged = stricter(a, b);
                assert!(
                    at_least_as_strict(&merged, a) && at_least_as_strict(&merged, b),
                    "{a:?} + {b:?}"
                );
                assert_eq!(merged, stricter(b, a), "commutative");
                // Merging again changes nothing: a second run plans no change.
                assert!(plan(Some(&merged), b).is_empty(), "{a:?} + {b:?}");
            }
        }
    }
}
