//! The document and the server's answers hold each other both ways: every response
//! and error body `infra/openapi.yaml` describes is compared, field by field, with the
//! JSON Schema of the Rust type the functions serialize it from (`ota::api`,
//! described by schemars as serde writes it). A field one has and the other lacks, a
//! field always sent but not `required` (or `required` but sometimes left out), a
//! type, a format or an enumeration that differ, or an object that does not forbid
//! other fields, fails here.

use local_stack::repo_root;
use schemars::generate::SchemaSettings;
use schemars::JsonSchema;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

/// `infra/openapi.yaml`, as JSON.
pub(crate) fn document() -> Value {
    serde_yaml::from_str(&std::fs::read_to_string(repo_root().join("infra/openapi.yaml")).unwrap()).unwrap()
}

/// `T` as serde writes it: an `Option` without `skip_serializing_if` is always sent.
fn generated<T: JsonSchema>() -> Value {
    let schema = SchemaSettings::draft2020_12().for_serialize().into_generator().into_root_schema_for::<T>();
    serde_json::to_value(schema).unwrap()
}

/// Which type answers each documented success.
fn answers() -> BTreeMap<(&'static str, &'static str), Value> {
    use ota::api::{activity, codes, guest, settings};
    BTreeMap::from([
        (("getSettings", "200"), generated::<settings::SettingsView>()),
        (("updateSettings", "200"), generated::<settings::SettingsView>()),
        (("createInvite", "201"), generated::<codes::InviteCreated>()),
        (("listCodes", "200"), generated::<codes::CodeList>()),
        (("resendSms", "202"), generated::<codes::SmsResend>()),
        (("eraseGuest", "200"), generated::<codes::ErasureView>()),
        (("listActivity", "200"), generated::<activity::ActivityPage>()),
        (("guestStatus", "200"), generated::<guest::GuestStatus>()),
        (("redeemEntry", "200"), generated::<guest::Opened>()),
        (("redeemEntry", "202"), generated::<guest::Opened>()),
        (("redeemExit", "200"), generated::<guest::Opened>()),
        (("redeemExit", "202"), generated::<guest::Opened>()),
    ])
}

/// A schema with its `$ref`s resolved against its own root (`#/components/...` in
/// the document, `#/$defs/...` in a generated one).
struct Side<'r> {
    root: &'r Value,
}

/// `schema` with its `$ref`s (`#/...`, within `root`) followed.
pub(crate) fn resolve<'v>(root: &'v Value, mut schema: &'v Value) -> &'v Value {
    while let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        schema = root.pointer(reference.trim_start_matches('#')).unwrap_or_else(|| panic!("{reference}"));
    }
    schema
}

impl Side<'_> {
    fn resolve<'v>(&'v self, schema: &'v Value) -> &'v Value {
        resolve(self.root, schema)
    }

    /// The schema's types (with `null` for a nullable one), its non-null schema, and
    /// the values it enumerates (`enum`, `const`, or the union of its branches').
    fn shape<'v>(&'v self, schema: &'v Value) -> (BTreeSet<String>, &'v Value, Option<BTreeSet<String>>) {
        let schema = self.resolve(schema);
        let branches = schema.get("oneOf").or_else(|| schema.get("anyOf")).and_then(Value::as_array);
        if let Some(branches) = branches {
            let mut types = BTreeSet::new();
            let mut values: Option<BTreeSet<String>> = None;
            let mut inner = schema;
            for branch in branches {
                let (branch_types, branch_inner, branch_values) = self.shape(branch);
                if branch_types != BTreeSet::from(["null".to_owned()]) {
                    inner = branch_inner;
                    if let Some(v) = branch_values {
                        values.get_or_insert_with(BTreeSet::new).extend(v);
                    }
                }
                types.extend(branch_types);
            }
            return (types, inner, values);
        }
        let types = match schema.get("type") {
            Some(Value::String(t)) => BTreeSet::from([t.clone()]),
            Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
            _ if schema.get("const").is_some() => BTreeSet::from(["string".to_owned()]),
            _ => BTreeSet::new(),
        };
        let values = match (schema.get("enum"), schema.get("const")) {
            (Some(Value::Array(values)), _) => {
                Some(values.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            }
            (_, Some(Value::String(value))) => Some(BTreeSet::from([value.clone()])),
            _ => None,
        };
        (types, schema, values)
    }
}

/// Every difference between the document's `doc` and the server's `server` at `path`.
/// `optional`: a field the server leaves out when it has nothing to say (serde's
/// `skip_serializing_if`), which it then never sends as null.
fn compare(doc: (&Side, &Value), server: (&Side, &Value), optional: bool, path: &str, found: &mut Vec<String>) {
    let (doc_side, doc) = doc;
    let (server_side, server) = server;
    let (doc_types, doc_inner, doc_values) = doc_side.shape(doc);
    let (mut server_types, server_inner, server_values) = server_side.shape(server);
    if optional {
        server_types.remove("null");
    }
    if doc_types != server_types {
        found.push(format!("{path}: the document says type {doc_types:?}, the server sends {server_types:?}"));
        return;
    }
    match (&doc_values, &server_values) {
        (Some(doc_values), Some(server_values)) if doc_values != server_values => {
            found.push(format!("{path}: the document enumerates {doc_values:?}, the server sends {server_values:?}"))
        }
        (None, Some(server_values)) => {
            found.push(format!("{path}: the server sends only {server_values:?}; the document does not say so"))
        }
        // The server's type is a plain string the document narrows (a refusal's
        // code, an SMS failure's class): held by the tests that provoke them.
        _ => {}
    }
    if let Some(format) = server_inner.get("format").filter(|_| server_types.contains("string")) {
        if doc_inner.get("format") != Some(format) {
            found.push(format!(
                "{path}: the server sends format {format}; the document says {:?}",
                doc_inner.get("format")
            ));
        }
    }
    if server_types.contains("array") {
        let items = (&doc_inner["items"], &server_inner["items"]);
        compare((doc_side, items.0), (server_side, items.1), false, &format!("{path}[]"), found);
    }
    if !server_types.contains("object") {
        return;
    }
    let names = |schema: &Value, key: &str| -> BTreeSet<String> {
        match &schema[key] {
            Value::Object(map) => map.keys().cloned().collect(),
            Value::Array(list) => list.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
            _ => BTreeSet::new(),
        }
    };
    let (doc_fields, server_fields) = (names(doc_inner, "properties"), names(server_inner, "properties"));
    for field in server_fields.difference(&doc_fields) {
        found.push(format!("{path}.{field}: sent by the server, missing from the document"));
    }
    for field in doc_fields.difference(&server_fields) {
        found.push(format!("{path}.{field}: in the document, never sent by the server"));
    }
    let (doc_required, server_required) = (names(doc_inner, "required"), names(server_inner, "required"));
    for field in server_required.difference(&doc_required) {
        found.push(format!("{path}.{field}: always sent, not `required` in the document"));
    }
    for field in doc_required.difference(&server_required) {
        found.push(format!("{path}.{field}: `required` in the document, sometimes left out by the server"));
    }
    if doc_inner.get("additionalProperties") != Some(&json!(false)) {
        found.push(format!("{path}: the document does not forbid fields the server never sends"));
    }
    for field in doc_fields.intersection(&server_fields) {
        compare(
            (doc_side, &doc_inner["properties"][field]),
            (server_side, &server_inner["properties"][field]),
            !server_required.contains(field),
            &format!("{path}.{field}"),
            found,
        );
    }
}

/// The document's responses: (operation, status) with its JSON body's schema.
fn documented_responses(doc: &Value) -> Vec<((String, String), Value)> {
    let side = Side { root: doc };
    let mut responses = Vec::new();
    for item in doc["paths"].as_object().unwrap().values() {
        for operation in item.as_object().unwrap().values().filter(|o| o.get("operationId").is_some()) {
            let id = operation["operationId"].as_str().unwrap().to_owned();
            for (status, response) in operation["responses"].as_object().unwrap() {
                let response = side.resolve(response);
                if let Some(schema) = response.pointer("/content/application~1json/schema") {
                    responses.push(((id.clone(), status.clone()), schema.clone()));
                }
            }
        }
    }
    responses
}

/// Every difference between the document's responses and the server's types.
fn differences(doc: &Value) -> Vec<String> {
    let answers = answers();
    let error = generated::<ota::api::errors::ErrorBody>();
    let edge = generated::<ota::api::errors::EdgeMessage>();
    let doc_side = Side { root: doc };
    let mut found = Vec::new();
    let mut seen: BTreeSet<(&'static str, &'static str)> = BTreeSet::new();
    for ((operation, status), schema) in documented_responses(doc) {
        let server = match answers.iter().find(|((o, s), _)| *o == operation && *s == status) {
            Some((known, server)) => {
                seen.insert(*known);
                server
            }
            // Answered only by API Gateway, never by a function.
            None if status == "401" || schema["$ref"] == "#/components/schemas/EdgeMessage" => &edge,
            None if status.starts_with('4') || status.starts_with('5') => &error,
            None => {
                found.push(format!("{operation} {status}: documented, but no type of the server answers it"));
                continue;
            }
        };
        let server_side = Side { root: server };
        // An edge's own refusal beside the service's (the function URL's signature
        // check) is a branch of its own: the service's shape must be one of them.
        let doc_schema = doc_side.resolve(&schema);
        let branches: Vec<&Value> = match doc_schema.get("oneOf").and_then(Value::as_array) {
            Some(branches) if !status.starts_with('2') => branches.iter().collect(),
            _ => vec![&schema],
        };
        let mut best: Option<Vec<String>> = None;
        for branch in branches {
            let mut branch_found = Vec::new();
            let path = format!("{operation} {status}");
            compare((&doc_side, branch), (&server_side, server), false, &path, &mut branch_found);
            if best.as_ref().is_none_or(|b| branch_found.len() < b.len()) {
                best = Some(branch_found);
            }
        }
        found.extend(best.unwrap_or_default());
    }
    for ((operation, status), _) in answers.iter().filter(|(key, _)| !seen.contains(*key)) {
        found.push(format!("{operation} {status}: answered by the server, missing from the document"));
    }
    found
}

#[test]
fn every_response_the_document_describes_is_exactly_what_the_server_sends() {
    let found = differences(&document());
    assert!(found.is_empty(), "the document and the server disagree:\n{}", found.join("\n"));
}

/// The test above catches a change made on either side alone: a field the server
/// sends that the document lacks, and a field the document requires that the server
/// leaves out.
#[test]
fn a_field_added_on_one_side_only_fails_the_contract() {
    let mut doc = document();
    let created = doc.pointer_mut("/components/schemas/InviteCreated").unwrap();
    created["properties"].as_object_mut().unwrap().remove("starts_at");
    let found = differences(&doc);
    assert!(found.iter().any(|f| f.contains(".starts_at: sent by the server, missing")), "{found:?}");

    let mut doc = document();
    let created = doc.pointer_mut("/components/schemas/InviteCreated").unwrap();
    created["properties"]["guest_photo"] = json!({ "type": "string" });
    created["required"].as_array_mut().unwrap().push(json!("guest_photo"));
    let found = differences(&doc);
    assert!(found.iter().any(|f| f.contains(".guest_photo: in the document, never sent")), "{found:?}");
}

#[test]
fn every_error_code_the_server_has_is_in_the_document_and_no_other() {
    let doc = document();
    let documented: BTreeSet<&str> = doc
        .pointer("/components/schemas/Error/properties/error/properties/code/enum")
        .and_then(Value::as_array)
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let server: BTreeSet<&str> = ota::error::ERROR_CODES.iter().copied().collect();
    assert_eq!(documented, server);
}
