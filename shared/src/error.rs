//! The one error type of every endpoint, and its one mapping to HTTP.
//!
//! Clients get a stable machine-readable `code` and a human `message`; logs get the
//! whole cause chain of unexpected errors, and never a secret (the variants carry
//! none).

use crate::api::errors::{ErrorBody, ErrorDetail};
use crate::domain::invite::Ended;
use crate::domain::redemption::Refusal;
use crate::store::invites::SmsLimitScope;
use lambda_http::http::StatusCode;
use std::error::Error as StdError;
use thiserror::Error;

pub type BoxError = Box<dyn StdError + Send + Sync>;

#[derive(Debug, Error)]
pub enum ApiError {
    #[error("the request body is not valid JSON of the expected shape: {0}")]
    InvalidJson(String),
    #[error("{message}")]
    InvalidField { field: &'static str, message: String },
    #[error("the request body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("sign-in required: the request carries no verified user")]
    Unauthenticated,
    #[error("you do not have access to this intercom's one-time access")]
    Forbidden,
    #[error("only the intercom's owner can change one-time access settings")]
    OwnerOnly,
    #[error("no active code with this id on this intercom")]
    CodeNotFound,
    #[error("one-time access settings have not been saved for this intercom yet; the owner must save them first")]
    SettingsNotConfigured,
    #[error("this intercom already has its maximum of {max_users} active codes; revoke one or wait for one to expire")]
    LimitReached { max_users: u32 },
    #[error("this Idempotency-Key was already used for a different request")]
    IdempotencyKeyReused,
    #[error("this code has already ended ({})", state.as_str())]
    CodeEnded { code_id: String, state: Ended },
    /// An erasure met a code of the guest that can still be used.
    #[error("this guest's code {code_id} can still be used; revoke it first, then erase")]
    CodeStillActive { code_id: String },
    #[error("this {} has sent as many guest SMS as allowed this hour; try again in {retry_after_seconds} s", scope.as_str())]
    SmsRateLimited { scope: SmsLimitScope, retry_after_seconds: u64 },
    #[error("gate device {0:?} is not registered to this intercom")]
    UnknownGate(String),
    /// A guest's redemption or status refused. `attempts_left`: wrong codes left
    /// before the entry locks (or the exit's pause starts); `retry_after_seconds`:
    /// the exit's pause after wrong codes.
    #[error("{}", refusal_message(*.refusal))]
    Refused { refusal: Refusal, attempts_left: Option<u32>, retry_after_seconds: Option<u64> },
    /// IoT Core refused the door command outright, or an earlier command of this
    /// attempt ended without opening: the passage was given back.
    #[error("the gate did not open and your code was not used; please try again")]
    GateUnavailable,
    #[error("the intercom is busy with other changes; please retry")]
    Busy,
    /// One link asked more often than any guest's page does (`link_limits`).
    #[error("too many requests for this link; wait {retry_after_seconds} s")]
    RateLimited { retry_after_seconds: u64 },
    /// A service we depend on did not answer (clearly): nothing can be said about
    /// the request, and retrying it is safe (every write is idempotent or guarded).
    #[error("a service we depend on did not answer in time; please retry")]
    Unavailable(#[source] BoxError),
    #[error("something went wrong on our side")]
    Unexpected(#[source] BoxError),
}

/// Every error code a function answers with; `rate_limited` is also what the web
/// firewall in front of the guest routes answers with, in the same shape
/// (`infra/guest-waf.yaml`). A 401 has the edge's shape instead (`EdgeMessage`).
pub const ERROR_CODES: &[&str] = &[
    "invalid_json",
    "invalid_field",
    "payload_too_large",
    "forbidden",
    "owner_only",
    "code_not_found",
    "code_ended",
    "code_active",
    "sms_rate_limited",
    "settings_not_configured",
    "limit_reached",
    "idempotency_key_reused",
    "unknown_gate",
    "invalid_link",
    "wrong_intercom",
    "revoked",
    "locked",
    "already_used",
    "not_entered",
    "expired",
    "wrong_code",
    "gate_offline",
    "slow_down",
    "opening",
    "scan_at_gate",
    "gate_failing",
    "not_yet",
    "gate_unavailable",
    "busy",
    "unavailable",
    "internal",
    "rate_limited",
];

fn refusal_message(refusal: Refusal) -> &'static str {
    match refusal {
        Refusal::InvalidLink => "this link is not valid; check that you opened the whole link from your message",
        Refusal::WrongIntercom => {
            "this code is for a different intercom; scan the QR code on the intercom you were invited to"
        }
        Refusal::Revoked => "this access was cancelled by the person who invited you",
        Refusal::Locked => "too many wrong codes were entered; ask the person who invited you for a new code",
        Refusal::AlreadyUsed => "this code has already been used for this",
        Refusal::NotEntered => "this code has not been used to enter yet",
        Refusal::Expired => "this code has expired; ask the person who invited you for a new one",
        Refusal::WrongCode => "that code is not right; check the 4 digits in your message",
        Refusal::GateOffline => {
            "the gate is offline right now; your code was not used. Try again in a few minutes, or call the person who invited you"
        }
        Refusal::SlowDown => "too many wrong codes at the exit; wait a moment before the next try",
        Refusal::Opening => "the gate is opening for this code; wait for it to answer",
        Refusal::ScanAtGate => "scan the QR code at the gate, or type the number printed under it",
        Refusal::NotYet => "this code does not work yet; it works from the time in your message",
        Refusal::GateFailing => "this gate did not open after several tries; ask the person who invited you for help",
    }
}

impl ApiError {
    pub fn unexpected(source: impl Into<BoxError>) -> Self {
        Self::Unexpected(source.into())
    }

    pub fn refused(refusal: Refusal) -> Self {
        Self::Refused { refusal, attempts_left: None, retry_after_seconds: None }
    }

    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        Self::InvalidField { field, message: message.into() }
    }

    /// `scope`'s SMS allowance is used up until the clock hour turns.
    pub fn sms_limit_reached(scope: SmsLimitScope, now: time::OffsetDateTime) -> Self {
        let next_hour = (now.unix_timestamp().div_euclid(3600) + 1) * 3600;
        Self::SmsRateLimited {
            scope,
            retry_after_seconds: u64::try_from(next_hour - now.unix_timestamp()).unwrap_or(3600),
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::InvalidJson(_) | Self::InvalidField { .. } | Self::UnknownGate(_) => StatusCode::BAD_REQUEST,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::Forbidden | Self::OwnerOnly => StatusCode::FORBIDDEN,
            Self::CodeNotFound => StatusCode::NOT_FOUND,
            Self::CodeEnded { .. } => StatusCode::GONE,
            Self::CodeStillActive { .. } => StatusCode::CONFLICT,
            Self::SmsRateLimited { .. } | Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::SettingsNotConfigured | Self::LimitReached { .. } | Self::IdempotencyKeyReused => {
                StatusCode::CONFLICT
            }
            Self::Refused { refusal, .. } => match refusal {
                Refusal::InvalidLink => StatusCode::NOT_FOUND,
                Refusal::WrongCode | Refusal::ScanAtGate => StatusCode::FORBIDDEN,
                Refusal::Locked => StatusCode::LOCKED,
                Refusal::Revoked | Refusal::Expired => StatusCode::GONE,
                Refusal::WrongIntercom
                | Refusal::AlreadyUsed
                | Refusal::NotEntered
                | Refusal::Opening
                | Refusal::NotYet
                | Refusal::GateFailing => StatusCode::CONFLICT,
                Refusal::GateOffline => StatusCode::SERVICE_UNAVAILABLE,
                Refusal::SlowDown => StatusCode::TOO_MANY_REQUESTS,
            },
            Self::GateUnavailable | Self::Busy | Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable machine-readable code clients switch on: one of [`ERROR_CODES`].
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidJson(_) => "invalid_json",
            Self::InvalidField { .. } => "invalid_field",
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::Unauthenticated => "unauthenticated",
            Self::Forbidden => "forbidden",
            Self::OwnerOnly => "owner_only",
            Self::CodeNotFound => "code_not_found",
            Self::CodeEnded { .. } => "code_ended",
            Self::CodeStillActive { .. } => "code_active",
            Self::SmsRateLimited { .. } => "sms_rate_limited",
            Self::SettingsNotConfigured => "settings_not_configured",
            Self::LimitReached { .. } => "limit_reached",
            Self::IdempotencyKeyReused => "idempotency_key_reused",
            Self::UnknownGate(_) => "unknown_gate",
            Self::Refused { refusal, .. } => match refusal {
                Refusal::InvalidLink => "invalid_link",
                Refusal::WrongIntercom => "wrong_intercom",
                Refusal::Revoked => "revoked",
                Refusal::Locked => "locked",
                Refusal::AlreadyUsed => "already_used",
                Refusal::NotEntered => "not_entered",
                Refusal::Expired => "expired",
                Refusal::WrongCode => "wrong_code",
                Refusal::GateOffline => "gate_offline",
                Refusal::SlowDown => "slow_down",
                Refusal::Opening => "opening",
                Refusal::GateFailing => "gate_failing",
                Refusal::ScanAtGate => "scan_at_gate",
                Refusal::NotYet => "not_yet",
            },
            Self::GateUnavailable => "gate_unavailable",
            Self::Busy => "busy",
            Self::RateLimited { .. } => "rate_limited",
            Self::Unavailable(_) => "unavailable",
            Self::Unexpected(_) => "internal",
        }
    }

    /// The JSON body: `{"error": {"code", "message", ...details}}`.
    pub fn body(&self) -> ErrorBody {
        let mut error = ErrorDetail { code: self.code(), message: self.to_string(), ..ErrorDetail::default() };
        match self {
            Self::InvalidField { field, .. } => error.field = Some(field),
            Self::LimitReached { max_users } => error.max_users = Some(*max_users),
            Self::CodeEnded { code_id, state } => {
                error.code_id = Some(code_id.clone());
                error.state = Some(*state);
            }
            Self::CodeStillActive { code_id } => error.code_id = Some(code_id.clone()),
            Self::SmsRateLimited { scope, retry_after_seconds } => {
                error.scope = Some(*scope);
                error.retry_after_seconds = Some(*retry_after_seconds);
            }
            Self::Refused { attempts_left, retry_after_seconds, .. } => {
                error.attempts_left = *attempts_left;
                error.retry_after_seconds = *retry_after_seconds;
            }
            Self::RateLimited { retry_after_seconds } => error.retry_after_seconds = Some(*retry_after_seconds),
            _ => {}
        }
        ErrorBody { error }
    }

    /// Unexpected errors are logged with their whole cause chain; the client sees
    /// only "internal". Expected ones are logged at debug level.
    pub fn log(&self) {
        match self {
            Self::Unexpected(source) | Self::Unavailable(source) => {
                let mut chain = source.to_string();
                let mut cause = source.source();
                while let Some(c) = cause {
                    chain.push_str(": ");
                    chain.push_str(&c.to_string());
                    cause = c.source();
                }
                tracing::error!(error.code = self.code(), error.chain = %chain, "request failed");
            }
            other => tracing::info!(error.code = other.code(), status = other.status().as_u16(), "request refused"),
        }
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(error: crate::store::StoreError) -> Self {
        match error {
            crate::store::StoreError::Throttled => ApiError::Busy,
            crate::store::StoreError::Unavailable(source) => ApiError::Unavailable(source),
            error => ApiError::unexpected(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_refusal_has_its_own_code() {
        let refusals = [
            Refusal::InvalidLink,
            Refusal::WrongIntercom,
            Refusal::Revoked,
            Refusal::Locked,
            Refusal::AlreadyUsed,
            Refusal::NotEntered,
            Refusal::Expired,
            Refusal::WrongCode,
            Refusal::GateOffline,
            Refusal::SlowDown,
            Refusal::Opening,
            Refusal::ScanAtGate,
            Refusal::GateFailing,
            Refusal::NotYet,
        ];
        let codes: std::collections::HashSet<_> = refusals.iter().map(|r| ApiError::refused(*r).code()).collect();
        assert_eq!(codes.len(), refusals.len());
    }

    #[test]
    fn unexpected_errors_hide_their_cause_from_the_client() {
        let err = ApiError::unexpected("connection reset by 10.0.0.7");
        assert_eq!(err.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!serde_json::to_string(&err.body()).unwrap().contains("10.0.0.7"));
    }
}
