//! Integration and end-to-end tests: the real handlers behind the local API front,
//! over moto (single-threaded), with real JWTs, SNS and IoT shadows.
//!
//! Each test gets its own table, intercom, users and clock from `spawn_app()`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failed test

mod helpers;
mod model;

mod activity;
mod authorization;
mod budgets;
mod busy_estate;
mod busy_estate_bench;
mod capacity;
mod constraints;
mod contract;
mod contract_schemas;
mod create_invite;
mod deployment;
mod device_policy;
mod edge;
mod erasure;
mod events;
mod expiry;
mod faults;
mod gates;
mod guest_reach;
mod guest_status;
mod inside;
mod oracle;
mod presence;
mod recovery;
mod redeem;
mod revoke;
mod secrets;
mod settings;
mod share_and_later;
mod sms_pipeline;
mod template_rules;
