//! The SMS sender: a consumer of the table's stream that sends the guest's SMS once
//! its invite has committed (its SMS item's `sms_queued` line) and again for each
//! owner's resend (an `sms_resend` line), and records what SNS said on that item.
//!
//! Each request is sent at most once in the normal course: before sending, the SMS
//! item is read (consistently) and a request it records as handled is skipped; the
//! outcome is recorded only if no other delivery recorded it first. Only a sender
//! that dies between SNS's answer and that record sends a second SMS on the retry.
//! A code that ended before its SMS went (revoked at once) is not texted.

use crate::domain::ids::{IntercomId, InviteId};
use crate::domain::token::LinkToken;
use crate::sms::{self, SmsError};
use crate::store::stream_image::changes;
use crate::store::{SmsOutcome, StoreError};
use crate::Deps;
use serde::Serialize;

#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct SendReport {
    pub sent: usize,
    pub failed: usize,
    /// Requests handled already (a redelivery), or for codes that had ended.
    pub skipped: usize,
}

/// The SMS requests a stream event's changes of SMS items made: (intercom, invite, request number).
pub fn requests_of(event: &serde_json::Value) -> Vec<(IntercomId, InviteId, u32)> {
    let mut requests = Vec::new();
    for change in changes(event) {
        let (Some((intercom, invite)), Some(new)) = (change.sms_key(), change.new.as_ref()) else { continue };
        let lines = new.get(crate::store::attributes::names::HISTORY).and_then(|l| l.as_l().ok());
        let mut number = 0;
        for (index, line) in lines.into_iter().flatten().enumerate() {
            let event = line.as_s().ok().and_then(|l| l.split(' ').nth(1));
            if matches!(event, Some("sms_queued" | "sms_resend")) {
                number += 1;
                if index >= change.history_before() {
                    requests.push((intercom.clone(), invite.clone(), number));
                }
            }
        }
    }
    requests
}

pub async fn run(deps: &Deps, event: &serde_json::Value) -> Result<SendReport, StoreError> {
    let mut report = SendReport::default();
    for (intercom, invite, request) in requests_of(event) {
        match send(deps, &intercom, &invite, request).await? {
            Some(true) => report.sent += 1,
            Some(false) => report.failed += 1,
            None => report.skipped += 1,
        }
    }
    tracing::info!(sent = report.sent, failed = report.failed, skipped = report.skipped, "SMS batch handled");
    Ok(report)
}

/// Whether SNS took the SMS; `None` if nothing was sent.
async fn send(deps: &Deps, intercom: &IntercomId, id: &InviteId, request: u32) -> Result<Option<bool>, StoreError> {
    let (Some(invite), Some(sms)) = (deps.store.invite(intercom, id).await?, deps.store.sms_of(intercom, id).await?)
    else {
        return Ok(None);
    };
    if sms.handled >= request {
        return Ok(None);
    }
    let now = deps.clock.now();
    let secret = sms.link_seal.as_ref().and_then(|sealed| deps.seal_keys.unseal_link(sealed, id));
    let usable = invite.reserves_code(now);
    let (Some(secret), true) = (secret, usable) else {
        if usable {
            // A seal key dropped too early (or a damaged item): the owner can share the code another way.
            tracing::error!(invite = %id, "SMS not sent: its link was sealed under a key no longer configured");
        }
        deps.store.record_sms_outcome(intercom, id, request, SmsOutcome::NotSent, now).await?;
        return Ok(None);
    };
    let token = LinkToken::with_secret(intercom.clone(), id.clone(), secret);
    let link = sms::link(&deps.config.link_base_url, &token.expose());
    let minutes = u32::try_from((invite.expires_at - invite.created_at).whole_minutes()).unwrap_or(u32::MAX);
    let text = sms::guest_sms(&invite.guest_name, &invite.code, &link, minutes);
    match deps.sms.send(&invite.guest_mobile, &text).await {
        Ok(message_id) => {
            let kept_until = invite.exit_closes_at.saturating_add(crate::store::invites::INVITE_RETENTION);
            deps.store.remember_sms_message(&message_id, intercom, id, kept_until).await?;
            let outcome = SmsOutcome::Sent { message_id: &message_id };
            deps.store.record_sms_outcome(intercom, id, request, outcome, deps.clock.now()).await?;
            Ok(Some(true))
        }
        Err(error) => {
            tracing::warn!(invite = %id, %error, "SMS not sent");
            let reason = match error {
                SmsError::Refused { .. } | SmsError::Request => "sns_refused",
                SmsError::Unreachable => "sns_unreachable",
            };
            let outcome = SmsOutcome::Refused { reason };
            deps.store.record_sms_outcome(intercom, id, request, outcome, deps.clock.now()).await?;
            Ok(Some(false))
        }
    }
}
