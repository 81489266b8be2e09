//! The public guest edge, black-box through the local front (which stands in for
//! CloudFront and the function URLs' signature check): the gate number proves the
//! guest is at the gate, and a request whose form alone shows it is no real guest's
//! costs no DynamoDB request, however many arrive.

use crate::helpers::{spawn_app, Invite, TestApp};
use ota::clock::Clock;
use ota::domain::gate_number::{GateNumber, ROTATION_GRACE};
use serde_json::{json, Value};
use std::time::Duration;

async fn press(app: &TestApp, invite: &Invite, at_gate: Value) -> (u16, Value) {
    let mut body = json!({ "token": invite.token, "code": invite.code });
    body.as_object_mut().unwrap().extend(at_gate.as_object().unwrap().clone());
    let answer = app.call(reqwest::Method::POST, "/guest/entry", None, Some(body)).await;
    app.settle_gates().await;
    answer
}

fn refusal(answer: &(u16, Value)) -> (u16, Option<&str>) {
    (answer.0, answer.1["error"]["code"].as_str())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redemption_without_this_intercoms_gate_number_is_refused_and_counts_nothing() {
    let app = spawn_app().await;
    app.configure(5).await;
    let invite = app.invite("Forwarded Sms").await;
    let other_number = if app.gate_number() == "11112222" { "33334444" } else { "11112222" };
    let intercom = app.intercom();
    for at_gate in [
        json!({ "intercom_id": intercom }),
        json!({ "intercom_id": intercom, "gate_number": null }),
        json!({ "intercom_id": intercom, "gate_number": other_number }),
        json!({ "gate_number": other_number }),
    ] {
        let answer = press(&app, &invite, at_gate.clone()).await;
        assert_eq!(refusal(&answer), (403, Some("scan_at_gate")), "{at_gate}");
        assert!(answer.1["error"]["message"].as_str().unwrap().contains("scan the QR code at the gate"));
    }
    // Not a gate number in the document's form (an empty one included): the client's
    // mistake, said as such, and counted as nothing either.
    for malformed in ["1234", "", " 48210937"] {
        let (status, answer) = press(&app, &invite, json!({ "intercom_id": intercom, "gate_number": malformed })).await;
        assert_eq!((status, answer["error"]["field"].as_str()), (400, Some("gate_number")), "{malformed:?}");
    }
    let (_, status) = app.guest_status(&invite.token).await;
    assert_eq!((status["attempts_left"].as_u64(), status["entry"]["state"].as_str()), (Some(5), Some("available")));
    assert_eq!(app.openings("gate-main"), 0, "nothing opened");

    // Typed (no intercom id), grouped as printed: the number alone proves the scan.
    let printed = GateNumber::parse(app.gate_number()).unwrap().printed();
    let (status, answer) = press(&app, &invite, json!({ "gate_number": printed })).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(app.guest_status(&invite.token).await.1["entry"]["state"], "used");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_gate_number_works_during_its_grace_and_not_after() {
    let app = spawn_app().await;
    app.configure(5).await;
    let old = app.gate_number().to_owned();
    let new = GateNumber::generate();
    let check = new.check(&app.site.intercom, app.front.deps.config.gate_number_keys.as_ref().unwrap());
    let rotated = app.front.deps.store.rotate_gate_number(&app.site.intercom, &check, app.clock.now()).await.unwrap();
    assert!(rotated);
    let during = app.invite("During Grace").await;
    assert_eq!(press(&app, &during, json!({ "gate_number": old })).await.0, 202);

    app.advance(ROTATION_GRACE + time::Duration::seconds(1));
    let after = app.invite("After Grace").await;
    let answer = press(&app, &after, json!({ "gate_number": old })).await;
    assert_eq!(refusal(&answer), (403, Some("scan_at_gate")));
    assert_eq!(app.guest_status(&after.token).await.1["attempts_left"], 5, "the refusal counted nothing");
    assert_eq!(press(&app, &after, json!({ "gate_number": new.as_digits() })).await.0, 202);
}

/// What a script that never had a link sends: no body, junk, a made-up token in the
/// right form, a real token without the gate number.
fn junk(invite: &Invite) -> Vec<(&'static str, String)> {
    let (ids, _) = invite.token.rsplit_once('.').unwrap();
    let forged = format!("{ids}.AAAAAAAAAAAAAAAAAAAAAA");
    vec![
        ("/guest/status", "{}".into()),
        ("/guest/status", "not json".into()),
        ("/guest/status", json!({ "token": "nonsense" }).to_string()),
        ("/guest/status", json!({ "token": forged }).to_string()),
        ("/guest/entry", "{}".into()),
        ("/guest/entry", json!({ "token": forged, "gate_number": "12345678", "code": "1234" }).to_string()),
        ("/guest/exit", json!({ "token": "a.b.c", "gate_number": "12345678", "code": "1234" }).to_string()),
        ("/guest/entry", json!({ "token": invite.token, "code": invite.code }).to_string()),
    ]
}

async fn send_raw(app: &TestApp, path: &str, body: &str) -> u16 {
    app.http
        .post(format!("{}{path}", app.api))
        .header("content-type", "application/json")
        .header("x-amz-content-sha256", local_stack::front::content_sha256(body.as_bytes()))
        .body(body.to_owned())
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_whose_form_shows_no_real_guest_cost_no_dynamodb_request() {
    let app = spawn_app().await;
    app.configure(5).await;
    let invite = app.invite("Real Guest").await;
    app.take_sdk_requests();
    for (path, body) in junk(&invite) {
        let status = send_raw(&app, path, &body).await;
        assert!((400..500).contains(&status), "{path} {body}: {status}");
        assert_eq!(app.take_sdk_requests(), Vec::<String>::new(), "{path} {body} reached DynamoDB");
    }
    // Without the body hash CloudFront signs, a function URL refuses the request.
    let unsigned =
        app.http.post(format!("{}/guest/status", app.api)).body(json!({ "token": invite.token }).to_string());
    assert_eq!(unsigned.send().await.unwrap().status().as_u16(), 403);
    assert_eq!(app.take_sdk_requests(), Vec::<String>::new());
}

/// 6,000 requests from one client, paced at 300 a second (20 s at that pace, longer on
/// a slow machine): junk, and the status of real links (two live, one ended), as a
/// few hundred addresses holding genuine links would send them, while a real guest
/// reads their status and enters. Junk and the ended link cost no read; each live
/// link gets its burst of reads, then `429 rate_limited` from memory. Locally this
/// shows the functions' part: the flood cannot crowd a guest out of the table. The
/// per-address limits (WAF) and the reserved concurrency act only in a deployed stack.
/// Run alone, after the other tests (`infra/test.sh`): its load would stretch the
/// timeouts of the fault tests running beside it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run alone by infra/test.sh"]
async fn a_flood_of_junk_and_real_links_does_not_stop_a_real_guest() {
    const BATCH: usize = 10;
    const BATCHES: usize = 600;
    const LIVE_LINKS: usize = 2;
    let app = std::sync::Arc::new(spawn_app().await);
    app.configure(5).await;
    let ended = app.invite("Long Gone").await;
    app.advance(time::Duration::hours(14));
    let invite = app.invite("Flooded Guest").await;
    let mut flood = junk(&invite);
    flood.push(("/guest/status", json!({ "token": ended.token }).to_string()));
    for i in 0..LIVE_LINKS {
        let held = app.invite(&format!("Held Link {i}")).await;
        flood.push(("/guest/status", json!({ "token": held.token }).to_string()));
    }
    app.settle().await;
    app.take_sdk_requests();
    let flooding = {
        let app = app.clone();
        tokio::spawn(async move {
            let mut answers = std::collections::BTreeMap::<u16, usize>::new();
            // Ten every 33 ms: 300 a second at most.
            let mut pace = tokio::time::interval(Duration::from_millis(33));
            for round in 0..BATCHES {
                pace.tick().await;
                let batch: Vec<_> = (0..BATCH)
                    .map(|i| {
                        let (path, body) = flood[(round * BATCH + i) % flood.len()].clone();
                        let app = app.clone();
                        tokio::spawn(async move { send_raw(&app, path, &body).await })
                    })
                    .collect();
                for request in batch {
                    *answers.entry(request.await.unwrap_or(0)).or_default() += 1;
                }
            }
            answers
        })
    };
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (status, body) = app.guest_status(&invite.token).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app.enter(&invite).await;
    assert_eq!(status, 202, "{body}");
    assert!(!flooding.is_finished(), "the guest was served while the flood went on");
    let answers = flooding.await.unwrap();
    let requests = app.take_sdk_requests();
    assert_eq!(app.guest_status(&invite.token).await.1["entry"]["state"], "used", "the guest got in");
    let served = answers.get(&200).copied().unwrap_or(0);
    assert!(served <= LIVE_LINKS * 60, "each live link its burst and no more: {answers:?}");
    assert!(answers.get(&429).copied().unwrap_or(0) > 0, "then rate_limited: {answers:?}");
    assert!(answers.keys().all(|status| (200..500).contains(status)), "nothing failed: {answers:?}");
    // AWS saw the guest's requests (a status read, a redemption: six) and the live
    // links' bursts (two reads a status), and nothing else of the flood's.
    let dynamo = requests.iter().filter(|r| r.starts_with("dynamodb")).count();
    assert!(dynamo <= 8 + 2 * served, "{dynamo} DynamoDB requests for {served} served statuses: {answers:?}");
}

/// A number kept as the plain hash of before keyed checks still opens, and the first
/// guest who brings it has it written again under the gate-number key: a copy of the
/// table taken afterwards no longer yields it by hashing 10^8 numbers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_number_kept_unkeyed_opens_and_is_then_kept_keyed() {
    use base64::Engine;
    use ota::store::GateNumbersFound;
    let app = spawn_app().await;
    app.configure(5).await;
    let intercom = app.site.intercom.clone();
    let hex = local_stack::front::content_sha256(
        format!("fluss-ota gate number\0{}\0{}", intercom.as_str(), app.gate_number()).as_bytes(),
    );
    let bytes: Vec<u8> = (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect();
    let unkeyed =
        ota::domain::gate_number::GateNumberCheck(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes));
    assert!(app.front.deps.store.rotate_gate_number(&intercom, &unkeyed, app.clock.now()).await.unwrap());
    let kept = |found: GateNumbersFound| match found {
        GateNumbersFound::Set(numbers) => numbers.current.0,
        other => panic!("{other:?}"),
    };
    assert_eq!(kept(app.front.deps.store.gate_numbers(&intercom).await.unwrap()), unkeyed.0);

    let invite = app.invite("Early Guest").await;
    assert_eq!(press(&app, &invite, json!({ "gate_number": app.gate_number() })).await.0, 202);
    let now_kept = kept(app.front.deps.store.gate_numbers(&intercom).await.unwrap());
    assert!(now_kept.starts_with("test."), "rewritten under the key: {now_kept}");
    let next = app.invite("Next Guest").await;
    assert_eq!(press(&app, &next, json!({ "gate_number": app.gate_number() })).await.0, 202, "and still opens");
}
