//! The HTTP edge: who is calling, what they sent, and JSON answers.

use crate::api::errors::EdgeMessage;
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
    if let ApiError::Unauthenticated = error {
        // The authorizer's own answer, so that a 401 has one shape whoever gives it.
        return json_response(StatusCode::UNAUTHORIZED, &EdgeMessage { message: "Unauthorized" });
    }
    let mut response = json_response(error.status(), &error.body());
    if let ApiError::SmsRateLimited { retry_after_seconds, .. } = error {
        response.headers_mut().insert(header::RETRY_AFTER, (*retry_after_seconds).into());
    }
    response
}

/// Turns a handler's result into a response: the one place errors become HTTP.
pub fn respond(result: Result<Response<Body>, ApiError>) -> Response<Body> {
    result.unwrap_or_else(|error| error_response(&error))
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
    lambda_http::run(answering(move |req| handler(deps, req))).await
}

/// The service the runtime calls: each request answered by `handler`, and the answer
/// handed over [`Finished`].
fn answering<F, Fut>(
    handler: F,
) -> impl lambda_http::Service<
    Request,
    Response = Finished,
    Error = std::convert::Infallible,
    Future = impl Future<Output = Result<Finished, std::convert::Infallible>> + Send,
>
where
    F: Fn(Request) -> Fut,
    Fut: Future<Output = Response<Body>> + Send,
{
    lambda_http::service_fn(move |req: Request| {
        let response = handler(req);
        async move { Ok(Finished(response.await)) }
    })
}

/// A response whose body is already what API Gateway should send. Handed a plain
/// `Response`, lambda_http works the body out again on every request: it clones the
/// headers, parses the content type, and decodes and copies the text. Our bodies are
/// JSON text or empty from the start, so it is handed over as it is.
struct Finished(Response<Body>);

impl lambda_http::IntoResponse for Finished {
    fn into_response(self) -> std::pin::Pin<Box<dyn Future<Output = Response<Body>> + Send>> {
        Box::pin(std::future::ready(self.0))
    }
}

/// A JSON number that is a whole number, written `217` or `217.0` (JSON Schema's
/// `integer` admits both, and some clients send every number as a float); `null`
/// or absent is `None`. Out of range or fractional is the client's error.
pub fn whole_number<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<u32>, D::Error> {
    use serde::de::Error;
    use serde::Deserialize;
    let Some(number) = Option::<serde_json::Number>::deserialize(deserializer)? else {
        return Ok(None);
    };
    let whole = match number.as_u64() {
        Some(n) => Some(n),
        None => {
            number.as_f64().filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f <= f64::from(u32::MAX)).map(|f| f as u64)
        }
    };
    whole
        .and_then(|n| u32::try_from(n).ok())
        .map(Some)
        .ok_or_else(|| D::Error::custom(format!("{number} is not a whole number from 0 to {}", u32::MAX)))
}

#[cfg(test)]
mod whole_number_tests {
    #[derive(serde::Deserialize)]
    struct Body {
        #[serde(default, deserialize_with = "super::whole_number")]
        n: Option<u32>,
    }

    fn n(json: &str) -> Result<Option<u32>, String> {
        serde_json::from_str::<Body>(json).map(|b| b.n).map_err(|e| e.to_string())
    }

    #[test]
    fn whole_numbers_may_be_written_as_floats() {
        assert_eq!(n(r#"{"n": 217}"#), Ok(Some(217)));
        assert_eq!(n(r#"{"n": 217.0}"#), Ok(Some(217)));
        assert_eq!(n(r#"{"n": null}"#), Ok(None));
        assert_eq!(n(r#"{}"#), Ok(None));
        for bad in [r#"{"n": 2.5}"#, r#"{"n": -1}"#, r#"{"n": 1e20}"#, r#"{"n": "7"}"#] {
            assert!(n(bad).is_err(), "{bad}");
        }
    }
}

#[cfg(test)]
mod finished_tests {
    use super::*;
    use lambda_http::tower::{Service, ServiceExt};

    /// What the Lambda runtime posts for API Gateway when a handler answers with
    /// `respond()` to the list's sample event, through the service `serve` runs.
    async fn as_posted(respond: impl Fn() -> Response<Body>) -> serde_json::Value {
        let event: lambda_http::request::LambdaRequest =
            serde_json::from_str(include_str!("../../events/list-codes.json")).unwrap();
        let mut adapter = lambda_http::Adapter::from(answering(|_| std::future::ready(respond())));
        let posted = adapter
            .ready()
            .await
            .unwrap()
            .call(lambda_http::LambdaEvent::new(event, lambda_http::Context::default()))
            .await
            .unwrap();
        serde_json::to_value(&posted).unwrap()
    }

    #[tokio::test]
    async fn a_json_answer_reaches_api_gateway_as_text_with_its_headers() {
        let error = ApiError::SmsRateLimited {
            scope: crate::store::invites::SmsLimitScope::Intercom,
            retry_after_seconds: 600,
        };
        let posted = as_posted(|| error_response(&error)).await;
        assert_eq!(posted["statusCode"], 429);
        assert_eq!(posted["isBase64Encoded"], false);
        assert_eq!(posted["headers"]["content-type"], "application/json");
        assert_eq!(posted["headers"]["cache-control"], "no-store");
        assert_eq!(posted["headers"]["retry-after"], "600");
        let body: serde_json::Value = serde_json::from_str(posted["body"].as_str().unwrap()).unwrap();
        assert_eq!(body["error"]["code"], "sms_rate_limited", "{body}");
    }

    /// Only a route deployed without the authorizer gets here; it answers as the
    /// authorizer would, so that a 401 has one shape.
    #[tokio::test]
    async fn a_caller_without_verified_claims_gets_the_authorizers_answer() {
        let posted = as_posted(|| error_response(&ApiError::Unauthenticated)).await;
        assert_eq!(posted["statusCode"], 401);
        let body: serde_json::Value = serde_json::from_str(posted["body"].as_str().unwrap()).unwrap();
        assert_eq!(body, serde_json::json!({ "message": "Unauthorized" }));
    }

    #[tokio::test]
    async fn an_empty_answer_reaches_api_gateway_without_a_body() {
        let posted = as_posted(|| empty_response(StatusCode::NO_CONTENT)).await;
        assert_eq!(posted["statusCode"], 204);
        assert_eq!(posted["isBase64Encoded"], false);
        assert!(posted["body"].is_null(), "{posted}");
    }
}
