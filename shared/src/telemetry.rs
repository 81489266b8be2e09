//! Logging: JSON lines for CloudWatch. `OTA_LOG_LEVEL` (default `info`) sets the
//! level of this service's own code only; every other crate (the AWS SDK, hyper,
//! the Lambda runtime) logs warnings and errors alone, since an SDK at debug or
//! trace prints whole request bodies, which hold codes and links.
//!
//! Handlers log ids, outcomes and error codes only. Tokens, codes, JWTs and full
//! phone numbers are never passed to a log macro; their types redact `Debug`.

use std::str::FromStr;
use tracing_subscriber::filter::{LevelFilter, Targets};

/// The crates whose logs `OTA_LOG_LEVEL` governs: the library and the functions.
const OWN_TARGETS: [&str; 11] = [
    "ota",
    "create_invite",
    "gate_events",
    "get_settings",
    "guest_status",
    "list_codes",
    "redeem_entry",
    "redeem_exit",
    "revoke_code",
    "sweep",
    "update_settings",
];

pub fn filter(level: Option<&str>) -> Targets {
    let own = level.and_then(|l| LevelFilter::from_str(l.trim()).ok()).unwrap_or(LevelFilter::INFO);
    OWN_TARGETS
        .iter()
        .fold(Targets::new().with_default(LevelFilter::WARN), |targets, target| targets.with_target(*target, own))
}

/// The functions' logging, to standard output (CloudWatch), at `OTA_LOG_LEVEL`.
pub fn init() {
    init_with(std::io::stdout, std::env::var("OTA_LOG_LEVEL").ok().as_deref());
}

/// The same set-up writing elsewhere: what the secrets test captures is exactly
/// what a function logs in production.
pub fn init_with<W>(writer: W, level: Option<&str>)
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let format = tracing_subscriber::fmt::layer()
        .json()
        .with_current_span(false)
        .with_ansi(false)
        .without_time()
        .with_writer(writer);
    let _ = tracing_subscriber::registry().with(format).with(filter(level)).try_init();
}

/// The whole `main` of a function that a managed service invokes with an event (a
/// stream batch, a log subscription): logging, configuration and clients once at
/// cold start, then `handler` for every event. An error fails the invocation, which
/// is how the service learns to deliver the event again.
pub async fn run_event_function<F, Fut, R, E>(handler: F) -> Result<(), lambda_http::Error>
where
    F: Fn(&'static crate::Deps, serde_json::Value) -> Fut,
    Fut: std::future::Future<Output = Result<R, E>>,
    R: serde::Serialize,
    E: std::error::Error + Send + Sync + 'static,
{
    init();
    let deps = crate::Deps::from_env().map_err(|error| {
        tracing::error!(%error, "cannot start");
        error.to_string()
    })?;
    // Lives as long as the process, which is what the runtime's service needs.
    let deps: &'static crate::Deps = Box::leak(Box::new(deps));
    let handler = &handler;
    lambda_http::lambda_runtime::run(lambda_http::lambda_runtime::service_fn(
        move |event: lambda_http::lambda_runtime::LambdaEvent<serde_json::Value>| async move {
            handler(deps, event.payload).await.map_err(lambda_http::Error::from)
        },
    ))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    #[test]
    fn the_level_governs_our_crates_and_the_sdk_stays_at_warn() {
        let targets = filter(Some("debug"));
        assert!(targets.would_enable("ota::handlers::redeem", &Level::DEBUG));
        assert!(!targets.would_enable("aws_smithy_runtime::client", &Level::DEBUG));
        assert!(!targets.would_enable("aws_sdk_dynamodb", &Level::INFO));
        assert!(targets.would_enable("aws_sdk_dynamodb", &Level::WARN));
        assert!(filter(None).would_enable("ota", &Level::INFO));
        assert!(!filter(Some("nonsense")).would_enable("ota", &Level::DEBUG));
    }
}
