//! SMS delivery reports: SNS writes one log line per SMS sent straight to a number
//! (`sns/<region>/<account>/DirectPublishToPhoneNumber`, and `…/Failure`) once the
//! account's SMS preferences name a delivery-status role; a CloudWatch Logs
//! subscription hands them here, gzipped. Each is matched to its invite by the SNS
//! message id and recorded once (delivered, or failed with the carrier's reason
//! class); the stream then makes that a fact like any other.
//!
//! The destination number in a report never reaches a log.

use crate::store::StoreError;
use crate::Deps;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::Serialize;
use serde_json::Value;
use std::io::Read;
use time::OffsetDateTime;

#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct StatusReport {
    pub recorded: usize,
    /// Reports of messages that are no invite's (another sender in the account), or
    /// recorded already (a redelivery), or of an SMS a resend has replaced.
    pub ignored: usize,
}

/// One delivery report.
#[derive(Debug, PartialEq, Eq)]
pub struct DeliveryReport {
    pub message_id: String,
    /// `None`: delivered; otherwise the failure's class.
    pub failure: Option<&'static str>,
    pub at: OffsetDateTime,
}

/// The class of a carrier's or SNS's answer, from the report's `providerResponse`
/// (free text, so matched by what it says).
pub fn failure_class(provider_response: &str) -> &'static str {
    let said = provider_response.to_ascii_lowercase();
    if said.contains("invalid") || said.contains("not valid") || said.contains("unknown subscriber") {
        "invalid_number"
    } else if said.contains("opted out") {
        "opted_out"
    } else if said.contains("blocked") || said.contains("spam") || said.contains("filtered") {
        "carrier_blocked"
    } else if said.contains("unreachable") || said.contains("unavailable") || said.contains("ttl expired") {
        "unreachable"
    } else if said.contains("price") || said.contains("spend") || said.contains("limit") {
        "spend_limit"
    } else {
        "carrier_rejected"
    }
}

/// The reports of a subscription event (`{"awslogs": {"data": base64(gzip(…))}}`).
/// A line that is no report is skipped.
pub fn reports_of(event: &Value) -> Result<Vec<DeliveryReport>, String> {
    let data = event.pointer("/awslogs/data").and_then(Value::as_str).ok_or("no awslogs.data")?;
    let zipped = STANDARD.decode(data).map_err(|_| "awslogs.data is not base64")?;
    let mut text = String::new();
    flate2::read::GzDecoder::new(zipped.as_slice()).read_to_string(&mut text).map_err(|_| "not gzip")?;
    let batch: Value = serde_json::from_str(&text).map_err(|_| "not JSON")?;
    let lines = batch.get("logEvents").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    Ok(lines
        .iter()
        .filter_map(|line| {
            let report: Value = serde_json::from_str(line.get("message")?.as_str()?).ok()?;
            let message_id = report.pointer("/notification/messageId")?.as_str()?.to_owned();
            let failure = match report.get("status")?.as_str()? {
                "SUCCESS" => None,
                _ => Some(failure_class(report.pointer("/delivery/providerResponse")?.as_str().unwrap_or_default())),
            };
            let millis = line.get("timestamp").and_then(Value::as_i64).unwrap_or_default();
            let at = OffsetDateTime::from_unix_timestamp(millis / 1000).ok()?;
            Some(DeliveryReport { message_id, failure, at })
        })
        .collect())
}

pub async fn run(deps: &Deps, event: &Value) -> Result<StatusReport, StoreError> {
    let reports = match reports_of(event) {
        Ok(reports) => reports,
        Err(reason) => {
            // Not a subscription's delivery: retrying cannot help.
            tracing::error!(reason, "not a CloudWatch Logs subscription event");
            return Ok(StatusReport::default());
        }
    };
    let mut report = StatusReport::default();
    for delivery in reports {
        let recorded = match deps.store.sms_message_invite(&delivery.message_id).await? {
            Some((intercom, invite)) => {
                deps.store
                    .record_sms_delivery(&intercom, &invite, &delivery.message_id, delivery.failure, delivery.at)
                    .await?
            }
            None => false,
        };
        if recorded {
            report.recorded += 1;
        } else {
            report.ignored += 1;
        }
    }
    tracing::info!(recorded = report.recorded, ignored = report.ignored, "SMS delivery reports handled");
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carrier_answers_fall_into_a_few_classes() {
        assert_eq!(failure_class("Phone is currently unreachable/unavailable"), "unreachable");
        assert_eq!(failure_class("Invalid phone number"), "invalid_number");
        assert_eq!(failure_class("Phone carrier has blocked this message"), "carrier_blocked");
        assert_eq!(failure_class("Phone has blocked SMS"), "carrier_blocked");
        assert_eq!(failure_class("This phone number has opted out"), "opted_out");
        assert_eq!(failure_class("Unknown error attempting to reach phone"), "carrier_rejected");
    }
}
