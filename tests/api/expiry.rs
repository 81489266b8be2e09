//! Expiry with an injected clock: nothing sleeps, nothing relies on TTL deletion.

use crate::helpers::spawn_app;
use serde_json::json;
use time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_code_is_refused_hidden_and_frees_its_slot_before_any_sweep() {
    let app = spawn_app().await;
    app.configure(1).await;
    let invite = app.invite("Late Guest").await;

    app.advance(Duration::hours(12) - Duration::seconds(1));
    assert_eq!(app.listed_ids().await, vec![invite.id.clone()], "still valid one second before expiry");

    app.advance(Duration::seconds(1));
    assert!(app.listed_ids().await.is_empty(), "expired code hidden though its item is still there");
    let (status, error) = app.enter(&invite).await;
    assert_eq!((status, error["error"]["code"].as_str()), (410, Some("expired")));
    assert!(app.gate_command("gate-main").await.is_none());
    let (status, error) = app.revoke(&app.owner, &invite.id).await;
    assert_eq!((status, error["error"]["state"].as_str()), (410, Some("expired")), "an expired code is already dead");
    app.invite("Next Guest").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_inside_can_still_leave_during_the_exit_grace_but_not_after() {
    let app = spawn_app().await;
    app.put_settings(
        &app.owner,
        json!({ "entry_gate": "gate-main", "invite_duration_minutes": 60, "exit_grace_minutes": 30 }),
    )
    .await;
    let stays_late = app.invite("Stays Late").await;
    let stays_too_long = app.invite("Stays Too Long").await;
    assert_eq!(app.enter(&stays_late).await.0, 202);
    assert_eq!(app.enter(&stays_too_long).await.0, 202);

    app.advance(Duration::minutes(75));
    let (_, list) = app.list(&app.owner).await;
    let states: Vec<_> = list["codes"].as_array().unwrap().iter().map(|c| c["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["inside", "inside"], "guests inside stay listed through the grace: {list}");
    assert_eq!(list["active"], 2, "and hold their places until their exit windows close");
    let (status, body) = app.exit(&stays_late).await;
    assert_eq!(status, 202, "{body}");

    app.advance(Duration::minutes(15));
    let (status, error) = app.exit(&stays_too_long).await;
    assert_eq!((status, error["error"]["code"].as_str()), (410, Some("expired")));
    assert!(app.listed_ids().await.is_empty(), "the exit window has closed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlapping_sweeps_record_each_expiry_once_and_leave_live_codes_alone() {
    let app = std::sync::Arc::new(spawn_app().await);
    app.put_settings(&app.owner, json!({ "entry_gate": "gate-main", "invite_duration_minutes": 15 })).await;
    for i in 0..3 {
        app.invite(&format!("Short {i}")).await;
    }
    app.put_settings(&app.owner, json!({ "entry_gate": "gate-main", "invite_duration_minutes": 600 })).await;
    let live = app.invite("Long").await;

    assert_eq!(app.sweep().await, ota::handlers::sweep::SweepReport::default(), "nothing due yet");
    app.advance(Duration::minutes(16));
    let sweeps: Vec<_> = (0..3)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move { app.sweep().await })
        })
        .collect();
    let mut expired = 0;
    for sweep in sweeps {
        expired += sweep.await.unwrap().expired;
    }
    assert_eq!(expired, 3, "each expiry recorded exactly once across overlapping sweeps");
    assert_eq!(app.sweep().await.due, 0, "swept codes leave the index");
    assert_eq!(app.listed_ids().await, vec![live.id]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invite_that_ended_by_exit_is_never_swept_as_expired() {
    let app = spawn_app().await;
    app.configure(10).await;
    let invite = app.invite("Left Early").await;
    assert_eq!(app.enter(&invite).await.0, 202);
    assert_eq!(app.exit(&invite).await.0, 202);
    app.advance(Duration::hours(13));
    // The exit's report took the invite out of the index: nothing falls due.
    let report = app.sweep().await;
    assert_eq!((report.due, report.expired, report.failed), (0, 0, 0), "{report:?}");
    let history = app.invite_item(&invite.id).await["history"].as_l().unwrap().clone();
    assert!(!history.iter().any(|line| line.as_s().unwrap().ends_with(" expired")), "{history:?}");
}

/// The sweep's index holds only what the sweep has to do: a guest who has left is out
/// of it in the write that recorded the exit (the gate's report), not a sweep later;
/// an invite waiting for its expiry sits in its intercom's shard of the index.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_who_exits_is_gone_from_the_sweeps_index_at_once() {
    let app = spawn_app().await;
    app.configure(5).await;
    let leaves = app.invite("Leaves Early").await;
    let waits = app.invite("Never Comes").await;
    let shard = ota::keys::slot_partition(&app.site.intercom);
    for invite in [&leaves, &waits] {
        let item = app.invite_item(&invite.id).await;
        assert_eq!(item[ota::keys::SLOT_INDEX_PK].as_s().unwrap(), &shard, "in its intercom's shard");
    }
    assert_eq!(app.enter(&leaves).await.0, 202);
    assert_eq!(app.exit(&leaves).await.0, 202);
    app.settle_gates().await;
    let item = app.invite_item(&leaves.id).await;
    assert!(item.contains_key("exit_opened"), "the gate reported the exit");
    assert!(!item.contains_key(ota::keys::SLOT_INDEX_PK) && !item.contains_key(ota::keys::SLOT_INDEX_SK));
    assert!(app.invite_item(&waits.id).await.contains_key(ota::keys::SLOT_INDEX_PK), "still due one day");

    app.advance(Duration::hours(13));
    let report = app.sweep().await;
    assert_eq!((report.due, report.expired), (1, 1), "only the code nobody used: {report:?}");
}
