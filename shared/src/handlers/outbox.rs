//! The outbox: a consumer of the table's stream that turns every committed change
//! of an invite (and of its SMS item) into its facts (`domain::activity`), writes them to the activity
//! log and publishes them to the event bus.
//!
//! Why a stream and not a publish next to each write: a fact is published if and
//! only if its change committed (a failed conditional write makes no stream record;
//! a function that dies after its write still has its record delivered), and the
//! guest's redemption stays one write unit on its request path. Delivery is at
//! least once: a batch that fails is delivered again, its activity items overwrite
//! themselves and its events carry the same `event_id`. Lambda hands a shard's
//! records over in order, so one invite's facts are published in their order.

use crate::domain::activity::Fact;
use crate::store::activity::{invite_record_from_item, sms_record_from_item};
use crate::store::stream_image::changes;
use crate::Deps;
use serde::Serialize;

#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct OutboxReport {
    pub changes: usize,
    pub facts: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Publish(#[from] crate::events::PublishError),
}

/// The facts of a stream event's changes, in stream order.
pub fn facts_of(event: &serde_json::Value) -> Vec<Fact> {
    let mut facts = Vec::new();
    for change in changes(event) {
        let Some(new) = change.new.as_ref() else { continue };
        if new.get(crate::keys::PK).and_then(|v| v.as_s().ok()).is_some_and(|pk| pk.starts_with("GATE#")) {
            facts.extend(crate::store::gates::presence_facts(change.old.as_ref(), new));
            continue;
        }
        let record = if change.invite_key().is_some() {
            invite_record_from_item(new)
        } else if change.sms_key().is_some() {
            sms_record_from_item(new)
        } else {
            continue;
        };
        match record {
            Ok(record) => facts.extend(record.facts_from(change.history_before())),
            // Nothing a retry could change: skipped (a batch that failed for it would
            // stall every later record of its shard), logged with its reason and
            // counted by the `StreamRecordsSkipped` metric filter, which alarms.
            Err(error) => tracing::error!(reason = %error, "stream record skipped"),
        }
    }
    facts
}

/// One batch: record, then publish. Any failure fails the batch, which Lambda
/// delivers again (and, after its retries, hands to the dead-letter queue).
pub async fn run(deps: &Deps, event: &serde_json::Value) -> Result<OutboxReport, OutboxError> {
    let facts = facts_of(event);
    deps.store.record_facts(&facts).await?;
    deps.events.publish(&facts).await?;
    let report = OutboxReport { changes: event["Records"].as_array().map_or(0, Vec::len), facts: facts.len() };
    tracing::info!(changes = report.changes, facts = report.facts, "outbox batch published");
    Ok(report)
}
