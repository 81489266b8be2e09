//! The `update-settings` Lambda function: wiring only (see `ota::handlers::update_settings`).

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    ota::http::run_function(ota::handlers::update_settings::handle).await
}
