//! The `list-codes` Lambda function: wiring only (see `ota::handlers::list_codes`).

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    ota::http::run_function(ota::handlers::list_codes::handle).await
}
