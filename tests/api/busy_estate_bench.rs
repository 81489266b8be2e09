//! A benchmark, not a test (ignored; it asserts nothing about time): how many codes a
//! second one intercom takes from 1, 5 and 20 people creating at once with hundreds
//! of codes already out, the share answered `503 busy`, and what each create costs.
//!
//! ```text
//! OTA_BENCH_OPEN_CODES=940 OTA_BENCH_PER_ROUND=20 \
//!   cargo test -p ota-tests --test api busy_estate_bench -- --ignored --nocapture
//! ```
//! (Versions before places allowed at most 100 codes: `OTA_BENCH_OPEN_CODES=40
//! OTA_BENCH_PER_ROUND=20` runs on them too, with this file copied in.)
//! Against moto, one thread: the absolute rate is the emulator's, not DynamoDB's
//! (compare rows, and revisions, run on one machine). Results: `infra/bench/RESULTS.md`.

use crate::helpers::{spawn_app_with, Options, TestApp};
use ota::domain::access::Role;
use ota::domain::ids::UserId;
use serde_json::json;
use std::sync::Arc;

async fn create(app: &TestApp, bearer: &str, name: &str) -> u16 {
    let path = format!("/intercoms/{}/codes", app.intercom());
    app.call(reqwest::Method::POST, &path, Some(bearer), Some(json!({ "name": name, "mobile": app.mobile }))).await.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "a benchmark: run it with --ignored --nocapture"]
async fn busy_estate_bench() {
    let open: usize = std::env::var("OTA_BENCH_OPEN_CODES").ok().and_then(|n| n.parse().ok()).unwrap_or(940);
    // Each round's creates (a multiple of 20); Max Users leaves room for all of them.
    let per_round: usize = std::env::var("OTA_BENCH_PER_ROUND").ok().and_then(|n| n.parse().ok()).unwrap_or(20);
    let app = Arc::new(spawn_app_with(Options { sms_limits: Some((5_000, 5_000)), ..Options::default() }).await);
    app.configure((open + 3 * per_round) as u32).await;
    let mut bearers = Vec::new();
    for i in 0..20 {
        let user = UserId::parse(&format!("resident-{i}")).unwrap();
        app.front.deps.store.grant(&app.site.intercom, &user, Role::IntercomUser).await.unwrap();
        bearers.push(app.front.authorizer.mint(user.as_str(), time::Duration::hours(1)));
    }
    let seeders: Vec<_> = (0..4)
        .map(|seeder| {
            let app = app.clone();
            let count = (open + 3 - seeder) / 4;
            tokio::spawn(async move {
                for _ in 0..count {
                    // Not measured: a version before places answers some of these 503.
                    while create(&app, &app.owner, "Earlier Guest").await != 201 {}
                }
            })
        })
        .collect();
    for seeder in seeders {
        seeder.await.unwrap();
    }

    println!("| people creating at once | codes out before | creates | seconds | creates a second | answered 503 | read units per create | write units per create |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut out = open;
    for people in [1, 5, 20] {
        app.capacity.start();
        let started = std::time::Instant::now();
        // `people` at once, each making their share one after another.
        let tasks: Vec<_> = bearers[..people]
            .iter()
            .map(|bearer| {
                let (app, bearer) = (app.clone(), bearer.clone());
                tokio::spawn(async move {
                    let mut statuses = Vec::new();
                    for _ in 0..per_round / people {
                        statuses.push(create(&app, &bearer, "Resident Guest").await);
                    }
                    statuses
                })
            })
            .collect();
        let mut statuses = Vec::new();
        for task in tasks {
            statuses.extend(task.await.unwrap());
        }
        let seconds = started.elapsed().as_secs_f64();
        let usage = local_stack::capacity::Usage::of(&app.capacity.stop());
        let created = statuses.iter().filter(|s| **s == 201).count();
        let busy = statuses.iter().filter(|s| **s == 503).count();
        let reads: f64 = usage.keys.values().map(|load| load.reads).sum();
        let writes: f64 = usage.keys.values().map(|load| load.writes).sum();
        println!(
            "| {people} | {out} | {created} | {seconds:.2} | {:.1} | {:.0} % | {:.1} | {:.1} |",
            created as f64 / seconds,
            100.0 * busy as f64 / statuses.len() as f64,
            reads / statuses.len() as f64,
            writes / statuses.len() as f64,
        );
        out += created;
    }
}
