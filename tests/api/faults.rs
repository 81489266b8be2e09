//! The service under a bad network: every AWS call goes through the fault proxy
//! (`infra/fault-proxy`) with the production clients' timeouts and retries. Each
//! test loses, delays or fails calls on purpose and then checks what a guest or an
//! owner would notice, and what the table and the gates really got.

use crate::helpers::{other_code, spawn_app_with, Options, TestApp};
use fault_proxy::Fault;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::time::Duration;

const UPDATE_ITEM: &str = "DynamoDB.UpdateItem";
const SHADOW: &str = "IoT.UpdateThingShadow";

async fn faulty_app() -> TestApp {
    let app = spawn_app_with(Options { faults: true, ..Options::default() }).await;
    app.configure(10).await;
    app
}

/// Past the clients' attempt timeout (1.5 s): the call happened, the caller gave up.
const HANG: Fault = Fault::DelayAnswer(Duration::from_millis(2_000));

/// Every distinct command id that reached a gate's shadow, with its reason.
fn commands_delivered(app: &TestApp) -> Vec<(String, String)> {
    let delivered: BTreeSet<(String, String)> =
        app.delivered_commands().into_iter().map(|(_, reason, id)| (reason, id)).collect();
    delivered.into_iter().collect()
}

async fn press(app: &TestApp, path: &str, token: &str, code: &str, attempt: &str) -> (u16, Value) {
    let body = json!({ "token": token, "intercom_id": app.intercom(), "gate_number": app.gate_number(), "code": code, "attempt_id": attempt });
    app.call(reqwest::Method::POST, path, None, Some(body)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_whose_write_answer_is_lost_still_opens_the_gate_once() {
    let app = faulty_app().await;
    let invite = app.invite("Lost Answer").await;
    app.faults().next(UPDATE_ITEM, Fault::LoseAnswer);

    let (status, opened) = app.enter(&invite).await;
    assert_eq!(status, 202, "the SDK's retry of a committed entry is that entry: {opened}");
    let delivered = commands_delivered(&app);
    assert_eq!(delivered.len(), 1, "{delivered:?}");
    assert_eq!(opened["command_id"], delivered[0].1.as_str());
    assert_eq!(app.openings("gate-main"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_code_whose_answer_is_lost_is_counted_once() {
    let app = faulty_app().await;
    let invite = app.invite("Counted Once").await;
    app.faults().next(UPDATE_ITEM, Fault::LoseAnswer);

    let (status, error) =
        app.redeem(crate::helpers::Redeem::Entry, &invite.token, app.intercom(), &other_code(&invite.code)).await;
    assert_eq!((status, error["error"]["code"].as_str()), (403, Some("wrong_code")));
    assert_eq!(error["error"]["attempts_left"], 4, "one wrong code, one attempt used: {error}");
}

/// IoT applied the command but its answer never came (or came as a 500): nothing is
/// given back (the command may be in the shadow), the guest waits for the gate, and
/// a retry of the same press is answered with the same command; the gate opens once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ambiguous_gate_failure_is_retried_into_the_same_command() {
    for fault in [HANG, Fault::ServerErrorAfterEffect] {
        let app = faulty_app().await;
        let invite = app.invite("Ambiguous Gate").await;
        app.faults().always(SHADOW, fault);
        let (status, opening) = press(&app, "/guest/entry", &invite.token, &invite.code, "press-ambiguous").await;
        assert_eq!((status, opening["result"].as_str()), (202, Some("opening")), "{fault:?}: {opening}");

        app.faults().heal();
        app.settle_gates().await;
        // Pressed again (a new attempt): the gate has opened for the entry.
        let (status, error) = press(&app, "/guest/entry", &invite.token, &invite.code, "press-again").await;
        assert_eq!((status, error["error"]["code"].as_str()), (409, Some("already_used")), "{fault:?}");
        // The page's retry of the same press: the same command, now reported opened.
        let (status, opened) = press(&app, "/guest/entry", &invite.token, &invite.code, "press-ambiguous").await;
        assert_eq!((status, opened["result"].as_str()), (200, Some("opened")), "{fault:?}: {opened}");
        let delivered = commands_delivered(&app);
        assert_eq!(delivered.len(), 1, "{fault:?}: one command id for one entry, however often sent: {delivered:?}");
        assert_eq!(opened["command_id"], delivered[0].1.as_str());
        assert_eq!(app.openings("gate-main"), 1, "{fault:?}");
    }
}

/// The IoT client's first try wrote the shadow but got a 5xx; its retries were
/// throttled (a 429, which alone would mean "nothing written"). The command may be in
/// the shadow, so the entry is not given back: another press before the gate answers
/// is refused rather than sent a second command, the page's retry of the same press
/// gets the same command, and the gate opens once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_5xx_then_429_from_iot_sends_one_command_id_never_two() {
    let app = faulty_app().await;
    let invite = app.invite("Retried Into Throttling").await;
    app.faults().inject(SHADOW, Fault::ServerErrorAfterEffect, 1, 1);
    app.faults().inject(SHADOW, Fault::Throttle, 2, 3);
    let (status, first) = press(&app, "/guest/entry", &invite.token, &invite.code, "press-5xx-429").await;
    app.faults().heal();
    app.advance(time::Duration::seconds(2));
    let (_, other) = press(&app, "/guest/entry", &invite.token, &invite.code, "press-another").await;
    let (_, retry) = press(&app, "/guest/entry", &invite.token, &invite.code, "press-5xx-429").await;
    app.settle_gates().await;
    let delivered = commands_delivered(&app);
    assert_eq!(delivered.len(), 1, "one command id reached the gate: {delivered:?}");
    assert_eq!(app.openings("gate-main"), 1);
    assert_eq!((status, first["result"].as_str()), (202, Some("opening")), "{first}");
    assert_eq!(other["error"]["code"], "opening", "{other}");
    assert_eq!(retry["command_id"], first["command_id"], "{retry}");
}

/// IoT refused the command outright (nothing written) and giving the entry back
/// failed too: the guest's retry still gets the gate open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_is_not_lost_when_giving_it_back_fails() {
    let app = faulty_app().await;
    let invite = app.invite("Undo Fails").await;
    app.faults().always(SHADOW, Fault::Throttle);
    // The first UpdateItem is the entry; every later one (the give-back) fails.
    app.faults().inject(UPDATE_ITEM, Fault::ServerError, 2, u32::MAX);
    let (status, _) = press(&app, "/guest/entry", &invite.token, &invite.code, "press-undo-fails").await;
    assert_eq!(status, 503);

    app.faults().heal();
    let (status, opened) = press(&app, "/guest/entry", &invite.token, &invite.code, "press-undo-fails").await;
    assert_eq!(status, 202, "{opened}");
    app.settle_gates().await;
    assert_eq!(commands_delivered(&app).len(), 1, "the gate got the entry's command");
    assert_eq!(app.openings("gate-main"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_attempt_id_with_another_code_is_judged_by_that_code() {
    let app = faulty_app().await;
    let invite = app.invite("Same Press Other Code").await;
    let (status, _) = press(&app, "/guest/entry", &invite.token, &invite.code, "press-same-id").await;
    assert_eq!(status, 202);

    let wrong = other_code(&invite.code);
    let (status, answer) = press(&app, "/guest/entry", &invite.token, &wrong, "press-same-id").await;
    let fresh = app.redeem(crate::helpers::Redeem::Entry, &invite.token, app.intercom(), &wrong).await;
    assert!(status >= 400, "a wrong code never opens: {answer}");
    assert_eq!((status, &answer["error"]["code"]), (fresh.0, &fresh.1["error"]["code"]), "as any press with that code");
    assert_eq!(commands_delivered(&app).len(), 1);
}

const TRANSACT: &str = "DynamoDB.TransactWriteItems";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_whose_commit_answer_is_lost_makes_one_invite_and_one_sms() {
    let app = faulty_app().await;
    app.faults().next(TRANSACT, Fault::LoseAnswer);

    let (status, created) = app.create(&app.owner, json!({ "name": "Lost Commit", "mobile": app.mobile })).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        app.listed_ids().await,
        vec![created["id"].as_str().unwrap().to_owned()],
        "no second invite holds a place"
    );
    assert_eq!(app.sms().await.len(), 1);
}

/// The commit took effect, its answer was lost, and the SDK's retry was answered with a
/// conflict (as DynamoDB may answer a transaction whose first attempt is still in
/// flight): the create finds its invite instead of making a second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_whose_commit_took_effect_but_was_answered_with_a_conflict_makes_one_invite() {
    let app = faulty_app().await;
    app.faults().next(TRANSACT, Fault::LoseAnswer);
    app.faults().inject(TRANSACT, Fault::TransactionConflict, 2, 1);

    let (status, created) = app.create(&app.owner, json!({ "name": "Conflicted Commit", "mobile": app.mobile })).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(app.listed_ids().await, vec![created["id"].as_str().unwrap().to_owned()], "one invite holds a place");
    assert_eq!(app.sms().await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoke_that_meets_a_conflict_or_throttling_is_retried_not_refused() {
    let app = faulty_app().await;
    let first = app.invite("Conflicted").await;
    let second = app.invite("Throttled").await;

    app.faults().next(TRANSACT, Fault::TransactionConflict);
    let (status, body) = app.revoke(&app.owner, &first.id).await;
    assert_eq!(status, 204, "a conflict is no refusal: {body}");

    // More throttling than the SDK's own retries absorb.
    app.faults().inject(TRANSACT, Fault::Throttle, 1, 3);
    let (status, body) = app.revoke(&app.owner, &second.id).await;
    assert_eq!(status, 204, "throttling is retried: {body}");
    assert!(app.listed_ids().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_settings_save_that_meets_a_conflict_is_retried() {
    let app = faulty_app().await;
    app.faults().next(TRANSACT, Fault::TransactionConflict);
    let (status, body) = app.put_settings(&app.owner, json!({ "entry_gate": "gate-main", "max_users": 3 })).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_failing_item_does_not_stop_the_sweep() {
    let app = faulty_app().await;
    let mut invites = Vec::new();
    for name in ["Due A", "Due B", "Due C"] {
        invites.push(app.invite(name).await);
    }
    app.advance(time::Duration::hours(13));
    // Every attempt the SDK makes at one expiry fails (the sweep writes in parallel).
    app.faults().always_when(UPDATE_ITEM, &invites[1].id, Fault::ServerError);
    let report = app.sweep().await;
    assert_eq!((report.due, report.expired, report.failed), (3, 2, 1), "{report:?}");
    app.faults().heal();
    let again = app.sweep().await;
    assert_eq!((again.due, again.expired, again.failed), (1, 1, 0), "the next run takes the one left");
}

/// IoT Core refuses every command (throttled): each press is refused, the code is
/// never spent, and a broken gate costs the invite one history line per press —
/// the refused commands themselves are only counted — so the item stays one write unit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gate_that_keeps_refusing_spends_nothing_and_barely_grows_the_invite() {
    let app = faulty_app().await;
    let invite = app.invite("Broken Gate").await;
    app.faults().always(SHADOW, Fault::Throttle);
    const PRESSES: usize = 10;
    for press_number in 0..PRESSES {
        let (status, body) =
            press(&app, "/guest/entry", &invite.token, &invite.code, &format!("press-{press_number:04}")).await;
        assert_eq!((status, body["error"]["code"].as_str()), (503, Some("gate_unavailable")), "{body}");
    }
    let item = app.invite_item(&invite.id).await;
    let history = item["history"].as_l().unwrap().len();
    assert_eq!(history, 1 + PRESSES, "created, then one line per press");
    assert!(item["attempts"].as_m().unwrap().is_empty(), "refused commands are not kept");
    assert!(
        crate::helpers::item_size(&item) < 1024,
        "one write unit per redemption: {} bytes",
        crate::helpers::item_size(&item)
    );
    app.faults().heal();
    assert_eq!(app.enter(&invite).await.0, 202, "the code still works");
    assert_eq!(app.openings("gate-main"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoke_whose_answer_is_lost_still_answers_revoked() {
    let app = faulty_app().await;
    let invite = app.invite("Revoked Once").await;
    app.faults().next(TRANSACT, Fault::LoseAnswer);
    let (status, body) = app.revoke(&app.owner, &invite.id).await;
    assert_eq!(status, 204, "the SDK's retry met its own revoke: {body}");
    assert_eq!(app.revoke(&app.owner, &invite.id).await.0, 204, "revoking a revoked code is done, not missing");
    assert!(app.listed_ids().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aws_outage_is_a_503_to_retry_not_an_internal_error() {
    let app = faulty_app().await;
    let invite = app.invite("Outage").await;
    for (operation, fault) in [("DynamoDB.BatchGetItem", Fault::ServerError), ("DynamoDB.BatchGetItem", HANG)] {
        app.faults().always(operation, fault);
        let (status, body) = app.guest_status(&invite.token).await;
        assert_eq!((status, body["error"]["code"].as_str()), (503, Some("unavailable")), "{fault:?}: {body}");
        app.faults().heal();
    }
    app.faults().always("DynamoDB.Query", Fault::ServerError);
    let (status, body) = app.list(&app.owner).await;
    assert_eq!((status, body["error"]["code"].as_str()), (503, Some("unavailable")), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_create_answer_at_the_sms_allowance_is_still_that_create() {
    let app = spawn_app_with(Options { faults: true, sms_limits: Some((1, 10)), ..Options::default() }).await;
    app.configure(10).await;
    app.faults().next(TRANSACT, Fault::LoseAnswer);
    // The retry meets its own commit, whose SMS count has just used the allowance.
    let (status, created) = app.create(&app.owner, json!({ "name": "Last Allowed", "mobile": app.mobile })).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(app.listed_ids().await.len(), 1);
}

/// A gate that keeps saying it could not open: each press is given back, until the
/// passage's allowance of gate failures is used up; from then on presses are refused
/// with `gate_failing` before anything is written, the owner is told once, and the
/// invite's item stops growing however often the guest presses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gate_that_fails_thousands_of_presses_leaves_the_invite_under_its_bound() {
    let app = crate::helpers::spawn_app().await;
    app.configure(10).await;
    let invite = app.invite("Broken Motor").await;
    app.set_gate("gate-main", local_stack::gates::Mode::Failing).await;
    let mut sizes = Vec::new();
    for press_number in 0..1_000 {
        let (status, body) = app.enter(&invite).await;
        match status {
            202 => app.settle_gates().await,
            409 => assert_eq!(body["error"]["code"], "gate_failing", "{body}"),
            _ => panic!("press {press_number}: {status} {body}"),
        }
        if press_number % 100 == 99 {
            sizes.push(crate::helpers::item_size(&app.invite_item(&invite.id).await));
        }
    }
    let capped = ota::domain::passage::MAX_GATE_FAILURES as usize;
    assert_eq!(app.openings("gate-main"), 0);
    assert!(sizes.windows(2).all(|w| w[0] == w[1]), "the item stopped growing: {sizes:?}");
    assert!(sizes[0] < 4 * 1024, "far below DynamoDB's 400 KB: {sizes:?}");
    let history = app.invite_item(&invite.id).await["history"].as_l().unwrap().len();
    assert_eq!(history, 1 + 2 * capped + 1, "created, a try and a failure per press, the cap once");
    let told: Vec<Value> = {
        let (_, activity) = app.activity(&app.owner, "limit=100").await;
        activity["facts"].as_array().unwrap().iter().filter(|f| f["reason"] == "gate_failing").cloned().collect()
    };
    assert_eq!(told.len(), 1, "the owner is told once: {told:?}");
    let (_, status) = app.guest_status(&invite.token).await;
    assert_eq!(status["refusal"]["code"], "gate_failing", "the page says so before a code is typed: {status}");
}
