//! The share sheet's channels (the owner shares a code instead of the service's SMS)
//! and codes made to start later.

use crate::helpers::{spawn_app_with, Invite, Options, TestApp};
use reqwest::Method;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

fn instant(value: &Value) -> OffsetDateTime {
    OffsetDateTime::parse(value.as_str().unwrap(), &Rfc3339).unwrap()
}

async fn create(app: &TestApp, extra: Value) -> (u16, Value) {
    let mut body = json!({ "name": "Thandi Mokoena", "mobile": app.mobile });
    body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    app.create(&app.owner, body).await
}

fn listed<'a>(codes: &'a [Value], id: &Value) -> &'a Value {
    codes.iter().find(|c| c["id"] == *id).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_the_owner_shares_sends_no_sms_and_uses_no_allowance_and_a_later_resend_sends_one() {
    // One guest SMS per user per hour.
    let app = spawn_app_with(Options { sms_limits: Some((1, 100)), ..Options::default() }).await;
    app.configure(10).await;
    let mut shared = Vec::new();
    for _ in 0..3 {
        let (status, body) = create(&app, json!({ "delivery": "owner_shares" })).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["sms"]["status"], "owner_shares");
        shared.push(body);
    }
    assert!(app.sms().await.is_empty(), "nothing texted");
    let first = &shared[0];
    let (code, link) = (first["code"].as_str().unwrap(), first["link"].as_str().unwrap());
    let share = &first["share"];
    assert!(share["message"].as_str().unwrap().contains(link) && share["sms_text"].as_str().unwrap().contains(code));
    let digits = app.mobile.trim_start_matches('+');
    assert!(share["whatsapp_url"].as_str().unwrap().starts_with(&format!("https://wa.me/{digits}?text=")));
    assert!(share["sms_url"].as_str().unwrap().starts_with(&format!("sms:{}?body=", app.mobile)));
    assert!(share["email_url"].as_str().unwrap().starts_with("mailto:?subject="));
    let codes = app.listed_codes().await;
    assert_eq!(listed(&codes, &first["id"])["sms"]["status"], "owner_shares");

    // The hour's one SMS is still there for a code the service texts.
    let (status, texted) = create(&app, json!({})).await;
    assert_eq!((status, texted["sms"]["status"].as_str()), (201, Some("queued")), "{texted}");
    assert_eq!(app.sms().await.len(), 1);
    let (status, body) = create(&app, json!({ "delivery": "sms" })).await;
    assert_eq!((status, body["error"]["scope"].as_str()), (429, Some("user")), "{body}");

    // The next hour, the owner asks the service to text one they shared.
    app.advance(Duration::hours(1));
    let resend = format!("/intercoms/{}/codes/{}/sms", app.intercom(), first["id"].as_str().unwrap());
    let (status, body) = app.call(Method::POST, &resend, Some(&app.owner), None).await;
    assert_eq!(status, 202, "{body}");
    let sms = app.sms().await;
    assert_eq!(sms.len(), 2);
    let text = sms[1]["message"].as_str().unwrap();
    assert!(text.contains(code) && text.contains(link), "{text}");
    let codes = app.listed_codes().await;
    assert_ne!(listed(&codes, &first["id"])["sms"]["status"], "owner_shares");
    let (status, body) = create(&app, json!({ "delivery": "text_it" })).await;
    assert_eq!((status, body["error"]["field"].as_str()), (400, Some("delivery")), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_for_tomorrow_is_listed_and_counted_at_once_refused_today_without_a_count_and_opens_tomorrow() {
    let app = spawn_app_with(Options::default()).await;
    app.configure(1).await;
    let now = app.front.deps.clock.now();
    // Tomorrow 09:00 in the intercom's zone (Johannesburg, UTC+2), given without an offset.
    let local = (now + Duration::days(1)).to_offset(time::macros::offset!(+2));
    let tomorrow_nine = format!("{:04}-{:02}-{:02}T09:00", local.year(), u8::from(local.month()), local.day());
    let (status, body) = create(&app, json!({ "starts_at": tomorrow_nine })).await;
    assert_eq!(status, 201, "{body}");
    let starts = instant(&body["starts_at"]);
    assert_eq!(starts.to_offset(time::macros::offset!(+2)).hour(), 9);
    assert_eq!(instant(&body["expires_at"]) - starts, Duration::hours(12), "the duration runs from the start");
    assert!(body["share"]["message"].as_str().unwrap().contains(&format!("from {}-", local.year())));

    // Its SMS names the start in the intercom's local time.
    let sms = app.sms().await;
    let text = sms[0]["message"].as_str().unwrap();
    let month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        [usize::from(u8::from(local.month())) - 1];
    assert!(text.contains(&format!("from {} {month} 09:00", local.day())), "{text}");
    assert!(text.chars().count() <= 160 && ota::sms::is_gsm7(text), "{text}");

    // Listed, and it holds the intercom's one place from now.
    let codes = app.listed_codes().await;
    assert_eq!((codes.len(), codes[0]["state"].as_str()), (1, Some("scheduled")));
    let (status, full) = create(&app, json!({})).await;
    assert_eq!((status, full["error"]["code"].as_str()), (409, Some("limit_reached")), "{full}");

    // Today the guest is told when, and no code they type is counted.
    let invite = Invite::from(&body);
    let (status, seen) = app.guest_status(&invite.token).await;
    assert_eq!((status, seen["refusal"]["code"].as_str(), seen["next"].as_str()), (200, Some("not_yet"), None));
    assert_eq!(instant(&seen["starts_at"]), starts);
    assert_eq!(seen["retry_after_seconds"].as_i64(), Some((starts - now).whole_seconds()));
    for typed in [invite.code.clone(), crate::helpers::other_code(&invite.code)] {
        let (status, refused) = app.redeem(crate::helpers::Redeem::Entry, &invite.token, app.intercom(), &typed).await;
        assert_eq!((status, refused["error"]["code"].as_str()), (409, Some("not_yet")), "{refused}");
        assert_eq!(refused["error"]["retry_after_seconds"].as_i64(), Some((starts - now).whole_seconds()));
    }
    assert_eq!(app.guest_status(&invite.token).await.1["attempts_left"], 5, "nothing counted");
    assert_eq!(app.openings("gate-main"), 0);

    // The owner's activity says it was made for then.
    let (_, activity) = app.activity(&app.owner, "").await;
    let created = activity["facts"].as_array().unwrap().iter().find(|f| f["kind"] == "code_created").unwrap();
    assert_eq!(instant(&created["starts_at"]), starts);

    // Tomorrow, it opens.
    app.advance(starts - now);
    let (status, opened) = app.enter(&invite).await;
    assert_eq!(status, 202, "{opened}");
    assert_eq!(app.openings("gate-main"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_further_ahead_than_the_longest_duration_or_long_past_is_refused_and_makes_nothing() {
    let app = spawn_app_with(Options::default()).await;
    app.configure(10).await;
    let now = app.front.deps.clock.now();
    let at = |offset: Duration| (now + offset).format(&Rfc3339).unwrap();
    for starts_at in [at(Duration::hours(72) + Duration::minutes(1)), at(-Duration::hours(2)), "tomorrow".into()] {
        let (status, body) = create(&app, json!({ "starts_at": starts_at })).await;
        assert_eq!((status, body["error"]["field"].as_str()), (400, Some("starts_at")), "{starts_at}: {body}");
    }
    assert!(app.listed_codes().await.is_empty() && app.sms().await.is_empty());
    let (status, body) = create(&app, json!({ "starts_at": at(Duration::hours(72)) })).await;
    assert_eq!(status, 201, "the longest allowed Invite Duration ahead: {body}");
    let (status, body) = create(&app, json!({ "starts_at": at(-Duration::minutes(5)) })).await;
    assert_eq!((status, instant(&body["starts_at"])), (201, now), "a start just past is now: {body}");
}
