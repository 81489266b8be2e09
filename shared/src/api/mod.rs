//! The API's wire types: every response and error body a function answers with, as
//! typed values (serde).
//!
//! These are the one source of the answers' shapes. `infra/openapi.yaml` describes
//! them for the app's developers, and the contract test (`tests/api/contract_schemas.rs`)
//! holds the two together both ways: with the `contract` feature each type also
//! describes itself as JSON Schema (schemars), and a field in one but not the
//! other, a field always sent but not `required`, or an object that does not
//! forbid other fields fails the test command.
//!
//! # Layout
//! - [`settings`]: the settings page (`getSettings`, `updateSettings`).
//! - [`codes`]: a created code, the list, a resend.
//! - [`activity`]: the activity page and its facts (also the events' `detail`).
//! - [`guest`]: what the guest's page is told (`guestStatus`, redemptions).
//! - [`errors`]: the error body every function answers with, and the edge's.
//!
//! Field names follow one rule: a `*_gate` field holds a gate's device id, a
//! `*_gate_label` field the name people read. Guests are told labels only.

pub mod activity;
pub mod codes;
pub mod errors;
pub mod guest;
pub mod settings;

use serde::{Serialize, Serializer};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// A moment, sent as RFC 3339 (`2026-12-06T10:15:00Z`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Instant(pub OffsetDateTime);

impl Serialize for Instant {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let text = self.0.format(&Rfc3339).map_err(serde::ser::Error::custom)?;
        serializer.serialize_str(&text)
    }
}

#[cfg(feature = "contract")]
impl schemars::JsonSchema for Instant {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Instant".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string", "format": "date-time" })
    }
}

/// Seconds until `until`, never negative.
pub fn seconds_until(until: OffsetDateTime, now: OffsetDateTime) -> i64 {
    (until - now).whole_seconds().max(0)
}

/// A domain enum on the wire: sent as its `as_str()`, described as the enum of the
/// values given (each variant at least once).
macro_rules! wire_enum {
    ($ty:ty, [$($value:expr),+ $(,)?]) => {
        $crate::api::wire_enum!($ty, [$($value),+].iter().copied());
    };
    ($ty:ty, $values:expr) => {
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        #[cfg(feature = "contract")]
        impl schemars::JsonSchema for $ty {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($ty).into()
            }

            fn inline_schema() -> bool {
                true
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                let mut values: Vec<&str> = $values.into_iter().map(<$ty>::as_str).collect();
                values.sort_unstable();
                values.dedup();
                schemars::json_schema!({ "type": "string", "enum": values })
            }
        }
    };
}
pub(crate) use wire_enum;
