//! The `sms-status` Lambda function, run by a CloudWatch Logs subscription to SNS's SMS delivery logs: wiring only (see `ota::handlers::sms_status`).

use lambda_http::lambda_runtime::{self, service_fn, LambdaEvent};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    ota::telemetry::init();
    let deps = ota::Deps::from_env().map_err(|error| {
        tracing::error!(%error, "cannot start");
        error.to_string()
    })?;
    let deps = &deps;
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| async move {
        // An error fails the invocation: Lambda retries the asynchronous invocation twice.
        ota::handlers::sms_status::run(deps, &event.payload).await.map_err(lambda_http::Error::from)
    }))
    .await
}
