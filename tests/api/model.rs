//! A model-based property test: random sequences of settings, creates, revokes,
//! entries, exits, wrong codes, clock moves and sweeps — some run in parallel,
//! some with a fault injected into one AWS call — against the real handlers over
//! moto, each answer checked against a small model, and after every step:
//!
//! - the owner's list shows exactly the model's codes, and `active` its live count;
//! - no create succeeds while Max Users codes are live;
//! - at most one door command id per entry and per exit reached a gate, and an
//!   invite is entered (exited) in the table exactly when its command did;
//! - nothing reaches a gate for an invite after it was revoked or its window closed;
//! - no more than 5 wrong codes are ever counted;
//! - at the end, after every window has closed and a sweep, nothing is left in the
//!   sweep's index.
//!
//! Where a fault makes an answer ambiguous (a 5xx), the model reads the truth back
//! from the table, as an app would by listing. Bounded: `OTA_MODEL_CASES` cases
//! (default 16) of 4 to 24 steps.

use crate::helpers::{spawn_app_with, Options, TestApp};
use fault_proxy::Fault;
use proptest::prelude::*;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

const DURATION_MINUTES: i64 = 120;
const GRACE_MINUTES: i64 = 30;

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
    Advance {
        minutes: i64,
    },
    Sweep,
    /// One step with one AWS call of it going wrong: the `nth` call of its
    /// `operation`-th kind of call (see `operations_of`).
    Faulty {
        fault: Fault,
        operation: usize,
        nth: u32,
        step: Box<Step>,
    },
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
        2 => prop_oneof![Just(5i64), Just(45), Just(DURATION_MINUTES), Just(GRACE_MINUTES + 1)].prop_map(|minutes| Step::Advance { minutes }),
        1 => Just(Step::Sweep),
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Unused,
    Entered,
    Exited,
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
    expires_at: i64,
    exit_closes_at: i64,
    /// How many gate commands had been delivered when it was revoked or closed.
    sealed_after: Option<usize>,
}

impl ModelInvite {
    fn locked(&self) -> bool {
        self.wrong >= 5
    }

    fn holds_slot(&self, now: i64) -> bool {
        matches!(self.state, State::Unused | State::Entered) && now < self.expires_at
    }

    fn listed(&self, now: i64) -> bool {
        self.holds_slot(now) || (self.state == State::Entered && now < self.exit_closes_at)
    }

    /// The refusal code for `which` with the right code (`None`: it opens).
    fn refusal(&self, which: Which, now: i64) -> Option<&'static str> {
        if self.state == State::Revoked {
            return Some("revoked");
        }
        if self.locked() {
            return Some("locked");
        }
        let closes = match (which, self.state) {
            (Which::Entry, State::Unused) => self.expires_at,
            (Which::Entry, _) | (Which::Exit, State::Exited) => return Some("already_used"),
            (Which::Exit, State::Unused) if now < self.expires_at => return Some("not_entered"),
            (Which::Exit, State::Unused) => self.expires_at,
            (Which::Exit, _) => self.exit_closes_at,
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
            return Err(self.fail(format!("{created} creates succeeded with {free} free places")));
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
        let revocable = match invite.state {
            State::Unused => now < invite.expires_at,
            State::Entered => now < invite.exit_closes_at,
            State::Revoked => true,
            State::Exited => false,
        };
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
            "token": token, "intercom_id": self.app.intercom(), "code": code,
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

    async fn redeem(&mut self, index: usize, which: Which, parallel: usize, faulty: bool) -> Result<(), TestCaseError> {
        let Some(i) = self.model.pick(index) else { return Ok(()) };
        if self.model.invites[i].token.is_none() {
            return Ok(());
        }
        let now = now(self.app);
        let expected = self.model.invites[i].refusal(which, now);
        let code = self.model.invites[i].code.clone();
        let mut answers = Vec::new();
        // Under a fault the page's own retry matters: one press, retried.
        let parallel = if faulty { 1 } else { parallel };
        if parallel == 1 {
            answers.push(self.press(i, which, &code).await);
        } else {
            let token = self.model.invites[i].token.clone().unwrap_or_default();
            answers = futures_join(parallel, |_| match which {
                Which::Entry => self.app.redeem(crate::helpers::Redeem::Entry, &token, self.app.intercom(), &code),
                Which::Exit => self.app.redeem(crate::helpers::Redeem::Exit, &token, self.app.intercom(), &code),
            })
            .await;
        }
        let opened = answers.iter().filter(|(status, _)| *status == 200).count();
        for (status, body) in &answers {
            let code = body["error"]["code"].as_str();
            let fine = match (expected, *status) {
                (None, 200) => true,
                // The others of a parallel group lose to the one that opened.
                (None, 409) => parallel > 1 && code == Some("already_used"),
                (Some(refusal), _) => code == Some(refusal),
                _ => false,
            };
            let ambiguous = faulty && (*status >= 500 || code == Some("already_used"));
            if !fine && !ambiguous {
                return Err(self.fail(format!("{which:?} (expected {expected:?}) answered {status}: {body}")));
            }
        }
        if opened > 1 {
            return Err(self.fail(format!("{which:?} opened {opened} times")));
        }
        if faulty {
            return self.reconcile(i).await;
        }
        if expected.is_none() {
            if opened != 1 {
                return Err(self.fail(format!("{which:?} should have opened once: {answers:?}")));
            }
            self.model.invites[i].state = match which {
                Which::Entry => State::Entered,
                Which::Exit => State::Exited,
            };
        }
        Ok(())
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
        for (status, body) in &answers {
            let code = body["error"]["code"].as_str();
            match (refusal, code) {
                (None, Some("wrong_code" | "locked")) => {}
                (Some(expected), Some(got)) if expected == got => {}
                _ if faulty && *status >= 500 => {}
                _ => return Err(self.fail(format!("wrong {which:?} (expected {refusal:?}) answered {status}: {body}"))),
            }
        }
        let expected_wrong = if refusal.is_none() { (before.wrong + parallel as u32).min(5) } else { before.wrong };
        self.reconcile(i).await?;
        let counted = self.model.invites[i].wrong;
        if !faulty && counted != expected_wrong {
            return Err(self.fail(format!("{counted} wrong codes counted, expected {expected_wrong}: {answers:?}")));
        }
        if faulty && counted > expected_wrong {
            return Err(self.fail(format!("a lost answer counted a wrong code twice: {counted} > {expected_wrong}")));
        }
        Ok(())
    }

    /// Reads one invite's truth back from the table after an ambiguous answer.
    async fn reconcile(&mut self, i: usize) -> Result<(), TestCaseError> {
        self.app.faults().heal();
        let item = self.app.invite_item(&self.model.invites[i].id).await;
        let code = self.model.invites[i].code.clone();
        let tried = |name: &str| item.get(name).and_then(|v| v.as_ss().ok()).is_some_and(|set| set.contains(&code));
        let (entered, exited) = (tried("entry_tries"), tried("exit_tries"));
        let revoked = item.get("state").and_then(|v| v.as_s().ok()).is_some_and(|s| s == "revoked");
        let guesses: u32 = item.get("guesses").and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok()).unwrap_or(0);
        let invite = &mut self.model.invites[i];
        invite.wrong = guesses - u32::from(entered) - u32::from(exited);
        let was_revoked = invite.state == State::Revoked;
        invite.state = match (revoked, exited, entered) {
            (true, _, _) => State::Revoked,
            (_, true, _) => State::Exited,
            (_, _, true) => State::Entered,
            _ => State::Unused,
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
        let mut ids: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
        for (position, (invite, reason, command)) in delivered.iter().enumerate() {
            ids.entry((invite.clone(), reason.clone())).or_default().insert(command.clone());
            let model = self.model.invites.iter().find(|i| &i.id == invite);
            if let Some(sealed) = model.and_then(|i| i.sealed_after) {
                if position >= sealed {
                    return Err(self.fail(format!(
                        "a {reason} command reached a gate for {invite} after it was revoked or closed"
                    )));
                }
            }
        }
        for ((invite, reason), commands) in &ids {
            if commands.len() > 1 {
                return Err(self.fail(format!("{invite} got {} {reason} command ids: {commands:?}", commands.len())));
            }
        }
        for invite in &self.model.invites {
            let has = |reason: &str| ids.contains_key(&(invite.id.clone(), reason.to_owned()));
            let (entered, exited) = match invite.state {
                State::Entered => (true, false),
                State::Exited => (true, true),
                State::Unused => (false, false),
                State::Revoked => (has("entry"), has("exit")),
            };
            if has("entry") != entered || has("exit") != exited {
                return Err(self.fail(format!(
                    "{} is {:?} but entry/exit commands delivered: {}/{}",
                    invite.id,
                    invite.state,
                    has("entry"),
                    has("exit")
                )));
            }
            if invite.wrong > 5 {
                return Err(self.fail(format!("{} counted {} wrong codes", invite.id, invite.wrong)));
            }
        }
        Ok(())
    }

    fn operations_of(step: &Step) -> &'static [&'static str] {
        match step {
            Step::Settings { .. } => &["DynamoDB.TransactGetItems", "DynamoDB.TransactWriteItems"],
            Step::Create { .. } => &["DynamoDB.Query", "DynamoDB.TransactWriteItems", "SNS.Publish"],
            Step::Revoke(_) => &["DynamoDB.TransactWriteItems"],
            Step::Redeem { .. } | Step::Wrong { .. } => &["DynamoDB.UpdateItem", "IoT.UpdateThingShadow"],
            Step::Sweep => &["DynamoDB.Query", "DynamoDB.UpdateItem"],
            Step::Advance { .. } | Step::Faulty { .. } => &[],
        }
    }

    async fn run(&mut self, step: &Step, faulty: bool) -> Result<(), TestCaseError> {
        match step {
            Step::Settings { max_users } => self.settings(*max_users).await,
            Step::Create { parallel } => self.create(*parallel, faulty).await,
            Step::Revoke(index) => self.revoke(*index, faulty).await,
            Step::Redeem { invite, which, parallel } => self.redeem(*invite, *which, *parallel, faulty).await,
            Step::Wrong { invite, which, parallel } => self.wrong(*invite, *which, *parallel, faulty).await,
            Step::Advance { minutes } => {
                self.app.advance(time::Duration::minutes(*minutes));
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
    let mut run = Run { app: &app, model: Model { max_users: None, invites: Vec::new() }, presses: 0 };
    for step in &steps {
        run.run(step, false).await?;
        app.faults().heal();
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
