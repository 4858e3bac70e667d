//! Lambda entry point: reads the configuration and builds the clients once per cold start.

use access_keys::{Deps, Settings, handle};
use iam_remediation::{Env, clients, runtime};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    runtime::init_logging();
    let settings = &runtime::startup_settings(Settings::from_env(&Env::process()))?;
    let deps = &Deps::new(&clients::load_sdk_config().await);
    runtime::serve(|event, now, deadline| handle(deps, settings, event, now, deadline)).await
}
