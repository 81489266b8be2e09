//! The gate's word decides: what a guest and an owner see when a gate is offline,
//! slow, mute, or has a wrong clock, and when its reports come late, twice, or out
//! of order. The gates are the local stack's simulator (`local_stack::gates`),
//! which follows the firmware contract against moto's shadows.

use crate::helpers::{other_code, spawn_app, spawn_app_with, Invite, Options, Redeem, TestApp};
use fault_proxy::Fault;
use local_stack::gates::{report_event, Mode};
use ota::handlers::gate_events::{self, Handled};
use serde_json::{json, Value};
use time::Duration;

async fn status(app: &TestApp, invite: &Invite) -> Value {
    let (status, body) = app.guest_status(&invite.token).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// What the gate-events function does with `event`, as a rule would deliver it.
async fn deliver(app: &TestApp, event: Value) -> Handled {
    gate_events::handle(&app.front.deps, &event).await.unwrap()
}

fn now(app: &TestApp) -> time::OffsetDateTime {
    ota::clock::Clock::now(app.clock.as_ref())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gate_reports_opening_and_only_then_the_entry_is_used() {
    let app = spawn_app().await;
    app.configure(10).await;
    let invite = app.invite("Confirmed").await;
    let (status_code, opening) = app
        .call(
            reqwest::Method::POST,
            "/guest/entry",
            None,
            Some(json!({ "token": invite.token, "intercom_id": app.intercom(), "gate_number": app.gate_number(), "code": invite.code })),
        )
        .await;
    assert_eq!((status_code, opening["result"].as_str()), (202, Some("opening")), "{opening}");
    let before = status(&app, &invite).await;
    assert_eq!(before["entry"]["state"], "opening", "spent only provisionally until the gate answers");
    let (_, list) = app.list(&app.owner).await;
    assert_eq!(list["codes"][0]["state"], "entering", "the owner does not see `entered` yet");

    app.settle_gates().await;
    let after = status(&app, &invite).await;
    assert_eq!(after["entry"]["state"], "used");
    assert_eq!(after["next"], "exit");
    let shadow = app.gate_shadow("gate-main").await.unwrap();
    assert_eq!(shadow["state"]["reported"]["result"]["command_id"], opening["command_id"]);
    assert_eq!(shadow["state"]["reported"]["result"]["outcome"], "opened");
    let (_, list) = app.list(&app.owner).await;
    assert_eq!(list["codes"][0]["state"], "entered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offline_gate_is_refused_before_anything_is_spent_and_the_guest_keeps_the_code() {
    let app = spawn_app().await;
    app.configure(10).await;
    let invite = app.invite("Offline Gate").await;
    app.set_gate("gate-main", Mode::Offline).await;
    // A disconnect counts only after the debounce: the gate may be back at once.
    assert_eq!(status(&app, &invite).await["gates"]["entry"]["status"], "online");
    app.advance(Duration::seconds(30));
    let before = status(&app, &invite).await;
    assert_eq!(before["gates"]["entry"]["status"], "offline", "the page can say so before a code is typed");

    let (status_code, error) = app.enter(&invite).await;
    assert_eq!((status_code, error["error"]["code"].as_str()), (503, Some("gate_offline")), "{error}");
    assert!(app.gate_command("gate-main").await.is_none_or(|c| c.is_null()), "nothing was sent");
    let item = app.invite_item(&invite.id).await;
    assert!(
        item.get("entry_tries").is_none_or(|tries| !tries.as_ss().unwrap().contains(&invite.code)),
        "nothing is spent"
    );
    assert_eq!(status(&app, &invite).await["entry"]["state"], "available");

    app.set_gate("gate-main", Mode::Online).await;
    assert_eq!(app.enter(&invite).await.0, 202, "the same code works once the gate is back");
    assert_eq!(status(&app, &invite).await["entry"]["state"], "used");
    assert_eq!(app.openings("gate-main"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mute_gate_s_entry_comes_back_after_the_not_after_and_a_late_report_re_applies_it() {
    let app = spawn_app().await;
    app.configure(10).await;
    let invite = app.invite("Mute Gate").await;
    app.set_gate("gate-main", Mode::Mute).await;
    let (status_code, opening) = app.enter(&invite).await;
    assert_eq!(status_code, 202, "{opening}");
    assert_eq!(status(&app, &invite).await["entry"]["state"], "opening");

    app.advance(Duration::seconds(25));
    let lapsed = status(&app, &invite).await;
    assert_eq!(lapsed["entry"]["state"], "available", "no report by confirm_by: the code works again");
    assert_eq!(lapsed["next"], "entry");
    let history: Vec<String> = app.invite_item(&invite.id).await["history"]
        .as_l()
        .unwrap()
        .iter()
        .map(|line| line.as_s().unwrap().clone())
        .collect();
    assert!(history.iter().any(|line| line.ends_with("entry_not_opened")), "{history:?}");
    // The gate did open (it is mute, not broken), and so the guest inside may leave.
    assert_eq!(app.exit(&invite).await.0, 202, "nobody is locked inside by a gate that says nothing");

    // Its report arrives after all: the gate's word wins.
    let command = opening["command_id"].as_str().unwrap();
    let at = now(&app).unix_timestamp() - 20;
    let report = report_event(
        app.site.thing("gate-main").as_str(),
        &json!({ "command_id": command, "outcome": "opened", "at": at }),
        now(&app),
    );
    assert_eq!(deliver(&app, report.clone()).await, Handled::Confirmed);
    assert_eq!(status(&app, &invite).await["entry"]["state"], "used");
    assert_eq!(deliver(&app, report).await, Handled::Unchanged, "a duplicate changes nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_gate_keeps_the_guest_waiting_and_then_opens_once() {
    let app = spawn_app().await;
    app.configure(10).await;
    let invite = app.invite("Slow Gate").await;
    app.set_gate("gate-main", Mode::Slow { seconds: 5 }).await;
    assert_eq!(app.enter(&invite).await.0, 202);
    assert_eq!(status(&app, &invite).await["entry"]["state"], "opening");
    let (_, again) = app.enter(&invite).await;
    assert_eq!(again["error"]["code"], "opening", "another press waits for the gate: {again}");
    app.advance(Duration::seconds(5));
    app.settle_gates().await;
    assert_eq!(status(&app, &invite).await["entry"]["state"], "used");
    assert_eq!(app.openings("gate-main"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gate_whose_clock_is_ahead_says_too_late_and_the_code_is_given_back_at_once() {
    let app = spawn_app().await;
    app.configure(10).await;
    let invite = app.invite("Skewed Gate").await;
    app.set_gate("gate-main", Mode::Skewed { seconds: 60 }).await;
    assert_eq!(app.enter(&invite).await.0, 202);
    let after = status(&app, &invite).await;
    assert_eq!(after["entry"]["state"], "available", "the gate said it did not act: {after}");
    assert_eq!(app.openings("gate-main"), 0);
    app.set_gate("gate-main", Mode::Online).await;
    assert_eq!(app.enter(&invite).await.0, 202);
    assert_eq!(status(&app, &invite).await["entry"]["state"], "used");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_typo_at_the_exit_never_locks_a_guest_inside() {
    let app = spawn_app().await;
    app.configure(10).await;
    let invite = app.invite("Typo At The Exit").await;
    let wrong = other_code(&invite.code);
    for _ in 0..4 {
        app.redeem(Redeem::Entry, &invite.token, app.intercom(), &wrong).await;
    }
    assert_eq!(app.enter(&invite).await.0, 202, "the fifth try is the right code");
    let (status_code, error) = app.redeem(Redeem::Exit, &invite.token, app.intercom(), &wrong).await;
    assert_eq!((status_code, error["error"]["code"].as_str()), (403, Some("wrong_code")), "{error}");
    assert_eq!(error["error"]["attempts_left"], 4, "the exit has its own allowance");
    let (_, list) = app.list(&app.owner).await;
    assert_eq!(list["codes"][0]["state"], "entered", "not locked");
    assert_eq!(app.exit(&invite).await.0, 202, "the guest gets out");
    assert_eq!(app.openings("gate-exit"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_codes_at_the_exit_slow_the_guest_down_with_a_growing_pause_but_never_lock() {
    let app = spawn_app().await;
    app.configure(10).await;
    let invite = app.invite("Many Typos").await;
    assert_eq!(app.enter(&invite).await.0, 202);
    let wrong = other_code(&invite.code);
    for _ in 0..5 {
        app.redeem(Redeem::Exit, &invite.token, app.intercom(), &wrong).await;
    }
    let (status_code, error) = app.exit(&invite).await;
    assert_eq!((status_code, error["error"]["code"].as_str()), (429, Some("slow_down")), "{error}");
    let first_wait = error["error"]["retry_after_seconds"].as_i64().unwrap();
    assert_eq!(first_wait, 60);
    assert_eq!(status(&app, &invite).await["retry_after_seconds"], 60, "the page can show the wait");
    app.advance(Duration::seconds(first_wait));
    let (_, error) = app.redeem(Redeem::Exit, &invite.token, app.intercom(), &wrong).await;
    assert_eq!(error["error"]["retry_after_seconds"], 75, "each try makes the next pause longer: {error}");
    app.advance(Duration::seconds(75));
    assert_eq!(app.exit(&invite).await.0, 202, "the right code still opens the exit");
}

/// Three refused entry commands, then a gate outage at the exit: the exit is still
/// the guest's (no budget of give-backs is shared or runs out).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_entry_gate_refusals_and_an_exit_gate_outage_still_let_the_guest_out() {
    let app = spawn_app_with(Options { faults: true, ..Options::default() }).await;
    app.configure(10).await;
    let invite = app.invite("Bad Gates Day").await;
    app.faults().always("IoT.UpdateThingShadow", Fault::Throttle);
    for _ in 0..3 {
        assert_eq!(app.enter(&invite).await.0, 503);
    }
    app.faults().heal();
    assert_eq!(app.enter(&invite).await.0, 202);
    app.faults().always("IoT.UpdateThingShadow", Fault::Throttle);
    assert_eq!(app.exit(&invite).await.0, 503, "the exit gate is out");
    app.faults().heal();
    app.advance(Duration::minutes(1));
    let (status_code, body) = app.exit(&invite).await;
    assert_eq!(status_code, 202, "the exit was not spent by the outage: {body}");
    assert_eq!((app.openings("gate-main"), app.openings("gate-exit")), (1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_from_another_gate_or_on_unknown_commands_are_not_believed() {
    let app = spawn_app().await;
    app.configure(10).await;
    let invite = app.invite("Forged Report").await;
    app.set_gate("gate-main", Mode::Mute).await;
    let (_, opening) = app.enter(&invite).await;
    let command = opening["command_id"].as_str().unwrap();
    let result = json!({ "command_id": command, "outcome": "opened", "at": now(&app).unix_timestamp() });
    let other_gate = app.site.thing("gate-exit").as_str();
    assert_eq!(deliver(&app, report_event(other_gate, &result, now(&app))).await, Handled::Ignored);
    let unknown = json!({ "command_id": format!("{}.xAAAAAAAAAAA", &command[..command.rfind('.').unwrap()]), "outcome": "opened", "at": 1 });
    let entry_gate = app.site.thing("gate-main").as_str();
    assert_eq!(deliver(&app, report_event(entry_gate, &unknown, now(&app))).await, Handled::Ignored);
    assert_eq!(status(&app, &invite).await["entry"]["state"], "opening");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweep_gives_back_a_command_that_lapsed_and_leaves_nothing_behind() {
    let app = spawn_app().await;
    app.put_settings(
        &app.owner,
        json!({ "entry_gate": "gate-main", "exit_gate": "gate-exit", "invite_duration_minutes": 15 }),
    )
    .await;
    let invite = app.invite("Nobody Asked Again").await;
    assert_eq!(app.enter(&invite).await.0, 202);
    app.set_gate("gate-exit", Mode::Offline).await;
    assert_eq!(app.exit(&invite).await.0, 202, "sent: the disconnect is too recent to count");
    app.advance(Duration::minutes(80));
    let report = app.sweep().await;
    assert_eq!((report.due, report.expired, report.overstayed), (1, 1, 1), "{report:?}");
    let history = app.invite_item(&invite.id).await["history"].as_l().unwrap().len();
    assert!(history >= 6, "created, entry try, opened, exit try, exit not opened, expired, overstayed: {history}");
    let again = app.sweep().await;
    assert_eq!((again.due, again.overstayed), (0, 0), "nothing is left in the index");
}

/// The gate's clock is a diagnostic: a report is believed for what happened whatever
/// its `at` says (far future, negative, milliseconds, absent), and the owner's
/// activity and the events take the time IoT Core received it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_with_any_gate_clock_is_believed_and_timed_by_iot_core() {
    let app = spawn_app().await;
    app.configure(10).await;
    app.set_gate("gate-main", Mode::Mute).await;
    let entry_gate = app.site.thing("gate-main").as_str().to_owned();
    for (name, at) in [
        ("Far Future", json!(253_402_300_799_i64)),
        ("Negative", json!(-86_400)),
        ("Millis", json!(now(&app).unix_timestamp() * 1000)),
        ("Missing", Value::Null),
    ] {
        let invite = app.invite(name).await;
        let (_, opening) = app.enter(&invite).await;
        let command = opening["command_id"].as_str().unwrap();
        let received = now(&app) + Duration::seconds(2);
        let mut result = json!({ "command_id": command, "outcome": "opened" });
        if !at.is_null() {
            result["at"] = at.clone();
        }
        let report = report_event(&entry_gate, &result, received);
        assert_eq!(deliver(&app, report).await, Handled::Confirmed, "{name}: the gate opened");
        let rfc3339 = received.format(&time::format_description::well_known::Rfc3339).unwrap();
        assert_eq!(status(&app, &invite).await["entry"]["opened_at"], rfc3339, "{name}");
    }
    let (code, activity) = app.activity(&app.owner, "limit=100").await;
    assert_eq!(code, 200, "the outbox mapped every report: {activity}");
    let entered: Vec<&Value> =
        activity["facts"].as_array().unwrap().iter().filter(|f| f["kind"] == "guest_entered").collect();
    assert_eq!(entered.len(), 4, "{activity}");
    let today = now(&app).date().to_string();
    assert!(entered.iter().all(|f| f["occurred_at"].as_str().unwrap().starts_with(&today)), "{entered:?}");
}
