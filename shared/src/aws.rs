//! The AWS clients of a function, configured by hand at cold start.
//!
//! Lambda puts the region and the execution role's credentials in the
//! environment, so there is nothing to discover: no credential chain, no profile
//! files, no instance metadata, no network at init. Only the clients a function
//! uses are built (SNS with the `sms` feature, IoT with `gate`), and all share one
//! HTTPS client that trusts only the roots AWS endpoints chain to (Amazon Root CA
//! 1–4, Starfield Services G2, bundled) instead of reading the system's whole store.
//! Every call has connect, attempt and operation timeouts well under the function's.

use crate::config::ConfigError;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region, SharedCredentialsProvider};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode, TlsContext, TrustStore};
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use std::time::Duration;

const AWS_ROOT_CAS: &[u8] = include_bytes!("../assets/aws-root-cas.pem");

/// An AWS call that takes longer has failed; the function's own timeout is longer.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(4);
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_millis(1500);
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// One service's configuration from the shared set-up: the SDK crates' config
/// builders are separate types with the same methods.
macro_rules! config {
    ($sdk:ident, $setup:expr, $attempts:expr, $endpoint:expr) => {{
        let mut builder = $sdk::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region($setup.region.clone())
            .credentials_provider($setup.credentials.clone())
            .http_client($setup.http.clone())
            .timeout_config(AwsSetup::timeouts())
            .retry_config(RetryConfig::standard().with_max_attempts($attempts));
        builder.set_endpoint_url($endpoint);
        builder
    }};
}

#[derive(Clone)]
pub struct AwsSetup {
    region: Region,
    credentials: SharedCredentialsProvider,
    endpoint: Option<String>,
    http: SharedHttpClient,
}

impl AwsSetup {
    /// Reads `AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
    /// `AWS_SESSION_TOKEN` (as Lambda sets them) and `AWS_ENDPOINT_URL` (local runs).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let non_empty = |name: &str| lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let region = non_empty("AWS_REGION").ok_or(ConfigError::Missing("AWS_REGION"))?;
        let key = non_empty("AWS_ACCESS_KEY_ID").ok_or(ConfigError::Missing("AWS_ACCESS_KEY_ID"))?;
        let secret = non_empty("AWS_SECRET_ACCESS_KEY").ok_or(ConfigError::Missing("AWS_SECRET_ACCESS_KEY"))?;
        let credentials = Credentials::new(key, secret, non_empty("AWS_SESSION_TOKEN"), None, "lambda-environment");
        let trust = TrustStore::empty().with_native_roots(false).with_pem_certificate(AWS_ROOT_CAS);
        let tls = TlsContext::builder()
            .with_trust_store(trust)
            .build()
            .map_err(|e| ConfigError::Invalid { name: "TLS trust store", reason: e.to_string() })?;
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
            .tls_context(tls)
            .build_https();
        Ok(Self {
            region: Region::new(region),
            credentials: SharedCredentialsProvider::new(credentials),
            endpoint: non_empty("AWS_ENDPOINT_URL"),
            http,
        })
    }

    fn timeouts() -> TimeoutConfig {
        TimeoutConfig::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .operation_attempt_timeout(ATTEMPT_TIMEOUT)
            .operation_timeout(OPERATION_TIMEOUT)
            .build()
    }

    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::from_conf(self.dynamodb_config().build())
    }

    /// The production configuration, for tests that add interceptors to it.
    pub fn dynamodb_config(&self) -> aws_sdk_dynamodb::config::Builder {
        config!(aws_sdk_dynamodb, self, 3, self.endpoint.clone())
    }

    #[cfg(feature = "sms")]
    pub fn sns(&self) -> aws_sdk_sns::Client {
        aws_sdk_sns::Client::from_conf(self.sns_config().build())
    }

    #[cfg(feature = "sms")]
    pub fn sns_config(&self) -> aws_sdk_sns::config::Builder {
        config!(aws_sdk_sns, self, 2, self.endpoint.clone())
    }

    #[cfg(feature = "queue")]
    pub fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::from_conf(config!(aws_sdk_sqs, self, 3, self.endpoint.clone()).build())
    }

    #[cfg(feature = "events")]
    pub fn eventbridge(&self) -> aws_sdk_eventbridge::Client {
        aws_sdk_eventbridge::Client::from_conf(config!(aws_sdk_eventbridge, self, 3, self.endpoint.clone()).build())
    }

    /// `iot_endpoint`: the account's IoT data endpoint (`OTA_IOT_DATA_ENDPOINT`);
    /// without it, `AWS_ENDPOINT_URL` or the SDK's default.
    #[cfg(feature = "gate")]
    pub fn iot(&self, iot_endpoint: Option<&str>) -> aws_sdk_iotdataplane::Client {
        aws_sdk_iotdataplane::Client::from_conf(self.iot_config(iot_endpoint).build())
    }

    #[cfg(feature = "gate")]
    pub fn iot_config(&self, iot_endpoint: Option<&str>) -> aws_sdk_iotdataplane::config::Builder {
        // One attempt: `gate::GateOpener` retries itself, knowing what each failure meant.
        config!(aws_sdk_iotdataplane, self, 1, iot_endpoint.map(str::to_owned).or_else(|| self.endpoint.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned())
    }

    #[test]
    fn the_region_and_the_role_credentials_are_required() {
        let missing = AwsSetup::from_lookup(lookup(&[("AWS_ACCESS_KEY_ID", "a"), ("AWS_SECRET_ACCESS_KEY", "b")]));
        assert!(matches!(missing, Err(ConfigError::Missing("AWS_REGION"))));
        let complete = [("AWS_REGION", "eu-west-1"), ("AWS_ACCESS_KEY_ID", "a"), ("AWS_SECRET_ACCESS_KEY", "b")];
        assert!(AwsSetup::from_lookup(lookup(&complete)).is_ok());
    }

    #[test]
    fn the_bundled_roots_are_the_amazon_trust_services_ones() {
        let pem = std::str::from_utf8(AWS_ROOT_CAS).unwrap();
        assert_eq!(pem.matches("BEGIN CERTIFICATE").count(), 5);
    }
}
