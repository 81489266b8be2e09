//! The sweep's side of an invite's life: the index of invites holding a place, and
//! expiring those whose time has passed.

use super::*;

impl Store {
    /// Invites that hold a place and whose expiry has passed, oldest first, at most
    /// `limit`. Reads the sparse slot index only: work grows with what is due.
    pub async fn due_invites(
        &self,
        now: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<(IntercomId, InviteId)>, StoreError> {
        let mut due = Vec::new();
        let mut start_key = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(keys::SLOT_INDEX)
                .key_condition_expression("#pk = :pk AND #sk < :due")
                .expression_attribute_names("#pk", keys::SLOT_INDEX_PK)
                .expression_attribute_names("#sk", keys::SLOT_INDEX_SK)
                .expression_attribute_values(":pk", s(keys::SLOT_INDEX_PARTITION))
                .expression_attribute_values(":due", s(keys::slot_index_due_before(now)))
                .limit(i32::try_from(limit.saturating_sub(due.len()).max(1)).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start_key)
                .send()
                .await
                .map_err(request_failed)?;
            for item in page.items() {
                let pk = item.get(keys::PK).and_then(|v| v.as_s().ok());
                let sk = sort_key(item);
                match pk.zip(sk).and_then(|(pk, sk)| keys::parse_invite_key(pk, sk)) {
                    Some(key) => due.push(key),
                    None => return Err(ItemError { attribute: keys::SLOT_INDEX_SK.into() }.into()),
                }
            }
            start_key = page.last_evaluated_key().cloned();
            if start_key.is_none() || due.len() >= limit {
                return Ok(due);
            }
        }
    }

    /// Records an invite's expiry and takes it out of the slot index. The condition
    /// makes overlapping sweeps record each expiry once, and never calls an invite
    /// whose guest has left "expired": an exit leaves its invite in the index (the
    /// redemption stays one write), and this takes it out without a word. An invite
    /// whose exit command lapsed unanswered is handed back to the caller, which gives
    /// it back and asks again.
    pub async fn expire(
        &self,
        intercom: &IntercomId,
        invite: &InviteId,
        now: OffsetDateTime,
    ) -> Result<Expiry, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::intercom_pk(intercom), keys::invite_sk(invite))))
            .update_expression(
                "SET expired_at = :now, #history = list_append(#history, :event) REMOVE #slot_pk, #slot_sk",
            )
            .condition_expression(
                "attribute_exists(#slot_pk) AND expires_at <= :now AND NOT contains(#exit_tries, #code)",
            )
            .expression_attribute_names("#history", names::HISTORY)
            .expression_attribute_names("#slot_pk", keys::SLOT_INDEX_PK)
            .expression_attribute_names("#slot_sk", keys::SLOT_INDEX_SK)
            .expression_attribute_names("#exit_tries", EXIT_TRIES)
            .expression_attribute_names("#code", names::CODE)
            .expression_attribute_values(":now", epoch(now))
            .expression_attribute_values(":event", history_append("expired", now))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(Expiry::Recorded),
            Err(error) => match condition_failed(&error) {
                Some(failed) => {
                    let old = failed.item().map(invite_from_item).transpose()?;
                    let still_indexed = failed.item().is_some_and(|item| item.contains_key(keys::SLOT_INDEX_PK));
                    match old {
                        Some(old) if still_indexed && old.lapsed(now).is_some() => Ok(Expiry::Lapsed(Box::new(old))),
                        Some(old) if still_indexed && old.state(now) == InviteState::Exited => {
                            self.leave_index(intercom, invite).await?;
                            Ok(Expiry::Skipped)
                        }
                        _ => Ok(Expiry::Skipped),
                    }
                }
                None => Err(request_failed(error)),
            },
        }
    }

    /// An invite whose guest has left holds no place any more: takes it out of the
    /// slot index. A second sweep that got here first leaves nothing to do.
    async fn leave_index(&self, intercom: &IntercomId, invite: &InviteId) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::intercom_pk(intercom), keys::invite_sk(invite))))
            .update_expression("REMOVE #slot_pk, #slot_sk")
            .condition_expression("attribute_exists(#slot_pk)")
            .expression_attribute_names("#slot_pk", keys::SLOT_INDEX_PK)
            .expression_attribute_names("#slot_sk", keys::SLOT_INDEX_SK)
            .send()
            .await
            .map(|_| ())
            .or_else(|error| if condition_failed(&error).is_some() { Ok(()) } else { Err(request_failed(error)) })
    }
}
