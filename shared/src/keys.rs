//! The single-table key scheme, all of it. Every key the code reads or writes is
//! built here.
//!
//! | item | PK | SK |
//! |---|---|---|
//! | intercom registry + settings | `INTERCOM#<intercom>` | `META` |
//! | membership | `INTERCOM#<intercom>` | `MEMBER#<user sub>` |
//! | invite | `INTERCOM#<intercom>` | `INVITE#<invite id>` |
//! | idempotency record | `INTERCOM#<intercom>` | `IDEMP#<sha256(user, key)>` |
//! | settings audit entry | `AUDIT#<intercom>` | `<rfc3339>#<random>` |
//!
//! Invites live in their intercom's partition so that one strongly consistent
//! Query sees the registry, the members and every invite: the list, and the
//! create's capacity and code-uniqueness checks, read nothing stale.
//! Invites that still hold a place carry `GSI1PK`/`GSI1SK` (a sparse index sorted
//! by expiry), so the sweep reads only invites that are due.

use crate::domain::ids::{IntercomId, InviteId, UserId};
use time::OffsetDateTime;

pub const PK: &str = "PK";
pub const SK: &str = "SK";
pub const SLOT_INDEX: &str = "GSI1";
pub const SLOT_INDEX_PK: &str = "GSI1PK";
pub const SLOT_INDEX_SK: &str = "GSI1SK";
/// DynamoDB TTL attribute (epoch seconds). TTL deletes late, so nothing relies on it.
pub const PURGE_AT: &str = "purge_at";

pub const META_SK: &str = "META";
pub const MEMBER_PREFIX: &str = "MEMBER#";
pub const INVITE_PREFIX: &str = "INVITE#";
pub const IDEMPOTENCY_PREFIX: &str = "IDEMP#";
/// All invites that hold a place share one index partition; the sweep reads it
/// in expiry order.
pub const SLOT_INDEX_PARTITION: &str = "HOLDS_SLOT";

pub fn intercom_pk(intercom: &IntercomId) -> String {
    format!("INTERCOM#{intercom}")
}

pub fn member_sk(user: &UserId) -> String {
    format!("{MEMBER_PREFIX}{user}")
}

pub fn invite_sk(invite: &InviteId) -> String {
    format!("{INVITE_PREFIX}{invite}")
}

pub fn idempotency_sk(hash: &str) -> String {
    format!("{IDEMPOTENCY_PREFIX}{hash}")
}

pub fn audit_pk(intercom: &IntercomId) -> String {
    format!("AUDIT#{intercom}")
}

/// Zero-padded so that string order is time order.
pub fn slot_index_sk(expires_at: OffsetDateTime, intercom: &IntercomId, invite: &InviteId) -> String {
    format!("{:012}#{intercom}#{invite}", expires_at.unix_timestamp())
}

/// Every slot-index key of an invite that expired at or before `now` sorts below this.
pub fn slot_index_due_before(now: OffsetDateTime) -> String {
    format!("{:012}", now.unix_timestamp() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;

    #[test]
    fn slot_keys_sort_in_expiry_order_and_due_bound_is_inclusive() {
        let ic = IntercomId::parse("ic").unwrap();
        let id = InviteId::generate();
        let t = OffsetDateTime::UNIX_EPOCH + Duration::days(20_000);
        let earlier = slot_index_sk(t - Duration::seconds(1), &ic, &id);
        let at = slot_index_sk(t, &ic, &id);
        let later = slot_index_sk(t + Duration::seconds(1), &ic, &id);
        assert!(earlier < at && at < later);
        let bound = slot_index_due_before(t);
        assert!(at < bound && later > bound);
    }
}
