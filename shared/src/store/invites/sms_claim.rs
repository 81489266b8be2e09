//! What the SMS sender writes on an SMS item: the claim it takes before calling
//! SNS, and the outcome that releases it.
//!
//! The claim is what keeps one request from becoming two SMS. SQS delivers a
//! message at least once, and the outbox may put a request on the queue twice; of
//! all the senders holding copies, only the one whose conditional claim succeeds
//! calls SNS. A sender that met throttling gives its claim back (nothing was
//! sent). A claim older than [`CLAIM_LEASE`] without an outcome belongs to a sender
//! that died between SNS's answer and its record: it is recorded as failed
//! (`unconfirmed`), never sent again, so the owner sees it and can resend.

use super::sms::sms_key;
use super::*;

/// Longer than the SMS sender's timeout (template.yaml), so a live sender's claim is
/// never taken for a dead one.
pub const CLAIM_LEASE: time::Duration = time::Duration::minutes(10);

/// What a claim found.
#[derive(Debug, PartialEq, Eq)]
pub enum SmsClaim {
    /// This sender holds the request: it may call SNS.
    Taken,
    /// The request (or a later one) was handled already, or the item is gone.
    Done,
    /// Another sender holds `request` since `since`.
    Held { request: u32, since: OffsetDateTime },
}

/// What became of one SMS request (the first, or a resend).
pub enum SmsOutcome<'a> {
    /// SNS accepted it, under this message id.
    Sent { message_id: &'a str },
    /// SNS refused it; `reason` is the failure's class.
    Refused { reason: &'a str },
    /// The code ended before it was sent: nothing was sent, nothing is said.
    NotSent,
}

impl Store {
    /// Claims SMS request `request` for this sender, unless it was handled or another
    /// sender holds a claim (one it may take over only if that claim is for an
    /// earlier request and older than the lease).
    pub async fn claim_sms(
        &self,
        intercom: &IntercomId,
        invite: &InviteId,
        request: u32,
        now: OffsetDateTime,
    ) -> Result<SmsClaim, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(sms_key(intercom, invite)))
            .update_expression("SET #claim = :n, #claimed_at = :now")
            .condition_expression(
                "attribute_exists(#history) AND (attribute_not_exists(#handled) OR #handled < :n) \
                 AND (attribute_not_exists(#claim) OR (#claim < :n AND #claimed_at < :stale))",
            )
            .expression_attribute_names("#history", names::HISTORY)
            .expression_attribute_names("#handled", names::SMS_HANDLED)
            .expression_attribute_names("#claim", names::SMS_CLAIM)
            .expression_attribute_names("#claimed_at", names::SMS_CLAIMED_AT)
            .expression_attribute_values(":n", n(request))
            .expression_attribute_values(":now", epoch(now))
            .expression_attribute_values(":stale", epoch(now - CLAIM_LEASE))
            .return_values_on_condition_check_failure(
                aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure::AllOld,
            )
            .send()
            .await;
        let Err(error) = result else { return Ok(SmsClaim::Taken) };
        let Some(refused) = condition_failed(&error) else { return Err(request_failed(error)) };
        let Some(old) = refused.item() else { return Ok(SmsClaim::Done) };
        let handled: u32 = get_optional(old, names::SMS_HANDLED, get_n)?.unwrap_or(0);
        let claim: Option<u32> = get_optional(old, names::SMS_CLAIM, get_n)?;
        match claim {
            Some(held) if handled < request => Ok(SmsClaim::Held {
                request: held,
                since: get_optional(old, names::SMS_CLAIMED_AT, get_time)?.unwrap_or(now),
            }),
            _ => Ok(SmsClaim::Done),
        }
    }

    /// Gives a claim back after SNS said "not now" (nothing was sent): the request's
    /// next try may claim it again. A claim since taken over is left alone.
    pub async fn release_sms_claim(
        &self,
        intercom: &IntercomId,
        invite: &InviteId,
        request: u32,
    ) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(sms_key(intercom, invite)))
            .update_expression("REMOVE #claim, #claimed_at")
            .condition_expression("#claim = :n")
            .expression_attribute_names("#claim", names::SMS_CLAIM)
            .expression_attribute_names("#claimed_at", names::SMS_CLAIMED_AT)
            .expression_attribute_values(":n", n(request))
            .send()
            .await;
        super::super::written(result).map(|_| ())
    }

    /// Records the outcome of SMS request `request` (1 for the first) unless it was
    /// recorded already, and releases its claim. A sent SMS's message id is
    /// remembered in the same transaction, for its delivery report (kept as long
    /// as the invite). Returns whether this call recorded it.
    pub async fn record_sms_outcome(
        &self,
        invite: &Invite,
        request: u32,
        outcome: SmsOutcome<'_>,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(sms_key(&invite.intercom_id, &invite.id)))
            .condition_expression("attribute_exists(#history) AND (attribute_not_exists(#handled) OR #handled < :n)")
            .expression_attribute_names("#history", names::HISTORY)
            .expression_attribute_names("#handled", names::SMS_HANDLED)
            .expression_attribute_names("#claim", names::SMS_CLAIM)
            .expression_attribute_names("#claimed_at", names::SMS_CLAIMED_AT)
            .expression_attribute_values(":n", n(request));
        update = match outcome {
            SmsOutcome::Sent { message_id } => update
                .update_expression(
                    "SET #handled = :n, #status = :sent, #message = :id, #history = list_append(#history, :event) \
                     REMOVE #failure, #claim, #claimed_at",
                )
                .expression_attribute_names("#failure", names::SMS_FAILURE)
                .expression_attribute_names("#status", names::SMS_STATUS)
                .expression_attribute_names("#message", names::SMS_MESSAGE_ID)
                .expression_attribute_values(":sent", s(SmsStatus::Sent.as_str()))
                .expression_attribute_values(":id", s(message_id))
                .expression_attribute_values(":event", history_append("sms_sent", now)),
            SmsOutcome::Refused { reason } => update
                .update_expression(
                    "SET #handled = :n, #status = :failed, #failure = :reason, \
                     #history = list_append(#history, :event) REMOVE #claim, #claimed_at",
                )
                .expression_attribute_names("#failure", names::SMS_FAILURE)
                .expression_attribute_values(":reason", s(reason))
                .expression_attribute_names("#status", names::SMS_STATUS)
                .expression_attribute_values(":failed", s(SmsStatus::Failed.as_str()))
                .expression_attribute_values(":event", history_append(&format!("sms_failed {reason}"), now)),
            SmsOutcome::NotSent => update.update_expression("SET #handled = :n REMOVE #claim, #claimed_at"),
        };
        let mut transaction = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(update.build().map_err(sdk)?).build());
        if let SmsOutcome::Sent { message_id } = outcome {
            let (pk, sk) = keys::sms_message_key(message_id);
            let mut item = key(pk, sk);
            item.extend([
                (names::INTERCOM_ID.to_owned(), s(invite.intercom_id.as_str())),
                (names::INVITE_ID.to_owned(), s(invite.id.as_str())),
                (keys::PURGE_AT.to_owned(), epoch(invite.exit_closes_at.saturating_add(INVITE_RETENTION))),
            ]);
            let put = aws_sdk_dynamodb::types::Put::builder().table_name(&self.table).set_item(Some(item));
            transaction =
                transaction.transact_items(TransactWriteItem::builder().put(put.build().map_err(sdk)?).build());
        }
        let Err(error) = transaction.send().await else { return Ok(true) };
        match transaction_failure(&error) {
            TransactionFailure::ConditionsFailed { items, .. } if items == [0] => Ok(false),
            _ => Err(request_failed(error)),
        }
    }
}
