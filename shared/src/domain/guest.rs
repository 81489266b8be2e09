//! The guest's name as the owner typed it.

use std::fmt;

#[derive(Clone, PartialEq, Eq)]
pub struct GuestName(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuestNameError {
    Empty,
    TooLong,
    /// Control, bidi-override or zero-width characters: they make a name render as
    /// something other than what was typed, in the list or in the SMS.
    InvisibleCharacters,
}

impl GuestName {
    pub const MAX_CHARS: usize = 60;

    pub fn parse(raw: &str) -> Result<Self, GuestNameError> {
        if raw.chars().any(is_invisible) {
            return Err(GuestNameError::InvisibleCharacters);
        }
        let collapsed = raw.split_whitespace().collect::<Vec<_>>().join(" ");
        match collapsed.chars().count() {
            0 => Err(GuestNameError::Empty),
            n if n > Self::MAX_CHARS => Err(GuestNameError::TooLong),
            _ => Ok(Self(collapsed)),
        }
    }

    pub fn from_stored(name: String) -> Self {
        Self(name)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first word, for greetings where space is short (the SMS).
    pub fn first_name(&self) -> &str {
        self.0.split(' ').next().unwrap_or(&self.0)
    }
}

fn is_invisible(c: char) -> bool {
    (c.is_control() && !c.is_whitespace())
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}')
        || (c.is_whitespace() && !matches!(c, ' ' | '\t' | '\u{00A0}'))
}

impl fmt::Debug for GuestName {
    // Names are personal data; logs get their length, not the name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GuestName({} chars)", self.0.chars().count())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_inner_spaces_collapsed() {
        assert_eq!(GuestName::parse("  Thandi   Mokoena ").unwrap().as_str(), "Thandi Mokoena");
        assert_eq!(GuestName::parse("Zoë O'Brien-Łukasz").unwrap().first_name(), "Zoë");
    }

    #[test]
    fn empty_long_and_invisible_names_are_refused() {
        assert_eq!(GuestName::parse("   "), Err(GuestNameError::Empty));
        assert_eq!(GuestName::parse(&"a".repeat(61)), Err(GuestNameError::TooLong));
        assert!(GuestName::parse(&"é".repeat(60)).is_ok());
        for bad in ["Eve\u{202E}gnirts", "a\u{200B}b", "nul\0", "line\nbreak"] {
            assert_eq!(GuestName::parse(bad), Err(GuestNameError::InvisibleCharacters), "{bad:?}");
        }
    }
}
