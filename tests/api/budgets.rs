//! DynamoDB requests per endpoint call, counted at the SDK (one per HTTP attempt).
//! Budgets: redeem 3 on success (the gate numbers, the attempt's write and the gate's
//! presence), 2 on a wrong code (3 on other refusals) or gate number (the invite read to
//! judge it only for a live link), 1 at a wrong intercom, 0 on a
//! request whose form shows it is no guest's (`tests/api/edge.rs`), guest status 2 (the invite
//! and its gates' presence), a gate's report 2 (gate-events: read, conditional write; an
//! exit's 3, with the place it frees), create 3 (three items by key, the places that may
//! be free, the transaction; and no SNS: the SMS sender sends from the stream), list 3
//! (registry and membership, the page, the places), revoke 3 (the invite for its place,
//! the transaction, the invite again for door commands to withdraw), settings 2 (and when Max
//! Users changes, laying the places out: a read of them, a write of each 50, the
//! registry's mark; the first time, a read of the open invites), activity ≤ 2, resend 1,
//! plus one IoT call where needed; no Scan ever.
//! `cargo test -p ota-tests budgets -- --nocapture` prints the measured table.

use crate::helpers::{other_code, spawn_app, spawn_app_with, Options, Redeem};
use serde_json::json;

fn count(requests: &[String], service: &str) -> usize {
    requests.iter().filter(|r| r.starts_with(&format!("{service}:"))).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_stays_within_its_request_budget() {
    let app = spawn_app().await;
    let mut seen = Vec::new();
    let mut measure = |name: &str, dynamo_budget: usize, other: (&str, usize), requests: Vec<String>| {
        let dynamo = count(&requests, "dynamodb");
        println!("{name:<28} dynamodb={dynamo} {}={} {requests:?}", other.0, count(&requests, other.0));
        assert!(dynamo <= dynamo_budget, "{name}: {requests:?}");
        assert_eq!(count(&requests, other.0), other.1, "{name}: {requests:?}");
        seen.extend(requests);
    };

    app.configure(10).await;
    measure("update-settings, places laid out", 6, ("sns", 0), app.take_sdk_requests());
    app.configure(10).await;
    measure("update-settings", 2, ("sns", 0), app.take_sdk_requests());
    app.call(reqwest::Method::GET, &format!("/intercoms/{}/settings", app.intercom()), Some(&app.owner), None).await;
    measure("get-settings", 2, ("sns", 0), app.take_sdk_requests());

    let invite = app.invite("Budget Guest").await;
    // The SMS is the SMS sender's, from the stream, on clients of its own.
    measure("create-invite", 3, ("sns", 0), app.take_sdk_requests());
    app.list(&app.owner).await;
    measure("list-codes", 3, ("sns", 0), app.take_sdk_requests());

    app.redeem(Redeem::Entry, &invite.token, app.intercom(), &other_code(&invite.code)).await;
    measure("redeem-entry wrong code", 2, ("iot", 0), app.take_sdk_requests());
    app.redeem(Redeem::Entry, &invite.token, "ic-elsewhere", &invite.code).await;
    measure("redeem-entry wrong intercom", 1, ("iot", 0), app.take_sdk_requests());
    let wrong_number = if app.gate_number() == "11112222" { "33334444" } else { "11112222" };
    let body = serde_json::json!({ "token": invite.token, "code": invite.code, "gate_number": wrong_number });
    assert_eq!(app.call(reqwest::Method::POST, "/guest/entry", None, Some(body)).await.0, 403);
    measure("redeem-entry wrong gate number", 2, ("iot", 0), app.take_sdk_requests());
    app.guest_status(&invite.token).await;
    measure("guest-status", 2, ("iot", 0), app.take_sdk_requests());
    app.gate_requests.take();
    assert_eq!(app.enter(&invite).await.0, 202);
    measure("redeem-entry success", 3, ("iot", 1), app.take_sdk_requests());
    // The presence write that lets a report prove its gate online, the invite's
    // read, the confirmation.
    measure("gate-events opened report", 3, ("iot", 0), app.gate_requests.take());
    app.enter(&invite).await;
    measure("redeem-entry used", 3, ("iot", 0), app.take_sdk_requests());
    assert_eq!(app.exit(&invite).await.0, 202);
    measure("redeem-exit success", 3, ("iot", 1), app.take_sdk_requests());
    // As the entry's, and the place the guest who left frees.
    measure("gate-events exit report", 4, ("iot", 0), app.gate_requests.take());

    let revoked = app.invite("Revoked Guest").await;
    app.take_sdk_requests();
    assert_eq!(app.revoke(&app.owner, &revoked.id).await.0, 204);
    measure("revoke-code", 3, ("sns", 0), app.take_sdk_requests());

    let (status, _) = app.create(&app.stranger, json!({ "name": "X", "mobile": app.mobile })).await;
    assert_eq!(status, 403);
    measure("create-invite refused", 1, ("sns", 0), app.take_sdk_requests());

    app.invite("Never Came").await;
    app.advance(time::Duration::hours(13));
    app.take_sdk_requests();
    let report = app.sweep().await;
    assert_eq!((report.due, report.expired), (1, 1), "the guest who left is not due: {report:?}");
    // 1 to record the expiry (the invite whose guest left is out of the index since
    // the exit's report); one read of each shard of the three index partitions
    // (expiries, overstays, gates whose drop outlasted the debounce), and of each's
    // unsharded partition of earlier versions: a constant, whatever is stored.
    let reads = 3 * (ota::keys::SWEEP_SHARDS as usize + 1);
    measure("sweep (1 expired, 1 exited)", reads + 1, ("sns", 0), app.take_sdk_requests());

    let resent = app.invite("Resent Guest").await;
    app.take_sdk_requests();
    let path = format!("/intercoms/{}/codes/{}/sms", app.intercom(), resent.id);
    assert_eq!(app.call(reqwest::Method::POST, &path, Some(&app.owner), None).await.0, 202);
    measure("resend-sms", 2, ("sns", 0), app.take_sdk_requests());
    app.activity(&app.owner, "").await;
    measure("list-activity", 2, ("sns", 0), app.take_sdk_requests());
    app.activity(&app.owner, &format!("code={}", resent.id)).await;
    measure("list-activity of a code", 2, ("sns", 0), app.take_sdk_requests());

    let (_, erased) = app.create(&app.owner, json!({ "name": "Erased Guest", "mobile": "+27825550166" })).await;
    app.revoke(&app.owner, erased["id"].as_str().unwrap()).await;
    app.settle().await;
    app.take_sdk_requests();
    let path = format!("/intercoms/{}/guest-erasures", app.intercom());
    let mobile = json!({ "mobile": "+27825550166" });
    assert_eq!(app.call(reqwest::Method::POST, &path, Some(&app.owner), Some(mobile)).await.0, 200);
    // The membership, the index, the codes' items (one read for up to 50), the erasure
    // log; for its one code: the transaction, its activity, its facts written again.
    measure("erase-guest, one code", 4 + 3, ("sns", 0), app.take_sdk_requests());

    assert!(seen.iter().all(|r| !r.contains("Scan")), "no Scan anywhere: {seen:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweep_works_in_proportion_to_what_expired_not_to_what_is_stored() {
    let app = spawn_app().await;
    app.put_settings(&app.owner, json!({ "entry_gate": "gate-main", "invite_duration_minutes": 15, "max_users": 100 }))
        .await;
    for i in 0..2 {
        app.invite(&format!("Due {i}")).await;
    }
    app.put_settings(
        &app.owner,
        json!({ "entry_gate": "gate-main", "invite_duration_minutes": 600, "max_users": 100 }),
    )
    .await;
    for i in 0..20 {
        app.invite(&format!("Live {i}")).await;
    }
    app.advance(time::Duration::minutes(20));
    app.take_sdk_requests();
    let report = app.sweep().await;
    let requests = app.take_sdk_requests();
    assert_eq!(report.expired, 2);
    let count = |operation: &str| requests.iter().filter(|r| *r == operation).count();
    assert_eq!(
        (count("dynamodb:Query"), count("dynamodb:UpdateItem"), requests.len()),
        (3 * (ota::keys::SWEEP_SHARDS as usize + 1), 2, 3 * (ota::keys::SWEEP_SHARDS as usize + 1) + 2),
        "one read of each index partition (a constant), one write per expired code"
    );
}

/// Ended invites stay in the table for their history (14 days) but outside what a
/// create or a list reads: with one item per page, the reads of an intercom with a
/// long history take as many pages as those of a new one (12 ended invites would
/// add 12).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_and_list_read_the_same_whatever_the_intercoms_history() {
    let app = spawn_app_with(Options { page_limit: Some(1), ..Options::default() }).await;
    app.put_settings(&app.owner, json!({ "entry_gate": "gate-main", "invite_duration_minutes": 15, "max_users": 100 }))
        .await;
    let reads = |app: &crate::helpers::TestApp| {
        let requests = app.take_sdk_requests();
        requests.iter().filter(|r| *r == "dynamodb:Query").count()
    };
    app.invite("Fresh").await;
    reads(&app);
    app.list(&app.owner).await;
    let list_when_new = reads(&app);

    // A history: codes that were revoked, used, or expired long ago.
    for i in 0..12 {
        let past = app.invite(&format!("Past {i}")).await;
        if i % 2 == 0 {
            app.revoke(&app.owner, &past.id).await;
        }
    }
    app.advance(time::Duration::hours(3));
    app.invite("Fresh again").await;
    app.take_sdk_requests();
    app.list(&app.owner).await;
    // (An empty last page may follow a full one: DynamoDB cannot know it is the last.)
    let list_reads = reads(&app);
    assert!(list_reads <= list_when_new + 1, "the list read {list_reads} pages, {list_when_new} when new");
    app.invite("One more").await;
    let create_reads = reads(&app);
    assert!(create_reads <= list_when_new + 1, "create read {create_reads} pages");
}

/// A create reads no invite: of the intercom's partition it gets back only the
/// places that may be free. A list gets back the invites it shows, their SMS items and
/// the places it counts. However many people the intercom is shared with and however
/// many keyed creates it had today, no membership or idempotency record comes back
/// from a Query for the function to parse (those are read by key).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_reads_no_invite_and_list_only_what_it_shows() {
    use ota::domain::access::Role;
    use ota::domain::ids::UserId;
    let app = spawn_app().await;
    app.configure(10).await;
    for neighbour in ["neighbour-1", "neighbour-2", "neighbour-3", "neighbour-4"] {
        let user = UserId::parse(neighbour).unwrap();
        app.front.deps.store.grant(&app.site.intercom, &user, Role::IntercomUser).await.unwrap();
    }
    for (i, name) in ["Ann", "Ben", "Cleo"].iter().enumerate() {
        let key = reqwest::header::HeaderValue::from_str(&format!("budget-key-{i}-0123456789")).unwrap();
        assert_eq!(app.create_with_key(key, name).await.0, 201);
    }
    // Each item returned, by kind: invite or its SMS item (`ENDS#<time>#INVITE#<id>[#SMS]`),
    // a place (`PLACE#0003`), anything else by its key.
    let returned = |answers: Vec<Vec<String>>| {
        let mut kinds: Vec<String> = answers
            .concat()
            .into_iter()
            .map(|sk| match sk.strip_prefix("ENDS#").and_then(|rest| rest.split('#').nth(1)) {
                Some(_) if sk.ends_with("#SMS") => "SMS".to_owned(),
                Some(kind) => kind.to_owned(),
                None if sk.starts_with("PLACE#") => "PLACE".to_owned(),
                None => sk,
            })
            .collect();
        kinds.sort();
        kinds.dedup_by(|a, b| *a == *b && a.as_str() == "PLACE");
        kinds
    };
    app.query_answers.take();

    let (status, list) = app.list(&app.shared).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["codes"].as_array().map(Vec::len), Some(3), "{list}");
    assert_eq!(
        returned(app.query_answers.take()),
        ["INVITE", "INVITE", "INVITE", "PLACE", "SMS", "SMS", "SMS"],
        "the list's read"
    );

    app.invite("Dee").await;
    assert_eq!(returned(app.query_answers.take()), ["PLACE"], "the create's read");
}
