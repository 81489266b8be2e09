//! The firmware contract's messages: the door command the backend puts in a gate's
//! `ota` shadow, and what reaches the backend from gates through IoT Core's topic
//! rules (a gate's report on a command, a gate connecting or disconnecting).
//!
//! A gate that was offline may read its shadow minutes later. Each command therefore
//! carries an id (a gate acts on an id once) and a `not_after` time (a gate ignores a
//! command it reads later by its own clock), so a late delivery opens nothing.
//!
//! The id names the invite and the attempt that spent the passage, and nothing else
//! is needed to find them again: every repeat of the attempt (an SDK retry, the
//! page's retry, a Lambda retry) sends the very same command, and a gate's report on
//! it leads straight back to the invite. It is no secret: the guest and the gate see it.

use super::ids::{IntercomId, InviteId, ThingName};
use super::passage::COMMAND_VALIDITY;
use super::presence::LifecycleEvent;
use super::redemption::{AttemptKey, Redemption};
use serde_json::{json, Value};
use time::OffsetDateTime;

/// The named shadow this feature uses on each gate thing: other shadow users of the
/// device (its firmware, Fluss's own features) are never disturbed.
pub const SHADOW_NAME: &str = "ota";

/// `<intercom>.<invite>.<attempt key>`: every part is letters, digits, `-` and `_`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandId {
    pub intercom: IntercomId,
    pub invite: InviteId,
    pub attempt: AttemptKey,
}

impl CommandId {
    pub fn parse(raw: &str) -> Option<Self> {
        let mut parts = raw.split('.');
        let (intercom, invite, attempt) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        Some(Self {
            intercom: IntercomId::parse(intercom)?,
            invite: InviteId::parse(invite)?,
            attempt: AttemptKey::parse(attempt)?,
        })
    }

    /// Which passage the attempt was for.
    pub fn redemption(&self) -> Redemption {
        self.attempt.redemption()
    }
}

impl std::fmt::Display for CommandId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.intercom, self.invite, self.attempt.as_str())
    }
}

#[derive(Debug, Clone)]
pub struct DoorCommand {
    pub id: CommandId,
    pub redemption: Redemption,
    pub issued_at: OffsetDateTime,
    pub not_after: OffsetDateTime,
}

impl DoorCommand {
    /// The command of the attempt stored under `attempt`, recorded at `issued_at`.
    pub fn for_attempt(
        intercom: &IntercomId,
        invite: &InviteId,
        attempt: &AttemptKey,
        issued_at: OffsetDateTime,
    ) -> Self {
        Self {
            id: CommandId { intercom: intercom.clone(), invite: invite.clone(), attempt: attempt.clone() },
            redemption: attempt.redemption(),
            issued_at,
            not_after: issued_at.saturating_add(COMMAND_VALIDITY),
        }
    }

    /// Whether a gate would still act on it.
    pub fn still_valid(&self, now: OffsetDateTime) -> bool {
        now < self.not_after
    }

    /// The update of the `ota` shadow's desired state that the gate firmware reads.
    pub fn shadow_document(&self) -> Value {
        json!({
            "state": {
                "desired": {
                    "command": {
                        "id": self.id.to_string(),
                        "action": "open",
                        "reason": self.redemption.as_str(),
                        "issued_at": self.issued_at.unix_timestamp(),
                        "not_after": self.not_after.unix_timestamp(),
                    }
                }
            }
        })
    }

    /// The update that withdraws this command from a shadow whose current document is
    /// `shadow` (`Null` if it has none): its id listed under `desired.withdrawn` with
    /// its not-after (entries whose not-after passed by `now` are dropped), and the
    /// command taken out of `desired.command` if it is still the one there. Guarded by
    /// the shadow's version when it has one. Also says whether it was still the one.
    pub fn withdrawal_document(&self, shadow: &Value, now: OffsetDateTime) -> (Value, bool) {
        let id = self.id.to_string();
        let desired = &shadow["state"]["desired"];
        let current = desired["command"]["id"].as_str() == Some(id.as_str());
        let now = now.unix_timestamp();
        let mut withdrawn = serde_json::Map::new();
        for (old, not_after) in desired["withdrawn"].as_object().into_iter().flatten() {
            if not_after.as_i64().is_none_or(|not_after| not_after < now) {
                withdrawn.insert(old.clone(), Value::Null);
            }
        }
        withdrawn.insert(id, json!(self.not_after.unix_timestamp()));
        let mut update = json!({ "state": { "desired": { "withdrawn": withdrawn } } });
        if current {
            update["state"]["desired"]["command"] = Value::Null;
        }
        if let Some(version) = shadow["version"].as_i64() {
            update["version"] = json!(version);
        }
        (update, current)
    }
}

/// What a gate says it did with a command (`reported.result.outcome`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It opened (within the command's not-after, by its own clock).
    Opened,
    /// It read the command after its not-after and did nothing.
    TooLate,
    /// It tried and could not open (motor fault, obstruction).
    Failed,
}

impl Outcome {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "opened" => Some(Self::Opened),
            "too_late" => Some(Self::TooLate),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Opened => "opened",
            Self::TooLate => "too_late",
            Self::Failed => "failed",
        }
    }
}

/// One message from the gates, as the topic rules deliver it to `gate-events`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GateEvent {
    /// A gate's report on a command (rule on `$aws/things/+/shadow/name/ota/update/accepted`).
    Report(Report),
    /// A lifecycle event (rule on `$aws/events/presence/+/+`); the gate's MQTT client
    /// id is its thing name. See `domain::presence` for how events are ordered.
    Presence { thing: ThingName, event: LifecycleEvent, session: Option<String> },
}

/// A gate's report. What happened is the gate's word; when, IoT Core's: the rule's
/// `timestamp() AS received_at` (milliseconds). The gate's own clock (`result.at`)
/// is only a diagnostic: firmware clocks drift, reset to 1970 and send milliseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub thing: ThingName,
    /// The report's command, if it names one this service issued.
    pub command: Result<CommandId, UnreadableEvent>,
    pub outcome: Result<Outcome, UnreadableEvent>,
    /// When IoT Core received it; `None` only if the rule did not say (then the
    /// function's own clock stands in).
    pub received_at: Option<OffsetDateTime>,
    /// `result.at` as the gate sent it, read as seconds; `None` if absent, not a
    /// number, or not a time (a millisecond value is not read as seconds).
    pub gate_at: Option<OffsetDateTime>,
}

/// A gate's clock is believed no further than this from IoT Core's (beyond it the
/// value is not a time in seconds: milliseconds, or a clock that never set).
const GATE_CLOCK_SANITY: time::Duration = time::Duration::days(366 * 5);

impl Report {
    /// How far the gate's clock is ahead of IoT Core's (negative: behind), if both
    /// are known and the gate's is a time at all.
    pub fn clock_skew(&self) -> Option<time::Duration> {
        let skew = self.gate_at? - self.received_at?;
        (skew.abs() <= GATE_CLOCK_SANITY).then_some(skew)
    }
}

/// Why a delivered message is not one this service acts on. Logged and dropped: a
/// retry would not make it readable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a gate event this service reads: {0}")]
pub struct UnreadableEvent(pub &'static str);

impl GateEvent {
    pub fn parse(event: &Value) -> Result<Self, UnreadableEvent> {
        fn text<'v>(value: &'v Value, what: &'static str) -> Result<&'v str, UnreadableEvent> {
            value.as_str().ok_or(UnreadableEvent(what))
        }
        if let Some(kind) = event.get("eventType") {
            let connected = match text(kind, "eventType")? {
                "connected" => true,
                "disconnected" => false,
                _ => return Err(UnreadableEvent("eventType is neither connected nor disconnected")),
            };
            let thing = ThingName::parse(text(&event["clientId"], "clientId")?).ok_or(UnreadableEvent("clientId"))?;
            let version = event["versionNumber"].as_i64().ok_or(UnreadableEvent("versionNumber"))?;
            let at = millis(&event["timestamp"]).ok_or(UnreadableEvent("timestamp"))?;
            let session = event["sessionIdentifier"].as_str().filter(|s| s.len() <= 64).map(str::to_owned);
            return Ok(Self::Presence { thing, event: LifecycleEvent { connected, version, at }, session });
        }
        let result = &event["result"];
        let thing = ThingName::parse(text(&event["thing"], "thing")?).ok_or(UnreadableEvent("thing"))?;
        let command = text(&result["command_id"], "result.command_id")
            .and_then(|raw| CommandId::parse(raw).ok_or(UnreadableEvent("result.command_id")));
        let outcome = text(&result["outcome"], "result.outcome")
            .and_then(|raw| Outcome::parse(raw).ok_or(UnreadableEvent("result.outcome")));
        let gate_at = result["at"].as_i64().and_then(|at| OffsetDateTime::from_unix_timestamp(at).ok());
        Ok(Self::Report(Report { thing, command, outcome, received_at: millis(&event["received_at"]), gate_at }))
    }
}

fn millis(value: &Value) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(value.as_i64()?) * 1_000_000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::code::AccessCode;
    use crate::domain::redemption::AttemptId;

    fn command(now: OffsetDateTime) -> DoorCommand {
        let invite = InviteId::generate(now);
        let attempt = AttemptId::generate().key(Redemption::Entry, &AccessCode::parse("4821").unwrap());
        DoorCommand::for_attempt(&IntercomId::parse("ic-demo").unwrap(), &invite, &attempt, now)
    }

    #[test]
    fn a_command_names_its_attempt_and_expires_shortly_after_issue() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let a = command(now);
        assert_eq!(CommandId::parse(&a.id.to_string()), Some(a.id.clone()));
        assert_eq!(a.id.redemption(), Redemption::Entry);
        assert!(a.still_valid(now) && !a.still_valid(a.not_after));
        let doc = a.shadow_document();
        assert_eq!(doc["state"]["desired"]["command"]["not_after"], 20);
        assert_eq!(doc["state"]["desired"]["command"]["action"], "open");
        for bad in ["", "a.b", "ic.short.eAAAAAAAAAAA", "ic..x", &format!("{}.extra", a.id)] {
            assert_eq!(CommandId::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn reports_and_lifecycle_events_are_read_in_the_shapes_aws_sends() {
        let id = command(OffsetDateTime::UNIX_EPOCH).id;
        let report = json!({"thing": "demo-gate-main", "result": {"command_id": id.to_string(), "outcome": "opened", "at": 1_800_000_000}, "received_at": 1});
        match GateEvent::parse(&report) {
            Ok(GateEvent::Report(report)) => {
                assert_eq!(report.outcome, Ok(Outcome::Opened));
                assert_eq!(report.received_at, Some(OffsetDateTime::UNIX_EPOCH + time::Duration::milliseconds(1)));
            }
            other => panic!("{other:?}"),
        }
        let presence = json!({"clientId": "demo-gate-main", "timestamp": 1_800_000_000_123_i64, "eventType": "disconnected",
            "clientInitiatedDisconnect": false, "sessionIdentifier": "00000000-0000-0000-0000-000000000000",
            "principalIdentifier": "12345678901234567890123456789012", "disconnectReason": "MQTT_KEEP_ALIVE_TIMEOUT", "versionNumber": 7});
        match GateEvent::parse(&presence) {
            Ok(GateEvent::Presence { event: LifecycleEvent { connected: false, version: 7, at }, session, .. }) => {
                assert_eq!(at.unix_timestamp(), 1_800_000_000);
                assert_eq!(session.as_deref(), Some("00000000-0000-0000-0000-000000000000"));
            }
            other => panic!("{other:?}"),
        }
        match GateEvent::parse(&json!({"thing": "t", "result": {"command_id": "x", "outcome": "opened", "at": 1}})) {
            Ok(GateEvent::Report(report)) => assert!(report.command.is_err(), "still the gate's report"),
            other => panic!("{other:?}"),
        }
        assert!(GateEvent::parse(&json!({"thing": "", "result": {}})).is_err());
        assert!(GateEvent::parse(&json!({"eventType": "subscribed", "clientId": "t"})).is_err());
    }

    #[test]
    fn a_report_is_read_whatever_the_gate_s_clock_says() {
        let id = command(OffsetDateTime::UNIX_EPOCH).id.to_string();
        let received = 1_800_000_000_000_i64;
        for (at, skew) in [
            (json!(1_800_000_030), Some(30)),
            (json!(253_402_300_799_i64), None),
            (json!(-5), None),
            (json!(1_800_000_000_000_i64), None),
            (json!("soon"), None),
            (Value::Null, None),
        ] {
            let event = json!({"thing": "demo-gate-main", "result": {"command_id": id, "outcome": "opened", "at": at}, "received_at": received});
            let Ok(GateEvent::Report(report)) = GateEvent::parse(&event) else { panic!("{event}") };
            assert_eq!(report.outcome, Ok(Outcome::Opened), "{at}: what happened is believed");
            assert_eq!(report.clock_skew().map(|s| s.whole_seconds()), skew, "{at}");
        }
    }
}
