//! The `get-settings` Lambda function: wiring only (see `ota::handlers::get_settings`).

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    ota::http::run_function(ota::handlers::get_settings::handle).await
}
