//! The provisioning path for what Fluss's device-management side writes in
//! production: the intercom registry (label, gate devices, their IoT things) and
//! memberships. Used by the `ota-admin` command, the local stack's demo seed and
//! the tests. Re-running it updates the registry and never touches settings,
//! invites or the version counter's value.

use crate::domain::access::Role;
use crate::domain::ids::{DeviceId, IntercomId, UserId};
use crate::domain::settings::Gate;
use crate::domain::zone::LocalZone;
use crate::items::{gates_attribute, key, n, s};
use crate::keys;
use crate::store::{sdk, Store, StoreError};
use std::collections::BTreeMap;

pub async fn register_intercom(
    store: &Store,
    intercom: &IntercomId,
    label: &str,
    gates: &BTreeMap<DeviceId, Gate>,
    time_zone: &LocalZone,
) -> Result<(), StoreError> {
    store
        .client()
        .update_item()
        .table_name(store.table())
        .set_key(Some(key(keys::intercom_pk(intercom), keys::META_SK)))
        .update_expression(
            "SET intercom_id = :id, #label = :label, gates = :gates, #zone = :zone, #version = if_not_exists(#version, :zero)",
        )
        .expression_attribute_names("#label", "label")
        .expression_attribute_names("#version", "version")
        .expression_attribute_names("#zone", crate::items::TIME_ZONE)
        .expression_attribute_values(":zone", s(time_zone.name()))
        .expression_attribute_values(":id", s(intercom.as_str()))
        .expression_attribute_values(":label", s(label))
        .expression_attribute_values(":gates", gates_attribute(gates))
        .expression_attribute_values(":zero", n(0))
        .send()
        .await
        .map_err(sdk)?;
    Ok(())
}

pub async fn grant(store: &Store, intercom: &IntercomId, user: &UserId, role: Role) -> Result<(), StoreError> {
    let mut item = key(keys::intercom_pk(intercom), keys::member_sk(user));
    item.insert("role".into(), s(role.as_str()));
    item.insert("user".into(), s(user.as_str()));
    store.client().put_item().table_name(store.table()).set_item(Some(item)).send().await.map_err(sdk)?;
    Ok(())
}

pub async fn withdraw(store: &Store, intercom: &IntercomId, user: &UserId) -> Result<(), StoreError> {
    store
        .client()
        .delete_item()
        .table_name(store.table())
        .set_key(Some(key(keys::intercom_pk(intercom), keys::member_sk(user))))
        .send()
        .await
        .map_err(sdk)?;
    Ok(())
}
