//! Whether each gate is online, as its lifecycle events tell: one presence item per
//! gate thing, written by `gate-events` and read by the guest functions. Which event
//! is the later is `domain::presence`'s rule, encoded here as a condition.

use super::attributes::bad;
use super::attributes::names::{CONNECTED, EVENT_AT, EVENT_SESSION, EVENT_VERSION, OFFLINE_SINCE, PROVEN_ONLINE_AT};
use super::attributes::*;
use super::written;
use super::{request_failed, Store, StoreError};
use crate::domain::ids::ThingName;
use crate::domain::presence::{LifecycleEvent, RESET_GAP, TIMESTAMP_ACCURACY};
use crate::keys;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use std::collections::HashMap;
use time::{Duration, OffsetDateTime};

/// How long a gate must stay disconnected before it counts as offline. AWS IoT
/// notices a dropped link only after 1.5x the keep-alive, and a gate that lost its
/// link usually reconnects within seconds (events may also arrive out of order), so
/// AWS advises waiting and looking again before acting on a disconnect. The wait is
/// read, not scheduled: a disconnect older than this, with no connect after it.
pub const DISCONNECT_DEBOUNCE: Duration = Duration::seconds(30);

/// What the presence item records: the gate's last lifecycle event, and the last
/// time a report proved it connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Presence {
    pub last: LifecycleEvent,
    pub proven_online_at: Option<OffsetDateTime>,
}

impl Presence {
    /// Disconnected, with nothing since that proves it back: what the debounce
    /// counts from. (A disconnect clears the proof, and a proof is recorded only
    /// when it is later than the disconnect by more than the timestamps' error, so
    /// a proof present is one since the drop.)
    fn dropped_at(&self) -> Option<OffsetDateTime> {
        (!self.last.connected && self.proven_online_at.is_none()).then_some(self.last.at)
    }
}

/// What the guest's page and the redemption may say of a gate now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateReachability {
    Online,
    /// Disconnected for longer than [`DISCONNECT_DEBOUNCE`].
    Offline {
        since: OffsetDateTime,
    },
    /// No lifecycle event recorded (a gate provisioned before any connect): tried.
    Unknown,
}

impl GateReachability {
    pub fn of(presence: Option<&Presence>, now: OffsetDateTime) -> Self {
        let Some(presence) = presence else { return Self::Unknown };
        match presence.dropped_at() {
            Some(since) if since.checked_add(DISCONNECT_DEBOUNCE).is_some_and(|due| now >= due) => {
                Self::Offline { since }
            }
            _ => Self::Online,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Online => "online",
            Self::Offline { .. } => "offline",
            Self::Unknown => "unknown",
        }
    }
}

fn presence_key(thing: &ThingName) -> Item {
    let (pk, sk) = keys::gate_presence_key(thing);
    key(pk, sk)
}

/// `None` for a gate registered at an intercom that has not connected yet.
fn presence_from_item(item: &Item) -> Result<Option<Presence>, ItemError> {
    if !item.contains_key(CONNECTED) {
        return Ok(None);
    }
    strict_presence(item).map(Some)
}

fn millis_attribute(item: &Item, name: &str) -> Result<Option<OffsetDateTime>, ItemError> {
    match item.get(name) {
        None => Ok(None),
        Some(_) => {
            let millis = get_n::<i64>(item, name)?;
            OffsetDateTime::from_unix_timestamp_nanos(i128::from(millis) * 1_000_000).map(Some).map_err(|_| bad(name))
        }
    }
}

fn strict_presence(item: &Item) -> Result<Presence, ItemError> {
    Ok(Presence {
        last: LifecycleEvent {
            connected: item.get(CONNECTED).and_then(|v| v.as_bool().ok()).copied().ok_or_else(|| bad(CONNECTED))?,
            version: get_n(item, EVENT_VERSION)?,
            at: millis_attribute(item, EVENT_AT)?.ok_or_else(|| bad(EVENT_AT))?,
        },
        proven_online_at: millis_attribute(item, PROVEN_ONLINE_AT)?,
    })
}

/// Milliseconds since the epoch, as lifecycle events and `timestamp()` count them.
pub fn millis(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(if at.year() < 1970 { i64::MIN } else { i64::MAX })
}

fn millis_value(at: OffsetDateTime) -> AttributeValue {
    n(millis(at))
}

/// `at` moved by `by`, held at the ends of time instead of overflowing.
fn shifted(at: OffsetDateTime, by: Duration) -> i64 {
    at.checked_add(by).map_or(if by.is_negative() { i64::MIN } else { i64::MAX }, millis)
}

impl Store {
    /// Records a lifecycle event if it is later than the one recorded, by
    /// `domain::presence::supersedes`, which this write's condition encodes:
    /// duplicates, events that arrive out of order and an old connection's
    /// disconnect change nothing. Returns whether it changed the gate's presence.
    ///
    /// A disconnect also puts the gate in the sweep's watch, due once the drop has
    /// lasted [`DISCONNECT_DEBOUNCE`]; a connect takes it out, and ends the offline
    /// spell the sweep may have declared (which the stream makes "back online").
    pub async fn record_presence(
        &self,
        thing: &ThingName,
        event: LifecycleEvent,
        session: Option<&str>,
    ) -> Result<bool, StoreError> {
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(presence_key(thing)))
            .expression_attribute_names("#watch_pk", keys::SLOT_INDEX_PK)
            .expression_attribute_names("#watch_sk", keys::SLOT_INDEX_SK)
            .expression_attribute_names("#session", EVENT_SESSION)
            .expression_attribute_values(":session", s(session.unwrap_or("")));
        // Of one connection's two events the disconnect is the later.
        let same_connection = if event.connected { "" } else { " OR (#version = :version AND #connected = :true)" };
        update = if event.connected {
            update
                .update_expression(
                    "SET #connected = :connected, #version = :version, #at = :at, #session = :session \
                     REMOVE #offline, #watch_pk, #watch_sk",
                )
                .expression_attribute_names("#offline", OFFLINE_SINCE)
        } else {
            let due = event.at.checked_add(DISCONNECT_DEBOUNCE).unwrap_or(event.at);
            update
                .update_expression(
                    "SET #connected = :connected, #version = :version, #at = :at, #session = :session, \
                     #watch_pk = :watch, #watch_sk = :due REMOVE #proven",
                )
                .expression_attribute_names("#proven", PROVEN_ONLINE_AT)
                .expression_attribute_values(":watch", s(keys::gate_watch_partition(thing)))
                .expression_attribute_values(":due", s(keys::gate_watch_sk(due, thing)))
                .expression_attribute_values(":true", AttributeValue::Bool(true))
        };
        let result = update
            .condition_expression(format!(
                "attribute_not_exists(#version) OR #at <= :far_before \
                 OR (#at < :far_after AND (#version < :version{same_connection}))"
            ))
            .expression_attribute_names("#connected", CONNECTED)
            .expression_attribute_names("#version", EVENT_VERSION)
            .expression_attribute_names("#at", EVENT_AT)
            .expression_attribute_values(":connected", AttributeValue::Bool(event.connected))
            .expression_attribute_values(":version", n(event.version))
            .expression_attribute_values(":at", millis_value(event.at))
            .expression_attribute_values(":far_before", n(shifted(event.at, -RESET_GAP)))
            .expression_attribute_values(":far_after", n(shifted(event.at, RESET_GAP)))
            .send()
            .await;
        written(result)
    }

    /// Records that something only a connected gate can do (its report) reached IoT
    /// Core at `received_at`. Writes only when that proves a recorded drop over: the
    /// gate is online again (and, if the sweep had declared it offline, back online)
    /// although its connect has not arrived. Returns whether it wrote.
    pub async fn record_proven_online(
        &self,
        thing: &ThingName,
        received_at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(presence_key(thing)))
            .update_expression("SET #proven = :received REMOVE #offline, #watch_pk, #watch_sk")
            .condition_expression(
                "#connected = :false AND #at < :dropped_before AND (attribute_not_exists(#proven) OR #proven < :received)",
            )
            .expression_attribute_names("#proven", PROVEN_ONLINE_AT)
            .expression_attribute_names("#offline", OFFLINE_SINCE)
            .expression_attribute_names("#watch_pk", keys::SLOT_INDEX_PK)
            .expression_attribute_names("#watch_sk", keys::SLOT_INDEX_SK)
            .expression_attribute_names("#connected", CONNECTED)
            .expression_attribute_names("#at", EVENT_AT)
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .expression_attribute_values(":received", millis_value(received_at))
            .expression_attribute_values(":dropped_before", n(shifted(received_at, -TIMESTAMP_ACCURACY)))
            .send()
            .await;
        written(result)
    }

    /// The presence of each of `things` that has one: one BatchGetItem.
    pub async fn presence_of(&self, things: &[&ThingName]) -> Result<HashMap<ThingName, Presence>, StoreError> {
        let mut unique: Vec<&ThingName> = things.to_vec();
        unique.dedup();
        let mut wanted = KeysAndAttributes::builder();
        for thing in &unique {
            wanted = wanted.keys(presence_key(thing));
        }
        let wanted = wanted.build().map_err(super::sdk)?;
        let output = self
            .client
            .batch_get_item()
            .request_items(self.table.clone(), wanted)
            .send()
            .await
            .map_err(request_failed)?;
        let mut found = HashMap::new();
        for item in output.responses().and_then(|r| r.get(&self.table)).into_iter().flatten() {
            let pk = item.get(keys::PK).and_then(|v| v.as_s().ok());
            let thing = unique.iter().find(|thing| pk == Some(&keys::gate_presence_key(thing).0));
            if let (Some(thing), Some(presence)) = (thing, presence_from_item(item)?) {
                found.insert((*thing).clone(), presence);
            }
        }
        Ok(found)
    }
}

impl Store {
    /// Provisioning: tells the gate's presence item which intercom it serves and
    /// under what label, so its offline and online facts reach that intercom's log.
    pub async fn register_gate_site(
        &self,
        thing: &ThingName,
        intercom: &crate::domain::ids::IntercomId,
        label: &str,
    ) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(presence_key(thing)))
            .update_expression("SET #site = :label")
            .expression_attribute_names("#site", format!("{}{intercom}", keys::GATE_SITE_PREFIX))
            .expression_attribute_values(":label", s(label))
            .send()
            .await
            .map_err(request_failed)?;
        Ok(())
    }

    /// Gates whose drop has lasted the debounce by `now`, from one partition of the
    /// sweep's gate watch (`keys::sweep_partitions`).
    pub async fn due_gate_checks(
        &self,
        partition: &str,
        now: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<ThingName>, StoreError> {
        self.due_in(partition, now, limit, |item| keys::parse_gate_pk(item.get(keys::PK)?.as_s().ok()?)).await
    }

    /// Declares a watched gate offline, once, if it is still disconnected: the
    /// stream makes that the "gate offline" fact. Returns whether this call did.
    pub async fn mark_offline(&self, thing: &ThingName) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(presence_key(thing)))
            .update_expression("SET #offline = #at REMOVE #watch_pk, #watch_sk")
            .condition_expression(
                "begins_with(#watch_pk, :watch) AND #connected = :false AND attribute_not_exists(#offline) \
                 AND attribute_not_exists(#proven)",
            )
            .expression_attribute_names("#proven", PROVEN_ONLINE_AT)
            .expression_attribute_names("#offline", OFFLINE_SINCE)
            .expression_attribute_names("#at", EVENT_AT)
            .expression_attribute_names("#connected", CONNECTED)
            .expression_attribute_names("#watch_pk", keys::SLOT_INDEX_PK)
            .expression_attribute_names("#watch_sk", keys::SLOT_INDEX_SK)
            .expression_attribute_values(":watch", s(keys::GATE_WATCH_PARTITION))
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .send()
            .await;
        written(result)
    }
}

/// The offline and online facts of a change of a gate's presence item, one per
/// intercom it serves: offline when the sweep declared it, online when it connected
/// again after that. Ids name the gate and the event that caused the fact.
pub fn presence_facts(old: Option<&Item>, new: &Item) -> Vec<crate::domain::activity::Fact> {
    use crate::domain::activity::{Fact, FactKind};
    let Some(thing) = new.get(keys::PK).and_then(|v| v.as_s().ok()).and_then(|pk| keys::parse_gate_pk(pk)) else {
        return Vec::new();
    };
    let offline = |item: Option<&Item>| item.is_some_and(|i| i.contains_key(OFFLINE_SINCE));
    let (was, is) = (offline(old), offline(Some(new)));
    let Ok(Some(presence)) = presence_from_item(new) else { return Vec::new() };
    let (kind, at) = match (was, is, presence.proven_online_at) {
        (false, true, _) => (FactKind::GateOffline, presence.last.at),
        (true, false, _) if presence.last.connected => (FactKind::GateOnline, presence.last.at),
        (true, false, Some(proven)) => (FactKind::GateOnline, proven),
        _ => return Vec::new(),
    };
    let at = OffsetDateTime::from_unix_timestamp(at.unix_timestamp()).unwrap_or(at);
    // Unique per intercom and per spell (a version is shared by a connection's two
    // events and starts again at 0 after an hour offline; the time is not), and the
    // same on every delivery of the change.
    let spell = millis(at);
    new.iter()
        .filter_map(|(name, label)| {
            let intercom = crate::domain::ids::IntercomId::parse(name.strip_prefix(keys::GATE_SITE_PREFIX)?)?;
            Some(Fact {
                id: format!("{}.{}.{spell}.{}", intercom, thing.as_str(), kind.as_str()),
                at,
                kind,
                intercom,
                guest: None,
                actor: None,
                gate: Some(label.as_s().ok()?.clone()),
                reason: None,
                starts_at: None,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_disconnect_counts_only_once_it_has_lasted_the_debounce() {
        let at = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        let gone = Presence { last: LifecycleEvent { connected: false, version: 3, at }, proven_online_at: None };
        assert_eq!(GateReachability::of(Some(&gone), at + Duration::seconds(5)), GateReachability::Online);
        assert_eq!(
            GateReachability::of(Some(&gone), at + DISCONNECT_DEBOUNCE),
            GateReachability::Offline { since: at }
        );
        assert_eq!(GateReachability::of(None, at), GateReachability::Unknown);
        let item = HashMap::from([
            (CONNECTED.to_owned(), AttributeValue::Bool(false)),
            (EVENT_VERSION.to_owned(), n(3)),
            (EVENT_AT.to_owned(), n(at.unix_timestamp() * 1000)),
        ]);
        assert_eq!(presence_from_item(&item).unwrap(), Some(gone));
        assert_eq!(presence_from_item(&HashMap::new()).unwrap(), None, "registered, never connected");
    }

    #[test]
    fn a_gate_serving_two_intercoms_gives_each_its_own_event_id() {
        let at = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        let (pk, _) = keys::gate_presence_key(&ThingName::parse("north-gate-main").unwrap());
        let mut old = HashMap::from([
            (keys::PK.to_owned(), s(&pk)),
            (CONNECTED.to_owned(), AttributeValue::Bool(false)),
            (EVENT_VERSION.to_owned(), n(2)),
            (EVENT_AT.to_owned(), n(millis(at))),
            (format!("{}ic-north-1", keys::GATE_SITE_PREFIX), s("North gate")),
            (format!("{}ic-north-2", keys::GATE_SITE_PREFIX), s("North gate")),
        ]);
        let mut new = old.clone();
        new.insert(OFFLINE_SINCE.to_owned(), n(millis(at)));
        let offline = presence_facts(Some(&old), &new);
        assert_eq!(offline.len(), 2);
        assert_ne!(offline[0].id, offline[1].id, "a consumer de-duplicating by event_id keeps both");
        // The next spell offline, after a reconnect whose version reset to 0, is another fact.
        old.insert(EVENT_AT.to_owned(), n(millis(at + Duration::hours(2))));
        new.insert(EVENT_AT.to_owned(), n(millis(at + Duration::hours(2))));
        let later = presence_facts(Some(&old), &new);
        assert!(later.iter().all(|fact| offline.iter().all(|earlier| earlier.id != fact.id)));
    }
}
