use crate::helpers::spawn_app;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owner_saves_settings_and_shared_users_can_read_them() {
    let app = spawn_app().await;
    let path = format!("/intercoms/{}/settings", app.intercom());

    let (status, before) = app.call(reqwest::Method::GET, &path, Some(&app.shared), None).await;
    assert_eq!(status, 200);
    assert_eq!(before["configured"], false);
    assert_eq!(before["gates"].as_array().unwrap().len(), 2);

    let (status, saved) = app.put_settings(&app.owner, json!({ "entry_gate": "gate-main" })).await;
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["settings"]["exit_gate"], "gate-main", "exit defaults to same as entry");
    assert_eq!(saved["settings"]["exit_same_as_entry"], true);
    assert_eq!(saved["settings"]["max_users"], 10);
    assert_eq!(saved["settings"]["invite_duration_minutes"], 720);
    assert_eq!(saved["settings"]["exit_grace_minutes"], 60);

    let (status, after) = app.call(reqwest::Method::GET, &path, Some(&app.shared), None).await;
    assert_eq!(status, 200);
    assert_eq!(after["configured"], true);
    assert_eq!(after["can_edit"], false);
    assert_eq!(after["settings"]["entry_gate"], "gate-main");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_owner_may_change_settings() {
    let app = spawn_app().await;
    let body = json!({ "entry_gate": "gate-main" });
    let (status, error) = app.put_settings(&app.shared, body.clone()).await;
    assert_eq!((status, error["error"]["code"].as_str()), (403, Some("owner_only")));
    let (status, error) = app.put_settings(&app.stranger, body).await;
    assert_eq!((status, error["error"]["code"].as_str()), (403, Some("forbidden")));
    let (_, settings) = app
        .call(reqwest::Method::GET, &format!("/intercoms/{}/settings", app.intercom()), Some(&app.owner), None)
        .await;
    assert_eq!(settings["configured"], false, "refused changes must not be written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_settings_are_refused_with_the_field_named_and_nothing_saved() {
    let app = spawn_app().await;
    let cases = [
        (json!({ "entry_gate": "gate-neighbour" }), "unknown_gate"),
        (json!({ "entry_gate": "gate-main", "exit_gate": "gate-neighbour" }), "unknown_gate"),
        (json!({ "entry_gate": "gate#main" }), "unknown_gate"),
        (json!({ "entry_gate": "gate-main", "max_users": 0 }), "invalid_field"),
        (json!({ "entry_gate": "gate-main", "max_users": 1001 }), "invalid_field"),
        (json!({ "entry_gate": "gate-main", "invite_duration_minutes": 14 }), "invalid_field"),
        (json!({ "entry_gate": "gate-main", "invite_duration_minutes": 4321 }), "invalid_field"),
        (json!({ "entry_gate": "gate-main", "exit_grace_minutes": 100000 }), "invalid_field"),
        (json!({ "entry_gate": "gate-main", "max_users": -1 }), "invalid_json"),
        (json!({ "entry_gate": "gate-main", "max_users": "10" }), "invalid_json"),
        (json!({ "entry_gate": "gate-main", "max_users": 2.5 }), "invalid_json"),
        (json!({ "entry_gate": "gate-main", "max_users": 99999999999u64 }), "invalid_json"),
        (json!({ "entry_gate": "gate-main", "colour": "red" }), "invalid_json"),
        (json!({ "exit_gate": "gate-main" }), "invalid_json"),
        (json!([]), "invalid_json"),
    ];
    for (body, code) in cases {
        let (status, error) = app.put_settings(&app.owner, body.clone()).await;
        assert_eq!(status, 400, "{body} → {error}");
        assert_eq!(error["error"]["code"], code, "{body}");
        assert!(error["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    let (_, settings) = app
        .call(reqwest::Method::GET, &format!("/intercoms/{}/settings", app.intercom()), Some(&app.owner), None)
        .await;
    assert_eq!(settings["configured"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_code_can_be_created_until_settings_are_saved() {
    let app = spawn_app().await;
    let (status, error) = app.create(&app.owner, json!({ "name": "Thandi", "mobile": app.mobile })).await;
    assert_eq!(status, 409);
    assert_eq!(error["error"]["code"], "settings_not_configured");
    assert!(app.sms().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_apply_to_new_codes_only() {
    let app = spawn_app().await;
    app.put_settings(
        &app.owner,
        json!({ "entry_gate": "gate-main", "exit_gate": "gate-exit", "invite_duration_minutes": 60, "max_users": 2 }),
    )
    .await;
    let old = app.invite("Old Settings").await;

    let (status, _) = app
        .put_settings(&app.owner, json!({ "entry_gate": "gate-exit", "invite_duration_minutes": 600, "max_users": 1 }))
        .await;
    assert_eq!(status, 200);

    // The old code keeps its gates and its one-hour life.
    assert_eq!(app.enter(&old).await.0, 202);
    assert_eq!(app.gate_command("gate-main").await.unwrap()["reason"], "entry");
    assert_eq!(app.exit(&old).await.0, 202);
    assert_eq!(app.gate_command("gate-exit").await.unwrap()["reason"], "exit");
    assert_eq!(
        (old.body["exit_gate"].as_str(), old.body["exit_gate_label"].as_str()),
        (Some("gate-exit"), Some("Exit gate"))
    );

    // A new code takes the new settings: ten hours, and the new Max Users of 1.
    let new = app.invite("New Settings").await;
    assert_eq!(new.body["remaining_seconds"], 600 * 60);
    assert_eq!(
        (new.body["entry_gate"].as_str(), new.body["entry_gate_label"].as_str()),
        (Some("gate-exit"), Some("Exit gate"))
    );
    let (status, error) = app.create(&app.owner, json!({ "name": "Third", "mobile": app.mobile })).await;
    assert_eq!((status, error["error"]["code"].as_str()), (409, Some("limit_reached")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_owner_demoted_between_read_and_write_cannot_save() {
    let app = std::sync::Arc::new(spawn_app().await);
    app.paused_read.arm_before("TransactWriteItems");
    let saving = {
        let app = app.clone();
        tokio::spawn(async move {
            app.put_settings(&app.owner, json!({ "entry_gate": "gate-main", "max_users": 50 })).await
        })
    };
    let paused = app.paused_read.clone();
    tokio::task::spawn_blocking(move || paused.wait_until_paused()).await.unwrap();
    let store = &app.front.deps.store;
    store.grant(&app.site.intercom, &app.site.owner, ota::domain::access::Role::IntercomUser).await.unwrap();
    app.paused_read.resume();

    let (status, error) = saving.await.unwrap();
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (403, Some("owner_only")),
        "the role is checked in the write"
    );
    let (_, settings) = app
        .call(reqwest::Method::GET, &format!("/intercoms/{}/settings", app.intercom()), Some(&app.shared), None)
        .await;
    assert_eq!(settings["configured"], false, "nothing was saved");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_parallel_saves_by_the_owner_all_succeed_and_the_last_one_stands() {
    let app = std::sync::Arc::new(spawn_app().await);
    let saves: Vec<_> = (1..=10)
        .map(|max_users| {
            let app = app.clone();
            tokio::spawn(async move {
                app.put_settings(&app.owner, json!({ "entry_gate": "gate-main", "max_users": max_users })).await
            })
        })
        .collect();
    let mut saved = Vec::new();
    for save in saves {
        let (status, body) = save.await.unwrap();
        assert_eq!(status, 200, "{body}");
        saved.push(body["settings"]["max_users"].as_u64().unwrap());
    }
    let (_, settings) = app
        .call(reqwest::Method::GET, &format!("/intercoms/{}/settings", app.intercom()), Some(&app.owner), None)
        .await;
    assert!(
        saved.contains(&settings["settings"]["max_users"].as_u64().unwrap()),
        "one of the saves stands: {settings}"
    );
}
