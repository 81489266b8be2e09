//! Identifiers. Each is built only through `parse` (or generated), so a key
//! separator or an oversized string can never reach a DynamoDB key.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use std::fmt;

fn is_slug(s: &str, max: usize) -> bool {
    (1..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

macro_rules! slug_id {
    ($(#[$doc:meta])* $name:ident, $max:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            pub fn parse(raw: &str) -> Option<Self> {
                is_slug(raw, $max).then(|| Self(raw.to_owned()))
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

slug_id!(
    /// A Fluss+ Intercom, as printed under its QR code: letters, digits, `-`, `_`.
    IntercomId,
    40
);
slug_id!(
    /// A Fluss+ gate device registered to an intercom.
    DeviceId,
    40
);

/// An IoT Core thing name (`[a-zA-Z0-9:_-]{1,128}`), the gate's device shadow.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ThingName(String);

impl ThingName {
    pub fn parse(raw: &str) -> Option<Self> {
        let valid = (1..=128).contains(&raw.len())
            && raw.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b':' | b'_' | b'-'));
        valid.then(|| Self(raw.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The app user, the JWT `sub` claim as API Gateway's authorizer passes it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserId(String);

impl UserId {
    pub fn parse(raw: &str) -> Option<Self> {
        let valid = (1..=128).contains(&raw.len()) && !raw.chars().any(char::is_control);
        valid.then(|| Self(raw.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An invite's public id: when its exit window closes (36 bits of epoch seconds)
/// and 28 random bits, base64url. It names the invite to the owner (list, revoke)
/// and is part of the guest's link token; it grants nothing alone. Carrying the
/// time lets the invite's table key be built from the id alone (see
/// `keys::invite_sk`), which keeps ended invites out of the range creates and
/// lists read.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InviteId(String);

const RANDOM_BITS: u32 = 28;

impl InviteId {
    pub const LEN: usize = 11;

    pub fn generate(window_closes: time::OffsetDateTime) -> Self {
        let seconds = u64::try_from(window_closes.unix_timestamp()).unwrap_or(0) & ((1 << 36) - 1);
        let random = rand::rng().next_u32() & ((1 << RANDOM_BITS) - 1);
        let value = (seconds << RANDOM_BITS) | u64::from(random);
        Self(URL_SAFE_NO_PAD.encode(value.to_be_bytes()))
    }

    pub fn parse(raw: &str) -> Option<Self> {
        let decoded = URL_SAFE_NO_PAD.decode(raw).ok()?;
        (raw.len() == Self::LEN && decoded.len() == 8).then(|| Self(raw.to_owned()))
    }

    /// When the invite's exit window closes (epoch seconds), as encoded in the id.
    pub fn window_closes(&self) -> i64 {
        let bytes: [u8; 8] = URL_SAFE_NO_PAD.decode(&self.0).ok().and_then(|b| b.try_into().ok()).unwrap_or_default();
        i64::try_from(u64::from_be_bytes(bytes) >> RANDOM_BITS).unwrap_or(0)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for InviteId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_refuse_key_separators_and_odd_characters() {
        assert!(IntercomId::parse("ic-demo_1").is_some());
        for bad in ["", "a#b", "ic demo", "ic/../x", "é", &"x".repeat(41)] {
            assert!(IntercomId::parse(bad).is_none(), "{bad:?} accepted");
        }
    }

    #[test]
    fn invite_ids_round_trip_carry_their_window_and_reject_other_lengths() {
        let closes = time::macros::datetime!(2026-11-26 10:55:29 UTC);
        let id = InviteId::generate(closes);
        assert_eq!(InviteId::parse(id.as_str()), Some(id.clone()));
        assert_eq!(id.window_closes(), closes.unix_timestamp());
        assert_ne!(InviteId::generate(closes), id, "random part");
        assert!(InviteId::parse("short").is_none());
        assert!(InviteId::parse("!!!!!!!!!!!").is_none());
    }

    #[test]
    fn user_ids_refuse_control_characters() {
        assert!(UserId::parse("auth0|abc").is_some());
        assert!(UserId::parse("a\nb").is_none());
        assert!(UserId::parse("").is_none());
    }
}
