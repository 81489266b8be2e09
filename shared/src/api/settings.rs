//! The settings page: `GET` and `PUT /intercoms/{intercomId}/settings` both answer it.

use super::{wire_enum, Instant};
use crate::domain::language::Language;
use serde::Serialize;

wire_enum!(Language, Language::ALL);

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "contract", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct SettingsView {
    pub intercom_id: String,
    pub label: String,
    /// False until the owner first saves.
    pub configured: bool,
    pub settings: Option<SavedSettings>,
    pub gates: Vec<GateOption>,
    pub can_edit: bool,
    pub defaults: SettingsDefaults,
}

/// What the owner saved.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "contract", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct SavedSettings {
    pub entry_gate: String,
    pub entry_gate_label: String,
    pub exit_gate: String,
    pub exit_gate_label: String,
    pub exit_same_as_entry: bool,
    pub max_users: u32,
    pub invite_duration_minutes: u32,
    pub exit_grace_minutes: u32,
    /// What new codes' guests read unless the owner chooses another language.
    pub guest_language: Language,
    pub updated_at: Instant,
    pub updated_by: String,
}

/// A gate of the intercom the owner may choose.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "contract", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct GateOption {
    pub id: String,
    pub label: String,
}

#[derive(Debug, Serialize)]
#[cfg_attr(feature = "contract", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct SettingsDefaults {
    pub max_users: u32,
    pub invite_duration_minutes: u32,
    pub exit_grace_minutes: u32,
    pub guest_language: Language,
}
