//! The DynamoDB adapter: every read and every conditional write of the service.
//!
//! Each public method is one request (the budgets in the README count them), except
//! the paginated reads, which are one request per page. Every write that guards an
//! invariant carries its condition here, next to the rule it enforces.

use crate::domain::access::Role;
use crate::domain::code::AccessCode;
use crate::domain::ids::{IntercomId, InviteId, UserId};
use crate::domain::invite::{AttemptId, Invite, Redemption, MAX_WRONG_ATTEMPTS};
use crate::domain::settings::{Intercom, Settings};
use crate::domain::token::TokenHash;
use crate::error::{ApiError, BoxError};
use crate::items::{self, epoch, history_append, key, n, s, IdempotencyRecord, Item, ItemError};
use crate::keys;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Get, Put, ReturnValue, ReturnValuesOnConditionCheckFailure, TransactGetItem,
    TransactWriteItem, Update,
};
use aws_sdk_dynamodb::Client;
use std::collections::HashMap;
use thiserror::Error;
use time::OffsetDateTime;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("DynamoDB request failed")]
    Sdk(#[source] BoxError),
    #[error(transparent)]
    Item(#[from] ItemError),
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        ApiError::unexpected(error)
    }
}

pub(crate) fn sdk<E: std::error::Error + Send + Sync + 'static>(error: E) -> StoreError {
    StoreError::Sdk(Box::new(error))
}

/// Everything in an intercom's partition that a create or a list needs.
#[derive(Debug, Default)]
pub struct Partition {
    pub intercom: Option<Intercom>,
    pub members: HashMap<String, Role>,
    pub invites: Vec<Invite>,
    pub idempotency: HashMap<String, IdempotencyRecord>,
}

impl Partition {
    pub fn role_of(&self, user: &UserId) -> Option<Role> {
        self.members.get(user.as_str()).copied()
    }
}

/// How a transaction ended when DynamoDB cancelled it: which of its items failed.
fn cancelled_items(reasons: &[aws_sdk_dynamodb::types::CancellationReason]) -> Vec<(usize, &str)> {
    reasons.iter().enumerate().filter_map(|(i, r)| r.code().filter(|c| *c != "None").map(|c| (i, c))).collect()
}

fn transaction_cancelled<R>(
    error: &aws_sdk_dynamodb::error::SdkError<
        aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError,
        R,
    >,
) -> Option<&aws_sdk_dynamodb::types::error::TransactionCanceledException> {
    match error.as_service_error()? {
        aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(e) => {
            Some(e)
        }
        _ => None,
    }
}

fn condition_failed<R>(
    error: &aws_sdk_dynamodb::error::SdkError<aws_sdk_dynamodb::operation::update_item::UpdateItemError, R>,
) -> Option<&aws_sdk_dynamodb::types::error::ConditionalCheckFailedException> {
    match error.as_service_error()? {
        aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(e) => Some(e),
        _ => None,
    }
}

pub enum CreateOutcome {
    Committed,
    /// Another create or a settings change got in between, or an identical
    /// idempotent request committed first: read again and decide again.
    Conflict,
    /// The caller's membership vanished between read and write.
    MemberGone,
}

/// One code typed at a gate, as the guest's page sent it.
#[derive(Clone, Copy)]
pub struct GateAttempt<'a> {
    /// The intercom whose QR code was scanned.
    pub intercom: &'a IntercomId,
    pub invite: &'a InviteId,
    pub token_hash: &'a TokenHash,
    pub typed: &'a AccessCode,
    pub attempt: Option<&'a AttemptId>,
    pub redemption: Redemption,
}

pub enum RevokeOutcome {
    Revoked,
    NotFound,
    Forbidden,
}

pub enum RedeemOutcome {
    /// The attempt was counted; the invite as it is now. If the typed code was the
    /// invite's, this attempt consumed the entry (exit) and the gate may be opened.
    Recorded(Invite),
    /// The conditions did not hold; the invite as it was, if it exists at this key.
    Refused(Option<Invite>),
}

#[derive(Clone)]
pub struct Store {
    client: Client,
    table: String,
    /// Items per Query page; `None`: DynamoDB's (1 MB). Tests force small pages.
    page_limit: Option<i32>,
}

impl Store {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self { client, table: table.into(), page_limit: None }
    }

    /// Every Query reads at most `items` per page, as a large partition would past 1 MB.
    pub fn with_page_limit(mut self, items: i32) -> Self {
        self.page_limit = Some(items);
        self
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// What a create or a list needs of an intercom, in one strongly consistent
    /// Query: from the top of the partition down to what ends after `now` (see
    /// `keys`): the registry first, the members, the invites and idempotency records
    /// not ended yet, and nothing that ended, however long the intercom's history.
    /// Only the attributes these reads use are returned (no history).
    pub async fn load_partition(&self, intercom: &IntercomId, now: OffsetDateTime) -> Result<Partition, StoreError> {
        let mut partition = Partition::default();
        let mut start_key = None;
        loop {
            let mut query = self
                .client
                .query()
                .table_name(&self.table)
                .consistent_read(true)
                .scan_index_forward(false)
                .key_condition_expression("#pk = :pk AND #sk >= :from")
                .expression_attribute_names("#pk", keys::PK)
                .expression_attribute_names("#sk", keys::SK)
                .expression_attribute_values(":pk", s(keys::intercom_pk(intercom)))
                .expression_attribute_values(":from", s(keys::still_open_from(now)))
                .set_limit(self.page_limit)
                .set_exclusive_start_key(start_key);
            let mut projection = Vec::with_capacity(items::PARTITION_READ.len());
            for (i, name) in items::PARTITION_READ.iter().enumerate() {
                query = query.expression_attribute_names(format!("#a{i}"), *name);
                projection.push(format!("#a{i}"));
            }
            let page = query.projection_expression(projection.join(", ")).send().await.map_err(sdk)?;
            for item in page.items() {
                match items::sort_key(item).and_then(keys::classify) {
                    Some(keys::PartitionItem::Registry) => partition.intercom = Some(items::intercom_from_item(item)?),
                    Some(keys::PartitionItem::Member(user)) => {
                        partition.members.insert(user.to_owned(), items::role_from_item(item)?);
                    }
                    Some(keys::PartitionItem::Invite(_)) => partition.invites.push(items::invite_from_item(item)?),
                    Some(keys::PartitionItem::Idempotency(_)) => {
                        let record = items::idempotency_from_item(item)?;
                        partition.idempotency.insert(record.key_hash.clone(), record);
                    }
                    None => {}
                }
            }
            start_key = page.last_evaluated_key().cloned();
            if start_key.is_none() {
                return Ok(partition);
            }
        }
    }

    /// The registry item and the caller's membership, in one consistent read.
    pub async fn load_access(
        &self,
        intercom: &IntercomId,
        user: &UserId,
    ) -> Result<(Option<Intercom>, Option<Role>), StoreError> {
        let pk = keys::intercom_pk(intercom);
        let get = |sk: String| {
            Get::builder()
                .table_name(&self.table)
                .set_key(Some(key(pk.clone(), sk)))
                .build()
                .map(|get| TransactGetItem::builder().get(get).build())
        };
        let output = self
            .client
            .transact_get_items()
            .transact_items(get(keys::META_SK.to_owned()).map_err(sdk)?)
            .transact_items(get(keys::member_sk(user)).map_err(sdk)?)
            .send()
            .await
            .map_err(sdk)?;
        let responses = output.responses();
        let item_at = |i: usize| responses.get(i).and_then(|r| r.item());
        let intercom = item_at(0).map(items::intercom_from_item).transpose()?;
        let role = item_at(1).map(items::role_from_item).transpose()?;
        Ok((intercom, role))
    }

    /// An update of the registry item that applies only if the intercom is still at
    /// the version the caller read, and moves it on; `also_set` rides along.
    fn version_guard(
        &self,
        intercom: &Intercom,
        also_set: Vec<(&'static str, AttributeValue)>,
    ) -> Result<Update, StoreError> {
        let condition = if intercom.version == 0 {
            "attribute_not_exists(#version) OR #version = :seen"
        } else {
            "#version = :seen"
        };
        let mut expression = "SET #version = if_not_exists(#version, :zero) + :one".to_owned();
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::intercom_pk(&intercom.id), keys::META_SK)))
            .condition_expression(condition)
            .expression_attribute_names("#version", "version")
            .expression_attribute_values(":seen", n(intercom.version))
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1));
        for (name, value) in also_set {
            expression.push_str(&format!(", #{name} = :{name}"));
            update = update
                .expression_attribute_names(format!("#{name}"), name)
                .expression_attribute_values(format!(":{name}"), value);
        }
        update.update_expression(expression).build().map_err(sdk)
    }

    fn member_check(&self, intercom: &IntercomId, user: &UserId) -> Result<ConditionCheck, StoreError> {
        ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::intercom_pk(intercom), keys::member_sk(user))))
            .condition_expression("attribute_exists(#role)")
            .expression_attribute_names("#role", "role")
            .build()
            .map_err(sdk)
    }

    fn put_new(&self, item: Item) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(#pk)")
            .expression_attribute_names("#pk", keys::PK)
            .build()
            .map_err(sdk)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    /// Writes a new invite in one transaction that also moves the intercom's version
    /// on from the one the caller's decisions were based on. Two creates that read
    /// the same version cannot both commit, so Max Users and code uniqueness, checked
    /// on that read, hold under any concurrency.
    pub async fn commit_create(
        &self,
        intercom: &Intercom,
        user: &UserId,
        invite: &Invite,
        idempotency: Option<&IdempotencyRecord>,
    ) -> Result<CreateOutcome, StoreError> {
        let mut request = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(self.version_guard(intercom, Vec::new())?).build())
            .transact_items(
                TransactWriteItem::builder().condition_check(self.member_check(&intercom.id, user)?).build(),
            )
            .transact_items(self.put_new(items::invite_to_item(invite))?);
        if let Some(record) = idempotency {
            request = request.transact_items(self.put_new(items::idempotency_to_item(&intercom.id, record))?);
        }
        match request.send().await {
            Ok(_) => Ok(CreateOutcome::Committed),
            Err(error) => match transaction_cancelled(&error) {
                Some(cancelled) => {
                    let failed = cancelled_items(cancelled.cancellation_reasons());
                    if failed.iter().any(|(i, c)| *i == 1 && *c == "ConditionalCheckFailed") {
                        Ok(CreateOutcome::MemberGone)
                    } else {
                        Ok(CreateOutcome::Conflict)
                    }
                }
                None => Err(sdk(error)),
            },
        }
    }

    pub async fn record_sms_failure(&self, invite: &Invite, now: OffsetDateTime) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::intercom_pk(&invite.intercom_id), keys::invite_sk(&invite.id))))
            .update_expression("SET sms_status = :failed, #history = list_append(#history, :event)")
            .condition_expression("attribute_exists(#history)")
            .expression_attribute_names("#history", "history")
            .expression_attribute_values(":failed", s("failed"))
            .expression_attribute_values(":event", history_append("sms_failed", "system", now))
            .send()
            .await
            .map_err(sdk)?;
        Ok(())
    }

    /// Ends a live invite and, by ending it, frees its place: one transaction that
    /// also re-checks the caller's membership.
    pub async fn revoke(
        &self,
        intercom: &IntercomId,
        invite: &InviteId,
        user: &UserId,
        now: OffsetDateTime,
    ) -> Result<RevokeOutcome, StoreError> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::intercom_pk(intercom), keys::invite_sk(invite))))
            .update_expression(
                "SET #state = :revoked, revoked_at = :now, revoked_by = :user, #history = list_append(#history, :event) \
                 REMOVE #slot_pk, #slot_sk",
            )
            // Live: not revoked, not exited, not given back after a failed exit, not expired.
            .condition_expression(
                "#state = :active AND NOT contains(#exit_tries, #code) AND attribute_not_exists(#released) AND expires_at > :now",
            )
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#code", "code")
            .expression_attribute_names("#exit_tries", items::EXIT_TRIES)
            .expression_attribute_names("#released", items::EXIT_RELEASED)
            .expression_attribute_names("#history", "history")
            .expression_attribute_names("#slot_pk", keys::SLOT_INDEX_PK)
            .expression_attribute_names("#slot_sk", keys::SLOT_INDEX_SK)
            .expression_attribute_values(":revoked", s(items::REVOKED))
            .expression_attribute_values(":active", s(items::ACTIVE))
            .expression_attribute_values(":now", epoch(now))
            .expression_attribute_values(":user", s(user.as_str()))
            .expression_attribute_values(":event", history_append("revoked", user.as_str(), now))
            .build()
            .map_err(sdk)?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().condition_check(self.member_check(intercom, user)?).build())
            .transact_items(TransactWriteItem::builder().update(update).build())
            .send()
            .await;
        match result {
            Ok(_) => Ok(RevokeOutcome::Revoked),
            Err(error) => match transaction_cancelled(&error) {
                Some(cancelled) => {
                    let failed = cancelled_items(cancelled.cancellation_reasons());
                    match failed.first() {
                        Some((0, _)) => Ok(RevokeOutcome::Forbidden),
                        Some((_, "ConditionalCheckFailed")) => Ok(RevokeOutcome::NotFound),
                        _ => Err(sdk(error)),
                    }
                }
                None => Err(sdk(error)),
            },
        }
    }

    /// Records one code typed at the gate, and thereby consumes the entry (or exit)
    /// if it is the invite's code: one conditional update that returns the invite.
    ///
    /// The typed code is not compared in the condition but added to a set, and
    /// every attempt is counted in the same write. Only then does the caller compare
    /// it with the code. So attempts are counted before they are judged: however many
    /// run in parallel, at most [`MAX_WRONG_ATTEMPTS`] wrong codes are ever tried, and
    /// the invite's code enters the entry (exit) set once, which makes each happen once.
    /// The condition refuses revoked, expired, locked and already-used invites.
    pub async fn record_attempt(
        &self,
        at_gate: &GateAttempt<'_>,
        now: OffsetDateTime,
    ) -> Result<RedeemOutcome, StoreError> {
        let GateAttempt { intercom, invite, token_hash, typed, attempt, redemption } = *at_gate;
        let (tries, condition, allowed_guesses) = match redemption {
            // Before entry every guess so far was wrong.
            Redemption::Entry => (
                items::ENTRY_TRIES,
                "token_hash = :hash AND #state = :active AND expires_at > :now AND #guesses < :allowed \
                 AND NOT contains(#entry_tries, #code)",
                MAX_WRONG_ATTEMPTS,
            ),
            // After entry one guess (the entry) was right.
            Redemption::Exit => (
                items::EXIT_TRIES,
                "token_hash = :hash AND #state = :active AND exit_closes_at > :now AND #guesses < :allowed \
                 AND contains(#entry_tries, #code) AND NOT contains(#exit_tries, #code)",
                MAX_WRONG_ATTEMPTS + 1,
            ),
        };
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::intercom_pk(intercom), keys::invite_sk(invite))))
            .update_expression(if attempt.is_some() {
                "ADD #tries :typed, #guesses :one SET #history = list_append(#history, :event), #attempts.#attempt = :typed_code"
            } else {
                "ADD #tries :typed, #guesses :one SET #history = list_append(#history, :event)"
            })
            .condition_expression(condition)
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#code", "code")
            .expression_attribute_names("#history", "history")
            .expression_attribute_names("#guesses", items::GUESSES)
            .expression_attribute_names("#tries", tries)
            .expression_attribute_names("#entry_tries", items::ENTRY_TRIES)
            .expression_attribute_values(":hash", s(&token_hash.0))
            .expression_attribute_values(":active", s(items::ACTIVE))
            .expression_attribute_values(":now", epoch(now))
            .expression_attribute_values(":allowed", n(allowed_guesses))
            .expression_attribute_values(":typed", AttributeValue::Ss(vec![typed.as_str().to_owned()]))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":event", items::attempt_entry(redemption.as_str(), typed, now))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        if redemption == Redemption::Exit {
            request = request.expression_attribute_names("#exit_tries", items::EXIT_TRIES);
        }
        if let Some(attempt) = attempt {
            request = request
                .expression_attribute_names("#attempts", items::ATTEMPTS)
                .expression_attribute_names("#attempt", attempt.key(redemption))
                .expression_attribute_values(":typed_code", s(typed.as_str()));
        }
        match request.send().await {
            Ok(output) => {
                let item = output.attributes().ok_or_else(|| ItemError { attribute: "ALL_NEW".into() })?;
                Ok(RedeemOutcome::Recorded(items::invite_from_item(item)?))
            }
            Err(error) => match condition_failed(&error) {
                Some(failed) => Ok(RedeemOutcome::Refused(failed.item().map(items::invite_from_item).transpose()?)),
                None => Err(sdk(error)),
            },
        }
    }

    /// Gives the guest their entry or exit back when the gate command could not be
    /// delivered: takes the code out of the set again and uncounts the attempt.
    /// Only the one request that put the code there can find it there. An exit given
    /// back no longer holds a place ([`items::EXIT_RELEASED`]): the place it freed
    /// may already be someone else's.
    pub async fn undo_redemption(
        &self,
        invite: &Invite,
        redemption: Redemption,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let (tries, update) = match redemption {
            Redemption::Entry => (items::ENTRY_TRIES, "DELETE #tries :code ADD #guesses :minus_one SET #history = list_append(#history, :event)"),
            Redemption::Exit => (
                items::EXIT_TRIES,
                "DELETE #tries :code ADD #guesses :minus_one SET #history = list_append(#history, :event), #released = :true",
            ),
        };
        let event = format!("{}_gate_failed", redemption.as_str());
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::intercom_pk(&invite.intercom_id), keys::invite_sk(&invite.id))))
            .update_expression(update)
            .condition_expression("contains(#tries, :code_value)")
            .expression_attribute_names("#tries", tries)
            .expression_attribute_names("#guesses", items::GUESSES)
            .expression_attribute_names("#history", "history")
            .expression_attribute_values(":code", AttributeValue::Ss(vec![invite.code.as_str().to_owned()]))
            .expression_attribute_values(":code_value", s(invite.code.as_str()))
            .expression_attribute_values(":minus_one", n(-1))
            .expression_attribute_values(":event", history_append(&event, "system", now));
        if redemption == Redemption::Exit {
            request = request
                .expression_attribute_names("#released", items::EXIT_RELEASED)
                .expression_attribute_values(":true", AttributeValue::Bool(true));
        }
        request.send().await.map_err(sdk)?;
        Ok(())
    }

    /// One invite as it is now (a strongly consistent GetItem), whatever its state.
    pub async fn invite(&self, intercom: &IntercomId, invite: &InviteId) -> Result<Option<Invite>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::intercom_pk(intercom), keys::invite_sk(invite))))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk)?;
        Ok(output.item().map(items::invite_from_item).transpose()?)
    }

    /// Saves settings if nothing changed the intercom since it was read, and
    /// records who changed what. Returns `false` on such a conflict.
    pub async fn save_settings(&self, intercom: &Intercom, settings: &Settings) -> Result<bool, StoreError> {
        let update = self.version_guard(intercom, items::settings_attributes(settings))?;
        let mut audit = key(keys::audit_pk(&intercom.id), audit_sort_key(settings.updated_at));
        audit.extend([
            ("event".to_owned(), s("settings_updated")),
            ("actor".to_owned(), s(settings.updated_by.as_str())),
            ("at".to_owned(), epoch(settings.updated_at)),
            ("entry_gate".to_owned(), s(settings.entry_gate.as_str())),
            ("exit_gate".to_owned(), s(settings.exit_gate.as_str())),
            ("max_users".to_owned(), n(settings.max_users)),
            ("invite_duration_minutes".to_owned(), n(settings.invite_duration_minutes)),
            ("exit_grace_minutes".to_owned(), n(settings.exit_grace_minutes)),
            (keys::PURGE_AT.to_owned(), epoch(settings.updated_at + AUDIT_RETENTION)),
        ]);
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(update).build())
            .transact_items(self.put_new(audit)?)
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(error) if error.as_service_error().is_some_and(|e| e.is_transaction_canceled_exception()) => Ok(false),
            Err(error) => Err(sdk(error)),
        }
    }

    /// Invites that hold a place and whose expiry has passed, oldest first, at most
    /// `limit`. Reads the sparse slot index only: work grows with what is due.
    pub async fn due_invites(
        &self,
        now: OffsetDateTime,
        limit: usize,
    ) -> Result<Vec<(IntercomId, InviteId)>, StoreError> {
        let mut due = Vec::new();
        let mut start_key = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(keys::SLOT_INDEX)
                .key_condition_expression("#pk = :pk AND #sk < :due")
                .expression_attribute_names("#pk", keys::SLOT_INDEX_PK)
                .expression_attribute_names("#sk", keys::SLOT_INDEX_SK)
                .expression_attribute_values(":pk", s(keys::SLOT_INDEX_PARTITION))
                .expression_attribute_values(":due", s(keys::slot_index_due_before(now)))
                .limit(i32::try_from(limit.saturating_sub(due.len()).max(1)).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start_key)
                .send()
                .await
                .map_err(sdk)?;
            for item in page.items() {
                let pk = item.get(keys::PK).and_then(|v| v.as_s().ok());
                let sk = items::sort_key(item);
                match pk.zip(sk).and_then(|(pk, sk)| keys::parse_invite_key(pk, sk)) {
                    Some(key) => due.push(key),
                    None => return Err(ItemError { attribute: keys::SLOT_INDEX_SK.into() }.into()),
                }
            }
            start_key = page.last_evaluated_key().cloned();
            if start_key.is_none() || due.len() >= limit {
                return Ok(due);
            }
        }
    }

    /// Records an invite's expiry and takes it out of the slot index. The condition
    /// makes overlapping sweeps record each expiry once. Returns whether this call did.
    pub async fn expire(
        &self,
        intercom: &IntercomId,
        invite: &InviteId,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::intercom_pk(intercom), keys::invite_sk(invite))))
            .update_expression(
                "SET expired_at = :now, #history = list_append(#history, :event) REMOVE #slot_pk, #slot_sk",
            )
            .condition_expression("attribute_exists(#slot_pk) AND expires_at <= :now")
            .expression_attribute_names("#history", "history")
            .expression_attribute_names("#slot_pk", keys::SLOT_INDEX_PK)
            .expression_attribute_names("#slot_sk", keys::SLOT_INDEX_SK)
            .expression_attribute_values(":now", epoch(now))
            .expression_attribute_values(":event", history_append("expired", "system", now))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(error) if error.as_service_error().is_some_and(|e| e.is_conditional_check_failed_exception()) => {
                Ok(false)
            }
            Err(error) => Err(sdk(error)),
        }
    }
}

/// How long settings changes stay in the audit partition.
pub const AUDIT_RETENTION: time::Duration = time::Duration::days(90);

fn audit_sort_key(at: OffsetDateTime) -> String {
    use rand::Rng;
    format!("{:012}#{:08x}", at.unix_timestamp(), rand::rng().random::<u32>())
}
