//! The SMS queue as the deployed stack runs it, against moto's SQS: the queue is
//! made as `template.yaml`'s `SmsQueue` is (its visibility timeout), and its event
//! source mapping is played here: visible messages are received ten at a time,
//! handed to the SMS sender in the shape Lambda delivers an SQS batch, and those
//! the sender does not report as failures (`batchItemFailures`) are deleted.
//!
//! AWS, "Handling errors for an SQS event source in Lambda": "If your function
//! returns an error … Lambda … makes the messages visible in the queue again after
//! the visibility timeout", and with `ReportBatchItemFailures` "Lambda deletes the
//! messages … that were successfully processed" and retries only those listed.
//!
//! One liberty: a message the sender put back to wait out its backoff (the
//! sender's `ChangeMessageVisibility`, real seconds to minutes) is made visible
//! again at the next settle, as if that time had passed; a test or a developer
//! settles instead of waiting. What only a deployed stack shows: the mapping's
//! polling, its `MaximumConcurrency`, and SQS's redelivery of a message twice.

use ota::sms_queue::SmsQueue;
use ota::Deps;
use serde_json::{json, Value};
use std::sync::Mutex;

/// `template.yaml`'s `SmsQueue` `VisibilityTimeout`, kept equal by a test.
pub const VISIBILITY_TIMEOUT_SECONDS: i32 = 1800;

pub struct LocalSmsQueue {
    client: aws_sdk_sqs::Client,
    url: String,
    arn: String,
    /// Receipt handles of messages the sender put back, to wake at the next settle.
    waiting: Mutex<Vec<String>>,
}

impl LocalSmsQueue {
    /// Makes (or finds) the queue `<table>-sms`, one per table, as each test has its own.
    pub async fn create(emulator: &str, table: &str) -> Result<Self, String> {
        let sdk = crate::aws::sdk_config(emulator).await;
        let client = aws_sdk_sqs::Client::new(&sdk);
        let name = format!("{table}-sms");
        let created = client
            .create_queue()
            .queue_name(&name)
            .attributes(
                aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout,
                VISIBILITY_TIMEOUT_SECONDS.to_string(),
            )
            .send()
            .await
            .map_err(sqs_error("create SMS queue"))?;
        let url = created.queue_url().ok_or("SQS gave no queue URL")?.to_owned();
        let arn = format!("arn:aws:sqs:{}:123456789012:{name}", crate::aws::REGION);
        Ok(Self { client, url, arn, waiting: Mutex::new(Vec::new()) })
    }

    /// The queue as the functions' `Deps` hold it.
    pub fn queue(&self) -> SmsQueue {
        SmsQueue::new(self.client.clone(), self.url.clone())
    }

    /// Hands every visible message to the SMS sender (`sender`, whose queue must be
    /// this one) until none is left. Returns the messages handed over.
    pub async fn drain(&self, sender: &Deps) -> Result<usize, String> {
        let mut handed = 0;
        for _ in 0..1_000 {
            let received = self
                .client
                .receive_message()
                .queue_url(&self.url)
                .max_number_of_messages(10)
                .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
                .send()
                .await
                .map_err(sqs_error("receive SMS requests"))?;
            let messages = received.messages();
            if messages.is_empty() {
                return Ok(handed);
            }
            handed += messages.len();
            let event = self.event_of(messages);
            let answer = ota::handlers::send_sms::run(sender, &event).await.unwrap_or_else(|never| match never {});
            let again: Vec<&str> = answer["batchItemFailures"]
                .as_array()
                .map(|f| f.iter().filter_map(|f| f["itemIdentifier"].as_str()).collect())
                .unwrap_or_default();
            for message in messages {
                let (Some(id), Some(receipt)) = (message.message_id(), message.receipt_handle()) else { continue };
                if again.contains(&id) {
                    self.waiting.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(receipt.to_owned());
                } else {
                    self.client
                        .delete_message()
                        .queue_url(&self.url)
                        .receipt_handle(receipt)
                        .send()
                        .await
                        .map_err(sqs_error("delete SMS request"))?;
                }
            }
        }
        Ok(handed)
    }

    /// Makes the messages the sender put back visible now (once per settle: a
    /// message SNS keeps refusing is tried once a settle, not in a loop).
    pub async fn wake_waiting(&self) -> Result<(), String> {
        let waiting = std::mem::take(&mut *self.waiting.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        for receipt in waiting {
            self.client
                .change_message_visibility()
                .queue_url(&self.url)
                .receipt_handle(receipt)
                .visibility_timeout(0)
                .send()
                .await
                .map_err(sqs_error("wake SMS request"))?;
        }
        Ok(())
    }

    /// An SQS event as Lambda delivers it (the "Example Amazon SQS message event
    /// (standard queue)" of Lambda's developer guide).
    fn event_of(&self, messages: &[aws_sdk_sqs::types::Message]) -> Value {
        let records: Vec<Value> = messages
            .iter()
            .map(|message| {
                let attributes: serde_json::Map<String, Value> = message
                    .attributes()
                    .map(|a| a.iter().map(|(k, v)| (k.as_str().to_owned(), json!(v))).collect())
                    .unwrap_or_default();
                json!({
                    "messageId": message.message_id(),
                    "receiptHandle": message.receipt_handle(),
                    "body": message.body(),
                    "attributes": attributes,
                    "messageAttributes": {},
                    "md5OfBody": message.md5_of_body(),
                    "eventSource": "aws:sqs",
                    "eventSourceARN": self.arn,
                    "awsRegion": crate::aws::REGION,
                })
            })
            .collect();
        json!({ "Records": records })
    }
}

/// An SQS call's error, named by what the local mapping was doing.
fn sqs_error<E: std::error::Error>(doing: &'static str) -> impl FnOnce(E) -> String {
    move |error| format!("{doing}: {}", aws_sdk_sqs::error::DisplayErrorContext(error))
}
