//! `GET /intercoms/{intercomId}/settings` — owner and shared users.

use super::{intercom_in_path, rfc3339};
use crate::domain::access::Role;
use crate::domain::settings::{self, Intercom};
use crate::error::ApiError;
use crate::http::{caller, json_response, respond};
use crate::Deps;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::{json, Value};

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
pub fn settings_view(intercom: &Intercom, role: Role) -> Value {
    let gates: Vec<Value> =
        intercom.gates.iter().map(|(id, gate)| json!({ "id": id.as_str(), "label": gate.label })).collect();
    let saved = intercom.settings.as_ref().map(|s| {
        json!({
            "entry_gate": s.entry_gate.as_str(),
            "exit_gate": s.exit_gate.as_str(),
            "exit_same_as_entry": s.entry_gate == s.exit_gate,
            "max_users": s.max_users,
            "invite_duration_minutes": s.invite_duration_minutes,
            "exit_grace_minutes": s.exit_grace_minutes,
            "updated_at": rfc3339(s.updated_at),
            "updated_by": s.updated_by.as_str(),
        })
    });
    json!({
        "intercom_id": intercom.id.as_str(),
        "label": intercom.label,
        "configured": saved.is_some(),
        "settings": saved,
        "gates": gates,
        "can_edit": role.can_change_settings(),
        "defaults": {
            "max_users": settings::DEFAULT_MAX_USERS,
            "invite_duration_minutes": settings::DEFAULT_INVITE_DURATION_MINUTES,
            "exit_grace_minutes": settings::DEFAULT_EXIT_GRACE_MINUTES,
        },
    })
}
