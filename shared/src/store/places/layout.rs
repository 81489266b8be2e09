//! Laying out an intercom's places to its Max Users: after each settings change,
//! and once for an intercom whose invites were made before places existed.
//!
//! Raising Max Users lists withdrawn places again, then adds free ones. Lowering it
//! withdraws free places from the index (a withdrawn place is never claimed again).
//! A held place over the new Max Users stays listed, its code working until it
//! ends, and the registry counts it in `places_surplus`: whichever listed place
//! frees first, the next create withdraws it ([`Store::retire_places`]) instead of
//! taking it, until the surplus is gone. So after Max Users is lowered below the
//! codes out, no new code is made until fewer than Max Users are out, whichever of
//! them end first (a held place withdrawn at once would let a code on a kept place
//! that ended make room while the withdrawn one is still out).
//!
//! An intercom laid out by an earlier version has invites that hold a place with no
//! place item: each gets one (and its code its reservation) before anything else,
//! read from the intercom's open invites once.
//!
//! Every write is conditional on what was read, in transactions of at most 50
//! items: a create or another layout in between fails the batch, and the caller
//! lays out again from a fresh read ([`Layout::Contended`]). The registry's
//! `places` says the layout is done for the Max Users it names; until it does,
//! creates lay out first.

use super::*;
use crate::domain::settings::Intercom;
use crate::store::{transaction_failure, TransactionFailure};

/// What one round of laying out did.
#[derive(Debug, PartialEq, Eq)]
pub enum Layout {
    Done,
    /// A create or a settings change wrote meanwhile: read again and lay out again.
    Contended,
}

/// What one create's attempt to withdraw surplus places did.
#[derive(Debug, PartialEq, Eq)]
pub enum Retired {
    Done,
    /// This place's holder still holds it (the index's time was early).
    StillHeld(OpenPlace),
    /// Another create or a layout wrote meanwhile: read again.
    Contended,
}

impl Store {
    /// Makes exactly `max_users` of `intercom`'s places claimable and records it on
    /// the registry; gives invites made before places theirs.
    pub async fn lay_out_places(
        &self,
        intercom: &Intercom,
        max_users: u32,
        now: OffsetDateTime,
    ) -> Result<Layout, StoreError> {
        let mut places = self.place_items(&intercom.id).await?;
        if intercom.places.is_none() {
            match self.place_earlier_invites(&intercom.id, &places, now).await? {
                Some(0) => {}
                Some(_) => places = self.place_items(&intercom.id).await?,
                None => return Ok(Layout::Contended),
            }
        }
        let (writes, surplus) = self.resize(&intercom.id, &places, max_users)?;
        for batch in writes.chunks(50) {
            if self.transact(batch.to_vec()).await? == Layout::Contended {
                return Ok(Layout::Contended);
            }
        }
        // Only over the surplus this layout read: a create that withdrew a surplus
        // place meanwhile changed what the places say.
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::intercom_pk(&intercom.id), keys::META_SK)))
            .update_expression("SET #places = :max, #surplus = :surplus")
            .condition_expression("#max_users = :max AND (attribute_not_exists(#surplus) OR #surplus = :read)")
            .expression_attribute_names("#places", names::PLACES)
            .expression_attribute_names("#surplus", names::PLACES_SURPLUS)
            .expression_attribute_names("#max_users", names::MAX_USERS)
            .expression_attribute_values(":max", n(max_users))
            .expression_attribute_values(":surplus", n(surplus))
            .expression_attribute_values(":read", n(intercom.places_surplus))
            .send()
            .await;
        Ok(if super::super::written(result)? { Layout::Done } else { Layout::Contended })
    }

    /// The writes that leave `max_users` places listed, or more where only held
    /// places are left to withdraw, and how many more (the surplus).
    fn resize(
        &self,
        intercom: &IntercomId,
        places: &[PlaceItem],
        max_users: u32,
    ) -> Result<(Vec<TransactWriteItem>, u32), StoreError> {
        let listed = places.iter().filter(|place| place.listed).count() as u32;
        let mut writes = Vec::new();
        let mut surplus = 0;
        if listed < max_users {
            let mut wanted = max_users - listed;
            for place in places.iter().filter(|place| !place.listed).take(wanted as usize) {
                writes.push(self.set_listed(intercom, place, true)?);
                wanted -= 1;
            }
            let next = places.iter().map(|place| place.number + 1).max().unwrap_or(0);
            for number in next..next + wanted {
                writes.push(self.put_new(free_place_item(intercom, number))?);
            }
        } else {
            surplus = listed - max_users;
            // Places nobody holds; one whose holder let it go is withdrawn by a create.
            let free = places.iter().filter(|place| place.listed && place.holder.is_none());
            for place in free.take(surplus as usize) {
                writes.push(self.set_listed(intercom, place, false)?);
                surplus -= 1;
            }
        }
        Ok((writes, surplus))
    }

    /// Withdraws up to the registry's surplus of `places`, found free in the index,
    /// and lowers the surplus by as many, in one transaction: each place only if it
    /// is still listed as found and its holder let it go, the surplus only if no
    /// other create or layout changed it.
    pub async fn retire_places(
        &self,
        intercom: &Intercom,
        places: &[OpenPlace],
        now: OffsetDateTime,
    ) -> Result<Retired, StoreError> {
        let retiring = &places[..places.len().min(intercom.places_surplus as usize)];
        let lower = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::intercom_pk(&intercom.id), keys::META_SK)))
            .update_expression("SET #surplus = :left")
            .condition_expression("#surplus = :read AND #places = :places")
            .expression_attribute_names("#surplus", names::PLACES_SURPLUS)
            .expression_attribute_names("#places", names::PLACES)
            .expression_attribute_values(":left", n(intercom.places_surplus - retiring.len() as u32))
            .expression_attribute_values(":read", n(intercom.places_surplus))
            .expression_attribute_values(":places", n(intercom.places.unwrap_or(0)))
            .build()
            .map_err(sdk)?;
        let mut writes = vec![TransactWriteItem::builder().update(lower).build()];
        let mut holders_at = Vec::new();
        for place in retiring {
            writes.push(self.unlist_place(&intercom.id, place.number, &place.index_sk())?);
            if let Some(holder) = &place.holder {
                holders_at.push((writes.len(), place));
                writes.push(
                    TransactWriteItem::builder()
                        .condition_check(self.holder_let_go(&intercom.id, holder, now)?)
                        .build(),
                );
            }
        }
        let Err(error) = self.client.transact_write_items().set_transact_items(Some(writes)).send().await else {
            return Ok(Retired::Done);
        };
        match transaction_failure(&error) {
            TransactionFailure::ConditionsFailed { items, .. } => {
                Ok(match holders_at.into_iter().find(|(at, _)| items.contains(at)) {
                    Some((_, place)) => Retired::StillHeld(place.clone()),
                    None => Retired::Contended,
                })
            }
            TransactionFailure::Contended => Ok(Retired::Contended),
            TransactionFailure::Other => Err(request_failed(error)),
        }
    }

    /// Takes `place` out of the index (`listed: false`: never claimed again) or puts it
    /// back, only if it is as read.
    fn set_listed(
        &self,
        intercom: &IntercomId,
        place: &PlaceItem,
        listed: bool,
    ) -> Result<TransactWriteItem, StoreError> {
        let seen = place.open().index_sk();
        if !listed {
            return self.unlist_place(intercom, place.number, &seen);
        }
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::intercom_pk(intercom), keys::place_sk(place.number))))
            .update_expression("SET #index_pk = :partition")
            .condition_expression("attribute_not_exists(#index_pk) AND #index_sk = :seen")
            .expression_attribute_names("#index_pk", keys::SLOT_INDEX_PK)
            .expression_attribute_names("#index_sk", keys::SLOT_INDEX_SK)
            .expression_attribute_values(":seen", s(seen))
            .expression_attribute_values(":partition", s(keys::places_partition(intercom)))
            .build()
            .map_err(sdk)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// Takes place `number` out of the index, only if it is listed with the index
    /// key `seen` (no claim or withdrawal since).
    fn unlist_place(&self, intercom: &IntercomId, number: u32, seen: &str) -> Result<TransactWriteItem, StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::intercom_pk(intercom), keys::place_sk(number))))
            .update_expression("REMOVE #index_pk")
            .condition_expression("attribute_exists(#index_pk) AND #index_sk = :seen")
            .expression_attribute_names("#index_pk", keys::SLOT_INDEX_PK)
            .expression_attribute_names("#index_sk", keys::SLOT_INDEX_SK)
            .expression_attribute_values(":seen", s(seen))
            .build()
            .map_err(sdk)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// Gives each open invite of an earlier version that holds a place, and has
    /// none, a new place (and its code a reservation), one transaction each: how
    /// many, or `None` if a write was overtaken.
    async fn place_earlier_invites(
        &self,
        intercom: &IntercomId,
        places: &[PlaceItem],
        now: OffsetDateTime,
    ) -> Result<Option<u32>, StoreError> {
        let mut placed = 0;
        let mut next = places.iter().map(|place| place.number + 1).max().unwrap_or(0);
        for invite in self.open_invites(intercom, now).await? {
            if invite.place.is_some() || !invite.holds_slot(now) {
                continue;
            }
            // Its earliest end, as a claim's would be, or the exit window's if its
            // guest tried the gate.
            let free_at =
                if invite.entry.was_attempted_with_the_code() { invite.exit_closes_at } else { invite.expires_at };
            let give_place = Update::builder()
                .table_name(&self.table)
                .set_key(Some(key(keys::intercom_pk(intercom), keys::invite_sk(&invite.id))))
                .update_expression("SET #place = :place")
                .condition_expression("attribute_exists(#pk) AND attribute_not_exists(#place)")
                .expression_attribute_names("#pk", keys::PK)
                .expression_attribute_names("#place", names::PLACE)
                .expression_attribute_values(":place", n(next))
                .build()
                .map_err(sdk)?;
            let writes = vec![
                self.put_new(held_place_item(intercom, next, Some(&invite.id), free_at.unix_timestamp()))?,
                TransactWriteItem::builder().update(give_place).build(),
                self.claim_code(&invite, now)?,
            ];
            if self.transact(writes).await? == Layout::Contended {
                return Ok(None);
            }
            next += 1;
            placed += 1;
        }
        Ok(Some(placed))
    }

    /// Every invite of `intercom` whose exit window is still open, whole (consistent,
    /// paginated): only for laying out an intercom of an earlier version.
    pub(super) async fn open_invites(
        &self,
        intercom: &IntercomId,
        now: OffsetDateTime,
    ) -> Result<Vec<Invite>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .consistent_read(true)
            .key_condition_expression("#pk = :pk AND #sk BETWEEN :from AND :to")
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_names("#sk", keys::SK)
            .expression_attribute_values(":pk", s(keys::intercom_pk(intercom)))
            .expression_attribute_values(":from", s(keys::still_open_from(now)))
            .expression_attribute_values(":to", s(keys::open_invites_end()));
        let items = self.query_all(query).await?;
        let invites = items
            .iter()
            .filter(|item| matches!(sort_key(item).and_then(keys::classify), Some(keys::PartitionItem::Invite(_))));
        Ok(invites.map(super::super::invites::invite_from_item).collect::<Result<_, _>>()?)
    }

    async fn transact(&self, writes: Vec<TransactWriteItem>) -> Result<Layout, StoreError> {
        if writes.is_empty() {
            return Ok(Layout::Done);
        }
        let Err(error) = self.client.transact_write_items().set_transact_items(Some(writes)).send().await else {
            return Ok(Layout::Done);
        };
        match transaction_failure(&error) {
            TransactionFailure::Contended | TransactionFailure::ConditionsFailed { .. } => Ok(Layout::Contended),
            TransactionFailure::Other => Err(request_failed(error)),
        }
    }
}
