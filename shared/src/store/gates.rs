//! Whether each gate is online, as its lifecycle events tell: one presence item per
//! gate thing, written by `gate-events` and read by the guest functions.

use super::attributes::bad;
use super::attributes::names::{CONNECTED, EVENT_AT, EVENT_VERSION, OFFLINE_SINCE};
use super::attributes::*;
use super::condition_failed;
use super::{request_failed, Store, StoreError};
use crate::domain::ids::ThingName;
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

/// The last lifecycle event of a gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Presence {
    pub connected: bool,
    pub version: i64,
    pub at: OffsetDateTime,
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
        match presence {
            None => Self::Unknown,
            Some(p) if !p.connected && now >= p.at + DISCONNECT_DEBOUNCE => Self::Offline { since: p.at },
            Some(_) => Self::Online,
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

fn strict_presence(item: &Item) -> Result<Presence, ItemError> {
    Ok(Presence {
        connected: item.get(CONNECTED).and_then(|v| v.as_bool().ok()).copied().ok_or_else(|| bad(CONNECTED))?,
        version: get_n(item, EVENT_VERSION)?,
        at: OffsetDateTime::from_unix_timestamp_nanos(i128::from(get_n::<i64>(item, EVENT_AT)?) * 1_000_000)
            .map_err(|_| bad(EVENT_AT))?,
    })
}

impl Store {
    /// Records a lifecycle event unless a later one (by its version) is recorded
    /// already: duplicates and events that arrive out of order change nothing.
    /// Returns whether it changed the gate's presence.
    ///
    /// A disconnect also puts the gate in the sweep's watch, due once the drop has
    /// lasted [`DISCONNECT_DEBOUNCE`]; a connect takes it out, and ends the offline
    /// spell the sweep may have declared (which the stream makes "back online").
    pub async fn record_presence(&self, thing: &ThingName, event: Presence) -> Result<bool, StoreError> {
        let millis = i64::try_from(event.at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX);
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(presence_key(thing)))
            .expression_attribute_names("#watch_pk", keys::SLOT_INDEX_PK)
            .expression_attribute_names("#watch_sk", keys::SLOT_INDEX_SK);
        update = if event.connected {
            update
                .update_expression(
                    "SET #connected = :connected, #version = :version, #at = :at REMOVE #offline, #watch_pk, #watch_sk",
                )
                .expression_attribute_names("#offline", OFFLINE_SINCE)
        } else {
            update
                .update_expression(
                    "SET #connected = :connected, #version = :version, #at = :at, #watch_pk = :watch, #watch_sk = :due",
                )
                .expression_attribute_values(":watch", s(keys::GATE_WATCH_PARTITION))
                .expression_attribute_values(":due", s(keys::gate_watch_sk(event.at + DISCONNECT_DEBOUNCE, thing)))
        };
        let result = update
            .condition_expression("attribute_not_exists(#version) OR #version < :version")
            .expression_attribute_names("#connected", CONNECTED)
            .expression_attribute_names("#version", EVENT_VERSION)
            .expression_attribute_names("#at", EVENT_AT)
            .expression_attribute_values(":connected", AttributeValue::Bool(event.connected))
            .expression_attribute_values(":version", n(event.version))
            .expression_attribute_values(":at", n(millis))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(error) if condition_failed(&error).is_some() => Ok(false),
            Err(error) => Err(request_failed(error)),
        }
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

    /// Gates whose drop has lasted the debounce by `now`, from the sweep's watch.
    pub async fn due_gate_checks(&self, now: OffsetDateTime, limit: usize) -> Result<Vec<ThingName>, StoreError> {
        self.due_in(keys::GATE_WATCH_PARTITION, now, limit, |item| {
            keys::parse_gate_pk(item.get(keys::PK)?.as_s().ok()?)
        })
        .await
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
            .condition_expression("#watch_pk = :watch AND #connected = :false AND attribute_not_exists(#offline)")
            .expression_attribute_names("#offline", OFFLINE_SINCE)
            .expression_attribute_names("#at", EVENT_AT)
            .expression_attribute_names("#connected", CONNECTED)
            .expression_attribute_names("#watch_pk", keys::SLOT_INDEX_PK)
            .expression_attribute_names("#watch_sk", keys::SLOT_INDEX_SK)
            .expression_attribute_values(":watch", s(keys::GATE_WATCH_PARTITION))
            .expression_attribute_values(":false", AttributeValue::Bool(false))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(error) if condition_failed(&error).is_some() => Ok(false),
            Err(error) => Err(request_failed(error)),
        }
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
    let (kind, at) = match (was, is) {
        (false, true) => (FactKind::GateOffline, presence.at),
        (true, false) if presence.connected => (FactKind::GateOnline, presence.at),
        _ => return Vec::new(),
    };
    let at = OffsetDateTime::from_unix_timestamp(at.unix_timestamp()).unwrap_or(at);
    new.iter()
        .filter_map(|(name, label)| {
            let intercom = crate::domain::ids::IntercomId::parse(name.strip_prefix(keys::GATE_SITE_PREFIX)?)?;
            Some(Fact {
                id: format!("{}.{}.{}", thing.as_str(), presence.version, kind.as_str()),
                at,
                kind,
                intercom,
                guest: None,
                actor: None,
                gate: Some(label.as_s().ok()?.clone()),
                reason: None,
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
        let gone = Presence { connected: false, version: 3, at };
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
}
