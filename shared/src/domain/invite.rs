//! An invite (one guest's one-time access) and the rules of its life.
//!
//! Nothing here stores a state: whether an invite holds one of the intercom's Max
//! Users places is derived from what its item records and the clock
//! ([`Standing::holds_slot`]; the place items a create claims, `store::places`, only
//! say which invite to ask, in the same terms), so revoke, a confirmed exit and the end of its window
//! free the place in the same step that ends the invite, an ended invite that TTL has
//! not deleted yet never counts, and an entry or exit whose gate never answered is available again the
//! moment its command lapses (see [`super::passage`]). What a guest may do at the
//! gate, and why a redemption is refused, is [`super::redemption`]'s; how one is
//! drafted from the owner's request, [`super::draft`]'s.

use super::code::AccessCode;
use super::guest::GuestName;
use super::ids::{DeviceId, IntercomId, InviteId, ThingName, UserId};
use super::passage::{Passage, Progress};
use super::phone::Mobile;
use super::redemption::AttemptKey;
use super::token::TokenHash;
use super::zone::LocalZone;
use std::collections::HashMap;
use time::OffsetDateTime;

/// Wrong codes at the entry an invite survives; the next one locks it. (The exit has
/// an allowance of its own and is never locked: `passage::FREE_EXIT_GUESSES`.)
pub const MAX_WRONG_ATTEMPTS: u32 = 5;

/// Where an invite is in its life at a moment ([`Standing::state`]). Only `Revoked`
/// is stored as such; the rest is derived from its two passages and the clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InviteState {
    Unused,
    /// The entry gate has a command and has not answered yet.
    Entering,
    Entered,
    /// The exit gate opened, or has a command it may still act on.
    Exited,
    /// An exit was accepted once but its gate did not open: the guest may try the exit
    /// again, and keeps their place until then.
    ExitFailed,
    Revoked,
}

/// Where the guest's SMS is. The SMS sender (a consumer of the table's stream)
/// sends it once the invite has committed; the carrier's delivery report, which
/// AWS may deliver hours late, moves `Sent` on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsStatus {
    /// Committed with the invite (or a resend), not handed to SNS yet.
    Queued,
    /// SNS accepted it: sent, not yet confirmed by the carrier.
    Sent,
    Delivered,
    /// SNS refused it, or the carrier reported it undelivered.
    Failed,
    /// The owner chose to share the code themselves: no SMS was asked for (and
    /// none counted) until a resend asks for one.
    OwnerShares,
}

impl SmsStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
            Self::OwnerShares => "owner_shares",
        }
    }

    /// A stored status; items written before the SMS sender say `requested`.
    pub fn from_stored(raw: &str) -> Self {
        match raw {
            "sent" => Self::Sent,
            "delivered" => Self::Delivered,
            "failed" => Self::Failed,
            "owner_shares" => Self::OwnerShares,
            _ => Self::Queued,
        }
    }
}

/// The gate a code opens, copied from the settings when the code was created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateSnapshot {
    pub device: DeviceId,
    pub label: String,
    pub thing: ThingName,
}

#[derive(Debug, Clone)]
pub struct Invite {
    pub intercom_id: IntercomId,
    /// The intercom's label and time zone when the code was made: what the guest's
    /// page shows, from the one item it reads.
    pub intercom_label: String,
    pub time_zone: LocalZone,
    pub id: InviteId,
    pub token_hash: TokenHash,
    pub code: AccessCode,
    pub guest_name: GuestName,
    pub guest_mobile: Mobile,
    /// What the guest reads: the SMS, the share message, the page.
    pub language: super::language::Language,
    /// Who invited them, as the guest is told (`None` for invites made before).
    pub host: Option<super::host::Host>,
    /// Where the gate is, copied from the registry with its label.
    pub location: Option<super::location::Location>,
    pub created_by: UserId,
    pub created_at: OffsetDateTime,
    /// From when the code opens the entry: its creation, or the later start the
    /// owner chose. It holds its place and its code from creation either way.
    pub starts_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    /// `expires_at` plus the exit grace: a guest who entered may leave until then.
    pub exit_closes_at: OffsetDateTime,
    pub entry_gate: GateSnapshot,
    pub exit_gate: GateSnapshot,
    /// The Max Users in force when the code was made (shown, not enforced per code).
    pub max_users: u32,
    /// The place it holds (`store::places`); `None` before it is claimed, and for
    /// invites made before places.
    pub place: Option<u32>,
    pub revoked: bool,
    pub entry: Passage,
    pub exit: Passage,
    /// Set once an exit command was given back or refused: the entry is closed for
    /// good (the guest may be out), the exit stays open.
    pub exit_released: bool,
    /// Before this, no further exit attempt is accepted (the growing pause after the
    /// free wrong exit codes).
    pub exit_not_before: Option<OffsetDateTime>,
    /// The last attempt recorded for each passage (the consuming one, if consumed):
    /// what a give-back names.
    pub last_entry_attempt: Option<AttemptKey>,
    pub last_exit_attempt: Option<AttemptKey>,
    pub sms_status: SmsStatus,
    /// The link secret, sealed under the server key (`SealKeys::seal_link`), for the
    /// SMS item a create writes beside the invite (the SMS sender sends the link from
    /// it); `None` as read back from the invite's own item, which never holds it.
    pub link_seal: Option<super::idempotency::Sealed>,
    /// When each attempt at the gate was recorded, by [`AttemptKey`]: a repeat of
    /// an attempt (an SDK retry after a lost answer, the page's retry, a Lambda
    /// retry) finds itself here and is answered as that attempt, never counted again.
    pub attempts: HashMap<AttemptKey, OffsetDateTime>,
}

/// Where an invite stands: all that decides whether it holds a place, keeps its
/// code from others or is listed, so the owner's list (which reads no more of an
/// invite than it shows) and a whole [`Invite`] follow the same rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    pub revoked: bool,
    pub entry: Passage,
    pub exit: Passage,
    pub exit_released: bool,
    pub starts_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub exit_closes_at: OffsetDateTime,
}

impl Standing {
    /// Whether the code waits for its start (made ahead, for later).
    pub fn is_scheduled(&self, now: OffsetDateTime) -> bool {
        now < self.starts_at
    }

    /// The state at `now`: a command that lapsed unanswered no longer counts.
    pub fn state(&self, now: OffsetDateTime) -> InviteState {
        if self.revoked {
            return InviteState::Revoked;
        }
        match self.exit.progress(now) {
            Progress::Opened { .. } | Progress::Opening { .. } => return InviteState::Exited,
            Progress::Lapsed => return InviteState::ExitFailed,
            Progress::Available if self.exit_released => return InviteState::ExitFailed,
            Progress::Available => {}
        }
        match self.entry.progress(now) {
            Progress::Opened { .. } => InviteState::Entered,
            Progress::Opening { .. } => InviteState::Entering,
            Progress::Available | Progress::Lapsed => InviteState::Unused,
        }
    }

    /// Locked: five wrong codes at the entry, and the guest has not entered. Wrong
    /// codes at the exit never lock (a guest inside must be able to leave).
    pub fn is_locked(&self, now: OffsetDateTime) -> bool {
        self.entry.wrong() >= MAX_WRONG_ATTEMPTS && self.state(now) == InviteState::Unused
    }

    /// Whether the invite takes one of the intercom's Max Users places now. A code
    /// holds its place until it is revoked, its exit gate reports opening, or its
    /// window ends: its expiry if no entry command ever went out, else the close of
    /// its exit window (the guest may be inside). No outcome of an exit press —
    /// refused, pending, given back — frees it, and no late report can take a place
    /// back after it was freed. Locked invites keep theirs: the owner sees them.
    pub fn holds_slot(&self, now: OffsetDateTime) -> bool {
        if self.revoked || self.exit.opened_at.is_some() {
            return false;
        }
        let ends = if self.entry.was_attempted_with_the_code() { self.exit_closes_at } else { self.expires_at };
        now < ends
    }

    /// Whether no other invite of this intercom may be given the same code now:
    /// while it can still be used, exit grace included.
    pub fn reserves_code(&self, now: OffsetDateTime) -> bool {
        match self.state(now) {
            InviteState::Unused => now < self.expires_at,
            InviteState::Entering | InviteState::Entered | InviteState::ExitFailed => now < self.exit_closes_at,
            InviteState::Exited | InviteState::Revoked => false,
        }
    }

    /// Whether the owner's list shows it: exactly while it holds a place, so the
    /// owner sees every guest who may be inside.
    pub fn is_listed(&self, now: OffsetDateTime) -> bool {
        self.holds_slot(now)
    }

    fn is_inside_after_expiry(&self, now: OffsetDateTime) -> bool {
        matches!(self.state(now), InviteState::Entered | InviteState::ExitFailed | InviteState::Exited)
            && self.expires_at <= now
            && now < self.exit_closes_at
    }

    pub fn listed_state(&self, now: OffsetDateTime) -> ListedState {
        if self.is_locked(now) {
            return ListedState::Locked;
        }
        match self.state(now) {
            InviteState::Unused if self.is_scheduled(now) => ListedState::Scheduled,
            InviteState::Unused => ListedState::Unused,
            InviteState::Entering => ListedState::Entering,
            _ if self.is_inside_after_expiry(now) => ListedState::Inside,
            _ => ListedState::Entered,
        }
    }
}

/// What the owner's list shows of one invite: no token hash, no gate things, no
/// history.
#[derive(Debug, Clone)]
pub struct ListedInvite {
    pub id: InviteId,
    pub code: AccessCode,
    pub guest_name: GuestName,
    pub guest_mobile: Mobile,
    pub created_by: UserId,
    pub created_at: OffsetDateTime,
    pub entry_gate: ListedGate,
    pub exit_gate: ListedGate,
    pub standing: Standing,
    pub sms_status: SmsStatus,
    /// The failure's class, while the SMS stands failed.
    pub sms_failure: Option<String>,
}

/// A gate as the list shows it: its device id and its label, as the code was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedGate {
    pub device: String,
    pub label: String,
}

/// How a code ended, as `code_ended` tells the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    Revoked,
    /// Its guest left.
    Used,
    Locked,
    /// Its entry window closed unused.
    Expired,
    /// Its exit window closed too (an idempotency record outlives its invite).
    Over,
}

impl Ended {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Revoked => "revoked",
            Self::Used => "used",
            Self::Locked => "locked",
            Self::Expired => "expired",
            Self::Over => "ended",
        }
    }
}

/// What the list shows an owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListedState {
    /// Made to start later: not usable yet, but holding its place.
    Scheduled,
    Unused,
    /// The entry gate has the command and has not reported opening yet.
    Entering,
    Entered,
    Locked,
    /// Entered, and the code has expired: the guest may still leave until the
    /// exit window closes (and the owner may still revoke that exit).
    Inside,
}

impl ListedState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "scheduled",
            Self::Unused => "unused",
            Self::Entering => "entering",
            Self::Entered => "entered",
            Self::Locked => "locked",
            Self::Inside => "inside",
        }
    }
}

impl Invite {
    /// What decides, at any moment, whether it holds a place, keeps its code
    /// or is listed ([`Standing`] holds those rules; the methods below ask it).
    pub fn standing(&self) -> Standing {
        Standing {
            revoked: self.revoked,
            entry: self.entry.clone(),
            exit: self.exit.clone(),
            exit_released: self.exit_released,
            starts_at: self.starts_at,
            expires_at: self.expires_at,
            exit_closes_at: self.exit_closes_at,
        }
    }

    pub fn state(&self, now: OffsetDateTime) -> InviteState {
        self.standing().state(now)
    }

    pub fn is_locked(&self, now: OffsetDateTime) -> bool {
        self.standing().is_locked(now)
    }

    pub fn holds_slot(&self, now: OffsetDateTime) -> bool {
        self.standing().holds_slot(now)
    }

    pub fn reserves_code(&self, now: OffsetDateTime) -> bool {
        self.standing().reserves_code(now)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::token::{LinkKeys, LinkToken, TokenHash};
    use time::Duration;

    pub fn invite_at(now: OffsetDateTime) -> Invite {
        let gate = GateSnapshot {
            device: DeviceId::parse("gate").unwrap(),
            label: "Gate".into(),
            thing: ThingName::parse("thing").unwrap(),
        };
        let id = InviteId::generate(now + Duration::hours(13));
        let intercom_id = IntercomId::parse("ic").unwrap();
        Invite {
            token_hash: LinkToken::generate(intercom_id.clone(), id.clone(), &LinkKeys::random()).hash(),
            intercom_id,
            intercom_label: "Test Estate".into(),
            time_zone: LocalZone::default(),
            id,
            code: AccessCode::parse("4821").unwrap(),
            guest_name: GuestName::parse("Thandi").unwrap(),
            guest_mobile: Mobile::from_stored("+27821234567".into()),
            language: crate::domain::language::Language::English,
            host: None,
            location: None,
            created_by: UserId::parse("owner").unwrap(),
            created_at: now,
            starts_at: now,
            expires_at: now + Duration::hours(12),
            exit_closes_at: now + Duration::hours(13),
            entry_gate: gate.clone(),
            exit_gate: gate,
            max_users: 10,
            place: None,
            revoked: false,
            entry: Passage::default(),
            exit: Passage::default(),
            exit_released: false,
            exit_not_before: None,
            last_entry_attempt: None,
            last_exit_attempt: None,
            sms_status: SmsStatus::Queued,
            link_seal: None,
            attempts: HashMap::new(),
        }
    }

    /// `invite` with its passages recorded as `state` has them, commands issued and
    /// answered at its creation.
    pub fn in_state(mut invite: Invite, state: InviteState) -> Invite {
        let at = invite.created_at;
        let opened = Passage {
            consumed: true,
            opened_at: Some(at),
            last_attempt_at: Some(at),
            guesses: 1,
            ..Passage::default()
        };
        (invite.entry, invite.exit, invite.exit_released, invite.revoked) = Default::default();
        match state {
            InviteState::Unused => {}
            InviteState::Entering => invite.entry = Passage { opened_at: None, ..opened },
            InviteState::Entered => invite.entry = opened,
            InviteState::Exited => (invite.entry, invite.exit) = (opened.clone(), opened),
            InviteState::ExitFailed => (invite.entry, invite.exit_released) = (opened, true),
            InviteState::Revoked => invite.revoked = true,
        }
        invite
    }

    const T0: OffsetDateTime = OffsetDateTime::UNIX_EPOCH;

    #[test]
    fn a_place_is_freed_only_by_revoke_a_confirmed_exit_or_the_end_of_its_window() {
        let mut invite = invite_at(T0);
        assert!(invite.holds_slot(T0));
        assert!(!invite.holds_slot(invite.expires_at), "never used: its window is its validity");
        invite = in_state(invite, InviteState::Entered);
        assert!(invite.holds_slot(invite.expires_at), "inside: held through the exit window");
        assert!(!invite.holds_slot(invite.exit_closes_at));
        assert!(invite.reserves_code(invite.expires_at), "entered guest still uses the code in grace");
        invite = in_state(invite, InviteState::ExitFailed);
        assert!(invite.holds_slot(T0) && invite.standing().is_listed(T0), "an exit given back frees nothing");
        invite.exit = Passage { consumed: true, last_attempt_at: Some(T0), guesses: 1, ..Passage::default() };
        assert_eq!(invite.state(T0), InviteState::Exited);
        assert!(invite.holds_slot(T0) && invite.standing().is_listed(T0), "an exit command out frees nothing");
        for ended in [InviteState::Exited, InviteState::Revoked] {
            invite = in_state(invite, ended);
            assert!(!invite.holds_slot(T0) && !invite.standing().is_listed(T0), "{ended:?}");
        }
        let mut maybe_inside = invite_at(T0);
        maybe_inside.entry.given_back = 1;
        assert!(maybe_inside.holds_slot(maybe_inside.expires_at), "an entry command went out: the guest may be in");
    }

    #[test]
    fn token_hash_is_not_the_token() {
        let token = LinkToken::generate(IntercomId::parse("ic").unwrap(), InviteId::generate(T0), &LinkKeys::random());
        assert_ne!(TokenHash(token.expose()), token.hash());
    }
}
