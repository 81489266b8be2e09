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

/// Rounds of a withdrawal that raced another update of the same shadow.
const WITHDRAW_ROUNDS: u32 = 3;

impl GateOpener {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// An update of the gate's `ota` shadow with `document`.
    fn update(
        &self,
        thing: &ThingName,
        document: &serde_json::Value,
    ) -> aws_sdk_iotdataplane::operation::update_thing_shadow::builders::UpdateThingShadowFluentBuilder {
        self.client
            .update_thing_shadow()
            .thing_name(thing.as_str())
            .shadow_name(SHADOW_NAME)
            .payload(Blob::new(document.to_string()))
    }

    pub async fn open(&self, thing: &ThingName, command: &DoorCommand) -> Result<(), GateError> {
        let document = command.shadow_document();
        let mut ambiguous = false;
        let mut last = GateError::Ambiguous;
        for try_number in 0..TRIES {
            if try_number > 0 {
                tokio::time::sleep(RETRY_PAUSE).await;
            }
            let sent = self
                .update(thing, &document)
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

    /// Withdraws `command` from the gate (`DoorCommand::withdrawal_document`): a gate
    /// that has not acted on it yet (slow, offline, reading late) then never will, by
    /// the firmware contract's rule 2, even if a newer command replaced it in the
    /// shadow. One read, and one update guarded by the shadow's version. Returns
    /// whether the command was still the shadow's.
    pub async fn withdraw(
        &self,
        thing: &ThingName,
        command: &DoorCommand,
        now: time::OffsetDateTime,
    ) -> Result<bool, GateError> {
        for _ in 0..WITHDRAW_ROUNDS {
            let read = self.client.get_thing_shadow().thing_name(thing.as_str()).shadow_name(SHADOW_NAME).send().await;
            let shadow: serde_json::Value = match read {
                Ok(shadow) => {
                    shadow.payload().and_then(|p| serde_json::from_slice(p.as_ref()).ok()).unwrap_or_default()
                }
                // No shadow yet: nothing was ever sent there; the update creates it.
                Err(error) if status_of(&error) == Some(404) => serde_json::Value::Null,
                Err(error) => return Err(classify(&error)),
            };
            let (document, current) = command.withdrawal_document(&shadow, now);
            match self.update(thing, &document).send().await {
                Ok(_) => return Ok(current),
                // Another update came first: look again.
                Err(error) if status_of(&error) == Some(409) => continue,
                Err(error) => return Err(classify(&error)),
            }
        }
        Err(GateError::Ambiguous)
    }
}

/// The HTTP status of IoT Core's answer, if it answered.
fn status_of<E>(
    error: &aws_sdk_iotdataplane::error::SdkError<E, aws_smithy_runtime_api::http::Response>,
) -> Option<u16> {
    match error {
        aws_sdk_iotdataplane::error::SdkError::ServiceError(service) => Some(service.raw().status().as_u16()),
        _ => None,
    }
}
