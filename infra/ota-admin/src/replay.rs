//! `ota-admin replay`: the runbook's answer to a message on the outbox's dead-letter
//! queue (README, "Deploying", step 7).

use ota::domain::ids::IntercomId;
use ota::handlers::replay::{self, Outputs, ReplayWindow};
use ota::store::Store;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// How far past a dead-letter record's approximate arrivals a replay looks.
const DEAD_LETTER_MARGIN: time::Duration = time::Duration::minutes(5);

fn required(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("replay needs {name} (the stack's outputs, README step 6)"))
}

fn time_of(flag: &str, raw: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(raw, &Rfc3339).map_err(|_| format!("{flag} {raw:?} is not an RFC 3339 time"))
}

pub async fn run(sdk: &aws_config::SdkConfig, store: &Store, args: &[&str]) -> Result<(), String> {
    let (mut from, mut to, mut dead_letter, mut intercoms) = (None, None, None, Vec::new());
    let mut rest = args.iter();
    while let Some(flag) = rest.next() {
        let value = rest.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match *flag {
            "--from" => from = Some(time_of(flag, value)?),
            "--to" => to = Some(time_of(flag, value)?),
            "--dead-letter" => dead_letter = Some(*value),
            "--intercom" => {
                intercoms.push(IntercomId::parse(value).ok_or_else(|| format!("{value:?} is not an intercom id"))?)
            }
            other => return Err(format!("unknown option {other}")),
        }
    }
    let window = match (from, to, dead_letter) {
        (Some(from), Some(to), None) if from <= to => ReplayWindow { from, to },
        (None, None, Some(file)) => {
            let text = std::fs::read_to_string(file).map_err(|e| format!("{file}: {e}"))?;
            let record = serde_json::from_str(&text).map_err(|e| format!("{file}: not JSON ({e})"))?;
            ReplayWindow::of_dead_letter(&record, DEAD_LETTER_MARGIN)
                .ok_or_else(|| format!("{file}: not a DynamoDB stream's dead-letter record (no DDBStreamBatchInfo)"))?
        }
        _ => return Err("replay takes --from and --to (from first), or --dead-letter".into()),
    };
    if intercoms.is_empty() {
        intercoms = store.registered_intercoms().await.map_err(|e| e.to_string())?;
    }
    let events =
        ota::events::EventPublisher::new(aws_sdk_eventbridge::Client::new(sdk), required("OTA_EVENT_BUS_NAME")?);
    let sms_queue = ota::sms_queue::SmsQueue::new(aws_sdk_sqs::Client::new(sdk), required("OTA_SMS_QUEUE_URL")?);
    let outputs = Outputs { store, events: &events, sms_queue: &sms_queue };
    let report = replay::run(&outputs, &intercoms, window)
        .await
        .map_err(|e| format!("{e} (run it again: a replay is safe to repeat)"))?;
    println!(
        "replayed {} to {}: {} intercom(s), {} histories, {} facts delivered again, {} SMS queued again",
        window.from.format(&Rfc3339).unwrap_or_default(),
        window.to.format(&Rfc3339).unwrap_or_default(),
        report.intercoms,
        report.histories,
        report.facts,
        report.sms
    );
    Ok(())
}
