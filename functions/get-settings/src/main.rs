//! The `get-settings` Lambda function: wiring only (see `ota::handlers::get_settings`).

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    ota::telemetry::init();
    let deps: &'static ota::Deps = Box::leak(Box::new(ota::Deps::from_env().await?));
    ota::http::serve(deps, ota::handlers::get_settings::handle).await
}
