//! The guest's 4-digit code: the second factor behind the link token.

use rand::Rng;
use std::collections::HashSet;
use std::fmt;

#[derive(Clone, PartialEq, Eq, Hash)]
pub struct AccessCode([u8; 4]);

/// PINs people pick most often that no rule below catches.
const COMMON_PINS: [&str; 4] = ["1004", "2000", "2001", "6969"];

/// Random draws before falling back to a walk of the code space. With at most 100
/// of ~9,700 issuable codes taken, a draw fails 1% of the time: 32 in a row never.
const DRAWS: usize = 32;

impl AccessCode {
    pub fn parse(raw: &str) -> Option<Self> {
        let bytes: [u8; 4] = raw.as_bytes().try_into().ok()?;
        bytes.iter().all(u8::is_ascii_digit).then_some(Self(bytes))
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII digits are ever stored, so this cannot fail.
        std::str::from_utf8(&self.0).unwrap_or("????")
    }

    /// Codes a stranger would try first: one digit repeated, a run up or down,
    /// `abab`, `aabb`, `abba`, and the most common PINs.
    pub fn is_trivially_guessable(&self) -> bool {
        let d: Vec<i16> = self.0.iter().map(|b| i16::from(b - b'0')).collect();
        let steps: Vec<i16> = d.windows(2).map(|w| w[1] - w[0]).collect();
        let run = steps.iter().all(|s| *s == 1) || steps.iter().all(|s| *s == -1);
        let repeated_pair = d[0] == d[2] && d[1] == d[3];
        let doubled = d[0] == d[1] && d[2] == d[3];
        let mirrored = d[0] == d[3] && d[1] == d[2];
        run || repeated_pair || doubled || mirrored || COMMON_PINS.contains(&self.as_str())
    }

    fn from_number(n: u16) -> Self {
        let digits = [n / 1000, n / 100 % 10, n / 10 % 10, n % 10];
        // Each is 0..=9, so the sum is an ASCII digit.
        Self(digits.map(|d| b'0' + d as u8))
    }

    fn issuable_and_free(&self, taken: &HashSet<AccessCode>) -> bool {
        !self.is_trivially_guessable() && !taken.contains(self)
    }

    /// A uniformly random code that is neither guessable nor in `taken`: random
    /// draws (work independent of the code space), then, should they all hit taken
    /// or weak codes, a walk from a random start. `None` only when every acceptable
    /// code is taken (impossible at 100 live codes).
    pub fn generate_avoiding(taken: &HashSet<AccessCode>) -> Option<Self> {
        let mut rng = rand::rng();
        for _ in 0..DRAWS {
            let code = Self::from_number(rng.random_range(0..10_000));
            if code.issuable_and_free(taken) {
                return Some(code);
            }
        }
        let start: u16 = rng.random_range(0..10_000);
        (0..10_000u16).map(|i| Self::from_number((start + i) % 10_000)).find(|code| code.issuable_and_free(taken))
    }
}

impl fmt::Debug for AccessCode {
    // Codes are secrets: they never reach a log through `{:?}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessCode(****)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn well_known_weak_codes_are_guessable() {
        for weak in ["0000", "1111", "1234", "4321", "0123", "6789", "9876", "1212", "1122", "1221", "2000", "6969"] {
            assert!(AccessCode::parse(weak).unwrap().is_trivially_guessable(), "{weak}");
        }
        for fine in ["4821", "3907", "5160"] {
            assert!(!AccessCode::parse(fine).unwrap().is_trivially_guessable(), "{fine}");
        }
    }

    #[test]
    fn parse_takes_exactly_four_ascii_digits() {
        for bad in ["", "123", "12345", "12a4", "１２３４", " 123"] {
            assert!(AccessCode::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn generation_avoids_taken_codes_until_none_is_left() {
        let all_ok: HashSet<AccessCode> = (0..10_000u16)
            .filter_map(|n| AccessCode::parse(&format!("{n:04}")))
            .filter(|c| !c.is_trivially_guessable())
            .collect();
        let mut taken = all_ok.clone();
        let last = taken.iter().next().cloned().unwrap();
        taken.remove(&last);
        assert_eq!(AccessCode::generate_avoiding(&taken), Some(last));
        assert_eq!(AccessCode::generate_avoiding(&all_ok), None);
    }

    #[test]
    fn debug_output_hides_the_digits() {
        assert!(!format!("{:?}", AccessCode::parse("4821").unwrap()).contains("4821"));
    }

    proptest! {
        #[test]
        fn generated_codes_are_never_guessable(_seed in 0u8..64) {
            let code = AccessCode::generate_avoiding(&HashSet::new()).unwrap();
            prop_assert!(!code.is_trivially_guessable());
            prop_assert_eq!(AccessCode::parse(code.as_str()), Some(code));
        }
    }
}
