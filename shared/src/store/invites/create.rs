//! A create: its read of three items by key, and its commit, which claims one place
//! and one code with the invite (`store::places`) and counts the guest SMS.

use super::*;
use crate::domain::settings::SmsAllowance;
use crate::store::places::OpenPlace;

/// What a create reads before it decides: nothing that grows with the open codes.
#[derive(Debug, Default)]
pub struct CreateContext {
    pub intercom: Option<Intercom>,
    /// The caller's role; `None` if they are not a member.
    pub caller_role: Option<Role>,
    /// The caller's record under this `Idempotency-Key`, if one is still in its window.
    pub idempotency: Option<IdempotencyRecord>,
}

impl Store {
    /// The registry, the caller's membership and the record of `key_hash`: one
    /// consistent BatchGetItem.
    pub async fn load_for_create(
        &self,
        intercom: &IntercomId,
        caller: &UserId,
        key_hash: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<CreateContext, StoreError> {
        let pk = keys::intercom_pk(intercom);
        let mut wanted = vec![key(pk.clone(), keys::META_SK), key(pk.clone(), keys::member_sk(caller))];
        wanted.extend(key_hash.map(|hash| key(pk.clone(), keys::idempotency_sk(hash))));
        let mut context = CreateContext::default();
        for item in self.get_items(wanted).await? {
            match sort_key(&item).and_then(keys::classify) {
                Some(keys::PartitionItem::Registry) => context.intercom = Some(intercom_from_item(&item)?),
                Some(keys::PartitionItem::Member(_)) => context.caller_role = Some(role_from_item(&item)?),
                Some(keys::PartitionItem::Idempotency(_)) => {
                    let record = idempotency_from_item(&item)?;
                    // TTL deletes late: a record past its window is no record.
                    if now < record.created_at.saturating_add(IDEMPOTENCY_WINDOW) {
                        context.idempotency = Some(record);
                    }
                }
                _ => {}
            }
        }
        Ok(context)
    }

    /// An invite with what its SMS item holds: where its SMS is (a replayed create
    /// answers with both), and the host and place its guest is told of. One
    /// strongly consistent BatchGetItem.
    pub async fn invite_with_sms(
        &self,
        intercom: &IntercomId,
        invite: &InviteId,
    ) -> Result<Option<Invite>, StoreError> {
        let pk = keys::intercom_pk(intercom);
        let items =
            self.get_items(vec![key(pk.clone(), keys::invite_sk(invite)), key(pk, keys::sms_sk(invite))]).await?;
        let mut found = None;
        let mut sms = None;
        for item in &items {
            match sort_key(item).and_then(keys::classify) {
                Some(keys::PartitionItem::Invite(_)) if !is_erased(item) => found = Some(invite_from_item(item)?),
                Some(keys::PartitionItem::Sms(_)) => sms = Some(item),
                _ => {}
            }
        }
        let Some(mut invite) = found else { return Ok(None) };
        if let Some(item) = sms {
            invite.sms_status = sms_from_item(item)?.status;
            invite.host = crate::store::details::host_from(item)?;
            invite.location = crate::store::details::location_from(item)?;
        }
        Ok(Some(invite))
    }

    /// Writes a new invite in one transaction that claims `place` and the invite's
    /// code (`store::places`), re-checks the caller's membership, writes the SMS item
    /// (the SMS sender sends it from the stream) and the guest index item (an
    /// erasure's way to the code, `guest_lookup`), and, unless the owner shares the
    /// code themselves, counts the guest SMS it will cause against this clock hour's
    /// allowance of the caller and of the intercom (one counter item each, a
    /// conditional increment). Any condition that fails writes nothing; the outcome
    /// says which.
    pub async fn commit_create(
        &self,
        user: &UserId,
        new: NewInvite<'_>,
        limits: SmsLimits,
        now: OffsetDateTime,
    ) -> Result<CreateOutcome, StoreError> {
        let NewInvite { invite, guest_lookup, place, idempotency } = new;
        let hour = invite.created_at.unix_timestamp().div_euclid(3600);
        let intercom = &invite.intercom_id;
        // Indexes below name the items in the cancellation reasons.
        let mut items = vec![
            TransactWriteItem::builder().condition_check(self.member_check(intercom, user)?).build(),
            self.put_new(invite_to_item(invite))?,
            self.claim_code(invite, now)?,
            self.put_new(sms_to_item(invite))?,
            self.put_new(guest_index_item(invite, guest_lookup))?,
        ];
        const MEMBER: usize = 0;
        const INVITE: usize = 1;
        const CODE: usize = 2;
        let counted = invite.sms_status != SmsStatus::OwnerShares;
        let (by_intercom, by_user) = (items.len(), items.len() + 1);
        if counted {
            items.push(self.count_sms(keys::sms_by_intercom_pk(intercom), hour, limits.per_intercom_per_hour)?);
            items.push(self.count_sms(keys::sms_by_user_pk(user), hour, limits.per_user_per_hour)?);
        }
        let place_at = items.len();
        items.extend(self.claim_place(place, invite, now)?);
        let holder_at = place.holder.as_ref().map(|_| place_at + 1);
        let record_at = idempotency.map(|_| items.len());
        if let Some(record) = idempotency {
            items.push(self.put_record(intercom, record, now)?);
        }
        let Err(error) = self.client.transact_write_items().set_transact_items(Some(items)).send().await else {
            return Ok(CreateOutcome::Committed);
        };
        match transaction_failure(&error) {
            TransactionFailure::Contended => Ok(CreateOutcome::Contended),
            TransactionFailure::ConditionsFailed { items, .. } => Ok(if items.contains(&INVITE) {
                // Its id is new: this is the SDK's retry meeting its own commit.
                CreateOutcome::Committed
            } else if items.contains(&MEMBER) {
                CreateOutcome::MemberGone
            } else if counted && items.contains(&by_intercom) {
                CreateOutcome::SmsLimitReached(SmsLimitScope::Intercom)
            } else if counted && items.contains(&by_user) {
                CreateOutcome::SmsLimitReached(SmsLimitScope::User)
            } else if holder_at.is_some_and(|at| items.contains(&at)) {
                CreateOutcome::PlaceStillHeld
            } else if items.contains(&place_at) {
                CreateOutcome::PlaceTaken
            } else if items.contains(&CODE) {
                CreateOutcome::CodeTaken
            } else if record_at.is_some_and(|at| items.contains(&at)) {
                // An identical keyed request committed first.
                CreateOutcome::KeyTaken
            } else {
                return Err(request_failed(error));
            }),
            TransactionFailure::Other => Err(request_failed(error)),
        }
    }

    /// A new idempotency record, over one whose window has passed (TTL deletes late).
    fn put_record(
        &self,
        intercom: &IntercomId,
        record: &IdempotencyRecord,
        now: OffsetDateTime,
    ) -> Result<TransactWriteItem, StoreError> {
        let put = aws_sdk_dynamodb::types::Put::builder()
            .table_name(&self.table)
            .set_item(Some(idempotency_to_item(intercom, record)))
            .condition_expression("attribute_not_exists(#pk) OR #created_at <= :stale")
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_names("#created_at", names::CREATED_AT)
            .expression_attribute_values(":stale", epoch(now - IDEMPOTENCY_WINDOW))
            .build()
            .map_err(sdk)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// One more guest SMS in `hour` on the counter at `pk`, if fewer than `limit`
    /// were counted. The counter is removed by TTL a day after its hour.
    pub(super) fn count_sms(&self, pk: String, hour: i64, limit: u32) -> Result<TransactWriteItem, StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(pk, keys::sms_hour_sk(hour))))
            .update_expression("ADD #count :one SET #purge_at = :purge_at")
            .condition_expression("attribute_not_exists(#count) OR #count < :limit")
            .expression_attribute_names("#count", names::SMS_COUNT)
            .expression_attribute_names("#purge_at", keys::PURGE_AT)
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":limit", n(limit))
            .expression_attribute_values(":purge_at", n((hour + 25) * 3600))
            .build()
            .map_err(sdk)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }
}

/// What a create writes: the invite, the keyed hash of its guest's number, the place
/// it takes, and its idempotency record if the request had a key.
pub struct NewInvite<'a> {
    pub invite: &'a Invite,
    pub guest_lookup: &'a str,
    pub place: &'a OpenPlace,
    pub idempotency: Option<&'a IdempotencyRecord>,
}

/// Where an erasure finds this code by its guest's number: no name, no number, and
/// kept as long as any fact of the code may be (its activity outlives the invite).
fn guest_index_item(invite: &Invite, lookup: &str) -> Item {
    let mut item = key(keys::guest_pk(lookup), keys::guest_sk(&invite.intercom_id, &invite.id));
    let kept_until = invite.exit_closes_at.saturating_add(crate::store::activity::ACTIVITY_RETENTION);
    item.insert(keys::PURGE_AT.to_owned(), epoch(kept_until.saturating_add(time::Duration::days(3))));
    item
}

/// The allowances in force for an intercom: what provisioning set for it, else the
/// deployment's.
pub fn sms_limits_for(allowance: SmsAllowance, defaults: SmsLimits) -> SmsLimits {
    SmsLimits {
        per_user_per_hour: allowance.per_user_per_hour.unwrap_or(defaults.per_user_per_hour),
        per_intercom_per_hour: allowance.per_intercom_per_hour.unwrap_or(defaults.per_intercom_per_hour),
    }
}
