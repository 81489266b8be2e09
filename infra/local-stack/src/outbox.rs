//! What the deployed stack's managed services do after a write, done here for real
//! against moto: the table's DynamoDB stream is read (moto implements streams) and
//! its records handed, in the shape Lambda delivers, to the consumer the template
//! wires to it — the outbox (activity, events, and SMS requests onto the SMS
//! queue); the SMS queue's messages are handed to the SMS sender as its event source
//! mapping would (`sms_queue`); the events the bus would receive are kept for
//! `/_local/events`; and SNS's SMS
//! delivery reports, which moto never writes, are made up here (delivered, unless
//! a number is told otherwise) and handed to `sms-status` in the shape a CloudWatch
//! Logs subscription delivers them (gzipped, base64).
//!
//! What only a deployed stack shows: Lambda's batching, retries and dead-letter
//! queue; EventBridge rules and their targets; the real reports' lag (AWS says up to
//! hours) and wording.

use crate::sms_queue::LocalSmsQueue;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ota::handlers::{outbox, sms_status};
use ota::Deps;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};

/// What a number's SMS reports say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Receipt {
    Delivered,
    Failed,
    /// No report at all (as when AWS's lags): the SMS stays "sent, not yet confirmed".
    Silent,
}

impl Receipt {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "delivered" => Some(Self::Delivered),
            "failed" => Some(Self::Failed),
            "silent" => Some(Self::Silent),
            _ => None,
        }
    }
}

/// The PutEvents entries the functions' EventBridge client sent: put on that client
/// as an interceptor.
#[derive(Debug, Clone, Default)]
pub struct EventTap(Arc<Mutex<Vec<Value>>>);

impl EventTap {
    pub fn events(&self) -> Vec<Value> {
        self.0.lock().map(|events| events.clone()).unwrap_or_default()
    }
}

impl aws_smithy_runtime_api::client::interceptors::Intercept for EventTap {
    fn name(&self) -> &'static str {
        "EventTap"
    }

    fn read_before_transmit(
        &self,
        context: &aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef<'_>,
        _components: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        _cfg: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        let body = context.request().body().bytes().and_then(|b| serde_json::from_slice::<Value>(b).ok());
        let entries = body.as_ref().and_then(|b| b["Entries"].as_array()).cloned().unwrap_or_default();
        if let Ok(mut events) = self.0.lock() {
            for entry in entries {
                let detail = entry["Detail"].as_str().and_then(|d| serde_json::from_str::<Value>(d).ok());
                events.push(json!({
                    "source": entry["Source"],
                    "detail-type": entry["DetailType"],
                    "event-bus-name": entry["EventBusName"],
                    "time": entry["Time"],
                    "detail": detail,
                }));
            }
        }
        Ok(())
    }
}

pub struct LocalOutbox {
    /// The three consumers' dependencies (the same, but where a test tells their
    /// AWS calls apart).
    outbox: Deps,
    sender: Deps,
    status: Deps,
    http: reqwest::Client,
    emulator: String,
    /// The sequence number of the last record handed over; `None` before the first.
    iterator: tokio::sync::Mutex<Option<String>>,
    /// The table's stream and its shard, looked up once (they never change).
    stream: std::sync::OnceLock<(String, String)>,
    /// The SMS queue, made at the first settle.
    sms_queue: tokio::sync::OnceCell<LocalSmsQueue>,
    pub events: EventTap,
    receipts: Mutex<HashMap<String, Receipt>>,
    /// Gate things whose presence items provisioning wrote (registry of any intercom,
    /// `ota-admin` included), for the simulator to play ([`Self::take_registered_gates`]).
    registered_gates: Mutex<std::collections::BTreeSet<String>>,
}

/// A request to moto's DynamoDB (Streams) JSON API.
async fn call(http: &reqwest::Client, emulator: &str, target: &str, body: Value) -> Result<Value, String> {
    let response = http
        .post(emulator)
        .header("x-amz-target", target)
        .header("content-type", "application/x-amz-json-1.0")
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0",
        )
        .body(body.to_string())
        .send()
        .await
        .map_err(|e| format!("{target}: {e}"))?;
    let status = response.status();
    let answer: Value = response.json().await.map_err(|e| format!("{target}: {e}"))?;
    if !status.is_success() {
        return Err(format!("{target}: HTTP {status} {answer}"));
    }
    Ok(answer)
}

impl LocalOutbox {
    pub fn new(deps: Deps, emulator: &str, events: EventTap) -> Arc<Self> {
        Self::with_consumers([deps.clone(), deps.clone(), deps], emulator, events)
    }

    /// `[outbox, sms-sender, sms-status]`, each with its own clients.
    pub fn with_consumers(consumers: [Deps; 3], emulator: &str, events: EventTap) -> Arc<Self> {
        let [outbox, sender, status] = consumers;
        Arc::new(Self {
            outbox,
            sender,
            status,
            http: reqwest::Client::new(),
            emulator: emulator.to_owned(),
            iterator: tokio::sync::Mutex::new(None),
            stream: std::sync::OnceLock::new(),
            sms_queue: tokio::sync::OnceCell::new(),
            events,
            receipts: Mutex::new(HashMap::new()),
            registered_gates: Mutex::new(std::collections::BTreeSet::new()),
        })
    }

    /// How the SMS to `number` (E.164) will be reported from now on.
    pub fn set_receipt(&self, number: &str, receipt: Receipt) {
        if let Ok(mut receipts) = self.receipts.lock() {
            receipts.insert(number.to_owned(), receipt);
        }
    }

    fn receipt_for(&self, number: &str) -> Receipt {
        self.receipts.lock().ok().and_then(|r| r.get(number).copied()).unwrap_or(Receipt::Delivered)
    }

    /// An iterator from just after `after` (a sequence number), or from the start,
    /// asked for afresh on every read: an iterator moto made before its table was
    /// put back from a copy would read a stale shard.
    async fn iterator_after(&self, after: Option<&str>) -> Result<String, String> {
        let (arn, shard) = self.stream().await?;
        let mut request = json!({ "StreamArn": arn, "ShardId": shard, "ShardIteratorType": "TRIM_HORIZON" });
        if let Some(sequence) = after {
            request["ShardIteratorType"] = json!("AFTER_SEQUENCE_NUMBER");
            request["SequenceNumber"] = json!(sequence);
        }
        let iterator = call(&self.http, &self.emulator, "DynamoDBStreams_20120810.GetShardIterator", request).await?;
        iterator["ShardIterator"].as_str().map(str::to_owned).ok_or_else(|| "no shard iterator".to_owned())
    }

    /// Up to 100 of the stream's records after `after` (a sequence number).
    async fn records_after(&self, after: Option<&str>) -> Result<Vec<Value>, String> {
        let iterator = self.iterator_after(after).await?;
        let request = json!({ "ShardIterator": iterator, "Limit": 100 });
        let answer = call(&self.http, &self.emulator, "DynamoDBStreams_20120810.GetRecords", request).await?;
        Ok(answer["Records"].as_array().cloned().unwrap_or_default())
    }

    async fn stream(&self) -> Result<(String, String), String> {
        if let Some(known) = self.stream.get() {
            return Ok(known.clone());
        }
        let table = &self.outbox.config.table_name;
        let described =
            call(&self.http, &self.emulator, "DynamoDB_20120810.DescribeTable", json!({ "TableName": table })).await?;
        let arn = described["Table"]["LatestStreamArn"].as_str().ok_or("the table has no stream")?.to_owned();
        let stream =
            call(&self.http, &self.emulator, "DynamoDBStreams_20120810.DescribeStream", json!({ "StreamArn": arn }))
                .await?;
        let shard = stream["StreamDescription"]["Shards"][0]["ShardId"].as_str().ok_or("the stream has no shard")?;
        Ok(self.stream.get_or_init(|| (arn, shard.to_owned())).clone())
    }

    /// Hands every record the stream holds to the consumers, and the reports of the
    /// SMS they sent to `sms-status`, until nothing new comes. Returns the records
    /// handled. One settle at a time (the stream is read in order).
    pub async fn settle(&self) -> Result<usize, String> {
        let mut position = self.iterator.lock().await;
        self.hand_over(&mut position).await
    }

    /// Hands every record the stream ever held to the consumers again, and their SMS
    /// reports to `sms-status`, as Lambda does when it retries a batch (or an
    /// operator replays a dead-letter queue): what at-least-once delivery must survive.
    pub async fn redeliver_everything(&self) -> Result<usize, String> {
        let _in_order = self.iterator.lock().await;
        self.hand_over(&mut None).await
    }

    /// Moves past every record the stream holds without handing any over: what
    /// Lambda does with a batch whose retries ran out (only a pointer to it reaches
    /// the dead-letter queue), and what the stream does with records past 24 hours.
    /// Returns the records lost.
    pub async fn lose_unread(&self) -> Result<usize, String> {
        let mut position = self.iterator.lock().await;
        let mut lost = 0;
        loop {
            let records = self.records_after(position.as_deref()).await?;
            let Some(last) = records.last() else { return Ok(lost) };
            *position = last["dynamodb"]["SequenceNumber"].as_str().map(str::to_owned);
            lost += records.len();
        }
    }

    /// The outbox's dependencies, its SMS queue in place: what `ota-admin replay`
    /// builds from the stack's outputs.
    pub async fn outbox_deps(&self) -> Result<Deps, String> {
        Ok(Self::with_queue(&self.outbox, self.queue().await?))
    }

    async fn queue(&self) -> Result<&LocalSmsQueue, String> {
        let table = &self.outbox.config.table_name;
        self.sms_queue.get_or_try_init(|| LocalSmsQueue::create(&self.emulator, table)).await
    }

    /// The consumer's dependencies with the SMS queue in place.
    fn with_queue(deps: &Deps, queue: &LocalSmsQueue) -> Deps {
        let mut deps = deps.clone();
        deps.sms_queue = queue.queue();
        deps
    }

    async fn hand_over(&self, position: &mut Option<String>) -> Result<usize, String> {
        let queue = self.queue().await?;
        let (outbox_deps, sender_deps) = (Self::with_queue(&self.outbox, queue), Self::with_queue(&self.sender, queue));
        queue.wake_waiting().await?;
        let mut handled = 0;
        for _ in 0..50 {
            let records = self.records_after(position.as_deref()).await?;
            let Some(last) = records.last() else {
                // The stream is read; the SMS it queued go out (their records follow).
                if queue.drain(&sender_deps).await? == 0 {
                    return Ok(handled);
                }
                continue;
            };
            *position = last["dynamodb"]["SequenceNumber"].as_str().map(str::to_owned);
            handled += records.len();
            self.note_registered_gates(&records);
            let event = json!({ "Records": records });
            outbox::run(&outbox_deps, &event).await.map_err(|e| format!("outbox: {e}"))?;
            let reports = self.reports_of(&records);
            if !reports.is_empty() {
                let at = self.status.clock.now();
                sms_status::run(&self.status, &subscription_event(&reports, at))
                    .await
                    .map_err(|e| format!("sms-status: {e}"))?;
            }
        }
        Ok(handled)
    }

    /// Provisioning writes a presence item per gate (`Store::register_intercom`): its
    /// insertion on the stream names a gate the local stack must play.
    fn note_registered_gates(&self, records: &[Value]) {
        let things = records
            .iter()
            .filter(|r| r["eventName"] == "INSERT")
            .filter_map(|r| r["dynamodb"]["Keys"]["PK"]["S"].as_str()?.strip_prefix("GATE#").map(str::to_owned));
        self.registered_gates.lock().unwrap_or_else(std::sync::PoisonError::into_inner).extend(things);
    }

    /// The gate things registered since the last call.
    pub fn take_registered_gates(&self) -> Vec<String> {
        let mut gates = self.registered_gates.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        std::mem::take(&mut *gates).into_iter().collect()
    }

    /// A delivery report for each SMS these records say SNS accepted.
    fn reports_of(&self, records: &[Value]) -> Vec<Value> {
        let mut reports = Vec::new();
        for record in records {
            let new = &record["dynamodb"]["NewImage"];
            let before = record["dynamodb"]["OldImage"]["history"]["L"].as_array().map_or(0, Vec::len);
            let number = new["guest_mobile"]["S"].as_str().unwrap_or_default();
            let lines = new["history"]["L"].as_array().map(Vec::as_slice).unwrap_or_default();
            let sent = lines.iter().skip(before).filter_map(|l| l["S"].as_str()).any(|l| l.ends_with(" sms_sent"));
            if let (true, Some(message_id)) = (sent, new["sms_message_id"]["S"].as_str()) {
                let (status, response) = match self.receipt_for(number) {
                    Receipt::Delivered => ("SUCCESS", "Message has been accepted by phone"),
                    Receipt::Failed => ("FAILURE", "Phone is currently unreachable/unavailable"),
                    Receipt::Silent => continue,
                };
                reports.push(json!({
                    "notification": { "messageId": message_id, "timestamp": "" },
                    "delivery": {
                        "destination": number, "smsType": "Transactional", "providerResponse": response,
                        "priceInUSD": 0.00645, "numberOfMessageParts": 1, "dwellTimeMs": 700,
                    },
                    "status": status,
                }));
            }
        }
        reports
    }
}

/// The event bus the functions publish to, in moto (which accepts PutEvents to a
/// custom bus only once it exists). Made once per emulator; later calls find it.
pub async fn create_bus(sdk: &aws_config::SdkConfig, name: &str) -> Result<(), String> {
    let client = aws_sdk_eventbridge::Client::new(sdk);
    match client.create_event_bus().name(name).send().await {
        Ok(_) => Ok(()),
        Err(error) if error.as_service_error().is_some_and(|e| e.is_resource_already_exists_exception()) => Ok(()),
        Err(error) => Err(format!("create event bus: {}", aws_sdk_eventbridge::error::DisplayErrorContext(error))),
    }
}

/// Settles the stream every quarter second, as Lambda's poller would.
pub fn spawn_poller(outbox: Arc<LocalOutbox>) {
    tokio::spawn(async move {
        loop {
            if let Err(error) = outbox.settle().await {
                tracing::warn!(%error, "local stream poll failed");
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
    });
}

/// What a CloudWatch Logs subscription hands its function.
pub fn subscription_event(reports: &[Value], at: time::OffsetDateTime) -> Value {
    let now = at.unix_timestamp() * 1000;
    let batch = json!({
        "messageType": "DATA_MESSAGE",
        "owner": "123456789012",
        "logGroup": "sns/us-east-1/123456789012/DirectPublishToPhoneNumber",
        "logStream": "local",
        "subscriptionFilters": ["ota-sms-delivery"],
        "logEvents": reports.iter().enumerate().map(|(i, report)| json!({
            "id": format!("{now}{i:04}"), "timestamp": now, "message": report.to_string(),
        })).collect::<Vec<_>>(),
    });
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let zipped = gzip.write_all(batch.to_string().as_bytes()).and_then(|()| gzip.finish()).unwrap_or_default();
    json!({ "awslogs": { "data": STANDARD.encode(zipped) } })
}
