//! `POST /intercoms/{intercomId}/guest-erasures` — the owner erases a guest: their
//! name and number leave every code of theirs at this intercom that can no longer
//! be used, and its activity, which keeps a `guest_erased` fact saying by whom
//! (`store::invites::erasure`). A request of a guest under POPIA section 24 (or
//! the GDPR's article 17) is answered this way; Fluss's support does the same for
//! a number across the fleet with `ota-admin erase`.
//!
//! All or nothing at the start: if any code of the number can still be used, the
//! answer is `409 code_active` naming it and nothing is erased (the owner revokes it
//! first). Only the owner may erase. The number is never logged. The request goes to
//! the erasure log first (keyed hashes of the number only), so that it can be made
//! again after a restore of the table (`ota-admin erase --again-since`).

use super::{back_off, intercom_in_path, CONTENDED_ROUNDS};
use crate::api::codes::ErasureView;
use crate::clock::Clock;
use crate::domain::access::Role;
use crate::domain::phone::Mobile;
use crate::error::ApiError;
use crate::http::{caller, json_body, json_response, respond};
use crate::store::{EraseOutcome, Eraser, ErasureRequest, ErasureTarget, GuestCode, Store, StoreError};
use crate::Deps;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EraseRequest {
    mobile: String,
}

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    respond(erase(deps, &req).await)
}

async fn erase(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let user = caller(req)?;
    let intercom_id = intercom_in_path(req)?;
    let asked: EraseRequest = json_body(req)?;
    let mobile = Mobile::parse_e164(asked.mobile.trim()).ok_or_else(|| {
        ApiError::invalid("mobile", "mobile is the guest's number in international form (e.g. +27825550100)")
    })?;
    let keys =
        deps.config.guest_keys.as_ref().ok_or_else(|| ApiError::unexpected("OTA_GUEST_KEYS is not configured"))?;
    match deps.store.load_access(&intercom_id, &user).await? {
        (Some(_), Some(Role::Owner)) => {}
        (Some(_), Some(Role::IntercomUser)) => return Err(ApiError::OwnerOnly),
        _ => return Err(ApiError::Forbidden),
    }
    let lookups = keys.lookups(&mobile);
    let codes = deps.store.guest_codes(&lookups, Some(&intercom_id)).await?;
    let now = deps.clock.now();
    let targets = deps.store.erasure_targets(&codes, now).await?;
    if let Some(live) = targets.iter().find(|target| target.is_live()) {
        return Err(ApiError::CodeStillActive { code_id: live.code.invite.to_string() });
    }
    let request = ErasureRequest { lookups, intercom: Some(intercom_id.clone()), by: user.to_string(), at: now };
    deps.store.log_erasure(&request).await?;
    for target in &targets {
        match erase_code(&deps.store, target, Eraser::Owner(&user), deps.clock.as_ref()).await? {
            EraseOutcome::Erased => {}
            EraseOutcome::StillLive => {
                return Err(ApiError::CodeStillActive { code_id: target.code.invite.to_string() })
            }
            EraseOutcome::NotOwner => return Err(ApiError::OwnerOnly),
            EraseOutcome::Contended => return Err(ApiError::Busy),
        }
    }
    tracing::info!(intercom = %intercom_id, codes = codes.len(), "guest erased");
    let erased_codes = codes.iter().map(|code| code.invite.as_str()).collect();
    Ok(json_response(StatusCode::OK, &ErasureView { intercom_id: intercom_id.as_str(), erased_codes }))
}

/// One code's erasure as first read, then read again while something else changes it.
async fn erase_code(
    store: &Store,
    target: &ErasureTarget,
    by: Eraser<'_>,
    clock: &dyn Clock,
) -> Result<EraseOutcome, StoreError> {
    let mut outcome = store.erase_target(target, by, clock.now()).await?;
    for round in 1..CONTENDED_ROUNDS {
        if outcome != EraseOutcome::Contended {
            break;
        }
        back_off(round).await;
        outcome = store.erase_guest(&target.code, by, clock.now()).await?;
    }
    Ok(outcome)
}

/// What a logged erasure request did where it asked (`ota-admin erase`).
#[derive(Debug, Default)]
pub struct ErasureReport {
    pub erased: Vec<GuestCode>,
    /// Codes that can still be used: left, to be erased once they end.
    pub live: Vec<GuestCode>,
    /// Codes that kept changing: to be asked again.
    pub contended: Vec<GuestCode>,
}

/// Carries out a logged erasure request as Fluss's operators (no membership check: a
/// support request, or a request made again after a restore): every code its lookups
/// find, at its intercom or across the fleet, that can no longer be used. Safe to repeat: an erased code's
/// index item is gone, so it is not found again. After a point-in-time restore, the
/// requests logged since the restore point are carried out again in the restored table.
pub async fn carry_out(
    store: &Store,
    request: &ErasureRequest,
    clock: &dyn Clock,
) -> Result<ErasureReport, StoreError> {
    let mut report = ErasureReport::default();
    let codes = store.guest_codes(&request.lookups, request.intercom.as_ref()).await?;
    for target in store.erasure_targets(&codes, clock.now()).await? {
        match erase_code(store, &target, Eraser::Operator(&request.by), clock).await? {
            EraseOutcome::Erased => report.erased.push(target.code),
            EraseOutcome::StillLive => report.live.push(target.code),
            EraseOutcome::Contended | EraseOutcome::NotOwner => report.contended.push(target.code),
        }
    }
    Ok(report)
}
