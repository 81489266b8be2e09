//! Page cursors the service can recognise. A list's position (the sort key where
//! a page ended, base64url) travels with a tag: HMAC-SHA256 under the cursor keys
//! (`OTA_CURSOR_KEYS`, a [`Keyring`] of their own) of the list it pages and the
//! intercom, cut to 128 bits. So a cursor flipped, cut short, extended, made up, or
//! taken from another intercom or the other list is not one the service handed out,
//! and the edge refuses it (`400 invalid_field`) before any read.
//!
//! Not bound to `limit`: an app may change its page size between pages. Cursors
//! live for minutes, so rotating the cursor keys needs no overlap (an app holding a
//! cursor then starts again from the first page); keeping the old key second for a
//! while spares it even that.

use super::ids::IntercomId;
use super::keyring::Keyring;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

/// Bytes of the tag kept: 2^-128 of a forgery passing per key.
const TAG_BYTES: usize = 16;

/// Which list a cursor pages through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    Codes,
    Activity,
}

impl Listing {
    fn name(self) -> &'static str {
        match self {
            Self::Codes => "codes",
            Self::Activity => "activity",
        }
    }
}

#[derive(Clone, Debug)]
pub struct CursorKeys(Keyring);

super::keyring::purpose_keys!(CursorKeys);

impl CursorKeys {
    /// The cursor handed out for `position` (base64url, as the store encodes it).
    pub fn sign(&self, listing: Listing, intercom: &IntercomId, position: &str) -> String {
        let tag = &self.tags(listing, intercom, position)[0][..TAG_BYTES];
        format!("{position}.{}", URL_SAFE_NO_PAD.encode(tag))
    }

    /// The position in `raw` if this service handed it out for `listing` of
    /// `intercom` (under any configured key), else `None`.
    pub fn open<'a>(&self, listing: Listing, intercom: &IntercomId, raw: &'a str) -> Option<&'a str> {
        let (position, tag) = raw.split_once('.')?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        // Not constant-time: each guess costs an authenticated request, and 2^128 of them.
        let genuine = tag.len() == TAG_BYTES
            && self.tags(listing, intercom, position).iter().any(|expected| expected[..TAG_BYTES] == tag[..]);
        genuine.then_some(position)
    }

    fn tags(&self, listing: Listing, intercom: &IntercomId, position: &str) -> Vec<[u8; 32]> {
        self.0.tags("ota-page-cursor", &[listing.name().as_bytes(), intercom.as_str().as_bytes(), position.as_bytes()])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn intercom(id: &str) -> IntercomId {
        IntercomId::parse(id).unwrap()
    }

    #[test]
    fn a_cursor_opens_only_for_its_list_and_intercom_under_a_configured_key() {
        let keys = CursorKeys::random();
        let cursor = keys.sign(Listing::Activity, &intercom("ic-1"), "MDAxIzI");
        assert_eq!(keys.open(Listing::Activity, &intercom("ic-1"), &cursor), Some("MDAxIzI"));
        assert_eq!(keys.open(Listing::Codes, &intercom("ic-1"), &cursor), None, "the other list");
        assert_eq!(keys.open(Listing::Activity, &intercom("ic-2"), &cursor), None, "another intercom");
        assert_eq!(CursorKeys::random().open(Listing::Activity, &intercom("ic-1"), &cursor), None, "another key");
    }

    #[test]
    fn a_changed_cursor_is_not_one_the_service_handed_out() {
        let keys = CursorKeys::random();
        let ic = intercom("ic-1");
        let cursor = keys.sign(Listing::Codes, &ic, "SU5WIzAwMQ");
        let mut changed = vec![
            cursor[..cursor.len() - 1].to_owned(),
            format!("{cursor}A"),
            format!("X{cursor}"),
            "SU5WIzAwMQ".to_owned(),
            cursor.replacen('.', "", 1),
            format!("{cursor}.x"),
        ];
        for at in 0..cursor.len() {
            let mut bytes = cursor.clone().into_bytes();
            bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
            changed.push(String::from_utf8(bytes).unwrap());
        }
        for bad in changed {
            assert_eq!(keys.open(Listing::Codes, &ic, &bad), None, "{bad}");
        }
    }

    #[test]
    fn a_cursor_made_before_a_rotation_opens_while_its_key_is_kept_second() {
        let old = "old:0123456789abcdef0123456789abcdef";
        let new = "new:fedcba9876543210fedcba9876543210";
        let ic = intercom("ic-1");
        let before = CursorKeys::parse(old).unwrap().sign(Listing::Codes, &ic, "UE9T");
        let overlapping = CursorKeys::parse(&format!("{new},{old}")).unwrap();
        assert_eq!(overlapping.open(Listing::Codes, &ic, &before), Some("UE9T"));
        assert_ne!(overlapping.sign(Listing::Codes, &ic, "UE9T"), before, "new cursors use the new key");
        assert_eq!(CursorKeys::parse(new).unwrap().open(Listing::Codes, &ic, &before), None, "once it is dropped");
    }
}
