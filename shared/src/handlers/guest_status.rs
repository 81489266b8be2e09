//! `POST /guest/status` — public: what the holder of a link may know about it.
//!
//! The guest's page asks this first, and again after each step: the guest's first
//! name, the intercom's label and time zone, which gate opens next (entry or exit)
//! or why none does, until when, and how many wrong codes are left. One strongly
//! consistent GetItem: the token names the intercom and the invite. A token that
//! is malformed, unknown or whose secret does not match gets `invalid_link` and
//! nothing else, so a stranger learns nothing. The token travels in the body, never
//! in the URL, so it reaches no access log.

use super::rfc3339;
use crate::domain::invite::{Redemption, Refusal};
use crate::domain::token::LinkToken;
use crate::error::ApiError;
use crate::http::{json_body, json_response, respond};
use crate::Deps;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusBody {
    token: String,
}

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    respond(status(deps, &req).await)
}

async fn status(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let invalid_link = || ApiError::Refused { refusal: Refusal::InvalidLink, attempts_left: None };
    let body: StatusBody = json_body(req)?;
    let token = LinkToken::parse(body.token.trim()).ok_or_else(invalid_link)?;
    let invite = deps.store.invite_for_link(&token).await?.ok_or_else(invalid_link)?;
    let now = deps.clock.now();
    let (next, refusal) = match invite.next_step(now) {
        Ok(redemption) => (Some(redemption), Value::Null),
        Err(refusal) => (None, ApiError::Refused { refusal, attempts_left: None }.body()["error"].take()),
    };
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "first_name": invite.guest_name.first_name(),
            "intercom": { "label": invite.intercom_label, "time_zone": invite.time_zone.name() },
            "next": next.map(Redemption::as_str),
            "gate": next.map(|redemption| invite.gate_for(redemption).label.as_str()),
            "entry_gate": invite.entry_gate.label,
            "exit_gate": invite.exit_gate.label,
            "valid_until": rfc3339(invite.expires_at),
            "exit_open_until": rfc3339(invite.exit_closes_at),
            "server_time": rfc3339(now),
            "attempts_left": invite.attempts_left(),
            "refusal": refusal,
        }),
    ))
}
