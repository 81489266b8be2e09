//! A new invite: what the owner asks for (one guest, from when, who tells them) and
//! the draft made from it under the current settings. The start may be asked for as
//! an instant or as a wall-clock time in the intercom's zone ([`StartRequest`]).

use super::code::AccessCode;
use super::guest::GuestName;
use super::host::Host;
use super::idempotency::SealKeys;
use super::ids::{DeviceId, InviteId, UserId};
use super::invite::{GateSnapshot, Invite, SmsStatus};
use super::language::Language;
use super::passage::Passage;
use super::phone::Mobile;
use super::settings::{Intercom, Settings};
use super::token::{LinkKeys, LinkToken};
use std::collections::HashMap;
use time::{OffsetDateTime, PrimitiveDateTime};

/// Why no new code can be made now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CannotCreate {
    /// A gate the settings name is no longer registered: the owner must choose again.
    GateGone,
}

/// What the owner asked for: one guest, from when, and who tells them.
#[derive(Clone, Copy)]
pub struct NewGuest<'a> {
    pub name: &'a GuestName,
    pub mobile: &'a Mobile,
    /// `None`: from now. A time already past also means now.
    pub starts_at: Option<OffsetDateTime>,
    pub delivery: Delivery,
    /// `None`: the intercom's default.
    pub language: Option<Language>,
    pub host: Option<&'a Host>,
}

/// Who gets the code to the guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Delivery {
    /// The service texts the guest (counted against the hour's SMS allowances).
    #[default]
    Sms,
    /// The owner shares it from the app (WhatsApp, e-mail, their own SMS): no SMS
    /// is sent or counted until someone asks for a resend.
    OwnerShares,
}

impl Delivery {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sms => "sms",
            Self::OwnerShares => "owner_shares",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Self::Sms, Self::OwnerShares].into_iter().find(|d| d.as_str() == raw)
    }
}

/// How far ahead a code may be made to start: the longest Invite Duration the
/// settings allow, so no code lives longer than twice that from its creation.
pub const LONGEST_START_AHEAD: time::Duration =
    time::Duration::minutes(*super::settings::INVITE_DURATION_MINUTES_RANGE.end() as i64);

/// What a create needs of the server's keys: the link keys tag the new link, the
/// seal keys seal its secret for the SMS sender (two keyrings, each in only the
/// functions that use it: see README, Configuration).
#[derive(Clone, Copy)]
pub struct InviteKeys<'a> {
    pub link: &'a LinkKeys,
    pub seal: &'a SealKeys,
}

impl Invite {
    /// A new invite under the current settings, with devices, duration and limits
    /// copied in (later settings changes do not touch it), and the link token whose
    /// hash it keeps.
    pub fn draft(
        intercom: &Intercom,
        settings: &Settings,
        by: &UserId,
        guest: NewGuest<'_>,
        code: AccessCode,
        keys: InviteKeys<'_>,
        now: OffsetDateTime,
    ) -> Result<(Self, LinkToken), CannotCreate> {
        let snapshot = |device: &DeviceId| {
            intercom
                .gates
                .get(device)
                .map(|gate| GateSnapshot {
                    device: device.clone(),
                    label: gate.label.clone(),
                    thing: gate.thing.clone(),
                })
                .ok_or(CannotCreate::GateGone)
        };
        let starts_at = guest.starts_at.map_or(now, |at| at.max(now));
        let expires_at = starts_at + settings.invite_duration();
        let exit_closes_at = expires_at + settings.exit_grace();
        let id = InviteId::generate(exit_closes_at);
        let token = LinkToken::generate(intercom.id.clone(), id.clone(), keys.link);
        let invite = Self {
            intercom_id: intercom.id.clone(),
            intercom_label: intercom.label.clone(),
            time_zone: intercom.time_zone.clone(),
            id,
            token_hash: token.hash(),
            code,
            guest_name: guest.name.clone(),
            guest_mobile: guest.mobile.clone(),
            language: guest.language.unwrap_or(settings.guest_language),
            host: guest.host.cloned(),
            location: intercom.location.clone(),
            created_by: by.clone(),
            created_at: now,
            starts_at,
            expires_at,
            exit_closes_at,
            entry_gate: snapshot(&settings.entry_gate)?,
            exit_gate: snapshot(&settings.exit_gate)?,
            max_users: settings.max_users,
            place: None,
            revoked: false,
            entry: Passage::default(),
            exit: Passage::default(),
            exit_released: false,
            exit_not_before: None,
            last_entry_attempt: None,
            last_exit_attempt: None,
            sms_status: match guest.delivery {
                Delivery::Sms => SmsStatus::Queued,
                Delivery::OwnerShares => SmsStatus::OwnerShares,
            },
            link_seal: keys.seal.seal_link(token.secret(), token.invite_id()),
            attempts: HashMap::new(),
        };
        Ok((invite, token))
    }
}

/// How far back a start may lie and still mean "now": a client's clock a little
/// behind, or a retry of the same request. Further back is a mistake worth saying.
pub const START_IN_THE_PAST: time::Duration = time::Duration::hours(1);

/// A start as the request gave it: an instant, or a wall-clock time to be read in
/// the intercom's zone once the intercom is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartRequest {
    At(OffsetDateTime),
    Local(PrimitiveDateTime),
}

/// Why a start cannot be taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartError {
    /// Neither RFC 3339 nor a date and time without an offset.
    Malformed,
    /// A wall-clock time the zone's rules cannot place.
    NotInZone,
    TooFarAhead,
    Past,
}

impl StartRequest {
    pub fn parse(raw: &str) -> Result<Self, StartError> {
        use time::format_description::well_known::Rfc3339;
        if let Ok(at) = OffsetDateTime::parse(raw, &Rfc3339) {
            return Ok(Self::At(at));
        }
        let with_seconds = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
        let without = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]");
        PrimitiveDateTime::parse(raw, &with_seconds)
            .or_else(|_| PrimitiveDateTime::parse(raw, &without))
            .map(Self::Local)
            .map_err(|_| StartError::Malformed)
    }

    /// The instant, within the allowed range: not more than [`LONGEST_START_AHEAD`]
    /// ahead, nor more than [`START_IN_THE_PAST`] back.
    #[cfg(feature = "local-time")]
    pub fn resolve(self, zone: &super::zone::LocalZone, now: OffsetDateTime) -> Result<OffsetDateTime, StartError> {
        let at = match self {
            Self::At(at) => at,
            Self::Local(local) => zone.instant_of(local).ok_or(StartError::NotInZone)?,
        };
        if at > now + LONGEST_START_AHEAD {
            return Err(StartError::TooFarAhead);
        }
        if at < now - START_IN_THE_PAST {
            return Err(StartError::Past);
        }
        Ok(at)
    }

    /// What an idempotency fingerprint holds of it: the same request, the same words.
    pub fn fingerprint(self) -> String {
        match self {
            Self::At(at) => at.unix_timestamp().to_string(),
            Self::Local(local) => local.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::invite::ListedState;
    use time::Duration;

    fn test_keys() -> InviteKeys<'static> {
        static KEYS: std::sync::OnceLock<(LinkKeys, SealKeys)> = std::sync::OnceLock::new();
        let (link, seal) = KEYS.get_or_init(|| (LinkKeys::random(), SealKeys::random()));
        InviteKeys { link, seal }
    }

    const T0: OffsetDateTime = OffsetDateTime::UNIX_EPOCH;

    #[test]
    fn a_draft_snapshots_the_gates_and_refuses_a_gate_that_is_gone() {
        let mut intercom = crate::domain::settings::tests::intercom();
        let owner = UserId::parse("owner").unwrap();
        let settings = crate::domain::settings::tests::change().apply(&intercom, owner.clone(), T0).unwrap();
        let (name, mobile) = (GuestName::parse("Thandi").unwrap(), Mobile::from_stored("+27821234567".into()));
        let guest = || NewGuest {
            name: &name,
            mobile: &mobile,
            starts_at: None,
            delivery: Delivery::Sms,
            language: None,
            host: None,
        };
        let code = AccessCode::parse("4821").unwrap();
        let (invite, token) =
            Invite::draft(&intercom, &settings, &owner, guest(), code.clone(), test_keys(), T0).unwrap();
        assert_eq!(invite.entry_gate.label, "In");
        assert_eq!(invite.token_hash, token.hash());
        assert_eq!(invite.id.window_closes(), invite.exit_closes_at.unix_timestamp());
        intercom.gates.clear();
        assert_eq!(
            Invite::draft(&intercom, &settings, &owner, guest(), code, test_keys(), T0).err(),
            Some(CannotCreate::GateGone)
        );
    }

    #[test]
    fn a_code_made_for_later_runs_its_duration_from_its_start_and_holds_its_place_from_creation() {
        let intercom = crate::domain::settings::tests::intercom();
        let owner = UserId::parse("owner").unwrap();
        let settings = crate::domain::settings::tests::change().apply(&intercom, owner.clone(), T0).unwrap();
        let (name, mobile) = (GuestName::parse("Thandi").unwrap(), Mobile::from_stored("+27821234567".into()));
        let draft = |starts_at, delivery| {
            let guest = NewGuest { name: &name, mobile: &mobile, starts_at, delivery, language: None, host: None };
            let code = AccessCode::parse("4821").unwrap();
            Invite::draft(&intercom, &settings, &owner, guest, code, test_keys(), T0).unwrap().0
        };
        let tomorrow = T0 + Duration::days(1);
        let later = draft(Some(tomorrow), Delivery::Sms);
        assert_eq!((later.starts_at, later.expires_at), (tomorrow, tomorrow + settings.invite_duration()));
        assert!(later.holds_slot(T0) && later.standing().is_listed(T0), "counted against Max Users at once");
        assert_eq!(later.standing().listed_state(T0), ListedState::Scheduled);
        assert_eq!(later.standing().listed_state(tomorrow), ListedState::Unused);
        let past = draft(Some(T0 - Duration::minutes(2)), Delivery::Sms);
        assert_eq!(past.starts_at, T0, "a start already past is now");
        assert_eq!(later.sms_status, SmsStatus::Queued);
        assert_eq!(draft(None, Delivery::OwnerShares).sms_status, SmsStatus::OwnerShares);
    }

    #[test]
    #[cfg(feature = "local-time")]
    fn a_start_is_an_instant_or_the_intercoms_wall_clock_within_its_bounds() {
        use time::macros::datetime;
        let zone = crate::domain::zone::LocalZone::default();
        let now = datetime!(2026-12-07 08:00 UTC);
        let local = StartRequest::parse("2026-12-08T09:00").unwrap();
        assert_eq!(local.resolve(&zone, now), Ok(datetime!(2026-12-08 07:00 UTC)));
        let at = StartRequest::parse("2026-12-08T09:00:00+02:00").unwrap();
        assert_eq!(at.resolve(&zone, now), Ok(datetime!(2026-12-08 07:00 UTC)));
        assert_ne!(local.fingerprint(), at.fingerprint(), "the words asked for, not the instant");
        assert_eq!(StartRequest::parse("tomorrow"), Err(StartError::Malformed));
        let ahead = StartRequest::At(now + LONGEST_START_AHEAD);
        assert_eq!(ahead.resolve(&zone, now), Ok(now + LONGEST_START_AHEAD));
        let beyond = StartRequest::At(now + LONGEST_START_AHEAD + Duration::seconds(1));
        assert_eq!(beyond.resolve(&zone, now), Err(StartError::TooFarAhead));
        let past = StartRequest::At(now - START_IN_THE_PAST - Duration::seconds(1));
        assert_eq!(past.resolve(&zone, now), Err(StartError::Past));
    }
}
