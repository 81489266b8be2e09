//! Guest mobile numbers, normalised to E.164 with libphonenumber's metadata.
//!
//! The metadata of every country in the world costs ~80 ms and megabytes to build;
//! a [`PhoneBook`] holds only the regions the product texts (`OTA_PHONE_REGIONS`,
//! from the territories bundled in `assets/phone-metadata.xml`), built once at
//! cold start in about a millisecond. Numbers of other countries are refused.

use std::fmt;

/// Territories bundled in `assets/phone-metadata.xml` (see `infra/extract-phone-metadata.py`).
pub const BUNDLED_REGIONS: [&str; 10] = ["ZA", "NA", "BW", "LS", "SZ", "ZW", "MZ", "ZM", "MW", "GB"];

/// A region numbers are read in: an ISO 3166 alpha-2 code of a bundled territory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhoneRegion([u8; 2]);

impl Default for PhoneRegion {
    fn default() -> Self {
        Self(*b"ZA")
    }
}

impl PhoneRegion {
    pub fn parse(code: &str) -> Option<Self> {
        let upper = code.trim().to_ascii_uppercase();
        BUNDLED_REGIONS.contains(&upper.as_str()).then(|| Self([upper.as_bytes()[0], upper.as_bytes()[1]]))
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("ZA")
    }
}

/// The phone metadata of the regions the product texts; built once per process.
#[cfg(feature = "sms")]
pub struct PhoneBook {
    database: phonenumber::metadata::Database,
    default_region: phonenumber::country::Id,
    /// The calling codes of the regions served, e.g. 27.
    country_codes: Vec<u16>,
}

#[cfg(feature = "sms")]
impl PhoneBook {
    /// `regions` must include `default_region`; the names are checked by [`PhoneRegion::parse`].
    pub fn new(regions: &[PhoneRegion], default_region: PhoneRegion) -> Result<Self, String> {
        use std::str::FromStr;
        const BUNDLED: &str = include_str!("../../assets/phone-metadata.xml");
        let mut territories = String::new();
        for region in regions {
            let start = BUNDLED
                .find(&format!("<territory id=\"{}\"", region.as_str()))
                .ok_or_else(|| format!("no bundled metadata for {}", region.as_str()))?;
            let end = BUNDLED[start..].find("</territory>").map(|e| start + e + "</territory>".len()).unwrap_or(start);
            territories.push_str(&BUNDLED[start..end]);
        }
        let xml = format!("<phoneNumberMetadata><territories>{territories}</territories></phoneNumberMetadata>");
        let database = phonenumber::metadata::Database::parse(xml).map_err(|e| e.to_string())?;
        if !regions.contains(&default_region) {
            return Err(format!("the default region {} is not among the phone regions", default_region.as_str()));
        }
        let default_region =
            phonenumber::country::Id::from_str(default_region.as_str()).map_err(|_| "unknown region".to_owned())?;
        let country_codes =
            regions.iter().filter_map(|region| database.by_id(region.as_str()).map(|m| m.country_code())).collect();
        Ok(Self { database, default_region, country_codes })
    }
}

#[cfg(feature = "sms")]
impl PhoneBook {
    /// Whether `raw` is written internationally (`+` or `00`) with a calling code
    /// none of the served regions has.
    fn names_another_country(&self, raw: &str) -> bool {
        let compact: String =
            raw.chars().filter(|c| !c.is_whitespace() && !matches!(c, '-' | '(' | ')' | '.')).collect();
        let Some(digits) = compact.strip_prefix('+').or_else(|| compact.strip_prefix("00")) else {
            return false;
        };
        !digits.is_empty()
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !self.country_codes.iter().any(|code| digits.starts_with(&code.to_string()))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MobileError {
    /// Not a phone number at all, or not one that exists in its country's plan.
    Invalid,
    /// A real number that cannot receive SMS (a landline, a toll-free line).
    NotMobile,
    /// Shorter than the country's mobile numbers: digits are missing.
    Incomplete,
    /// A number in a country the service does not text (`OTA_PHONE_REGIONS`).
    CountryNotServed,
}

/// A mobile number in E.164 (`+27821234567`). Full numbers are personal data:
/// `Debug` and [`Mobile::masked`] show only the country code and the last digits.
#[derive(Clone, PartialEq, Eq)]
pub struct Mobile(String);

impl Mobile {
    /// A number as a guest's host typed it: local to the default region, or with `+country`.
    #[cfg(feature = "sms")]
    pub fn parse(raw: &str, book: &PhoneBook) -> Result<Self, MobileError> {
        use phonenumber::Type;
        if raw.len() > 32 {
            return Err(MobileError::Invalid);
        }
        if book.names_another_country(raw) {
            return Err(MobileError::CountryNotServed);
        }
        let number = phonenumber::parse_with(&book.database, Some(book.default_region), raw)
            .map_err(|_| MobileError::Invalid)?;
        if !phonenumber::is_valid_with(&book.database, &number) {
            return Err(MobileError::Invalid);
        }
        match number.number_type(&book.database) {
            Type::Mobile | Type::FixedLineOrMobile | Type::Pager | Type::Unknown => {}
            _ => return Err(MobileError::NotMobile),
        }
        // Some plans admit short mobile numbers (ZA's pattern takes 5 to 9 digits) that
        // no guest's phone has; a number shorter than the longest mobile length of its
        // country is missing digits, and would be stored, hold a place and be texted.
        let full_length = number
            .metadata(&book.database)
            .and_then(|m| m.descriptors().mobile())
            .and_then(|mobile| mobile.possible_length().iter().max().copied());
        if full_length.is_some_and(|full| number.national().to_string().len() < usize::from(full)) {
            return Err(MobileError::Incomplete);
        }
        // E.164 is `+`, the country code and the national number. The crate's
        // formatter gets there too, but first matches the country's display formats,
        // whose regexes load the whole world's metadata (~60 ms, ~8 MB) on first use.
        Ok(Self(format!("+{}{}", number.code().value(), number.national())))
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
#[cfg(feature = "sms")]
mod tests {
    use super::*;

    fn book(regions: &[&str], default: &str) -> PhoneBook {
        let regions: Vec<PhoneRegion> = regions.iter().map(|r| PhoneRegion::parse(r).unwrap()).collect();
        PhoneBook::new(&regions, PhoneRegion::parse(default).unwrap()).unwrap()
    }

    #[test]
    fn local_south_african_numbers_become_e164() {
        let za = &book(&["ZA"], "ZA");
        assert_eq!(Mobile::parse("082 123 4567", za).unwrap().e164(), "+27821234567");
        assert_eq!(Mobile::parse("+27 82 123 4567", za).unwrap().e164(), "+27821234567");
        assert_eq!(Mobile::parse("0027821234567", za).unwrap().e164(), "+27821234567");
    }

    #[test]
    fn other_configured_countries_work_with_a_plus_prefix_or_as_the_default() {
        let gb = &book(&["ZA", "GB"], "GB");
        assert_eq!(Mobile::parse("07400 123456", gb).unwrap().e164(), "+447400123456");
        let za = &book(&["ZA", "GB"], "ZA");
        assert_eq!(Mobile::parse("+44 7400 123456", za).unwrap().e164(), "+447400123456");
    }

    #[test]
    fn countries_outside_the_phone_book_are_refused() {
        let za = &book(&["ZA"], "ZA");
        assert_eq!(Mobile::parse("+44 7400 123456", za), Err(MobileError::CountryNotServed));
        assert!(PhoneRegion::parse("US").is_none(), "not bundled");
        assert!(PhoneBook::new(&[PhoneRegion::default()], PhoneRegion::parse("GB").unwrap()).is_err());
    }

    #[test]
    fn nonsense_and_landlines_are_refused() {
        let za = &book(&["ZA"], "ZA");
        for bad in ["", "hello", "123", "+27 1", "0821234567890123", &"9".repeat(40)] {
            assert_eq!(Mobile::parse(bad, za), Err(MobileError::Invalid), "{bad:?}");
        }
        // 021 is Cape Town's fixed-line area code.
        assert_eq!(Mobile::parse("021 555 1234", za), Err(MobileError::NotMobile));
    }

    #[test]
    fn a_truncated_mobile_number_is_refused() {
        let za = &book(&["ZA"], "ZA");
        // ZA's mobile pattern admits 5 to 9 national digits; a guest's phone has 9.
        for short in ["082 555", "082 555 12", "+27 82 555 123"] {
            assert_eq!(Mobile::parse(short, za), Err(MobileError::Incomplete), "{short:?}");
        }
        assert!(Mobile::parse("082 555 1234", za).is_ok());
    }

    #[test]
    fn a_number_in_a_country_not_served_says_so() {
        let za = &book(&["ZA"], "ZA");
        assert_eq!(Mobile::parse("+44 7400 123456", za), Err(MobileError::CountryNotServed));
        assert_eq!(Mobile::parse("+264 81 123 4567", za), Err(MobileError::CountryNotServed));
        assert_eq!(Mobile::parse("+999 123456", za), Err(MobileError::CountryNotServed));
    }

    #[test]
    fn masking_keeps_country_and_last_three_digits() {
        let m = Mobile::parse("0821234567", &book(&["ZA"], "ZA")).unwrap();
        assert_eq!(m.masked(), "+27******567");
        assert!(!format!("{m:?}").contains("1234567"));
    }
}
