//! `POST /guest/entry` and `POST /guest/exit` — public: the link token, the gate
//! number the guest scanned or typed (and the intercom id, when scanned), and the
//! 4-digit code.
//!
//! The gate number proves the guest is at the gate (see `domain::gate_number`): one
//! read of the intercom's numbers comes before anything is counted. A wrong number
//! is judged only together with a live invite (one more read): a live link is
//! refused `scan_at_gate` with nothing counted, and a dead or unknown one gets what
//! the right number would have got it, so no old link tells a right number from a
//! wrong one.
//! Requests whose form alone shows they are no real guest's (a malformed token, no
//! gate number) are refused before any read, and logged as rejected at the edge.
//!
//! The gate's word decides, and this call does not wait for it: a right code spends
//! the entry (exit) provisionally, its door command goes to the gate's `ota` shadow,
//! and the answer is `202 opening` with the command's id and the time by which the
//! gate must have answered. The page then asks `POST /guest/status` until the
//! passage is `used` (the gate reported opening) or `available` again (it did not
//! open: the guest keeps the code). See the README's firmware contract.
//!
//! Three DynamoDB requests when it works: the gate numbers' read, the conditional
//! update that counts the attempt, records it (press, code typed, time) and returns
//! the invite (see `Store::record_attempt`), and a read of the gate's presence; then
//! one shadow update. A gate known to be offline is refused before its command is sent, and
//! the passage given back in the same request (a third, only then). A clear refusal
//! by IoT Core gives it back at once; an unclear failure does not (the command may
//! be in the shadow): it lapses if the gate never acts. A repeat of the same attempt
//! (lost answer, retry) is recognised from the item and answered as that attempt,
//! with the same command. A QR of another intercom than the one the link names costs
//! one read, to tell it from a forged link.

use super::at_gate::{gate_in_body, link_still_open, number_at_gate, wrong_gate_number, NumberAtGate};
use super::lapse::give_back_lapsed;
use super::rejected_at_edge;
use crate::api::guest::{OpenResult, Opened};
use crate::api::Instant;
use crate::domain::code::AccessCode;
use crate::domain::command::DoorCommand;
use crate::domain::invite::Invite;
use crate::domain::passage::{confirm_by, Progress};
use crate::domain::redemption::{AttemptId, AttemptKey, Redemption, Refusal};
use crate::domain::token::LinkToken;
use crate::error::ApiError;
use crate::gate::GateError;
use crate::http::{json_body, json_response, respond};
use crate::store::{GateAttempt, GateReachability, GiveBack, RedeemOutcome};
use crate::Deps;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use time::OffsetDateTime;

/// The most AWS calls one redemption makes (the gate numbers' and the presence
/// reads, two attempt writes around a lapsed command's give-back, another give-back,
/// and the shadow update): what the function's timeout must exceed (see
/// `tests/api/deployment.rs`).
pub const MOST_STORE_CALLS: u32 = 6;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RedeemBody {
    token: String,
    /// The intercom id from the QR code's address, when the guest scanned it: a QR of
    /// another intercom is then told apart from a wrong number.
    #[serde(default)]
    intercom_id: Option<String>,
    /// The gate number, from the QR code or typed; absent: refused `scan_at_gate`.
    #[serde(default)]
    gate_number: Option<String>,
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

/// `202 opening`: the command is out; `200 opened`: the gate has said it opened
/// (a repeat of an attempt whose report came in).
fn command_response(invite: &Invite, command: &DoorCommand, opened: bool, repeated: bool) -> Response<Body> {
    let redemption = command.redemption;
    json_response(
        if opened { StatusCode::OK } else { StatusCode::ACCEPTED },
        &Opened {
            result: if opened { OpenResult::Opened } else { OpenResult::Opening },
            redemption,
            gate_label: &invite.gate_for(redemption).label,
            command_id: command.id.to_string(),
            confirm_by: Instant(confirm_by(command.issued_at)),
            repeated,
            exit_open_until: Instant(invite.exit_closes_at),
        },
    )
}

/// The answer to a code that is not the invite's, counted (now or by the attempt
/// this request repeats).
fn judge_wrong_code(invite: &Invite, redemption: Redemption, now: OffsetDateTime) -> ApiError {
    if redemption == Redemption::Entry && invite.is_locked(now) {
        return ApiError::refused(Refusal::Locked);
    }
    let wait = invite.exit_wait(now).whole_seconds();
    ApiError::Refused {
        refusal: Refusal::WrongCode,
        attempts_left: Some(invite.attempts_left(redemption)),
        retry_after_seconds: (redemption == Redemption::Exit && wait > 0).then_some(wait.unsigned_abs()),
    }
}

/// A gate number that is not this intercom's, judged only together with a live
/// invite: a dead or unknown link is told what the right number would have told it
/// (`explain`, which looks at the invite's state before the code), after the same
/// two requests, so no old link is an oracle for the number. A live link's wrong
/// number counts nothing against the code (the guest is not locked out by a typo or
/// by whoever holds a forwarded SMS) and is logged with the intercom: the
/// wrong-gate-numbers alarm counts those lines per intercom.
async fn judge_wrong_gate_number(
    deps: &Deps,
    token: &LinkToken,
    redemption: Redemption,
    code: &AccessCode,
    now: OffsetDateTime,
) -> Result<ApiError, ApiError> {
    let Some(invite) = deps.store.invite_for_link(token).await? else {
        return Ok(ApiError::refused(Refusal::InvalidLink));
    };
    if invite.next_step(now).is_err() {
        return Ok(explain(&invite, redemption, code, now));
    }
    wrong_gate_number(&invite.intercom_id);
    Ok(ApiError::refused(Refusal::ScanAtGate))
}

/// Why a recorded invite refuses this passage now, as the guest is told.
fn explain(invite: &Invite, redemption: Redemption, code: &AccessCode, now: OffsetDateTime) -> ApiError {
    match invite.refusal(redemption, code, now) {
        Some(Refusal::WrongCode) => judge_wrong_code(invite, redemption, now),
        Some(Refusal::SlowDown) => ApiError::Refused {
            refusal: Refusal::SlowDown,
            attempts_left: Some(0),
            retry_after_seconds: Some(invite.exit_wait(now).whole_seconds().unsigned_abs()),
        },
        Some(Refusal::NotYet) => ApiError::Refused {
            refusal: Refusal::NotYet,
            attempts_left: None,
            retry_after_seconds: Some((invite.starts_at - now).whole_seconds().unsigned_abs()),
        },
        Some(refusal) => ApiError::refused(refusal),
        // The condition failed on a state the rules accept: the clock moved across
        // a boundary between the two reads. A retry decides cleanly.
        None => ApiError::Busy,
    }
}

async fn redeem(deps: &Deps, req: &Request, redemption: Redemption) -> Result<Response<Body>, ApiError> {
    let body: RedeemBody = json_body(req).map_err(rejected_at_edge)?;
    let token = LinkToken::parse(body.token.trim())
        .filter(|token| token.is_genuine(deps.config.link_keys.as_ref()))
        .ok_or_else(|| rejected_at_edge(ApiError::refused(Refusal::InvalidLink)))?;
    let (number, scanned) = gate_in_body(body.gate_number.as_deref(), body.intercom_id.as_deref())?;
    let code = AccessCode::parse(&body.code).ok_or_else(|| ApiError::invalid("code", "the code is 4 digits"))?;
    let attempt = match body.attempt_id.as_deref() {
        Some(raw) => AttemptId::parse(raw)
            .ok_or_else(|| ApiError::invalid("attempt_id", "attempt_id is 8 to 64 letters, digits, - or _"))?,
        None => AttemptId::generate(),
    };
    let attempt = attempt.key(redemption, &code);
    let now = deps.clock.now();
    link_still_open(&token, now)?;
    let token_hash = token.hash();
    let intercom = token.intercom_id();
    if scanned.as_ref().is_some_and(|scanned| scanned != intercom) {
        // Only a real link learns that it was scanned at the wrong intercom;
        // nothing is counted against the invite.
        return match deps.store.invite_for_link(&token).await? {
            Some(_) => Err(ApiError::refused(Refusal::WrongIntercom)),
            None => Err(ApiError::refused(Refusal::InvalidLink)),
        };
    }
    let Some(number) = number else {
        return Err(rejected_at_edge(ApiError::refused(Refusal::ScanAtGate)));
    };
    match number_at_gate(deps, intercom, &number, now).await? {
        NumberAtGate::Theirs => {}
        NumberAtGate::NotTheirs => return Err(judge_wrong_gate_number(deps, &token, redemption, &code, now).await?),
        NumberAtGate::NoIntercom => return Err(ApiError::refused(Refusal::InvalidLink)),
    }

    let at_gate = GateAttempt {
        intercom,
        invite: token.invite_id(),
        token_hash: &token_hash,
        typed: &code,
        attempt: &attempt,
        redemption,
    };
    // A second round only after giving back a command that lapsed unanswered,
    // which the first round's condition could not see past.
    for round in 0..2 {
        match deps.store.record_attempt(&at_gate, now).await? {
            RedeemOutcome::Recorded(invite) if invite.code != code => {
                if invite.is_locked(now) {
                    tracing::info!(invite = %invite.id, "invite locked after wrong codes at the entry");
                }
                return Err(judge_wrong_code(&invite, redemption, now));
            }
            RedeemOutcome::Recorded(invite) => return send(deps, &invite, redemption, &attempt, now).await,
            RedeemOutcome::Refused(Some(invite)) if invite.token_hash == token_hash => {
                if let Some(issued_at) = invite.recorded_attempt(&attempt) {
                    // This very attempt was recorded before: its answer was lost.
                    if invite.code != code {
                        return Err(judge_wrong_code(&invite, redemption, now));
                    }
                    return repeat(deps, &invite, redemption, &attempt, issued_at, now).await;
                }
                if round == 0 && give_back_lapsed(deps, &invite, now).await? {
                    continue;
                }
                return Err(explain(&invite, redemption, &code, now));
            }
            RedeemOutcome::Refused(_) => return Err(ApiError::refused(Refusal::InvalidLink)),
        }
    }
    Err(ApiError::Busy)
}

/// Sends the command of the attempt that just spent the passage, unless its gate is
/// known to be offline. Whatever stops it before IoT Core may have written anything
/// gives the passage back at once.
async fn send(
    deps: &Deps,
    invite: &Invite,
    redemption: Redemption,
    attempt: &AttemptKey,
    now: OffsetDateTime,
) -> Result<Response<Body>, ApiError> {
    let gate = invite.gate_for(redemption);
    let command = DoorCommand::for_attempt(&invite.intercom_id, &invite.id, attempt, now);
    // A presence read that fails must not keep a guest out: the gate is tried.
    let presence = match deps.store.presence_of(&[&gate.thing]).await {
        Ok(found) => found.get(&gate.thing).copied(),
        Err(error) => {
            tracing::warn!(%error, "gate presence unreadable; trying the gate");
            None
        }
    };
    if let GateReachability::Offline { .. } = GateReachability::of(presence.as_ref(), now) {
        deps.store.give_back(invite, redemption, attempt, GiveBack::NotSent, deps.clock.now()).await?;
        tracing::info!(invite = %invite.id, redemption = redemption.as_str(), "gate offline; nothing sent");
        return Err(ApiError::refused(Refusal::GateOffline));
    }
    match deps.gate.open(&gate.thing, &command).await {
        Ok(()) => {
            tracing::info!(invite = %invite.id, redemption = redemption.as_str(), command = %command.id, "door command sent");
            Ok(command_response(invite, &command, false, false))
        }
        Err(error @ GateError::Refused { .. }) => {
            // If giving back fails here, the command lapses and gives it back later.
            if let Err(store_error) =
                deps.store.give_back(invite, redemption, attempt, GiveBack::NotSent, deps.clock.now()).await
            {
                tracing::error!(invite = %invite.id, error = %store_error, "could not give the passage back");
            }
            tracing::warn!(invite = %invite.id, redemption = redemption.as_str(), %error, "IoT Core refused the command");
            Err(ApiError::GateUnavailable)
        }
        Err(error @ GateError::Ambiguous) => {
            // The command may be in the shadow: the gate's report, or its lapse, decides.
            tracing::warn!(invite = %invite.id, redemption = redemption.as_str(), command = %command.id, %error, "door command unconfirmed");
            Ok(command_response(invite, &command, false, false))
        }
    }
}

/// A repeat of an attempt recorded earlier: answered as that attempt, from where
/// its passage stands, with the very same command.
async fn repeat(
    deps: &Deps,
    invite: &Invite,
    redemption: Redemption,
    attempt: &AttemptKey,
    issued_at: OffsetDateTime,
    now: OffsetDateTime,
) -> Result<Response<Body>, ApiError> {
    if invite.revoked {
        return Err(ApiError::refused(Refusal::Revoked));
    }
    let command = DoorCommand::for_attempt(&invite.intercom_id, &invite.id, attempt, issued_at);
    if invite.last_attempt(redemption) != Some(attempt) {
        // A later attempt took over this passage; this one's command has ended.
        return Err(ApiError::GateUnavailable);
    }
    match invite.passage(redemption).progress(now) {
        Progress::Opened { .. } => Ok(command_response(invite, &command, true, true)),
        Progress::Opening { .. } => {
            if command.still_valid(now) {
                // The first request may have died before the shadow update; the gate
                // acts on this id once however often it is sent.
                if let Err(error) = deps.gate.open(&invite.gate_for(redemption).thing, &command).await {
                    tracing::warn!(invite = %invite.id, command = %command.id, %error, "repeated door command unconfirmed");
                }
            }
            Ok(command_response(invite, &command, false, true))
        }
        Progress::Lapsed => {
            give_back_lapsed(deps, invite, now).await?;
            Err(ApiError::GateUnavailable)
        }
        Progress::Available => Err(ApiError::GateUnavailable),
    }
}
