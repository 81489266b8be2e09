//! No gate-number oracle: a gate number is judged only together with a live invite
//! of its intercom. A dead link (revoked, expired, used, locked) is told what it
//! would be told with the right number, after the same requests; a live link's
//! wrong number is refused, counts nothing against the code, and is logged for the
//! intercom's wrong-number alarm (never the number itself).

use crate::helpers::{spawn_app, Invite, TestApp};
use serde_json::{json, Value};

async fn press(app: &TestApp, path: &str, invite: &Invite, number: &str) -> (u16, Option<String>, usize) {
    app.settle().await;
    app.take_sdk_requests();
    let body = json!({ "token": invite.token, "code": invite.code, "gate_number": number });
    let (status, answer): (u16, Value) = app.call(reqwest::Method::POST, path, None, Some(body)).await;
    let reads = app.take_sdk_requests().iter().filter(|r| r.starts_with("dynamodb")).count();
    (status, answer["error"]["code"].as_str().map(str::to_owned), reads)
}

fn wrong_number(app: &TestApp) -> &'static str {
    if app.gate_number() == "11112222" {
        "33334444"
    } else {
        "11112222"
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_link_learns_nothing_of_the_gate_number() {
    let app = spawn_app().await;
    app.configure(5).await;
    let revoked = app.invite("Revoked Guest").await;
    assert_eq!(app.revoke(&app.owner, &revoked.id).await.0, 204);
    let used = app.invite("Used Guest").await;
    assert_eq!(app.enter(&used).await.0, 202);
    assert_eq!(app.exit(&used).await.0, 202);
    let expiring = app.invite("Late Guest").await;

    let (right, wrong) = (app.gate_number().to_owned(), wrong_number(&app));
    let mut dead = vec![("revoked", &revoked, "/guest/entry"), ("used", &used, "/guest/exit")];
    for (what, invite, path) in dead.drain(..) {
        let with_right = press(&app, path, invite, &right).await;
        let with_wrong = press(&app, path, invite, wrong).await;
        assert_ne!(with_right.1.as_deref(), Some("scan_at_gate"), "{what}");
        assert_eq!(with_wrong, with_right, "{what}: the same answer after the same requests");
    }
    app.advance(time::Duration::hours(13));
    let with_right = press(&app, "/guest/entry", &expiring, &right).await;
    assert_eq!(with_right.1.as_deref(), Some("expired"));
    assert_eq!(press(&app, "/guest/entry", &expiring, wrong).await, with_right, "expired");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_links_wrong_number_is_refused_counted_for_the_alarm_and_never_logged() {
    let logs = crate::secrets::capture_logs();
    let app = spawn_app().await;
    app.configure(5).await;
    let invite = app.invite("Live Guest").await;
    let wrong = wrong_number(&app);
    for path in ["/guest/entry", "/guest/exit"] {
        let (status, code, _) = press(&app, path, &invite, wrong).await;
        assert_eq!((status, code.as_deref()), (403, Some("scan_at_gate")), "{path}");
    }
    let body = json!({ "token": invite.token, "gate_number": wrong });
    let (_, status) = app.call(reqwest::Method::POST, "/guest/status", None, Some(body)).await;
    assert_eq!(status["gate_check"], "scan_at_gate", "the status's early check, by the same rule: {status}");
    assert_eq!(status["attempts_left"], 5, "nothing counted against the code");

    let text = logs.text();
    let lines: Vec<&str> =
        text.lines().filter(|line| line.contains("wrong gate number") && line.contains(app.intercom())).collect();
    assert_eq!(lines.len(), 3, "one line per wrong number, with the intercom: {lines:?}");
    assert!(!text.contains(wrong), "the number typed is never logged");
    for line in lines {
        let line: Value = serde_json::from_str(line).unwrap();
        assert_eq!(line["fields"]["intercom"], app.intercom(), "the alarm's key: {line}");
    }
}
