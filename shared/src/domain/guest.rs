//! The guest's name as the owner typed it.

use icu_normalizer::ComposingNormalizerBorrowed;
use icu_properties::props::{GeneralCategory, GeneralCategoryGroup as Group};
use icu_properties::CodePointMapData;
use std::fmt;

#[derive(Clone, PartialEq, Eq)]
pub struct GuestName(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuestNameError {
    Empty,
    TooLong,
    /// Control, format (bidi overrides, zero-width, soft hyphen), private-use,
    /// unassigned or surrogate code points, or line breaks: they make a name render
    /// as something other than what was typed, in the list or in the SMS.
    InvisibleCharacters,
}

impl GuestName {
    pub const MAX_CHARS: usize = 60;

    /// Stored in NFC, so "Zoë" typed with a combining diaeresis is the same name.
    pub fn parse(raw: &str) -> Result<Self, GuestNameError> {
        if raw.chars().any(is_invisible) {
            return Err(GuestNameError::InvisibleCharacters);
        }
        let composed = ComposingNormalizerBorrowed::new_nfc().normalize(raw);
        let collapsed = composed.split_whitespace().collect::<Vec<_>>().join(" ");
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

/// The general categories that do not render as themselves.
const HIDDEN: Group = Group::Control
    .union(Group::Format)
    .union(Group::PrivateUse)
    .union(Group::Unassigned)
    .union(Group::Surrogate)
    .union(Group::LineSeparator)
    .union(Group::ParagraphSeparator);

/// By the Unicode character database, not a hand list: the [`HIDDEN`] categories,
/// and every break but space, tab and NBSP.
fn is_invisible(c: char) -> bool {
    let hidden = HIDDEN.contains(CodePointMapData::<GeneralCategory>::new().get(c));
    (hidden && !matches!(c, ' ' | '\t')) || (c.is_whitespace() && !matches!(c, ' ' | '\t' | '\u{00A0}'))
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

    #[test]
    fn names_are_stored_composed_so_one_name_is_one_spelling() {
        let decomposed = GuestName::parse("Zoe\u{0308} Ngu\u{0303}").unwrap();
        assert_eq!(decomposed.as_str(), "Zoë Ngũ");
        assert_eq!(decomposed, GuestName::parse("Zoë Ngũ").unwrap());
    }

    #[test]
    fn format_private_use_and_unassigned_code_points_are_refused() {
        // Soft hyphen and word joiner (format), a private-use glyph, an unassigned
        // code point, a lone tag character: none renders as what was typed.
        for bad in ["Thandi\u{00AD}", "An\u{2060}na", "Bob\u{E000}", "Al\u{0378}ex", "Ed\u{E0041}"] {
            assert_eq!(GuestName::parse(bad), Err(GuestNameError::InvisibleCharacters), "{bad:?}");
        }
        assert!(GuestName::parse("Nomvula Dlamini-Zuma").is_ok());
        assert!(GuestName::parse("李小龍").is_ok());
    }

    #[test]
    fn characters_of_recent_unicode_versions_are_not_taken_for_unassigned_ones() {
        // An emoji of Unicode 17 (2025), which today's phones render.
        assert!(GuestName::parse("Sipho \u{1FAEA}").is_ok());
    }
}
