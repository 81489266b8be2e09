//! An estate's main gate: hundreds of residents making codes on one intercom.
//! A create reads no other code and races only for the place and the code it takes
//! (`store::places`), so its cost does not grow with the open codes and parallel
//! creates by different people stay exact under Max Users with few `503`s.

use crate::helpers::{spawn_app_with, Options, TestApp};
use local_stack::capacity::{Exchange, Usage};
use ota::domain::access::Role;
use ota::domain::ids::UserId;
use serde_json::{json, Value};
use std::collections::HashSet;
use std::sync::Arc;

/// A create as the app sends it, without the helpers' wait for the SMS: many
/// codes in a test, and their SMS are not what it is about.
async fn create_quietly(app: &TestApp, bearer: &str, name: &str) -> (u16, Value) {
    let path = format!("/intercoms/{}/codes", app.intercom());
    app.call(reqwest::Method::POST, &path, Some(bearer), Some(json!({ "name": name, "mobile": app.mobile }))).await
}

/// A member of the intercom who may make codes, and their bearer token.
async fn resident(app: &TestApp, name: &str) -> String {
    let user = UserId::parse(name).unwrap();
    app.front.deps.store.grant(&app.site.intercom, &user, Role::IntercomUser).await.unwrap();
    app.front.authorizer.mint(user.as_str(), time::Duration::hours(1))
}

fn busy_estate() -> Options {
    // Enough SMS allowance that only places and codes limit the creates.
    Options { sms_limits: Some((5_000, 5_000)), ..Options::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_residents_creating_at_once_near_max_users_never_pass_it_and_rarely_wait() {
    let app = Arc::new(spawn_app_with(busy_estate()).await);
    app.configure(40).await;
    for i in 0..30 {
        assert_eq!(create_quietly(&app, &app.owner, &format!("Earlier {i}")).await.0, 201);
    }
    let mut residents = Vec::new();
    for i in 0..10 {
        residents.push(resident(&app, &format!("resident-{i}")).await);
    }
    // Ten people, two codes each, all at once, for the last ten places.
    let tasks: Vec<_> = residents
        .into_iter()
        .enumerate()
        .flat_map(|(i, bearer)| (0..2).map(move |n| (format!("Guest {i}-{n}"), bearer.clone())))
        .map(|(name, bearer)| {
            let app = app.clone();
            tokio::spawn(async move { create_quietly(&app, &bearer, &name).await })
        })
        .collect();
    let (mut created, mut full, mut busy) = (0, 0, 0);
    for task in tasks {
        let (status, body) = task.await.unwrap();
        match (status, body["error"]["code"].as_str()) {
            (201, _) => created += 1,
            (409, Some("limit_reached")) => full += 1,
            (503, Some("busy")) => busy += 1,
            other => panic!("unexpected {other:?}: {body}"),
        }
    }
    assert_eq!(created, 10, "exactly the places left: {created} created, {full} full, {busy} busy");
    assert!(busy <= 1, "parallel creates rarely collide: {busy} of 20 answered 503");
    let listed = app.listed_codes().await;
    assert_eq!(listed.len(), 40, "never more than Max Users");
    let codes: HashSet<_> = listed.iter().map(|code| code["code"].as_str().unwrap().to_owned()).collect();
    assert_eq!(codes.len(), 40, "every live code different");
}

/// Read and write units of the last create (or list) recorded: its last round only,
/// should a lost code have made it draw again.
fn units_of_last_call(exchanges: &[Exchange]) -> (f64, f64) {
    let last_read = exchanges.iter().rposition(|e| e.operation == "BatchGetItem").expect("a read by key");
    let usage = Usage::of(&exchanges[last_read..]);
    let reads = usage.keys.values().map(|load| load.reads).sum();
    let writes = usage.keys.values().map(|load| load.writes).sum();
    (reads, writes)
}

/// What one create and one page of the list cost (units by DynamoDB's rules, from
/// what the SDK sent and got back) with `open` codes out on the intercom.
async fn costs_at(app: &Arc<TestApp>, open: usize, made: &mut usize) -> ((f64, f64), (f64, f64)) {
    // Four at a time: the emulator answers one request at a time, but the rest of
    // each create's path overlaps.
    let creators: Vec<_> = (0..4)
        .map(|creator| {
            let (app, count) = (app.clone(), (open - *made + 3 - creator) / 4);
            tokio::spawn(async move {
                for _ in 0..count {
                    let (status, body) = create_quietly(&app, &app.owner, "Resident Guest").await;
                    assert_eq!(status, 201, "{body}");
                }
            })
        })
        .collect();
    for creator in creators {
        creator.await.unwrap();
    }
    *made = open;
    app.capacity.start();
    let (status, body) = create_quietly(app, &app.owner, "Resident Guest").await;
    assert_eq!(status, 201, "{body}");
    let create = units_of_last_call(&app.capacity.stop());
    *made += 1;
    app.capacity.start();
    let (status, body) = app.list(&app.owner).await;
    assert_eq!(status, 200, "{body}");
    let list = units_of_last_call(&app.capacity.stop());
    (create, list)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_and_a_page_of_the_list_cost_the_same_with_1_100_or_1000_open_codes() {
    let app = Arc::new(spawn_app_with(busy_estate()).await);
    app.configure(1000).await;
    let mut made = 0;
    let (create_at_1, list_at_1) = costs_at(&app, 1, &mut made).await;
    let (create_at_100, list_at_100) = costs_at(&app, 100, &mut made).await;
    let (create_at_1000, list_at_1000) = costs_at(&app, 999, &mut made).await;
    println!("create (read, write units): {create_at_1:?} {create_at_100:?} {create_at_1000:?}");
    println!("list page: {list_at_1:?} {list_at_100:?} {list_at_1000:?}");
    assert_eq!(create_at_1, create_at_100, "a create with 100 open codes costs what it does with 1");
    assert_eq!(create_at_1, create_at_1000, "a create with 1,000 open codes costs what it does with 1");
    // A page holds at most 50 codes: past that, the open codes no longer change it.
    // (Within a unit: a Query's bytes are rounded up to 4 KB once, and a number
    // attribute's size varies with its digits, so a byte here and there can cross.)
    let close = |a: (f64, f64), b: (f64, f64)| (a.0 - b.0).abs() <= 1.0 && a.1 == b.1;
    assert!(close(list_at_100, list_at_1000), "a page of the list with 1,000 open codes costs what it does with 100");
    assert!(list_at_1.0 <= list_at_100.0 + 1.0, "and no more than with 1");
    assert_eq!(app.listed_ids().await.len(), 1000);
    let (status, body) = create_quietly(&app, &app.owner, "One too many").await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("limit_reached")), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_pages_through_every_code_once_and_refuses_a_cursor_it_did_not_hand_out() {
    let app = spawn_app_with(busy_estate()).await;
    app.configure(200).await;
    for i in 0..120 {
        assert_eq!(create_quietly(&app, &app.owner, &format!("Guest {i}")).await.0, 201);
    }
    let revoked = app.listed_ids().await[7].clone();
    assert_eq!(app.revoke(&app.owner, &revoked).await.0, 204);
    let path = |query: &str| format!("/intercoms/{}/codes{query}", app.intercom());
    let (mut seen, mut pages, mut query) = (Vec::new(), 0, String::new());
    loop {
        let (status, body) = app.call(reqwest::Method::GET, &path(&query), Some(&app.shared), None).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!((body["max_users"].as_u64(), body["active"].as_u64()), (Some(200), Some(119)), "on every page");
        let codes = body["codes"].as_array().unwrap();
        assert!(codes.len() <= 50, "a page holds at most the default 50");
        assert!(codes.iter().all(|code| code["sms"]["status"].is_string()), "each with where its SMS is");
        seen.extend(codes.iter().map(|code| code["id"].as_str().unwrap().to_owned()));
        pages += 1;
        match body["next_cursor"].as_str() {
            Some(cursor) => query = format!("?cursor={cursor}"),
            None => break,
        }
    }
    assert!(pages >= 3, "{pages} pages");
    assert_eq!(seen.len(), 119, "every live code");
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 119, "none twice");
    assert!(!seen.contains(&revoked));

    // `TUVUQQ`: the registry's sort key, `META`, as a cursor would carry it.
    for bad in ["?limit=0", "?limit=101", "?limit=x", "?cursor=not-ours", "?cursor=TUVUQQ"] {
        let (status, body) = app.call(reqwest::Method::GET, &path(bad), Some(&app.owner), None).await;
        assert_eq!((status, body["error"]["code"].as_str()), (400, Some("invalid_field")), "{bad}: {body}");
    }
}

/// Raising Max Users adds places at once; lowering it leaves the codes out working
/// and makes new ones wait until the intercom is under the new Max Users, whichever
/// of the codes out end first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_users_raised_and_lowered_takes_effect_for_the_next_create() {
    let app = spawn_app_with(busy_estate()).await;
    app.configure(5).await;
    let mut out = Vec::new();
    for i in 0..5 {
        out.push(app.invite(&format!("Guest {i}")).await);
    }
    assert_eq!(create_quietly(&app, &app.owner, "Sixth").await.0, 409);
    app.configure(7).await;
    out.push(app.invite("Sixth").await);
    out.push(app.invite("Seventh").await);
    assert_eq!(create_quietly(&app, &app.owner, "Eighth").await.0, 409);

    app.configure(4).await;
    assert_eq!(create_quietly(&app, &app.owner, "Over").await.0, 409, "7 out, 4 allowed");
    let (_, list) = app.list(&app.owner).await;
    assert_eq!((list["max_users"].as_u64(), list["active"].as_u64()), (Some(4), Some(7)), "{list}");
    assert_eq!(app.enter(&out[0]).await.0, 202, "the codes out keep working");
    // Whichever places the codes that end were on, no new code while 4 are out.
    for invite in &out[..3] {
        assert_eq!(app.revoke(&app.owner, &invite.id).await.0, 204);
    }
    let (status, body) = create_quietly(&app, &app.owner, "Still over").await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("limit_reached")), "4 out, 4 allowed: {body}");
    assert_eq!(app.revoke(&app.owner, &out[3].id).await.0, 204);
    assert_eq!(create_quietly(&app, &app.owner, "New 0").await.0, 201, "3 out, 4 allowed");
    for invite in &out[4..] {
        assert_eq!(app.revoke(&app.owner, &invite.id).await.0, 204);
    }
    for i in 1..4 {
        assert_eq!(create_quietly(&app, &app.owner, &format!("New {i}")).await.0, 201);
    }
    let (status, body) = create_quietly(&app, &app.owner, "Fifth new").await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("limit_reached")), "{body}");
}

/// A guest who went in before their code expired holds its place until they leave
/// or the exit window closes; a code nobody used frees its place the moment it
/// expires, with no sweep in between.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_place_frees_when_its_invite_stops_holding_it_and_not_before() {
    let app = spawn_app_with(busy_estate()).await;
    app.configure(2).await;
    let inside = app.invite("Inside").await;
    let unused = app.invite("Unused").await;
    assert_eq!(app.enter(&inside).await.0, 202);
    app.advance(time::Duration::hours(12) + time::Duration::minutes(1));
    // Both places' recorded ends have passed; only the unused code's is free.
    app.invite("Next").await;
    let (status, body) = create_quietly(&app, &app.owner, "One too many").await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("limit_reached")), "{body}");
    assert_eq!(app.exit(&inside).await.0, 202);
    assert_eq!(create_quietly(&app, &app.owner, "After the exit").await.0, 201);
    let listed = app.listed_ids().await;
    assert!(!listed.contains(&inside.id) && !listed.contains(&unused.id), "{listed:?}");
}

/// An intercom whose codes were made by the version before places: its open codes
/// get places (and their codes reservations) before the first new create.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codes_made_before_places_keep_their_places_after_the_upgrade() {
    let app = spawn_app_with(busy_estate()).await;
    app.configure(3).await;
    let earlier: Vec<_> = [app.invite("Ann").await, app.invite("Ben").await, app.invite("Cleo").await].into();
    forget_places(&app).await;

    let (status, body) = create_quietly(&app, &app.owner, "Dee").await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("limit_reached")), "{body}");
    assert_eq!(app.revoke(&app.owner, &earlier[0].id).await.0, 204);
    let (status, body) = create_quietly(&app, &app.owner, "Dee").await;
    assert_eq!(status, 201, "{body}");
    let codes: HashSet<_> = app.listed_codes().await.iter().map(|c| c["code"].as_str().unwrap().to_owned()).collect();
    assert_eq!(codes.len(), 3);
    assert_eq!(create_quietly(&app, &app.owner, "Eve").await.0, 409);
}

/// Provisioning raises one intercom's SMS allowance (an estate, an integration);
/// the owner cannot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provisioning_raises_an_intercoms_sms_allowance() {
    use ota::domain::settings::SmsAllowance;
    let app = spawn_app_with(Options { sms_limits: Some((2, 100)), ..Options::default() }).await;
    app.configure(10).await;
    for i in 0..2 {
        assert_eq!(create_quietly(&app, &app.owner, &format!("Guest {i}")).await.0, 201);
    }
    let (status, body) = create_quietly(&app, &app.owner, "Third").await;
    assert_eq!((status, body["error"]["scope"].as_str()), (429, Some("user")), "{body}");
    let raised = SmsAllowance { per_user_per_hour: Some(4), per_intercom_per_hour: None };
    assert!(app.front.deps.store.set_sms_allowance(&app.site.intercom, raised).await.unwrap());
    let (status, third) = create_quietly(&app, &app.owner, "Third").await;
    assert_eq!(status, 201);
    // A resend counts against the same raised allowance as a create.
    let resend = format!("/intercoms/{}/codes/{}/sms", app.intercom(), third["id"].as_str().unwrap());
    let (status, body) = app.call(reqwest::Method::POST, &resend, Some(&app.owner), None).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(create_quietly(&app, &app.owner, "Fifth").await.0, 429);
    let (status, _) =
        app.put_settings(&app.owner, json!({ "entry_gate": "gate-main", "sms_per_user_per_hour": 1000 })).await;
    assert_eq!(status, 400, "not the owner's to raise");
}

/// The intercom as the version before places left it: no place or code items, no
/// `places` on the registry, no `place` on the invites.
async fn forget_places(app: &TestApp) {
    use aws_sdk_dynamodb::types::AttributeValue;
    let client = aws_sdk_dynamodb::Client::new(&local_stack::aws::sdk_config(app.emulator).await);
    let table = &app.front.deps.config.table_name;
    let pk = AttributeValue::S(ota::keys::intercom_pk(&app.site.intercom));
    let items = client
        .query()
        .table_name(table)
        .key_condition_expression("PK = :pk")
        .expression_attribute_values(":pk", pk.clone())
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    for item in items.items() {
        let sk = item["SK"].as_s().unwrap().clone();
        let key = |request: aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder| {
            request.table_name(table).key("PK", pk.clone()).key("SK", AttributeValue::S(sk.clone()))
        };
        if sk.starts_with("PLACE#") || sk.starts_with("CODE#") {
            client
                .delete_item()
                .table_name(table)
                .key("PK", pk.clone())
                .key("SK", AttributeValue::S(sk.clone()))
                .send()
                .await
                .unwrap();
        } else if sk == ota::keys::META_SK {
            key(client.update_item()).update_expression("REMOVE places").send().await.unwrap();
        } else if item.contains_key("place") {
            key(client.update_item()).update_expression("REMOVE place").send().await.unwrap();
        }
    }
}
