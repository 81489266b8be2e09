//! A DynamoDB stream record's images (DynamoDB JSON, as Lambda hands them over)
//! read into the SDK's item type, so that the outbox maps them with the same
//! functions as any item it reads itself.

use super::attributes::Item;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::Value;

/// One attribute value in DynamoDB JSON (`{"S": "…"}`, `{"L": [...]}` …); `None` if
/// it is not one.
pub fn attribute_value(json: &Value) -> Option<AttributeValue> {
    let (tag, value) = json.as_object()?.iter().next()?;
    let strings = |v: &Value| v.as_array()?.iter().map(|s| s.as_str().map(str::to_owned)).collect::<Option<Vec<_>>>();
    Some(match tag.as_str() {
        "S" => AttributeValue::S(value.as_str()?.to_owned()),
        "N" => AttributeValue::N(value.as_str()?.to_owned()),
        "BOOL" => AttributeValue::Bool(value.as_bool()?),
        "NULL" => AttributeValue::Null(true),
        "B" => AttributeValue::B(Blob::new(STANDARD.decode(value.as_str()?).ok()?)),
        "SS" => AttributeValue::Ss(strings(value)?),
        "NS" => AttributeValue::Ns(strings(value)?),
        "L" => AttributeValue::L(value.as_array()?.iter().map(attribute_value).collect::<Option<_>>()?),
        "M" => AttributeValue::M(image(value)?),
        _ => return None,
    })
}

/// A whole image (`NewImage`, `OldImage`, `Keys`).
pub fn image(json: &Value) -> Option<Item> {
    json.as_object()?.iter().map(|(name, value)| Some((name.clone(), attribute_value(value)?))).collect()
}

/// One committed change of an item, from a stream record.
pub struct Change {
    pub old: Option<Item>,
    pub new: Option<Item>,
}

impl Change {
    /// The invite a change is about, if it is one (its key says so).
    pub fn invite_key(&self) -> Option<(crate::domain::ids::IntercomId, crate::domain::ids::InviteId)> {
        self.keyed(crate::keys::parse_invite_key)
    }

    /// The invite whose SMS item a change is about, if it is one.
    pub fn sms_key(&self) -> Option<(crate::domain::ids::IntercomId, crate::domain::ids::InviteId)> {
        self.keyed(crate::keys::parse_sms_key)
    }

    fn keyed<T>(&self, parse: impl Fn(&str, &str) -> Option<T>) -> Option<T> {
        let item = self.new.as_ref().or(self.old.as_ref())?;
        parse(item.get(crate::keys::PK)?.as_s().ok()?, item.get(crate::keys::SK)?.as_s().ok()?)
    }

    /// How many history lines the item had before this change (none if it is new).
    pub fn history_before(&self) -> usize {
        let lines = self.old.as_ref().and_then(|old| old.get(super::attributes::names::HISTORY));
        lines.and_then(|l| l.as_l().ok()).map_or(0, Vec::len)
    }
}

/// The changes of a DynamoDB stream event as Lambda delivers it (`{"Records": […]}`),
/// in stream order. A record without readable images is skipped: the table holds
/// nothing this code did not write, and a record that cannot be read would
/// otherwise hold up its shard for a day.
pub fn changes(event: &Value) -> Vec<Change> {
    let records = event.get("Records").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    records
        .iter()
        .filter_map(|record| {
            let images = record.get("dynamodb")?;
            let read = |name: &str| images.get(name).map(image);
            let (old, new) = (read("OldImage"), read("NewImage"));
            if matches!(old, Some(None)) || matches!(new, Some(None)) {
                // Counted by the `StreamRecordsSkipped` metric filter (alarm).
                tracing::error!(event = ?record.get("eventID"), reason = "unreadable image", "stream record skipped");
                return None;
            }
            Some(Change { old: old.flatten(), new: new.flatten() })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_type_the_table_holds_reads_back() {
        let item = image(&json!({
            "PK": {"S": "INTERCOM#ic"}, "n": {"N": "12"}, "b": {"BOOL": true},
            "tries": {"SS": ["1234"]}, "history": {"L": [{"S": "1 created"}]},
            "gate": {"M": {"label": {"S": "Main"}}}, "none": {"NULL": true}
        }))
        .unwrap();
        assert_eq!(item["PK"], AttributeValue::S("INTERCOM#ic".into()));
        assert_eq!(item["history"], AttributeValue::L(vec![AttributeValue::S("1 created".into())]));
        assert!(matches!(&item["gate"], AttributeValue::M(m) if m["label"] == AttributeValue::S("Main".into())));
        assert!(image(&json!({"x": {"Q": 1}})).is_none(), "an unknown type is refused, not guessed");
    }
}
