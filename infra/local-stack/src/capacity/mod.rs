//! The capacity model: every DynamoDB request the functions make while a simulated
//! fleet goes through its day, recorded at the SDK ([`CapacityTap`]), turned into the
//! read and write units each partition key (of the table and of its index) takes,
//! and scaled to a fleet of millions at its diurnal peak ([`Model`]).
//!
//! What it counts, by DynamoDB's own rules (Developer Guide, "Read/write capacity
//! mode"): a read unit is one strongly consistent read of up to 4 KB (half for an
//! eventually consistent one), a write unit one write of up to 1 KB; transactions
//! take twice as many of each; a Query is charged on the sum of the items it
//! returns; an index write costs a write unit on the index's partition (the index
//! projects keys only). Item sizes are the sum of attribute names and values
//! ("Item sizes and formats"), from the items the requests and answers carry; an
//! `UpdateItem`'s is the last size seen of its item.
//!
//! How it scales: a key named after one of the simulated intercoms, users, gates or
//! invites carries that entity's load at any fleet size; any other key (a shard, a
//! fixed name) is shared, and carries its share of the whole fleet's load, so its
//! rate grows with the fleet. The limits are DynamoDB's per partition: 1,000 write
//! and 3,000 read units a second ("Partitions and data distribution"); the model
//! asks for a tenth of each, the headroom a key needs for bursts.

//!
//! Layout: [`tap`] records the requests, [`usage`] turns them into units per key,
//! and this module scales them ([`Fleet`], [`Model`]) and prints the table.

mod tap;
mod usage;

use std::collections::BTreeMap;
pub use tap::{CapacityTap, Exchange};
pub use usage::{item_size, Load, PartitionKey, Usage};

/// DynamoDB's limits per partition, a second.
pub const PARTITION_WRITE_UNITS: f64 = 1_000.0;
pub const PARTITION_READ_UNITS: f64 = 3_000.0;
/// The share of a partition's limit a key may take at the fleet's peak.
pub const HEADROOM: f64 = 0.1;
/// DynamoDB's largest item.
pub const MAX_ITEM_BYTES: usize = 400 * 1024;

/// The fleet the model scales to, and how the recorded run stands for it.
#[derive(Debug, Clone, Copy)]
pub struct Fleet {
    pub intercoms: f64,
    pub codes_per_intercom_per_day: f64,
    /// The peak hour's rate over the day's average.
    pub peak_factor: f64,
    /// Intercoms the recorded run played, and codes each.
    pub simulated_intercoms: f64,
    pub simulated_codes_per_intercom: f64,
}

impl Fleet {
    /// The fleet: 10 million intercoms, 5 codes each a day, peak 4x.
    pub fn ten_million(simulated_intercoms: usize, simulated_codes_per_intercom: usize) -> Self {
        Self {
            intercoms: 10_000_000.0,
            codes_per_intercom_per_day: 5.0,
            peak_factor: 4.0,
            simulated_intercoms: simulated_intercoms as f64,
            simulated_codes_per_intercom: simulated_codes_per_intercom as f64,
        }
    }

    /// Codes a second at the peak.
    pub fn peak_codes_per_second(&self) -> f64 {
        self.intercoms * self.codes_per_intercom_per_day / 86_400.0 * self.peak_factor
    }

    /// Turns a key's recorded units into units a second at the peak: the run's codes
    /// stand for one day's of their intercoms; a shared key carries its share of the
    /// whole fleet's.
    fn per_second(&self, recorded: f64, shared: bool) -> f64 {
        let day = recorded * self.codes_per_intercom_per_day / self.simulated_codes_per_intercom;
        let intercoms = if shared { self.intercoms / self.simulated_intercoms } else { 1.0 };
        day * intercoms / 86_400.0 * self.peak_factor
    }
}

/// One partition key at the fleet's peak.
#[derive(Debug, Clone)]
pub struct KeyAtPeak {
    pub key: PartitionKey,
    pub shared: bool,
    pub reads_per_second: f64,
    pub writes_per_second: f64,
}

impl KeyAtPeak {
    pub fn within_headroom(&self) -> bool {
        self.reads_per_second <= HEADROOM * PARTITION_READ_UNITS
            && self.writes_per_second <= HEADROOM * PARTITION_WRITE_UNITS
    }
}

/// `index:HOLDS_SLOT` of `index:HOLDS_SLOT#017`: the family of a numbered shard.
fn shard_family(key: &str) -> Option<&str> {
    let (family, shard) = key.rsplit_once('#')?;
    (!shard.is_empty() && shard.bytes().all(|b| b.is_ascii_digit())).then_some(family)
}

/// The recorded usage at the fleet's peak.
pub struct Model {
    pub fleet: Fleet,
    pub keys: Vec<KeyAtPeak>,
    pub largest_item: usize,
}

impl Model {
    /// `entities`: the ids of the simulated intercoms, users, gates and invites; a key
    /// that names one is that entity's own.
    ///
    /// The shards of a sharded family (`HOLDS_SLOT#000` … `#127`) each carry the
    /// family's load over its shard count: a run of a thousand intercoms puts a handful
    /// on each shard, so one shard's own count is mostly noise, where at ten million
    /// each shard holds ~78,000 and the hash spreads them evenly (its own test).
    pub fn new(usage: &Usage, fleet: Fleet, entities: &[String]) -> Self {
        let own = |key: &str| entities.iter().any(|entity| key.contains(entity.as_str()));
        let mut families: BTreeMap<&str, (Load, usize)> = BTreeMap::new();
        for (key, load) in &usage.keys {
            if let Some(family) = shard_family(key).filter(|_| !own(key)) {
                let (total, shards) = families.entry(family).or_default();
                total.reads += load.reads;
                total.writes += load.writes;
                *shards += 1;
            }
        }
        let keys = usage
            .keys
            .iter()
            .map(|(key, load)| {
                let shared = !own(key);
                let load = match shard_family(key).and_then(|family| families.get(family)).filter(|_| shared) {
                    Some((total, shards)) => Load {
                        reads: total.reads / *shards as f64,
                        writes: total.writes / *shards as f64,
                        requests: load.requests,
                    },
                    None => *load,
                };
                KeyAtPeak {
                    key: key.clone(),
                    shared,
                    reads_per_second: fleet.per_second(load.reads, shared),
                    writes_per_second: fleet.per_second(load.writes, shared),
                }
            })
            .collect();
        Self { fleet, keys, largest_item: usage.largest_item }
    }

    /// The keys over a tenth of a partition's limits at the peak.
    pub fn hot_keys(&self) -> Vec<&KeyAtPeak> {
        self.keys.iter().filter(|k| !k.within_headroom()).collect()
    }

    /// The busiest key of each kind (shared keys by their family: `HOLDS_SLOT#017` is
    /// a `HOLDS_SLOT` shard), as a Markdown table: load, limit, headroom.
    pub fn table(&self, others: &[(String, f64, f64)]) -> String {
        let mut busiest: BTreeMap<String, &KeyAtPeak> = BTreeMap::new();
        for key in &self.keys {
            let family = if key.shared {
                key.key.split('#').next().unwrap_or_default().to_owned()
                    + if key.key.contains('#') { "#<shard>" } else { "" }
            } else {
                let mut parts = key.key.splitn(2, '#');
                let prefix = parts.next().unwrap_or_default();
                format!("{prefix}#<one entity>")
            };
            let load = key.writes_per_second / PARTITION_WRITE_UNITS + key.reads_per_second / PARTITION_READ_UNITS;
            let replace = busiest.get(&family).is_none_or(|b| {
                b.writes_per_second / PARTITION_WRITE_UNITS + b.reads_per_second / PARTITION_READ_UNITS < load
            });
            if replace {
                busiest.insert(family, key);
            }
        }
        let mut table = format!(
            "Fleet: {} intercoms, {} codes each a day, peak {}x: {:.0} codes a second.\n\n\
             | component | load at peak | limit | share of limit |\n|---|---|---|---|\n",
            self.fleet.intercoms,
            self.fleet.codes_per_intercom_per_day,
            self.fleet.peak_factor,
            self.fleet.peak_codes_per_second()
        );
        for (family, key) in busiest {
            let share =
                (key.writes_per_second / PARTITION_WRITE_UNITS).max(key.reads_per_second / PARTITION_READ_UNITS);
            table.push_str(&format!(
                "| DynamoDB `{family}` (busiest) | {:.3} WCU/s, {:.3} RCU/s | 1,000 WCU/s, 3,000 RCU/s | {:.3} % |\n",
                key.writes_per_second,
                key.reads_per_second,
                share * 100.0
            ));
        }
        table.push_str(&format!(
            "| largest item | {:.1} KB | 400 KB | {:.1} % |\n",
            self.largest_item as f64 / 1024.0,
            self.largest_item as f64 / MAX_ITEM_BYTES as f64 * 100.0
        ));
        for (component, load, limit) in others {
            table.push_str(&format!("| {component} | {load:.0} | {limit:.0} | {:.1} % |\n", load / limit * 100.0));
        }
        table
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    #[test]
    fn sizes_count_names_and_values_as_dynamodb_does() {
        let item = json!({ "PK": { "S": "INTERCOM#ic" }, "n": { "N": "1234" }, "ok": { "BOOL": true } });
        assert_eq!(item_size(&item), 2 + 11 + 1 + 3 + 2 + 1);
    }

    #[test]
    fn a_shared_key_grows_with_the_fleet_and_an_intercoms_does_not() {
        let put = |pk: &str, index: &str| Exchange {
            operation: "PutItem".into(),
            request: json!({ "Item": { "PK": { "S": pk }, "SK": { "S": "x" }, "GSI1PK": { "S": index } } }),
            response: Value::Null,
        };
        let exchanges: Vec<Exchange> = (0..1_000).map(|i| put(&format!("INTERCOM#ic-{i}"), "HOLDS_SLOT")).collect();
        let usage = Usage::of(&exchanges);
        let entities: Vec<String> = (0..1_000).map(|i| format!("ic-{i}")).collect();
        let model = Model::new(&usage, Fleet::ten_million(1_000, 1), &entities);
        let hot: Vec<&str> = model.hot_keys().iter().map(|k| k.key.as_str()).collect();
        assert_eq!(hot, ["index:HOLDS_SLOT"], "one index partition for the fleet: {:?}", model.keys.len());
        let own = model.keys.iter().find(|k| k.key == "table:INTERCOM#ic-7").unwrap();
        assert!(!own.shared && own.writes_per_second < 0.01);
    }

    #[test]
    fn a_projected_read_costs_the_whole_item() {
        let big = "x".repeat(5_000);
        let exchanges = [
            Exchange {
                operation: "PutItem".into(),
                request: json!({ "Item": { "PK": { "S": "INTERCOM#ic" }, "SK": { "S": "a" }, "big": { "S": big } } }),
                response: Value::Null,
            },
            Exchange {
                operation: "Query".into(),
                request: json!({
                    "KeyConditionExpression": "#pk = :pk",
                    "ExpressionAttributeNames": { "#pk": "PK" },
                    "ExpressionAttributeValues": { ":pk": { "S": "INTERCOM#ic" } },
                    "ProjectionExpression": "SK",
                    "ConsistentRead": true,
                }),
                response: json!({ "Items": [{ "PK": { "S": "INTERCOM#ic" }, "SK": { "S": "a" } }] }),
            },
        ];
        let usage = Usage::of(&exchanges);
        assert_eq!(usage.keys["table:INTERCOM#ic"].reads, 2.0, "5 KB read, 8 bytes returned");
    }
}
