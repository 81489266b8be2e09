//! Mapping between domain values and DynamoDB items: the only place that knows
//! attribute names and types.

use crate::domain::access::Role;
use crate::domain::code::AccessCode;
use crate::domain::guest::GuestName;
use crate::domain::ids::{DeviceId, IntercomId, InviteId, ThingName, UserId};
use crate::domain::invite::{GateSnapshot, Invite, InviteState, SmsStatus};
use crate::domain::phone::Mobile;
use crate::domain::settings::{Gate, Intercom, Settings};
use crate::domain::token::TokenHash;
use crate::domain::zone::LocalZone;
use crate::keys;
use aws_sdk_dynamodb::types::AttributeValue;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;
use thiserror::Error;
use time::OffsetDateTime;

pub type Item = HashMap<String, AttributeValue>;

/// A stored item that does not have the shape this code writes. Never a client's
/// fault: it surfaces as an internal error naming the attribute.
#[derive(Debug, Error)]
#[error("stored item attribute {attribute:?} is missing or malformed")]
pub struct ItemError {
    pub attribute: String,
}

fn bad(attribute: &str) -> ItemError {
    ItemError { attribute: attribute.to_owned() }
}

pub fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub fn epoch(at: OffsetDateTime) -> AttributeValue {
    n(at.unix_timestamp())
}

fn get_s<'i>(item: &'i Item, name: &str) -> Result<&'i str, ItemError> {
    item.get(name).and_then(|v| v.as_s().ok()).map(String::as_str).ok_or_else(|| bad(name))
}

fn get_n<T: FromStr>(item: &Item, name: &str) -> Result<T, ItemError> {
    item.get(name).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok()).ok_or_else(|| bad(name))
}

fn get_time(item: &Item, name: &str) -> Result<OffsetDateTime, ItemError> {
    OffsetDateTime::from_unix_timestamp(get_n(item, name)?).map_err(|_| bad(name))
}

fn parse_attr<T>(item: &Item, name: &str, parse: impl Fn(&str) -> Option<T>) -> Result<T, ItemError> {
    parse(get_s(item, name)?).ok_or_else(|| bad(name))
}

pub fn key(pk: String, sk: impl Into<String>) -> Item {
    HashMap::from([(keys::PK.to_owned(), s(pk)), (keys::SK.to_owned(), s(sk))])
}

pub fn sort_key(item: &Item) -> Option<&str> {
    item.get(keys::SK).and_then(|v| v.as_s().ok()).map(String::as_str)
}

// ---- intercom registry -------------------------------------------------------

pub fn intercom_from_item(item: &Item) -> Result<Intercom, ItemError> {
    let gates_map = item.get("gates").and_then(|v| v.as_m().ok()).ok_or_else(|| bad("gates"))?;
    let mut gates = BTreeMap::new();
    for (device, gate) in gates_map {
        let gate = gate.as_m().map_err(|_| bad("gates"))?;
        gates.insert(
            DeviceId::parse(device).ok_or_else(|| bad("gates"))?,
            Gate { label: get_s(gate, "label")?.to_owned(), thing: parse_attr(gate, "thing", ThingName::parse)? },
        );
    }
    let settings = if item.contains_key("max_users") {
        Some(Settings {
            entry_gate: parse_attr(item, "entry_gate", DeviceId::parse)?,
            exit_gate: parse_attr(item, "exit_gate", DeviceId::parse)?,
            max_users: get_n(item, "max_users")?,
            invite_duration_minutes: get_n(item, "invite_duration_minutes")?,
            exit_grace_minutes: get_n(item, "exit_grace_minutes")?,
            updated_at: get_time(item, "settings_updated_at")?,
            updated_by: parse_attr(item, "settings_updated_by", UserId::parse)?,
        })
    } else {
        None
    };
    Ok(Intercom {
        id: parse_attr(item, "intercom_id", IntercomId::parse)?,
        label: get_s(item, "label")?.to_owned(),
        gates,
        settings,
        // Registry items from before time zones were provisioned are in the default one.
        time_zone: match item.get(TIME_ZONE) {
            None => LocalZone::default(),
            Some(_) => parse_attr(item, TIME_ZONE, LocalZone::parse)?,
        },
        version: get_n(item, "version").unwrap_or(0),
    })
}

pub fn gates_attribute(gates: &BTreeMap<DeviceId, Gate>) -> AttributeValue {
    AttributeValue::M(
        gates
            .iter()
            .map(|(device, gate)| {
                let fields =
                    HashMap::from([("label".to_owned(), s(&gate.label)), ("thing".to_owned(), s(gate.thing.as_str()))]);
                (device.to_string(), AttributeValue::M(fields))
            })
            .collect(),
    )
}

/// The attributes `update-settings` writes onto the registry item.
pub fn settings_attributes(settings: &Settings) -> Vec<(&'static str, AttributeValue)> {
    vec![
        ("entry_gate", s(settings.entry_gate.as_str())),
        ("exit_gate", s(settings.exit_gate.as_str())),
        ("max_users", n(settings.max_users)),
        ("invite_duration_minutes", n(settings.invite_duration_minutes)),
        ("exit_grace_minutes", n(settings.exit_grace_minutes)),
        ("settings_updated_at", epoch(settings.updated_at)),
        ("settings_updated_by", s(settings.updated_by.as_str())),
    ]
}

/// The IANA time zone, on the registry item and on each invite.
pub const TIME_ZONE: &str = "time_zone";

pub fn role_from_item(item: &Item) -> Result<Role, ItemError> {
    parse_attr(item, "role", Role::parse)
}

// ---- invites -------------------------------------------------------------------

/// How long an ended invite (and its history) is kept after its exit window closed.
pub const INVITE_RETENTION: time::Duration = time::Duration::days(14);

pub fn history_entry(event: &str, actor: &str, at: OffsetDateTime) -> AttributeValue {
    AttributeValue::M(HashMap::from([
        ("event".to_owned(), s(event)),
        ("actor".to_owned(), s(actor)),
        ("at".to_owned(), epoch(at)),
    ]))
}

/// A code typed at the gate. The typed digits are kept: a wrong code is no
/// secret, and an attempt with the invite's code is the entry (exit) itself.
pub fn attempt_entry(redemption: &str, typed: &AccessCode, at: OffsetDateTime) -> AttributeValue {
    let mut entry = history_entry(&format!("{redemption}_attempt"), "guest", at);
    if let AttributeValue::M(fields) = &mut entry {
        fields.insert("typed".to_owned(), s(typed.as_str()));
    }
    AttributeValue::L(vec![entry])
}

pub fn history_append(event: &str, actor: &str, at: OffsetDateTime) -> AttributeValue {
    AttributeValue::L(vec![history_entry(event, actor, at)])
}

fn gate_snapshot(gate: &GateSnapshot) -> AttributeValue {
    AttributeValue::M(HashMap::from([
        ("device".to_owned(), s(gate.device.as_str())),
        ("label".to_owned(), s(&gate.label)),
        ("thing".to_owned(), s(gate.thing.as_str())),
    ]))
}

fn gate_snapshot_from(item: &Item, name: &str) -> Result<GateSnapshot, ItemError> {
    let gate = item.get(name).and_then(|v| v.as_m().ok()).ok_or_else(|| bad(name))?;
    Ok(GateSnapshot {
        device: parse_attr(gate, "device", DeviceId::parse)?,
        label: get_s(gate, "label")?.to_owned(),
        thing: parse_attr(gate, "thing", ThingName::parse)?,
    })
}

/// Stored `state`: only whether the owner revoked it. Entry and exit are not
/// stored as states but derived from the guesses made (see [`invite_from_item`]).
pub const ACTIVE: &str = "active";
pub const REVOKED: &str = "revoked";
/// Every code a guest typed at entry / at exit (string sets), and how many times
/// anyone typed one. See `store::Store::record_attempt` for why.
pub const ENTRY_TRIES: &str = "entry_tries";
pub const EXIT_TRIES: &str = "exit_tries";
pub const GUESSES: &str = "guesses";
/// Set when an exit's gate command failed: the guest may exit again, but the
/// invite no longer holds a place (someone else may have taken it meanwhile).
pub const EXIT_RELEASED: &str = "exit_released";
/// Map from `"<redemption>:<attempt id>"` to the code typed in that attempt.
pub const ATTEMPTS: &str = "attempts";

/// Every attribute a partition read (create, list) uses; the history, the attempt
/// ids and the index keys stay behind.
pub const PARTITION_READ: [&str; 37] = [
    keys::PK,
    keys::SK,
    // registry
    "intercom_id",
    "label",
    "gates",
    "entry_gate",
    "exit_gate",
    "max_users",
    "invite_duration_minutes",
    "exit_grace_minutes",
    "settings_updated_at",
    "settings_updated_by",
    "version",
    TIME_ZONE,
    // membership
    "role",
    // invites
    "intercom_label",
    "invite_id",
    "token_hash",
    "code",
    "guest_name",
    "guest_mobile",
    "created_by",
    "created_at",
    "expires_at",
    "exit_closes_at",
    "state",
    GUESSES,
    ENTRY_TRIES,
    EXIT_TRIES,
    EXIT_RELEASED,
    "sms_status",
    // idempotency records
    "fingerprint",
    "sealed_secret",
    // (the invite and registry share these names)
    "user",
    "revoked_at",
    "revoked_by",
    "expired_at",
];

/// The item of a newly created invite.
pub fn invite_to_item(invite: &Invite) -> Item {
    let mut item = key(keys::intercom_pk(&invite.intercom_id), keys::invite_sk(&invite.id));
    let purge_at = invite.exit_closes_at + INVITE_RETENTION;
    item.extend([
        ("intercom_id".to_owned(), s(invite.intercom_id.as_str())),
        ("intercom_label".to_owned(), s(&invite.intercom_label)),
        (TIME_ZONE.to_owned(), s(invite.time_zone.name())),
        ("invite_id".to_owned(), s(invite.id.as_str())),
        ("token_hash".to_owned(), s(&invite.token_hash.0)),
        ("code".to_owned(), s(invite.code.as_str())),
        ("guest_name".to_owned(), s(invite.guest_name.as_str())),
        ("guest_mobile".to_owned(), s(invite.guest_mobile.e164())),
        ("created_by".to_owned(), s(invite.created_by.as_str())),
        ("created_at".to_owned(), epoch(invite.created_at)),
        ("expires_at".to_owned(), epoch(invite.expires_at)),
        ("exit_closes_at".to_owned(), epoch(invite.exit_closes_at)),
        ("entry_gate".to_owned(), gate_snapshot(&invite.entry_gate)),
        ("exit_gate".to_owned(), gate_snapshot(&invite.exit_gate)),
        ("max_users".to_owned(), n(invite.max_users)),
        ("state".to_owned(), s(if invite.state == InviteState::Revoked { REVOKED } else { ACTIVE })),
        (GUESSES.to_owned(), n(invite.wrong_attempts)),
        (ATTEMPTS.to_owned(), AttributeValue::M(HashMap::new())),
        ("sms_status".to_owned(), s(invite.sms_status.as_str())),
        ("history".to_owned(), history_append("created", invite.created_by.as_str(), invite.created_at)),
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

pub fn invite_from_item(item: &Item) -> Result<Invite, ItemError> {
    let code = parse_attr(item, "code", AccessCode::parse)?;
    let entered = tries_include(item, ENTRY_TRIES, &code);
    let exited = tries_include(item, EXIT_TRIES, &code);
    let released = item.get(EXIT_RELEASED).and_then(|v| v.as_bool().ok()).copied().unwrap_or(false);
    let state = match get_s(item, "state")? {
        REVOKED => InviteState::Revoked,
        ACTIVE if exited => InviteState::Exited,
        ACTIVE if entered && released => InviteState::ExitFailed,
        ACTIVE if entered => InviteState::Entered,
        ACTIVE => InviteState::Unused,
        _ => return Err(bad("state")),
    };
    let guesses: u32 = get_n(item, GUESSES)?;
    let consuming_attempts = item
        .get(ATTEMPTS)
        .and_then(|v| v.as_m().ok())
        .map(|attempts| {
            attempts
                .iter()
                .filter(|(_, typed)| typed.as_s().is_ok_and(|t| t == code.as_str()))
                .map(|(key, _)| key.clone())
                .collect()
        })
        .unwrap_or_default();
    let wrong_attempts = guesses.saturating_sub(u32::from(entered) + u32::from(exited));
    Ok(Invite {
        intercom_id: parse_attr(item, "intercom_id", IntercomId::parse)?,
        intercom_label: get_s(item, "intercom_label")?.to_owned(),
        time_zone: parse_attr(item, TIME_ZONE, LocalZone::parse)?,
        id: parse_attr(item, "invite_id", InviteId::parse)?,
        token_hash: TokenHash(get_s(item, "token_hash")?.to_owned()),
        code,
        guest_name: GuestName::from_stored(get_s(item, "guest_name")?.to_owned()),
        guest_mobile: Mobile::from_stored(get_s(item, "guest_mobile")?.to_owned()),
        created_by: parse_attr(item, "created_by", UserId::parse)?,
        created_at: get_time(item, "created_at")?,
        expires_at: get_time(item, "expires_at")?,
        exit_closes_at: get_time(item, "exit_closes_at")?,
        entry_gate: gate_snapshot_from(item, "entry_gate")?,
        exit_gate: gate_snapshot_from(item, "exit_gate")?,
        max_users: get_n(item, "max_users")?,
        state,
        wrong_attempts,
        sms_status: match get_s(item, "sms_status")? {
            "failed" => SmsStatus::Failed,
            _ => SmsStatus::Requested,
        },
        consuming_attempts,
    })
}

// ---- idempotency -----------------------------------------------------------------

/// How long a create can be replayed under the same `Idempotency-Key`.
pub const IDEMPOTENCY_WINDOW: time::Duration = time::Duration::hours(24);

#[derive(Debug, Clone)]
pub struct IdempotencyRecord {
    pub key_hash: String,
    /// Hash of what was asked, so a reused key with another body is refused.
    pub fingerprint: String,
    pub invite_id: InviteId,
    /// The link secret, sealed with a pad only the original request can rebuild
    /// (see `handlers::create_invite`): the table alone never yields a working link.
    pub sealed_secret: Vec<u8>,
    pub created_at: OffsetDateTime,
}

pub fn idempotency_to_item(intercom: &IntercomId, record: &IdempotencyRecord) -> Item {
    let expires_at = record.created_at + IDEMPOTENCY_WINDOW;
    let mut item = key(keys::intercom_pk(intercom), keys::idempotency_sk(&record.key_hash, expires_at));
    item.extend([
        ("fingerprint".to_owned(), s(&record.fingerprint)),
        ("invite_id".to_owned(), s(record.invite_id.as_str())),
        ("sealed_secret".to_owned(), s(STANDARD.encode(&record.sealed_secret))),
        ("created_at".to_owned(), epoch(record.created_at)),
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
        fingerprint: get_s(item, "fingerprint")?.to_owned(),
        invite_id: parse_attr(item, "invite_id", InviteId::parse)?,
        sealed_secret: STANDARD.decode(get_s(item, "sealed_secret")?).map_err(|_| bad("sealed_secret"))?,
        created_at: get_time(item, "created_at")?,
    })
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
        assert_eq!(back.state, invite.state);
    }

    #[test]
    fn entry_and_exit_are_read_from_the_guesses() {
        let invite = invite_at(OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000));
        let mut item = invite_to_item(&invite);
        let tries = |codes: &[&str]| AttributeValue::Ss(codes.iter().map(|c| c.to_string()).collect());
        item.insert(ENTRY_TRIES.into(), tries(&["1111", "4821"]));
        item.insert(GUESSES.into(), n(3));
        let entered = invite_from_item(&item).unwrap();
        assert_eq!((entered.state, entered.wrong_attempts), (InviteState::Entered, 2));
        item.insert(EXIT_RELEASED.into(), AttributeValue::Bool(true));
        assert_eq!(invite_from_item(&item).unwrap().state, InviteState::ExitFailed);
        item.insert(EXIT_TRIES.into(), tries(&["4821"]));
        item.insert(GUESSES.into(), n(4));
        let exited = invite_from_item(&item).unwrap();
        assert_eq!((exited.state, exited.wrong_attempts), (InviteState::Exited, 2));
        item.insert("state".into(), s(REVOKED));
        assert_eq!(invite_from_item(&item).unwrap().state, InviteState::Revoked);
    }

    #[test]
    fn a_live_invite_is_in_the_slot_index_and_a_malformed_item_names_its_attribute() {
        let invite = invite_at(OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000));
        let mut item = invite_to_item(&invite);
        assert!(item.contains_key(keys::SLOT_INDEX_PK));
        item.insert(GUESSES.into(), s("five"));
        assert_eq!(invite_from_item(&item).unwrap_err().attribute, GUESSES);
    }
}
