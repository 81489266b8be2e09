//! The `outbox` Lambda function, run by the table's DynamoDB stream: wiring only (see `ota::handlers::outbox`).

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
        // An error fails the invocation: Lambda delivers the batch again, then hands it to the dead-letter queue.
        ota::handlers::outbox::run(deps, &event.payload).await.map_err(lambda_http::Error::from)
    }))
    .await
}
