//! Configuration, read once at cold start from the environment.

use crate::domain::cursor::CursorKeys;
use crate::domain::gate_number::GateNumberKeys;
use crate::domain::guest_lookup::GuestKeys;
use crate::domain::idempotency::SealKeys;
use crate::domain::keyring::Keyring;
use crate::domain::phone::PhoneRegion;
use crate::domain::token::LinkKeys;
use thiserror::Error;

/// Where the link in an SMS points unless `OTA_LINK_BASE_URL` says otherwise.
pub const DEFAULT_LINK_BASE_URL: &str = "https://ote.fluss.me";

#[derive(Debug, Clone)]
pub struct Config {
    /// `OTA_TABLE_NAME` (required): the single DynamoDB table.
    pub table_name: String,
    /// `OTA_LINK_BASE_URL`: the guest page; the token follows in the fragment.
    pub link_base_url: String,
    /// `OTA_DEFAULT_PHONE_REGION`: how numbers without a `+country` prefix are read.
    pub default_phone_region: PhoneRegion,
    /// `OTA_PHONE_REGIONS`: the countries guests may be texted in (comma-separated,
    /// default `ZA`; from those bundled, see `domain::phone::BUNDLED_REGIONS`).
    pub phone_regions: Vec<PhoneRegion>,
    /// `OTA_SMS_SENDER_ID`: alphanumeric sender id, where the destination country allows one.
    pub sms_sender_id: Option<String>,
    /// `OTA_IOT_DATA_ENDPOINT`: the account's IoT data endpoint (`https://xxxx-ats.iot.<region>.amazonaws.com`).
    /// Unset: `AWS_ENDPOINT_URL` or the SDK's default endpoint is used.
    pub iot_data_endpoint: Option<String>,
    /// `OTA_SEAL_KEYS`: the server-held secrets that seal the link secrets kept for
    /// the SMS sender and for idempotent replays (see `domain::idempotency::SealKeys`).
    /// Required by create-invite and sms-sender, held by nothing else. In production
    /// from Secrets Manager through the template, as every key here.
    pub seal_keys: Option<SealKeys>,
    /// `OTA_GATE_NUMBER_KEYS`: the secrets of the gate numbers' keyed hash (see
    /// `domain::gate_number::GateNumberKeys`): the guest functions and the admin tool.
    pub gate_number_keys: Option<GateNumberKeys>,
    /// `OTA_LINK_KEYS`: the secrets that tag link tokens (see `domain::token::LinkKeys`).
    /// Required by create-invite; the guest functions check tags with them, and
    /// without them take no token as genuine.
    pub link_keys: Option<LinkKeys>,
    /// `OTA_CURSOR_KEYS`: the secrets that tag the list cursors handed out (see
    /// `domain::cursor`). Required by list-codes and list-activity, and by nothing else.
    pub cursor_keys: Option<CursorKeys>,
    /// `OTA_GUEST_KEYS`: the secrets of the guest lookup's keyed hash (see
    /// `domain::guest_lookup`). Required by create-invite (it indexes each code) and
    /// erase-guest (it finds them), and by nothing else.
    pub guest_keys: Option<GuestKeys>,
    /// `OTA_SMS_PER_USER_PER_HOUR` (default 30) and `OTA_SMS_PER_INTERCOM_PER_HOUR`
    /// (default 100): guest SMS one user, and one intercom, may cause per clock
    /// hour, so a create/revoke loop cannot pump SMS.
    pub sms_limits: SmsLimits,
    /// `OTA_EVENT_BUS_NAME`: the EventBridge bus the outbox publishes facts to.
    pub event_bus_name: Option<String>,
    /// `OTA_SMS_QUEUE_URL`: the SQS queue between the stream and SNS (outbox, SMS sender).
    pub sms_queue_url: Option<String>,
    /// `OTA_SMS_PER_SECOND` and `OTA_SMS_SENDERS`: how fast the SMS go out.
    pub sms_pace: SmsPace,
}

/// The account's SMS rate (SNS's "transactional SMS per second", 20 by default in
/// every account) shared by the SMS sender's concurrent executions, of which the
/// queue's event source runs at most `senders` (its `MaximumConcurrency`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SmsPace {
    pub per_second: u32,
    pub senders: u32,
}

impl SmsPace {
    /// The gap one sender leaves between two SMS, so that all of them together stay
    /// at or under the account's rate.
    pub fn gap(self) -> std::time::Duration {
        std::time::Duration::from_secs_f64(f64::from(self.senders.max(1)) / f64::from(self.per_second.max(1)))
    }
}

impl Default for SmsPace {
    fn default() -> Self {
        Self { per_second: 20, senders: 2 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SmsLimits {
    pub per_user_per_hour: u32,
    pub per_intercom_per_hour: u32,
}

impl Default for SmsLimits {
    fn default() -> Self {
        Self { per_user_per_hour: 30, per_intercom_per_hour: 100 }
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("environment variable {0} is required but not set")]
    Missing(&'static str),
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads from any lookup, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let non_empty = |name: &str| lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let table_name = non_empty("OTA_TABLE_NAME").ok_or(ConfigError::Missing("OTA_TABLE_NAME"))?;
        let link_base_url = non_empty("OTA_LINK_BASE_URL")
            .unwrap_or_else(|| DEFAULT_LINK_BASE_URL.to_owned())
            .trim_end_matches('/')
            .to_owned();
        if !(link_base_url.starts_with("https://") || link_base_url.starts_with("http://")) {
            return Err(ConfigError::Invalid {
                name: "OTA_LINK_BASE_URL",
                reason: "must start with https:// (or http:// locally)".into(),
            });
        }
        let default_phone_region = match non_empty("OTA_DEFAULT_PHONE_REGION") {
            None => PhoneRegion::default(),
            Some(code) => PhoneRegion::parse(&code).ok_or_else(|| ConfigError::Invalid {
                name: "OTA_DEFAULT_PHONE_REGION",
                reason: format!(
                    "{code:?} is not one of the bundled regions {}",
                    crate::domain::phone::BUNDLED_REGIONS.join(", ")
                ),
            })?,
        };
        let phone_regions = match non_empty("OTA_PHONE_REGIONS") {
            None => vec![PhoneRegion::default()],
            Some(list) => list
                .split(',')
                .map(|code| {
                    PhoneRegion::parse(code).ok_or_else(|| ConfigError::Invalid {
                        name: "OTA_PHONE_REGIONS",
                        reason: format!(
                            "{code:?} is not one of the bundled regions {}",
                            crate::domain::phone::BUNDLED_REGIONS.join(", ")
                        ),
                    })
                })
                .collect::<Result<_, _>>()?,
        };
        if !phone_regions.contains(&default_phone_region) {
            return Err(ConfigError::Invalid {
                name: "OTA_PHONE_REGIONS",
                reason: format!("must include OTA_DEFAULT_PHONE_REGION ({})", default_phone_region.as_str()),
            });
        }
        let sms_sender_id = non_empty("OTA_SMS_SENDER_ID");
        if let Some(id) = &sms_sender_id {
            let valid = (1..=11).contains(&id.len())
                && id.chars().all(|c| c.is_ascii_alphanumeric())
                && id.chars().any(|c| c.is_ascii_alphabetic());
            if !valid {
                return Err(ConfigError::Invalid {
                    name: "OTA_SMS_SENDER_ID",
                    reason: "must be 1 to 11 letters and digits with at least one letter".into(),
                });
            }
        }
        // Each purpose's keys in a variable of their own (`domain::keyring`).
        let keys = |name: &'static str| {
            non_empty(name)
                .map(|raw| Keyring::parse(&raw).map_err(|reason| ConfigError::Invalid { name, reason }))
                .transpose()
        };
        let seal_keys = keys("OTA_SEAL_KEYS")?.map(SealKeys::from);
        let link_keys = keys("OTA_LINK_KEYS")?.map(LinkKeys::from);
        let gate_number_keys = keys("OTA_GATE_NUMBER_KEYS")?.map(GateNumberKeys::from);
        let cursor_keys = keys("OTA_CURSOR_KEYS")?.map(CursorKeys::from);
        let guest_keys = keys("OTA_GUEST_KEYS")?.map(GuestKeys::from);
        let limit =
            |name: &'static str, default: u32| match non_empty(name) {
                None => Ok(default),
                Some(raw) => raw.parse::<u32>().ok().filter(|n| (1..=100_000).contains(n)).ok_or_else(|| {
                    ConfigError::Invalid { name, reason: "must be a whole number from 1 to 100000".into() }
                }),
            };
        let defaults = SmsLimits::default();
        let sms_limits = SmsLimits {
            per_user_per_hour: limit("OTA_SMS_PER_USER_PER_HOUR", defaults.per_user_per_hour)?,
            per_intercom_per_hour: limit("OTA_SMS_PER_INTERCOM_PER_HOUR", defaults.per_intercom_per_hour)?,
        };
        let pace = SmsPace::default();
        let sms_pace = SmsPace {
            per_second: limit("OTA_SMS_PER_SECOND", pace.per_second)?,
            senders: limit("OTA_SMS_SENDERS", pace.senders)?,
        };
        Ok(Self {
            seal_keys,
            link_keys,
            gate_number_keys,
            cursor_keys,
            guest_keys,
            sms_limits,
            sms_pace,
            sms_queue_url: non_empty("OTA_SMS_QUEUE_URL"),
            table_name,
            link_base_url,
            default_phone_region,
            phone_regions,
            sms_sender_id,
            iot_data_endpoint: non_empty("OTA_IOT_DATA_ENDPOINT"),
            event_bus_name: non_empty("OTA_EVENT_BUS_NAME"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn missing_table_name_is_named_in_the_error() {
        let err = Config::from_lookup(lookup(&[])).unwrap_err();
        assert_eq!(err, ConfigError::Missing("OTA_TABLE_NAME"));
        assert!(err.to_string().contains("OTA_TABLE_NAME"));
    }

    #[test]
    fn defaults_apply_when_only_the_table_is_set() {
        let config = Config::from_lookup(lookup(&[("OTA_TABLE_NAME", "t")])).unwrap();
        assert_eq!(config.link_base_url, "https://ote.fluss.me");
        assert_eq!(config.default_phone_region, PhoneRegion::default());
        assert_eq!(config.phone_regions, vec![PhoneRegion::default()]);
        assert_eq!(config.sms_sender_id, None);
        assert_eq!(config.sms_pace, SmsPace { per_second: 20, senders: 2 });
    }

    #[test]
    fn two_senders_at_twenty_a_second_each_leave_a_tenth_of_a_second() {
        assert_eq!(SmsPace { per_second: 20, senders: 2 }.gap(), std::time::Duration::from_millis(100));
        assert_eq!(SmsPace { per_second: 50, senders: 1 }.gap(), std::time::Duration::from_millis(20));
    }

    #[test]
    fn bad_region_and_sender_id_are_rejected_by_name() {
        let err =
            Config::from_lookup(lookup(&[("OTA_TABLE_NAME", "t"), ("OTA_DEFAULT_PHONE_REGION", "XX1")])).unwrap_err();
        assert!(err.to_string().contains("OTA_DEFAULT_PHONE_REGION"));
        let err = Config::from_lookup(lookup(&[("OTA_TABLE_NAME", "t"), ("OTA_SMS_SENDER_ID", "Too-long-sender")]))
            .unwrap_err();
        assert!(err.to_string().contains("OTA_SMS_SENDER_ID"));
        let err = Config::from_lookup(lookup(&[("OTA_TABLE_NAME", "t"), ("OTA_PHONE_REGIONS", "GB")])).unwrap_err();
        assert!(err.to_string().contains("must include OTA_DEFAULT_PHONE_REGION"), "{err}");
    }
}
