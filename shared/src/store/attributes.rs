//! Attribute values, and reading them back from items: the vocabulary every
//! aggregate's mapping uses. A stored item that does not have the shape this code
//! writes is an [`ItemError`] naming the attribute, never a panic.

use crate::keys;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;
use std::str::FromStr;
use thiserror::Error;
use time::OffsetDateTime;

/// Every attribute name the service writes, in one place. Expressions use
/// `#placeholders` bound to these.
pub mod names {
    /// Every code a guest typed at entry / at exit (string sets), and how many
    /// attempts each counted. See `Store::record_attempt` for why.
    pub const ENTRY_TRIES: &str = "entry_tries";
    pub const EXIT_TRIES: &str = "exit_tries";
    pub const ENTRY_GUESSES: &str = "entry_guesses";
    pub const EXIT_GUESSES: &str = "exit_guesses";
    /// When the gate reported opening for the entry / the exit (its word decides).
    pub const ENTRY_OPENED: &str = "entry_opened";
    pub const EXIT_OPENED: &str = "exit_opened";
    /// The last attempt recorded for each passage, and when: the consuming one's
    /// command id and issue time while it is provisional.
    pub const ENTRY_ATTEMPT: &str = "entry_attempt";
    pub const EXIT_ATTEMPT: &str = "exit_attempt";
    pub const ENTRY_AT: &str = "entry_at";
    pub const EXIT_AT: &str = "exit_at";
    /// How many of each passage's commands were given back: sent and not opened
    /// (the gate said so, or never answered), and never sent (offline, refused).
    pub const ENTRY_GIVEN_BACK: &str = "entry_given_back";
    pub const EXIT_GIVEN_BACK: &str = "exit_given_back";
    pub const ENTRY_NOT_SENT: &str = "entry_not_sent";
    pub const EXIT_NOT_SENT: &str = "exit_not_sent";
    /// The exit's growing pause after its free wrong codes: the pause the next
    /// attempt will set, and the time before which no attempt is accepted.
    pub const EXIT_PAUSE: &str = "exit_pause";
    pub const EXIT_NOT_BEFORE: &str = "exit_not_before";
    /// Set once an exit was accepted and then given back: the guest may exit again,
    /// but the invite no longer holds a place (someone else may have taken it).
    pub const EXIT_RELEASED: &str = "exit_released";
    /// Map from each attempt's key (`AttemptKey`: press, redemption, code typed) to
    /// when it was recorded; an attempt's entry decides its door command.
    pub const ATTEMPTS: &str = "attempts";
    /// A gate's presence item: whether its last lifecycle event was a connect, that
    /// event's version and time.
    pub const CONNECTED: &str = "connected";
    pub const EVENT_VERSION: &str = "event_version";
    pub const EVENT_AT: &str = "event_at";
    /// The MQTT session of the last lifecycle event (`sessionIdentifier`), for operators.
    pub const EVENT_SESSION: &str = "event_session";
    /// When something only a connected gate can do (a report) last reached the
    /// backend, by IoT Core's clock (milliseconds): proves it online after a
    /// disconnect whose reconnect has not arrived yet.
    pub const PROVEN_ONLINE_AT: &str = "proven_online_at";
    /// Set while a gate counts as offline (the sweep declared it): when its link dropped.
    pub const OFFLINE_SINCE: &str = "offline_since";

    /// The attributes of one passage.
    pub struct Passage {
        pub tries: &'static str,
        pub guesses: &'static str,
        pub opened: &'static str,
        pub attempt: &'static str,
        pub at: &'static str,
        pub given_back: &'static str,
        pub not_sent: &'static str,
    }

    pub const ENTRY: Passage = Passage {
        tries: ENTRY_TRIES,
        guesses: ENTRY_GUESSES,
        opened: ENTRY_OPENED,
        attempt: ENTRY_ATTEMPT,
        at: ENTRY_AT,
        given_back: ENTRY_GIVEN_BACK,
        not_sent: ENTRY_NOT_SENT,
    };
    pub const EXIT: Passage = Passage {
        tries: EXIT_TRIES,
        guesses: EXIT_GUESSES,
        opened: EXIT_OPENED,
        attempt: EXIT_ATTEMPT,
        at: EXIT_AT,
        given_back: EXIT_GIVEN_BACK,
        not_sent: EXIT_NOT_SENT,
    };

    pub fn passage(redemption: crate::domain::redemption::Redemption) -> &'static Passage {
        match redemption {
            crate::domain::redemption::Redemption::Entry => &ENTRY,
            crate::domain::redemption::Redemption::Exit => &EXIT,
        }
    }
    /// The IANA time zone, on the registry item and on each invite.
    pub const TIME_ZONE: &str = "time_zone";
    pub const ACTOR: &str = "actor";
    pub const AT: &str = "at";
    pub const CODE: &str = "code";
    pub const CREATED_AT: &str = "created_at";
    pub const CREATED_BY: &str = "created_by";
    pub const DEVICE: &str = "device";
    pub const ENTRY_GATE: &str = "entry_gate";
    pub const EVENT: &str = "event";
    pub const EXIT_CLOSES_AT: &str = "exit_closes_at";
    pub const EXIT_GATE: &str = "exit_gate";
    pub const EXIT_GRACE_MINUTES: &str = "exit_grace_minutes";
    pub const EXPIRED_AT: &str = "expired_at";
    pub const EXPIRES_AT: &str = "expires_at";
    pub const FACT_ID: &str = "fact_id";
    pub const FINGERPRINT: &str = "fingerprint";
    pub const GATE: &str = "gate";
    pub const GATES: &str = "gates";
    pub const GUEST_MOBILE: &str = "guest_mobile";
    /// The invite that holds a place or reserves a code (place and code items).
    pub const HOLDER: &str = "holder";
    /// When a place's holder may let it go (its earliest end), or a code is free again.
    pub const FREE_AT: &str = "free_at";
    pub const GUEST_NAME: &str = "guest_name";
    /// An erasure log entry's keyed hashes of the number (`domain::guest_lookup`).
    pub const LOOKUPS: &str = "lookups";
    /// On an invite and its SMS item whose guest was erased: when (their name and
    /// number are gone; readers treat the code as no longer there).
    pub const GUEST_ERASED_AT: &str = "guest_erased_at";
    /// On the registry: the language new codes' guests read unless the owner chooses.
    pub const GUEST_LANGUAGE: &str = "guest_language";
    /// On an invite: the language its guest reads.
    pub const LANGUAGE: &str = "language";
    /// On an invite: who invited the guest (`store::details`).
    pub const HOST: &str = "host";
    /// On the registry and each invite: where the gate is (`store::details`).
    pub const LOCATION: &str = "location";
    pub const HISTORY: &str = "history";
    pub const INTERCOM_ID: &str = "intercom_id";
    pub const INTERCOM_LABEL: &str = "intercom_label";
    pub const INVITE_DURATION_MINUTES: &str = "invite_duration_minutes";
    pub const INVITE_ID: &str = "invite_id";
    pub const KIND: &str = "kind";
    pub const LABEL: &str = "label";
    /// An invite's link secret, sealed under the server key (`SealKeys::seal_link`).
    pub const LINK_SEAL: &str = "link_seal";
    pub const MAX_USERS: &str = "max_users";
    /// An invite's place number (invites made before places have none).
    pub const PLACE: &str = "place";
    /// On the registry: how many places are laid out (equal to Max Users once done).
    pub const PLACES: &str = "places";
    /// On the registry: how many listed places are over Max Users, each to be taken
    /// out of the index once it is free (`store::places::layout`); absent: none.
    pub const PLACES_SURPLUS: &str = "places_surplus";
    /// On the registry: guest SMS allowances provisioning set for this intercom.
    pub const SMS_PER_INTERCOM_PER_HOUR: &str = "sms_per_intercom_per_hour";
    pub const SMS_PER_USER_PER_HOUR: &str = "sms_per_user_per_hour";
    pub const REASON: &str = "reason";
    pub const REVOKED_AT: &str = "revoked_at";
    pub const REVOKED_BY: &str = "revoked_by";
    pub const ROLE: &str = "role";
    pub const SEALED_SECRET: &str = "sealed_secret";
    /// Which server key sealed `sealed_secret` (see `domain::idempotency::SealKeys`).
    pub const SEAL_KEY: &str = "seal_key";
    pub const SETTINGS_UPDATED_AT: &str = "settings_updated_at";
    pub const SETTINGS_UPDATED_BY: &str = "settings_updated_by";
    /// SMS requests (the first, then resends) the SMS sender has handled.
    pub const SMS_HANDLED: &str = "sms_handled";
    /// The SMS request a sender has claimed and is handing to SNS, and since when.
    pub const SMS_CLAIM: &str = "sms_claim";
    pub const SMS_CLAIMED_AT: &str = "sms_claimed_at";
    /// Why the latest SMS failed (its class), while it stands failed.
    pub const SMS_FAILURE: &str = "sms_failure";
    pub const SMS_MESSAGE_ID: &str = "sms_message_id";
    /// The (shortened) idempotency keys of the resends asked for an invite.
    pub const SMS_RESEND_KEYS: &str = "sms_resend_keys";
    pub const SMS_STATUS: &str = "sms_status";
    /// Guest SMS counted in one clock hour (SMS counter items).
    pub const SMS_COUNT: &str = "sms_count";
    pub const STARTS_AT: &str = "starts_at";
    pub const STATE: &str = "state";
    pub const THING: &str = "thing";
    pub const TOKEN_HASH: &str = "token_hash";
    pub const USER: &str = "user";
    pub const VERSION: &str = "version";
}

pub type Item = HashMap<String, AttributeValue>;

/// A stored item that does not have the shape this code writes. Never a client's
/// fault: it surfaces as an internal error naming the attribute.
#[derive(Debug, Error)]
#[error("stored item attribute {attribute:?} is missing or malformed")]
pub struct ItemError {
    pub attribute: String,
}

pub(crate) fn bad(attribute: &str) -> ItemError {
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

pub(crate) fn get_s<'i>(item: &'i Item, name: &str) -> Result<&'i str, ItemError> {
    item.get(name).and_then(|v| v.as_s().ok()).map(String::as_str).ok_or_else(|| bad(name))
}

pub(crate) fn get_n<T: FromStr>(item: &Item, name: &str) -> Result<T, ItemError> {
    item.get(name).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok()).ok_or_else(|| bad(name))
}

pub(crate) fn get_time(item: &Item, name: &str) -> Result<OffsetDateTime, ItemError> {
    OffsetDateTime::from_unix_timestamp(get_n(item, name)?).map_err(|_| bad(name))
}

/// An attribute that may be absent (`None`), but is well-formed where present.
pub(crate) fn get_optional<T>(
    item: &Item,
    name: &str,
    read: impl Fn(&Item, &str) -> Result<T, ItemError>,
) -> Result<Option<T>, ItemError> {
    item.contains_key(name).then(|| read(item, name)).transpose()
}

pub(crate) fn parse_attr<T>(item: &Item, name: &str, parse: impl Fn(&str) -> Option<T>) -> Result<T, ItemError> {
    parse(get_s(item, name)?).ok_or_else(|| bad(name))
}

pub fn key(pk: String, sk: impl Into<String>) -> Item {
    HashMap::from([(keys::PK.to_owned(), s(pk)), (keys::SK.to_owned(), s(sk))])
}

pub fn sort_key(item: &Item) -> Option<&str> {
    item.get(keys::SK).and_then(|v| v.as_s().ok()).map(String::as_str)
}
