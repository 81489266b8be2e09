//! Typed values parsed at the edge, and the rules of an invite's life. Pure: no I/O.

pub mod access;
pub mod activity;
pub mod code;
pub mod command;
pub mod cursor;
pub mod draft;
pub mod gate_number;
pub mod guest;
pub mod guest_lookup;
pub mod host;
pub mod idempotency;
pub mod ids;
pub mod invite;
pub mod keyring;
pub mod language;
pub mod location;
pub mod passage;
pub mod phone;
pub mod presence;
pub mod redemption;
// The plans are read only with `sms`; the region names are needed everywhere.
#[cfg_attr(not(feature = "phone"), allow(dead_code))]
mod phone_plans;
pub mod settings;
pub mod token;
pub mod zone;
