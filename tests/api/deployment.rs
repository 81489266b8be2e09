//! `template.yaml` deploys what the code is: every function crate has its resource,
//! built by cargo-lambda under its own name, on the `provided.al2023` runtime, and its
//! role allows every AWS call its code makes — observed by driving each function
//! through its success and failure paths, not listed by hand.

use crate::contract::mentions;
use crate::helpers::{other_code, spawn_app_with, Options, Redeem, TestApp};
use fault_proxy::Fault;
use local_stack::repo_root;
use serde_json::json;
use serde_yaml::Value;
use std::collections::{BTreeMap, BTreeSet};

fn template() -> Value {
    serde_yaml::from_str(&std::fs::read_to_string(repo_root().join("template.yaml")).unwrap()).unwrap()
}

/// Function resources by the binary they run.
fn functions_by_binary(template: &Value) -> BTreeMap<String, Value> {
    template["Resources"]
        .as_mapping()
        .unwrap()
        .values()
        .filter(|r| r["Type"] == "AWS::Serverless::Function")
        .map(|r| (r["Metadata"]["BuildProperties"]["Binary"].as_str().unwrap_or_default().to_owned(), r.clone()))
        .collect()
}

fn function_manifest(dir: &std::path::Path) -> toml_like::Manifest {
    toml_like::parse(&std::fs::read_to_string(dir.join("Cargo.toml")).unwrap())
}

fn function_crates() -> BTreeSet<String> {
    std::fs::read_dir(repo_root().join("functions"))
        .unwrap()
        .map(|entry| function_manifest(&entry.unwrap().path()).package_name)
        .collect()
}

/// The few lines of the manifests these tests read, without a TOML parser.
mod toml_like {
    use std::collections::BTreeSet;

    pub struct Manifest {
        pub package_name: String,
        /// What it asks of the shared crate (`features = [...]` on `ota`).
        pub shared_features: BTreeSet<String>,
    }

    /// The `key = value` lines of one `[section]`, keys and raw values trimmed.
    pub fn section<'t>(text: &'t str, header: &'t str) -> impl Iterator<Item = (&'t str, &'t str)> {
        text.lines()
            .skip_while(move |line| line.trim() != header)
            .skip(1)
            .take_while(|line| !line.trim_start().starts_with('['))
            .filter_map(|line| line.split_once('=').map(|(key, value)| (key.trim(), value.trim())))
    }

    /// The strings of a one-line array such as `["sms", "dep:jiff"]`.
    pub fn strings(list: &str) -> impl Iterator<Item = &str> {
        let list = list.trim_start().strip_prefix('[').and_then(|rest| rest.split(']').next()).unwrap_or_default();
        list.split(',').map(|s| s.trim().trim_matches('"')).filter(|s| !s.is_empty())
    }

    pub fn parse(text: &str) -> Manifest {
        let name = section(text, "[package]")
            .find_map(|(key, value)| (key == "name").then(|| value.trim_matches('"').to_owned()))
            .expect("[package] name");
        let shared_features = text
            .lines()
            .find(|l| l.starts_with("ota = "))
            .and_then(|l| l.split_once("features = ").map(|(_, list)| strings(list).map(str::to_owned).collect()))
            .unwrap_or_default();
        Manifest { package_name: name, shared_features }
    }
}

#[test]
fn every_function_crate_is_deployed_by_its_own_resource_as_cargo_lambda_builds_it() {
    let template = template();
    let deployed = functions_by_binary(&template);
    let crates = function_crates();
    assert_eq!(deployed.keys().cloned().collect::<BTreeSet<_>>(), crates, "one resource per function crate");
    for (binary, resource) in &deployed {
        assert_eq!(resource["Metadata"]["BuildMethod"], "rust-cargolambda", "{binary}");
        assert_eq!(
            resource["Properties"]["CodeUri"].as_str(),
            Some(format!("functions/{binary}").as_str()),
            "{binary}: built in its own crate"
        );
    }
    let globals = &template["Globals"]["Function"];
    assert_eq!(globals["Handler"], "bootstrap", "cargo-lambda's binary name");
    assert_eq!(globals["Runtime"], "provided.al2023");
    assert_eq!(globals["Architectures"][0], "arm64");
}

/// The target `sam build` compiles for (`Architectures: arm64` on `provided.al2023`).
const DEPLOY_TARGET: &str = "aarch64-unknown-linux-gnu";

/// The features of the shared crate a binary is built with when cargo runs in `dir`,
/// as `sam build` runs `cargo lambda build --release --arm64 --bin <name>` in the
/// resource's CodeUri: from the workspace root, features unify across every member.
/// Resolved for the deploy target only and allowed to fetch what it lacks: `--target
/// all` needs the manifests of wasm- and Windows-only crates, which a build for this
/// machine never downloads, so with `--offline` it passed only on a warm cargo cache.
fn shared_features_built_from(dir: &std::path::Path) -> BTreeSet<String> {
    let out = std::process::Command::new(env!("CARGO"))
        .args(["tree", "-e", "features", "-i", "ota-shared", "--prefix", "none", "--target", DEPLOY_TARGET])
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "cargo tree: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| line.strip_prefix("ota-shared feature \"")?.split('"').next().map(str::to_owned))
        .filter(|feature| feature != "default")
        .collect()
}

/// `features` and every feature they enable in turn, as the shared crate's
/// `[features]` declares them (`sms` brings `local-time`).
fn with_implied_features(mut features: BTreeSet<String>) -> BTreeSet<String> {
    let manifest = std::fs::read_to_string(repo_root().join("shared/Cargo.toml")).unwrap();
    let declared: Vec<(&str, &str)> = toml_like::section(&manifest, "[features]").collect();
    let mut pending: Vec<String> = features.iter().cloned().collect();
    while let Some(feature) = pending.pop() {
        let Some((_, enables)) = declared.iter().find(|(name, _)| *name == feature) else { continue };
        for implied in toml_like::strings(enables).filter(|f| !f.starts_with("dep:")) {
            if features.insert(implied.to_owned()) {
                pending.push(implied.to_owned());
            }
        }
    }
    features
}

/// Each deployed binary holds only the AWS clients its role allows: built where SAM
/// builds it, the shared crate gets that function's features and no other's (a
/// get-settings built from the workspace root would carry SNS and IoT).
#[test]
fn each_function_is_built_by_sam_with_only_its_own_features() {
    for (binary, resource) in functions_by_binary(&template()) {
        let code_uri = resource["Properties"]["CodeUri"].as_str().unwrap().to_owned();
        let asked = function_manifest(&repo_root().join("functions").join(&binary)).shared_features;
        let expected = with_implied_features(asked);
        assert_eq!(shared_features_built_from(&repo_root().join(&code_uri)), expected, "{binary} built in {code_uri}");
    }
}

/// `cargo lambda build --release` (what `sam build` runs) fills in `strip`, `lto`,
/// `codegen-units` and `panic` when the release profile leaves them out; `panic` it
/// sets to "abort". The benchmark builds with plain cargo, so a key left to
/// cargo-lambda would make the measured binaries differ from the deployed ones.
#[test]
fn the_release_profile_leaves_cargo_lambda_nothing_to_choose() {
    let manifest = std::fs::read_to_string(repo_root().join("Cargo.toml")).unwrap();
    let release: BTreeSet<&str> = toml_like::section(&manifest, "[profile.release]").map(|(key, _)| key).collect();
    for key in ["strip", "lto", "codegen-units", "panic"] {
        assert!(release.contains(key), "[profile.release] sets {key}: {release:?}");
    }
}

/// A function must outlive every call it can make, or a timeout between a write and
/// the call after it leaves the work half done: the guest functions' worst case is
/// `handlers::redeem::MOST_STORE_CALLS` store calls and one door command.
#[test]
fn every_function_outlives_the_calls_it_can_make() {
    let template = template();
    let deployed = functions_by_binary(&template);
    let timeout = |binary: &str| {
        let own = &deployed[binary]["Properties"]["Timeout"];
        own.as_u64().or_else(|| template["Globals"]["Function"]["Timeout"].as_u64()).unwrap()
    };
    let call = ota::aws::OPERATION_TIMEOUT.as_secs_f64();
    let redeem = f64::from(ota::handlers::redeem::MOST_STORE_CALLS) * call + ota::gate::OPEN_TIMEOUT.as_secs_f64();
    let worst: &[(&str, f64)] = &[
        ("redeem-entry", redeem),
        ("redeem-exit", redeem),
        // the invite, the gates' presence, a lapsed command's give-back
        ("guest-status", 3.0 * call),
        // three rounds of read and write
        ("gate-events", 6.0 * call),
        // the app's functions: a read and a write at most
        ("get-settings", 2.0 * call),
        ("update-settings", 2.0 * call),
        // the partition read, the commit (the SMS is the sender's)
        ("create-invite", 2.0 * call),
        // per SMS request of a batch of 5: two reads, the claim, the SMS, up to six tries
        // of its record with 6.3 s of pauses between them, and its turn (the pace)
        ("sms-sender", 5.0 * (10.0 * call + 6.3 + 1.0)),
        // a batch of 100 changes: 4 BatchWriteItem and 10 PutEvents calls, with rounds
        ("outbox", 14.0 * call),
        // per report, its invite and one write: a few dozen at a time
        ("sms-status", 30.0 * 2.0 * call),
        ("list-activity", 2.0 * call),
        ("resend-sms", 2.0 * call),
        // the membership, the index, the codes' items, the log, then per code the
        // transaction, its activity's page and its write (template: a guest with many
        // codes may take more than one request)
        ("erase-guest", 7.0 * call),
        ("list-codes", 2.0 * call),
        ("revoke-code", 2.0 * call),
    ];
    for (binary, seconds) in worst {
        assert!(
            timeout(binary) as f64 > *seconds,
            "{binary}: Timeout {} s, its calls up to {seconds} s",
            timeout(binary)
        );
    }
    // CloudFront waits for each guest function's URL longer than the function may run
    // (30 s unless the origin says otherwise), so the guest gets the function's answer.
    for binary in ["guest-status", "redeem-entry", "redeem-exit"] {
        let function = template["Resources"]
            .as_mapping()
            .unwrap()
            .iter()
            .find(|(_, r)| r["Metadata"]["BuildProperties"]["Binary"] == binary)
            .map(|(id, _)| id.as_str().unwrap().to_owned())
            .unwrap();
        let origin = crate::contract::origin_of(&template, &function);
        let read_timeout = origin["CustomOriginConfig"]["OriginReadTimeout"].as_u64().unwrap_or(30);
        assert!(read_timeout > timeout(binary), "{binary}: CloudFront gives up after {read_timeout} s");
    }
}

/// The SMS queue's settings hold what the sender relies on: a live sender's claim is
/// never taken for a dead one's (the lease outlasts the function), the queue keeps a
/// message in flight for 6x the function's timeout (Lambda's SQS guide), and the local
/// stack's queue is made with the same visibility.
#[test]
fn the_sms_queue_and_the_senders_claim_outlast_the_sender() {
    let template = template();
    let sender = &functions_by_binary(&template)["sms-sender"]["Properties"];
    let timeout = sender["Timeout"].as_i64().unwrap();
    assert!(ota::store::invites::CLAIM_LEASE.whole_seconds() > timeout);
    let visibility = template["Resources"]["SmsQueue"]["Properties"]["VisibilityTimeout"].as_i64().unwrap();
    assert!(visibility >= 6 * timeout, "visibility {visibility} s, timeout {timeout} s");
    assert_eq!(visibility, i64::from(local_stack::sms_queue::VISIBILITY_TIMEOUT_SECONDS));
    let retention = template["Resources"]["SmsQueue"]["Properties"]["MessageRetentionPeriod"].as_i64().unwrap();
    let longest_code = i64::from(*ota::domain::settings::INVITE_DURATION_MINUTES_RANGE.end()) * 60;
    assert!(retention > longest_code, "a burst waits in the queue as long as any code lives");
}

/// What a statement's resource is, from its (possibly tagged) value.
fn resource_kind(resource: &Value) -> String {
    let text = format!("{resource:?}");
    if text.contains("/index/") {
        "index".into()
    } else if text.contains("Table") {
        "table".into()
    } else {
        "*".into()
    }
}

/// `service:Action@resource` for every statement of a function's inline policies.
fn allowed(resource: &Value) -> BTreeSet<String> {
    let mut allowed = BTreeSet::new();
    for policy in resource["Properties"]["Policies"].as_sequence().into_iter().flatten() {
        for statement in policy["Statement"].as_sequence().into_iter().flatten() {
            if statement["Effect"] != "Allow" {
                continue;
            }
            let kind = match (statement.get("Resource"), statement.get("NotResource")) {
                (Some(resource), _) => resource_kind(resource),
                _ => "*".into(),
            };
            for action in statement["Action"].as_sequence().into_iter().flatten() {
                allowed.insert(format!("{}@{kind}", action.as_str().unwrap()));
            }
        }
    }
    allowed
}

/// Runs `call` and returns the IAM permissions its AWS requests needed.
async fn needs<F: std::future::Future>(app: &TestApp, call: F) -> BTreeSet<String> {
    app.iam.take();
    call.await;
    app.iam.take().into_iter().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_aws_call_a_function_makes_is_allowed_by_its_role() {
    let app = spawn_app_with(Options { faults: true, ..Options::default() }).await;
    let intercom = app.intercom().to_owned();
    let mut observed: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    let mut record = |function, actions: BTreeSet<String>| observed.entry(function).or_default().extend(actions);

    record("update-settings", needs(&app, app.configure(10)).await);
    let settings = format!("/intercoms/{intercom}/settings");
    record("get-settings", needs(&app, app.call(reqwest::Method::GET, &settings, Some(&app.owner), None)).await);
    let invite = app.invite("Contract Guest").await;
    record("create-invite", needs(&app, app.create(&app.owner, json!({ "name": "SMS", "mobile": app.mobile }))).await);
    let resend = format!("/intercoms/{intercom}/codes/{}/sms", invite.id);
    record("resend-sms", needs(&app, app.call(reqwest::Method::POST, &resend, Some(&app.owner), None)).await);
    app.revoke(&app.owner, &invite.id).await;
    record("resend-sms", needs(&app, app.call(reqwest::Method::POST, &resend, Some(&app.owner), None)).await);
    let invite = app.invite("Contract Guest Again").await;
    app.front.outbox.set_receipt(&app.mobile, local_stack::outbox::Receipt::Failed);
    app.create(&app.owner, json!({ "name": "Failed SMS", "mobile": app.mobile })).await;
    record("list-activity", needs(&app, app.activity(&app.owner, "")).await);
    let history = format!("code={}", invite.id);
    record("list-activity", needs(&app, app.activity(&app.owner, &history)).await);
    record("list-codes", needs(&app, app.list(&app.owner)).await);
    record("guest-status", needs(&app, app.guest_status(&invite.token)).await);
    record("redeem-entry", needs(&app, app.redeem(Redeem::Entry, &invite.token, "ic-elsewhere", &invite.code)).await);
    record(
        "redeem-entry",
        needs(&app, app.redeem(Redeem::Entry, &invite.token, &intercom, &other_code(&invite.code))).await,
    );
    // The gate refuses: entry is given back.
    app.faults().always("IoT.UpdateThingShadow", Fault::Throttle);
    record("redeem-entry", needs(&app, app.enter(&invite)).await);
    app.faults().heal();
    record("redeem-entry", needs(&app, app.enter(&invite)).await);
    app.faults().always("IoT.UpdateThingShadow", Fault::Throttle);
    record("redeem-exit", needs(&app, app.exit(&invite)).await);
    app.faults().heal();
    record("redeem-exit", needs(&app, app.exit(&invite)).await);
    // What the gates' deliveries made gate-events do: reports on both commands, and a
    // gate going offline (a presence write).
    app.set_gate("gate-main", local_stack::gates::Mode::Offline).await;
    record("gate-events", app.gate_iam.take().into_iter().collect());
    let revoked = app.invite("Revoked").await;
    record("revoke-code", needs(&app, app.revoke(&app.owner, &revoked.id)).await);
    let erasures = format!("/intercoms/{intercom}/guest-erasures");
    let other_guest = json!({ "mobile": "+27825550199" });
    record(
        "erase-guest",
        needs(&app, app.call(reqwest::Method::POST, &erasures, Some(&app.owner), Some(other_guest.clone()))).await,
    );
    let (_, erased) = app.create(&app.owner, json!({ "name": "Erased", "mobile": "+27825550199" })).await;
    app.revoke(&app.owner, erased["id"].as_str().unwrap()).await;
    record(
        "erase-guest",
        needs(&app, app.call(reqwest::Method::POST, &erasures, Some(&app.owner), Some(other_guest))).await,
    );
    app.advance(time::Duration::hours(13));
    record("sweep", needs(&app, app.sweep()).await);
    app.settle().await;
    for (function, iam) in ["outbox", "sms-sender", "sms-status"].into_iter().zip(&app.consumer_iam) {
        record(function, iam.take().into_iter().collect());
    }

    let template = template();
    let deployed = functions_by_binary(&template);
    for (function, actions) in &observed {
        let allowed = allowed(&deployed[*function]);
        let missing: Vec<_> = actions.iter().filter(|a| !allowed.contains(*a)).collect();
        assert!(missing.is_empty(), "{function} calls {missing:?}, which its role does not allow ({allowed:?})");
    }
    let exercised: BTreeSet<&str> = observed.keys().copied().collect();
    let all: BTreeSet<&str> = deployed.keys().map(String::as_str).collect();
    assert_eq!(exercised, all, "every function was driven");
}

/// Every alarm notifies someone who can act, and none fires on a healthy new stack: its
/// actions are the alarm topic, whose
/// key lets CloudWatch publish (the AWS-managed SNS key cannot be granted to it), and
/// which has an e-mail subscription when `AlarmEmail` is given. No metric-math alarm
/// reads more than the ten metrics CloudWatch allows, and the errors and throttles
/// alarms read every function.
#[test]
fn every_alarm_reaches_someone() {
    let template = template();
    let resources = template["Resources"].as_mapping().unwrap();
    let topic = &template["Resources"]["AlarmTopic"]["Properties"];
    let key = resources
        .iter()
        .find(|(id, r)| r["Type"] == "AWS::KMS::Key" && mentions(&topic["KmsMasterKeyId"], id.as_str().unwrap()))
        .map(|(_, key)| key)
        .expect("the alarm topic is encrypted with a key of the stack's own");
    let statements = key["Properties"]["KeyPolicy"]["Statement"].as_sequence().unwrap();
    let cloudwatch = statements
        .iter()
        .find(|s| s["Effect"] == "Allow" && s["Principal"]["Service"] == "cloudwatch.amazonaws.com")
        .expect("the key lets CloudWatch publish");
    let actions: BTreeSet<&str> =
        cloudwatch["Action"].as_sequence().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(actions.contains("kms:Decrypt") && actions.contains("kms:GenerateDataKey*"), "{actions:?}");
    let subscription = resources
        .values()
        .find(|r| r["Type"] == "AWS::SNS::Subscription" && mentions(&r["Properties"]["TopicArn"], "AlarmTopic"))
        .expect("an e-mail subscription");
    assert_eq!(subscription["Condition"], "HasAlarmEmail");

    let functions: BTreeSet<String> = resources
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::Serverless::Function")
        .map(|(id, _)| id.as_str().unwrap().to_owned())
        .collect();
    let mut watched: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for (id, alarm) in resources.iter().filter(|(_, r)| r["Type"] == "AWS::CloudWatch::Alarm") {
        let id = id.as_str().unwrap();
        let properties = &alarm["Properties"];
        let actions = properties["AlarmActions"].as_sequence().unwrap_or_else(|| panic!("{id} has no action"));
        assert!(!actions.is_empty() && actions.iter().all(|a| mentions(a, "AlarmTopic")), "{id}: {actions:?}");
        // A new stack has no data yet: an alarm that took that as breaching fired on deploy.
        assert_ne!(properties["TreatMissingData"], "breaching", "{id} fires on a healthy new stack");
        let metrics = properties["Metrics"]
            .as_sequence()
            .map_or(0, |m| m.iter().filter(|q| q.get("MetricStat").is_some()).count());
        assert!(metrics <= 10, "{id} reads {metrics} metrics; CloudWatch takes ten");
        for kind in ["Errors", "Throttles"] {
            if id.ends_with(&format!("Function{kind}Alarm")) {
                watched
                    .entry(kind)
                    .or_default()
                    .extend(functions.iter().filter(|function| mentions(&properties["Metrics"], function)).cloned());
            }
        }
    }
    for kind in ["Errors", "Throttles"] {
        let missing: Vec<_> = functions.iter().filter(|f| !watched[kind].contains(*f)).collect();
        assert!(missing.is_empty(), "no alarm reads the {kind} of {missing:?}");
    }
}

/// Each function's environment holds only the keys it uses, each from its own secret
/// (issue 34: "keys that each do one thing"): the guest functions can tag-check a
/// link and unseal nothing; only create-invite and the SMS sender seal or unseal;
/// only the lists sign cursors. The guest functions hold the seal key only in the
/// upgrade's branch (`LinksTaggedBySealKeyMayBeLive`, README, Deploying, step 9).
#[test]
fn each_function_holds_only_the_keys_it_uses() {
    let template = template();
    let keys_of = |function: &Value| -> BTreeMap<String, String> {
        let variables = function["Properties"]["Environment"]["Variables"].as_mapping().cloned().unwrap_or_default();
        variables
            .into_iter()
            .filter_map(|(name, value)| {
                let name = name.as_str()?.to_owned();
                name.ends_with("_KEYS").then(|| (name, serde_yaml::to_string(&value).unwrap()))
            })
            .collect()
    };
    let globals = template["Globals"]["Function"]["Environment"]["Variables"].as_mapping().cloned().unwrap_or_default();
    assert!(globals.keys().all(|name| !name.as_str().unwrap_or_default().ends_with("_KEYS")), "no key for everyone");
    let expected: BTreeMap<&str, &[&str]> = BTreeMap::from([
        ("create-invite", &["OTA_GUEST_KEYS", "OTA_LINK_KEYS", "OTA_SEAL_KEYS"][..]),
        ("erase-guest", &["OTA_GUEST_KEYS"][..]),
        ("guest-status", &["OTA_GATE_NUMBER_KEYS", "OTA_LINK_KEYS"][..]),
        ("redeem-entry", &["OTA_GATE_NUMBER_KEYS", "OTA_LINK_KEYS"][..]),
        ("redeem-exit", &["OTA_GATE_NUMBER_KEYS", "OTA_LINK_KEYS"][..]),
        ("sms-sender", &["OTA_SEAL_KEYS"][..]),
        ("list-codes", &["OTA_CURSOR_KEYS"][..]),
        ("list-activity", &["OTA_CURSOR_KEYS"][..]),
    ]);
    for (binary, function) in functions_by_binary(&template) {
        let keys = keys_of(&function);
        let names: Vec<&str> = keys.keys().map(String::as_str).collect();
        assert_eq!(names, expected.get(binary.as_str()).copied().unwrap_or_default(), "{binary}");
        for (name, value) in &keys {
            let secrets: BTreeSet<&str> =
                ["SealKeySecret", "LinkKeySecret", "CursorKeySecret", "GateNumberKeySecret", "GuestKeySecret"]
                    .into_iter()
                    .filter(|secret| value.contains(&format!("${{{secret}}}")))
                    .collect();
            let own = match name.as_str() {
                "OTA_SEAL_KEYS" => "SealKeySecret",
                "OTA_LINK_KEYS" => "LinkKeySecret",
                "OTA_GATE_NUMBER_KEYS" => "GateNumberKeySecret",
                "OTA_GUEST_KEYS" => "GuestKeySecret",
                _ => "CursorKeySecret",
            };
            assert!(secrets.contains(own), "{binary} {name}: {value}");
            if name == "OTA_LINK_KEYS" {
                // Only the upgrade's branch names the seal key.
                let branches = function["Properties"]["Environment"]["Variables"][name.as_str()].clone();
                let text = serde_yaml::to_string(&branches).unwrap();
                let (upgrade, after) = text.split_once("- !If").unwrap_or((&text, ""));
                assert!(upgrade.contains("LinksTaggedBySealKeyMayBeLive"), "{binary}: {text}");
                assert!(!after.contains("SealKeySecret"), "{binary}: the seal key outside the upgrade: {text}");
            } else {
                assert_eq!(secrets.len(), 1, "{binary} {name} holds another purpose's key: {value}");
            }
        }
    }
}

/// Nothing a stream, a queue or a log subscription hands a function is lost for good
/// when the function fails: a stream's event source has an on-failure destination, and
/// a function invoked asynchronously (CloudWatch Logs subscriptions, IoT rules, the
/// schedule) has one in its invoke configuration, or retries nothing by design (the
/// sweep: the next run takes what is left).
#[test]
fn every_stream_and_log_fed_function_has_a_dead_letter_destination() {
    let template = template();
    let standalone: BTreeSet<String> = template["Resources"]
        .as_mapping()
        .unwrap()
        .values()
        .filter(|r| {
            r["Type"] == "AWS::Lambda::EventInvokeConfig"
                && !r["Properties"]["DestinationConfig"]["OnFailure"].is_null()
        })
        .filter_map(|r| r["Properties"]["FunctionName"]["Ref"].as_str().map(str::to_owned))
        .collect();
    let resources = template["Resources"].as_mapping().unwrap();
    for (name, function) in resources.iter().filter(|(_, r)| r["Type"] == "AWS::Serverless::Function") {
        let name = name.as_str().unwrap();
        let events = function["Properties"]["Events"].as_mapping().cloned().unwrap_or_default();
        for (event, source) in events {
            let kind = source["Type"].as_str().unwrap_or_default();
            let has = match kind {
                "DynamoDB" => !source["Properties"]["DestinationConfig"]["OnFailure"].is_null(),
                "CloudWatchLogs" => {
                    !function["Properties"]["EventInvokeConfig"]["DestinationConfig"]["OnFailure"].is_null()
                        || standalone.contains(name)
                }
                _ => true,
            };
            assert!(has, "{name}'s {kind} event {event:?} loses what it carried when the function fails");
        }
    }
}
