//! `GET /intercoms/{intercomId}/settings` — owner and shared users.

use super::intercom_in_path;
use crate::api::settings::{GateOption, SavedSettings, SettingsDefaults, SettingsView};
use crate::api::Instant;
use crate::domain::access::Role;
use crate::domain::ids::DeviceId;
use crate::domain::language::Language;
use crate::domain::settings::{self, Intercom};
use crate::error::ApiError;
use crate::http::{caller, json_response, respond};
use crate::Deps;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    respond(get(deps, &req).await)
}

async fn get(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let user = caller(req)?;
    let intercom_id = intercom_in_path(req)?;
    let (intercom, role) = deps.store.load_access(&intercom_id, &user).await?;
    match (intercom, role) {
        (Some(intercom), Some(role)) => Ok(json_response(StatusCode::OK, &settings_view(&intercom, role))),
        _ => Err(ApiError::Forbidden),
    }
}

/// The settings page as the app shows it; also the answer of `update-settings`.
pub fn settings_view(intercom: &Intercom, role: Role) -> SettingsView {
    // A gate removed since the owner saved keeps its id as its label until they choose again.
    let label = |id: &DeviceId| intercom.gates.get(id).map_or_else(|| id.to_string(), |gate| gate.label.clone());
    SettingsView {
        intercom_id: intercom.id.to_string(),
        label: intercom.label.clone(),
        configured: intercom.settings.is_some(),
        settings: intercom.settings.as_ref().map(|saved| SavedSettings {
            entry_gate: saved.entry_gate.to_string(),
            entry_gate_label: label(&saved.entry_gate),
            exit_gate: saved.exit_gate.to_string(),
            exit_gate_label: label(&saved.exit_gate),
            exit_same_as_entry: saved.entry_gate == saved.exit_gate,
            max_users: saved.max_users,
            invite_duration_minutes: saved.invite_duration_minutes,
            exit_grace_minutes: saved.exit_grace_minutes,
            guest_language: saved.guest_language,
            updated_at: Instant(saved.updated_at),
            updated_by: saved.updated_by.to_string(),
        }),
        gates: intercom
            .gates
            .iter()
            .map(|(id, gate)| GateOption { id: id.to_string(), label: gate.label.clone() })
            .collect(),
        can_edit: role.can_change_settings(),
        defaults: SettingsDefaults {
            max_users: settings::DEFAULT_MAX_USERS,
            invite_duration_minutes: settings::DEFAULT_INVITE_DURATION_MINUTES,
            exit_grace_minutes: settings::DEFAULT_EXIT_GRACE_MINUTES,
            guest_language: Language::default(),
        },
    }
}
