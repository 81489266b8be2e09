//! The scheduled sweep: records each invite that expired while holding a place
//! and takes it out of the slot index.
//!
//! Places are freed by the clock itself (an invite stops holding one at its expiry,
//! see `Invite::holds_slot`), so a late or skipped sweep never blocks a create.
//! The sweep keeps the history truthful and the index small, and its work grows
//! with the number of invites that expired, never with the table.

use crate::store::StoreError;
use crate::Deps;
use serde::Serialize;

/// Invites handled per run; the next run (a minute later) takes the rest.
pub const BATCH: usize = 500;

#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct SweepReport {
    /// Due invites the index returned.
    pub due: usize,
    /// Expiries this run recorded (the rest were recorded by an overlapping run).
    pub expired: usize,
}

pub async fn run(deps: &Deps) -> Result<SweepReport, StoreError> {
    let now = deps.clock.now();
    let due = deps.store.due_invites(now, BATCH).await?;
    let mut report = SweepReport { due: due.len(), expired: 0 };
    for (intercom, invite) in &due {
        if deps.store.expire(intercom, invite, now).await? {
            report.expired += 1;
        }
    }
    tracing::info!(due = report.due, expired = report.expired, "sweep done");
    Ok(report)
}
