//! What a million calls of each endpoint cost at on-demand prices, from the
//! requests and DynamoDB capacity the benchmark measured. Prices are us-east-1
//! list prices (checked 2026); a deployment elsewhere differs by a few percent.

use crate::Measured;
use std::collections::BTreeMap;

/// Lambda: per request, and per GB-second on arm64.
const LAMBDA_PER_MILLION: f64 = 0.20;
const LAMBDA_ARM_GB_SECOND: f64 = 0.000_013_333_4;
const MEMORY_GB: f64 = 0.125;
/// What an in-region AWS call adds to the billed duration (not measured here: the stub answers at once).
const MS_PER_AWS_CALL: f64 = 8.0;
/// API Gateway HTTP API, first 300 million requests a month.
const HTTP_API_PER_MILLION: f64 = 1.00;
/// DynamoDB on-demand.
const READ_UNIT_PER_MILLION: f64 = 0.125;
const WRITE_UNIT_PER_MILLION: f64 = 0.625;
/// IoT Core device shadow operation (1 KB).
const SHADOW_PER_MILLION: f64 = 1.25;
/// SNS SMS to a South African mobile (transactional): an assumption, check the SNS SMS price list.
const SMS_EACH: f64 = 0.02;

pub fn print(measured: &BTreeMap<&str, Measured>) {
    println!("### Cost per million calls (USD, on-demand)\n");
    println!("Assumed: {MEMORY_GB} GB arm64 Lambda billed for warm CPU + {MS_PER_AWS_CALL} ms per AWS call; HTTP API ${HTTP_API_PER_MILLION}/M; DynamoDB ${READ_UNIT_PER_MILLION}/M read units, ${WRITE_UNIT_PER_MILLION}/M write units (capacity from the sizes of the items involved); shadow update ${SHADOW_PER_MILLION}/M; SMS ${SMS_EACH} each.\n");
    println!("| function | read units | write units | Lambda | HTTP API | DynamoDB | IoT | SMS | total |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (name, m) in measured {
        let calls = m.aws_calls() as f64;
        let billed_ms = (m.warm_cpu.as_secs_f64() * 1e3 + calls * MS_PER_AWS_CALL).ceil();
        let lambda = LAMBDA_PER_MILLION + 1e6 * billed_ms / 1e3 * MEMORY_GB * LAMBDA_ARM_GB_SECOND;
        let api = if *name == "sweep" { 0.0 } else { HTTP_API_PER_MILLION };
        let dynamo = m.tally.read_units * READ_UNIT_PER_MILLION + m.tally.write_units * WRITE_UNIT_PER_MILLION;
        let count = |op: &str| m.tally.requests.get(op).copied().unwrap_or(0) as f64;
        let iot = count("iot:UpdateThingShadow") * SHADOW_PER_MILLION;
        let sms = count("sns:Publish") * SMS_EACH * 1e6;
        println!(
            "| {name} | {:.1} | {:.1} | {lambda:.2} | {api:.2} | {dynamo:.2} | {iot:.2} | {sms:.0} | {:.2} |",
            m.tally.read_units,
            m.tally.write_units,
            lambda + api + dynamo + iot + sms,
        );
    }
    println!();
}
