//! The `create-invite` Lambda function: wiring only (see `ota::handlers::create_invite`).

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    ota::http::run_function(ota::handlers::create_invite::handle).await
}
