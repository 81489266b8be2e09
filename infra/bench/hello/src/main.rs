//! `bench-hello`: answers every request with "hello" and nothing else. The
//! benchmark's floor for cold start and warm CPU (see `infra/bench`).

use lambda_http::{service_fn, Body, Error, Request, Response};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_http::run(service_fn(|_: Request| async { Ok::<_, Error>(Response::new(Body::from("hello"))) })).await
}
