//! One-time access settings of an intercom, and the registry they point into.

use super::ids::{DeviceId, IntercomId, ThingName, UserId};
use super::language::Language;
use super::location::Location;
use super::zone::LocalZone;
use std::collections::BTreeMap;
use time::{Duration, OffsetDateTime};

pub const MAX_USERS_RANGE: std::ops::RangeInclusive<u32> = 1..=1000;
pub const DEFAULT_MAX_USERS: u32 = 10;
/// 15 minutes to 3 days, the range Fluss uses for tenant invites.
pub const INVITE_DURATION_MINUTES_RANGE: std::ops::RangeInclusive<u32> = 15..=3 * 24 * 60;
pub const DEFAULT_INVITE_DURATION_MINUTES: u32 = 12 * 60;
pub const EXIT_GRACE_MINUTES_RANGE: std::ops::RangeInclusive<u32> = 0..=24 * 60;
pub const DEFAULT_EXIT_GRACE_MINUTES: u32 = 60;

/// A Fluss+ gate paired with an intercom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gate {
    pub label: String,
    pub thing: ThingName,
}

/// What the owner saved. Snapshotted into every code created under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub entry_gate: DeviceId,
    pub exit_gate: DeviceId,
    pub max_users: u32,
    pub invite_duration_minutes: u32,
    pub exit_grace_minutes: u32,
    /// What a new code's guest reads unless the owner chooses another language.
    pub guest_language: Language,
    pub updated_at: OffsetDateTime,
    pub updated_by: UserId,
}

impl Settings {
    pub fn invite_duration(&self) -> Duration {
        Duration::minutes(i64::from(self.invite_duration_minutes))
    }

    pub fn exit_grace(&self) -> Duration {
        Duration::minutes(i64::from(self.exit_grace_minutes))
    }
}

/// The registry item of an intercom: what device management provisioned, plus
/// the owner's settings once saved.
#[derive(Debug, Clone)]
pub struct Intercom {
    pub id: IntercomId,
    pub label: String,
    pub gates: BTreeMap<DeviceId, Gate>,
    pub settings: Option<Settings>,
    /// Where the intercom is: times shown to its guests and owners are in this zone.
    pub time_zone: LocalZone,
    /// Moved on by every settings change.
    pub version: u64,
    /// How many places are laid out (`store::places`); a create lays them out first
    /// unless this equals Max Users. `None` for an intercom of an earlier version.
    pub places: Option<u32>,
    /// Listed places over Max Users, after it was lowered while their codes were
    /// out: each is withdrawn once free, and no code is created while any is left.
    pub places_surplus: u32,
    /// Guest SMS allowances provisioning raised (or lowered) for this intercom, an
    /// estate or an integration; `None`: the deployment's defaults.
    pub sms_allowance: SmsAllowance,
    /// Where its gate is, when provisioning recorded it.
    pub location: Option<Location>,
}

/// What provisioning may set an SMS allowance to, an hour. The top keeps each SMS
/// counter item, written once per SMS, far under a partition's 1,000 writes a second
/// (100,000 an hour is 28 a second; README, "Capacity").
pub const SMS_ALLOWANCE_RANGE: std::ops::RangeInclusive<u32> = 1..=100_000;

/// Per-intercom guest SMS allowances, each hour; unset ones are the deployment's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SmsAllowance {
    pub per_user_per_hour: Option<u32>,
    pub per_intercom_per_hour: Option<u32>,
}

/// A settings change as the owner asked for it, checked against the registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsChange {
    pub entry_gate: DeviceId,
    /// `None`: same as entry.
    pub exit_gate: Option<DeviceId>,
    pub max_users: u32,
    pub invite_duration_minutes: u32,
    pub exit_grace_minutes: u32,
    pub guest_language: Language,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettingsError {
    UnknownGate(String),
    OutOfRange { field: &'static str, min: u32, max: u32 },
}

impl SettingsChange {
    pub fn apply(self, intercom: &Intercom, by: UserId, at: OffsetDateTime) -> Result<Settings, SettingsError> {
        let in_range = |field: &'static str, value: u32, range: std::ops::RangeInclusive<u32>| {
            if range.contains(&value) {
                Ok(value)
            } else {
                Err(SettingsError::OutOfRange { field, min: *range.start(), max: *range.end() })
            }
        };
        let max_users = in_range("max_users", self.max_users, MAX_USERS_RANGE)?;
        let invite_duration_minutes =
            in_range("invite_duration_minutes", self.invite_duration_minutes, INVITE_DURATION_MINUTES_RANGE)?;
        let exit_grace_minutes = in_range("exit_grace_minutes", self.exit_grace_minutes, EXIT_GRACE_MINUTES_RANGE)?;
        let exit_gate = self.exit_gate.unwrap_or_else(|| self.entry_gate.clone());
        for gate in [&self.entry_gate, &exit_gate] {
            if !intercom.gates.contains_key(gate) {
                return Err(SettingsError::UnknownGate(gate.to_string()));
            }
        }
        Ok(Settings {
            entry_gate: self.entry_gate,
            exit_gate,
            max_users,
            invite_duration_minutes,
            exit_grace_minutes,
            guest_language: self.guest_language,
            updated_at: at,
            updated_by: by,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn intercom() -> Intercom {
        let gate = |label: &str, thing: &str| Gate { label: label.into(), thing: ThingName::parse(thing).unwrap() };
        Intercom {
            id: IntercomId::parse("ic-1").unwrap(),
            label: "Front".into(),
            gates: BTreeMap::from([
                (DeviceId::parse("in").unwrap(), gate("In", "thing-in")),
                (DeviceId::parse("out").unwrap(), gate("Out", "thing-out")),
            ]),
            settings: None,
            time_zone: LocalZone::default(),
            version: 0,
            places: None,
            places_surplus: 0,
            sms_allowance: SmsAllowance::default(),
            location: None,
        }
    }

    pub(crate) fn change() -> SettingsChange {
        SettingsChange {
            entry_gate: DeviceId::parse("in").unwrap(),
            exit_gate: None,
            max_users: DEFAULT_MAX_USERS,
            invite_duration_minutes: DEFAULT_INVITE_DURATION_MINUTES,
            exit_grace_minutes: DEFAULT_EXIT_GRACE_MINUTES,
            guest_language: Language::English,
        }
    }

    fn apply(c: SettingsChange) -> Result<Settings, SettingsError> {
        c.apply(&intercom(), UserId::parse("owner").unwrap(), OffsetDateTime::UNIX_EPOCH)
    }

    #[test]
    fn exit_gate_defaults_to_the_entry_gate() {
        assert_eq!(apply(change()).unwrap().exit_gate.as_str(), "in");
        let separate = SettingsChange { exit_gate: DeviceId::parse("out"), ..change() };
        assert_eq!(apply(separate).unwrap().exit_gate.as_str(), "out");
    }

    #[test]
    fn gates_must_belong_to_the_intercom() {
        let stranger = SettingsChange { exit_gate: DeviceId::parse("neighbour"), ..change() };
        assert_eq!(apply(stranger), Err(SettingsError::UnknownGate("neighbour".into())));
    }

    #[test]
    fn ranges_are_enforced_at_both_ends() {
        assert!(apply(SettingsChange { max_users: 1000, invite_duration_minutes: 15, ..change() }).is_ok());
        assert!(apply(SettingsChange { invite_duration_minutes: 4320, exit_grace_minutes: 0, ..change() }).is_ok());
        for bad in [
            SettingsChange { max_users: 0, ..change() },
            SettingsChange { max_users: 1001, ..change() },
            SettingsChange { invite_duration_minutes: 14, ..change() },
            SettingsChange { invite_duration_minutes: 4321, ..change() },
            SettingsChange { exit_grace_minutes: 1441, ..change() },
        ] {
            assert!(matches!(apply(bad), Err(SettingsError::OutOfRange { .. })));
        }
    }
}
