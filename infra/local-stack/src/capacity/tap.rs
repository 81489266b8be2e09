//! The interceptor that records every DynamoDB request and its answer.

use aws_smithy_runtime_api::client::interceptors::context::{
    AfterDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use serde_json::Value;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// One request as the SDK sent it, and the answer it got.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub operation: String,
    pub request: Value,
    pub response: Value,
}

/// An interceptor for the DynamoDB clients: records every attempt that got an
/// answer, while switched on.
#[derive(Debug, Clone, Default)]
pub struct CapacityTap {
    on: Arc<AtomicBool>,
    exchanges: Arc<Mutex<Vec<Exchange>>>,
}

impl CapacityTap {
    pub fn start(&self) {
        self.on.store(true, Ordering::SeqCst);
    }

    pub fn stop(&self) -> Vec<Exchange> {
        self.on.store(false, Ordering::SeqCst);
        std::mem::take(&mut *self.exchanges.lock().unwrap_or_else(std::sync::PoisonError::into_inner))
    }
}

impl Intercept for CapacityTap {
    fn name(&self) -> &'static str {
        "CapacityTap"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        if self.on.load(Ordering::SeqCst) {
            let request = context.request();
            let operation = request.headers().get("x-amz-target").unwrap_or_default();
            let operation = operation.rsplit('.').next().unwrap_or_default().to_owned();
            let body = request.body().bytes().and_then(|b| serde_json::from_slice(b).ok()).unwrap_or(Value::Null);
            cfg.interceptor_state().store_put(Sent(operation, body));
        }
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        let Some(Sent(operation, request)) = cfg.load::<Sent>().cloned() else { return Ok(()) };
        let response = context.response();
        if !response.status().is_success() {
            return Ok(());
        }
        let response = response.body().bytes().and_then(|b| serde_json::from_slice(b).ok()).unwrap_or(Value::Null);
        let exchange = Exchange { operation, request, response };
        self.exchanges.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(exchange);
        Ok(())
    }
}

/// A request on its way out, kept until its answer (the request itself is gone by then).
#[derive(Debug, Clone)]
struct Sent(String, Value);

impl aws_smithy_types::config_bag::Storable for Sent {
    type Storer = aws_smithy_types::config_bag::StoreReplace<Self>;
}
