//! `PUT /intercoms/{intercomId}/settings` — owner only. Applies to new codes only:
//! existing codes carry their own snapshot.
//!
//! The registry item and the caller's membership (a consistent two-item read:
//! anyone but the owner is refused here, before anything else is read), then one
//! transaction that saves, re-checks the owner role and the gates, and records the
//! change. Contention is retried; the later save stands. Then the places are laid
//! out to the new Max Users (`store::places::layout`): a read of the place items and,
//! only if Max Users changed, the writes that add or withdraw places.

use super::get_settings::settings_view;
use super::{back_off, intercom_in_path, CONTENDED_ROUNDS};
use crate::domain::access::Role;
use crate::domain::ids::{DeviceId, UserId};
use crate::domain::language::Language;
use crate::domain::settings::{self, Intercom, SettingsChange, SettingsError};
use crate::error::ApiError;
use crate::http::{caller, json_body, json_response, respond, whole_number};
use crate::store::places::layout::Layout;
use crate::store::SaveOutcome;
use crate::Deps;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;

/// The whole settings page; omitted numbers take their defaults, an omitted or
/// null `exit_gate` means "same as entry".
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsBody {
    entry_gate: String,
    #[serde(default)]
    exit_gate: Option<String>,
    #[serde(default, deserialize_with = "whole_number")]
    max_users: Option<u32>,
    #[serde(default, deserialize_with = "whole_number")]
    invite_duration_minutes: Option<u32>,
    #[serde(default, deserialize_with = "whole_number")]
    exit_grace_minutes: Option<u32>,
    /// Absent or null: English.
    #[serde(default)]
    guest_language: Option<String>,
}

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    respond(update(deps, &req).await)
}

async fn update(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let user = caller(req)?;
    let intercom_id = intercom_in_path(req)?;
    let body: SettingsBody = json_body(req)?;
    let gate = |raw: &str| DeviceId::parse(raw).ok_or_else(|| ApiError::UnknownGate(raw.chars().take(40).collect()));
    let change = SettingsChange {
        entry_gate: gate(&body.entry_gate)?,
        exit_gate: body.exit_gate.as_deref().map(gate).transpose()?,
        max_users: body.max_users.unwrap_or(settings::DEFAULT_MAX_USERS),
        invite_duration_minutes: body.invite_duration_minutes.unwrap_or(settings::DEFAULT_INVITE_DURATION_MINUTES),
        exit_grace_minutes: body.exit_grace_minutes.unwrap_or(settings::DEFAULT_EXIT_GRACE_MINUTES),
        guest_language: match body.guest_language.as_deref() {
            None => Language::default(),
            Some(raw) => Language::parse(raw).ok_or_else(|| {
                ApiError::invalid("guest_language", "guest_language is one of en, af, zu, xh, st, tn")
            })?,
        },
    };
    for round in 0..CONTENDED_ROUNDS {
        back_off(round).await;
        let (intercom, role) = deps.store.load_access(&intercom_id, &user).await?;
        let mut intercom = match (intercom, role) {
            (Some(intercom), Some(Role::Owner)) => intercom,
            (Some(_), Some(Role::IntercomUser)) => return Err(ApiError::OwnerOnly),
            _ => return Err(ApiError::Forbidden),
        };
        let saved = change.clone().apply(&intercom, user.clone(), deps.clock.now()).map_err(|e| match e {
            SettingsError::UnknownGate(gate) => ApiError::UnknownGate(gate),
            SettingsError::OutOfRange { field, min, max } => {
                ApiError::invalid(field, format!("{field} must be between {min} and {max}"))
            }
        })?;
        match deps.store.save_settings(&intercom, &saved, &user).await? {
            SaveOutcome::Saved => {
                tracing::info!(intercom = %intercom.id, max_users = saved.max_users, "settings saved");
                lay_out_places(deps, &intercom, &user, saved.max_users).await?;
                intercom.settings = Some(saved);
                return Ok(json_response(StatusCode::OK, &settings_view(&intercom, Role::Owner)));
            }
            SaveOutcome::NotOwner => return Err(ApiError::OwnerOnly),
            // Read again: the registry now says which gates there are.
            SaveOutcome::GateGone | SaveOutcome::Contended => continue,
        }
    }
    Err(ApiError::Busy)
}

/// Lays the places out to the new Max Users (`store::places::layout`). Left
/// unfinished (other writes kept getting in between), the next create finishes it:
/// it lays out first whenever the registry's places differ from Max Users.
async fn lay_out_places(deps: &Deps, read: &Intercom, owner: &UserId, max_users: u32) -> Result<(), ApiError> {
    if read.places == Some(max_users) {
        return Ok(());
    }
    let mut intercom = read.clone();
    for round in 0..CONTENDED_ROUNDS {
        back_off(round).await;
        if deps.store.lay_out_places(&intercom, max_users, deps.clock.now()).await? == Layout::Done {
            return Ok(());
        }
        match deps.store.load_access(&intercom.id, owner).await?.0 {
            // A later change lays out for itself.
            Some(now) if now.settings.as_ref().is_some_and(|s| s.max_users == max_users) => intercom = now,
            _ => return Ok(()),
        }
    }
    tracing::warn!(intercom = %intercom.id, max_users, "places not laid out yet; the next create lays them out");
    Ok(())
}
