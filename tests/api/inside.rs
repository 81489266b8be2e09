//! A guest inside keeps their place and their row in the owner's list whatever
//! happens to an exit press — refused, pending, given back. Only revoke, a
//! confirmed exit and the end of the exit window free the place.

use crate::helpers::{spawn_app_with, Invite, Options, TestApp};
use fault_proxy::Fault;
use local_stack::gates::Mode;
use time::Duration;

/// Max Users 1, and the one guest inside.
async fn one_place_taken() -> (TestApp, Invite) {
    let app = spawn_app_with(Options { faults: true, ..Options::default() }).await;
    app.configure(1).await;
    let invite = app.invite("Inside").await;
    assert_eq!(app.enter(&invite).await.0, 202);
    app.settle_gates().await;
    (app, invite)
}

async fn assert_place_held(app: &TestApp, invite: &Invite, when: &str) {
    let (status, body) =
        app.create(&app.owner, serde_json::json!({ "name": "Next Guest", "mobile": "082 555 0100" })).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("limit_reached")), "{when}: {body}");
    assert_eq!(app.listed_ids().await, std::slice::from_ref(&invite.id), "{when}: the guest inside is still listed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exit_refused_by_iot_core_keeps_the_place_and_the_row() {
    let (app, invite) = one_place_taken().await;
    app.faults().always("IoT.UpdateThingShadow", Fault::Throttle);
    let (status, body) = app.exit(&invite).await;
    assert_eq!((status, body["error"]["code"].as_str()), (503, Some("gate_unavailable")), "{body}");
    app.faults().heal();
    assert_place_held(&app, &invite, "after a refused exit").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_exit_and_one_given_back_keep_the_place_and_the_row() {
    let (app, invite) = one_place_taken().await;
    app.set_gate("gate-exit", Mode::Mute).await;
    assert_eq!(app.exit(&invite).await.0, 202);
    assert_place_held(&app, &invite, "while the exit command is out").await;
    app.advance(Duration::seconds(30));
    app.guest_status(&invite.token).await;
    assert_place_held(&app, &invite, "after the mute exit gate's command was given back").await;
    // A confirmed exit frees it.
    app.set_gate("gate-exit", Mode::Online).await;
    assert_eq!(app.exit(&invite).await.0, 202);
    app.settle_gates().await;
    assert!(app.listed_ids().await.is_empty(), "the guest left");
    let (status, body) =
        app.create(&app.owner, serde_json::json!({ "name": "Next Guest", "mobile": "082 555 0100" })).await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_place_of_a_guest_inside_is_held_until_the_exit_window_closes() {
    let (app, invite) = one_place_taken().await;
    app.advance(Duration::hours(12));
    assert_place_held(&app, &invite, "expired, inside, exit window open").await;
    app.advance(Duration::minutes(60));
    let (status, body) =
        app.create(&app.owner, serde_json::json!({ "name": "Next Guest", "mobile": "082 555 0100" })).await;
    assert_eq!(status, 201, "the exit window closed: {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_whose_entry_never_opened_is_not_called_overstayed() {
    let app = spawn_app_with(Options::default()).await;
    app.configure(10).await;
    let invite = app.invite("Never In").await;
    app.set_gate("gate-main", Mode::Slow { seconds: 600 }).await;
    app.advance(Duration::hours(12) - Duration::seconds(5));
    assert_eq!(app.enter(&invite).await.0, 202, "a command out at expiry");
    app.advance(Duration::seconds(10));
    app.sweep().await;
    app.advance(Duration::minutes(90));
    app.sweep().await;
    let kinds = app.activity_kinds().await;
    assert!(!kinds.iter().any(|kind| kind == "guest_overstayed"), "{kinds:?}");
    assert!(kinds.iter().any(|kind| kind == "code_expired"), "{kinds:?}");
}
