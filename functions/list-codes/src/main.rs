//! The `list-codes` Lambda function: wiring only (see `ota::handlers::list_codes`).

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    ota::telemetry::init();
    let deps: &'static ota::Deps = Box::leak(Box::new(ota::Deps::from_env().await?));
    ota::http::serve(deps, ota::handlers::list_codes::handle).await
}
