//! The owner's view: the activity log, the events the outbox publishes, SMS delivery
//! and resends, overstays. The stream runs for real (moto's DynamoDB Streams, read
//! by the local stack and handed to the same consumers as in Lambda).

use crate::helpers::{other_code, spawn_app, spawn_app_with, Options};
use local_stack::outbox::Receipt;
use local_stack::repo_root;
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashMap};
use time::Duration;

fn kinds_of(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["detail"]["kind"].as_str().unwrap()).collect()
}

fn ids_of(facts: &[Value]) -> Vec<&str> {
    facts.iter().map(|f| f["event_id"].as_str().unwrap()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guests_journey_is_one_fact_each_in_the_activity_and_on_the_bus_in_order() {
    let app = spawn_app().await;
    app.configure(5).await;
    let invite = app.invite("Thandi Mokoena").await;
    assert_eq!(invite.body["sms"]["status"], "queued", "the SMS follows the commit: {}", invite.body);
    app.advance(Duration::minutes(20));
    let wrong = other_code(&invite.code);
    assert_eq!(app.redeem(crate::helpers::Redeem::Entry, &invite.token, app.intercom(), &wrong).await.0, 403);
    app.advance(Duration::seconds(10));
    assert_eq!(app.enter(&invite).await.0, 202);
    app.advance(Duration::hours(2));
    assert_eq!(app.exit(&invite).await.0, 202);

    let journey = ["code_created", "sms_sent", "sms_delivered", "wrong_code", "guest_entered", "guest_left"];
    assert_eq!(app.activity_kinds().await, journey);
    let events = app.events().await;
    assert_eq!(kinds_of(&events), journey, "published once each, in the invite's order");
    let types: Vec<&str> = events.iter().map(|e| e["detail-type"].as_str().unwrap()).collect();
    assert_eq!(types, ["Code Created", "SMS Sent", "SMS Delivered", "Wrong Code", "Guest Entered", "Guest Left"]);
    assert!(events.iter().all(|e| e["source"] == "fluss.one-time-access"));

    let (_, activity) = app.activity(&app.owner, "").await;
    let facts = activity["facts"].as_array().unwrap();
    let mut event_ids: Vec<&str> = events.iter().map(|e| e["detail"]["event_id"].as_str().unwrap()).collect();
    event_ids.reverse();
    assert_eq!(ids_of(facts), event_ids, "the activity and the bus name each fact by the same id");
    assert_eq!(facts[0]["guest"], json!({ "name": "Thandi Mokoena", "mobile": masked(&app.mobile) }));
    assert_eq!(facts[0]["gate"], "Exit gate");
    assert_eq!(facts.last().unwrap()["actor"], app.site.owner.as_str());
    let text = activity.to_string() + &Value::Array(events).to_string();
    assert!(!text.contains(&invite.code) && !text.contains(&invite.token), "never the code or the token");
    assert!(!text.contains(&app.mobile), "never the whole number");

    let (status, history) = app.activity(&app.shared, &format!("code={}", invite.id)).await;
    assert_eq!(status, 200, "{history}");
    assert_eq!(history["facts"], activity["facts"], "the code's own history: the same facts");
}

fn masked(mobile: &str) -> String {
    format!("+27{}{}", "*".repeat(mobile.len() - 6), &mobile[mobile.len() - 3..])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redelivered_stream_sends_no_second_sms_and_writes_no_second_fact() {
    let app = spawn_app().await;
    app.configure(5).await;
    let invite = app.invite("Sipho").await;
    assert_eq!(app.enter(&invite).await.0, 202);
    let before = app.activity_kinds().await;
    let first: BTreeSet<String> = event_ids(&app.events().await);

    app.front.outbox.redeliver_everything().await.unwrap();
    assert_eq!(app.activity_kinds().await, before, "the activity items overwrote themselves");
    let events = app.events().await;
    assert!(events.len() > first.len(), "the bus saw the redelivery");
    assert_eq!(event_ids(&events), first, "with the same event ids: a consumer drops them");
    assert_eq!(app.sms().await.len(), 1, "the SMS sender found its request handled");
}

fn event_ids(events: &[Value]) -> BTreeSet<String> {
    events.iter().map(|e| e["detail"]["event_id"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_that_fails_its_condition_publishes_nothing() {
    let app = spawn_app().await;
    app.configure(1).await;
    let invite = app.invite("Ended").await;
    app.settle().await;
    let published = app.events().await.len();
    app.advance(Duration::hours(14));
    let (status, _) = app.revoke(&app.owner, &invite.id).await;
    assert_eq!(status, 410, "the revoke's condition failed: nothing was written");
    let (status, _) = app.enter(&invite).await;
    assert_eq!(status, 410);
    assert_eq!(app.events().await.len(), published, "no phantom events");
    assert!(!app.activity_kinds().await.contains(&"code_revoked".to_owned()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_users_read_their_intercoms_activity_and_no_one_elses() {
    let app = spawn_app().await;
    app.configure(5).await;
    app.invite("Visitor").await;
    let (status, body) = app.activity(&app.shared, "").await;
    assert_eq!((status, body["facts"].as_array().map(Vec::len)), (200, Some(3)), "{body}");
    let (status, body) = app.activity(&app.stranger, "").await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("forbidden")));
    let other = spawn_app().await;
    let path = format!("/intercoms/{}/activity", other.intercom());
    let (status, _) = app.call(reqwest::Method::GET, &path, Some(&app.shared), None).await;
    assert_eq!(status, 403, "a shared user of one intercom reads nothing of another");
    for bad in ["limit=0", "limit=101", "limit=x", "cursor=not-ours"] {
        let (status, body) = app.activity(&app.owner, bad).await;
        assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_field")), "{bad}: {body}");
    }
    let (status, _) = app.activity(&app.owner, "code=Bx0000000000").await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_with_a_cursor_loses_and_repeats_nothing_while_new_facts_arrive() {
    let app = spawn_app().await;
    app.configure(20).await;
    for i in 0..4 {
        app.invite(&format!("Guest {i}")).await;
        app.advance(Duration::seconds(1));
    }
    let (_, everything) = app.activity(&app.owner, "limit=100").await;
    let before: Vec<String> = ids_of(everything["facts"].as_array().unwrap()).iter().map(|s| s.to_string()).collect();
    assert_eq!(before.len(), 12);

    let mut seen = Vec::new();
    let mut query = "limit=5".to_owned();
    loop {
        let (status, page) = app.activity(&app.owner, &query).await;
        assert_eq!(status, 200, "{page}");
        seen.extend(ids_of(page["facts"].as_array().unwrap()).iter().map(|s| s.to_string()));
        // New facts arrive between the pages.
        app.advance(Duration::seconds(1));
        app.invite("Arrives Meanwhile").await;
        match page["next_cursor"].as_str() {
            Some(cursor) => query = format!("limit=5&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, before, "every fact there when paging began, once, newest first");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_sms_shows_in_the_list_and_a_resend_is_sent_once_per_key_and_counted() {
    let app = spawn_app_with(Options { sms_limits: Some((3, 100)), ..Options::default() }).await;
    app.configure(5).await;
    app.front.outbox.set_receipt(&app.mobile, Receipt::Failed);
    let invite = app.invite("Unlucky").await;
    app.settle().await;
    let (_, list) = app.list(&app.owner).await;
    assert_eq!(list["codes"][0]["sms"], json!({ "status": "failed", "reason": "unreachable" }), "{list}");
    assert!(app.activity_kinds().await.ends_with(&["sms_sent".to_owned(), "sms_failed".to_owned()]));

    app.front.outbox.set_receipt(&app.mobile, Receipt::Silent);
    let resend = |key: &'static str| {
        let path = format!("{}/intercoms/{}/codes/{}/sms", app.api, app.intercom(), invite.id);
        app.http.post(path).bearer_auth(&app.owner).header("idempotency-key", key).send()
    };
    let first = resend("resend-0000000000000001").await.unwrap();
    assert_eq!(first.status(), 202);
    let again = resend("resend-0000000000000001").await.unwrap();
    assert_eq!((again.status().as_u16(), again.headers()["idempotent-replayed"].to_str().unwrap()), (202, "true"));
    assert_eq!(app.sms().await.len(), 2, "one more SMS for the key, however often it is sent");
    let texts: Vec<String> = app.sms().await.iter().map(|m| m["message"].as_str().unwrap().to_owned()).collect();
    assert_eq!(texts[0], texts[1], "the same code and link");
    let (_, list) = app.list(&app.owner).await;
    assert_eq!(list["codes"][0]["sms"], json!({ "status": "sent" }), "sent, not yet confirmed: {list}");
    let kinds = app.activity_kinds().await;
    assert!(kinds.ends_with(&["sms_resend_requested".to_owned(), "sms_sent".to_owned()]), "{kinds:?}");

    // The create counted 1, the resend 1: the allowance of 3 leaves one more.
    assert_eq!(resend("resend-0000000000000002").await.unwrap().status(), 202);
    let refused = resend("resend-0000000000000003").await.unwrap();
    assert_eq!(refused.status(), 429, "resends count against the caller's SMS allowance");
    assert_eq!(app.sms().await.len(), 3);

    app.revoke(&app.owner, &invite.id).await;
    let ended = resend("resend-0000000000000004").await.unwrap();
    assert_eq!(ended.status(), 410, "nothing to resend for an ended code");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_sms_sns_cannot_be_reached_for_waits_queued_and_is_not_failed() {
    let app = spawn_app_with(Options { sms_down: true, ..Options::default() }).await;
    app.configure(5).await;
    app.invite("No Signal").await;
    app.settle().await;
    app.settle().await;
    let (_, list) = app.list(&app.owner).await;
    assert_eq!(list["codes"][0]["sms"], json!({ "status": "queued" }), "tried again later: {list}");
    assert!(!app.activity_kinds().await.contains(&"sms_failed".to_owned()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_still_inside_when_the_exit_window_closes_overstayed_once_under_overlapping_sweeps() {
    let app = std::sync::Arc::new(spawn_app().await);
    app.put_settings(
        &app.owner,
        json!({ "entry_gate": "gate-main", "invite_duration_minutes": 60, "exit_grace_minutes": 30 }),
    )
    .await;
    let stays = app.invite("Stays").await;
    let leaves = app.invite("Leaves").await;
    assert_eq!(app.enter(&stays).await.0, 202);
    assert_eq!(app.enter(&leaves).await.0, 202);
    app.advance(Duration::minutes(61));
    app.sweep().await;
    assert_eq!(app.exit(&leaves).await.0, 202, "one leaves during the grace");
    app.advance(Duration::minutes(30));
    let sweeps: Vec<_> = (0..3)
        .map(|_| {
            tokio::spawn({
                let app = app.clone();
                async move { app.sweep().await }
            })
        })
        .collect();
    let mut overstayed = 0;
    for sweep in sweeps {
        overstayed += sweep.await.unwrap().overstayed;
    }
    assert_eq!(overstayed, 1);
    assert_eq!(app.sweep().await.overstayed, 0, "and never again");
    let events = app.events().await;
    let overstays: Vec<&Value> = events.iter().filter(|e| e["detail-type"] == "Guest Overstayed").collect();
    assert_eq!(overstays.len(), 1, "published once");
    assert_eq!(overstays[0]["detail"]["guest"]["name"], "Stays");
    let by_guest: HashMap<&str, Vec<&str>> = events.iter().fold(HashMap::new(), |mut all, e| {
        all.entry(e["detail"]["guest"]["name"].as_str().unwrap())
            .or_default()
            .push(e["detail"]["kind"].as_str().unwrap());
        all
    });
    assert_eq!(by_guest["Stays"].last(), Some(&"guest_overstayed"));
    assert!(!by_guest["Leaves"].contains(&"guest_overstayed"));
    assert_eq!(by_guest["Leaves"].last(), Some(&"guest_left"), "{by_guest:?}");
}

/// Every event the tests above produce, and a journey's, against `events/schemas/`,
/// by a JSON Schema validator (Python's `jsonschema`, in the project's venv).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_validates_against_the_schema_of_its_detail_type() {
    let app = spawn_app_with(Options { sms_limits: Some((10, 100)), ..Options::default() }).await;
    app.configure(5).await;
    app.front.outbox.set_receipt(&app.mobile, Receipt::Failed);
    let guest = app.invite("Schema Guest").await;
    // A code made for later: its `code_created` carries `starts_at`.
    let later = ota::clock::Clock::now(app.front.deps.clock.as_ref()) + Duration::hours(1);
    let later = later.format(&time::format_description::well_known::Rfc3339).unwrap();
    let body = json!({ "name": "Later Guest", "mobile": app.mobile, "starts_at": later });
    assert_eq!(app.create(&app.owner, body).await.0, 201);
    for _ in 0..5 {
        app.redeem(crate::helpers::Redeem::Entry, &guest.token, app.intercom(), &other_code(&guest.code)).await;
    }
    let resend = format!("{}/intercoms/{}/codes/{}/sms", app.api, app.intercom(), guest.id);
    assert_eq!(app.http.post(resend).bearer_auth(&app.owner).send().await.unwrap().status(), 202);
    app.set_gate("gate-exit", local_stack::gates::Mode::Offline).await;
    app.advance(Duration::minutes(1));
    app.sweep().await;
    app.set_gate("gate-exit", local_stack::gates::Mode::Online).await;
    let other = app.invite("Revoked Guest").await;
    app.revoke(&app.owner, &other.id).await;
    let (_, erased) = app.create(&app.owner, json!({ "name": "Erased Guest", "mobile": "+27825550166" })).await;
    app.revoke(&app.owner, erased["id"].as_str().unwrap()).await;
    let erasures = format!("/intercoms/{}/guest-erasures", app.intercom());
    let mobile = json!({ "mobile": "+27825550166" });
    assert_eq!(app.call(reqwest::Method::POST, &erasures, Some(&app.owner), Some(mobile)).await.0, 200);
    let inside = app.invite("Inside Guest").await;
    app.set_gate("gate-main", local_stack::gates::Mode::Mute).await;
    app.enter(&inside).await;
    app.advance(Duration::minutes(2));
    app.set_gate("gate-main", local_stack::gates::Mode::Online).await;
    app.sweep().await;
    app.enter(&inside).await;
    app.advance(Duration::hours(12));
    app.sweep().await;
    app.advance(Duration::hours(2));
    app.sweep().await;

    let events = app.events().await;
    let kinds: BTreeSet<&str> = kinds_of(&events).into_iter().collect();
    assert!(kinds.len() >= 11, "most kinds of fact: {kinds:?}");
    assert!(events.iter().any(|e| e["detail"]["starts_at"].is_string()), "a code made for later");
    let schemas = repo_root().join("events/schemas");
    let kinds_with_schema: BTreeSet<String> = std::fs::read_dir(&schemas)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().trim_end_matches(".v1.json").replace('-', "_"))
        .collect();
    let all: BTreeSet<String> = ota::domain::activity::FactKind::ALL.iter().map(|k| k.as_str().to_owned()).collect();
    assert_eq!(kinds_with_schema, all, "one schema per kind of fact");

    let dump = std::env::temp_dir().join(format!("ota-events-{}.json", std::process::id()));
    std::fs::write(&dump, Value::Array(events).to_string()).unwrap();
    let check = r#"
import json, sys, pathlib, jsonschema
events = json.load(open(sys.argv[1]))
schemas = pathlib.Path(sys.argv[2])
bad = []
for event in events:
    name = event["detail"]["kind"].replace("_", "-") + ".v1.json"
    schema = json.loads((schemas / name).read_text())
    if schema["title"] != event["detail-type"]:
        bad.append(f"{event['detail-type']}: schema titled {schema['title']}")
    for error in jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).iter_errors(event["detail"]):
        bad.append(f"{event['detail-type']}: {error.message}")
print("\n".join(bad)); sys.exit(1 if bad else 0)
"#;
    let python = repo_root().join(".venv/bin/python");
    let out = std::process::Command::new(python).args(["-c", check]).arg(&dump).arg(&schemas).output().unwrap();
    let _ = std::fs::remove_file(&dump);
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gate_that_stays_offline_is_told_once_and_its_return_once() {
    let app = std::sync::Arc::new(spawn_app().await);
    app.configure(5).await;
    app.set_gate("gate-main", local_stack::gates::Mode::Offline).await;
    app.advance(Duration::seconds(10));
    assert_eq!(app.sweep().await.gates_offline, 0, "a drop shorter than the debounce is no outage");
    app.advance(Duration::seconds(25));
    let sweeps: Vec<_> = (0..3)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move { app.sweep().await.gates_offline })
        })
        .collect();
    let mut declared = 0;
    for sweep in sweeps {
        declared += sweep.await.unwrap();
    }
    assert_eq!(declared, 1, "overlapping sweeps declare it once");
    app.set_gate("gate-main", local_stack::gates::Mode::Online).await;
    app.advance(Duration::seconds(40));
    assert_eq!(app.sweep().await.gates_offline, 0);

    let (_, activity) = app.activity(&app.shared, "").await;
    let gate_facts: Vec<(&str, &str)> = activity["facts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["kind"].as_str().unwrap(), f["gate"].as_str().unwrap()))
        .collect();
    assert_eq!(gate_facts, [("gate_online", "Main gate"), ("gate_offline", "Main gate")], "{activity}");
    let events = app.events().await;
    assert_eq!(kinds_of(&events), ["gate_offline", "gate_online"]);
    assert_eq!(events[0]["detail"]["intercom_id"], app.intercom());
}

/// A cursor is one the service handed out for this list of this intercom, unchanged:
/// flipped, cut, extended, made up from a sort key, from the other list, or from
/// another intercom of the same owner, it is `400 invalid_field` and reads nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_cursor_the_service_handed_out_for_this_list_and_intercom_is_taken() {
    use base64::Engine;
    use ota::domain::access::Role;
    let app = spawn_app().await;
    app.configure(20).await;
    for i in 0..3 {
        app.invite(&format!("Guest {i}")).await;
    }
    let (_, first) = app.activity(&app.owner, "limit=2").await;
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    let (status, next) = app.activity(&app.owner, &format!("limit=2&cursor={cursor}")).await;
    assert_eq!(status, 200, "{next}");
    let (_, codes) = app
        .call(reqwest::Method::GET, &format!("/intercoms/{}/codes?limit=1", app.intercom()), Some(&app.owner), None)
        .await;
    let codes_cursor = codes["next_cursor"].as_str().unwrap().to_owned();

    // A second intercom of the same owner, in the same deployment.
    let other = local_stack::seed::Site::unique(&format!("{}-b", app.intercom().trim_start_matches("ic-")));
    let keys = app.front.deps.config.gate_number_keys.as_ref().unwrap();
    other.provision(&app.front.deps.store, keys, app.emulator).await.unwrap();
    app.front.deps.store.grant(&other.intercom, &app.site.owner, Role::Owner).await.unwrap();
    let other_path = format!("/intercoms/{}/activity?limit=2&cursor={cursor}", other.intercom);
    let (status, body) = app.call(reqwest::Method::GET, &other_path, Some(&app.owner), None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_field")), "another intercom's: {body}");

    let made_up = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("000000000001#made-up");
    let mut flipped = cursor.clone().into_bytes();
    flipped[3] = if flipped[3] == b'A' { b'B' } else { b'A' };
    let forged = [
        String::from_utf8(flipped).unwrap(),
        cursor[..cursor.len() - 2].to_owned(),
        format!("{cursor}AA"),
        made_up.clone(),
        format!("{made_up}.{}", cursor.rsplit('.').next().unwrap()),
        codes_cursor,
    ];
    app.settle().await;
    app.requests.take();
    for bad in &forged {
        let (status, body) = app.activity(&app.owner, &format!("limit=2&cursor={bad}")).await;
        assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_field")), "{bad}: {body}");
    }
    let reads: Vec<String> = app.requests.take().into_iter().filter(|r| r.starts_with("dynamodb")).collect();
    assert_eq!(reads, Vec::<String>::new(), "a forged cursor costs no read");
}
