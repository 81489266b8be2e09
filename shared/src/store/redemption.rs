//! The guest's write path at the gate — one conditional update per code typed —
//! and what settles a passage afterwards: giving it back when its command did not
//! open the gate, and confirming it when the gate reports that it opened.

use super::attributes::names::{self, ENTRY};
use super::attributes::*;
use super::condition_failed;
use super::invites::*;
use super::{request_failed, Store, StoreError};
use crate::domain::code::AccessCode;
use crate::domain::ids::{IntercomId, InviteId};
use crate::domain::invite::{Invite, MAX_WRONG_ATTEMPTS};
use crate::domain::passage::{EXIT_PAUSE_STEP, FREE_EXIT_GUESSES, MAX_GATE_FAILURES, MAX_UNSENT_COMMANDS};
use crate::domain::redemption::{AttemptKey, Redemption};
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
    /// invite's, this attempt spent the entry (exit) provisionally and its command
    /// may be sent.
    Recorded(Invite),
    /// The conditions did not hold; the invite as it was, if it exists at this key.
    /// If it holds this very attempt, the request is a repeat of it.
    Refused(Option<Invite>),
}

/// Whether a give-back follows a command that may have reached the gate (the
/// guest may be through it) or one that was never sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GiveBack {
    /// Sent, and the gate did not open (it said so, or it never answered).
    NotOpened,
    /// Never sent: the gate is offline, or IoT Core refused the update outright.
    NotSent,
}

fn invite_key(intercom: &IntercomId, invite: &InviteId) -> Item {
    key(keys::intercom_pk(intercom), keys::invite_sk(invite))
}

impl Store {
    /// Records one code typed at the gate, and thereby spends the entry (or exit)
    /// provisionally if it is the invite's code: one conditional update that
    /// returns the invite.
    ///
    /// The typed code is not compared in the condition but added to a set, and
    /// every attempt is counted in the same write. Only then does the caller compare
    /// it with the code. So attempts are counted before they are judged: however many
    /// run in parallel, at most [`MAX_WRONG_ATTEMPTS`] wrong codes are ever tried at
    /// the entry, and the invite's code enters a passage's set once, which makes each
    /// passage happen once. The condition refuses revoked, expired, locked and spent
    /// passages, and an attempt already recorded: a repeat (an SDK retry after a lost
    /// answer, the page's retry) is never counted twice; the caller finds it in the
    /// returned item. The attempt's key and time are stored in the same write: they
    /// are its door command (`domain::command::DoorCommand::for_attempt`), and, as the
    /// passage's last attempt, what decides when that command lapses.
    ///
    /// The exit is never locked: past [`FREE_EXIT_GUESSES`] wrong codes each attempt
    /// must come after a pause that every attempt makes [`EXIT_PAUSE_STEP`] longer
    /// (set in this same write, so parallel guesses cannot skip it). The exit opens to
    /// a guest the entry gate let in, or whose entry command went out and was given
    /// back (the gate may have opened without saying so).
    pub async fn record_attempt(
        &self,
        at_gate: &GateAttempt<'_>,
        now: OffsetDateTime,
    ) -> Result<RedeemOutcome, StoreError> {
        let GateAttempt { intercom, invite, token_hash, typed, attempt, redemption } = *at_gate;
        let passage = names::passage(redemption);
        let (condition, mut update) = match redemption {
            Redemption::Entry => (
                "token_hash = :hash AND #state = :active AND expires_at > :now AND #guesses < :allowed \
                 AND (attribute_not_exists(#starts_at) OR #starts_at <= :now) AND NOT contains(#tries, #code) AND attribute_not_exists(#opened) \
                 AND NOT contains(#exit_tries, #code) AND attribute_not_exists(#released) \
                 AND attribute_not_exists(#attempts.#attempt)",
                String::new(),
            ),
            Redemption::Exit => (
                "token_hash = :hash AND #state = :active AND exit_closes_at > :now \
                 AND (attribute_exists(#entry_opened) OR #entry_given_back > :zero) \
                 AND NOT contains(#tries, #code) AND attribute_not_exists(#opened) \
                 AND (#guesses < :allowed OR #not_before <= :now) \
                 AND attribute_not_exists(#attempts.#attempt)",
                ", #not_before = :now + #pause, #pause = #pause + :step".to_owned(),
            ),
        };
        // A passage whose gate has failed it too often takes no more presses: the
        // item stays bounded whatever the gate and the guest do.
        let condition = format!(
            "{condition} AND (attribute_not_exists(#given_back) OR #given_back < :failures) \
             AND (attribute_not_exists(#not_sent) OR #not_sent < :unsent)"
        );
        update.insert_str(
            0,
            "ADD #tries :typed, #guesses :one SET #history = list_append(#history, :event), \
             #attempts.#attempt = :now, #last = :attempt, #last_at = :now",
        );
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(invite_key(intercom, invite)))
            .update_expression(update)
            .condition_expression(condition)
            .expression_attribute_names("#state", names::STATE)
            .expression_attribute_names("#code", names::CODE)
            .expression_attribute_names("#history", names::HISTORY)
            .expression_attribute_names("#guesses", passage.guesses)
            .expression_attribute_names("#tries", passage.tries)
            .expression_attribute_names("#opened", passage.opened)
            .expression_attribute_names("#last", passage.attempt)
            .expression_attribute_names("#last_at", passage.at)
            .expression_attribute_names("#attempts", ATTEMPTS)
            .expression_attribute_names("#attempt", attempt.as_str())
            .expression_attribute_names("#given_back", passage.given_back)
            .expression_attribute_names("#not_sent", passage.not_sent)
            .expression_attribute_values(":failures", n(MAX_GATE_FAILURES))
            .expression_attribute_values(":unsent", n(MAX_UNSENT_COMMANDS))
            .expression_attribute_values(":hash", s(&token_hash.0))
            .expression_attribute_values(":active", s(ACTIVE))
            .expression_attribute_values(":now", epoch(now))
            .expression_attribute_values(":typed", AttributeValue::Ss(vec![typed.as_str().to_owned()]))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":attempt", s(attempt.as_str()))
            .expression_attribute_values(":event", attempt_entry(redemption.as_str(), typed, now))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
        request = match redemption {
            Redemption::Entry => request
                .expression_attribute_names("#starts_at", names::STARTS_AT)
                .expression_attribute_names("#exit_tries", EXIT_TRIES)
                .expression_attribute_names("#released", EXIT_RELEASED)
                .expression_attribute_values(":allowed", n(MAX_WRONG_ATTEMPTS)),
            Redemption::Exit => request
                .expression_attribute_names("#entry_opened", ENTRY.opened)
                .expression_attribute_names("#entry_given_back", ENTRY.given_back)
                .expression_attribute_names("#not_before", names::EXIT_NOT_BEFORE)
                .expression_attribute_names("#pause", names::EXIT_PAUSE)
                .expression_attribute_values(":zero", n(0))
                .expression_attribute_values(":allowed", n(FREE_EXIT_GUESSES))
                .expression_attribute_values(":step", n(EXIT_PAUSE_STEP.whole_seconds())),
        };
        match request.send().await {
            Ok(output) => {
                let item = output.attributes().ok_or_else(|| ItemError { attribute: "ALL_NEW".into() })?;
                Ok(RedeemOutcome::Recorded(invite_from_item(item)?))
            }
            Err(error) => match condition_failed(&error) {
                // An erased invite is no code any more, as `Store::invite` has it: the
                // same answer whatever gate number came with it.
                Some(failed) => Ok(RedeemOutcome::Refused(
                    failed.item().filter(|item| !super::invites::is_erased(item)).map(invite_from_item).transpose()?,
                )),
                None => Err(request_failed(error)),
            },
        }
    }

    /// Gives the guest their entry or exit back when its command did not open the
    /// gate: takes the code out of the passage's set again and uncounts the attempt,
    /// so the same code works again. Only while `attempt` is still the passage's
    /// spending attempt and no gate has reported opening for it, so a give-back
    /// repeated, raced by a late `opened` report, or overtaken by a newer attempt
    /// changes nothing. Returns whether it gave back. An exit given back keeps its
    /// place freed ([`EXIT_RELEASED`]): the place may already be someone else's.
    ///
    /// The attempt stays in the invite's record of attempts, so a late report on its
    /// command still finds it, and a repeat of it is told that its command ended.
    pub async fn give_back(
        &self,
        invite: &Invite,
        redemption: Redemption,
        attempt: &AttemptKey,
        why: GiveBack,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let passage = names::passage(redemption);
        let recorded = invite.passage(redemption);
        // This give-back uses up the passage's allowance of gate failures: the owner
        // is told, once (give-backs of a passage are one at a time: each needs its
        // attempt to be the passage's last, and the copy read after it is exact).
        let mut after = recorded.clone();
        match why {
            GiveBack::NotOpened => after.given_back += 1,
            GiveBack::NotSent => after.not_sent += 1,
        }
        let uses_up = after.gate_failing() && !recorded.gate_failing();
        let mut lines = Vec::new();
        // Sent: the gate may yet report on it, so the attempt stays, and the owner's
        // history says the gate did not open. Never sent: nothing can report on it, so
        // the attempt is forgotten (a retry of it is a new attempt) and only counted,
        // which keeps an invite small however often a broken gate is tried.
        let (counter, mut update) = match why {
            GiveBack::NotOpened => {
                lines.push(history_line(&format!("{}_not_opened", redemption.as_str()), now));
                (
                    passage.given_back,
                    "DELETE #tries :code ADD #guesses :minus_one, #counter :one SET #history = list_append(#history, :event)"
                        .to_owned(),
                )
            }
            GiveBack::NotSent => (
                passage.not_sent,
                "DELETE #tries :code ADD #guesses :minus_one, #counter :one REMOVE #attempts.#attempt".to_owned(),
            ),
        };
        if uses_up {
            lines.push(history_line(&format!("{}_gate_failing", redemption.as_str()), now));
            if why == GiveBack::NotSent {
                update.push_str(" SET #history = list_append(#history, :event)");
            }
        }
        if redemption == Redemption::Exit {
            update.push_str(if update.contains(" SET ") { ", #released = :true" } else { " SET #released = :true" });
        }
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(invite_key(&invite.intercom_id, &invite.id)))
            .update_expression(update)
            .condition_expression("#last = :attempt AND contains(#tries, #code) AND attribute_not_exists(#opened)")
            .expression_attribute_names("#tries", passage.tries)
            .expression_attribute_names("#guesses", passage.guesses)
            .expression_attribute_names("#opened", passage.opened)
            .expression_attribute_names("#last", passage.attempt)
            .expression_attribute_names("#counter", counter)
            .expression_attribute_names("#code", names::CODE)
            .expression_attribute_values(":code", AttributeValue::Ss(vec![invite.code.as_str().to_owned()]))
            .expression_attribute_values(":attempt", s(attempt.as_str()))
            .expression_attribute_values(":minus_one", n(-1))
            .expression_attribute_values(":one", n(1));
        if !lines.is_empty() {
            request = request
                .expression_attribute_names("#history", names::HISTORY)
                .expression_attribute_values(":event", AttributeValue::L(lines));
        }
        if why == GiveBack::NotSent {
            request = request
                .expression_attribute_names("#attempts", ATTEMPTS)
                .expression_attribute_names("#attempt", attempt.as_str());
        }
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

    /// Records the gate's word that it opened for `attempt`'s command: the passage is
    /// spent for good. If the command had been given back meanwhile (the report came
    /// after its lapse), the passage is spent again — the gate's word wins — unless
    /// it was confirmed already. Once per passage: duplicate and out-of-order reports
    /// change nothing. Returns whether it wrote; `false` if the passage was confirmed
    /// before or changed since `invite` was read (the caller reads again to tell).
    /// The exit's confirmation takes the invite out of the sweep's index in the same
    /// write: nothing is left for the sweep to do with a guest who has left.
    pub async fn confirm_opened(
        &self,
        invite: &Invite,
        attempt: &AttemptKey,
        issued_at: OffsetDateTime,
        opened_at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let redemption = attempt.redemption();
        let passage = names::passage(redemption);
        let consumed = invite.passage(redemption).consumed;
        let event = history_append(&format!("{}_opened", redemption.as_str()), opened_at);
        let request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(invite_key(&invite.intercom_id, &invite.id)))
            .expression_attribute_names("#tries", passage.tries)
            .expression_attribute_names("#opened", passage.opened)
            .expression_attribute_names("#last", passage.attempt)
            .expression_attribute_names("#last_at", passage.at)
            .expression_attribute_names("#code", names::CODE)
            .expression_attribute_names("#history", names::HISTORY)
            .expression_attribute_values(":opened", epoch(opened_at))
            .expression_attribute_values(":attempt", s(attempt.as_str()))
            .expression_attribute_values(":issued", epoch(issued_at))
            .expression_attribute_values(":event", event);
        let set = match redemption {
            Redemption::Entry => {
                "SET #opened = :opened, #last = :attempt, #last_at = :issued, #history = list_append(#history, :event)"
            }
            Redemption::Exit => {
                "REMOVE #slot_pk, #slot_sk \
                 SET #opened = :opened, #last = :attempt, #last_at = :issued, #history = list_append(#history, :event)"
            }
        };
        let request = match redemption {
            Redemption::Entry => request,
            Redemption::Exit => request
                .expression_attribute_names("#slot_pk", crate::keys::SLOT_INDEX_PK)
                .expression_attribute_names("#slot_sk", crate::keys::SLOT_INDEX_SK),
        };
        let request = if consumed {
            request
                .update_expression(set)
                .condition_expression("contains(#tries, #code) AND attribute_not_exists(#opened)")
        } else {
            // Spent again, and counted again, as the attempt was when it was recorded.
            request
                .update_expression(format!("{set} ADD #tries :code, #guesses :one"))
                .condition_expression("NOT contains(#tries, #code) AND attribute_not_exists(#opened)")
                .expression_attribute_names("#guesses", passage.guesses)
                .expression_attribute_values(":code", AttributeValue::Ss(vec![invite.code.as_str().to_owned()]))
                .expression_attribute_values(":one", n(1))
        };
        match request.send().await {
            Ok(_) => Ok(true),
            Err(error) if condition_failed(&error).is_some() => Ok(false),
            Err(error) => Err(request_failed(error)),
        }
    }
}
