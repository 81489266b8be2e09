//! An invite's item: its history lines, its gate snapshots, and the mapping between
//! the item and the domain's `Invite` (whole, and as the owner's list reads it).

use super::*;

/// One line of an invite's history, `"<unix time> <event>"`. A string, not a map:
/// with 3 bytes of overhead instead of ~25 per entry, a long life (wrong codes,
/// gate failures) keeps the item under 1 KB, so a redemption costs one write unit.
/// Who acted is on the item already (`created_by`, `revoked_by`; the guest for
/// attempts, the system for the rest).
pub(crate) fn history_line(event: &str, at: OffsetDateTime) -> AttributeValue {
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

pub(super) fn gate_snapshot(gate: &GateSnapshot) -> AttributeValue {
    AttributeValue::M(HashMap::from([
        (names::DEVICE.to_owned(), s(gate.device.as_str())),
        (names::LABEL.to_owned(), s(&gate.label)),
        (names::THING.to_owned(), s(gate.thing.as_str())),
    ]))
}

pub(super) fn gate_snapshot_from(item: &Item, name: &str) -> Result<GateSnapshot, ItemError> {
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
pub use crate::store::attributes::names::{ATTEMPTS, ENTRY_TRIES, EXIT_RELEASED, EXIT_TRIES};
use crate::store::attributes::names::{ENTRY, EXIT, EXIT_NOT_BEFORE, EXIT_PAUSE};

/// The item of a newly created invite.
pub fn invite_to_item(invite: &Invite) -> Item {
    let mut item = key(keys::intercom_pk(&invite.intercom_id), keys::invite_sk(&invite.id));
    let purge_at = invite.exit_closes_at.saturating_add(INVITE_RETENTION);
    item.extend([
        (names::INTERCOM_ID.to_owned(), s(invite.intercom_id.as_str())),
        (names::INTERCOM_LABEL.to_owned(), s(&invite.intercom_label)),
        (TIME_ZONE.to_owned(), s(invite.time_zone.name())),
        (names::INVITE_ID.to_owned(), s(invite.id.as_str())),
        (names::TOKEN_HASH.to_owned(), s(&invite.token_hash.0)),
        (names::CODE.to_owned(), s(invite.code.as_str())),
        (names::GUEST_NAME.to_owned(), s(invite.guest_name.as_str())),
        (names::GUEST_MOBILE.to_owned(), s(invite.guest_mobile.e164())),
        (names::LANGUAGE.to_owned(), s(invite.language.as_str())),
        (names::CREATED_BY.to_owned(), s(invite.created_by.as_str())),
        (names::CREATED_AT.to_owned(), epoch(invite.created_at)),
        (names::STARTS_AT.to_owned(), epoch(invite.starts_at)),
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
        (names::HISTORY.to_owned(), history_append(&created_line(invite), invite.created_at)),
        (keys::PURGE_AT.to_owned(), epoch(purge_at)),
    ]);
    if let Some(place) = invite.place {
        item.insert(names::PLACE.to_owned(), n(place));
    }
    if invite.holds_slot(invite.created_at) {
        item.insert(keys::SLOT_INDEX_PK.to_owned(), s(keys::slot_partition(&invite.intercom_id)));
        item.insert(
            keys::SLOT_INDEX_SK.to_owned(),
            s(keys::slot_index_sk(invite.expires_at, &invite.intercom_id, &invite.id)),
        );
    }
    item
}

/// The first history line: `created`, with the start when the code was made for
/// later (what the `code_created` fact says).
fn created_line(invite: &Invite) -> String {
    if invite.starts_at > invite.created_at {
        format!("created {}", invite.starts_at.unix_timestamp())
    } else {
        "created".to_owned()
    }
}

pub(super) fn tries_include(item: &Item, name: &str, code: &AccessCode) -> bool {
    item.get(name).and_then(|v| v.as_ss().ok()).is_some_and(|set| set.iter().any(|c| c == code.as_str()))
}

/// One passage as the item records it (see `domain::passage`).
pub(super) fn passage_from_item(item: &Item, names: &names::Passage, code: &AccessCode) -> Result<Passage, ItemError> {
    Ok(Passage {
        consumed: tries_include(item, names.tries, code),
        opened_at: get_optional(item, names.opened, get_time)?,
        last_attempt_at: get_optional(item, names.at, get_time)?,
        guesses: get_optional(item, names.guesses, get_n)?.unwrap_or(0),
        given_back: get_optional(item, names.given_back, get_n)?.unwrap_or(0),
        not_sent: get_optional(item, names.not_sent, get_n)?.unwrap_or(0),
    })
}

/// What decides the invite's state at any moment (only `revoked` is stored as
/// such): its two passages, as the codes typed and the gates' reports left them.
pub(super) fn standing_from_item(item: &Item, code: &AccessCode) -> Result<Standing, ItemError> {
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
        // Invites made before codes could start later start at their creation.
        starts_at: match get_optional(item, names::STARTS_AT, get_time)? {
            Some(at) => at,
            None => get_time(item, names::CREATED_AT)?,
        },
        expires_at: get_time(item, names::EXPIRES_AT)?,
        exit_closes_at: get_time(item, names::EXIT_CLOSES_AT)?,
    })
}

pub(super) fn last_attempt(item: &Item, name: &str) -> Result<Option<AttemptKey>, ItemError> {
    get_optional(item, name, |item, name| get_s(item, name).map(|key| AttemptKey::from_stored(key.to_owned())))
}

/// The guest's name or number, which an erased invite no longer holds (empty then:
/// the store hands an erased invite to no reader that shows its guest).
fn guest_attribute(item: &Item, name: &str) -> Result<String, ItemError> {
    match is_erased(item) {
        true => Ok(String::new()),
        false => get_s(item, name).map(str::to_owned),
    }
}

/// Whether an invite's or SMS item's guest was erased (`Store::erase_guest`).
pub fn is_erased(item: &Item) -> bool {
    item.contains_key(names::GUEST_ERASED_AT)
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
        guest_name: GuestName::from_stored(guest_attribute(item, names::GUEST_NAME)?),
        guest_mobile: Mobile::from_stored(guest_attribute(item, names::GUEST_MOBILE)?),
        // Invites made before languages: English.
        language: get_optional(item, names::LANGUAGE, |i, n| get_s(i, n).map(Language::from_stored))?
            .unwrap_or_default(),
        // On the invite's SMS item (`sms_to_item`): this item stays under 1 KB.
        host: None,
        location: None,
        created_by: parse_attr(item, names::CREATED_BY, UserId::parse)?,
        created_at: get_time(item, names::CREATED_AT)?,
        starts_at: standing.starts_at,
        expires_at: standing.expires_at,
        exit_closes_at: standing.exit_closes_at,
        entry_gate: gate_snapshot_from(item, names::ENTRY_GATE)?,
        exit_gate: gate_snapshot_from(item, names::EXIT_GATE)?,
        max_users: get_n(item, names::MAX_USERS)?,
        place: get_optional(item, names::PLACE, get_n)?,
        revoked: standing.revoked,
        entry: standing.entry,
        exit: standing.exit,
        exit_released: standing.exit_released,
        exit_not_before: get_optional(item, EXIT_NOT_BEFORE, get_time)?,
        last_entry_attempt: last_attempt(item, ENTRY.attempt)?,
        last_exit_attempt: last_attempt(item, EXIT.attempt)?,
        // The SMS lives in its own item; the partition read fills this in from it.
        sms_status: SmsStatus::Queued,
        link_seal: None,
        attempts,
    })
}

/// One invite as the list reads it ([`LISTING_READ`]), `id` from its key.
pub fn listed_from_item(id: &str, item: &Item) -> Result<ListedInvite, ItemError> {
    let code = parse_attr(item, names::CODE, AccessCode::parse)?;
    let listed_gate = |name: &str| {
        let gate = item.get(name).and_then(|v| v.as_m().ok()).ok_or_else(|| bad(name))?;
        Ok::<_, ItemError>(crate::domain::invite::ListedGate {
            device: get_s(gate, names::DEVICE)?.to_owned(),
            label: get_s(gate, names::LABEL)?.to_owned(),
        })
    };
    Ok(ListedInvite {
        standing: standing_from_item(item, &code)?,
        id: InviteId::parse(id).ok_or_else(|| bad(keys::SK))?,
        code,
        guest_name: GuestName::from_stored(guest_attribute(item, names::GUEST_NAME)?),
        guest_mobile: Mobile::from_stored(guest_attribute(item, names::GUEST_MOBILE)?),
        created_by: parse_attr(item, names::CREATED_BY, UserId::parse)?,
        created_at: get_time(item, names::CREATED_AT)?,
        entry_gate: listed_gate(names::ENTRY_GATE)?,
        exit_gate: listed_gate(names::EXIT_GATE)?,
        // From the invite's SMS item, which the same read returns.
        sms_status: SmsStatus::Queued,
        sms_failure: None,
    })
}
