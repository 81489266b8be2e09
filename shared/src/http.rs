//! The HTTP edge: who is calling, what they sent, and JSON answers.

use crate::domain::ids::UserId;
use crate::error::ApiError;
use crate::Deps;
use lambda_http::http::{header, StatusCode};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::future::Future;

/// Bodies are a few hundred bytes; anything much larger is a mistake or an attack.
pub const MAX_BODY_BYTES: usize = 8 * 1024;

/// The app user, from the `sub` claim API Gateway's JWT authorizer verified.
/// Missing only if the route was deployed without the authorizer.
pub fn caller(req: &Request) -> Result<UserId, ApiError> {
    req.request_context_ref()
        .and_then(|ctx| ctx.authorizer())
        .and_then(|auth| auth.jwt.as_ref())
        .and_then(|jwt| jwt.claims.get("sub"))
        .and_then(|sub| UserId::parse(sub))
        .ok_or(ApiError::Unauthenticated)
}

/// A path parameter parsed into its type; an unparsable one reads as `not_found`
/// for the resource (`on_invalid`), since such a resource cannot exist.
pub fn path_param<T>(
    req: &Request,
    name: &str,
    parse: impl Fn(&str) -> Option<T>,
    on_invalid: ApiError,
) -> Result<T, ApiError> {
    req.path_parameters_ref().and_then(|params| params.first(name)).and_then(parse).ok_or(on_invalid)
}

pub fn header_value<'r>(req: &'r Request, name: &str) -> Option<&'r str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

pub fn json_body<T: DeserializeOwned>(req: &Request) -> Result<T, ApiError> {
    let bytes: &[u8] = match req.body() {
        Body::Empty => b"",
        Body::Text(text) => text.as_bytes(),
        Body::Binary(bytes) => bytes,
        _ => b"",
    };
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge { limit: MAX_BODY_BYTES });
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::InvalidJson("a JSON object body is required".into()));
    }
    serde_json::from_slice(bytes).map_err(|e| ApiError::InvalidJson(e.to_string()))
}

pub fn json_response(status: StatusCode, body: &impl Serialize) -> Response<Body> {
    let text = serde_json::to_string(body).unwrap_or_else(|_| "{}".into());
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CACHE_CONTROL, "no-store")
        .body(Body::Text(text))
        .unwrap_or_default()
}

pub fn empty_response(status: StatusCode) -> Response<Body> {
    Response::builder().status(status).header(header::CACHE_CONTROL, "no-store").body(Body::Empty).unwrap_or_default()
}

pub fn error_response(error: &ApiError) -> Response<Body> {
    error.log();
    json_response(error.status(), &error.body())
}

/// Turns a handler's result into a response: the one place errors become HTTP.
pub fn respond(result: Result<Response<Body>, ApiError>) -> Response<Body> {
    result.unwrap_or_else(|error| {
        let mut response = error_response(&error);
        if let ApiError::SmsRateLimited { retry_after_seconds, .. } = error {
            response.headers_mut().insert(lambda_http::http::header::RETRY_AFTER, retry_after_seconds.into());
        }
        response
    })
}

/// A Lambda function's whole `main`: logging, configuration and clients once at
/// cold start (a bad configuration stops it with a message naming the variable),
/// then `handler` for every request.
pub async fn run_function<F, Fut>(handler: F) -> Result<(), lambda_http::Error>
where
    F: Fn(&'static Deps, Request) -> Fut,
    Fut: Future<Output = Response<Body>> + Send,
{
    crate::telemetry::init();
    let deps = Deps::from_env().map_err(|error| {
        tracing::error!(%error, "cannot start");
        error.to_string()
    })?;
    // Lives as long as the process, which is what the runtime's service needs.
    serve(Box::leak(Box::new(deps)), handler).await
}

/// Runs an HTTP handler on the Lambda runtime.
pub async fn serve<F, Fut>(deps: &'static Deps, handler: F) -> Result<(), lambda_http::Error>
where
    F: Fn(&'static Deps, Request) -> Fut,
    Fut: Future<Output = Response<Body>> + Send,
{
    lambda_http::run(lambda_http::service_fn(|req: Request| {
        let response = handler(deps, req);
        async move { Ok::<_, std::convert::Infallible>(response.await) }
    }))
    .await
}
