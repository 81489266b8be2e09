//! Idempotency records: what a keyed create left for its replays.

use super::*;

/// How long a create can be replayed under the same `Idempotency-Key`.
pub const IDEMPOTENCY_WINDOW: time::Duration = time::Duration::hours(24);

#[derive(Debug, Clone)]
pub struct IdempotencyRecord {
    pub key_hash: String,
    /// Hash of what was asked, so a reused key with another body is refused.
    pub fingerprint: String,
    pub invite_id: InviteId,
    /// The link secret, sealed with a pad only the original request's key and the
    /// server's secret rebuild: the table alone never yields a working link.
    pub sealed_secret: Sealed,
    pub created_at: OffsetDateTime,
}

pub fn idempotency_to_item(intercom: &IntercomId, record: &IdempotencyRecord) -> Item {
    let expires_at = record.created_at.saturating_add(IDEMPOTENCY_WINDOW);
    let mut item = key(keys::intercom_pk(intercom), keys::idempotency_sk(&record.key_hash));
    item.extend([
        (names::FINGERPRINT.to_owned(), s(&record.fingerprint)),
        (names::INVITE_ID.to_owned(), s(record.invite_id.as_str())),
        (names::SEALED_SECRET.to_owned(), s(STANDARD.encode(&record.sealed_secret.bytes))),
        (names::SEAL_KEY.to_owned(), s(&record.sealed_secret.key_id)),
        (names::CREATED_AT.to_owned(), epoch(record.created_at)),
        (keys::PURGE_AT.to_owned(), epoch(expires_at)),
    ]);
    item
}

pub fn idempotency_from_item(item: &Item) -> Result<IdempotencyRecord, ItemError> {
    let key_hash = match sort_key(item).and_then(keys::classify) {
        Some(keys::PartitionItem::Idempotency(hash)) => hash.to_owned(),
        _ => return Err(bad(keys::SK)),
    };
    Ok(IdempotencyRecord {
        key_hash,
        fingerprint: get_s(item, names::FINGERPRINT)?.to_owned(),
        invite_id: parse_attr(item, names::INVITE_ID, InviteId::parse)?,
        sealed_secret: Sealed {
            key_id: get_s(item, names::SEAL_KEY)?.to_owned(),
            bytes: STANDARD.decode(get_s(item, names::SEALED_SECRET)?).map_err(|_| bad(names::SEALED_SECRET))?,
        },
        created_at: get_time(item, names::CREATED_AT)?,
    })
}
