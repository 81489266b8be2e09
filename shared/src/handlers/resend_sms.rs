//! `POST /intercoms/{intercomId}/codes/{codeId}/sms` — owner or shared user: text a
//! live code's guest their SMS again (same code, same link), for when it failed or
//! never arrived. Counted against the hour's SMS allowances like a create.
//!
//! Two DynamoDB requests: a read of the intercom (its SMS allowances, which
//! provisioning may have raised) and the caller's membership, then a transaction
//! that appends the request to the invite's SMS item (the SMS sender sends it from
//! the stream), counts it, and re-checks the membership. A code the owner shared
//! themselves (`owner_shares`) gets its first SMS this way. `Idempotency-Key` (recommended): a retry with the same key asks for
//! nothing more and is answered the same (`Idempotent-Replayed: true`).

use super::{back_off, intercom_in_path, CONTENDED_ROUNDS};
use crate::api::codes::{SmsResend, SmsView};
use crate::domain::idempotency::IdempotencyKey;
use crate::domain::ids::InviteId;
use crate::domain::invite::{Ended, InviteState, SmsStatus};
use crate::error::ApiError;
use crate::http::{caller, header_value, json_response, path_param, respond};
use crate::store::invites::sms_limits_for;
use crate::store::ResendOutcome;
use crate::Deps;
use lambda_http::http::{header::HeaderValue, StatusCode};
use lambda_http::{Body, Request, Response};

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    respond(resend(deps, &req).await)
}

async fn resend(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let user = caller(req)?;
    let intercom_id = intercom_in_path(req)?;
    let invite_id = path_param(req, "codeId", InviteId::parse, ApiError::CodeNotFound)?;
    let key = match header_value(req, "idempotency-key") {
        Some(raw) => IdempotencyKey::parse(raw).ok_or_else(|| {
            ApiError::invalid(
                "Idempotency-Key",
                "Idempotency-Key must be 16 to 128 visible ASCII characters, e.g. a UUID",
            )
        })?,
        // Without a key, every request is a new resend.
        None => IdempotencyKey::random(),
    };
    let key_hash = key.record_hash(&user);
    // The intercom's own allowances (provisioning may have raised them), as a create counts.
    let (intercom, _) = deps.store.load_access(&intercom_id, &user).await?;
    let intercom = intercom.ok_or(ApiError::Forbidden)?;
    let limits = sms_limits_for(intercom.sms_allowance, deps.config.sms_limits);
    for round in 0..CONTENDED_ROUNDS {
        back_off(round).await;
        let now = deps.clock.now();
        let replayed = match deps.store.request_resend(&intercom_id, &invite_id, &user, &key_hash, limits, now).await? {
            ResendOutcome::Requested => false,
            ResendOutcome::Replayed => true,
            ResendOutcome::Contended => continue,
            ResendOutcome::Forbidden => return Err(ApiError::Forbidden),
            ResendOutcome::Ended => return Err(ended(deps, &intercom_id, &invite_id, &user).await?),
            ResendOutcome::SmsLimitReached(scope) => return Err(ApiError::sms_limit_reached(scope, now)),
        };
        tracing::info!(intercom = %intercom_id, invite = %invite_id, replayed, "SMS resend requested");
        let body = SmsResend { code_id: invite_id.as_str(), sms: SmsView { status: SmsStatus::Queued, reason: None } };
        let mut response = json_response(StatusCode::ACCEPTED, &body);
        if replayed {
            response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
        }
        return Ok(response);
    }
    Err(ApiError::Busy)
}

/// Why there is nothing to resend: no such code for a member, or how it ended.
async fn ended(
    deps: &Deps,
    intercom: &crate::domain::ids::IntercomId,
    invite: &InviteId,
    user: &crate::domain::ids::UserId,
) -> Result<ApiError, ApiError> {
    let (_, role) = deps.store.load_access(intercom, user).await?;
    if role.is_none() {
        return Ok(ApiError::Forbidden);
    }
    let Some(found) = deps.store.invite(intercom, invite).await? else { return Ok(ApiError::CodeNotFound) };
    let now = deps.clock.now();
    let state = match found.state(now) {
        InviteState::Revoked => Ended::Revoked,
        InviteState::Exited => Ended::Used,
        _ if found.is_locked(now) => Ended::Locked,
        _ => Ended::Expired,
    };
    Ok(ApiError::CodeEnded { code_id: invite.to_string(), state })
}
