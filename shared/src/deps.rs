use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::store::Store;
use std::sync::Arc;

/// The bus a local stack's or a test's outbox publishes to, unless configured.
pub const LOCAL_EVENT_BUS: &str = "ota-local";

/// What a handler needs, built once per process: clients are cheap to clone and
/// pool their connections, so warm invocations reuse them. A function built
/// without the `sms` (`gate`, `events`) feature has no SNS (IoT, EventBridge) client at all, so each
/// binary links only the AWS services its IAM policy allows.
#[derive(Clone)]
pub struct Deps {
    pub config: Config,
    pub store: Store,
    #[cfg(feature = "sms")]
    pub sms: crate::sms::SmsSender,
    #[cfg(feature = "phone")]
    pub phone_book: Arc<crate::domain::phone::PhoneBook>,
    /// Seal link secrets (create-invite, the SMS sender).
    #[cfg(feature = "phone")]
    pub seal_keys: crate::domain::idempotency::SealKeys,
    #[cfg(feature = "gate")]
    pub gate: crate::gate::GateOpener,
    #[cfg(feature = "events")]
    pub events: crate::events::EventPublisher,
    /// The SMS queue (outbox: puts requests on it; SMS sender: delays retries).
    #[cfg(feature = "queue")]
    pub sms_queue: crate::sms_queue::SmsQueue,
    pub clock: Arc<dyn Clock>,
    /// The guest functions' per-link read limits, kept for the life of the instance.
    pub link_limits: Arc<crate::link_limits::LinkLimits>,
}

impl Deps {
    /// Reads the configuration and the AWS settings from the environment and
    /// builds this function's clients. No network.
    pub fn from_env() -> Result<Self, crate::config::ConfigError> {
        let config = Config::from_env()?;
        let aws = crate::aws::AwsSetup::from_env()?;
        Ok(Self {
            store: Store::new(aws.dynamodb(), config.table_name.clone()),
            #[cfg(feature = "sms")]
            sms: crate::sms::SmsSender::new(aws.sns(), config.sms_sender_id.clone(), config.sms_pace),
            #[cfg(feature = "phone")]
            phone_book: Arc::new(phone_book(&config)?),
            #[cfg(feature = "phone")]
            seal_keys: config.seal_keys.clone().ok_or(crate::config::ConfigError::Missing("OTA_SEAL_KEYS"))?,
            #[cfg(feature = "gate")]
            gate: crate::gate::GateOpener::new(aws.iot(config.iot_data_endpoint.as_deref())),
            #[cfg(feature = "events")]
            events: crate::events::EventPublisher::new(
                aws.eventbridge(),
                config.event_bus_name.clone().ok_or(crate::config::ConfigError::Missing("OTA_EVENT_BUS_NAME"))?,
            ),
            #[cfg(feature = "queue")]
            sms_queue: crate::sms_queue::SmsQueue::new(
                aws.sqs(),
                config.sms_queue_url.clone().ok_or(crate::config::ConfigError::Missing("OTA_SMS_QUEUE_URL"))?,
            ),
            clock: Arc::new(SystemClock),
            link_limits: Arc::default(),
            config,
        })
    }

    /// Every client, given: the local stack and the tests, which build them
    /// against the emulator. The SMS queue is left unconfigured; whoever makes the
    /// queue sets it (`LocalOutbox`).
    #[cfg(all(feature = "sms", feature = "gate", feature = "events", feature = "queue"))]
    pub fn from_clients(
        config: Config,
        dynamo: aws_sdk_dynamodb::Client,
        sns: aws_sdk_sns::Client,
        iot: aws_sdk_iotdataplane::Client,
        eventbridge: aws_sdk_eventbridge::Client,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, crate::config::ConfigError> {
        Ok(Self {
            store: Store::new(dynamo, config.table_name.clone()),
            sms: crate::sms::SmsSender::new(sns, config.sms_sender_id.clone(), config.sms_pace),
            phone_book: Arc::new(phone_book(&config)?),
            seal_keys: config.seal_keys.clone().ok_or(crate::config::ConfigError::Missing("OTA_SEAL_KEYS"))?,
            gate: crate::gate::GateOpener::new(iot),
            events: crate::events::EventPublisher::new(
                eventbridge,
                config.event_bus_name.clone().unwrap_or_else(|| LOCAL_EVENT_BUS.to_owned()),
            ),
            sms_queue: crate::sms_queue::SmsQueue::unconfigured(),
            clock,
            link_limits: Arc::default(),
            config,
        })
    }
}

#[cfg(feature = "phone")]
fn phone_book(config: &Config) -> Result<crate::domain::phone::PhoneBook, crate::config::ConfigError> {
    crate::domain::phone::PhoneBook::new(&config.phone_regions, config.default_phone_region)
        .map_err(|reason| crate::config::ConfigError::Invalid { name: "OTA_PHONE_REGIONS", reason })
}
