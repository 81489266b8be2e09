//! The error body every function answers with, and the one an edge in front of the
//! functions answers with where we cannot change it.

use super::wire_enum;
use crate::domain::invite::Ended;
use crate::store::invites::SmsLimitScope;
use serde::Serialize;

wire_enum!(Ended, [Ended::Revoked, Ended::Used, Ended::Locked, Ended::Expired, Ended::Over]);
wire_enum!(SmsLimitScope, [SmsLimitScope::User, SmsLimitScope::Intercom]);

/// `{"error": {"code", "message", ...details}}`: `code` is stable and for programs,
/// `message` for people; the details only with the codes that have them.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "contract", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Default, Serialize)]
#[cfg_attr(feature = "contract", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ErrorDetail {
    #[cfg_attr(feature = "contract", schemars(extend("enum" = crate::error::ERROR_CODES)))]
    pub code: &'static str,
    pub message: String,
    /// With `invalid_field`: which field (or header, or query parameter).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<&'static str>,
    /// With `wrong_code` (and `slow_down`): wrong codes left.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempts_left: Option<u32>,
    /// With `slow_down`, `sms_rate_limited`, and `wrong_code` at the exit once it must wait.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<u64>,
    /// With `limit_reached`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_users: Option<u32>,
    /// With `code_ended`: the code, and how it ended; with `code_active`: the code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<Ended>,
    /// With `sms_rate_limited`: whose hourly allowance is used up.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<SmsLimitScope>,
}

/// What API Gateway's JWT authorizer answers without a valid token
/// (`{"message": "Unauthorized"}`); a function that finds no verified user answers
/// the same, so a 401 has one shape.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "contract", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct EdgeMessage {
    pub message: &'static str,
}
