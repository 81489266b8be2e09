//! The share sheet's targets: what the app hands to the clipboard, to WhatsApp, to
//! the phone's own SMS app and to e-mail when the owner shares a code themselves
//! (or as well as the service's SMS). Each is built from the one message and the one
//! SMS text, so the link and the code read the same in every channel.

use crate::api::codes::ShareView;
use crate::domain::invite::Invite;
use crate::i18n::fill;
use crate::messages;

/// The targets of `invite`, whose link is `link`.
pub fn share_targets(invite: &Invite, link: &str) -> ShareView {
    let zone = &invite.time_zone;
    let from = (invite.starts_at > invite.created_at).then(|| zone.wall_clock(invite.starts_at));
    let until = zone.wall_clock(invite.expires_at);
    let language = invite.language;
    let place = &invite.intercom_label;
    let mut message =
        messages::share_message(language, &invite.guest_name, place, &invite.code, link, from.as_deref(), &until);
    if let Some(location) = &invite.location {
        message.push('\n');
        message.push_str(&fill(language, "share_address", &[("address", &location.address)]));
        message.push('\n');
        message.push_str(&fill(language, "share_directions", &[("map", &location.map_url())]));
    }
    let sms_text = messages::guest_sms_of(invite, link);
    let email_subject = fill(language, "email_subject", &[("place", place)]);
    // RFC 5724 §2.2: `sms:<number>?body=<text>`, the body percent-encoded.
    let sms_url = format!("sms:{}?body={}", invite.guest_mobile.e164(), percent_encoded(&sms_text));
    // WhatsApp's click-to-chat: "https://wa.me/<number>?text=<urlencodedtext>", the
    // number "in international format", without "+", zeros, brackets or dashes.
    let whatsapp_url = format!(
        "https://wa.me/{}?text={}",
        invite.guest_mobile.e164().trim_start_matches('+'),
        percent_encoded(&message)
    );
    // RFC 6068 §2: `mailto:?subject=…&body=…`; line breaks in a body are CRLF (%0D%0A).
    let email_url = format!(
        "mailto:?subject={}&body={}",
        percent_encoded(&email_subject),
        percent_encoded(&message.replace('\n', "\r\n"))
    );
    ShareView { message, sms_text, sms_url, whatsapp_url, email_subject, email_url }
}

/// Every byte but RFC 3986's unreserved characters percent-encoded (UTF-8), as a
/// query value in any of the three schemes may carry it.
fn percent_encoded(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::invite::tests::invite_at;
    use time::macros::datetime;

    fn decoded(encoded: &str) -> String {
        let bytes = encoded.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                out.push(u8::from_str_radix(&encoded[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    }

    fn query_value<'a>(url: &'a str, name: &str) -> &'a str {
        let query = url.split_once('?').unwrap().1;
        query.split('&').find_map(|pair| pair.strip_prefix(&format!("{name}="))).unwrap()
    }

    #[test]
    fn every_target_carries_the_same_link_and_code_and_the_sms_fits_one_segment() {
        let mut invite = invite_at(datetime!(2026-12-07 08:00 UTC));
        invite.guest_name = crate::domain::guest::GuestName::parse("Thandi Mokoena & Sipho").unwrap();
        let link = "https://ote.fluss.me/#ic.BrCCiaPUD7s.xE43GsB2lfEqGNo48h8fdQ";
        let share = share_targets(&invite, link);
        let whatsapp = decoded(query_value(&share.whatsapp_url, "text"));
        let sms_body = decoded(query_value(&share.sms_url, "body"));
        let email_body = decoded(query_value(&share.email_url, "body"));
        assert_eq!(whatsapp, share.message);
        assert_eq!(sms_body, share.sms_text);
        assert_eq!(email_body, share.message.replace('\n', "\r\n"));
        assert_eq!(decoded(query_value(&share.email_url, "subject")), "Your access to Test Estate");
        for text in [&share.message, &share.sms_text] {
            assert!(text.contains(link) && text.contains("4821"), "{text}");
            assert_eq!(text.matches("4821").count(), 1, "the code once: {text}");
        }
        assert!(share.sms_text.chars().count() <= crate::sms::SEGMENT_CHARS && crate::sms::is_gsm7(&share.sms_text));
        assert!(share.whatsapp_url.starts_with("https://wa.me/27821234567?text="), "{}", share.whatsapp_url);
        assert!(share.sms_url.starts_with("sms:+27821234567?body="), "{}", share.sms_url);
        assert_eq!(share.email_url.matches('&').count(), 1, "the name's & is encoded: {}", share.email_url);
        assert!(!share.whatsapp_url.contains(' ') && !share.whatsapp_url.contains('\n'));
    }

    #[test]
    fn the_targets_are_in_the_guests_language_and_carry_the_way_to_the_gate() {
        let mut invite = invite_at(datetime!(2026-12-07 08:00 UTC));
        invite.language = crate::domain::language::Language::Afrikaans;
        invite.location =
            crate::domain::location::Location::new("12 Jacaranda Rd, Parkhurst", Some((-26.1386, 28.0172)));
        let share = share_targets(&invite, "https://ote.fluss.me/#t");
        assert!(share.message.starts_with("Hallo Thandi"), "{}", share.message);
        assert!(share.message.contains("Adres: 12 Jacaranda Rd, Parkhurst"), "{}", share.message);
        assert!(share.message.contains("query=-26.138600,28.017200"), "{}", share.message);
        assert!(share.sms_text.starts_with("Thandi: Fluss-kode 4821"), "{}", share.sms_text);
        assert_eq!(share.email_subject, "Jou toegang tot Test Estate");
    }

    #[test]
    fn a_code_made_for_later_says_from_when_in_the_intercoms_time() {
        let mut invite = invite_at(datetime!(2026-12-07 08:00 UTC));
        invite.starts_at = datetime!(2026-12-08 07:00 UTC);
        invite.expires_at = invite.starts_at + time::Duration::hours(12);
        let share = share_targets(&invite, "https://ote.fluss.me/#t");
        assert!(share.message.contains("from 2026-12-08 09:00 SAST until 2026-12-08 21:00 SAST"), "{}", share.message);
        assert!(share.sms_text.contains("Fluss code 4821 from 8 Dec 09:00 for 12h"), "{}", share.sms_text);
    }
}
