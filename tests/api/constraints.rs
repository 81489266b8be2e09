//! Every constraint `infra/openapi.yaml` documents on a request is enforced by the
//! server: for each pattern, length and bound of a body field, header, query or
//! path parameter, values just outside it (made from the operation's own example,
//! and kept only if the document itself rejects them) are sent, and each must be
//! refused with a 4xx the operation documents, never carried out.

use crate::contract_schemas::{document, resolve};
use crate::helpers::{spawn_app, TestApp};
use regex_lite::Regex;
use reqwest::Method;
use serde_json::{json, Value};

/// Whether the document's `schema` admits `value` (the keywords this API uses).
fn admits(schema: &Value, value: &Value) -> bool {
    match value {
        Value::String(text) => {
            let length = text.chars().count() as u64;
            let pattern = schema["pattern"].as_str().map(|p| Regex::new(p).unwrap());
            schema["minLength"].as_u64().is_none_or(|min| length >= min)
                && schema["maxLength"].as_u64().is_none_or(|max| length <= max)
                && pattern.is_none_or(|p| p.is_match(text))
        }
        Value::Number(n) => {
            let n = n.as_i64().unwrap();
            schema["minimum"].as_i64().is_none_or(|min| n >= min)
                && schema["maximum"].as_i64().is_none_or(|max| n <= max)
        }
        _ => true,
    }
}

/// Values just outside `schema`, from a valid `example`: one character too few or
/// too many, a space or letter where none belongs, one past each bound.
fn just_outside(schema: &Value, example: &Value) -> Vec<Value> {
    let mut candidates = Vec::new();
    if let Some(text) = example.as_str() {
        let chars: Vec<char> = text.chars().collect();
        candidates.push(String::new());
        candidates.push(chars[..chars.len().saturating_sub(1)].iter().collect());
        candidates.push(format!("{text}{}", chars.last().copied().unwrap_or('x')));
        candidates.push(format!(" {text}"));
        candidates.push(format!("{text} "));
        candidates.push(format!("{text}x"));
        candidates.push(format!("{text}!"));
        candidates.push(format!("{}é", &text[..text.len().saturating_sub(1)]));
        if let Some(max) = schema["maxLength"].as_u64().or_else(|| max_from_pattern(schema)) {
            candidates.push(text.chars().cycle().take(max as usize + 1).collect());
        }
    }
    let mut values: Vec<Value> = candidates.into_iter().map(Value::from).collect();
    if let Some(min) = schema["minimum"].as_i64() {
        values.push(json!(min - 1));
    }
    if let Some(max) = schema["maximum"].as_i64() {
        values.push(json!(max + 1));
    }
    values.retain(|v| !admits(schema, v));
    values.dedup();
    values
}

/// The upper bound of a pattern's last `{m,n}`, for patterns that bound a length.
fn max_from_pattern(schema: &Value) -> Option<u64> {
    let pattern = schema["pattern"].as_str()?;
    let braces = &pattern[pattern.rfind('{')? + 1..pattern.rfind('}')?];
    braces.split(',').next_back()?.parse().ok()
}

/// One request of the walk, with everything valid but the one value being tried.
struct Probe {
    method: Method,
    path: String,
    headers: Vec<(String, String)>,
    body: Option<Value>,
}

async fn send(app: &TestApp, probe: &Probe) -> (u16, Value) {
    let mut request = app.http.request(probe.method.clone(), format!("{}{}", app.api, probe.path));
    if !probe.path.starts_with("/guest/") {
        request = request.bearer_auth(&app.owner);
    }
    let body = probe.body.as_ref().map(Value::to_string);
    if let Some(body) = &body {
        request = request.header("content-type", "application/json").body(body.clone());
        if probe.path.starts_with("/guest/") && !probe.headers.iter().any(|(name, _)| name == "x-amz-content-sha256") {
            request = request.header("x-amz-content-sha256", local_stack::front::content_sha256(body.as_bytes()));
        }
    }
    for (name, value) in &probe.headers {
        request = request.header(name, value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_value_just_outside_each_documented_constraint_is_refused() {
    let app = spawn_app().await;
    app.configure(10).await;
    let invite = app.invite("Constraint Walk").await;
    let doc = document();
    // What the examples leave to the running stack: its intercom, the live link, the
    // gate number and the code.
    let live = |field: &str, example: &Value| -> Value {
        match field {
            "intercomId" | "intercom_id" => json!(app.intercom()),
            "codeId" => json!(invite.id),
            "token" => json!(invite.token),
            "gate_number" => json!(app.gate_number()),
            "code" => json!(invite.code),
            _ => example.clone(),
        }
    };
    let mut tried = 0;
    let mut failures = Vec::new();
    for (template, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap().iter().filter(|(_, o)| o.get("operationId").is_some()) {
            let id = operation["operationId"].as_str().unwrap();
            let documented: Vec<u16> =
                operation["responses"].as_object().unwrap().keys().filter_map(|s| s.parse().ok()).collect();
            let parameters: Vec<&Value> = item["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .chain(operation["parameters"].as_array().into_iter().flatten())
                .map(|p| resolve(&doc, p))
                .collect();
            let body_content = operation.get("requestBody").map(|b| &resolve(&doc, b)["content"]["application/json"]);
            let example_body = body_content.map(|content| {
                let mut body = content["examples"].as_object().unwrap().values().next().unwrap()["value"].clone();
                for (field, value) in body.as_object_mut().unwrap() {
                    *value = live(field, value);
                }
                body
            });
            let valid = |path_values: &[(&str, Value)]| -> Probe {
                let mut path = template.clone();
                for parameter in parameters.iter().filter(|p| p["in"] == "path") {
                    let name = parameter["name"].as_str().unwrap();
                    let value = path_values
                        .iter()
                        .find(|(n, _)| *n == name)
                        .map(|(_, v)| v.clone())
                        .unwrap_or_else(|| live(name, &parameter["example"]));
                    path = path.replace(&format!("{{{name}}}"), value.as_str().unwrap());
                }
                Probe {
                    method: Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(),
                    path,
                    headers: Vec::new(),
                    body: example_body.clone(),
                }
            };
            let mut probes: Vec<(String, Value, Probe)> = Vec::new();
            for parameter in &parameters {
                let name = parameter["name"].as_str().unwrap();
                let example = live(name, &parameter["example"]);
                for value in just_outside(&parameter["schema"], &example) {
                    let mut probe = valid(&[]);
                    let text = value.as_str().map(str::to_owned).unwrap_or_else(|| value.to_string());
                    match parameter["in"].as_str().unwrap() {
                        // A path segment cannot be empty or hold a space and stay one segment.
                        "path" if text.is_empty() || text.contains(' ') => continue,
                        "path" => probe = valid(&[(name, value.clone())]),
                        "query" => probe.path = format!("{}?{name}={}", probe.path, text.replace(' ', "%20")),
                        "header" if text.is_empty() || text.starts_with(' ') || text.ends_with(' ') => continue,
                        "header" if !text.is_ascii() => continue,
                        _ => probe.headers.push((name.to_owned(), text)),
                    }
                    probes.push((format!("{id} {name}"), value, probe));
                }
            }
            if let (Some(content), Some(body)) = (body_content, &example_body) {
                let schema = resolve(&doc, &content["schema"]);
                for (field, field_schema) in schema["properties"].as_object().unwrap() {
                    let field_schema = resolve(&doc, field_schema);
                    let example = body.get(field).cloned().unwrap_or(Value::Null);
                    for value in just_outside(field_schema, &example) {
                        let mut probe = valid(&[]);
                        probe.body.as_mut().unwrap()[field] = value.clone();
                        probes.push((format!("{id} body {field}"), value, probe));
                    }
                }
            }
            for (what, value, probe) in probes {
                tried += 1;
                let (status, answer) = send(&app, &probe).await;
                // A body field out of bounds is the client's mistake, said as such
                // before anything is read; a parameter may read as a missing resource.
                let refused = if what.contains(" body ") {
                    status == 400
                } else {
                    (400..500).contains(&status) && documented.contains(&status)
                };
                if !refused {
                    failures.push(format!("{what} = {value}: {status} {answer}"));
                }
            }
        }
    }
    assert!(tried > 60, "only {tried} values tried");
    assert!(failures.is_empty(), "values outside the document's constraints, not refused:\n{}", failures.join("\n"));
    // None of them opened a gate or used the code.
    assert_eq!(app.guest_status(&invite.token).await.1["entry"]["state"], "available");
}
