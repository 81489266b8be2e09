//! Guest mobile numbers, normalised to E.164 with libphonenumber's metadata.

use phonenumber::country::Id;
use phonenumber::{Mode, Type};
use std::fmt;
use std::str::FromStr;

/// The region numbers without a `+country` prefix are read in (default ZA).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhoneRegion(Id);

impl Default for PhoneRegion {
    fn default() -> Self {
        Self(Id::ZA)
    }
}

impl PhoneRegion {
    pub fn parse(code: &str) -> Option<Self> {
        Id::from_str(&code.to_ascii_uppercase()).ok().map(Self)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MobileError {
    /// Not a phone number at all, or not one that exists in its country's plan.
    Invalid,
    /// A real number that cannot receive SMS (a landline, a toll-free line).
    NotMobile,
}

/// A mobile number in E.164 (`+27821234567`). Full numbers are personal data:
/// `Debug` and [`Mobile::masked`] show only the country code and the last digits.
#[derive(Clone, PartialEq, Eq)]
pub struct Mobile(String);

impl Mobile {
    pub fn parse(raw: &str, region: PhoneRegion) -> Result<Self, MobileError> {
        if raw.len() > 32 {
            return Err(MobileError::Invalid);
        }
        let number = phonenumber::parse(Some(region.0), raw).map_err(|_| MobileError::Invalid)?;
        if !phonenumber::is_valid(&number) {
            return Err(MobileError::Invalid);
        }
        match number.number_type(&phonenumber::metadata::DATABASE) {
            Type::Mobile | Type::FixedLineOrMobile | Type::Pager | Type::Unknown => {}
            _ => return Err(MobileError::NotMobile),
        }
        Ok(Self(number.format().mode(Mode::E164).to_string()))
    }

    /// Reads back a number this service stored; it was validated when stored.
    pub fn from_stored(e164: String) -> Self {
        Self(e164)
    }

    pub fn e164(&self) -> &str {
        &self.0
    }

    /// `+27•••••4567`-style, for lists and logs: enough to recognise, not to dial.
    pub fn masked(&self) -> String {
        let digits: Vec<char> = self.0.chars().skip(1).collect();
        let country_len = digits.len().saturating_sub(9).clamp(1, 3);
        let tail = 3.min(digits.len().saturating_sub(country_len));
        let hidden = digits.len() - country_len - tail;
        let country: String = digits[..country_len].iter().collect();
        let last: String = digits[digits.len() - tail..].iter().collect();
        format!("+{country}{}{last}", "*".repeat(hidden))
    }
}

impl fmt::Debug for Mobile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Mobile({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_south_african_numbers_become_e164() {
        let za = PhoneRegion::default();
        assert_eq!(Mobile::parse("082 123 4567", za).unwrap().e164(), "+27821234567");
        assert_eq!(Mobile::parse("+27 82 123 4567", za).unwrap().e164(), "+27821234567");
        assert_eq!(Mobile::parse("0027821234567", za).unwrap().e164(), "+27821234567");
    }

    #[test]
    fn other_countries_work_with_a_plus_prefix_or_their_region() {
        let gb = PhoneRegion::parse("gb").unwrap();
        assert_eq!(Mobile::parse("07400 123456", gb).unwrap().e164(), "+447400123456");
        assert_eq!(Mobile::parse("+44 7400 123456", PhoneRegion::default()).unwrap().e164(), "+447400123456");
    }

    #[test]
    fn nonsense_and_landlines_are_refused() {
        let za = PhoneRegion::default();
        for bad in ["", "hello", "123", "+27 1", "+999 123456", "0821234567890123", &"9".repeat(40)] {
            assert_eq!(Mobile::parse(bad, za), Err(MobileError::Invalid), "{bad:?}");
        }
        // 021 is Cape Town's fixed-line area code.
        assert_eq!(Mobile::parse("021 555 1234", za), Err(MobileError::NotMobile));
    }

    #[test]
    fn masking_keeps_country_and_last_three_digits() {
        let m = Mobile::parse("0821234567", PhoneRegion::default()).unwrap();
        assert_eq!(m.masked(), "+27******567");
        assert!(!format!("{m:?}").contains("1234567"));
    }
}
