//! `POST /guest/entry` and `POST /guest/exit` — public: the link token, the
//! intercom the guest scanned, and the 4-digit code.
//!
//! One DynamoDB request when it works: a conditional update that counts the attempt,
//! records it (press, code typed, time) and returns the invite (see
//! `Store::record_attempt`); if the code is the invite's, that update was the entry
//! (exit) and fixed its door command, and one shadow update opens the gate. A
//! repeat of the same attempt (lost answer, retry) is recognised from the item and
//! answered as that attempt: a wrong code is not counted twice, a consuming attempt
//! re-sends its own command while the gate would still act on it. If IoT Core
//! refuses the command outright, a second request gives the redemption back; if it
//! does not answer clearly, nothing is given back and the guest retries into the
//! same command. An exited invite stays in the sweep's index until it falls due (the
//! sweep takes it out then), so a successful redemption is one write. A QR of
//! another intercom than the one the link names costs one read, to tell it from a
//! forged link.

use super::rfc3339;
use crate::domain::code::AccessCode;
use crate::domain::ids::IntercomId;
use crate::domain::invite::{AttemptId, AttemptKey, Invite, InviteState, Redemption, Refusal, MAX_WRONG_ATTEMPTS};
use crate::domain::token::LinkToken;
use crate::error::ApiError;
use crate::gate::{DoorCommand, GateError};
use crate::http::{json_body, json_response, respond};
use crate::store::{GateAttempt, RedeemOutcome};
use crate::Deps;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RedeemBody {
    token: String,
    intercom_id: String,
    code: String,
    /// Optional: the page's id for this press of the button, repeated on retries.
    #[serde(default)]
    attempt_id: Option<String>,
}

pub async fn handle_entry(deps: &Deps, req: Request) -> Response<Body> {
    respond(redeem(deps, &req, Redemption::Entry).await)
}

pub async fn handle_exit(deps: &Deps, req: Request) -> Response<Body> {
    respond(redeem(deps, &req, Redemption::Exit).await)
}

fn opened_response(invite: &Invite, redemption: Redemption, command: &DoorCommand, repeated: bool) -> Response<Body> {
    json_response(
        StatusCode::OK,
        &json!({
            "result": "opened",
            "redemption": redemption.as_str(),
            "gate": invite.gate_for(redemption).label,
            "command_id": command.id,
            "repeated": repeated,
            "exit_open_until": rfc3339(invite.exit_closes_at),
        }),
    )
}

fn wrong_code(wrong_attempts: u32) -> ApiError {
    ApiError::Refused {
        refusal: Refusal::WrongCode,
        attempts_left: Some(MAX_WRONG_ATTEMPTS.saturating_sub(wrong_attempts)),
    }
}

fn refused(refusal: Refusal) -> ApiError {
    ApiError::Refused { refusal, attempts_left: None }
}

/// The answer to a code that is not the invite's, counted (now or by the attempt
/// this request repeats).
fn judge_wrong_code(invite: &Invite) -> ApiError {
    if invite.is_locked() {
        return refused(Refusal::Locked);
    }
    wrong_code(invite.wrong_attempts)
}

async fn redeem(deps: &Deps, req: &Request, redemption: Redemption) -> Result<Response<Body>, ApiError> {
    let body: RedeemBody = json_body(req)?;
    let token = LinkToken::parse(body.token.trim()).ok_or(refused(Refusal::InvalidLink))?;
    let scanned = IntercomId::parse(body.intercom_id.trim()).ok_or_else(|| {
        ApiError::invalid("intercom_id", "the intercom id is the letters and digits under the QR code")
    })?;
    let code = AccessCode::parse(body.code.trim()).ok_or_else(|| ApiError::invalid("code", "the code is 4 digits"))?;
    let attempt = match body.attempt_id.as_deref() {
        Some(raw) => AttemptId::parse(raw)
            .ok_or_else(|| ApiError::invalid("attempt_id", "attempt_id is 8 to 64 letters, digits, - or _"))?,
        None => AttemptId::generate(),
    };
    let attempt = attempt.key(redemption, &code);
    let now = deps.clock.now();
    let token_hash = token.hash();
    if token.intercom_id() != &scanned {
        // Only a real link learns that it was scanned at the wrong intercom;
        // nothing is counted against the invite.
        return match deps.store.invite_for_link(&token).await? {
            Some(_) => Err(refused(Refusal::WrongIntercom)),
            None => Err(refused(Refusal::InvalidLink)),
        };
    }

    let at_gate = GateAttempt {
        intercom: &scanned,
        invite: token.invite_id(),
        token_hash: &token_hash,
        typed: &code,
        attempt: &attempt,
        redemption,
    };

    match deps.store.record_attempt(&at_gate, now).await? {
        RedeemOutcome::Recorded(invite) if invite.code != code => {
            if invite.is_locked() {
                tracing::info!(invite = %invite.id, "invite locked after wrong codes");
            }
            Err(judge_wrong_code(&invite))
        }
        RedeemOutcome::Recorded(invite) => {
            let command = DoorCommand::for_attempt(redemption, invite.id.clone(), &attempt, now);
            open_gate(deps, &invite, redemption, &attempt, command, false).await
        }
        RedeemOutcome::Refused(Some(invite)) if invite.token_hash == token_hash => {
            match invite.recorded_attempt(&attempt) {
                // This very attempt was recorded before: its answer was lost.
                Some(_) if invite.code != code => Err(judge_wrong_code(&invite)),
                Some(issued_at) => {
                    let command = DoorCommand::for_attempt(redemption, invite.id.clone(), &attempt, issued_at);
                    if invite.state == InviteState::Revoked {
                        return Err(refused(Refusal::Revoked));
                    }
                    if !command.still_valid(now) {
                        // The gate would ignore it now; whether it acted on it
                        // earlier cannot be known, so nothing is sent again.
                        return Err(refused(Refusal::AlreadyUsed));
                    }
                    open_gate(deps, &invite, redemption, &attempt, command, true).await
                }
                None => match invite.refusal(redemption, &code, now) {
                    Some(Refusal::WrongCode) => Err(wrong_code(invite.wrong_attempts)),
                    Some(refusal) => Err(refused(refusal)),
                    // The condition failed on a state the rules accept: the clock moved
                    // across a boundary between the two reads. A retry decides cleanly.
                    None => Err(ApiError::Busy),
                },
            }
        }
        RedeemOutcome::Refused(_) => Err(refused(Refusal::InvalidLink)),
    }
}

/// Sends the attempt's door command. A clear refusal by IoT Core (nothing written)
/// gives the redemption back; an unclear failure (timeout, 5xx: the command may
/// be in the shadow) does not: the guest's retry sends the same command again,
/// which a gate acts on once.
async fn open_gate(
    deps: &Deps,
    invite: &Invite,
    redemption: Redemption,
    attempt: &AttemptKey,
    command: DoorCommand,
    repeated: bool,
) -> Result<Response<Body>, ApiError> {
    match deps.gate.open(&invite.gate_for(redemption).thing, &command).await {
        Ok(()) => {
            tracing::info!(invite = %invite.id, redemption = redemption.as_str(), command = %command.id, repeated, "gate opened");
            Ok(opened_response(invite, redemption, &command, repeated))
        }
        Err(error @ GateError::Refused { .. }) => {
            // If giving back fails, the redemption stays used with its command: the
            // page's retry of this attempt re-sends it.
            let given_back = match deps.store.give_back(invite, redemption, attempt, deps.clock.now()).await {
                Ok(given_back) => given_back,
                Err(store_error) => {
                    tracing::error!(invite = %invite.id, error = %store_error, "could not give the redemption back");
                    false
                }
            };
            tracing::warn!(invite = %invite.id, redemption = redemption.as_str(), %error, given_back, "gate refused the command");
            Err(ApiError::GateUnavailable)
        }
        Err(error @ GateError::Ambiguous) => {
            tracing::warn!(invite = %invite.id, redemption = redemption.as_str(), command = %command.id, %error, "gate command unconfirmed; kept for a retry");
            Err(ApiError::GateUnavailable)
        }
    }
}
