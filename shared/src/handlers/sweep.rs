//! The scheduled sweep: records each invite that expired while holding a place
//! and takes it out of the slot index; an invite whose guest was inside at its
//! expiry waits in the overstay watch until its exit window closes, and if the
//! guest has still not left then, the sweep records that they overstayed (once:
//! the write is conditional, so overlapping sweeps cannot record it twice).
//!
//! Places are freed by the clock itself (an invite stops holding one when its window
//! ends, see `Invite::holds_slot`), so a late or skipped sweep never blocks a create.
//! The sweep keeps the history truthful and the index small, and its work grows
//! with the number of invites that expired, never with the table: it reads each
//! shard of its index (`keys::sweep_partitions`) from the oldest due key up, 16
//! shards at a time, and writes each due item's record conditionally, 8 at a time
//! per shard. A guest who left took their invite out of the index in the write that
//! recorded the exit, so it never waits here.

use crate::domain::ids::{IntercomId, InviteId};
use crate::keys;
use crate::store::{Expiry, StoreError};
use crate::Deps;
use futures_util::stream::{self, StreamExt};
use serde::Serialize;
use time::OffsetDateTime;

/// Items handled per partition a run; the next run (a minute later) takes the rest.
pub const BATCH: usize = 500;

/// Partitions swept at once, and writes in flight within each. Conditional writes
/// cannot share a batch (BatchWriteItem takes no conditions; a transaction's one
/// failed condition would cancel the rest), so the sweep's throughput comes from
/// running them side by side: 16 × 8 writes in flight.
pub const PARALLEL_PARTITIONS: usize = 16;
pub const PARALLEL_WRITES: usize = 8;

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

impl SweepReport {
    fn add(&mut self, other: &Self) {
        self.due += other.due;
        self.expired += other.expired;
        self.overstayed += other.overstayed;
        self.gates_offline += other.gates_offline;
        self.failed += other.failed;
    }
}

/// What the sweep does in one partition of its index.
#[derive(Debug, Clone, Copy)]
enum Watch {
    Expiries,
    Overstays,
    GateDrops,
}

/// One run over every partition of the sweep's index, a bounded number at a time.
/// A failing item is logged and left for the next run; the others are still
/// handled. A failed read of a partition fails the run (after the other partitions
/// are swept), so the schedule's retry and its alarm see it.
pub async fn run(deps: &Deps) -> Result<SweepReport, StoreError> {
    let now = deps.clock.now();
    let partitions = [
        (Watch::Expiries, keys::SLOT_INDEX_PARTITION),
        (Watch::Overstays, keys::OVERSTAY_WATCH_PARTITION),
        (Watch::GateDrops, keys::GATE_WATCH_PARTITION),
    ]
    .into_iter()
    .flat_map(|(watch, kind)| keys::sweep_partitions(kind).map(move |partition| (watch, partition)))
    .collect::<Vec<_>>();
    // Named functions, not async blocks, in the combinators: the compiler cannot yet
    // prove an async block's future `Send` for every lifetime a closure is called with.
    let results: Vec<Result<SweepReport, StoreError>> = stream::iter(partitions)
        .map(|(watch, partition)| sweep_partition(deps, watch, partition, now))
        .buffer_unordered(PARALLEL_PARTITIONS)
        .collect()
        .await;
    let mut report = SweepReport::default();
    let mut first_error = None;
    for result in results {
        match result {
            Ok(part) => report.add(&part),
            Err(error) => {
                tracing::warn!(%error, "could not read a partition of the sweep's index");
                first_error.get_or_insert(error);
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
    match first_error {
        Some(error) => Err(error),
        None => Ok(report),
    }
}

/// Counts each item's outcome: `Ok(true)` recorded, `Ok(false)` nothing to do, an
/// error logged and left for the next run.
fn tally(
    report: &mut SweepReport,
    outcomes: Vec<Result<bool, StoreError>>,
    what: &str,
    recorded: fn(&mut SweepReport),
) {
    for outcome in outcomes {
        match outcome {
            Ok(true) => recorded(report),
            Ok(false) => {}
            Err(error) => {
                tracing::warn!(%error, what, "could not record it; left for the next run");
                report.failed += 1;
            }
        }
    }
}

async fn sweep_partition(
    deps: &Deps,
    watch: Watch,
    partition: String,
    now: OffsetDateTime,
) -> Result<SweepReport, StoreError> {
    let mut report = SweepReport::default();
    match watch {
        Watch::Expiries => {
            let due = deps.store.due_invites(&partition, now, BATCH).await?;
            report.due = due.len();
            let outcomes = in_parallel(due, |(intercom, invite)| expire(deps, intercom, invite, now)).await;
            tally(&mut report, outcomes, "an expiry", |r| r.expired += 1);
        }
        Watch::Overstays => {
            let due = deps.store.due_overstays(&partition, now, BATCH).await?;
            let outcomes = in_parallel(due, |(intercom, invite)| async move {
                deps.store.mark_overstayed(&intercom, &invite, now).await
            })
            .await;
            tally(&mut report, outcomes, "an overstay", |r| r.overstayed += 1);
        }
        Watch::GateDrops => {
            let due = deps.store.due_gate_checks(&partition, now, BATCH).await?;
            let outcomes = in_parallel(due, |thing| async move { deps.store.mark_offline(&thing).await }).await;
            tally(&mut report, outcomes, "a gate offline", |r| r.gates_offline += 1);
        }
    }
    Ok(report)
}

/// `write` for each of `due`, [`PARALLEL_WRITES`] at once (conditional writes cannot
/// be batched without losing their conditions).
async fn in_parallel<T, F, Fut>(due: Vec<T>, write: F) -> Vec<Result<bool, StoreError>>
where
    F: FnMut(T) -> Fut,
    Fut: std::future::Future<Output = Result<bool, StoreError>>,
{
    stream::iter(due).map(write).buffer_unordered(PARALLEL_WRITES).collect().await
}

/// Expires one due invite; whether this run recorded the expiry. A door command of it
/// that lapsed unanswered is given back first (the sweep is one of the writes that
/// find lapses lazily), so its guest's code and place are accounted truly.
async fn expire(deps: &Deps, intercom: IntercomId, invite: InviteId, now: OffsetDateTime) -> Result<bool, StoreError> {
    let (intercom, invite) = (&intercom, &invite);
    match deps.store.expire(intercom, invite, now).await? {
        Expiry::Recorded => Ok(true),
        Expiry::Skipped => Ok(false),
        Expiry::Lapsed(lapsed) => {
            super::lapse::give_back_lapsed(deps, &lapsed, now).await?;
            Ok(matches!(deps.store.expire(intercom, invite, now).await?, Expiry::Recorded))
        }
    }
}
