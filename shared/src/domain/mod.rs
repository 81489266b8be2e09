//! Typed values parsed at the edge, and the rules of an invite's life. Pure: no I/O.

pub mod access;
pub mod code;
pub mod guest;
pub mod idempotency;
pub mod ids;
pub mod invite;
pub mod phone;
#[cfg(feature = "sms")]
mod phone_plans;
pub mod settings;
pub mod token;
pub mod zone;
