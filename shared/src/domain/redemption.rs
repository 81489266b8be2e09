//! A guest at the gate: which passage they ask for ([`Redemption`]), why it is
//! refused ([`Refusal`]), the press that asks ([`AttemptId`], stored as an
//! [`AttemptKey`]), and an invite's rules for a redemption at a moment. The
//! conditional writes in `store::redemption` encode the same rules; these explain a
//! failed condition from the item it returns, and tell the guest's page what is next.

use super::code::AccessCode;
use super::invite::{GateSnapshot, Invite, InviteState, MAX_WRONG_ATTEMPTS};
use super::passage::{Passage, Progress};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Redemption {
    Entry,
    Exit,
}

impl Redemption {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Entry => "entry",
            Self::Exit => "exit",
        }
    }
}

/// Why a guest's redemption was refused. Each has a stable error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No invite answers to this token (never existed, mistyped, or deleted by TTL).
    InvalidLink,
    WrongIntercom,
    Revoked,
    Locked,
    AlreadyUsed,
    NotEntered,
    Expired,
    WrongCode,
    /// The gate is known to be offline: nothing was spent, nothing was sent.
    GateOffline,
    /// Wrong exit codes past the free allowance: the next try must wait.
    SlowDown,
    /// A command for this passage is out and its gate has not answered yet.
    Opening,
    /// No gate number, or not this intercom's: the guest has not shown they are at
    /// the gate (scanned its QR code or typed the number under it). Nothing counted.
    ScanAtGate,
    /// The code was made to start later: nothing counted, try again from its start.
    NotYet,
    /// This passage's gate has failed it too often (`passage::MAX_GATE_FAILURES`):
    /// a person must help. Nothing is written, so the invite stays small.
    GateFailing,
}

/// What a link allows now ([`Invite::next_step`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NextStep {
    /// The passage that is the guest's now.
    pub redemption: Redemption,
    /// Its command is out: no press is taken until the gate answers or this passes.
    pub opening_until: Option<OffsetDateTime>,
    /// Another passage the guest may take instead (the exit, for a guest whose entry
    /// command came back without a report and who may be inside).
    pub also: Option<Redemption>,
}

impl NextStep {
    fn only(redemption: Redemption) -> Self {
        Self { redemption, opening_until: None, also: None }
    }
}

/// One press of the gate page's button, repeated on retries: chosen by the page,
/// or by the function for a client that sends none (then only the SDK's own
/// retries repeat it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptId(String);

impl AttemptId {
    pub fn parse(raw: &str) -> Option<Self> {
        let valid =
            (8..=64).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        valid.then(|| Self(raw.to_owned()))
    }

    pub fn generate() -> Self {
        let mut bytes = [0u8; 12];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// What one attempt is stored under: the press, the redemption and the code
    /// typed. The same press with another code is another attempt, judged by its
    /// own code.
    pub fn key(&self, redemption: Redemption, typed: &AccessCode) -> AttemptKey {
        let digest = Sha256::new()
            .chain_update(redemption.as_str())
            .chain_update([0])
            .chain_update(&self.0)
            .chain_update([0])
            .chain_update(typed.as_str())
            .finalize();
        let prefix = match redemption {
            Redemption::Entry => 'e',
            Redemption::Exit => 'x',
        };
        AttemptKey(format!("{prefix}{}", URL_SAFE_NO_PAD.encode(&digest[..8])))
    }
}

/// A short, fixed-size name for one attempt (12 characters: the invite item stays
/// under 1 KB however many attempts it records).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AttemptKey(String);

impl AttemptKey {
    const LEN: usize = 12;

    pub fn from_stored(raw: String) -> Self {
        Self(raw)
    }

    /// A key as [`AttemptId::key`] makes them, read back from a command id.
    pub fn parse(raw: &str) -> Option<Self> {
        let valid = raw.len() == Self::LEN
            && matches!(raw.as_bytes()[0], b'e' | b'x')
            && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        valid.then(|| Self(raw.to_owned()))
    }

    /// Which passage the attempt was for (its first letter).
    pub fn redemption(&self) -> Redemption {
        if self.0.starts_with('x') {
            Redemption::Exit
        } else {
            Redemption::Entry
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Invite {
    /// The gate a redemption opens, as snapshotted when the code was created.
    pub fn gate_for(&self, redemption: Redemption) -> &GateSnapshot {
        match redemption {
            Redemption::Entry => &self.entry_gate,
            Redemption::Exit => &self.exit_gate,
        }
    }

    /// When this attempt was recorded, if it was: the request is a repeat.
    pub fn recorded_attempt(&self, key: &AttemptKey) -> Option<OffsetDateTime> {
        self.attempts.get(key).copied()
    }

    pub fn passage(&self, redemption: Redemption) -> &Passage {
        match redemption {
            Redemption::Entry => &self.entry,
            Redemption::Exit => &self.exit,
        }
    }

    pub fn last_attempt(&self, redemption: Redemption) -> Option<&AttemptKey> {
        match redemption {
            Redemption::Entry => self.last_entry_attempt.as_ref(),
            Redemption::Exit => self.last_exit_attempt.as_ref(),
        }
    }

    /// The passage whose command lapsed unanswered, if one did: a write must record
    /// that it was given back before that passage is attempted again.
    pub fn lapsed(&self, now: OffsetDateTime) -> Option<Redemption> {
        [Redemption::Entry, Redemption::Exit].into_iter().find(|r| self.passage(*r).progress(now) == Progress::Lapsed)
    }

    /// What the link holder can do now: the redemption that is theirs (with its
    /// command, if one is out), or why none is. What the guest's page shows before a
    /// code is typed, and after a reload. A pause after wrong exit codes does not
    /// hide the exit (the page shows the wait).
    pub fn next_step(&self, now: OffsetDateTime) -> Result<NextStep, Refusal> {
        let step = NextStep::only;
        let opening_until = |redemption| match self.passage(redemption).progress(now) {
            Progress::Opening { confirm_by } => Some(confirm_by),
            _ => None,
        };
        let state = self.state(now);
        for redemption in [Redemption::Entry, Redemption::Exit] {
            if let (false, Some(until)) = (state == InviteState::Revoked, opening_until(redemption)) {
                return Ok(NextStep { opening_until: Some(until), ..step(redemption) });
            }
        }
        let allowed = |redemption| matches!(self.refusal(redemption, &self.code, now), None | Some(Refusal::SlowDown));
        if state == InviteState::Unused {
            // An entry command went out and came back without a report: the gate may
            // have opened, so the exit is offered beside the entry.
            let exit_too = allowed(Redemption::Exit);
            let entry_refusal = self.refusal(Redemption::Entry, &self.code, now);
            return match (allowed(Redemption::Entry), exit_too) {
                (true, _) => Ok(NextStep { also: exit_too.then_some(Redemption::Exit), ..step(Redemption::Entry) }),
                // A gate that keeps failing is the guest's news, not "you are inside"
                // (the exit stays open to one who is: the API takes it).
                (false, true) if entry_refusal != Some(Refusal::GateFailing) => Ok(step(Redemption::Exit)),
                (false, _) => Err(entry_refusal.unwrap_or(Refusal::AlreadyUsed)),
            };
        }
        match self.refusal(Redemption::Exit, &self.code, now) {
            None | Some(Refusal::SlowDown) => Ok(step(Redemption::Exit)),
            Some(refusal) => Err(refusal),
        }
    }

    /// Wrong codes the guest may still type for `redemption` before the entry locks
    /// (or, at the exit, before each try must wait).
    pub fn attempts_left(&self, redemption: Redemption) -> u32 {
        match redemption {
            Redemption::Entry => MAX_WRONG_ATTEMPTS.saturating_sub(self.entry.wrong()),
            Redemption::Exit => super::passage::FREE_EXIT_GUESSES.saturating_sub(self.exit.wrong()),
        }
    }

    /// How long the guest must still wait before the next exit attempt.
    pub fn exit_wait(&self, now: OffsetDateTime) -> time::Duration {
        match self.exit_not_before {
            Some(not_before) if self.exit.wrong() >= super::passage::FREE_EXIT_GUESSES && now < not_before => {
                not_before - now
            }
            _ => time::Duration::ZERO,
        }
    }

    /// Why `redemption` with `code` at `now` is refused, or `None` if it may go ahead.
    /// The conditional writes in `store` encode the same rules; this explains a
    /// failed condition from the item it returns.
    pub fn refusal(&self, redemption: Redemption, code: &AccessCode, now: OffsetDateTime) -> Option<Refusal> {
        let state = self.state(now);
        if state == InviteState::Revoked {
            return Some(Refusal::Revoked);
        }
        let window_closes = match (redemption, state) {
            (Redemption::Entry, _) if self.is_locked(now) => return Some(Refusal::Locked),
            (Redemption::Entry, InviteState::Unused) if now < self.starts_at => return Some(Refusal::NotYet),
            (Redemption::Entry, InviteState::Unused) => self.expires_at,
            (Redemption::Entry, InviteState::Entering) => return Some(Refusal::Opening),
            (Redemption::Entry, _) => return Some(Refusal::AlreadyUsed),
            (Redemption::Exit, InviteState::Exited) => {
                let opening = matches!(self.exit.progress(now), Progress::Opening { .. });
                return Some(if opening { Refusal::Opening } else { Refusal::AlreadyUsed });
            }
            (Redemption::Exit, InviteState::Entered | InviteState::ExitFailed) => self.exit_closes_at,
            // An entry command that went out and was given back: the gate may have
            // opened without saying so, and nobody may be locked inside.
            (Redemption::Exit, InviteState::Unused)
                if self.entry.given_back > 0 || self.entry.progress(now) == Progress::Lapsed =>
            {
                self.exit_closes_at
            }
            (Redemption::Exit, InviteState::Unused | InviteState::Entering) if now < self.expires_at => {
                return Some(Refusal::NotEntered)
            }
            (Redemption::Exit, _) => self.expires_at,
        };
        if now >= window_closes {
            return Some(Refusal::Expired);
        }
        if self.passage(redemption).gate_failing() {
            return Some(Refusal::GateFailing);
        }
        if redemption == Redemption::Exit && self.exit_wait(now) > time::Duration::ZERO {
            return Some(Refusal::SlowDown);
        }
        (&self.code != code).then_some(Refusal::WrongCode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::invite::tests::{in_state, invite_at};
    use crate::domain::invite::ListedState;
    use time::Duration;

    fn code(c: &str) -> AccessCode {
        AccessCode::parse(c).unwrap()
    }

    const T0: OffsetDateTime = OffsetDateTime::UNIX_EPOCH;

    #[test]
    fn a_fresh_invite_admits_entry_with_its_code_only() {
        let invite = invite_at(T0);
        assert_eq!(invite.refusal(Redemption::Entry, &code("4821"), T0), None);
        assert_eq!(invite.refusal(Redemption::Entry, &code("4822"), T0), Some(Refusal::WrongCode));
        assert_eq!(invite.refusal(Redemption::Exit, &code("4821"), T0), Some(Refusal::NotEntered));
    }

    #[test]
    fn a_code_made_for_later_refuses_before_its_start_even_the_right_code() {
        let mut invite = invite_at(T0);
        invite.starts_at = T0 + Duration::hours(2);
        assert_eq!(invite.refusal(Redemption::Entry, &code("4821"), T0), Some(Refusal::NotYet));
        assert_eq!(invite.refusal(Redemption::Entry, &code("0000"), T0), Some(Refusal::NotYet), "no guess judged");
        assert_eq!(invite.next_step(T0), Err(Refusal::NotYet));
        assert_eq!(invite.refusal(Redemption::Entry, &code("4821"), invite.starts_at), None);
        invite.revoked = true;
        assert_eq!(invite.refusal(Redemption::Entry, &code("4821"), T0), Some(Refusal::Revoked));
    }

    #[test]
    fn entry_closes_at_expiry_but_exit_stays_open_through_the_grace() {
        let mut invite = invite_at(T0);
        let just_expired = invite.expires_at;
        assert_eq!(invite.refusal(Redemption::Entry, &code("4821"), just_expired), Some(Refusal::Expired));
        invite = in_state(invite, InviteState::Entered);
        assert_eq!(invite.refusal(Redemption::Exit, &code("4821"), just_expired), None);
        assert_eq!(invite.refusal(Redemption::Exit, &code("4821"), invite.exit_closes_at), Some(Refusal::Expired));
    }

    #[test]
    fn each_redemption_happens_once() {
        let mut invite = invite_at(T0);
        invite = in_state(invite, InviteState::Entered);
        assert_eq!(invite.refusal(Redemption::Entry, &code("4821"), T0), Some(Refusal::AlreadyUsed));
        invite = in_state(invite, InviteState::Exited);
        assert_eq!(invite.refusal(Redemption::Exit, &code("4821"), T0), Some(Refusal::AlreadyUsed));
        invite = in_state(invite, InviteState::ExitFailed);
        assert_eq!(invite.refusal(Redemption::Exit, &code("4821"), T0), None);
    }

    #[test]
    fn revoked_and_locked_win_over_everything_else() {
        let mut invite = invite_at(T0);
        invite.entry.guesses = MAX_WRONG_ATTEMPTS;
        assert_eq!(invite.refusal(Redemption::Entry, &code("4821"), T0), Some(Refusal::Locked));
        assert_eq!(invite.standing().listed_state(T0), ListedState::Locked);
        invite = in_state(invite, InviteState::Revoked);
        let late = invite.exit_closes_at + Duration::days(1);
        assert_eq!(invite.refusal(Redemption::Exit, &code("0000"), late), Some(Refusal::Revoked));
    }

    #[test]
    fn wrong_codes_at_the_exit_never_lock_the_guest_inside_but_slow_them_down() {
        let mut invite = in_state(invite_at(T0), InviteState::Entered);
        invite.entry.guesses = MAX_WRONG_ATTEMPTS; // four wrong codes at the entry, then the right one
        invite.exit.guesses = 12;
        assert!(!invite.is_locked(T0), "the entry's wrong codes do not count at the exit");
        assert_eq!(invite.refusal(Redemption::Exit, &code("4821"), T0), None);
        invite.exit_not_before = Some(T0 + Duration::seconds(90));
        assert_eq!(invite.refusal(Redemption::Exit, &code("4821"), T0), Some(Refusal::SlowDown));
        assert_eq!(invite.exit_wait(T0), Duration::seconds(90));
        assert_eq!(
            invite.next_step(T0),
            Ok(NextStep::only(Redemption::Exit)),
            "the exit stays offered during the pause"
        );
        assert_eq!(invite.refusal(Redemption::Exit, &code("4821"), T0 + Duration::seconds(90)), None);
    }

    #[test]
    fn an_unanswered_command_gives_the_passage_back_when_it_lapses() {
        let invite = in_state(invite_at(T0), InviteState::Entering);
        assert_eq!(invite.refusal(Redemption::Entry, &code("4821"), T0), Some(Refusal::Opening));
        assert!(invite.holds_slot(T0));
        let lapsed = crate::domain::passage::confirm_by(T0);
        assert_eq!(invite.state(lapsed), InviteState::Unused);
        assert_eq!(invite.lapsed(lapsed), Some(Redemption::Entry));
        assert_eq!(invite.refusal(Redemption::Entry, &code("4821"), lapsed), None, "the code works again");
    }

    #[test]
    fn a_guest_whose_entry_gate_never_answered_may_still_leave() {
        let mut invite = invite_at(T0);
        assert_eq!(invite.refusal(Redemption::Exit, &code("4821"), T0), Some(Refusal::NotEntered));
        invite.entry.given_back = 1; // the gate may have opened without saying so
        assert_eq!(invite.refusal(Redemption::Exit, &code("4821"), T0), None);
        assert_eq!(invite.refusal(Redemption::Entry, &code("4821"), T0), None, "or try the entry again");
    }

    #[test]
    fn the_next_step_follows_the_guest_through_entry_grace_and_exit() {
        let step = |r| Ok(NextStep::only(r));
        let mut invite = invite_at(T0);
        assert_eq!(invite.next_step(T0), step(Redemption::Entry));
        assert_eq!(invite.next_step(invite.expires_at), Err(Refusal::Expired));
        invite = in_state(invite, InviteState::Entered);
        assert_eq!(invite.next_step(invite.expires_at), step(Redemption::Exit), "exit grace");
        assert_eq!(invite.next_step(invite.exit_closes_at), Err(Refusal::Expired));
        invite = in_state(invite, InviteState::ExitFailed);
        assert_eq!(invite.next_step(T0), step(Redemption::Exit));
        invite = in_state(invite, InviteState::Exited);
        assert_eq!(invite.next_step(T0), Err(Refusal::AlreadyUsed));
        invite = in_state(invite, InviteState::Revoked);
        assert_eq!(invite.next_step(T0), Err(Refusal::Revoked));
    }

    #[test]
    fn a_command_out_is_the_next_step_until_it_is_answered_or_lapses() {
        let invite = in_state(invite_at(T0), InviteState::Entering);
        let confirm_by = crate::domain::passage::confirm_by(T0);
        let waiting = NextStep { opening_until: Some(confirm_by), ..NextStep::only(Redemption::Entry) };
        assert_eq!(invite.next_step(T0), Ok(waiting));
        let lapsed = NextStep { also: Some(Redemption::Exit), ..NextStep::only(Redemption::Entry) };
        assert_eq!(invite.next_step(confirm_by), Ok(lapsed), "lapsed: the code works again, and the guest may be in");
        let mut leaving = in_state(invite_at(T0), InviteState::Entered);
        leaving.exit = Passage { consumed: true, last_attempt_at: Some(T0), guesses: 1, ..Passage::default() };
        assert_eq!(
            leaving.next_step(T0).map(|s| (s.redemption, s.opening_until)),
            Ok((Redemption::Exit, Some(confirm_by)))
        );
    }

    #[test]
    fn an_entry_that_came_back_unanswered_offers_the_exit_beside_it() {
        let mut invite = invite_at(T0);
        invite.entry.given_back = 1;
        let both = NextStep { also: Some(Redemption::Exit), ..NextStep::only(Redemption::Entry) };
        assert_eq!(invite.next_step(T0), Ok(both));
        assert_eq!(invite.next_step(invite.expires_at), Ok(NextStep::only(Redemption::Exit)), "after expiry, only out");
        invite.entry.guesses = MAX_WRONG_ATTEMPTS;
        assert_eq!(invite.next_step(T0), Ok(NextStep::only(Redemption::Exit)), "locked out, never locked in");
    }

    #[test]
    fn a_passage_whose_gate_keeps_failing_takes_no_more_presses() {
        let mut invite = invite_at(T0);
        invite.entry.given_back = crate::domain::passage::MAX_GATE_FAILURES - 1;
        assert_eq!(invite.refusal(Redemption::Entry, &code("4821"), T0), None);
        invite.entry.given_back += 1;
        assert_eq!(invite.refusal(Redemption::Entry, &code("4821"), T0), Some(Refusal::GateFailing));
        assert_eq!(invite.next_step(T0), Err(Refusal::GateFailing), "said before a code is typed");
        assert_eq!(invite.refusal(Redemption::Exit, &code("4821"), T0), None, "a guest who got in may still leave");
    }
}
