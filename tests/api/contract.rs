//! `template.yaml`, `infra/openapi.yaml` and the local front describe the same API.

use crate::helpers::spawn_app;
use local_stack::repo_root;
use serde_yaml::Value;
use std::collections::BTreeSet;

fn yaml(path: &str) -> Value {
    serde_yaml::from_str(&std::fs::read_to_string(repo_root().join(path)).unwrap()).unwrap()
}

/// The app's routes on the HTTP API, and the guest's: the distribution's paths that
/// go to a function's URL (each takes a POST).
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
    routes.extend(guest_edge(&template).into_keys().map(|path| ("post".to_owned(), path)));
    routes
}

/// The distribution's paths that go to a function's URL, with that function's logical id.
fn guest_edge(template: &Value) -> std::collections::BTreeMap<String, String> {
    let config = &template["Resources"]["GuestPageDistribution"]["Properties"]["DistributionConfig"];
    let origin_function = |id: &str| -> Option<String> {
        let origin = config["Origins"].as_sequence()?.iter().find(|o| o["Id"] == id)?;
        // `!Select [2, !Split ["/", !GetAtt <Function>Url.FunctionUrl]]`
        let text = serde_yaml::to_string(&origin["DomainName"]).ok()?;
        let at = text.find("Url.FunctionUrl")?;
        let start = text[..at].rfind(|c: char| !c.is_ascii_alphanumeric())? + 1;
        Some(text[start..at].to_owned())
    };
    config["CacheBehaviors"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|b| {
            let function = origin_function(b["TargetOriginId"].as_str()?)?;
            Some((b["PathPattern"].as_str()?.to_owned(), function))
        })
        .collect()
}

/// Whether `value` (a template fragment) mentions the resource `name` anywhere.
pub(crate) fn mentions(value: &Value, name: &str) -> bool {
    serde_yaml::to_string(value).unwrap().contains(name)
}

/// The distribution's origin that is `function`'s URL.
pub(crate) fn origin_of<'t>(template: &'t Value, function: &str) -> &'t Value {
    let config = &template["Resources"]["GuestPageDistribution"]["Properties"]["DistributionConfig"];
    config["Origins"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|o| mentions(&o["DomainName"], &format!("{function}Url")))
        .unwrap_or_else(|| panic!("{function} has no CloudFront origin"))
}

/// The guest functions have one way in: CloudFront, through its WAF. No HTTP API
/// route, a function URL that takes only signed requests, the distribution's origin
/// access control signing every one, and no principal but this distribution allowed
/// to invoke them.
#[test]
fn no_guest_function_is_reachable_but_through_the_cloudfront_origin() {
    let template = yaml("template.yaml");
    let resources = template["Resources"].as_mapping().unwrap();
    let edge = guest_edge(&template);
    let paths: BTreeSet<&str> = edge.keys().map(String::as_str).collect();
    assert_eq!(paths, BTreeSet::from(["/guest/status", "/guest/entry", "/guest/exit"]));
    let config = &template["Resources"]["GuestPageDistribution"]["Properties"]["DistributionConfig"];
    for (path, function) in &edge {
        let properties = &template["Resources"][function.as_str()]["Properties"];
        assert!(properties.get("Events").is_none(), "{function} ({path}) has an event source besides its URL");
        assert_eq!(properties["FunctionUrlConfig"]["AuthType"], "AWS_IAM", "{function}'s URL takes unsigned requests");
        let origin = origin_of(&template, function);
        let access = resources
            .keys()
            .filter_map(|k| k.as_str())
            .find(|k| mentions(&origin["OriginAccessControlId"], &format!("{k}.Id")));
        let access = &template["Resources"][access.expect("the origin has an origin access control")];
        let oac = &access["Properties"]["OriginAccessControlConfig"];
        assert_eq!(oac["OriginAccessControlOriginType"], "lambda");
        assert_eq!(oac["SigningBehavior"], "always", "{path}: CloudFront must sign every request");
        // Every permission on the function: CloudFront, for this distribution only.
        let permissions: Vec<&Value> = resources
            .values()
            .filter(|r| r["Type"] == "AWS::Lambda::Permission" && mentions(&r["Properties"]["FunctionName"], function))
            .collect();
        let actions: BTreeSet<&str> = permissions.iter().filter_map(|p| p["Properties"]["Action"].as_str()).collect();
        assert_eq!(actions, BTreeSet::from(["lambda:InvokeFunction", "lambda:InvokeFunctionUrl"]), "{function}");
        for permission in permissions {
            let properties = &permission["Properties"];
            assert_eq!(properties["Principal"], "cloudfront.amazonaws.com", "{function}");
            assert!(mentions(&properties["SourceArn"], "distribution/${GuestPageDistribution}"), "{function}");
            if properties["Action"] == "lambda:InvokeFunction" {
                assert_eq!(properties["InvokedViaFunctionUrl"], true, "{function} may be invoked directly");
            }
        }
    }
    let routes = template_routes();
    let api_routes = routes.iter().filter(|(_, path)| !paths.contains(path.as_str()));
    assert!(api_routes.clone().all(|(_, path)| !path.starts_with("/guest/")), "a guest route on the HTTP API");
    // The distribution is behind the web ACL unless a test stack turns it off.
    assert!(mentions(&config["WebACLId"], "WebAclArn"));
    assert_eq!(template["Parameters"]["EnableWaf"]["Default"], "true");
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

/// Every code `ApiError::code` can give is one of `ERROR_CODES` (which the document
/// lists: `contract_schemas`), but for `unauthenticated`, which answers in the
/// authorizer's shape (`{"message": "Unauthorized"}`) so that a 401 has one shape.
#[test]
fn every_error_code_a_function_can_return_is_documented() {
    let source = std::fs::read_to_string(repo_root().join("shared/src/error.rs")).unwrap();
    let code_fn = &source[source.find("pub fn code(").unwrap()..source.find("pub fn body(").unwrap()];
    let codes =
        code_fn.lines().filter_map(|line| line.split_once("=> \"")).map(|(_, rest)| rest.split('"').next().unwrap());
    for code in codes.filter(|code| *code != "unauthenticated") {
        assert!(ota::error::ERROR_CODES.contains(&code), "{code} is missing from ERROR_CODES");
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
