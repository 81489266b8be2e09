//! What the sweep reads when an intercom-sized table holds 10,000 live invites
//! and 100 that expired: real DynamoDB semantics (moto), the real sweep.

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use local_stack::{aws, moto::Moto, table};
use ota::clock::ManualClock;
use std::path::Path;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

const LIVE: usize = 10_000;
const EXPIRED: usize = 100;

/// Due invites the drain measurement sweeps, over this many intercoms.
const DRAIN: usize = 5_000;
const DRAIN_INTERCOMS: usize = 1_000;

pub async fn print(root: &Path) -> Result<(), String> {
    let moto = Moto::start(root)?;
    let sdk = aws::sdk_config(&moto.endpoint).await;
    let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
    table::create_from_template(&dynamo, &root.join("template.yaml"), "ota-bench-sweep").await?;
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).map_err(|e| e.to_string())?;
    seed(&dynamo, "ota-bench-sweep", now, LIVE, EXPIRED, 50).await?;
    reads(&sdk, "ota-bench-sweep", now).await?;
    table::create_from_template(&dynamo, &root.join("template.yaml"), "ota-bench-drain").await?;
    seed(&dynamo, "ota-bench-drain", now, 0, DRAIN, DRAIN_INTERCOMS).await?;
    drain(&sdk, "ota-bench-drain", now).await
}

/// How fast the sweep empties its index of `DRAIN` due invites of many intercoms
/// (spread over the shards as a fleet's are), run after run as the schedule would.
async fn drain(sdk: &aws_config::SdkConfig, table: &str, now: OffsetDateTime) -> Result<(), String> {
    let deps = deps_for(sdk, table, now, aws_sdk_dynamodb::Client::new(sdk))?;
    let started = std::time::Instant::now();
    let (mut runs, mut expired) = (0, 0);
    while expired < DRAIN && runs < 20 {
        let report = ota::handlers::sweep::run(&deps).await.map_err(|e| e.to_string())?;
        expired += report.expired;
        runs += 1;
    }
    let seconds = started.elapsed().as_secs_f64();
    println!("### The sweep draining {DRAIN} due invites of {DRAIN_INTERCOMS} intercoms (moto)\n");
    println!("| expired | runs | seconds | expiries a second |");
    println!("|---:|---:|---:|---:|");
    println!("| {expired} | {runs} | {seconds:.1} | {:.0} |\n", expired as f64 / seconds);
    Ok(())
}

fn deps_for(
    sdk: &aws_config::SdkConfig,
    table: &str,
    now: OffsetDateTime,
    dynamo: aws_sdk_dynamodb::Client,
) -> Result<ota::Deps, String> {
    let config = ota::config::Config::from_lookup(|name| match name {
        "OTA_TABLE_NAME" => Some(table.into()),
        // Every set of clients carries the seal keys (create-invite's); the sweep uses none.
        "OTA_SEAL_KEYS" => Some(crate::SEAL_KEYS.into()),
        "OTA_LINK_KEYS" => Some(crate::LINK_KEYS.into()),
        "OTA_GATE_NUMBER_KEYS" => Some(crate::GATE_NUMBER_KEYS.into()),
        _ => None,
    })
    .map_err(|e| e.to_string())?;
    ota::Deps::from_clients(
        config,
        dynamo,
        aws_sdk_sns::Client::new(sdk),
        aws_sdk_iotdataplane::Client::new(sdk),
        aws_sdk_eventbridge::Client::new(sdk),
        Arc::new(ManualClock::starting_at(now)),
    )
    .map_err(|e| e.to_string())
}

async fn seed(
    dynamo: &aws_sdk_dynamodb::Client,
    table: &str,
    now: OffsetDateTime,
    live: usize,
    expired: usize,
    intercoms: usize,
) -> Result<(), String> {
    let mut writes = Vec::with_capacity(live + expired);
    for i in 0..live + expired {
        let expires = if i < expired { now - Duration::minutes(5) } else { now + Duration::hours(6) };
        let intercom = ota::domain::ids::IntercomId::parse(&format!("ic-{}", i % intercoms)).ok_or("intercom id")?;
        let id = ota::domain::ids::InviteId::generate(expires + Duration::hours(1));
        let item = [
            ("PK", ota::keys::intercom_pk(&intercom)),
            ("SK", ota::keys::invite_sk(&id)),
            ("GSI1PK", ota::keys::slot_partition(&intercom)),
            ("GSI1SK", ota::keys::slot_index_sk(expires, &intercom, &id)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), AttributeValue::S(v)))
        .chain([
            ("expires_at".to_owned(), AttributeValue::N(expires.unix_timestamp().to_string())),
            ("history".to_owned(), AttributeValue::L(Vec::new())),
        ])
        .collect();
        let put = PutRequest::builder().set_item(Some(item)).build().map_err(|e| e.to_string())?;
        writes.push(WriteRequest::builder().put_request(put).build());
    }
    for chunk in writes.chunks(25) {
        dynamo
            .batch_write_item()
            .request_items(table, chunk.to_vec())
            .send()
            .await
            .map_err(|e| format!("seeding: {e}"))?;
    }
    Ok(())
}

async fn reads(sdk: &aws_config::SdkConfig, table: &str, now: OffsetDateTime) -> Result<(), String> {
    let counter = Counter::default();
    let counted = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(sdk).interceptor(counter.clone()).build(),
    );
    let deps = deps_for(sdk, table, now, counted)?;
    let report = ota::handlers::sweep::run(&deps).await.map_err(|e| e.to_string())?;
    let requests = counter.0.lock().map(|r| r.clone()).unwrap_or_default();
    let queries = requests.iter().filter(|r| *r == "Query").count();
    let updates = requests.iter().filter(|r| *r == "UpdateItem").count();
    println!("### The sweep with {LIVE} live and {EXPIRED} expired invites (moto)\n");
    println!("| due found | expired recorded | Query requests | UpdateItem requests | Scan |");
    println!("|---:|---:|---:|---:|---:|");
    println!(
        "| {} | {} | {queries} | {updates} | {} |\n",
        report.due,
        report.expired,
        requests.iter().filter(|r| *r == "Scan").count()
    );
    Ok(())
}

#[derive(Debug, Clone, Default)]
struct Counter(Arc<std::sync::Mutex<Vec<String>>>);

impl aws_smithy_runtime_api::client::interceptors::Intercept for Counter {
    fn name(&self) -> &'static str {
        "BenchCounter"
    }

    fn read_before_transmit(
        &self,
        _context: &aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef<'_>,
        _components: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        cfg: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        let operation = cfg
            .load::<aws_smithy_runtime_api::client::orchestrator::Metadata>()
            .map(|m| m.name().to_owned())
            .unwrap_or_default();
        if let Ok(mut requests) = self.0.lock() {
            requests.push(operation);
        }
        Ok(())
    }
}
