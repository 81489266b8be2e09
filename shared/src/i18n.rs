//! The guest's words in each language: one catalogue per language,
//! `shared/i18n/<code>.json`, compiled in. The guest page's build bundles the same
//! files, so the SMS, the share message and the page say the same things the same
//! way. `{name}` placeholders are filled by [`fill`]. A key a catalogue lacks falls
//! back to English (the tests check that none does).

use crate::domain::language::Language;
use std::collections::HashMap;
use std::sync::LazyLock;

type Catalogue = HashMap<String, String>;

fn source(language: Language) -> &'static str {
    match language {
        Language::English => include_str!("../i18n/en.json"),
        Language::Afrikaans => include_str!("../i18n/af.json"),
        Language::IsiZulu => include_str!("../i18n/zu.json"),
        Language::IsiXhosa => include_str!("../i18n/xh.json"),
        Language::Sesotho => include_str!("../i18n/st.json"),
        Language::Setswana => include_str!("../i18n/tn.json"),
    }
}

static CATALOGUES: LazyLock<HashMap<Language, Catalogue>> = LazyLock::new(|| {
    // A catalogue that does not parse is a build defect the tests catch; at run
    // time its texts fall back to English rather than failing a guest's request.
    Language::ALL
        .into_iter()
        .map(|language| (language, serde_json::from_str(source(language)).unwrap_or_default()))
        .collect()
});

/// The text of `key` in `language` (English if that catalogue lacks it; the key
/// itself if English does too).
pub fn text(language: Language, key: &str) -> &'static str {
    let found = |language| CATALOGUES.get(&language).and_then(|catalogue| catalogue.get(key));
    found(language).or_else(|| found(Language::English)).map_or("", String::as_str)
}

/// The text of `key` with each `{name}` replaced by its value.
pub fn fill(language: Language, key: &str, values: &[(&str, &str)]) -> String {
    let mut out = text(language, key).to_owned();
    for (name, value) in values {
        out = out.replace(&format!("{{{name}}}"), value);
    }
    out
}

/// The month abbreviations of a language that has short ones the SMS can use; the
/// others write the date in numbers (`28/12`).
pub fn months(language: Language) -> Option<Vec<&'static str>> {
    let months: Vec<&str> = text(language, "months").split_whitespace().collect();
    (months.len() == 12).then_some(months)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalogue_parses_and_has_every_key_english_has_and_no_other() {
        let english: Catalogue = serde_json::from_str(source(Language::English)).unwrap();
        for language in Language::ALL {
            let catalogue: Catalogue = serde_json::from_str(source(language)).unwrap();
            let mut missing: Vec<_> = english.keys().filter(|key| !catalogue.contains_key(*key)).collect();
            let mut extra: Vec<_> = catalogue.keys().filter(|key| !english.contains_key(*key)).collect();
            missing.sort();
            extra.sort();
            assert!(missing.is_empty() && extra.is_empty(), "{language:?}: missing {missing:?}, extra {extra:?}");
            for (key, value) in &catalogue {
                assert!(!value.is_empty() || key == "months", "{language:?}: {key} is empty");
                let wanted = placeholders(&english[key]);
                assert_eq!(placeholders(value), wanted, "{language:?}: {key} fills other placeholders than English");
            }
        }
    }

    fn placeholders(text: &str) -> Vec<&str> {
        let mut names: Vec<&str> =
            text.split('{').skip(1).filter_map(|rest| rest.split_once('}').map(|(name, _)| name)).collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    /// The rules of the published style guides the catalogues were reviewed against
    /// (Mozilla's localization style guides for isiZulu, isiXhosa and Afrikaans,
    /// github.com/mozilla-l10n/styleguides, `docs/{zu,xh,af}/README.md` at 50ad513;
    /// README, "The guest's language"), held for every string.
    #[test]
    fn the_catalogues_keep_the_style_guides_rules() {
        let catalogue = |language| -> Catalogue { serde_json::from_str(source(language)).unwrap() };
        let words = |text: &str| -> Vec<String> {
            text.split(|c: char| c.is_whitespace() || ",.:;()!?…".contains(c)).map(str::to_owned).collect()
        };
        for language in [Language::IsiZulu, Language::IsiXhosa] {
            for (key, value) in catalogue(language) {
                // zu "Acronyms" / xh "Acronyms": an English word or acronym takes the
                // class prefix with a hyphen (i-Microsoft, I-RPC), never bare mid-sentence.
                for word in words(&value).iter().skip(1) {
                    let english = ["QR", "SMS", "WhatsApp", "Fluss", "intercom"].contains(&word.as_str());
                    assert!(!english, "{language:?} {key}: {word:?} without its prefix in {value:?}");
                }
            }
        }
        for (key, value) in catalogue(Language::IsiZulu) {
            // zu "Numerals": a number cannot stand alone after its noun; it takes a
            // prefix (Unemiyalezo engu-{{value}} emisha).
            for (before, after) in value.split(' ').zip(value.split(' ').skip(1)) {
                let bare_number = after.starts_with(|c: char| c.is_ascii_digit()) || after.starts_with("{d}");
                assert!(!(bare_number && before.ends_with(|c: char| c.is_lowercase())), "zu {key}: {before} {after}");
            }
        }
        for (key, value) in catalogue(Language::IsiXhosa) {
            // xh "Hyphenation": no hyphen in isiXhosa words, only before an English one.
            for (_, after) in value.match_indices('-').map(|(at, _)| value.split_at(at + 1)) {
                let ok = !after.starts_with(|c: char| c.is_lowercase()) || after.starts_with("intercom");
                assert!(ok, "xh {key}: a hyphen inside an isiXhosa word in {value:?}");
            }
        }
        for (key, value) in catalogue(Language::Afrikaans) {
            // af "Hyphenation": a proper noun and the common noun it qualifies are one
            // hyphenated compound (Windows Mail-kieslys), never two words.
            assert!(!value.contains("Fluss h") && !value.contains("Fluss k"), "af {key}: {value:?}");
        }
    }

    #[test]
    fn a_text_is_filled_and_a_missing_key_falls_back() {
        assert_eq!(fill(Language::Afrikaans, "greeting", &[("name", "Thandi")]), "Hallo Thandi");
        assert_eq!(text(Language::IsiZulu, "no_such_key"), "");
        assert_eq!(months(Language::English).unwrap()[11], "Dec");
        assert_eq!(months(Language::IsiZulu), None);
    }
}
