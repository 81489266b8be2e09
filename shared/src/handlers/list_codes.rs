//! `GET /intercoms/{intercomId}/codes` — the live codes, soonest end first, a page at
//! a time (`limit`, 1–100, default 50; `cursor` from the previous page's
//! `next_cursor`), with how many places are in use of Max Users.
//! Strongly consistent reads of only what the list shows: a code just created or
//! revoked shows as such, and an expired code is hidden even if TTL has not deleted
//! it yet. A page's cost does not grow with the intercom's open codes; counting the
//! places in use reads the place items (a few dozen bytes each, Max Users of them).

use super::{intercom_in_path, page_wanted, Pages};
use crate::api::codes::{CodeList, ListedCode, SmsView};
use crate::api::{seconds_until, Instant};
use crate::domain::cursor::Listing;
use crate::domain::invite::ListedInvite;
use crate::error::ApiError;
use crate::http::{caller, json_response, respond};
use crate::store::invites::ListCursor;
use crate::Deps;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use time::OffsetDateTime;

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    respond(list(deps, &req).await)
}

/// Codes a page lists by default, and at most.
const DEFAULT_PAGE: i32 = 50;
const MAX_PAGE: i32 = 100;

fn listed_code(invite: &ListedInvite, now: OffsetDateTime) -> ListedCode<'_> {
    let standing = &invite.standing;
    ListedCode {
        id: invite.id.as_str(),
        code: invite.code.as_str(),
        guest_name: invite.guest_name.as_str(),
        guest_mobile: invite.guest_mobile.masked(),
        state: standing.listed_state(now),
        created_by: invite.created_by.as_str(),
        created_at: Instant(invite.created_at),
        starts_at: Instant(standing.starts_at),
        expires_at: Instant(standing.expires_at),
        remaining_seconds: seconds_until(standing.expires_at, now),
        exit_open_until: Instant(standing.exit_closes_at),
        entry_gate: &invite.entry_gate.device,
        entry_gate_label: &invite.entry_gate.label,
        exit_gate: &invite.exit_gate.device,
        exit_gate_label: &invite.exit_gate.label,
        sms: SmsView { status: invite.sms_status, reason: invite.sms_failure.as_deref() },
    }
}

async fn list(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let user = caller(req)?;
    let intercom_id = intercom_in_path(req)?;
    let pages = Pages::of(deps, Listing::Codes, &intercom_id)?;
    let (limit, cursor) = page_wanted(req, &pages, DEFAULT_PAGE, MAX_PAGE, ListCursor::decode)?;
    let now = deps.clock.now();
    let (intercom, role) = deps.store.load_access(&intercom_id, &user).await?;
    let (Some(intercom), Some(_)) = (intercom, role) else { return Err(ApiError::Forbidden) };
    let page = deps.store.list_page(&intercom_id, now, cursor.as_ref(), limit).await?;
    let active = deps.store.places_held(&intercom, now).await?;
    let listed = page.invites.iter().filter(|i| i.standing.is_listed(now));
    let answer = CodeList {
        intercom_id: intercom_id.as_str(),
        max_users: intercom.settings.as_ref().map(|settings| settings.max_users),
        active,
        codes: listed.map(|invite| listed_code(invite, now)).collect(),
        next_cursor: page.next.map(|cursor| pages.cursor_after(&cursor.encode())),
    };
    Ok(json_response(StatusCode::OK, &answer))
}
