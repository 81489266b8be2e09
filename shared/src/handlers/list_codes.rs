//! `GET /intercoms/{intercomId}/codes` — the live codes, soonest expiry first, and
//! guests still inside during the exit grace (`inside`, holding no place).
//! One strongly consistent Query of only what the list shows: a code just created
//! or revoked shows as such, and an expired code is hidden even if TTL has not
//! deleted it yet.

use super::{intercom_in_path, remaining_seconds, rfc3339};
use crate::error::ApiError;
use crate::http::{caller, json_response, respond};
use crate::Deps;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::{json, Value};

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    respond(list(deps, &req).await)
}

async fn list(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let user = caller(req)?;
    let intercom_id = intercom_in_path(req)?;
    let now = deps.clock.now();
    let listing = deps.store.load_listing(&intercom_id, now).await?;
    listing.role_of(&user).ok_or(ApiError::Forbidden)?;
    let max_users = listing.registry.ok_or(ApiError::Forbidden)?;
    let mut listed: Vec<_> = listing.invites.iter().filter(|i| i.standing.is_listed(now)).collect();
    listed.sort_by_key(|i| (i.standing.expires_at, i.created_at));
    let active = listed.iter().filter(|i| i.standing.holds_slot(now)).count();
    let codes: Vec<Value> = listed
        .iter()
        .map(|i| {
            json!({
                "id": i.id.as_str(),
                "code": i.code.as_str(),
                "guest_name": i.guest_name.as_str(),
                "guest_mobile": i.guest_mobile.masked(),
                "state": i.standing.listed_state(now).as_str(),
                "created_by": i.created_by.as_str(),
                "created_at": rfc3339(i.created_at),
                "expires_at": rfc3339(i.standing.expires_at),
                "remaining_seconds": remaining_seconds(i.standing.expires_at, now),
                "exit_open_until": rfc3339(i.standing.exit_closes_at),
                "entry_gate": i.entry_gate_label,
                "exit_gate": i.exit_gate_label,
            })
        })
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &json!({
            "intercom_id": intercom_id.as_str(),
            "max_users": max_users,
            "active": active,
            "codes": codes,
        }),
    ))
}
