//! `root-credentials` (organisation mode only): deletes member accounts' root user access keys,
//! and with `ROOT_REMOVE_PASSWORD` their console passwords, MFA devices and signing
//! certificates, through `sts:AssumeRoot` from the management account or IAM's delegated
//! administrator (shared/DESIGN.md, "Organisations").
//!
//! What is the function's own lives here, as free functions taking SDK clients: its settings
//! ([`settings`]), its root sessions ([`session`]), its facts read in an audit session
//! ([`facts`]), its pure rule ([`rule`], and Security Hub's criteria in [`control`]), its
//! changes in a delete session ([`apply`]), and the member account's tags in AWS Organizations
//! ([`account_tags`]).

pub mod account_tags;
pub mod apply;
pub mod control;
pub mod facts;
pub mod rule;
pub mod session;
pub mod settings;

#[cfg(test)]
mod fake;

pub use crate::facts::{MfaDevice, RootFacts, RootKey, RootUser};
pub use crate::rule::RootOrder;
pub use crate::settings::RootCredentials;
