//! The guest reached in their language, told who invited them and where the gate
//! is, and told a wrong gate number before the code.

use crate::helpers::{spawn_app, Invite, TestApp};
use ota::domain::location::Location;
use reqwest::Method;
use serde_json::{json, Value};

async fn create(app: &TestApp, extra: Value) -> (u16, Value) {
    let mut body = json!({ "name": "Nomvula Dube", "mobile": app.mobile });
    body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    app.create(&app.owner, body).await
}

async fn status_with(app: &TestApp, body: Value) -> (u16, Value) {
    app.call(Method::POST, "/guest/status", None, Some(body)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_invited_in_isizulu_gets_the_sms_the_share_message_and_the_page_in_isizulu() {
    let app = spawn_app().await;
    app.configure(10).await;
    let (status, body) = create(&app, json!({ "guest_language": "zu" })).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["guest_language"], "zu");
    assert!(body["share"]["message"].as_str().unwrap().starts_with("Sawubona Nomvula Dube"), "{body}");
    assert!(body["share"]["email_subject"].as_str().unwrap().starts_with("Ukungena kwakho"), "{body}");
    let sms = app.sms().await;
    let text = sms[0]["message"].as_str().unwrap();
    assert!(text.starts_with("Nomvula: Ikhodi ye-Fluss"), "{text}");
    assert!(text.chars().count() <= 160 && ota::sms::is_gsm7(text), "{text}");
    let invite = Invite::from(&body);
    assert_eq!(app.guest_status(&invite.token).await.1["language"], "zu");

    let (status, body) = create(&app, json!({ "guest_language": "fr" })).await;
    assert_eq!((status, body["error"]["field"].as_str()), (400, Some("guest_language")), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_intercoms_default_language_is_the_owners_setting() {
    let app = spawn_app().await;
    let settings = json!({ "entry_gate": "gate-main", "guest_language": "af" });
    let (status, saved) = app.put_settings(&app.owner, settings).await;
    assert_eq!((status, saved["settings"]["guest_language"].as_str()), (200, Some("af")), "{saved}");
    let (_, body) = create(&app, json!({})).await;
    assert_eq!(body["guest_language"], "af");
    assert!(app.sms().await[0]["message"].as_str().unwrap().contains("Fluss-kode"));
    let (_, body) = create(&app, json!({ "guest_language": "en" })).await;
    assert_eq!(body["guest_language"], "en", "the owner's choice for one guest wins");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_reaches_the_guest_only_as_the_owner_chose() {
    let app = spawn_app().await;
    app.configure(10).await;
    let contact =
        json!({ "host_name": "Thandi Mokoena", "host_contact": { "via": "whatsapp", "number": "082 555 0100" } });
    let (_, reachable) = create(&app, contact).await;
    let (_, seen) = app.guest_status(&Invite::from(&reachable).token).await;
    assert_eq!(
        seen["host"],
        json!({ "name": "Thandi Mokoena", "contact": { "via": "whatsapp", "url": "https://wa.me/27825550100" } })
    );

    let (_, named) = create(&app, json!({ "host_name": "Thandi Mokoena" })).await;
    assert_eq!(
        app.guest_status(&Invite::from(&named).token).await.1["host"],
        json!({ "name": "Thandi Mokoena", "contact": null })
    );
    let (_, anonymous) = create(&app, json!({})).await;
    let (_, seen) = app.guest_status(&Invite::from(&anonymous).token).await;
    assert_eq!(seen["host"], Value::Null);
    assert!(!seen.to_string().contains("Mokoena") && !seen.to_string().contains("0100"));

    let (status, body) = create(&app, json!({ "host_contact": { "via": "call", "number": "082 555 0100" } })).await;
    assert_eq!((status, body["error"]["field"].as_str()), (400, Some("host_name")), "a contact needs a name: {body}");
    let (status, body) =
        create(&app, json!({ "host_name": "T", "host_contact": { "via": "pigeon", "number": "082 555 0100" } })).await;
    assert_eq!((status, body["error"]["field"].as_str()), (400, Some("host_contact")), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gate_number_is_judged_before_the_code_for_a_live_link_only() {
    let app = spawn_app().await;
    app.configure(10).await;
    let invite = app.invite("At The Gate").await;
    let right = app.gate_number().to_owned();
    let wrong = format!("{}{}", &right[..7], (right.as_bytes()[7] - b'0' + 1) % 10);
    let check = |number: &str, intercom: Option<&str>| {
        let mut body = json!({ "token": invite.token, "gate_number": number });
        if let Some(intercom) = intercom {
            body["intercom_id"] = json!(intercom);
        }
        body
    };
    let (status, seen) = status_with(&app, check(&right, None)).await;
    assert_eq!((status, seen["gate_check"].as_str()), (200, Some("accepted")), "{seen}");
    assert_eq!(status_with(&app, check(&wrong, None)).await.1["gate_check"], "scan_at_gate");
    assert_eq!(status_with(&app, check(&right, Some("ic-elsewhere"))).await.1["gate_check"], "wrong_intercom");
    assert_eq!(app.guest_status(&invite.token).await.1["gate_check"], Value::Null, "none asked");
    let (status, refused) = status_with(&app, check("1234", None)).await;
    assert_eq!((status, refused["error"]["field"].as_str()), (400, Some("gate_number")));
    assert_eq!(app.openings("gate-main"), 0, "a check opens nothing");
    assert_eq!(app.guest_status(&invite.token).await.1["attempts_left"], 5, "and counts nothing");

    // A dead link learns nothing of any number, and costs no read of the numbers.
    assert_eq!(app.revoke(&app.owner, &invite.id).await.0, 204);
    app.take_sdk_requests();
    app.guest_status(&invite.token).await;
    let without_number = app.take_sdk_requests();
    for number in [&right, &wrong] {
        let (status, seen) = status_with(&app, check(number, None)).await;
        assert_eq!((status, &seen["gate_check"]), (200, &Value::Null), "{seen}");
        assert_eq!(app.take_sdk_requests(), without_number, "no read of the numbers for a dead link");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_way_to_the_gate_is_on_the_page_and_in_the_share_message_when_provisioned() {
    let app = spawn_app().await;
    app.configure(10).await;
    let (_, before) = create(&app, json!({})).await;
    assert_eq!(app.guest_status(&Invite::from(&before).token).await.1["place"], Value::Null);
    assert!(!before["share"]["message"].as_str().unwrap().contains("Address"));

    let location = Location::new("12 Jacaranda Road, Parkhurst, Johannesburg", Some((-26.1386, 28.0172))).unwrap();
    assert!(app.front.deps.store.set_location(&app.site.intercom, Some(&location)).await.unwrap());
    let (_, after) = create(&app, json!({})).await;
    let (_, seen) = app.guest_status(&Invite::from(&after).token).await;
    let map = "https://www.google.com/maps/search/?api=1&query=-26.138600,28.017200";
    assert_eq!(seen["place"], json!({ "address": "12 Jacaranda Road, Parkhurst, Johannesburg", "map_url": map }));
    let message = after["share"]["message"].as_str().unwrap();
    assert!(message.contains("Address: 12 Jacaranda Road") && message.contains(map), "{message}");
}

/// The host and the place live on the invite's SMS item: the invite's own item, which
/// every redemption writes (its size is what a write costs), does not grow by a byte
/// with the longest host, contact and address the service takes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_and_the_address_add_nothing_to_the_item_every_redemption_writes() {
    let app = spawn_app().await;
    app.configure(10).await;
    let (_, plain) = create(&app, json!({ "name": "Same Length Name" })).await;
    let address = "A".repeat(ota::domain::location::ADDRESS_MAX_CHARS);
    let location = Location::new(&address, Some((-26.138_612_3, 28.017_234_5))).unwrap();
    assert!(app.front.deps.store.set_location(&app.site.intercom, Some(&location)).await.unwrap());
    let longest = json!({
        "name": "Same Length Name",
        "host_name": "H".repeat(60),
        "host_contact": { "via": "whatsapp", "number": "082 555 0100" },
    });
    let (status, detailed) = create(&app, longest).await;
    assert_eq!(status, 201, "{detailed}");
    let plain_size = crate::helpers::item_size(&app.invite_item(plain["id"].as_str().unwrap()).await);
    let detailed_size = crate::helpers::item_size(&app.invite_item(detailed["id"].as_str().unwrap()).await);
    // The ids differ in nothing but their characters: the same length.
    assert_eq!(plain_size, detailed_size);
    let beside = app.sms_item(detailed["id"].as_str().unwrap()).await;
    assert!(beside.contains_key("host") && beside.contains_key("location"), "{beside:?}");
}
