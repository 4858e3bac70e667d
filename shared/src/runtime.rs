//! Wiring shared by every function's `main`.

use std::time::{Duration, SystemTime};

use lambda_runtime::Context;

use crate::clients::Clients;
use crate::error::Result;
use crate::intake::Trigger;
use crate::report::Report;
use crate::run::Run;

/// JSON logs when Lambda's log format is JSON (the SAM template sets it), text otherwise.
pub fn init_logging() {
    lambda_runtime::tracing::init_default_subscriber();
}

/// The invocation's deadline, from the Lambda context.
pub fn deadline(context: &Context) -> Option<SystemTime> {
    (context.deadline > 0).then(|| SystemTime::UNIX_EPOCH + Duration::from_millis(context.deadline))
}

/// Ends a run: sends the Config rule evaluation when a custom rule invoked the function, then
/// logs the report and returns it, or the Lambda error when anything failed.
pub async fn conclude(mut run: Run, trigger: &Trigger, clients: &Clients) -> Result<Report> {
    if let Trigger::ConfigRule(invocation) = trigger
        && let Err(error) =
            crate::config_rule::put_evaluation(&clients.config, invocation, run.report()).await
    {
        run.add_error(error.to_string());
    }
    run.finish()
}
