//! A gate's presence from lifecycle events in the shapes AWS IoT Core documents
//! (<https://docs.aws.amazon.com/iot/latest/developerguide/life-cycle-events.html>):
//!
//! - "The connect and disconnect messages for a client connection have the same
//!   version number."
//! - "The version number might skip values and is not guaranteed to be consistently
//!   increasing by 1 for each event."
//! - "If a client is not connected for approximately one hour, the version number is
//!   reset to 0."
//! - "Lifecycle messages might be sent out of order. You might receive duplicate
//!   messages."
//! - `timestamp`: "expressed in milliseconds since the Unix epoch. The accuracy of the
//!   timestamp is +/- 2 minutes."
//!
//! Each sequence is delivered to `gate-events` as the presence rule would, and read
//! back as the guest's page reads it (`POST /guest/status`), after the debounce.

use crate::helpers::{spawn_app, Invite, TestApp};
use local_stack::gates::{lifecycle_event, report_event};
use ota::handlers::gate_events;
use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};

fn now(app: &TestApp) -> OffsetDateTime {
    ota::clock::Clock::now(app.clock.as_ref())
}

struct Gate<'a> {
    app: &'a TestApp,
    thing: String,
}

impl Gate<'_> {
    async fn event(&self, connected: bool, version: i64, session: &str, at: OffsetDateTime) {
        let event = lifecycle_event(&self.thing, connected, version, session, at);
        gate_events::handle(&self.app.front.deps, &event).await.unwrap();
    }

    async fn connect(&self, version: i64, session: &str, at: OffsetDateTime) {
        self.event(true, version, session, at).await;
    }

    async fn disconnect(&self, version: i64, session: &str, at: OffsetDateTime) {
        self.event(false, version, session, at).await;
    }
}

async fn entry_gate_status(app: &TestApp, invite: &Invite) -> String {
    let (status, body) = app.guest_status(&invite.token).await;
    assert_eq!(status, 200, "{body}");
    body["gates"]["entry"]["status"].as_str().unwrap().to_owned()
}

/// An app whose entry gate the tests play by hand: the simulator takes it offline
/// first (its own events are then older than anything a test sends).
async fn hand_played() -> (TestApp, Invite, String) {
    let app = spawn_app().await;
    app.configure(10).await;
    let invite = app.invite("Lifecycle").await;
    let thing = app.site.thing("gate-main").as_str().to_owned();
    app.advance(Duration::hours(3));
    (app, invite, thing)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_s_disconnect_carries_its_connect_s_version_and_takes_the_gate_offline() {
    let (app, invite, thing) = hand_played().await;
    let gate = Gate { app: &app, thing };
    let t = now(&app);
    gate.connect(7, "s-7", t - Duration::minutes(10)).await;
    gate.disconnect(7, "s-7", t).await;
    assert_eq!(entry_gate_status(&app, &invite).await, "online", "not before the debounce");
    app.advance(Duration::seconds(30));
    assert_eq!(entry_gate_status(&app, &invite).await, "offline");
    let (status, error) = app.enter(&invite).await;
    assert_eq!((status, error["error"]["code"].as_str()), (503, Some("gate_offline")), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gate_back_after_an_hour_with_its_version_reset_to_zero_is_online() {
    let (app, invite, thing) = hand_played().await;
    let gate = Gate { app: &app, thing };
    let t = now(&app);
    gate.connect(7, "s-7", t - Duration::minutes(10)).await;
    gate.disconnect(7, "s-7", t).await;
    app.advance(Duration::minutes(65));
    assert_eq!(entry_gate_status(&app, &invite).await, "offline");
    gate.connect(0, "s-0", now(&app)).await;
    assert_eq!(entry_gate_status(&app, &invite).await, "online", "the reset version is not older");
    assert_eq!(app.enter(&invite).await.0, 202);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicated_and_reordered_pairs_end_where_the_last_connection_ends() {
    let (app, invite, thing) = hand_played().await;
    let gate = Gate { app: &app, thing };
    let t = now(&app);
    // Connection 7 dropped; connection 9 (versions skip) is up. Delivered backwards, twice.
    gate.connect(9, "s-9", t - Duration::seconds(40)).await;
    gate.disconnect(7, "s-7", t - Duration::seconds(50)).await;
    gate.connect(7, "s-7", t - Duration::minutes(5)).await;
    gate.connect(9, "s-9", t - Duration::seconds(40)).await;
    gate.disconnect(7, "s-7", t - Duration::seconds(50)).await;
    app.advance(Duration::minutes(2));
    assert_eq!(entry_gate_status(&app, &invite).await, "online");
    // Connection 9's own disconnect arrives before its connect's duplicate.
    gate.disconnect(9, "s-9", now(&app)).await;
    gate.connect(9, "s-9", t - Duration::seconds(40)).await;
    app.advance(Duration::seconds(30));
    assert_eq!(
        entry_gate_status(&app, &invite).await,
        "offline",
        "a connection's connect never outlives its disconnect"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_session_s_disconnect_after_a_newer_connect_leaves_the_gate_online() {
    let (app, invite, thing) = hand_played().await;
    let gate = Gate { app: &app, thing };
    let t = now(&app);
    gate.connect(12, "s-12", t).await;
    gate.disconnect(11, "s-11", t + Duration::seconds(5)).await;
    app.advance(Duration::minutes(1));
    assert_eq!(entry_gate_status(&app, &invite).await, "online");
    // The same after a reset: the old session's disconnect, an hour older, comes last.
    gate.disconnect(12, "s-12", now(&app)).await;
    app.advance(Duration::minutes(70));
    gate.connect(0, "s-0", now(&app)).await;
    gate.disconnect(12, "s-12", now(&app) - Duration::minutes(70)).await;
    app.advance(Duration::minutes(1));
    assert_eq!(entry_gate_status(&app, &invite).await, "online");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_proves_a_gate_online_whose_connect_has_not_arrived() {
    let (app, invite, thing) = hand_played().await;
    let gate = Gate { app: &app, thing: thing.clone() };
    gate.disconnect(4, "s-4", now(&app)).await;
    app.advance(Duration::minutes(5));
    app.sweep().await;
    assert_eq!(entry_gate_status(&app, &invite).await, "offline");
    // The gate is back (its connect is late) and reports on an older command.
    let report: Value =
        report_event(&thing, &json!({ "command_id": "ic.x.y", "outcome": "opened", "at": 1 }), now(&app));
    gate_events::handle(&app.front.deps, &report).await.unwrap();
    assert_eq!(entry_gate_status(&app, &invite).await, "online", "only a connected gate can report");
    app.settle().await;
    assert!(app.activity_kinds().await.iter().any(|kind| kind == "gate_online"), "the owner hears it is back");
}

/// The simulator itself, told to deliver every lifecycle event twice and each one's
/// predecessor again late: a gate that drops, comes back, drops for over an hour and
/// comes back (version reset to 0) reads as it really is after each step.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulator_s_duplicated_and_late_events_still_tell_the_truth() {
    let app = spawn_app().await;
    app.configure(10).await;
    let invite = app.invite("Flaky Link").await;
    let thing = app.site.thing("gate-main").as_str().to_owned();
    let delivery = local_stack::gates::Delivery { duplicate: true, reorder: true };
    assert!(app.front.gates.set_delivery(&thing, delivery));
    for outage in [Duration::minutes(2), Duration::minutes(70), Duration::seconds(40)] {
        app.set_gate("gate-main", local_stack::gates::Mode::Offline).await;
        app.advance(outage);
        assert_eq!(entry_gate_status(&app, &invite).await, "offline", "after {outage}");
        app.set_gate("gate-main", local_stack::gates::Mode::Online).await;
        assert_eq!(entry_gate_status(&app, &invite).await, "online", "back after {outage}");
    }
}
