//! `local-stack`: moto, the table, the demo intercom and the local API, until Ctrl-C.

use local_stack::{aws, front, jwt, moto::Moto, repo_root, seed::Site, table};
use ota::clock::SystemClock;
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
    ota::telemetry::init();
    let root = repo_root();
    let port: u16 = std::env::var("OTA_PORT").ok().and_then(|p| p.parse().ok()).unwrap_or(3000);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1:{port} ({e}); set OTA_PORT to a free port"))?;

    let moto = Moto::start(&root)?;
    let sdk = aws::sdk_config(&moto.endpoint).await;
    let config = Config::from_lookup(|name| match name {
        "OTA_TABLE_NAME" => Some(std::env::var(name).unwrap_or_else(|_| "ota-local".into())),
        other => std::env::var(other).ok(),
    })
    .map_err(|e| e.to_string())?;
    let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
    table::create_from_template(&dynamo, &root.join("template.yaml"), &config.table_name).await?;
    let deps = ota::Deps::from_sdk_config(config, &sdk, Arc::new(SystemClock));
    let site = Site::demo();
    site.provision(&deps.store, &moto.endpoint).await?;

    let front = Arc::new(front::Front {
        deps,
        authorizer: jwt::Authorizer::new_random(),
        emulator: moto.endpoint.clone(),
        iot: aws_sdk_iotdataplane::Client::new(&sdk),
        openapi: std::fs::read_to_string(root.join("infra/openapi.yaml"))
            .map_err(|e| format!("infra/openapi.yaml: {e}"))?,
    });
    print_banner(port, &site, &front, &moto.endpoint);
    tokio::select! {
        _ = front::serve(listener, front.clone()) => {}
        _ = tokio::signal::ctrl_c() => println!("\nstopping (moto exits with this process)"),
    }
    drop(moto);
    Ok(())
}

fn print_banner(port: u16, site: &Site, front: &front::Front, emulator: &str) {
    let base = format!("http://127.0.0.1:{port}");
    let token = |user: &ota::domain::ids::UserId| front.authorizer.mint(user.as_str(), time::Duration::hours(12));
    println!(
        r#"
Fluss+ One-Time Access — local stack is up.

  API           {base}            (routes as in template.yaml; OpenAPI at {base}/openapi.yaml)
  AWS emulator  {emulator}   (moto, single-threaded: DynamoDB, SNS, IoT data plane)
  Demo intercom {intercom}  gates: gate-main (thing {main}), gate-exit (thing {exit})

Demo users (JWT bearer tokens, valid 12 h; more from {base}/_local/token/<sub>):
  owner     {owner}
            {owner_token}
  shared    {shared}
            {shared_token}
  stranger  {stranger}
            {stranger_token}

Look around:
  curl -s {base}/_local/sms                          # SMS "sent" through SNS
  curl -s {base}/_local/shadows/{main}        # the entry gate's shadow
  curl -s -X POST {base}/_local/sweep                # run the expiry sweep now

The README's walk-through starts with:
  export API={base}
  export OWNER=$(curl -s $API/_local/token/{owner})

Ctrl-C stops everything this started.
"#,
        intercom = site.intercom,
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
