//! `POST /guest/entry` and `POST /guest/exit` — public: the link token, the
//! intercom the guest scanned, and the 4-digit code.
//!
//! One DynamoDB request when it works: a conditional update that counts the attempt,
//! records the typed code and returns the invite (see `Store::record_attempt`); if
//! the code is the invite's, that update was the entry (exit), and one shadow update
//! opens the gate. If the gate cannot be reached, a second request gives the
//! redemption back. A wrong code costs one request; a QR of another intercom than
//! the one the link names costs one read, to tell it from a forged link.

use super::rfc3339;
use crate::domain::code::AccessCode;
use crate::domain::ids::IntercomId;
use crate::domain::invite::{AttemptId, Invite, Redemption, Refusal, MAX_WRONG_ATTEMPTS};
use crate::domain::token::LinkToken;
use crate::error::ApiError;
use crate::gate::DoorCommand;
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

/// `command_id` is `None` for a repeated answer: no new command was sent.
fn opened_response(invite: &Invite, redemption: Redemption, command_id: Option<&str>) -> Response<Body> {
    json_response(
        StatusCode::OK,
        &json!({
            "result": "opened",
            "redemption": redemption.as_str(),
            "gate": invite.gate_for(redemption).label,
            "command_id": command_id,
            "repeated": command_id.is_none(),
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

async fn redeem(deps: &Deps, req: &Request, redemption: Redemption) -> Result<Response<Body>, ApiError> {
    let body: RedeemBody = json_body(req)?;
    let token = LinkToken::parse(body.token.trim()).ok_or(refused(Refusal::InvalidLink))?;
    let scanned = IntercomId::parse(body.intercom_id.trim()).ok_or_else(|| {
        ApiError::invalid("intercom_id", "the intercom id is the letters and digits under the QR code")
    })?;
    let code = AccessCode::parse(body.code.trim()).ok_or_else(|| ApiError::invalid("code", "the code is 4 digits"))?;
    let attempt = body
        .attempt_id
        .as_deref()
        .map(|raw| {
            AttemptId::parse(raw)
                .ok_or_else(|| ApiError::invalid("attempt_id", "attempt_id is 8 to 64 letters, digits, - or _"))
        })
        .transpose()?;
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
        attempt: attempt.as_ref(),
        redemption,
    };

    match deps.store.record_attempt(&at_gate, now).await? {
        RedeemOutcome::Recorded(invite) if invite.code != code => {
            if invite.is_locked() {
                tracing::info!(invite = %invite.id, "invite locked after wrong codes");
                return Err(refused(Refusal::Locked));
            }
            Err(wrong_code(invite.wrong_attempts))
        }
        RedeemOutcome::Recorded(invite) => {
            let command = DoorCommand::new(redemption, invite.id.clone(), now);
            if let Err(error) = deps.gate.open(&invite.gate_for(redemption).thing, &command).await {
                tracing::warn!(
                    invite = %invite.id, redemption = redemption.as_str(),
                    %error,
                    "gate command not delivered; giving the redemption back"
                );
                deps.store.undo_redemption(&invite, redemption, deps.clock.now()).await?;
                return Err(ApiError::GateUnavailable);
            }
            tracing::info!(invite = %invite.id, redemption = redemption.as_str(), command = %command.id, "gate opened");
            Ok(opened_response(&invite, redemption, Some(&command.id)))
        }
        RedeemOutcome::Refused(Some(invite))
            if invite.token_hash == token_hash
                && attempt.as_ref().is_some_and(|a| invite.was_consumed_by(a, redemption)) =>
        {
            // The gate was told to open on the first try; the answer got lost.
            Ok(opened_response(&invite, redemption, None))
        }
        RedeemOutcome::Refused(Some(invite)) if invite.token_hash == token_hash => {
            match invite.refusal(redemption, &code, now) {
                Some(Refusal::WrongCode) => Err(wrong_code(invite.wrong_attempts)),
                Some(refusal) => Err(refused(refusal)),
                // The condition failed on a state the rules accept: the clock moved
                // across a boundary between the two reads. A retry decides cleanly.
                None => Err(ApiError::Busy),
            }
        }
        RedeemOutcome::Refused(_) => Err(refused(Refusal::InvalidLink)),
    }
}
