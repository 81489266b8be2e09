//! `ota-admin erase`: a support request to erase a guest, for their number across
//! every intercom (the owner's own `eraseGuest` covers one intercom). The codes are
//! found by the keyed hash of the number (`OTA_GUEST_KEYS`); each one that can no
//! longer be used is erased (`Store::erase_guest`) with the request's reference as
//! who did it; one that can still be used is named, left, and makes the command fail,
//! so it is run again once those codes end (their exit window closes by itself).
//!
//! `--again-since` is for after a point-in-time restore: every erasure the erasure
//! log (of the table the restore replaces, `--log-table`) holds since the restore
//! point is made again in the restored table (`OTA_TABLE_NAME`), which has the names
//! back. The log keeps keyed hashes only, so no number is needed.

use ota::clock::SystemClock;
use ota::domain::guest_lookup::GuestKeys;
use ota::domain::phone::Mobile;
use ota::handlers::erase_guest::carry_out;
use ota::store::{ErasureRequest, GuestCode, Store};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

pub async fn run(sdk: &aws_config::SdkConfig, store: &Store, args: &[&str]) -> Result<(), String> {
    match args {
        ["--mobile", mobile, "--reference", reference] | ["--reference", reference, "--mobile", mobile] => {
            erase_number(store, mobile, reference).await
        }
        ["--again-since", since, "--log-table", log_table] => {
            let since = OffsetDateTime::parse(since, &Rfc3339).map_err(|_| "--again-since is an RFC 3339 time")?;
            let log = Store::new(aws_sdk_dynamodb::Client::new(sdk), (*log_table).to_owned());
            let requests = log.erasures_since(since).await.map_err(|e| e.to_string())?;
            println!("{} erasure request(s) since the restore point", requests.len());
            for request in &requests {
                // Logged in the restored table too, so a later restore finds it again.
                store.log_erasure(request).await.map_err(|e| e.to_string())?;
                erase(store, request).await?;
            }
            Ok(())
        }
        _ => Err("erase takes --mobile <+E.164 number> --reference <support request id>, \
                  or --again-since <RFC 3339 time> --log-table <the replaced table>"
            .into()),
    }
}

async fn erase_number(store: &Store, mobile: &str, reference: &str) -> Result<(), String> {
    let mobile = Mobile::parse_e164(mobile).ok_or("--mobile is the number in international form, e.g. +27825550100")?;
    let valid = (1..=64).contains(&reference.len())
        && reference.bytes().all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b));
    if !valid {
        return Err("--reference is 1 to 64 letters, digits and . _ : - (the support request's id)".into());
    }
    let raw = std::env::var("OTA_GUEST_KEYS")
        .map_err(|_| "erase needs OTA_GUEST_KEYS (the stack's GuestKeySecret, README step 9)")?;
    let keys = GuestKeys::parse(&raw).map_err(|reason| format!("OTA_GUEST_KEYS: {reason}"))?;
    let request = ErasureRequest {
        lookups: keys.lookups(&mobile),
        intercom: None,
        by: format!("support:{reference}"),
        at: OffsetDateTime::now_utc(),
    };
    store.log_erasure(&request).await.map_err(|e| e.to_string())?;
    erase(store, &request).await
}

/// Erases the guest of every code the request's lookups find, where it asked.
async fn erase(store: &Store, request: &ErasureRequest) -> Result<(), String> {
    let report = carry_out(store, request, &SystemClock)
        .await
        .map_err(|e| format!("{e} (run it again: erasing is safe to repeat)"))?;
    println!("{}: erased the guest of {} code(s) (the number is never printed)", request.by, report.erased.len());
    let named =
        |codes: &[GuestCode]| codes.iter().map(|c| format!("{} at {}", c.invite, c.intercom)).collect::<Vec<_>>();
    if !report.contended.is_empty() {
        return Err(format!("{} kept changing: run it again", named(&report.contended).join(", ")));
    }
    if !report.live.is_empty() {
        return Err(format!(
            "{} can still be used and were left; the owner may revoke them, or they end by their exit window: run this again then",
            named(&report.live).join(", ")
        ));
    }
    Ok(())
}
