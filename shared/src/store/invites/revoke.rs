//! Revoking a code: entry and exit end, and its place is freed, in one transaction.

use super::*;

impl Store {
    /// Ends a live invite and, by ending it, frees its place: one transaction that
    /// also re-checks the caller's membership and marks its place item free from now
    /// (read first: the invite names its place), so the next create finds it.
    pub async fn revoke(
        &self,
        intercom: &IntercomId,
        invite: &InviteId,
        user: &UserId,
        now: OffsetDateTime,
    ) -> Result<RevokeOutcome, StoreError> {
        let place = self.invite(intercom, invite).await?.and_then(|found| found.place);
        match self.revoke_with(intercom, invite, user, place, now).await? {
            Some(outcome) => Ok(outcome),
            // Its place item no longer names it (an anomaly: a live invite holds its
            // place): revoke it all the same; the place frees by its own time.
            None => Ok(self.revoke_with(intercom, invite, user, None, now).await?.unwrap_or(RevokeOutcome::Contended)),
        }
    }

    async fn revoke_with(
        &self,
        intercom: &IntercomId,
        invite: &InviteId,
        user: &UserId,
        place: Option<u32>,
        now: OffsetDateTime,
    ) -> Result<Option<RevokeOutcome>, StoreError> {
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
        let mut request = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().condition_check(self.member_check(intercom, user)?).build())
            .transact_items(TransactWriteItem::builder().update(update).build());
        if let Some(number) = place {
            let release = self.release_place(intercom, number, invite, now)?;
            request = request.transact_items(TransactWriteItem::builder().update(release).build());
        }
        let result = request.send().await;
        let Err(error) = result else { return Ok(Some(RevokeOutcome::Revoked)) };
        match transaction_failure(&error) {
            TransactionFailure::Contended => Ok(Some(RevokeOutcome::Contended)),
            TransactionFailure::ConditionsFailed { items, reasons } => match items.first() {
                Some(0) => Ok(Some(RevokeOutcome::Forbidden)),
                Some(1) => {
                    let old = reasons.get(1).and_then(|r| r.item());
                    Ok(Some(match old.map(invite_from_item).transpose()? {
                        None => RevokeOutcome::NotFound,
                        // Revoking a revoked code is done, not missing: this is how the
                        // SDK's retry of a revoke whose answer was lost ends.
                        Some(invite) if invite.revoked => RevokeOutcome::Revoked,
                        Some(invite) if invite.state(now) == InviteState::Exited => {
                            RevokeOutcome::Ended(crate::domain::invite::Ended::Used)
                        }
                        Some(_) => RevokeOutcome::Ended(crate::domain::invite::Ended::Expired),
                    }))
                }
                Some(2) => Ok(None),
                _ => Err(request_failed(error)),
            },
            TransactionFailure::Other => Err(request_failed(error)),
        }
    }
}
