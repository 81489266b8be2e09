//! The guest's link token: the key to an invite. The 4-digit code is the second factor.
//!
//! A token is `<intercom id>.<invite id>.<secret>`: the two ids say where the
//! invite item is (so the guest's page costs one read, without a lookup item), the
//! secret (16 bytes) proves the holder was sent the link: 88 bits from the OS-seeded
//! CSPRNG and a 40-bit tag, an HMAC under the link keys ([`LinkKeys`]) of the
//! rest. The tag lets the guest functions refuse a forged token before any read: a
//! flood of made-up tokens costs no DynamoDB request. The intercom id is no secret:
//! it is in the QR code's address. Only the SHA-256 of the whole token is stored. It
//! travels in the URL fragment, which browsers never send to a server nor put in a
//! Referer header.

use super::ids::{IntercomId, InviteId};
use super::keyring::Keyring;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::fmt;

const SECRET_BYTES: usize = 16;
/// The secret's last bytes: the tag. 2^40 guesses per forged token that reaches a read.
const TAG_BYTES: usize = 5;

/// The server-held keys that tag link tokens (`OTA_LINK_KEYS`, a [`Keyring`]):
/// create-invite tags with the first, the guest functions check against every one,
/// so a key is dropped once the links it tagged have ended (the longest invite plus
/// its exit grace). They tag and nothing else: unsealing a kept link secret needs
/// the seal keys (`domain::idempotency::SealKeys`), which no guest function holds.
#[derive(Clone, Debug)]
pub struct LinkKeys(Keyring);

super::keyring::purpose_keys!(LinkKeys);

impl LinkKeys {
    /// HMAC-SHA256 of a token's parts under each key, the current one first (a link
    /// made before a rotation still checks out while its key is configured).
    fn tags(&self, parts: &[&[u8]]) -> Vec<[u8; 32]> {
        self.0.tags("ota-link-tag", parts)
    }
}

#[derive(Clone, PartialEq, Eq)]
pub struct LinkToken {
    intercom_id: IntercomId,
    invite_id: InviteId,
    secret: [u8; SECRET_BYTES],
}

/// Hex SHA-256 of a token: what the table keeps instead of the token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenHash(pub String);

impl LinkToken {
    pub fn generate(intercom_id: IntercomId, invite_id: InviteId, keys: &LinkKeys) -> Self {
        let mut secret = [0u8; SECRET_BYTES];
        rand::rng().fill_bytes(&mut secret[..SECRET_BYTES - TAG_BYTES]);
        let mut token = Self { intercom_id, invite_id, secret };
        let tag = keys.tags(&token.tagged_parts()).into_iter().next().unwrap_or_default();
        token.secret[SECRET_BYTES - TAG_BYTES..].copy_from_slice(&tag[..TAG_BYTES]);
        token
    }

    /// What the tag covers: both ids and the random part of the secret.
    fn tagged_parts(&self) -> [&[u8]; 3] {
        [
            self.intercom_id.as_str().as_bytes(),
            self.invite_id.as_str().as_bytes(),
            &self.secret[..SECRET_BYTES - TAG_BYTES],
        ]
    }

    /// Whether one of the server's keys made this token (no keys: none is).
    pub fn is_genuine(&self, keys: Option<&LinkKeys>) -> bool {
        let Some(keys) = keys else { return false };
        let tag = &self.secret[SECRET_BYTES - TAG_BYTES..];
        // Not constant-time: a timing oracle on a 40-bit tag across the internet, behind
        // per-address rate limits, gains less than guessing does.
        keys.tags(&self.tagged_parts()).iter().any(|expected| &expected[..TAG_BYTES] == tag)
    }

    pub fn parse(raw: &str) -> Option<Self> {
        let mut parts = raw.split('.');
        let (intercom, id, secret) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let intercom_id = IntercomId::parse(intercom)?;
        let invite_id = InviteId::parse(id)?;
        let secret: [u8; SECRET_BYTES] = URL_SAFE_NO_PAD.decode(secret).ok()?.try_into().ok()?;
        Some(Self { intercom_id, invite_id, secret })
    }

    pub fn intercom_id(&self) -> &IntercomId {
        &self.intercom_id
    }

    pub fn invite_id(&self) -> &InviteId {
        &self.invite_id
    }

    pub fn secret(&self) -> &[u8; SECRET_BYTES] {
        &self.secret
    }

    pub fn with_secret(intercom_id: IntercomId, invite_id: InviteId, secret: [u8; SECRET_BYTES]) -> Self {
        Self { intercom_id, invite_id, secret }
    }

    /// The token as it appears in the link.
    pub fn expose(&self) -> String {
        format!("{}.{}.{}", self.intercom_id, self.invite_id, URL_SAFE_NO_PAD.encode(self.secret))
    }

    pub fn hash(&self) -> TokenHash {
        // base64url, not hex: 43 characters instead of 64 on every invite item.
        TokenHash(URL_SAFE_NO_PAD.encode(Sha256::digest(self.expose().as_bytes())))
    }
}

impl fmt::Debug for LinkToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LinkToken({}.{}.<redacted>)", self.intercom_id, self.invite_id)
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fresh() -> LinkToken {
        LinkToken::generate(
            IntercomId::parse("ic-demo").unwrap(),
            InviteId::generate(time::OffsetDateTime::UNIX_EPOCH),
            &LinkKeys::random(),
        )
    }

    #[test]
    fn only_a_token_the_servers_keys_made_is_genuine() {
        let keys = LinkKeys::random();
        let (intercom, id) = (IntercomId::parse("ic").unwrap(), InviteId::generate(time::OffsetDateTime::UNIX_EPOCH));
        let token = LinkToken::generate(intercom.clone(), id.clone(), &keys);
        assert!(token.is_genuine(Some(&keys)));
        assert!(!token.is_genuine(Some(&LinkKeys::random())), "another server's keys");
        assert!(!token.is_genuine(None));
        let mut forged = *token.secret();
        forged[0] ^= 1;
        assert!(!LinkToken::with_secret(intercom.clone(), id, forged).is_genuine(Some(&keys)));
        let other_invite = InviteId::generate(time::OffsetDateTime::UNIX_EPOCH);
        assert!(!LinkToken::with_secret(intercom, other_invite, *token.secret()).is_genuine(Some(&keys)));
    }

    #[test]
    fn a_link_tagged_before_a_rotation_checks_out_while_its_key_is_kept_second() {
        let (old, new) = ("old:0123456789abcdef0123456789abcdef", "new:fedcba9876543210fedcba9876543210");
        let (intercom, id) = (IntercomId::parse("ic").unwrap(), InviteId::generate(time::OffsetDateTime::UNIX_EPOCH));
        let before = LinkToken::generate(intercom.clone(), id.clone(), &LinkKeys::parse(old).unwrap());
        let overlapping = LinkKeys::parse(&format!("{new},{old}")).unwrap();
        assert!(before.is_genuine(Some(&overlapping)));
        let after = LinkToken::generate(intercom, id, &overlapping);
        assert!(after.is_genuine(Some(&LinkKeys::parse(new).unwrap())), "new links are tagged by the new key");
        assert!(!before.is_genuine(Some(&LinkKeys::parse(new).unwrap())), "once the old key is dropped");
    }

    #[test]
    fn tokens_round_trip_through_their_text() {
        let token = fresh();
        let text = token.expose();
        assert_eq!(LinkToken::parse(&text), Some(token.clone()));
        assert_eq!(text.len(), "ic-demo".len() + 1 + InviteId::LEN + 1 + 22);
        assert_eq!(token.hash().0.len(), 43, "SHA-256 in base64url");
    }

    #[test]
    fn two_tokens_for_the_same_invite_differ() {
        let (intercom, id) = (IntercomId::parse("ic").unwrap(), InviteId::generate(time::OffsetDateTime::UNIX_EPOCH));
        let keys = LinkKeys::random();
        assert_ne!(
            LinkToken::generate(intercom.clone(), id.clone(), &keys).hash(),
            LinkToken::generate(intercom, id, &keys).hash()
        );
    }

    #[test]
    fn malformed_tokens_are_refused() {
        let good = fresh().expose();
        let (_, without_intercom) = good.split_once('.').unwrap();
        for bad in [
            "",
            "abc",
            "abc.def",
            without_intercom,
            &good[..good.len() - 1],
            &format!("{good}A"),
            &format!("{good}.x"),
            &good.replace('.', ""),
        ] {
            assert!(LinkToken::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let token = fresh();
        let secret = token.expose().rsplit_once('.').unwrap().1.to_owned();
        assert!(!format!("{token:?}").contains(&secret));
    }
}
