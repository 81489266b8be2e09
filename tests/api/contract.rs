//! `template.yaml`, `infra/openapi.yaml` and the local front describe the same API.

use crate::helpers::spawn_app;
use local_stack::repo_root;
use serde_yaml::Value;
use std::collections::BTreeSet;

fn yaml(path: &str) -> Value {
    serde_yaml::from_str(&std::fs::read_to_string(repo_root().join(path)).unwrap()).unwrap()
}

fn template_routes() -> BTreeSet<(String, String)> {
    let template = yaml("template.yaml");
    let mut routes = BTreeSet::new();
    for resource in template["Resources"].as_mapping().unwrap().values() {
        let Some(events) = resource["Properties"]["Events"].as_mapping() else { continue };
        for event in events.values().filter(|e| e["Type"] == "HttpApi") {
            let props = &event["Properties"];
            routes
                .insert((props["Method"].as_str().unwrap().to_lowercase(), props["Path"].as_str().unwrap().to_owned()));
        }
    }
    routes
}

fn openapi_routes() -> BTreeSet<(String, String)> {
    let openapi = yaml("infra/openapi.yaml");
    let mut routes = BTreeSet::new();
    for (path, item) in openapi["paths"].as_mapping().unwrap() {
        for method in ["get", "put", "post", "delete", "patch"] {
            if item.get(method).is_some() {
                routes.insert((method.to_owned(), path.as_str().unwrap().to_owned()));
            }
        }
    }
    routes
}

#[test]
fn the_openapi_document_describes_exactly_the_deployed_routes() {
    assert_eq!(openapi_routes(), template_routes());
}

#[test]
fn every_error_code_a_function_can_return_is_documented() {
    let openapi = yaml("infra/openapi.yaml");
    let documented: BTreeSet<&str> = openapi["components"]["schemas"]["Error"]["properties"]["error"]["properties"]
        ["code"]["enum"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let source = std::fs::read_to_string(repo_root().join("shared/src/error.rs")).unwrap();
    let code_fn = &source[source.find("pub fn code(").unwrap()..source.find("pub fn body(").unwrap()];
    let codes =
        code_fn.lines().filter_map(|line| line.split_once("=> \"")).map(|(_, rest)| rest.split('"').next().unwrap());
    for code in codes {
        assert!(documented.contains(code), "{code} is missing from the OpenAPI Error schema");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_front_serves_every_deployed_route() {
    let app = spawn_app().await;
    for (method, path) in template_routes() {
        let path = path.replace("{intercomId}", app.intercom()).replace("{codeId}", "AAAAAAAAAAA");
        let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let response = app
            .http
            .request(method.clone(), format!("{}{path}", app.api))
            .bearer_auth(&app.owner)
            .send()
            .await
            .unwrap();
        let body = response.text().await.unwrap();
        assert!(!body.contains("Not Found"), "{method} {path} is not routed: {body}");
    }
}
