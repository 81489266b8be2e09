//! The SQS queue between the table's stream and SNS. The outbox puts each SMS
//! request a committed change makes on it; the SMS sender takes them off, at the
//! account's pace, through an event source mapping whose `MaximumConcurrency`
//! bounds how many senders share that pace.
//!
//! Why a queue and not the stream itself: a stream's records wait in order, per
//! shard, and a shard's batch that meets SNS throttling holds back every later
//! record of the shard (activity, events); its executions grow with the table's
//! partitions, so no setting bounds their sum to the account's SMS rate. A queue
//! holds a burst for as long as it needs (four days here, past the longest code),
//! lets each message be retried alone (`ReportBatchItemFailures`) after a delay the
//! sender chooses, and caps the senders at a number we pick.

use serde::{Deserialize, Serialize};

/// One SMS to send: the first of an invite (`request` 1) or an owner's resend.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmsRequest {
    pub intercom: String,
    pub invite: String,
    pub request: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("no SMS queue is configured (OTA_SMS_QUEUE_URL)")]
    Unconfigured,
    #[error("SQS did not take {0} SMS request(s)")]
    NotTaken(usize),
    #[error("the SQS request failed: {0}")]
    Request(String),
}

/// SQS takes at most ten messages a `SendMessageBatch`.
const BATCH: usize = 10;

#[derive(Clone)]
pub struct SmsQueue {
    client: Option<aws_sdk_sqs::Client>,
    url: String,
}

impl SmsQueue {
    pub fn new(client: aws_sdk_sqs::Client, url: String) -> Self {
        Self { client: Some(client), url }
    }

    /// A queue that refuses every call: what a function built without a queue URL
    /// holds until one is given (the local stack and the tests set theirs).
    pub fn unconfigured() -> Self {
        Self { client: None, url: String::new() }
    }

    fn client(&self) -> Result<&aws_sdk_sqs::Client, QueueError> {
        self.client.as_ref().ok_or(QueueError::Unconfigured)
    }

    /// Puts every request on the queue, or fails (the outbox's batch is then
    /// retried; a request put twice is sent once, the sender claims each).
    pub async fn enqueue(&self, requests: &[SmsRequest]) -> Result<(), QueueError> {
        let client = self.client()?;
        for chunk in requests.chunks(BATCH) {
            let mut batch = client.send_message_batch().queue_url(&self.url);
            for (i, request) in chunk.iter().enumerate() {
                let body = serde_json::to_string(request).map_err(|e| QueueError::Request(e.to_string()))?;
                let entry = aws_sdk_sqs::types::SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(body)
                    .build()
                    .map_err(|e| QueueError::Request(e.to_string()))?;
                batch = batch.entries(entry);
            }
            let output = batch.send().await.map_err(|e| QueueError::Request(e.to_string()))?;
            if !output.failed().is_empty() {
                return Err(QueueError::NotTaken(output.failed().len()));
            }
        }
        Ok(())
    }

    /// Makes a message the sender could not finish visible again after `delay`
    /// (its backoff), in place of the queue's fixed visibility timeout.
    pub async fn retry_after(&self, receipt_handle: &str, delay: std::time::Duration) -> Result<(), QueueError> {
        let seconds = i32::try_from(delay.as_secs()).unwrap_or(i32::MAX).min(MAX_VISIBILITY_SECONDS);
        self.client()?
            .change_message_visibility()
            .queue_url(&self.url)
            .receipt_handle(receipt_handle)
            .visibility_timeout(seconds)
            .send()
            .await
            .map_err(|e| QueueError::Request(e.to_string()))?;
        Ok(())
    }
}

/// SQS's ceiling for a message's visibility timeout: 12 hours.
const MAX_VISIBILITY_SECONDS: i32 = 12 * 60 * 60;

/// How long a request that met throttling or a server error waits before its
/// next try: 30 s doubled per receipt, at most 15 minutes, so a long outage costs
/// a few calls an hour per message, not thousands.
pub fn backoff(receive_count: u32) -> std::time::Duration {
    let doubled = 30u64.saturating_mul(1u64 << receive_count.saturating_sub(1).min(16));
    std::time::Duration::from_secs(doubled.min(15 * 60))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_half_a_minute_to_a_quarter_hour() {
        let seconds: Vec<u64> = (1..=7).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(seconds, [30, 60, 120, 240, 480, 900, 900]);
        assert_eq!(backoff(0).as_secs(), 30);
        assert_eq!(backoff(u32::MAX).as_secs(), 900);
    }

    #[test]
    fn a_request_reads_back_as_written() {
        let request = SmsRequest { intercom: "ic".into(), invite: "inv".into(), request: 2 };
        let body = serde_json::to_string(&request).unwrap();
        assert_eq!(serde_json::from_str::<SmsRequest>(&body).unwrap(), request);
    }
}
