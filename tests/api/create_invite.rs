use crate::helpers::{spawn_app, spawn_app_with, Options};
use serde_json::{json, Value};
use std::collections::HashSet;
use time::format_description::well_known::Rfc3339;

fn is_trivial(code: &str) -> bool {
    ota::domain::code::AccessCode::parse(code).unwrap().is_trivially_guessable()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_user_creates_a_code_and_the_guest_gets_one_sms_with_code_and_link() {
    let app = spawn_app().await;
    app.configure(10).await;
    let local_number = format!("0{}", &app.mobile[3..]);
    let (status, body) =
        app.create(&app.shared, json!({ "name": "  Thandi   Mokoena ", "mobile": local_number })).await;
    assert_eq!(status, 201, "{body}");

    let code = body["code"].as_str().unwrap();
    assert!(code.len() == 4 && code.bytes().all(|b| b.is_ascii_digit()) && !is_trivial(code));
    assert_eq!(body["guest"]["name"], "Thandi Mokoena");
    assert_eq!(body["guest"]["mobile"], app.mobile, "normalised to E.164");
    let link = body["link"].as_str().unwrap();
    let token = link.strip_prefix("https://ote.fluss.me/#").expect("token travels in the fragment");
    assert!(token.len() >= 33);
    assert_eq!(body["remaining_seconds"], 12 * 3600);
    assert_eq!(body["sms"]["status"], "queued", "the SMS sender sends it from the stream");
    let share = body["share"]["message"].as_str().unwrap();
    assert!(share.contains(code) && share.contains(link) && share.contains("Scan the QR code"));
    // The demo intercoms are in Johannesburg: the guest reads SAST, never UTC.
    let expires = time::OffsetDateTime::parse(body["expires_at"].as_str().unwrap(), &Rfc3339).unwrap();
    let local = expires.to_offset(time::macros::offset!(+2));
    let shown = format!(
        "{:04}-{:02}-{:02} {:02}:{:02} SAST",
        local.year(),
        u8::from(local.month()),
        local.day(),
        local.hour(),
        local.minute()
    );
    assert!(share.contains(&shown) && !share.contains("UTC"), "{share}");

    let sms = app.sms().await;
    assert_eq!(sms.len(), 1);
    let text = sms[0]["message"].as_str().unwrap();
    assert!(text.contains(code) && text.contains(link), "{text}");
    assert!(text.chars().count() <= 160 && ota::sms::is_gsm7(text), "one GSM-7 segment: {text}");

    let (status, list) = app.list(&app.owner).await;
    assert_eq!(status, 200);
    let listed = &list["codes"][0];
    assert_eq!(listed["id"], body["id"]);
    assert_eq!(listed["code"], code);
    assert_eq!(listed["state"], "unused");
    assert_eq!(listed["created_by"], app.site.shared_user.as_str());
    assert_eq!(listed["guest_name"], "Thandi Mokoena");
    assert_eq!(
        (listed["entry_gate_label"].as_str(), listed["exit_gate_label"].as_str()),
        (Some("Main gate"), Some("Exit gate"))
    );
    assert_eq!(listed["expires_at"], body["expires_at"]);
    assert!(!listed["guest_mobile"].as_str().unwrap().contains(&app.mobile[4..10]), "list masks the number");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_clear_error_and_stores_and_sends_nothing() {
    let app = spawn_app().await;
    app.configure(10).await;
    let path = format!("/intercoms/{}/codes", app.intercom());
    let mobile = app.mobile.clone();
    let cases: Vec<(Option<String>, u16, &str)> = vec![
        (Some("{not json".into()), 400, "invalid_json"),
        (Some(String::new()), 400, "invalid_json"),
        (Some("null".into()), 400, "invalid_json"),
        (Some(json!({ "name": "A" }).to_string()), 400, "invalid_json"),
        (Some(json!({ "mobile": mobile }).to_string()), 400, "invalid_json"),
        (Some(json!({ "name": 42, "mobile": mobile }).to_string()), 400, "invalid_json"),
        (Some(json!({ "name": "A", "mobile": 27821234567u64 }).to_string()), 400, "invalid_json"),
        (Some(json!({ "name": "A", "mobile": mobile, "name2": "B" }).to_string()), 400, "invalid_json"),
        (Some(json!({ "name": "", "mobile": mobile }).to_string()), 400, "invalid_field"),
        (Some(json!({ "name": "x".repeat(61), "mobile": mobile }).to_string()), 400, "invalid_field"),
        (Some(json!({ "name": "Eve\u{202e}gnirts", "mobile": mobile }).to_string()), 400, "invalid_field"),
        (Some(json!({ "name": "Zero\u{200b}Width", "mobile": mobile }).to_string()), 400, "invalid_field"),
        (Some(json!({ "name": "A", "mobile": "not a number" }).to_string()), 400, "invalid_field"),
        (Some(json!({ "name": "A", "mobile": "+27 21 555 1234" }).to_string()), 400, "invalid_field"),
        (Some(json!({ "name": "A", "mobile": "1".repeat(50) }).to_string()), 400, "invalid_field"),
        (Some(json!({ "name": "A".repeat(20_000), "mobile": mobile }).to_string()), 413, "payload_too_large"),
    ];
    for (body, expected_status, expected_code) in cases {
        let mut request = app.http.post(format!("{}{path}", app.api)).bearer_auth(&app.owner);
        if let Some(body) = body.clone() {
            request = request.body(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let error: Value = response.json().await.unwrap();
        assert_eq!(status, expected_status, "{body:?} → {error}");
        assert_eq!(error["error"]["code"], expected_code, "{body:?}");
        assert!(!error["error"]["message"].as_str().unwrap_or("").is_empty());
    }
    // A short Idempotency-Key is bad input too.
    let response = app
        .http
        .post(format!("{}{path}", app.api))
        .bearer_auth(&app.owner)
        .header("idempotency-key", "short")
        .body(json!({ "name": "A", "mobile": mobile }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);

    assert!(app.listed_ids().await.is_empty(), "nothing stored");
    assert!(app.sms().await.is_empty(), "nothing sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_latin_names_are_kept_and_the_sms_still_fits_one_segment() {
    let app = spawn_app().await;
    app.configure(10).await;
    for name in ["王芳", "Łukasz Żółć", "Zoë O'Brien"] {
        let invite = app.invite(name).await;
        assert_eq!(invite.body["guest"]["name"], name);
    }
    for sms in app.sms().await {
        let text = sms["message"].as_str().unwrap();
        assert!(ota::sms::is_gsm7(text) && text.chars().count() <= 160, "{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_users_is_never_exceeded() {
    let app = spawn_app().await;
    app.configure(2).await;
    app.invite("One").await;
    app.invite("Two").await;
    let (status, error) = app.create(&app.owner, json!({ "name": "Three", "mobile": app.mobile })).await;
    assert_eq!(status, 409);
    assert_eq!(error["error"]["code"], "limit_reached");
    assert_eq!(error["error"]["max_users"], 2);
    assert_eq!(app.listed_ids().await.len(), 2);
    assert_eq!(app.sms().await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_creates_never_exceed_max_users_and_never_share_a_code() {
    let app = std::sync::Arc::new(spawn_app().await);
    app.configure(5).await;
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let app = app.clone();
            tokio::spawn(async move {
                app.create(&app.owner, json!({ "name": format!("Guest {i}"), "mobile": app.mobile })).await
            })
        })
        .collect();
    let mut created = Vec::new();
    for task in tasks {
        let (status, body) = task.await.unwrap();
        match status {
            201 => created.push(body["code"].as_str().unwrap().to_owned()),
            409 => assert_eq!(body["error"]["code"], "limit_reached"),
            503 => assert_eq!(body["error"]["code"], "busy"),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(created.len(), 5, "exactly Max Users codes were created");
    assert_eq!(created.iter().collect::<HashSet<_>>().len(), 5, "codes are unique");
    assert_eq!(app.listed_ids().await.len(), 5);
    assert_eq!(app.sms().await.len(), 5, "no SMS for refused creates");
}

/// Two creates find the same last free place. The one held back before its commit
/// must not take the place the other took meanwhile, nor pass Max Users.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_create_that_lost_its_place_to_another_does_not_breach_max_users() {
    let app = std::sync::Arc::new(spawn_app().await);
    app.configure(3).await;
    for i in 0..3 {
        let past = app.invite(&format!("Past {i}")).await;
        assert_eq!(app.revoke(&app.owner, &past.id).await.0, 204);
    }
    app.invite("Live 1").await;
    app.invite("Live 2").await;

    // The first create found the last place and stops before its commit…
    app.paused_read.arm_before("TransactWriteItems");
    let first = {
        let app = app.clone();
        tokio::spawn(async move { app.create(&app.owner, json!({ "name": "First", "mobile": app.mobile })).await })
    };
    let paused = app.paused_read.clone();
    tokio::task::spawn_blocking(move || paused.wait_until_paused()).await.unwrap();
    // …while another takes that place…
    let (status, body) = app.create(&app.owner, json!({ "name": "Second", "mobile": app.mobile })).await;
    assert_eq!(status, 201, "{body}");
    // …and then goes on.
    app.paused_read.resume();
    let (status, body) = first.await.unwrap();
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("limit_reached")), "{body}");
    assert_eq!(app.listed_ids().await.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_codes_on_one_intercom_are_all_different() {
    // More codes in an hour than one user may text by default.
    let app = spawn_app_with(Options { sms_limits: Some((100, 100)), ..Options::default() }).await;
    app.configure(100).await;
    let mut codes = HashSet::new();
    for i in 0..40 {
        assert!(codes.insert(app.invite(&format!("Guest {i}")).await.code));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_create_with_the_same_idempotency_key_returns_the_same_invite_once() {
    let app = spawn_app().await;
    app.configure(10).await;
    let path = format!("{}/intercoms/{}/codes", app.api, app.intercom());
    let body = json!({ "name": "Retry Guest", "mobile": app.mobile }).to_string();
    let send = |key: &'static str, body: String| {
        app.http.post(&path).bearer_auth(&app.owner).header("idempotency-key", key).body(body).send()
    };
    let key = "6f1c2a9e-3b4d-4e5f-8a7b-9c0d1e2f3a4b";
    let first = send(key, body.clone()).await.unwrap();
    assert_eq!(first.status().as_u16(), 201);
    let first: Value = first.json().await.unwrap();
    let again = send(key, body.clone()).await.unwrap();
    assert_eq!(again.status().as_u16(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    for field in ["id", "code", "link", "starts_at", "expires_at", "share"] {
        assert_eq!(first[field], again[field], "{field}");
    }
    assert_eq!(app.sms().await.len(), 1, "one SMS");
    assert_eq!(app.listed_ids().await.len(), 1, "one slot");

    let other_body = json!({ "name": "Someone Else", "mobile": app.mobile }).to_string();
    let reused = send(key, other_body).await.unwrap();
    assert_eq!(reused.status().as_u16(), 409);
    let error: Value = reused.json().await.unwrap();
    assert_eq!(error["error"]["code"], "idempotency_key_reused");

    // The retried link works like the first one.
    let invite = crate::helpers::Invite::from(&again);
    assert_eq!(app.enter(&invite).await.0, 202);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_sns_cannot_be_reached_the_invite_stands_and_its_sms_waits() {
    let app = spawn_app_with(Options { sms_down: true, ..Options::default() }).await;
    app.configure(10).await;
    let invite = app.invite("No Signal").await;
    app.settle().await;
    assert_eq!(app.listed_ids().await, vec![invite.id.clone()]);
    let (_, list) = app.list(&app.owner).await;
    assert_eq!(list["codes"][0]["sms"]["status"], "queued", "{list}");
    assert_eq!(app.enter(&invite).await.0, 202, "the owner can share the code another way");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idempotency_key_that_is_not_visible_ascii_is_refused_not_ignored() {
    let app = spawn_app().await;
    app.configure(10).await;
    let key = reqwest::header::HeaderValue::from_bytes(b"caf\xe9-0123456789abcdef").unwrap();
    let (status, error) = app.create_with_key(key, "Latin One").await;
    assert_eq!((status, error["error"]["field"].as_str()), (400, Some("Idempotency-Key")), "{error}");
    assert!(app.listed_ids().await.is_empty(), "nothing created");
    assert!(app.sms().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_of_a_revoked_code_says_so_instead_of_handing_back_a_dead_code() {
    let app = spawn_app().await;
    app.configure(10).await;
    let key = reqwest::header::HeaderValue::from_static("9a7c1f3e-5b2d-4c8e-a1f0-6d3b2e9c7a51");
    let (status, created) = app.create_with_key(key.clone(), "Revoked Later").await;
    assert_eq!(status, 201);
    assert_eq!(app.revoke(&app.owner, created["id"].as_str().unwrap()).await.0, 204);

    let (status, replay) = app.create_with_key(key, "Revoked Later").await;
    assert_eq!((status, replay["error"]["code"].as_str()), (410, Some("code_ended")), "{replay}");
    assert_eq!(replay["error"]["state"], "revoked");
    assert!(replay.get("code").is_none() && replay["error"].get("code_id").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_tells_where_the_sms_is_now_and_sends_no_second() {
    let app = spawn_app().await;
    app.configure(10).await;
    let key = reqwest::header::HeaderValue::from_static("2e8d4c6a-1f3b-4a5c-9e7d-0b1a2c3d4e5f");
    let (_, first) = app.create_with_key(key.clone(), "Replayed").await;
    assert_eq!(first["sms"]["status"], "queued", "committed; the SMS follows from the stream");
    let (status, replay) = app.create_with_key(key, "Replayed").await;
    assert_eq!(status, 201);
    assert_eq!(replay["sms"]["status"], "delivered", "the replay reads the invite as it is now: {replay}");
    assert_eq!(app.sms().await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_and_revoke_loop_cannot_pump_sms() {
    let app = spawn_app_with(Options { sms_limits: Some((3, 5)), ..Options::default() }).await;
    app.configure(1).await;
    let guest = json!({ "name": "Pumped", "mobile": app.mobile });
    // Max Users 1 stops nothing when each code is revoked at once.
    for _ in 0..3 {
        let (status, created) = app.create(&app.owner, guest.clone()).await;
        assert_eq!(status, 201, "{created}");
        assert_eq!(app.revoke(&app.owner, created["id"].as_str().unwrap()).await.0, 204);
    }
    let (status, error) = app.create(&app.owner, guest.clone()).await;
    assert_eq!((status, error["error"]["code"].as_str()), (429, Some("sms_rate_limited")), "{error}");
    assert_eq!(error["error"]["scope"], "user");
    assert!(error["error"]["retry_after_seconds"].as_u64().is_some_and(|s| s > 0 && s <= 3600));

    for _ in 0..2 {
        let (status, created) = app.create(&app.shared, guest.clone()).await;
        assert_eq!(status, 201, "another user still may: {created}");
        assert_eq!(app.revoke(&app.shared, created["id"].as_str().unwrap()).await.0, 204);
    }
    let (status, error) = app.create(&app.shared, guest.clone()).await;
    assert_eq!((status, error["error"]["scope"].as_str()), (429, Some("intercom")), "{error}");
    assert_eq!(app.sms().await.len(), 5, "refused creates send nothing");
    assert!(app.listed_ids().await.is_empty(), "and store nothing");

    app.advance(time::Duration::hours(1));
    assert_eq!(app.create(&app.owner, guest).await.0, 201, "the next hour is a new allowance");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_replays_for_24_hours_and_not_after_whether_or_not_ttl_has_run() {
    let app = spawn_app().await;
    app.put_settings(&app.owner, json!({ "entry_gate": "gate-main", "invite_duration_minutes": 4320 })).await;
    let key = reqwest::header::HeaderValue::from_static("7d3f9a1c-2b4e-4f6a-8c0d-1e2f3a4b5c6d");
    let (_, first) = app.create_with_key(key.clone(), "Long Stay").await;
    app.advance(time::Duration::hours(24) - time::Duration::seconds(1));
    let (status, replay) = app.create_with_key(key.clone(), "Long Stay").await;
    assert_eq!((status, &replay["id"]), (201, &first["id"]), "still a replay just inside the window");
    app.advance(time::Duration::seconds(2));
    // moto never deletes by TTL: the record is still stored, and must not count.
    let (status, fresh) = app.create_with_key(key, "Long Stay").await;
    assert_eq!(status, 201);
    assert_ne!(fresh["id"], first["id"], "past 24 h the key makes a new invite");
    assert_eq!(app.sms().await.len(), 2);
}
