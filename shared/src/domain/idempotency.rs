//! Idempotent create: a phone on a bad network retries with the same
//! `Idempotency-Key` and gets the same invite, code and link back.
//!
//! To rebuild the link for a replay, the link's secret is kept sealed with a pad
//! derived from the key, which is never stored: the table alone never yields a
//! working link.

use super::guest::GuestName;
use super::ids::{InviteId, UserId};
use super::phone::Mobile;
use super::token::hex;
use sha2::{Digest, Sha256};

/// A client-chosen retry key, 16 to 128 printable ASCII characters (a UUID fits).
/// It must be unguessable: it seals the link secret kept for replays.
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(raw: &str) -> Option<Self> {
        let valid = (16..=128).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_graphic());
        valid.then(|| Self(raw.to_owned()))
    }

    /// What the record is stored under: one caller's key, not the key itself.
    pub fn record_hash(&self, user: &UserId) -> String {
        hex(&Sha256::new().chain_update(user.as_str()).chain_update([0]).chain_update(&self.0).finalize())
    }

    fn pad(&self, user: &UserId, invite: &InviteId) -> [u8; 16] {
        let digest = Sha256::new()
            .chain_update(b"ota-link-seal\0")
            .chain_update(&self.0)
            .chain_update([0])
            .chain_update(user.as_str())
            .chain_update([0])
            .chain_update(invite.as_str())
            .finalize();
        let mut pad = [0u8; 16];
        pad.copy_from_slice(&digest[..16]);
        pad
    }

    pub fn seal(&self, secret: &[u8; 16], user: &UserId, invite: &InviteId) -> Vec<u8> {
        let pad = self.pad(user, invite);
        secret.iter().zip(pad).map(|(s, p)| s ^ p).collect()
    }

    /// The secret again, given the same key; `None` if the stored bytes are damaged.
    pub fn unseal(&self, sealed: &[u8], user: &UserId, invite: &InviteId) -> Option<[u8; 16]> {
        let sealed: &[u8; 16] = sealed.try_into().ok()?;
        let pad = self.pad(user, invite);
        Some(std::array::from_fn(|i| sealed[i] ^ pad[i]))
    }
}

/// What was asked, so a key reused for another guest is refused.
pub fn fingerprint(name: &GuestName, mobile: &Mobile) -> String {
    hex(&Sha256::new().chain_update(name.as_str()).chain_update([0]).chain_update(mobile.e164()).finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_same_key_unseals_the_secret() {
        let (user, invite) = (UserId::parse("owner").unwrap(), InviteId::generate(time::OffsetDateTime::UNIX_EPOCH));
        let key = IdempotencyKey::parse("0b1c9d1e-3f41-4a7f-9c2e-5d0a2f0c7e11").unwrap();
        let secret = [7u8; 16];
        let sealed = key.seal(&secret, &user, &invite);
        assert_ne!(sealed, secret.to_vec());
        assert_eq!(key.unseal(&sealed, &user, &invite), Some(secret));
        let other = IdempotencyKey::parse("0b1c9d1e-3f41-4a7f-9c2e-5d0a2f0c7e12").unwrap();
        assert_ne!(other.unseal(&sealed, &user, &invite), Some(secret));
    }

    #[test]
    fn keys_are_16_to_128_visible_ascii_characters() {
        assert!(IdempotencyKey::parse("short").is_none());
        assert!(IdempotencyKey::parse(&"k".repeat(129)).is_none());
        assert!(IdempotencyKey::parse("0b1c9d1e 3f41 4a7f").is_none());
    }
}
