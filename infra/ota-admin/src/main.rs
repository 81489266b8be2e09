//! `ota-admin`: writes what Fluss's device management owns in production — the
//! intercom registry and memberships — into a deployed (or local) table.
//!
//! ```text
//! ota-admin intercom <intercom-id> --label "<label>" --gate <device-id>=<label>=<iot-thing> [--gate …] [--time-zone <IANA zone>]
//! ota-admin member <intercom-id> <user-sub> owner|intercom
//! ota-admin remove-member <intercom-id> <user-sub>
//! ota-admin gate-number <intercom-id> --page <guest page URL>
//! ota-admin sms-allowance <intercom-id> [--per-intercom <n>|default] [--per-user <n>|default]
//! ota-admin location <intercom-id> --address "<street address>" [--at <latitude>,<longitude>] | --clear
//! ota-admin replay (--from <RFC 3339> --to <RFC 3339> | --dead-letter <file>) [--intercom <id> …]
//! ota-admin erase --mobile <+E.164 number> --reference <support request id>
//! ota-admin erase --again-since <RFC 3339> --log-table <the table a restore replaced>
//! ```
//! `erase` answers a guest's request to be erased, across every intercom
//! (`ota::store::invites::erasure`); the owner's `eraseGuest` does one intercom.
//! `replay` rebuilds the activity, events and SMS of changes whose stream records
//! were lost (`ota::handlers::replay`): for the window a dead-letter record of the
//! outbox names (the message body of `OutboxDlq`, saved to a file), or one given,
//! in the intercoms given or, by default, every registered one. Safe to run twice.
//! `location` records where the intercom's gate is: the guest's page shows the
//! address with a link that opens the phone's maps app there, and the share message
//! carries both. Codes made afterwards carry it.
//! `sms-allowance` raises (or lowers) the guest SMS an intercom may cause each hour,
//! and each of its members, for an estate or an integration; `default` goes back to
//! the deployment's (`SmsPerIntercomPerHour`, `SmsPerUserPerHour`). Owners cannot
//! change it: it is what bounds the SMS bill of a stolen app session.
//! `gate-number` gives the intercom a new gate number and prints it with what its QR
//! code must say; this is the only time the number is shown (the table keeps a hash).
//! The number it replaces keeps working for 14 days, while the new stickers go up.
//! Uses `OTA_TABLE_NAME` and the usual AWS settings (`AWS_PROFILE`, `AWS_REGION`,
//! `AWS_ENDPOINT_URL` for the emulator).

use aws_config::BehaviorVersion;
use ota::domain::access::Role;
use ota::domain::gate_number::{GateNumber, GateNumberKeys, ROTATION_GRACE};
use ota::domain::ids::{DeviceId, IntercomId, ThingName, UserId};
use ota::domain::location::{Location, ADDRESS_MAX_CHARS};
use ota::domain::settings::{Gate, SmsAllowance, SMS_ALLOWANCE_RANGE};
use ota::domain::zone::LocalZone;
use ota::store::Store;
use std::collections::BTreeMap;

mod erase;
mod replay;

const USAGE: &str = "usage:
  ota-admin intercom <intercom-id> --label <label> --gate <device-id>=<label>=<iot-thing> [--gate ...]
            [--time-zone <IANA zone, default Africa/Johannesburg>]
  ota-admin member <intercom-id> <user-sub> owner|intercom
  ota-admin remove-member <intercom-id> <user-sub>
  ota-admin gate-number <intercom-id> --page <guest page URL, e.g. https://ote.fluss.me>
  ota-admin sms-allowance <intercom-id> [--per-intercom <1..100000>|default] [--per-user <1..100000>|default]
  ota-admin location <intercom-id> --address <street address> [--at <latitude>,<longitude>]
  ota-admin location <intercom-id> --clear
  ota-admin replay --from <RFC 3339 time> --to <RFC 3339 time> [--intercom <intercom-id> ...]
  ota-admin replay --dead-letter <file holding an OutboxDlq message body> [--intercom <intercom-id> ...]
  ota-admin erase --mobile <+E.164 number> --reference <support request id>
  ota-admin erase --again-since <RFC 3339 restore point> --log-table <the table the restore replaced>
environment: OTA_TABLE_NAME (required), OTA_GATE_NUMBER_KEYS (gate-number only), OTA_GUEST_KEYS (erase only),
  OTA_EVENT_BUS_NAME and OTA_SMS_QUEUE_URL (replay only),
  AWS_PROFILE / AWS_REGION / AWS_ENDPOINT_URL";

#[tokio::main]
async fn main() {
    if let Err(message) = run(std::env::args().skip(1).collect()).await {
        eprintln!("ota-admin: {message}\n\n{USAGE}");
        std::process::exit(2);
    }
}

fn parse<T>(what: &str, raw: &str, parse: impl Fn(&str) -> Option<T>) -> Result<T, String> {
    parse(raw).ok_or_else(|| format!("{raw:?} is not a valid {what}"))
}

fn parse_gate(raw: &str) -> Result<(DeviceId, Gate), String> {
    let mut parts = raw.splitn(3, '=');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(device), Some(label), Some(thing)) if !label.trim().is_empty() => Ok((
            parse("gate device id", device, DeviceId::parse)?,
            Gate { label: label.trim().to_owned(), thing: parse("IoT thing name", thing, ThingName::parse)? },
        )),
        _ => Err(format!("--gate {raw:?} must be <device-id>=<label>=<iot-thing>")),
    }
}

async fn run(args: Vec<String>) -> Result<(), String> {
    let table = std::env::var("OTA_TABLE_NAME").map_err(|_| "OTA_TABLE_NAME is required".to_owned())?;
    let sdk = aws_config::defaults(BehaviorVersion::latest()).load().await;
    let store = Store::new(aws_sdk_dynamodb::Client::new(&sdk), table);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["intercom", intercom, rest @ ..] => {
            let intercom = parse("intercom id", intercom, IntercomId::parse)?;
            let (mut label, mut gates, mut time_zone) = (None, BTreeMap::new(), LocalZone::default());
            let mut rest = rest.iter();
            while let Some(flag) = rest.next() {
                let value = rest.next().ok_or_else(|| format!("{flag} needs a value"))?;
                match *flag {
                    "--label" => label = Some(value.to_string()),
                    "--time-zone" => {
                        time_zone = parse("IANA time zone (e.g. Africa/Johannesburg)", value, LocalZone::parse)?
                    }
                    "--gate" => {
                        let (device, gate) = parse_gate(value)?;
                        gates.insert(device, gate);
                    }
                    other => return Err(format!("unknown option {other}")),
                }
            }
            let label = label.ok_or("--label is required")?;
            if gates.is_empty() {
                return Err("at least one --gate is required: one-time access needs a Fluss+ gate".into());
            }
            store.register_intercom(&intercom, &label, &gates, &time_zone).await.map_err(|e| e.to_string())?;
            println!("registered {intercom} ({label}, {}) with {} gate(s)", time_zone.name(), gates.len());
        }
        ["member", intercom, user, role] => {
            let intercom = parse("intercom id", intercom, IntercomId::parse)?;
            let user = parse("user sub", user, UserId::parse)?;
            let role = Role::parse(role).ok_or("role must be owner or intercom")?;
            store.grant(&intercom, &user, role).await.map_err(|e| e.to_string())?;
            println!("{user} is now {} of {intercom}", role.as_str());
        }
        ["remove-member", intercom, user] => {
            let intercom = parse("intercom id", intercom, IntercomId::parse)?;
            let user = parse("user sub", user, UserId::parse)?;
            store.withdraw(&intercom, &user).await.map_err(|e| e.to_string())?;
            println!("{user} no longer has access to {intercom}");
        }
        ["gate-number", intercom, "--page", page] => {
            let intercom = parse("intercom id", intercom, IntercomId::parse)?;
            let page = page.trim_end_matches('/');
            if !page.starts_with("https://") && !page.starts_with("http://127.0.0.1") {
                return Err("--page is the guest page's https address".into());
            }
            let raw = std::env::var("OTA_GATE_NUMBER_KEYS").map_err(|_| {
                "gate-number needs OTA_GATE_NUMBER_KEYS (the stack's GateNumberKeySecret, README step 6)"
            })?;
            let keys = GateNumberKeys::parse(&raw).map_err(|reason| format!("OTA_GATE_NUMBER_KEYS: {reason}"))?;
            let number = GateNumber::generate();
            let now = time::OffsetDateTime::now_utc();
            match store.rotate_gate_number(&intercom, &number.check(&intercom, &keys), now).await {
                Ok(true) => {}
                Ok(false) => return Err(format!("{intercom} is not registered (ota-admin intercom … first)")),
                Err(error) => return Err(format!("{error} (another rotation at the same time? run it again)")),
            }
            println!("{intercom} has a new gate number. Print, at every gate of the intercom:");
            println!("  QR code:        {page}/s/{intercom}#{}", number.as_digits());
            println!("  under it:       {}", number.printed());
            println!("The number it replaced works until {} (UTC).", now + ROTATION_GRACE);
        }
        ["sms-allowance", intercom, rest @ ..] => {
            let intercom = parse("intercom id", intercom, IntercomId::parse)?;
            let mut allowance = SmsAllowance::default();
            let mut rest = rest.iter();
            while let Some(flag) = rest.next() {
                let value = rest.next().ok_or_else(|| format!("{flag} needs a value"))?;
                let per_hour = match *value {
                    "default" => None,
                    raw => Some(
                        raw.parse()
                            .ok()
                            .filter(|n| SMS_ALLOWANCE_RANGE.contains(n))
                            .ok_or_else(|| format!("{flag} is SMS an hour, {SMS_ALLOWANCE_RANGE:?}, or default"))?,
                    ),
                };
                match *flag {
                    "--per-intercom" => allowance.per_intercom_per_hour = per_hour,
                    "--per-user" => allowance.per_user_per_hour = per_hour,
                    other => return Err(format!("unknown option {other}")),
                }
            }
            if !store.set_sms_allowance(&intercom, allowance).await.map_err(|e| e.to_string())? {
                return Err(format!("{intercom} is not registered (ota-admin intercom … first)"));
            }
            let shown = |n: Option<u32>| n.map_or("the deployment's".to_owned(), |n| n.to_string());
            println!(
                "{intercom} may now cause {} guest SMS an hour, each member {}",
                shown(allowance.per_intercom_per_hour),
                shown(allowance.per_user_per_hour)
            );
        }
        ["location", intercom, "--clear"] => {
            let intercom = parse("intercom id", intercom, IntercomId::parse)?;
            if !store.set_location(&intercom, None).await.map_err(|e| e.to_string())? {
                return Err(format!("{intercom} is not registered (ota-admin intercom … first)"));
            }
            println!("{intercom} has no location now; codes already out keep theirs");
        }
        ["location", intercom, "--address", address, rest @ ..] => {
            let intercom = parse("intercom id", intercom, IntercomId::parse)?;
            let position = match rest {
                [] => None,
                ["--at", at] => Some(parse("position (<latitude>,<longitude>, e.g. -26.1386,28.0172)", at, |at| {
                    let (lat, lon) = at.split_once(',')?;
                    Some((lat.trim().parse().ok()?, lon.trim().parse().ok()?))
                })?),
                _ => return Err("location takes --address and optionally --at <latitude>,<longitude>".into()),
            };
            let location = Location::new(address, position).ok_or_else(|| {
                format!("an address is 1 to {ADDRESS_MAX_CHARS} visible characters, a position on the globe")
            })?;
            if !store.set_location(&intercom, Some(&location)).await.map_err(|e| e.to_string())? {
                return Err(format!("{intercom} is not registered (ota-admin intercom … first)"));
            }
            println!("{intercom} is at {}; its guests' maps open {}", location.address, location.map_url());
        }
        ["replay", rest @ ..] => replay::run(&sdk, &store, rest).await?,
        ["erase", rest @ ..] => erase::run(&sdk, &store, rest).await?,
        _ => return Err("unknown command".into()),
    }
    Ok(())
}
