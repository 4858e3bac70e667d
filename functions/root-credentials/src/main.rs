//! Lambda entry point: the shared runtime with this function.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    iam_remediation::runtime::start::<root_credentials::RootCredentials>().await
}
