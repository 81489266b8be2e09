//! The template's `Rules` refuse the parameter combinations a first deploy must not
//! get past: evaluated here offline, as CloudFormation evaluates them before it creates
//! anything (the condition functions Rules may use: `Fn::Equals`, `Fn::Not`, `Fn::And`,
//! `Fn::Or`, `Ref` to parameters and pseudo parameters).

use local_stack::repo_root;
use serde_yaml::Value;
use std::collections::BTreeMap;

fn template() -> Value {
    serde_yaml::from_str(&std::fs::read_to_string(repo_root().join("template.yaml")).unwrap()).unwrap()
}

/// A parameter's value as the deploy gives it, or its default.
fn parameter(template: &Value, given: &BTreeMap<&str, &str>, name: &str) -> String {
    if name == "AWS::Region" {
        return given.get(name).copied().unwrap_or("eu-west-1").to_owned();
    }
    match given.get(name) {
        Some(value) => (*value).to_owned(),
        None => match &template["Parameters"][name]["Default"] {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Null => panic!("parameter {name} has no default and was not given"),
            other => panic!("parameter {name}: default {other:?}"),
        },
    }
}

/// `!Tag value` and `{Fn::Tag: value}` alike: (function, its argument).
fn function(value: &Value) -> Option<(String, &Value)> {
    match value {
        Value::Tagged(tagged) => Some((tagged.tag.to_string().trim_start_matches('!').to_owned(), &tagged.value)),
        Value::Mapping(map) if map.len() == 1 => {
            let (key, argument) = map.iter().next()?;
            let key = key.as_str()?;
            Some((key.strip_prefix("Fn::").unwrap_or(key).to_owned(), argument))
        }
        _ => None,
    }
}

#[derive(Debug, PartialEq)]
enum Evaluated {
    Text(String),
    Bool(bool),
}

fn evaluate(template: &Value, given: &BTreeMap<&str, &str>, value: &Value) -> Evaluated {
    if let Value::String(s) = value {
        return Evaluated::Text(s.clone());
    }
    let (name, argument) = function(value).unwrap_or_else(|| panic!("not a rule function: {value:?}"));
    let items = || argument.as_sequence().unwrap().iter().map(|v| evaluate(template, given, v));
    let truth = |e: Evaluated| match e {
        Evaluated::Bool(b) => b,
        other => panic!("{other:?} is no condition"),
    };
    match name.as_str() {
        "Ref" => Evaluated::Text(parameter(template, given, argument.as_str().unwrap())),
        "Equals" => {
            let both: Vec<Evaluated> = items().collect();
            Evaluated::Bool(both[0] == both[1])
        }
        "Not" => Evaluated::Bool(!truth(items().next().unwrap())),
        "And" => Evaluated::Bool(items().all(truth)),
        "Or" => Evaluated::Bool(items().any(truth)),
        other => panic!("rule function {other} is not evaluated here"),
    }
}

/// The descriptions of the rules whose assertions fail for these parameters.
fn refusals(given: &[(&str, &str)]) -> Vec<String> {
    let template = template();
    let given: BTreeMap<&str, &str> = given.iter().copied().collect();
    let mut refused = Vec::new();
    for (name, rule) in template["Rules"].as_mapping().unwrap() {
        let applies = rule.get("RuleCondition").is_none_or(|c| evaluate(&template, &given, c) == Evaluated::Bool(true));
        if !applies {
            continue;
        }
        for assertion in rule["Assertions"].as_sequence().unwrap() {
            if evaluate(&template, &given, &assertion["Assert"]) != Evaluated::Bool(true) {
                refused.push(format!(
                    "{}: {}",
                    name.as_str().unwrap(),
                    assertion["AssertDescription"].as_str().unwrap()
                ));
            }
        }
    }
    refused
}

const CERT: &str = "arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-aaaa-bbbb-cccc-123456789012";
const ACL: &str = "arn:aws:wafv2:us-east-1:123456789012:global/webacl/ota-guest-waf/5a4b3c2d";

#[test]
fn the_template_refuses_a_domain_without_its_certificate_and_the_waf_without_its_acl() {
    let base = [("EnableWaf", "false")];
    let with = |extra: &[(&'static str, &'static str)]| -> Vec<String> {
        refusals(&base.iter().chain(extra).copied().collect::<Vec<_>>())
    };
    assert_eq!(with(&[]), Vec::<String>::new(), "a test stack with nothing optional");

    let domain_alone = with(&[("GuestPageDomain", "ote.fluss.me")]);
    assert!(domain_alone.iter().any(|r| r.contains("needs GuestPageCertificateArn")), "{domain_alone:?}");
    let certificate_alone = with(&[("GuestPageCertificateArn", CERT)]);
    assert!(certificate_alone.iter().any(|r| r.contains("without GuestPageDomain")), "{certificate_alone:?}");
    assert!(with(&[("GuestPageDomain", "ote.fluss.me"), ("GuestPageCertificateArn", CERT)]).is_empty());

    let waf_without_acl = refusals(&[]);
    assert!(waf_without_acl.iter().any(|r| r.contains("infra/guest-waf.yaml")), "{waf_without_acl:?}");
    for region in ["us-east-1", "eu-west-1", "af-south-1"] {
        assert!(refusals(&[("WebAclArn", ACL), ("AWS::Region", region)]).is_empty(), "{region}");
    }
}
