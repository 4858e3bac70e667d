//! The shared IAM remediation pipeline.
//!
//! Every function is the same pipeline, run once here for all of them through one contract,
//! [`Remediation`] (and its pure [`Rule`]), in [`contract`]; the [`driver`] runs it:
//!
//! event ([`intake`]) → scope ([`scope`]) → facts (the function's reads, with the shared ones in
//! [`reads`]) → plan (the function's pure rule, as [`plan::PlannedAction`]s) → guard ([`guard`]:
//! exemptions, own identity, warnings, `MAX_ACTIONS`, dry run) → apply (the function's change,
//! with the bookkeeping of [`records`] before it) → report ([`report`], [`feedback`] to Config
//! and Security Hub, [`notify`], [`metrics`]).
//!
//! A function crate holds what is its own: its settings (which are the function), its inputs,
//! its facts, its rule and its changes. Nothing here knows of keys, passwords or policies beyond
//! what two functions read alike (the credential report, tags, a key's owner) and the findings
//! that name them. The modules form no cycle: [`contract`] sits below the [`driver`], and shared
//! reads take plain inputs, never the function.

pub mod clients;
pub mod concurrent;
pub mod config;
pub mod contract;
pub mod driver;
pub mod error;
pub mod feedback;
pub mod guard;
pub mod intake;
pub mod metrics;
pub mod notify;
pub mod organisation;
pub mod plan;
pub mod principal;
pub mod reads;
pub mod records;
pub mod report;
pub mod runtime;
pub mod scope;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use clients::Clients;
pub use config::{CommonSettings, ConfigError, Env, FromEnv};
pub use contract::{
    Asked, ControlState, Observed, Outcome, OwnTrigger, Reach, Remediation, Rule, Scope, Survey,
    Window,
};
pub use driver::handle;
pub use error::{Error, Result};
pub use error::{call, change};
pub use intake::{Inputs, Trigger};
pub use plan::PlannedAction;
pub use principal::{Principal, PrincipalKind, Subject};
pub use report::{ActionRecord, Report, Status};
