//! Security Hub's own criteria of the controls root-credentials covers, on a member account's
//! root user credentials as read live in an audit root session: a finding is resolved only when
//! they pass (Security Hub does not reopen a resolved finding that keeps failing).
//!
//! From the Security Hub User Guide, "Security Hub controls for IAM"
//! (<https://docs.aws.amazon.com/securityhub/latest/userguide/iam-controls.html>):
//! - IAM.4 "IAM root user access key should not exist" (Config rule `iam-root-access-key-check`):
//!   fails while the root user has an access key, active or not.
//! - IAM.6 "Hardware MFA should be enabled for the root user"
//!   (`root-account-hardware-mfa-enabled`): fails unless the root user has an MFA device that is
//!   not a virtual one.
//! - IAM.9 "MFA should be enabled for the root user" (`root-account-mfa-enabled`): fails while the
//!   root user has no MFA device.
//!
//! With `ROOT_REMOVE_PASSWORD` this function deactivates the root user's MFA devices along with
//! its password: IAM.6 and IAM.9 then keep failing by their letter (nobody can sign in as root,
//! but no MFA device is enabled), and their findings are noted, never resolved.

use iam_remediation::ControlState;

use crate::facts::{RootFacts, RootUser};

/// The state of `control` on `facts`; `None` when the facts say nothing of it (another control,
/// or the management account, which was not read).
pub fn state(control: &str, facts: &RootFacts) -> Option<ControlState> {
    let RootFacts::Member(root) = facts else {
        return None;
    };
    match control {
        "IAM.4" => Some(iam4(root)),
        "IAM.6" => Some(
            if root.mfa_devices.iter().any(|device| !device.is_virtual()) {
                ControlState::Passes
            } else {
                ControlState::Fails(format!(
                    "the root user of {} has no hardware MFA device{}",
                    root.account,
                    no_sign_in(root)
                ))
            },
        ),
        "IAM.9" => Some(if root.mfa_devices.is_empty() {
            ControlState::Fails(format!(
                "the root user of {} has no MFA device{}",
                root.account,
                no_sign_in(root)
            ))
        } else {
            ControlState::Passes
        }),
        _ => None,
    }
}

fn iam4(root: &RootUser) -> ControlState {
    if root.access_keys.is_empty() {
        return ControlState::Passes;
    }
    let keys: Vec<String> = root
        .access_keys
        .iter()
        .map(|key| {
            format!(
                "{} ({})",
                key.id,
                if key.active { "active" } else { "inactive" }
            )
        })
        .collect();
    ControlState::Fails(format!(
        "the root user of {} has access keys: {}",
        root.account,
        keys.join(", ")
    ))
}

/// What an operator should know of a root user without MFA that cannot sign in either.
fn no_sign_in(root: &RootUser) -> &'static str {
    if root.password.is_none() {
        " (it has no console password either: nobody can sign in as root)"
    } else {
        ""
    }
}

#[cfg(test)]
mod tests {
    use iam_remediation::testing::assert_control_state;
    use iam_remediation::testing::days_ago;

    use super::*;
    use crate::facts::{MfaDevice, RootKey};

    const VIRTUAL: &str = "arn:aws:iam::111122223333:mfa/root-account-mfa-device";
    const HARDWARE_TOTP: &str = "GAHT12345678";
    const SECURITY_KEY: &str = "arn:aws:iam::111122223333:u2f/root/yubikey-EXAMPLE";

    fn root(keys: &[bool], devices: &[&str], password: bool) -> RootFacts {
        RootFacts::Member(RootUser {
            account: "111122223333".into(),
            access_keys: keys
                .iter()
                .enumerate()
                .map(|(n, active)| RootKey {
                    id: format!("AKIAROOT{n}"),
                    active: *active,
                    created: days_ago(100),
                    last_used: None,
                    exposed: false,
                })
                .collect(),
            password: password.then(|| days_ago(10)),
            mfa_devices: devices
                .iter()
                .map(|serial| MfaDevice {
                    serial_number: (*serial).to_owned(),
                })
                .collect(),
            signing_certificates: Vec::new(),
        })
    }

    #[test]
    fn each_control_is_judged_by_its_own_criterion() {
        // (control, facts, passes, the failure says)
        for (control, facts, passes, says) in [
            ("IAM.4", root(&[], &[], true), true, ""),
            (
                "IAM.4",
                root(&[false], &[], true),
                false,
                "has access keys: AKIAROOT0 (inactive)",
            ),
            (
                "IAM.4",
                root(&[true, false], &[HARDWARE_TOTP], true),
                false,
                "AKIAROOT0 (active), AKIAROOT1 (inactive)",
            ),
            ("IAM.6", root(&[], &[HARDWARE_TOTP], true), true, ""),
            ("IAM.6", root(&[], &[SECURITY_KEY], true), true, ""),
            (
                "IAM.6",
                root(&[], &[VIRTUAL, HARDWARE_TOTP], true),
                true,
                "",
            ),
            (
                "IAM.6",
                root(&[], &[VIRTUAL], true),
                false,
                "has no hardware MFA device",
            ),
            (
                "IAM.6",
                root(&[], &[], false),
                false,
                "no hardware MFA device (it has no console password either",
            ),
            ("IAM.9", root(&[], &[VIRTUAL], true), true, ""),
            ("IAM.9", root(&[], &[HARDWARE_TOTP], false), true, ""),
            ("IAM.9", root(&[], &[], true), false, "has no MFA device"),
            (
                "IAM.9",
                root(&[], &[], false),
                false,
                "nobody can sign in as root",
            ),
        ] {
            let state = state(control, &facts);
            assert_control_state(state, passes, says, &format!("{control} {facts:?}"));
        }
    }

    #[test]
    fn other_controls_and_the_management_account_are_not_judged() {
        assert_eq!(state("IAM.3", &root(&[true], &[], true)), None);
        let management = RootFacts::ManagementAccount {
            account: "123456789012".into(),
        };
        for control in ["IAM.4", "IAM.6", "IAM.9"] {
            assert_eq!(state(control, &management), None, "{control}");
        }
    }
}
