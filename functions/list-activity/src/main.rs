//! The `list-activity` Lambda function: wiring only (see `ota::handlers::list_activity`).

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    ota::http::run_function(ota::handlers::list_activity::handle).await
}
