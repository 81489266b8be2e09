//! The `erase-guest` Lambda function: wiring only (see `ota::handlers::erase_guest`).

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    ota::http::run_function(ota::handlers::erase_guest::handle).await
}
