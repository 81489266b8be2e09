//! A door command that lapsed unanswered has given its passage back the moment it
//! lapsed (the state is read from the clock); this records it, lazily, in the first
//! request that meets the invite afterwards — a redemption, whose condition cannot
//! see past the stale spend, a status read, or the sweep at the invite's expiry.
//! No scheduler is needed.

use crate::domain::invite::Invite;
use crate::store::{GiveBack, StoreError};
use crate::Deps;
use time::OffsetDateTime;

/// Gives back a passage whose command lapsed; whether `invite` had one (and so
/// whether an attempt refused on it is worth recording again).
pub async fn give_back_lapsed(deps: &Deps, invite: &Invite, now: OffsetDateTime) -> Result<bool, StoreError> {
    let Some(lapsed) = invite.lapsed(now) else { return Ok(false) };
    let Some(last) = invite.last_attempt(lapsed) else { return Ok(false) };
    if deps.store.give_back(invite, lapsed, last, GiveBack::NotOpened, now).await? {
        tracing::warn!(invite = %invite.id, redemption = lapsed.as_str(), "gate never answered its command; given back");
    }
    Ok(true)
}
