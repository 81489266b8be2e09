//! The partition read of create and list: one strongly consistent Query of what is
//! still open in an intercom's partition, each with its projection and filter.

use super::*;

/// Of each invite, what the owner's list shows and what decides its [`Standing`]:
/// read by the list and by a create alike. (Its id the list takes from the key.)
pub(super) const INVITE_AS_LISTED: &[&str] = &[
    names::CODE,
    names::GUEST_NAME,
    names::GUEST_MOBILE,
    names::CREATED_BY,
    names::CREATED_AT,
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

/// Every attribute a create's read of the partition uses: whole registry and invites
/// (a replayed create answers with the invite it made), without the history, the
/// attempt ids and the index keys.
pub(super) const CREATE_READ: &[&[&str]] = &[
    // The sort key tells each item's kind; the partition key is the one asked for.
    &[keys::SK],
    // registry (its gates and Max Users an invite has too)
    &[
        names::INTERCOM_ID,
        names::LABEL,
        names::GATES,
        names::ENTRY_GATE,
        names::EXIT_GATE,
        names::MAX_USERS,
        names::INVITE_DURATION_MINUTES,
        names::EXIT_GRACE_MINUTES,
        names::SETTINGS_UPDATED_AT,
        names::SETTINGS_UPDATED_BY,
        names::VERSION,
        TIME_ZONE,
    ],
    // membership
    &[names::ROLE],
    // invites
    INVITE_AS_LISTED,
    &[names::INVITE_ID, names::INTERCOM_LABEL, names::TOKEN_HASH],
    // the SMS items beside the invites (a replay tells where its SMS is)
    &[names::SMS_STATUS],
    // idempotency records (and the invite id and creation time named above)
    &[names::FINGERPRINT, names::SEALED_SECRET, names::SEAL_KEY],
];

/// What the owner's list uses: the registry's Max Users, the caller's role, and of
/// each invite what the list shows (gates by label only). Far less for the SDK to
/// parse per listed code than a whole invite.
pub(super) const LISTING_READ: &[&[&str]] = &[
    &[keys::SK, names::MAX_USERS, names::ROLE],
    INVITE_AS_LISTED,
    // On an invite, maps; on the registry, device ids these paths find nothing in.
    &["entry_gate.label", "exit_gate.label"],
    // the SMS items beside the invites
    &[names::SMS_STATUS, names::SMS_FAILURE],
];

/// Of the other members, none: a create or a list needs only the caller's role,
/// and an intercom may be shared with many. (A filter may not name the key, so a
/// membership is told by its `user`, which only membership items have.)
pub(super) const CALLERS_MEMBERSHIP_ONLY: &str = "(attribute_not_exists(#user) OR #user = :caller)";

/// How a create or a list reads the open part of an intercom's partition: which
/// attributes come back (projection) and which items (filter), with the `#name`
/// bindings of both, built once per process rather than on every page. Items the
/// filter drops are still read, and paid for, but never sent or parsed.
pub(super) struct PartitionRead {
    projection: String,
    filter: String,
    names: HashMap<String, String>,
}

impl PartitionRead {
    /// Every path of `groups` in one projection (DynamoDB refuses a path named twice).
    /// Every name is bound (reserved words such as `state` and `role` need it), each
    /// segment of a `map.member` path on its own. The filter keeps the caller's
    /// membership only, and leaves out the items that have any of `left_out` (each
    /// one kind's own attribute).
    fn of(groups: &[&[&str]], left_out: &[&str]) -> Self {
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
        bound(names::USER); // `#user` in CALLERS_MEMBERSHIP_ONLY
        let filter = std::iter::once(CALLERS_MEMBERSHIP_ONLY.to_owned())
            .chain(left_out.iter().map(|name| format!("attribute_not_exists({})", bound(name))))
            .collect::<Vec<_>>()
            .join(" AND ");
        // The key condition's names travel in the same bindings.
        names.insert("#pk".into(), keys::PK.into());
        names.insert("#sk".into(), keys::SK.into());
        Self { projection, filter, names }
    }
}

pub(super) static CREATE_QUERY: std::sync::LazyLock<PartitionRead> =
    std::sync::LazyLock::new(|| PartitionRead::of(CREATE_READ, &[]));
/// The list also leaves out idempotency records (only they have a fingerprint):
/// one per keyed create of the last day, and none of them listed.
pub(super) static LISTING_QUERY: std::sync::LazyLock<PartitionRead> =
    std::sync::LazyLock::new(|| PartitionRead::of(LISTING_READ, &[names::FINGERPRINT]));

impl Store {
    /// What a create needs of an intercom: the registry first, the caller's
    /// membership, the invites and idempotency records not ended yet (see
    /// [`Store::read_open`]).
    pub async fn load_partition(
        &self,
        intercom: &IntercomId,
        caller: &UserId,
        now: OffsetDateTime,
    ) -> Result<Partition, StoreError> {
        let mut partition = Partition::default();
        let mut sms = HashMap::new();
        let caller_role = self
            .read_open(intercom, caller, now, &CREATE_QUERY, |kind, item| {
                match kind {
                    keys::PartitionItem::Registry => partition.intercom = Some(intercom_from_item(item)?),
                    // `read_open` took the caller's.
                    keys::PartitionItem::Member(_) => {}
                    keys::PartitionItem::Invite(_) => partition.invites.push(invite_from_item(item)?),
                    keys::PartitionItem::Sms(id) => {
                        sms.insert(id.to_owned(), sms_from_item(item)?);
                    }
                    keys::PartitionItem::Idempotency(_) => {
                        let record = idempotency_from_item(item)?;
                        partition.idempotency.insert(record.key_hash.clone(), record);
                    }
                }
                Ok(())
            })
            .await?;
        partition.caller_role = caller_role;
        for invite in &mut partition.invites {
            if let Some(sms) = sms.get(invite.id.as_str()) {
                invite.sms_status = sms.status;
            }
        }
        Ok(partition)
    }

    /// What the owner's list needs of an intercom, in the same one read as a
    /// create's, of fewer attributes ([`LISTING_READ`]) and no idempotency records.
    pub async fn load_listing(
        &self,
        intercom: &IntercomId,
        caller: &UserId,
        now: OffsetDateTime,
    ) -> Result<Listing, StoreError> {
        let mut listing = Listing::default();
        let mut sms = HashMap::new();
        let caller_role = self
            .read_open(intercom, caller, now, &LISTING_QUERY, |kind, item| {
                match kind {
                    keys::PartitionItem::Registry => {
                        listing.registered = true;
                        listing.max_users =
                            item.contains_key(names::MAX_USERS).then(|| get_n(item, names::MAX_USERS)).transpose()?;
                    }
                    keys::PartitionItem::Invite(id) => listing.invites.push(listed_from_item(id, item)?),
                    keys::PartitionItem::Sms(id) => {
                        sms.insert(id.to_owned(), sms_from_item(item)?);
                    }
                    // `read_open` took the caller's membership; no idempotency record comes.
                    keys::PartitionItem::Member(_) | keys::PartitionItem::Idempotency(_) => {}
                }
                Ok(())
            })
            .await?;
        listing.caller_role = caller_role;
        for invite in &mut listing.invites {
            if let Some(sms) = sms.remove(invite.id.as_str()) {
                invite.sms_status = sms.status;
                invite.sms_failure = sms.failure;
            }
        }
        Ok(listing)
    }

    /// One strongly consistent Query, page by page: from the top of the partition
    /// down to what ends after `now` (see `keys`): the registry first, the caller's
    /// membership, the invites and idempotency records not ended yet, and nothing
    /// that ended, however long the intercom's history. Only what `read` projects
    /// and lets through is returned; `take` gets each item but the membership, whose
    /// role this answers (`None`: the caller is no member).
    async fn read_open(
        &self,
        intercom: &IntercomId,
        caller: &UserId,
        now: OffsetDateTime,
        read: &PartitionRead,
        mut take: impl FnMut(keys::PartitionItem<'_>, &Item) -> Result<(), ItemError>,
    ) -> Result<Option<Role>, StoreError> {
        let mut caller_role = None;
        let mut start_key = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .consistent_read(true)
                .scan_index_forward(false)
                .key_condition_expression("#pk = :pk AND #sk >= :from")
                .projection_expression(&read.projection)
                .filter_expression(&read.filter)
                .set_expression_attribute_names(Some(read.names.clone()))
                .expression_attribute_values(":pk", s(keys::intercom_pk(intercom)))
                .expression_attribute_values(":from", s(keys::still_open_from(now)))
                .expression_attribute_values(":caller", s(caller.as_str()))
                .set_limit(self.page_limit)
                .set_exclusive_start_key(start_key)
                .send()
                .await
                .map_err(request_failed)?;
            for item in page.items() {
                match sort_key(item).and_then(keys::classify) {
                    Some(keys::PartitionItem::Member(user)) if user == caller.as_str() => {
                        caller_role = Some(role_from_item(item)?);
                    }
                    // The filter returns only the caller's, unless a membership lacks its `user`.
                    Some(keys::PartitionItem::Member(_)) | None => {}
                    Some(kind) => take(kind, item)?,
                }
            }
            start_key = page.last_evaluated_key().cloned();
            if start_key.is_none() {
                return Ok(caller_role);
            }
        }
    }
}
