//! A small HTTP proxy between the AWS SDK clients and moto that injects the
//! faults a real network and real AWS services produce, so tests can prove the
//! service keeps its promises when an answer is lost, late or wrong.
//!
//! Each request is named by its operation (`DynamoDB.UpdateItem`, `SNS.Publish`,
//! `IoT.UpdateThingShadow`, …) and counted. A [`Rule`] picks the Nth call(s) of an
//! operation (counted from when the rule was added) and applies a [`Fault`]. Every
//! exchange is logged with whether it reached moto, so a test can tell what really
//! happened (e.g. every shadow command that reached a gate) from what the caller
//! was told.
//!
//! Layout: `FaultProxy` (start, rules, log) → `serve` (one task per connection) →
//! `handle` (name, decide, forward or fake) → `fake_error` (each service's wire
//! format for the errors it injects).

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::net::TcpListener;

/// What goes wrong with one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The request reaches the service and takes effect; the connection is then
    /// closed without an answer (a lost answer: the caller cannot tell it happened).
    LoseAnswer,
    /// The request takes effect; the answer is held back this long (past the SDK's
    /// attempt timeout, the caller gives up on a call that did happen).
    DelayAnswer(Duration),
    /// Answered 500 without reaching the service: nothing happened.
    ServerError,
    /// The request takes effect, then the caller is answered 500 anyway.
    ServerErrorAfterEffect,
    /// The service's throttling error, without reaching it.
    Throttle,
    /// A final refusal of the request itself, without reaching the service: SNS's
    /// `InvalidParameter` (as for a number SMS cannot go to), DynamoDB's `ValidationException`.
    Reject,
    /// `TransactWriteItems` cancelled with `TransactionConflict` on its first item,
    /// without reaching DynamoDB (what real DynamoDB answers when two transactions
    /// touch one item at once).
    TransactionConflict,
}

impl Fault {
    /// Whether the request is passed on to the service.
    pub fn reaches_service(self) -> bool {
        matches!(self, Self::LoseAnswer | Self::DelayAnswer(_) | Self::ServerErrorAfterEffect)
    }
}

/// Which calls of an operation a fault applies to: `first` is 1 for the next call.
#[derive(Debug, Clone)]
pub struct Rule {
    pub operation: String,
    /// Only calls whose request body contains this (an item's key, say).
    pub body_contains: Option<String>,
    pub first: u32,
    pub count: u32,
    pub fault: Fault,
}

/// One request as the proxy saw it.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub operation: String,
    pub body: Bytes,
    pub fault: Option<Fault>,
    /// The service's status, if the request reached it.
    pub upstream_status: Option<u16>,
    /// When the proxy received it (a test can check a caller's pace).
    pub received: std::time::Instant,
}

impl Exchange {
    /// The request reached the service and the service accepted it.
    pub fn took_effect(&self) -> bool {
        self.upstream_status.is_some_and(|s| (200..300).contains(&s))
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

#[derive(Default)]
struct State {
    /// Rules with absolute call numbers per operation.
    rules: Vec<Rule>,
    calls: HashMap<String, u32>,
    log: Vec<Exchange>,
}

pub struct FaultProxy {
    pub endpoint: String,
    state: Arc<Mutex<State>>,
}

struct Shared {
    upstream: String,
    client: reqwest::Client,
    state: Arc<Mutex<State>>,
}

fn lock(state: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

impl FaultProxy {
    /// Listens on a free loopback port and passes everything on to `upstream`
    /// (e.g. moto's `http://127.0.0.1:PORT`) until a rule says otherwise.
    pub async fn start(upstream: &str) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let endpoint = format!("http://{}", listener.local_addr()?);
        let state = Arc::new(Mutex::new(State::default()));
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_owned(),
            client: reqwest::Client::new(),
            state: state.clone(),
        });
        tokio::spawn(serve(listener, shared));
        Ok(Self { endpoint, state })
    }

    /// Applies `fault` to calls `nth ..= nth + count - 1` of `operation`, counted
    /// from now (`nth = 1` is the next call).
    pub fn inject(&self, operation: &str, fault: Fault, nth: u32, count: u32) {
        let mut state = lock(&self.state);
        let seen = state.calls.get(operation).copied().unwrap_or(0);
        state.rules.push(Rule {
            operation: operation.to_owned(),
            body_contains: None,
            first: seen + nth,
            count,
            fault,
        });
    }

    /// Every call of `operation` whose request body contains `needle` gets `fault`
    /// from now on (until [`Self::heal`]): one item's writes, among parallel ones.
    pub fn always_when(&self, operation: &str, needle: &str, fault: Fault) {
        let mut state = lock(&self.state);
        let seen = state.calls.get(operation).copied().unwrap_or(0);
        state.rules.push(Rule {
            operation: operation.to_owned(),
            body_contains: Some(needle.to_owned()),
            first: seen + 1,
            count: u32::MAX,
            fault,
        });
    }

    /// The next call of `operation` gets `fault`.
    pub fn next(&self, operation: &str, fault: Fault) {
        self.inject(operation, fault, 1, 1);
    }

    /// Every call of `operation` from now on gets `fault` (until [`Self::heal`]).
    pub fn always(&self, operation: &str, fault: Fault) {
        self.inject(operation, fault, 1, u32::MAX);
    }

    /// Drops every rule: the network is good again.
    pub fn heal(&self) {
        lock(&self.state).rules.clear();
    }

    /// Every exchange of `operation` so far, in order.
    pub fn exchanges(&self, operation: &str) -> Vec<Exchange> {
        lock(&self.state).log.iter().filter(|e| e.operation == operation).cloned().collect()
    }

    /// Every exchange so far.
    pub fn log(&self) -> Vec<Exchange> {
        lock(&self.state).log.clone()
    }
}

async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        let shared = shared.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| handle(shared.clone(), req));
            // A lost answer ends the connection with an error: that is the point.
            let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

/// Why the proxy closed a connection without answering.
#[derive(Debug)]
struct AnswerLost;

impl std::fmt::Display for AnswerLost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("answer dropped on purpose")
    }
}

impl std::error::Error for AnswerLost {}

type Answer = Result<Response<Full<Bytes>>, AnswerLost>;

async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Answer {
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, 16 * 1024 * 1024).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return Ok(plain(StatusCode::BAD_REQUEST, "unreadable body")),
    };
    let operation = operation_of(&parts, &body);
    let fault = {
        let mut state = lock(&shared.state);
        let call = state.calls.entry(operation.clone()).or_insert(0);
        *call += 1;
        let call = *call;
        // The latest rule wins where rules overlap.
        state
            .rules
            .iter()
            .rev()
            .find(|r| {
                r.operation == operation
                    && call >= r.first
                    && call - r.first < r.count
                    && r.body_contains.as_ref().is_none_or(|needle| {
                        body.windows(needle.len().max(1)).any(|window| window == needle.as_bytes())
                    })
            })
            .map(|r| r.fault)
    };
    let mut exchange = Exchange {
        operation: operation.clone(),
        body: body.clone(),
        fault,
        upstream_status: None,
        received: std::time::Instant::now(),
    };

    let answer = if fault.is_none_or(Fault::reaches_service) {
        match forward(&shared, &parts, body).await {
            Ok(response) => {
                exchange.upstream_status = Some(response.status().as_u16());
                Some(response)
            }
            Err(error) => Some(plain(StatusCode::BAD_GATEWAY, &error.to_string())),
        }
    } else {
        None
    };
    lock(&shared.state).log.push(exchange);

    match (fault, answer) {
        (None, Some(response)) => Ok(response),
        (Some(Fault::LoseAnswer), _) => Err(AnswerLost),
        (Some(Fault::DelayAnswer(by)), Some(response)) => {
            tokio::time::sleep(by).await;
            Ok(response)
        }
        (Some(injected), _) => Ok(fake_error(&operation, injected)),
        (None, None) => Ok(plain(StatusCode::BAD_GATEWAY, "no answer")),
    }
}

async fn forward(
    shared: &Shared,
    parts: &hyper::http::request::Parts,
    body: Bytes,
) -> reqwest::Result<Response<Full<Bytes>>> {
    let path = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let mut request = shared.client.request(parts.method.clone(), format!("{}{path}", shared.upstream));
    for (name, value) in &parts.headers {
        if name != hyper::header::HOST && name != hyper::header::CONTENT_LENGTH {
            request = request.header(name, value);
        }
    }
    let upstream = request.body(body).send().await?;
    let mut response = Response::builder().status(upstream.status());
    for (name, value) in upstream.headers() {
        if name != hyper::header::TRANSFER_ENCODING
            && name != hyper::header::CONTENT_LENGTH
            && name != hyper::header::CONNECTION
        {
            response = response.header(name, value);
        }
    }
    let bytes = upstream.bytes().await?;
    Ok(response.body(Full::new(bytes)).unwrap_or_else(|_| plain(StatusCode::BAD_GATEWAY, "bad upstream answer")))
}

/// `DynamoDB.<Operation>` from `X-Amz-Target`, `SNS.<Action>` from the form body,
/// `IoT.UpdateThingShadow` / `IoT.GetThingShadow` from the shadow path, or
/// `<METHOD> <path>` for anything else.
fn operation_of(parts: &hyper::http::request::Parts, body: &[u8]) -> String {
    if let Some(target) = parts.headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
        if let Some(operation) = target.strip_prefix("DynamoDB_20120810.") {
            return format!("DynamoDB.{operation}");
        }
    }
    let path = parts.uri.path();
    if path.starts_with("/things/") && path.contains("/shadow") {
        return match parts.method {
            hyper::Method::POST => "IoT.UpdateThingShadow".into(),
            hyper::Method::DELETE => "IoT.DeleteThingShadow".into(),
            _ => "IoT.GetThingShadow".into(),
        };
    }
    let form = String::from_utf8_lossy(body);
    if let Some(action) = form.split('&').find_map(|pair| pair.strip_prefix("Action=")) {
        return format!("SNS.{action}");
    }
    format!("{} {path}", parts.method)
}

fn plain(status: StatusCode, text: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(text.to_owned())));
    *response.status_mut() = status;
    response
}

fn with_body(status: StatusCode, content_type: &str, body: String, extra: &[(&str, &str)]) -> Response<Full<Bytes>> {
    let mut response = Response::builder().status(status).header("content-type", content_type);
    for (name, value) in extra {
        response = response.header(*name, *value);
    }
    response.body(Full::new(Bytes::from(body))).unwrap_or_else(|_| plain(status, "fault"))
}

/// The error the service itself would answer, in its own wire format, so the SDK
/// classifies it as it would in production (retryable or not).
fn fake_error(operation: &str, fault: Fault) -> Response<Full<Bytes>> {
    let (status, code, message) = match fault {
        Fault::Throttle if operation.starts_with("DynamoDB.") => {
            (StatusCode::BAD_REQUEST, "ThrottlingException", "Rate of requests exceeds the allowed throughput.")
        }
        Fault::Throttle if operation.starts_with("IoT.") => {
            (StatusCode::TOO_MANY_REQUESTS, "ThrottlingException", "Rate exceeded")
        }
        // SNS's API reference, Publish: "ThrottledException … exceeds the limit for
        // your AWS account. HTTP Status Code: 429" (code `Throttled` on the wire).
        Fault::Throttle if operation.starts_with("SNS.") => {
            (StatusCode::TOO_MANY_REQUESTS, "Throttled", "Rate exceeded")
        }
        Fault::Throttle => (StatusCode::BAD_REQUEST, "Throttling", "Rate exceeded"),
        Fault::TransactionConflict => (StatusCode::BAD_REQUEST, "TransactionCanceledException", ""),
        Fault::Reject if operation.starts_with("DynamoDB.") => {
            (StatusCode::BAD_REQUEST, "ValidationException", "One or more parameter values were invalid")
        }
        Fault::Reject => (StatusCode::BAD_REQUEST, "InvalidParameter", "Invalid parameter: PhoneNumber"),
        _ if operation.starts_with("DynamoDB.") => {
            (StatusCode::INTERNAL_SERVER_ERROR, "InternalServerError", "Internal server error")
        }
        _ if operation.starts_with("IoT.") => {
            (StatusCode::INTERNAL_SERVER_ERROR, "InternalFailureException", "Internal failure")
        }
        _ => (StatusCode::INTERNAL_SERVER_ERROR, "InternalError", "Internal error"),
    };
    if operation.starts_with("DynamoDB.") {
        let body = if fault == Fault::TransactionConflict {
            transaction_conflict()
        } else {
            json!({ "__type": format!("com.amazonaws.dynamodb.v20120810#{code}"), "message": message })
        };
        return with_body(status, "application/x-amz-json-1.0", body.to_string(), &[]);
    }
    if operation.starts_with("IoT.") {
        let body = json!({ "message": message }).to_string();
        return with_body(status, "application/json", body, &[("x-amzn-ErrorType", code)]);
    }
    let kind = if status.is_server_error() { "Receiver" } else { "Sender" };
    let body = format!(
        "<ErrorResponse xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\"><Error><Type>{kind}</Type>\
         <Code>{code}</Code><Message>{message}</Message></Error><RequestId>fault-proxy</RequestId></ErrorResponse>"
    );
    with_body(status, "text/xml", body, &[])
}

/// A cancelled transaction whose first item met a conflicting transaction. The
/// reasons list needs one entry per item; the SDK does not check the count, and
/// the service's own code reads only the reasons it needs.
fn transaction_conflict() -> Value {
    json!({
        "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
        "Message": "Transaction cancelled, please refer cancellation reasons for specific reasons [TransactionConflict]",
        "CancellationReasons": [
            { "Code": "TransactionConflict", "Message": "Transaction is ongoing for the item" }
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(method: &str, uri: &str, target: Option<&str>) -> hyper::http::request::Parts {
        let mut builder = Request::builder().method(method).uri(uri);
        if let Some(target) = target {
            builder = builder.header("x-amz-target", target);
        }
        builder.body(()).map(|r| r.into_parts().0).unwrap_or_else(|_| unreachable!())
    }

    #[test]
    fn operations_are_named_by_service() {
        assert_eq!(
            operation_of(&parts("POST", "/", Some("DynamoDB_20120810.UpdateItem")), b"{}"),
            "DynamoDB.UpdateItem"
        );
        assert_eq!(operation_of(&parts("POST", "/things/gate-1/shadow", None), b"{}"), "IoT.UpdateThingShadow");
        assert_eq!(operation_of(&parts("POST", "/", None), b"Action=Publish&Version=2010-03-31"), "SNS.Publish");
    }
}
