//! The capacity model, run: a fleet of intercoms goes through its day on the local
//! stack (codes made, texted, opened by their guests in and out, the gates
//! reporting, the unused ones swept), every DynamoDB request of every function is
//! recorded at the SDK, and the units each partition key took are scaled to ten
//! million intercoms at their diurnal peak (`local_stack::capacity`). No key may
//! take more than a tenth of a partition's limits, no item may come near 400 KB.
//!
//! `OTA_CAPACITY_INTERCOMS` (default 300, which keeps the test command near its 20
//! minutes; the table in RESULTS.md is of 1,000) intercoms, one code each, one in
//! five never used. The table is written to `target/capacity-model.md` and kept in
//! `infra/bench/RESULTS.md`.

use crate::helpers::{spawn_app_with, Options, TestApp};
use local_stack::capacity::{Fleet, Model, Usage};
use local_stack::repo_root;
use local_stack::seed::Site;
use serde_json::json;

fn intercoms() -> usize {
    std::env::var("OTA_CAPACITY_INTERCOMS").ok().and_then(|n| n.parse().ok()).unwrap_or(300)
}

/// A guest's visit to one intercom: the code made, the page read three times, in
/// and out (every fifth code never used).
async fn visit(app: &TestApp, site: &Site, owner: &str, used: bool, guest: usize) -> Vec<String> {
    let path = format!("/intercoms/{}/codes", site.intercom);
    let body = json!({ "name": "Fleet Guest", "mobile": format!("+2783{guest:07}") });
    let (status, created) = app.call(reqwest::Method::POST, &path, Some(owner), Some(body)).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    if !used {
        return vec![id];
    }
    let token = created["link"].as_str().unwrap().rsplit('#').next().unwrap().to_owned();
    let code = created["code"].as_str().unwrap();
    let guest = |path: &'static str| {
        let body = json!({ "token": token, "intercom_id": site.intercom.as_str(), "gate_number": site.gate_number.as_digits(), "code": code });
        app.call(reqwest::Method::POST, path, None, Some(body))
    };
    for _ in 0..3 {
        assert_eq!(
            app.call(reqwest::Method::POST, "/guest/status", None, Some(json!({ "token": token }))).await.0,
            200
        );
    }
    assert_eq!(guest("/guest/entry").await.0, 202);
    app.front.gates.settle_pushed().await;
    assert_eq!(guest("/guest/exit").await.0, 202);
    app.front.gates.settle_pushed().await;
    vec![id]
}

/// An intercom of the fleet, registered and set up by its owner; its owner's JWT.
async fn provision(app: &TestApp, i: usize) -> (Site, String) {
    let site = Site::unique(&format!("{}-c{i:05}", app.site.intercom.as_str().trim_start_matches("ic-")));
    let keys = app.front.deps.config.gate_number_keys.as_ref().unwrap();
    site.provision(&app.front.deps.store, keys, app.emulator).await.unwrap();
    for gate in site.gates.values() {
        app.front.gates.add(gate.thing.as_str()).await;
    }
    app.front.remember_gate_number(&site.intercom, &site.gate_number);
    let owner = app.front.authorizer.mint(site.owner.as_str(), time::Duration::hours(48));
    let settings = json!({ "entry_gate": "gate-main", "exit_gate": "gate-exit", "max_users": 10 });
    let path = format!("/intercoms/{}/settings", site.intercom);
    assert_eq!(app.call(reqwest::Method::PUT, &path, Some(&owner), Some(settings)).await.0, 200);
    (site, owner)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleets_day_at_ten_million_intercoms_keeps_every_partition_key_under_a_tenth_of_its_limit() {
    let app =
        spawn_app_with(Options { sms_limits: Some((100_000, 100_000)), own_emulator: true, ..Options::default() })
            .await;
    let n = intercoms();
    // Provisioning (device management's job) and the owners' settings, eight at a time.
    let mut sites = Vec::with_capacity(n);
    for group in (0..n).collect::<Vec<_>>().chunks(8) {
        let provisioned = group.iter().map(|i| provision(&app, *i));
        sites.extend(futures_util::future::join_all(provisioned).await);
    }
    app.settle().await;

    app.capacity.start();
    let mut entities: Vec<String> = Vec::new();
    // Four guests at a time, as a fleet's are; the stream is read every 48 visits.
    for (chunk, group) in sites.chunks(4).enumerate() {
        let visits = group
            .iter()
            .enumerate()
            .map(|(j, (site, owner))| visit(&app, site, owner, (chunk * 4 + j) % 5 != 0, chunk * 4 + j));
        for ids in futures_util::future::join_all(visits).await {
            entities.extend(ids);
        }
        for (site, _) in group {
            entities.extend([site.intercom.to_string(), site.owner.to_string(), site.shared_user.to_string()]);
            entities.extend(site.gates.values().map(|g| g.thing.as_str().to_owned()));
        }
        if chunk % 12 == 11 {
            app.settle().await;
        }
    }
    app.settle().await;
    app.advance(time::Duration::hours(13));
    let report = app.sweep().await;
    assert_eq!(report.expired, n.div_ceil(5), "the unused codes expired: {report:?}");
    app.settle().await;
    let exchanges = app.capacity.stop();
    // An SNS message's lookup item is that message's own, and a guest number's index
    // partition that guest's (each visit here is a guest of their own).
    entities.push("SMS#MESSAGE#".to_owned());
    entities.push("GUEST#".to_owned());

    let usage = Usage::of(&exchanges);
    let fleet = Fleet::ten_million(n, 1);
    let model = Model::new(&usage, fleet, &entities);
    let peak = fleet.peak_codes_per_second();
    // Beyond DynamoDB, from the same day's counts (README, "Capacity", says how):
    // each code is one SMS; the app calls ~3 times a code (create, lists); the
    // functions run ~12 times a code at ~30 ms each (an assumption to check against
    // CloudWatch's Duration after a deploy).
    let others = vec![
        (format!("SNS SMS a second (AWS's default rate 20: raise it to {:.0}, 10 % headroom)", peak * 1.1), peak, 20.0),
        ("app API requests a second (API Gateway's 10,000 a region)".to_owned(), peak * 3.0, 10_000.0),
        ("Lambda executions at once (the default 1,000 a region)".to_owned(), peak * 12.0 * 0.030, 1_000.0),
    ];
    let table = model.table(&others);
    let written = repo_root().join("target/capacity-model.md");
    std::fs::write(&written, &table).unwrap();
    println!("{table}");
    let hot: Vec<String> = model
        .hot_keys()
        .iter()
        .map(|k| format!("{} {:.0} WCU/s {:.0} RCU/s", k.key, k.writes_per_second, k.reads_per_second))
        .collect();
    assert!(hot.is_empty(), "partition keys over a tenth of their limits at 10 million intercoms: {hot:?}\n{table}");
    assert!(model.largest_item < 40 * 1024, "an item of {} bytes", model.largest_item);
}
