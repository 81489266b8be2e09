//! The owner's list, a page at a time: one strongly consistent Query of the
//! invites (and the SMS item beside each) whose exit window is still open, in the
//! order of their keys, soonest end first, with only what the list shows projected.

use super::*;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Of each invite, what the owner's list shows and what decides its [`Standing`].
/// (Its id the list takes from the key.)
pub(super) const INVITE_AS_LISTED: &[&str] = &[
    names::CODE,
    names::GUEST_NAME,
    names::GUEST_MOBILE,
    names::CREATED_BY,
    names::CREATED_AT,
    names::STARTS_AT,
    names::EXPIRES_AT,
    names::EXIT_CLOSES_AT,
    names::STATE,
    ENTRY_TRIES,
    EXIT_TRIES,
    names::ENTRY_GUESSES,
    names::EXIT_GUESSES,
    names::ENTRY_OPENED,
    names::EXIT_OPENED,
    names::ENTRY_AT,
    names::EXIT_AT,
    names::ENTRY_GIVEN_BACK,
    names::EXIT_GIVEN_BACK,
    EXIT_RELEASED,
];

/// What the list reads of each item: far less for the SDK to parse per listed code
/// than a whole invite.
pub(super) const LISTING_READ: &[&[&str]] = &[
    &[keys::SK],
    INVITE_AS_LISTED,
    &["entry_gate.device", "entry_gate.label", "exit_gate.device", "exit_gate.label"],
    // the SMS items beside the invites
    &[names::SMS_STATUS, names::SMS_FAILURE],
];

/// The projection and filter of the list's Query, with the `#name` bindings of
/// both, built once per process.
pub(super) struct ListingQuery {
    projection: String,
    filter: String,
    names: HashMap<String, String>,
}

impl ListingQuery {
    /// Every path of `groups` in one projection, every name bound (reserved words
    /// such as `state` need it), each segment of a `map.member` path on its own. The
    /// filter leaves out the idempotency records of earlier versions, which sat
    /// among the invites (only they have a fingerprint): read and paid for, never
    /// sent or parsed.
    fn of(groups: &[&[&str]]) -> Self {
        let mut names: HashMap<String, String> = HashMap::new();
        let mut bound = |name: &str| {
            let alias = format!("#{}", name.to_ascii_lowercase());
            names.insert(alias.clone(), name.to_owned());
            alias
        };
        let projection = groups
            .concat()
            .iter()
            .map(|path| path.split('.').map(&mut bound).collect::<Vec<_>>().join("."))
            .collect::<Vec<_>>()
            .join(", ");
        // … and the codes whose guest was erased (their items hold no name to show).
        let filter = format!(
            "attribute_not_exists({}) AND attribute_not_exists({})",
            bound(names::FINGERPRINT),
            bound(names::GUEST_ERASED_AT)
        );
        names.insert("#pk".into(), keys::PK.into());
        Self { projection, filter, names }
    }
}

pub(super) static LISTING_QUERY: std::sync::LazyLock<ListingQuery> =
    std::sync::LazyLock::new(|| ListingQuery::of(LISTING_READ));

/// Where a page of the list ended: the sort key of the last item it read, opaque
/// to the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListCursor(String);

impl ListCursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(&self.0)
    }

    /// A cursor this service handed out (an invite's or an SMS item's key), or `None`.
    pub fn decode(raw: &str) -> Option<Self> {
        let sk = String::from_utf8(URL_SAFE_NO_PAD.decode(raw).ok()?).ok()?;
        matches!(keys::classify(&sk), Some(keys::PartitionItem::Invite(_) | keys::PartitionItem::Sms(_)))
            .then_some(Self(sk))
    }
}

/// Where a page's range starts: what ends after `now`, or lower if the cursor is. A
/// cursor whose invite has ended since (the owner paged slowly) would otherwise lie
/// outside the range, which DynamoDB refuses ("The provided starting key is outside
/// query boundaries based on provided condition"); what ended in between is read, and
/// left out by the list as ended.
fn lowest_key(now: OffsetDateTime, after: Option<&ListCursor>) -> String {
    let open = keys::still_open_from(now);
    match after {
        Some(cursor) if cursor.0 < open => cursor.0.clone(),
        _ => open,
    }
}

pub struct ListPage {
    /// In key order: by the close of the exit window, soonest first.
    pub invites: Vec<ListedInvite>,
    pub next: Option<ListCursor>,
}

impl Store {
    /// Up to about `limit` invites whose exit window is open after `now`, from where
    /// `after` ended (an invite and its SMS item count as two items read).
    pub async fn list_page(
        &self,
        intercom: &IntercomId,
        now: OffsetDateTime,
        after: Option<&ListCursor>,
        limit: i32,
    ) -> Result<ListPage, StoreError> {
        let pk = keys::intercom_pk(intercom);
        let read = &*LISTING_QUERY;
        let page = self
            .client
            .query()
            .table_name(&self.table)
            .consistent_read(true)
            .key_condition_expression("#pk = :pk AND #sk BETWEEN :from AND :to")
            .projection_expression(&read.projection)
            .filter_expression(&read.filter)
            .set_expression_attribute_names(Some(read.names.clone()))
            .expression_attribute_values(":pk", s(&pk))
            .expression_attribute_values(":from", s(lowest_key(now, after)))
            .expression_attribute_values(":to", s(keys::open_invites_end()))
            .set_exclusive_start_key(after.map(|cursor| key(pk.clone(), cursor.0.clone())))
            .limit(limit.saturating_mul(2))
            .send()
            .await
            .map_err(request_failed)?;
        let mut invites: Vec<ListedInvite> = Vec::new();
        for item in page.items() {
            match sort_key(item).and_then(keys::classify) {
                Some(keys::PartitionItem::Invite(id)) => invites.push(listed_from_item(id, item)?),
                Some(keys::PartitionItem::Sms(id)) => {
                    // Its invite is the item before it; at a page's start, it was on the last page.
                    if let Some(invite) = invites.last_mut().filter(|invite| invite.id.as_str() == id) {
                        let sms = sms_from_item(item)?;
                        invite.sms_status = sms.status;
                        invite.sms_failure = sms.failure;
                    }
                }
                _ => {}
            }
        }
        let next = page.last_evaluated_key().and_then(|last| sort_key(last)).map(|sk| ListCursor(sk.to_owned()));
        // A page that ends on an invite has not read its SMS item: read it alone.
        if let (Some(_), Some(last)) = (&next, page.items().last()) {
            if let Some(keys::PartitionItem::Invite(_)) = sort_key(last).and_then(keys::classify) {
                if let Some(invite) = invites.last_mut() {
                    if let Some(sms) = self.sms_of(intercom, &invite.id).await? {
                        invite.sms_status = sms.status;
                        invite.sms_failure = sms.failure;
                    }
                }
            }
        }
        Ok(ListPage { invites, next })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_older_than_the_open_range_is_still_inside_the_querys_range() {
        let now = OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
        let ended = InviteId::generate(now - time::Duration::minutes(5));
        let open = InviteId::generate(now + time::Duration::hours(1));
        let cursor = |id: &InviteId| ListCursor::decode(&ListCursor(keys::invite_sk(id)).encode()).unwrap();
        assert_eq!(lowest_key(now, None), keys::still_open_from(now));
        assert_eq!(lowest_key(now, Some(&cursor(&ended))), keys::invite_sk(&ended), "ended since it was handed out");
        assert_eq!(lowest_key(now, Some(&cursor(&open))), keys::still_open_from(now));
    }
}
