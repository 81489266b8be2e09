//! The intercom registry (label, gates and their IoT things, settings, the version
//! every settings change moves on, the places laid out, the SMS allowances
//! provisioning set), memberships, the settings audit, and provisioning them.

use super::attributes::*;
use super::{request_failed, sdk, transaction_failure, Store, StoreError, TransactionFailure};
use crate::domain::access::Role;
use crate::domain::ids::{DeviceId, IntercomId, ThingName, UserId};
use crate::domain::language::Language;
use crate::domain::location::Location;
use crate::domain::settings::{Gate, Intercom, Settings, SmsAllowance};
use crate::domain::zone::LocalZone;
use crate::keys;
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, TransactWriteItem, Update};
use std::collections::{BTreeMap, HashMap};
use time::OffsetDateTime;

pub fn intercom_from_item(item: &Item) -> Result<Intercom, ItemError> {
    let gates_map = item.get(names::GATES).and_then(|v| v.as_m().ok()).ok_or_else(|| bad(names::GATES))?;
    let mut gates = BTreeMap::new();
    for (device, gate) in gates_map {
        let gate = gate.as_m().map_err(|_| bad(names::GATES))?;
        gates.insert(
            DeviceId::parse(device).ok_or_else(|| bad(names::GATES))?,
            Gate {
                label: get_s(gate, names::LABEL)?.to_owned(),
                thing: parse_attr(gate, names::THING, ThingName::parse)?,
            },
        );
    }
    let settings = if item.contains_key(names::MAX_USERS) {
        Some(Settings {
            entry_gate: parse_attr(item, names::ENTRY_GATE, DeviceId::parse)?,
            exit_gate: parse_attr(item, names::EXIT_GATE, DeviceId::parse)?,
            max_users: get_n(item, names::MAX_USERS)?,
            invite_duration_minutes: get_n(item, names::INVITE_DURATION_MINUTES)?,
            exit_grace_minutes: get_n(item, names::EXIT_GRACE_MINUTES)?,
            // Settings saved before guests had languages: English.
            guest_language: get_optional(item, names::GUEST_LANGUAGE, |i, n| get_s(i, n).map(Language::from_stored))?
                .unwrap_or_default(),
            updated_at: get_time(item, names::SETTINGS_UPDATED_AT)?,
            updated_by: parse_attr(item, names::SETTINGS_UPDATED_BY, UserId::parse)?,
        })
    } else {
        None
    };
    Ok(Intercom {
        id: parse_attr(item, names::INTERCOM_ID, IntercomId::parse)?,
        label: get_s(item, names::LABEL)?.to_owned(),
        gates,
        settings,
        // Registry items from before time zones were provisioned are in the default one.
        time_zone: match item.get(TIME_ZONE) {
            None => LocalZone::default(),
            Some(_) => LocalZone::from_stored(get_s(item, TIME_ZONE)?.to_owned()),
        },
        version: get_n(item, names::VERSION).unwrap_or(0),
        places: get_optional(item, names::PLACES, get_n)?,
        places_surplus: get_optional(item, names::PLACES_SURPLUS, get_n)?.unwrap_or(0),
        sms_allowance: SmsAllowance {
            per_user_per_hour: get_optional(item, names::SMS_PER_USER_PER_HOUR, get_n)?,
            per_intercom_per_hour: get_optional(item, names::SMS_PER_INTERCOM_PER_HOUR, get_n)?,
        },
        location: super::details::location_from(item)?,
    })
}

pub fn gates_attribute(gates: &BTreeMap<DeviceId, Gate>) -> AttributeValue {
    AttributeValue::M(
        gates
            .iter()
            .map(|(device, gate)| {
                let fields = HashMap::from([
                    (names::LABEL.to_owned(), s(&gate.label)),
                    (names::THING.to_owned(), s(gate.thing.as_str())),
                ]);
                (device.to_string(), AttributeValue::M(fields))
            })
            .collect(),
    )
}

/// The attributes `update-settings` writes onto the registry item.
pub fn settings_attributes(settings: &Settings) -> Vec<(&'static str, AttributeValue)> {
    vec![
        (names::ENTRY_GATE, s(settings.entry_gate.as_str())),
        (names::EXIT_GATE, s(settings.exit_gate.as_str())),
        (names::MAX_USERS, n(settings.max_users)),
        (names::INVITE_DURATION_MINUTES, n(settings.invite_duration_minutes)),
        (names::EXIT_GRACE_MINUTES, n(settings.exit_grace_minutes)),
        (names::GUEST_LANGUAGE, s(settings.guest_language.as_str())),
        (names::SETTINGS_UPDATED_AT, epoch(settings.updated_at)),
        (names::SETTINGS_UPDATED_BY, s(settings.updated_by.as_str())),
    ]
}

pub use super::attributes::names::TIME_ZONE;

pub fn role_from_item(item: &Item) -> Result<Role, ItemError> {
    parse_attr(item, names::ROLE, Role::parse)
}

impl Store {
    /// The registry item and the caller's membership, in one consistent
    /// BatchGetItem (not a transactional read, which a create's transaction on the
    /// membership would cancel).
    pub async fn load_access(
        &self,
        intercom: &IntercomId,
        user: &UserId,
    ) -> Result<(Option<Intercom>, Option<Role>), StoreError> {
        let pk = keys::intercom_pk(intercom);
        let items = self.get_items(vec![key(pk.clone(), keys::META_SK), key(pk, keys::member_sk(user))]).await?;
        let (mut found, mut role) = (None, None);
        for item in &items {
            match sort_key(item).and_then(keys::classify) {
                Some(keys::PartitionItem::Registry) => found = Some(intercom_from_item(item)?),
                Some(keys::PartitionItem::Member(_)) => role = Some(role_from_item(item)?),
                _ => {}
            }
        }
        Ok((found, role))
    }

    /// An update of the registry item that moves the intercom's version on (from
    /// 0 where it has none) and sets `also_set`; the caller adds its condition.
    fn bump_version(
        &self,
        intercom: &IntercomId,
        also_set: Vec<(&'static str, AttributeValue)>,
    ) -> aws_sdk_dynamodb::types::builders::UpdateBuilder {
        let mut expression = "SET #version = if_not_exists(#version, :zero) + :one".to_owned();
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::intercom_pk(intercom), keys::META_SK)))
            .expression_attribute_names("#version", names::VERSION)
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1));
        for (name, value) in also_set {
            expression.push_str(&format!(", #{name} = :{name}"));
            update = update
                .expression_attribute_names(format!("#{name}"), name)
                .expression_attribute_values(format!(":{name}"), value);
        }
        update.update_expression(expression)
    }

    /// A transaction's check that `user` is still the intercom's owner.
    pub(crate) fn owner_check(&self, intercom: &IntercomId, user: &UserId) -> Result<ConditionCheck, StoreError> {
        ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::intercom_pk(intercom), keys::member_sk(user))))
            .condition_expression("#role = :owner")
            .expression_attribute_names("#role", names::ROLE)
            .expression_attribute_values(":owner", s(Role::Owner.as_str()))
            .build()
            .map_err(sdk)
    }

    pub(crate) fn member_check(&self, intercom: &IntercomId, user: &UserId) -> Result<ConditionCheck, StoreError> {
        ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key(keys::intercom_pk(intercom), keys::member_sk(user))))
            .condition_expression("attribute_exists(#role)")
            .expression_attribute_names("#role", names::ROLE)
            .build()
            .map_err(sdk)
    }

    /// Saves settings and records who changed what, in one transaction that
    /// re-checks what the caller's read decided: the caller is still the owner, and
    /// the chosen gates are still registered. It moves the intercom's version on (a
    /// create that read the old settings must read again) but does not require a
    /// version: settings are a whole page, so of two saves the later one stands,
    /// and parallel saves all succeed.
    pub async fn save_settings(
        &self,
        intercom: &Intercom,
        settings: &Settings,
        owner: &UserId,
    ) -> Result<SaveOutcome, StoreError> {
        let update = self
            .bump_version(&intercom.id, settings_attributes(settings))
            .condition_expression("attribute_exists(#gates.#entry) AND attribute_exists(#gates.#exit)")
            .expression_attribute_names("#gates", names::GATES)
            .expression_attribute_names("#entry", settings.entry_gate.as_str())
            .expression_attribute_names("#exit", settings.exit_gate.as_str())
            .build()
            .map_err(sdk)?;
        let owner_check = self.owner_check(&intercom.id, owner)?;
        let mut audit = key(keys::audit_pk(&intercom.id), audit_sort_key(settings.updated_at));
        audit.extend([
            (names::EVENT.to_owned(), s("settings_updated")),
            (names::ACTOR.to_owned(), s(settings.updated_by.as_str())),
            (names::AT.to_owned(), epoch(settings.updated_at)),
            (names::ENTRY_GATE.to_owned(), s(settings.entry_gate.as_str())),
            (names::EXIT_GATE.to_owned(), s(settings.exit_gate.as_str())),
            (names::MAX_USERS.to_owned(), n(settings.max_users)),
            (names::INVITE_DURATION_MINUTES.to_owned(), n(settings.invite_duration_minutes)),
            (names::EXIT_GRACE_MINUTES.to_owned(), n(settings.exit_grace_minutes)),
            (keys::PURGE_AT.to_owned(), epoch(settings.updated_at.saturating_add(AUDIT_RETENTION))),
        ]);
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(update).build())
            .transact_items(TransactWriteItem::builder().condition_check(owner_check).build())
            .transact_items(self.put_new(audit)?)
            .send()
            .await;
        let Err(error) = result else { return Ok(SaveOutcome::Saved) };
        match transaction_failure(&error) {
            TransactionFailure::Contended => Ok(SaveOutcome::Contended),
            TransactionFailure::ConditionsFailed { items, .. } => match items.first() {
                Some(0) => Ok(SaveOutcome::GateGone),
                Some(1) => Ok(SaveOutcome::NotOwner),
                // The audit item's key is random: a clash is worth one more try.
                Some(2) => Ok(SaveOutcome::Contended),
                _ => Err(request_failed(error)),
            },
            TransactionFailure::Other => Err(request_failed(error)),
        }
    }
}

pub enum SaveOutcome {
    Saved,
    /// The caller is no longer the owner.
    NotOwner,
    /// A chosen gate was deregistered since the read.
    GateGone,
    /// A conflicting transaction or throttling: nothing was decided, try again.
    Contended,
}

/// Provisioning: what Fluss's device management writes in production (the admin
/// tool, the local stack's demo seed and the tests use it). Re-running it updates
/// the registry and never touches settings, invites or the version's value.
impl Store {
    pub async fn register_intercom(
        &self,
        intercom: &IntercomId,
        label: &str,
        gates: &BTreeMap<DeviceId, Gate>,
        time_zone: &LocalZone,
    ) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::intercom_pk(intercom), keys::META_SK)))
            .update_expression(
                "SET intercom_id = :id, #label = :label, gates = :gates, #zone = :zone, #version = if_not_exists(#version, :zero)",
            )
            .expression_attribute_names("#label", names::LABEL)
            .expression_attribute_names("#version", names::VERSION)
            .expression_attribute_names("#zone", TIME_ZONE)
            .expression_attribute_values(":zone", s(time_zone.name()))
            .expression_attribute_values(":id", s(intercom.as_str()))
            .expression_attribute_values(":label", s(label))
            .expression_attribute_values(":gates", gates_attribute(gates))
            .expression_attribute_values(":zero", n(0))
            .send()
            .await
            .map_err(request_failed)?;
        for gate in gates.values() {
            self.register_gate_site(&gate.thing, intercom, &gate.label).await?;
        }
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(key(keys::REGISTRY_PK.to_owned(), keys::registry_sk(intercom))))
            .send()
            .await
            .map_err(request_failed)?;
        Ok(())
    }

    /// Every registered intercom, in id order, a page (up to 1 MB) per request.
    pub async fn registered_intercoms(&self) -> Result<Vec<IntercomId>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_values(":pk", s(keys::REGISTRY_PK));
        let items = self.query_all(query).await?;
        let intercom = |item: &Item| sort_key(item).and_then(IntercomId::parse).ok_or_else(|| bad(keys::SK));
        Ok(items.iter().map(intercom).collect::<Result<_, _>>()?)
    }

    /// Sets (or, where `None`, removes) the intercom's own SMS allowances; `false` if
    /// it is not registered.
    pub async fn set_sms_allowance(&self, intercom: &IntercomId, allowance: SmsAllowance) -> Result<bool, StoreError> {
        let mut set = Vec::new();
        let mut remove = Vec::new();
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::intercom_pk(intercom), keys::META_SK)))
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", keys::PK);
        for (binding, name, value) in [
            ("intercom", names::SMS_PER_INTERCOM_PER_HOUR, allowance.per_intercom_per_hour),
            ("user", names::SMS_PER_USER_PER_HOUR, allowance.per_user_per_hour),
        ] {
            request = request.expression_attribute_names(format!("#{binding}"), name);
            match value {
                Some(per_hour) => {
                    set.push(format!("#{binding} = :{binding}"));
                    request = request.expression_attribute_values(format!(":{binding}"), n(per_hour));
                }
                None => remove.push(format!("#{binding}")),
            }
        }
        let mut expression = String::new();
        if !set.is_empty() {
            expression.push_str(&format!("SET {} ", set.join(", ")));
        }
        if !remove.is_empty() {
            expression.push_str(&format!("REMOVE {}", remove.join(", ")));
        }
        super::written(request.update_expression(expression.trim_end()).send().await)
    }

    /// Records where the intercom's gate is (`None`: forgets it). New codes carry it;
    /// codes already out keep what they were made with. Whether the intercom exists.
    pub async fn set_location(&self, intercom: &IntercomId, location: Option<&Location>) -> Result<bool, StoreError> {
        let request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::intercom_pk(intercom), keys::META_SK)))
            .condition_expression("attribute_exists(#pk)")
            .expression_attribute_names("#pk", keys::PK)
            .expression_attribute_names("#location", names::LOCATION);
        let request = match location {
            Some(location) => request
                .update_expression("SET #location = :location")
                .expression_attribute_values(":location", super::details::location_attribute(location)),
            None => request.update_expression("REMOVE #location"),
        };
        super::written(request.send().await)
    }

    pub async fn grant(&self, intercom: &IntercomId, user: &UserId, role: Role) -> Result<(), StoreError> {
        let mut item = key(keys::intercom_pk(intercom), keys::member_sk(user));
        item.insert(names::ROLE.into(), s(role.as_str()));
        item.insert(names::USER.into(), s(user.as_str()));
        self.client.put_item().table_name(&self.table).set_item(Some(item)).send().await.map_err(sdk)?;
        Ok(())
    }

    pub async fn withdraw(&self, intercom: &IntercomId, user: &UserId) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(keys::intercom_pk(intercom), keys::member_sk(user))))
            .send()
            .await
            .map_err(request_failed)?;
        Ok(())
    }
}

/// How long settings changes stay in the audit partition.
pub const AUDIT_RETENTION: time::Duration = time::Duration::days(90);

fn audit_sort_key(at: OffsetDateTime) -> String {
    use rand::Rng;
    format!("{:012}#{:08x}", at.unix_timestamp(), rand::rng().random::<u32>())
}
