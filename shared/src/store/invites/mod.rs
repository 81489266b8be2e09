//! An invite's life, one file a part: `items` (the item and its mapping),
//! `listing` (the owner's list, page by page), `create` (its reads and its commit),
//! `sms` (delivery reports, resends), `sms_claim` (the SMS sender's claim and outcome), `revoke`, `expiry` (the sweep's index and expiring), and
//! `idempotency` records. Here: the outcomes callers see, and reading one invite.

use super::attributes::*;
use super::intercoms::*;
use super::{condition_failed, transaction_failure, TransactionFailure};
use super::{request_failed, sdk, Store, StoreError};
use crate::config::SmsLimits;
use crate::domain::access::Role;
use crate::domain::code::AccessCode;
use crate::domain::guest::GuestName;
use crate::domain::idempotency::Sealed;
use crate::domain::ids::{DeviceId, IntercomId, InviteId, ThingName, UserId};
use crate::domain::invite::{GateSnapshot, Invite, InviteState, ListedInvite, SmsStatus, Standing};
use crate::domain::language::Language;
use crate::domain::passage::Passage;
use crate::domain::phone::Mobile;
use crate::domain::redemption::AttemptKey;
use crate::domain::settings::Intercom;
use crate::domain::token::{LinkToken, TokenHash};
use crate::domain::zone::LocalZone;
use crate::keys;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use std::collections::HashMap;
use time::OffsetDateTime;

pub enum CreateOutcome {
    Committed,
    /// This hour's guest SMS for the caller (or the intercom) are used up.
    SmsLimitReached(SmsLimitScope),
    /// Another create took the place first, or it was withdrawn: take another.
    PlaceTaken,
    /// The place's holder still holds it (its guest tried the gate): take another.
    PlaceStillHeld,
    /// Another live invite reserves the code: draw another.
    CodeTaken,
    /// An identical keyed request committed first: read its record and replay it.
    KeyTaken,
    /// Throttled, or another transaction held an item: nothing was decided.
    Contended,
    /// The caller's membership vanished between read and write.
    MemberGone,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsLimitScope {
    User,
    Intercom,
}

impl SmsLimitScope {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Intercom => "intercom",
        }
    }
}

/// What the sweep's write did with a due invite.
#[derive(Debug)]
pub enum Expiry {
    Recorded,
    /// Expired by an overlapping sweep, or ended by its guest's exit.
    Skipped,
    /// A door command of it lapsed unanswered: give that back first, then expire it.
    Lapsed(Box<Invite>),
}

pub enum RevokeOutcome {
    Revoked,
    NotFound,
    /// It ended before: its guest left (`Used`) or its window closed (`Expired`).
    Ended(crate::domain::invite::Ended),
    Forbidden,
    /// A conflicting transaction or throttling: nothing was decided, try again.
    Contended,
}

/// An invite still usable: not revoked, its guest not gone, and before expiry or
/// inside during the exit grace. Revoke and resend guard on it; its names come from
/// [`live_names`], its values are `:active` and `:now`.
pub(super) const LIVE: &str = "#state = :active AND NOT contains(#exit_tries, #code) AND exit_closes_at > :now \
     AND (expires_at > :now OR contains(#entry_tries, #code))";

pub(super) fn live_names() -> HashMap<String, String> {
    [("#state", names::STATE), ("#code", names::CODE), ("#exit_tries", EXIT_TRIES), ("#entry_tries", ENTRY_TRIES)]
        .into_iter()
        .map(|(binding, name)| (binding.to_owned(), name.to_owned()))
        .collect()
}

/// How long an ended invite (and its history) is kept after its exit window closed.
pub const INVITE_RETENTION: time::Duration = time::Duration::days(14);

mod create;
mod erasure;
mod erasure_log;
mod expiry;
mod idempotency;
mod items;
mod listing;
mod revoke;
mod sms;
mod sms_claim;

pub use create::{sms_limits_for, CreateContext, NewInvite};
pub use erasure::{EraseOutcome, Eraser, ErasureTarget, GuestCode};
pub use erasure_log::ErasureRequest;
pub use idempotency::*;
pub use items::*;
pub use listing::{ListCursor, ListPage};
pub use sms::{sms_from_item, sms_to_item, ResendOutcome, SmsRecord};
pub use sms_claim::{SmsClaim, SmsOutcome, CLAIM_LEASE};

impl Store {
    /// The invite a guest's link opens, as it is now (a strongly consistent
    /// GetItem), whatever its state; `None` unless the link's secret is this
    /// invite's, so a forged link learns nothing.
    pub async fn invite_for_link(&self, link: &LinkToken) -> Result<Option<Invite>, StoreError> {
        let invite = self.invite(link.intercom_id(), link.invite_id()).await?;
        Ok(invite.filter(|invite| invite.token_hash == link.hash()))
    }

    /// The invite a guest's link opens with what its guest is told beside it (the
    /// host, the place: its SMS item), strongly consistent; `None` unless the
    /// link's secret is this invite's.
    pub async fn invite_for_guest(&self, link: &LinkToken) -> Result<Option<Invite>, StoreError> {
        let invite = self.invite_with_sms(link.intercom_id(), link.invite_id()).await?;
        Ok(invite.filter(|invite| invite.token_hash == link.hash()))
    }

    /// An invite by its key, as it is now (a strongly consistent GetItem); `None`
    /// once its guest was erased, as if it were gone.
    pub async fn invite(&self, intercom: &IntercomId, invite: &InviteId) -> Result<Option<Invite>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::intercom_pk(intercom), keys::invite_sk(invite))))
            .consistent_read(true)
            .send()
            .await
            .map_err(request_failed)?;
        Ok(output.item().filter(|item| !is_erased(item)).map(invite_from_item).transpose()?)
    }
}

#[cfg(test)]
mod tests {
    use super::listing::*;
    use super::*;
    use crate::domain::invite::tests::invite_at;
    use crate::store::attributes::names::{ENTRY, EXIT};

    #[test]
    fn invites_survive_a_round_trip() {
        let invite = invite_at(OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000));
        let back = invite_from_item(&invite_to_item(&invite)).unwrap();
        assert_eq!(back.id, invite.id);
        assert_eq!(back.code, invite.code);
        assert_eq!(back.expires_at, invite.expires_at);
        assert_eq!(back.exit_gate, invite.exit_gate);
        assert_eq!(back.standing(), invite.standing());
    }

    /// `item` as a read projecting `paths` returns it (`map.member` paths keep
    /// only that member of the map).
    fn projected(item: &Item, paths: &[&str]) -> Item {
        let mut out = Item::new();
        for path in paths {
            match path.split_once('.') {
                None => out.extend(item.get(*path).map(|v| ((*path).to_owned(), v.clone()))),
                Some((map, member)) => {
                    let Some(value) = item.get(map).and_then(|v| v.as_m().ok()).and_then(|m| m.get(member)) else {
                        continue;
                    };
                    let entry = out.entry(map.to_owned()).or_insert_with(|| AttributeValue::M(HashMap::new()));
                    if let AttributeValue::M(members) = entry {
                        members.insert(member.to_owned(), value.clone());
                    }
                }
            }
        }
        out
    }

    /// The items of one invite in each state: unused, entering, entered, exit
    /// given back, exited, locked, revoked.
    fn items_in_every_state(invite: &Invite) -> Vec<Item> {
        let tries = |codes: &[&str]| AttributeValue::Ss(codes.iter().map(|c| c.to_string()).collect());
        let at = epoch(invite.created_at);
        let unused = invite_to_item(invite);
        let mut entering = unused.clone();
        entering.insert(ENTRY_TRIES.into(), tries(&["1111", "4821"]));
        entering.insert(ENTRY.guesses.into(), n(2));
        entering.insert(ENTRY.at.into(), at.clone());
        let mut entered = entering.clone();
        entered.insert(ENTRY.opened.into(), at.clone());
        let mut exit_failed = entered.clone();
        exit_failed.insert(EXIT_RELEASED.into(), AttributeValue::Bool(true));
        exit_failed.insert(EXIT.given_back.into(), n(1));
        let mut exited = entered.clone();
        exited.insert(EXIT_TRIES.into(), tries(&["4821"]));
        exited.insert(EXIT.guesses.into(), n(1));
        exited.insert(EXIT.at.into(), at.clone());
        exited.insert(EXIT.opened.into(), at);
        let mut locked = unused.clone();
        locked.insert(ENTRY.guesses.into(), n(5));
        let mut revoked = unused.clone();
        revoked.insert(names::STATE.into(), s(REVOKED));
        vec![unused, entering, entered, exit_failed, exited, locked, revoked]
    }

    #[test]
    fn the_list_reads_from_its_projection_what_a_whole_read_gives() {
        let invite = invite_at(OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000));
        for item in items_in_every_state(&invite) {
            let whole = invite_from_item(&item).unwrap();
            let id = match sort_key(&item).and_then(keys::classify) {
                Some(keys::PartitionItem::Invite(id)) => id,
                _ => panic!("an invite's key"),
            };
            let listed = listed_from_item(id, &projected(&item, &LISTING_READ.concat())).unwrap();
            assert_eq!(listed.standing, whole.standing());
            assert_eq!((&listed.id, &listed.code, &listed.created_by), (&whole.id, &whole.code, &whole.created_by));
            assert_eq!(
                (listed.guest_name.as_str(), listed.guest_mobile.e164()),
                (whole.guest_name.as_str(), whole.guest_mobile.e164())
            );
            assert_eq!(listed.created_at, whole.created_at);
            for (listed, whole) in [(&listed.entry_gate, &whole.entry_gate), (&listed.exit_gate, &whole.exit_gate)] {
                assert_eq!((listed.device.as_str(), &listed.label), (whole.device.as_str(), &whole.label));
            }
        }
    }

    #[test]
    fn entry_and_exit_are_read_from_the_codes_typed_and_the_gates_reports() {
        let invite = invite_at(OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000));
        let now = invite.created_at;
        let states: Vec<_> = items_in_every_state(&invite)
            .iter()
            .map(|item| invite_from_item(item).unwrap())
            .map(|invite| (invite.state(now), invite.is_locked(now)))
            .collect();
        use InviteState::*;
        let expected = [Unused, Entering, Entered, ExitFailed, Exited, Unused, Revoked].map(|state| (state, false));
        let mut expected = expected.to_vec();
        expected[5].1 = true;
        assert_eq!(states, expected);
        let entering = invite_from_item(&items_in_every_state(&invite)[1]).unwrap();
        assert_eq!(entering.entry.wrong(), 1, "one wrong code before the right one");
        let lapsed = crate::domain::passage::confirm_by(now);
        assert_eq!(entering.state(lapsed), Unused, "a command never answered gives the entry back");
    }

    #[test]
    fn a_live_invite_is_in_the_slot_index_and_a_malformed_item_names_its_attribute() {
        let invite = invite_at(OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000));
        let mut item = invite_to_item(&invite);
        assert!(item.contains_key(keys::SLOT_INDEX_PK));
        item.insert(ENTRY.guesses.into(), s("five"));
        assert_eq!(invite_from_item(&item).unwrap_err().attribute, ENTRY.guesses);
    }
}
