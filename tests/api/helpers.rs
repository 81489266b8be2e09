//! `spawn_app()`: one moto per test binary, and per test its own table, intercom,
//! users, gate things, guest number, clock and local API on a free port.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    AfterDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use fault_proxy::FaultProxy;
use local_stack::front::{self, Front};
use local_stack::gates::{GateSimulator, Mode, ShadowDeltas};
use local_stack::jwt::Authorizer;
use local_stack::moto::Moto;
use local_stack::outbox::{EventTap, LocalOutbox};
use local_stack::seed::Site;
use local_stack::{aws, repo_root, table};
use ota::aws::AwsSetup;
use ota::clock::ManualClock;
use ota::config::Config;
use rand::Rng;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex, OnceLock};
use time::OffsetDateTime;

static MOTO: OnceLock<Result<Moto, String>> = OnceLock::new();

fn emulator() -> &'static str {
    match MOTO.get_or_init(|| Moto::start(&repo_root())) {
        Ok(moto) => &moto.endpoint,
        Err(e) => panic!("{e}"),
    }
}

/// What the SDK clients' interceptor records, shared with the test that reads it.
#[derive(Debug, Clone, Default)]
pub struct Log<T>(Arc<Mutex<Vec<T>>>);

impl<T> Log<T> {
    pub fn take(&self) -> Vec<T> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

/// Every request the SDK clients send (one entry per HTTP attempt), as
/// `service:Operation`.
pub type RequestLog = Log<String>;

/// The sort keys of the items each DynamoDB Query page answered with, in order:
/// what a function then parses.
pub type QueryAnswers = Log<Vec<String>>;

#[derive(Debug)]
struct Recorder {
    service: &'static str,
    log: RequestLog,
    /// The IAM permissions each request needs, as `service:Action@resource`.
    iam: RequestLog,
    query_answers: QueryAnswers,
}

/// What IAM checks a request against: a transaction needs each of its items' own
/// actions; a Query on an index needs the index's ARN.
fn iam_actions(service: &str, operation: &str, body: &Value) -> Vec<String> {
    let on = |action: &str, resource: &str| format!("{service}:{action}@{resource}");
    match (service, operation) {
        ("dynamodb", "TransactWriteItems") => body["TransactItems"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|item| item.as_object()?.keys().next().cloned())
            .map(|kind| match kind.as_str() {
                "ConditionCheck" => on("ConditionCheckItem", "table"),
                other => on(&format!("{other}Item"), "table"),
            })
            .collect(),
        ("dynamodb", "TransactGetItems") => vec![on("GetItem", "table")],
        ("dynamodb", operation) if body.get("IndexName").is_some() => vec![on(operation, "index")],
        ("dynamodb", operation) => vec![on(operation, "table")],
        (_, operation) => vec![on(operation, "*")],
    }
}

impl Intercept for Recorder {
    fn name(&self) -> &'static str {
        "RequestRecorder"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = cfg.load::<Metadata>().map(|m| m.name().to_owned()).unwrap_or_default();
        self.log.0.lock().unwrap().push(format!("{}:{operation}", self.service));
        let body: Value =
            _context.request().body().bytes().and_then(|b| serde_json::from_slice(b).ok()).unwrap_or_default();
        self.iam.0.lock().unwrap().extend(iam_actions(self.service, &operation, &body));
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if cfg.load::<Metadata>().map(Metadata::name) != Some("Query") {
            return Ok(());
        }
        let body: Value =
            context.response().body().bytes().and_then(|b| serde_json::from_slice(b).ok()).unwrap_or_default();
        let sort_keys = body["Items"].as_array().into_iter().flatten();
        let sort_keys = sort_keys.filter_map(|item| item["SK"]["S"].as_str().map(str::to_owned)).collect();
        self.query_answers.0.lock().unwrap().push(sort_keys);
        Ok(())
    }
}

/// Holds one request until the test resumes it: once armed with [`Self::arm_before`],
/// the first request of a given operation (so a test can change something between a
/// handler's read and its write).
#[derive(Debug, Clone, Default)]
pub struct PausedRead(Arc<(Mutex<PauseState>, std::sync::Condvar)>);

#[derive(Debug, Default)]
struct PauseState {
    armed: bool,
    operation: &'static str,
    paused: bool,
    resumed: bool,
}

impl PausedRead {
    /// Holds the next `operation` (e.g. `"TransactWriteItems"`) request.
    pub fn arm_before(&self, operation: &'static str) {
        if let Ok(mut state) = self.0 .0.lock() {
            *state = PauseState { armed: true, operation, ..PauseState::default() };
        }
    }

    /// Blocks the calling thread until a read is held.
    pub fn wait_until_paused(&self) {
        let (lock, changed) = &*self.0;
        let state = lock.lock().unwrap();
        let (state, timeout) =
            changed.wait_timeout_while(state, std::time::Duration::from_secs(20), |s| !s.paused).unwrap();
        assert!(state.paused && !timeout.timed_out(), "no read reached the pause point");
    }

    pub fn resume(&self) {
        let (lock, changed) = &*self.0;
        lock.lock().unwrap().resumed = true;
        changed.notify_all();
    }
}

impl Intercept for PausedRead {
    fn name(&self) -> &'static str {
        "PausedRead"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = cfg.load::<Metadata>().map(|m| m.name().to_owned()).unwrap_or_default();
        let (lock, changed) = &*self.0;
        let mut state = lock.lock().unwrap();
        if !state.armed || operation != state.operation {
            return Ok(());
        }
        state.armed = false;
        state.paused = true;
        changed.notify_all();
        // Interceptors cannot await: hand this worker's other tasks to another
        // thread while this one waits (the test runs on a multi-threaded runtime).
        tokio::task::block_in_place(move || {
            let _resumed = changed.wait_while(state, |s| !s.resumed).unwrap();
        });
        Ok(())
    }
}

#[derive(Default, Clone, Copy)]
pub struct Options {
    /// SNS points at a closed port: every SMS fails.
    pub sms_down: bool,
    /// The gates' IoT things are not created: every shadow update fails.
    pub gates_missing: bool,
    /// Items per Query page, as if the partition were past DynamoDB's 1 MB page.
    pub page_limit: Option<i32>,
    /// Every AWS call goes through a fault-injecting proxy (`TestApp::faults`), with
    /// the clients configured as in production (timeouts, retries).
    pub faults: bool,
    /// `OTA_SMS_PER_USER_PER_HOUR` and `OTA_SMS_PER_INTERCOM_PER_HOUR`.
    pub sms_limits: Option<(u32, u32)>,
    /// `OTA_SMS_PER_SECOND` for the one SMS sender; unset, 1,000 (no test waits on it).
    pub sms_per_second: Option<u32>,
    /// An emulator of this test's own, not the one the other tests share: for a test
    /// whose load would hold up everyone else's on moto's single thread (the capacity run).
    pub own_emulator: bool,
}

pub struct TestApp {
    pub api: String,
    pub http: reqwest::Client,
    pub clock: Arc<ManualClock>,
    pub site: Site,
    pub owner: String,
    pub shared: String,
    pub stranger: String,
    /// A fresh South African mobile number for this test's guests.
    pub mobile: String,
    pub requests: RequestLog,
    /// The IAM permissions the functions' AWS calls needed (see `iam_actions`).
    pub iam: RequestLog,
    pub query_answers: QueryAnswers,
    pub paused_read: PausedRead,
    /// What gate-events (run by the simulated gates' deliveries) asked of DynamoDB,
    /// and the IAM permissions that needed.
    pub gate_requests: RequestLog,
    pub gate_iam: RequestLog,
    pub front: Arc<Front>,
    /// The IAM permissions the stream's consumers needed: outbox, sms-sender, sms-status.
    pub consumer_iam: [RequestLog; 3],
    pub emulator: &'static str,
    /// Every DynamoDB request of the functions, once started (`capacity::CapacityTap`).
    pub capacity: local_stack::capacity::CapacityTap,
    proxy: Option<FaultProxy>,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Options::default()).await
}

pub async fn spawn_app_with(options: Options) -> TestApp {
    let emulator = if options.own_emulator {
        // Lives as long as the test process (moto exits when its stdin closes).
        let moto: &'static Moto = Box::leak(Box::new(Moto::start(&repo_root()).unwrap()));
        moto.endpoint.as_str()
    } else {
        emulator()
    };
    let suffix = format!("{:010x}", rand::rng().random::<u64>() & 0xff_ffff_ffff);
    let sdk = aws::sdk_config(emulator).await;
    let table_name = format!("ota-test-{suffix}");
    let requests = RequestLog::default();
    let paused_read = PausedRead::default();
    let iam = RequestLog::default();
    let query_answers = QueryAnswers::default();
    let recorder =
        |service| Recorder { service, log: requests.clone(), iam: iam.clone(), query_answers: query_answers.clone() };

    let proxy = if options.faults { Some(FaultProxy::start(emulator).await.unwrap()) } else { None };
    let production = proxy.as_ref().map(|proxy| {
        let environment = [
            ("AWS_REGION", aws::REGION),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
            ("AWS_ENDPOINT_URL", proxy.endpoint.as_str()),
        ];
        AwsSetup::from_lookup(|name| environment.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned()))
            .unwrap()
    });
    let dynamo_config = match &production {
        Some(setup) => setup.dynamodb_config(),
        None => aws_sdk_dynamodb::config::Builder::from(&sdk),
    };
    // Every DynamoDB client the functions use, tapped for the capacity model (off
    // until a test starts it).
    let capacity = local_stack::capacity::CapacityTap::default();
    let dynamo = aws_sdk_dynamodb::Client::from_conf(
        dynamo_config
            .interceptor(recorder("dynamodb"))
            .interceptor(paused_read.clone())
            .interceptor(capacity.clone())
            .build(),
    );
    let mut sns = match &production {
        Some(setup) => setup.sns_config(),
        None => aws_sdk_sns::config::Builder::from(&sdk),
    }
    .interceptor(recorder("sns"));
    if options.sms_down {
        sns = sns.endpoint_url("http://127.0.0.1:9");
    }
    let iot_config = match &production {
        Some(setup) => setup.iot_config(None),
        None => aws_sdk_iotdataplane::config::Builder::from(&sdk),
    };
    let deltas = ShadowDeltas::default();
    let iot = aws_sdk_iotdataplane::Client::from_conf(
        iot_config.interceptor(recorder("iot")).interceptor(deltas.clone()).build(),
    );
    // Straight to the emulator: the set-up is not under test, and a fault armed for the
    // functions' calls must not meet it (a delayed CreateTable, retried, finds its table).
    let setup = aws_sdk_dynamodb::Client::new(&sdk);
    table::create_from_template(&setup, &repo_root().join("template.yaml"), &table_name).await.unwrap();

    let seal_keys = format!("test:{:032x}{:032x}", rand::random::<u128>(), rand::random::<u128>());
    let gate_number_keys = format!("test:{:032x}{:032x}", rand::random::<u128>(), rand::random::<u128>());
    let link_keys = format!("test:{:032x}{:032x}", rand::random::<u128>(), rand::random::<u128>());
    let cursor_keys = format!("test:{:032x}{:032x}", rand::random::<u128>(), rand::random::<u128>());
    let guest_keys = format!("test:{:032x}{:032x}", rand::random::<u128>(), rand::random::<u128>());
    let config = Config::from_lookup(|name| match name {
        "OTA_TABLE_NAME" => Some(table_name.clone()),
        "OTA_SEAL_KEYS" => Some(seal_keys.clone()),
        "OTA_LINK_KEYS" => Some(link_keys.clone()),
        "OTA_GATE_NUMBER_KEYS" => Some(gate_number_keys.clone()),
        "OTA_CURSOR_KEYS" => Some(cursor_keys.clone()),
        "OTA_GUEST_KEYS" => Some(guest_keys.clone()),
        "OTA_SMS_PER_USER_PER_HOUR" => options.sms_limits.map(|(user, _)| user.to_string()),
        "OTA_SMS_PER_INTERCOM_PER_HOUR" => options.sms_limits.map(|(_, intercom)| intercom.to_string()),
        "OTA_SMS_PER_SECOND" => Some(options.sms_per_second.unwrap_or(1_000).to_string()),
        "OTA_SMS_SENDERS" => Some("1".to_owned()),
        _ => None,
    })
    .unwrap();
    let clock = Arc::new(ManualClock::starting_at(OffsetDateTime::now_utc().replace_nanosecond(0).unwrap()));
    // gate-events, as the IoT rules invoke it: its own clients, its requests logged apart.
    let (gate_requests, gate_iam) = (RequestLog::default(), RequestLog::default());
    let gate_recorder = Recorder {
        service: "dynamodb",
        log: gate_requests.clone(),
        iam: gate_iam.clone(),
        query_answers: QueryAnswers::default(),
    };
    let gate_events = ota::Deps::from_clients(
        config.clone(),
        aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(&sdk)
                .interceptor(gate_recorder)
                .interceptor(capacity.clone())
                .build(),
        ),
        aws_sdk_sns::Client::new(&sdk),
        aws_sdk_iotdataplane::Client::new(&sdk),
        aws_sdk_eventbridge::Client::new(&sdk),
        clock.clone(),
    )
    .unwrap();
    local_stack::outbox::create_bus(&sdk, ota::deps::LOCAL_EVENT_BUS).await.unwrap();
    let events = EventTap::default();
    // The stream's consumers run on clients of their own, straight to the emulator:
    // the functions' requests (and faults) are the ones under test. SNS is the one
    // an SMS test may have pointed at a closed port.
    // Each consumer's IAM needs are recorded apart (`TestApp::consumer_iam`).
    let consumer_iam: [RequestLog; 3] = Default::default();
    // With faults on, the SMS sender's DynamoDB and SNS calls go through the proxy too
    // (`through_proxy`), so a test can throttle SNS or fail the record of a sent SMS.
    let consumer = |iam: &RequestLog, through_proxy: bool| {
        let recorder = |service| Recorder {
            service,
            log: RequestLog::default(),
            iam: iam.clone(),
            query_answers: QueryAnswers::default(),
        };
        let proxied = production.as_ref().filter(|_| through_proxy);
        let mut sns = match proxied {
            Some(setup) => setup.sns_config(),
            None => aws_sdk_sns::config::Builder::from(&sdk),
        }
        .interceptor(recorder("sns"));
        if options.sms_down {
            sns = sns.endpoint_url("http://127.0.0.1:9");
        }
        let dynamo = match proxied {
            Some(setup) => setup.dynamodb_config(),
            None => aws_sdk_dynamodb::config::Builder::from(&sdk),
        };
        ota::Deps::from_clients(
            config.clone(),
            aws_sdk_dynamodb::Client::from_conf(
                dynamo.interceptor(recorder("dynamodb")).interceptor(capacity.clone()).build(),
            ),
            aws_sdk_sns::Client::from_conf(sns.build()),
            aws_sdk_iotdataplane::Client::new(&sdk),
            aws_sdk_eventbridge::Client::from_conf(
                aws_sdk_eventbridge::config::Builder::from(&sdk)
                    .interceptor(events.clone())
                    .interceptor(recorder("events"))
                    .build(),
            ),
            clock.clone(),
        )
        .unwrap()
    };
    let consumers =
        [consumer(&consumer_iam[0], false), consumer(&consumer_iam[1], true), consumer(&consumer_iam[2], false)];
    let mut deps = ota::Deps::from_clients(
        config,
        dynamo,
        aws_sdk_sns::Client::from_conf(sns.build()),
        iot,
        aws_sdk_eventbridge::Client::new(&sdk),
        clock.clone(),
    )
    .unwrap();
    if let Some(items) = options.page_limit {
        deps.store = deps.store.with_page_limit(items);
    }
    let site = Site::unique(&suffix);
    if options.gates_missing {
        deps.store.register_intercom(&site.intercom, &site.label, &site.gates, &site.time_zone).await.unwrap();
        deps.store.grant(&site.intercom, &site.owner, ota::domain::access::Role::Owner).await.unwrap();
        let now = OffsetDateTime::now_utc();
        let check = site.gate_number.check(&site.intercom, deps.config.gate_number_keys.as_ref().unwrap());
        deps.store.rotate_gate_number(&site.intercom, &check, now).await.unwrap();
    } else {
        site.provision(&deps.store, deps.config.gate_number_keys.as_ref().unwrap(), emulator).await.unwrap();
    }

    // The gates talk to IoT Core themselves, not through the functions' proxy. They
    // act when a test settles them (every redemption helper does), not on a timer.
    let gates = GateSimulator::new(gate_events, aws_sdk_iotdataplane::Client::new(&sdk), deltas);
    for gate in site.gates.values() {
        gates.add(gate.thing.as_str()).await;
    }
    let authorizer = Authorizer::new_random();
    let token = |user: &ota::domain::ids::UserId| authorizer.mint(user.as_str(), time::Duration::hours(1));
    let (owner, shared, stranger) = (token(&site.owner), token(&site.shared_user), token(&site.stranger));
    let outbox = LocalOutbox::with_consumers(consumers, emulator, events);
    let front = Arc::new(Front {
        deps,
        authorizer,
        emulator: emulator.to_owned(),
        iot: aws_sdk_iotdataplane::Client::new(&sdk),
        openapi: String::new(),
        page: None,
        clock: None,
        gates,
        gate_numbers: Default::default(),
        outbox,
    });
    front.remember_gate_number(&site.intercom, &site.gate_number);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(front::serve(listener, front.clone()));
    requests.take();
    iam.take();
    query_answers.take();
    gate_requests.take();
    gate_iam.take();
    TestApp {
        api,
        http: reqwest::Client::new(),
        clock,
        site,
        owner,
        shared,
        stranger,
        mobile: format!("+2782{:07}", rand::rng().random_range(0..10_000_000)),
        requests,
        iam,
        query_answers,
        paused_read,
        gate_requests,
        gate_iam,
        front,
        consumer_iam,
        emulator,
        capacity,
        proxy,
    }
}

pub enum Redeem {
    Entry,
    Exit,
}

/// The status of `request`'s answer, and its body as JSON (`Null` if it is none).
async fn answer_of(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

impl TestApp {
    /// The fault-injecting proxy between the functions and moto.
    pub fn faults(&self) -> &FaultProxy {
        self.proxy.as_ref().expect("spawn_app_with(Options { faults: true, .. })")
    }

    /// Every door command that reached a gate's shadow through the fault proxy, in
    /// order: (invite id, reason, command id).
    pub fn delivered_commands(&self) -> Vec<(String, String, String)> {
        self.faults()
            .exchanges("IoT.UpdateThingShadow")
            .iter()
            .filter(|e| e.took_effect())
            .map(|e| {
                let command = &e.json()["state"]["desired"]["command"];
                let field = |name: &str| command[name].as_str().unwrap_or_default().to_owned();
                let invite = field("id").split('.').nth(1).unwrap_or_default().to_owned();
                (invite, field("reason"), field("id"))
            })
            .collect()
    }

    pub fn intercom(&self) -> &str {
        self.site.intercom.as_str()
    }

    /// The number the intercom's QR codes carry (and is printed under them).
    pub fn gate_number(&self) -> &str {
        self.site.gate_number.as_digits()
    }

    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.api));
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            let body = body.to_string();
            if path.starts_with("/guest/") {
                // As the guest page does: CloudFront signs this hash for the function URL.
                request = request.header("x-amz-content-sha256", local_stack::front::content_sha256(body.as_bytes()));
            }
            request = request.header("content-type", "application/json").body(body);
        }
        answer_of(request).await
    }

    pub async fn put_settings(&self, bearer: &str, body: Value) -> (u16, Value) {
        let path = format!("/intercoms/{}/settings", self.intercom());
        self.call(reqwest::Method::PUT, &path, Some(bearer), Some(body)).await
    }

    /// Settings with separate entry and exit gates, and the given Max Users.
    pub async fn configure(&self, max_users: u32) {
        let (status, body) = self
            .put_settings(
                &self.owner,
                json!({ "entry_gate": "gate-main", "exit_gate": "gate-exit", "max_users": max_users }),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }

    /// A create; a committed one's SMS goes out at once, as the stream would send it.
    pub async fn create(&self, bearer: &str, body: Value) -> (u16, Value) {
        let path = format!("/intercoms/{}/codes", self.intercom());
        let answer = self.call(reqwest::Method::POST, &path, Some(bearer), Some(body)).await;
        if answer.0 == 201 {
            self.settle().await;
        }
        answer
    }

    /// The owner creates a code for `name` under an `Idempotency-Key`.
    pub async fn create_with_key(&self, key: reqwest::header::HeaderValue, name: &str) -> (u16, Value) {
        let path = format!("{}/intercoms/{}/codes", self.api, self.intercom());
        let body = json!({ "name": name, "mobile": self.mobile }).to_string();
        let answer =
            answer_of(self.http.post(&path).bearer_auth(&self.owner).header("idempotency-key", key).body(body)).await;
        self.settle().await;
        answer
    }

    /// A code for `name`, created by the owner; panics unless 201.
    pub async fn invite(&self, name: &str) -> Invite {
        let (status, body) = self.create(&self.owner, json!({ "name": name, "mobile": self.mobile })).await;
        assert_eq!(status, 201, "{body}");
        Invite::from(&body)
    }

    pub async fn list(&self, bearer: &str) -> (u16, Value) {
        let path = format!("/intercoms/{}/codes", self.intercom());
        self.call(reqwest::Method::GET, &path, Some(bearer), None).await
    }

    /// Every code the owner's list shows, all its pages followed.
    pub async fn listed_codes(&self) -> Vec<Value> {
        let mut codes = Vec::new();
        let mut query = String::from("?limit=100");
        loop {
            let path = format!("/intercoms/{}/codes{query}", self.intercom());
            let (status, body) = self.call(reqwest::Method::GET, &path, Some(&self.owner), None).await;
            assert_eq!(status, 200, "{body}");
            codes.extend(body["codes"].as_array().unwrap().iter().cloned());
            match body["next_cursor"].as_str() {
                Some(cursor) => query = format!("?limit=100&cursor={cursor}"),
                None => return codes,
            }
        }
    }

    /// The ids of the codes the owner's list shows (all pages).
    pub async fn listed_ids(&self) -> Vec<String> {
        self.listed_codes().await.iter().map(|c| c["id"].as_str().unwrap().to_owned()).collect()
    }

    pub async fn revoke(&self, bearer: &str, id: &str) -> (u16, Value) {
        let path = format!("/intercoms/{}/codes/{id}", self.intercom());
        self.call(reqwest::Method::DELETE, &path, Some(bearer), None).await
    }

    /// A guest's redemption, and then the gates' turn: each reads its shadow and,
    /// online, answers at once (its report handled before this returns).
    pub async fn redeem(&self, which: Redeem, token: &str, intercom: &str, code: &str) -> (u16, Value) {
        let path = match which {
            Redeem::Entry => "/guest/entry",
            Redeem::Exit => "/guest/exit",
        };
        let body = json!({ "token": token, "intercom_id": intercom, "gate_number": self.gate_number(), "code": code });
        let answer = self.call(reqwest::Method::POST, path, None, Some(body)).await;
        self.settle_gates().await;
        answer
    }

    /// Lets every simulated gate read its shadow and act, as IoT Core's push would.
    pub async fn settle_gates(&self) {
        self.front.gates.settle().await;
    }

    /// Sets a gate (by device id: `gate-main`, `gate-exit`) to behave as `mode`.
    pub async fn set_gate(&self, device: &str, mode: Mode) {
        assert!(self.front.gates.set_mode(self.site.thing(device).as_str(), mode).await);
    }

    /// How often the gate of `device` opened.
    pub fn openings(&self, device: &str) -> usize {
        self.front.gates.openings(self.site.thing(device).as_str()).len()
    }

    pub async fn guest_status(&self, token: &str) -> (u16, Value) {
        self.call(reqwest::Method::POST, "/guest/status", None, Some(json!({ "token": token }))).await
    }

    pub async fn enter(&self, invite: &Invite) -> (u16, Value) {
        self.redeem(Redeem::Entry, &invite.token, self.intercom(), &invite.code).await
    }

    pub async fn exit(&self, invite: &Invite) -> (u16, Value) {
        self.redeem(Redeem::Exit, &invite.token, self.intercom(), &invite.code).await
    }

    /// What the deployed stack does after the writes so far: the stream's consumers
    /// (activity, events, the SMS) and the SMS delivery reports, until quiet.
    pub async fn settle(&self) {
        self.front.outbox.settle().await.unwrap();
    }

    /// The SMS sent to this test's guest number (once the stream is settled).
    pub async fn sms(&self) -> Vec<Value> {
        self.settle().await;
        let sent = front::sent_sms(self.emulator, Some(&self.mobile)).await.unwrap();
        sent.as_array().cloned().unwrap_or_default()
    }

    /// The door command in a gate's `ota` shadow, if any was written.
    pub async fn gate_command(&self, device: &str) -> Option<Value> {
        Some(self.gate_shadow(device).await?["state"]["desired"]["command"].clone())
    }

    /// A gate's whole `ota` shadow document.
    pub async fn gate_shadow(&self, device: &str) -> Option<Value> {
        let thing = self.site.thing(device).as_str().to_owned();
        let shadow = ota::domain::command::SHADOW_NAME;
        let out = self.front.iot.get_thing_shadow().thing_name(thing).shadow_name(shadow).send().await.ok()?;
        serde_json::from_slice(out.payload()?.as_ref()).ok()
    }

    /// An invite's item as stored, read straight from the emulator.
    pub async fn invite_item(
        &self,
        id: &str,
    ) -> std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue> {
        let id = ota::domain::ids::InviteId::parse(id).unwrap();
        self.item(&ota::keys::invite_sk(&id)).await.expect("the invite's item")
    }

    /// An invite's SMS item as stored.
    pub async fn sms_item(
        &self,
        id: &str,
    ) -> std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue> {
        let id = ota::domain::ids::InviteId::parse(id).unwrap();
        self.item(&ota::keys::sms_sk(&id)).await.expect("the invite's SMS item")
    }

    async fn item(
        &self,
        sk: &str,
    ) -> Option<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
        use aws_sdk_dynamodb::types::AttributeValue;
        let client = aws_sdk_dynamodb::Client::new(&aws::sdk_config(self.emulator).await);
        let output = client
            .get_item()
            .table_name(&self.front.deps.config.table_name)
            .key(ota::keys::PK, AttributeValue::S(ota::keys::intercom_pk(&self.site.intercom)))
            .key(ota::keys::SK, AttributeValue::S(sk.to_owned()))
            .consistent_read(true)
            .send()
            .await
            .unwrap();
        output.item().cloned()
    }

    pub async fn sweep(&self) -> ota::handlers::sweep::SweepReport {
        self.try_sweep().await.unwrap()
    }

    /// A sweep run whose failure (a failed read of the index) is the caller's to judge.
    pub async fn try_sweep(&self) -> Result<ota::handlers::sweep::SweepReport, ota::store::StoreError> {
        ota::handlers::sweep::run(&self.front.deps).await
    }

    /// The intercom's activity as `bearer` reads it, with `query` (`limit=…&cursor=…`
    /// or `code=…`), after settling the stream.
    pub async fn activity(&self, bearer: &str, query: &str) -> (u16, Value) {
        self.settle().await;
        let path = format!("/intercoms/{}/activity?{query}", self.intercom());
        self.call(reqwest::Method::GET, &path, Some(bearer), None).await
    }

    /// The kinds of the intercom's whole activity, oldest first.
    pub async fn activity_kinds(&self) -> Vec<String> {
        let (status, body) = self.activity(&self.owner, "limit=100").await;
        assert_eq!(status, 200, "{body}");
        let mut kinds: Vec<String> =
            body["facts"].as_array().unwrap().iter().map(|f| f["kind"].as_str().unwrap().to_owned()).collect();
        kinds.reverse();
        kinds
    }

    /// The events the bus received (every delivery, duplicates included), in order.
    pub async fn events(&self) -> Vec<Value> {
        self.settle().await;
        self.front.outbox.events.events()
    }

    pub fn advance(&self, by: time::Duration) {
        self.clock.advance(by);
    }

    pub fn take_sdk_requests(&self) -> Vec<String> {
        self.requests.take()
    }
}

/// What a create returned, as the guest would use it.
#[derive(Debug, Clone)]
pub struct Invite {
    pub id: String,
    pub code: String,
    pub token: String,
    pub body: Value,
}

impl From<&Value> for Invite {
    fn from(body: &Value) -> Self {
        let link = body["link"].as_str().unwrap();
        Self {
            id: body["id"].as_str().unwrap().to_owned(),
            code: body["code"].as_str().unwrap().to_owned(),
            token: link.split_once('#').unwrap().1.to_owned(),
            body: body.clone(),
        }
    }
}

/// A code that is not `code`, for wrong-code tests.
pub fn other_code(code: &str) -> String {
    let n: u16 = code.parse().unwrap();
    format!("{:04}", (n + 1) % 10_000)
}

/// An item's size as DynamoDB counts it for capacity (names plus values; numbers
/// about one byte per two digits; 3 bytes per list or map plus 1 per element).
pub fn item_size(item: &std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>) -> usize {
    use aws_sdk_dynamodb::types::AttributeValue as V;
    fn value(v: &V) -> usize {
        match v {
            V::S(s) => s.len(),
            V::N(n) => n.trim_start_matches('-').len().div_ceil(2) + 1,
            V::B(b) => b.as_ref().len(),
            V::Bool(_) | V::Null(_) => 1,
            V::Ss(set) => set.iter().map(String::len).sum(),
            V::Ns(set) => set.iter().map(|n| n.len().div_ceil(2) + 1).sum(),
            V::L(list) => 3 + list.iter().map(|e| value(e) + 1).sum::<usize>(),
            V::M(map) => 3 + map.iter().map(|(k, e)| k.len() + value(e) + 1).sum::<usize>(),
            _ => 0,
        }
    }
    item.iter().map(|(name, v)| name.len() + value(v)).sum()
}
