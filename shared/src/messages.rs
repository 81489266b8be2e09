//! What the guest reads outside the page, in their language: the SMS (one GSM-7
//! segment) and the share message, from the catalogues ([`crate::i18n`]).

use crate::domain::code::AccessCode;
use crate::domain::guest::GuestName;
use crate::domain::invite::Invite;
use crate::domain::language::Language;
use crate::i18n::{fill, months};
use crate::sms::{is_gsm7, SEGMENT_CHARS};

/// "12h", "45 min", "3 days", "1h30": short, for the SMS.
pub fn short_duration(language: Language, minutes: u32) -> String {
    match (minutes / 60, minutes % 60) {
        (0, m) => fill(language, "dur_minutes", &[("m", &m.to_string())]),
        (h, 0) if h % 24 == 0 => match h / 24 {
            1 => fill(language, "dur_day", &[]),
            d => fill(language, "dur_days", &[("d", &d.to_string())]),
        },
        (h, 0) => fill(language, "dur_hours", &[("h", &h.to_string())]),
        (h, m) => fill(language, "dur_hours_minutes", &[("h", &h.to_string()), ("m", &format!("{m:02}"))]),
    }
}

/// `8 Dec 09:00` where the language has short month names, else `8/12 09:00`:
/// a local time short enough for the SMS.
pub fn short_date(language: Language, local: time::OffsetDateTime) -> String {
    let month = u8::from(local.month());
    let day_month = match months(language) {
        Some(names) => format!("{} {}", local.day(), names[usize::from(month) - 1]),
        None => format!("{}/{month}", local.day()),
    };
    format!("{day_month} {:02}:{:02}", local.hour(), local.minute())
}

/// The guest's SMS: code, link and the three steps, in one GSM-7 segment, with the
/// day and time it starts (`starts`, the intercom's local time) for a code made
/// for later.
/// The greeting is the letters of the first name only (a name is typed by whoever
/// has an account, and must not carry a link or a number into a text sent in
/// Fluss's name), when that keeps the message in one segment and in GSM-7 (a
/// single non-GSM character would make the whole SMS UCS-2, 70 chars); otherwise
/// the message goes without the name.
pub fn guest_sms(
    language: Language,
    name: &GuestName,
    code: &AccessCode,
    link: &str,
    valid_minutes: u32,
    starts: Option<&str>,
) -> String {
    let valid = short_duration(language, valid_minutes);
    let mut values = vec![("code", code.as_str()), ("valid", valid.as_str()), ("link", link)];
    // The start costs the steps a few words: with the longest links, the whole still
    // fits one segment.
    let body = match starts {
        None => fill(language, "sms_body", &values),
        Some(at) => {
            values.push(("start", at));
            fill(language, "sms_body_later", &values)
        }
    };
    let letters: String = name.first_name().chars().filter(|c| c.is_alphabetic()).collect();
    let greeted = format!("{letters}: {body}");
    if !letters.is_empty() && is_gsm7(&greeted) && greeted.chars().count() <= SEGMENT_CHARS {
        greeted
    } else {
        body
    }
}

/// The SMS of `invite`, whose link is `link`: what the SMS sender sends and the
/// share sheet's SMS target carries.
pub fn guest_sms_of(invite: &Invite, link: &str) -> String {
    let minutes = u32::try_from((invite.expires_at - invite.starts_at).whole_minutes()).unwrap_or(u32::MAX);
    let starts = (invite.starts_at > invite.created_at)
        .then(|| invite.time_zone.local(invite.starts_at))
        .flatten()
        .map(|local| short_date(invite.language, local));
    guest_sms(invite.language, &invite.guest_name, &invite.code, link, minutes, starts.as_deref())
}

/// The pre-filled message the app offers for clipboard, WhatsApp or e-mail; `from_local`
/// for a code made for later.
pub fn share_message(
    language: Language,
    name: &GuestName,
    place: &str,
    code: &AccessCode,
    link: &str,
    from_local: Option<&str>,
    until_local: &str,
) -> String {
    let when = match from_local {
        Some(from) => fill(language, "share_from_until", &[("from", from), ("until", until_local)]),
        None => fill(language, "share_until", &[("until", until_local)]),
    };
    let values = [("guest", name.as_str()), ("place", place), ("link", link), ("code", code.as_str()), ("when", &when)];
    fill(language, "share_message", &values)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::{IntercomId, InviteId};
    use crate::domain::token::LinkToken;

    /// The longest link: intercom ids run to a dozen characters at Fluss; 16 here.
    fn longest_link() -> String {
        let intercom = IntercomId::parse("ic-0123456789abc").unwrap();
        let token = LinkToken::generate(
            intercom,
            InviteId::generate(time::OffsetDateTime::UNIX_EPOCH),
            &crate::domain::token::LinkKeys::random(),
        )
        .expose();
        crate::sms::link(crate::config::DEFAULT_LINK_BASE_URL, &token)
    }

    /// A link as the demo intercom's are (`ic-demo`).
    const SHORT_LINK: &str = "https://ote.fluss.me/#ic.BrCCiaPUD7s.xE43GsB2lfEqGNo48h8fdQ";

    fn sms_for(language: Language, name: &str, minutes: u32, starts: Option<&str>, link: &str) -> String {
        let code = AccessCode::parse("4821").unwrap();
        guest_sms(language, &GuestName::parse(name).unwrap(), &code, link, minutes, starts)
    }

    /// The durations an owner can choose that read longest, and the longest start.
    const DURATIONS: [u32; 6] = [15, 45, 90, 720, 1440, 4320];

    #[test]
    fn every_sms_in_every_language_is_one_gsm7_segment_with_the_longest_link() {
        let late = time::macros::datetime!(2026-12-28 23:45 +2);
        let link = longest_link();
        for language in Language::ALL {
            let start = short_date(language, late);
            for minutes in DURATIONS {
                for starts in [None, Some(start.as_str())] {
                    let sms = sms_for(language, "Nomvula", minutes, starts, &link);
                    let chars = sms.chars().count();
                    assert!(chars <= SEGMENT_CHARS && is_gsm7(&sms), "{language:?}, {chars} chars: {sms}");
                    assert!(sms.contains("4821") && sms.contains(&link), "{language:?}: {sms}");
                }
            }
        }
    }

    #[test]
    fn the_sms_greets_with_the_letters_of_the_first_name_only() {
        let sms = |name| sms_for(Language::English, name, 720, None, SHORT_LINK);
        let text = sms("www.win-cash.co/za now");
        assert!(!text.contains("www.") && !text.contains("/za"), "no name-borne links: {text}");
        assert!(text.starts_with("wwwwincashcoza: "), "{text}");
        assert!(sms("O'Brien").starts_with("OBrien: "));
        assert!(sms("0800 123 456").starts_with("Fluss code"), "no letters, no greeting");
        assert!(sms("Thandi Mokoena").starts_with("Thandi: Fluss code 4821 (valid 12h)"));
    }

    #[test]
    fn names_outside_gsm7_or_too_long_are_left_out_rather_than_splitting_the_sms() {
        for name in ["Łukasz", "王芳", "Maximiliandermitdemsehrsehrsehrlangennamen Müller"] {
            let sms = sms_for(Language::English, name, 720, None, SHORT_LINK);
            assert!(sms.starts_with("Fluss code 4821"), "{sms}");
        }
    }

    #[test]
    fn a_code_for_later_names_its_start_as_the_language_writes_dates() {
        let at = time::macros::datetime!(2026-12-08 09:00 +2);
        assert_eq!(short_date(Language::English, at), "8 Dec 09:00");
        assert_eq!(short_date(Language::Afrikaans, at), "8 Des 09:00");
        assert_eq!(short_date(Language::IsiZulu, at), "8/12 09:00");
        let sms = sms_for(Language::English, "Thandi", 720, Some("8 Dec 09:00"), &longest_link());
        assert!(sms.contains("Fluss code 4821 from 8 Dec 09:00 for 12h"), "{sms}");
    }

    #[test]
    fn durations_read_naturally() {
        let short = |minutes| short_duration(Language::English, minutes);
        assert_eq!(
            [short(15), short(90), short(720), short(1440), short(4320)],
            ["15 min", "1h30", "12h", "1 day", "3 days"]
        );
        assert_eq!(short_duration(Language::Afrikaans, 4320), "3 dae");
    }

    #[test]
    fn the_share_message_is_in_the_guests_language() {
        let (name, code) = (GuestName::parse("Sipho").unwrap(), AccessCode::parse("4821").unwrap());
        let message = share_message(
            Language::IsiZulu,
            &name,
            "Demo Estate",
            &code,
            "https://x/#t",
            None,
            "2026-12-08 21:00 SAST",
        );
        assert!(
            message.starts_with("Sawubona Sipho") && message.contains("https://x/#t") && message.contains("4821"),
            "{message}"
        );
    }
}
