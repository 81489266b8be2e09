//! Finding a guest's codes by their number, for an erasure, without making the
//! number findable by anyone else. Each code is indexed (`keys::guest_pk`) under a
//! keyed hash of its guest's E.164 number: HMAC-SHA256 under keys of their own
//! purpose (`OTA_GUEST_KEYS`). The 10^9 or so numbers of a country are quickly
//! tried against a plain hash; against this one, not without the key, which no
//! copy of the table holds. An old key kept second still finds the codes indexed
//! under it, until they are gone.

use super::keyring::{purpose_keys, Keyring};
use super::phone::Mobile;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

const PURPOSE: &str = "guest-lookup";

/// The keys of the guest lookup, the current one first.
#[derive(Debug, Clone)]
pub struct GuestKeys(Keyring);

purpose_keys!(GuestKeys);

impl GuestKeys {
    /// What a new code of `mobile`'s guest is indexed under (the current key).
    pub fn lookup(&self, mobile: &Mobile) -> String {
        let (_, secret) = self.0.current();
        encode(super::keyring::tag(secret, PURPOSE, &[mobile.e164().as_bytes()]).unwrap_or_default())
    }

    /// Every lookup `mobile`'s codes may be indexed under: one per key kept.
    pub fn lookups(&self, mobile: &Mobile) -> Vec<String> {
        self.0.tags(PURPOSE, &[mobile.e164().as_bytes()]).into_iter().map(encode).collect()
    }
}

/// 128 bits are plenty to tell numbers apart, and keep the index key short.
fn encode(tag: [u8; 32]) -> String {
    URL_SAFE_NO_PAD.encode(&tag[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "a1:0123456789abcdef0123456789abcdef";
    const B: &str = "b2:fedcba9876543210fedcba9876543210";

    #[test]
    fn a_number_is_found_under_every_key_kept_and_not_without_one() {
        let mobile = Mobile::from_stored("+27825550100".into());
        let old = GuestKeys::parse(A).unwrap();
        let rotated = GuestKeys::parse(&format!("{B},{A}")).unwrap();
        assert_eq!(rotated.lookups(&mobile), [rotated.lookup(&mobile), old.lookup(&mobile)]);
        assert_ne!(rotated.lookup(&mobile), old.lookup(&mobile), "new codes go under the new key");
        assert_ne!(old.lookup(&mobile), old.lookup(&Mobile::from_stored("+27825550101".into())));
        assert!(!GuestKeys::parse(B).unwrap().lookups(&mobile).contains(&old.lookup(&mobile)), "old key dropped");
        assert!(!old.lookup(&mobile).contains("825550100"));
    }
}
