use crate::helpers::spawn_app;
use ota::clock::Clock;
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
async fn unknown_or_dead_codes_are_not_found_and_a_revoked_one_stays_revoked() {
    let app = spawn_app().await;
    app.configure(10).await;
    let invite = app.invite("Twice").await;
    assert_eq!(app.revoke(&app.owner, &invite.id).await.0, 204);
    // An app retrying its DELETE (its answer lost) learns the code is revoked.
    assert_eq!(app.revoke(&app.owner, &invite.id).await.0, 204);
    for id in ["AAAAAAAAAAA", "not-an-id", "%00"] {
        assert_eq!(app.revoke(&app.owner, id).await.0, 404, "{id}");
    }

    let done = app.invite("Done").await;
    assert_eq!(app.enter(&done).await.0, 202);
    assert_eq!(app.exit(&done).await.0, 202);
    let (status, error) = app.revoke(&app.owner, &done.id).await;
    assert_eq!((status, error["error"]["code"].as_str()), (410, Some("code_ended")), "a used-up code is dead");
    assert_eq!(error["error"]["state"], "used");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_inside_during_the_exit_grace_is_listed_and_can_be_revoked() {
    let app = spawn_app().await;
    app.configure(10).await;
    let invite = app.invite("Stays Late").await;
    assert_eq!(app.enter(&invite).await.0, 202);
    let expires: time::OffsetDateTime = time::OffsetDateTime::parse(
        invite.body["expires_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    app.advance(expires - app.clock.now() + time::Duration::minutes(5));

    let (_, list) = app.list(&app.owner).await;
    let listed = &list["codes"][0];
    assert_eq!(listed["id"], invite.id.as_str(), "the owner still sees who is inside: {list}");
    assert_eq!(listed["state"], "inside");
    assert_eq!(listed["exit_open_until"], invite.body["exit_closes_at"]);
    assert_eq!(list["active"], 1, "a guest inside after expiry keeps their place until the exit window closes");

    assert_eq!(app.revoke(&app.owner, &invite.id).await.0, 204, "revoke works until the exit window closes");
    let (status, error) = app.exit(&invite).await;
    assert_eq!((status, error["error"]["code"].as_str()), (410, Some("revoked")));
    assert!(app.gate_command("gate-exit").await.is_none(), "the exit did not open");
    assert!(app.listed_ids().await.is_empty());
}

/// A slow gate holds the command when the owner revokes: the revoke withdraws it
/// from the gate's shadow before it answers, so nothing opens after the `204`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoke_withdraws_a_command_the_gate_has_not_acted_on() {
    let app = spawn_app().await;
    app.configure(10).await;
    let other = app.invite("Other Guest").await;
    let invite = app.invite("Revoked At The Gate").await;
    app.set_gate("gate-main", local_stack::gates::Mode::Slow { seconds: 10 }).await;
    assert_eq!(app.enter(&invite).await.0, 202);
    app.settle_gates().await;
    assert_eq!(app.revoke(&app.owner, &invite.id).await.0, 204);
    assert!(app.gate_command("gate-main").await.is_none_or(|c| c.is_null()), "withdrawn from the shadow");
    app.advance(time::Duration::seconds(10));
    app.settle_gates().await;
    assert_eq!(app.openings("gate-main"), 0, "no gate opened after the owner was told the code is revoked");

    // Another guest's newer command at the same gate is left alone.
    app.set_gate("gate-main", local_stack::gates::Mode::Slow { seconds: 10 }).await;
    let third = app.invite("Third Guest").await;
    assert_eq!(app.enter(&third).await.0, 202);
    assert_eq!(app.enter(&other).await.0, 202);
    assert_eq!(app.revoke(&app.owner, &third.id).await.0, 204);
    app.advance(time::Duration::seconds(10));
    app.settle_gates().await;
    assert_eq!(app.openings("gate-main"), 1, "the other guest's command still opens the gate");
}
