//! The local HTTP API. Each request is turned into the API Gateway HTTP API (v2)
//! event the deployed function would receive (path parameters, verified JWT
//! claims, base64 for binary bodies), parsed by `lambda_http` exactly as in Lambda,
//! and handed to the same handler. Routes mirror `template.yaml`.

use crate::clock::ShiftedClock;
use crate::gates::GateSimulator;
use crate::jwt::Authorizer;
use crate::page::GuestPage;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::{Method, StatusCode};
use hyper_util::rt::TokioIo;
use lambda_http::Body;
use ota::domain::gate_number::GateNumber;
use ota::handlers;
use ota::Deps;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use tokio::net::TcpListener;

/// API Gateway HTTP APIs accept up to 10 MB; the functions refuse far less.
const MAX_REQUEST_BYTES: usize = 1024 * 1024;

pub struct Front {
    pub deps: Deps,
    pub authorizer: Authorizer,
    /// moto's base URL, for the `/_local` views of SMS and shadows.
    pub emulator: String,
    pub iot: aws_sdk_iotdataplane::Client,
    pub openapi: String,
    /// The guest page on the API's origin, as CloudFront serves it; `None` in the
    /// API tests, which do not build it.
    pub page: Option<GuestPage>,
    /// Moved by `/_local/clock`; `None` where the clock is the tests' own.
    pub clock: Option<Arc<ShiftedClock>>,
    /// The simulated gates (`/_local/gates`), woken after each guest redemption
    /// where IoT Core would push the shadow's delta to the gate.
    pub gates: Arc<GateSimulator>,
    /// The gate numbers this stack gave its intercoms, for `/_local/qr` (the table
    /// keeps only their hashes, as in production, where only the sticker has them).
    pub gate_numbers: std::sync::Mutex<HashMap<String, GateNumber>>,
    /// The stream's consumers and the SMS reports (`crate::outbox`).
    pub outbox: Arc<crate::outbox::LocalOutbox>,
}

impl Front {
    pub fn remember_gate_number(&self, intercom: &ota::domain::ids::IntercomId, number: &GateNumber) {
        if let Ok(mut numbers) = self.gate_numbers.lock() {
            numbers.insert(intercom.to_string(), number.clone());
        }
    }

    pub(crate) fn gate_number_of(&self, intercom: &str) -> Option<GateNumber> {
        self.gate_numbers.lock().ok()?.get(intercom).cloned()
    }
}

#[derive(Debug, Clone, Copy)]
enum Route {
    GetSettings,
    UpdateSettings,
    CreateInvite,
    ListCodes,
    RevokeCode,
    GuestStatus,
    RedeemEntry,
    RedeemExit,
    ListActivity,
    ResendSms,
    EraseGuest,
}

impl Route {
    fn needs_jwt(self) -> bool {
        !matches!(self, Self::GuestStatus | Self::RedeemEntry | Self::RedeemExit)
    }
}

type Params = Vec<(&'static str, String)>;

fn route(method: &Method, segments: &[&str]) -> Option<(Route, &'static str, Params)> {
    let intercom = |id: &str| vec![("intercomId", id.to_owned())];
    Some(match (method.as_str(), segments) {
        ("GET", ["intercoms", id, "settings"]) => {
            (Route::GetSettings, "GET /intercoms/{intercomId}/settings", intercom(id))
        }
        ("PUT", ["intercoms", id, "settings"]) => {
            (Route::UpdateSettings, "PUT /intercoms/{intercomId}/settings", intercom(id))
        }
        ("POST", ["intercoms", id, "codes"]) => {
            (Route::CreateInvite, "POST /intercoms/{intercomId}/codes", intercom(id))
        }
        ("GET", ["intercoms", id, "codes"]) => (Route::ListCodes, "GET /intercoms/{intercomId}/codes", intercom(id)),
        ("DELETE", ["intercoms", id, "codes", code]) => (
            Route::RevokeCode,
            "DELETE /intercoms/{intercomId}/codes/{codeId}",
            vec![("intercomId", (*id).to_owned()), ("codeId", (*code).to_owned())],
        ),
        ("GET", ["intercoms", id, "activity"]) => {
            (Route::ListActivity, "GET /intercoms/{intercomId}/activity", intercom(id))
        }
        ("POST", ["intercoms", id, "codes", code, "sms"]) => (
            Route::ResendSms,
            "POST /intercoms/{intercomId}/codes/{codeId}/sms",
            vec![("intercomId", (*id).to_owned()), ("codeId", (*code).to_owned())],
        ),
        ("POST", ["intercoms", id, "guest-erasures"]) => {
            (Route::EraseGuest, "POST /intercoms/{intercomId}/guest-erasures", intercom(id))
        }
        ("POST", ["guest", "status"]) => (Route::GuestStatus, "POST /guest/status", vec![]),
        ("POST", ["guest", "entry"]) => (Route::RedeemEntry, "POST /guest/entry", vec![]),
        ("POST", ["guest", "exit"]) => (Route::RedeemExit, "POST /guest/exit", vec![]),
        _ => return None,
    })
}

pub(crate) fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(byte) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub(crate) type HyperResponse = hyper::Response<Full<Bytes>>;

/// The WAF's body-size rule (infra/guest-waf.yaml, `BodyLimitBytes` at its default).
const GUEST_BODY_LIMIT_BYTES: usize = 1024;

/// The `x-amz-content-sha256` a guest request must carry through CloudFront to a
/// function URL: the hex SHA-256 of its body (the guest page computes it too).
pub fn content_sha256(body: &[u8]) -> String {
    Sha256::digest(body).iter().map(|b| format!("{b:02x}")).collect()
}

/// What CloudFront and a function URL behind origin access control do to a guest
/// request before the function runs: the WAF blocks an oversized body (413, in the
/// service's error shape, as infra/guest-waf.yaml answers it), and a
/// POST whose `x-amz-content-sha256` is not the SHA-256 of its body fails the
/// signature Lambda checks (403), since CloudFront signs the hash the viewer gives.
/// The WAF's rate rules are not reproduced: every local client is one address.
fn guest_edge(headers: &hyper::HeaderMap, body: &[u8]) -> Option<HyperResponse> {
    if body.len() > GUEST_BODY_LIMIT_BYTES {
        let message = format!("the request body is larger than {GUEST_BODY_LIMIT_BYTES} bytes");
        let error = json!({ "error": { "code": "payload_too_large", "message": message } });
        return Some(reply_json(StatusCode::PAYLOAD_TOO_LARGE, &error));
    }
    let expected = content_sha256(body);
    let given = headers.get("x-amz-content-sha256").and_then(|v| v.to_str().ok());
    if given.map(str::to_ascii_lowercase).as_deref() != Some(expected.as_str()) {
        let message = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";
        return Some(reply_json(StatusCode::FORBIDDEN, &json!({ "Message": message })));
    }
    None
}

/// Every response carries the page's security headers, as CloudFront's
/// response-headers policy adds them to every behaviour.
async fn handle(front: &Front, req: hyper::Request<Incoming>) -> HyperResponse {
    let mut response = route_request(front, req).await;
    if let Some(page) = &front.page {
        for (name, value) in &page.headers {
            if let (Ok(name), Ok(value)) =
                (hyper::header::HeaderName::from_bytes(name.as_bytes()), hyper::header::HeaderValue::from_str(value))
            {
                response.headers_mut().insert(name, value);
            }
        }
    }
    response
}

pub(crate) fn reply(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> HyperResponse {
    hyper::Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(Full::new(body.into()))
        .unwrap_or_default()
}

pub(crate) fn reply_json(status: StatusCode, body: &Value) -> HyperResponse {
    reply(status, "application/json", body.to_string())
}

/// Serves until the listener fails; each connection on its own task.
pub async fn serve(listener: TcpListener, front: Arc<Front>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        let front = front.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let front = front.clone();
                async move { Ok::<_, Infallible>(handle(&front, req).await) }
            });
            let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

async fn route_request(front: &Front, req: hyper::Request<Incoming>) -> HyperResponse {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_owned();
    let query = parts.uri.query().unwrap_or("").to_owned();
    let segments: Vec<String> = path.trim_matches('/').split('/').map(percent_decode).collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();

    if let Some(local) = crate::local_views::local_route(front, &parts.method, &segments, &query).await {
        return local;
    }
    if let (Some(page), &Method::GET | &Method::HEAD) = (&front.page, &parts.method) {
        if let Some(file) = page.file(&segments) {
            return hyper::Response::builder()
                .status(StatusCode::OK)
                .header("content-type", file.content_type)
                .header("cache-control", file.cache_control)
                .body(Full::new(file.body.into()))
                .unwrap_or_default();
        }
    }
    let Some((route, route_key, params)) = route(&parts.method, &segments) else {
        return reply_json(StatusCode::NOT_FOUND, &json!({ "message": "Not Found" }));
    };
    let bytes = match Limited::new(body, MAX_REQUEST_BYTES).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return reply_json(StatusCode::PAYLOAD_TOO_LARGE, &json!({ "message": "Request Entity Too Large" })),
    };
    if !route.needs_jwt() {
        if let Some(refused) = guest_edge(&parts.headers, &bytes) {
            return refused;
        }
    }
    let authorization = parts.headers.get("authorization").and_then(|v| v.to_str().ok());
    let claims = if route.needs_jwt() {
        match front.authorizer.verify(authorization) {
            Some(claims) => Some(claims),
            None => return reply_json(StatusCode::UNAUTHORIZED, &json!({ "message": "Unauthorized" })),
        }
    } else {
        None
    };

    let event = api_gateway_event(&parts, &path, &query, route_key, &params, claims, &bytes);
    let request = match lambda_http::request::from_str(&event.to_string()) {
        Ok(request) => request,
        Err(e) => return reply_json(StatusCode::BAD_REQUEST, &json!({ "message": format!("bad request: {e}") })),
    };
    let deps = &front.deps;
    let response = match route {
        Route::GetSettings => handlers::get_settings::handle(deps, request).await,
        Route::UpdateSettings => handlers::update_settings::handle(deps, request).await,
        Route::CreateInvite => handlers::create_invite::handle(deps, request).await,
        Route::ListCodes => handlers::list_codes::handle(deps, request).await,
        Route::RevokeCode => handlers::revoke_code::handle(deps, request).await,
        Route::GuestStatus => handlers::guest_status::handle(deps, request).await,
        Route::RedeemEntry => handlers::redeem::handle_entry(deps, request).await,
        Route::RedeemExit => handlers::redeem::handle_exit(deps, request).await,
        Route::ListActivity => handlers::list_activity::handle(deps, request).await,
        Route::ResendSms => handlers::resend_sms::handle(deps, request).await,
        Route::EraseGuest => handlers::erase_guest::handle(deps, request).await,
    };
    if matches!(route, Route::RedeemEntry | Route::RedeemExit) {
        front.gates.nudge();
    }
    let (parts, body) = response.into_parts();
    let bytes: Bytes = match body {
        Body::Text(text) => text.into(),
        Body::Binary(bytes) => bytes.into(),
        _ => Bytes::new(),
    };
    let mut out = hyper::Response::new(Full::new(bytes));
    *out.status_mut() = parts.status;
    *out.headers_mut() = parts.headers;
    out
}

/// The event API Gateway would send for this request.
pub fn api_gateway_event(
    parts: &hyper::http::request::Parts,
    path: &str,
    query: &str,
    route_key: &str,
    params: &Params,
    claims: Option<HashMap<String, String>>,
    body: &[u8],
) -> Value {
    let mut headers = Map::new();
    for (name, value) in &parts.headers {
        let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
        match headers.get_mut(name.as_str()) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&value);
            }
            _ => {
                headers.insert(name.as_str().to_owned(), Value::String(value));
            }
        }
    }
    let now = time::OffsetDateTime::now_utc();
    let (body, is_base64) = match std::str::from_utf8(body) {
        Ok(text) => (text.to_owned(), false),
        Err(_) => (STANDARD.encode(body), true),
    };
    let path_parameters: Map<String, Value> =
        params.iter().map(|(k, v)| ((*k).to_owned(), Value::String(v.clone()))).collect();
    let mut context = json!({
        "accountId": "123456789012",
        "apiId": "local",
        "domainName": "127.0.0.1",
        "domainPrefix": "local",
        "http": {
            "method": parts.method.as_str(),
            "path": path,
            "protocol": "HTTP/1.1",
            "sourceIp": "127.0.0.1",
            "userAgent": headers.get("user-agent").cloned().unwrap_or(Value::Null),
        },
        "requestId": format!("local-{}", now.unix_timestamp_nanos()),
        "routeKey": route_key,
        "stage": "$default",
        "time": now.format(&time::format_description::well_known::Rfc2822).unwrap_or_default(),
        "timeEpoch": now.unix_timestamp() * 1000,
    });
    if let Some(claims) = claims {
        context["authorizer"] = json!({ "jwt": { "claims": claims, "scopes": null } });
    }
    let mut event = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": context,
        "isBase64Encoded": is_base64,
    });
    if !path_parameters.is_empty() {
        event["pathParameters"] = Value::Object(path_parameters);
    }
    // As API Gateway sends them: decoded, repeated names joined with commas.
    let mut parameters = Map::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let (name, value) = (percent_decode(&name.replace('+', " ")), percent_decode(&value.replace('+', " ")));
        match parameters.get_mut(&name) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&value);
            }
            _ => {
                parameters.insert(name, Value::String(value));
            }
        }
    }
    if !parameters.is_empty() {
        event["queryStringParameters"] = Value::Object(parameters);
    }
    if !body.is_empty() {
        event["body"] = Value::String(body);
    }
    event
}

pub use crate::local_views::sent_sms;
