//! `local-stack`: moto, the table, the demo intercom and the local API, until Ctrl-C.

use local_stack::clock::ShiftedClock;
use local_stack::gates::GateSimulator;
use local_stack::page::GuestPage;
use local_stack::{aws, front, jwt, moto::Moto, repo_root, seed::Site, table};
use ota::config::Config;
use std::sync::Arc;

#[tokio::main]
async fn main() {
    if let Err(message) = run().await {
        eprintln!("local-stack: {message}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), String> {
    // Quiet by default, so the banner stays on screen: the functions' JSON lines at
    // `warn`; `OTA_LOG_LEVEL=info make run` shows every request as CloudWatch would.
    let level = std::env::var("OTA_LOG_LEVEL").unwrap_or_else(|_| "warn".into());
    ota::telemetry::init_with(std::io::stdout, Some(&level));
    let root = repo_root();
    let port: u16 = std::env::var("OTA_PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(3000);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1:{port} ({e}); set OTA_PORT to a free port"))?;

    let base = format!("http://127.0.0.1:{port}");
    let page = GuestPage::load(&root.join("infra/guest-page"))?;
    let moto = Moto::start(&root)?;
    let sdk = aws::sdk_config(&moto.endpoint).await;
    let local_seal_key = format!("local:{:032x}{:032x}", rand::random::<u128>(), rand::random::<u128>());
    let local_gate_number_key = format!("local:{:032x}{:032x}", rand::random::<u128>(), rand::random::<u128>());
    let local_link_key = format!("local:{:032x}{:032x}", rand::random::<u128>(), rand::random::<u128>());
    let local_cursor_key = format!("local:{:032x}{:032x}", rand::random::<u128>(), rand::random::<u128>());
    let local_guest_key = format!("local:{:032x}{:032x}", rand::random::<u128>(), rand::random::<u128>());
    let config = Config::from_lookup(|name| match name {
        "OTA_TABLE_NAME" => Some(std::env::var(name).unwrap_or_else(|_| "ota-local".into())),
        // The SMS links and the intercom QR lead to the page this stack serves.
        "OTA_LINK_BASE_URL" => Some(std::env::var(name).unwrap_or_else(|_| base.clone())),
        // A fresh secret per run: replays across restarts of the local stack need not work.
        "OTA_SEAL_KEYS" => Some(std::env::var(name).unwrap_or_else(|_| local_seal_key.clone())),
        "OTA_CURSOR_KEYS" => Some(std::env::var(name).unwrap_or_else(|_| local_cursor_key.clone())),
        "OTA_GUEST_KEYS" => Some(std::env::var(name).unwrap_or_else(|_| local_guest_key.clone())),
        "OTA_LINK_KEYS" => Some(std::env::var(name).unwrap_or_else(|_| local_link_key.clone())),
        "OTA_GATE_NUMBER_KEYS" => Some(std::env::var(name).unwrap_or_else(|_| local_gate_number_key.clone())),
        // One SMS sender here (the queue's mapping runs up to two in AWS): it takes the
        // account's whole rate.
        "OTA_SMS_SENDERS" => Some(std::env::var(name).unwrap_or_else(|_| "1".into())),
        other => std::env::var(other).ok(),
    })
    .map_err(|e| e.to_string())?;
    let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
    table::create_from_template(&dynamo, &root.join("template.yaml"), &config.table_name).await?;
    let clock = Arc::new(ShiftedClock::default());
    local_stack::outbox::create_bus(&sdk, ota::deps::LOCAL_EVENT_BUS).await?;
    let events = local_stack::outbox::EventTap::default();
    let (deps, gates) = GateSimulator::with_functions(config, dynamo, &sdk, clock.clone(), events.clone())?;
    let outbox = local_stack::outbox::LocalOutbox::new(deps.clone(), &moto.endpoint, events);
    local_stack::outbox::spawn_poller(outbox.clone());
    gates.follow_provisioning(outbox.clone(), moto.endpoint.clone());
    let site = Site::demo();
    let north = Site::demo_north();
    let keys = deps.config.gate_number_keys.as_ref().ok_or("OTA_GATE_NUMBER_KEYS is not configured")?;
    for site in [&site, &north] {
        site.provision(&deps.store, keys, &moto.endpoint).await?;
        for gate in site.gates.values() {
            gates.add(gate.thing.as_str()).await;
        }
    }

    let front = Arc::new(front::Front {
        deps,
        authorizer: jwt::Authorizer::new_random(),
        emulator: moto.endpoint.clone(),
        iot: aws_sdk_iotdataplane::Client::new(&sdk),
        openapi: std::fs::read_to_string(root.join("infra/openapi.yaml"))
            .map_err(|e| format!("infra/openapi.yaml: {e}"))?,
        page: Some(page),
        clock: Some(clock),
        gates,
        gate_numbers: Default::default(),
        outbox,
    });
    for site in [&site, &north] {
        front.remember_gate_number(&site.intercom, &site.gate_number);
    }
    let server = tokio::spawn(front::serve(listener, front.clone()));
    let guest_link =
        demo_guest_link(&base, &front.authorizer.mint(site.owner.as_str(), time::Duration::minutes(5))).await?;
    print_banner(port, &site, &front, &moto.endpoint, &guest_link);
    tokio::select! {
        _ = server => {}
        _ = tokio::signal::ctrl_c() => println!("\nstopping (moto exits with this process)"),
    }
    drop(moto);
    Ok(())
}

/// Saves the demo intercom's settings and creates one code for a demo guest,
/// through the API like the app would, so there is a link to open at once.
async fn demo_guest_link(base: &str, owner_jwt: &str) -> Result<String, String> {
    let http = reqwest::Client::new();
    let call = |request: reqwest::RequestBuilder, body: serde_json::Value| async move {
        let response = request.bearer_auth(owner_jwt).json(&body).send().await.map_err(|e| e.to_string())?;
        let status = response.status();
        let body: serde_json::Value = response.json().await.map_err(|e| e.to_string())?;
        if status.is_success() {
            Ok(body)
        } else {
            Err(format!("demo set-up failed: HTTP {status} {body}"))
        }
    };
    call(
        http.put(format!("{base}/intercoms/ic-demo/settings")),
        serde_json::json!({ "entry_gate": "gate-main", "exit_gate": "gate-exit", "max_users": 10, "invite_duration_minutes": 720 }),
    )
    .await?;
    let invite = call(
        http.post(format!("{base}/intercoms/ic-demo/codes")),
        serde_json::json!({ "name": "Demo Guest", "mobile": "082 555 0100" }),
    )
    .await?;
    Ok(format!(
        "{}   (code {})",
        invite["link"].as_str().unwrap_or_default(),
        invite["code"].as_str().unwrap_or_default()
    ))
}

fn print_banner(port: u16, site: &Site, front: &front::Front, emulator: &str, guest_link: &str) {
    let base = format!("http://127.0.0.1:{port}");
    let token = |user: &ota::domain::ids::UserId| front.authorizer.mint(user.as_str(), time::Duration::hours(12));
    println!(
        r#"
Fluss+ One-Time Access — local stack is up.

  Guest page    {guest_link}
                (a demo guest's SMS link: open it in a browser; the intercom's QR
                is at {base}/_local/qr/{intercom}, the gate number under it {number})
  API           {base}            (routes as in template.yaml; OpenAPI at {base}/openapi.yaml)
  AWS emulator  {emulator}   (moto, single-threaded: DynamoDB, SNS, IoT data plane)
  Demo intercom {intercom}  gates: gate-main (thing {main}), gate-exit (thing {exit})
  Second estate ic-demo-north (North Estate, the same owner; QR at {base}/_local/qr/ic-demo-north)

Demo users (JWT bearer tokens, valid 12 h; more from {base}/_local/token/<sub>):
  owner     {owner}
            {owner_token}
  shared    {shared}
            {shared_token}
  stranger  {stranger}
            {stranger_token}

Look around:
  curl -s {base}/_local/sms                          # SMS "sent" through SNS
  curl -s {base}/_local/events                       # what the event bus received (the outbox)
  curl -s -X POST '{base}/_local/sms-receipts/+27825550100?mode=failed'   # that number's SMS
                                                     # reports fail (or delivered, silent)
  curl -s {base}/_local/shadows/{main}        # the entry gate's `ota` shadow

The gates are simulated (the firmware contract against moto's shadows); all start online:
  curl -s {base}/_local/gates                        # each gate's mode and openings
  curl -s -X POST '{base}/_local/gates/{main}?mode=offline'   # or online, mute,
  curl -s -X POST '{base}/_local/gates/{main}?mode=slow&seconds=8'   # slow or skewed (+ seconds)
  curl -s -X POST {base}/_local/sweep                # run the expiry sweep now
  curl -s -X POST '{base}/_local/clock?advance_minutes=720'   # move this stack's clock on 12 h

The README's walk-through starts with:
  export API={base}
  export OWNER=$(curl -s $API/_local/token/{owner})
and the owner's activity log (who made which code, SMS sent and delivered, entries, exits):
  curl -s -H "Authorization: Bearer $OWNER" $API/intercoms/{intercom}/activity

Logs: warnings and errors only (OTA_LOG_LEVEL=info make run for every request).
Ctrl-C stops everything this started.
"#,
        intercom = site.intercom,
        number = site.gate_number.printed(),
        main = site.thing("gate-main").as_str(),
        exit = site.thing("gate-exit").as_str(),
        owner = site.owner,
        owner_token = token(&site.owner),
        shared = site.shared_user,
        shared_token = token(&site.shared_user),
        stranger = site.stranger,
        stranger_token = token(&site.stranger),
    );
}
