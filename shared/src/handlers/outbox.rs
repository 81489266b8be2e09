//! The outbox: the table's stream's one consumer. It turns every committed change
//! of an invite (and of its SMS item) into its facts (`domain::activity`), writes
//! them to the activity log and publishes them to the event bus; and it puts each
//! SMS the changes ask for (`sms_queued`, `sms_resend`) on the SMS queue, for the
//! SMS sender to send at the account's pace (`handlers::send_sms`). One consumer,
//! not two: DynamoDB asks for no more than two readers of a shard at once.
//!
//! Why a stream and not a publish next to each write: a fact is published if and
//! only if its change committed (a failed conditional write makes no stream record;
//! a function that dies after its write still has its record delivered), and the
//! guest's redemption stays one write unit on its request path. Delivery is at
//! least once: a batch that fails is delivered again, its activity items overwrite
//! themselves and its events carry the same `event_id`. Lambda hands a shard's
//! records over in order, so one invite's facts are published in their order.

use crate::domain::activity::{Fact, FactKind};
use crate::domain::ids::InviteId;
use crate::sms_queue::SmsRequest;
use crate::store::activity::{invite_record_from_item, sms_record_from_item};
use crate::store::invites::is_erased;
use crate::store::stream_image::changes;
use crate::Deps;
use serde::Serialize;
use std::collections::HashSet;

#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct OutboxReport {
    pub changes: usize,
    pub facts: usize,
    /// SMS requests put on the SMS queue.
    pub sms: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Publish(#[from] crate::events::PublishError),
    #[error(transparent)]
    Queue(#[from] crate::sms_queue::QueueError),
}

/// The SMS requests a stream event's changes of SMS items made, in stream order:
/// each `sms_queued` or `sms_resend` line new in a change, numbered as the item
/// counts them (the first SMS is 1).
pub fn sms_requests_of(event: &serde_json::Value) -> Vec<SmsRequest> {
    let mut requests = Vec::new();
    for change in changes(event) {
        let (Some((intercom, invite)), Some(new)) = (change.sms_key(), change.new.as_ref()) else { continue };
        let lines = new.get(crate::store::attributes::names::HISTORY).and_then(|l| l.as_l().ok());
        let mut number = 0;
        for (index, line) in lines.into_iter().flatten().enumerate() {
            let event = line.as_s().ok().and_then(|l| l.split(' ').nth(1));
            if matches!(event, Some("sms_queued" | "sms_resend")) {
                number += 1;
                if index >= change.history_before() {
                    requests.push(SmsRequest {
                        intercom: intercom.to_string(),
                        invite: invite.to_string(),
                        request: number,
                    });
                }
            }
        }
    }
    requests
}

/// The facts a change that erased its item's guest takes the name from: every
/// earlier one, written again without it (`Store::erase_guest`). This change comes
/// after every earlier change of its item on the stream, so no redelivery of those
/// can write the name back after it. Recorded, not published again.
pub fn erased_facts_of(event: &serde_json::Value) -> Vec<Fact> {
    let mut facts = Vec::new();
    for change in changes(event) {
        let (Some(old), Some(new)) = (change.old.as_ref(), change.new.as_ref()) else { continue };
        if !is_erased(new) || is_erased(old) {
            continue;
        }
        let record = match (change.invite_key(), change.sms_key()) {
            (Some(_), _) => invite_record_from_item(new),
            (_, Some(_)) => sms_record_from_item(new),
            _ => continue,
        };
        match record {
            Ok(record) => facts.extend(record.facts_before(change.history_before())),
            Err(error) => tracing::error!(reason = %error, "stream record skipped"),
        }
    }
    facts
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

/// One batch: queue the SMS, record, then publish. Any failure fails the batch,
/// which Lambda delivers again (and, after its retries, hands to the dead-letter
/// queue); an SMS request queued twice is still sent once (the sender claims it).
pub async fn run(deps: &Deps, event: &serde_json::Value) -> Result<OutboxReport, OutboxError> {
    let requests = sms_requests_of(event);
    // A guest erased in this batch: what earlier changes of theirs in it say is written
    // (without them) by the erasure's own rewrite, after the rest. Facts of an erased
    // guest (in this batch, or since: a late delivery report) are recorded, not
    // published: their events' schemas name the guest. The erasure's own fact is.
    let erased = erased_facts_of(event);
    let erased_codes: HashSet<&InviteId> =
        erased.iter().filter_map(|fact| Some(&fact.guest.as_ref()?.invite)).collect();
    let publishable = |fact: &Fact| {
        fact.kind == FactKind::GuestErased
            || fact.guest.as_ref().is_none_or(|guest| guest.details.is_some() && !erased_codes.contains(&guest.invite))
    };
    let (facts, hushed): (Vec<Fact>, Vec<Fact>) = facts_of(event).into_iter().partition(publishable);
    let hushed: Vec<Fact> = hushed.into_iter().map(Fact::without_guest_details).collect();
    deliver(&deps.store, &deps.events, &deps.sms_queue, &requests, &facts).await?;
    deps.store.record_facts(&hushed).await?;
    deps.store.record_facts(&erased).await?;
    let report = OutboxReport {
        changes: event["Records"].as_array().map_or(0, Vec::len),
        facts: facts.len(),
        sms: requests.len(),
    };
    tracing::info!(changes = report.changes, facts = report.facts, sms = report.sms, "outbox batch published");
    Ok(report)
}

/// What the outbox does with a change's SMS requests and facts, and a replay
/// (`handlers::replay`) with those it rebuilds: queue, record, publish, in that
/// order, each safe to do twice.
pub async fn deliver(
    store: &crate::store::Store,
    events: &crate::events::EventPublisher,
    queue: &crate::sms_queue::SmsQueue,
    requests: &[SmsRequest],
    facts: &[Fact],
) -> Result<(), OutboxError> {
    queue.enqueue(requests).await?;
    store.record_facts(facts).await?;
    events.publish(facts).await?;
    Ok(())
}
