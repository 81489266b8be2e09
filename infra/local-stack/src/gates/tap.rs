//! The tap on the functions' IoT client that stands in for IoT Core's `update/delta`
//! pushes: every shadow update moto accepted reaches the simulated gate.

use ota::domain::command::SHADOW_NAME;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};

/// The shadow updates IoT Core accepted, as the delta messages it would push: put
/// on the functions' IoT client as an interceptor, read by the simulator.
#[derive(Debug, Clone, Default)]
pub struct ShadowDeltas(pub(super) Arc<Mutex<Vec<(String, Value)>>>);

impl ShadowDeltas {
    pub(super) fn take(&self) -> Vec<(String, Value)> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner))
    }
}

/// The command of an update on its way out, kept until its answer says whether
/// IoT Core accepted it.
#[derive(Debug, Clone)]
struct Outgoing(String, Value);

impl aws_smithy_types::config_bag::Storable for Outgoing {
    type Storer = aws_smithy_types::config_bag::StoreReplace<Self>;
}

impl aws_smithy_runtime_api::client::interceptors::Intercept for ShadowDeltas {
    fn name(&self) -> &'static str {
        "ShadowDeltas"
    }

    fn read_before_transmit(
        &self,
        context: &aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef<'_>,
        _components: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        cfg: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        // POST /things/<thing>/shadow?name=ota
        let request = context.request();
        let uri = request.uri().to_owned();
        let named = uri.contains(&format!("name={SHADOW_NAME}")) && request.method() == "POST";
        let thing = uri.split("/things/").nth(1).and_then(|rest| rest.split('/').next()).map(str::to_owned);
        let document = request.body().bytes().and_then(|b| serde_json::from_slice::<Value>(b).ok());
        if let (true, Some(thing), Some(document)) = (named, thing, document) {
            let desired = &document["state"]["desired"];
            if desired["command"]["id"].is_string() {
                cfg.interceptor_state().store_put(Outgoing(thing, desired["command"].clone()));
            } else if desired["withdrawn"].is_object() {
                // A withdrawal reaches the gate as a delta too.
                cfg.interceptor_state().store_put(Outgoing(thing, json!({ "withdrawn": desired["withdrawn"] })));
            }
        }
        Ok(())
    }

    fn read_after_deserialization(
        &self,
        context: &aws_smithy_runtime_api::client::interceptors::context::AfterDeserializationInterceptorContextRef<'_>,
        _components: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        cfg: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        if let (true, Some(Outgoing(thing, command))) =
            (context.response().status().is_success(), cfg.load::<Outgoing>().cloned())
        {
            self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push((thing, command));
        }
        Ok(())
    }
}
