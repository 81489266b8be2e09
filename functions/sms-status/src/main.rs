//! The `sms-status` Lambda function, run by a CloudWatch Logs subscription to SNS's SMS delivery-status logs: wiring only
//! (see `ota::handlers::sms_status`).

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    ota::telemetry::run_event_function(|deps, event| async move { ota::handlers::sms_status::run(deps, &event).await })
        .await
}
