//! What the guest's page is told: the link's status (`guestStatus`) and a
//! redemption's answer (`redeemEntry`, `redeemExit`). Gates are named by label only:
//! a guest has no use for a device id.

use super::{wire_enum, Instant};
use crate::domain::host::ContactVia;
use crate::domain::language::Language;
use crate::domain::passage::Progress;
use crate::domain::redemption::Redemption;
use crate::store::GateReachability;
use serde::Serialize;

wire_enum!(Redemption, [Redemption::Entry, Redemption::Exit]);
wire_enum!(ContactVia, [ContactVia::Call, ContactVia::WhatsApp]);
wire_enum!(
    Progress,
    [
        Progress::Available,
        Progress::Opening { confirm_by: time::OffsetDateTime::UNIX_EPOCH },
        Progress::Opened { at: time::OffsetDateTime::UNIX_EPOCH },
        Progress::Lapsed,
    ]
);
wire_enum!(
    GateReachability,
    [
        GateReachability::Online,
        GateReachability::Offline { since: time::OffsetDateTime::UNIX_EPOCH },
        GateReachability::Unknown
    ]
);

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "contract", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct GuestStatus<'a> {
    pub first_name: &'a str,
    /// What the page is in unless the guest switches.
    pub language: Language,
    /// Who invited the guest; the contact only when the owner chose one.
    pub host: Option<HostView<'a>>,
    /// Where the gate is, when provisioned.
    pub place: Option<PlaceView<'a>>,
    pub intercom: IntercomView<'a>,
    pub next: Option<Redemption>,
    /// The label of the gate `next` opens.
    pub gate_label: Option<&'a str>,
    pub also: Option<AlsoExit>,
    pub entry_gate_label: &'a str,
    pub exit_gate_label: &'a str,
    pub gates: GatesView<'a>,
    pub entry: PassageView,
    pub exit: PassageView,
    /// From when the entry opens: before then, `refusal` is `not_yet`.
    pub starts_at: Instant,
    pub valid_until: Instant,
    pub exit_open_until: Instant,
    pub server_time: Instant,
    pub attempts_left: u32,
    pub retry_after_seconds: Option<i64>,
    pub refusal: Option<StatusRefusal>,
    /// With a gate number sent, for a link that has a passage now: whether a
    /// redemption would take it. `None` otherwise.
    pub gate_check: Option<GateCheck>,
}

/// What a redemption would say of the gate number the page holds.
#[derive(Debug, Clone, Copy, Serialize)]
#[cfg_attr(feature = "contract", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum GateCheck {
    Accepted,
    /// Not this intercom's number (nor the one it replaced, in its grace).
    ScanAtGate,
    /// A QR code of another intercom.
    WrongIntercom,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "contract", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct HostView<'a> {
    pub name: &'a str,
    pub contact: Option<ContactView>,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "contract", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ContactView {
    pub via: ContactVia,
    /// `tel:` or WhatsApp's `https://wa.me/…`.
    pub url: String,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "contract", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct PlaceView<'a> {
    pub address: &'a str,
    /// Opens the phone's maps app at the gate.
    pub map_url: String,
}

/// The exit offered beside the entry (`also`): only ever `exit`.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "contract", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum AlsoExit {
    Exit,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "contract", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct IntercomView<'a> {
    pub label: &'a str,
    /// IANA time zone of the intercom, e.g. Africa/Johannesburg.
    pub time_zone: &'a str,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "contract", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct GatesView<'a> {
    pub entry: GateView<'a>,
    pub exit: GateView<'a>,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "contract", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct GateView<'a> {
    pub label: &'a str,
    pub status: GateReachability,
}

/// Where a passage stands: `confirm_by` only while `opening`, `opened_at` only once `used`.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "contract", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct PassageView {
    pub state: Progress,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confirm_by: Option<Instant>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opened_at: Option<Instant>,
}

impl PassageView {
    pub fn of(progress: Progress) -> Self {
        let (confirm_by, opened_at) = match progress {
            Progress::Opening { confirm_by } => (Some(Instant(confirm_by)), None),
            Progress::Opened { at } => (None, Some(Instant(at))),
            Progress::Available | Progress::Lapsed => (None, None),
        };
        Self { state: progress, confirm_by, opened_at }
    }
}

/// Why no passage is open now, as an error would say it.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "contract", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct StatusRefusal {
    pub code: &'static str,
    pub message: String,
}

/// Whether the gate has reported opening for this attempt yet.
#[derive(Debug, Clone, Copy, Serialize)]
#[cfg_attr(feature = "contract", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum OpenResult {
    Opening,
    Opened,
}

/// A redemption's answer: the command is with the gate (`202 opening`), or, for a
/// repeat of an attempt the gate has answered, `200 opened`.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "contract", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Opened<'a> {
    pub result: OpenResult,
    pub redemption: Redemption,
    pub gate_label: &'a str,
    pub command_id: String,
    pub confirm_by: Instant,
    pub repeated: bool,
    pub exit_open_until: Instant,
}
