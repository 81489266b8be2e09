//! The DynamoDB adapter: every read and every conditional write of the service,
//! one file per aggregate, each with its item mapping next to its requests.
//!
//! - [`activity`]: the activity log's facts, as the outbox writes and the owner reads them.
//! - [`stream_image`]: a stream record's images read into items.
//! - [`attributes`]: attribute values and names, reading them back, item errors.
//! - [`intercoms`]: the intercom registry, memberships and the settings audit;
//!   provisioning (what Fluss's device management writes in production).
//! - [`invites`]: an invite's life: the partition read of create and list, create,
//!   revoke, the SMS outcome, expiry and the sweep's index; idempotency records.
//! - [`places`]: the places of Max Users and the codes' reservations a create claims,
//!   and laying places out when Max Users changes.
//! - [`redemption`]: the guest's write path at the gate, and what settles a passage
//!   afterwards (given back, or confirmed by the gate's report).
//! - [`gates`]: each gate's presence, from its lifecycle events.
//! - [`gate_numbers`]: each intercom's gate number (the QR's proof of presence).
//!
//! Each public method is one request (the budgets in the README count them), except
//! the paginated reads, which are one request per page. Every write that guards an
//! invariant carries its condition here, next to the rule it enforces. No SDK type
//! leaves this module: callers see domain values, outcomes and [`StoreError`].

pub mod activity;
pub mod attributes;
pub mod details;
pub mod gate_numbers;
pub mod gates;
pub mod intercoms;
pub mod invites;
pub mod places;
pub mod redemption;
pub mod stream_image;

pub use attributes::{Item, ItemError};
pub use gate_numbers::GateNumbersFound;
pub use gates::{GateReachability, Presence};
pub use intercoms::SaveOutcome;
pub use invites::{
    CreateContext, CreateOutcome, EraseOutcome, Eraser, ErasureRequest, ErasureTarget, Expiry, GuestCode,
    IdempotencyRecord, ListCursor, ListPage, ResendOutcome, RevokeOutcome, SmsLimitScope, SmsOutcome,
};
pub use redemption::{GateAttempt, GiveBack, RedeemOutcome};

use crate::error::BoxError;
use crate::keys;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{CancellationReason, Put, TransactWriteItem};
use aws_sdk_dynamodb::Client;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("DynamoDB request failed")]
    Sdk(#[source] BoxError),
    /// DynamoDB throttled the request past the SDK's own retries: nothing was
    /// decided, the caller may try again (503, not 500).
    #[error("DynamoDB is throttling requests")]
    Throttled,
    /// DynamoDB did not answer, or answered with a server error, past the SDK's own
    /// retries: nothing can be said about this request; the caller may try again.
    #[error("DynamoDB did not answer in time or failed on its side")]
    Unavailable(#[source] BoxError),
    #[error(transparent)]
    Item(#[from] ItemError),
}

pub(crate) fn sdk<E: std::error::Error + Send + Sync + 'static>(error: E) -> StoreError {
    StoreError::Sdk(Box::new(error))
}

/// A request's error, throttling told apart.
pub(crate) fn request_failed<E>(
    error: aws_sdk_dynamodb::error::SdkError<E, aws_smithy_runtime_api::http::Response>,
) -> StoreError
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    use aws_sdk_dynamodb::error::SdkError;
    if throttled(&error) {
        return StoreError::Throttled;
    }
    let unavailable = match &error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => true,
        SdkError::ServiceError(service) => service.raw().status().is_server_error(),
        _ => false,
    };
    if unavailable {
        StoreError::Unavailable(Box::new(error))
    } else {
        sdk(error)
    }
}

/// How a `TransactWriteItems` failed, as the store's transactions tell it apart.
pub(crate) enum TransactionFailure<'e> {
    /// Throttled, or cancelled only because other transactions held its items:
    /// nothing was decided, so trying again is right.
    Contended,
    /// Cancelled because these items' conditions failed (their indexes, ascending);
    /// `reasons` hold the old items where the request asked for them.
    ConditionsFailed { items: Vec<usize>, reasons: &'e [CancellationReason] },
    /// Anything else (an outage, a malformed request): see [`request_failed`].
    Other,
}

/// Cancellation reasons that say "try again", not "no": another transaction held
/// an item, or DynamoDB throttled one.
const CONTENTION: [&str; 3] = ["TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"];

pub(crate) fn transaction_failure<R>(
    error: &aws_sdk_dynamodb::error::SdkError<TransactWriteItemsError, R>,
) -> TransactionFailure<'_> {
    if throttled(error) {
        return TransactionFailure::Contended;
    }
    let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) = error.as_service_error() else {
        return TransactionFailure::Other;
    };
    let reasons = cancelled.cancellation_reasons();
    let codes: Vec<(usize, &str)> =
        reasons.iter().enumerate().filter_map(|(i, r)| r.code().filter(|c| *c != "None").map(|c| (i, c))).collect();
    if !codes.is_empty() && codes.iter().all(|(_, code)| CONTENTION.contains(code)) {
        return TransactionFailure::Contended;
    }
    let items = codes.iter().filter(|(_, code)| *code == "ConditionalCheckFailed").map(|(i, _)| *i).collect();
    TransactionFailure::ConditionsFailed { items, reasons }
}

/// Whether DynamoDB refused a request for load (after the SDK's own retries):
/// the caller may try again; nothing was decided.
fn throttled<E: aws_sdk_dynamodb::error::ProvideErrorMetadata, R>(
    error: &aws_sdk_dynamodb::error::SdkError<E, R>,
) -> bool {
    const THROTTLING: [&str; 5] = [
        "ThrottlingException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "TransactionInProgressException",
        "TransactionConflictException",
    ];
    error.as_service_error().and_then(|e| e.code()).is_some_and(|code| THROTTLING.contains(&code))
}

pub(crate) fn condition_failed<R>(
    error: &aws_sdk_dynamodb::error::SdkError<aws_sdk_dynamodb::operation::update_item::UpdateItemError, R>,
) -> Option<&aws_sdk_dynamodb::types::error::ConditionalCheckFailedException> {
    match error.as_service_error()? {
        aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(e) => Some(e),
        _ => None,
    }
}

/// A conditional update's outcome: `true` if it wrote, `false` if its condition
/// refused it (the usual answer to a duplicate or a write overtaken by another).
pub(crate) fn written<O>(
    result: Result<
        O,
        aws_sdk_dynamodb::error::SdkError<
            aws_sdk_dynamodb::operation::update_item::UpdateItemError,
            aws_smithy_runtime_api::http::Response,
        >,
    >,
) -> Result<bool, StoreError> {
    match result {
        Ok(_) => Ok(true),
        Err(error) if condition_failed(&error).is_some() => Ok(false),
        Err(error) => Err(request_failed(error)),
    }
}

#[derive(Clone)]
pub struct Store {
    client: Client,
    table: String,
    /// Items per Query page; `None`: DynamoDB's (1 MB). Tests force small pages.
    page_limit: Option<i32>,
}

impl Store {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into(), page_limit: None }
    }

    /// Every Query reads at most `items` per page, as a large partition would past 1 MB.
    pub fn with_page_limit(mut self, items: i32) -> Self {
        self.page_limit = Some(items);
        self
    }

    /// Items by key, as they are now (consistent BatchGetItem, 100 keys a request,
    /// what DynamoDB leaves unprocessed asked again); absent ones are left out.
    pub(crate) async fn get_items(&self, keys: Vec<Item>) -> Result<Vec<Item>, StoreError> {
        use aws_sdk_dynamodb::types::KeysAndAttributes;
        let mut found = Vec::new();
        for chunk in keys.chunks(100) {
            let mut pending = Some(
                KeysAndAttributes::builder()
                    .set_keys(Some(chunk.to_vec()))
                    .consistent_read(true)
                    .build()
                    .map_err(sdk)?,
            );
            for round in 0.. {
                let Some(request) = pending.take() else { break };
                if round > 0 {
                    tokio::time::sleep(std::time::Duration::from_millis(20 << round.min(5))).await;
                }
                let output = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(request_failed)?;
                if let Some(items) = output.responses().and_then(|r| r.get(&self.table)) {
                    found.extend(items.iter().cloned());
                }
                pending = output
                    .unprocessed_keys()
                    .and_then(|u| u.get(&self.table))
                    .cloned()
                    .filter(|k| !k.keys().is_empty());
                if round >= 8 && pending.is_some() {
                    return Err(StoreError::Throttled);
                }
            }
        }
        Ok(found)
    }

    /// Every item `query` finds, page by page (`page_limit` items a page in tests).
    pub(crate) async fn query_all(
        &self,
        query: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
    ) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start_key = None;
        loop {
            let page = query
                .clone()
                .set_exclusive_start_key(start_key)
                .set_limit(self.page_limit)
                .send()
                .await
                .map_err(request_failed)?;
            items.extend(page.items().iter().cloned());
            start_key = page.last_evaluated_key().cloned();
            if start_key.is_none() {
                return Ok(items);
            }
        }
    }

    pub(crate) fn put_new(&self, item: Item) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", keys::PK)
            .build()
            .map_err(sdk)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }
}
