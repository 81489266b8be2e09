//! `GET /intercoms/{intercomId}/codes` — the live codes, soonest expiry first, and
//! guests still inside during the exit grace (`inside`, holding no place).
//! One strongly consistent Query of only what the list shows: a code just created
//! or revoked shows as such, and an expired code is hidden even if TTL has not
//! deleted it yet.

use super::{intercom_in_path, remaining_seconds, rfc3339};
use crate::domain::invite::ListedInvite;
use crate::error::ApiError;
use crate::http::{caller, json_response, respond};
use crate::Deps;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Serialize;
use time::OffsetDateTime;

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    respond(list(deps, &req).await)
}

/// The answer, written straight from borrowed fields (no intermediate JSON tree:
/// its cost grew with every listed code).
#[derive(Serialize)]
struct CodeList<'a> {
    intercom_id: &'a str,
    max_users: Option<u32>,
    active: usize,
    codes: Vec<ListedCode<'a>>,
}

#[derive(Serialize)]
struct ListedCode<'a> {
    id: &'a str,
    code: &'a str,
    guest_name: &'a str,
    guest_mobile: String,
    state: &'static str,
    created_by: &'a str,
    created_at: String,
    expires_at: String,
    remaining_seconds: i64,
    exit_open_until: String,
    entry_gate: &'a str,
    exit_gate: &'a str,
    sms: ListedSms<'a>,
}

/// Where the guest's SMS is: `queued`, `sent` (SNS took it; not yet confirmed by the
/// carrier, whose report can lag for hours), `delivered`, or `failed` with a reason.
#[derive(Serialize)]
struct ListedSms<'a> {
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
}

impl<'a> ListedCode<'a> {
    fn of(invite: &'a ListedInvite, now: OffsetDateTime) -> Self {
        let standing = &invite.standing;
        Self {
            id: invite.id.as_str(),
            code: invite.code.as_str(),
            guest_name: invite.guest_name.as_str(),
            guest_mobile: invite.guest_mobile.masked(),
            state: standing.listed_state(now).as_str(),
            created_by: invite.created_by.as_str(),
            created_at: rfc3339(invite.created_at),
            expires_at: rfc3339(standing.expires_at),
            remaining_seconds: remaining_seconds(standing.expires_at, now),
            exit_open_until: rfc3339(standing.exit_closes_at),
            entry_gate: &invite.entry_gate_label,
            exit_gate: &invite.exit_gate_label,
            sms: ListedSms { status: invite.sms_status.as_str(), reason: invite.sms_failure.as_deref() },
        }
    }
}

async fn list(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let user = caller(req)?;
    let intercom_id = intercom_in_path(req)?;
    let now = deps.clock.now();
    let listing = deps.store.load_listing(&intercom_id, &user, now).await?;
    if !listing.registered || listing.caller_role.is_none() {
        return Err(ApiError::Forbidden);
    }
    let mut listed: Vec<_> = listing.invites.iter().filter(|i| i.standing.is_listed(now)).collect();
    listed.sort_by_key(|i| (i.standing.expires_at, i.created_at));
    let answer = CodeList {
        intercom_id: intercom_id.as_str(),
        max_users: listing.max_users,
        active: listed.iter().filter(|i| i.standing.holds_slot(now)).count(),
        codes: listed.into_iter().map(|invite| ListedCode::of(invite, now)).collect(),
    };
    Ok(json_response(StatusCode::OK, &answer))
}
