//! `PUT /intercoms/{intercomId}/settings` — owner only. Applies to new codes only:
//! existing codes carry their own snapshot.
//!
//! Two DynamoDB requests: the registry item and the caller's membership (a
//! consistent two-item read: anyone but the owner is refused here, before anything
//! else is read), then one transaction that saves, re-checks the owner role and the
//! gates, and records the change. Contention is retried; the later save stands.

use super::get_settings::settings_view;
use super::{back_off, intercom_in_path, CONTENDED_ROUNDS};
use crate::domain::access::Role;
use crate::domain::ids::DeviceId;
use crate::domain::settings::{self, SettingsChange, SettingsError};
use crate::error::ApiError;
use crate::http::{caller, json_body, json_response, respond, whole_number};
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
