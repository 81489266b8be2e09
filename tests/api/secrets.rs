//! No secret (link token, code, gate number, JWT, full phone number, Idempotency-Key) and
//! no guest's name ever reaches a log line: through the functions' own log set-up at its most verbose
//! level, on the happy path and on every failure path a bad network causes.

use crate::helpers::{other_code, spawn_app, spawn_app_with, Options, Redeem, TestApp};
use fault_proxy::Fault;
use serde_json::json;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    /// Every line logged so far, by every test of this process.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The production subscriber (`ota::telemetry`) with `OTA_LOG_LEVEL=trace`, writing
/// into memory. The SDK stays at warn, as in production.
pub fn capture_logs() -> Captured {
    static LOGS: OnceLock<Captured> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Captured::default();
        let writer = logs.clone();
        ota::telemetry::init_with(move || writer.clone(), Some("trace"));
        logs
    })
    .clone()
}

fn assert_no_secret(text: &str, app: &TestApp, invites: &[&crate::helpers::Invite], extra: &[(&str, &str)]) {
    for invite in invites {
        let secret = invite.token.rsplit_once('.').unwrap().1;
        assert!(!text.contains(&invite.token), "a link token leaked into the logs");
        assert!(!text.contains(secret), "a link secret leaked into the logs");
        let words: Vec<&str> = text.split(|c: char| !c.is_ascii_alphanumeric()).collect();
        assert!(!words.contains(&invite.code.as_str()), "a code leaked into the logs");
    }
    let national = &app.mobile[3..];
    let known = [
        ("JWT", app.owner.as_str()),
        ("mobile", app.mobile.as_str()),
        ("mobile digits", national),
        ("gate number", app.gate_number()),
    ];
    for (what, needle) in known.into_iter().chain(extra.iter().copied()) {
        assert!(!text.contains(needle), "{what} leaked into the logs");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_flow_logs_ids_and_outcomes_but_no_secret() {
    let logs = capture_logs();
    let app = spawn_app().await;
    app.configure(10).await;
    let invite = app.invite("Secret Keeper").await;
    app.redeem(Redeem::Entry, &invite.token, app.intercom(), &other_code(&invite.code)).await;
    app.redeem(Redeem::Entry, &invite.token, "ic-elsewhere", &invite.code).await;
    assert_eq!(app.enter(&invite).await.0, 202);
    assert_eq!(app.exit(&invite).await.0, 202);
    let bad =
        app.http.get(format!("{}/intercoms/{}/codes", app.api, app.intercom())).bearer_auth("not.a.jwt").send().await;
    assert_eq!(bad.unwrap().status().as_u16(), 401);

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains(&invite.id), "the flow was logged (by invite id)");
    // A guest's name is personal data too (infra/PERSONAL-DATA.md): never in a log.
    assert_no_secret(&text, &app, &[&invite], &[("guest name", "Secret Keeper")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_log_what_failed_but_no_secret() {
    let logs = capture_logs();
    let app = spawn_app_with(Options { faults: true, ..Options::default() }).await;
    app.configure(10).await;
    let key = "5c2e7a9b-0d4f-4e1a-b3c6-8f9d0e1a2b3c";

    let path = format!("{}/intercoms/{}/codes", app.api, app.intercom());
    let body = json!({ "name": "Failure Paths", "mobile": app.mobile }).to_string();
    let created = app.http.post(&path).bearer_auth(&app.owner).header("idempotency-key", key).body(body).send().await;
    let created: serde_json::Value = created.unwrap().json().await.unwrap();
    assert_eq!(created["sms"]["status"], "queued");
    let invite = crate::helpers::Invite::from(&created);
    // SNS refuses the SMS the SMS sender sends from the stream.
    let unlucky = spawn_app_with(Options { sms_down: true, ..Options::default() }).await;
    unlucky.configure(10).await;
    let lost = unlucky.invite("Lost Sms").await;
    unlucky.settle().await;

    // The gate refuses (nothing sent), then does not answer clearly (the command may
    // be in the shadow: the guest waits for the gate); a read fails outright.
    app.faults().always("IoT.UpdateThingShadow", Fault::Throttle);
    assert_eq!(app.enter(&invite).await.0, 503);
    app.faults().always("IoT.UpdateThingShadow", Fault::ServerErrorAfterEffect);
    assert_eq!(app.enter(&invite).await.0, 202);
    app.faults().always("DynamoDB.BatchGetItem", Fault::ServerError);
    assert_eq!(app.guest_status(&invite.token).await.0, 503);
    app.faults().always("DynamoDB.Query", Fault::Throttle);
    assert_eq!(app.list(&app.owner).await.0, 503);
    app.faults().heal();
    let (status, _) = app.create(&app.owner, json!({ "name": "x", "mobile": "082 555" })).await;
    assert_eq!(status, 400);

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    for logged in ["SMS not sent", "IoT Core refused the command", "door command unconfirmed", "request failed"] {
        assert!(text.contains(logged), "the failure was logged: {logged}");
    }
    assert_no_secret(&text, &app, &[&invite], &[("Idempotency-Key", key), ("guest name", "Failure Paths")]);
    assert_no_secret(&text, &unlucky, &[&lost], &[("guest name", "Lost Sms")]);
}
