//! One passage through a gate — an invite's entry or its exit — and where it stands.
//!
//! The gate's word decides. Sending a door command spends the passage only
//! provisionally: the gate's `opened` report makes it final; a gate that says it did
//! not act (`too_late`, `failed`), or a command whose not-after has passed with no
//! report, gives it back. Nothing here is stored as a state: [`Passage::progress`]
//! derives it from what the item records and the clock, so a passage whose command
//! lapsed reads as available again at once, before any write has given it back.

use time::{Duration, OffsetDateTime};

/// How long after it was issued a gate may still act on a command (by its own clock).
pub const COMMAND_VALIDITY: Duration = Duration::seconds(20);

/// How long past a command's not-after the backend still waits for its report before
/// it counts the command as not acted on: a gate that opened at the last moment
/// reports a moment later. (A report later still is honoured all the same.)
pub const REPORT_GRACE: Duration = Duration::seconds(5);

/// Wrong exit codes a guest may type with no pause; each one after that must wait
/// longer than the one before (see [`EXIT_PAUSE_STEP`]). The exit is never locked.
pub const FREE_EXIT_GUESSES: u32 = 5;

/// Every exit attempt makes the pause before the next one this much longer once the
/// free guesses are used: 60 s before the 6th, 75 s before the 7th, and so on. Ten
/// thousand codes cannot be tried in an exit window that way; a guest with a typo
/// waits a minute.
pub const EXIT_PAUSE_STEP: Duration = Duration::seconds(15);

/// Commands of one passage a gate may fail (say it could not open, or never answer)
/// before the passage is refused `gate_failing`: a gate that keeps failing needs a
/// person, and each failure is a line and an attempt key in the invite's item, which
/// must stay far below DynamoDB's 400 KB however often the guest presses.
pub const MAX_GATE_FAILURES: u32 = 10;

/// Commands of one passage IoT Core may refuse outright (never sent) before the
/// passage is refused the same way: each is a line in the item's history.
pub const MAX_UNSENT_COMMANDS: u32 = 30;

/// What an invite's item records of one passage.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Passage {
    /// The invite's code is among the codes typed for it: the last attempt recorded
    /// was the right code, and its command has not been given back.
    pub consumed: bool,
    /// When the gate reported opening for it.
    pub opened_at: Option<OffsetDateTime>,
    /// When the last attempt was recorded (the consuming one, if `consumed`): its
    /// command's issue time.
    pub last_attempt_at: Option<OffsetDateTime>,
    /// Attempts counted: every wrong code, plus the consuming one.
    pub guesses: u32,
    /// Commands that were given back (the gate did not act, or said it could not).
    pub given_back: u32,
    /// Commands IoT Core refused outright (never sent), given back at once.
    pub not_sent: u32,
}

/// Where a passage stands at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Never used, or given back.
    Available,
    /// A command is out and the gate may still act on it; spent provisionally.
    Opening { confirm_by: OffsetDateTime },
    /// The gate reported that it opened.
    Opened { at: OffsetDateTime },
    /// The command lapsed with no report: available again; a write will record that
    /// it was given back.
    Lapsed,
}

impl Progress {
    /// Whether the passage may be attempted now (its code not spent, even provisionally).
    pub fn is_available(self) -> bool {
        matches!(self, Self::Available | Self::Lapsed)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Available | Self::Lapsed => "available",
            Self::Opening { .. } => "opening",
            Self::Opened { .. } => "used",
        }
    }
}

/// When a command issued at `issued_at` counts as not acted on, if no report came.
pub fn confirm_by(issued_at: OffsetDateTime) -> OffsetDateTime {
    issued_at.saturating_add(COMMAND_VALIDITY + REPORT_GRACE)
}

impl Passage {
    pub fn progress(&self, now: OffsetDateTime) -> Progress {
        match (self.opened_at, self.consumed, self.last_attempt_at) {
            (Some(at), _, _) => Progress::Opened { at },
            (None, false, _) => Progress::Available,
            (None, true, Some(issued)) if now < confirm_by(issued) => {
                Progress::Opening { confirm_by: confirm_by(issued) }
            }
            (None, true, _) => Progress::Lapsed,
        }
    }

    /// Wrong codes typed for it (the consuming attempt, if any, was right).
    pub fn wrong(&self) -> u32 {
        self.guesses.saturating_sub(u32::from(self.consumed))
    }

    /// Whether its gate has failed it too often for another try ([`MAX_GATE_FAILURES`]).
    pub fn gate_failing(&self) -> bool {
        self.given_back >= MAX_GATE_FAILURES || self.not_sent >= MAX_UNSENT_COMMANDS
    }

    /// Whether a door command was ever sent for it: the code was right at least once.
    pub fn was_attempted_with_the_code(&self) -> bool {
        self.consumed || self.opened_at.is_some() || self.given_back > 0
    }
}

/// How long the guest must wait before the next exit attempt, after `wrong` wrong exit
/// codes (the pause the store enforces; see `Store::record_attempt`).
pub fn exit_pause_after(wrong: u32) -> Duration {
    if wrong < FREE_EXIT_GUESSES {
        Duration::ZERO
    } else {
        EXIT_PAUSE_STEP * (wrong - 1) as i32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: OffsetDateTime = OffsetDateTime::UNIX_EPOCH;

    #[test]
    fn a_sent_command_is_provisional_until_its_report_or_its_lapse() {
        let mut passage = Passage { consumed: true, last_attempt_at: Some(T0), guesses: 1, ..Passage::default() };
        assert_eq!(passage.progress(T0), Progress::Opening { confirm_by: T0 + Duration::seconds(25) });
        assert!(!passage.progress(T0).is_available());
        let lapse = confirm_by(T0);
        assert_eq!(passage.progress(lapse), Progress::Lapsed);
        assert!(passage.progress(lapse).is_available(), "a lapsed command gives the passage back");
        passage.opened_at = Some(lapse + Duration::minutes(5));
        assert!(
            matches!(passage.progress(lapse + Duration::hours(1)), Progress::Opened { .. }),
            "a late report counts"
        );
    }

    #[test]
    fn wrong_codes_are_the_guesses_but_the_consuming_one() {
        let passage = Passage { consumed: true, guesses: 3, ..Passage::default() };
        assert_eq!(passage.wrong(), 2);
        assert_eq!(Passage { guesses: 3, ..Passage::default() }.wrong(), 3);
    }

    #[test]
    fn the_exit_pause_starts_after_the_free_guesses_and_keeps_growing() {
        assert_eq!(exit_pause_after(FREE_EXIT_GUESSES - 1), Duration::ZERO);
        assert_eq!(exit_pause_after(FREE_EXIT_GUESSES), Duration::seconds(60));
        assert_eq!(exit_pause_after(FREE_EXIT_GUESSES + 1), Duration::seconds(75));
    }
}
