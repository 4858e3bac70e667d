//! Wiring shared by every function's `main`.

use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use lambda_runtime::{Context, LambdaEvent, service_fn};
use serde_json::Value;

use crate::clients::Clients;
use crate::config::{CommonSettings, ConfigError};
use crate::error::Result;
use crate::intake::{self, Inputs, Trigger};
use crate::report::Report;
use crate::run::Run;

/// JSON logs when Lambda's log format is JSON (the SAM template sets it), text otherwise.
pub fn init_logging() {
    lambda_runtime::tracing::init_default_subscriber();
}

/// The invocation's deadline, from the Lambda context. A deadline already past when the
/// invocation starts is not one Lambda gives (local runtime emulators do): it is ignored, with a
/// warning, rather than stopping the run before it starts.
pub fn deadline(context: &Context) -> Option<SystemTime> {
    let deadline = SystemTime::UNIX_EPOCH + Duration::from_millis(context.deadline);
    if context.deadline > 0 && deadline > SystemTime::now() {
        Some(deadline)
    } else {
        tracing::warn!(
            deadline_ms = context.deadline,
            "no usable deadline in the invocation context"
        );
        None
    }
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

/// Settings read at start-up: a bad value is logged, then stops the start-up with the error
/// naming the variable (Lambda reports it as an init error).
pub fn startup_settings<T>(
    settings: std::result::Result<T, ConfigError>,
) -> std::result::Result<T, ConfigError> {
    settings.inspect_err(|error| tracing::error!(%error, "invalid configuration"))
}

/// Runs the Lambda runtime loop: each event goes to `handler` with the clock and the deadline.
pub async fn serve<F, Fut>(handler: F) -> std::result::Result<(), lambda_runtime::Error>
where
    F: Fn(Value, DateTime<Utc>, Option<SystemTime>) -> Fut,
    Fut: Future<Output = Result<Report>>,
{
    // Boxed: the handler's future is deep (pipeline stages within stages), and without the box
    // the compiler computes its layout inside the runtime's own and can hit its depth limit.
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        Box::pin(handler(event.payload, Utc::now(), deadline(&event.context)))
    }))
    .await
}

/// One invocation of a function: intake, then the function's own `execute` (scope, facts, plan,
/// guard, apply) on a [`Run`], then the report (and the Config evaluation) or the Lambda error.
pub async fn invocation(
    function: &'static str,
    inputs: &Inputs,
    settings: &CommonSettings,
    clients: &Clients,
    event: Value,
    deadline: Option<SystemTime>,
    execute: impl AsyncFnOnce(&Trigger, &mut Run) -> Result<()>,
) -> Result<Report> {
    let trigger = intake::parse(event, inputs)?;
    let mut run = Run::new(function, &trigger, settings, deadline);
    match execute(&trigger, &mut run).await {
        Ok(()) => conclude(run, &trigger, clients).await,
        Err(error) => Err(run.abort(error)),
    }
}
