//! The `gate-events` Lambda function, invoked by IoT Core topic rules with a gate's
//! report on a door command or a lifecycle event: wiring only (see
//! `ota::handlers::gate_events`).

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
        // A failed store write fails the invocation: the rule's action retries it,
        // then its error action keeps the message in the dead-letter queue.
        ota::handlers::gate_events::handle(deps, &event.payload).await.map_err(|error| {
            error.log();
            lambda_http::Error::from(error.to_string())
        })
    }))
    .await
}
