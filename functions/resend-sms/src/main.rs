//! The `resend-sms` Lambda function: wiring only (see `ota::handlers::resend_sms`).

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    ota::http::run_function(ota::handlers::resend_sms::handle).await
}
