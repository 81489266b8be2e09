//! A stub AWS endpoint on loopback: DynamoDB (JSON 1.0), SNS (query protocol) and
//! the IoT data plane (REST JSON), answering each operation with what makes the
//! functions take their success path for the sample events in `events/`. It
//! counts every request by operation, so the benchmark can report AWS requests
//! per invocation. Answers are canned and fast: what is measured is the function.

use base64::Engine;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::net::TcpListener;

/// The sample events' invite (see `events/redeem-entry.json`).
pub const TOKEN: &str = "ic-demo.BSNNREM1Eyk.zLxd4S92rT_vRIDcoTv0Mw";
const INVITE_ID: &str = "BSNNREM1Eyk";
const CODE: &str = "4346";
/// The gate number in `events/redeem-*.json` (`local_stack::seed::DEMO_GATE_NUMBER`).
const DEMO_GATE_NUMBER: &str = "48210937";
/// The invite and attempt of `events/gate-events-report.json`: an entry whose
/// command the gate is reporting on (sent two seconds ago, not yet confirmed).
const OPENING_INVITE_ID: &str = "BrD-bJBK1hc";
const OPENING_ATTEMPT: &str = "eFyQOnXhbykA";
/// Facts on the page the activity read answers with (what a phone asks for at once).
pub const ACTIVITY_PAGE: usize = 20;

/// What the functions asked since the last `take`: requests by `service:Operation`,
/// and the DynamoDB capacity those requests would consume (read and write request
/// units, from the sizes of the items involved, by DynamoDB's rounding rules).
#[derive(Debug, Default, Clone)]
pub struct Tally {
    pub requests: BTreeMap<String, usize>,
    pub read_units: f64,
    pub write_units: f64,
}

#[derive(Default)]
pub struct Counts(Mutex<Tally>);

impl Counts {
    pub fn take(&self) -> Tally {
        self.0.lock().map(|mut tally| std::mem::take(&mut *tally)).unwrap_or_default()
    }

    fn add(&self, operation: String, read_units: f64, write_units: f64) {
        if let Ok(mut tally) = self.0.lock() {
            *tally.requests.entry(operation).or_default() += 1;
            tally.read_units += read_units;
            tally.write_units += write_units;
        }
    }
}

/// DynamoDB's item size: attribute names plus values (numbers about half their digits).
fn item_size(item: &Value) -> usize {
    item.as_object()
        .map(|attributes| attributes.iter().map(|(name, value)| name.len() + value_size(value)).sum())
        .unwrap_or(0)
}

fn value_size(value: &Value) -> usize {
    let Some((kind, inner)) = value.as_object().and_then(|o| o.iter().next()) else { return 0 };
    match kind.as_str() {
        "S" => inner.as_str().map_or(0, str::len),
        "N" => inner.as_str().map_or(0, |n| n.len().div_ceil(2) + 1),
        "BOOL" | "NULL" => 1,
        "SS" | "NS" => inner.as_array().map_or(0, |items| items.iter().map(|i| i.as_str().map_or(0, str::len)).sum()),
        "M" => 3 + inner.as_object().map_or(0, |m| m.iter().map(|(k, v)| k.len() + 1 + value_size(v)).sum::<usize>()),
        "L" => 3 + inner.as_array().map_or(0, |l| l.iter().map(|v| 1 + value_size(v)).sum::<usize>()),
        _ => 0,
    }
}

fn read_units(bytes: usize, consistent: bool) -> f64 {
    let units = bytes.max(1).div_ceil(4096) as f64;
    if consistent {
        units
    } else {
        units / 2.0
    }
}

fn write_units(bytes: usize) -> f64 {
    bytes.max(1).div_ceil(1024) as f64
}

/// The capacity one DynamoDB request consumes, given what the stub answers.
fn units(operation: &str, request: &Value, response: &Value) -> (f64, f64) {
    let consistent = request["ConsistentRead"] == true;
    let target = |r: &Value| {
        let (pk, sk) = key_of(r);
        item_size(&item_at(&pk, &sk, Redeemed::Exit))
    };
    match operation {
        "GetItem" => (read_units(item_size(&response["Item"]), consistent), 0.0),
        "Query" => {
            let bytes = response["Items"].as_array().map_or(0, |items| items.iter().map(item_size).sum());
            (read_units(bytes, consistent), 0.0)
        }
        "TransactGetItems" => {
            let items = response["Responses"]
                .as_array()
                .map_or(0.0, |r| r.iter().map(|i| 2.0 * read_units(item_size(&i["Item"]), true)).sum());
            (items, 0.0)
        }
        // A key with no item still costs the minimum read.
        "BatchGetItem" => {
            let mut units = 0.0;
            for (table, wanted) in request["RequestItems"].as_object().into_iter().flatten() {
                let consistent = wanted["ConsistentRead"] == true;
                let found = response["Responses"][table].as_array().cloned().unwrap_or_default();
                let keys = wanted["Keys"].as_array().map_or(0, Vec::len);
                units += found.iter().map(|item| read_units(item_size(item), consistent)).sum::<f64>();
                units += keys.saturating_sub(found.len()) as f64 * read_units(0, consistent);
            }
            (units, 0.0)
        }
        "UpdateItem" | "DeleteItem" => (0.0, write_units(target(request))),
        "PutItem" => (0.0, write_units(item_size(&request["Item"]))),
        "BatchWriteItem" => {
            let puts = request["RequestItems"].as_object().into_iter().flat_map(|tables| tables.values());
            let units = puts
                .flat_map(|writes| writes.as_array().cloned().unwrap_or_default())
                .map(|write| write_units(item_size(&write["PutRequest"]["Item"])))
                .sum();
            (0.0, units)
        }
        "TransactWriteItems" => {
            let units = request["TransactItems"].as_array().map_or(0.0, |items| {
                items
                    .iter()
                    .map(|item| match item.get("Put") {
                        Some(put) => 2.0 * write_units(item_size(&put["Item"])),
                        None => {
                            let op = item.as_object().and_then(|o| o.values().next()).cloned().unwrap_or_default();
                            2.0 * write_units(target(&op))
                        }
                    })
                    .sum()
            });
            (0.0, units)
        }
        _ => (0.0, 0.0),
    }
}

pub struct Stub {
    pub endpoint: String,
    pub counts: Arc<Counts>,
}

/// Whether the stub answers as revisions before the `ENDS#<time>#INVITE#<id>` key
/// scheme expect (a baseline's partition read skips the keys it does not know, and its
/// sweep parses only its own), and with token hashes in hex, as before they were base64url.
static LEGACY_KEYS: AtomicBool = AtomicBool::new(false);
static HEX_TOKEN_HASH: AtomicBool = AtomicBool::new(false);
/// Whether each invite has its SMS item beside it (revisions since the owner's view).
static SMS_ITEMS: AtomicBool = AtomicBool::new(true);
/// Live invites in the intercom's partition as create and list read it (`--live-invites`).
static LIVE_INVITES: AtomicUsize = AtomicUsize::new(3);
/// Its memberships, the owner's and the shared user's among them (`--members`).
static MEMBERS: AtomicUsize = AtomicUsize::new(2);
/// Its idempotency records of the last day (`--keyed-creates`).
static KEYED_CREATES: AtomicUsize = AtomicUsize::new(0);

/// What a revision's item formats are, read from its source.
pub struct Formats {
    pub legacy_keys: bool,
    pub hex_token_hash: bool,
    pub sms_items: bool,
}

impl Formats {
    /// `source(path)` gives a file of the revision measured.
    pub fn of(source: impl Fn(&str) -> String) -> Self {
        Self {
            legacy_keys: !source("shared/src/keys.rs").contains("ENDS#"),
            hex_token_hash: !source("shared/src/domain/token.rs").contains("URL_SAFE_NO_PAD.encode(Sha256"),
            sms_items: source("shared/src/keys.rs").contains("SMS_TAG"),
        }
    }
}

impl Stub {
    pub fn answer_as(&self, formats: &Formats) {
        LEGACY_KEYS.store(formats.legacy_keys, Ordering::SeqCst);
        HEX_TOKEN_HASH.store(formats.hex_token_hash, Ordering::SeqCst);
        SMS_ITEMS.store(formats.sms_items, Ordering::SeqCst);
    }

    pub fn with_partition(&self, live_invites: usize, members: usize, keyed_creates: usize) {
        LIVE_INVITES.store(live_invites, Ordering::SeqCst);
        MEMBERS.store(members, Ordering::SeqCst);
        KEYED_CREATES.store(keyed_creates, Ordering::SeqCst);
    }
}

/// The live invites the partition read returns (`--live-invites`).
pub fn live_invites() -> usize {
    LIVE_INVITES.load(Ordering::SeqCst)
}

pub async fn start() -> std::io::Result<Stub> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let endpoint = format!("http://{}", listener.local_addr()?);
    let counts = Arc::new(Counts::default());
    crate::http::serve(listener, counts.clone(), |counts, req| async move { answer(&counts, req).await });
    Ok(Stub { endpoint, counts })
}

fn reply(content_type: &str, body: String) -> hyper::Response<Full<Bytes>> {
    hyper::Response::builder()
        .header("content-type", content_type)
        .header("x-amzn-requestid", "bench")
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_default()
}

async fn answer(counts: &Counts, req: hyper::Request<Incoming>) -> hyper::Response<Full<Bytes>> {
    let target = req.headers().get("x-amz-target").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let path = req.uri().path().to_owned();
    let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    if target.as_deref().is_some_and(|t| t.starts_with("AWSEvents.")) {
        let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let entries = request["Entries"].as_array().map_or(0, Vec::len);
        counts.add("events:PutEvents".into(), 0.0, 0.0);
        let results: Vec<Value> = (0..entries).map(|i| json!({ "EventId": format!("bench-{i}") })).collect();
        return reply("application/x-amz-json-1.1", json!({ "FailedEntryCount": 0, "Entries": results }).to_string());
    }
    if target.as_deref().is_some_and(|t| t.starts_with("AmazonSQS.")) {
        // The SMS queue: the outbox's SendMessageBatch (the sender's retry delay is
        // not on the sample's path).
        let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        counts.add("sqs:SendMessage".into(), 0.0, 0.0);
        let entries = request["Entries"].as_array().map(Vec::as_slice).unwrap_or_default();
        let successful: Vec<Value> =
            entries.iter().map(|e| json!({ "Id": e["Id"], "MessageId": "bench", "MD5OfMessageBody": "" })).collect();
        return reply("application/x-amz-json-1.0", json!({ "Successful": successful, "Failed": [] }).to_string());
    }
    if let Some(target) = target {
        let operation = target.rsplit('.').next().unwrap_or_default().to_owned();
        let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        let mut response = dynamodb(&operation, &request);
        // Capacity is charged on whole items, whatever the projection returns.
        let (read, write) = units(&operation, &request, &response);
        counts.add(format!("dynamodb:{operation}"), read, write);
        filter(&request, &mut response);
        project(&request, &mut response);
        return reply("application/x-amz-json-1.0", response.to_string());
    }
    if path.starts_with("/things/") {
        counts.add("iot:UpdateThingShadow".into(), 0.0, 0.0);
        return reply("application/json", json!({ "state": { "desired": {} }, "version": 2 }).to_string());
    }
    counts.add("sns:Publish".into(), 0.0, 0.0);
    reply(
        "text/xml",
        r#"<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>bench-1</MessageId></PublishResult><ResponseMetadata><RequestId>bench</RequestId></ResponseMetadata></PublishResponse>"#.into(),
    )
}

/// The attribute an expression's `part` names: through its `#binding`, or as written.
fn attribute_name(request: &Value, part: &str) -> String {
    request["ExpressionAttributeNames"][part].as_str().unwrap_or(part).to_owned()
}

/// Drops the items a Query's `FilterExpression` excludes, as DynamoDB does after
/// reading them (capacity counts them). Understands what the functions send: `AND`
/// of parenthesised `OR`s of `attribute_not_exists(#a)` and `#a = :v`, and what
/// revisions before the live/ended split send (measured as baselines):
/// `attribute_exists(#a)`, `NOT begins_with(#a, :v)` and `#a > :n`. Anything else
/// stops the stub, so a filter it misread cannot skew a measurement.
fn filter(request: &Value, response: &mut Value) {
    let Some(expression) = request["FilterExpression"].as_str() else {
        return;
    };
    let name = |part: &str| attribute_name(request, part);
    let value = |placeholder: &str| &request["ExpressionAttributeValues"][placeholder];
    let number = |v: &Value| v["N"].as_str().and_then(|n| n.parse::<i64>().ok());
    let holds = |item: &Value, clause: &str| {
        let argument = |function: &str| clause.strip_prefix(function).and_then(|c| c.strip_suffix(')'));
        if let Some(binding) = argument("attribute_not_exists(") {
            return item.get(name(binding)).is_none();
        }
        if let Some(binding) = argument("attribute_exists(") {
            return item.get(name(binding)).is_some();
        }
        if let Some((binding, placeholder)) = argument("NOT begins_with(").and_then(|a| a.split_once(", ")) {
            let prefix = value(placeholder)["S"].as_str().unwrap_or_default();
            return !item.get(name(binding)).and_then(|v| v["S"].as_str()).is_some_and(|v| v.starts_with(prefix));
        }
        if let Some((binding, placeholder)) = clause.split_once(" > ") {
            let stored = item.get(name(binding)).and_then(number);
            return stored.zip(number(value(placeholder))).is_some_and(|(stored, bound)| stored > bound);
        }
        match clause.split_once(" = ") {
            Some((binding, placeholder)) => item.get(name(binding)) == Some(value(placeholder)),
            None => panic!("the bench stub cannot evaluate the filter clause {clause:?}"),
        }
    };
    let passes = |item: &Value| {
        expression.split(" AND ").all(|conjunct| {
            let conjunct = conjunct.trim();
            let conjunct = conjunct.strip_prefix('(').and_then(|c| c.strip_suffix(')')).unwrap_or(conjunct);
            conjunct.split(" OR ").any(|clause| holds(item, clause.trim()))
        })
    };
    if let Some(items) = response["Items"].as_array_mut() {
        items.retain(passes);
        let count = items.len();
        response["Count"] = json!(count);
    }
}

/// Returns only the attributes a read's `ProjectionExpression` names, as DynamoDB
/// does, so a function that projects parses what it would parse in production.
fn project(request: &Value, response: &mut Value) {
    let Some(expression) = request["ProjectionExpression"].as_str() else {
        return;
    };
    // A path is `name` or `map.member`; either part may be a `#binding`.
    let name = |part: &str| attribute_name(request, part);
    let paths: Vec<(String, Option<String>)> = expression
        .split(',')
        .map(str::trim)
        .map(|path| match path.split_once('.') {
            Some((top, member)) => (name(top), Some(name(member))),
            None => (name(path), None),
        })
        .collect();
    let keep = |item: &mut Value| {
        if let Some(attributes) = item.as_object_mut() {
            attributes.retain(|attribute, value| {
                let wanted: Vec<&Option<String>> =
                    paths.iter().filter(|(top, _)| top == attribute).map(|(_, member)| member).collect();
                if wanted.iter().any(|member| member.is_none()) {
                    return true;
                }
                let Some(members) = value["M"].as_object_mut() else { return false };
                members.retain(|member, _| wanted.iter().any(|w| w.as_deref() == Some(member.as_str())));
                !wanted.is_empty()
            });
        }
    };
    if let Some(items) = response["Items"].as_array_mut() {
        items.iter_mut().for_each(keep);
    }
    if let Some(item) = response.get_mut("Item") {
        keep(item);
    }
}

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

fn s(value: &str) -> Value {
    json!({ "S": value })
}

fn n(value: i64) -> Value {
    json!({ "N": value.to_string() })
}

fn key_of(request: &Value) -> (String, String) {
    let key = &request["Key"];
    (key["PK"]["S"].as_str().unwrap_or_default().to_owned(), key["SK"]["S"].as_str().unwrap_or_default().to_owned())
}

fn dynamodb(operation: &str, request: &Value) -> Value {
    match operation {
        "GetItem" => {
            let (pk, sk) = key_of(request);
            json!({ "Item": item_at(&pk, &sk, Redeemed::Not) })
        }
        "TransactGetItems" => {
            let responses: Vec<Value> = request["TransactItems"]
                .as_array()
                .map(|items| {
                    items
                        .iter()
                        .map(|get| {
                            let (pk, sk) = key_of(&get["Get"]);
                            json!({ "Item": item_at(&pk, &sk, Redeemed::Not) })
                        })
                        .collect()
                })
                .unwrap_or_default();
            json!({ "Responses": responses })
        }
        // An intercom's items by key (create, list: registry, membership; no idempotency
        // record), or the gates' presence: each connected, by its first lifecycle event a
        // day ago.
        "BatchGetItem" => {
            let mut responses = serde_json::Map::new();
            for (table, wanted) in request["RequestItems"].as_object().into_iter().flatten() {
                let items: Vec<Value> = wanted["Keys"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|key| match key["PK"]["S"].as_str().unwrap_or_default() {
                        pk if pk.starts_with("INTERCOM#") => {
                            Some(item_at(pk, key["SK"]["S"].as_str().unwrap_or_default(), Redeemed::Not))
                                .filter(|item| !item.is_null())
                        }
                        _ => Some(json!({ "PK": key["PK"], "SK": key["SK"], "connected": { "BOOL": true },
                                "event_version": n(1), "event_at": n((now() - 86_400) * 1000) })),
                    })
                    .collect();
                responses.insert(table.clone(), Value::Array(items));
            }
            json!({ "Responses": responses, "UnprocessedKeys": {} })
        }
        // A create's places that may be free: four nobody holds.
        "Query"
            if request["ExpressionAttributeValues"][":pk"]["S"]
                .as_str()
                .is_some_and(|pk| pk.starts_with("PLACES#")) =>
        {
            let items: Vec<Value> = (0..4).map(|i| place(i, true)).collect();
            json!({ "Items": items, "Count": 4, "ScannedCount": 4 })
        }
        // The list's count of places in use: Max Users of them, one per live code held.
        "Query" if request["ExpressionAttributeValues"][":places"].is_object() => {
            let held = LIVE_INVITES.load(Ordering::SeqCst);
            let items: Vec<Value> = (0..10.max(held)).map(|i| place(i, i >= held)).collect();
            let count = items.len();
            json!({ "Items": items, "Count": count, "ScannedCount": count })
        }
        // A page of the list: the live codes from the soonest end up, each with its SMS item after it.
        "Query" if request["ExpressionAttributeValues"][":to"].is_object() => {
            let mut items = Vec::new();
            for i in 0..LIVE_INVITES.load(Ordering::SeqCst) {
                let id = live_invite_id();
                items.push(invite(&id, &format!("{:04}", (2841 + 1013 * i) % 10_000), Redeemed::Not));
                if SMS_ITEMS.load(Ordering::SeqCst) {
                    items.push(sms_item(&id));
                }
            }
            let count = items.len();
            json!({ "Items": items, "Count": count, "ScannedCount": count })
        }
        "Query" if request.get("IndexName").is_some() => {
            // The sweep's index: one invite due.
            json!({ "Items": [{
                "PK": s("INTERCOM#ic-demo"), "SK": s(&indexed_invite_sk(INVITE_ID)),
                "GSI1PK": s("HOLDS_SLOT"), "GSI1SK": s(&format!("{:012}#ic-demo#{INVITE_ID}", now() - 60)),
            }], "Count": 1, "ScannedCount": 1 })
        }
        "Query"
            if request["ExpressionAttributeValues"][":pk"]["S"]
                .as_str()
                .is_some_and(|pk| pk.starts_with("ACTIVITY#")) =>
        {
            // A page of the intercom's activity, newest first.
            let items: Vec<Value> = (0..ACTIVITY_PAGE).map(activity_fact).collect();
            json!({ "Items": items, "Count": ACTIVITY_PAGE, "ScannedCount": ACTIVITY_PAGE,
                    "LastEvaluatedKey": { "PK": s("ACTIVITY#ic-demo"), "SK": s(&format!("{:012}#{INVITE_ID}.000", now() - 3600)) } })
        }
        "Query" => {
            // The intercom's partition as create and list read it, from the top: registry,
            // members, the live codes (three unless `--live-invites` says) and the
            // idempotency records (none unless `--keyed-creates` says).
            let mut items = vec![meta()];
            let others = MEMBERS.load(Ordering::SeqCst).saturating_sub(2);
            items.extend((0..others).map(|i| member(&format!("user-neighbour-{i}"), "intercom")));
            items.extend([member("user-shared", "intercom"), member("user-owner", "owner")]);
            for i in 0..LIVE_INVITES.load(Ordering::SeqCst) {
                let id = live_invite_id();
                // Descending: an invite's SMS item (its key + `#SMS`) comes first.
                if SMS_ITEMS.load(Ordering::SeqCst) {
                    items.push(sms_item(&id));
                }
                items.push(invite(&id, &format!("{:04}", (2841 + 1013 * i) % 10_000), Redeemed::Not));
            }
            items.extend((0..KEYED_CREATES.load(Ordering::SeqCst)).map(idempotency_record));
            let count = items.len();
            json!({ "Items": items, "Count": count, "ScannedCount": count })
        }
        "UpdateItem" => {
            let (pk, sk) = key_of(request);
            let expression = request["UpdateExpression"].as_str().unwrap_or_default();
            let redeemed =
                if expression.contains("#tries") && request["ExpressionAttributeNames"]["#tries"] == "exit_tries" {
                    Redeemed::Exit
                } else {
                    Redeemed::Entry
                };
            if request["ReturnValues"] == "ALL_NEW" {
                json!({ "Attributes": item_at(&pk, &sk, redeemed) })
            } else {
                json!({})
            }
        }
        _ => json!({}),
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Redeemed {
    Not,
    /// Entered: a redeem's or a status read's view after the entry was spent.
    Entry,
    Exit,
    /// The entry's command sent, the gate's report awaited.
    EntryOpening,
}

fn item_at(pk: &str, sk: &str, redeemed: Redeemed) -> Value {
    match sk {
        "META" => meta(),
        _ if sk.starts_with("MEMBER#") => {
            let user = &sk["MEMBER#".len()..];
            member(user, if user == "user-owner" { "owner" } else { "intercom" })
        }
        // An invite's SMS item, its SMS queued.
        _ if pk.starts_with("INTERCOM#") && sk.ends_with("#SMS") => {
            let id = sk.trim_end_matches("#SMS").rsplit("INVITE#").next().unwrap_or_default();
            sms_item(id)
        }
        // Which invite a delivery report's message was (events/sms-status.json).
        _ if pk.starts_with("SMS#MESSAGE#") => {
            json!({ "PK": s(pk), "SK": s(sk), "intercom_id": s("ic-demo"), "invite_id": s(INVITE_ID) })
        }
        // Today's keys (`ENDS#<time>#INVITE#<id>`) and a baseline's (`INVITE#<id>`).
        _ if pk.starts_with("INTERCOM#") && sk.contains("INVITE#") => {
            let id = sk.rsplit("INVITE#").next().unwrap_or_default();
            let redeemed = if id == OPENING_INVITE_ID { Redeemed::EntryOpening } else { redeemed };
            invite(id, CODE, redeemed)
        }
        _ => Value::Null,
    }
}

/// The SMS item beside an invite: queued, its link sealed (any 16 bytes unseal).
fn sms_item(id: &str) -> Value {
    let (created, _, exit_closes) = invite_times();
    json!({
        "PK": s("INTERCOM#ic-demo"), "SK": s(&format!("{}#SMS", invite_sk(id))), "intercom_id": s("ic-demo"),
        "invite_id": s(id), "guest_name": s("Thandi Mokoena"), "guest_mobile": s("+27825550199"),
        "sms_status": s("queued"), "sms_handled": n(0), "link_seal": s("foJX0dnAdRmhcuS6OjhETA=="), "seal_key": s("bench"),
        "history": { "L": [s(&format!("{created} sms_queued"))] }, "purge_at": n(exit_closes + 14 * 86_400),
    })
}

/// The `i`th newest fact of the activity page: a guest's journey, over and over.
fn activity_fact(i: usize) -> Value {
    const KINDS: [&str; 5] = ["guest_left", "guest_entered", "sms_delivered", "sms_sent", "code_created"];
    let at = now() - 60 * i as i64;
    let id = format!("{INVITE_ID}.{i:03}");
    json!({
        "PK": s("ACTIVITY#ic-demo"), "SK": s(&format!("{at:012}#{id}")), "fact_id": s(&id),
        "kind": s(KINDS[i % KINDS.len()]), "at": n(at), "intercom_id": s("ic-demo"), "invite_id": s(INVITE_ID),
        "guest_name": s("Thandi Mokoena"), "guest_mobile": s("+27******199"), "gate": s("Main gate"),
        "purge_at": n(at + 31 * 86_400),
    })
}

fn invite_sk(id: &str) -> String {
    ota::domain::ids::InviteId::parse(id).map(|id| ota::keys::invite_sk(&id)).unwrap_or_default()
}

/// The key the sweep's index hands back: a baseline's sweep parses only its own.
fn indexed_invite_sk(id: &str) -> String {
    if LEGACY_KEYS.load(Ordering::SeqCst) {
        format!("INVITE#{id}")
    } else {
        invite_sk(id)
    }
}

fn meta() -> Value {
    let gate = |label: &str, thing: &str| json!({ "M": { "label": s(label), "thing": s(thing) } });
    json!({
        "PK": s("INTERCOM#ic-demo"), "SK": s("META"), "intercom_id": s("ic-demo"), "label": s("Demo Estate"),
        "time_zone": s("Africa/Johannesburg"),
        "gates": { "M": { "gate-main": gate("Main gate", "demo-gate-main"), "gate-exit": gate("Exit gate", "demo-gate-exit") } },
        "entry_gate": s("gate-main"), "exit_gate": s("gate-exit"), "max_users": n(10), "places": n(10),
        "invite_duration_minutes": n(720), "exit_grace_minutes": n(60),
        "settings_updated_at": n(now() - 86_400), "settings_updated_by": s("user-owner"), "version": n(7),
        "gate_number": s(&demo_gate_number_check()),
    })
}

/// The check of the gate number the sample redemptions carry (the local stack's demo one).
fn demo_gate_number_check() -> String {
    let intercom = ota::domain::ids::IntercomId::parse("ic-demo");
    let number = ota::domain::gate_number::GateNumber::parse(DEMO_GATE_NUMBER);
    let keys = ota::domain::gate_number::GateNumberKeys::parse(crate::GATE_NUMBER_KEYS).ok();
    match (intercom, number, keys) {
        (Some(intercom), Some(number), Some(keys)) => number.check(&intercom, &keys).0,
        _ => String::new(),
    }
}

/// Place `number` of the demo intercom: free, or held until an hour from now.
fn place(number: usize, free: bool) -> Value {
    let (free_at, holder) = if free { (0, "~~~~~~~~~~~".to_owned()) } else { (now() + 3600, live_invite_id()) };
    json!({
        "PK": s("INTERCOM#ic-demo"), "SK": s(&format!("PLACE#{number:04}")), "holder": s(&holder),
        "free_at": n(free_at), "GSI1PK": s("PLACES#ic-demo"), "GSI1SK": s(&format!("{free_at:012}#{holder}")),
    })
}

fn member(user: &str, role: &str) -> Value {
    json!({ "PK": s("INTERCOM#ic-demo"), "SK": s(&format!("MEMBER#{user}")), "role": s(role), "user": s(user) })
}

/// The record of the `i`th keyed create of the last day (another key than any
/// sample event sends, so no create is a replay of it).
fn idempotency_record(i: usize) -> Value {
    let expires = now() + 86_400 - 600 * i as i64;
    json!({
        "PK": s("INTERCOM#ic-demo"), "SK": s(&format!("ENDS#{expires:012}#IDEMP#bench-key-{i:04}")),
        "fingerprint": s("bench-fingerprint"), "invite_id": s(&format!("KeyedInv{i:02}A")),
        "sealed_secret": s("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="), "seal_key": s("bench"),
        "created_at": n(expires - 86_400), "purge_at": n(expires),
    })
}

/// When each of the stub's invites was created, expires and its exit window closes (epoch
/// seconds): an hour ago, and 12 and 13 hours after that.
fn invite_times() -> (i64, i64, i64) {
    let created = now() - 3600;
    (created, created + 12 * 3600, created + 13 * 3600)
}

/// A live invite's id as a create makes it: one the functions can read, since its
/// key holds the time its exit window closes.
fn live_invite_id() -> String {
    let (_, _, exit_closes) = invite_times();
    let window_closes =
        time::OffsetDateTime::from_unix_timestamp(exit_closes).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    ota::domain::ids::InviteId::generate(window_closes).as_str().to_owned()
}

/// An invite as the table holds it; its token hash matches the sample events' token
/// only for the sample invite id.
fn invite(id: &str, code: &str, redeemed: Redeemed) -> Value {
    let token = if id == INVITE_ID { TOKEN.to_owned() } else { format!("ic-demo.{id}.AAAAAAAAAAAAAAAAAAAAAA") };
    let digest = Sha256::digest(token.as_bytes());
    let hash = if HEX_TOKEN_HASH.load(Ordering::SeqCst) {
        digest.iter().map(|b| format!("{b:02x}")).collect()
    } else {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
    };
    let gate = |device: &str, label: &str, thing: &str| json!({ "M": { "device": s(device), "label": s(label), "thing": s(thing) } });
    let (created, expires, exit_closes) = invite_times();
    let mut item = json!({
        "PK": s("INTERCOM#ic-demo"), "SK": s(&invite_sk(id)), "intercom_id": s("ic-demo"),
        "intercom_label": s("Demo Estate"), "time_zone": s("Africa/Johannesburg"), "invite_id": s(id),
        "token_hash": s(&hash), "code": s(code), "guest_name": s("Thandi Mokoena"), "guest_mobile": s("+27825550199"),
        "created_by": s("user-owner"), "created_at": n(created), "expires_at": n(expires),
        "exit_closes_at": n(exit_closes),
        "entry_gate": gate("gate-main", "Main gate", "demo-gate-main"),
        "exit_gate": gate("gate-exit", "Exit gate", "demo-gate-exit"),
        "max_users": n(10), "state": s("active"), "guesses": n(0), "attempts": { "M": {} },
        "sms_status": s("requested"),
        "history": { "L": [{ "M": { "event": s("created"), "actor": s("user-owner"), "at": n(created) } }] },
        "purge_at": n(created + 15 * 86_400),
    });
    if redeemed != Redeemed::Not {
        item["entry_tries"] = json!({ "SS": [code] });
        item["guesses"] = n(1);
    }
    if redeemed == Redeemed::Exit {
        item["exit_tries"] = json!({ "SS": [code] });
        item["guesses"] = n(2);
    }
    if redeemed == Redeemed::EntryOpening {
        let sent = now() - 2;
        item["entry_tries"] = json!({ "SS": [code] });
        item["entry_guesses"] = n(1);
        item["entry_attempt"] = s(OPENING_ATTEMPT);
        item["entry_at"] = n(sent);
        item["attempts"] = json!({ "M": { OPENING_ATTEMPT: n(sent) } });
    }
    item
}
