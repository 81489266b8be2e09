//! What an owner's create asks for, parsed at the edge into typed values: the guest
//! (name, mobile), from when, who tells them, in which language, and who the host is
//! to them. Every field that is not as documented is `400 invalid_field`, naming it.

use crate::domain::draft::{Delivery, NewGuest, StartError, StartRequest, LONGEST_START_AHEAD};
use crate::domain::guest::{GuestName, GuestNameError};
use crate::domain::host::{ContactVia, Host};
use crate::domain::idempotency::{fingerprint, IdempotencyKey};
use crate::domain::language::Language;
use crate::domain::phone::{Mobile, MobileError, PhoneBook, PhoneRegion};
use crate::domain::zone::LocalZone;
use crate::error::ApiError;
use lambda_http::Request;
use serde::Deserialize;
use time::OffsetDateTime;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateInviteBody {
    name: String,
    mobile: String,
    /// `sms` (absent: the default) or `owner_shares`.
    #[serde(default)]
    delivery: Option<String>,
    /// RFC 3339; without an offset, the intercom's local time. Absent: now.
    #[serde(default)]
    starts_at: Option<String>,
    /// Absent: the intercom's default.
    #[serde(default)]
    guest_language: Option<String>,
    /// The host's name as the app shows it; the guest's page names them.
    #[serde(default)]
    host_name: Option<String>,
    /// Only when the owner chose to be reachable.
    #[serde(default)]
    host_contact: Option<ContactBody>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContactBody {
    via: String,
    number: String,
}

/// A create's request, every field checked.
pub struct CreateRequest {
    pub name: GuestName,
    pub mobile: Mobile,
    delivery: Delivery,
    start: Option<StartRequest>,
    language: Option<Language>,
    host: Option<Host>,
}

impl CreateRequest {
    pub fn parse(body: CreateInviteBody, book: &PhoneBook, regions: &[PhoneRegion]) -> Result<Self, ApiError> {
        let name = GuestName::parse(&body.name).map_err(|e| name_refused("name", "the guest's name", e))?;
        let mobile = Mobile::parse(&body.mobile, book).map_err(|e| mobile_refused("mobile", e, regions))?;
        let delivery = match body.delivery.as_deref() {
            None => Delivery::Sms,
            Some(raw) => Delivery::parse(raw).ok_or_else(|| {
                ApiError::invalid("delivery", "delivery is sms (the service texts the guest) or owner_shares")
            })?,
        };
        let start = body.starts_at.as_deref().map(StartRequest::parse).transpose().map_err(start_refused)?;
        let language = body
            .guest_language
            .as_deref()
            .map(|raw| {
                Language::parse(raw).ok_or_else(|| {
                    ApiError::invalid("guest_language", "guest_language is one of en, af, zu, xh, st, tn")
                })
            })
            .transpose()?;
        let contact = body
            .host_contact
            .map(|contact| {
                let via = ContactVia::parse(&contact.via)
                    .ok_or_else(|| ApiError::invalid("host_contact", "host_contact.via is call or whatsapp"))?;
                // The host's own number may be in any country SMS or WhatsApp reach.
                let number =
                    Mobile::parse(&contact.number, book).map_err(|e| mobile_refused("host_contact", e, regions))?;
                Ok::<_, ApiError>((via, number))
            })
            .transpose()?;
        let host = match (body.host_name.as_deref(), contact) {
            (Some(raw), contact) => Some(Host {
                name: GuestName::parse(raw).map_err(|e| name_refused("host_name", "the host's name", e))?,
                contact,
            }),
            (None, Some(_)) => {
                return Err(ApiError::invalid(
                    "host_name",
                    "host_contact needs host_name: the guest is told whom they reach",
                ))
            }
            (None, None) => None,
        };
        Ok(Self { name, mobile, delivery, start, language, host })
    }

    /// The guest as the domain drafts them, the start read in the intercom's zone.
    pub fn guest(&self, zone: &LocalZone, now: OffsetDateTime) -> Result<NewGuest<'_>, ApiError> {
        let starts_at = self.start.map(|start| start.resolve(zone, now)).transpose().map_err(start_refused)?;
        Ok(NewGuest {
            name: &self.name,
            mobile: &self.mobile,
            starts_at,
            delivery: self.delivery,
            language: self.language,
            host: self.host.as_ref(),
        })
    }

    /// What an `Idempotency-Key` replay must match: the same guest and the same
    /// choices. Choices left at their defaults fingerprint as before they existed.
    pub fn fingerprint(&self) -> String {
        let host = self.host.as_ref().map(|host| {
            let contact = host.contact.as_ref().map(|(via, number)| format!("{}:{}", via.as_str(), number.e164()));
            format!("{}|{}", host.name.as_str(), contact.unwrap_or_default())
        });
        fingerprint(
            &self.name,
            &self.mobile,
            &[
                if self.delivery == Delivery::Sms { "" } else { self.delivery.as_str() },
                &self.start.map(StartRequest::fingerprint).unwrap_or_default(),
                self.language.map_or("", Language::as_str),
                host.as_deref().unwrap_or_default(),
            ],
        )
    }
}

/// The `Idempotency-Key` header, if sent. A key that is not visible ASCII is refused,
/// never ignored: ignoring it would turn the client's safe retry into a second invite.
pub fn idempotency_key(req: &Request) -> Result<Option<IdempotencyKey>, ApiError> {
    req.headers()
        .get("idempotency-key")
        .map(|raw| {
            raw.to_str().ok().and_then(IdempotencyKey::parse).ok_or_else(|| {
                ApiError::invalid(
                    "Idempotency-Key",
                    "Idempotency-Key must be 16 to 128 visible ASCII characters, e.g. a UUID",
                )
            })
        })
        .transpose()
}

fn name_refused(field: &'static str, whose: &str, error: GuestNameError) -> ApiError {
    let problem = match error {
        GuestNameError::Empty => "is required",
        GuestNameError::TooLong => "must be at most 60 characters",
        GuestNameError::InvisibleCharacters => "contains invisible or control characters",
    };
    ApiError::invalid(field, format!("{whose} {problem}"))
}

fn mobile_refused(field: &'static str, error: MobileError, regions: &[PhoneRegion]) -> ApiError {
    let message = match error {
        MobileError::Invalid => "the mobile number is not a valid phone number".to_owned(),
        MobileError::NotMobile => "the number cannot receive SMS; give a mobile number".to_owned(),
        MobileError::Incomplete => "the mobile number is too short; give all of its digits".to_owned(),
        MobileError::CountryNotServed => format!(
            "codes can only be texted to numbers in {}",
            regions.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ")
        ),
    };
    ApiError::invalid(field, message)
}

fn start_refused(error: StartError) -> ApiError {
    let message = match error {
        StartError::Malformed => {
            "starts_at is a date and time like 2026-12-08T09:00:00+02:00, or without the offset in the intercom's time zone"
                .to_owned()
        }
        StartError::NotInZone => "starts_at is not a time in the intercom's time zone".to_owned(),
        StartError::TooFarAhead => format!("a code can start at most {} hours ahead", LONGEST_START_AHEAD.whole_hours()),
        StartError::Past => "starts_at is in the past; leave it out for a code that starts now".to_owned(),
    };
    ApiError::invalid("starts_at", message)
}
