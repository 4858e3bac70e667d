//! The shared IAM remediation pipeline.
//!
//! Every function is the same small pipeline, and this crate owns every step but the rule:
//!
//! event ([`intake`]) → scope → facts ([`facts`]) → plan ([`plan`], the function's pure rule)
//! → guard ([`guard`]: exemptions, `MAX_ACTIONS`, dry run) → apply ([`run`]: re-check, change,
//! record) → report ([`report`], [`metrics`], [`config_rule`]).
//!
//! A function crate holds its rule and thin wiring; anything two functions need lives here.

pub mod apply;
pub mod clients;
pub mod config;
pub mod config_rule;
pub mod error;
pub mod facts;
pub mod guard;
pub mod intake;
pub mod metrics;
pub mod plan;
pub mod principal;
pub mod report;
pub mod run;
pub mod runtime;
pub mod scope;

pub use clients::Clients;
pub use config::{CommonSettings, ConfigError, Env};
pub use error::{Error, Result};
pub use intake::{Inputs, ManualFields, Trigger};
pub use plan::{ActionKind, PlannedAction};
pub use principal::{Principal, PrincipalKind};
pub use report::{ActionRecord, Report, Status};
pub use run::{Outcome, Run};
pub use scope::Scope;
