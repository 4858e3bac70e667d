//! Lambda entry point: reads the configuration and builds the clients once per cold start.

use access_keys::{Deps, Settings, handle};
use iam_remediation::{Env, clients, runtime};
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    runtime::init_logging();
    let settings = Settings::from_env(&Env::process()).inspect_err(|error| {
        tracing::error!(%error, "invalid configuration");
    })?;
    let deps = Deps::new(&clients::load_sdk_config().await);
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let (deps, settings) = (&deps, &settings);
        async move {
            let deadline = runtime::deadline(&event.context);
            handle(deps, settings, event.payload, chrono::Utc::now(), deadline).await
        }
    }))
    .await
}
