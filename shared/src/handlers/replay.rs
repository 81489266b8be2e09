//! Rebuilding what the outbox makes of changes whose stream records were lost.
//!
//! The outbox's stream records live 24 hours, and a batch that fails past its
//! retries reaches the dead-letter queue as a pointer only: "The actual records
//! aren't included, so you must process this record and retrieve them from the
//! stream before they expire and are lost" (Lambda developer guide, "Retaining
//! discarded records for a DynamoDB event source"). Nothing needs the records:
//! every fact is a line of its invite's (or SMS item's) own history, and its id is
//! that line's position (`domain::activity`). So a replay reads each kept invite of
//! the intercoms it is given, takes the facts whose time falls in the window, and
//! delivers them as the outbox would (`outbox::deliver`): the activity items
//! overwrite themselves and the events carry the ids they had (or would have had).
//! An SMS its item asked for and nobody handled is queued again; the sender's
//! claim sends each at most once, so a replay never texts a guest twice.
//!
//! A code whose guest was erased is rebuilt without them, and only its erasure is
//! published again.
//!
//! Not rebuilt: a gate's offline and online facts, which come from its presence
//! item's change, not from a history the item keeps; and anything of an invite
//! already deleted (14 days after its exit window, `INVITE_RETENTION`).

use super::outbox::{deliver, OutboxError};
use crate::domain::activity::FactKind;
use crate::domain::ids::IntercomId;
use crate::events::EventPublisher;
use crate::sms_queue::{SmsQueue, SmsRequest};
use crate::store::Store;
use serde::Serialize;
use time::OffsetDateTime;

/// When the lost changes were made, both ends included.
#[derive(Debug, Clone, Copy)]
pub struct ReplayWindow {
    pub from: OffsetDateTime,
    pub to: OffsetDateTime,
}

impl ReplayWindow {
    /// A dead-letter record's batch, from the first record's arrival to the last's,
    /// widened by `margin` each way: "approximate" arrivals, and a change's line
    /// carries its function's clock, not the stream's. The record's shape is the
    /// Lambda developer guide's example of an invocation record (`events/`).
    pub fn of_dead_letter(record: &serde_json::Value, margin: time::Duration) -> Option<Self> {
        let batch = &record["DDBStreamBatchInfo"];
        let at = |field: &str| {
            let raw = batch[field].as_str()?;
            OffsetDateTime::parse(raw, &time::format_description::well_known::Rfc3339).ok()
        };
        Some(Self {
            from: at("approximateArrivalOfFirstRecord")? - margin,
            to: at("approximateArrivalOfLastRecord")? + margin,
        })
        .filter(|window| window.from <= window.to)
    }

    fn contains(&self, at: OffsetDateTime) -> bool {
        self.from <= at && at <= self.to
    }
}

#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct ReplayReport {
    pub intercoms: usize,
    /// Invites and SMS items read.
    pub histories: usize,
    /// Facts in the window, delivered again.
    pub facts: usize,
    /// SMS asked for and not handled, queued again.
    pub sms: usize,
}

/// The outbox's three outputs, given as clients: `ota-admin` builds only these.
pub struct Outputs<'a> {
    pub store: &'a Store,
    pub events: &'a EventPublisher,
    pub sms_queue: &'a SmsQueue,
}

/// Replays `window` for each of `intercoms`, one at a time (an intercom's facts
/// are published in their order). Stops at the first failure: running it again
/// is safe, and finishes the rest.
pub async fn run(
    outputs: &Outputs<'_>,
    intercoms: &[IntercomId],
    window: ReplayWindow,
) -> Result<ReplayReport, OutboxError> {
    let mut report = ReplayReport::default();
    for intercom in intercoms {
        let kept = outputs.store.kept_records(intercom).await?;
        let (mut facts, mut erased, mut requests) = (Vec::new(), Vec::new(), Vec::new());
        for item in &kept {
            let in_window = item.record.facts().into_iter().filter(|fact| window.contains(fact.at));
            if item.record.guest.details.is_none() {
                // Its guest was erased: the activity is rebuilt without them, and only
                // the erasure's own fact goes to the bus (the others' schemas name the guest).
                let (trace, rest): (Vec<_>, Vec<_>) = in_window.partition(|fact| fact.kind == FactKind::GuestErased);
                facts.extend(trace);
                erased.extend(rest);
                continue;
            }
            facts.extend(in_window);
            if let Some(sms) = &item.sms {
                requests.extend((sms.handled + 1..=sms.requested).map(|request| SmsRequest {
                    intercom: intercom.to_string(),
                    invite: item.invite.to_string(),
                    request,
                }));
            }
        }
        facts.sort_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
        outputs.store.record_facts(&erased).await?;
        deliver(outputs.store, outputs.events, outputs.sms_queue, &requests, &facts).await?;
        report.intercoms += 1;
        report.histories += kept.len();
        report.facts += facts.len() + erased.len();
        report.sms += requests.len();
    }
    tracing::info!(
        intercoms = report.intercoms,
        histories = report.histories,
        facts = report.facts,
        sms = report.sms,
        "replay done"
    );
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dead_letter_record_gives_its_batch_window_widened() {
        let record: serde_json::Value =
            serde_json::from_str(include_str!("../../../events/outbox-dead-letter.json")).unwrap();
        let window = ReplayWindow::of_dead_letter(&record, time::Duration::minutes(5)).unwrap();
        assert_eq!(window.from, time::macros::datetime!(2026-11-14 00:08:19 UTC));
        assert_eq!(window.to, time::macros::datetime!(2026-11-14 00:18:21 UTC));
        assert!(
            ReplayWindow::of_dead_letter(&serde_json::json!({"KinesisBatchInfo": {}}), time::Duration::ZERO).is_none()
        );
    }
}
