//! The activity page (`listActivity`) and its facts, which are also the `detail` of
//! the events on the bus (`events/schemas/`): one shape for both.

use super::{wire_enum, Instant};
use crate::domain::activity::{Fact, FactKind, SCHEMA_VERSION};
use serde::Serialize;

wire_enum!(FactKind, FactKind::ALL);

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "contract", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ActivityPage<'a> {
    pub intercom_id: &'a str,
    /// With `code=`: whose history this is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code_id: Option<&'a str>,
    pub facts: Vec<FactView<'a>>,
    /// The next (older) page's cursor; `None` on the last page, and with `code=`
    /// (a code's history is one page).
    pub next_cursor: Option<String>,
}

/// One thing that happened. Absent parts are left out, never `null`; never the
/// code or the link.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "contract", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct FactView<'a> {
    pub schema_version: u32,
    pub event_id: &'a str,
    pub kind: FactKind,
    pub occurred_at: Instant,
    pub intercom_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guest: Option<FactGuestView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actor: Option<&'a str>,
    /// The gate's label (facts name gates as people read them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gate: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'a str>,
    /// With `code_created` of a code made for later: from when it works.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<Instant>,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "contract", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct FactGuestView<'a> {
    pub name: &'a str,
    /// Masked, as the list shows it.
    pub mobile: &'a str,
}

impl<'a> FactView<'a> {
    pub fn of(fact: &'a Fact) -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            event_id: &fact.id,
            kind: fact.kind,
            occurred_at: Instant(fact.at),
            intercom_id: fact.intercom.as_str(),
            code_id: fact.guest.as_ref().map(|guest| guest.invite.as_str()),
            guest: fact
                .guest
                .as_ref()
                .and_then(|guest| guest.details.as_ref())
                .map(|guest| FactGuestView { name: &guest.name, mobile: &guest.mobile }),
            actor: fact.actor.as_deref(),
            gate: fact.gate.as_deref(),
            reason: fact.reason.as_deref(),
            starts_at: fact.starts_at.map(Instant),
        }
    }
}
