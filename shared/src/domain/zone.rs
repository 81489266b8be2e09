//! An intercom's IANA time zone: every time shown to a person (share message,
//! guest page) is in it, so a guest in Johannesburg never reads UTC.
//!
//! Only what writes times for people (create-invite's share message) and what
//! checks zone names (provisioning) need the time-zone database: the
//! `local-time` feature brings it (jiff with the bundled tzdb). Everything else
//! only carries the name from the registry to the invite and the guest's page.

use std::fmt;

/// Where Fluss's intercoms are unless provisioning says otherwise.
pub const DEFAULT_TIME_ZONE: &str = "Africa/Johannesburg";

/// An IANA zone name. Only its name is carried (from the registry to each invite and
/// the guest's page); the zone's rules are looked up where a time is written.
#[derive(Clone, PartialEq, Eq)]
pub struct LocalZone(String);

impl LocalZone {
    /// A name this service stored; it was checked when provisioned.
    pub fn from_stored(name: String) -> Self {
        Self(name)
    }

    /// An IANA name known to the bundled time-zone database (`Europe/Berlin`).
    #[cfg(feature = "local-time")]
    pub fn parse(name: &str) -> Option<Self> {
        // Fixed offsets and POSIX strings are not places; people's clocks follow places.
        if !name.contains('/') && name != "UTC" {
            return None;
        }
        jiff::tz::db().get(name).ok().map(|_| Self(name.to_owned()))
    }

    pub fn name(&self) -> &str {
        &self.0
    }

    /// `2026-11-25 18:30 SAST`: the wall-clock time there, with the zone's abbreviation
    /// (UTC should a stored name ever be unknown to this build's database).
    #[cfg(feature = "local-time")]
    pub fn wall_clock(&self, at: time::OffsetDateTime) -> String {
        let zone = jiff::tz::db().get(&self.0).unwrap_or(jiff::tz::TimeZone::UTC);
        let Ok(instant) = jiff::Timestamp::from_second(at.unix_timestamp()) else {
            return String::new();
        };
        // Only the zone's offset and abbreviation come from jiff; the `time` crate the
        // service already uses writes the date, which keeps jiff's formatting out of
        // create-invite.
        let info = zone.to_offset_info(instant);
        let local =
            time::UtcOffset::from_whole_seconds(info.offset().seconds()).ok().and_then(|o| at.checked_to_offset(o));
        let Some(local) = local else {
            return String::new();
        };
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02} {}",
            local.year(),
            u8::from(local.month()),
            local.day(),
            local.hour(),
            local.minute(),
            info.abbreviation()
        )
    }
}

impl Default for LocalZone {
    fn default() -> Self {
        Self::from_stored(DEFAULT_TIME_ZONE.to_owned())
    }
}

impl fmt::Debug for LocalZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LocalZone({})", self.0)
    }
}

#[cfg(test)]
#[cfg(feature = "local-time")]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn johannesburg_is_two_hours_ahead_all_year() {
        let zone = LocalZone::default();
        assert_eq!(zone.name(), "Africa/Johannesburg");
        assert_eq!(zone.wall_clock(datetime!(2026-11-25 16:30 UTC)), "2026-11-25 18:30 SAST");
        assert_eq!(zone.wall_clock(datetime!(2026-06-25 16:30 UTC)), "2026-06-25 18:30 SAST");
    }

    #[test]
    fn zones_with_summer_time_follow_it() {
        let berlin = LocalZone::parse("Europe/Berlin").unwrap();
        assert_eq!(berlin.wall_clock(datetime!(2026-01-10 12:00 UTC)), "2026-01-10 13:00 CET");
        assert_eq!(berlin.wall_clock(datetime!(2026-07-10 12:00 UTC)), "2026-07-10 14:00 CEST");
    }

    #[test]
    fn only_named_places_are_accepted() {
        for bad in ["", "Mars/Olympus", "+02:00", "SAST", "EST5EDT,M3.2.0,M11.1.0", "../../etc/passwd"] {
            assert!(LocalZone::parse(bad).is_none(), "{bad:?}");
        }
        assert!(LocalZone::parse("UTC").is_some());
    }
}
