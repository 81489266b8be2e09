//! The sample events in `events/` are what `cargo lambda invoke --data-file` sends;
//! they must parse as the functions will parse them and name what the handlers need.

use lambda_http::RequestExt;
use local_stack::repo_root;

fn event(name: &str) -> lambda_http::Request {
    let text = std::fs::read_to_string(repo_root().join("events").join(name)).unwrap();
    lambda_http::request::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn app_route_events_carry_the_verified_user_and_the_path_parameters() {
    for (name, sub, params) in [
        ("get-settings.json", "user-shared", vec!["intercomId"]),
        ("update-settings.json", "user-owner", vec!["intercomId"]),
        ("create-invite.json", "user-owner", vec!["intercomId"]),
        ("create-invite-shared-for-later.json", "user-owner", vec!["intercomId"]),
        ("list-codes.json", "user-owner", vec!["intercomId"]),
        ("revoke-code.json", "user-owner", vec!["intercomId", "codeId"]),
        ("list-activity.json", "user-owner", vec!["intercomId"]),
        ("resend-sms.json", "user-owner", vec!["intercomId", "codeId"]),
        ("erase-guest.json", "user-owner", vec!["intercomId"]),
    ] {
        let request = event(name);
        assert_eq!(ota::http::caller(&request).unwrap().as_str(), sub, "{name}");
        for param in params {
            assert!(request.path_parameters().first(param).is_some(), "{name}: {param}");
        }
    }
}

const BENCH_LINK_KEYS: &str = "bench:0123456789abcdef0123456789abcdef";

#[test]
fn guest_events_are_public_and_carry_a_well_formed_body() {
    for name in ["guest-status.json", "redeem-entry.json", "redeem-exit.json"] {
        let request = event(name);
        assert!(ota::http::caller(&request).is_err(), "{name} has no user");
        let body: serde_json::Value = ota::http::json_body(&request).unwrap();
        let token = ota::domain::token::LinkToken::parse(body["token"].as_str().unwrap()).unwrap();
        // Tagged by the benchmark's link key (infra/bench, `LINK_KEYS`), which measures these events.
        let bench_keys = ota::domain::token::LinkKeys::parse(BENCH_LINK_KEYS).unwrap();
        assert!(token.is_genuine(Some(&bench_keys)), "{name}");
        // As CloudFront sends them to a function URL: with the hash of the body it signed.
        let hash = request.headers()["x-amz-content-sha256"].to_str().unwrap().to_owned();
        assert_eq!(hash, local_stack::front::content_sha256(request.body().as_ref()), "{name}");
        if name != "guest-status.json" {
            assert!(ota::domain::code::AccessCode::parse(body["code"].as_str().unwrap()).is_some(), "{name}");
            let number = body["gate_number"].as_str().unwrap();
            assert_eq!(number, local_stack::seed::DEMO_GATE_NUMBER, "{name}: the demo intercom's gate number");
        }
    }
}

/// EventBridge Scheduler sends a Lambda target its `Input` as the event, verbatim.
#[test]
fn the_sweep_event_is_what_its_schedule_sends() {
    let text = std::fs::read_to_string(repo_root().join("events/sweep.json")).unwrap();
    let sample: serde_json::Value = serde_json::from_str(&text).unwrap();
    let template: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(repo_root().join("template.yaml")).unwrap()).unwrap();
    let input = template["Resources"]["SweepFunction"]["Properties"]["Events"]["EveryMinute"]["Properties"]["Input"]
        .as_str()
        .unwrap();
    assert_eq!(sample, serde_json::from_str::<serde_json::Value>(input).unwrap());
}

/// gate-events gets what its two topic rules deliver: the report rule's projection of
/// a shadow update, and a lifecycle event whole, in the shapes the simulated gates
/// (which stand in for IoT Core locally) produce too.
#[test]
fn the_gate_events_samples_are_what_the_rules_deliver() {
    use ota::domain::command::GateEvent;
    let read = |name: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(repo_root().join("events").join(name)).unwrap()).unwrap()
    };
    let report = read("gate-events-report.json");
    assert!(matches!(GateEvent::parse(&report), Ok(GateEvent::Report(_))));
    let at = time::OffsetDateTime::from_unix_timestamp(1_796_162_458).unwrap();
    let simulated = local_stack::gates::report_event("demo-gate-main", &report["result"], at);
    let keys = |v: &serde_json::Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&simulated), keys(&report));
    let presence = read("gate-events-disconnected.json");
    let Ok(GateEvent::Presence { event, session, .. }) = GateEvent::parse(&presence) else { panic!("{presence}") };
    assert_eq!((event.connected, event.version, session.is_some()), (false, 2, true));
    let simulated = local_stack::gates::lifecycle_event("demo-gate-main", false, 2, "s", at);
    assert_eq!(keys(&simulated), keys(&presence));
    let connected = read("gate-events-connected.json");
    let Ok(GateEvent::Presence { event: connect, .. }) = GateEvent::parse(&connected) else { panic!("{connected}") };
    assert_eq!((connect.connected, connect.version), (true, 2), "a connection's two events share its version");
    assert_eq!(connected["sessionIdentifier"], presence["sessionIdentifier"]);
    let simulated = local_stack::gates::lifecycle_event("demo-gate-main", true, 2, "s", at);
    assert_eq!(keys(&simulated), keys(&connected));
}

/// The stream consumer's sample is records as Lambda delivers them (taken from the
/// local stack's stream): a new invite, which the outbox makes a fact of, and its SMS
/// item, which it puts on the SMS queue; the SMS sender's is that request as Lambda
/// delivers an SQS batch; sms-status's is a CloudWatch Logs subscription's delivery
/// of one failure report.
#[test]
fn the_stream_and_delivery_report_samples_are_what_their_functions_read() {
    let read = |name: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(repo_root().join("events").join(name)).unwrap()).unwrap()
    };
    let facts = ota::handlers::outbox::facts_of(&read("outbox.json"));
    assert_eq!(facts.iter().map(|f| f.kind.as_str()).collect::<Vec<_>>(), ["code_created"]);
    let requests = ota::handlers::outbox::sms_requests_of(&read("outbox.json"));
    let queued: ota::sms_queue::SmsRequest =
        serde_json::from_str(read("sms-sender.json")["Records"][0]["body"].as_str().unwrap()).unwrap();
    assert_eq!(requests, [queued], "the first SMS of the new invite, as the sender receives it");
    let reports = ota::handlers::sms_status::reports_of(&read("sms-status.json")).unwrap();
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].failure, Some("unreachable"));
}
