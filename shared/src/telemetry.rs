//! Logging: JSON lines for CloudWatch, level from `OTA_LOG_LEVEL` (default `info`).
//!
//! Handlers log ids, outcomes and error codes only. Tokens, codes, JWTs and full
//! phone numbers are never passed to a log macro; their types redact `Debug`.

pub fn init() {
    let filter = std::env::var("OTA_LOG_LEVEL").unwrap_or_else(|_| "info".into());
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_current_span(false)
        .with_ansi(false)
        .without_time()
        .try_init();
}
