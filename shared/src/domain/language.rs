//! The languages a guest reads: the SMS, the share message and the guest's page are
//! in the one the invite names (the intercom's default unless the owner chose).

/// One of the languages the catalogues (`shared/i18n/<code>.json`) hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Language {
    #[default]
    English,
    Afrikaans,
    IsiZulu,
    IsiXhosa,
    Sesotho,
    Setswana,
}

impl Language {
    pub const ALL: [Self; 6] =
        [Self::English, Self::Afrikaans, Self::IsiZulu, Self::IsiXhosa, Self::Sesotho, Self::Setswana];

    /// Its ISO 639-1 code: what the API, the items and the page use.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::English => "en",
            Self::Afrikaans => "af",
            Self::IsiZulu => "zu",
            Self::IsiXhosa => "xh",
            Self::Sesotho => "st",
            Self::Setswana => "tn",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|language| language.as_str() == raw)
    }

    /// A stored code; one this build does not know reads as English.
    pub fn from_stored(raw: &str) -> Self {
        Self::parse(raw).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_reads_back_from_its_code() {
        for language in Language::ALL {
            assert_eq!(Language::parse(language.as_str()), Some(language));
        }
        assert_eq!(Language::parse("EN"), None, "codes are lower case, as ISO 639-1 writes them");
        assert_eq!(Language::from_stored("xx"), Language::English);
    }
}
