//! The gates of the local stack: a simulator that follows the firmware contract
//! (README, "Gate firmware contract") against moto's shadows, and the routing an
//! IoT topic rule would do.
//!
//! moto has no devices and no MQTT: nothing is pushed to a gate and its topic rules
//! never fire. So the functions' IoT client carries a tap ([`ShadowDeltas`]) that
//! hands each shadow update moto accepted to the gate, as IoT Core publishes it on
//! `update/delta` (every command, even two guests' within a second); a gate that
//! was offline reads its shadow when it comes back, as a device does on reconnect,
//! and every gate also reads it once a second (an update whose answer was lost on
//! the way back to the function never reaches the tap). Each gate acts on each
//! command id once, writes its report to the shadow's
//! `reported` section, and hands the backend what the report rule would deliver —
//! in the shape that rule's SQL makes of the shadow's `update/accepted` message —
//! by calling the `gate-events` handler in process, as the rule's Lambda action
//! would invoke the function. Connecting and disconnecting deliver lifecycle events
//! as AWS documents them (see [`lifecycle_event`]): a connection's connect and
//! disconnect share its version and session, versions skip, the version starts
//! again at 0 after an hour offline, timestamps are milliseconds; a gate can be
//! told to have its events delivered twice, or late ([`Delivery`]).
//!
//! Each gate can be online, offline (reads nothing, reports nothing until it is
//! back), slow (acts N seconds after it first reads a command), mute (acts, never
//! reports), failing (cannot open, reports `failed`) or skewed (its clock N seconds
//! off). Every opening is recorded, so the
//! tests can count openings per entry and per exit.

use ota::domain::command::SHADOW_NAME;
use ota::Deps;

mod shapes;
mod tap;

use serde::Serialize;
use serde_json::{json, Value};
pub use shapes::{lifecycle_event, report_event};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;
pub use tap::ShadowDeltas;
use time::OffsetDateTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum Mode {
    Online,
    Offline,
    /// Acts this many seconds after it first reads a command.
    Slow {
        seconds: i64,
    },
    /// Opens, but never reports.
    Mute,
    /// Tries and cannot open (a motor fault): reports `failed`.
    Failing,
    /// Its clock is this many seconds ahead (negative: behind).
    Skewed {
        seconds: i64,
    },
}

impl Mode {
    /// `online`, `offline`, `mute`, `slow` or `skewed`, with `seconds` for the last two.
    pub fn parse(name: &str, seconds: Option<i64>) -> Option<Self> {
        Some(match (name, seconds) {
            ("online", _) => Self::Online,
            ("offline", _) => Self::Offline,
            ("mute", _) => Self::Mute,
            ("failing", _) => Self::Failing,
            ("slow", Some(seconds)) if seconds >= 0 => Self::Slow { seconds },
            ("skewed", Some(seconds)) => Self::Skewed { seconds },
            _ => return None,
        })
    }
}

/// One time a gate opened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Opening {
    pub command_id: String,
    /// `<intercom>.<invite>` of the command, and its reason: one passage.
    pub passage: String,
    pub at: i64,
}

/// How a gate's lifecycle events reach the backend: AWS says "Lifecycle messages
/// might be sent out of order. You might receive duplicate messages."
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Delivery {
    /// Every event is delivered twice.
    pub duplicate: bool,
    /// Every event is followed by the one before it, delivered again, late.
    pub reorder: bool,
}

/// After this long offline AWS starts a client's versions again at 0 ("If a client
/// is not connected for approximately one hour, the version number is reset to 0").
pub const VERSION_RESET_AFTER: time::Duration = time::Duration::hours(1);

#[derive(Debug)]
struct Gate {
    mode: Mode,
    /// The version of its current (or last) connection: its connect and its
    /// disconnect carry the same one.
    version: i64,
    /// Connections made, which decides how far the next version skips.
    connections: i64,
    /// When its last connection dropped.
    dropped_at: Option<OffsetDateTime>,
    delivery: Delivery,
    /// Its last lifecycle event, for a late second delivery.
    last_event: Option<Value>,
    /// Command ids its shadow lists as withdrawn (`desired.withdrawn`): never acted on.
    withdrawn: std::collections::HashSet<String>,
    /// Command ids acted on, with the report made (re-sent on reconnect).
    handled: HashMap<String, Value>,
    /// When each command was first read (a slow gate acts some time later).
    first_read: HashMap<String, OffsetDateTime>,
    /// The passages it opened for, and when: a second command for one of them is
    /// answered with the first opening, not a second one.
    opened_for: HashMap<String, i64>,
    openings: Vec<Opening>,
    last_report: Option<Value>,
}

pub struct GateSimulator {
    deps: Deps,
    iot: aws_sdk_iotdataplane::Client,
    deltas: ShadowDeltas,
    gates: Mutex<BTreeMap<String, Gate>>,
    /// One scan at a time, so a command is acted on once.
    scanning: tokio::sync::Mutex<()>,
    wake: tokio::sync::Notify,
}

/// How often every online gate reads its shadow when nothing woke it.
const POLL: Duration = Duration::from_secs(1);

impl GateSimulator {
    /// `iot` is the gates' own client (straight to the emulator); `deltas` the tap on
    /// the functions' IoT client.
    pub fn new(deps: Deps, iot: aws_sdk_iotdataplane::Client, deltas: ShadowDeltas) -> Arc<Self> {
        Arc::new(Self {
            deps,
            iot,
            deltas,
            gates: Mutex::new(BTreeMap::new()),
            scanning: tokio::sync::Mutex::new(()),
            wake: tokio::sync::Notify::new(),
        })
    }

    /// The functions' dependencies as the local stack runs them — their IoT client
    /// tapped for shadow deltas — and the gates those deltas reach, started.
    pub fn with_functions(
        config: ota::config::Config,
        dynamo: aws_sdk_dynamodb::Client,
        sdk: &aws_config::SdkConfig,
        clock: Arc<dyn ota::clock::Clock>,
        events: crate::outbox::EventTap,
    ) -> Result<(Deps, Arc<Self>), String> {
        let deltas = ShadowDeltas::default();
        let functions_iot = aws_sdk_iotdataplane::config::Builder::from(sdk).interceptor(deltas.clone()).build();
        let deps = Deps::from_clients(
            config,
            dynamo,
            aws_sdk_sns::Client::new(sdk),
            aws_sdk_iotdataplane::Client::from_conf(functions_iot),
            aws_sdk_eventbridge::Client::from_conf(
                aws_sdk_eventbridge::config::Builder::from(sdk).interceptor(events).build(),
            ),
            clock,
        )
        .map_err(|e| e.to_string())?;
        let gates = Self::new(deps.clone(), aws_sdk_iotdataplane::Client::new(sdk), deltas);
        gates.spawn();
        Ok((deps, gates))
    }

    fn now(&self) -> OffsetDateTime {
        self.deps.clock.now()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Gate>> {
        self.gates.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Adds a gate, online: it connects (a lifecycle event) and reads its shadow.
    pub async fn add(&self, thing: &str) {
        self.lock().insert(
            thing.to_owned(),
            Gate {
                mode: Mode::Offline,
                version: 0,
                connections: 0,
                dropped_at: None,
                delivery: Delivery::default(),
                last_event: None,
                withdrawn: std::collections::HashSet::new(),
                handled: HashMap::new(),
                first_read: HashMap::new(),
                opened_for: HashMap::new(),
                openings: Vec::new(),
                last_report: None,
            },
        );
        self.set_mode(thing, Mode::Online).await;
    }

    /// Plays `thing` from now on, if it does not already: creates it in the emulator
    /// (device management's job in production) and connects it. Returns whether it
    /// was new.
    pub async fn play(&self, thing: &str, emulator: &str) -> Result<bool, String> {
        if self.mode(thing).is_some() {
            return Ok(false);
        }
        ota::domain::ids::ThingName::parse(thing).ok_or_else(|| format!("{thing:?} is not a thing name"))?;
        crate::seed::create_thing(emulator, thing).await?;
        self.add(thing).await;
        Ok(true)
    }

    /// Plays every gate that provisioning registers (`LocalOutbox` sees its presence
    /// item on the table's stream), checking once a second.
    pub fn follow_provisioning(self: &Arc<Self>, outbox: Arc<crate::outbox::LocalOutbox>, emulator: String) {
        let me = Arc::clone(self);
        tokio::spawn(async move {
            loop {
                for thing in outbox.take_registered_gates() {
                    match me.play(&thing, &emulator).await {
                        Ok(true) => tracing::info!(thing, "simulating a newly registered gate"),
                        Ok(false) => {}
                        Err(error) => tracing::warn!(thing, %error, "could not simulate a registered gate"),
                    }
                }
                tokio::time::sleep(POLL).await;
            }
        });
    }

    /// Runs the gates until the process ends: a scan when woken, and once a second.
    pub fn spawn(self: &Arc<Self>) {
        let me = Arc::clone(self);
        tokio::spawn(async move {
            loop {
                let _ = tokio::time::timeout(POLL, me.wake.notified()).await;
                me.scan().await;
            }
        });
    }

    /// Where IoT Core would push a shadow delta: the gates read their shadows soon.
    pub fn nudge(&self) {
        self.wake.notify_one();
    }

    /// Reads every online gate's shadow now and acts on what it finds; returns when
    /// every report it made has been handled by the backend.
    pub async fn settle(&self) {
        self.scan().await;
    }

    /// Only what IoT Core pushed since the last scan (the deltas), without reading
    /// every gate's shadow: what a fleet of thousands of gates can afford per step.
    pub async fn settle_pushed(&self) {
        let _one_at_a_time = self.scanning.lock().await;
        self.deliver_deltas().await;
    }

    pub fn mode(&self, thing: &str) -> Option<Mode> {
        self.lock().get(thing).map(|gate| gate.mode)
    }

    /// Every gate with its mode and openings.
    pub fn describe(&self) -> Value {
        let gates = self.lock();
        Value::Object(
            gates
                .iter()
                .map(|(thing, gate)| (thing.clone(), json!({ "mode": gate.mode, "openings": gate.openings })))
                .collect(),
        )
    }

    pub fn openings(&self, thing: &str) -> Vec<Opening> {
        self.lock().get(thing).map(|gate| gate.openings.clone()).unwrap_or_default()
    }

    /// Changes a gate's behaviour. Going offline disconnects it; coming back connects
    /// it, re-sends its last report (the contract's "re-send on reconnect") and reads
    /// its shadow. Returns `false` for an unknown gate.
    pub async fn set_mode(&self, thing: &str, mode: Mode) -> bool {
        let (events, resend) = {
            let mut gates = self.lock();
            let Some(gate) = gates.get_mut(thing) else { return false };
            let was_online = gate.mode != Mode::Offline;
            let online = mode != Mode::Offline;
            gate.mode = mode;
            if was_online == online {
                (Vec::new(), None)
            } else {
                let now = self.now();
                if online {
                    gate.version = next_version(gate, now);
                    gate.connections += 1;
                } else {
                    gate.dropped_at = Some(now);
                }
                let session = format!("00000000-0000-4000-8000-{:012}", gate.connections);
                let event = lifecycle_event(thing, online, gate.version, &session, now);
                let mut events = vec![event.clone()];
                if gate.delivery.duplicate {
                    events.push(event.clone());
                }
                if let (true, Some(previous)) = (gate.delivery.reorder, gate.last_event.take()) {
                    events.push(previous);
                }
                gate.last_event = Some(event);
                (events, if online { gate.last_report.clone() } else { None })
            }
        };
        for delivery in events.iter().chain(resend.iter()) {
            self.deliver(delivery).await;
        }
        // This gate reads its own shadow (on connecting, the contract says); the rest
        // are left alone, so adding a fleet's gates one by one costs the fleet's size.
        let _one_at_a_time = self.scanning.lock().await;
        self.deliver_deltas().await;
        if mode != Mode::Offline {
            if let Some(report) = self.desired_command(thing).await.and_then(|command| self.act(thing, mode, &command))
            {
                self.report(thing, report).await;
            }
        }
        true
    }

    /// How a gate's lifecycle events are delivered from now on.
    pub fn set_delivery(&self, thing: &str, delivery: Delivery) -> bool {
        self.lock().get_mut(thing).map(|gate| gate.delivery = delivery).is_some()
    }

    async fn deliver(&self, event: &Value) {
        if let Err(error) = ota::handlers::gate_events::handle(&self.deps, event).await {
            tracing::warn!(error = %error, "gate-events failed on a simulated delivery");
        }
    }

    async fn scan(&self) {
        let _one_at_a_time = self.scanning.lock().await;
        self.deliver_deltas().await;
        let things: Vec<(String, Mode)> = self
            .lock()
            .iter()
            .filter(|(_, gate)| gate.mode != Mode::Offline)
            .map(|(thing, gate)| (thing.clone(), gate.mode))
            .collect();
        for (thing, mode) in things {
            let Some(command) = self.desired_command(&thing).await else { continue };
            if let Some(report) = self.act(&thing, mode, &command) {
                self.report(&thing, report).await;
            }
        }
    }

    /// Every delta pushed since the last scan, to the gates that are online.
    async fn deliver_deltas(&self) {
        let mut later = Vec::new();
        let (withdrawals, commands): (Vec<_>, Vec<_>) =
            self.deltas.take().into_iter().partition(|(_, delta)| delta["withdrawn"].is_object());
        // A withdrawal the gate has heard of stops a command it has not acted on yet,
        // whichever delta came first.
        for (thing, withdrawal) in withdrawals {
            if self.mode(&thing).is_some_and(|mode| mode != Mode::Offline) {
                self.note_withdrawn(&thing, &withdrawal["withdrawn"]);
            }
        }
        for (thing, command) in commands {
            let Some(mode) = self.mode(&thing).filter(|mode| *mode != Mode::Offline) else { continue };
            match self.act(&thing, mode, &command) {
                Some(report) => self.report(&thing, report).await,
                // A slow gate acts on it later, unless it is withdrawn meanwhile.
                None if matches!(mode, Mode::Slow { .. }) => later.push((thing, command)),
                None => {}
            }
        }
        self.deltas.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).extend(later);
    }

    async fn desired_command(&self, thing: &str) -> Option<Value> {
        let shadow = self.iot.get_thing_shadow().thing_name(thing).shadow_name(SHADOW_NAME).send().await.ok()?;
        let doc: Value = serde_json::from_slice(shadow.payload()?.as_ref()).ok()?;
        self.note_withdrawn(thing, &doc["state"]["desired"]["withdrawn"]);
        let command = doc["state"]["desired"]["command"].clone();
        command["id"].is_string().then_some(command)
    }

    fn note_withdrawn(&self, thing: &str, withdrawn: &Value) {
        if let (Some(gate), Some(ids)) = (self.lock().get_mut(thing), withdrawn.as_object()) {
            gate.withdrawn.extend(ids.iter().filter(|(_, v)| !v.is_null()).map(|(id, _)| id.clone()));
        }
    }

    /// What the gate does with `command`, by the contract: the report to make, if any.
    fn act(&self, thing: &str, mode: Mode, command: &Value) -> Option<Value> {
        let id = command["id"].as_str()?.to_owned();
        let mut gates = self.lock();
        let gate = gates.get_mut(thing)?;
        if gate.handled.contains_key(&id) {
            return None;
        }
        if gate.withdrawn.contains(&id) {
            // The contract's rule 2: a withdrawn command is never acted on.
            gate.handled.insert(id, Value::Null);
            return None;
        }
        let real_now = self.now();
        let skew = match mode {
            Mode::Skewed { seconds } => time::Duration::seconds(seconds),
            _ => time::Duration::ZERO,
        };
        let first_read = *gate.first_read.entry(id.clone()).or_insert(real_now);
        if let Mode::Slow { seconds } = mode {
            if real_now < first_read + time::Duration::seconds(seconds) {
                return None;
            }
        }
        let gate_now = (real_now + skew).unix_timestamp();
        let passage = format!(
            "{}.{}",
            id.rsplit_once('.').map(|(invite, _)| invite).unwrap_or_default(),
            command["reason"].as_str().unwrap_or_default()
        );
        let outcome = match gate.opened_for.get(&passage) {
            Some(&at) => ("opened", at),
            None if mode == Mode::Failing => ("failed", gate_now),
            None if command["not_after"].as_i64().is_some_and(|not_after| gate_now < not_after) => {
                gate.opened_for.insert(passage.clone(), gate_now);
                gate.openings.push(Opening { command_id: id.clone(), passage, at: gate_now });
                ("opened", gate_now)
            }
            None => ("too_late", gate_now),
        };
        let report = json!({ "command_id": id, "outcome": outcome.0, "at": outcome.1 });
        gate.handled.insert(id, report.clone());
        if mode == Mode::Mute {
            return None;
        }
        gate.last_report = Some(report_event(thing, &report, real_now));
        Some(report)
    }

    /// Writes the report to the shadow's `reported` section (the shadow keeps it),
    /// and delivers what the report rule would.
    async fn report(&self, thing: &str, report: Value) {
        let document = json!({ "state": { "reported": { "result": report } } });
        let written = self
            .iot
            .update_thing_shadow()
            .thing_name(thing)
            .shadow_name(SHADOW_NAME)
            .payload(aws_sdk_iotdataplane::primitives::Blob::new(document.to_string()))
            .send()
            .await;
        if let Err(error) = written {
            tracing::warn!(thing, error = %error, "simulated gate could not write its report");
            return;
        }
        self.deliver(&report_event(thing, &report, self.now())).await;
    }
}

/// The version of a gate's next connection: AWS's is "a monotonically increasing
/// long integer value for each client ID connection", which "might skip values and
/// is not guaranteed to be consistently increasing by 1 for each event", and is
/// "reset to 0" after about an hour offline. This one skips one value on every
/// third connection.
fn next_version(gate: &Gate, now: OffsetDateTime) -> i64 {
    match gate.dropped_at {
        Some(dropped) if now - dropped >= VERSION_RESET_AFTER => 0,
        _ if gate.connections == 0 => 1,
        _ => gate.version + if gate.connections % 3 == 2 { 2 } else { 1 },
    }
}
