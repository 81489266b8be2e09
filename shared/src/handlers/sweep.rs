//! The scheduled sweep: records each invite that expired while holding a place
//! and takes it out of the slot index; an invite whose guest was inside at its
//! expiry waits in the overstay watch until its exit window closes, and if the
//! guest has still not left then, the sweep records that they overstayed (once:
//! the write is conditional, so overlapping sweeps cannot record it twice).
//!
//! Places are freed by the clock itself (an invite stops holding one when its window
//! ends, see `Invite::holds_slot`), so a late or skipped sweep never blocks a create.
//! The sweep keeps the history truthful and the index small, and its work grows
//! with the number of invites that expired, never with the table.

use crate::store::{Expiry, StoreError};
use crate::Deps;
use serde::Serialize;

/// Invites handled per run; the next run (a minute later) takes the rest.
pub const BATCH: usize = 500;

#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct SweepReport {
    /// Due invites the index returned (for their expiry; overstays not counted).
    pub due: usize,
    /// Expiries this run recorded (the rest were recorded by an overlapping run).
    pub expired: usize,
    /// Guests this run found still inside when their exit window closed.
    pub overstayed: usize,
    /// Gates this run declared offline (disconnected past the debounce).
    pub gates_offline: usize,
    /// Items whose write failed; they stay in the index for the next run.
    pub failed: usize,
}

/// One run. A failing item is logged and left for the next run; the others are
/// still handled. Only a failed read of the index fails the run as a whole.
pub async fn run(deps: &Deps) -> Result<SweepReport, StoreError> {
    let now = deps.clock.now();
    let due = deps.store.due_invites(now, BATCH).await?;
    let mut report = SweepReport { due: due.len(), ..SweepReport::default() };
    for (intercom, invite) in &due {
        match expire(deps, intercom, invite, now).await {
            Ok(true) => report.expired += 1,
            Ok(false) => {}
            Err(error) => {
                tracing::warn!(%intercom, %invite, %error, "could not record an expiry; left for the next run");
                report.failed += 1;
            }
        }
    }
    for (intercom, invite) in deps.store.due_overstays(now, BATCH).await? {
        match deps.store.mark_overstayed(&intercom, &invite, now).await {
            Ok(true) => report.overstayed += 1,
            Ok(false) => {}
            Err(error) => {
                tracing::warn!(%intercom, %invite, %error, "could not record an overstay; left for the next run");
                report.failed += 1;
            }
        }
    }
    for thing in deps.store.due_gate_checks(now, BATCH).await? {
        match deps.store.mark_offline(&thing).await {
            Ok(true) => report.gates_offline += 1,
            Ok(false) => {}
            Err(error) => {
                tracing::warn!(thing = thing.as_str(), %error, "could not declare a gate offline; left for the next run");
                report.failed += 1;
            }
        }
    }
    tracing::info!(
        due = report.due,
        gates_offline = report.gates_offline,
        expired = report.expired,
        overstayed = report.overstayed,
        failed = report.failed,
        "sweep done"
    );
    Ok(report)
}

/// Expires one due invite; whether this run recorded the expiry. A door command of it
/// that lapsed unanswered is given back first (the sweep is one of the writes that
/// find lapses lazily), so its guest's code and place are accounted truly.
async fn expire(
    deps: &Deps,
    intercom: &crate::domain::ids::IntercomId,
    invite: &crate::domain::ids::InviteId,
    now: time::OffsetDateTime,
) -> Result<bool, StoreError> {
    match deps.store.expire(intercom, invite, now).await? {
        Expiry::Recorded => Ok(true),
        Expiry::Skipped => Ok(false),
        Expiry::Lapsed(lapsed) => {
            super::lapse::give_back_lapsed(deps, &lapsed, now).await?;
            Ok(matches!(deps.store.expire(intercom, invite, now).await?, Expiry::Recorded))
        }
    }
}
