//! Erasing a guest: their name and number leave the code's items and its activity,
//! and a trace stays that they were erased, by whom.
//!
//! A guest's codes are found by the keyed hash of their number (`keys::guest_pk`,
//! `domain::guest_lookup`). For each code that can no longer be used, one
//! transaction removes the name and number from the invite's item and its SMS item
//! (with the sealed link), appends `guest_erased <by>` to the invite's history, and
//! deletes the code's index item; then its activity facts are written again without
//! them. The stream carries the erasure to the outbox too, after every earlier change
//! of the same item, so a late redelivery cannot write the name back: the outbox
//! writes the erased item's facts again, and publishes the one new fact.
//!
//! A code whose invite is already deleted (14 days after its exit window) still has
//! facts for up to 31 days: they are found in the intercom's activity by the invite's
//! id and written again the same way (no trace fact then: no history to append to).

use super::*;
use crate::store::activity::{fact_from_item, ACTIVITY_RETENTION};

/// One code of a guest, as the index names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestCode {
    pub intercom: IntercomId,
    pub invite: InviteId,
    index_pk: String,
}

/// A code as an erasure found it.
#[derive(Debug, Clone)]
pub struct ErasureTarget {
    pub code: GuestCode,
    state: TargetState,
}

#[derive(Debug, Clone, Copy)]
enum TargetState {
    Live,
    /// Its history had `lines` lines when read.
    Erasable {
        lines: usize,
        has_sms: bool,
    },
    ItemsGone,
}

impl ErasureTarget {
    /// Whether the code can still be used (or has a door command out).
    pub fn is_live(&self) -> bool {
        matches!(self.state, TargetState::Live)
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum EraseOutcome {
    Erased,
    /// The code can still be used (or has a door command out): revoke it first.
    StillLive,
    /// The owner who asked is no longer the intercom's owner.
    NotOwner,
    /// Something happened to the code between the read and the write: ask again.
    Contended,
}

/// Who erases: the intercom's owner (re-checked in the erasure's transaction), or
/// Fluss's operators (a support request's reference, or a logged request carried out
/// again after a restore), who act on the whole fleet.
#[derive(Debug, Clone, Copy)]
pub enum Eraser<'a> {
    Owner(&'a UserId),
    Operator(&'a str),
}

impl Eraser<'_> {
    /// As the history line and the activity's `actor` name them.
    pub fn name(&self) -> &str {
        match self {
            Self::Owner(user) => user.as_str(),
            Self::Operator(reference) => reference,
        }
    }
}

/// How long before its exit window closes a code's first fact may be: made up to
/// `LONGEST_START_AHEAD` before it starts, open as long again at most, then the
/// longest exit grace (a day).
const LONGEST_LIFE: time::Duration = time::Duration::days(1)
    .saturating_add(crate::domain::draft::LONGEST_START_AHEAD)
    .saturating_add(crate::domain::draft::LONGEST_START_AHEAD);

impl Store {
    /// Every code indexed under one of `lookups` (one per guest key kept), at
    /// `intercom` or, for `None`, anywhere in the fleet.
    pub async fn guest_codes(
        &self,
        lookups: &[String],
        intercom: Option<&IntercomId>,
    ) -> Result<Vec<GuestCode>, StoreError> {
        let mut codes = Vec::new();
        for lookup in lookups {
            let index_pk = keys::guest_pk(lookup);
            let query = self
                .client
                .query()
                .table_name(&self.table)
                .expression_attribute_names("#pk", keys::PK)
                .expression_attribute_values(":pk", s(&index_pk));
            // A key condition cannot compare with an empty string: the fleet's is the pk alone.
            let query = match intercom {
                Some(intercom) => query
                    .key_condition_expression("#pk = :pk AND begins_with(#sk, :intercom)")
                    .expression_attribute_names("#sk", keys::SK)
                    .expression_attribute_values(":intercom", s(format!("{intercom}#"))),
                None => query.key_condition_expression("#pk = :pk"),
            };
            for item in self.query_all(query).await? {
                let (intercom, invite) = sort_key(&item).and_then(keys::parse_guest_sk).ok_or_else(|| bad(keys::SK))?;
                codes.push(GuestCode { intercom, invite, index_pk: index_pk.clone() });
            }
        }
        Ok(codes)
    }

    /// What each of `codes` is now, for their erasure: one consistent BatchGetItem
    /// of their invites and SMS items (50 codes a request).
    pub async fn erasure_targets(
        &self,
        codes: &[GuestCode],
        now: OffsetDateTime,
    ) -> Result<Vec<ErasureTarget>, StoreError> {
        let keys: Vec<Item> = codes
            .iter()
            .flat_map(|code| {
                let pk = keys::intercom_pk(&code.intercom);
                [key(pk.clone(), keys::invite_sk(&code.invite)), key(pk, keys::sms_sk(&code.invite))]
            })
            .collect();
        let items = self.get_items(keys).await?;
        let found = |code: &GuestCode, sk: String| {
            let pk = keys::intercom_pk(&code.intercom);
            items.iter().find(|item| {
                item.get(keys::PK).and_then(|v| v.as_s().ok()) == Some(&pk) && sort_key(item) == Some(sk.as_str())
            })
        };
        codes
            .iter()
            .map(|code| {
                let has_sms = found(code, keys::sms_sk(&code.invite)).is_some();
                let state = match found(code, keys::invite_sk(&code.invite)) {
                    Some(item) if !is_erased(item) => match invite_from_item(item)?.holds_slot(now) {
                        true => TargetState::Live,
                        false => TargetState::Erasable {
                            lines: item.get(names::HISTORY).and_then(|h| h.as_l().ok()).map_or(0, Vec::len),
                            has_sms,
                        },
                    },
                    // Deleted by TTL, or erased already: its facts may still name the guest.
                    _ => TargetState::ItemsGone,
                };
                Ok(ErasureTarget { code: code.clone(), state })
            })
            .collect()
    }

    /// Erases the guest of `code`, unless it can still be used. Erasing twice is
    /// erasing once.
    pub async fn erase_guest(
        &self,
        code: &GuestCode,
        by: Eraser<'_>,
        now: OffsetDateTime,
    ) -> Result<EraseOutcome, StoreError> {
        let targets = self.erasure_targets(std::slice::from_ref(code), now).await?;
        match targets.first() {
            Some(target) => self.erase_target(target, by, now).await,
            None => Ok(EraseOutcome::Contended),
        }
    }

    /// Erases the guest of a code as `erasure_targets` found it: `Contended` if it
    /// changed since (read it again).
    pub async fn erase_target(
        &self,
        target: &ErasureTarget,
        by: Eraser<'_>,
        now: OffsetDateTime,
    ) -> Result<EraseOutcome, StoreError> {
        let code = &target.code;
        let index = key(code.index_pk.clone(), keys::guest_sk(&code.intercom, &code.invite));
        match target.state {
            TargetState::Live => return Ok(EraseOutcome::StillLive),
            TargetState::Erasable { lines, has_sms } => {
                let outcome = self.erase_items(code, lines, has_sms, index, by, now).await?;
                if outcome != EraseOutcome::Erased {
                    return Ok(outcome);
                }
            }
            TargetState::ItemsGone => {
                self.client
                    .delete_item()
                    .table_name(&self.table)
                    .set_key(Some(index))
                    .send()
                    .await
                    .map_err(request_failed)?;
            }
        }
        self.erase_activity(code).await?;
        Ok(EraseOutcome::Erased)
    }

    /// The transaction: conditional on the invite's history being as read (no
    /// redemption or report came between), not erased already, and, for an owner, on
    /// their still being the owner.
    async fn erase_items(
        &self,
        code: &GuestCode,
        lines: usize,
        has_sms: bool,
        index: Item,
        by: Eraser<'_>,
        now: OffsetDateTime,
    ) -> Result<EraseOutcome, StoreError> {
        let invite = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::intercom_pk(&code.intercom), keys::invite_sk(&code.invite))))
            .update_expression(
                "SET #erased = :now, #history = list_append(#history, :line) \
                 REMOVE #name, #mobile, #slot_pk, #slot_sk",
            )
            .condition_expression("size(#history) = :lines AND attribute_not_exists(#erased)")
            .expression_attribute_names("#erased", names::GUEST_ERASED_AT)
            .expression_attribute_names("#history", names::HISTORY)
            .expression_attribute_names("#name", names::GUEST_NAME)
            .expression_attribute_names("#mobile", names::GUEST_MOBILE)
            .expression_attribute_names("#slot_pk", keys::SLOT_INDEX_PK)
            .expression_attribute_names("#slot_sk", keys::SLOT_INDEX_SK)
            .expression_attribute_values(":now", epoch(now))
            .expression_attribute_values(":line", history_append(&format!("guest_erased {}", by.name()), now))
            .expression_attribute_values(":lines", n(lines))
            .build()
            .map_err(sdk)?;
        // The owner's check first: its index tells a lost ownership from a change.
        let mut items = Vec::new();
        if let Eraser::Owner(user) = by {
            items.push(TransactWriteItem::builder().condition_check(self.owner_check(&code.intercom, user)?).build());
        }
        items.extend([
            TransactWriteItem::builder().update(invite).build(),
            TransactWriteItem::builder()
                .delete(
                    aws_sdk_dynamodb::types::Delete::builder()
                        .table_name(&self.table)
                        .set_key(Some(index))
                        .build()
                        .map_err(sdk)?,
                )
                .build(),
        ]);
        if has_sms {
            let sms = Update::builder()
                .table_name(&self.table)
                .set_key(Some(key(keys::intercom_pk(&code.intercom), keys::sms_sk(&code.invite))))
                .update_expression("SET #erased = :now REMOVE #name, #mobile, #seal, #seal_key")
                .condition_expression("attribute_exists(#pk)")
                .expression_attribute_names("#pk", keys::PK)
                .expression_attribute_names("#erased", names::GUEST_ERASED_AT)
                .expression_attribute_names("#name", names::GUEST_NAME)
                .expression_attribute_names("#mobile", names::GUEST_MOBILE)
                .expression_attribute_names("#seal", names::LINK_SEAL)
                .expression_attribute_names("#seal_key", names::SEAL_KEY)
                .expression_attribute_values(":now", epoch(now))
                .build()
                .map_err(sdk)?;
            items.push(TransactWriteItem::builder().update(sms).build());
        }
        let owner_checked = matches!(by, Eraser::Owner(_));
        match self.client.transact_write_items().set_transact_items(Some(items)).send().await {
            Ok(_) => Ok(EraseOutcome::Erased),
            Err(error) => match transaction_failure(&error) {
                TransactionFailure::ConditionsFailed { items, .. } if owner_checked && items.contains(&0) => {
                    Ok(EraseOutcome::NotOwner)
                }
                TransactionFailure::Contended | TransactionFailure::ConditionsFailed { .. } => {
                    Ok(EraseOutcome::Contended)
                }
                TransactionFailure::Other => Err(request_failed(error)),
            },
        }
    }

    /// Writes the code's facts that still name its guest again, without them.
    async fn erase_activity(&self, code: &GuestCode) -> Result<(), StoreError> {
        let closes = code.invite.window_closes();
        let closes =
            OffsetDateTime::from_unix_timestamp(closes).map_err(|_| StoreError::Item(bad(names::INVITE_ID)))?;
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk AND #sk BETWEEN :from AND :to")
            .filter_expression("#invite = :invite AND attribute_exists(#name)")
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_names("#sk", keys::SK)
            .expression_attribute_names("#invite", names::INVITE_ID)
            .expression_attribute_names("#name", names::GUEST_NAME)
            .expression_attribute_values(":pk", s(keys::activity_pk(&code.intercom)))
            .expression_attribute_values(":from", s(keys::activity_from(closes - LONGEST_LIFE)))
            .expression_attribute_values(":to", s(keys::activity_from(closes + ACTIVITY_RETENTION)))
            .expression_attribute_values(":invite", s(code.invite.as_str()));
        let facts = self
            .query_all(query)
            .await?
            .iter()
            .map(|item| Ok(fact_from_item(item)?.without_guest_details()))
            .collect::<Result<Vec<_>, StoreError>>()?;
        self.record_facts(&facts).await
    }
}
