//! Each intercom's gate number, kept as its check on the registry item: the current
//! one, and the one a rotation replaced with the end of its grace. Read by the guest's
//! redemption before anything is counted; written by provisioning (the admin tool,
//! the local stack's seed, the tests), and rewritten under the current key by the
//! first guest whose number was accepted under an unkeyed check or an old key.

use super::attributes::*;
use super::{request_failed, Store, StoreError};
use crate::domain::gate_number::{GateNumberCheck, GateNumbers, Kept, ROTATION_GRACE};
use crate::domain::ids::IntercomId;
use crate::keys;
use time::OffsetDateTime;

const GATE_NUMBER: &str = "gate_number";
const PREVIOUS_GATE_NUMBER: &str = "previous_gate_number";
const PREVIOUS_GATE_NUMBER_UNTIL: &str = "previous_gate_number_until";

fn gate_numbers_from_item(item: &Item) -> Result<Option<GateNumbers>, ItemError> {
    let check = |item: &Item, name: &str| get_s(item, name).map(|check| GateNumberCheck(check.to_owned()));
    let Some(current) = get_optional(item, GATE_NUMBER, check)? else { return Ok(None) };
    let previous = match get_optional(item, PREVIOUS_GATE_NUMBER, check)? {
        Some(previous) => Some((previous, get_time(item, PREVIOUS_GATE_NUMBER_UNTIL)?)),
        None => None,
    };
    Ok(Some(GateNumbers { current, previous }))
}

/// What the registry says of an intercom's gate numbers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GateNumbersFound {
    /// No registry item: the intercom does not exist.
    NoIntercom,
    /// Registered, but given no gate number yet: no redemption can prove presence.
    NotSet,
    Set(GateNumbers),
}

impl Store {
    /// One eventually consistent read (a rotation reaches every reader within a
    /// second; the old number works for days after it).
    pub async fn gate_numbers(&self, intercom: &IntercomId) -> Result<GateNumbersFound, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::intercom_pk(intercom), keys::META_SK)))
            // The id too: a registered intercom with no number yet must still come back
            // as an item, told apart from no intercom at all.
            .projection_expression("#id, #current, #previous, #until")
            .expression_attribute_names("#id", names::INTERCOM_ID)
            .expression_attribute_names("#current", GATE_NUMBER)
            .expression_attribute_names("#previous", PREVIOUS_GATE_NUMBER)
            .expression_attribute_names("#until", PREVIOUS_GATE_NUMBER_UNTIL)
            .send()
            .await
            .map_err(request_failed)?;
        Ok(match output.item() {
            None => GateNumbersFound::NoIntercom,
            Some(item) => match gate_numbers_from_item(item)? {
                None => GateNumbersFound::NotSet,
                Some(numbers) => GateNumbersFound::Set(numbers),
            },
        })
    }

    /// Gives a registered intercom a new gate number: the current one becomes the
    /// previous one, accepted for [`ROTATION_GRACE`] more (a number replaced before
    /// that is dropped at once: two rotations in a row leave the last two). `false`:
    /// no such intercom. A rotation racing another fails its condition; the admin
    /// tool then says so, and running it again decides.
    pub async fn rotate_gate_number(
        &self,
        intercom: &IntercomId,
        check: &GateNumberCheck,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::intercom_pk(intercom), keys::META_SK)))
            .expression_attribute_names("#current", GATE_NUMBER)
            .expression_attribute_names("#previous", PREVIOUS_GATE_NUMBER)
            .expression_attribute_names("#until", PREVIOUS_GATE_NUMBER_UNTIL)
            .expression_attribute_values(":new", s(&check.0));
        let request = match self.gate_numbers(intercom).await? {
            GateNumbersFound::NoIntercom => return Ok(false),
            GateNumbersFound::NotSet => request
                .update_expression("SET #current = :new REMOVE #previous, #until")
                .condition_expression("attribute_exists(intercom_id) AND attribute_not_exists(#current)"),
            GateNumbersFound::Set(numbers) => request
                .update_expression("SET #previous = #current, #until = :until, #current = :new")
                .condition_expression("#current = :old")
                .expression_attribute_values(":old", s(numbers.current.0))
                .expression_attribute_values(":until", epoch(now + ROTATION_GRACE)),
        };
        request.send().await.map_err(request_failed)?;
        Ok(true)
    }

    /// Writes `fresh` over the kept check `kept` (a number accepted under an unkeyed
    /// check or an old key), only if it is still kept: a rotation in between wins.
    /// `false` if it was not.
    pub async fn rehash_gate_number(
        &self,
        intercom: &IntercomId,
        which: Kept,
        kept: &GateNumberCheck,
        fresh: &GateNumberCheck,
    ) -> Result<bool, StoreError> {
        let attribute = match which {
            Kept::Current => GATE_NUMBER,
            Kept::Previous => PREVIOUS_GATE_NUMBER,
        };
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::intercom_pk(intercom), keys::META_SK)))
            .update_expression("SET #check = :fresh")
            .condition_expression("#check = :kept")
            .expression_attribute_names("#check", attribute)
            .expression_attribute_values(":fresh", s(&fresh.0))
            .expression_attribute_values(":kept", s(&kept.0))
            .send()
            .await;
        super::written(result)
    }
}
