//! The shared IAM remediation pipeline.
//!
//! Every function is the same pipeline, run once here for all four through one trait,
//! [`Remediation`]:
//!
//! event ([`intake`]) → scope ([`scope`]) → facts (the function's reads, with the shared ones in
//! [`reads`]) → plan (the function's pure rule, as [`plan::PlannedAction`]s) → guard ([`guard`]:
//! exemptions, own identity, warnings, `MAX_ACTIONS`, dry run) → apply (the function's change,
//! driven by [`pipeline`]) → report ([`report`], [`feedback`] to Config and Security Hub,
//! [`notify`], [`metrics`]).
//!
//! A function crate holds what is its own: its settings, its inputs, its facts, its rule and its
//! changes. Nothing here knows of keys, passwords or policies beyond what two functions read alike
//! (the credential report, tags, a key's owner) and the findings that name them.

pub mod clients;
pub mod config;
pub mod error;
pub mod feedback;
pub mod guard;
pub mod intake;
pub mod metrics;
pub mod notify;
pub mod pipeline;
pub mod plan;
pub mod principal;
pub mod reads;
pub mod report;
pub mod runtime;
pub mod scope;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use clients::Clients;
pub use config::{CommonSettings, ConfigError, Env, FromEnv};
pub use error::{Error, Result};
pub use error::{call, change};
pub use intake::{Inputs, Trigger};
pub use pipeline::{Observed, Outcome, Remediation, Survey, Window, handle};
pub use plan::PlannedAction;
pub use principal::{Principal, PrincipalKind, Subject};
pub use report::{ActionRecord, Report, Status};
pub use scope::Scope;
