//! The SMS sender: takes SMS requests off the SMS queue (put there by the outbox
//! for each committed invite's `sms_queued` line and each owner's `sms_resend`),
//! and texts the guest, at the account's pace.
//!
//! Each request is sent at most once: a sender calls SNS only under its claim on
//! the SMS item (`Store::claim_sms`), and once SNS has accepted an SMS its record is
//! retried here, in-process, rather than by failing the message (whose retry would
//! find the claim, not send again, and lose what SNS said). Throttling and SNS's
//! own failures give the claim back and put the message back on the queue after a
//! growing delay, until the code ends; only SNS's final answers (an invalid or
//! opted-out number, a country SMS may not go to) are `failed`. A code that ended
//! before its SMS went (revoked at once) is not texted. Each message is answered
//! alone (`batchItemFailures`): one that must wait never holds back the rest.

use crate::domain::ids::{IntercomId, InviteId};
use crate::domain::invite::Invite;
use crate::domain::token::LinkToken;
use crate::sms::{self, SmsError};
use crate::sms_queue::{backoff, SmsRequest};
use crate::store::invites::{SmsClaim, CLAIM_LEASE};
use crate::store::{SmsOutcome, StoreError};
use crate::Deps;
use serde::Serialize;
use serde_json::{json, Value};

#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct SendReport {
    pub sent: usize,
    pub failed: usize,
    /// Requests handled already (a redelivery), or for codes that had ended.
    pub skipped: usize,
    /// Requests put back on the queue for a later try.
    pub retried: usize,
}

/// What became of one message.
enum Handled {
    Sent,
    Failed,
    Skipped,
    /// Not now (SNS busy, another sender in flight): back on the queue.
    Later,
}

/// One SQS message, as the event source mapping hands it over.
struct Message<'e> {
    id: &'e str,
    receipt_handle: &'e str,
    receive_count: u32,
    request: Option<SmsRequest>,
}

fn messages_of(event: &Value) -> Vec<Message<'_>> {
    let records = event["Records"].as_array().map(Vec::as_slice).unwrap_or_default();
    records
        .iter()
        .filter_map(|record| {
            Some(Message {
                id: record["messageId"].as_str()?,
                receipt_handle: record["receiptHandle"].as_str().unwrap_or_default(),
                receive_count: record["attributes"]["ApproximateReceiveCount"]
                    .as_str()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(1),
                request: record["body"].as_str().and_then(|body| serde_json::from_str(body).ok()),
            })
        })
        .collect()
}

/// One batch; the answer lists the messages to try again (`ReportBatchItemFailures`).
/// It never fails as a whole: a whole-batch failure would retry the messages that
/// were sent along with the one that was not.
pub async fn run(deps: &Deps, event: &Value) -> Result<Value, std::convert::Infallible> {
    let (report, again) = handle_batch(deps, event).await;
    tracing::info!(
        sent = report.sent,
        failed = report.failed,
        skipped = report.skipped,
        retried = report.retried,
        "SMS batch handled"
    );
    let failures: Vec<Value> = again.iter().map(|id| json!({ "itemIdentifier": id })).collect();
    Ok(json!({ "batchItemFailures": failures }))
}

/// The batch's counts, and the ids of the messages to try again.
pub async fn handle_batch(deps: &Deps, event: &Value) -> (SendReport, Vec<String>) {
    let mut report = SendReport::default();
    let mut again = Vec::new();
    for message in messages_of(event) {
        let Some(request) = &message.request else {
            // Nothing a retry could change; the queue is ours, so this is a defect.
            tracing::error!(message = message.id, reason = "not an SMS request", "queue message skipped");
            report.skipped += 1;
            continue;
        };
        // Boxed: the request's future is deep (reads, claim, SNS, the record's retries),
        // and a function's `main` would otherwise nest it in its own.
        let handled = match Box::pin(handle(deps, request)).await {
            Ok(handled) => handled,
            Err(error) => {
                tracing::warn!(invite = %request.invite, %error, "SMS request not finished; it will be tried again");
                Handled::Later
            }
        };
        match handled {
            Handled::Sent => report.sent += 1,
            Handled::Failed => report.failed += 1,
            Handled::Skipped => report.skipped += 1,
            Handled::Later => {
                report.retried += 1;
                again.push(message.id.to_owned());
                let delay = backoff(message.receive_count);
                if let Err(error) = deps.sms_queue.retry_after(message.receipt_handle, delay).await {
                    // The queue's own visibility timeout applies instead.
                    tracing::warn!(%error, "SMS retry delay not set");
                }
            }
        }
    }
    (report, again)
}

async fn handle(deps: &Deps, request: &SmsRequest) -> Result<Handled, StoreError> {
    let (Some(intercom), Some(id)) = (IntercomId::parse(&request.intercom), InviteId::parse(&request.invite)) else {
        tracing::error!(reason = "malformed ids", "queue message skipped");
        return Ok(Handled::Skipped);
    };
    let number = request.request;
    let (Some(invite), Some(sms)) =
        (deps.store.invite(&intercom, &id).await?, deps.store.sms_of(&intercom, &id).await?)
    else {
        return Ok(Handled::Skipped);
    };
    if sms.handled >= number {
        return Ok(Handled::Skipped);
    }
    let now = deps.clock.now();
    let secret = sms.link_seal.as_ref().and_then(|sealed| deps.seal_keys.unseal_link(sealed, &id));
    let usable = invite.reserves_code(now);
    let (Some(secret), true) = (secret, usable) else {
        if usable {
            // A seal key dropped too early (or a damaged item): the owner can share the code another way.
            tracing::error!(invite = %id, "SMS not sent: its link was sealed under a key no longer configured");
        }
        deps.store.record_sms_outcome(&invite, number, SmsOutcome::NotSent, now).await?;
        return Ok(Handled::Skipped);
    };
    match deps.store.claim_sms(&intercom, &id, number, now).await? {
        SmsClaim::Taken => {}
        SmsClaim::Done => return Ok(Handled::Skipped),
        SmsClaim::Held { request: held, since } if held == number && now - since >= CLAIM_LEASE => {
            tracing::error!(invite = %id, "SMS outcome unknown: its sender stopped after claiming it");
            let outcome = SmsOutcome::Refused { reason: "unconfirmed" };
            deps.store.record_sms_outcome(&invite, number, outcome, now).await?;
            return Ok(Handled::Failed);
        }
        SmsClaim::Held { .. } => return Ok(Handled::Later),
    }
    let token = LinkToken::with_secret(intercom.clone(), id.clone(), secret);
    let link = sms::link(&deps.config.link_base_url, &token.expose());
    let text = crate::messages::guest_sms_of(&invite, &link);
    match deps.sms.send(&invite.guest_mobile, &text).await {
        Ok(message_id) => {
            record_sent(deps, &invite, number, &message_id).await?;
            Ok(Handled::Sent)
        }
        Err(error) if error.is_transient() => {
            tracing::warn!(invite = %id, %error, "SMS not sent yet");
            deps.store.release_sms_claim(&intercom, &id, number).await?;
            Ok(Handled::Later)
        }
        Err(error) => {
            tracing::warn!(invite = %id, %error, "SMS refused");
            let reason = match error {
                SmsError::Unreachable => "sns_unreachable",
                _ => "sns_refused",
            };
            deps.store.record_sms_outcome(&invite, number, SmsOutcome::Refused { reason }, deps.clock.now()).await?;
            Ok(Handled::Failed)
        }
    }
}

/// How often the record of an accepted SMS is tried before the message is left to
/// the queue (whose retry then finds the claim and sends nothing more).
const RECORD_TRIES: u32 = 6;

/// SNS has the SMS: its record is retried here, with growing pauses (0.1 s to
/// 3.2 s, about 6 s in all), because no later delivery can learn the message id.
async fn record_sent(deps: &Deps, invite: &Invite, number: u32, message_id: &str) -> Result<(), StoreError> {
    let mut pause = std::time::Duration::from_millis(100);
    for attempt in 1..=RECORD_TRIES {
        let outcome = SmsOutcome::Sent { message_id };
        match deps.store.record_sms_outcome(invite, number, outcome, deps.clock.now()).await {
            Ok(_) => return Ok(()),
            Err(error) if attempt == RECORD_TRIES => {
                tracing::error!(invite = %invite.id, %error, "SMS sent but its record failed");
                return Err(error);
            }
            Err(error) => tracing::warn!(invite = %invite.id, %error, attempt, "SMS sent; recording it again"),
        }
        tokio::time::sleep(pause).await;
        pause *= 2;
    }
    Ok(())
}
