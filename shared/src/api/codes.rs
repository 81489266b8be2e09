//! Codes: a created one (`createInvite`), the list (`listCodes`), a resend (`resendSms`).

use super::{wire_enum, Instant};
use crate::domain::invite::{ListedState, SmsStatus};
use crate::domain::language::Language;
use serde::Serialize;

wire_enum!(
    SmsStatus,
    [SmsStatus::Queued, SmsStatus::Sent, SmsStatus::Delivered, SmsStatus::Failed, SmsStatus::OwnerShares]
);
wire_enum!(
    ListedState,
    [
        ListedState::Scheduled,
        ListedState::Unused,
        ListedState::Entering,
        ListedState::Entered,
        ListedState::Locked,
        ListedState::Inside
    ]
);

/// A new code (or, replayed, the same one again).
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "contract", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct InviteCreated<'a> {
    pub id: String,
    pub intercom_id: String,
    pub code: String,
    pub guest: CreatedGuest,
    pub link: String,
    pub token: String,
    pub created_at: Instant,
    /// From when the code opens the entry (its creation unless made for later).
    pub starts_at: Instant,
    pub expires_at: Instant,
    pub exit_closes_at: Instant,
    pub remaining_seconds: i64,
    pub entry_gate: String,
    pub entry_gate_label: String,
    pub exit_gate: String,
    pub exit_gate_label: String,
    /// What the guest reads (the SMS, the share message, the page).
    pub guest_language: Language,
    pub share: ShareView,
    pub sms: SmsView<'a>,
}

/// Ready-made share targets for one code (built by `crate::share`).
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "contract", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ShareView {
    /// The message for the clipboard, WhatsApp and e-mail: several lines.
    pub message: String,
    /// The SMS text: one GSM-7 segment (160 characters), the same the service sends.
    pub sms_text: String,
    /// `sms:` URI (RFC 5724) to the guest, with `sms_text` as its body.
    pub sms_url: String,
    /// WhatsApp's click-to-chat link to the guest, with `message` filled in.
    pub whatsapp_url: String,
    pub email_subject: String,
    /// `mailto:` URI (RFC 6068) without an address (the app has none for the
    /// guest), with the subject and `message` as its body.
    pub email_url: String,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "contract", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CreatedGuest {
    pub name: String,
    /// E.164.
    pub mobile: String,
}

/// What an erasure did (`eraseGuest`): the codes whose guest it erased at this
/// intercom (none when no code of this number is kept: erasing twice is fine).
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "contract", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ErasureView<'a> {
    pub intercom_id: &'a str,
    pub erased_codes: Vec<&'a str>,
}

/// Where the guest's SMS is; `reason` only while it stands failed.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "contract", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct SmsView<'a> {
    pub status: SmsStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'a str>,
}

/// A page of the live codes, written straight from borrowed fields (no
/// intermediate JSON tree: its cost grew with every listed code).
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "contract", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CodeList<'a> {
    pub intercom_id: &'a str,
    pub max_users: Option<u32>,
    /// Places in use now, of all pages.
    pub active: u32,
    pub codes: Vec<ListedCode<'a>>,
    /// `None` on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "contract", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ListedCode<'a> {
    pub id: &'a str,
    pub code: &'a str,
    pub guest_name: &'a str,
    pub guest_mobile: String,
    pub state: ListedState,
    pub created_by: &'a str,
    pub created_at: Instant,
    pub starts_at: Instant,
    pub expires_at: Instant,
    pub remaining_seconds: i64,
    pub exit_open_until: Instant,
    pub entry_gate: &'a str,
    pub entry_gate_label: &'a str,
    pub exit_gate: &'a str,
    pub exit_gate_label: &'a str,
    pub sms: SmsView<'a>,
}

/// A resend asked for.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "contract", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct SmsResend<'a> {
    pub code_id: &'a str,
    pub sms: SmsView<'a>,
}
