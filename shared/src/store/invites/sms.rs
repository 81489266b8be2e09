//! The guest's SMS, in an item of its own beside the invite (`keys::sms_sk`): written
//! with the invite by the create's transaction, then by the SMS sender (what SNS said
//! of each request), by delivery reports, and by an owner's resend. Its own history
//! lines become facts like the invite's. The invite's item, which every redemption
//! writes, never grows with any of this.

use super::*;

/// What the SMS item holds.
#[derive(Debug, Clone)]
pub struct SmsRecord {
    pub status: SmsStatus,
    pub failure: Option<String>,
    pub link_seal: Option<Sealed>,
    /// SMS requests (the first, then each resend) the SMS sender has handled.
    pub handled: u32,
}

pub(super) fn sms_key(intercom: &IntercomId, invite: &InviteId) -> Item {
    key(keys::intercom_pk(intercom), keys::sms_sk(invite))
}

/// The SMS item of a new invite: queued, with the sealed link the sender needs;
/// or, when the owner shares the code, only that (`sms_owner_shares` asks the
/// outbox for nothing), with the sealed link kept for a later resend.
pub fn sms_to_item(invite: &Invite) -> Item {
    let first_line = match invite.sms_status {
        SmsStatus::OwnerShares => "sms_owner_shares",
        _ => "sms_queued",
    };
    let mut item = sms_key(&invite.intercom_id, &invite.id);
    item.extend([
        (names::INTERCOM_ID.to_owned(), s(invite.intercom_id.as_str())),
        (names::INVITE_ID.to_owned(), s(invite.id.as_str())),
        (names::GUEST_NAME.to_owned(), s(invite.guest_name.as_str())),
        (names::GUEST_MOBILE.to_owned(), s(invite.guest_mobile.e164())),
        (names::SMS_STATUS.to_owned(), s(invite.sms_status.as_str())),
        (names::SMS_HANDLED.to_owned(), n(0)),
        (names::HISTORY.to_owned(), history_append(first_line, invite.created_at)),
        (keys::PURGE_AT.to_owned(), epoch(invite.exit_closes_at.saturating_add(INVITE_RETENTION))),
    ]);
    // What the guest's page tells of the host and the place lives here, not on the
    // invite's item, which every redemption writes and must stay under 1 KB.
    if let Some(host) = &invite.host {
        item.insert(names::HOST.to_owned(), crate::store::details::host_attribute(host));
    }
    if let Some(location) = &invite.location {
        item.insert(names::LOCATION.to_owned(), crate::store::details::location_attribute(location));
    }
    if let Some(sealed) = &invite.link_seal {
        item.insert(names::LINK_SEAL.to_owned(), s(STANDARD.encode(&sealed.bytes)));
        item.insert(names::SEAL_KEY.to_owned(), s(&sealed.key_id));
    }
    item
}

/// An SMS item, whole or as the partition read projects it (status and failure).
pub fn sms_from_item(item: &Item) -> Result<SmsRecord, ItemError> {
    let link_seal = match item.get(names::LINK_SEAL) {
        Some(_) => Some(Sealed {
            key_id: get_s(item, names::SEAL_KEY)?.to_owned(),
            bytes: STANDARD.decode(get_s(item, names::LINK_SEAL)?).map_err(|_| bad(names::LINK_SEAL))?,
        }),
        None => None,
    };
    Ok(SmsRecord {
        status: SmsStatus::from_stored(get_s(item, names::SMS_STATUS)?),
        failure: get_optional(item, names::SMS_FAILURE, |i, n| get_s(i, n).map(str::to_owned))?,
        link_seal,
        handled: get_optional(item, names::SMS_HANDLED, get_n)?.unwrap_or(0),
    })
}

pub enum ResendOutcome {
    Requested,
    /// The same `Idempotency-Key` asked for this resend already.
    Replayed,
    SmsLimitReached(SmsLimitScope),
    /// Ended (used, expired, revoked) or gone: nothing to resend.
    Ended,
    /// The caller is no longer a member.
    Forbidden,
    Contended,
}

/// A resend's key, as the invite keeps it: 64 bits of the caller's key hash.
fn resend_key(key_hash: &str) -> String {
    key_hash.chars().take(16).collect()
}

impl Store {
    /// An invite's SMS item, as it is now (a strongly consistent GetItem).
    pub async fn sms_of(&self, intercom: &IntercomId, invite: &InviteId) -> Result<Option<SmsRecord>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(sms_key(intercom, invite)))
            .consistent_read(true)
            .send()
            .await
            .map_err(request_failed)?;
        Ok(output.item().map(sms_from_item).transpose()?)
    }

    /// The invite an SNS message id was sent for.
    pub async fn sms_message_invite(&self, message_id: &str) -> Result<Option<(IntercomId, InviteId)>, StoreError> {
        let (pk, sk) = keys::sms_message_key(message_id);
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .send()
            .await
            .map_err(request_failed)?;
        let Some(item) = output.item() else { return Ok(None) };
        Ok(Some((
            parse_attr(item, names::INTERCOM_ID, IntercomId::parse)?,
            parse_attr(item, names::INVITE_ID, InviteId::parse)?,
        )))
    }

    /// The carrier's word on the invite's latest SMS, once: only while that message
    /// is the invite's latest and still only sent (a redelivered report, or a report
    /// of an SMS a resend replaced, changes nothing). Returns whether it recorded.
    pub async fn record_sms_delivery(
        &self,
        intercom: &IntercomId,
        invite: &InviteId,
        message_id: &str,
        failure: Option<&str>,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let (status, line) = match failure {
            None => (SmsStatus::Delivered, "sms_delivered".to_owned()),
            Some(reason) => (SmsStatus::Failed, format!("sms_undelivered {reason}")),
        };
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(sms_key(intercom, invite)))
            .expression_attribute_names("#failure", names::SMS_FAILURE);
        update = match failure {
            Some(reason) => update
                .update_expression(
                    "SET #status = :status, #failure = :reason, #history = list_append(#history, :event)",
                )
                .expression_attribute_values(":reason", s(reason)),
            None => update
                .update_expression("SET #status = :status, #history = list_append(#history, :event) REMOVE #failure"),
        };
        let result = update
            .condition_expression("#message = :id AND #status = :sent")
            .expression_attribute_names("#status", names::SMS_STATUS)
            .expression_attribute_names("#message", names::SMS_MESSAGE_ID)
            .expression_attribute_names("#history", names::HISTORY)
            .expression_attribute_values(":status", s(status.as_str()))
            .expression_attribute_values(":sent", s(SmsStatus::Sent.as_str()))
            .expression_attribute_values(":id", s(message_id))
            .expression_attribute_values(":event", history_append(&line, at))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(error) if super::super::condition_failed(&error).is_some() => Ok(false),
            Err(error) => Err(request_failed(error)),
        }
    }

    /// Asks for the guest's SMS again: one transaction that appends the request to
    /// the SMS item of a live invite (the SMS sender sends it from the stream), counts it against
    /// this hour's SMS allowances of the caller and the intercom, and re-checks the
    /// caller's membership. `key_hash` makes it idempotent: a retry under the same
    /// key finds its request on the invite and asks for nothing more.
    pub async fn request_resend(
        &self,
        intercom: &IntercomId,
        invite: &InviteId,
        user: &UserId,
        key_hash: &str,
        limits: SmsLimits,
        now: OffsetDateTime,
    ) -> Result<ResendOutcome, StoreError> {
        let resend = resend_key(key_hash);
        let live = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::intercom_pk(intercom), keys::invite_sk(invite))))
            .condition_expression(LIVE)
            .set_expression_attribute_names(Some(live_names()))
            .expression_attribute_values(":active", s(ACTIVE))
            .expression_attribute_values(":now", epoch(now))
            .build()
            .map_err(sdk)?;
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(sms_key(intercom, invite)))
            .update_expression("SET #status = :queued, #history = list_append(#history, :event) ADD #keys :key")
            .condition_expression("attribute_exists(#history) AND NOT contains(#keys, :one_key)")
            .expression_attribute_names("#status", names::SMS_STATUS)
            .expression_attribute_names("#history", names::HISTORY)
            .expression_attribute_names("#keys", names::SMS_RESEND_KEYS)
            .expression_attribute_values(":queued", s(SmsStatus::Queued.as_str()))
            .expression_attribute_values(":event", history_append(&format!("sms_resend {user}"), now))
            .expression_attribute_values(":key", AttributeValue::Ss(vec![resend.clone()]))
            .expression_attribute_values(":one_key", s(&resend))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(sdk)?;
        let hour = now.unix_timestamp().div_euclid(3600);
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().condition_check(self.member_check(intercom, user)?).build())
            .transact_items(TransactWriteItem::builder().condition_check(live).build())
            .transact_items(TransactWriteItem::builder().update(update).build())
            .transact_items(self.count_sms(keys::sms_by_intercom_pk(intercom), hour, limits.per_intercom_per_hour)?)
            .transact_items(self.count_sms(keys::sms_by_user_pk(user), hour, limits.per_user_per_hour)?)
            .send()
            .await;
        let Err(error) = result else { return Ok(ResendOutcome::Requested) };
        match transaction_failure(&error) {
            TransactionFailure::Contended => Ok(ResendOutcome::Contended),
            TransactionFailure::ConditionsFailed { items, reasons } => Ok(match items.first() {
                Some(0) => ResendOutcome::Forbidden,
                Some(1) => ResendOutcome::Ended,
                Some(2) => {
                    let old = reasons.get(2).and_then(|r| r.item());
                    let asked = old
                        .and_then(|item| item.get(names::SMS_RESEND_KEYS))
                        .and_then(|keys| keys.as_ss().ok())
                        .is_some_and(|keys| keys.contains(&resend));
                    if asked {
                        ResendOutcome::Replayed
                    } else {
                        ResendOutcome::Ended
                    }
                }
                Some(3) => ResendOutcome::SmsLimitReached(SmsLimitScope::Intercom),
                _ => ResendOutcome::SmsLimitReached(SmsLimitScope::User),
            }),
            TransactionFailure::Other => Err(request_failed(error)),
        }
    }
}
