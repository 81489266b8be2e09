//! The library every One-Time Access function is built from.
//!
//! Each Lambda binary under `functions/` is only wiring: it reads [`config::Config`]
//! once, builds the AWS clients once ([`Deps::from_env`]) and hands each request to
//! one handler from [`handlers`]. Everything a request does lives here, so the local
//! stack and the tests run exactly the code that ships.
//!
//! # Layout
//! - [`domain`]: typed values parsed at the edge (ids, codes, phone numbers, guest
//!   names, link tokens, settings) and the rules of an invite's life (liveness,
//!   which redemption is allowed, what an error means). Pure; no I/O.
//! - [`keys`]: the single-table key scheme, as pure functions.
//! - [`store`]: the DynamoDB adapter — every read and conditional write, one file
//!   per aggregate with its item mapping beside its requests.
//! - [`sms`]: the SNS adapter and the text of the SMS and share message.
//! - [`i18n`], [`messages`]: the guest's words in each language (one catalogue per
//!   language, `shared/i18n/`, shared with the guest page), and the SMS and share
//!   message built from them.
//! - [`share`]: the share sheet's targets (message, SMS, WhatsApp and e-mail links).
//! - [`sms_queue`]: the SQS queue that buffers SMS requests between the stream and SNS.
//! - [`gate`]: the IoT device-shadow adapter that opens gates.
//! - [`api`]: the wire types, every response and error body (the contract
//!   `infra/openapi.yaml` is checked against).
//! - [`error`]: the one error type and its one mapping to HTTP.
//! - [`http`]: request parsing (claims, path, JSON bodies) and JSON responses.
//! - [`handlers`]: one module per endpoint, thin: parse, call the domain and store, answer.
//! - [`link_limits`]: what a warm guest function remembers of each link's recent reads.
//! - [`config`], [`clock`], [`telemetry`]: read once at cold start / injected.

pub mod api;
pub mod aws;
pub mod clock;
pub mod config;
pub mod domain;
pub mod error;
#[cfg(feature = "events")]
pub mod events;
#[cfg(feature = "gate")]
pub mod gate;
pub mod handlers;
pub mod http;
#[cfg(feature = "phone")]
pub mod i18n;
pub mod keys;
pub mod link_limits;
#[cfg(feature = "phone")]
pub mod messages;
#[cfg(feature = "phone")]
pub mod share;
#[cfg(feature = "phone")]
pub mod sms;
#[cfg(feature = "queue")]
pub mod sms_queue;
pub mod store;
pub mod telemetry;

pub mod deps;
pub use deps::Deps;
