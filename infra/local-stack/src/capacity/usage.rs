//! Units per partition key, by DynamoDB's rules, from recorded requests.

use super::Exchange;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

/// An item's size as DynamoDB counts it: attribute names plus values.
pub fn item_size(item: &Value) -> usize {
    item.as_object().map_or(0, |attributes| attributes.iter().map(|(name, value)| name.len() + value_size(value)).sum())
}

fn value_size(value: &Value) -> usize {
    let Some((tag, inner)) = value.as_object().and_then(|o| o.iter().next()) else { return 0 };
    match tag.as_str() {
        "S" | "B" => inner.as_str().map_or(0, str::len),
        "N" => inner.as_str().map_or(0, |n| n.len().div_ceil(2) + 1),
        "BOOL" | "NULL" => 1,
        "SS" | "NS" | "BS" => {
            inner.as_array().map_or(0, |set| set.iter().map(|s| s.as_str().map_or(0, str::len)).sum())
        }
        "L" => 3 + inner.as_array().map_or(0, |list| list.iter().map(|v| 1 + value_size(v)).sum::<usize>()),
        "M" => {
            3 + inner.as_object().map_or(0, |map| map.iter().map(|(k, v)| 1 + k.len() + value_size(v)).sum::<usize>())
        }
        _ => 0,
    }
}

/// Units and requests one partition key took in the recorded run.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Load {
    pub reads: f64,
    pub writes: f64,
    pub requests: u64,
}

/// `table:<PK>` or `index:<GSI1PK>`.
pub type PartitionKey = String;

/// The units each partition key took, and the largest item seen.
#[derive(Debug, Default)]
pub struct Usage {
    pub keys: BTreeMap<PartitionKey, Load>,
    pub largest_item: usize,
}

fn units(bytes: usize, per: usize) -> f64 {
    bytes.max(1).div_ceil(per) as f64
}

fn s_of(attribute: &Value) -> Option<&str> {
    attribute["S"].as_str()
}

impl Usage {
    /// The units of every recorded request, attributed to the keys they fell on.
    pub fn of(exchanges: &[Exchange]) -> Self {
        let mut usage = Self::default();
        // The last size and index key seen of each item (`PK SK`).
        let mut sizes: HashMap<String, usize> = HashMap::new();
        let mut indexed: HashMap<String, String> = HashMap::new();
        for exchange in exchanges {
            usage.record(exchange, &mut sizes, &mut indexed);
        }
        usage.largest_item = sizes.values().copied().max().unwrap_or(0);
        usage
    }

    fn add(&mut self, key: PartitionKey, reads: f64, writes: f64) {
        let load = self.keys.entry(key).or_default();
        load.reads += reads;
        load.writes += writes;
        load.requests += 1;
    }

    /// What reading `item` costs in bytes: the whole item, as last seen whole, even
    /// where the read projected a few of its attributes (DynamoDB charges a read by
    /// the item's size, not by what it returns). A whole item read is seen anew.
    fn read_size(
        &mut self,
        item: &Value,
        projected: bool,
        sizes: &mut HashMap<String, usize>,
        indexed: &mut HashMap<String, String>,
    ) -> usize {
        if !projected {
            self.seen(item, sizes, indexed);
            return item_size(item);
        }
        let whole = match (s_of(&item["PK"]), s_of(&item["SK"])) {
            (Some(pk), Some(sk)) => sizes.get(&format!("{pk} {sk}")).copied(),
            _ => None,
        };
        whole.unwrap_or(0).max(item_size(item))
    }

    fn seen(&mut self, item: &Value, sizes: &mut HashMap<String, usize>, indexed: &mut HashMap<String, String>) {
        let (Some(pk), Some(sk)) = (s_of(&item["PK"]), s_of(&item["SK"])) else { return };
        let id = format!("{pk} {sk}");
        sizes.insert(id.clone(), item_size(item));
        if let Some(index) = s_of(&item["GSI1PK"]) {
            indexed.insert(id, index.to_owned());
        }
    }

    /// One write of an item (`factor` 2 in a transaction), and its index entry's.
    fn write(
        &mut self,
        request: &Value,
        factor: f64,
        sizes: &mut HashMap<String, usize>,
        indexed: &mut HashMap<String, String>,
    ) {
        let key = if request["Item"].is_object() { &request["Item"] } else { &request["Key"] };
        let (Some(pk), Some(sk)) = (s_of(&key["PK"]), s_of(&key["SK"])) else { return };
        let id = format!("{pk} {sk}");
        if request["Item"].is_object() {
            self.seen(&request["Item"], sizes, indexed);
        }
        let size = sizes.get(&id).copied().unwrap_or(1);
        self.add(format!("table:{pk}"), 0.0, factor * units(size, 1024));
        // An update that sets or removes the index key writes the index partition
        // it joins, or the one it leaves.
        let expression = request["UpdateExpression"].as_str().unwrap_or_default();
        let names = &request["ExpressionAttributeNames"];
        let touches_index = names.as_object().is_some_and(|n| n.values().any(|v| v == "GSI1PK"))
            && (expression.contains("REMOVE") || expression.contains("SET"));
        let joins = names
            .as_object()
            .and_then(|n| n.iter().find(|(_, v)| *v == "GSI1PK").map(|(k, _)| k.clone()))
            .and_then(|name| {
                let set = expression.split("REMOVE").next().unwrap_or_default();
                let at = set.find(&format!("{name} = "))?;
                let placeholder = set[at + name.len() + 3..].split([',', ' ']).next()?.to_owned();
                s_of(&request["ExpressionAttributeValues"][&placeholder]).map(str::to_owned)
            });
        let index = if request["Item"].is_object() {
            s_of(&request["Item"]["GSI1PK"]).map(str::to_owned)
        } else if touches_index {
            joins.clone().or_else(|| indexed.get(&id).cloned())
        } else {
            None
        };
        if let Some(index) = index {
            self.add(format!("index:{index}"), 0.0, 1.0);
        }
        if let Some(joined) = joins {
            indexed.insert(id, joined);
        }
    }

    fn record(
        &mut self,
        exchange: &Exchange,
        sizes: &mut HashMap<String, usize>,
        indexed: &mut HashMap<String, String>,
    ) {
        let (request, response) = (&exchange.request, &exchange.response);
        let consistency = if request["ConsistentRead"].as_bool() == Some(true) { 1.0 } else { 0.5 };
        match exchange.operation.as_str() {
            "GetItem" => {
                let projected = request["ProjectionExpression"].is_string();
                let size = self.read_size(&response["Item"], projected, sizes, indexed);
                if let Some(pk) = s_of(&request["Key"]["PK"]) {
                    self.add(format!("table:{pk}"), consistency * units(size, 4096), 0.0);
                }
            }
            "BatchGetItem" | "TransactGetItems" => {
                let transactional = exchange.operation == "TransactGetItems";
                let items: Vec<&Value> = if transactional {
                    response["Responses"].as_array().into_iter().flatten().map(|r| &r["Item"]).collect()
                } else {
                    response["Responses"]
                        .as_object()
                        .into_iter()
                        .flat_map(|t| t.values())
                        .flat_map(|v| v.as_array().into_iter().flatten())
                        .collect()
                };
                let projected = request["RequestItems"]
                    .as_object()
                    .is_some_and(|tables| tables.values().any(|t| t["ProjectionExpression"].is_string()));
                for item in items {
                    let size = self.read_size(item, projected, sizes, indexed);
                    if let Some(pk) = s_of(&item["PK"]) {
                        let factor = if transactional { 2.0 } else { consistency };
                        self.add(format!("table:{pk}"), factor * units(size, 4096), 0.0);
                    }
                }
            }
            "Query" => {
                let on_index = request["IndexName"].is_string();
                let key = if on_index { "GSI1PK" } else { "PK" };
                let names = &request["ExpressionAttributeNames"];
                let condition = request["KeyConditionExpression"].as_str().unwrap_or_default();
                let partition = condition.split(" AND ").find_map(|clause| {
                    let (name, value) = clause.split_once(" = ")?;
                    (names[name.trim()] == key).then(|| s_of(&request["ExpressionAttributeValues"][value.trim()]))?
                });
                let items = response["Items"].as_array().map(Vec::as_slice).unwrap_or_default();
                // An index's entries are what it holds (its projection), whole.
                let projected = !on_index && request["ProjectionExpression"].is_string();
                let bytes: usize = if on_index {
                    items.iter().map(item_size).sum()
                } else {
                    items.iter().map(|item| self.read_size(item, projected, sizes, indexed)).sum()
                };
                if let Some(partition) = partition {
                    let prefix = if on_index { "index" } else { "table" };
                    self.add(format!("{prefix}:{partition}"), consistency * units(bytes, 4096), 0.0);
                }
            }
            "PutItem" | "UpdateItem" | "DeleteItem" => self.write(request, 1.0, sizes, indexed),
            "TransactWriteItems" => {
                for item in request["TransactItems"].as_array().into_iter().flatten() {
                    for kind in ["Put", "Update", "Delete", "ConditionCheck"] {
                        if item[kind].is_object() {
                            self.write(&item[kind], 2.0, sizes, indexed);
                        }
                    }
                }
            }
            "BatchWriteItem" => {
                let tables = request["RequestItems"].as_object().into_iter().flat_map(|t| t.values());
                for write in tables.flat_map(|w| w.as_array().into_iter().flatten()) {
                    if write["PutRequest"].is_object() {
                        self.write(&write["PutRequest"], 1.0, sizes, indexed);
                    }
                }
            }
            _ => {}
        }
    }
}
