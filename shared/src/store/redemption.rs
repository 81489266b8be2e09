//! The guest's write path at the gate: one conditional update per code typed,
//! and giving a redemption back when the gate could not be told.

use super::attributes::*;
use super::condition_failed;
use super::invites::*;
use super::{sdk, Store, StoreError};
use crate::domain::code::AccessCode;
use crate::domain::ids::{IntercomId, InviteId};
use crate::domain::invite::{AttemptId, Invite, Redemption, MAX_WRONG_ATTEMPTS};
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
    pub attempt: Option<&'a AttemptId>,
    pub redemption: Redemption,
}

pub enum RedeemOutcome {
    /// The attempt was counted; the invite as it is now. If the typed code was the
    /// invite's, this attempt consumed the entry (exit) and the gate may be opened.
    Recorded(Invite),
    /// The conditions did not hold; the invite as it was, if it exists at this key.
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
                ENTRY_TRIES,
                "token_hash = :hash AND #state = :active AND expires_at > :now AND #guesses < :allowed \
                 AND NOT contains(#entry_tries, #code)",
                MAX_WRONG_ATTEMPTS,
            ),
            // After entry one guess (the entry) was right.
            Redemption::Exit => (
                EXIT_TRIES,
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
            .expression_attribute_names("#state", names::STATE)
            .expression_attribute_names("#code", names::CODE)
            .expression_attribute_names("#history", names::HISTORY)
            .expression_attribute_names("#guesses", GUESSES)
            .expression_attribute_names("#tries", tries)
            .expression_attribute_names("#entry_tries", ENTRY_TRIES)
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
        if let Some(attempt) = attempt {
            request = request
                .expression_attribute_names("#attempts", ATTEMPTS)
                .expression_attribute_names("#attempt", attempt.key(redemption))
                .expression_attribute_values(":typed_code", s(typed.as_str()));
        }
        match request.send().await {
            Ok(output) => {
                let item = output.attributes().ok_or_else(|| ItemError { attribute: "ALL_NEW".into() })?;
                Ok(RedeemOutcome::Recorded(invite_from_item(item)?))
            }
            Err(error) => match condition_failed(&error) {
                Some(failed) => Ok(RedeemOutcome::Refused(failed.item().map(invite_from_item).transpose()?)),
                None => Err(sdk(error)),
            },
        }
    }

    /// Gives the guest their entry or exit back when the gate command could not be
    /// delivered: takes the code out of the set again and uncounts the attempt.
    /// Only the one request that put the code there can find it there. An exit given
    /// back no longer holds a place ([`EXIT_RELEASED`]): the place it freed
    /// may already be someone else's.
    pub async fn undo_redemption(
        &self,
        invite: &Invite,
        redemption: Redemption,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let (tries, update) = match redemption {
            Redemption::Entry => (ENTRY_TRIES, "DELETE #tries :code ADD #guesses :minus_one SET #history = list_append(#history, :event)"),
            Redemption::Exit => (
                EXIT_TRIES,
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
            .expression_attribute_names("#guesses", GUESSES)
            .expression_attribute_names("#history", names::HISTORY)
            .expression_attribute_values(":code", AttributeValue::Ss(vec![invite.code.as_str().to_owned()]))
            .expression_attribute_values(":code_value", s(invite.code.as_str()))
            .expression_attribute_values(":minus_one", n(-1))
            .expression_attribute_values(":event", history_append(&event, "system", now));
        if redemption == Redemption::Exit {
            request = request
                .expression_attribute_names("#released", EXIT_RELEASED)
                .expression_attribute_values(":true", AttributeValue::Bool(true));
        }
        request.send().await.map_err(sdk)?;
        Ok(())
    }
}
