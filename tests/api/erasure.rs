//! Erasure on request (POPIA section 24, GDPR article 17): an owner erases a guest
//! by their number, and afterwards no item, activity fact, event replay or log line
//! holds the guest's name or number; the activity keeps who erased them.

use crate::helpers::{spawn_app, TestApp};
use crate::secrets::capture_logs;
use ota::clock::Clock;
use ota::handlers::replay::{self, Outputs, ReplayWindow};
use serde_json::{json, Value};
use time::Duration;

const NAME: &str = "Naledi Khumalo";

async fn erase(app: &TestApp, bearer: &str, mobile: &str) -> (u16, Value) {
    let path = format!("/intercoms/{}/guest-erasures", app.intercom());
    app.call(reqwest::Method::POST, &path, Some(bearer), Some(json!({ "mobile": mobile }))).await
}

/// Every attribute of every item of the test's table, as text (a Scan: the test
/// looks everywhere, as a copy of the table would).
async fn whole_table(app: &TestApp) -> String {
    let client = aws_sdk_dynamodb::Client::new(&local_stack::aws::sdk_config(app.emulator).await);
    let mut text = String::new();
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name(&app.front.deps.config.table_name)
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap();
        text.push_str(&format!("{:?}", page.items()));
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            return text;
        }
    }
}

fn holds_guest(text: &str, app: &TestApp) -> Option<&'static str> {
    let national = &app.mobile[3..];
    [("name", NAME.to_owned()), ("first name", "Naledi".to_owned()), ("number", national.to_owned())]
        .into_iter()
        .find(|(_, needle)| text.contains(needle.as_str()))
        .map(|(what, _)| what)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erased_guest_is_in_no_item_fact_replayed_event_or_later_log_line() {
    let logs = capture_logs();
    let app = spawn_app().await;
    app.configure(5).await;
    let started = app.clock.now();
    let used = app.invite(NAME).await;
    assert_eq!(app.enter(&used).await.0, 202);
    assert_eq!(app.exit(&used).await.0, 202);
    let revoked = app.invite(NAME).await;
    assert_eq!(app.revoke(&app.owner, &revoked.id).await.0, 204);
    let (status, other) = app.create(&app.owner, json!({ "name": "Sipho Dube", "mobile": "+27825550177" })).await;
    assert_eq!(status, 201, "{other}");
    let live = app.invite(NAME).await;
    app.settle().await;

    // A code of hers can still be used: nothing is erased, and the answer names it.
    let (status, body) = erase(&app, &app.owner, &app.mobile).await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("code_active")), "{body}");
    assert_eq!(body["error"]["code_id"], live.id.as_str());
    assert!(holds_guest(&whole_table(&app).await, &app).is_some(), "nothing was erased");
    let (status, body) = erase(&app, &app.shared, &app.mobile).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("owner_only")), "{body}");
    let (status, body) = erase(&app, &app.owner, "082 555 0100").await;
    assert_eq!((status, body["error"]["field"].as_str()), (400, Some("mobile")), "{body}");

    assert_eq!(app.revoke(&app.owner, &live.id).await.0, 204);
    app.settle().await;
    let logged_before = logs.text().len();
    app.advance(Duration::minutes(1));
    let (status, body) = erase(&app, &app.owner, &app.mobile).await;
    assert_eq!(status, 200, "{body}");
    let mut erased: Vec<&str> = body["erased_codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
    erased.sort_unstable();
    let mut hers = vec![used.id.as_str(), revoked.id.as_str(), live.id.as_str()];
    hers.sort_unstable();
    assert_eq!(erased, hers);
    app.settle().await;

    assert_eq!(holds_guest(&whole_table(&app).await, &app), None, "an item still holds the guest");
    let (_, activity) = app.activity(&app.owner, "limit=100").await;
    let facts = activity["facts"].as_array().unwrap();
    for fact in facts.iter().filter(|f| hers.contains(&f["code_id"].as_str().unwrap_or_default())) {
        assert!(fact.get("guest").is_none(), "{fact}");
    }
    let traces: Vec<&Value> = facts.iter().filter(|f| f["kind"] == "guest_erased").collect();
    assert_eq!(traces.len(), 3, "a trace per code, by the owner: {traces:?}");
    assert!(traces.iter().all(|t| t["actor"] == app.site.owner.as_str()), "{traces:?}");
    let sipho = facts.iter().find(|f| f["code_id"] == other["id"]).unwrap();
    assert_eq!(sipho["guest"]["name"], "Sipho Dube", "another guest keeps their name");

    // The lost-records replay after the erasure, and the stream delivered again whole
    // (its older records still carry her name): neither brings it back.
    let published = app.events().await.len();
    let deps = app.front.outbox.outbox_deps().await.unwrap();
    let outputs = Outputs { store: &deps.store, events: &deps.events, sms_queue: &deps.sms_queue };
    let window = ReplayWindow { from: started, to: app.clock.now() };
    replay::run(&outputs, std::slice::from_ref(&app.site.intercom), window).await.unwrap();
    let replayed = app.events().await;
    let replayed_text = serde_json::to_string(&replayed[published..]).unwrap();
    assert_eq!(holds_guest(&replayed_text, &app), None, "a replayed event names her");
    assert!(replayed_text.contains("guest_erased") && replayed_text.contains("Sipho Dube"));
    app.front.outbox.redeliver_everything().await.unwrap();
    assert_eq!(app.activity(&app.owner, "limit=100").await.1, activity, "the redelivery wrote no name back");
    assert_eq!(holds_guest(&whole_table(&app).await, &app), None);

    // Her link now opens nothing; erasing again finds nothing left.
    let (status, body) = app.guest_status(&used.token).await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("invalid_link")), "{body}");
    let (status, body) = erase(&app, &app.owner, &app.mobile).await;
    assert_eq!((status, body["erased_codes"].as_array().map(Vec::len)), (200, Some(0)), "{body}");
    assert_eq!(holds_guest(&logs.text()[logged_before..], &app), None, "a log line names her");
}

/// The activity outlives the invite (31 days against 14 after the exit window): a
/// code whose invite TTL has deleted is still found by its index item, and its facts
/// in the intercom's activity are written again without the guest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn facts_that_outlive_their_deleted_invite_are_erased_too() {
    let app = spawn_app().await;
    app.configure(5).await;
    let gone = app.invite(NAME).await;
    assert_eq!(app.revoke(&app.owner, &gone.id).await.0, 204);
    app.settle().await;
    let client = aws_sdk_dynamodb::Client::new(&local_stack::aws::sdk_config(app.emulator).await);
    let id = ota::domain::ids::InviteId::parse(&gone.id).unwrap();
    for sk in [ota::keys::invite_sk(&id), ota::keys::sms_sk(&id)] {
        client
            .delete_item()
            .table_name(&app.front.deps.config.table_name)
            .key(ota::keys::PK, aws_sdk_dynamodb::types::AttributeValue::S(ota::keys::intercom_pk(&app.site.intercom)))
            .key(ota::keys::SK, aws_sdk_dynamodb::types::AttributeValue::S(sk))
            .send()
            .await
            .unwrap();
    }
    app.settle().await;
    assert_eq!(holds_guest(&whole_table(&app).await, &app), Some("name"), "the activity still names her");

    let (status, body) = erase(&app, &app.owner, &app.mobile).await;
    assert_eq!((status, &body["erased_codes"]), (200, &json!([gone.id])), "{body}");
    app.settle().await;
    assert_eq!(holds_guest(&whole_table(&app).await, &app), None, "an item still holds the guest");
    let (_, activity) = app.activity(&app.owner, "limit=100").await;
    let kinds: Vec<&str> = activity["facts"].as_array().unwrap().iter().map(|f| f["kind"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"code_revoked"), "the facts stay, without her: {kinds:?}");
}

/// The owner's erasure stays at their intercom; Fluss's support erases the number
/// across the fleet (`ota-admin erase`: the same store calls, without an intercom),
/// under the support request's reference.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_erases_at_their_intercom_and_support_across_the_fleet() {
    use ota::domain::access::Role;
    let app = spawn_app().await;
    app.configure(5).await;
    let other = local_stack::seed::Site::unique(&format!("{}-b", app.intercom().trim_start_matches("ic-")));
    let keys = app.front.deps.config.gate_number_keys.as_ref().unwrap();
    other.provision(&app.front.deps.store, keys, app.emulator).await.unwrap();
    app.front.deps.store.grant(&other.intercom, &app.site.owner, Role::Owner).await.unwrap();
    let settings = json!({ "entry_gate": "gate-main", "exit_gate": "gate-exit", "max_users": 5 });
    let path = format!("/intercoms/{}/settings", other.intercom);
    assert_eq!(app.call(reqwest::Method::PUT, &path, Some(&app.owner), Some(settings)).await.0, 200);
    let here = app.invite(NAME).await;
    assert_eq!(app.revoke(&app.owner, &here.id).await.0, 204);
    let codes = format!("/intercoms/{}/codes", other.intercom);
    let body = json!({ "name": NAME, "mobile": app.mobile });
    let (status, there) = app.call(reqwest::Method::POST, &codes, Some(&app.owner), Some(body)).await;
    assert_eq!(status, 201, "{there}");
    let there_id = there["id"].as_str().unwrap();
    let revoke = format!("{codes}/{there_id}");
    assert_eq!(app.call(reqwest::Method::DELETE, &revoke, Some(&app.owner), None).await.0, 204);
    app.settle().await;

    let (status, body) = erase(&app, &app.owner, &app.mobile).await;
    assert_eq!((status, &body["erased_codes"]), (200, &json!([here.id])), "this intercom's only: {body}");
    app.settle().await;
    assert!(holds_guest(&whole_table(&app).await, &app).is_some(), "the other intercom's code still names her");

    let store = &app.front.deps.store;
    let mobile = ota::domain::phone::Mobile::parse_e164(&app.mobile).unwrap();
    let lookups = app.front.deps.config.guest_keys.as_ref().unwrap().lookups(&mobile);
    let found = store.guest_codes(&lookups, None).await.unwrap();
    assert_eq!(found.iter().map(|c| c.invite.as_str()).collect::<Vec<_>>(), [there_id], "found across the fleet");
    let by = ota::store::Eraser::Operator("support:T-1042");
    let outcome = store.erase_guest(&found[0], by, app.clock.now()).await.unwrap();
    assert_eq!(outcome, ota::store::EraseOutcome::Erased);
    app.settle().await;
    assert_eq!(holds_guest(&whole_table(&app).await, &app), None);
    let activity = format!("/intercoms/{}/activity?code={there_id}", other.intercom);
    let (_, history) = app.call(reqwest::Method::GET, &activity, Some(&app.owner), None).await;
    let facts = history["facts"].as_array().unwrap();
    assert!(facts.iter().all(|f| f.get("guest").is_none()), "{history}");
    let trace = facts.iter().find(|f| f["kind"] == "guest_erased").cloned();
    assert_eq!(trace.map(|t| t["actor"].clone()), Some(json!("support:T-1042")), "{history}");
}

/// A point-in-time restore brings the names back (the restored table is the table as
/// it was). The erasure log, which holds keyed hashes and no number, makes every
/// erasure since the restore point again (`ota-admin erase --again-since`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_restore_the_erasure_log_makes_each_erasure_again() {
    let app = spawn_app().await;
    app.configure(5).await;
    let restore_point = app.clock.now();
    let gone = app.invite(NAME).await;
    assert_eq!(app.revoke(&app.owner, &gone.id).await.0, 204);
    app.settle().await;
    let client = aws_sdk_dynamodb::Client::new(&local_stack::aws::sdk_config(app.emulator).await);
    let table = &app.front.deps.config.table_name;
    let as_it_was = client.scan().table_name(table).send().await.unwrap().items().to_vec();

    app.advance(Duration::minutes(1));
    assert_eq!(erase(&app, &app.owner, &app.mobile).await.0, 200);
    app.settle().await;
    assert_eq!(holds_guest(&whole_table(&app).await, &app), None);
    for item in as_it_was {
        client.put_item().table_name(table).set_item(Some(item)).send().await.unwrap();
    }
    assert_eq!(holds_guest(&whole_table(&app).await, &app), Some("name"), "restored: she is back");

    let store = &app.front.deps.store;
    let logged = store.erasures_since(restore_point).await.unwrap();
    assert_eq!(logged.len(), 1, "{logged:?}");
    assert!(!format!("{logged:?}").contains(&app.mobile[3..]), "the log holds no number");
    for request in &logged {
        let report = ota::handlers::erase_guest::carry_out(store, request, app.clock.as_ref()).await.unwrap();
        assert_eq!(report.erased.len(), 1, "{report:?}");
    }
    app.settle().await;
    assert_eq!(holds_guest(&whole_table(&app).await, &app), None, "erased again");
}

/// The owner's role is checked again in the erasure's own transaction: an owner
/// demoted after the handler's read (here: a shared user, who never was one) erases
/// nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_erasure_transaction_itself_requires_the_owner() {
    let app = spawn_app().await;
    app.configure(5).await;
    let gone = app.invite(NAME).await;
    assert_eq!(app.revoke(&app.owner, &gone.id).await.0, 204);
    app.settle().await;
    let store = &app.front.deps.store;
    let mobile = ota::domain::phone::Mobile::parse_e164(&app.mobile).unwrap();
    let lookups = app.front.deps.config.guest_keys.as_ref().unwrap().lookups(&mobile);
    let codes = store.guest_codes(&lookups, Some(&app.site.intercom)).await.unwrap();
    let not_owner = ota::store::Eraser::Owner(&app.site.shared_user);
    let outcome = store.erase_guest(&codes[0], not_owner, app.clock.now()).await.unwrap();
    assert_eq!(outcome, ota::store::EraseOutcome::NotOwner);
    assert!(holds_guest(&whole_table(&app).await, &app).is_some(), "nothing erased");
    let owner = ota::store::Eraser::Owner(&app.site.owner);
    assert_eq!(store.erase_guest(&codes[0], owner, app.clock.now()).await.unwrap(), ota::store::EraseOutcome::Erased);
}

/// A delivery report that arrives after the erasure (AWS says reports may lag by
/// hours) still reaches the code's activity, without the guest, and is not published:
/// its event's schema names the guest, whom nothing may name any more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_report_after_the_erasure_is_recorded_without_the_guest_and_not_published() {
    let app = spawn_app().await;
    app.configure(5).await;
    app.front.outbox.set_receipt(&app.mobile, local_stack::outbox::Receipt::Silent);
    let gone = app.invite(NAME).await;
    assert_eq!(app.revoke(&app.owner, &gone.id).await.0, 204);
    app.settle().await;
    assert_eq!(erase(&app, &app.owner, &app.mobile).await.0, 200);
    app.settle().await;
    let published = app.events().await.len();

    let message_id = app.sms_item(&gone.id).await["sms_message_id"].as_s().unwrap().to_owned();
    let report = json!({
        "notification": { "messageId": message_id, "timestamp": "" },
        "delivery": { "destination": app.mobile, "smsType": "Transactional", "providerResponse": "Message has been accepted by phone" },
        "status": "SUCCESS",
    });
    let event = local_stack::outbox::subscription_event(&[report], app.clock.now());
    ota::handlers::sms_status::run(&app.front.deps, &event).await.unwrap();
    app.settle().await;

    let activity = format!("/intercoms/{}/activity?code={}", app.intercom(), gone.id);
    let (_, history) = app.call(reqwest::Method::GET, &activity, Some(&app.owner), None).await;
    let delivered = history["facts"].as_array().unwrap().iter().find(|f| f["kind"] == "sms_delivered").cloned();
    assert!(delivered.as_ref().is_some_and(|f| f.get("guest").is_none()), "{history}");
    let later = app.events().await;
    assert!(later[published..].iter().all(|e| e["detail"]["kind"] != "sms_delivered"), "{:?}", &later[published..]);
    assert_eq!(holds_guest(&whole_table(&app).await, &app), None);
}
