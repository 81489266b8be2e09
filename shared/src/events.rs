//! Publishing facts to the EventBridge bus (the outbox only). Every delivery of a
//! fact carries the same `event_id` in its detail: EventBridge's own event id is new
//! on every `PutEvents`, so consumers de-duplicate by ours.

use crate::domain::activity::Fact;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_sdk_eventbridge::Client;

/// The `source` of every event.
pub const SOURCE: &str = "fluss.one-time-access";

/// PutEvents' limit.
const ENTRIES_PER_CALL: usize = 10;

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("EventBridge could not be reached or refused the request ({0})")]
    Request(String),
    /// Some entries failed (throttled, or an internal failure) after retries.
    #[error("EventBridge did not take {0} events")]
    NotTaken(usize),
}

#[derive(Clone)]
pub struct EventPublisher {
    client: Client,
    bus: String,
}

impl EventPublisher {
    pub fn new(client: Client, bus: String) -> Self {
        Self { client, bus }
    }

    fn entry(&self, fact: &Fact) -> PutEventsRequestEntry {
        PutEventsRequestEntry::builder()
            .event_bus_name(&self.bus)
            .source(SOURCE)
            .detail_type(fact.kind.detail_type())
            .detail(serde_json::to_string(&crate::api::activity::FactView::of(fact)).unwrap_or_default())
            .time(aws_sdk_eventbridge::primitives::DateTime::from_secs(fact.at.unix_timestamp()))
            .build()
    }

    /// Publishes `facts` in order, ten per call; entries EventBridge did not take
    /// are sent again (a few rounds), then the whole publish fails, so the stream
    /// batch is retried (consumers see a duplicate `event_id` at worst).
    pub async fn publish(&self, facts: &[Fact]) -> Result<(), PublishError> {
        for chunk in facts.chunks(ENTRIES_PER_CALL) {
            let mut pending: Vec<PutEventsRequestEntry> = chunk.iter().map(|f| self.entry(f)).collect();
            for round in 0..4u32 {
                if round > 0 {
                    tokio::time::sleep(std::time::Duration::from_millis(50 << round)).await;
                }
                let output = self.client.put_events().set_entries(Some(pending.clone())).send().await.map_err(|e| {
                    PublishError::Request(aws_sdk_eventbridge::error::DisplayErrorContext(e).to_string())
                })?;
                if output.failed_entry_count() == 0 {
                    pending.clear();
                    break;
                }
                // Results are in the order of the entries; a failed one has an error code.
                pending = pending
                    .into_iter()
                    .zip(output.entries())
                    .filter(|(_, result)| result.error_code().is_some())
                    .map(|(entry, _)| entry)
                    .collect();
            }
            if !pending.is_empty() {
                return Err(PublishError::NotTaken(pending.len()));
            }
        }
        Ok(())
    }
}
