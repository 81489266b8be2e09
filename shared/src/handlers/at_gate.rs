//! What a guest brings of the gate, as the redemption and the status's early check
//! both read and judge it: the number (scanned or typed) and the QR code's intercom.

use crate::domain::gate_number::{GateNumber, GateVerdict};
use crate::domain::ids::IntercomId;
use crate::domain::redemption::Refusal;
use crate::domain::token::LinkToken;
use crate::error::ApiError;
use crate::store::GateNumbersFound;
use crate::Deps;
use time::OffsetDateTime;

/// A link whose id says its exit window has closed can open nothing, whatever its
/// invite says: `expired`, before any read (the id is covered by the link's tag, so
/// no made-up one gets here). Ended links cost a flood nothing but this.
pub(super) fn link_still_open(token: &LinkToken, now: OffsetDateTime) -> Result<(), ApiError> {
    if now.unix_timestamp() >= token.invite_id().window_closes() {
        return Err(ApiError::refused(Refusal::Expired));
    }
    Ok(())
}

/// Whether a number is an intercom's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NumberAtGate {
    Theirs,
    NotTheirs,
    NoIntercom,
}

/// Judges `number` at `intercom` (one read of its numbers). A number accepted under
/// a check kept unkeyed or under an old key is written again under the current key
/// (once per intercom and key; a failed rewrite is tried again at the next use).
pub(super) async fn number_at_gate(
    deps: &Deps,
    intercom: &IntercomId,
    number: &GateNumber,
    now: OffsetDateTime,
) -> Result<NumberAtGate, ApiError> {
    let numbers = match deps.store.gate_numbers(intercom).await? {
        GateNumbersFound::NoIntercom => return Ok(NumberAtGate::NoIntercom),
        GateNumbersFound::NotSet => {
            tracing::error!(intercom = %intercom, "intercom has no gate number: no guest can prove presence");
            return Ok(NumberAtGate::NotTheirs);
        }
        GateNumbersFound::Set(numbers) => numbers,
    };
    let Some(keys) = deps.config.gate_number_keys.as_ref() else {
        tracing::error!("OTA_GATE_NUMBER_KEYS is not configured: no gate number can be checked");
        return Ok(NumberAtGate::NotTheirs);
    };
    Ok(match numbers.judge(intercom, number, now, keys) {
        GateVerdict::Refused => NumberAtGate::NotTheirs,
        GateVerdict::Accepted => NumberAtGate::Theirs,
        GateVerdict::AcceptedToRehash { which, kept, fresh } => {
            if let Err(error) = deps.store.rehash_gate_number(intercom, which, &kept, &fresh).await {
                tracing::warn!(intercom = %intercom, error = %error, "gate number check not rehashed; the next use tries again");
            }
            NumberAtGate::Theirs
        }
    })
}

/// A live link brought a gate number that is not its intercom's (a redemption or the
/// status's check). The template's wrong-gate-numbers rule counts these lines per
/// intercom (`fields.intercom`) and alarms on a guesser; the number is never logged.
pub(super) fn wrong_gate_number(intercom: &IntercomId) {
    tracing::warn!(intercom = %intercom, "wrong gate number");
}

/// What a guest's page sends of the gate: the number (scanned or typed) and the
/// intercom of the QR code (when scanned), each as documented or `invalid_field`.
/// The redemption and the status's check read them alike.
pub(super) fn gate_in_body(
    number: Option<&str>,
    intercom: Option<&str>,
) -> Result<(Option<GateNumber>, Option<IntercomId>), ApiError> {
    let number = number
        .map(|raw| {
            GateNumber::parse(raw)
                .ok_or_else(|| ApiError::invalid("gate_number", "the gate number is the 8 digits under the QR code"))
        })
        .transpose()?;
    // Values are taken as the document describes them, untrimmed: an empty
    // `intercom_id` is not a missing one.
    let intercom = intercom
        .map(|raw| {
            IntercomId::parse(raw).ok_or_else(|| {
                ApiError::invalid("intercom_id", "the intercom id is the letters and digits of the QR code's address")
            })
        })
        .transpose()?;
    Ok((number, intercom))
}
