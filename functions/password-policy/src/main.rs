//! Lambda entry point: reads the configuration and builds the clients once per cold start.

use iam_remediation::{Clients, Env, clients, runtime};
use password_policy::{Settings, handle};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    runtime::init_logging();
    let settings = &runtime::startup_settings(Settings::from_env(&Env::process()))?;
    let clients = &Clients::new(&clients::load_sdk_config().await);
    runtime::serve(|event, now, deadline| handle(clients, settings, event, now, deadline)).await
}
