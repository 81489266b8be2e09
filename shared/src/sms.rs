//! The SMS to the guest, through SNS: what fits one segment, and the sender that
//! keeps to the account's pace. Its words, in the guest's language, are
//! [`crate::messages`]'.

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
