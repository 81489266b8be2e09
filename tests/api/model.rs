//! A model-based property test: random sequences of settings, creates, revokes,
//! entries, exits, wrong codes, clock moves, sweeps and gate behaviours (online,
//! offline, slow, mute) — some run in parallel, some with a fault injected into one
//! AWS call — against the real handlers over moto and the simulated gates, each
//! answer checked against a small model, and after every step (once the gates have
//! had their turn):
//!
//! - the owner's list shows exactly the model's codes, and `active` its live count;
//! - no create succeeds while Max Users codes are live;
//! - each entry and each exit opened its gate at most once (the gates' own record);
//! - a passage is spent only if its gate reported opening (and so really opened) or
//!   may still act on its command; once the command's not-after (and the report
//!   grace) has passed with no report, the code works again;
//! - nothing reaches a gate for an invite after it was revoked or its window closed;
//! - no more than 5 wrong codes are ever counted at an entry;
//! - every committed change has exactly one event id: the facts the invites' (and
//!   their SMS items') history lines make are each on the bus and in the activity
//!   under one id, every delivery of an id carries the same fact, and nothing is
//!   published for an invite that was never committed;
//! - at the end, after every window has closed and a sweep, nothing is left in the
//!   sweep's index.
//!
//! With every gate online and no fault, each answer is predicted; where a fault or a
//! gate that is not online makes it depend on what the gate did, the model reads the
//! truth back from the table, as an app would by listing, and the invariants above
//! judge it. Bounded: `OTA_MODEL_CASES` cases (default 16) of 4 to 24 steps.

use crate::helpers::{spawn_app_with, Options, TestApp};
use fault_proxy::Fault;
use proptest::prelude::*;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

const DURATION_MINUTES: i64 = 120;
const GRACE_MINUTES: i64 = 30;
/// A command's not-after plus the report grace (`passage::confirm_by`), in seconds.
const CONFIRM_WITHIN: i64 = 25;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Which {
    Entry,
    Exit,
}

#[derive(Debug, Clone)]
enum Step {
    Settings {
        max_users: u32,
    },
    Create {
        parallel: usize,
    },
    Revoke(usize),
    Redeem {
        invite: usize,
        which: Which,
        parallel: usize,
    },
    Wrong {
        invite: usize,
        which: Which,
        parallel: usize,
    },
    /// A guest who does only what their page shows: reads the status, waits while a
    /// command is out, else presses the passage it names — or the exit it offers
    /// beside the entry, if `take_also`.
    Page {
        invite: usize,
        take_also: bool,
    },
    Advance {
        seconds: i64,
    },
    Sweep,
    /// The entry (exit) gate starts behaving as `mode`.
    Gate {
        which: Which,
        mode: GateMode,
    },
    /// One step with one AWS call of it going wrong: the `nth` call of its
    /// `operation`-th kind of call (see `operations_of`).
    Faulty {
        fault: Fault,
        operation: usize,
        nth: u32,
        step: Box<Step>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum GateMode {
    Online,
    Offline,
    Slow,
    Mute,
}

impl GateMode {
    fn simulated(self) -> local_stack::gates::Mode {
        use local_stack::gates::Mode;
        match self {
            Self::Online => Mode::Online,
            Self::Offline => Mode::Offline,
            Self::Slow => Mode::Slow { seconds: 10 },
            Self::Mute => Mode::Mute,
        }
    }
}

fn gate_mode() -> impl Strategy<Value = GateMode> {
    prop_oneof![2 => Just(GateMode::Online), 1 => Just(GateMode::Offline), 1 => Just(GateMode::Slow), 1 => Just(GateMode::Mute)]
}

fn which() -> impl Strategy<Value = Which> {
    prop_oneof![Just(Which::Entry), Just(Which::Exit)]
}

fn plain_step() -> impl Strategy<Value = Step> {
    prop_oneof![
        1 => (1u32..=4).prop_map(|max_users| Step::Settings { max_users }),
        4 => (1usize..=3).prop_map(|parallel| Step::Create { parallel }),
        2 => any::<usize>().prop_map(Step::Revoke),
        5 => (any::<usize>(), which(), 1usize..=3).prop_map(|(invite, which, parallel)| Step::Redeem { invite, which, parallel }),
        2 => (any::<usize>(), which(), 1usize..=3).prop_map(|(invite, which, parallel)| Step::Wrong { invite, which, parallel }),
        4 => (any::<usize>(), any::<bool>()).prop_map(|(invite, take_also)| Step::Page { invite, take_also }),
        2 => prop_oneof![Just(10i64), Just(30), Just(5 * 60), Just(45 * 60), Just(DURATION_MINUTES * 60), Just((GRACE_MINUTES + 1) * 60)]
            .prop_map(|seconds| Step::Advance { seconds }),
        1 => Just(Step::Sweep),
        2 => (which(), gate_mode()).prop_map(|(which, mode)| Step::Gate { which, mode }),
    ]
}

fn fault() -> impl Strategy<Value = Fault> {
    prop_oneof![
        Just(Fault::LoseAnswer),
        Just(Fault::DelayAnswer(Duration::from_millis(1_600))),
        Just(Fault::ServerError),
        Just(Fault::ServerErrorAfterEffect),
        Just(Fault::Throttle),
        Just(Fault::TransactionConflict),
    ]
}

/// The steps a fault is worth injecting into: those that write.
fn faultable_step() -> impl Strategy<Value = Step> {
    prop_oneof![
        1 => (1u32..=4).prop_map(|max_users| Step::Settings { max_users }),
        3 => (1usize..=2).prop_map(|parallel| Step::Create { parallel }),
        1 => any::<usize>().prop_map(Step::Revoke),
        3 => (any::<usize>(), which()).prop_map(|(invite, which)| Step::Redeem { invite, which, parallel: 1 }),
        3 => (any::<usize>(), which()).prop_map(|(invite, which)| Step::Wrong { invite, which, parallel: 1 }),
        1 => Just(Step::Sweep),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => plain_step(),
        2 => (fault(), any::<usize>(), 1u32..=2, faultable_step())
            .prop_map(|(fault, operation, nth, step)| Step::Faulty { fault, operation, nth, step: Box::new(step) }),
    ]
}

/// Where an invite stands, as the model tells it from the table (see `reconcile`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Unused,
    /// Its entry command is out and may still act.
    Entering,
    Entered,
    /// Its exit was accepted (opened, or its command may still act).
    Exited,
    /// An exit that did not open: the guest may try again, and keeps their place.
    ExitFailed,
    Revoked,
}

#[derive(Debug, Clone)]
struct ModelInvite {
    id: String,
    /// `None` for an invite the model learned of from the table (its answer was lost).
    token: Option<String>,
    code: String,
    state: State,
    wrong: u32,
    /// An entry command went out and was given back (or lapsed, not yet given back in
    /// the table): the guest may be inside.
    entry_given_back: bool,
    /// An entry command ever went out: the guest may be inside until the exit window closes.
    entry_sent: bool,
    /// The exit gate reported opening: the guest left.
    exit_opened: bool,
    /// The code is in the entry's (exit's) set of codes typed: spent, at least
    /// provisionally, and not yet given back in the table.
    entry_consumed: bool,
    exit_consumed: bool,
    expires_at: i64,
    exit_closes_at: i64,
    /// How many gate commands had been delivered when it was revoked or closed.
    sealed_after: Option<usize>,
}

impl ModelInvite {
    fn locked(&self) -> bool {
        self.wrong >= 5 && self.state == State::Unused
    }

    /// Places held = codes not revoked whose guest has not been let out, while
    /// their window is open: the exit window once an entry command went out (the
    /// guest may be inside), else the code's validity. No exit press frees a place.
    fn holds_slot(&self, now: i64) -> bool {
        let closes = if self.entry_sent { self.exit_closes_at } else { self.expires_at };
        self.state != State::Revoked && !self.exit_opened && now < closes
    }

    /// The owner sees every code that holds a place, and only those.
    fn listed(&self, now: i64) -> bool {
        self.holds_slot(now)
    }

    /// The refusal code for `which` with the right code (`None`: it opens), with every
    /// gate online (the exit's pause after wrong codes is never reached here: the
    /// model types at most a few wrong exit codes per invite).
    fn refusal(&self, which: Which, now: i64) -> Option<&'static str> {
        // Past its exit window a link is refused from its id alone, unread.
        if now >= self.exit_closes_at {
            return Some("expired");
        }
        if self.state == State::Revoked {
            return Some("revoked");
        }
        let closes = match (which, self.state) {
            (Which::Entry, _) if self.locked() => return Some("locked"),
            (Which::Entry, State::Unused) => self.expires_at,
            (Which::Entry, State::Entering) => return Some("opening"),
            (Which::Entry, _) | (Which::Exit, State::Exited) => return Some("already_used"),
            (Which::Exit, State::Entered | State::ExitFailed) => self.exit_closes_at,
            (Which::Exit, State::Unused) if self.entry_given_back => self.exit_closes_at,
            (Which::Exit, State::Unused | State::Entering) if now < self.expires_at => return Some("not_entered"),
            (Which::Exit, _) => self.expires_at,
        };
        (now >= closes).then_some("expired")
    }
}

struct Model {
    max_users: Option<u32>,
    invites: Vec<ModelInvite>,
}

impl Model {
    fn live(&self, now: i64) -> usize {
        self.invites.iter().filter(|i| i.holds_slot(now)).count()
    }

    fn pick(&self, index: usize) -> Option<usize> {
        (!self.invites.is_empty()).then(|| index % self.invites.len())
    }
}

struct Run<'a> {
    app: &'a TestApp,
    model: Model,
    presses: u64,
    /// The gates' modes, by entry / exit.
    gates: [GateMode; 2],
}

fn now(app: &TestApp) -> i64 {
    use ota::clock::Clock;
    app.clock.now().unix_timestamp()
}

fn time_of(value: &Value) -> i64 {
    let text = value.as_str().unwrap_or_default();
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp())
        .unwrap_or_default()
}

impl Run<'_> {
    fn fail(&self, what: String) -> TestCaseError {
        TestCaseError::fail(what)
    }

    async fn settings(&mut self, max_users: u32) -> Result<(), TestCaseError> {
        let body = json!({
            "entry_gate": "gate-main", "exit_gate": "gate-exit", "max_users": max_users,
            "invite_duration_minutes": DURATION_MINUTES, "exit_grace_minutes": GRACE_MINUTES,
        });
        let (status, answer) = self.app.put_settings(&self.app.owner, body).await;
        match status {
            200 => self.model.max_users = Some(max_users),
            500 | 503 => {
                let (_, read) = self
                    .app
                    .call(
                        reqwest::Method::GET,
                        &format!("/intercoms/{}/settings", self.app.intercom()),
                        Some(&self.app.owner),
                        None,
                    )
                    .await;
                self.model.max_users = read["settings"]["max_users"].as_u64().map(|m| m as u32);
            }
            _ => return Err(self.fail(format!("settings answered {status}: {answer}"))),
        }
        Ok(())
    }

    async fn create(&mut self, parallel: usize, faulty: bool) -> Result<(), TestCaseError> {
        let now = now(self.app);
        let free = match self.model.max_users {
            Some(max) => (max as usize).saturating_sub(self.model.live(now)),
            None => 0,
        };
        let answers = futures_join(parallel, |n| {
            let body = json!({ "name": format!("Model Guest {n}"), "mobile": self.app.mobile });
            self.app.create(&self.app.owner, body)
        })
        .await;
        let mut created = 0;
        let mut ambiguous = false;
        for (status, body) in answers {
            match (status, body["error"]["code"].as_str()) {
                (201, _) => {
                    created += 1;
                    let invite = crate::helpers::Invite::from(&body);
                    self.model.invites.push(ModelInvite {
                        id: invite.id,
                        token: Some(invite.token),
                        code: invite.code,
                        state: State::Unused,
                        wrong: 0,
                        entry_given_back: false,
                        entry_sent: false,
                        exit_opened: false,
                        entry_consumed: false,
                        exit_consumed: false,
                        expires_at: time_of(&body["expires_at"]),
                        exit_closes_at: time_of(&body["exit_closes_at"]),
                        sealed_after: None,
                    });
                }
                (409, Some("limit_reached" | "settings_not_configured")) => {}
                (500 | 503, _) if faulty || parallel > 1 => ambiguous = true,
                _ => return Err(self.fail(format!("create answered {status}: {body}"))),
            }
        }
        if created > free {
            let out: Vec<_> =
                self.model.invites.iter().filter(|i| i.holds_slot(now)).map(|i| (&i.id, i.state)).collect();
            return Err(self.fail(format!(
                "{created} creates succeeded with {free} free places (Max Users {:?}, out: {out:?})",
                self.model.max_users
            )));
        }
        if !ambiguous && created < free.min(parallel) {
            return Err(self.fail(format!("only {created} of {parallel} creates succeeded with {free} free places")));
        }
        if ambiguous {
            // A create whose answer was lost may still have committed: adopt it.
            let (_, list) = self.app.list(&self.app.owner).await;
            for code in list["codes"].as_array().into_iter().flatten() {
                let id = code["id"].as_str().unwrap_or_default();
                if !self.model.invites.iter().any(|i| i.id == id) {
                    self.model.invites.push(ModelInvite {
                        id: id.to_owned(),
                        token: None,
                        code: code["code"].as_str().unwrap_or_default().to_owned(),
                        state: State::Unused,
                        wrong: 0,
                        entry_given_back: false,
                        entry_sent: false,
                        exit_opened: false,
                        entry_consumed: false,
                        exit_consumed: false,
                        expires_at: time_of(&code["expires_at"]),
                        exit_closes_at: time_of(&code["exit_open_until"]),
                        sealed_after: None,
                    });
                }
            }
        }
        Ok(())
    }

    async fn revoke(&mut self, index: usize, faulty: bool) -> Result<(), TestCaseError> {
        let Some(i) = self.model.pick(index) else { return Ok(()) };
        let now = now(self.app);
        let invite = &self.model.invites[i];
        // A revoked code answers 204 again (a retried DELETE).
        // Not exited (an exit whose command is out counts), within the exit window,
        // and before expiry unless the entry was spent (the guest may be inside).
        let revocable = invite.state == State::Revoked
            || (!invite.exit_consumed
                && now < invite.exit_closes_at
                && (now < invite.expires_at || invite.entry_consumed));
        let (status, body) = self.app.revoke(&self.app.owner, &invite.id.clone()).await;
        let delivered = self.app.delivered_commands().len();
        match (status, revocable) {
            (204, true) => {
                if self.model.invites[i].state != State::Revoked {
                    self.model.invites[i].state = State::Revoked;
                    self.model.invites[i].sealed_after = Some(delivered);
                }
            }
            (410, false) if body["error"]["code"] == "code_ended" => {}
            (500 | 503, _) if faulty => self.reconcile(i).await?,
            _ => return Err(self.fail(format!("revoke (revocable: {revocable}) answered {status}: {body}"))),
        }
        Ok(())
    }

    async fn press(&mut self, i: usize, which: Which, code: &str) -> (u16, Value) {
        self.presses += 1;
        let path = match which {
            Which::Entry => "/guest/entry",
            Which::Exit => "/guest/exit",
        };
        let token = self.model.invites[i].token.clone().unwrap_or_default();
        let body = json!({
            "token": token, "intercom_id": self.app.intercom(), "gate_number": self.app.gate_number(), "code": code,
            "attempt_id": format!("model-press-{:06}", self.presses),
        });
        let answer = self.app.call(reqwest::Method::POST, path, None, Some(body.clone())).await;
        if answer.0 == 503 {
            // The page retries the same press once the network is back.
            self.app.faults().heal();
            return self.app.call(reqwest::Method::POST, path, None, Some(body)).await;
        }
        answer
    }

    /// With every gate online and no fault, the answer is predicted, and the gate's
    /// report has spent the passage by the time the step ends.
    fn predictable(&self, faulty: bool) -> bool {
        !faulty && self.gates == [GateMode::Online; 2]
    }

    async fn redeem(&mut self, index: usize, which: Which, parallel: usize, faulty: bool) -> Result<(), TestCaseError> {
        let Some(i) = self.model.pick(index) else { return Ok(()) };
        if self.model.invites[i].token.is_none() {
            return Ok(());
        }
        let now = now(self.app);
        let predictable = self.predictable(faulty);
        let expected = self.model.invites[i].refusal(which, now);
        let code = self.model.invites[i].code.clone();
        let mut answers = Vec::new();
        // Under a fault the page's own retry matters: one press, retried.
        let parallel = if faulty { 1 } else { parallel };
        if parallel == 1 {
            answers.push(self.press(i, which, &code).await);
            self.app.settle_gates().await;
        } else {
            let token = self.model.invites[i].token.clone().unwrap_or_default();
            answers = futures_join(parallel, |_| match which {
                Which::Entry => self.app.redeem(crate::helpers::Redeem::Entry, &token, self.app.intercom(), &code),
                Which::Exit => self.app.redeem(crate::helpers::Redeem::Exit, &token, self.app.intercom(), &code),
            })
            .await;
        }
        let sent = answers.iter().filter(|(status, _)| *status == 202).count();
        if sent > 1 {
            return Err(self.fail(format!("{which:?} sent {sent} commands at once: {answers:?}")));
        }
        for (status, body) in &answers {
            let code = body["error"]["code"].as_str();
            let fine = match (expected, *status) {
                (None, 202) => true,
                // The others of a parallel group lose to the one that was sent.
                (None, 409) => parallel > 1 && matches!(code, Some("already_used" | "opening")),
                (Some(refusal), _) => code == Some(refusal),
                _ => false,
            };
            // Otherwise the gates' modes or a fault decide; the invariants judge the result.
            let unexplained = *status == 500 && !faulty;
            if (predictable && !fine) || unexplained {
                return Err(self.fail(format!("{which:?} (expected {expected:?}) answered {status}: {body}")));
            }
        }
        self.reconcile(i).await?;
        let state = self.model.invites[i].state;
        let spent = match which {
            Which::Entry => state == State::Entered,
            Which::Exit => state == State::Exited,
        };
        if predictable && expected.is_none() && !spent {
            return Err(self.fail(format!("{which:?} should have opened (online gates): {answers:?}, now {state:?}")));
        }
        Ok(())
    }

    /// The page's rule: the status alone decides the press (judged like any other).
    async fn page(&mut self, index: usize, take_also: bool, faulty: bool) -> Result<(), TestCaseError> {
        let Some(i) = self.model.pick(index) else { return Ok(()) };
        let Some(token) = self.model.invites[i].token.clone() else { return Ok(()) };
        self.app.faults().heal();
        let (status, body) = self.app.guest_status(&token).await;
        let ended = now(self.app) >= self.model.invites[i].exit_closes_at;
        match (status, body["error"]["code"].as_str()) {
            (200, _) => {}
            (410, Some("expired")) if ended => return Ok(()),
            _ => return Err(self.fail(format!("status answered {status}: {body}"))),
        }
        let which = match (body["next"].as_str(), body["also"].as_str(), body["refusal"]["code"].as_str()) {
            (Some(_), _, Some("opening")) | (None, _, _) => return Ok(()),
            (Some(_), Some("exit"), _) if take_also => Which::Exit,
            (Some("exit"), _, _) => Which::Exit,
            _ => Which::Entry,
        };
        self.redeem(index, which, 1, faulty).await
    }

    async fn wrong(&mut self, index: usize, which: Which, parallel: usize, faulty: bool) -> Result<(), TestCaseError> {
        let Some(i) = self.model.pick(index) else { return Ok(()) };
        if self.model.invites[i].token.is_none() {
            return Ok(());
        }
        let now = now(self.app);
        let before = self.model.invites[i].clone();
        let wrong_code = format!("{:04}", (before.code.parse::<u32>().unwrap_or(0) + 1) % 10_000);
        let token = before.token.clone().unwrap_or_default();
        let answers = futures_join(parallel, |_| match which {
            Which::Entry => self.app.redeem(crate::helpers::Redeem::Entry, &token, self.app.intercom(), &wrong_code),
            Which::Exit => self.app.redeem(crate::helpers::Redeem::Exit, &token, self.app.intercom(), &wrong_code),
        })
        .await;
        let refusal = before.refusal(which, now);
        let predictable = self.predictable(faulty);
        for (status, body) in &answers {
            let code = body["error"]["code"].as_str();
            match (refusal, which, code) {
                (None, Which::Entry, Some("wrong_code" | "locked")) => {}
                (None, Which::Exit, Some("wrong_code" | "slow_down")) => {}
                (Some(expected), _, Some(got)) if expected == got => {}
                _ if faulty && *status >= 500 => {}
                _ if !predictable && *status != 500 => {}
                _ => return Err(self.fail(format!("wrong {which:?} (expected {refusal:?}) answered {status}: {body}"))),
            }
        }
        let counts = which == Which::Entry && refusal.is_none();
        let expected_wrong = if counts { (before.wrong + parallel as u32).min(5) } else { before.wrong };
        self.reconcile(i).await?;
        let counted = self.model.invites[i].wrong;
        if predictable && counted != expected_wrong {
            return Err(self.fail(format!("{counted} wrong codes counted, expected {expected_wrong}: {answers:?}")));
        }
        if counted > expected_wrong.max(before.wrong) {
            return Err(self.fail(format!("a lost answer counted a wrong code twice: {counted} > {expected_wrong}")));
        }
        Ok(())
    }

    /// Reads one invite's truth back from the table, by the rules of the firmware
    /// contract: a passage is spent once its code is in its set, provisionally until
    /// the gate reports (`*_opened`) or its command's confirm time passes.
    async fn reconcile(&mut self, i: usize) -> Result<(), TestCaseError> {
        self.app.faults().heal();
        let now = now(self.app);
        let item = self.app.invite_item(&self.model.invites[i].id).await;
        let code = self.model.invites[i].code.clone();
        let tried = |name: &str| item.get(name).and_then(|v| v.as_ss().ok()).is_some_and(|set| set.contains(&code));
        let number = |name: &str| -> i64 {
            item.get(name).and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok()).unwrap_or(0)
        };
        let passage = |which: &str| {
            let consumed = tried(&format!("{which}_tries"));
            let opened = item.contains_key(&format!("{which}_opened"));
            let pending = consumed && !opened && now < number(&format!("{which}_at")) + CONFIRM_WITHIN;
            (consumed, opened, pending, consumed && !opened && !pending)
        };
        let (entry_consumed, entry_opened, entry_pending, entry_lapsed) = passage("entry");
        let (exit_consumed, exit_opened, exit_pending, exit_lapsed) = passage("exit");
        let revoked = item.get("state").and_then(|v| v.as_s().ok()).is_some_and(|s| s == "revoked");
        let released = item.get("exit_released").and_then(|v| v.as_bool().ok()).copied().unwrap_or(false);
        let invite = &mut self.model.invites[i];
        invite.wrong = (number("entry_guesses") as u32).saturating_sub(u32::from(entry_consumed));
        invite.entry_given_back = number("entry_given_back") > 0 || entry_lapsed;
        invite.entry_sent = entry_consumed || entry_opened || invite.entry_given_back;
        invite.exit_opened = exit_opened;
        invite.entry_consumed = entry_consumed;
        invite.exit_consumed = exit_consumed;
        let was_revoked = invite.state == State::Revoked;
        invite.state = if revoked {
            State::Revoked
        } else if exit_opened || exit_pending {
            State::Exited
        } else if exit_lapsed || released {
            State::ExitFailed
        } else if entry_opened {
            State::Entered
        } else if entry_pending {
            State::Entering
        } else {
            State::Unused
        };
        if revoked && !was_revoked {
            invite.sealed_after = Some(self.app.delivered_commands().len());
        }
        Ok(())
    }

    /// The invariants, from the list and from what reached the gates.
    async fn check(&mut self) -> Result<(), TestCaseError> {
        let now = now(self.app);
        for invite in &mut self.model.invites {
            if invite.sealed_after.is_none() && now >= invite.exit_closes_at {
                invite.sealed_after = Some(self.app.delivered_commands().len());
            }
        }
        let (status, list) = self.app.list(&self.app.owner).await;
        if status != 200 {
            return Err(self.fail(format!("list answered {status}: {list}")));
        }
        let listed: BTreeSet<String> = list["codes"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| c["id"].as_str().unwrap_or_default().to_owned())
            .collect();
        let expected: BTreeSet<String> =
            self.model.invites.iter().filter(|i| i.listed(now)).map(|i| i.id.clone()).collect();
        if listed != expected {
            return Err(self.fail(format!("listed {listed:?}, the model has {expected:?}")));
        }
        let active = list["active"].as_u64().unwrap_or(u64::MAX) as usize;
        if active != self.model.live(now) {
            return Err(self.fail(format!("active {active}, the model has {}", self.model.live(now))));
        }
        let codes: Vec<&str> =
            list["codes"].as_array().into_iter().flatten().filter_map(|c| c["code"].as_str()).collect();
        if codes.iter().collect::<BTreeSet<_>>().len() != codes.len() {
            return Err(self.fail(format!("two listed codes are the same: {codes:?}")));
        }

        let delivered = self.app.delivered_commands();
        for (position, (invite, reason, _)) in delivered.iter().enumerate() {
            let model = self.model.invites.iter().find(|i| &i.id == invite);
            if let Some(sealed) = model.and_then(|i| i.sealed_after) {
                if position >= sealed {
                    return Err(self.fail(format!(
                        "a {reason} command reached a gate for {invite} after it was revoked or closed"
                    )));
                }
            }
        }
        // What the gates really did: each passage opened at most once.
        let mut openings: BTreeMap<String, usize> = BTreeMap::new();
        for device in ["gate-main", "gate-exit"] {
            for opening in self.app.front.gates.openings(self.app.site.thing(device).as_str()) {
                *openings.entry(opening.passage).or_default() += 1;
            }
        }
        if let Some((passage, times)) = openings.iter().find(|(_, times)| **times > 1) {
            return Err(self.fail(format!("{passage} opened its gate {times} times")));
        }
        for i in 0..self.model.invites.len() {
            let invite = self.model.invites[i].clone();
            let item = self.app.invite_item(&invite.id).await;
            for reason in ["entry", "exit"] {
                let passage = format!("{}.{}.{reason}", self.app.intercom(), invite.id);
                // Spent for good only on the gate's word, and the gate did open.
                if item.contains_key(&format!("{reason}_opened")) && !openings.contains_key(&passage) {
                    return Err(self.fail(format!("{passage} is recorded opened, but its gate never opened")));
                }
            }
            // A command past its confirm time with no report: the guest's code works again.
            let tried =
                item.get("entry_tries").and_then(|v| v.as_ss().ok()).is_some_and(|set| set.contains(&invite.code));
            let at: i64 = item.get("entry_at").and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok()).unwrap_or(0);
            let lapsed = tried && !item.contains_key("entry_opened") && now >= at + CONFIRM_WITHIN;
            let open = now < invite.exit_closes_at;
            if let (true, Some(token)) = (lapsed && open && invite.state != State::Revoked, &invite.token) {
                let (_, status) = self.app.guest_status(token).await;
                if status["entry"]["state"] != "available" {
                    return Err(self.fail(format!("{} kept an unanswered entry spent: {status}", invite.id)));
                }
                self.reconcile(i).await?;
            }
            if invite.wrong > 5 {
                return Err(self.fail(format!("{} counted {} wrong codes", invite.id, invite.wrong)));
            }
        }
        self.every_change_has_one_event_id().await
    }

    async fn every_change_has_one_event_id(&mut self) -> Result<(), TestCaseError> {
        let events = self.app.events().await;
        let mut published: BTreeMap<String, Value> = BTreeMap::new();
        for event in &events {
            let id = event["detail"]["event_id"].as_str().unwrap_or_default().to_owned();
            if let Some(before) = published.insert(id.clone(), event["detail"].clone()) {
                if before != event["detail"] {
                    return Err(self.fail(format!("event id {id} named two facts: {before} and {}", event["detail"])));
                }
            }
        }
        let mut committed = BTreeSet::new();
        for invite in &self.model.invites {
            let item = self.app.invite_item(&invite.id).await;
            let record = ota::store::activity::invite_record_from_item(&item).map_err(|e| self.fail(e.to_string()))?;
            let sms = self.app.sms_item(&invite.id).await;
            let sms = ota::store::activity::sms_record_from_item(&sms).map_err(|e| self.fail(e.to_string()))?;
            committed.extend(record.facts().into_iter().chain(sms.facts()).map(|fact| fact.id));
        }
        let on_the_bus: BTreeSet<String> = published.keys().filter(|id| !id.contains(".gate_")).cloned().collect();
        if on_the_bus != committed {
            let missing: Vec<_> = committed.difference(&on_the_bus).collect();
            let phantom: Vec<_> = on_the_bus.difference(&committed).collect();
            return Err(self.fail(format!(
                "committed facts not published {missing:?}, published but never committed {phantom:?}"
            )));
        }
        let mut logged = BTreeSet::new();
        let mut query = "limit=100".to_owned();
        loop {
            let (_, page) = self.app.activity(&self.app.owner, &query).await;
            let ids = page["facts"].as_array().into_iter().flatten().filter_map(|f| f["event_id"].as_str());
            logged.extend(ids.filter(|id| !id.contains(".gate_")).map(str::to_owned));
            match page["next_cursor"].as_str() {
                Some(cursor) => query = format!("limit=100&cursor={cursor}"),
                None => break,
            }
        }
        if logged != committed {
            return Err(self.fail(format!("the activity has {} facts, {} committed", logged.len(), committed.len())));
        }
        Ok(())
    }

    fn operations_of(step: &Step) -> &'static [&'static str] {
        match step {
            Step::Settings { .. } => &["DynamoDB.TransactGetItems", "DynamoDB.TransactWriteItems"],
            Step::Create { .. } => &["DynamoDB.Query", "DynamoDB.TransactWriteItems"],
            Step::Revoke(_) => &["DynamoDB.TransactWriteItems"],
            Step::Redeem { .. } | Step::Wrong { .. } | Step::Page { .. } => {
                &["DynamoDB.UpdateItem", "IoT.UpdateThingShadow"]
            }
            Step::Sweep => &["DynamoDB.Query", "DynamoDB.UpdateItem"],
            Step::Advance { .. } | Step::Gate { .. } | Step::Faulty { .. } => &[],
        }
    }

    async fn run(&mut self, step: &Step, faulty: bool) -> Result<(), TestCaseError> {
        match step {
            Step::Settings { max_users } => self.settings(*max_users).await,
            Step::Create { parallel } => self.create(*parallel, faulty).await,
            Step::Revoke(index) => self.revoke(*index, faulty).await,
            Step::Redeem { invite, which, parallel } => self.redeem(*invite, *which, *parallel, faulty).await,
            Step::Wrong { invite, which, parallel } => self.wrong(*invite, *which, *parallel, faulty).await,
            Step::Page { invite, take_also } => self.page(*invite, *take_also, faulty).await,
            Step::Advance { seconds } => {
                self.app.advance(time::Duration::seconds(*seconds));
                Ok(())
            }
            Step::Gate { which, mode } => {
                let device = match which {
                    Which::Entry => "gate-main",
                    Which::Exit => "gate-exit",
                };
                self.app.set_gate(device, mode.simulated()).await;
                self.gates[usize::from(*which == Which::Exit)] = *mode;
                Ok(())
            }
            Step::Sweep => match self.app.try_sweep().await {
                Ok(report) if report.failed == 0 || faulty => Ok(()),
                Err(_) if faulty => Ok(()),
                outcome => Err(self.fail(format!("sweep failed: {outcome:?}"))),
            },
            Step::Faulty { fault, operation, nth, step } => {
                let operations = Self::operations_of(step);
                if operations.is_empty() {
                    return Box::pin(self.run(step, false)).await;
                }
                let operation = operations[*operation % operations.len()];
                // Only a transaction can be cancelled by a conflict.
                let fault = match fault {
                    Fault::TransactionConflict if operation != "DynamoDB.TransactWriteItems" => Fault::ServerError,
                    other => *other,
                };
                self.app.faults().inject(operation, fault, *nth, 1);
                let outcome = Box::pin(self.run(step, true)).await;
                self.app.faults().heal();
                outcome
            }
        }
    }
}

/// Runs `n` requests at once and collects their answers in order.
async fn futures_join<'a, F, Fut>(n: usize, request: F) -> Vec<(u16, Value)>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = (u16, Value)> + 'a,
{
    let mut pending: Vec<_> = (0..n).map(|i| Box::pin(request(i))).collect();
    let mut answers = vec![(0, Value::Null); n];
    let mut done = vec![false; n];
    std::future::poll_fn(|cx| {
        for (i, future) in pending.iter_mut().enumerate() {
            if !done[i] {
                if let std::task::Poll::Ready(answer) = future.as_mut().poll(cx) {
                    answers[i] = answer;
                    done[i] = true;
                }
            }
        }
        if done.iter().all(|d| *d) {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
    answers
}

async fn run_case(steps: Vec<Step>) -> Result<(), TestCaseError> {
    let app = spawn_app_with(Options { faults: true, sms_limits: Some((1_000, 1_000)), ..Options::default() }).await;
    let mut run = Run {
        app: &app,
        model: Model { max_users: None, invites: Vec::new() },
        presses: 0,
        gates: [GateMode::Online; 2],
    };
    for step in &steps {
        run.run(step, false).await?;
        app.faults().heal();
        // The gates' turn (a slow one may act now), then the model's view of every invite.
        app.settle_gates().await;
        for i in 0..run.model.invites.len() {
            run.reconcile(i).await?;
        }
        run.check().await?;
    }
    // Every window closes; one sweep leaves nothing of this intercom in the index.
    app.advance(time::Duration::minutes(DURATION_MINUTES + GRACE_MINUTES + 1));
    let report = app.sweep().await;
    let again = app.sweep().await;
    if report.failed > 0 || again.due > 0 {
        return Err(TestCaseError::fail(format!("the sweep left work behind: {report:?} then {again:?}")));
    }
    run.check().await
}

fn cases() -> u32 {
    std::env::var("OTA_MODEL_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(16)
}

#[test]
fn the_service_behaves_like_its_model_under_random_steps_parallelism_and_faults() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let config =
        ProptestConfig { cases: cases(), max_shrink_iters: 64, failure_persistence: None, ..ProptestConfig::default() };
    proptest!(config, |(steps in prop::collection::vec(step(), 4..24))| {
        runtime.block_on(run_case(steps))?;
    });
}
