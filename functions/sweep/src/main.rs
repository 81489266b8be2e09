//! The `sweep` Lambda function, run by an EventBridge schedule: wiring only
//! (see `ota::handlers::sweep`).

use lambda_http::lambda_runtime::{self, service_fn, LambdaEvent};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    ota::telemetry::init();
    let deps = ota::Deps::from_env().map_err(|error| {
        tracing::error!(%error, "cannot start");
        error.to_string()
    })?;
    let deps = &deps;
    lambda_runtime::run(service_fn(|_: LambdaEvent<serde_json::Value>| async move {
        ota::handlers::sweep::run(deps).await.map_err(lambda_http::Error::from)
    }))
    .await
}
