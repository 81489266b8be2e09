//! `DELETE /intercoms/{intercomId}/codes/{codeId}` — ends a live code at once, for
//! entry and exit, and frees its place in the same write. One DynamoDB request (a
//! transaction that re-checks the caller's membership); a conflict or throttling
//! is retried, never answered as a refusal.

use super::{back_off, intercom_in_path, CONTENDED_ROUNDS};
use crate::domain::ids::InviteId;
use crate::error::ApiError;
use crate::http::{caller, empty_response, path_param, respond};
use crate::store::RevokeOutcome;
use crate::Deps;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    respond(revoke(deps, &req).await)
}

async fn revoke(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let user = caller(req)?;
    let intercom_id = intercom_in_path(req)?;
    let invite_id = path_param(req, "codeId", InviteId::parse, ApiError::CodeNotFound)?;
    for round in 0..CONTENDED_ROUNDS {
        back_off(round).await;
        match deps.store.revoke(&intercom_id, &invite_id, &user, deps.clock.now()).await? {
            RevokeOutcome::Revoked => {
                tracing::info!(intercom = %intercom_id, invite = %invite_id, "invite revoked");
                return Ok(empty_response(StatusCode::NO_CONTENT));
            }
            RevokeOutcome::NotFound => return Err(ApiError::CodeNotFound),
            RevokeOutcome::Ended(state) => return Err(ApiError::CodeEnded { code_id: invite_id.to_string(), state }),
            RevokeOutcome::Forbidden => return Err(ApiError::Forbidden),
            RevokeOutcome::Contended => continue,
        }
    }
    Err(ApiError::Busy)
}
