//! Committing a create, with its version guard and SMS allowances.

use super::*;

impl Store {
    /// Writes a new invite in one transaction that also moves the intercom's version
    /// on from the one the caller's decisions were based on. Two creates that read
    /// the same version cannot both commit, so Max Users and code uniqueness, checked
    /// on that read, hold under any concurrency.
    ///
    /// The same transaction writes the invite's SMS item (queued: the SMS sender
    /// sends it from the stream) and counts the guest SMS it will cause against this clock
    /// hour's allowance of the caller and of the intercom (one counter item each,
    /// a conditional increment): over either, nothing is written.
    pub async fn commit_create(
        &self,
        intercom: &Intercom,
        user: &UserId,
        invite: &Invite,
        idempotency: Option<&IdempotencyRecord>,
        limits: SmsLimits,
    ) -> Result<CreateOutcome, StoreError> {
        let hour = invite.created_at.unix_timestamp().div_euclid(3600);
        let mut request = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(self.version_guard(intercom)?).build())
            .transact_items(
                TransactWriteItem::builder().condition_check(self.member_check(&intercom.id, user)?).build(),
            )
            .transact_items(self.put_new(invite_to_item(invite))?)
            .transact_items(self.count_sms(
                keys::sms_by_intercom_pk(&intercom.id),
                hour,
                limits.per_intercom_per_hour,
            )?)
            .transact_items(self.count_sms(keys::sms_by_user_pk(user), hour, limits.per_user_per_hour)?);
        if let Some(record) = idempotency {
            request = request.transact_items(self.put_new(idempotency_to_item(&intercom.id, record))?);
        }
        // Last, so the indexes above keep their meaning for the failure below.
        request = request.transact_items(self.put_new(sms_to_item(invite))?);
        let Err(error) = request.send().await else { return Ok(CreateOutcome::Committed) };
        match transaction_failure(&error) {
            TransactionFailure::Contended => Ok(CreateOutcome::Conflict),
            TransactionFailure::ConditionsFailed { items, .. } => Ok(if items.contains(&1) {
                CreateOutcome::MemberGone
            } else if items.contains(&0) {
                // Read again first: this may be the SDK's retry meeting its own
                // commit, whose SMS counts are what now fill the allowance.
                CreateOutcome::Conflict
            } else if items.contains(&3) {
                CreateOutcome::SmsLimitReached(SmsLimitScope::Intercom)
            } else if items.contains(&4) {
                CreateOutcome::SmsLimitReached(SmsLimitScope::User)
            } else {
                CreateOutcome::Conflict
            }),
            TransactionFailure::Other => Err(request_failed(error)),
        }
    }

    /// One more guest SMS in `hour` on the counter at `pk`, if fewer than `limit`
    /// were counted. The counter is removed by TTL a day after its hour.
    pub(super) fn count_sms(&self, pk: String, hour: i64, limit: u32) -> Result<TransactWriteItem, StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(pk, keys::sms_hour_sk(hour))))
            .update_expression("ADD #count :one SET #purge_at = :purge_at")
            .condition_expression("attribute_not_exists(#count) OR #count < :limit")
            .expression_attribute_names("#count", names::SMS_COUNT)
            .expression_attribute_names("#purge_at", keys::PURGE_AT)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":limit", n(limit))
            .expression_attribute_values(":purge_at", n((hour + 25) * 3600))
            .build()
            .map_err(sdk)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }
}
