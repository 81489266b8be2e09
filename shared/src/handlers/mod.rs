//! One module per endpoint. Each `handle` parses the request into typed values,
//! calls the store and the domain, and answers; errors become HTTP only through
//! [`crate::http::respond`].

mod at_gate;
#[cfg(feature = "phone")]
pub mod create_invite;
#[cfg(feature = "phone")]
mod create_request;
pub mod erase_guest;
pub mod gate_events;
pub mod get_settings;
pub mod guest_status;
mod lapse;
pub mod list_activity;
pub mod list_codes;
#[cfg(all(feature = "events", feature = "queue"))]
pub mod outbox;
#[cfg(feature = "gate")]
pub mod redeem;
#[cfg(all(feature = "events", feature = "queue"))]
pub mod replay;
pub mod resend_sms;
#[cfg(feature = "gate")]
pub mod revoke_code;
#[cfg(all(feature = "sms", feature = "queue"))]
pub mod send_sms;
#[cfg(feature = "delivery-reports")]
pub mod sms_status;
pub mod sweep;
pub mod update_settings;

use crate::domain::cursor::{CursorKeys, Listing};
use crate::domain::ids::IntercomId;
use crate::error::ApiError;
use crate::http::path_param;
use lambda_http::Request;

/// The `{intercomId}` of app routes. A malformed id names no intercom the caller
/// can be a member of, so it reads as forbidden, like any other such intercom.
fn intercom_in_path(req: &Request) -> Result<IntercomId, ApiError> {
    path_param(req, "intercomId", IntercomId::parse, ApiError::Forbidden)
}

/// One intercom's list, as its cursors are bound to it (`domain::cursor`).
struct Pages<'a> {
    keys: &'a CursorKeys,
    listing: Listing,
    intercom: &'a IntercomId,
}

impl<'a> Pages<'a> {
    fn of(deps: &'a crate::Deps, listing: Listing, intercom: &'a IntercomId) -> Result<Self, ApiError> {
        let keys = deps
            .config
            .cursor_keys
            .as_ref()
            .ok_or_else(|| ApiError::unexpected("OTA_CURSOR_KEYS is not configured"))?;
        Ok(Self { keys, listing, intercom })
    }

    /// The cursor handed out for the next page, which starts after `position`.
    fn cursor_after(&self, position: &str) -> String {
        self.keys.sign(self.listing, self.intercom, position)
    }
}

/// `limit` (1 to `max`, `default` when absent) and `cursor` (one this service handed
/// out for `pages`, whose position `decode` accepts) of a paginated list.
fn page_wanted<C>(
    req: &Request,
    pages: &Pages,
    default: i32,
    max: i32,
    decode: impl Fn(&str) -> Option<C>,
) -> Result<(i32, Option<C>), ApiError> {
    use lambda_http::RequestExt;
    let query = req.query_string_parameters_ref();
    let param = |name: &str| query.and_then(|q| q.first(name));
    let limit = match param("limit") {
        None => default,
        Some(raw) => raw
            .parse::<i32>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| ApiError::invalid("limit", format!("limit must be a whole number from 1 to {max}")))?,
    };
    let cursor =
        param("cursor")
            .map(|raw| {
                pages.keys.open(pages.listing, pages.intercom, raw).and_then(&decode).ok_or_else(|| {
                    ApiError::invalid("cursor", "cursor must be a next_cursor this API returned, unchanged")
                })
            })
            .transpose()?;
    Ok((limit, cursor))
}

/// Rounds of a write that met contention (a conflicting transaction, throttling,
/// a version moved by a parallel create) before the caller is told `busy`.
const CONTENDED_ROUNDS: u32 = 8;

/// Waits before round `round` of a contended write (none before the first): a
/// random, growing pause, so parallel writers do not collide again in step.
async fn back_off(round: u32) {
    if round > 0 {
        let jitter = rand::Rng::random_range(&mut rand::rng(), 5..=25) * u64::from(round);
        tokio::time::sleep(std::time::Duration::from_millis(jitter)).await;
    }
}

/// A guest request refused on its form alone, before any read: no real guest's page
/// sends it (a malformed body, a token no server key made, no gate number). Counted
/// from this log line (template.yaml, `GuestEdgeRejections*Metric`).
fn rejected_at_edge(error: ApiError) -> ApiError {
    tracing::info!(code = error.code(), "guest request rejected at the edge");
    error
}
