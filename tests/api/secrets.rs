//! No secret (link token, code, JWT, full phone number) ever reaches a log line.

use crate::helpers::{other_code, spawn_app, Redeem};
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_logs() -> Captured {
    static LOGS: OnceLock<Captured> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Captured::default();
        let writer = logs.clone();
        tracing_subscriber::fmt()
            .json()
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(move || writer.clone())
            .init();
        logs
    })
    .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_flow_logs_ids_and_outcomes_but_no_secret() {
    let logs = capture_logs();
    let app = spawn_app().await;
    app.configure(10).await;
    let invite = app.invite("Secret Keeper").await;
    app.redeem(Redeem::Entry, &invite.token, app.intercom(), &other_code(&invite.code)).await;
    app.redeem(Redeem::Entry, &invite.token, "ic-elsewhere", &invite.code).await;
    assert_eq!(app.enter(&invite).await.0, 200);
    assert_eq!(app.exit(&invite).await.0, 200);
    let bad =
        app.http.get(format!("{}/intercoms/{}/codes", app.api, app.intercom())).bearer_auth("not.a.jwt").send().await;
    assert_eq!(bad.unwrap().status().as_u16(), 401);

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    assert!(text.contains(&invite.id), "the flow was logged (by invite id)");
    let secret = invite.token.split_once('.').unwrap().1;
    for (what, needle) in [
        ("token", invite.token.as_str()),
        ("token secret", secret),
        ("JWT", app.owner.as_str()),
        ("mobile", app.mobile.as_str()),
    ] {
        assert!(!text.contains(needle), "{what} leaked into the logs");
    }
    let words: Vec<&str> = text.split(|c: char| !c.is_ascii_alphanumeric()).collect();
    assert!(!words.contains(&invite.code.as_str()), "the code leaked into the logs");
}
