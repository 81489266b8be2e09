use crate::helpers::spawn_app;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_removes_the_code_from_the_list_and_frees_its_slot_at_once() {
    let app = spawn_app().await;
    app.configure(1).await;
    let invite = app.invite("Wrong Person").await;
    let (status, _) = app.create(&app.owner, json!({ "name": "Next", "mobile": app.mobile })).await;
    assert_eq!(status, 409, "intercom is full");

    assert_eq!(app.revoke(&app.shared, &invite.id).await.0, 204);
    assert!(app.listed_ids().await.is_empty());
    app.invite("Next").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_or_dead_codes_are_not_found() {
    let app = spawn_app().await;
    app.configure(10).await;
    let invite = app.invite("Twice").await;
    assert_eq!(app.revoke(&app.owner, &invite.id).await.0, 204);
    let (status, error) = app.revoke(&app.owner, &invite.id).await;
    assert_eq!((status, error["error"]["code"].as_str()), (404, Some("code_not_found")));
    for id in ["AAAAAAAAAAA", "not-an-id", "%00"] {
        assert_eq!(app.revoke(&app.owner, id).await.0, 404, "{id}");
    }

    let done = app.invite("Done").await;
    assert_eq!(app.enter(&done).await.0, 200);
    assert_eq!(app.exit(&done).await.0, 200);
    assert_eq!(app.revoke(&app.owner, &done.id).await.0, 404, "a used-up code is dead");
}
