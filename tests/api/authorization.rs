//! Who may call what: owner, shared user, stranger, no token, a bad token.

use crate::helpers::spawn_app;
use reqwest::Method;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_app_route_enforces_the_authorization_matrix() {
    let app = spawn_app().await;
    app.configure(10).await;
    let ic = app.intercom().to_owned();
    let forged = {
        // Right shape, signed with another key.
        let other = local_stack::jwt::Authorizer::new_random();
        other.mint(app.site.owner.as_str(), time::Duration::hours(1))
    };
    let expired = app.front.authorizer.mint(app.site.owner.as_str(), time::Duration::hours(-2));

    let settings_body = json!({ "entry_gate": "gate-main", "exit_gate": "gate-exit" });
    let invite_body = json!({ "name": "Matrix Guest", "mobile": app.mobile });
    // (method, path, body, owner, shared, stranger)
    let routes: Vec<(Method, String, Option<serde_json::Value>, u16, u16, u16)> = vec![
        (Method::GET, format!("/intercoms/{ic}/settings"), None, 200, 200, 403),
        (Method::PUT, format!("/intercoms/{ic}/settings"), Some(settings_body), 200, 403, 403),
        (Method::POST, format!("/intercoms/{ic}/codes"), Some(invite_body), 201, 201, 403),
        (Method::GET, format!("/intercoms/{ic}/codes"), None, 200, 200, 403),
    ];
    for (method, path, body, owner, shared, stranger) in routes {
        for (who, token, expected) in [
            ("owner", Some(app.owner.as_str()), owner),
            ("shared", Some(app.shared.as_str()), shared),
            ("stranger", Some(app.stranger.as_str()), stranger),
            ("no token", None, 401),
            ("forged token", Some(forged.as_str()), 401),
            ("expired token", Some(expired.as_str()), 401),
        ] {
            let (status, response) = app.call(method.clone(), &path, token, body.clone()).await;
            assert_eq!(status, expected, "{who} {method} {path}: {response}");
            if status == 403 {
                assert!(response["error"]["code"].is_string(), "{response}");
            }
        }
    }

    // Revoke: strangers and bad tokens change nothing; owner and shared may revoke.
    let first = app.invite("Revoke Me").await;
    let second = app.invite("Revoke Me Too").await;
    assert_eq!(app.revoke(&app.stranger, &first.id).await.0, 403);
    let (status, _) = app.call(Method::DELETE, &format!("/intercoms/{ic}/codes/{}", first.id), None, None).await;
    assert_eq!(status, 401);
    assert!(app.listed_ids().await.contains(&first.id));
    assert_eq!(app.revoke(&app.shared, &first.id).await.0, 204);
    assert_eq!(app.revoke(&app.owner, &second.id).await.0, 204);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_of_one_intercom_cannot_touch_another() {
    let app = spawn_app().await;
    app.configure(10).await;
    let invite = app.invite("Neighbour Test").await;
    let other = crate::helpers::spawn_app().await;
    // The other site's owner is a stranger here, even with a valid token from this API.
    let outsider = app.front.authorizer.mint(other.site.owner.as_str(), time::Duration::hours(1));
    assert_eq!(app.list(&outsider).await.0, 403);
    assert_eq!(app.revoke(&outsider, &invite.id).await.0, 403);
    let path = "/intercoms/ic-does-not-exist/codes";
    assert_eq!(app.call(Method::GET, path, Some(&app.owner), None).await.0, 403);
}
