//! The `sweep` Lambda function, run by an EventBridge schedule: wiring only
//! (see `ota::handlers::sweep`).

use lambda_http::lambda_runtime::{self, service_fn, LambdaEvent};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    ota::telemetry::init();
    let deps = ota::Deps::from_env().map_err(|error| {
        tracing::error!(%error, "cannot start");
        error.to_string()
    })?;
    let deps = &deps;
    lambda_runtime::run(service_fn(|_: LambdaEvent<serde_json::Value>| async move {
        let report = ota::handlers::sweep::run(deps).await.map_err(lambda_http::Error::from)?;
        // A run with failed items is a failed invocation, so the sweep's error alarm
        // sees it; the items are retried by the next scheduled run.
        if report.failed > 0 {
            return Err(lambda_http::Error::from(format!("{} of {} due invites failed", report.failed, report.due)));
        }
        Ok(report)
    }))
    .await
}
