//! Lambda entry point: reads the configuration and builds the clients once per cold start.

use iam_remediation::{Clients, Env, clients, runtime};
use inline_policies::{Settings, handle};
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    runtime::init_logging();
    let settings = Settings::from_env(&Env::process()).inspect_err(|error| {
        tracing::error!(%error, "invalid configuration");
    })?;
    let clients = Clients::new(&clients::load_sdk_config().await);
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let (clients, settings) = (&clients, &settings);
        async move {
            let deadline = runtime::deadline(&event.context);
            handle(
                clients,
                settings,
                event.payload,
                chrono::Utc::now(),
                deadline,
            )
            .await
        }
    }))
    .await
}
