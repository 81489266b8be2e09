//! `POST /intercoms/{intercomId}/codes` — owner or shared user: a code for one guest.
//!
//! No read of the intercom's other codes: one consistent BatchGetItem (registry, the
//! caller's membership, their idempotency record), one small Query of the index for
//! places that may be free, then one transaction that writes the invite and claims
//! one place and one code (`store::places`). The cost is the same with 1 or 1,000
//! open codes, and parallel creates collide only when they pick the same place or
//! code, which costs the loser one more small round. The guest's SMS is not sent
//! here: the SMS sender sends it from the table's stream once the invite has
//! committed (`handlers::send_sms`), so an SMS goes out if and only if its invite
//! exists, and the answer says `queued`.
//!
//! `Idempotency-Key`: a retry with the same key and body returns the same invite
//! (same code, same link) and sends no second SMS (see `domain::idempotency`).
//! The draft is the domain's (`Invite::draft`); this parses, reads, claims, answers.

use super::create_request::{idempotency_key, CreateRequest};
use super::{back_off, intercom_in_path};
use crate::api::codes::{CreatedGuest, InviteCreated, SmsView};
use crate::api::{seconds_until, Instant};
use crate::domain::code::AccessCode;
use crate::domain::draft::{CannotCreate, InviteKeys};
use crate::domain::idempotency::IdempotencyKey;
use crate::domain::ids::UserId;
use crate::domain::invite::{Ended, Invite, InviteState};
use crate::domain::settings::Intercom;
use crate::domain::token::LinkToken;
use crate::error::ApiError;
use crate::http::{caller, json_body, respond};
use crate::share::share_targets;
use crate::sms;
use crate::store::invites::{sms_limits_for, NewInvite};
use crate::store::places::layout::{Layout, Retired};
use crate::store::{CreateOutcome, IdempotencyRecord};
use crate::Deps;
use lambda_http::http::{header, StatusCode};
use lambda_http::{Body, Request, Response};
use rand::seq::IndexedRandom;
use std::collections::HashSet;

/// Places a create reads from the index at once: enough that parallel creates
/// rarely pick the same one.
const OPEN_PLACES_READ: i32 = 16;

/// Rounds before a create answers `503 busy`: each reads three items and a few
/// index keys, and most lost rounds lost a place or a code to another create.
const CREATE_ROUNDS: u32 = 12;

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    respond(create(deps, &req).await)
}

async fn create(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let user = caller(req)?;
    let intercom_id = intercom_in_path(req)?;
    let asked = CreateRequest::parse(json_body(req)?, &deps.phone_book, &deps.config.phone_regions)?;
    let idempotency = idempotency_key(req)?;
    let fingerprint = asked.fingerprint();
    let key_hash = idempotency.as_ref().map(|key| key.record_hash(&user));
    let link = deps.config.link_keys.as_ref().ok_or_else(|| ApiError::unexpected("OTA_LINK_KEYS is not configured"))?;
    let keys = InviteKeys { link, seal: &deps.seal_keys };
    let guest_keys =
        deps.config.guest_keys.as_ref().ok_or_else(|| ApiError::unexpected("OTA_GUEST_KEYS is not configured"))?;
    // Places and codes found taken this request: never tried twice.
    let mut tried_places = HashSet::new();
    let mut tried_codes = HashSet::new();
    let mut laid_out = false;
    // The invite of a commit that met contention. If that was the SDK's retry meeting
    // this very commit still in flight (its first answer lost), the invite is there by
    // the next round, and this request goes on with it instead of making another.
    let mut unconfirmed: Option<(Invite, LinkToken)> = None;

    for round in 0..CREATE_ROUNDS {
        back_off(round / 2).await;
        let now = deps.clock.now();
        let context = deps.store.load_for_create(&intercom_id, &user, key_hash.as_deref(), now).await?;
        context.caller_role.ok_or(ApiError::Forbidden)?;
        let intercom = context.intercom.as_ref().ok_or(ApiError::Forbidden)?;
        if let Some((invite, token)) = unconfirmed.take() {
            if deps.store.invite(&intercom_id, &invite.id).await?.is_some() {
                return Ok(announce(deps, invite, &token).await);
            }
        }
        if let (Some(key), Some(record)) = (&idempotency, &context.idempotency) {
            return replay(deps, intercom, key, record, &user, &fingerprint).await;
        }
        let settings = intercom.settings.as_ref().ok_or(ApiError::SettingsNotConfigured)?;
        let guest = asked.guest(&intercom.time_zone, now)?;
        if intercom.places != Some(settings.max_users) && !laid_out {
            // The first create after a settings change that did not finish laying
            // out, or on an intercom of an earlier version.
            laid_out = deps.store.lay_out_places(intercom, settings.max_users, now).await? == Layout::Done;
            continue;
        }
        let places = deps.store.open_places(&intercom_id, now, OPEN_PLACES_READ).await?;
        let untried: Vec<_> = places.into_iter().filter(|place| !tried_places.contains(&place.number)).collect();
        // A random one of those found, so parallel creates rarely pick the same.
        let Some(place) = untried.choose(&mut rand::rng()) else {
            if tried_places.is_empty() {
                return Err(ApiError::LimitReached { max_users: settings.max_users });
            }
            // Every place found was taken meanwhile: look again.
            tried_places.clear();
            continue;
        };
        if intercom.places_surplus > 0 {
            // Max Users was lowered below the codes out: a place that frees goes.
            if let Retired::StillHeld(held) = deps.store.retire_places(intercom, &untried, now).await? {
                tried_places.insert(held.number);
                deps.store.place_held_on(&intercom_id, &held).await?;
            }
            continue;
        }
        let code = AccessCode::generate_avoiding(&tried_codes).ok_or(ApiError::Busy)?;
        let (mut invite, token) = Invite::draft(intercom, settings, &user, guest, code, keys, now)
            .map_err(|CannotCreate::GateGone| ApiError::SettingsNotConfigured)?;
        invite.place = Some(place.number);
        let record = idempotency
            .as_ref()
            .zip(key_hash.as_ref())
            .map(|(key, hash)| {
                Ok::<_, ApiError>(IdempotencyRecord {
                    key_hash: hash.clone(),
                    fingerprint: fingerprint.clone(),
                    invite_id: invite.id.clone(),
                    sealed_secret: key
                        .seal(&deps.seal_keys, token.secret(), &user, &invite.id)
                        .ok_or_else(|| ApiError::unexpected("the seal key cannot key an HMAC"))?,
                    created_at: now,
                })
            })
            .transpose()?;
        let limits = sms_limits_for(intercom.sms_allowance, deps.config.sms_limits);
        let guest_lookup = guest_keys.lookup(&invite.guest_mobile);
        let new = NewInvite { invite: &invite, guest_lookup: &guest_lookup, place, idempotency: record.as_ref() };
        match deps.store.commit_create(&user, new, limits, now).await? {
            CreateOutcome::Committed => return Ok(announce(deps, invite, &token).await),
            CreateOutcome::SmsLimitReached(scope) => {
                tracing::warn!(intercom = %intercom.id, scope = scope.as_str(), "guest SMS limit reached");
                return Err(ApiError::sms_limit_reached(scope, now));
            }
            CreateOutcome::PlaceTaken => {
                tried_places.insert(place.number);
            }
            CreateOutcome::PlaceStillHeld => {
                tried_places.insert(place.number);
                deps.store.place_held_on(&intercom_id, place).await?;
            }
            CreateOutcome::CodeTaken => {
                tried_codes.insert(invite.code.clone());
            }
            CreateOutcome::Contended => unconfirmed = Some((invite, token)),
            CreateOutcome::KeyTaken => {}
            CreateOutcome::MemberGone => return Err(ApiError::Forbidden),
        }
    }
    Err(ApiError::Busy)
}

/// A committed invite: the owner's answer (the SMS follows from the stream).
async fn announce(deps: &Deps, invite: Invite, token: &LinkToken) -> Response<Body> {
    tracing::info!(intercom = %invite.intercom_id, invite = %invite.id, "invite created");
    let link = sms::link(&deps.config.link_base_url, &token.expose());
    created_response(deps, &invite, &link, false)
}

/// The same answer as the first time, for a retry under the same `Idempotency-Key`.
async fn replay(
    deps: &Deps,
    intercom: &Intercom,
    key: &IdempotencyKey,
    record: &IdempotencyRecord,
    user: &UserId,
    fingerprint: &str,
) -> Result<Response<Body>, ApiError> {
    if record.fingerprint != fingerprint {
        return Err(ApiError::IdempotencyKeyReused);
    }
    let ended = |state| ApiError::CodeEnded { code_id: record.invite_id.to_string(), state };
    let invite = deps.store.invite_with_sms(&intercom.id, &record.invite_id).await?.ok_or(ended(Ended::Over))?;
    let now = deps.clock.now();
    match invite.state(now) {
        InviteState::Revoked => return Err(ended(Ended::Revoked)),
        InviteState::Exited => return Err(ended(Ended::Used)),
        _ if invite.is_locked(now) => return Err(ended(Ended::Locked)),
        InviteState::Unused if now >= invite.expires_at => return Err(ended(Ended::Expired)),
        _ if now >= invite.exit_closes_at => return Err(ended(Ended::Over)),
        _ => {}
    }
    let secret = key
        .unseal(&deps.seal_keys, &record.sealed_secret, user, &invite.id)
        .ok_or_else(|| ApiError::unexpected("sealed with a seal key no longer configured, or damaged"))?;
    let link = sms::link(
        &deps.config.link_base_url,
        &LinkToken::with_secret(intercom.id.clone(), invite.id.clone(), secret).expose(),
    );
    Ok(created_response(deps, &invite, &link, true))
}

fn created_response(deps: &Deps, invite: &Invite, link: &str, replayed: bool) -> Response<Body> {
    let body = InviteCreated {
        id: invite.id.to_string(),
        intercom_id: invite.intercom_id.to_string(),
        code: invite.code.as_str().to_owned(),
        guest: CreatedGuest {
            name: invite.guest_name.as_str().to_owned(),
            mobile: invite.guest_mobile.e164().to_owned(),
        },
        link: link.to_owned(),
        token: link.rsplit_once('#').map(|(_, token)| token).unwrap_or_default().to_owned(),
        created_at: Instant(invite.created_at),
        starts_at: Instant(invite.starts_at),
        expires_at: Instant(invite.expires_at),
        exit_closes_at: Instant(invite.exit_closes_at),
        remaining_seconds: seconds_until(invite.expires_at, deps.clock.now()),
        entry_gate: invite.entry_gate.device.to_string(),
        entry_gate_label: invite.entry_gate.label.clone(),
        exit_gate: invite.exit_gate.device.to_string(),
        exit_gate_label: invite.exit_gate.label.clone(),
        guest_language: invite.language,
        share: share_targets(invite, link),
        // `queued` (or `owner_shares`) when made; a replay tells where the SMS is now.
        sms: SmsView { status: invite.sms_status, reason: None },
    };
    let mut response = crate::http::json_response(StatusCode::CREATED, &body);
    if let Ok(location) = format!("/intercoms/{}/codes/{}", invite.intercom_id, invite.id).parse() {
        response.headers_mut().insert(header::LOCATION, location);
    }
    if replayed {
        response.headers_mut().insert("idempotent-replayed", header::HeaderValue::from_static("true"));
    }
    response
}
