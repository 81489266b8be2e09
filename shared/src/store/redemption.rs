//! The guest's write path at the gate: one conditional update per code typed,
//! and giving a redemption back when the gate refused its command.

use super::attributes::*;
use super::condition_failed;
use super::invites::*;
use super::{request_failed, Store, StoreError};
use crate::domain::code::AccessCode;
use crate::domain::ids::{IntercomId, InviteId};
use crate::domain::invite::{AttemptKey, Invite, Redemption, MAX_GATE_GIVE_BACKS, MAX_WRONG_ATTEMPTS};
use crate::domain::token::TokenHash;
use crate::keys;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use time::OffsetDateTime;

/// One code typed at a gate, as the guest's page sent it.
#[derive(Clone, Copy)]
pub struct GateAttempt<'a> {
    /// The intercom whose QR code was scanned.
    pub intercom: &'a IntercomId,
    pub invite: &'a InviteId,
    pub token_hash: &'a TokenHash,
    pub typed: &'a AccessCode,
    pub attempt: &'a AttemptKey,
    pub redemption: Redemption,
}

pub enum RedeemOutcome {
    /// The attempt was counted; the invite as it is now. If the typed code was the
    /// invite's, this attempt consumed the entry (exit) and the gate may be opened.
    Recorded(Invite),
    /// The conditions did not hold; the invite as it was, if it exists at this key.
    /// If it holds this very attempt, the request is a repeat of it.
    Refused(Option<Invite>),
}

impl Store {
    /// Records one code typed at the gate, and thereby consumes the entry (or exit)
    /// if it is the invite's code: one conditional update that returns the invite.
    ///
    /// The typed code is not compared in the condition but added to a set, and
    /// every attempt is counted in the same write. Only then does the caller compare
    /// it with the code. So attempts are counted before they are judged: however many
    /// run in parallel, at most [`MAX_WRONG_ATTEMPTS`] wrong codes are ever tried, and
    /// the invite's code enters the entry (exit) set once, which makes each happen once.
    /// The condition refuses revoked, expired, locked and already-used invites, and
    /// an attempt already recorded: a repeat (an SDK retry after a lost answer, the
    /// page's retry) is never counted twice; the caller finds it in the returned item.
    /// The attempt's key and time are stored in the same write, which fixes the door
    /// command of a consuming attempt (`gate::DoorCommand::for_attempt`).
    pub async fn record_attempt(
        &self,
        at_gate: &GateAttempt<'_>,
        now: OffsetDateTime,
    ) -> Result<RedeemOutcome, StoreError> {
        let GateAttempt { intercom, invite, token_hash, typed, attempt, redemption } = *at_gate;
        let (tries, condition, allowed_guesses) = match redemption {
            // Before entry every guess so far was wrong.
            Redemption::Entry => (
                ENTRY_TRIES,
                "token_hash = :hash AND #state = :active AND expires_at > :now AND #guesses < :allowed \
                 AND NOT contains(#entry_tries, #code) AND attribute_not_exists(#attempts.#attempt)",
                MAX_WRONG_ATTEMPTS,
            ),
            // After entry one guess (the entry) was right.
            Redemption::Exit => (
                EXIT_TRIES,
                "token_hash = :hash AND #state = :active AND exit_closes_at > :now AND #guesses < :allowed \
                 AND contains(#entry_tries, #code) AND NOT contains(#exit_tries, #code) \
                 AND attribute_not_exists(#attempts.#attempt)",
                MAX_WRONG_ATTEMPTS + 1,
            ),
        };
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::intercom_pk(intercom), keys::invite_sk(invite))))
            .update_expression(
                "ADD #tries :typed, #guesses :one SET #history = list_append(#history, :event), #attempts.#attempt = :now",
            )
            .condition_expression(condition)
            .expression_attribute_names("#state", names::STATE)
            .expression_attribute_names("#code", names::CODE)
            .expression_attribute_names("#history", names::HISTORY)
            .expression_attribute_names("#guesses", GUESSES)
            .expression_attribute_names("#tries", tries)
            .expression_attribute_names("#entry_tries", ENTRY_TRIES)
            .expression_attribute_names("#attempts", ATTEMPTS)
            .expression_attribute_names("#attempt", attempt.as_str())
            .expression_attribute_values(":hash", s(&token_hash.0))
            .expression_attribute_values(":active", s(ACTIVE))
            .expression_attribute_values(":now", epoch(now))
            .expression_attribute_values(":allowed", n(allowed_guesses))
            .expression_attribute_values(":typed", AttributeValue::Ss(vec![typed.as_str().to_owned()]))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":event", attempt_entry(redemption.as_str(), typed, now))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        if redemption == Redemption::Exit {
            request = request.expression_attribute_names("#exit_tries", EXIT_TRIES);
        }
        match request.send().await {
            Ok(output) => {
                let item = output.attributes().ok_or_else(|| ItemError { attribute: "ALL_NEW".into() })?;
                Ok(RedeemOutcome::Recorded(invite_from_item(item)?))
            }
            Err(error) => match condition_failed(&error) {
                Some(failed) => Ok(RedeemOutcome::Refused(failed.item().map(invite_from_item).transpose()?)),
                None => Err(request_failed(error)),
            },
        }
    }

    /// Gives the guest their entry or exit back after the gate refused its command
    /// outright (nothing was written to the shadow): takes the code out of the set
    /// again, uncounts the attempt and forgets it, so the guest can try again.
    /// Only the attempt that consumed the redemption can give it back, and only
    /// [`MAX_GATE_GIVE_BACKS`] times per invite; returns whether it did. An exit
    /// given back no longer holds a place ([`EXIT_RELEASED`]): the place it freed may
    /// already be someone else's.
    pub async fn give_back(
        &self,
        invite: &Invite,
        redemption: Redemption,
        attempt: &AttemptKey,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let (tries, update) = match redemption {
            Redemption::Entry => (
                ENTRY_TRIES,
                "DELETE #tries :code ADD #guesses :minus_one, #give_backs :one \
                 SET #history = list_append(#history, :event) REMOVE #attempts.#attempt",
            ),
            Redemption::Exit => (
                EXIT_TRIES,
                "DELETE #tries :code ADD #guesses :minus_one, #give_backs :one \
                 SET #history = list_append(#history, :event), #released = :true REMOVE #attempts.#attempt",
            ),
        };
        let event = format!("{}_gate_failed", redemption.as_str());
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::intercom_pk(&invite.intercom_id), keys::invite_sk(&invite.id))))
            .update_expression(update)
            .condition_expression(
                "contains(#tries, :code_value) AND attribute_exists(#attempts.#attempt) \
                 AND (attribute_not_exists(#give_backs) OR #give_backs < :max_give_backs)",
            )
            .expression_attribute_names("#tries", tries)
            .expression_attribute_names("#guesses", GUESSES)
            .expression_attribute_names("#give_backs", GATE_GIVE_BACKS)
            .expression_attribute_names("#history", names::HISTORY)
            .expression_attribute_names("#attempts", ATTEMPTS)
            .expression_attribute_names("#attempt", attempt.as_str())
            .expression_attribute_values(":code", AttributeValue::Ss(vec![invite.code.as_str().to_owned()]))
            .expression_attribute_values(":code_value", s(invite.code.as_str()))
            .expression_attribute_values(":minus_one", n(-1))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":max_give_backs", n(MAX_GATE_GIVE_BACKS))
            .expression_attribute_values(":event", history_append(&event, now));
        if redemption == Redemption::Exit {
            request = request
                .expression_attribute_names("#released", EXIT_RELEASED)
                .expression_attribute_values(":true", AttributeValue::Bool(true));
        }
        match request.send().await {
            Ok(_) => Ok(true),
            Err(error) if condition_failed(&error).is_some() => Ok(false),
            Err(error) => Err(request_failed(error)),
        }
    }
}
