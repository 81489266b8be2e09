//! Laying out an intercom's places to its Max Users: after each settings change,
//! and once for an intercom whose invites were made before places existed.
//!
//! Raising Max Users lists withdrawn places again, then adds free ones. Lowering it
//! withdraws places from the index (a withdrawn place is never claimed again),
//! free ones first; a held place that must go is withdrawn too and its code keeps
//! working until it ends, as codes out when Max Users is lowered always did. Until
//! those end, the codes out may exceed the new Max Users; new codes take only the
//! places the new Max Users leaves.
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
        let writes = self.resize(&intercom.id, &places, max_users, now)?;
        for batch in writes.chunks(50) {
            if self.transact(batch.to_vec()).await? == Layout::Contended {
                return Ok(Layout::Contended);
            }
        }
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::intercom_pk(&intercom.id), keys::META_SK)))
            .update_expression("SET #places = :max")
            .condition_expression("#max_users = :max")
            .expression_attribute_names("#places", names::PLACES)
            .expression_attribute_names("#max_users", names::MAX_USERS)
            .expression_attribute_values(":max", n(max_users))
            .send()
            .await;
        Ok(if super::super::written(result)? { Layout::Done } else { Layout::Contended })
    }

    /// The writes that leave exactly `max_users` places listed.
    fn resize(
        &self,
        intercom: &IntercomId,
        places: &[PlaceItem],
        max_users: u32,
        now: OffsetDateTime,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let listed = places.iter().filter(|place| place.listed).count() as u32;
        let mut writes = Vec::new();
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
            let mut surplus: Vec<&PlaceItem> = places.iter().filter(|place| place.listed).collect();
            // Free first, then those whose holder may let them go soonest.
            surplus
                .sort_by_key(|place| (place.holder.is_some() && place.free_at > now.unix_timestamp(), place.free_at));
            for place in surplus.into_iter().take((listed - max_users) as usize) {
                writes.push(self.set_listed(intercom, place, false)?);
            }
        }
        Ok(writes)
    }

    /// Takes `place` out of the index (`listed: false`: never claimed again) or puts it
    /// back, only if it is as read.
    fn set_listed(
        &self,
        intercom: &IntercomId,
        place: &PlaceItem,
        listed: bool,
    ) -> Result<TransactWriteItem, StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::intercom_pk(intercom), keys::place_sk(place.number))))
            .expression_attribute_names("#index_pk", keys::SLOT_INDEX_PK)
            .expression_attribute_names("#index_sk", keys::SLOT_INDEX_SK)
            .expression_attribute_values(":seen", s(place.open().index_sk()));
        let update = if listed {
            update
                .update_expression("SET #index_pk = :partition")
                .condition_expression("attribute_not_exists(#index_pk) AND #index_sk = :seen")
                .expression_attribute_values(":partition", s(keys::places_partition(intercom)))
        } else {
            update.update_expression("REMOVE #index_pk").condition_expression("#index_sk = :seen")
        };
        Ok(TransactWriteItem::builder().update(update.build().map_err(sdk)?).build())
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
