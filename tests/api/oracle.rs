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
    // Erased: its items hold no guest and no reader takes them for a code any more.
    let (status, created) = app.create(&app.owner, json!({ "name": "Erased Guest", "mobile": "+27825550155" })).await;
    assert_eq!(status, 201, "{created}");
    let erased = crate::helpers::Invite::from(&created);
    assert_eq!(app.revoke(&app.owner, &erased.id).await.0, 204);
    let path = format!("/intercoms/{}/guest-erasures", app.intercom());
    let body = json!({ "mobile": "+27825550155" });
    let (status, answer) = app.call(reqwest::Method::POST, &path, Some(&app.owner), Some(body)).await;
    assert_eq!(status, 200, "{answer}");
    let with_right = press(&app, "/guest/entry", &erased, &right).await;
    assert_eq!(press(&app, "/guest/entry", &erased, wrong).await, with_right, "erased");

    app.advance(time::Duration::hours(13));
    let with_right = press(&app, "/guest/entry", &expiring, &right).await;
    assert_eq!(with_right.1.as_deref(), Some("expired"));
    assert_eq!(press(&app, "/guest/entry", &expiring, wrong).await, with_right, "expired");

    // Purged: TTL deleted its items, 14 days after its exit window closed.
    let client = aws_sdk_dynamodb::Client::new(&local_stack::aws::sdk_config(app.emulator).await);
    let id = ota::domain::ids::InviteId::parse(&expiring.id).unwrap();
    for sk in [ota::keys::invite_sk(&id), ota::keys::sms_sk(&id)] {
        let pk = aws_sdk_dynamodb::types::AttributeValue::S(ota::keys::intercom_pk(&app.site.intercom));
        let sk = aws_sdk_dynamodb::types::AttributeValue::S(sk);
        let table = &app.front.deps.config.table_name;
        client.delete_item().table_name(table).key(ota::keys::PK, pk).key(ota::keys::SK, sk).send().await.unwrap();
    }
    app.advance(time::Duration::days(15));
    let with_right = press(&app, "/guest/entry", &expiring, &right).await;
    assert_eq!(with_right.1.as_deref(), Some("expired"), "purged: its id says its window is over");
    assert_eq!(press(&app, "/guest/entry", &expiring, wrong).await, with_right, "purged");
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

/// What CloudWatch Contributor Insights makes of log lines under a rule of the
/// `CloudWatchLogRule` schema, as far as ours uses it: the lines whose `Filters`
/// paths hold one of the `In` values, counted by the value at the `Keys` path.
fn contributions(rule: &Value, lines: &[Value]) -> std::collections::BTreeMap<String, usize> {
    let at = |line: &Value, path: &str| line.pointer(&path.trim_start_matches('$').replace('.', "/")).cloned();
    let filters = rule["Contribution"]["Filters"].as_array().unwrap();
    let key = rule["Contribution"]["Keys"][0].as_str().unwrap();
    let mut counts = std::collections::BTreeMap::new();
    for line in lines {
        let kept = filters.iter().all(|filter| {
            let value = at(line, filter["Match"].as_str().unwrap());
            value.is_some_and(|value| filter["In"].as_array().unwrap().contains(&value))
        });
        if let (true, Some(Value::String(contributor))) = (kept, at(line, key)) {
            *counts.entry(contributor).or_default() += 1;
        }
    }
    counts
}

/// The alarm's own arithmetic, from the template: a live link's wrong numbers at one
/// intercom, 30 in the period, make that intercom the rule's top contributor at the
/// alarm's threshold (the rule read as Contributor Insights reads JSON log lines).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_numbers_at_the_alarms_threshold_raise_the_metric_it_reads() {
    let logs = crate::secrets::capture_logs();
    let template: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(local_stack::repo_root().join("template.yaml")).unwrap())
            .unwrap();
    let untagged = |value: &serde_yaml::Value| match value {
        serde_yaml::Value::Tagged(tagged) => tagged.value.clone(),
        other => other.clone(),
    };
    let resources = &template["Resources"];
    let body = untagged(&resources["WrongGateNumbersRule"]["Properties"]["RuleBody"]);
    let rule: Value = serde_json::from_str(body[0].as_str().unwrap()).unwrap();
    assert_eq!(rule["LogFormat"], "JSON");
    let alarm = &resources["WrongGateNumbersAlarm"]["Properties"];
    let threshold = alarm["Threshold"].as_u64().unwrap() as usize;
    let expression = untagged(&alarm["Metrics"][0]["Expression"]);
    assert!(expression.as_str().unwrap().contains("MaxContributorValue"), "{expression:?}");
    assert_eq!(alarm["ComparisonOperator"].as_str(), Some("GreaterThanOrEqualToThreshold"));

    let app = spawn_app().await;
    app.configure(5).await;
    let invite = app.invite("Live Guest").await;
    let counted = |text: String| {
        let lines: Vec<Value> = text.lines().filter_map(|line| serde_json::from_str(line).ok()).collect();
        contributions(&rule, &lines).get(app.intercom()).copied().unwrap_or(0)
    };
    let before = logs.text().len();
    for _ in 0..threshold - 1 {
        assert_eq!(press(&app, "/guest/entry", &invite, wrong_number(&app)).await.1.as_deref(), Some("scan_at_gate"));
    }
    assert_eq!(counted(logs.text()[before..].to_owned()), threshold - 1, "one short: no alarm");
    press(&app, "/guest/exit", &invite, wrong_number(&app)).await;
    assert!(counted(logs.text()[before..].to_owned()) >= threshold, "at the threshold: the alarm fires");
    assert_eq!(press(&app, "/guest/entry", &invite, app.gate_number()).await.0, 202, "the guest still gets in");
}
