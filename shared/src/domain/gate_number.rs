//! The gate number: proof that the guest stands at the intercom, which the SMS alone
//! cannot give. Each intercom has an 8-digit number, printed under its QR code and
//! carried by the QR itself (in the URL's fragment, which no server and no log sees:
//! `https://<page>/s/<intercom id>#<number>`). It is in no SMS and no link, so whoever
//! holds a forwarded SMS still has to be at the gate to open it.
//!
//! Only a hash of the number is kept (see [`GateNumberCheck`]). The admin tool sets and
//! rotates it; the number it replaced keeps working for [`ROTATION_GRACE`], while the
//! new stickers go up.

use super::ids::IntercomId;
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

    /// What the table keeps for this number at `intercom`.
    pub fn check(&self, intercom: &IntercomId) -> GateNumberCheck {
        let mut hash = Sha256::new();
        hash.update(b"fluss-ota gate number\0");
        hash.update(intercom.as_str().as_bytes());
        hash.update(b"\0");
        hash.update(self.0.as_bytes());
        GateNumberCheck(URL_SAFE_NO_PAD.encode(hash.finalize()))
    }
}

/// SHA-256 of a gate number with its intercom id (base64url). A plain hash, not a
/// keyed one: a copy of the table that yields the number still yields no link (tokens
/// are kept hashed too), and the number alone opens nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateNumberCheck(pub String);

/// The numbers an intercom accepts now: its current one, and the one before it until
/// its grace ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateNumbers {
    pub current: GateNumberCheck,
    pub previous: Option<(GateNumberCheck, OffsetDateTime)>,
}

impl GateNumbers {
    pub fn accepts(&self, intercom: &IntercomId, number: &GateNumber, now: OffsetDateTime) -> bool {
        let check = number.check(intercom);
        check == self.current
            || self.previous.as_ref().is_some_and(|(previous, until)| *previous == check && now < *until)
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
    fn the_check_is_bound_to_the_intercom() {
        let number = GateNumber::parse("48210937").unwrap();
        let other = IntercomId::parse("ic-other").unwrap();
        assert_ne!(number.check(&intercom()), number.check(&other));
        assert_eq!(number.check(&intercom()), number.check(&intercom()));
        assert!(!number.check(&intercom()).0.contains("48210937"));
    }

    #[test]
    fn the_replaced_number_works_until_its_grace_ends() {
        let now = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        let (old, new) = (GateNumber::parse("11112222").unwrap(), GateNumber::parse("33334444").unwrap());
        let numbers = GateNumbers {
            current: new.check(&intercom()),
            previous: Some((old.check(&intercom()), now + ROTATION_GRACE)),
        };
        assert!(numbers.accepts(&intercom(), &new, now));
        assert!(numbers.accepts(&intercom(), &old, now + ROTATION_GRACE - Duration::seconds(1)));
        assert!(!numbers.accepts(&intercom(), &old, now + ROTATION_GRACE));
        assert!(!numbers.accepts(&intercom(), &GateNumber::parse("55556666").unwrap(), now));
        let other = IntercomId::parse("ic-other").unwrap();
        assert!(!numbers.accepts(&other, &new, now), "a number is checked with its intercom");
    }
}
