//! What the gates tell the backend, delivered by IoT Core topic rules (not HTTP):
//! a gate's report on a door command, and its lifecycle events.
//!
//! - `opened`: the passage is spent for good (`Store::confirm_opened`), also when
//!   the report comes after the command lapsed and the passage was given back.
//! - `too_late` / `failed`: the gate did not open; the passage is given back at once.
//! - connected / disconnected: the gate's presence, ordered as `domain::presence`
//!   says (versions within half an hour, timestamps beyond). A report also proves
//!   its gate online.
//!
//! A report's time is IoT Core's (`received_at`), never the gate's clock, whose
//! skew is logged (`clock_skew_seconds`) and measured, not trusted.
//!
//! Every write is conditional, so duplicate and out-of-order deliveries change
//! nothing. A report is believed only from the gate the invite's passage names (the
//! rule gives the thing from the topic, which IoT policies tie to the device's
//! certificate). A message this service cannot read is logged and dropped (a retry
//! would not help); a store failure fails the invocation, so the rule's Lambda
//! action retries it and, past that, its error action keeps it in the dead-letter queue.

use crate::domain::command::{GateEvent, Outcome, Report};
use crate::error::ApiError;
use crate::store::GiveBack;
use crate::Deps;
use serde::Serialize;

/// What one delivery changed, for the logs and the tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Handled {
    Confirmed,
    GivenBack,
    PresenceRecorded,
    /// A duplicate, an older event than the one recorded, or a report on a passage
    /// that moved on: nothing to change.
    Unchanged,
    /// Not readable, or not believable (another gate, an unknown invite or attempt).
    Ignored,
}

/// Rounds of a confirmation that raced another write to the same invite.
const CONFIRM_ROUNDS: u32 = 3;

pub async fn handle(deps: &Deps, event: &serde_json::Value) -> Result<Handled, ApiError> {
    let event = match GateEvent::parse(event) {
        Ok(event) => event,
        Err(error) => {
            tracing::warn!(%error, "gate event dropped");
            return Ok(Handled::Ignored);
        }
    };
    match event {
        GateEvent::Presence { thing, event, session } => {
            let changed = deps.store.record_presence(&thing, event, session.as_deref()).await?;
            tracing::info!(
                thing = thing.as_str(),
                connected = event.connected,
                version = event.version,
                session = session.as_deref().unwrap_or(""),
                changed,
                "gate presence"
            );
            Ok(if changed { Handled::PresenceRecorded } else { Handled::Unchanged })
        }
        GateEvent::Report(report) => handle_report(deps, report).await,
    }
}

async fn handle_report(deps: &Deps, report: Report) -> Result<Handled, ApiError> {
    let received_at = report.received_at.unwrap_or_else(|| deps.clock.now());
    let handled = settle_report(deps, &report, received_at).await;
    // Only a connected gate can report: whatever the report says, the gate is online.
    // Recorded after the guest's passage is settled, so it delays no "Gate open".
    match deps.store.record_proven_online(&report.thing, received_at).await {
        Ok(true) => tracing::info!(thing = report.thing.as_str(), "gate proven online by its report"),
        Ok(false) => {}
        Err(error) if handled.is_ok() => return Err(error.into()),
        Err(_) => {}
    }
    handled
}

/// What the report says of its passage: confirmed, given back, or nothing to do.
async fn settle_report(deps: &Deps, report: &Report, received_at: time::OffsetDateTime) -> Result<Handled, ApiError> {
    let thing = &report.thing;
    let skew = report.clock_skew().map(|skew| skew.whole_seconds());
    // One log line per report with the gate's clock skew: the metric filter
    // `GateClockSkewMetric` reads `clock_skew_seconds` from it.
    tracing::info!(
        thing = thing.as_str(),
        clock_skew_seconds = skew,
        gate_clock_readable = report.gate_at.is_some(),
        "gate report received"
    );
    let (command, outcome) = match (&report.command, &report.outcome) {
        (Ok(command), Ok(outcome)) => (command, *outcome),
        (Err(error), _) | (_, Err(error)) => {
            tracing::warn!(thing = thing.as_str(), %error, "gate report dropped");
            return Ok(Handled::Ignored);
        }
    };
    let redemption = command.redemption();
    for _ in 0..CONFIRM_ROUNDS {
        let Some(invite) = deps.store.invite(&command.intercom, &command.invite).await? else {
            tracing::warn!(command = %command, "report on an unknown invite");
            return Ok(Handled::Ignored);
        };
        let issued_at = match invite.recorded_attempt(&command.attempt) {
            Some(issued_at) if invite.gate_for(redemption).thing == *thing => issued_at,
            _ => {
                tracing::warn!(command = %command, thing = thing.as_str(), "report from another gate, or on no recorded attempt");
                return Ok(Handled::Ignored);
            }
        };
        tracing::info!(invite = %invite.id, command = %command, outcome = outcome.as_str(), "gate report");
        if outcome != Outcome::Opened {
            let why = GiveBack::NotOpened;
            let given_back = deps.store.give_back(&invite, redemption, &command.attempt, why, received_at).await?;
            return Ok(if given_back { Handled::GivenBack } else { Handled::Unchanged });
        }
        if invite.passage(redemption).opened_at.is_some() {
            // A repeated report: the place may not have been freed the first time.
            free_place_after_exit(deps, &invite, redemption, received_at).await?;
            return Ok(Handled::Unchanged);
        }
        if deps.store.confirm_opened(&invite, &command.attempt, issued_at, received_at).await? {
            free_place_after_exit(deps, &invite, redemption, received_at).await?;
            return Ok(Handled::Confirmed);
        }
    }
    Err(ApiError::Busy)
}

/// A guest who left frees their place now, not at its recorded time: the next create
/// finds it. After the exit is recorded, in a write of its own (see
/// `Store::free_place_of`).
async fn free_place_after_exit(
    deps: &Deps,
    invite: &crate::domain::invite::Invite,
    redemption: crate::domain::redemption::Redemption,
    at: time::OffsetDateTime,
) -> Result<(), ApiError> {
    if redemption == crate::domain::redemption::Redemption::Exit {
        deps.store.free_place_of(invite, at).await?;
    }
    Ok(())
}
