use crate::helpers::{other_code, spawn_app, spawn_app_with, Options, Redeem};
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_enters_and_exits_once_through_the_right_gates() {
    let app = spawn_app().await;
    app.configure(10).await;
    let invite = app.invite("Thandi").await;

    let (status, opened) = app.enter(&invite).await;
    assert_eq!((status, opened["result"].as_str()), (202, Some("opening")), "{opened}");
    assert_eq!(opened["gate_label"], "Main gate");
    let command = app.gate_command("gate-main").await.expect("entry gate got a command");
    assert_eq!(command["action"], "open");
    assert_eq!(command["reason"], "entry");
    assert_eq!(command["id"], opened["command_id"]);
    let issued = command["issued_at"].as_i64().unwrap();
    let not_after = command["not_after"].as_i64().unwrap();
    assert!(not_after > issued && not_after - issued <= 60, "commands are short-lived");
    assert!(app.gate_command("gate-exit").await.is_none(), "exit gate untouched on entry");

    let (_, list) = app.list(&app.owner).await;
    assert_eq!(list["codes"][0]["state"], "entered");
    let (status, again) = app.enter(&invite).await;
    assert_eq!((status, again["error"]["code"].as_str()), (409, Some("already_used")));

    let (status, opened) = app.exit(&invite).await;
    assert_eq!(status, 202, "{opened}");
    assert_eq!(opened["gate_label"], "Exit gate");
    assert_eq!(app.gate_command("gate-exit").await.unwrap()["reason"], "exit");
    let (status, again) = app.exit(&invite).await;
    assert_eq!((status, again["error"]["code"].as_str()), (409, Some("already_used")));

    assert!(app.listed_ids().await.is_empty(), "exit frees the slot and ends the code");
    assert_eq!((app.openings("gate-main"), app.openings("gate-exit")), (1, 1), "each gate opened once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_before_entry_is_refused() {
    let app = spawn_app().await;
    app.configure(10).await;
    let invite = app.invite("Early Exit").await;
    let (status, error) = app.exit(&invite).await;
    assert_eq!((status, error["error"]["code"].as_str()), (409, Some("not_entered")));
    assert_eq!(app.enter(&invite).await.0, 202);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_wrong_codes_lock_the_invite_even_against_the_right_code() {
    let app = spawn_app().await;
    app.configure(10).await;
    let invite = app.invite("Guesser").await;
    let wrong = other_code(&invite.code);
    for left in (1..=4).rev() {
        let (status, error) = app.redeem(Redeem::Entry, &invite.token, app.intercom(), &wrong).await;
        assert_eq!(status, 403);
        assert_eq!(error["error"]["code"], "wrong_code");
        assert_eq!(error["error"]["attempts_left"], left);
    }
    let (status, error) = app.redeem(Redeem::Entry, &invite.token, app.intercom(), &wrong).await;
    assert_eq!((status, error["error"]["code"].as_str()), (423, Some("locked")));
    let (status, error) = app.enter(&invite).await;
    assert_eq!((status, error["error"]["code"].as_str()), (423, Some("locked")));
    assert!(app.gate_command("gate-main").await.is_none(), "nothing opened");
    let (_, list) = app.list(&app.owner).await;
    assert_eq!(list["codes"][0]["state"], "locked", "the owner sees it locked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_intercom_and_a_bad_link_are_told_apart_without_opening_anything() {
    let app = spawn_app().await;
    app.configure(10).await;
    let invite = app.invite("Lost Guest").await;

    let (status, error) = app.redeem(Redeem::Entry, &invite.token, "ic-neighbour", &invite.code).await;
    assert_eq!((status, error["error"]["code"].as_str()), (409, Some("wrong_intercom")));

    // Same invite id, another secret: a stranger learns nothing, not even the intercom.
    let (ids, _) = invite.token.rsplit_once('.').unwrap();
    let forged = format!("{ids}.AAAAAAAAAAAAAAAAAAAAAA");
    for intercom in [app.intercom(), "ic-neighbour"] {
        let (status, error) = app.redeem(Redeem::Entry, &forged, intercom, &invite.code).await;
        assert_eq!((status, error["error"]["code"].as_str()), (404, Some("invalid_link")), "{intercom}");
    }
    for garbage in ["", "nonsense", "a.b.c"] {
        let (status, error) = app.redeem(Redeem::Entry, garbage, app.intercom(), &invite.code).await;
        assert_eq!((status, error["error"]["code"].as_str()), (404, Some("invalid_link")), "{garbage}");
    }
    // A body no guest's page sends: the WAF's size rule blocks it before any function,
    // in the service's error shape (infra/guest-waf.yaml's custom response).
    let (status, error) = app.redeem(Redeem::Entry, &"x".repeat(5000), app.intercom(), &invite.code).await;
    assert_eq!((status, error["error"]["code"].as_str()), (413, Some("payload_too_large")));
    let (status, error) = app.redeem(Redeem::Entry, &invite.token, app.intercom(), "12a4").await;
    assert_eq!((status, error["error"]["code"].as_str()), (400, Some("invalid_field")));
    assert!(app.gate_command("gate-main").await.is_none());
    assert_eq!(app.enter(&invite).await.0, 202, "none of that used up or locked the invite");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoke_stops_entry_and_exit_at_once() {
    let app = spawn_app().await;
    app.configure(10).await;
    let unused = app.invite("Never Enters").await;
    let inside = app.invite("Already Inside").await;
    assert_eq!(app.enter(&inside).await.0, 202);

    assert_eq!(app.revoke(&app.owner, &unused.id).await.0, 204);
    assert_eq!(app.revoke(&app.owner, &inside.id).await.0, 204);

    let (status, error) = app.enter(&unused).await;
    assert_eq!((status, error["error"]["code"].as_str()), (410, Some("revoked")));
    let (status, error) = app.exit(&inside).await;
    assert_eq!((status, error["error"]["code"].as_str()), (410, Some("revoked")));
    assert!(app.gate_command("gate-exit").await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_redemptions_open_the_gate_exactly_once_each_way() {
    let app = Arc::new(spawn_app().await);
    app.configure(10).await;
    let invite = Arc::new(app.invite("Double Tap").await);
    for which in [Redeem::Entry, Redeem::Exit] {
        let exit = matches!(which, Redeem::Exit);
        let tasks: Vec<_> = (0..12)
            .map(|_| {
                let (app, invite) = (app.clone(), invite.clone());
                tokio::spawn(async move {
                    if exit {
                        app.exit(&invite).await
                    } else {
                        app.enter(&invite).await
                    }
                })
            })
            .collect();
        let mut opened = 0;
        for task in tasks {
            let (status, body) = task.await.unwrap();
            match status {
                202 => opened += 1,
                // Refused while the gate had the command, or after it reported.
                409 => {
                    assert!(["already_used", "opening"].contains(&body["error"]["code"].as_str().unwrap()), "{body}")
                }
                other => panic!("unexpected {other}: {body}"),
            }
        }
        assert_eq!(opened, 1, "exactly one {} command", if exit { "exit" } else { "entry" });
    }
    assert_eq!((app.openings("gate-main"), app.openings("gate-exit")), (1, 1), "each gate opened once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_gate_cannot_be_reached_nothing_is_used_up_and_a_retry_works() {
    let app = spawn_app_with(Options { gates_missing: true, ..Options::default() }).await;
    app.configure(10).await;
    let invite = app.invite("Bad Signal").await;

    let (status, error) = app.enter(&invite).await;
    assert_eq!((status, error["error"]["code"].as_str()), (503, Some("gate_unavailable")));
    let (_, list) = app.list(&app.owner).await;
    assert_eq!(list["codes"][0]["state"], "unused");

    local_stack::seed::create_thing(app.emulator, app.site.thing("gate-main").as_str()).await.unwrap();
    assert_eq!(app.enter(&invite).await.0, 202, "the same code works once the gate is back");

    let (status, _) = app.exit(&invite).await;
    assert_eq!(status, 503, "exit gate still unreachable");
    local_stack::seed::create_thing(app.emulator, app.site.thing("gate-exit").as_str()).await.unwrap();
    assert_eq!(app.exit(&invite).await.0, 202, "exit can be retried");
    assert_eq!(app.exit(&invite).await.0, 409);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_guessing_tries_at_most_five_wrong_codes() {
    let app = Arc::new(spawn_app().await);
    app.configure(10).await;
    let invite = Arc::new(app.invite("Brute Force Target").await);
    let right: u16 = invite.code.parse().unwrap();
    let guesses: Vec<String> = (1..=30).map(|i| format!("{:04}", (right + i * 7) % 10_000)).collect();
    let tasks: Vec<_> = guesses
        .into_iter()
        .map(|guess| {
            let (app, invite) = (app.clone(), invite.clone());
            tokio::spawn(async move { app.redeem(Redeem::Entry, &invite.token, app.intercom(), &guess).await })
        })
        .collect();
    let (mut wrong, mut locked) = (0, 0);
    for task in tasks {
        let (status, body) = task.await.unwrap();
        match body["error"]["code"].as_str() {
            Some("wrong_code") => wrong += 1,
            Some("locked") => locked += 1,
            _ => panic!("unexpected {status}: {body}"),
        }
    }
    assert_eq!(wrong, 4, "four wrong codes are answered as such, the fifth locks");
    assert_eq!(locked, 26);
    let (status, error) = app.enter(&invite).await;
    assert_eq!((status, error["error"]["code"].as_str()), (423, Some("locked")));
    assert!(app.gate_command("gate-main").await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_a_lost_answer_re_sends_the_same_command_not_a_second_one() {
    let app = spawn_app().await;
    app.configure(10).await;
    let invite = app.invite("One Bar Of Signal").await;
    let press = |attempt: &str| serde_json::json!({ "token": invite.token, "intercom_id": app.intercom(), "gate_number": app.gate_number(), "code": invite.code, "attempt_id": attempt });
    let (status, first) = app.call(reqwest::Method::POST, "/guest/entry", None, Some(press("press-0001"))).await;
    assert_eq!(status, 202, "{first}");
    let command = app.gate_command("gate-main").await.unwrap();

    // Retried before the gate answered: the same command again.
    let (status, retry) = app.call(reqwest::Method::POST, "/guest/entry", None, Some(press("press-0001"))).await;
    assert_eq!(status, 202, "{retry}");
    assert_eq!(retry["repeated"], true);
    assert_eq!(retry["command_id"], first["command_id"]);
    assert_eq!(app.gate_command("gate-main").await.unwrap()["id"], command["id"], "no second command");
    app.settle_gates().await;
    let (status, after_report) = app.call(reqwest::Method::POST, "/guest/entry", None, Some(press("press-0001"))).await;
    assert_eq!((status, after_report["result"].as_str()), (200, Some("opened")), "retried after the gate's report");
    assert_eq!(after_report["command_id"], first["command_id"]);

    let (status, other) = app.call(reqwest::Method::POST, "/guest/entry", None, Some(press("press-0002"))).await;
    assert_eq!((status, other["error"]["code"].as_str()), (409, Some("already_used")), "a new press is a new entry");
    let (status, bad) = app.call(reqwest::Method::POST, "/guest/entry", None, Some(press("x"))).await;
    assert_eq!((status, bad["error"]["field"].as_str()), (400, Some("attempt_id")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaving_frees_the_place_for_the_next_guest() {
    let app = spawn_app().await;
    app.configure(1).await;
    let invite = app.invite("Only Guest").await;
    assert_eq!(app.enter(&invite).await.0, 202);
    let next = serde_json::json!({ "name": "Next Guest", "mobile": app.mobile });
    assert_eq!(app.create(&app.owner, next.clone()).await.0, 409, "still inside: still holds the place");
    assert_eq!(app.exit(&invite).await.0, 202);
    assert_eq!(app.create(&app.owner, next).await.0, 201);
}
