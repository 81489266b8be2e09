//! The `redeem-entry` Lambda function: wiring only (see `ota::handlers::redeem`).

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    ota::http::run_function(ota::handlers::redeem::handle_entry).await
}
