//! An invite's life: the partition read of create and list, create, revoke, the
//! SMS outcome, expiry and the sweep's index, and idempotency records.

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
use crate::domain::invite::{AttemptKey, GateSnapshot, Invite, InviteState, ListedInvite, SmsStatus, Standing};
use crate::domain::passage::Passage;
use crate::domain::phone::Mobile;
use crate::domain::settings::Intercom;
use crate::domain::token::{LinkToken, TokenHash};
use crate::domain::zone::LocalZone;
use crate::keys;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use std::collections::HashMap;
use time::OffsetDateTime;

/// Everything in an intercom's partition that a create needs.
#[derive(Debug, Default)]
pub struct Partition {
    pub intercom: Option<Intercom>,
    /// The caller's role; `None` if they are not a member.
    pub caller_role: Option<Role>,
    pub invites: Vec<Invite>,
    pub idempotency: HashMap<String, IdempotencyRecord>,
}

/// What the owner's list needs of an intercom.
#[derive(Debug, Default)]
pub struct Listing {
    pub registered: bool,
    /// `None` until the owner's first settings.
    pub max_users: Option<u32>,
    /// The caller's role; `None` if they are not a member.
    pub caller_role: Option<Role>,
    pub invites: Vec<ListedInvite>,
}

pub enum CreateOutcome {
    Committed,
    /// This hour's guest SMS for the caller (or the intercom) are used up.
    SmsLimitReached(SmsLimitScope),
    /// Another create or a settings change got in between, or an identical
    /// idempotent request committed first: read again and decide again.
    Conflict,
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
    /// It ended before: its guest left (`used`) or its window closed (`expired`).
    Ended(&'static str),
    Forbidden,
    /// A conflicting transaction or throttling: nothing was decided, try again.
    Contended,
}

/// How long an ended invite (and its history) is kept after its exit window closed.
pub const INVITE_RETENTION: time::Duration = time::Duration::days(14);

/// One line of an invite's history, `"<unix time> <event>"`. A string, not a map:
/// with 3 bytes of overhead instead of ~25 per entry, a long life (wrong codes,
/// gate failures) keeps the item under 1 KB, so a redemption costs one write unit.
/// Who acted is on the item already (`created_by`, `revoked_by`; the guest for
/// attempts, the system for the rest).
fn history_line(event: &str, at: OffsetDateTime) -> AttributeValue {
    s(format!("{} {event}", at.unix_timestamp()))
}

/// A code typed at the gate: `"<unix time> entry_try 1234"`. The typed digits are
/// kept: a wrong code is no secret, and an attempt with the invite's code is the
/// entry (exit) itself.
pub fn attempt_entry(redemption: &str, typed: &AccessCode, at: OffsetDateTime) -> AttributeValue {
    AttributeValue::L(vec![history_line(&format!("{redemption}_try {}", typed.as_str()), at)])
}

/// A one-line list to `list_append` to the history.
pub fn history_append(event: &str, at: OffsetDateTime) -> AttributeValue {
    AttributeValue::L(vec![history_line(event, at)])
}

fn gate_snapshot(gate: &GateSnapshot) -> AttributeValue {
    AttributeValue::M(HashMap::from([
        (names::DEVICE.to_owned(), s(gate.device.as_str())),
        (names::LABEL.to_owned(), s(&gate.label)),
        (names::THING.to_owned(), s(gate.thing.as_str())),
    ]))
}

fn gate_snapshot_from(item: &Item, name: &str) -> Result<GateSnapshot, ItemError> {
    let gate = item.get(name).and_then(|v| v.as_m().ok()).ok_or_else(|| bad(name))?;
    Ok(GateSnapshot {
        device: parse_attr(gate, names::DEVICE, DeviceId::parse)?,
        label: get_s(gate, names::LABEL)?.to_owned(),
        thing: parse_attr(gate, names::THING, ThingName::parse)?,
    })
}

/// Stored `state`: only whether the owner revoked it. Entry and exit are not
/// stored as states but derived from the guesses made (see [`invite_from_item`]).
pub const ACTIVE: &str = "active";
pub const REVOKED: &str = "revoked";
pub use super::attributes::names::{ATTEMPTS, ENTRY_TRIES, EXIT_RELEASED, EXIT_TRIES};
use super::attributes::names::{ENTRY, EXIT, EXIT_NOT_BEFORE, EXIT_PAUSE};

/// Of each invite, what the owner's list shows and what decides its [`Standing`]:
/// read by the list and by a create alike. (Its id the list takes from the key.)
const INVITE_AS_LISTED: &[&str] = &[
    names::CODE,
    names::GUEST_NAME,
    names::GUEST_MOBILE,
    names::CREATED_BY,
    names::CREATED_AT,
    names::EXPIRES_AT,
    names::EXIT_CLOSES_AT,
    names::STATE,
    ENTRY_TRIES,
    EXIT_TRIES,
    names::ENTRY_GUESSES,
    names::EXIT_GUESSES,
    names::ENTRY_OPENED,
    names::EXIT_OPENED,
    names::ENTRY_AT,
    names::EXIT_AT,
    names::ENTRY_GIVEN_BACK,
    names::EXIT_GIVEN_BACK,
    EXIT_RELEASED,
];

/// Every attribute a create's read of the partition uses: whole registry and invites
/// (a replayed create answers with the invite it made), without the history, the
/// attempt ids and the index keys.
const CREATE_READ: &[&[&str]] = &[
    // The sort key tells each item's kind; the partition key is the one asked for.
    &[keys::SK],
    // registry (its gates and Max Users an invite has too)
    &[
        names::INTERCOM_ID,
        names::LABEL,
        names::GATES,
        names::ENTRY_GATE,
        names::EXIT_GATE,
        names::MAX_USERS,
        names::INVITE_DURATION_MINUTES,
        names::EXIT_GRACE_MINUTES,
        names::SETTINGS_UPDATED_AT,
        names::SETTINGS_UPDATED_BY,
        names::VERSION,
        TIME_ZONE,
    ],
    // membership
    &[names::ROLE],
    // invites
    INVITE_AS_LISTED,
    &[names::INVITE_ID, names::INTERCOM_LABEL, names::TOKEN_HASH, names::SMS_STATUS],
    // idempotency records (and the invite id and creation time named above)
    &[names::FINGERPRINT, names::SEALED_SECRET, names::SEAL_KEY],
];

/// What the owner's list uses: the registry's Max Users, the caller's role, and of
/// each invite what the list shows (gates by label only). Far less for the SDK to
/// parse per listed code than a whole invite.
const LISTING_READ: &[&[&str]] = &[
    &[keys::SK, names::MAX_USERS, names::ROLE],
    INVITE_AS_LISTED,
    // On an invite, maps; on the registry, device ids these paths find nothing in.
    &["entry_gate.label", "exit_gate.label"],
];

/// Of the other members, none: a create or a list needs only the caller's role,
/// and an intercom may be shared with many. (A filter may not name the key, so a
/// membership is told by its `user`, which only membership items have.)
const CALLERS_MEMBERSHIP_ONLY: &str = "(attribute_not_exists(#user) OR #user = :caller)";

/// How a create or a list reads the open part of an intercom's partition: which
/// attributes come back (projection) and which items (filter), with the `#name`
/// bindings of both, built once per process rather than on every page. Items the
/// filter drops are still read, and paid for, but never sent or parsed.
struct PartitionRead {
    projection: String,
    filter: String,
    names: HashMap<String, String>,
}

impl PartitionRead {
    /// Every path of `groups` in one projection (DynamoDB refuses a path named twice).
    /// Every name is bound (reserved words such as `state` and `role` need it), each
    /// segment of a `map.member` path on its own. The filter keeps the caller's
    /// membership only, and leaves out the items that have any of `left_out` (each
    /// one kind's own attribute).
    fn of(groups: &[&[&str]], left_out: &[&str]) -> Self {
        let mut names: HashMap<String, String> = HashMap::new();
        let mut bound = |name: &str| {
            let alias = format!("#{}", name.to_ascii_lowercase());
            names.insert(alias.clone(), name.to_owned());
            alias
        };
        let projection = groups
            .concat()
            .iter()
            .map(|path| path.split('.').map(&mut bound).collect::<Vec<_>>().join("."))
            .collect::<Vec<_>>()
            .join(", ");
        bound(names::USER); // `#user` in CALLERS_MEMBERSHIP_ONLY
        let filter = std::iter::once(CALLERS_MEMBERSHIP_ONLY.to_owned())
            .chain(left_out.iter().map(|name| format!("attribute_not_exists({})", bound(name))))
            .collect::<Vec<_>>()
            .join(" AND ");
        // The key condition's names travel in the same bindings.
        names.insert("#pk".into(), keys::PK.into());
        names.insert("#sk".into(), keys::SK.into());
        Self { projection, filter, names }
    }
}

static CREATE_QUERY: std::sync::LazyLock<PartitionRead> =
    std::sync::LazyLock::new(|| PartitionRead::of(CREATE_READ, &[]));
/// The list also leaves out idempotency records (only they have a fingerprint):
/// one per keyed create of the last day, and none of them listed.
static LISTING_QUERY: std::sync::LazyLock<PartitionRead> =
    std::sync::LazyLock::new(|| PartitionRead::of(LISTING_READ, &[names::FINGERPRINT]));

/// The item of a newly created invite.
pub fn invite_to_item(invite: &Invite) -> Item {
    let mut item = key(keys::intercom_pk(&invite.intercom_id), keys::invite_sk(&invite.id));
    let purge_at = invite.exit_closes_at + INVITE_RETENTION;
    item.extend([
        (names::INTERCOM_ID.to_owned(), s(invite.intercom_id.as_str())),
        (names::INTERCOM_LABEL.to_owned(), s(&invite.intercom_label)),
        (TIME_ZONE.to_owned(), s(invite.time_zone.name())),
        (names::INVITE_ID.to_owned(), s(invite.id.as_str())),
        (names::TOKEN_HASH.to_owned(), s(&invite.token_hash.0)),
        (names::CODE.to_owned(), s(invite.code.as_str())),
        (names::GUEST_NAME.to_owned(), s(invite.guest_name.as_str())),
        (names::GUEST_MOBILE.to_owned(), s(invite.guest_mobile.e164())),
        (names::CREATED_BY.to_owned(), s(invite.created_by.as_str())),
        (names::CREATED_AT.to_owned(), epoch(invite.created_at)),
        (names::EXPIRES_AT.to_owned(), epoch(invite.expires_at)),
        (names::EXIT_CLOSES_AT.to_owned(), epoch(invite.exit_closes_at)),
        (names::ENTRY_GATE.to_owned(), gate_snapshot(&invite.entry_gate)),
        (names::EXIT_GATE.to_owned(), gate_snapshot(&invite.exit_gate)),
        (names::MAX_USERS.to_owned(), n(invite.max_users)),
        (names::STATE.to_owned(), s(if invite.revoked { REVOKED } else { ACTIVE })),
        // The counters conditions compare and expressions add to exist from the start.
        (names::ENTRY_GUESSES.to_owned(), n(invite.entry.guesses)),
        (names::EXIT_GUESSES.to_owned(), n(invite.exit.guesses)),
        (EXIT_PAUSE.to_owned(), n(0)),
        (ATTEMPTS.to_owned(), AttributeValue::M(HashMap::new())),
        (names::SMS_STATUS.to_owned(), s(invite.sms_status.as_str())),
        (names::HISTORY.to_owned(), history_append("created", invite.created_at)),
        (keys::PURGE_AT.to_owned(), epoch(purge_at)),
    ]);
    if invite.holds_slot(invite.created_at) {
        item.insert(keys::SLOT_INDEX_PK.to_owned(), s(keys::SLOT_INDEX_PARTITION));
        item.insert(
            keys::SLOT_INDEX_SK.to_owned(),
            s(keys::slot_index_sk(invite.expires_at, &invite.intercom_id, &invite.id)),
        );
    }
    item
}

fn tries_include(item: &Item, name: &str, code: &AccessCode) -> bool {
    item.get(name).and_then(|v| v.as_ss().ok()).is_some_and(|set| set.iter().any(|c| c == code.as_str()))
}

/// One passage as the item records it (see `domain::passage`).
fn passage_from_item(item: &Item, names: &names::Passage, code: &AccessCode) -> Result<Passage, ItemError> {
    Ok(Passage {
        consumed: tries_include(item, names.tries, code),
        opened_at: get_optional(item, names.opened, get_time)?,
        last_attempt_at: get_optional(item, names.at, get_time)?,
        guesses: get_optional(item, names.guesses, get_n)?.unwrap_or(0),
        given_back: get_optional(item, names.given_back, get_n)?.unwrap_or(0),
    })
}

/// What decides the invite's state at any moment (only `revoked` is stored as
/// such): its two passages, as the codes typed and the gates' reports left them.
fn standing_from_item(item: &Item, code: &AccessCode) -> Result<Standing, ItemError> {
    let revoked = match get_s(item, names::STATE)? {
        REVOKED => true,
        ACTIVE => false,
        _ => return Err(bad(names::STATE)),
    };
    Ok(Standing {
        revoked,
        entry: passage_from_item(item, &ENTRY, code)?,
        exit: passage_from_item(item, &EXIT, code)?,
        exit_released: item.get(EXIT_RELEASED).and_then(|v| v.as_bool().ok()).copied().unwrap_or(false),
        expires_at: get_time(item, names::EXPIRES_AT)?,
        exit_closes_at: get_time(item, names::EXIT_CLOSES_AT)?,
    })
}

fn last_attempt(item: &Item, name: &str) -> Result<Option<AttemptKey>, ItemError> {
    get_optional(item, name, |item, name| get_s(item, name).map(|key| AttemptKey::from_stored(key.to_owned())))
}

pub fn invite_from_item(item: &Item) -> Result<Invite, ItemError> {
    let code = parse_attr(item, names::CODE, AccessCode::parse)?;
    let standing = standing_from_item(item, &code)?;
    // Absent from a partition read's projection, which never needs it.
    let attempts = match item.get(ATTEMPTS).and_then(|v| v.as_m().ok()) {
        Some(attempts) => attempts
            .iter()
            .map(|(key, at)| {
                let at = at.as_n().ok().and_then(|n| n.parse().ok()).ok_or_else(|| bad(ATTEMPTS))?;
                let at = OffsetDateTime::from_unix_timestamp(at).map_err(|_| bad(ATTEMPTS))?;
                Ok((AttemptKey::from_stored(key.clone()), at))
            })
            .collect::<Result<_, ItemError>>()?,
        None => HashMap::new(),
    };
    Ok(Invite {
        intercom_id: parse_attr(item, names::INTERCOM_ID, IntercomId::parse)?,
        intercom_label: get_s(item, names::INTERCOM_LABEL)?.to_owned(),
        time_zone: LocalZone::from_stored(get_s(item, TIME_ZONE)?.to_owned()),
        id: parse_attr(item, names::INVITE_ID, InviteId::parse)?,
        token_hash: TokenHash(get_s(item, names::TOKEN_HASH)?.to_owned()),
        code,
        guest_name: GuestName::from_stored(get_s(item, names::GUEST_NAME)?.to_owned()),
        guest_mobile: Mobile::from_stored(get_s(item, names::GUEST_MOBILE)?.to_owned()),
        created_by: parse_attr(item, names::CREATED_BY, UserId::parse)?,
        created_at: get_time(item, names::CREATED_AT)?,
        expires_at: standing.expires_at,
        exit_closes_at: standing.exit_closes_at,
        entry_gate: gate_snapshot_from(item, names::ENTRY_GATE)?,
        exit_gate: gate_snapshot_from(item, names::EXIT_GATE)?,
        max_users: get_n(item, names::MAX_USERS)?,
        revoked: standing.revoked,
        entry: standing.entry,
        exit: standing.exit,
        exit_released: standing.exit_released,
        exit_not_before: get_optional(item, EXIT_NOT_BEFORE, get_time)?,
        last_entry_attempt: last_attempt(item, ENTRY.attempt)?,
        last_exit_attempt: last_attempt(item, EXIT.attempt)?,
        sms_status: match get_s(item, names::SMS_STATUS)? {
            "failed" => SmsStatus::Failed,
            _ => SmsStatus::Requested,
        },
        attempts,
    })
}

/// One invite as the list reads it ([`LISTING_READ`]), `id` from its key.
pub fn listed_from_item(id: &str, item: &Item) -> Result<ListedInvite, ItemError> {
    let code = parse_attr(item, names::CODE, AccessCode::parse)?;
    let gate_label = |name: &str| {
        let gate = item.get(name).and_then(|v| v.as_m().ok()).ok_or_else(|| bad(name))?;
        get_s(gate, names::LABEL).map(str::to_owned)
    };
    Ok(ListedInvite {
        standing: standing_from_item(item, &code)?,
        id: InviteId::parse(id).ok_or_else(|| bad(keys::SK))?,
        code,
        guest_name: GuestName::from_stored(get_s(item, names::GUEST_NAME)?.to_owned()),
        guest_mobile: Mobile::from_stored(get_s(item, names::GUEST_MOBILE)?.to_owned()),
        created_by: parse_attr(item, names::CREATED_BY, UserId::parse)?,
        created_at: get_time(item, names::CREATED_AT)?,
        entry_gate_label: gate_label(names::ENTRY_GATE)?,
        exit_gate_label: gate_label(names::EXIT_GATE)?,
    })
}

/// How long a create can be replayed under the same `Idempotency-Key`.
pub const IDEMPOTENCY_WINDOW: time::Duration = time::Duration::hours(24);

#[derive(Debug, Clone)]
pub struct IdempotencyRecord {
    pub key_hash: String,
    /// Hash of what was asked, so a reused key with another body is refused.
    pub fingerprint: String,
    pub invite_id: InviteId,
    /// The link secret, sealed with a pad only the original request's key and the
    /// server's secret rebuild: the table alone never yields a working link.
    pub sealed_secret: Sealed,
    pub created_at: OffsetDateTime,
}

pub fn idempotency_to_item(intercom: &IntercomId, record: &IdempotencyRecord) -> Item {
    let expires_at = record.created_at + IDEMPOTENCY_WINDOW;
    let mut item = key(keys::intercom_pk(intercom), keys::idempotency_sk(&record.key_hash, expires_at));
    item.extend([
        (names::FINGERPRINT.to_owned(), s(&record.fingerprint)),
        (names::INVITE_ID.to_owned(), s(record.invite_id.as_str())),
        (names::SEALED_SECRET.to_owned(), s(STANDARD.encode(&record.sealed_secret.bytes))),
        (names::SEAL_KEY.to_owned(), s(&record.sealed_secret.key_id)),
        (names::CREATED_AT.to_owned(), epoch(record.created_at)),
        (keys::PURGE_AT.to_owned(), epoch(expires_at)),
    ]);
    item
}

pub fn idempotency_from_item(item: &Item) -> Result<IdempotencyRecord, ItemError> {
    let key_hash = match sort_key(item).and_then(keys::classify) {
        Some(keys::PartitionItem::Idempotency(hash)) => hash.to_owned(),
        _ => return Err(bad(keys::SK)),
    };
    Ok(IdempotencyRecord {
        key_hash,
        fingerprint: get_s(item, names::FINGERPRINT)?.to_owned(),
        invite_id: parse_attr(item, names::INVITE_ID, InviteId::parse)?,
        sealed_secret: Sealed {
            key_id: get_s(item, names::SEAL_KEY)?.to_owned(),
            bytes: STANDARD.decode(get_s(item, names::SEALED_SECRET)?).map_err(|_| bad(names::SEALED_SECRET))?,
        },
        created_at: get_time(item, names::CREATED_AT)?,
    })
}

impl Store {
    /// What a create needs of an intercom: the registry first, the caller's
    /// membership, the invites and idempotency records not ended yet (see
    /// [`Store::read_open`]).
    pub async fn load_partition(
        &self,
        intercom: &IntercomId,
        caller: &UserId,
        now: OffsetDateTime,
    ) -> Result<Partition, StoreError> {
        let mut partition = Partition::default();
        let caller_role = self
            .read_open(intercom, caller, now, &CREATE_QUERY, |kind, item| {
                match kind {
                    keys::PartitionItem::Registry => partition.intercom = Some(intercom_from_item(item)?),
                    // `read_open` took the caller's.
                    keys::PartitionItem::Member(_) => {}
                    keys::PartitionItem::Invite(_) => partition.invites.push(invite_from_item(item)?),
                    keys::PartitionItem::Idempotency(_) => {
                        let record = idempotency_from_item(item)?;
                        partition.idempotency.insert(record.key_hash.clone(), record);
                    }
                }
                Ok(())
            })
            .await?;
        partition.caller_role = caller_role;
        Ok(partition)
    }

    /// What the owner's list needs of an intercom, in the same one read as a
    /// create's, of fewer attributes ([`LISTING_READ`]) and no idempotency records.
    pub async fn load_listing(
        &self,
        intercom: &IntercomId,
        caller: &UserId,
        now: OffsetDateTime,
    ) -> Result<Listing, StoreError> {
        let mut listing = Listing::default();
        let caller_role = self
            .read_open(intercom, caller, now, &LISTING_QUERY, |kind, item| {
                match kind {
                    keys::PartitionItem::Registry => {
                        listing.registered = true;
                        listing.max_users =
                            item.contains_key(names::MAX_USERS).then(|| get_n(item, names::MAX_USERS)).transpose()?;
                    }
                    keys::PartitionItem::Invite(id) => listing.invites.push(listed_from_item(id, item)?),
                    // `read_open` took the caller's membership; no idempotency record comes.
                    keys::PartitionItem::Member(_) | keys::PartitionItem::Idempotency(_) => {}
                }
                Ok(())
            })
            .await?;
        listing.caller_role = caller_role;
        Ok(listing)
    }

    /// One strongly consistent Query, page by page: from the top of the partition
    /// down to what ends after `now` (see `keys`): the registry first, the caller's
    /// membership, the invites and idempotency records not ended yet, and nothing
    /// that ended, however long the intercom's history. Only what `read` projects
    /// and lets through is returned; `take` gets each item but the membership, whose
    /// role this answers (`None`: the caller is no member).
    async fn read_open(
        &self,
        intercom: &IntercomId,
        caller: &UserId,
        now: OffsetDateTime,
        read: &PartitionRead,
        mut take: impl FnMut(keys::PartitionItem<'_>, &Item) -> Result<(), ItemError>,
    ) -> Result<Option<Role>, StoreError> {
        let mut caller_role = None;
        let mut start_key = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .consistent_read(true)
                .scan_index_forward(false)
                .key_condition_expression("#pk = :pk AND #sk >= :from")
                .projection_expression(&read.projection)
                .filter_expression(&read.filter)
                .set_expression_attribute_names(Some(read.names.clone()))
                .expression_attribute_values(":pk", s(keys::intercom_pk(intercom)))
                .expression_attribute_values(":from", s(keys::still_open_from(now)))
                .expression_attribute_values(":caller", s(caller.as_str()))
                .set_limit(self.page_limit)
                .set_exclusive_start_key(start_key)
                .send()
                .await
                .map_err(request_failed)?;
            for item in page.items() {
                match sort_key(item).and_then(keys::classify) {
                    Some(keys::PartitionItem::Member(user)) if user == caller.as_str() => {
                        caller_role = Some(role_from_item(item)?);
                    }
                    // The filter returns only the caller's, unless a membership lacks its `user`.
                    Some(keys::PartitionItem::Member(_)) | None => {}
                    Some(kind) => take(kind, item)?,
                }
            }
            start_key = page.last_evaluated_key().cloned();
            if start_key.is_none() {
                return Ok(caller_role);
            }
        }
    }

    /// Writes a new invite in one transaction that also moves the intercom's version
    /// on from the one the caller's decisions were based on. Two creates that read
    /// the same version cannot both commit, so Max Users and code uniqueness, checked
    /// on that read, hold under any concurrency.
    ///
    /// The same transaction counts the guest SMS it will cause against this clock
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
    fn count_sms(&self, pk: String, hour: i64, limit: u32) -> Result<TransactWriteItem, StoreError> {
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

    pub async fn record_sms_failure(&self, invite: &Invite, now: OffsetDateTime) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::intercom_pk(&invite.intercom_id), keys::invite_sk(&invite.id))))
            .update_expression("SET sms_status = :failed, #history = list_append(#history, :event)")
            .condition_expression("attribute_exists(#history)")
            .expression_attribute_names("#history", names::HISTORY)
            .expression_attribute_values(":failed", s("failed"))
            .expression_attribute_values(":event", history_append("sms_failed", now))
            .send()
            .await
            .map_err(request_failed)?;
        Ok(())
    }

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
            // Not revoked, not exited, and still usable: before expiry, or entered and
            // within the exit grace (revoking a guest who is inside ends that exit too).
            .condition_expression(
                "#state = :active AND NOT contains(#exit_tries, #code) AND exit_closes_at > :now \
                 AND (expires_at > :now OR contains(#entry_tries, #code))",
            )
            .expression_attribute_names("#state", names::STATE)
            .expression_attribute_names("#code", names::CODE)
            .expression_attribute_names("#exit_tries", EXIT_TRIES)
            .expression_attribute_names("#entry_tries", ENTRY_TRIES)
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

    /// The invite a guest's link opens, as it is now (a strongly consistent
    /// GetItem), whatever its state; `None` unless the link's secret is this
    /// invite's, so a forged link learns nothing.
    pub async fn invite_for_link(&self, link: &LinkToken) -> Result<Option<Invite>, StoreError> {
        let invite = self.invite(link.intercom_id(), link.invite_id()).await?;
        Ok(invite.filter(|invite| invite.token_hash == link.hash()))
    }

    /// An invite by its key, as it is now (a strongly consistent GetItem).
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
        Ok(output.item().map(invite_from_item).transpose()?)
    }

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::invite::tests::invite_at;

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
            assert_eq!(
                (&listed.entry_gate_label, &listed.exit_gate_label),
                (&whole.entry_gate.label, &whole.exit_gate.label)
            );
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
