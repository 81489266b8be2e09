//! `DELETE /intercoms/{intercomId}/codes/{codeId}` — ends a live code at once, for
//! entry and exit, and frees its place in the same write: a transaction that
//! re-checks the caller's membership; a conflict or throttling is retried, never
//! answered as a refusal.
//!
//! A door command already in a gate's shadow would still open that gate for a
//! while (a slow gate, one offline that comes back within the command's 20 s), so
//! the revoke then reads the invite (strongly consistent: no new command can follow
//! the revoke) and withdraws each command still out from its gate's shadow before it
//! answers `204`. If that fails, the answer is `503`: the app's retry finds the code
//! revoked and withdraws again. Two DynamoDB requests; the shadow calls only while a
//! command is out.

use super::{back_off, intercom_in_path, CONTENDED_ROUNDS};
use crate::domain::command::DoorCommand;
use crate::domain::ids::{IntercomId, InviteId};
use crate::domain::passage::Progress;
use crate::domain::redemption::Redemption;
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
                withdraw_commands(deps, &intercom_id, &invite_id).await?;
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

/// Withdraws every door command of the revoked invite that a gate may still act on.
async fn withdraw_commands(deps: &Deps, intercom: &IntercomId, invite: &InviteId) -> Result<(), ApiError> {
    let Some(invite) = deps.store.invite(intercom, invite).await? else { return Ok(()) };
    let now = deps.clock.now();
    for redemption in [Redemption::Entry, Redemption::Exit] {
        let passage = invite.passage(redemption);
        let (Progress::Opening { .. }, Some(attempt), Some(issued_at)) =
            (passage.progress(now), invite.last_attempt(redemption), passage.last_attempt_at)
        else {
            continue;
        };
        let command = DoorCommand::for_attempt(&invite.intercom_id, &invite.id, attempt, issued_at);
        match deps.gate.withdraw(&invite.gate_for(redemption).thing, &command, now).await {
            Ok(withdrawn) => {
                tracing::info!(invite = %invite.id, command = %command.id, withdrawn, "door command of a revoked code")
            }
            Err(error) => {
                tracing::error!(invite = %invite.id, command = %command.id, %error, "could not withdraw a revoked code's door command");
                return Err(ApiError::Unavailable(Box::new(error)));
            }
        }
    }
    Ok(())
}
