//! The `outbox` Lambda function, run by the table's DynamoDB stream: wiring only
//! (see `ota::handlers::outbox`).

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    ota::telemetry::run_event_function(|deps, event| async move { ota::handlers::outbox::run(deps, &event).await })
        .await
}
