//! `GET /intercoms/{intercomId}/activity` — owner or shared user: what happened at
//! the intercom, newest first, a page at a time (`limit`, 1–100, default 50; `cursor`
//! from the previous page's `next_cursor`). With `code=<codeId>`: that code's own
//! history instead, whole, while the code is kept (14 days after it ended).
//!
//! Two DynamoDB requests: the caller's membership (one transactional read of the
//! registry and the member item), then one Query of the intercom's activity
//! partition (or one Query of the code's item and its SMS item). Names and masked mobiles, as the list
//! shows them; never the code or the token.
//!
//! A page's position is a sort key, so facts that arrive while a client pages (they
//! sort newer) never shift the pages after the cursor: nothing is lost or repeated.

use super::{intercom_in_path, page_wanted, Pages};
use crate::api::activity::{ActivityPage, FactView};
use crate::domain::cursor::Listing;
use crate::domain::ids::InviteId;
use crate::error::ApiError;
use crate::http::{caller, json_response, respond};
use crate::store::activity::{ActivityCursor, DEFAULT_PAGE, MAX_PAGE};
use crate::Deps;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, RequestExt, Response};

pub async fn handle(deps: &Deps, req: Request) -> Response<Body> {
    respond(list(deps, &req).await)
}

enum Wanted {
    Page { limit: i32, cursor: Option<ActivityCursor> },
    Code(InviteId),
}

fn wanted(req: &Request, pages: &Pages) -> Result<Wanted, ApiError> {
    let query = req.query_string_parameters_ref();
    let param = |name: &str| query.and_then(|q| q.first(name));
    if let Some(code) = param("code") {
        return InviteId::parse(code).map(Wanted::Code).ok_or(ApiError::CodeNotFound);
    }
    let (limit, cursor) = page_wanted(req, pages, DEFAULT_PAGE, MAX_PAGE, ActivityCursor::decode)?;
    Ok(Wanted::Page { limit, cursor })
}

async fn list(deps: &Deps, req: &Request) -> Result<Response<Body>, ApiError> {
    let user = caller(req)?;
    let intercom_id = intercom_in_path(req)?;
    let pages = Pages::of(deps, Listing::Activity, &intercom_id)?;
    let wanted = wanted(req, &pages)?;
    let (intercom, role) = deps.store.load_access(&intercom_id, &user).await?;
    if intercom.is_none() || role.is_none() {
        return Err(ApiError::Forbidden);
    }
    // A code's history is one page, newest first, with no next one.
    let (code_id, facts, next_cursor) = match &wanted {
        Wanted::Page { limit, cursor } => {
            let page = deps.store.activity_page(&intercom_id, cursor.as_ref(), *limit).await?;
            (None, page.facts, page.next.map(|cursor| pages.cursor_after(&cursor.encode())))
        }
        Wanted::Code(code) => {
            let mut facts = deps.store.code_facts(&intercom_id, code).await?.ok_or(ApiError::CodeNotFound)?;
            facts.reverse();
            (Some(code.as_str()), facts, None)
        }
    };
    let body = ActivityPage {
        intercom_id: intercom_id.as_str(),
        code_id,
        facts: facts.iter().map(FactView::of).collect(),
        next_cursor,
    };
    Ok(json_response(StatusCode::OK, &body))
}
