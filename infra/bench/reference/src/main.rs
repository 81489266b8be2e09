//! `bench-reference`: one DynamoDB GetItem per request, with the clients built the
//! way every function builds them. No function that calls AWS can get near the bare
//! hello-world's warm CPU (each SDK call signs and serialises), so the benchmark
//! judges warm CPU per AWS call against this.

use aws_sdk_dynamodb::types::AttributeValue;
use lambda_http::{service_fn, Body, Error, Request, Response};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let config = ota::config::Config::from_env()?;
    let client: &'static aws_sdk_dynamodb::Client = Box::leak(Box::new(ota::aws::AwsSetup::from_env()?.dynamodb()));
    let table = config.table_name;
    lambda_http::run(service_fn(|_: Request| {
        let table = table.clone();
        async move {
            let found = client
                .get_item()
                .table_name(table)
                .key("PK", AttributeValue::S("INTERCOM#ic-demo".into()))
                .key("SK", AttributeValue::S("META".into()))
                .send()
                .await
                .map(|out| out.item().is_some())
                .unwrap_or(false);
            Ok::<_, Error>(Response::new(Body::from(if found { "found" } else { "missing" })))
        }
    }))
    .await
}
