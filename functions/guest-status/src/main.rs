//! The `guest-status` Lambda function: wiring only (see `ota::handlers::guest_status`).

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    ota::http::run_function(ota::handlers::guest_status::handle).await
}
