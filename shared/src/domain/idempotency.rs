//! Idempotent create: a phone on a bad network retries with the same
//! `Idempotency-Key` and gets the same invite, code and link back.
//!
//! To rebuild the link for a replay, the link's secret is kept sealed with a pad
//! derived, with a server-held secret ([`SealKeys`]), from the key, which is never
//! stored. A copy of the table alone never yields a working link, not even by
//! guessing a weak key: that needs the server's secret too.

use super::guest::GuestName;
use super::ids::{InviteId, UserId};
use super::keyring::{self, Keyring};
use super::phone::Mobile;
use super::token::hex;
use sha2::{Digest, Sha256};

/// The server-held secrets that seal the link secrets kept for the SMS sender and for
/// replays (`OTA_SEAL_KEYS`, a [`Keyring`]; create-invite and sms-sender only). The
/// first seals; a sealed value names the key that sealed it, so a key is dropped once
/// what it sealed has ended (the longest invite plus its exit grace, and the one-day
/// replay window). Link tags have keys of their own (`domain::token::LinkKeys`).
#[derive(Clone, Debug)]
pub struct SealKeys(Keyring);

super::keyring::purpose_keys!(SealKeys);

impl SealKeys {
    /// The link secret of `invite`, sealed under the current key, kept on the invite
    /// so the SMS sender (and an owner's resend) can send the same link again. The
    /// table alone never yields it: unsealing needs the server's key.
    pub fn seal_link(&self, secret: &[u8; 16], invite: &InviteId) -> Option<Sealed> {
        let (key_id, server_secret) = self.0.current();
        let pad = link_pad(server_secret, invite)?;
        Some(Sealed { key_id: key_id.to_owned(), bytes: secret.iter().zip(pad).map(|(s, p)| s ^ p).collect() })
    }

    pub fn unseal_link(&self, sealed: &Sealed, invite: &InviteId) -> Option<[u8; 16]> {
        let bytes: &[u8; 16] = sealed.bytes.as_slice().try_into().ok()?;
        let pad = link_pad(self.get(&sealed.key_id)?, invite)?;
        Some(std::array::from_fn(|i| bytes[i] ^ pad[i]))
    }

    fn current(&self) -> (&str, &[u8]) {
        self.0.current()
    }

    fn get(&self, id: &str) -> Option<&[u8]> {
        self.0.get(id)
    }
}

fn link_pad(server_secret: &[u8], invite: &InviteId) -> Option<[u8; 16]> {
    let full = keyring::tag(server_secret, "ota-invite-link", &[invite.as_str().as_bytes()])?;
    let mut pad = [0u8; 16];
    pad.copy_from_slice(&full[..16]);
    Some(pad)
}

/// A sealed link secret and the id of the server key that sealed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub key_id: String,
    pub bytes: Vec<u8>,
}

/// A client-chosen retry key, 16 to 128 printable ASCII characters (a UUID fits).
/// It must be unguessable: it seals the link secret kept for replays.
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(raw: &str) -> Option<Self> {
        let valid = (16..=128).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_graphic());
        valid.then(|| Self(raw.to_owned()))
    }

    /// A fresh key, for a request that came without one.
    pub fn random() -> Self {
        Self(format!("{:032x}", rand::random::<u128>()))
    }

    /// What the record is stored under: one caller's key, not the key itself.
    pub fn record_hash(&self, user: &UserId) -> String {
        hex(&Sha256::new().chain_update(user.as_str()).chain_update([0]).chain_update(&self.0).finalize())
    }

    /// HMAC-SHA256 under the server's secret of the client's key, the caller and
    /// the invite: both halves are needed to rebuild it.
    fn pad(&self, server_secret: &[u8], user: &UserId, invite: &InviteId) -> Option<[u8; 16]> {
        let parts = [self.0.as_bytes(), user.as_str().as_bytes(), invite.as_str().as_bytes()];
        let digest = keyring::tag(server_secret, "ota-link-seal", &parts)?;
        let mut pad = [0u8; 16];
        pad.copy_from_slice(&digest[..16]);
        Some(pad)
    }

    pub fn seal(&self, keys: &SealKeys, secret: &[u8; 16], user: &UserId, invite: &InviteId) -> Option<Sealed> {
        let (key_id, server_secret) = keys.current();
        let pad = self.pad(server_secret, user, invite)?;
        Some(Sealed { key_id: key_id.to_owned(), bytes: secret.iter().zip(pad).map(|(s, p)| s ^ p).collect() })
    }

    /// The secret again, given the same key; `None` if the sealing server key is
    /// no longer configured or the stored bytes are damaged.
    pub fn unseal(&self, keys: &SealKeys, sealed: &Sealed, user: &UserId, invite: &InviteId) -> Option<[u8; 16]> {
        let bytes: &[u8; 16] = sealed.bytes.as_slice().try_into().ok()?;
        let pad = self.pad(keys.get(&sealed.key_id)?, user, invite)?;
        Some(std::array::from_fn(|i| bytes[i] ^ pad[i]))
    }
}

/// What was asked, so a key reused for another guest is refused.
pub fn fingerprint(name: &GuestName, mobile: &Mobile, choices: &[&str]) -> String {
    let mut digest = Sha256::new().chain_update(name.as_str()).chain_update([0]).chain_update(mobile.e164());
    // Choices left at their defaults are empty: such a request fingerprints as
    // before the choices existed.
    for choice in choices.iter().filter(|choice| !choice.is_empty()) {
        digest = digest.chain_update([0]).chain_update(choice);
    }
    hex(&digest.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_same_key_and_the_servers_secret_unseal_the_secret() {
        let (user, invite) = (UserId::parse("owner").unwrap(), InviteId::generate(time::OffsetDateTime::UNIX_EPOCH));
        let key = IdempotencyKey::parse("0b1c9d1e-3f41-4a7f-9c2e-5d0a2f0c7e11").unwrap();
        let server = SealKeys::random();
        let secret = [7u8; 16];
        let sealed = key.seal(&server, &secret, &user, &invite).unwrap();
        assert_ne!(sealed.bytes, secret.to_vec());
        assert_eq!(key.unseal(&server, &sealed, &user, &invite), Some(secret));
        let other = IdempotencyKey::parse("0b1c9d1e-3f41-4a7f-9c2e-5d0a2f0c7e12").unwrap();
        assert_ne!(other.unseal(&server, &sealed, &user, &invite), Some(secret));
        // A table copy and the right (weak, guessed) key are not enough.
        let elsewhere = SealKeys::parse(&format!("{}:{}", sealed.key_id, "1".repeat(32))).unwrap();
        assert_ne!(key.unseal(&elsewhere, &sealed, &user, &invite), Some(secret));
    }

    #[test]
    fn a_rotated_key_still_unseals_what_it_sealed_until_it_is_dropped() {
        let (user, invite) = (UserId::parse("owner").unwrap(), InviteId::generate(time::OffsetDateTime::UNIX_EPOCH));
        let key = IdempotencyKey::parse("0b1c9d1e-3f41-4a7f-9c2e-5d0a2f0c7e11").unwrap();
        let (one, two) = ("a".repeat(32), "b".repeat(40));
        let old = SealKeys::parse(&format!("k1:{one}")).unwrap();
        let sealed = key.seal(&old, &[9u8; 16], &user, &invite).unwrap();
        let rotated = SealKeys::parse(&format!("k2:{two}, k1:{one}")).unwrap();
        assert_eq!(key.unseal(&rotated, &sealed, &user, &invite), Some([9u8; 16]));
        assert_eq!(key.seal(&rotated, &[9u8; 16], &user, &invite).unwrap().key_id, "k2", "new records use the newest");
        let dropped = SealKeys::parse(&format!("k2:{two}")).unwrap();
        assert_eq!(key.unseal(&dropped, &sealed, &user, &invite), None);
        assert!(SealKeys::parse("k1:short").is_err(), "too short");
        assert!(format!("{rotated:?}").contains("k2") && !format!("{rotated:?}").contains(&two), "Debug hides secrets");
    }

    #[test]
    fn an_invites_link_secret_unseals_only_with_the_server_key_and_for_that_invite() {
        let at = time::OffsetDateTime::UNIX_EPOCH;
        let (invite, other) = (InviteId::generate(at), InviteId::generate(at));
        let server = SealKeys::random();
        let sealed = server.seal_link(&[5u8; 16], &invite).unwrap();
        assert_ne!(sealed.bytes, vec![5u8; 16]);
        assert_eq!(server.unseal_link(&sealed, &invite), Some([5u8; 16]));
        assert_ne!(server.unseal_link(&sealed, &other), Some([5u8; 16]));
        assert_ne!(SealKeys::random().unseal_link(&sealed, &invite), Some([5u8; 16]));
    }

    #[test]
    fn keys_are_16_to_128_visible_ascii_characters() {
        assert!(IdempotencyKey::parse("short").is_none());
        assert!(IdempotencyKey::parse(&"k".repeat(129)).is_none());
        assert!(IdempotencyKey::parse("0b1c9d1e 3f41 4a7f").is_none());
    }
}
