//! What happened, as the owner reads it and Fluss's notification service hears it:
//! one [`Fact`] per line of an invite's history (and of its SMS item's), derived
//! the same way wherever it is read; a gate's going offline and coming back are
//! facts of its presence item (`store::gates::presence_facts`).
//!
//! The facts are not written by the request that caused them. Each request appends
//! its line to the item it changes anyway (the redemption stays one write unit); the
//! table's stream carries every committed change to the outbox function, which turns
//! the new lines into activity items and events. So a fact exists if and only if its
//! change committed, and its id is the position of its line in its invite's
//! history (`<invite id>.<index>`): however often a stream record is delivered, the
//! same line gives the same id.

use super::code::AccessCode;
use super::ids::{IntercomId, InviteId};
use super::invite::MAX_WRONG_ATTEMPTS;
use time::OffsetDateTime;

/// Each kind of fact, with its activity name and its event's `detail-type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FactKind {
    CodeCreated,
    CodeRevoked,
    /// SNS accepted the SMS: sent, not yet confirmed by the carrier.
    SmsSent,
    SmsDelivered,
    SmsFailed,
    SmsResendRequested,
    WrongCode,
    CodeLocked,
    GuestEntered,
    GuestLeft,
    GateNotAnswering,
    CodeExpired,
    /// The exit window closed with the guest still inside.
    GuestOverstayed,
    /// A gate's link has been down longer than the debounce.
    GateOffline,
    /// A gate that was offline connected again.
    GateOnline,
    /// The owner (or Fluss's support) erased the guest's name and number: the
    /// trace that stays, by whom.
    GuestErased,
}

impl FactKind {
    pub const ALL: [Self; 16] = [
        Self::CodeCreated,
        Self::CodeRevoked,
        Self::SmsSent,
        Self::SmsDelivered,
        Self::SmsFailed,
        Self::SmsResendRequested,
        Self::WrongCode,
        Self::CodeLocked,
        Self::GuestEntered,
        Self::GuestLeft,
        Self::GateNotAnswering,
        Self::CodeExpired,
        Self::GuestOverstayed,
        Self::GateOffline,
        Self::GateOnline,
        Self::GuestErased,
    ];

    /// The activity's `kind` (stable, machine-readable).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CodeCreated => "code_created",
            Self::CodeRevoked => "code_revoked",
            Self::SmsSent => "sms_sent",
            Self::SmsDelivered => "sms_delivered",
            Self::SmsFailed => "sms_failed",
            Self::SmsResendRequested => "sms_resend_requested",
            Self::WrongCode => "wrong_code",
            Self::CodeLocked => "code_locked",
            Self::GuestEntered => "guest_entered",
            Self::GuestLeft => "guest_left",
            Self::GateNotAnswering => "gate_not_answering",
            Self::CodeExpired => "code_expired",
            Self::GuestOverstayed => "guest_overstayed",
            Self::GateOffline => "gate_offline",
            Self::GateOnline => "gate_online",
            Self::GuestErased => "guest_erased",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == raw)
    }

    /// The EventBridge `detail-type`; its schema is `events/schemas/<kind, dashed>.v1.json`.
    pub fn detail_type(self) -> &'static str {
        match self {
            Self::CodeCreated => "Code Created",
            Self::CodeRevoked => "Code Revoked",
            Self::SmsSent => "SMS Sent",
            Self::SmsDelivered => "SMS Delivered",
            Self::SmsFailed => "SMS Failed",
            Self::SmsResendRequested => "SMS Resend Requested",
            Self::WrongCode => "Wrong Code",
            Self::CodeLocked => "Code Locked",
            Self::GuestEntered => "Guest Entered",
            Self::GuestLeft => "Guest Left",
            Self::GateNotAnswering => "Gate Not Answering",
            Self::CodeExpired => "Code Expired",
            Self::GuestOverstayed => "Guest Overstayed",
            Self::GateOffline => "Gate Offline",
            Self::GateOnline => "Gate Online",
            Self::GuestErased => "Guest Erased",
        }
    }
}

/// The code a fact is about, and its guest as the owner's list shows them: no
/// longer once the guest was erased (`Store::erase_guest`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FactGuest {
    pub invite: InviteId,
    pub details: Option<GuestDetails>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestDetails {
    pub name: String,
    /// Country code and last digits only (`Mobile::masked`).
    pub mobile: String,
}

/// One thing that happened. Never holds a code or a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fact {
    /// The same for every delivery of the same change: what consumers de-duplicate by.
    pub id: String,
    pub at: OffsetDateTime,
    pub kind: FactKind,
    pub intercom: IntercomId,
    pub guest: Option<FactGuest>,
    /// The user who acted (created, revoked, asked for a resend).
    pub actor: Option<String>,
    /// The gate's label (entry, exit, not answering).
    pub gate: Option<String>,
    /// Why, where there is a reason: the SMS failure's class (`invalid_number`,
    /// `carrier_blocked`, `unreachable`, `sns_refused` …).
    pub reason: Option<String>,
    /// With `code_created` of a code made for later: from when it works.
    pub starts_at: Option<OffsetDateTime>,
}

/// The version of the events' `detail` (and of the activity entries, the same
/// shape). A consumer checks it; a change that is not additive takes the next.
pub const SCHEMA_VERSION: u32 = 1;

/// What a fact derivation needs of an invite: its item, as a stream image carries it.
#[derive(Debug, Clone)]
pub struct InviteRecord {
    pub intercom: IntercomId,
    pub guest: FactGuest,
    /// The invite's code, to tell a wrong one; `None` for its SMS item's history.
    pub code: Option<AccessCode>,
    /// Tells the ids of the SMS item's facts (`s`) from the invite's (none).
    pub id_tag: &'static str,
    pub created_by: String,
    pub revoked_by: Option<String>,
    pub entry_gate: String,
    pub exit_gate: String,
    pub history: Vec<String>,
}

impl Fact {
    /// The fact as an erased guest's code keeps it: the code, not who it was for.
    pub fn without_guest_details(mut self) -> Self {
        if let Some(guest) = self.guest.as_mut() {
            guest.details = None;
        }
        self
    }
}

/// A history line's words: `"<unix time> <event> [argument …]"`.
pub struct Line<'a> {
    pub at: OffsetDateTime,
    pub event: &'a str,
    pub args: Vec<&'a str>,
}

impl<'a> Line<'a> {
    pub fn parse(raw: &'a str) -> Option<Self> {
        let mut words = raw.split(' ');
        let at = OffsetDateTime::from_unix_timestamp(words.next()?.parse().ok()?).ok()?;
        let event = words.next()?;
        Some(Self { at, event, args: words.collect() })
    }
}

/// The id of the fact of history line `index` of `invite` (of its SMS item: `tag` `s`).
pub fn fact_id(invite: &InviteId, tag: &str, index: usize) -> String {
    format!("{invite}.{tag}{index:03}")
}

impl InviteRecord {
    /// The facts of the history lines from `from` on (the lines a change appended).
    /// Lines that are no fact (a right code typed: its gate's answer is the fact)
    /// give none.
    pub fn facts_from(&self, from: usize) -> Vec<Fact> {
        (from..self.history.len()).filter_map(|index| self.fact_at(index)).collect()
    }

    /// The facts of the history lines before `until` (those an earlier change made).
    pub fn facts_before(&self, until: usize) -> Vec<Fact> {
        (0..until.min(self.history.len())).filter_map(|index| self.fact_at(index)).collect()
    }

    /// How many SMS an SMS item's history asked for: the first, and each resend.
    pub fn sms_requests(&self) -> u32 {
        let asked = |line: &&String| Line::parse(line).is_some_and(|l| matches!(l.event, "sms_queued" | "sms_resend"));
        u32::try_from(self.history.iter().filter(asked).count()).unwrap_or(u32::MAX)
    }

    /// Every fact of the invite, oldest first: its own history.
    pub fn facts(&self) -> Vec<Fact> {
        self.facts_from(0)
    }

    fn fact_at(&self, index: usize) -> Option<Fact> {
        let line = Line::parse(self.history.get(index)?)?;
        let entry = || Some(self.entry_gate.clone());
        let exit = || Some(self.exit_gate.clone());
        let gate_of = |passage: &str| if passage == "exit" { exit() } else { entry() };
        let (kind, actor, gate, reason) = match (line.event, line.args.as_slice()) {
            ("created", _) => (FactKind::CodeCreated, Some(self.created_by.clone()), None, None),
            ("revoked", _) => (FactKind::CodeRevoked, self.revoked_by.clone(), None, None),
            ("sms_sent", _) => (FactKind::SmsSent, None, None, None),
            ("sms_delivered", _) => (FactKind::SmsDelivered, None, None, None),
            ("sms_failed", args) => {
                (FactKind::SmsFailed, None, None, Some(args.last().copied().unwrap_or("sns_refused").to_owned()))
            }
            ("sms_undelivered", [reason, ..]) => (FactKind::SmsFailed, None, None, Some((*reason).to_owned())),
            ("sms_resend", [user, ..]) => (FactKind::SmsResendRequested, Some((*user).to_owned()), None, None),
            ("entry_try", [typed]) | ("exit_try", [typed])
                if Some(*typed) != self.code.as_ref().map(|c| c.as_str()) =>
            {
                let passage = line.event.trim_end_matches("_try");
                let locks = passage == "entry" && self.wrong_entries_through(index) == MAX_WRONG_ATTEMPTS as usize;
                (if locks { FactKind::CodeLocked } else { FactKind::WrongCode }, None, gate_of(passage), None)
            }
            ("entry_opened", _) => (FactKind::GuestEntered, None, entry(), None),
            ("exit_opened", _) => (FactKind::GuestLeft, None, exit(), None),
            ("entry_not_opened", _) => (FactKind::GateNotAnswering, None, entry(), None),
            ("exit_not_opened", _) => (FactKind::GateNotAnswering, None, exit(), None),
            // The passage's allowance of gate failures is used up: presses are refused.
            ("entry_gate_failing", _) => (FactKind::GateNotAnswering, None, entry(), Some("gate_failing".to_owned())),
            ("exit_gate_failing", _) => (FactKind::GateNotAnswering, None, exit(), Some("gate_failing".to_owned())),
            ("expired", _) => (FactKind::CodeExpired, None, None, None),
            ("overstayed", _) => (FactKind::GuestOverstayed, None, exit(), None),
            ("guest_erased", [by, ..]) => (FactKind::GuestErased, Some((*by).to_owned()), None, None),
            _ => return None,
        };
        Some(Fact {
            id: fact_id(&self.guest.invite, self.id_tag, index),
            at: line.at,
            kind,
            intercom: self.intercom.clone(),
            guest: Some(self.guest.clone()),
            actor,
            gate,
            reason,
            starts_at: match (kind, line.args.first()) {
                (FactKind::CodeCreated, Some(at)) => {
                    at.parse().ok().and_then(|at| OffsetDateTime::from_unix_timestamp(at).ok())
                }
                _ => None,
            },
        })
    }

    /// Wrong codes typed at the entry up to and including line `index`, before any
    /// entry opened (a guest inside is never locked).
    fn wrong_entries_through(&self, index: usize) -> usize {
        let mut wrong = 0;
        for raw in &self.history[..=index] {
            match Line::parse(raw) {
                Some(line) if line.event == "entry_opened" => return 0,
                Some(line)
                    if line.event == "entry_try"
                        && line.args.first().copied() != self.code.as_ref().map(|c| c.as_str()) =>
                {
                    wrong += 1
                }
                _ => {}
            }
        }
        wrong
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(history: &[&str]) -> InviteRecord {
        InviteRecord {
            intercom: IntercomId::parse("ic").unwrap(),
            guest: FactGuest {
                invite: InviteId::generate(OffsetDateTime::UNIX_EPOCH),
                details: Some(GuestDetails { name: "Thandi".into(), mobile: "+27******567".into() }),
            },
            code: Some(AccessCode::parse("4821").unwrap()),
            id_tag: "",
            created_by: "owner".into(),
            revoked_by: None,
            entry_gate: "Main gate".into(),
            exit_gate: "Exit".into(),
            history: history.iter().map(|l| (*l).to_owned()).collect(),
        }
    }

    #[test]
    fn a_journey_gives_one_fact_per_line_that_is_one_and_never_the_code() {
        let r = record(&["1 created", "2 sms_sent", "3 entry_try 1111", "4 entry_try 4821", "5 entry_opened"]);
        let facts = r.facts();
        let kinds: Vec<_> = facts.iter().map(|f| f.kind).collect();
        assert_eq!(kinds, [FactKind::CodeCreated, FactKind::SmsSent, FactKind::WrongCode, FactKind::GuestEntered]);
        assert_eq!(facts[0].actor.as_deref(), Some("owner"));
        assert_eq!(facts[3].gate.as_deref(), Some("Main gate"));
        let ids: Vec<_> = facts.iter().map(|f| f.id.rsplit('.').next().unwrap().to_owned()).collect();
        assert_eq!(ids, ["000", "001", "002", "004"], "ids are line positions: the same on every delivery");
        assert!(!format!("{facts:?}").contains("4821") && !format!("{facts:?}").contains("1111"));
        assert_eq!(r.facts_from(3).len(), 1, "only the appended lines");
        assert_eq!(facts[0].starts_at, None);
        let later = record(&["1 created 86400"]).facts();
        assert_eq!(later[0].starts_at, Some(OffsetDateTime::UNIX_EPOCH + time::Duration::days(1)), "made for later");
    }

    #[test]
    fn the_fifth_wrong_entry_locks_and_wrong_exits_never_do() {
        let mut lines = vec!["1 created".to_owned()];
        lines.extend((0..5).map(|i| format!("{} entry_try 000{i}", i + 2)));
        let r = record(&lines.iter().map(String::as_str).collect::<Vec<_>>());
        let kinds: Vec<_> = r.facts().iter().map(|f| f.kind).collect();
        assert_eq!(kinds.iter().filter(|k| **k == FactKind::WrongCode).count(), 4);
        assert_eq!(kinds.last(), Some(&FactKind::CodeLocked));
        let exits = ["1 entry_try 4821", "2 entry_opened"]
            .into_iter()
            .map(str::to_owned)
            .chain((0..6).map(|i| format!("3 exit_try 000{i}")))
            .collect::<Vec<_>>();
        let r = record(&exits.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(r.facts().iter().all(|f| f.kind != FactKind::CodeLocked));
    }

    #[test]
    fn kinds_round_trip_and_sms_failures_carry_their_reason() {
        for kind in FactKind::ALL {
            assert_eq!(FactKind::parse(kind.as_str()), Some(kind));
        }
        let r = record(&["1 sms_failed", "2 sms_undelivered invalid_number"]);
        let reasons: Vec<_> = r.facts().into_iter().map(|f| f.reason).collect();
        assert_eq!(reasons, [Some("sns_refused".to_owned()), Some("invalid_number".to_owned())]);
    }
}
