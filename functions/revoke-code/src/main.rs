//! The `revoke-code` Lambda function: wiring only (see `ota::handlers::revoke_code`).

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    ota::http::run_function(ota::handlers::revoke_code::handle).await
}
