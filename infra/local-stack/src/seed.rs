//! Provisions an intercom the way Fluss's device management would: its IoT
//! things (in the emulator only), its registry item, and its members.

use ota::domain::access::Role;
use ota::domain::gate_number::{GateNumber, GateNumberKeys};
use ota::domain::ids::{DeviceId, IntercomId, ThingName, UserId};
use ota::domain::location::Location;
use ota::domain::settings::Gate;
use ota::domain::zone::LocalZone;
use ota::store::Store;
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
pub struct Site {
    pub intercom: IntercomId,
    pub label: String,
    pub gates: BTreeMap<DeviceId, Gate>,
    pub time_zone: LocalZone,
    pub owner: UserId,
    pub shared_user: UserId,
    /// Known to the identity provider, but no member of this intercom.
    pub stranger: UserId,
    /// What its QR codes carry and is printed under them.
    pub gate_number: GateNumber,
    /// Where its gate is (`ota-admin location`), if recorded.
    pub location: Option<Location>,
}

/// The demo intercom's gate number (local only; a real one comes from `ota-admin gate-number`).
pub const DEMO_GATE_NUMBER: &str = "48210937";

fn id<T>(parse: impl Fn(&str) -> Option<T>, raw: &str) -> T {
    // Only called with literals and suffixes made of [a-z0-9-].
    parse(raw).unwrap_or_else(|| panic!("invalid built-in id {raw:?}"))
}

impl Site {
    /// The demo intercom of the local stack.
    pub fn demo() -> Self {
        let mut demo =
            Self::named("ic-demo", "Demo Estate, Main Gate", "demo", "user-owner", "user-shared", "user-stranger");
        demo.gate_number = id(GateNumber::parse, DEMO_GATE_NUMBER);
        // A made-up address in Parkhurst, Johannesburg, at the suburb's position.
        demo.location = Location::new("12 Jacaranda Road, Parkhurst, Johannesburg", Some((-26.1386, 28.0172)));
        demo
    }

    /// The local stack's second estate, with the same owner: a phone can hold links
    /// to both.
    pub fn demo_north() -> Self {
        Self::named("ic-demo-north", "North Estate", "north", "user-owner", "user-shared", "user-stranger")
    }

    /// A site of its own for one test: every id carries `suffix`, so tests sharing
    /// one emulator never see each other's SMS or shadows.
    pub fn unique(suffix: &str) -> Self {
        Self::named(
            &format!("ic-{suffix}"),
            "Test Estate",
            suffix,
            &format!("owner-{suffix}"),
            &format!("shared-{suffix}"),
            &format!("stranger-{suffix}"),
        )
    }

    fn named(intercom: &str, label: &str, things: &str, owner: &str, shared: &str, stranger: &str) -> Self {
        let gate = |label: &str, thing: &str| Gate { label: label.into(), thing: id(ThingName::parse, thing) };
        Self {
            intercom: id(IntercomId::parse, intercom),
            label: label.into(),
            gates: BTreeMap::from([
                (id(DeviceId::parse, "gate-main"), gate("Main gate", &format!("{things}-gate-main"))),
                (id(DeviceId::parse, "gate-exit"), gate("Exit gate", &format!("{things}-gate-exit"))),
            ]),
            time_zone: LocalZone::default(),
            owner: id(UserId::parse, owner),
            shared_user: id(UserId::parse, shared),
            stranger: id(UserId::parse, stranger),
            gate_number: GateNumber::generate(),
            location: None,
        }
    }

    /// What the QR code at its gates says, on the page at `page`.
    pub fn qr_code(&self, page: &str) -> String {
        format!("{}/s/{}#{}", page.trim_end_matches('/'), self.intercom, self.gate_number.as_digits())
    }

    pub fn thing(&self, device: &str) -> &ThingName {
        let device = id(DeviceId::parse, device);
        &self.gates[&device].thing
    }

    pub async fn provision(&self, store: &Store, keys: &GateNumberKeys, emulator_endpoint: &str) -> Result<(), String> {
        for gate in self.gates.values() {
            create_thing(emulator_endpoint, gate.thing.as_str()).await?;
        }
        store
            .register_intercom(&self.intercom, &self.label, &self.gates, &self.time_zone)
            .await
            .map_err(|e| e.to_string())?;
        let now = time::OffsetDateTime::now_utc();
        let check = self.gate_number.check(&self.intercom, keys);
        store.rotate_gate_number(&self.intercom, &check, now).await.map_err(|e| e.to_string())?;
        if let Some(location) = &self.location {
            store.set_location(&self.intercom, Some(location)).await.map_err(|e| e.to_string())?;
        }
        store.grant(&self.intercom, &self.owner, Role::Owner).await.map_err(|e| e.to_string())?;
        store.grant(&self.intercom, &self.shared_user, Role::IntercomUser).await.map_err(|e| e.to_string())?;
        Ok(())
    }
}

/// Creates an IoT thing in moto (shadow updates need one). This is device
/// management's job in production, so the service has no IoT control-plane
/// client; moto accepts the plain REST call, routed by the credential scope.
pub async fn create_thing(emulator_endpoint: &str, thing: &str) -> Result<(), String> {
    let response = reqwest::Client::new()
        .post(format!("{emulator_endpoint}/things/{thing}"))
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/iot/aws4_request, SignedHeaders=host, Signature=0",
        )
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .map_err(|e| format!("create thing {thing}: {e}"))?;
    let status = response.status();
    if status.is_success() || status.as_u16() == 409 {
        Ok(())
    } else {
        Err(format!("create thing {thing}: HTTP {status}"))
    }
}
