//! `fleet`: a benchmark, not a test. Guests in their hundreds go through the local
//! stack's API moving only as the guest page would let them: read the status, do what
//! it offers (wait while a gate is opening; press the passage it names, or the exit it
//! offers beside the entry to a guest who is inside), the page's retries of a lost
//! answer, reloads, walking away and coming back — never an endpoint the page would
//! not call at that moment — while gates go offline (for over an hour of the stack's
//! clock), answer slowly or not at all, and guests mistype. A guest walks through a
//! gate when it opens for them, whatever the page knows. It counts what matters to a guest and an
//! owner: who got in and out with nobody's help, who is locked inside (must be 0), how
//! often each entry and exit opened its gate (must be at most once), and codes spent
//! with no opening (must be 0). Bounded: every guest gives up after `GIVE_UP`.
//!
//! `cargo run --release -p local-stack --bin fleet [guests]` (default 100). Guests
//! arrive at a steady pace whatever their number (moto is single-threaded: 500
//! guests within two minutes outran it here), so 500 take about ten minutes; the
//! gates' troubles repeat every [`TROUBLE_PERIOD`].

use local_stack::clock::ShiftedClock;
use local_stack::front::{self, Front};
use local_stack::gates::{GateSimulator, Mode};
use local_stack::{aws, jwt, moto::Moto, repo_root, seed::Site, table};
use ota::config::Config;
use rand::Rng;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

const INTERCOMS: usize = 10;
/// A guest who has not got in and out by then stops and is counted as stuck.
const GIVE_UP: Duration = Duration::from_secs(150);
/// The time between two guests' arrivals: 100 guests arrive over two minutes.
const ARRIVAL_GAP: Duration = Duration::from_millis(1200);
/// The gates' troubles, once per period: some offline and one mute from 20 s to
/// 80 s of it, two slow throughout.
const TROUBLE_PERIOD: Duration = Duration::from_secs(120);
/// Lost answers: the share of guest requests whose answer never reaches the phone.
const LOST_ANSWERS: f64 = 0.08;

#[derive(Debug, Default, Clone)]
struct Outcome {
    /// The entry gate opened for the guest: they walked in.
    inside: bool,
    /// The exit gate opened for them: they walked out.
    out: bool,
    /// Presses that ended without opening (gate offline, silent, refused).
    unopened_presses: u32,
    /// The passages (`<intercom>.<invite>.<entry|exit>`) the page said were open.
    confirmed: Vec<String>,
    /// Why the page sent the guest to ask for help, if it did.
    stopped_by: Option<String>,
    /// The last status the page read, for a guest who needed help.
    last_status: Value,
    /// The last press's answer, likewise.
    last_press: String,
}

struct Guest {
    api: String,
    http: reqwest::Client,
    token: String,
    intercom: String,
    gate_number: String,
    code: String,
    entry_thing: String,
    exit_thing: String,
    gates: Arc<GateSimulator>,
}

/// What a guest does between two reads of the status: the page's own rule.
enum Move {
    /// A command is out: the page waits and reads the status again.
    Wait,
    /// The page offers this passage: the guest types the code.
    Press(&'static str),
    /// The page says the link is done (or sends the guest to their host).
    Done(String),
}

impl Guest {
    /// One request; `None` when its answer was lost on the way back (the request
    /// itself reached the service).
    async fn post(&self, path: &str, body: &Value) -> Option<(u16, Value)> {
        let body = body.to_string();
        let response = self
            .http
            .post(format!("{}{path}", self.api))
            .header("content-type", "application/json")
            .header("x-amz-content-sha256", front::content_sha256(body.as_bytes()))
            .body(body)
            .send()
            .await
            .ok()?;
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or(Value::Null);
        if rand::rng().random_bool(LOST_ANSWERS) {
            return None;
        }
        Some((status, body))
    }

    /// The page's status read, retried until an answer arrives.
    async fn status(&self) -> Value {
        loop {
            if let Some((200, body)) = self.post("/guest/status", &json!({ "token": self.token })).await {
                return body;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    /// Where the guest physically is: a gate that opened for them, they walked through.
    fn walk(&self, outcome: &mut Outcome) {
        let opened = |thing: &str, which: &str| {
            let passage = self.passage(which);
            self.gates.openings(thing).iter().any(|o| o.passage == passage)
        };
        outcome.inside |= opened(&self.entry_thing, "entry");
        outcome.out |= opened(&self.exit_thing, "exit");
    }

    /// The page's rule, from a status: nothing else decides the guest's next move.
    /// A guest inside takes the exit the page offers beside the entry ("Already
    /// inside?"); one outside never does.
    fn next_move(status: &Value, inside: bool) -> Move {
        let refusal = status["refusal"]["code"].as_str();
        match (status["next"].as_str(), refusal) {
            (Some(_), Some("opening")) => Move::Wait,
            (Some(_), _) if inside && status["also"] == "exit" => Move::Press("exit"),
            (Some("entry"), _) => Move::Press("entry"),
            (Some("exit"), _) => Move::Press("exit"),
            _ => Move::Done(refusal.unwrap_or("no next step").to_owned()),
        }
    }

    /// One press of the page's button (its retries of a lost answer repeat the
    /// attempt id), then the page's polling of the status until the gate answers.
    async fn press(&self, which: &str, code: &str, outcome: &mut Outcome) {
        let attempt: String = (0..16).map(|_| char::from(b'a' + rand::rng().random_range(0..26))).collect();
        let body = json!({ "token": self.token, "intercom_id": self.intercom, "gate_number": self.gate_number, "code": code, "attempt_id": attempt });
        let (status, answer) = loop {
            match self.post(&format!("/guest/{which}"), &body).await {
                Some((status, answer))
                    if status < 500 || answer["error"]["code"].as_str().is_some_and(|c| c.starts_with("gate")) =>
                {
                    break (status, answer)
                }
                _ => tokio::time::sleep(Duration::from_millis(500)).await,
            }
        };
        outcome.last_press = format!("{which} {status} {}", answer["error"]["code"]);
        match (status, answer["error"]["code"].as_str().unwrap_or_default()) {
            (200, _) => {
                outcome.confirmed.push(self.passage(which));
                return;
            }
            (202, _) | (409, "opening") => {}
            (429, "slow_down") => {
                let wait = answer["error"]["retry_after_seconds"].as_u64().unwrap_or(60);
                tokio::time::sleep(Duration::from_secs(wait)).await;
                return;
            }
            (503, _) => {
                // "Try again in a few minutes": the guest comes back a little later.
                outcome.unopened_presses += 1;
                tokio::time::sleep(Duration::from_secs(3)).await;
                return;
            }
            _ => return,
        }
        loop {
            let now = self.status().await;
            match now[which]["state"].as_str() {
                Some("used") => {
                    outcome.confirmed.push(self.passage(which));
                    return;
                }
                Some("opening") => tokio::time::sleep(Duration::from_millis(700)).await,
                _ => {
                    outcome.unopened_presses += 1;
                    return;
                }
            }
        }
    }

    fn passage(&self, which: &str) -> String {
        format!("{}.{}.{which}", self.intercom, self.token.split('.').nth(1).unwrap_or_default())
    }

    /// A guest's whole visit, by the page's rule alone: read the status (on arrival,
    /// after every press, after a reload, after coming back), do what it offers,
    /// walk through whatever gate opens. `typos` wrong codes are typed at the first
    /// presses of each passage; every sixth move is a reload, every tenth a walk away
    /// and back.
    async fn visit(&self, typos: u32, deadline: Instant, outcome: &mut Outcome) {
        let wrong = format!("{:04}", (self.code.parse::<u32>().unwrap_or(0) + 1) % 10_000);
        let mut typed_wrong = [0; 2];
        for step in 0.. {
            self.walk(outcome);
            if outcome.out || Instant::now() >= deadline {
                return;
            }
            if step % 10 == 9 {
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            let status = self.status().await;
            outcome.last_status = status.clone();
            self.walk(outcome);
            match Self::next_move(&status, outcome.inside) {
                Move::Wait => tokio::time::sleep(Duration::from_millis(700)).await,
                Move::Press(which) => {
                    let slot = usize::from(which == "exit");
                    let code = if typed_wrong[slot] < typos {
                        typed_wrong[slot] += 1;
                        wrong.clone()
                    } else {
                        self.code.clone()
                    };
                    if outcome.inside && which == "entry" {
                        // Inside, and the page offers only the entry: a guest waits.
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        continue;
                    }
                    if step % 6 != 5 {
                        self.press(which, &code, outcome).await;
                    }
                }
                Move::Done(why) => {
                    self.walk(outcome);
                    if !outcome.out {
                        outcome.stopped_by = Some(why);
                    }
                    return;
                }
            }
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let guests: usize = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(100);
    let root = repo_root();
    let moto = Moto::start(&root)?;
    let sdk = aws::sdk_config(&moto.endpoint).await;
    let config = Config::from_lookup(|name| match name {
        "OTA_TABLE_NAME" => Some("ota-fleet".into()),
        "OTA_SEAL_KEYS" | "OTA_CURSOR_KEYS" | "OTA_LINK_KEYS" | "OTA_GATE_NUMBER_KEYS" | "OTA_GUEST_KEYS" => {
            Some(format!("fleet:{:032x}{:032x}", rand::random::<u128>(), rand::random::<u128>()))
        }
        "OTA_SMS_PER_USER_PER_HOUR" | "OTA_SMS_PER_INTERCOM_PER_HOUR" => Some("100000".into()),
        _ => None,
    })
    .map_err(|e| e.to_string())?;
    let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
    table::create_from_template(&dynamo, &root.join("template.yaml"), &config.table_name).await?;
    let clock = Arc::new(ShiftedClock::default());
    let iot = || aws_sdk_iotdataplane::Client::new(&sdk);
    let events = local_stack::outbox::EventTap::default();
    let (deps, gates) = GateSimulator::with_functions(config, dynamo, &sdk, clock.clone(), events.clone())?;
    // The fleet measures the gates: its stream is left unread (no SMS, no activity).
    let outbox = local_stack::outbox::LocalOutbox::new(deps.clone(), &moto.endpoint, events);
    let sites: Vec<Site> = (0..INTERCOMS).map(|i| Site::unique(&format!("fleet{i:02}"))).collect();
    let keys = deps.config.gate_number_keys.as_ref().ok_or("OTA_GATE_NUMBER_KEYS is not configured")?;
    for site in &sites {
        site.provision(&deps.store, keys, &moto.endpoint).await?;
        for gate in site.gates.values() {
            gates.add(gate.thing.as_str()).await;
        }
    }
    let authorizer = jwt::Authorizer::new_random();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let api = format!("http://{}", listener.local_addr().map_err(|e| e.to_string())?);
    let owners: Vec<String> =
        sites.iter().map(|s| authorizer.mint(s.owner.as_str(), time::Duration::hours(2))).collect();
    let front = Arc::new(Front {
        deps,
        authorizer,
        emulator: moto.endpoint.clone(),
        iot: iot(),
        openapi: String::new(),
        page: None,
        clock: Some(clock.clone()),
        gates: gates.clone(),
        gate_numbers: Default::default(),
        outbox,
    });
    tokio::spawn(front::serve(listener, front));
    let http = reqwest::Client::new();

    // Codes for everyone, Max Users at its top, an intercom per tenth of the guests.
    let mut invites = Vec::new();
    for (i, site) in sites.iter().enumerate() {
        let settings = json!({ "entry_gate": "gate-main", "exit_gate": "gate-exit", "max_users": 100 });
        let path = format!("{api}/intercoms/{}/settings", site.intercom);
        http.put(&path).bearer_auth(&owners[i]).json(&settings).send().await.map_err(|e| e.to_string())?;
        for n in 0..guests.div_ceil(INTERCOMS).min(100) {
            let body = json!({ "name": format!("Fleet Guest {n}"), "mobile": format!("082{:07}", i * 1000 + n) });
            let path = format!("{api}/intercoms/{}/codes", site.intercom);
            let created: Value = http
                .post(&path)
                .bearer_auth(&owners[i])
                .json(&body)
                .send()
                .await
                .map_err(|e| e.to_string())?
                .json()
                .await
                .map_err(|e| e.to_string())?;
            let token = created["link"].as_str().and_then(|l| l.split_once('#')).map(|(_, t)| t.to_owned());
            let (Some(token), Some(code)) = (token, created["code"].as_str()) else {
                return Err(format!("create failed: {created}"));
            };
            let thing = |device: &str| {
                site.gates.iter().find(|(id, _)| id.as_str() == device).map(|(_, g)| g.thing.as_str().to_owned())
            };
            let things = (thing("gate-main").unwrap_or_default(), thing("gate-exit").unwrap_or_default());
            invites.push((
                site.intercom.to_string(),
                site.gate_number.as_digits().to_owned(),
                token,
                code.to_owned(),
                things,
            ));
        }
    }
    invites.truncate(guests);

    // The gates' troubles, on a timeline: two offline for a while, two slow, one mute for a while.
    let things: Vec<String> =
        sites.iter().flat_map(|s| s.gates.values().map(|g| g.thing.as_str().to_owned())).collect();
    let trouble = gates.clone();
    let (offline, slow, mute) =
        ([things[0].clone(), things[3].clone()], [things[4].clone(), things[7].clone()], things[9].clone());
    // One of the offline gates stays away for over an hour of the stack's clock: it
    // comes back with its lifecycle version reset to 0, as AWS resets it.
    let shifted = clock.clone();
    tokio::spawn(async move {
        for thing in &slow {
            trouble.set_mode(thing, Mode::Slow { seconds: 4 }).await;
        }
        loop {
            tokio::time::sleep(Duration::from_secs(20)).await;
            for thing in &offline {
                trouble.set_mode(thing, Mode::Offline).await;
            }
            trouble.set_mode(&mute, Mode::Mute).await;
            tokio::time::sleep(Duration::from_secs(30)).await;
            shifted.advance(time::Duration::minutes(61));
            tokio::time::sleep(Duration::from_secs(30)).await;
            for thing in offline.iter().chain([&mute]) {
                trouble.set_mode(thing, Mode::Online).await;
            }
            tokio::time::sleep(TROUBLE_PERIOD - Duration::from_secs(80)).await;
        }
    });

    let started = Instant::now();
    let tasks: Vec<_> = invites
        .into_iter()
        .enumerate()
        .map(|(n, (intercom, gate_number, token, code, (entry_thing, exit_thing)))| {
            let gates = gates.clone();
            let guest = Guest {
                api: api.clone(),
                http: http.clone(),
                token,
                intercom,
                gate_number,
                code,
                entry_thing,
                exit_thing,
                gates,
            };
            tokio::spawn(async move {
                // A steady pace (moto is single-threaded: a few dozen guests at a
                // time keep it within its pace); a stay of a few seconds.
                tokio::time::sleep(ARRIVAL_GAP * n as u32).await;
                let deadline = Instant::now() + GIVE_UP;
                let mut outcome = Outcome::default();
                let typos = match n % 10 {
                    0..=2 => 1,
                    3 => 2,
                    _ => 0,
                };
                guest.visit(typos, deadline, &mut outcome).await;
                outcome
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.map_err(|e| e.to_string())?);
    }
    let took = started.elapsed();

    let mut openings: BTreeMap<String, usize> = BTreeMap::new();
    for thing in &things {
        for opening in gates.openings(thing) {
            *openings.entry(opening.passage).or_default() += 1;
        }
    }
    let through = outcomes.iter().filter(|o| o.inside && o.out).count();
    let locked_inside = outcomes.iter().filter(|o| o.inside && !o.out).count();
    let never_in = outcomes.iter().filter(|o| !o.inside).count();
    let retried = outcomes.iter().filter(|o| o.unopened_presses > 0).count();
    let most_openings = openings.values().copied().max().unwrap_or(0);
    let passages_opened = openings.len();
    // A passage the service confirmed ("used") that its gate never opened for.
    let confirmed: Vec<&String> = outcomes.iter().flat_map(|o| &o.confirmed).collect();
    let spent_without_opening = confirmed.iter().filter(|p| !openings.contains_key(p.as_str())).count();
    let confirmed = confirmed.len();
    println!(
        "fleet: {} guests at {INTERCOMS} intercoms in {:.0} s, each moving only as the page's status says (reloads, returns, presses again); fault mix: {:.0} % of guest answers lost, a guest arriving every {:.1} s, 2 of {} gates offline and 1 mute from 20 s to 80 s of every {} s (the clock jumping 61 minutes in each spell: gates back after an hour, versions reset to 0), 2 slow (4 s) throughout, typos on 40 % of guests (1-2 at each passage)",
        outcomes.len(),
        took.as_secs_f64(),
        LOST_ANSWERS * 100.0,
        ARRIVAL_GAP.as_secs_f64(),
        things.len(),
        TROUBLE_PERIOD.as_secs()
    );
    println!(
        "  in and out with nobody's help: {through} ({:.1} %); locked inside: {locked_inside}; never got in: {never_in}; guests who pressed again after a gate did not open: {retried}",
        100.0 * through as f64 / outcomes.len().max(1) as f64
    );
    println!(
        "  openings per entry/exit: at most {most_openings}; passages opened: {passages_opened}; confirmed to guests: {confirmed}; spent with no opening: {spent_without_opening}"
    );
    let mut stopped: BTreeMap<&str, usize> = BTreeMap::new();
    for why in outcomes.iter().filter_map(|o| o.stopped_by.as_deref()) {
        *stopped.entry(why).or_default() += 1;
    }
    let gave_up = outcomes.iter().filter(|o| o.stopped_by.is_none() && !(o.inside && o.out)).count();
    println!("  stopped by a refusal: {stopped:?}; gave up after {} s: {gave_up}", GIVE_UP.as_secs());
    for outcome in outcomes.iter().filter(|o| !(o.inside && o.out)).take(5) {
        let status = &outcome.last_status;
        println!(
            "  needed help: inside {}, out {}, last press {}; the page last said next {} also {} refusal {} entry {} exit {} gates {}",
            outcome.inside, outcome.out, outcome.last_press, status["next"], status["also"], status["refusal"]["code"], status["entry"], status["exit"], status["gates"]
        );
    }
    drop(moto);
    if locked_inside > 0 || most_openings > 1 || spent_without_opening > 0 {
        return Err("an invariant failed".into());
    }
    Ok(())
}
