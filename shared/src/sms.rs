//! The SMS to the guest (through SNS) and the share message for the app.

use crate::domain::code::AccessCode;
use crate::domain::guest::GuestName;
#[cfg(feature = "sms")]
use crate::domain::phone::Mobile;
#[cfg(feature = "sms")]
use aws_sdk_sns::types::MessageAttributeValue;
#[cfg(feature = "sms")]
use aws_sdk_sns::Client;

/// One GSM-7 SMS segment.
pub const SEGMENT_CHARS: usize = 160;

/// The GSM 03.38 basic character set (characters that cost one septet).
const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

pub fn is_gsm7(text: &str) -> bool {
    text.chars().all(|c| GSM7_BASIC.contains(c))
}

pub fn link(base_url: &str, token: &str) -> String {
    format!("{base_url}/#{token}")
}

/// "12h", "45 min", "3 days", "1h30": short, for the SMS.
pub fn short_duration(minutes: u32) -> String {
    match (minutes / 60, minutes % 60) {
        (0, m) => format!("{m} min"),
        (h, 0) if h % 24 == 0 => match h / 24 {
            1 => "1 day".to_owned(),
            d => format!("{d} days"),
        },
        (h, 0) => format!("{h}h"),
        (h, m) => format!("{h}h{m:02}"),
    }
}

/// The guest's SMS: code, link and the three steps, in one GSM-7 segment, with the
/// day and time it starts (`starts`, the intercom's local time) for a code made
/// for later.
/// The greeting is the letters of the first name only (a name is typed by whoever
/// has an account, and must not carry a link or a number into a text sent in
/// Fluss's name), when that keeps the message in one segment and in GSM-7 (a
/// single non-GSM character would make the whole SMS UCS-2, 70 chars); otherwise
/// the message goes without the name.
pub fn guest_sms(name: &GuestName, code: &AccessCode, link: &str, valid_minutes: u32, starts: Option<&str>) -> String {
    let (code, valid) = (code.as_str(), short_duration(valid_minutes));
    // The start costs the steps their articles: with the longest links, the whole
    // still fits one segment.
    let body = match starts {
        None => format!("Fluss code {code} (valid {valid})\nAt the gate open {link} scan the QR, enter the code."),
        Some(at) => format!("Fluss code {code} from {at} for {valid}\nAt the gate open {link} scan QR, enter code."),
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
pub fn guest_sms_of(invite: &crate::domain::invite::Invite, link: &str) -> String {
    let minutes = u32::try_from((invite.expires_at - invite.starts_at).whole_minutes()).unwrap_or(u32::MAX);
    let starts = (invite.starts_at > invite.created_at).then(|| invite.time_zone.short_wall_clock(invite.starts_at));
    guest_sms(&invite.guest_name, &invite.code, link, minutes, starts.as_deref())
}

/// The pre-filled message the app offers for clipboard, WhatsApp or e-mail; `from_local`
/// for a code made for later.
pub fn share_message(
    name: &GuestName,
    intercom_label: &str,
    code: &AccessCode,
    link: &str,
    from_local: Option<&str>,
    until_local: &str,
) -> String {
    let when = match from_local {
        Some(from) => format!("from {from} until {until_local}"),
        None => format!("until {until_local}"),
    };
    format!(
        "Hi {name}, here is your one-time access to {intercom_label}.\n\
         1. Open this link on your phone: {link}\n\
         2. Scan the QR code on the intercom.\n\
         3. Enter the code {code}.\n\
         It works once to enter and once to leave, {when}.",
        name = name.as_str(),
        code = code.as_str(),
    )
}

#[cfg(feature = "sms")]
/// Why SNS did not take an SMS. Carries only the service's error code: SNS's
/// messages can quote the destination number, which must not reach a log.
#[derive(Debug, thiserror::Error)]
pub enum SmsError {
    /// A final answer about this message (an invalid or opted-out number, a
    /// country SMS may not go to, a message SNS will not take): trying again cannot help.
    #[error("SNS refused the SMS ({code})")]
    Refused { code: String },
    /// SNS is throttling the account or failed on its side (429, 5xx): the same
    /// request can succeed later.
    #[error("SNS is busy ({code}); the SMS waits for another try")]
    Busy { code: String },
    #[error("SNS could not be reached or did not answer in time")]
    Unreachable,
    #[error("the SMS request could not be built")]
    Request,
}

#[cfg(feature = "sms")]
impl SmsError {
    /// Whether a later try of the same request can succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Busy { .. } | Self::Unreachable)
    }
}

/// The error codes SNS answers when it throttles or fails on its side ("Throttled"
/// is Publish's own, HTTP 429; the rest are the Query API's common errors).
#[cfg(feature = "sms")]
const TRANSIENT_CODES: [&str; 7] = [
    "Throttled",
    "Throttling",
    "ThrottlingException",
    "KMSThrottling",
    "InternalError",
    "InternalFailure",
    "ServiceUnavailable",
];

#[cfg(feature = "sms")]
impl<E: aws_sdk_sns::error::ProvideErrorMetadata>
    From<aws_sdk_sns::error::SdkError<E, aws_smithy_runtime_api::http::Response>> for SmsError
{
    fn from(error: aws_sdk_sns::error::SdkError<E, aws_smithy_runtime_api::http::Response>) -> Self {
        use aws_sdk_sns::error::ProvideErrorMetadata;
        let status = error.raw_response().map(|r| r.status().as_u16());
        match error.code() {
            Some(code) if TRANSIENT_CODES.contains(&code) || status.is_some_and(|s| s == 429 || s >= 500) => {
                Self::Busy { code: code.to_owned() }
            }
            Some(code) => Self::Refused { code: code.to_owned() },
            None if status.is_some_and(|s| s == 429 || s >= 500) => {
                Self::Busy { code: format!("HTTP {}", status.unwrap_or_default()) }
            }
            None => Self::Unreachable,
        }
    }
}

#[cfg(feature = "sms")]
#[derive(Clone)]
pub struct SmsSender {
    client: Client,
    sender_id: Option<String>,
    /// This sender's share of the account's rate, and when its next SMS may go.
    gap: std::time::Duration,
    next_slot: std::sync::Arc<tokio::sync::Mutex<Option<tokio::time::Instant>>>,
}

#[cfg(feature = "sms")]
impl SmsSender {
    pub fn new(client: Client, sender_id: Option<String>, pace: crate::config::SmsPace) -> Self {
        Self { client, sender_id, gap: pace.gap(), next_slot: Default::default() }
    }

    /// Waits for this sender's next slot: calls to SNS leave at least `gap` apart,
    /// so the senders together stay within the account's SMS rate. A burst waits
    /// here (and in the queue behind it) instead of meeting SNS's throttling.
    async fn pace(&self) {
        let mut next = self.next_slot.lock().await;
        let now = tokio::time::Instant::now();
        let slot = next.map_or(now, |at| at.max(now));
        *next = Some(slot + self.gap);
        drop(next);
        // A sender with its turn now sends at once (no timer for the common case).
        if slot > now {
            tokio::time::sleep_until(slot).await;
        }
    }

    /// Hands the SMS to SNS, in its turn; the message id SNS gave it (what its
    /// delivery report names).
    pub async fn send(&self, to: &Mobile, text: &str) -> Result<String, SmsError> {
        let string_attribute = |value: &str| {
            MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
                .map_err(|_| SmsError::Request)
        };
        let mut request = self
            .client
            .publish()
            .phone_number(to.e164())
            .message(text)
            .message_attributes("AWS.SNS.SMS.SMSType", string_attribute("Transactional")?);
        if let Some(sender_id) = &self.sender_id {
            request = request.message_attributes("AWS.SNS.SMS.SenderID", string_attribute(sender_id)?);
        }
        self.pace().await;
        let output = request.send().await?;
        output.message_id.ok_or(SmsError::Unreachable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::{IntercomId, InviteId};
    use crate::domain::token::LinkToken;

    /// Intercom ids are part of the link; Fluss's run to a dozen characters, and
    /// the SMS keeps one segment with a greeting up to 16.
    fn sms_for(name: &str, minutes: u32) -> String {
        let intercom = IntercomId::parse("ic-0123456789abc").unwrap();
        let token = LinkToken::generate(
            intercom,
            InviteId::generate(time::OffsetDateTime::UNIX_EPOCH),
            &crate::domain::idempotency::SealKeys::random(),
        )
        .expose();
        let link = link(crate::config::DEFAULT_LINK_BASE_URL, &token);
        guest_sms(&GuestName::parse(name).unwrap(), &AccessCode::parse("4821").unwrap(), &link, minutes, None)
    }

    #[test]
    fn the_sms_greets_with_the_letters_of_the_first_name_only() {
        let link = "https://ote.fluss.me/#ic.BrCCiaPUD7s.xE43GsB2lfEqGNo48h8fdQ";
        let code = AccessCode::parse("4821").unwrap();
        let text = guest_sms(&GuestName::parse("www.win-cash.co/za now").unwrap(), &code, link, 720, None);
        assert!(!text.contains("www.") && !text.contains("/za"), "no name-borne links: {text}");
        assert!(text.starts_with("wwwwincashcoza: "), "{text}");
        let text = guest_sms(&GuestName::parse("O'Brien").unwrap(), &code, link, 720, None);
        assert!(text.starts_with("OBrien: "), "{text}");
        let text = guest_sms(&GuestName::parse("0800 123 456").unwrap(), &code, link, 720, None);
        assert!(text.starts_with("Fluss code"), "no letters, no greeting: {text}");
    }

    #[test]
    fn ordinary_names_fit_one_gsm7_segment_with_the_greeting() {
        for name in ["Thandi Mokoena", "Bartholomew-Alexander Smith", "Zoë", "Renée"] {
            for minutes in [15, 90, 720, 4320] {
                let sms = sms_for(name, minutes);
                assert!(sms.chars().count() <= SEGMENT_CHARS, "{} chars: {sms}", sms.chars().count());
                assert!(is_gsm7(&sms), "{sms}");
            }
        }
        assert!(sms_for("Thandi Mokoena", 720).starts_with("Thandi: Fluss code 4821 (valid 12h)"));
    }

    #[test]
    fn names_outside_gsm7_or_too_long_are_left_out_rather_than_splitting_the_sms() {
        for name in ["Łukasz", "王芳", "Maximiliandermitdemsehrsehrsehrlangennamen Müller"] {
            let sms = sms_for(name, 720);
            assert!(sms.starts_with("Fluss code 4821"), "{sms}");
            assert!(is_gsm7(&sms) && sms.chars().count() <= SEGMENT_CHARS);
        }
    }

    #[test]
    fn a_code_made_for_later_says_from_when_in_one_gsm7_segment_greeting_or_not() {
        let intercom = IntercomId::parse("ic-0123456789abc").unwrap();
        let secrets = crate::domain::idempotency::SealKeys::random();
        let token = LinkToken::generate(intercom, InviteId::generate(time::OffsetDateTime::UNIX_EPOCH), &secrets);
        let link = link(crate::config::DEFAULT_LINK_BASE_URL, &token.expose());
        let code = AccessCode::parse("4821").unwrap();
        for name in ["Thandi Mokoena", "Bartholomew-Alexander Smith", "Łukasz"] {
            for minutes in [15, 90, 4320] {
                let sms = guest_sms(&GuestName::parse(name).unwrap(), &code, &link, minutes, Some("28 Dec 09:00"));
                assert!(sms.chars().count() <= SEGMENT_CHARS && is_gsm7(&sms), "{} chars: {sms}", sms.chars().count());
                assert!(sms.contains("Fluss code 4821 from 28 Dec 09:00 for "), "{sms}");
            }
        }
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(short_duration(15), "15 min");
        assert_eq!(short_duration(90), "1h30");
        assert_eq!(short_duration(720), "12h");
        assert_eq!(short_duration(1440), "1 day");
        assert_eq!(short_duration(4320), "3 days");
    }
}
