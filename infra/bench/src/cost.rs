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
/// API Gateway HTTP API, first 300 million requests a month (the app's routes).
const HTTP_API_PER_MILLION: f64 = 1.00;
/// The guest functions sit behind function URLs (no charge of their own) reached through
/// CloudFront's web ACL: WAF's price per request. CloudFront's own request price is paid
/// on the guest's path in either design and left out of both.
const WAF_PER_MILLION: f64 = 0.60;
const GUEST_FUNCTIONS: [&str; 3] = ["guest-status", "redeem-entry", "redeem-exit"];
/// DynamoDB on-demand.
const READ_UNIT_PER_MILLION: f64 = 0.125;
const WRITE_UNIT_PER_MILLION: f64 = 0.625;
/// IoT Core device shadow operation (1 KB).
const SHADOW_PER_MILLION: f64 = 1.25;
/// IoT Core rules engine: the rule triggered, and its one (Lambda) action.
const RULE_PER_MILLION: f64 = 0.15;
const RULE_ACTION_PER_MILLION: f64 = 0.15;
/// Functions not behind the HTTP API: the sweep (a schedule) and gate-events (a topic rule).
const NOT_HTTP: [&str; 5] = ["sweep", "gate-events", "outbox", "sms-sender", "sms-status"];
/// EventBridge custom events, per million (64 KB chunks; a fact is under 1 KB).
const EVENT_PER_MILLION: f64 = 1.00;
/// CloudWatch Logs ingestion of SNS's delivery report (~0.5 KB) per GB.
const LOGS_PER_GB: f64 = 0.50;
const DELIVERY_REPORT_KB: f64 = 0.5;
/// Status polls per confirmed redemption: the page polls every 500 ms while the gate
/// acts, and the measured tap-to-open took one (infra/bench/GATE.md).
const POLLS_PER_REDEMPTION: f64 = 1.0;
/// SNS SMS to a South African mobile (transactional): an assumption, check the SNS SMS price list.
const SMS_EACH: f64 = 0.02;

/// One call of a function: Lambda, its trigger (HTTP API or IoT rule), DynamoDB, IoT, SMS.
struct CallCost {
    lambda: f64,
    trigger: f64,
    dynamo: f64,
    iot: f64,
    sms: f64,
}

impl CallCost {
    /// Per million calls.
    fn of(name: &str, m: &Measured) -> Self {
        let calls = m.aws_calls() as f64;
        let billed_ms = (m.warm_cpu.as_secs_f64() * 1e3 + calls * MS_PER_AWS_CALL).ceil();
        let lambda = LAMBDA_PER_MILLION + 1e6 * billed_ms / 1e3 * MEMORY_GB * LAMBDA_ARM_GB_SECOND;
        let trigger = match name {
            "gate-events" => RULE_PER_MILLION + RULE_ACTION_PER_MILLION,
            _ if GUEST_FUNCTIONS.contains(&name) => WAF_PER_MILLION,
            _ if NOT_HTTP.contains(&name) => 0.0,
            _ => HTTP_API_PER_MILLION,
        };
        let dynamo = m.tally.read_units * READ_UNIT_PER_MILLION + m.tally.write_units * WRITE_UNIT_PER_MILLION;
        let count = |op: &str| m.tally.requests.get(op).copied().unwrap_or(0) as f64;
        let iot = count("iot:UpdateThingShadow") * SHADOW_PER_MILLION;
        let sms = count("sns:Publish") * SMS_EACH * 1e6;
        // Events ride in `iot` (the column of per-message services); delivery reports' log
        // ingestion in `trigger` (it is what invokes sms-status).
        let iot = iot + count("events:PutEvents") * EVENT_PER_MILLION;
        let trigger = trigger
            + if name == "sms-status" { LOGS_PER_GB * DELIVERY_REPORT_KB / (1024.0 * 1024.0) * 1e6 } else { 0.0 };
        Self { lambda, trigger, dynamo, iot, sms }
    }

    fn total(&self) -> f64 {
        self.lambda + self.trigger + self.dynamo + self.iot + self.sms
    }
}

pub fn print(measured: &BTreeMap<&str, Measured>) {
    println!("### Cost per million calls (USD, on-demand)\n");
    println!("Assumed: {MEMORY_GB} GB arm64 Lambda billed for warm CPU + {MS_PER_AWS_CALL} ms per AWS call; HTTP API ${HTTP_API_PER_MILLION}/M (app routes); the guest functions' URLs behind WAF ${WAF_PER_MILLION}/M; DynamoDB ${READ_UNIT_PER_MILLION}/M read units, ${WRITE_UNIT_PER_MILLION}/M write units (capacity from the sizes of the items involved); shadow update ${SHADOW_PER_MILLION}/M; SMS ${SMS_EACH} each.\n");
    println!("| function | read units | write units | Lambda | trigger (HTTP API / WAF / IoT rule) | DynamoDB | IoT | SMS | total |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for (name, m) in measured {
        let cost = CallCost::of(name, m);
        println!(
            "| {name} | {:.1} | {:.1} | {:.2} | {:.2} | {:.2} | {:.2} | {:.0} | {:.2} |",
            m.tally.read_units,
            m.tally.write_units,
            cost.lambda,
            cost.trigger,
            cost.dynamo,
            cost.iot,
            cost.sms,
            cost.total(),
        );
    }
    println!();
    print_confirmed_redemption(measured);
    println!();
    print_journey(measured);
    println!();
}

/// The committed changes of one guest's journey, each a stream record the outbox
/// is invoked for at low traffic (one record per invocation; batches only make it
/// cheaper): the invite, its SMS item, its SMS sent and delivered, the entry's
/// attempt and report, the exit's attempt and report.
const JOURNEY_CHANGES: f64 = 8.0;
/// Of those, the ones that make a fact: created, SMS sent, SMS delivered, entered, left.
const JOURNEY_FACTS: f64 = 5.0;

/// A guest's whole journey: create, SMS (sent, then its delivery report), status
/// reads, entry and exit each confirmed by the gate, and the owner's view of it (the
/// outbox's activity writes and events). The same journey without the owner's view
/// (before this change) is what create, SMS, status and the two redemptions cost.
fn print_journey(measured: &BTreeMap<&str, Measured>) {
    let cost = |name: &str| measured.get(name).map(|m| CallCost::of(name, m).total());
    let (Some(create), Some(sender), Some(status), Some(redeem), Some(report), Some(outbox), Some(reports)) = (
        cost("create-invite"),
        cost("sms-sender"),
        cost("guest-status"),
        cost("redeem-entry"),
        cost("gate-events"),
        cost("outbox"),
        cost("sms-status"),
    ) else {
        return;
    };
    let exit = cost("redeem-exit").unwrap_or(redeem);
    let passages = redeem + exit + 2.0 * (POLLS_PER_REDEMPTION * status + SHADOW_PER_MILLION + report);
    // The SMS's own price (the same in both, and 99 % of either) is left out to show the rest.
    let sender = sender - SMS_EACH * 1e6;
    let before = create + sender + status + passages;
    // The outbox's sample is one change with one fact; scale to the journey's.
    let outbox_journey = JOURNEY_CHANGES * (outbox - measured["outbox"].tally.write_units * WRITE_UNIT_PER_MILLION)
        + JOURNEY_FACTS * measured["outbox"].tally.write_units * WRITE_UNIT_PER_MILLION;
    let after = before + outbox_journey + reports;
    println!(
        "**Per million guest journeys** (create, SMS, a status read, entry and exit each confirmed by the gate), the SMS's own price (${SMS_EACH} each, in both) left out: without the owner's view ${before:.2}; with it ${after:.2} (the outbox for {JOURNEY_CHANGES} changes and {JOURNEY_FACTS} facts ${outbox_journey:.2}, the SMS delivery report ${reports:.2}).\n"
    );
}

/// A redemption the gate confirms: the guest's redeem, the page's status polls, the
/// gate writing its report to its shadow, and gate-events recording it.
fn print_confirmed_redemption(measured: &BTreeMap<&str, Measured>) {
    let (Some(redeem), Some(status), Some(report)) =
        (measured.get("redeem-entry"), measured.get("guest-status"), measured.get("gate-events"))
    else {
        return;
    };
    let redeem = CallCost::of("redeem-entry", redeem).total();
    let polls = POLLS_PER_REDEMPTION * CallCost::of("guest-status", status).total();
    let gate_side = SHADOW_PER_MILLION + CallCost::of("gate-events", report).total();
    println!(
        "**Per million confirmed redemptions**: redeem ${redeem:.2} + {POLLS_PER_REDEMPTION} status poll ${polls:.2} + the gate's report (its shadow update ${SHADOW_PER_MILLION}, the rule and gate-events ${:.2}) = **${:.2}**.\n",
        gate_side - SHADOW_PER_MILLION,
        redeem + polls + gate_side,
    );
}
