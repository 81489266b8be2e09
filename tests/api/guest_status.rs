//! `POST /guest/status`: what the guest's page shows before a code is typed.

use crate::helpers::{other_code, spawn_app, Redeem};
use time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_link_holder_is_led_from_entry_to_exit_to_done() {
    let app = spawn_app().await;
    app.configure(10).await;
    let invite = app.invite("Thandi Mokoena").await;

    let (status, body) = app.guest_status(&invite.token).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["first_name"], "Thandi");
    assert_eq!(body["intercom"]["label"], app.site.label.as_str());
    assert_eq!(body["intercom"]["time_zone"], "Africa/Johannesburg");
    assert_eq!((body["next"].as_str(), body["gate_label"].as_str()), (Some("entry"), Some("Main gate")));
    assert_eq!(
        (body["entry_gate_label"].as_str(), body["exit_gate_label"].as_str()),
        (Some("Main gate"), Some("Exit gate"))
    );
    assert_eq!(body["valid_until"], invite.body["expires_at"]);
    assert_eq!(body["exit_open_until"], invite.body["exit_closes_at"]);
    assert_eq!(body["attempts_left"], 5);
    assert!(body["refusal"].is_null());
    assert!(body.get("code").is_none() && !body.to_string().contains(&invite.code), "the code is not repeated");

    app.redeem(Redeem::Entry, &invite.token, app.intercom(), &other_code(&invite.code)).await;
    assert_eq!(app.guest_status(&invite.token).await.1["attempts_left"], 4);

    assert_eq!(app.enter(&invite).await.0, 202);
    let (_, body) = app.guest_status(&invite.token).await;
    assert_eq!((body["next"].as_str(), body["gate_label"].as_str()), (Some("exit"), Some("Exit gate")));

    // Past expiry, a guest who is inside may still leave.
    app.advance(Duration::hours(12));
    assert_eq!(app.guest_status(&invite.token).await.1["next"], "exit");

    assert_eq!(app.exit(&invite).await.0, 202);
    let (status, body) = app.guest_status(&invite.token).await;
    assert_eq!(status, 200);
    assert!(body["next"].is_null());
    assert_eq!(body["refusal"]["code"], "already_used");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoked_expired_and_locked_links_say_so() {
    let app = spawn_app().await;
    app.configure(10).await;
    let revoked = app.invite("Revoked Guest").await;
    let locked = app.invite("Locked Guest").await;
    let expiring = app.invite("Late Guest").await;

    assert_eq!(app.revoke(&app.owner, &revoked.id).await.0, 204);
    for _ in 0..5 {
        app.redeem(Redeem::Entry, &locked.token, app.intercom(), &other_code(&locked.code)).await;
    }
    app.advance(Duration::hours(12));

    for (invite, refusal) in [(&revoked, "revoked"), (&locked, "locked"), (&expiring, "expired")] {
        let (status, body) = app.guest_status(&invite.token).await;
        assert_eq!(status, 200, "{body}");
        assert!(body["next"].is_null() && body["gate_label"].is_null(), "{body}");
        assert_eq!(body["refusal"]["code"], refusal, "{body}");
        assert!(!body["refusal"]["message"].as_str().unwrap().is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stranger_without_the_link_learns_nothing_and_nothing_is_cached() {
    let app = spawn_app().await;
    app.configure(10).await;
    let invite = app.invite("Private Guest").await;
    let (ids, _) = invite.token.rsplit_once('.').unwrap();
    let forged = format!("{ids}.AAAAAAAAAAAAAAAAAAAAAA");
    let other_intercom = invite.token.replacen(app.intercom(), "ic-neighbour", 1);
    for token in [forged.as_str(), other_intercom.as_str(), "", "nonsense", "a.b.c"] {
        let (status, body) = app.guest_status(token).await;
        assert_eq!((status, body["error"]["code"].as_str()), (404, Some("invalid_link")), "{token:?}");
        assert!(!body.to_string().contains("Private"), "{body}");
    }

    let body = serde_json::json!({ "token": invite.token }).to_string();
    let response = app
        .http
        .post(format!("{}/guest/status", app.api))
        .header("x-amz-content-sha256", local_stack::front::content_sha256(body.as_bytes()))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert!(response.headers().get("access-control-allow-origin").is_none(), "same origin: no CORS");

    let (status, body) = app
        .call(reqwest::Method::POST, "/guest/status", None, Some(serde_json::json!({ "token": invite.token, "x": 1 })))
        .await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_json")));
}

/// A page reloaded (or opened again) while a gate has the command: the status says
/// which passage is opening and until when, so the page waits for the gate's word.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn while_a_command_is_out_the_status_says_opening_with_its_confirm_by() {
    let app = spawn_app().await;
    app.configure(10).await;
    let invite = app.invite("Reloads").await;
    app.set_gate("gate-main", local_stack::gates::Mode::Mute).await;
    let (_, opening) = app.enter(&invite).await;
    let (_, body) = app.guest_status(&invite.token).await;
    assert_eq!((body["next"].as_str(), body["gate_label"].as_str()), (Some("entry"), Some("Main gate")), "{body}");
    assert_eq!(body["refusal"]["code"], "opening", "no press is taken while the gate has one: {body}");
    assert_eq!(body["entry"]["state"], "opening");
    assert_eq!(body["entry"]["confirm_by"], opening["confirm_by"]);
}

/// A guest whose entry command came back without a report may be inside (a mute
/// gate opens and says nothing): the status offers the exit too, and each passage
/// still opens once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_given_back_without_a_report_offers_the_exit_too() {
    let app = spawn_app().await;
    app.configure(10).await;
    let invite = app.invite("Went In Anyway").await;
    app.set_gate("gate-main", local_stack::gates::Mode::Mute).await;
    assert_eq!(app.enter(&invite).await.0, 202);
    app.advance(Duration::seconds(30));
    let (_, body) = app.guest_status(&invite.token).await;
    assert_eq!((body["next"].as_str(), body["also"].as_str()), (Some("entry"), Some("exit")), "{body}");
    assert!(body["refusal"].is_null());
    assert_eq!(app.exit(&invite).await.0, 202, "the exit the status offered");
    app.settle_gates().await;
    let (_, body) = app.guest_status(&invite.token).await;
    assert_eq!(body["refusal"]["code"], "already_used", "{body}");
    let (status, error) = app.enter(&invite).await;
    assert_eq!((status, error["error"]["code"].as_str()), (409, Some("already_used")), "out is out: {error}");
    assert_eq!(app.openings("gate-exit"), 1);
}
