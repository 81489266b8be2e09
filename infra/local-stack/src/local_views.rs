//! The local stack's developer views, which API Gateway does not have: tokens, sent
//! SMS, the events the bus received, SMS delivery receipts, gate shadows and modes, the
//! QR at a gate, a sweep on demand, the clock, the OpenAPI document.

use crate::front::{percent_decode, reply, reply_json, Front, HyperResponse};
use crate::gates::Mode;
use hyper::{Method, StatusCode};
use ota::domain::gate_number::GateNumber;
use ota::handlers;
use serde_json::{json, Value};

/// Developer views that API Gateway does not have: tokens, sent SMS, gate shadows,
/// a sweep on demand, the OpenAPI document.
pub(crate) async fn local_route(
    front: &Front,
    method: &Method,
    segments: &[&str],
    query: &str,
) -> Option<HyperResponse> {
    Some(match (method.as_str(), segments) {
        ("GET", ["openapi.yaml"]) => reply(StatusCode::OK, "application/yaml", front.openapi.clone()),
        ("GET", ["_local", "token", sub]) => {
            reply(StatusCode::OK, "text/plain", front.authorizer.mint(sub, time::Duration::hours(12)))
        }
        ("GET", ["_local", "sms"]) => {
            let to = query.split('&').find_map(|p| p.strip_prefix("to=")).map(percent_decode);
            match sent_sms(&front.emulator, to.as_deref()).await {
                Ok(list) => reply_json(StatusCode::OK, &list),
                Err(e) => reply_json(StatusCode::BAD_GATEWAY, &json!({ "message": e })),
            }
        }
        ("GET", ["_local", "events"]) => {
            if let Err(e) = front.outbox.settle().await {
                return Some(reply_json(StatusCode::BAD_GATEWAY, &json!({ "message": e })));
            }
            reply_json(StatusCode::OK, &Value::Array(front.outbox.events.events()))
        }
        ("POST", ["_local", "sms-receipts", number]) => {
            let mode = query.split('&').find_map(|p| p.strip_prefix("mode="));
            match mode.and_then(crate::outbox::Receipt::parse) {
                Some(receipt) => {
                    let number = percent_decode(number);
                    front.outbox.set_receipt(&number, receipt);
                    reply_json(StatusCode::OK, &json!({ "number": number, "receipts": mode }))
                }
                None => {
                    reply_json(StatusCode::BAD_REQUEST, &json!({ "message": "give ?mode=delivered|failed|silent" }))
                }
            }
        }
        ("GET", ["_local", "gates"]) => reply_json(StatusCode::OK, &front.gates.describe()),
        // A gate of one's own, played from now on (`ota-admin` registrations are
        // picked up by themselves): POST /_local/gates?thing=<thing name>.
        ("POST", ["_local", "gates"]) => {
            let thing = query.split('&').find_map(|p| p.strip_prefix("thing=")).unwrap_or_default();
            match front.gates.play(thing, &front.emulator).await {
                Ok(true) => reply_json(StatusCode::CREATED, &json!({ "thing": thing, "gate": { "mode": "online" } })),
                Ok(false) => reply_json(StatusCode::OK, &json!({ "thing": thing, "message": "already simulated" })),
                Err(error) => reply_json(StatusCode::BAD_REQUEST, &json!({ "message": error })),
            }
        }
        ("POST", ["_local", "gates", thing]) => {
            let param = |name: &str| query.split('&').find_map(|p| p.strip_prefix(name)?.strip_prefix('='));
            let seconds = param("seconds").and_then(|s| s.parse().ok());
            // How its lifecycle events are delivered from now on (AWS: "might be sent out
            // of order", "duplicate messages"): &duplicate=1, &reorder=1.
            let delivery = crate::gates::Delivery {
                duplicate: param("duplicate") == Some("1"),
                reorder: param("reorder") == Some("1"),
            };
            match param("mode").and_then(|mode| Mode::parse(mode, seconds)) {
                Some(mode) if front.gates.set_delivery(thing, delivery) && front.gates.set_mode(thing, mode).await => {
                    reply_json(StatusCode::OK, &json!({ "thing": thing, "gate": mode, "delivery": delivery }))
                }
                Some(_) => {
                    reply_json(StatusCode::NOT_FOUND, &json!({ "message": format!("no simulated gate {thing}") }))
                }
                None => reply_json(
                    StatusCode::BAD_REQUEST,
                    &json!({ "message": "give ?mode=online|offline|mute|failing, or ?mode=slow|skewed&seconds=N" }),
                ),
            }
        }
        ("GET", ["_local", "shadows", thing]) => match front
            .iot
            .get_thing_shadow()
            .thing_name(*thing)
            .shadow_name(ota::domain::command::SHADOW_NAME)
            .send()
            .await
        {
            Ok(out) => {
                let doc = out.payload().map(|p| p.as_ref().to_vec()).unwrap_or_default();
                reply(StatusCode::OK, "application/json", doc)
            }
            Err(_) => reply_json(StatusCode::NOT_FOUND, &json!({ "message": format!("no shadow for {thing} yet") })),
        },
        // The QR code at the intercom's gates: its gate number, or `?number=` (an old
        // sticker, another intercom's).
        ("GET", ["_local", "qr", intercom]) => {
            let asked = query.split('&').find_map(|p| p.strip_prefix("number=")).and_then(GateNumber::parse);
            let number = asked.or_else(|| front.gate_number_of(intercom));
            match (ota::domain::ids::IntercomId::parse(intercom), number) {
                (Some(intercom), Some(number)) => {
                    match crate::page::intercom_qr_svg(&front.deps.config.link_base_url, intercom.as_str(), &number) {
                        Ok(svg) => reply(StatusCode::OK, "image/svg+xml", svg),
                        Err(e) => reply_json(StatusCode::INTERNAL_SERVER_ERROR, &json!({ "message": e })),
                    }
                }
                (Some(_), None) => reply_json(
                    StatusCode::NOT_FOUND,
                    &json!({ "message": "no gate number known for this intercom: give ?number=<8 digits>" }),
                ),
                (None, _) => reply_json(StatusCode::NOT_FOUND, &json!({ "message": "not an intercom id" })),
            }
        }
        // `ota-admin gate-number`, for the local stack: a new number, the old one in its grace.
        ("POST", ["_local", "gate-number", intercom]) => {
            let Some(intercom) = ota::domain::ids::IntercomId::parse(intercom) else {
                return Some(reply_json(StatusCode::NOT_FOUND, &json!({ "message": "not an intercom id" })));
            };
            let number = GateNumber::generate();
            let now = ota::clock::Clock::now(front.deps.clock.as_ref());
            let Some(keys) = front.deps.config.gate_number_keys.as_ref() else {
                return Some(reply_json(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &json!({ "message": "no OTA_GATE_NUMBER_KEYS" }),
                ));
            };
            match front.deps.store.rotate_gate_number(&intercom, &number.check(&intercom, keys), now).await {
                Ok(true) => {
                    front.remember_gate_number(&intercom, &number);
                    reply_json(
                        StatusCode::OK,
                        &json!({ "number": number.as_digits(), "printed": number.printed(),
                                 "qr": format!("{}/s/{intercom}#{}", front.deps.config.link_base_url, number.as_digits()) }),
                    )
                }
                Ok(false) => reply_json(StatusCode::NOT_FOUND, &json!({ "message": "no such intercom" })),
                Err(e) => reply_json(StatusCode::CONFLICT, &json!({ "message": e.to_string() })),
            }
        }
        ("POST", ["_local", "clock"]) => {
            let minutes =
                query.split('&').find_map(|p| p.strip_prefix("advance_minutes=")).and_then(|m| m.parse().ok());
            match (&front.clock, minutes) {
                (Some(clock), Some(minutes)) if minutes >= 0 => {
                    clock.advance(time::Duration::minutes(minutes));
                    let now = ota::clock::Clock::now(clock.as_ref());
                    reply_json(
                        StatusCode::OK,
                        &json!({ "now": now.format(&time::format_description::well_known::Rfc3339).unwrap_or_default() }),
                    )
                }
                (None, _) => {
                    reply_json(StatusCode::NOT_FOUND, &json!({ "message": "this stack's clock is not adjustable" }))
                }
                _ => reply_json(
                    StatusCode::BAD_REQUEST,
                    &json!({ "message": "give ?advance_minutes=<minutes, 0 or more>" }),
                ),
            }
        }
        ("POST", ["_local", "sweep"]) => match handlers::sweep::run(&front.deps).await {
            Ok(report) => reply_json(StatusCode::OK, &json!(report)),
            Err(e) => reply_json(StatusCode::INTERNAL_SERVER_ERROR, &json!({ "message": e.to_string() })),
        },
        _ => return None,
    })
}

/// The SMS moto "sent", newest last, optionally only those to one number: from the
/// emulator's own `/ota/sms` (`infra/moto_server.py`), not moto's data.json, which
/// walks the emulator's whole state and holds its one thread for seconds.
pub async fn sent_sms(emulator: &str, to: Option<&str>) -> Result<Value, String> {
    let mut sent: Vec<Value> = reqwest::get(format!("{emulator}/ota/sms"))
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    if let Some(to) = to {
        sent.retain(|m| m["to"] == to);
    }
    Ok(Value::Array(sent))
}
