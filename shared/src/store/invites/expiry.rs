//! The sweep's side of an invite's life: the index of invites holding a place, and
//! expiring those whose time has passed.

use super::*;
use crate::store::attributes::names::ENTRY;

fn invite_key_of(item: &Item) -> Option<(IntercomId, InviteId)> {
    let pk = item.get(keys::PK).and_then(|v| v.as_s().ok())?;
    keys::parse_invite_key(pk, sort_key(item)?)
}

/// What an expiry's failed condition found.
enum Found {
    Done(Expiry),
    /// Its guest is inside: expire it into the overstay watch instead.
    Inside {
        exit_closes_at: OffsetDateTime,
    },
}

impl Store {
    /// Invites of one slot-index partition (`keys::sweep_partitions`) that hold a place
    /// and whose expiry has passed, oldest first, at most `limit`. Reads the sparse
    /// slot index only: work grows with what is due.
    pub async fn due_invites(
        &self,
        partition: &str,
        now: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<(IntercomId, InviteId)>, StoreError> {
        self.due_in(partition, now, limit, invite_key_of).await
    }

    /// Invites of one overstay-watch partition that expired with their guest inside
    /// and whose exit window has closed.
    pub async fn due_overstays(
        &self,
        partition: &str,
        now: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<(IntercomId, InviteId)>, StoreError> {
        self.due_in(partition, now, limit, invite_key_of).await
    }

    /// What is due by `now` in one partition of the sweep's index (expiries, overstays,
    /// gates' drops), oldest first, at most `limit`, each key read by `parse`.
    pub(crate) async fn due_in<T>(
        &self,
        partition: &str,
        now: OffsetDateTime,
        limit: usize,
        parse: impl Fn(&Item) -> Option<T>,
    ) -> Result<Vec<T>, StoreError> {
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
                .expression_attribute_values(":pk", s(partition))
                .expression_attribute_values(":due", s(keys::slot_index_due_before(now)))
                .limit(i32::try_from(limit.saturating_sub(due.len()).max(1)).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start_key)
                .send()
                .await
                .map_err(request_failed)?;
            for item in page.items() {
                due.push(parse(item).ok_or_else(|| ItemError { attribute: keys::SLOT_INDEX_SK.into() })?);
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
    /// it back and asks again. An invite whose guest is inside moves to the overstay
    /// watch instead, until its exit window closes ([`Self::mark_overstayed`]).
    pub async fn expire(
        &self,
        intercom: &IntercomId,
        invite: &InviteId,
        now: OffsetDateTime,
    ) -> Result<Expiry, StoreError> {
        let result = self.expiry_update(intercom, invite, now, None).send().await;
        match self.expiry_outcome(intercom, invite, now, result).await? {
            Found::Done(expiry) => Ok(expiry),
            Found::Inside { exit_closes_at } => {
                let result = self.expiry_update(intercom, invite, now, Some(exit_closes_at)).send().await;
                Ok(match self.expiry_outcome(intercom, invite, now, result).await? {
                    Found::Done(expiry) => expiry,
                    Found::Inside { .. } => Expiry::Skipped,
                })
            }
        }
    }

    /// The expiry's write: out of the slot index, or (`watch_until`: the guest is
    /// inside) into the overstay watch, keyed by the exit window's close.
    fn expiry_update(
        &self,
        intercom: &IntercomId,
        invite: &InviteId,
        now: OffsetDateTime,
        watch_until: Option<OffsetDateTime>,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::intercom_pk(intercom), keys::invite_sk(invite))))
            .expression_attribute_names("#slot_pk", keys::SLOT_INDEX_PK)
            .expression_attribute_names("#slot_sk", keys::SLOT_INDEX_SK)
            .expression_attribute_names("#entry_tries", ENTRY_TRIES)
            .expression_attribute_values(":holds", s(keys::SLOT_INDEX_PARTITION));
        // A prefix: the invite's shard, or the unsharded partition of earlier versions.
        const DUE: &str = "begins_with(#slot_pk, :holds) AND expires_at <= :now AND NOT contains(#exit_tries, #code)";
        match watch_until {
            None => update
                .update_expression(
                    "SET expired_at = :now, #history = list_append(#history, :event) REMOVE #slot_pk, #slot_sk",
                )
                .condition_expression(format!("{DUE} AND NOT contains(#entry_tries, #code)")),
            Some(closes) => update
                .update_expression(
                    "SET expired_at = :now, #history = list_append(#history, :event),                      #slot_pk = :watch, #slot_sk = :watch_sk",
                )
                // Overstay is watched only for a guest the entry gate let in.
                .condition_expression(format!("{DUE} AND contains(#entry_tries, #code) AND attribute_exists(#entry_opened)"))
                .expression_attribute_names("#entry_opened", ENTRY.opened)
                .expression_attribute_values(":watch", s(keys::overstay_partition(intercom)))
                .expression_attribute_values(":watch_sk", s(keys::slot_index_sk(closes, intercom, invite))),
        }
        .expression_attribute_names("#history", names::HISTORY)
            .expression_attribute_names("#slot_pk", keys::SLOT_INDEX_PK)
            .expression_attribute_names("#slot_sk", keys::SLOT_INDEX_SK)
            .expression_attribute_names("#exit_tries", EXIT_TRIES)
            .expression_attribute_names("#code", names::CODE)
            .expression_attribute_values(":now", epoch(now))
            .expression_attribute_values(":event", history_append("expired", now))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
    }

    async fn expiry_outcome(
        &self,
        intercom: &IntercomId,
        invite: &InviteId,
        now: OffsetDateTime,
        result: Result<
            aws_sdk_dynamodb::operation::update_item::UpdateItemOutput,
            aws_sdk_dynamodb::error::SdkError<
                aws_sdk_dynamodb::operation::update_item::UpdateItemError,
                aws_smithy_runtime_api::http::Response,
            >,
        >,
    ) -> Result<Found, StoreError> {
        let error = match result {
            Ok(_) => return Ok(Found::Done(Expiry::Recorded)),
            Err(error) => error,
        };
        let Some(failed) = condition_failed(&error) else { return Err(request_failed(error)) };
        let old = failed.item().map(invite_from_item).transpose()?;
        let holding = failed.item().and_then(|item| item.get(keys::SLOT_INDEX_PK)).and_then(|v| v.as_s().ok());
        let still_indexed = holding.is_some_and(|p| keys::in_partition(p, keys::SLOT_INDEX_PARTITION));
        Ok(match old {
            Some(old) if still_indexed && old.lapsed(now).is_some() => Found::Done(Expiry::Lapsed(Box::new(old))),
            Some(old) if still_indexed && old.state(now) == InviteState::Exited => {
                self.leave_index(intercom, invite).await?;
                Found::Done(Expiry::Skipped)
            }
            Some(old) if still_indexed && old.expires_at <= now && old.entry.opened_at.is_some() => {
                Found::Inside { exit_closes_at: old.exit_closes_at }
            }
            // The entry command is still out: the next run finds it opened or lapsed.
            _ => Found::Done(Expiry::Skipped),
        })
    }

    /// Records that the guest of an invite in the overstay watch had not left when
    /// its exit window closed, and takes it out of the watch. Conditional, so
    /// overlapping sweeps record it once; a guest who left (or a code revoked) is
    /// taken out without a word. Returns whether this call recorded the overstay.
    pub async fn mark_overstayed(
        &self,
        intercom: &IntercomId,
        invite: &InviteId,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::intercom_pk(intercom), keys::invite_sk(invite))))
            .update_expression("SET #history = list_append(#history, :event) REMOVE #slot_pk, #slot_sk")
            .condition_expression(
                "begins_with(#slot_pk, :watch) AND exit_closes_at <= :now AND #state = :active \
                 AND NOT contains(#exit_tries, #code) AND attribute_exists(#entry_opened)",
            )
            .expression_attribute_names("#entry_opened", ENTRY.opened)
            .expression_attribute_names("#history", names::HISTORY)
            .expression_attribute_names("#slot_pk", keys::SLOT_INDEX_PK)
            .expression_attribute_names("#slot_sk", keys::SLOT_INDEX_SK)
            .expression_attribute_names("#state", names::STATE)
            .expression_attribute_names("#exit_tries", EXIT_TRIES)
            .expression_attribute_names("#code", names::CODE)
            .expression_attribute_values(":watch", s(keys::OVERSTAY_WATCH_PARTITION))
            .expression_attribute_values(":active", s(ACTIVE))
            .expression_attribute_values(":now", epoch(now))
            .expression_attribute_values(":event", history_append("overstayed", now))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(error) => match condition_failed(&error) {
                Some(failed) => {
                    let watched = failed
                        .item()
                        .and_then(|item| item.get(keys::SLOT_INDEX_PK))
                        .is_some_and(|v| v.as_s().is_ok_and(|p| keys::in_partition(p, keys::OVERSTAY_WATCH_PARTITION)));
                    if watched {
                        self.leave_index(intercom, invite).await?;
                    }
                    Ok(false)
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
