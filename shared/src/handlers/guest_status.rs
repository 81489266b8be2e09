//! `POST /guest/status` — public: what the holder of a link may know about it.
//!
//! The guest's page asks this first, and again while a gate is opening: the guest's
//! first name, the intercom's label and time zone, which gate opens next (entry or
//! exit) or why none does (`opening` while that gate has a command and has not
//! answered: the page waits for it), the exit as well (`also`) for a guest whose
//! entry came back without a report and who may be inside, until when, how many
//! wrong codes are left, where each passage stands (`available`, `opening` — the gate has the command and has not
//! answered —, `used`) and whether each gate is online. A strongly consistent
//! BatchGetItem of the invite and its SMS item (the token names the intercom and the
//! invite) and one BatchGetItem of the gates' presence. A command that lapsed unanswered is given back here too (one
//! more write, only then). A token that is malformed, unknown or whose secret does
//! not match gets `invalid_link` and nothing else, so a stranger learns nothing; one
//! whose form or tag already shows it was never issued gets it before any read. The
//! token travels in the body, never in the URL, so it reaches no access log.
//!
//! Two answers cost no read, so a flood of links cannot fill the function: a link
//! past its exit window (its id says when) is `410 expired`, and a link asked more
//! often than its page does is `429 rate_limited` (`link_limits`).
//!
//! It also says who invited the guest (the contact only where the owner chose one),
//! where the gate is, and the guest's language. With the gate number the page holds
//! (and the QR's intercom, when scanned), it says whether a redemption would take
//! it (`gate_check`), so a wrong number is said before the code: the redemption's
//! own rule and one more read, and only for a link that has a passage open now —
//! a dead or foreign link learns nothing and costs no read of the numbers.

use super::at_gate::{gate_in_body, link_still_open, number_at_gate, wrong_gate_number, NumberAtGate};
use super::lapse::give_back_lapsed;
use super::rejected_at_edge;
use crate::api::guest::{
    AlsoExit, ContactView, GateCheck, GateView, GatesView, GuestStatus, HostView, IntercomView, PassageView, PlaceView,
    StatusRefusal,
};
use crate::api::Instant;
use crate::domain::gate_number::GateNumber;
use crate::domain::ids::IntercomId;
use crate::domain::redemption::{Redemption, Refusal};
use crate::domain::token::LinkToken;
use crate::error::ApiError;
use crate::http::{json_body, json_response, respond};
use crate::store::GateReachability;
use crate::Deps;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusBody {
    token: String,
    /// The gate number the page holds (scanned or typed), to check before the code.
    #[serde(default)]
    gate_number: Option<String>,
    /// The intercom of the QR code scanned, when scanned.
    #[serde(default)]
    intercom_id: Option<String>,
}

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    respond(status(deps, &req).await)
}

async fn status(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let invalid_link = || ApiError::refused(Refusal::InvalidLink);
    let body: StatusBody = json_body(req).map_err(rejected_at_edge)?;
    let token = LinkToken::parse(body.token.trim())
        .filter(|token| token.is_genuine(deps.config.link_keys.as_ref()))
        .ok_or_else(|| rejected_at_edge(invalid_link()))?;
    // Checked before any read, as a redemption checks them.
    let (number, scanned) = gate_in_body(body.gate_number.as_deref(), body.intercom_id.as_deref())?;
    let now = deps.clock.now();
    link_still_open(&token, now)?;
    if let Err(retry_after_seconds) = deps.link_limits.take(token.invite_id(), now) {
        return Err(ApiError::RateLimited { retry_after_seconds });
    }
    let invite = deps.store.invite_for_guest(&token).await?.ok_or_else(invalid_link)?;
    if let Err(error) = give_back_lapsed(deps, &invite, now).await {
        // The answer below reads the lapse from the clock either way.
        tracing::warn!(invite = %invite.id, %error, "could not record a lapsed command");
    }
    let refusal_of = |refusal| {
        let error = ApiError::refused(refusal);
        Some(StatusRefusal { code: error.code(), message: error.to_string() })
    };
    let next_step = invite.next_step(now);
    let (step, refusal) = match next_step {
        // A command is out: this passage is the guest's, and the gate's answer is
        // awaited before any press (a reloaded page keeps asking).
        Ok(step) if step.opening_until.is_some() => (Some(step), refusal_of(Refusal::Opening)),
        Ok(step) => (Some(step), None),
        Err(refusal) => (None, refusal_of(refusal)),
    };
    let next = step.map(|step| step.redemption);
    let things = [&invite.entry_gate.thing, &invite.exit_gate.thing];
    let presence = match deps.store.presence_of(&things).await {
        Ok(presence) => presence,
        Err(error) => {
            tracing::warn!(%error, "gate presence unreadable");
            Default::default()
        }
    };
    let gate = |redemption: Redemption| {
        let gate = invite.gate_for(redemption);
        GateView { label: &gate.label, status: GateReachability::of(presence.get(&gate.thing), now) }
    };
    let wait = match next_step {
        Err(Refusal::NotYet) => (invite.starts_at - now).whole_seconds(),
        _ => invite.exit_wait(now).whole_seconds(),
    };
    // Only a link with a passage now learns anything of a gate number: a dead or
    // foreign one is never checked (and no read is spent on it).
    let gate_check = match (number, step.is_some()) {
        (Some(number), true) => {
            Some(check_gate_number(deps, &invite.intercom_id, scanned.as_ref(), &number, now).await?)
        }
        _ => None,
    };
    let answer = GuestStatus {
        first_name: invite.guest_name.first_name(),
        language: invite.language,
        host: invite.host.as_ref().map(|host| HostView {
            name: host.name.as_str(),
            contact: host
                .contact
                .as_ref()
                .zip(host.contact_url())
                .map(|((via, _), url)| ContactView { via: *via, url }),
        }),
        place: invite
            .location
            .as_ref()
            .map(|location| PlaceView { address: &location.address, map_url: location.map_url() }),
        intercom: IntercomView { label: &invite.intercom_label, time_zone: invite.time_zone.name() },
        next,
        gate_label: next.map(|redemption| invite.gate_for(redemption).label.as_str()),
        also: step.and_then(|step| step.also).map(|_| AlsoExit::Exit),
        entry_gate_label: &invite.entry_gate.label,
        exit_gate_label: &invite.exit_gate.label,
        gates: GatesView { entry: gate(Redemption::Entry), exit: gate(Redemption::Exit) },
        entry: PassageView::of(invite.passage(Redemption::Entry).progress(now)),
        exit: PassageView::of(invite.passage(Redemption::Exit).progress(now)),
        starts_at: Instant(invite.starts_at),
        valid_until: Instant(invite.expires_at),
        exit_open_until: Instant(invite.exit_closes_at),
        server_time: Instant(now),
        attempts_left: invite.attempts_left(next.unwrap_or(Redemption::Entry)),
        retry_after_seconds: (wait > 0).then_some(wait),
        refusal,
        gate_check,
    };
    Ok(json_response(StatusCode::OK, &answer))
}

/// What a redemption would say of `number` at `intercom` (scanned from a QR code of
/// `scanned`, if scanned): the same rule, one read of the intercom's numbers.
async fn check_gate_number(
    deps: &Deps,
    intercom: &IntercomId,
    scanned: Option<&IntercomId>,
    number: &GateNumber,
    now: time::OffsetDateTime,
) -> Result<GateCheck, ApiError> {
    if scanned.is_some_and(|scanned| scanned != intercom) {
        return Ok(GateCheck::WrongIntercom);
    }
    Ok(match number_at_gate(deps, intercom, number, now).await? {
        NumberAtGate::Theirs => GateCheck::Accepted,
        NumberAtGate::NotTheirs => {
            wrong_gate_number(intercom);
            GateCheck::ScanAtGate
        }
        NumberAtGate::NoIntercom => GateCheck::ScanAtGate,
    })
}
