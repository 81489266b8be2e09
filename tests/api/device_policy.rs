//! The gates' IoT policy (`GatePolicy` in the template), evaluated offline as AWS IoT
//! Core evaluates it for a connected device: policy variables resolved from the
//! certificate's attached thing ("iot:Connection.Thing.ThingName ... resolves to the
//! name of the thing in the AWS IoT Core registry for which the policy is being
//! evaluated"; a certificate attached to no thing resolves none of them and fails
//! `iot:Connection.Thing.IsAttached`), `*` and `?` as wildcards in resources, and
//! nothing allowed that no statement allows. One gate's certificate may touch only
//! its own `ota` shadow topics; the same check refuses a loosened policy.

use local_stack::repo_root;
use serde_yaml::Value;

const ARN: &str = "arn:aws:iot:eu-west-1:123456789012";

/// The policy document's statements, with `!Sub`'s pseudo parameters resolved
/// (`${!x}` is Sub's escape for a literal `${x}`, the policy variable).
fn statements() -> Vec<Value> {
    let template: Value =
        serde_yaml::from_str(&std::fs::read_to_string(repo_root().join("template.yaml")).unwrap()).unwrap();
    let document = &template["Resources"]["GatePolicy"]["Properties"]["PolicyDocument"];
    assert!(document.is_mapping(), "the template has a GatePolicy");
    let mut statements = document["Statement"].as_sequence().unwrap().clone();
    for statement in &mut statements {
        let resources = match &statement["Resource"] {
            Value::Sequence(items) => items.clone(),
            single => vec![single.clone()],
        };
        let resolved: Vec<Value> = resources.iter().map(|r| Value::String(substituted(r))).collect();
        statement["Resource"] = Value::Sequence(resolved);
    }
    statements
}

fn substituted(resource: &Value) -> String {
    let text = match resource {
        Value::Tagged(tagged) => tagged.value.as_str().unwrap().to_owned(),
        Value::String(s) => s.clone(),
        other => panic!("resource {other:?}"),
    };
    text.replace("${AWS::Partition}", "aws")
        .replace("${AWS::Region}", "eu-west-1")
        .replace("${AWS::AccountId}", "123456789012")
        .replace("${!", "${")
}

/// AWS's resource matching: `*` any run of characters, `?` any one.
fn matches(pattern: &[u8], text: &[u8]) -> bool {
    match (pattern.first(), text.first()) {
        (None, None) => true,
        (Some(b'*'), _) => matches(&pattern[1..], text) || (!text.is_empty() && matches(pattern, &text[1..])),
        (Some(b'?'), Some(_)) => matches(&pattern[1..], &text[1..]),
        (Some(p), Some(t)) if p == t => matches(&pattern[1..], &text[1..]),
        _ => false,
    }
}

/// Whether a device whose certificate is attached to `thing` (or to none) may do
/// `action` on `resource`.
fn allowed(statements: &[Value], thing: Option<&str>, action: &str, resource: &str) -> bool {
    statements.iter().any(|statement| {
        let actions = match &statement["Action"] {
            Value::Sequence(items) => items.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
            single => vec![single.as_str().unwrap().to_owned()],
        };
        let attached_required =
            statement["Condition"]["Bool"]["iot:Connection.Thing.IsAttached"].as_str() == Some("true");
        statement["Effect"] == "Allow"
            && actions.iter().any(|a| a == action || a == "iot:*" || a == "*")
            && (!attached_required || thing.is_some())
            && statement["Resource"].as_sequence().unwrap().iter().any(|pattern| {
                let pattern = pattern.as_str().unwrap();
                let pattern = match thing {
                    Some(thing) => pattern.replace("${iot:Connection.Thing.ThingName}", thing),
                    // An unresolved variable matches nothing.
                    None if pattern.contains("${iot:Connection.Thing") => return false,
                    None => pattern.to_owned(),
                };
                matches(pattern.as_bytes(), resource.as_bytes())
            })
    })
}

/// What gate `a`'s certificate must and must not be able to do; the breaches found.
fn breaches(statements: &[Value]) -> Vec<String> {
    let (a, b) = ("fluss-gate-a", "fluss-gate-b");
    let own = |rest: &str| format!("{ARN}:topic/$aws/things/{a}/shadow/name/ota/{rest}");
    let must = [
        ("iot:Connect", format!("{ARN}:client/{a}")),
        ("iot:Publish", own("update")),
        ("iot:Publish", own("get")),
        ("iot:Subscribe", format!("{ARN}:topicfilter/$aws/things/{a}/shadow/name/ota/update/delta")),
        ("iot:Receive", own("update/delta")),
        ("iot:Receive", own("get/accepted")),
    ];
    let must_not = [
        ("iot:Connect", format!("{ARN}:client/{b}")),
        ("iot:Publish", format!("{ARN}:topic/$aws/things/{b}/shadow/name/ota/update")),
        ("iot:Publish", format!("{ARN}:topic/$aws/things/{a}/shadow/update")),
        ("iot:Publish", format!("{ARN}:topic/$aws/things/{a}/shadow/name/other/update")),
        ("iot:Publish", own("update/accepted")),
        ("iot:Subscribe", format!("{ARN}:topicfilter/$aws/things/{b}/shadow/name/ota/update/delta")),
        ("iot:Subscribe", format!("{ARN}:topicfilter/$aws/things/+/shadow/name/ota/update/delta")),
        ("iot:Subscribe", format!("{ARN}:topicfilter/$aws/events/presence/#")),
        ("iot:Receive", format!("{ARN}:topic/$aws/things/{b}/shadow/name/ota/update/delta")),
        ("iot:Receive", format!("{ARN}:topic/$aws/events/presence/connected/{b}")),
    ];
    let mut found = Vec::new();
    for (action, resource) in &must {
        if !allowed(statements, Some(a), action, resource) {
            found.push(format!("{a} cannot {action} {resource}"));
        }
        if allowed(statements, None, action, resource) {
            found.push(format!("a certificate attached to no thing may {action} {resource}"));
        }
    }
    for (action, resource) in &must_not {
        if allowed(statements, Some(a), action, resource) {
            found.push(format!("{a} may {action} {resource}"));
        }
    }
    found
}

#[test]
fn one_gate_s_certificate_touches_only_its_own_ota_shadow() {
    assert_eq!(breaches(&statements()), Vec::<String>::new());
}

#[test]
fn the_check_refuses_a_policy_loosened_to_every_topic_or_any_client() {
    let mut every_topic = statements();
    every_topic[1]["Resource"] = Value::Sequence(vec![Value::String(format!("{ARN}:topic/*"))]);
    assert!(breaches(&every_topic).iter().any(|b| b.contains("fluss-gate-b")), "{:?}", breaches(&every_topic));
    let mut any_client = statements();
    any_client[0]["Resource"] = Value::Sequence(vec![Value::String(format!("{ARN}:client/*"))]);
    assert!(!breaches(&any_client).is_empty());
    let mut unattached = statements();
    unattached[0]["Condition"] = Value::Null;
    unattached[0]["Resource"] = Value::Sequence(vec![Value::String(format!("{ARN}:client/*"))]);
    assert!(breaches(&unattached).iter().any(|b| b.contains("attached to no thing")));
}
