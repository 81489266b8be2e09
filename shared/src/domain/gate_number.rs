//! The gate number: proof that the guest stands at the intercom, which the SMS alone
//! cannot give. Each intercom has an 8-digit number, printed under its QR code and
//! carried by the QR itself (in the URL's fragment, which no server and no log sees:
//! `https://<page>/s/<intercom id>#<number>`). It is in no SMS and no link, so whoever
//! holds a forwarded SMS still has to be at the gate to open it.
//!
//! Only a keyed hash of the number is kept (see [`GateNumberCheck`]). The admin tool
//! sets and rotates it; the number it replaced keeps working for [`ROTATION_GRACE`],
//! while the new stickers go up.

use super::ids::IntercomId;
use super::keyring::{self, Keyring};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::Rng;
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};

/// Digits in a gate number: 10^8 numbers, against which a guesser gets the WAF's
/// entry/exit rate per address and no more (README, the guest edge).
pub const DIGITS: usize = 8;

/// How long the number a rotation replaced keeps working: time to print and put up
/// new stickers at every gate of an estate.
pub const ROTATION_GRACE: Duration = Duration::days(14);

#[derive(Clone, PartialEq, Eq)]
pub struct GateNumber(String);

impl std::fmt::Debug for GateNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GateNumber(<redacted>)")
    }
}

impl GateNumber {
    pub fn generate() -> Self {
        let mut rng = rand::rng();
        Self((0..DIGITS).map(|_| char::from(b'0' + rng.random_range(0..10u8))).collect())
    }

    /// As typed or scanned: spaces and dashes (the sticker groups the digits) are ignored.
    /// As printed (`4821 0937`), with a dash (`4821-0937`) or run together, and
    /// nothing else (the API documents exactly these forms).
    pub fn parse(raw: &str) -> Option<Self> {
        let half = DIGITS / 2;
        let (first, second) = match raw.len() {
            n if n == DIGITS => raw.split_at_checked(half)?,
            n if n == DIGITS + 1 && matches!(raw.as_bytes().get(half), Some(b' ' | b'-')) => {
                (raw.get(..half)?, raw.get(half + 1..)?)
            }
            _ => return None,
        };
        let digits = format!("{first}{second}");
        digits.bytes().all(|b| b.is_ascii_digit()).then_some(Self(digits))
    }

    /// As printed under the QR code: `4821 0937`.
    pub fn printed(&self) -> String {
        format!("{} {}", &self.0[..DIGITS / 2], &self.0[DIGITS / 2..])
    }

    pub fn as_digits(&self) -> &str {
        &self.0
    }

    /// What the table keeps for this number at `intercom`: its HMAC under the current
    /// gate-number key.
    pub fn check(&self, intercom: &IntercomId, keys: &GateNumberKeys) -> GateNumberCheck {
        let (id, secret) = keys.0.current();
        keys.check_under(id, secret, intercom, self).unwrap_or_else(|| GateNumberCheck(String::new()))
    }

    /// The plain SHA-256 that numbers set before keyed checks were kept as: accepted
    /// once more, and replaced by the keyed check at that use.
    fn unkeyed_check(&self, intercom: &IntercomId) -> GateNumberCheck {
        let mut hash = Sha256::new();
        hash.update(b"fluss-ota gate number\0");
        hash.update(intercom.as_str().as_bytes());
        hash.update(b"\0");
        hash.update(self.0.as_bytes());
        GateNumberCheck(URL_SAFE_NO_PAD.encode(hash.finalize()))
    }
}

/// The keys of the gate-number hash (`OTA_GATE_NUMBER_KEYS`, a [`Keyring`]; the guest
/// functions and the admin tool). With 10^8 numbers a plain hash would give a copy of
/// the table every number; keyed, it needs the key too.
#[derive(Clone, Debug)]
pub struct GateNumberKeys(Keyring);

super::keyring::purpose_keys!(GateNumberKeys);

impl GateNumberKeys {
    /// `<key id>.<HMAC-SHA256 of the intercom and the number, base64url>`.
    fn check_under(
        &self,
        id: &str,
        secret: &[u8],
        intercom: &IntercomId,
        number: &GateNumber,
    ) -> Option<GateNumberCheck> {
        let tag = keyring::tag(secret, "ota-gate-number", &[intercom.as_str().as_bytes(), number.0.as_bytes()])?;
        Some(GateNumberCheck(format!("{id}.{}", URL_SAFE_NO_PAD.encode(tag))))
    }

    /// `Some(stale)` if `kept` is `number`'s check, `stale` if it should be written
    /// again under the current key (it is unkeyed, or under a key rotated out of
    /// first place).
    fn matches(&self, kept: &GateNumberCheck, intercom: &IntercomId, number: &GateNumber) -> Option<bool> {
        match kept.0.split_once('.') {
            None => (number.unkeyed_check(intercom) == *kept).then_some(true),
            Some((id, _)) => {
                let secret = self.0.get(id)?;
                let fresh = self.check_under(id, secret, intercom, number)?;
                (fresh == *kept).then_some(id != self.0.current().0)
            }
        }
    }
}

/// A kept check: `<key id>.<keyed hash>` (see [`GateNumberKeys`]), or, from before
/// keyed checks, a plain SHA-256 of the number with its intercom id (base64url, no
/// dot). The number alone opens nothing; a copy of the table yields no number
/// without the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateNumberCheck(pub String);

/// Which of an intercom's kept numbers a check is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kept {
    Current,
    Previous,
}

/// What an intercom's numbers say of a number brought to its gate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GateVerdict {
    Refused,
    Accepted,
    /// Accepted under an unkeyed check or an old key: write `fresh` over `kept`.
    AcceptedToRehash {
        which: Kept,
        kept: GateNumberCheck,
        fresh: GateNumberCheck,
    },
}

/// The numbers an intercom accepts now: its current one, and the one before it until
/// its grace ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateNumbers {
    pub current: GateNumberCheck,
    pub previous: Option<(GateNumberCheck, OffsetDateTime)>,
}

impl GateNumbers {
    pub fn judge(
        &self,
        intercom: &IntercomId,
        number: &GateNumber,
        now: OffsetDateTime,
        keys: &GateNumberKeys,
    ) -> GateVerdict {
        let previous =
            self.previous.as_ref().filter(|(_, until)| now < *until).map(|(check, _)| (Kept::Previous, check));
        for (which, kept) in std::iter::once((Kept::Current, &self.current)).chain(previous) {
            match keys.matches(kept, intercom, number) {
                Some(false) => return GateVerdict::Accepted,
                Some(true) => {
                    let fresh = number.check(intercom, keys);
                    return GateVerdict::AcceptedToRehash { which, kept: kept.clone(), fresh };
                }
                None => {}
            }
        }
        GateVerdict::Refused
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn intercom() -> IntercomId {
        IntercomId::parse("ic-demo").unwrap()
    }

    #[test]
    fn a_number_is_read_as_printed_or_run_together() {
        let number = GateNumber::generate();
        assert_eq!(number.as_digits().len(), DIGITS);
        assert_eq!(GateNumber::parse(&number.printed()), Some(number.clone()));
        assert_eq!(GateNumber::parse(number.as_digits()), Some(number));
        assert_eq!(GateNumber::parse("4821-0937").unwrap().printed(), "4821 0937");
        for bad in [
            "",
            "4821093",
            "482109371",
            "4821 093a",
            "ic-demo",
            "４８２１０９３７",
            " 48210937",
            "48 21 09 37",
            "4821  0937",
        ] {
            assert!(GateNumber::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn the_check_is_keyed_and_bound_to_the_intercom() {
        let keys = GateNumberKeys::random();
        let number = GateNumber::parse("48210937").unwrap();
        let other = IntercomId::parse("ic-other").unwrap();
        assert_ne!(number.check(&intercom(), &keys), number.check(&other, &keys));
        assert_eq!(number.check(&intercom(), &keys), number.check(&intercom(), &keys));
        assert_ne!(number.check(&intercom(), &keys), number.check(&intercom(), &GateNumberKeys::random()), "keyed");
        assert!(!number.check(&intercom(), &keys).0.contains("48210937"));
    }

    fn accepts(numbers: &GateNumbers, number: &GateNumber, now: OffsetDateTime, keys: &GateNumberKeys) -> bool {
        numbers.judge(&intercom(), number, now, keys) != GateVerdict::Refused
    }

    #[test]
    fn the_replaced_number_works_until_its_grace_ends() {
        let keys = GateNumberKeys::random();
        let now = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        let (old, new) = (GateNumber::parse("11112222").unwrap(), GateNumber::parse("33334444").unwrap());
        let numbers = GateNumbers {
            current: new.check(&intercom(), &keys),
            previous: Some((old.check(&intercom(), &keys), now + ROTATION_GRACE)),
        };
        assert_eq!(numbers.judge(&intercom(), &new, now, &keys), GateVerdict::Accepted);
        assert!(accepts(&numbers, &old, now + ROTATION_GRACE - Duration::seconds(1), &keys));
        assert!(!accepts(&numbers, &old, now + ROTATION_GRACE, &keys));
        assert!(!accepts(&numbers, &GateNumber::parse("55556666").unwrap(), now, &keys));
        let other = IntercomId::parse("ic-other").unwrap();
        assert_eq!(numbers.judge(&other, &new, now, &keys), GateVerdict::Refused, "checked with its intercom");
    }

    #[test]
    fn an_unkeyed_check_or_one_under_an_old_key_is_accepted_and_rehashed_under_the_current_key() {
        let (old_key, new_key) = ("g1:0123456789abcdef0123456789abcdef", "g2:fedcba9876543210fedcba9876543210");
        let old_keys = GateNumberKeys::parse(old_key).unwrap();
        let rotated = GateNumberKeys::parse(&format!("{new_key},{old_key}")).unwrap();
        let number = GateNumber::parse("48210937").unwrap();
        let now = OffsetDateTime::UNIX_EPOCH;
        for kept in [number.unkeyed_check(&intercom()), number.check(&intercom(), &old_keys)] {
            let numbers = GateNumbers { current: kept.clone(), previous: None };
            let fresh = number.check(&intercom(), &rotated);
            assert!(fresh.0.starts_with("g2."));
            assert_eq!(
                numbers.judge(&intercom(), &number, now, &rotated),
                GateVerdict::AcceptedToRehash { which: Kept::Current, kept, fresh: fresh.clone() }
            );
            let rehashed = GateNumbers { current: fresh, previous: None };
            assert_eq!(rehashed.judge(&intercom(), &number, now, &rotated), GateVerdict::Accepted);
        }
        let under_old = GateNumbers { current: number.check(&intercom(), &old_keys), previous: None };
        let dropped = GateNumberKeys::parse(new_key).unwrap();
        assert_eq!(under_old.judge(&intercom(), &number, now, &dropped), GateVerdict::Refused, "once dropped");
    }
}
