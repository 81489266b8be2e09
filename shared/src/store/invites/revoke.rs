//! Revoking a code: entry and exit end, and the place is freed, in one transaction.

use super::*;

impl Store {
    /// Ends a live invite and, by ending it, frees its place: one transaction that
    /// also re-checks the caller's membership.
    pub async fn revoke(
        &self,
        intercom: &IntercomId,
        invite: &InviteId,
        user: &UserId,
        now: OffsetDateTime,
    ) -> Result<RevokeOutcome, StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::intercom_pk(intercom), keys::invite_sk(invite))))
            .update_expression(
                "SET #state = :revoked, revoked_at = :now, revoked_by = :user, #history = list_append(#history, :event) \
                 REMOVE #slot_pk, #slot_sk",
            )
            // Revoking a guest who is inside ends that exit too.
            .condition_expression(LIVE)
            .set_expression_attribute_names(Some(live_names()))
            .expression_attribute_names("#history", names::HISTORY)
            .expression_attribute_names("#slot_pk", keys::SLOT_INDEX_PK)
            .expression_attribute_names("#slot_sk", keys::SLOT_INDEX_SK)
            .expression_attribute_values(":revoked", s(REVOKED))
            .expression_attribute_values(":active", s(ACTIVE))
            .expression_attribute_values(":now", epoch(now))
            .expression_attribute_values(":user", s(user.as_str()))
            .expression_attribute_values(":event", history_append("revoked", now))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .build()
            .map_err(sdk)?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().condition_check(self.member_check(intercom, user)?).build())
            .transact_items(TransactWriteItem::builder().update(update).build())
            .send()
            .await;
        let Err(error) = result else { return Ok(RevokeOutcome::Revoked) };
        match transaction_failure(&error) {
            TransactionFailure::Contended => Ok(RevokeOutcome::Contended),
            TransactionFailure::ConditionsFailed { items, reasons } => match items.first() {
                Some(0) => Ok(RevokeOutcome::Forbidden),
                Some(1) => {
                    let old = reasons.get(1).and_then(|r| r.item());
                    Ok(match old.map(invite_from_item).transpose()? {
                        None => RevokeOutcome::NotFound,
                        // Revoking a revoked code is done, not missing: this is how the
                        // SDK's retry of a revoke whose answer was lost ends.
                        Some(invite) if invite.revoked => RevokeOutcome::Revoked,
                        Some(invite) if invite.state(now) == InviteState::Exited => RevokeOutcome::Ended("used"),
                        Some(_) => RevokeOutcome::Ended("expired"),
                    })
                }
                _ => Err(request_failed(error)),
            },
            TransactionFailure::Other => Err(request_failed(error)),
        }
    }
}
