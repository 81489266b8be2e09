//! Opening a gate: a command written to the gate device's IoT Core shadow.
//!
//! A gate that was offline may read its shadow minutes later. Each command
//! therefore carries an id (a gate acts on an id once) and a `not_after` time
//! (a gate ignores a command read later), so a late delivery opens nothing.
//!
//! The id is derived from the attempt that consumed the entry (exit) and the time
//! that attempt was recorded, both stored in that same write: every repeat of the
//! attempt (an SDK retry, the page's retry, a Lambda retry) sends the very same
//! command, so a gate opens once per entry and per exit whatever was lost.

use crate::domain::ids::{InviteId, ThingName};
use crate::domain::invite::{AttemptKey, Redemption};
use crate::domain::token::hex;
use aws_sdk_iotdataplane::primitives::Blob;
use aws_sdk_iotdataplane::Client;
use serde_json::json;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// How long after it was issued a gate may still act on a command.
pub const COMMAND_VALIDITY: time::Duration = time::Duration::seconds(30);

#[derive(Debug, Clone)]
pub struct DoorCommand {
    pub id: String,
    pub redemption: Redemption,
    pub invite_id: InviteId,
    pub issued_at: OffsetDateTime,
    pub not_after: OffsetDateTime,
}

impl DoorCommand {
    /// The command of the attempt stored under `attempt`, recorded at `issued_at`.
    pub fn for_attempt(
        redemption: Redemption,
        invite_id: InviteId,
        attempt: &AttemptKey,
        issued_at: OffsetDateTime,
    ) -> Self {
        let digest = Sha256::new()
            .chain_update(b"ota-door-command\0")
            .chain_update(invite_id.as_str())
            .chain_update([0])
            .chain_update(attempt.as_str())
            .chain_update([0])
            .chain_update(issued_at.unix_timestamp().to_be_bytes())
            .finalize();
        Self { id: hex(&digest[..16]), redemption, invite_id, issued_at, not_after: issued_at + COMMAND_VALIDITY }
    }

    /// Whether a gate would still act on it.
    pub fn still_valid(&self, now: OffsetDateTime) -> bool {
        now < self.not_after
    }

    /// The desired-state document the gate firmware reads.
    pub fn shadow_document(&self) -> serde_json::Value {
        json!({
            "state": {
                "desired": {
                    "ota_command": {
                        "id": self.id,
                        "action": "open",
                        "reason": self.redemption.as_str(),
                        "invite_id": self.invite_id.as_str(),
                        "issued_at": self.issued_at.unix_timestamp(),
                        "not_after": self.not_after.unix_timestamp(),
                    }
                }
            }
        })
    }
}

/// Why a gate's shadow update did not succeed. Only the error code is kept: an
/// SDK message may quote the request.
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    /// IoT Core answered that it did not apply the update (a 4xx: unknown thing,
    /// no permission, throttled): nothing was written.
    #[error("IoT Core refused the shadow update ({code})")]
    Refused { code: String },
    /// No clear answer (timeout, lost connection, a 5xx): the update may have been
    /// applied, so the redemption must not be given back.
    #[error("IoT Core did not answer clearly; the command may have been applied")]
    Ambiguous,
}

impl<E: aws_sdk_iotdataplane::error::ProvideErrorMetadata>
    From<aws_sdk_iotdataplane::error::SdkError<E, aws_smithy_runtime_api::http::Response>> for GateError
{
    fn from(error: aws_sdk_iotdataplane::error::SdkError<E, aws_smithy_runtime_api::http::Response>) -> Self {
        use aws_sdk_iotdataplane::error::{ProvideErrorMetadata, SdkError};
        match &error {
            SdkError::ServiceError(service) if service.raw().status().is_client_error() => {
                Self::Refused { code: error.code().unwrap_or("unknown").to_owned() }
            }
            // The request was never sent.
            SdkError::ConstructionFailure(_) => Self::Refused { code: "request not built".into() },
            _ => Self::Ambiguous,
        }
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
        self.client
            .update_thing_shadow()
            .thing_name(thing.as_str())
            .payload(Blob::new(command.shadow_document().to_string()))
            .send()
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_expire_shortly_after_issue_and_one_attempt_always_gets_the_same_id() {
        use crate::domain::code::AccessCode;
        use crate::domain::invite::AttemptId;
        let now = OffsetDateTime::UNIX_EPOCH;
        let invite = InviteId::generate(now);
        let code = AccessCode::parse("4821").unwrap();
        let press = AttemptId::generate().key(Redemption::Entry, &code);
        let a = DoorCommand::for_attempt(Redemption::Entry, invite.clone(), &press, now);
        let again = DoorCommand::for_attempt(Redemption::Entry, invite.clone(), &press, now);
        let other = AttemptId::generate().key(Redemption::Entry, &code);
        let b = DoorCommand::for_attempt(Redemption::Entry, invite, &other, now);
        assert_eq!(a.id, again.id);
        assert_ne!(a.id, b.id);
        assert!(a.still_valid(now) && !a.still_valid(a.not_after));
        let doc = a.shadow_document();
        assert_eq!(doc["state"]["desired"]["ota_command"]["not_after"], 30);
        assert_eq!(doc["state"]["desired"]["ota_command"]["action"], "open");
    }
}
