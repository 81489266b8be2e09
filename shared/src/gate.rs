//! Opening a gate: a door command (`domain::command`) written to the desired state
//! of the gate's `ota` named shadow in IoT Core.
//!
//! IoT Core accepts a shadow update whether or not the gate is online, so success
//! here means only "the command is in the shadow"; the gate's own report decides
//! whether it opened (`handlers::gate_events`).
//!
//! The SDK's own retries are off for these calls, whatever the client's
//! configuration, and done here instead, because what a failure means depends on every try before it:
//! an update that timed out may have been applied, so a later clear refusal (a 429,
//! say) does not prove that nothing was written. Only when every try was refused
//! outright may the caller give the passage back at once.

use crate::domain::command::{DoorCommand, SHADOW_NAME};
use crate::domain::ids::ThingName;
use aws_sdk_iotdataplane::primitives::Blob;
use aws_sdk_iotdataplane::Client;
use aws_smithy_types::retry::RetryConfig;
use std::time::Duration;

/// Tries of one shadow update, and the pause before each retry.
const TRIES: u32 = 3;
const RETRY_PAUSE: Duration = Duration::from_millis(100);

/// The longest [`GateOpener::open`] can take: every try up to its attempt timeout,
/// plus the pauses. Counted in each gate function's timeout (see the template).
pub const OPEN_TIMEOUT: Duration = Duration::from_millis(
    crate::aws::ATTEMPT_TIMEOUT.as_millis() as u64 * TRIES as u64 + RETRY_PAUSE.as_millis() as u64 * (TRIES as u64 - 1),
);

/// Why a gate's shadow update did not succeed. Only the error code is kept: an
/// SDK message may quote the request.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum GateError {
    /// IoT Core answered every try that it did not apply the update (a 4xx: unknown
    /// thing, no permission, throttled): nothing was written.
    #[error("IoT Core refused the shadow update ({code})")]
    Refused { code: String },
    /// Some try got no clear answer (timeout, lost connection, a 5xx): the update
    /// may have been applied, so the passage must not be given back before its
    /// command lapses.
    #[error("IoT Core did not answer clearly; the command may have been applied")]
    Ambiguous,
}

/// What one try's error says.
fn classify<E: aws_sdk_iotdataplane::error::ProvideErrorMetadata>(
    error: &aws_sdk_iotdataplane::error::SdkError<E, aws_smithy_runtime_api::http::Response>,
) -> GateError {
    use aws_sdk_iotdataplane::error::{ProvideErrorMetadata, SdkError};
    match error {
        SdkError::ServiceError(service) if service.raw().status().is_client_error() => {
            GateError::Refused { code: error.code().unwrap_or("unknown").to_owned() }
        }
        // The request was never sent.
        SdkError::ConstructionFailure(_) => GateError::Refused { code: "request not built".into() },
        _ => GateError::Ambiguous,
    }
}

#[derive(Clone)]
pub struct GateOpener {
    client: Client,
}

impl GateOpener {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    pub async fn open(&self, thing: &ThingName, command: &DoorCommand) -> Result<(), GateError> {
        let payload = command.shadow_document().to_string();
        let mut ambiguous = false;
        let mut last = GateError::Ambiguous;
        for try_number in 0..TRIES {
            if try_number > 0 {
                tokio::time::sleep(RETRY_PAUSE).await;
            }
            let sent = self
                .client
                .update_thing_shadow()
                .thing_name(thing.as_str())
                .shadow_name(SHADOW_NAME)
                .payload(Blob::new(payload.clone()))
                .customize()
                .config_override(aws_sdk_iotdataplane::config::Builder::default().retry_config(RetryConfig::disabled()))
                .send()
                .await;
            let error = match sent {
                Ok(_) => return Ok(()),
                Err(error) => classify(&error),
            };
            // An unknown thing or a denied call will not change on a retry.
            let retryable = match &error {
                GateError::Refused { code } => code == "ThrottlingException" || code == "ServiceUnavailableException",
                GateError::Ambiguous => true,
            };
            ambiguous |= error == GateError::Ambiguous;
            last = error;
            if !retryable {
                break;
            }
        }
        if ambiguous {
            Err(GateError::Ambiguous)
        } else {
            Err(last)
        }
    }
}

/// Rounds of a withdrawal that raced another update of the same shadow.
const WITHDRAW_ROUNDS: u32 = 3;

impl GateOpener {
    /// Withdraws `command` from the gate: lists its id under the `ota` shadow's
    /// `desired.withdrawn` (with its not-after; entries whose not-after passed are
    /// dropped in the same update, so the list stays short), and takes it out of
    /// `desired.command` if it is still the one there (another guest's newer command
    /// stays). A gate that has not acted on it yet (slow, offline, reading late) then
    /// never will, by the firmware contract's rule 2, even if a newer command
    /// replaced it in the shadow. One read, and one update guarded by the shadow's
    /// version. Returns whether the command was still the shadow's.
    pub async fn withdraw(
        &self,
        thing: &ThingName,
        command: &DoorCommand,
        now: time::OffsetDateTime,
    ) -> Result<bool, GateError> {
        let id = command.id.to_string();
        for _ in 0..WITHDRAW_ROUNDS {
            let read = self.client.get_thing_shadow().thing_name(thing.as_str()).shadow_name(SHADOW_NAME).send().await;
            let document: serde_json::Value = match read {
                Ok(shadow) => {
                    shadow.payload().and_then(|p| serde_json::from_slice(p.as_ref()).ok()).unwrap_or_default()
                }
                // No shadow yet: nothing was ever sent there; the update creates it.
                Err(error) if is_not_found(&error) => serde_json::Value::Null,
                Err(error) => return Err(classify(&error)),
            };
            let desired = &document["state"]["desired"];
            let current = desired["command"]["id"].as_str() == Some(id.as_str());
            let now = now.unix_timestamp();
            let mut withdrawn = serde_json::Map::new();
            for (old, not_after) in desired["withdrawn"].as_object().into_iter().flatten() {
                if not_after.as_i64().is_none_or(|not_after| not_after < now) {
                    withdrawn.insert(old.clone(), serde_json::Value::Null);
                }
            }
            withdrawn.insert(id.clone(), serde_json::json!(command.not_after.unix_timestamp()));
            let mut update = serde_json::json!({ "state": { "desired": { "withdrawn": withdrawn } } });
            if current {
                update["state"]["desired"]["command"] = serde_json::Value::Null;
            }
            if let Some(version) = document["version"].as_i64() {
                update["version"] = serde_json::json!(version);
            }
            let sent = self
                .client
                .update_thing_shadow()
                .thing_name(thing.as_str())
                .shadow_name(SHADOW_NAME)
                .payload(Blob::new(update.to_string()))
                .send()
                .await;
            match sent {
                Ok(_) => return Ok(current),
                // Another update came first: look again.
                Err(error) if is_version_conflict(&error) => continue,
                Err(error) => return Err(classify(&error)),
            }
        }
        Err(GateError::Ambiguous)
    }
}

fn is_not_found<E>(error: &aws_sdk_iotdataplane::error::SdkError<E, aws_smithy_runtime_api::http::Response>) -> bool {
    matches!(error, aws_sdk_iotdataplane::error::SdkError::ServiceError(service) if service.raw().status().as_u16() == 404)
}

fn is_version_conflict<E>(
    error: &aws_sdk_iotdataplane::error::SdkError<E, aws_smithy_runtime_api::http::Response>,
) -> bool {
    matches!(error, aws_sdk_iotdataplane::error::SdkError::ServiceError(service) if service.raw().status().as_u16() == 409)
}
