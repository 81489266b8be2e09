//! Opening a gate: a command written to the gate device's IoT Core shadow.
//!
//! A gate that was offline may read its shadow minutes later. Each command
//! therefore carries an id (a gate acts on an id once) and a `not_after` time
//! (a gate ignores a command read later), so a late delivery opens nothing.

use crate::domain::ids::{InviteId, ThingName};
use crate::domain::invite::Redemption;
use crate::domain::token::hex;
use aws_sdk_iotdataplane::primitives::Blob;
use aws_sdk_iotdataplane::Client;
use rand::RngCore;
use serde_json::json;
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
    pub fn new(redemption: Redemption, invite_id: InviteId, now: OffsetDateTime) -> Self {
        let mut id = [0u8; 16];
        rand::rng().fill_bytes(&mut id);
        Self { id: hex(&id), redemption, invite_id, issued_at: now, not_after: now + COMMAND_VALIDITY }
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

/// Why a gate's shadow was not updated. `Unreachable` is ambiguous: the update may
/// have been applied before the answer was lost.
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    #[error("IoT Core refused the shadow update ({code})")]
    Refused { code: String },
    #[error("IoT Core could not be reached or did not answer in time")]
    Unreachable,
}

impl<E: aws_sdk_iotdataplane::error::ProvideErrorMetadata, R> From<aws_sdk_iotdataplane::error::SdkError<E, R>>
    for GateError
{
    fn from(error: aws_sdk_iotdataplane::error::SdkError<E, R>) -> Self {
        use aws_sdk_iotdataplane::error::ProvideErrorMetadata;
        match error.code() {
            Some(code) => Self::Refused { code: code.to_owned() },
            None => Self::Unreachable,
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
    fn commands_expire_shortly_after_issue_and_have_unique_ids() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let a = DoorCommand::new(Redemption::Entry, InviteId::generate(now), now);
        let b = DoorCommand::new(Redemption::Entry, InviteId::generate(now), now);
        assert_ne!(a.id, b.id);
        let doc = a.shadow_document();
        assert_eq!(doc["state"]["desired"]["ota_command"]["not_after"], 30);
        assert_eq!(doc["state"]["desired"]["ota_command"]["action"], "open");
    }
}
