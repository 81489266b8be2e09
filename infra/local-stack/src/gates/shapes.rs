//! What reaches `gate-events` from IoT Core, in AWS's shapes: the report rule's
//! projection of a shadow update, and a lifecycle event (see `events/README.md` for
//! the documentation each follows).

use ota::store::gates::millis;
use serde_json::{json, Value};
use time::OffsetDateTime;

/// What the rule on `$aws/things/+/shadow/name/ota/update/accepted` delivers:
/// `SELECT topic(3) AS thing, state.reported.result AS result, timestamp() AS received_at`.
pub fn report_event(thing: &str, result: &Value, now: OffsetDateTime) -> Value {
    json!({ "thing": thing, "result": result, "received_at": millis(now) })
}

/// A lifecycle event as AWS IoT publishes it on `$aws/events/presence/...` (the
/// rule delivers it whole: `SELECT *`), element by element as the developer guide's
/// "Lifecycle events" page lists them: `timestamp` "expressed in milliseconds since
/// the Unix epoch"; `sessionIdentifier` "a globally unique identifier in AWS IoT that
/// exists for the life of the session"; `versionNumber` shared by "the connect and
/// disconnect messages for a client connection"; `ipAddress` "found in connection
/// messages only"; `clientInitiatedDisconnect` and `disconnectReason` "found in
/// disconnect messages only".
pub fn lifecycle_event(thing: &str, connected: bool, version: i64, session: &str, now: OffsetDateTime) -> Value {
    let mut event = json!({
        "clientId": thing,
        "timestamp": millis(now),
        "eventType": if connected { "connected" } else { "disconnected" },
        "sessionIdentifier": session,
        "principalIdentifier": "12345678901234567890123456789012",
        "versionNumber": version,
    });
    if connected {
        event["ipAddress"] = json!("192.0.2.10");
    } else {
        event["clientInitiatedDisconnect"] = json!(false);
        event["disconnectReason"] = json!("MQTT_KEEP_ALIVE_TIMEOUT");
    }
    event
}
