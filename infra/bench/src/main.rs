//! `make bench`: how lean each Lambda function is, measured from outside.
//!
//! Builds every function, a bare `lambda_http` hello-world (`bench-hello`) and a
//! reference that makes one DynamoDB GetItem per request (`bench-reference`) with
//! the release profile, one package per cargo invocation (so each binary links
//! only its own features). Then, in the same run, each binary is started against a
//! fake Lambda Runtime API ([`runtime`]) and a stub AWS endpoint ([`stub`]):
//!
//! - cold: `--cold` fresh processes, started in turns with the bare hello-world's;
//!   init = spawn → first `next`, first invoke = event handed → answer; medians,
//!   and the ratio of the median cold total to the bare one's;
//! - warm: `--warm` invocations after the first in each of [`WARM_PROCESSES`]
//!   processes, run in turns with the reference's; CPU per invoke from the kernel's
//!   per-thread run time (`/proc/<pid>/task/*/schedstat`, ns), the median over the
//!   processes, and its ratio to the reference's median. The reference is handed
//!   the function's own sample event; its ratio on the floor's bare event (no
//!   headers, no JWT claims), as earlier runs measured it, follows in brackets;
//! - peak RSS (`VmHWM`, the highest of the warm processes), stripped binary size,
//!   AWS requests per invoke (counted by the stub), and whether every answer took
//!   the success path.
//!
//! With `--baseline <git rev>` the same is measured for the functions of that
//! revision (built in a git worktree), so before/after come from one run.
//! `--sweep-reads` also counts what the sweep reads with 10,000 live and 100
//! expired invites in moto. Results go to stdout as Markdown.

mod cost;
mod http;
mod runtime;
mod stub;
mod sweep_reads;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const FUNCTIONS: [&str; 15] = [
    "get-settings",
    "update-settings",
    "create-invite",
    "list-codes",
    "revoke-code",
    "guest-status",
    "redeem-entry",
    "redeem-exit",
    "sweep",
    "gate-events",
    "outbox",
    "sms-sender",
    "sms-status",
    "list-activity",
    "resend-sms",
];

struct Options {
    cold: usize,
    warm: usize,
    baseline: Option<String>,
    /// Measure this revision instead of the working tree (so editing may go on meanwhile).
    current: Option<String>,
    /// Comma-separated functions to measure (default: all; each release build takes minutes).
    only: Option<String>,
    /// Measure the binaries a previous run left in target/bench (no cargo builds).
    no_build: bool,
    /// Build the current set but reuse the baseline binaries a previous run built.
    reuse_baseline: bool,
    sweep_reads: bool,
    /// `sam build`'s output folder (`make package`): report the deployed arm64 sizes.
    deployed: Option<PathBuf>,
    /// Live invites the stub's partition read returns to create and list (default 3).
    live_invites: usize,
    /// Memberships in the intercom's partition, the caller's included (default 2).
    members: usize,
    /// Idempotency records of the last day in the partition (default 0).
    keyed_creates: usize,
}

fn options() -> Result<Options, String> {
    let mut options = Options {
        cold: 40,
        warm: 200,
        baseline: None,
        current: None,
        only: None,
        no_build: false,
        reuse_baseline: false,
        sweep_reads: false,
        deployed: None,
        live_invites: 3,
        members: 2,
        keyed_creates: 0,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--cold" => options.cold = value()?.parse().map_err(|_| "--cold takes a number")?,
            "--warm" => options.warm = value()?.parse().map_err(|_| "--warm takes a number")?,
            "--baseline" => options.baseline = Some(value()?),
            "--current" => options.current = Some(value()?),
            "--only" => options.only = Some(value()?),
            "--sweep-reads" => options.sweep_reads = true,
            "--no-build" => options.no_build = true,
            "--reuse-baseline" => options.reuse_baseline = true,
            "--deployed" => options.deployed = Some(PathBuf::from(value()?)),
            "--live-invites" => options.live_invites = value()?.parse().map_err(|_| "--live-invites takes a number")?,
            "--members" => options.members = value()?.parse().map_err(|_| "--members takes a number")?,
            "--keyed-creates" => {
                options.keyed_creates = value()?.parse().map_err(|_| "--keyed-creates takes a number")?
            }
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(options)
}

#[tokio::main]
async fn main() {
    if let Err(message) = run().await {
        eprintln!("bench: {message}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), String> {
    let options = options()?;
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = root.join("target/bench");
    let mut sets = Vec::new();
    let functions: Vec<&str> = FUNCTIONS
        .iter()
        .copied()
        .filter(|f| options.only.as_deref().is_none_or(|only| only.split(',').any(|o| o == *f)))
        .collect();
    let with_floor: Vec<&str> = functions.iter().chain(FLOOR.iter()).copied().collect();
    let current_dir = out.join("current");
    let current = match (&options.current, options.no_build) {
        (Some(rev), true) => (format!("current {rev}"), current_dir.clone()),
        (None, true) => ("current (as last built)".to_owned(), current_dir.clone()),
        (Some(rev), false) => (format!("current {rev}"), build_revision(&root, rev, &with_floor, &current_dir)?),
        (None, false) => {
            build(&root, &root, &with_floor, &current_dir)?;
            ("current (working tree)".to_owned(), current_dir.clone())
        }
    };
    if let Some(rev) = &options.baseline {
        let baseline_dir = out.join("baseline");
        // A baseline built by an earlier run is reused with --no-build or --reuse-baseline.
        let reuse = options.no_build || (options.reuse_baseline && baseline_dir.join(FLOOR[0]).exists());
        if !reuse {
            build_revision(&root, rev, &functions, &baseline_dir)?;
        }
        // One floor for both sets: this revision's bare and reference binaries.
        for floor in FLOOR {
            std::fs::copy(current_dir.join(floor), baseline_dir.join(floor)).map_err(|e| e.to_string())?;
        }
        sets.push((format!("baseline {rev}"), baseline_dir));
    }
    sets.push(current);

    let stub = stub::start().await.map_err(|e| e.to_string())?;
    stub.with_partition(options.live_invites, options.members, options.keyed_creates);
    println!("# Lambda function benchmark\n");
    println!(
        "{} cold starts and {} warm invocations per binary; machine: {} cores, {}; {}.\n",
        options.cold,
        options.warm,
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        std::env::consts::ARCH,
        today(),
    );
    for (name, binaries) in &sets {
        stub.answer_as(&stub::Formats::of(|path| revision_file(&root, revision_of(name), path)));
        let bare_binary = binaries.join("bench-hello");
        let reference_binary = binaries.join("bench-reference");
        // The floor in turns with itself: its "vs bare" must come out at 1.00x, which
        // shows that taking samples in turns leaves no bias from their order.
        let bare =
            measure(&bare_binary, None, &stub, &options, PairedWith { bare: &bare_binary, reference: None }).await?;
        let paired_with = PairedWith { bare: &bare_binary, reference: Some(&reference_binary) };
        let reference =
            measure(&reference_binary, None, &stub, &options, PairedWith { reference: None, ..paired_with }).await?;
        println!("## {name}\n");
        println!("| function | binary | init | first invoke | cold total | vs bare | warm CPU/invoke | vs reference × calls (reference on a bare event) | peak RSS | AWS requests per invoke |");
        println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|");
        row("bench-hello (bare)", &bare, &bare);
        row("bench-reference (1 GetItem)", &reference, &bare);
        let mut measured = BTreeMap::new();
        for function in &functions {
            let function = *function;
            let binary = binaries.join(function);
            if !binary.exists() {
                println!("| {function} | (not in this revision) |||||||||");
                continue;
            }
            // Each revision's function with that revision's own sample (a trigger's shape
            // can change: the SMS sender's was a stream record, now an SQS message).
            let sample = format!("events/{}", sample_event(function));
            let event = out.join(format!("{}-{}", name.replace(' ', "-"), sample_event(function)));
            std::fs::write(&event, revision_file(&root, revision_of(name), &sample)).map_err(|e| e.to_string())?;
            let result = measure(&binary, Some(&event), &stub, &options, paired_with).await?;
            row(function, &result, &bare);
            measured.insert(function, result);
        }
        println!();
        if name.starts_with("current") {
            cost::print(&measured);
        }
    }
    if let Some(build_dir) = &options.deployed {
        print_deployed_sizes(build_dir, &functions)?;
    }
    if options.sweep_reads {
        sweep_reads::print(&root).await?;
    }
    Ok(())
}

/// What Lambda runs: the arm64 binaries `sam build` made (`make package`), each
/// built in its own folder with only its own features.
fn print_deployed_sizes(build_dir: &Path, functions: &[&str]) -> Result<(), String> {
    const LIMIT_BYTES: u64 = 5_000_000;
    println!("### Deployed binaries (arm64, as `sam build` makes them)\n");
    println!("| function | bootstrap (stripped) | ≤ 5 MB |");
    println!("|---|---:|---|");
    for function in functions {
        let bootstrap = build_dir.join(format!("{}Function", sam_name(function))).join("bootstrap");
        let bytes = std::fs::metadata(&bootstrap).map_err(|e| format!("{}: {e}", bootstrap.display()))?.len();
        let within = if bytes <= LIMIT_BYTES { "yes" } else { "**no**" };
        println!("| {function} | {:.2} MB ({bytes} B) | {within} |", bytes as f64 / 1e6);
    }
    println!();
    Ok(())
}

/// `create-invite` → `CreateInvite`, the function's logical id in template.yaml
/// without its `Function` suffix.
fn sam_name(function: &str) -> String {
    function
        .split('-')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map(|first| first.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
        })
        .collect()
}

/// The sample event a function is measured with: gate-events on the report of an
/// opened gate (its commonest delivery, and the one that writes).
fn sample_event(function: &str) -> String {
    match function {
        "gate-events" => "gate-events-report.json".to_owned(),
        _ => format!("{function}.json"),
    }
}

fn today() -> String {
    Command::new("date")
        .arg("-u")
        .arg("+%Y-%m-%d")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

/// The revision a set was built from (`baseline <rev>`, `current <rev>`), `None`
/// for the working tree.
fn revision_of(set: &str) -> Option<&str> {
    set.split_once(' ').map(|(_, rev)| rev).filter(|rev| !rev.starts_with('('))
}

/// A file as it is in `rev`, or in the working tree; empty if it does not exist.
fn revision_file(root: &Path, rev: Option<&str>, path: &str) -> String {
    match rev {
        Some(rev) => Command::new("git")
            .current_dir(root)
            .args(["show", &format!("{rev}:{path}")])
            .output()
            .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
            .unwrap_or_default(),
        None => std::fs::read_to_string(root.join(path)).unwrap_or_default(),
    }
}

/// Builds each package in its own cargo invocation (no feature unification
/// between functions) and copies the binaries to `into`.
fn build(root: &Path, workspace: &Path, packages: &[&str], into: &Path) -> Result<(), String> {
    std::fs::create_dir_all(into).map_err(|e| e.to_string())?;
    for package in packages {
        let status = Command::new("cargo")
            .args(["build", "--release", "--quiet", "-p", package])
            .current_dir(workspace)
            .env("CARGO_TARGET_DIR", root.join("target"))
            .status()
            .map_err(|e| format!("cargo: {e}"))?;
        if !status.success() {
            return Err(format!("building {package} in {} failed", workspace.display()));
        }
        std::fs::copy(root.join("target/release").join(package), into.join(package))
            .map_err(|e| format!("{package}: {e}"))?;
    }
    Ok(())
}

const FLOOR: [&str; 2] = ["bench-hello", "bench-reference"];

/// The packages of another revision, built from a git worktree.
fn build_revision(root: &Path, rev: &str, functions: &[&str], into: &Path) -> Result<PathBuf, String> {
    let tree = root.join("target/bench/worktree");
    let _ = std::fs::remove_dir_all(into);
    // Quietly: before the first build there is no worktree to remove.
    let remove = || {
        Command::new("git")
            .args(["worktree", "remove", "--force"])
            .arg(&tree)
            .current_dir(root)
            .stderr(Stdio::null())
            .status()
    };
    let _ = remove();
    let added = Command::new("git")
        .args(["worktree", "add", "--detach", "--force"])
        .arg(&tree)
        .arg(rev)
        .current_dir(root)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| e.to_string())?;
    if !added.success() {
        return Err(format!("git worktree add {rev} failed"));
    }
    let present: Vec<&str> =
        functions.iter().copied().filter(|f| tree.join("functions").join(f).exists() || FLOOR.contains(f)).collect();
    let built = build(root, &tree, &present, into);
    let _ = remove();
    built?;
    Ok(into.to_owned())
}

pub struct Measured {
    pub size_bytes: u64,
    pub init: Duration,
    pub first_invoke: Duration,
    /// Median cold total over the bare floor's, the two started in turns.
    pub cold_vs_bare: f64,
    pub warm_cpu: Duration,
    /// Median warm CPU over the reference's, the two run in turns, the reference
    /// handed the same event (the bare event for a function that takes no HTTP event).
    pub warm_vs_reference: Option<f64>,
    /// The same over the reference handed the floor's bare event, as runs before
    /// 2026-11-26 measured it (none where that is the reference's only event).
    pub warm_vs_reference_on_bare_event: Option<f64>,
    pub peak_rss_kb: u64,
    /// AWS requests and DynamoDB capacity of one invocation.
    pub tally: stub::Tally,
}

impl Measured {
    pub fn cold(&self) -> Duration {
        self.init + self.first_invoke
    }

    pub fn aws_calls(&self) -> usize {
        self.tally.requests.values().sum()
    }
}

/// One table row; the floor's own rows (not run against the reference) leave the
/// warm ratio empty.
fn row(name: &str, m: &Measured, bare: &Measured) {
    let per_call = |ratio: f64| ratio / m.aws_calls() as f64;
    let warm_vs = match (m.warm_vs_reference, m.warm_vs_reference_on_bare_event) {
        (Some(vs_reference), Some(vs_bare_event)) if m.aws_calls() > 0 => {
            format!("{:.2}× ({:.2}×)", per_call(vs_reference), per_call(vs_bare_event))
        }
        (Some(vs_reference), _) if m.aws_calls() > 0 => format!("{:.2}×", per_call(vs_reference)),
        (Some(_), _) => format!("{:.2}× bare", m.warm_cpu.as_secs_f64() / bare.warm_cpu.as_secs_f64().max(1e-9)),
        (None, _) => String::new(),
    };
    let requests: Vec<String> = m.tally.requests.iter().map(|(op, count)| format!("{op} {count}")).collect();
    println!(
        "| {name} | {:.2} MB | {:.2} ms | {:.2} ms | {:.2} ms | {:.2}× | {:.0} µs | {warm_vs} | {:.1} MB | {} |",
        m.size_bytes as f64 / 1e6,
        m.init.as_secs_f64() * 1e3,
        m.first_invoke.as_secs_f64() * 1e3,
        m.cold().as_secs_f64() * 1e3,
        m.cold_vs_bare,
        m.warm_cpu.as_secs_f64() * 1e6,
        m.peak_rss_kb as f64 / 1024.0,
        requests.join(", "),
    );
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values.get(values.len() / 2).copied().unwrap_or_default()
}

fn spawn(binary: &Path, runtime_api: &str, endpoint: &str) -> Result<std::process::Child, String> {
    Command::new(binary)
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", runtime_api)
        .env("AWS_LAMBDA_FUNCTION_NAME", "bench")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "bench")
        .env("AWS_REGION", "eu-west-1")
        .env("AWS_ACCESS_KEY_ID", "AKIDBENCH")
        .env("AWS_SECRET_ACCESS_KEY", "bench-secret")
        .env("AWS_SESSION_TOKEN", "bench-session")
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("OTA_TABLE_NAME", "ota-bench")
        .env("OTA_EVENT_BUS_NAME", "ota-bench")
        .env("OTA_SEAL_KEYS", SEAL_KEYS)
        .env("OTA_LINK_KEYS", LINK_KEYS)
        .env("OTA_GATE_NUMBER_KEYS", GATE_NUMBER_KEYS)
        .env("OTA_CURSOR_KEYS", CURSOR_KEYS)
        .env("OTA_SMS_QUEUE_URL", format!("{endpoint}/123456789012/ota-bench-sms"))
        .env("OTA_LOG_LEVEL", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("{}: {e}", binary.display()))
}

/// Whether `event` is one API Gateway sends (the sweep's schedule payload is not).
fn is_http_event(event: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(event).is_ok_and(|value| value.get("requestContext").is_some())
}

/// Whether the answer is the success path of `binary` for its sample event.
fn succeeded(binary: &Path, answer: &[u8]) -> bool {
    let name = binary.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let value: serde_json::Value = serde_json::from_slice(answer).unwrap_or_default();
    let status = value["statusCode"].as_u64();
    match name {
        "sweep" => value["expired"].as_u64() == Some(1),
        "gate-events" => value == "confirmed",
        // The command sent, the gate's report awaited.
        "redeem-entry" | "redeem-exit" => status == Some(202),
        "create-invite" => status == Some(201),
        "revoke-code" => status == Some(204),
        "resend-sms" => status == Some(202),
        // The sample change's one fact, recorded and published.
        "outbox" => value["facts"].as_u64() == Some(1),
        // Every message of the sample batch done (none to retry; the stub counts its
        // Publish), or, in revisions before the SMS queue, the one request sent.
        "sms-sender" => {
            value["batchItemFailures"].as_array().is_some_and(Vec::is_empty) || value["sent"].as_u64() == Some(1)
        }
        "sms-status" => value["recorded"].as_u64() == Some(1),
        "list-activity" => status == Some(200) && listed_facts(&value) == Some(stub::ACTIVITY_PAGE),
        "bench-reference" => value["body"] == "found",
        // Every live invite of the stub's partition listed: one the function could not
        // read would be measured as a shorter, cheaper list.
        "list-codes" => status == Some(200) && listed_codes(&value) == Some(stub::live_invites()),
        _ => status == Some(200),
    }
}

/// How many facts an activity answer shows.
fn listed_facts(answer: &serde_json::Value) -> Option<usize> {
    let body: serde_json::Value = serde_json::from_str(answer["body"].as_str()?).ok()?;
    body["facts"].as_array().map(Vec::len)
}

/// How many codes a list answer shows.
fn listed_codes(answer: &serde_json::Value) -> Option<usize> {
    let body: serde_json::Value = serde_json::from_str(answer["body"].as_str()?).ok()?;
    body["codes"].as_array().map(Vec::len)
}

/// The link key (`OTA_LINK_KEYS`) of create-invite and of the guest functions' tag check, the
/// same in every process: the sample events' tokens carry its tag (tests/api/events.rs).
const LINK_KEYS: &str = "bench:0123456789abcdef0123456789abcdef";

/// The gate-number key (`OTA_GATE_NUMBER_KEYS`) of the guest functions: the stub's
/// registry keeps the demo number's check under it.
const GATE_NUMBER_KEYS: &str = "bench:00112233445566778899aabbccddeeff";

/// The seal key (`OTA_SEAL_KEYS`) of create-invite and the SMS sender.
const SEAL_KEYS: &str = "bench:abcdef0123456789abcdef0123456789";

/// The cursor key (`OTA_CURSOR_KEYS`) of list-codes and list-activity.
const CURSOR_KEYS: &str = "bench:fedcba9876543210fedcba9876543210";

/// Warm CPU is the median over this many processes, run in turns with the
/// reference's: on this VM the same binary's figure drifted from 126 to 199 µs per
/// invoke between runs minutes apart, so ratios are taken between neighbours. A
/// multiple of three: the function and the reference on either event each take
/// each place in a round equally often.
const WARM_PROCESSES: usize = 9;

const NO_EVENT: &[u8] = br#"{"version":"2.0","routeKey":"GET /","rawPath":"/","rawQueryString":"","headers":{},"requestContext":{"accountId":"1","apiId":"b","domainName":"b","domainPrefix":"b","http":{"method":"GET","path":"/","protocol":"HTTP/1.1","sourceIp":"127.0.0.1","userAgent":"bench"},"requestId":"r","routeKey":"GET /","stage":"$default","time":"25/Nov/2026:18:00:00 +0000","timeEpoch":0},"isBase64Encoded":false}"#;

/// How one binary is measured against the floor: `bare` starts cold in turns with
/// this binary's cold starts, and `reference` runs warm in turns with its warm
/// processes, so each ratio compares samples taken over the same seconds.
#[derive(Clone, Copy)]
struct PairedWith<'a> {
    bare: &'a Path,
    reference: Option<&'a Path>,
}

async fn measure(
    binary: &Path,
    event: Option<&Path>,
    stub: &stub::Stub,
    options: &Options,
    paired_with: PairedWith<'_>,
) -> Result<Measured, String> {
    let event = match event {
        Some(path) => std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?,
        None => NO_EVENT.to_vec(),
    };
    let size_bytes = std::fs::metadata(binary).map_err(|e| e.to_string())?.len();
    // Whichever of a pair starts second is slower (measured: a binary paired with
    // itself came out 10-20% slower second), so each pair swaps the order of the last.
    let (mut inits, mut firsts, mut bare_colds) = (Vec::new(), Vec::new(), Vec::new());
    let mut tally = stub::Tally::default();
    for round in 0..options.cold {
        let bare_first = round % 2 == 0;
        if bare_first {
            bare_colds.push(cold_start(paired_with.bare, NO_EVENT, stub).await?.cold());
        }
        let start = cold_start(binary, &event, stub).await?;
        if !bare_first {
            bare_colds.push(cold_start(paired_with.bare, NO_EVENT, stub).await?.cold());
        }
        inits.push(start.init);
        firsts.push(start.first_invoke);
        tally = start.tally;
    }
    let colds: Vec<Duration> = inits.iter().zip(&firsts).map(|(init, first)| *init + *first).collect();
    let cold_vs_bare = median(colds).as_secs_f64() / median(bare_colds).as_secs_f64().max(1e-9);

    // The reference is handed the very event the function is (an HTTP function's
    // sample API Gateway event), so the ratio counts what the function does with a
    // request, not the parsing of headers and claims API Gateway sends any function.
    // It also runs on the floor's bare event, for the figure of earlier runs.
    let reference_event = is_http_event(&event).then_some(event.as_slice());
    let (mut warm, mut peak_rss_kb) = (Vec::new(), 0);
    let (mut reference_warm, mut reference_bare_warm) = (Vec::new(), Vec::new());
    for round in 0..WARM_PROCESSES {
        // Each of the three takes each place in turn.
        for turn in 0..3 {
            match (round + turn) % 3 {
                0 => {
                    let (cpu, rss_kb) = warm_process(binary, &event, stub, options).await?;
                    warm.push(cpu);
                    peak_rss_kb = peak_rss_kb.max(rss_kb);
                }
                1 => {
                    if let (Some(reference), Some(event)) = (paired_with.reference, reference_event) {
                        reference_warm.push(warm_process(reference, event, stub, options).await?.0);
                    }
                }
                _ => {
                    if let Some(reference) = paired_with.reference {
                        reference_bare_warm.push(warm_process(reference, NO_EVENT, stub, options).await?.0);
                    }
                }
            }
        }
    }
    let warm_cpu = median(warm);
    let vs = |samples: Vec<Duration>| {
        (!samples.is_empty()).then(|| warm_cpu.as_secs_f64() / median(samples).as_secs_f64().max(1e-9))
    };
    let (on_own_event, on_bare_event) = (vs(reference_warm), vs(reference_bare_warm));
    let warm_vs_reference = on_own_event.or(on_bare_event);
    let warm_vs_reference_on_bare_event = on_own_event.and(on_bare_event);
    Ok(Measured {
        size_bytes,
        init: median(inits),
        first_invoke: median(firsts),
        cold_vs_bare,
        warm_cpu,
        warm_vs_reference,
        warm_vs_reference_on_bare_event,
        peak_rss_kb,
        tally,
    })
}

struct ColdStart {
    /// From spawning the process until it asks for an event.
    init: Duration,
    first_invoke: Duration,
    /// The AWS requests of that first event.
    tally: stub::Tally,
}

impl ColdStart {
    fn cold(&self) -> Duration {
        self.init + self.first_invoke
    }
}

/// One process started and answering one event. Fails unless the answer took the
/// success path.
async fn cold_start(binary: &Path, event: &[u8], stub: &stub::Stub) -> Result<ColdStart, String> {
    let api = runtime::RuntimeApi::start().await.map_err(|e| e.to_string())?;
    let started = Instant::now();
    let mut child = spawn(binary, &api.address, &stub.endpoint)?;
    let ready = tokio::time::timeout(Duration::from_secs(10), api.until_ready())
        .await
        .ok()
        .flatten()
        .ok_or_else(|| format!("{} never asked for an event", binary.display()))?;
    stub.counts.take();
    let handed = Instant::now();
    let answer = api.invoke(event).await?;
    let first = handed.elapsed();
    let tally = stub.counts.take();
    let _ = child.kill();
    let _ = child.wait();
    if !succeeded(binary, &answer) {
        return Err(format!(
            "{} did not take the success path: {}",
            binary.display(),
            String::from_utf8_lossy(&answer)
        ));
    }
    Ok(ColdStart { init: ready - started, first_invoke: first, tally })
}

/// One process answering `--warm` invocations after its first: CPU per invoke and peak RSS.
async fn warm_process(
    binary: &Path,
    event: &[u8],
    stub: &stub::Stub,
    options: &Options,
) -> Result<(Duration, u64), String> {
    let api = runtime::RuntimeApi::start().await.map_err(|e| e.to_string())?;
    let mut child = spawn(binary, &api.address, &stub.endpoint)?;
    let pid = child.id();
    api.until_ready().await;
    api.invoke(event).await?;
    let before = cpu_time(pid);
    for _ in 0..options.warm {
        let answer = api.invoke(event).await?;
        if !succeeded(binary, &answer) {
            return Err(format!("{} failed warm: {}", binary.display(), String::from_utf8_lossy(&answer)));
        }
    }
    let cpu = (cpu_time(pid).saturating_sub(before)) / u32::try_from(options.warm.max(1)).unwrap_or(1);
    let rss_kb = peak_rss_kb(pid);
    let _ = child.kill();
    let _ = child.wait();
    stub.counts.take();
    Ok((cpu, rss_kb))
}

/// CPU time of every thread of `pid` so far (scheduler statistics, nanoseconds).
fn cpu_time(pid: u32) -> Duration {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return Duration::ZERO };
    let nanos: u64 = tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("schedstat")).ok())
        .filter_map(|stat| stat.split_whitespace().next().and_then(|n| n.parse::<u64>().ok()))
        .sum();
    Duration::from_nanos(nanos)
}

fn peak_rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status.lines().find_map(|line| {
                line.strip_prefix("VmHWM:").and_then(|v| v.split_whitespace().next()).and_then(|v| v.parse().ok())
            })
        })
        .unwrap_or(0)
}
