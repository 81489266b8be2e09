//! The single-table key scheme, all of it. Every key the code reads or writes is
//! built here.
//!
//! | item | PK | SK |
//! |---|---|---|
//! | intercom registry + settings | `INTERCOM#<intercom>` | `META` |
//! | membership | `INTERCOM#<intercom>` | `MEMBER#<user sub>` |
//! | invite | `INTERCOM#<intercom>` | `ENDS#<exit window closes, 12 digits>#INVITE#<invite id>` |
//! | its guest's SMS | `INTERCOM#<intercom>` | the invite's sort key + `#SMS` |
//! | idempotency record | `INTERCOM#<intercom>` | `IDEMP#<sha256(user, key)>` |
//! | a place (one of Max Users) | `INTERCOM#<intercom>` | `PLACE#<number, 4 digits>` |
//! | a code's reservation | `INTERCOM#<intercom>` | `CODE#<the 4 digits>` |
//! | settings audit entry | `AUDIT#<intercom>` | `<epoch>#<random>` |
//! | a gate's presence | `GATE#<thing name>` | `PRESENCE` |
//! | an activity fact | `ACTIVITY#<intercom>` | `<fact time, 12 digits>#<fact id>` |
//! | an SMS's invite, by SNS message id | `SMS#MESSAGE#<message id>` | `INVITE` |
//! | the fleet's list of intercoms | `REGISTRY` | `<intercom>` |
//! | a code, by its guest's number (keyed hash) | `GUEST#<lookup>` | `<intercom>#<invite id>` |
//! | an erasure request (the erasure log) | `ERASURES` | `<time, 12 digits>#<its first lookup>` |
//!
//! A create reads no invite. It reads three items by key (registry, the caller's
//! membership, its idempotency record) and claims, in one transaction with the new
//! invite, one *place* and one *code*: a place item is one of the intercom's Max Users
//! (`store::places`), a code item reserves four digits until its invite's exit window
//! closes. So a create costs the same with 1 or 1,000 open codes, and two creates
//! collide only if they take the same place or the same code. Free places are found
//! in the index: each place sits in its intercom's `PLACES#<intercom>` partition,
//! sorted by the earliest time its holder may let it go ([`place_index_sk`]).
//!
//! The list pages through the invites by their sort key, `ENDS#<exit window closes>`,
//! from `ENDS#<now>` up: what is still open, soonest end first, never anything that
//! ended (kept 14 days for the history, at no cost to these reads).
//! The invite id carries its window's end (`InviteId::window_closes`), so the key of
//! an invite is known from its id alone (guest links, revoke).
//! Invites that still hold a place carry `GSI1PK`/`GSI1SK` (a sparse index sorted
//! by expiry), so the sweep reads only invites that are due. The same index has two
//! more kinds of partition the sweep reads: invites whose guest was inside at expiry,
//! by the close of their exit window (`INSIDE_AFTER_EXPIRY`), and gates whose link
//! dropped, by when the drop has lasted the debounce (`GATE_DISCONNECTED`).
//!
//! Each of the three is split into [`SWEEP_SHARDS`] partitions (`HOLDS_SLOT#017`),
//! an intercom's (a gate's) shard fixed by a hash of its id, so that no index
//! partition's writes grow with the fleet: at the fleet's peak (README, "Capacity")
//! each shard takes under a tenth of a partition's 1,000 writes a second. The sweep
//! reads every shard, and the unsharded partition of earlier versions until it is
//! empty ([`sweep_partitions`]); conditions on an item's place in the index compare
//! its prefix ([`in_partition`]), so items indexed before the split are handled alike.

use crate::domain::ids::{IntercomId, InviteId, ThingName, UserId};
use time::OffsetDateTime;

pub const PK: &str = "PK";
pub const SK: &str = "SK";
pub const SLOT_INDEX: &str = "GSI1";
pub const SLOT_INDEX_PK: &str = "GSI1PK";
pub const SLOT_INDEX_SK: &str = "GSI1SK";
/// DynamoDB TTL attribute (epoch seconds). TTL deletes late, so nothing relies on it.
pub const PURGE_AT: &str = "purge_at";

const INTERCOM_PREFIX: &str = "INTERCOM#";
pub const META_SK: &str = "META";
pub const MEMBER_PREFIX: &str = "MEMBER#";
/// Sorts below `MEMBER#` and `META`; what follows is the end time, zero-padded.
const ENDS_PREFIX: &str = "ENDS#";
const INVITE_TAG: &str = "#INVITE#";
/// Records of versions before places sat among the open invites (`ENDS#…#IDEMP#`).
const LEGACY_IDEMPOTENCY_TAG: &str = "#IDEMP#";
const IDEMPOTENCY_PREFIX: &str = "IDEMP#";
const PLACE_PREFIX: &str = "PLACE#";
const CODE_PREFIX: &str = "CODE#";
/// The index partition of an intercom's places (`PLACES#<intercom>`).
const PLACES_PARTITION_PREFIX: &str = "PLACES#";
const SMS_TAG: &str = "#SMS";
/// Invites that hold a place, in expiry order, for the sweep (sharded: [`slot_partition`]).
pub const SLOT_INDEX_PARTITION: &str = "HOLDS_SLOT";
/// Gates whose link dropped wait here, sorted by when the drop has lasted the
/// debounce, for the sweep to declare them offline if they have not come back
/// (sharded: [`gate_watch_partition`]).
pub const GATE_WATCH_PARTITION: &str = "GATE_DISCONNECTED";

/// Shards of each of the sweep's index partitions. 128: at the fleet's peak the
/// index takes ~7,000 writes a second (each create, exit and expiry), ~55 a shard.
pub const SWEEP_SHARDS: u32 = 128;

/// FNV-1a, 32 bits: a shard that never changes between releases or machines (std's
/// hasher promises neither).
fn stable_hash(id: &str) -> u32 {
    id.bytes().fold(0x811c_9dc5_u32, |hash, byte| (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193))
}

fn sharded(partition: &str, id: &str) -> String {
    format!("{partition}#{:03}", stable_hash(id) % SWEEP_SHARDS)
}

/// The slot-index partition of an intercom's invites.
pub fn slot_partition(intercom: &IntercomId) -> String {
    sharded(SLOT_INDEX_PARTITION, intercom.as_str())
}

/// The overstay-watch partition of an intercom's invites.
pub fn overstay_partition(intercom: &IntercomId) -> String {
    sharded(OVERSTAY_WATCH_PARTITION, intercom.as_str())
}

/// The gate-watch partition of a gate.
pub fn gate_watch_partition(thing: &ThingName) -> String {
    sharded(GATE_WATCH_PARTITION, thing.as_str())
}

/// Every partition of one of the sweep's kinds (`HOLDS_SLOT`, …): its shards, then the
/// unsharded partition items of earlier versions may still sit in.
pub fn sweep_partitions(kind: &'static str) -> impl Iterator<Item = String> {
    (0..SWEEP_SHARDS).map(move |shard| format!("{kind}#{shard:03}")).chain(std::iter::once(kind.to_owned()))
}

/// Whether an index partition key is one of `kind`'s (a shard, or the unsharded one).
pub fn in_partition(partition: &str, kind: &str) -> bool {
    partition.strip_prefix(kind).is_some_and(|rest| rest.is_empty() || rest.starts_with('#'))
}

/// The watch key of a gate whose drop counts from `due` on.
pub fn gate_watch_sk(due: OffsetDateTime, thing: &ThingName) -> String {
    format!("{:012}#{}", due.unix_timestamp(), thing.as_str())
}

/// The gate of a presence item's partition key.
pub fn parse_gate_pk(pk: &str) -> Option<ThingName> {
    ThingName::parse(pk.strip_prefix("GATE#")?)
}

/// A presence item names each intercom its gate serves, with the gate's label
/// there, in an attribute of its own: `site#<intercom>`.
pub const GATE_SITE_PREFIX: &str = "site#";

/// Invites that expired with their guest inside wait here, sorted by the close of
/// their exit window, for the sweep to find the guests who overstayed.
pub const OVERSTAY_WATCH_PARTITION: &str = "INSIDE_AFTER_EXPIRY";

/// SMS counters live in their own small partitions, one item per hour, outside
/// the intercom's partition (so no create or list reads them).
const SMS_BY_INTERCOM_PREFIX: &str = "SMS#INTERCOM#";
const SMS_BY_USER_PREFIX: &str = "SMS#USER#";

pub fn sms_by_intercom_pk(intercom: &IntercomId) -> String {
    format!("{SMS_BY_INTERCOM_PREFIX}{intercom}")
}

pub fn sms_by_user_pk(user: &UserId) -> String {
    format!("{SMS_BY_USER_PREFIX}{user}")
}

/// The clock hour (`unix time / 3600`) an SMS counter counts.
pub fn sms_hour_sk(hour: i64) -> String {
    format!("HOUR#{hour:08}")
}

/// A gate's presence lives under its thing name: lifecycle events name the MQTT
/// client (the thing), and an invite knows the things of its gates.
pub fn gate_presence_key(thing: &ThingName) -> (String, &'static str) {
    (format!("GATE#{}", thing.as_str()), "PRESENCE")
}

/// Every registered intercom, one small item each, written when it is registered:
/// how a recovery that must look at the whole fleet (`handlers::replay`) finds
/// it without a Scan. Registering is rare, so one partition takes its writes.
pub const REGISTRY_PK: &str = "REGISTRY";

pub fn registry_sk(intercom: &IntercomId) -> String {
    intercom.as_str().to_owned()
}

pub fn intercom_pk(intercom: &IntercomId) -> String {
    format!("{INTERCOM_PREFIX}{intercom}")
}

pub fn member_sk(user: &UserId) -> String {
    format!("{MEMBER_PREFIX}{user}")
}

pub fn invite_sk(invite: &InviteId) -> String {
    format!("{ENDS_PREFIX}{:012}{INVITE_TAG}{invite}", invite.window_closes())
}

/// Right beside its invite (the list reads both in its one Query), in an item of its
/// own: the SMS's bookkeeping never grows the item every redemption writes.
pub fn sms_sk(invite: &InviteId) -> String {
    format!("{}{SMS_TAG}", invite_sk(invite))
}

/// Found by key (a create reads it with the registry), so it needs no end in its key;
/// an expired record that TTL has not deleted yet is told by its `created_at`.
pub fn idempotency_sk(hash: &str) -> String {
    format!("{IDEMPOTENCY_PREFIX}{hash}")
}

/// Below every invite's and SMS item's key: with [`open_invites_end`], every invite
/// the partition still keeps, ended or not (a replay reads them all).
pub fn kept_invites_start() -> String {
    ENDS_PREFIX.to_owned()
}

/// The lowest sort key the list reads: what ends after `now`.
pub fn still_open_from(now: OffsetDateTime) -> String {
    format!("{ENDS_PREFIX}{:012}", now.unix_timestamp() + 1)
}

/// Above every invite's and SMS item's key (`ENDS#<12 digits>#INVITE#…`), below
/// whatever else the partition holds: the list's upper bound.
pub fn open_invites_end() -> String {
    format!("{ENDS_PREFIX}~")
}

pub fn place_sk(number: u32) -> String {
    format!("{PLACE_PREFIX}{number:04}")
}

pub const PLACE_SK_PREFIX: &str = PLACE_PREFIX;

/// The number of a place item's sort key.
pub fn parse_place_sk(sk: &str) -> Option<u32> {
    sk.strip_prefix(PLACE_PREFIX)?.parse().ok()
}

pub fn code_sk(code: &str) -> String {
    format!("{CODE_PREFIX}{code}")
}

pub fn places_partition(intercom: &IntercomId) -> String {
    format!("{PLACES_PARTITION_PREFIX}{intercom}")
}

/// The holder of a place nobody holds: as long as an invite id (so every place item
/// has the same size, and counting them costs the same whoever holds them), and never
/// one (`~` is not in an id's alphabet).
pub const NO_HOLDER: &str = "~~~~~~~~~~~";

/// A place's key in the index: the earliest time its holder may let it go, then the
/// holder ([`NO_HOLDER`] for a place nobody holds). Free places, and places whose holder
/// may have let them go, sort at or below [`places_free_by`]`(now)`. The holder is in
/// the key because the index projects keys only, and a create needs it to check
/// that holder's invite.
pub fn place_index_sk(free_at: i64, holder: Option<&InviteId>) -> String {
    format!("{free_at:012}#{}", holder.map_or(NO_HOLDER, InviteId::as_str))
}

/// The free-at time and holder of a place's index key.
pub fn parse_place_index_sk(sk: &str) -> Option<(i64, Option<InviteId>)> {
    let (at, holder) = sk.split_once('#')?;
    let holder = if holder == NO_HOLDER { None } else { Some(InviteId::parse(holder)?) };
    Some((at.parse().ok()?, holder))
}

/// Every place whose holder may have let it go by `now` sorts below this.
pub fn places_free_by(now: OffsetDateTime) -> String {
    format!("{:012}", now.unix_timestamp() + 1)
}

/// What an item of an intercom's partition is, from its sort key.
#[derive(Debug, PartialEq, Eq)]
pub enum PartitionItem<'k> {
    Registry,
    Member(&'k str),
    Invite(&'k str),
    /// The SMS of the invite with this id.
    Sms(&'k str),
    Idempotency(&'k str),
}

pub fn classify(sk: &str) -> Option<PartitionItem<'_>> {
    if sk == META_SK {
        return Some(PartitionItem::Registry);
    }
    if let Some(user) = sk.strip_prefix(MEMBER_PREFIX) {
        return Some(PartitionItem::Member(user));
    }
    if let Some(hash) = sk.strip_prefix(IDEMPOTENCY_PREFIX) {
        return Some(PartitionItem::Idempotency(hash));
    }
    let timed = sk.strip_prefix(ENDS_PREFIX)?;
    let (_, rest) = timed.split_at_checked(12)?;
    match rest.strip_prefix(INVITE_TAG) {
        Some(invite) => Some(match invite.strip_suffix(SMS_TAG) {
            Some(sms_of) => PartitionItem::Sms(sms_of),
            None => PartitionItem::Invite(invite),
        }),
        None => rest.strip_prefix(LEGACY_IDEMPOTENCY_TAG).map(PartitionItem::Idempotency),
    }
}

/// The intercom and invite of an invite's key (the sweep reads them from its index).
pub fn parse_invite_key(pk: &str, sk: &str) -> Option<(IntercomId, InviteId)> {
    let intercom = IntercomId::parse(pk.strip_prefix(INTERCOM_PREFIX)?)?;
    match classify(sk)? {
        PartitionItem::Invite(id) => Some((intercom, InviteId::parse(id)?)),
        _ => None,
    }
}

/// The intercom and invite of an SMS item's key.
pub fn parse_sms_key(pk: &str, sk: &str) -> Option<(IntercomId, InviteId)> {
    let intercom = IntercomId::parse(pk.strip_prefix(INTERCOM_PREFIX)?)?;
    match classify(sk)? {
        PartitionItem::Sms(id) => Some((intercom, InviteId::parse(id)?)),
        _ => None,
    }
}

/// An intercom's activity: its own partition, read newest first, so the owner's
/// log never reads (or is slowed by) the invites and their create path.
pub fn activity_pk(intercom: &IntercomId) -> String {
    format!("ACTIVITY#{intercom}")
}

/// Time order, then the fact's id: facts of the same second keep their history order.
pub fn activity_sk(at: OffsetDateTime, fact_id: &str) -> String {
    format!("{:012}#{fact_id}", at.unix_timestamp())
}

/// The lowest activity key at or after `at`, for a Query of a time range.
pub fn activity_from(at: OffsetDateTime) -> String {
    format!("{:012}", at.unix_timestamp())
}

/// Each code's guest, by the keyed hash of their number (`domain::guest_lookup`):
/// what an erasure reads to find a guest's codes, at one intercom or across the
/// fleet, without a Scan. One small item per code, written with it.
pub fn guest_pk(lookup: &str) -> String {
    format!("GUEST#{lookup}")
}

pub fn guest_sk(intercom: &IntercomId, invite: &InviteId) -> String {
    format!("{intercom}#{invite}")
}

/// The erasure log: every erasure request, by time (`store::invites::erasure`). Rare
/// (a guest's request), so one partition takes them all.
pub const ERASURE_LOG_PK: &str = "ERASURES";

pub fn erasure_log_sk(at: OffsetDateTime, lookups: &[String]) -> String {
    format!("{:012}#{}", at.unix_timestamp(), lookups.first().map_or("", String::as_str))
}

/// The lowest erasure log key at or after `at`.
pub fn erasure_log_from(at: OffsetDateTime) -> String {
    format!("{:012}", at.unix_timestamp())
}

/// The intercom and invite of a guest index item's sort key.
pub fn parse_guest_sk(sk: &str) -> Option<(IntercomId, InviteId)> {
    let (intercom, invite) = sk.rsplit_once('#')?;
    Some((IntercomId::parse(intercom)?, InviteId::parse(invite)?))
}

/// Where the SMS status function finds the invite a delivery report is about.
pub fn sms_message_key(message_id: &str) -> (String, &'static str) {
    (format!("SMS#MESSAGE#{message_id}"), "INVITE")
}

pub fn audit_pk(intercom: &IntercomId) -> String {
    format!("AUDIT#{intercom}")
}

/// Zero-padded so that string order is time order.
pub fn slot_index_sk(expires_at: OffsetDateTime, intercom: &IntercomId, invite: &InviteId) -> String {
    format!("{:012}#{intercom}#{invite}", expires_at.unix_timestamp())
}

/// Every slot-index key of an invite that expired at or before `now` sorts below this.
pub fn slot_index_due_before(now: OffsetDateTime) -> String {
    format!("{:012}", now.unix_timestamp() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;

    #[test]
    fn the_lists_range_holds_the_open_invites_and_their_sms_and_nothing_else() {
        let now = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        let open = invite_sk(&InviteId::generate(now + Duration::hours(1)));
        let ended = invite_sk(&InviteId::generate(now - Duration::hours(1)));
        let (from, to) = (still_open_from(now), open_invites_end());
        let in_range = |sk: &str| from.as_str() <= sk && sk <= to.as_str();
        assert!(in_range(&open) && !in_range(&ended));
        assert!(invite_sk(&InviteId::generate(now)) < from, "a window closing now has closed");
        let member = member_sk(&UserId::parse("user").unwrap());
        for other in [META_SK, member.as_str(), &idempotency_sk("abc"), &place_sk(7), &code_sk("4821")] {
            assert!(!in_range(other), "{other} is not listed");
        }
        assert_eq!(classify(META_SK), Some(PartitionItem::Registry));
        assert_eq!(classify(&member), Some(PartitionItem::Member("user")));
        assert_eq!(classify(&idempotency_sk("abc")), Some(PartitionItem::Idempotency("abc")));
        assert_eq!(
            classify("ENDS#000000000099#IDEMP#abc"),
            Some(PartitionItem::Idempotency("abc")),
            "an earlier version's"
        );
        assert!(matches!(classify(&open), Some(PartitionItem::Invite(_))));
        assert_eq!(classify("ENDS#12#INVITE#x"), None);
        assert_eq!(classify(&place_sk(7)), None);
        let invite = InviteId::generate(now + Duration::hours(1));
        assert_eq!(classify(&sms_sk(&invite)), Some(PartitionItem::Sms(invite.as_str())));
        assert!(sms_sk(&invite) > invite_sk(&invite) && in_range(&sms_sk(&invite)), "beside its invite, as open");
    }

    #[test]
    fn a_places_index_key_sorts_by_when_it_may_be_free_and_names_its_holder() {
        let now = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        let holder = InviteId::generate(now + Duration::hours(2));
        let free = place_index_sk(0, None);
        let held_until_now = place_index_sk(now.unix_timestamp(), Some(&holder));
        let held_later = place_index_sk(now.unix_timestamp() + 1, Some(&holder));
        let bound = places_free_by(now);
        assert!(free < bound && held_until_now < bound && held_later > bound);
        assert_eq!(parse_place_index_sk(&held_later), Some((now.unix_timestamp() + 1, Some(holder))));
        assert_eq!(parse_place_index_sk(&free), Some((0, None)));
        assert_eq!(parse_place_sk(&place_sk(999)), Some(999));
        assert_eq!(place_sk(3), "PLACE#0003");
    }

    #[test]
    fn invite_keys_parse_back() {
        let ic = IntercomId::parse("ic").unwrap();
        let id = InviteId::generate(OffsetDateTime::UNIX_EPOCH + Duration::days(20_000));
        assert_eq!(parse_invite_key(&intercom_pk(&ic), &invite_sk(&id)), Some((ic, id)));
    }

    #[test]
    fn shards_are_fixed_by_the_id_and_spread_a_fleet_evenly() {
        let ic = IntercomId::parse("ic-demo").unwrap();
        assert_eq!(slot_partition(&ic), slot_partition(&IntercomId::parse("ic-demo").unwrap()));
        // Pinned: a release that moved an intercom's shard would strand its index entries.
        assert_eq!(stable_hash("ic-demo"), 0xf7e1_49df);
        assert_eq!(slot_partition(&ic), "HOLDS_SLOT#095");
        let mut counts = vec![0u32; SWEEP_SHARDS as usize];
        for i in 0..12_800 {
            let ic = IntercomId::parse(&format!("ic-{i:06}")).unwrap();
            let shard: usize = slot_partition(&ic)[SLOT_INDEX_PARTITION.len() + 1..].parse().unwrap();
            counts[shard] += 1;
        }
        let (least, most) = (counts.iter().min().unwrap(), counts.iter().max().unwrap());
        assert!(*least > 50 && *most < 150, "100 a shard expected: {least}..{most}");
        let partitions: Vec<String> = sweep_partitions(SLOT_INDEX_PARTITION).collect();
        assert_eq!(partitions.len(), SWEEP_SHARDS as usize + 1);
        assert!(partitions.contains(&slot_partition(&ic)) && partitions.contains(&"HOLDS_SLOT".to_owned()));
        assert!(in_partition("HOLDS_SLOT", SLOT_INDEX_PARTITION));
        assert!(in_partition("HOLDS_SLOT#017", SLOT_INDEX_PARTITION));
        assert!(!in_partition("HOLDS_SLOTS", SLOT_INDEX_PARTITION));
        assert!(!in_partition("GATE_DISCONNECTED#001", SLOT_INDEX_PARTITION));
    }

    #[test]
    fn slot_keys_sort_in_expiry_order_and_due_bound_is_inclusive() {
        let ic = IntercomId::parse("ic").unwrap();
        let id = InviteId::generate(OffsetDateTime::UNIX_EPOCH);
        let t = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        let earlier = slot_index_sk(t - Duration::seconds(1), &ic, &id);
        let at = slot_index_sk(t, &ic, &id);
        let later = slot_index_sk(t + Duration::seconds(1), &ic, &id);
        assert!(earlier < at && at < later);
        let bound = slot_index_due_before(t);
        assert!(at < bound && later > bound);
    }
}
