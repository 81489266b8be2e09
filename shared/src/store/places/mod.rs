//! Places and code reservations: how a create stays exact under Max Users and keeps
//! live codes unique without reading any other invite.
//!
//! An intercom has as many *place* items as its Max Users (`PLACE#0000`…, laid out
//! by [`layout`]). A place names the invite that holds it and `free_at`, the earliest
//! its holder may let it go: the holder's expiry when it was taken, moved to its exit
//! window's close once its guest is known to have tried the gate, and to the moment
//! of a revoke or a confirmed exit. Each place sits in the index under
//! `PLACES#<intercom>`, sorted by `free_at`, so a create finds places that may be free
//! with one small Query of the index whatever the number of open codes.
//!
//! `free_at` is never later than the truth, so the index never hides a free place;
//! it may be earlier (a guest who entered holds the place through the exit window,
//! and the redemption, one write unit, does not touch the place). So whether the
//! holder still holds it is decided by a ConditionCheck on the holder's invite in the
//! create's own transaction ([`NOT_HOLDING`], the item form of `Standing::holds_slot`),
//! next to the place's own condition (unchanged since it was found). Two creates
//! that pick the same place cannot both commit; creates that pick different places
//! never meet. A place's key in the index also moves on every claim, so a place
//! taken twice in a row is never mistaken for the free one that was found.
//!
//! Every place item has the same size whoever holds it (a free place's holder is
//! [`keys::NO_HOLDER`]), so counting them costs the same with 1 or 1,000 codes out.
//!
//! A *code* item (`CODE#1234`) reserves its digits for its invite until the
//! invite's exit window closes. That is longer than `Standing::reserves_code` for a
//! code never used or revoked (it could be given again at once), which costs nothing
//! a guest notices, and it lets a create claim a code with a condition on that item
//! alone.

use super::attributes::*;
use super::{request_failed, sdk, Store, StoreError};
use crate::domain::ids::{IntercomId, InviteId};
use crate::domain::invite::Invite;
use crate::keys;
use aws_sdk_dynamodb::types::{ConditionCheck, Put, TransactWriteItem, Update};
use std::collections::HashMap;
use time::OffsetDateTime;

pub mod layout;

/// An invite's item that no longer holds a place at `:now` (or is gone): revoked,
/// its exit confirmed, its exit window closed, or expired before its guest ever
/// tried the gate with the code. Names from [`not_holding_names`]; values `:revoked`,
/// `:now`, `:zero`.
pub(crate) const NOT_HOLDING: &str = "attribute_not_exists(#pk) OR #state = :revoked OR attribute_exists(#exit_opened) \
     OR exit_closes_at <= :now OR (expires_at <= :now AND NOT contains(#entry_tries, #code) \
     AND attribute_not_exists(#entry_opened) AND (attribute_not_exists(#entry_given_back) OR #entry_given_back = :zero))";

fn not_holding_names() -> HashMap<String, String> {
    [
        ("#pk", keys::PK),
        ("#state", names::STATE),
        ("#exit_opened", names::EXIT_OPENED),
        ("#entry_tries", names::ENTRY_TRIES),
        ("#code", names::CODE),
        ("#entry_opened", names::ENTRY_OPENED),
        ("#entry_given_back", names::ENTRY_GIVEN_BACK),
    ]
    .into_iter()
    .map(|(binding, name)| (binding.to_owned(), name.to_owned()))
    .collect()
}

/// A place the index says may be free now, as the index has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenPlace {
    pub number: u32,
    /// Who held it, if anyone: their invite decides whether it is free.
    pub holder: Option<InviteId>,
    pub free_at: i64,
}

impl OpenPlace {
    fn index_sk(&self) -> String {
        keys::place_index_sk(self.free_at, self.holder.as_ref())
    }
}

impl Store {
    /// Up to `limit` places that may be free at `now`, earliest-freed first: one
    /// Query of the index (eventually consistent; the claim's conditions decide).
    pub async fn open_places(
        &self,
        intercom: &IntercomId,
        now: OffsetDateTime,
        limit: i32,
    ) -> Result<Vec<OpenPlace>, StoreError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(keys::SLOT_INDEX)
            .key_condition_expression("#pk = :pk AND #sk < :free_by")
            .expression_attribute_names("#pk", keys::SLOT_INDEX_PK)
            .expression_attribute_names("#sk", keys::SLOT_INDEX_SK)
            .expression_attribute_values(":pk", s(keys::places_partition(intercom)))
            .expression_attribute_values(":free_by", s(keys::places_free_by(now)))
            .limit(limit)
            .send()
            .await
            .map_err(request_failed)?;
        output.items().iter().map(open_place_from_index).collect::<Result<_, _>>().map_err(StoreError::from)
    }

    /// `invite` takes `place`: the place's update (unchanged since it was found, and
    /// not withdrawn) and, if it had a holder, the check that the holder has let it go.
    pub(crate) fn claim_place(
        &self,
        place: &OpenPlace,
        invite: &Invite,
        now: OffsetDateTime,
    ) -> Result<Vec<TransactWriteItem>, StoreError> {
        let intercom = &invite.intercom_id;
        let free_at = invite.expires_at.unix_timestamp();
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::intercom_pk(intercom), keys::place_sk(place.number))))
            .update_expression("SET #holder = :holder, #free_at = :free_at, #index_sk = :index_sk")
            .condition_expression("attribute_exists(#index_pk) AND #index_sk = :seen")
            .expression_attribute_names("#holder", names::HOLDER)
            .expression_attribute_names("#free_at", names::FREE_AT)
            .expression_attribute_names("#index_pk", keys::SLOT_INDEX_PK)
            .expression_attribute_names("#index_sk", keys::SLOT_INDEX_SK)
            .expression_attribute_values(":holder", s(invite.id.as_str()))
            .expression_attribute_values(":free_at", n(free_at))
            .expression_attribute_values(":index_sk", s(keys::place_index_sk(free_at, Some(&invite.id))))
            .expression_attribute_values(":seen", s(place.index_sk()))
            .build()
            .map_err(sdk)?;
        let mut items = vec![TransactWriteItem::builder().update(update).build()];
        if let Some(holder) = &place.holder {
            items
                .push(TransactWriteItem::builder().condition_check(self.holder_let_go(intercom, holder, now)?).build());
        }
        Ok(items)
    }

    fn holder_let_go(
        &self,
        intercom: &IntercomId,
        holder: &InviteId,
        now: OffsetDateTime,
    ) -> Result<ConditionCheck, StoreError> {
        ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::intercom_pk(intercom), keys::invite_sk(holder))))
            .condition_expression(NOT_HOLDING)
            .set_expression_attribute_names(Some(not_holding_names()))
            .expression_attribute_values(":revoked", s(super::invites::REVOKED))
            .expression_attribute_values(":now", epoch(now))
            .expression_attribute_values(":zero", n(0))
            .build()
            .map_err(sdk)
    }

    /// `invite` reserves its code until its exit window closes: only if no other
    /// invite reserves it now.
    pub(crate) fn claim_code(&self, invite: &Invite, now: OffsetDateTime) -> Result<TransactWriteItem, StoreError> {
        let free_at = invite.exit_closes_at;
        let mut item = key(keys::intercom_pk(&invite.intercom_id), keys::code_sk(invite.code.as_str()));
        item.extend([
            (names::HOLDER.to_owned(), s(invite.id.as_str())),
            (names::FREE_AT.to_owned(), epoch(free_at)),
            (keys::PURGE_AT.to_owned(), epoch(free_at + time::Duration::days(1))),
        ]);
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk) OR #free_at <= :now")
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_names("#free_at", names::FREE_AT)
            .expression_attribute_values(":now", epoch(now))
            .build()
            .map_err(sdk)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// The place `holder` holds is free from `now` on (a revoke, a confirmed exit):
    /// only while `holder` still holds it.
    pub(crate) fn release_place(
        &self,
        intercom: &IntercomId,
        number: u32,
        holder: &InviteId,
        now: OffsetDateTime,
    ) -> Result<Update, StoreError> {
        self.move_free_at(intercom, number, holder, now.unix_timestamp(), true)
    }

    /// Moves a place's `free_at` to `free_at` while `holder` holds it; `let_go`
    /// also takes the holder off.
    fn move_free_at(
        &self,
        intercom: &IntercomId,
        number: u32,
        holder: &InviteId,
        free_at: i64,
        let_go: bool,
    ) -> Result<Update, StoreError> {
        let stays = if let_go { None } else { Some(holder) };
        Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::intercom_pk(intercom), keys::place_sk(number))))
            .update_expression("SET #free_at = :free_at, #index_sk = :index_sk, #holder = :stays")
            .condition_expression("#holder = :holder")
            .expression_attribute_names("#holder", names::HOLDER)
            .expression_attribute_names("#free_at", names::FREE_AT)
            .expression_attribute_names("#index_sk", keys::SLOT_INDEX_SK)
            .expression_attribute_values(":holder", s(holder.as_str()))
            .expression_attribute_values(":free_at", n(free_at))
            .expression_attribute_values(":index_sk", s(keys::place_index_sk(free_at, stays)))
            .expression_attribute_values(":stays", s(stays.map_or(keys::NO_HOLDER, InviteId::as_str)))
            .build()
            .map_err(sdk)
    }

    /// After a confirmed exit: the guest's place is free now. Alone, after the exit
    /// was recorded (that write must not wait on this one); if it never happens, the
    /// place frees at its `free_at`, as a place whose holder left always does.
    /// `false` if the invite holds no place (any more).
    pub async fn free_place_of(&self, invite: &Invite, now: OffsetDateTime) -> Result<bool, StoreError> {
        let Some(number) = invite.place else { return Ok(false) };
        self.send_alone(self.release_place(&invite.intercom_id, number, &invite.id, now)?).await
    }

    /// The holder of `place` still holds it after all (its guest tried the gate):
    /// it holds it until the holder's exit window closes, which the invite's id
    /// tells. Moving `free_at` there keeps the place out of later creates' way.
    pub async fn place_held_on(&self, intercom: &IntercomId, place: &OpenPlace) -> Result<bool, StoreError> {
        let Some(holder) = &place.holder else { return Ok(false) };
        let closes = holder.window_closes();
        self.send_alone(self.move_free_at(intercom, place.number, holder, closes, false)?).await
    }

    /// A transaction's update sent as one UpdateItem (half the write units); `false`
    /// if its condition failed.
    async fn send_alone(&self, update: Update) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(update.table_name())
            .set_key(Some(update.key().clone()))
            .update_expression(update.update_expression())
            .set_condition_expression(update.condition_expression().map(str::to_owned))
            .set_expression_attribute_names(update.expression_attribute_names().cloned())
            .set_expression_attribute_values(update.expression_attribute_values().cloned())
            .send()
            .await;
        super::written(result)
    }

    /// How many of `intercom`'s places are held now (see [`Store::places_in_use`]);
    /// for an intercom not laid out yet, counted from its open invites.
    pub async fn places_held(
        &self,
        intercom: &crate::domain::settings::Intercom,
        now: OffsetDateTime,
    ) -> Result<u32, StoreError> {
        if intercom.places.is_some() {
            return self.places_in_use(&intercom.id, now).await;
        }
        let invites = self.open_invites(&intercom.id, now).await?;
        Ok(invites.iter().filter(|invite| invite.holds_slot(now)).count() as u32)
    }

    /// How many places are held now: one consistent Query of the place items (a few
    /// dozen bytes each, Max Users of them), and a read of the holders whose place
    /// may have been let go, to tell.
    pub async fn places_in_use(&self, intercom: &IntercomId, now: OffsetDateTime) -> Result<u32, StoreError> {
        let places = self.place_items(intercom).await?;
        let mut held = 0;
        let mut undecided = Vec::new();
        // Withdrawn places too: their codes are out until they end.
        for place in &places {
            match &place.holder {
                None => {}
                Some(_) if place.free_at > now.unix_timestamp() => held += 1,
                Some(holder) => undecided.push(holder.clone()),
            }
        }
        for invite in self.invites_by_id(intercom, &undecided).await? {
            if invite.holds_slot(now) {
                held += 1;
            }
        }
        Ok(held)
    }

    /// Every place item of an intercom, withdrawn ones too (consistent, paginated).
    pub(crate) async fn place_items(&self, intercom: &IntercomId) -> Result<Vec<PlaceItem>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .consistent_read(true)
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :places)")
            .projection_expression("#sk, #holder, #free_at, #index_pk")
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_names("#sk", keys::SK)
            .expression_attribute_names("#holder", names::HOLDER)
            .expression_attribute_names("#free_at", names::FREE_AT)
            .expression_attribute_names("#index_pk", keys::SLOT_INDEX_PK)
            .expression_attribute_values(":pk", s(keys::intercom_pk(intercom)))
            .expression_attribute_values(":places", s(keys::PLACE_SK_PREFIX));
        let items = self.query_all(query).await?;
        Ok(items.iter().map(place_from_item).collect::<Result<_, _>>()?)
    }

    /// Invites by id, whole (consistent BatchGetItem, 100 keys a request).
    pub(crate) async fn invites_by_id(
        &self,
        intercom: &IntercomId,
        ids: &[InviteId],
    ) -> Result<Vec<Invite>, StoreError> {
        let keys: Vec<Item> = ids.iter().map(|id| key(keys::intercom_pk(intercom), keys::invite_sk(id))).collect();
        let items = self.get_items(keys).await?;
        Ok(items.iter().map(super::invites::invite_from_item).collect::<Result<_, _>>()?)
    }
}

/// A place item as [`Store::place_items`] reads it.
#[derive(Debug, Clone)]
pub(crate) struct PlaceItem {
    pub number: u32,
    pub holder: Option<InviteId>,
    pub free_at: i64,
    /// In the index (claimable); a withdrawn place is not (see [`layout`]).
    pub listed: bool,
}

impl PlaceItem {
    fn open(&self) -> OpenPlace {
        OpenPlace { number: self.number, holder: self.holder.clone(), free_at: self.free_at }
    }
}

fn place_from_item(item: &Item) -> Result<PlaceItem, ItemError> {
    Ok(PlaceItem {
        number: sort_key(item).and_then(keys::parse_place_sk).ok_or_else(|| bad(keys::SK))?,
        holder: match get_s(item, names::HOLDER)? {
            keys::NO_HOLDER => None,
            holder => Some(InviteId::parse(holder).ok_or_else(|| bad(names::HOLDER))?),
        },
        free_at: get_n(item, names::FREE_AT)?,
        listed: item.contains_key(keys::SLOT_INDEX_PK),
    })
}

fn open_place_from_index(item: &Item) -> Result<OpenPlace, ItemError> {
    let number = sort_key(item).and_then(keys::parse_place_sk).ok_or_else(|| bad(keys::SK))?;
    let index_sk = get_s(item, keys::SLOT_INDEX_SK)?;
    let (free_at, holder) = keys::parse_place_index_sk(index_sk).ok_or_else(|| bad(keys::SLOT_INDEX_SK))?;
    Ok(OpenPlace { number, holder, free_at })
}

/// A new, free place's item.
pub(crate) fn free_place_item(intercom: &IntercomId, number: u32) -> Item {
    held_place_item(intercom, number, None, 0)
}

pub(crate) fn held_place_item(intercom: &IntercomId, number: u32, holder: Option<&InviteId>, free_at: i64) -> Item {
    let mut item = key(keys::intercom_pk(intercom), keys::place_sk(number));
    item.extend([
        (names::HOLDER.to_owned(), s(holder.map_or(keys::NO_HOLDER, InviteId::as_str))),
        (names::FREE_AT.to_owned(), n(free_at)),
        (keys::SLOT_INDEX_PK.to_owned(), s(keys::places_partition(intercom))),
        (keys::SLOT_INDEX_SK.to_owned(), s(keys::place_index_sk(free_at, holder))),
    ]);
    item
}
