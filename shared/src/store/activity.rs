//! The activity log: one item per fact in the intercom's own activity partition,
//! written by the outbox from the table's stream, read newest first with a cursor.
//! Also the reading of an invite's item as the facts need it ([`InviteRecord`]).

use super::attributes::names;
use super::attributes::*;
use super::{request_failed, sdk, Store, StoreError};
use crate::domain::activity::{Fact, FactGuest, FactKind, GuestDetails, InviteRecord};
use crate::domain::code::AccessCode;
use crate::domain::ids::{IntercomId, InviteId};
use crate::domain::phone::Mobile;
use crate::keys;
use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use time::Duration;

/// How long a fact stays readable: a month answers "who came last week, and
/// did the SMS arrive", at a bounded size per intercom (TTL removes older ones).
/// One code's own history lives as long as its invite (`INVITE_RETENTION`).
pub const ACTIVITY_RETENTION: Duration = Duration::days(31);

/// Facts per page unless the caller asks for fewer (or more, up to [`MAX_PAGE`]).
pub const DEFAULT_PAGE: i32 = 50;
pub const MAX_PAGE: i32 = 100;

/// BatchWriteItem's limit.
const BATCH_WRITE: usize = 25;

/// Where a page ended: the sort key of its last fact, opaque to the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityCursor(String);

impl ActivityCursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(&self.0)
    }

    /// A cursor this service handed out, or `None`.
    pub fn decode(raw: &str) -> Option<Self> {
        let sk = String::from_utf8(URL_SAFE_NO_PAD.decode(raw).ok()?).ok()?;
        let (at, id) = sk.split_once('#')?;
        let well_formed = at.len() == 12 && at.bytes().all(|b| b.is_ascii_digit()) && !id.is_empty() && id.len() <= 64;
        well_formed.then_some(Self(sk))
    }
}

pub struct ActivityPage {
    pub facts: Vec<Fact>,
    pub next: Option<ActivityCursor>,
}

fn optional_s(value: &Option<String>) -> Option<AttributeValue> {
    value.as_ref().map(s)
}

pub fn fact_to_item(fact: &Fact) -> Item {
    let mut item = key(keys::activity_pk(&fact.intercom), keys::activity_sk(fact.at, &fact.id));
    item.extend([
        (names::FACT_ID.to_owned(), s(&fact.id)),
        (names::KIND.to_owned(), s(fact.kind.as_str())),
        (names::AT.to_owned(), epoch(fact.at)),
        (names::INTERCOM_ID.to_owned(), s(fact.intercom.as_str())),
        (keys::PURGE_AT.to_owned(), epoch(fact.at.saturating_add(ACTIVITY_RETENTION))),
    ]);
    if let Some(guest) = &fact.guest {
        item.insert(names::INVITE_ID.to_owned(), s(guest.invite.as_str()));
        if let Some(details) = &guest.details {
            item.insert(names::GUEST_NAME.to_owned(), s(&details.name));
            item.insert(names::GUEST_MOBILE.to_owned(), s(&details.mobile));
        }
    }
    for (name, value) in [(names::ACTOR, &fact.actor), (names::GATE, &fact.gate), (names::REASON, &fact.reason)] {
        if let Some(value) = optional_s(value) {
            item.insert(name.to_owned(), value);
        }
    }
    if let Some(at) = fact.starts_at {
        item.insert(names::STARTS_AT.to_owned(), epoch(at));
    }
    item
}

pub fn fact_from_item(item: &Item) -> Result<Fact, ItemError> {
    let optional = |name: &str| get_optional(item, name, |i, n| get_s(i, n).map(str::to_owned));
    let guest = match optional(names::INVITE_ID)? {
        Some(invite) => Some(FactGuest {
            invite: InviteId::parse(&invite).ok_or_else(|| bad(names::INVITE_ID))?,
            details: match optional(names::GUEST_NAME)? {
                Some(name) => Some(GuestDetails { name, mobile: get_s(item, names::GUEST_MOBILE)?.to_owned() }),
                None => None,
            },
        }),
        None => None,
    };
    Ok(Fact {
        id: get_s(item, names::FACT_ID)?.to_owned(),
        at: get_time(item, names::AT)?,
        kind: parse_attr(item, names::KIND, FactKind::parse)?,
        intercom: parse_attr(item, names::INTERCOM_ID, IntercomId::parse)?,
        guest,
        actor: optional(names::ACTOR)?,
        gate: optional(names::GATE)?,
        reason: optional(names::REASON)?,
        starts_at: get_optional(item, names::STARTS_AT, get_time)?,
    })
}

/// An invite's item as the facts read it: whole (a stream image) or as `GetItem`
/// returns it. Only what a fact shows, and the code, to tell a wrong one.
pub fn invite_record_from_item(item: &Item) -> Result<InviteRecord, ItemError> {
    let gate_label = |name: &str| {
        let gate = item.get(name).and_then(|v| v.as_m().ok()).ok_or_else(|| bad(name))?;
        get_s(gate, names::LABEL).map(str::to_owned)
    };
    Ok(InviteRecord {
        intercom: parse_attr(item, names::INTERCOM_ID, IntercomId::parse)?,
        guest: fact_guest(item)?,
        code: Some(parse_attr(item, names::CODE, AccessCode::parse)?),
        id_tag: "",
        created_by: get_s(item, names::CREATED_BY)?.to_owned(),
        revoked_by: get_optional(item, names::REVOKED_BY, |i, n| get_s(i, n).map(str::to_owned))?,
        entry_gate: gate_label(names::ENTRY_GATE)?,
        exit_gate: gate_label(names::EXIT_GATE)?,
        history: history_lines(item)?,
    })
}

/// The guest as both an invite's item and its SMS item name them, mobile masked;
/// no details once the guest was erased.
fn fact_guest(item: &Item) -> Result<FactGuest, ItemError> {
    let details = match item.contains_key(names::GUEST_ERASED_AT) {
        true => None,
        false => Some(GuestDetails {
            name: get_s(item, names::GUEST_NAME)?.to_owned(),
            mobile: Mobile::from_stored(get_s(item, names::GUEST_MOBILE)?.to_owned()).masked(),
        }),
    };
    Ok(FactGuest { invite: parse_attr(item, names::INVITE_ID, InviteId::parse)?, details })
}

fn history_lines(item: &Item) -> Result<Vec<String>, ItemError> {
    match item.get(names::HISTORY) {
        Some(AttributeValue::L(lines)) => {
            lines.iter().map(|l| l.as_s().cloned().map_err(|_| bad(names::HISTORY))).collect()
        }
        _ => Err(bad(names::HISTORY)),
    }
}

/// An invite's SMS item as the facts read it: its own history (sent, delivered,
/// failed, resends), about the same guest.
pub fn sms_record_from_item(item: &Item) -> Result<InviteRecord, ItemError> {
    Ok(InviteRecord {
        intercom: parse_attr(item, names::INTERCOM_ID, IntercomId::parse)?,
        guest: fact_guest(item)?,
        code: None,
        id_tag: "s",
        created_by: String::new(),
        revoked_by: None,
        entry_gate: String::new(),
        exit_gate: String::new(),
        history: history_lines(item)?,
    })
}

/// An invite's or SMS item's history as a replay reads it, with, for an SMS item,
/// how many SMS it asked for and how many were handled (sent, refused, not sent).
pub struct KeptRecord {
    pub record: InviteRecord,
    pub invite: InviteId,
    pub sms: Option<SmsProgress>,
}

pub struct SmsProgress {
    pub requested: u32,
    pub handled: u32,
}

impl Store {
    /// Every invite (ended or not) and SMS item an intercom's partition still keeps,
    /// a page (up to 1 MB) per request: a replay's read, bounded by what the
    /// partition keeps (open codes, and those ended within `INVITE_RETENTION`).
    pub async fn kept_records(&self, intercom: &IntercomId) -> Result<Vec<KeptRecord>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk AND #sk BETWEEN :first AND :last")
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_names("#sk", keys::SK)
            .expression_attribute_values(":pk", s(keys::intercom_pk(intercom)))
            .expression_attribute_values(":first", s(keys::kept_invites_start()))
            .expression_attribute_values(":last", s(keys::open_invites_end()));
        let mut kept = Vec::new();
        for item in &self.query_all(query).await? {
            let (invite, is_sms) = match sort_key(item).and_then(keys::classify) {
                Some(keys::PartitionItem::Invite(id)) => (id, false),
                Some(keys::PartitionItem::Sms(id)) => (id, true),
                _ => continue,
            };
            let invite = InviteId::parse(invite).ok_or_else(|| bad(keys::SK))?;
            kept.push(if is_sms {
                let record = sms_record_from_item(item)?;
                let requested = record.sms_requests();
                let handled = get_optional(item, names::SMS_HANDLED, get_n)?.unwrap_or(0);
                KeptRecord { record, invite, sms: Some(SmsProgress { requested, handled }) }
            } else {
                KeptRecord { record: invite_record_from_item(item)?, invite, sms: None }
            });
        }
        Ok(kept)
    }

    /// Writes each fact's activity item. A fact written again (a redelivered stream
    /// record) overwrites itself with the same content: no duplicate. One
    /// BatchWriteItem per 25 facts; what DynamoDB leaves unprocessed is sent again.
    pub async fn record_facts(&self, facts: &[Fact]) -> Result<(), StoreError> {
        for chunk in facts.chunks(BATCH_WRITE) {
            let mut pending: Vec<WriteRequest> = chunk
                .iter()
                .map(|fact| {
                    let put = PutRequest::builder().set_item(Some(fact_to_item(fact))).build().map_err(sdk)?;
                    Ok(WriteRequest::builder().put_request(put).build())
                })
                .collect::<Result<_, StoreError>>()?;
            for round in 0..8u32 {
                if pending.is_empty() {
                    break;
                }
                if round > 0 {
                    tokio::time::sleep(std::time::Duration::from_millis(20 << round.min(6))).await;
                }
                let output = self
                    .client
                    .batch_write_item()
                    .request_items(self.table.clone(), std::mem::take(&mut pending))
                    .send()
                    .await
                    .map_err(request_failed)?;
                pending = output.unprocessed_items.and_then(|mut left| left.remove(&self.table)).unwrap_or_default();
            }
            if !pending.is_empty() {
                return Err(StoreError::Throttled);
            }
        }
        Ok(())
    }

    /// One page of an intercom's activity, newest first, after `cursor`.
    pub async fn activity_page(
        &self,
        intercom: &IntercomId,
        cursor: Option<&ActivityCursor>,
        limit: i32,
    ) -> Result<ActivityPage, StoreError> {
        let pk = keys::activity_pk(intercom);
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_values(":pk", s(&pk))
            .scan_index_forward(false)
            .limit(limit)
            .set_exclusive_start_key(cursor.map(|c| key(pk.clone(), c.0.clone())))
            .send()
            .await
            .map_err(request_failed)?;
        let facts = output.items().iter().map(fact_from_item).collect::<Result<Vec<_>, _>>()?;
        let next = output.last_evaluated_key().and_then(sort_key).map(|sk| ActivityCursor(sk.to_owned()));
        Ok(ActivityPage { facts, next })
    }

    /// An invite's own facts, oldest first, from its item and its SMS item (one
    /// Query: they sit side by side), while they are kept; `None` if there is no
    /// such invite (or no longer).
    pub async fn code_facts(&self, intercom: &IntercomId, invite: &InviteId) -> Result<Option<Vec<Fact>>, StoreError> {
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .consistent_read(true)
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :invite)")
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_names("#sk", keys::SK)
            .expression_attribute_values(":pk", s(keys::intercom_pk(intercom)))
            .expression_attribute_values(":invite", s(keys::invite_sk(invite)))
            .send()
            .await
            .map_err(request_failed)?;
        let mut facts = Vec::new();
        let mut found = false;
        for item in output.items() {
            match sort_key(item).and_then(keys::classify) {
                Some(keys::PartitionItem::Invite(_)) => {
                    found = true;
                    facts.extend(invite_record_from_item(item)?.facts());
                }
                Some(keys::PartitionItem::Sms(_)) => facts.extend(sms_record_from_item(item)?.facts()),
                _ => {}
            }
        }
        facts.sort_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
        Ok(found.then_some(facts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::OffsetDateTime;

    #[test]
    fn a_fact_survives_its_item_and_a_cursor_its_encoding() {
        let fact = Fact {
            id: "inv.003".into(),
            at: OffsetDateTime::UNIX_EPOCH + Duration::days(20_000),
            kind: FactKind::SmsFailed,
            intercom: IntercomId::parse("ic").unwrap(),
            guest: None,
            actor: None,
            gate: None,
            reason: Some("invalid_number".into()),
            starts_at: None,
        };
        assert_eq!(fact_from_item(&fact_to_item(&fact)).unwrap(), fact);
        let created = Fact { kind: FactKind::CodeCreated, reason: None, starts_at: Some(fact.at), ..fact.clone() };
        assert_eq!(fact_from_item(&fact_to_item(&created)).unwrap(), created);
        let cursor = ActivityCursor(keys::activity_sk(fact.at, &fact.id));
        assert_eq!(ActivityCursor::decode(&cursor.encode()), Some(cursor));
        assert_eq!(ActivityCursor::decode("not a cursor"), None);
        assert_eq!(ActivityCursor::decode(&URL_SAFE_NO_PAD.encode("12#x")), None);
    }
}
