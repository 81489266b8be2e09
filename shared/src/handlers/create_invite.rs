//! `POST /intercoms/{intercomId}/codes` — owner or shared user: a code for one guest.
//!
//! Two DynamoDB requests: one consistent Query of the intercom's partition (settings,
//! membership, live codes, this caller's idempotency record), then one transaction
//! that writes the invite only if the intercom's version has not moved since that
//! Query. Then one SNS publish. A third write happens only when SNS refuses the SMS,
//! to record that.
//!
//! `Idempotency-Key`: a retry with the same key and body returns the same invite
//! (same code, same link) and sends no second SMS. The link's secret is kept for
//! that replay sealed with a pad derived from the key, which the table never
//! stores, so the table alone never yields a working link.

use super::{intercom_in_path, remaining_seconds, rfc3339};
use crate::domain::code::AccessCode;
use crate::domain::guest::{GuestName, GuestNameError};
use crate::domain::ids::{DeviceId, InviteId, UserId};
use crate::domain::invite::{GateSnapshot, Invite, InviteState, SmsStatus};
use crate::domain::phone::{Mobile, MobileError};
use crate::domain::settings::{Intercom, Settings};
use crate::domain::token::{hex, LinkToken};
use crate::error::ApiError;
use crate::http::{caller, header_value, json_body, respond};
use crate::sms;
use crate::store::CreateOutcome;
use crate::store::IdempotencyRecord;
use crate::Deps;
use lambda_http::http::{header, StatusCode};
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use time::OffsetDateTime;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateInviteBody {
    name: String,
    mobile: String,
}

/// Reads again up to this many times when parallel creates race for the intercom;
/// each loser waits a little (random, growing) so the next round has a winner.
const ATTEMPTS: u32 = 8;

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    respond(create(deps, &req).await)
}

/// A client-chosen retry key, 16 to 128 printable ASCII characters (a UUID fits).
/// It must be unguessable: it seals the link secret kept for replays.
struct IdempotencyKey(String);

impl IdempotencyKey {
    fn parse(raw: &str) -> Result<Self, ApiError> {
        let valid = (16..=128).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_graphic());
        valid.then(|| Self(raw.to_owned())).ok_or_else(|| {
            ApiError::invalid(
                "Idempotency-Key",
                "Idempotency-Key must be 16 to 128 printable ASCII characters, e.g. a UUID",
            )
        })
    }

    fn record_hash(&self, user: &UserId) -> String {
        hex(&Sha256::new().chain_update(user.as_str()).chain_update([0]).chain_update(&self.0).finalize())
    }

    fn seal_pad(&self, user: &UserId, invite: &InviteId) -> [u8; 16] {
        let digest = Sha256::new()
            .chain_update(b"ota-link-seal\0")
            .chain_update(&self.0)
            .chain_update([0])
            .chain_update(user.as_str())
            .chain_update([0])
            .chain_update(invite.as_str())
            .finalize();
        let mut pad = [0u8; 16];
        pad.copy_from_slice(&digest[..16]);
        pad
    }
}

fn xor16(a: &[u8], b: &[u8; 16]) -> Option<[u8; 16]> {
    let a: &[u8; 16] = a.try_into().ok()?;
    Some(std::array::from_fn(|i| a[i] ^ b[i]))
}

fn fingerprint(name: &GuestName, mobile: &Mobile) -> String {
    hex(&Sha256::new().chain_update(name.as_str()).chain_update([0]).chain_update(mobile.e164()).finalize())
}

async fn create(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let user = caller(req)?;
    let intercom_id = intercom_in_path(req)?;
    let body: CreateInviteBody = json_body(req)?;
    let name = GuestName::parse(&body.name).map_err(|e| {
        ApiError::invalid(
            "name",
            match e {
                GuestNameError::Empty => "the guest's name is required",
                GuestNameError::TooLong => "the guest's name must be at most 60 characters",
                GuestNameError::InvisibleCharacters => "the guest's name contains invisible or control characters",
            },
        )
    })?;
    let mobile = Mobile::parse(&body.mobile, &deps.phone_book).map_err(|e| {
        ApiError::invalid(
            "mobile",
            match e {
                MobileError::Invalid => "the mobile number is not a valid phone number",
                MobileError::NotMobile => "the number cannot receive SMS; give the guest's mobile number",
            },
        )
    })?;
    let idempotency = header_value(req, "idempotency-key").map(IdempotencyKey::parse).transpose()?;
    let fingerprint = fingerprint(&name, &mobile);

    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            let jitter = rand::Rng::random_range(&mut rand::rng(), 5..=25) * u64::from(attempt);
            tokio::time::sleep(std::time::Duration::from_millis(jitter)).await;
        }
        let now = deps.clock.now();
        let partition = deps.store.load_partition(&intercom_id, now).await?;
        partition.role_of(&user).ok_or(ApiError::Forbidden)?;
        let intercom = partition.intercom.as_ref().ok_or(ApiError::Forbidden)?;

        if let Some(key) = &idempotency {
            if let Some(record) = partition.idempotency.get(&key.record_hash(&user)) {
                return replay(deps, intercom, &partition.invites, key, record, &user, &fingerprint);
            }
        }

        let settings = intercom.settings.as_ref().ok_or(ApiError::SettingsNotConfigured)?;
        let live = partition.invites.iter().filter(|i| i.holds_slot(now)).count();
        if live >= settings.max_users as usize {
            return Err(ApiError::LimitReached { max_users: settings.max_users });
        }
        let taken: HashSet<AccessCode> =
            partition.invites.iter().filter(|i| i.reserves_code(now)).map(|i| i.code.clone()).collect();
        let code =
            AccessCode::generate_avoiding(&taken).ok_or(ApiError::LimitReached { max_users: settings.max_users })?;
        let (invite, token) = draft_invite(intercom, settings, &user, &name, &mobile, code, now)?;
        let record = idempotency.as_ref().map(|key| IdempotencyRecord {
            key_hash: key.record_hash(&user),
            fingerprint: fingerprint.clone(),
            invite_id: invite.id.clone(),
            sealed_secret: xor16(token.secret(), &key.seal_pad(&user, &invite.id)).map(Vec::from).unwrap_or_default(),
            created_at: now,
        });
        match deps.store.commit_create(intercom, &user, &invite, record.as_ref()).await? {
            CreateOutcome::Committed => {}
            CreateOutcome::Conflict => continue,
            CreateOutcome::MemberGone => return Err(ApiError::Forbidden),
        }
        tracing::info!(intercom = %intercom.id, invite = %invite.id, "invite created");

        let link = sms::link(&deps.config.link_base_url, &token.expose());
        let sms_sent = send_sms(deps, &invite, &link, settings.invite_duration_minutes).await;
        return Ok(created_response(deps, &invite, &link, sms_sent, false));
    }
    Err(ApiError::Busy)
}

/// The same answer as the first time, for a retry under the same `Idempotency-Key`.
fn replay(
    deps: &Deps,
    intercom: &Intercom,
    invites: &[Invite],
    key: &IdempotencyKey,
    record: &IdempotencyRecord,
    user: &UserId,
    fingerprint: &str,
) -> Result<Response<Body>, ApiError> {
    if record.fingerprint != fingerprint {
        return Err(ApiError::IdempotencyKeyReused);
    }
    let invite = invites.iter().find(|i| i.id == record.invite_id).ok_or(ApiError::CodeNotFound)?;
    let secret = xor16(&record.sealed_secret, &key.seal_pad(user, &invite.id))
        .ok_or_else(|| ApiError::unexpected("sealed link secret has the wrong length"))?;
    let link = sms::link(
        &deps.config.link_base_url,
        &LinkToken::with_secret(intercom.id.clone(), invite.id.clone(), secret).expose(),
    );
    Ok(created_response(deps, invite, &link, invite.sms_status != SmsStatus::Failed, true))
}

/// A new invite under the current settings, with devices, duration and limits
/// copied in, and the link token whose hash it keeps.
fn draft_invite(
    intercom: &Intercom,
    settings: &Settings,
    user: &UserId,
    name: &GuestName,
    mobile: &Mobile,
    code: AccessCode,
    now: OffsetDateTime,
) -> Result<(Invite, LinkToken), ApiError> {
    // A gate removed from the registry after the settings were saved: the owner
    // must choose gates again.
    let snapshot = |device: &DeviceId| {
        intercom
            .gates
            .get(device)
            .map(|gate| GateSnapshot { device: device.clone(), label: gate.label.clone(), thing: gate.thing.clone() })
            .ok_or(ApiError::SettingsNotConfigured)
    };
    let expires_at = now + settings.invite_duration();
    let invite_id = InviteId::generate(expires_at + settings.exit_grace());
    let token = LinkToken::generate(intercom.id.clone(), invite_id.clone());
    let invite = Invite {
        intercom_id: intercom.id.clone(),
        intercom_label: intercom.label.clone(),
        time_zone: intercom.time_zone.clone(),
        id: invite_id,
        token_hash: token.hash(),
        code,
        guest_name: name.clone(),
        guest_mobile: mobile.clone(),
        created_by: user.clone(),
        created_at: now,
        expires_at,
        exit_closes_at: expires_at + settings.exit_grace(),
        entry_gate: snapshot(&settings.entry_gate)?,
        exit_gate: snapshot(&settings.exit_gate)?,
        max_users: settings.max_users,
        state: InviteState::Unused,
        wrong_attempts: 0,
        sms_status: SmsStatus::Requested,
        consuming_attempts: Vec::new(),
    };
    Ok((invite, token))
}

/// Sends the guest's SMS; a refusal is recorded on the invite, which stands either way.
async fn send_sms(deps: &Deps, invite: &Invite, link: &str, valid_minutes: u32) -> bool {
    let text = sms::guest_sms(&invite.guest_name, &invite.code, link, valid_minutes);
    match deps.sms.send(&invite.guest_mobile, &text).await {
        Ok(()) => true,
        Err(error) => {
            tracing::warn!(invite = %invite.id, %error, "SMS not sent");
            if let Err(error) = deps.store.record_sms_failure(invite, deps.clock.now()).await {
                tracing::error!(invite = %invite.id, error = %error, "could not record the SMS failure");
            }
            false
        }
    }
}

fn created_response(deps: &Deps, invite: &Invite, link: &str, sms_sent: bool, replayed: bool) -> Response<Body> {
    let until = invite.time_zone.wall_clock(invite.expires_at);
    let share = sms::share_message(&invite.guest_name, &invite.intercom_label, &invite.code, link, &until);
    let body = json!({
        "id": invite.id.as_str(),
        "intercom_id": invite.intercom_id.as_str(),
        "code": invite.code.as_str(),
        "guest": { "name": invite.guest_name.as_str(), "mobile": invite.guest_mobile.e164() },
        "link": link,
        "created_at": rfc3339(invite.created_at),
        "expires_at": rfc3339(invite.expires_at),
        "exit_closes_at": rfc3339(invite.exit_closes_at),
        "remaining_seconds": remaining_seconds(invite.expires_at, deps.clock.now()),
        "entry_gate": invite.entry_gate.label,
        "exit_gate": invite.exit_gate.label,
        "share_message": share,
        "sms": { "status": if sms_sent { "sent" } else { "failed" } },
    });
    let mut response = crate::http::json_response(StatusCode::CREATED, &body);
    if let Ok(location) = format!("/intercoms/{}/codes/{}", invite.intercom_id, invite.id).parse() {
        response.headers_mut().insert(header::LOCATION, location);
    }
    if replayed {
        response.headers_mut().insert("idempotent-replayed", header::HeaderValue::from_static("true"));
    }
    response
}
