//! The root-credentials rule: a pure function of one member account's root user credentials,
//! the settings and the clock.
//!
//! - A root access key AWS reports exposed is deleted now, whatever the account's exemption.
//! - A key never used, inactive, or unused for at least `MAX_KEY_UNUSED_DAYS` is deleted now.
//! - A key used more recently is warned first (the pipeline's warnings, with the settings'
//!   warning period: `WARN_DAYS`, at least 7 days) and deleted once the warning is that old:
//!   someone's automation may still use it.
//! - With `ROOT_REMOVE_PASSWORD`: the console password, then each MFA device, then each signing
//!   certificate, each its own action, now.
//! - The management account: nothing, reported skipped (AssumeRoot cannot reach it).

use chrono::{DateTime, Utc};
use iam_remediation::plan::{days, days_between};
use iam_remediation::{ControlState, PlannedAction, Rule, Subject};

use crate::control;
use crate::facts::{RootFacts, RootKey, RootUser};
use crate::session::MANAGEMENT_ACCOUNT;
use crate::settings::RootCredentials;

/// The report's `action` names.
pub const DELETE_ROOT_ACCESS_KEY: &str = "delete-root-access-key";
pub const DELETE_ROOT_LOGIN_PROFILE: &str = "delete-root-login-profile";
pub const DEACTIVATE_ROOT_MFA_DEVICE: &str = "deactivate-root-mfa-device";
pub const DELETE_ROOT_SIGNING_CERTIFICATE: &str = "delete-root-signing-certificate";
/// The management account's line in the report: skipped, never applied.
pub const ASSUME_ROOT: &str = "assume-root";

/// The target of the password's deletion.
pub const LOGIN_PROFILE: &str = "login-profile";

/// What the apply stage does for one planned action, in a delete root session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootOrder {
    /// `DeleteAccessKey`, after re-reading the key: still there, and (unless exposed) not used
    /// since `last_used`, the last use the rule judged.
    DeleteAccessKey {
        key_id: String,
        last_used: Option<DateTime<Utc>>,
        exposed: bool,
    },
    /// `DeleteLoginProfile`, if there still is one.
    DeleteLoginProfile,
    /// `DeactivateMFADevice`, if the device is still there and the root user has no console
    /// password (a password is never left without its MFA).
    DeactivateMfaDevice { serial_number: String },
    /// `DeleteSigningCertificate`, if it is still there.
    DeleteSigningCertificate { certificate_id: String },
    /// Nothing can be done (the management account): never applied.
    Unreachable,
}

impl Rule for RootCredentials {
    type Facts = RootFacts;
    type Order = RootOrder;

    fn plan(&self, facts: &RootFacts, now: DateTime<Utc>) -> Vec<PlannedAction<RootOrder>> {
        plan(facts, self, now)
    }

    fn control(
        &self,
        control: &str,
        facts: &RootFacts,
        _now: DateTime<Utc>,
    ) -> Option<ControlState> {
        control::state(control, facts)
    }

    /// IAM.4 always; IAM.6 and IAM.9 (MFA for the root user) only when this function removes
    /// the root user's sign-in, with `ROOT_REMOVE_PASSWORD`.
    fn handles_control(&self, control: &str) -> bool {
        match control {
            "IAM.4" => true,
            "IAM.6" | "IAM.9" => self.remove_password,
            _ => false,
        }
    }
}

/// The planned changes for what one read found.
pub fn plan(
    facts: &RootFacts,
    settings: &RootCredentials,
    now: DateTime<Utc>,
) -> Vec<PlannedAction<RootOrder>> {
    let root = match facts {
        RootFacts::Member(root) => root,
        RootFacts::ManagementAccount { account } => {
            return vec![
                PlannedAction::new(
                    Subject::RootUser,
                    ASSUME_ROOT,
                    account,
                    "the organization's management account",
                    RootOrder::Unreachable,
                )
                .blocked_by(MANAGEMENT_ACCOUNT),
            ];
        }
    };
    let mut actions: Vec<PlannedAction<RootOrder>> = root
        .access_keys
        .iter()
        .map(|key| plan_key(key, settings, now))
        .collect();
    if settings.remove_password {
        actions.extend(plan_sign_in(root));
    }
    actions
}

/// One root access key: deleted now, or warned first when it was used recently.
fn plan_key(
    key: &RootKey,
    settings: &RootCredentials,
    now: DateTime<Utc>,
) -> PlannedAction<RootOrder> {
    let limit = settings.max_key_unused_days;
    let order = RootOrder::DeleteAccessKey {
        key_id: key.id.clone(),
        last_used: key.last_used,
        exposed: key.exposed,
    };
    let delete = |reason: String| {
        PlannedAction::new(
            Subject::RootUser,
            DELETE_ROOT_ACCESS_KEY,
            &key.id,
            reason,
            order.clone(),
        )
    };
    if key.exposed {
        return delete(
            "reported exposed by AWS (AWS_RISK_CREDENTIALS_EXPOSED): a root access key".to_owned(),
        )
        .overriding_exemptions();
    }
    let Some(last_used) = key.last_used else {
        return delete(format!(
            "a root access key never used, created {} days ago",
            days_between(key.created, now)
        ));
    };
    let unused = days_between(last_used, now);
    if !key.active {
        return delete(format!(
            "an inactive root access key (last used {unused} days ago): nothing can be using it"
        ));
    }
    if now - last_used >= days(limit) {
        return delete(format!(
            "a root access key last used {unused} days ago (limit {limit})"
        ));
    }
    delete(format!(
        "a root access key in use, last used {unused} days ago (limit {limit}): deleted once \
         warned {} days",
        settings.warn_days()
    ))
    .warning_first()
}

/// With `ROOT_REMOVE_PASSWORD`: the console password, then each MFA device, then each signing
/// certificate.
fn plan_sign_in(root: &RootUser) -> Vec<PlannedAction<RootOrder>> {
    let mut actions = Vec::new();
    if let Some(created) = root.password {
        actions.push(PlannedAction::new(
            Subject::RootUser,
            DELETE_ROOT_LOGIN_PROFILE,
            LOGIN_PROFILE,
            format!(
                "the root user has a console password (created {}); ROOT_REMOVE_PASSWORD is on",
                created.date_naive()
            ),
            RootOrder::DeleteLoginProfile,
        ));
    }
    for device in &root.mfa_devices {
        actions.push(PlannedAction::new(
            Subject::RootUser,
            DEACTIVATE_ROOT_MFA_DEVICE,
            &device.serial_number,
            format!(
                "a {} MFA device of the root user, whose sign-in is removed \
                 (ROOT_REMOVE_PASSWORD)",
                if device.is_virtual() {
                    "virtual"
                } else {
                    "hardware"
                }
            ),
            RootOrder::DeactivateMfaDevice {
                serial_number: device.serial_number.clone(),
            },
        ));
    }
    for certificate in &root.signing_certificates {
        actions.push(PlannedAction::new(
            Subject::RootUser,
            DELETE_ROOT_SIGNING_CERTIFICATE,
            certificate,
            "a signing certificate of the root user (ROOT_REMOVE_PASSWORD)",
            RootOrder::DeleteSigningCertificate {
                certificate_id: certificate.clone(),
            },
        ));
    }
    actions
}

#[cfg(test)]
mod tests {
    //! The rule table. Given a member account's root user credentials, settings and the clock,
    //! when planned, then exactly these actions, with this authority and urgency.

    use iam_remediation::plan::{Authority, Urgency};
    use iam_remediation::testing::{days_ago, now};
    use iam_remediation::{Env, FromEnv};

    use super::*;
    use crate::facts::MfaDevice;

    fn settings(pairs: &[(&str, &str)]) -> RootCredentials {
        RootCredentials::from_env(&Env::from_pairs(pairs.iter().copied())).expect("valid")
    }

    /// A key `age` days old, last used `used` days ago (`None`: never).
    fn key(id: &str, active: bool, age: i64, used: Option<i64>) -> RootKey {
        RootKey {
            id: id.into(),
            active,
            created: days_ago(age),
            last_used: used.map(days_ago),
            exposed: false,
        }
    }

    fn root(keys: Vec<RootKey>) -> RootUser {
        RootUser {
            account: "111122223333".into(),
            access_keys: keys,
            password: None,
            mfa_devices: Vec::new(),
            signing_certificates: Vec::new(),
        }
    }

    /// (action, target, authority, urgency, reason) of each planned action.
    type Row = (&'static str, String, Authority, Urgency, String);

    fn planned(root: RootUser, settings: &RootCredentials) -> Vec<Row> {
        plan(&RootFacts::Member(root), settings, now())
            .into_iter()
            .map(|a| {
                assert_eq!(a.subject, Subject::RootUser);
                assert_eq!(a.blocked, None);
                (a.action, a.target, a.authority, a.urgency, a.reason)
            })
            .collect()
    }

    fn row(
        action: &'static str,
        target: &str,
        authority: Authority,
        urgency: Urgency,
        reason: &str,
    ) -> Row {
        (
            action,
            target.to_owned(),
            authority,
            urgency,
            reason.to_owned(),
        )
    }

    #[test]
    #[allow(clippy::too_many_lines, reason = "one table, read top to bottom")]
    fn each_root_key_is_judged_by_its_use() {
        use Authority::{Override, Rule};
        use Urgency::{Now, WarnFirst};
        let defaults = settings(&[]);
        let warn30 = settings(&[("WARN_DAYS", "30")]);
        let limit30 = settings(&[("MAX_KEY_UNUSED_DAYS", "30")]);
        let warn60 = settings(&[("WARN_DAYS", "60")]);
        let exposed = |mut key: RootKey| {
            key.exposed = true;
            key
        };
        // (key, settings, the one action planned)
        let table: Vec<(RootKey, &RootCredentials, Row)> = vec![
            (
                key("NEVER", true, 1, None),
                &defaults,
                row(
                    DELETE_ROOT_ACCESS_KEY,
                    "NEVER",
                    Rule,
                    Now,
                    "a root access key never used, created 1 days ago",
                ),
            ),
            (
                key("NEVEROLD", true, 400, None),
                &defaults,
                row(
                    DELETE_ROOT_ACCESS_KEY,
                    "NEVEROLD",
                    Rule,
                    Now,
                    "a root access key never used, created 400 days ago",
                ),
            ),
            (
                key("STALE", true, 400, Some(91)),
                &defaults,
                row(
                    DELETE_ROOT_ACCESS_KEY,
                    "STALE",
                    Rule,
                    Now,
                    "a root access key last used 91 days ago (limit 90)",
                ),
            ),
            (
                key("EDGE", true, 400, Some(90)),
                &defaults,
                row(
                    DELETE_ROOT_ACCESS_KEY,
                    "EDGE",
                    Rule,
                    Now,
                    "a root access key last used 90 days ago (limit 90)",
                ),
            ),
            (
                key("RECENT", true, 400, Some(89)),
                &defaults,
                row(
                    DELETE_ROOT_ACCESS_KEY,
                    "RECENT",
                    Rule,
                    WarnFirst,
                    "a root access key in use, last used 89 days ago (limit 90): deleted once warned 7 days",
                ),
            ),
            (
                key("TODAY", true, 400, Some(0)),
                &warn30,
                row(
                    DELETE_ROOT_ACCESS_KEY,
                    "TODAY",
                    Rule,
                    WarnFirst,
                    "a root access key in use, last used 0 days ago (limit 90): deleted once warned 30 days",
                ),
            ),
            (
                key("LIMIT30", true, 400, Some(30)),
                &limit30,
                row(
                    DELETE_ROOT_ACCESS_KEY,
                    "LIMIT30",
                    Rule,
                    Now,
                    "a root access key last used 30 days ago (limit 30)",
                ),
            ),
            (
                key("OFF", false, 400, Some(1)),
                &defaults,
                row(
                    DELETE_ROOT_ACCESS_KEY,
                    "OFF",
                    Rule,
                    Now,
                    "an inactive root access key (last used 1 days ago): nothing can be using it",
                ),
            ),
            (
                key("OFFNEVER", false, 10, None),
                &defaults,
                row(
                    DELETE_ROOT_ACCESS_KEY,
                    "OFFNEVER",
                    Rule,
                    Now,
                    "a root access key never used, created 10 days ago",
                ),
            ),
            (
                exposed(key("LEAKED", true, 400, Some(0))),
                &defaults,
                row(
                    DELETE_ROOT_ACCESS_KEY,
                    "LEAKED",
                    Override,
                    Now,
                    "reported exposed by AWS (AWS_RISK_CREDENTIALS_EXPOSED): a root access key",
                ),
            ),
            (
                exposed(key("LEAKEDOFF", false, 400, None)),
                &warn60,
                row(
                    DELETE_ROOT_ACCESS_KEY,
                    "LEAKEDOFF",
                    Override,
                    Now,
                    "reported exposed by AWS (AWS_RISK_CREDENTIALS_EXPOSED): a root access key",
                ),
            ),
        ];
        for (key, settings, expected) in table {
            let id = key.id.clone();
            assert_eq!(planned(root(vec![key]), settings), vec![expected], "{id}");
        }
    }

    #[test]
    fn each_order_carries_what_the_re_read_checks() {
        let mut leaked = key("LEAKED", true, 400, Some(2));
        leaked.exposed = true;
        let actions = plan(
            &RootFacts::Member(root(vec![key("A", true, 400, Some(5)), leaked])),
            &settings(&[]),
            now(),
        );
        let orders: Vec<RootOrder> = actions.into_iter().map(|a| a.order).collect();
        assert_eq!(
            orders,
            vec![
                RootOrder::DeleteAccessKey {
                    key_id: "A".into(),
                    last_used: Some(days_ago(5)),
                    exposed: false
                },
                RootOrder::DeleteAccessKey {
                    key_id: "LEAKED".into(),
                    last_used: Some(days_ago(2)),
                    exposed: true
                },
            ]
        );
    }

    #[test]
    fn marking_keys_exposed_comes_from_the_trigger() {
        let mut user = root(vec![
            key("A", true, 400, Some(1)),
            key("B", true, 400, Some(1)),
        ]);
        user.mark_exposed(&["B".to_owned(), "OTHER".to_owned()]);
        let exposed: Vec<(&str, bool)> = user
            .access_keys
            .iter()
            .map(|k| (k.id.as_str(), k.exposed))
            .collect();
        assert_eq!(exposed, [("A", false), ("B", true)]);
    }

    fn with_sign_in() -> RootUser {
        RootUser {
            password: Some(days_ago(300)),
            mfa_devices: vec![
                MfaDevice {
                    serial_number: "arn:aws:iam::111122223333:mfa/root-account-mfa-device".into(),
                },
                MfaDevice {
                    serial_number: "GAHT12345678".into(),
                },
            ],
            signing_certificates: vec!["CERT1".into()],
            ..root(vec![key("K", true, 400, None)])
        }
    }

    #[test]
    fn the_root_password_mfa_and_certificates_only_with_root_remove_password() {
        use Authority::Rule;
        use Urgency::Now;
        let keys_only = planned(with_sign_in(), &settings(&[]));
        assert_eq!(
            keys_only.iter().map(|r| r.0).collect::<Vec<_>>(),
            [DELETE_ROOT_ACCESS_KEY],
            "ROOT_REMOVE_PASSWORD is off by default"
        );

        let all = planned(
            with_sign_in(),
            &settings(&[("ROOT_REMOVE_PASSWORD", "true")]),
        );
        assert_eq!(
            all,
            vec![
                row(
                    DELETE_ROOT_ACCESS_KEY,
                    "K",
                    Rule,
                    Now,
                    "a root access key never used, created 400 days ago"
                ),
                row(
                    DELETE_ROOT_LOGIN_PROFILE,
                    "login-profile",
                    Rule,
                    Now,
                    "the root user has a console password (created 2025-08-19); ROOT_REMOVE_PASSWORD is on",
                ),
                row(
                    DEACTIVATE_ROOT_MFA_DEVICE,
                    "arn:aws:iam::111122223333:mfa/root-account-mfa-device",
                    Rule,
                    Now,
                    "a virtual MFA device of the root user, whose sign-in is removed (ROOT_REMOVE_PASSWORD)",
                ),
                row(
                    DEACTIVATE_ROOT_MFA_DEVICE,
                    "GAHT12345678",
                    Rule,
                    Now,
                    "a hardware MFA device of the root user, whose sign-in is removed (ROOT_REMOVE_PASSWORD)",
                ),
                row(
                    DELETE_ROOT_SIGNING_CERTIFICATE,
                    "CERT1",
                    Rule,
                    Now,
                    "a signing certificate of the root user (ROOT_REMOVE_PASSWORD)",
                ),
            ],
            "keys, then the password, then its MFA devices, then certificates"
        );
        let orders: Vec<RootOrder> = plan(
            &RootFacts::Member(with_sign_in()),
            &settings(&[("ROOT_REMOVE_PASSWORD", "true")]),
            now(),
        )
        .into_iter()
        .skip(1)
        .map(|a| a.order)
        .collect();
        assert_eq!(
            orders,
            vec![
                RootOrder::DeleteLoginProfile,
                RootOrder::DeactivateMfaDevice {
                    serial_number: "arn:aws:iam::111122223333:mfa/root-account-mfa-device".into()
                },
                RootOrder::DeactivateMfaDevice {
                    serial_number: "GAHT12345678".into()
                },
                RootOrder::DeleteSigningCertificate {
                    certificate_id: "CERT1".into()
                },
            ]
        );
    }

    #[test]
    fn a_root_user_without_credentials_needs_nothing() {
        let clean = root(Vec::new());
        assert!(planned(clean.clone(), &settings(&[])).is_empty());
        assert!(planned(clean, &settings(&[("ROOT_REMOVE_PASSWORD", "true")])).is_empty());
        let mut mfa_only = root(Vec::new());
        mfa_only.mfa_devices.push(MfaDevice {
            serial_number: "GAHT1".into(),
        });
        assert!(
            planned(mfa_only, &settings(&[])).is_empty(),
            "MFA is left alone unless ROOT_REMOVE_PASSWORD"
        );
    }

    #[test]
    fn the_management_account_is_skipped_with_the_reason() {
        let actions = plan(
            &RootFacts::ManagementAccount {
                account: "123456789012".into(),
            },
            &settings(&[("ROOT_REMOVE_PASSWORD", "true")]),
            now(),
        );
        assert_eq!(actions.len(), 1);
        assert_eq!(
            (
                actions[0].action,
                actions[0].target.as_str(),
                actions[0].blocked.as_deref(),
                &actions[0].order
            ),
            (
                ASSUME_ROOT,
                "123456789012",
                Some("AssumeRoot cannot reach the management account"),
                &RootOrder::Unreachable
            )
        );
    }

    #[test]
    fn findings_of_iam6_and_iam9_are_handled_only_with_root_remove_password() {
        let off = settings(&[]);
        let on = settings(&[("ROOT_REMOVE_PASSWORD", "true")]);
        for (control, when_off, when_on) in [
            ("IAM.4", true, true),
            ("IAM.6", false, true),
            ("IAM.9", false, true),
            ("IAM.3", false, false),
        ] {
            assert_eq!(
                (off.handles_control(control), on.handles_control(control)),
                (when_off, when_on),
                "{control}"
            );
        }
    }
}
