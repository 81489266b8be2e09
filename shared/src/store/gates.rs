//! Whether each gate is online, as its lifecycle events tell: one presence item per
//! gate thing, written by `gate-events` and read by the guest functions.

use super::attributes::names::{CONNECTED, EVENT_AT, EVENT_VERSION};
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

fn presence_from_item(item: &Item) -> Result<Presence, ItemError> {
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
    pub async fn record_presence(&self, thing: &ThingName, event: Presence) -> Result<bool, StoreError> {
        let millis = i64::try_from(event.at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(presence_key(thing)))
            .update_expression("SET #connected = :connected, #version = :version, #at = :at")
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
            if let Some(thing) = thing {
                found.insert((*thing).clone(), presence_from_item(item)?);
            }
        }
        Ok(found)
    }
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
        assert_eq!(presence_from_item(&item).unwrap(), gone);
    }
}
