use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::gate::GateOpener;
use crate::sms::SmsSender;
use crate::store::Store;
use aws_config::{BehaviorVersion, SdkConfig};
use std::sync::Arc;

/// What a handler needs, built once per process: clients are cheap to clone and
/// pool their connections, so warm invocations reuse them.
#[derive(Clone)]
pub struct Deps {
    pub config: Config,
    pub store: Store,
    pub sms: SmsSender,
    pub gate: GateOpener,
    pub clock: Arc<dyn Clock>,
}

impl Deps {
    /// Reads the configuration and the AWS settings from the environment. No
    /// network: credentials are resolved on the first request.
    pub async fn from_env() -> Result<Self, crate::config::ConfigError> {
        let config = Config::from_env()?;
        let sdk = aws_config::defaults(BehaviorVersion::latest()).load().await;
        Ok(Self::from_sdk_config(config, &sdk, Arc::new(SystemClock)))
    }

    pub fn from_sdk_config(config: Config, sdk: &SdkConfig, clock: Arc<dyn Clock>) -> Self {
        let dynamo = aws_sdk_dynamodb::Client::new(sdk);
        let sns = aws_sdk_sns::Client::new(sdk);
        let mut iot = aws_sdk_iotdataplane::config::Builder::from(sdk);
        if let Some(endpoint) = &config.iot_data_endpoint {
            iot = iot.endpoint_url(endpoint);
        }
        Self::from_clients(config, dynamo, sns, aws_sdk_iotdataplane::Client::from_conf(iot.build()), clock)
    }

    pub fn from_clients(
        config: Config,
        dynamo: aws_sdk_dynamodb::Client,
        sns: aws_sdk_sns::Client,
        iot: aws_sdk_iotdataplane::Client,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            store: Store::new(dynamo, config.table_name.clone()),
            sms: SmsSender::new(sns, config.sms_sender_id.clone()),
            gate: GateOpener::new(iot),
            clock,
            config,
        }
    }
}
