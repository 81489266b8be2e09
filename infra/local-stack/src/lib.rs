//! The whole service on one machine, for developers and for the tests.
//!
//! # Layout
//! - [`moto`]: starts `infra/moto_server.py` (moto, single-threaded) on a free
//!   loopback port and stops it with this process.
//! - [`capacity`]: the capacity model: every DynamoDB request of a simulated fleet's
//!   day, as units on each partition key, scaled to the fleet at its peak.
//! - [`aws`]: SDK configuration pointing every client at that emulator.
//! - [`table`]: creates the table from `template.yaml`'s `Table` resource, so the
//!   local table is the deployed one.
//! - [`seed`]: provisions an intercom (registry, gate things, members), as device
//!   management would; the demo data and every test use it.
//! - [`jwt`]: signs and verifies the app's JWTs locally, in place of API Gateway's
//!   authorizer.
//! - [`front`]: the local HTTP API: the same routes as `template.yaml`, each turned
//!   into an API Gateway HTTP API (v2) event and handed to the same handler the
//!   Lambda function runs; the guest page on the same origin (as CloudFront serves
//!   it); plus `/_local/...` endpoints to look at SMS, shadows and QR codes.
//! - [`gates`]: the gate simulator (the firmware contract against moto's shadows)
//!   and the routing of its reports and lifecycle events, as IoT rules would do.
//! - [`sms_queue`]: the SMS queue in moto's SQS, and its event source mapping to the SMS sender.
//! - [`page`]: the built guest page and its headers (`infra/guest-page`).
//! - [`clock`]: real time plus an offset the developer can move forward.

pub mod aws;
pub mod capacity;
pub mod clock;
pub mod front;
pub mod gates;
pub mod jwt;
mod local_views;
pub mod moto;
pub mod outbox;
pub mod page;
pub mod seed;
pub mod sms_queue;
pub mod table;

use std::path::PathBuf;

/// The repository root (this crate lives at `infra/local-stack`).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}
