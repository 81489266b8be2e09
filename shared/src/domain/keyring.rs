//! A set of server-held secrets for one purpose, newest first, as the environment
//! gives them (`<id>:<secret>`, comma-separated; a secret is at least 32 visible
//! ASCII characters, e.g. what Secrets Manager generates). The first key makes new
//! tags; a tag is checked against every key, so a key is rotated by putting a new
//! one first and dropping the old one once nothing it tagged is still in use.
//!
//! Each purpose has its own keyring and its own environment variable (see
//! `config::Config`), so a function holds only the keys of what it does, and a
//! tag made for one purpose never checks out for another (each MAC also starts
//! with its purpose's name).

use hmac::{Hmac, Mac};
use sha2::Sha256;

#[derive(Clone)]
pub struct Keyring(Vec<(String, Vec<u8>)>);

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.0.iter().map(|(id, _)| id.as_str()).collect();
        f.debug_tuple("Keyring").field(&ids).finish()
    }
}

impl Keyring {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let keys = raw
            .split(',')
            .map(|entry| {
                let (id, secret) = entry.trim().split_once(':').ok_or("each key is <id>:<secret>")?;
                let valid_id = (1..=16).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric());
                if !valid_id {
                    return Err("a key id is 1 to 16 letters and digits".to_owned());
                }
                if secret.len() < 32 || !secret.bytes().all(|b| b.is_ascii_graphic()) {
                    return Err(format!("key {id}: the secret must be at least 32 visible ASCII characters"));
                }
                Ok((id.to_owned(), secret.as_bytes().to_vec()))
            })
            .collect::<Result<Vec<_>, String>>()?;
        if keys.is_empty() {
            return Err("no key given".into());
        }
        Ok(Self(keys))
    }

    /// One fresh random key, for a local stack or a test run.
    pub fn random() -> Self {
        let mut secret = vec![0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut secret);
        Self(vec![("local".into(), secret)])
    }

    /// The key new tags are made with, and its id.
    pub fn current(&self) -> (&str, &[u8]) {
        // `parse` and `random` never build an empty set.
        let (id, secret) = &self.0[0];
        (id, secret)
    }

    pub fn get(&self, id: &str) -> Option<&[u8]> {
        self.0.iter().find(|(key_id, _)| key_id == id).map(|(_, secret)| secret.as_slice())
    }

    /// HMAC-SHA256 of `purpose` and `parts` (each length-prefixed, so no two lists
    /// of parts run together the same) under each key, the current one first.
    pub fn tags(&self, purpose: &str, parts: &[&[u8]]) -> Vec<[u8; 32]> {
        self.0.iter().filter_map(|(_, secret)| tag(secret, purpose, parts)).collect()
    }
}

/// HMAC-SHA256 of `purpose` and `parts` under `secret`; `None` only if HMAC refused
/// the key, which it never does for a key of any length.
pub fn tag(secret: &[u8], purpose: &str, parts: &[&[u8]]) -> Option<[u8; 32]> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).ok()?;
    for part in std::iter::once(purpose.as_bytes()).chain(parts.iter().copied()) {
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part);
    }
    Some(mac.finalize().into_bytes().into())
}

/// A purpose's keyring type (a newtype over [`Keyring`], so one purpose's keys cannot
/// be passed for another's): read from its environment variable, or made at random
/// for a local stack or a test run.
macro_rules! purpose_keys {
    ($name:ident) => {
        impl From<$crate::domain::keyring::Keyring> for $name {
            fn from(keys: $crate::domain::keyring::Keyring) -> Self {
                Self(keys)
            }
        }

        impl $name {
            pub fn parse(raw: &str) -> Result<Self, String> {
                $crate::domain::keyring::Keyring::parse(raw).map(Self)
            }

            /// One fresh random key, for a local stack or a test run.
            pub fn random() -> Self {
                Self($crate::domain::keyring::Keyring::random())
            }
        }
    };
}
pub(crate) use purpose_keys;

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "a1:0123456789abcdef0123456789abcdef";
    const B: &str = "b2:fedcba9876543210fedcba9876543210";

    #[test]
    fn a_keyring_is_ids_and_long_secrets_newest_first() {
        let ring = Keyring::parse(&format!("{B}, {A}")).unwrap();
        assert_eq!(ring.current().0, "b2");
        assert!(ring.get("a1").is_some());
        for bad in
            ["", "a1", "a1:short", "a-1:0123456789abcdef0123456789abcdef", "a1:0123456789abcdef 0123456789abcdef"]
        {
            assert!(Keyring::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn tags_differ_by_key_purpose_and_the_split_of_parts() {
        let ring = Keyring::parse(A).unwrap();
        let one = ring.tags("cursor", &[b"ab", b"c"]);
        assert_ne!(one, ring.tags("link", &[b"ab", b"c"]));
        assert_ne!(one, ring.tags("cursor", &[b"a", b"bc"]));
        assert_ne!(one, Keyring::parse(B).unwrap().tags("cursor", &[b"ab", b"c"]));
        assert_eq!(Keyring::parse(&format!("{B},{A}")).unwrap().tags("cursor", &[b"ab", b"c"])[1], one[0]);
    }
}
