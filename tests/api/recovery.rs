//! Nothing lost for good: after the outbox's stream records are lost (a batch past
//! its retries, whose dead-letter record is a pointer only, or records past the
//! stream's 24 hours), `ota-admin replay` rebuilds from the items' own histories
//! what the outbox would have made of them: the same facts with the same ids, and
//! each SMS the lost records asked for, sent once.

use crate::helpers::spawn_app;
use ota::clock::Clock;
use ota::handlers::replay::{self, Outputs, ReplayWindow};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use time::Duration;

fn event_ids(events: &[Value]) -> BTreeSet<String> {
    events.iter().map(|e| e["detail"]["event_id"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_after_the_outbox_lost_its_records_restores_the_same_facts_and_sends_each_sms_once() {
    let app = spawn_app().await;
    app.configure(5).await;
    let started = app.clock.now();
    let first = app.invite("Thandi").await;
    assert_eq!(app.enter(&first).await.0, 202);
    app.settle_gates().await;
    let (_, kept) = app.activity(&app.owner, "limit=100").await;
    let published = event_ids(&app.events().await);

    // Lost: her way out, a second code (and the SMS it asked for), a revoke.
    app.advance(Duration::minutes(3));
    assert_eq!(app.exit(&first).await.0, 202);
    app.settle_gates().await;
    let path = format!("/intercoms/{}/codes", app.intercom());
    let (status, second) = app
        .call(reqwest::Method::POST, &path, Some(&app.owner), Some(json!({ "name": "Sipho", "mobile": app.mobile })))
        .await;
    assert_eq!(status, 201, "{second}");
    let (status, third) = app
        .call(reqwest::Method::POST, &path, Some(&app.owner), Some(json!({ "name": "Lerato", "mobile": app.mobile })))
        .await;
    assert_eq!(status, 201, "{third}");
    assert_eq!(app.revoke(&app.owner, third["id"].as_str().unwrap()).await.0, 204);
    let lost = app.front.outbox.lose_unread().await.unwrap();
    assert!(lost >= 5, "the exit, two creates with their SMS items, the revoke: {lost} records");
    assert_eq!(app.activity(&app.owner, "limit=100").await.1, kept, "lost: nothing of them reached the activity");
    assert_eq!(app.sms().await.len(), 1, "lost: the second guest's SMS was never queued");

    let deps = app.front.outbox.outbox_deps().await.unwrap();
    let outputs = Outputs { store: &deps.store, events: &deps.events, sms_queue: &deps.sms_queue };
    let intercoms = deps.store.registered_intercoms().await.unwrap();
    assert_eq!(
        intercoms,
        std::slice::from_ref(&app.site.intercom),
        "the registry names the intercom provisioning registered"
    );
    let window = ReplayWindow { from: started + Duration::minutes(2), to: app.clock.now() };
    let report = replay::run(&outputs, &intercoms, window).await.unwrap();
    assert_eq!(report.sms, 2, "the second's SMS and the revoked third's, unhandled: {report:?}");

    let sent = app.sms().await;
    assert_eq!(sent.len(), 2, "the second guest got their SMS, the revoked code's guest none: {sent:?}");
    assert!(sent.iter().any(|sms| sms.to_string().contains(second["code"].as_str().unwrap())), "{sent:?}");
    let (_, rebuilt) = app.activity(&app.owner, "limit=100").await;
    let kinds: Vec<&str> = rebuilt["facts"].as_array().unwrap().iter().map(|f| f["kind"].as_str().unwrap()).collect();
    for kind in ["guest_left", "code_created", "code_revoked", "sms_sent"] {
        assert!(kinds.contains(&kind), "{kind} rebuilt: {kinds:?}");
    }
    let kept_ids =
        event_ids(&kept["facts"].as_array().unwrap().iter().map(|f| json!({ "detail": f })).collect::<Vec<_>>());
    let replayed = app.events().await;
    assert!(event_ids(&replayed).is_superset(&published));
    assert!(
        kept_ids.iter().all(|id| !replayed[published.len()..].iter().any(|e| e["detail"]["event_id"] == id.as_str())),
        "facts before the window are not published again"
    );

    // The proof: the lost records themselves, delivered now, change nothing — the
    // replay made exactly what the outbox makes of them, under the same ids.
    let before_redelivery = app.events().await.len();
    app.front.outbox.redeliver_everything().await.unwrap();
    assert_eq!(app.activity(&app.owner, "limit=100").await.1, rebuilt, "no fact new or changed");
    assert_eq!(event_ids(&app.events().await), event_ids(&replayed), "no event id new");
    assert!(app.events().await.len() > before_redelivery);
    assert_eq!(app.sms().await.len(), 2, "and no SMS twice");

    // And a replay run twice is a replay run once.
    let again = replay::run(&outputs, &intercoms, window).await.unwrap();
    assert!(again.facts > report.facts, "now with the SMS sent since: {again:?}");
    assert_eq!(again.sms, 0, "every SMS request is handled now");
    assert_eq!(app.activity(&app.owner, "limit=100").await.1, rebuilt);
    assert_eq!(app.sms().await.len(), 2);
}
