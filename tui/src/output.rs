//! How results and failures are printed: JSON with `--json`, short text otherwise.

use hookwire_nats::admin::AdminClientError;
use serde_json::Value;

/// A command that failed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Hookwire answered with a structured error.
    Api(hookwire_protocol::admin::ErrorBody),
    /// NATS or hookwired could not be reached.
    Unreachable(anyhow::Error),
    /// The request worked, but what it checked did not pass (verification, health); the
    /// reply was printed.
    CheckFailed,
    /// Anything else.
    Other(anyhow::Error),
}

impl Failure {
    /// The process exit code, one per kind of failure (documented in docs/cli.md; clap
    /// uses 2 for usage errors).
    pub(crate) fn exit_code(&self) -> u8 {
        use hookwire_protocol::admin::ErrorCode;
        match self {
            Self::Other(_) => 1,
            Self::Unreachable(_) => 3,
            Self::Api(body) => match body.error.code {
                ErrorCode::InvalidJson
                | ErrorCode::InvalidRequest
                | ErrorCode::InvalidSubject
                | ErrorCode::PayloadTooLarge => 4,
                ErrorCode::NotFound => 5,
                ErrorCode::Conflict => 6,
                ErrorCode::Internal | ErrorCode::Unavailable => 7,
            },
            Self::CheckFailed => 8,
        }
    }

    /// Prints the failure: the error body as JSON on stdout with `--json` (scripts parse
    /// stdout), else one line on stderr.
    pub(crate) fn report(&self, json: bool) {
        match (self, json) {
            (Self::Api(body), true) => {
                println!("{}", serde_json::to_string(body).unwrap_or_default());
            }
            (Self::Api(body), false) => {
                let code = serde_json::to_value(body.error.code).unwrap_or_default();
                eprintln!(
                    "error ({}): {}",
                    code.as_str().unwrap_or("?"),
                    body.error.message
                );
            }
            (Self::Other(e), true) => {
                let body =
                    serde_json::json!({"error": {"code": "client", "message": format!("{e:#}")}});
                println!("{body}");
            }
            (Self::Unreachable(e), true) => {
                let body = serde_json::json!({"error": {"code": "unreachable", "message": format!("{e:#}")}});
                println!("{body}");
            }
            (Self::Other(e) | Self::Unreachable(e), false) => eprintln!("error: {e:#}"),
            (Self::CheckFailed, _) => {}
        }
    }
}

impl From<AdminClientError> for Failure {
    fn from(e: AdminClientError) -> Self {
        match e {
            AdminClientError::Api(body) => Self::Api(body),
            e @ (AdminClientError::Timeout(_)
            | AdminClientError::NoResponders(_)
            | AdminClientError::Request(_)) => Self::Unreachable(e.into()),
            other => Self::Other(other.into()),
        }
    }
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Self::Other(e)
    }
}

/// Prints an endpoint (or a page of them) as text.
pub(crate) fn print_endpoints(value: &Value) {
    let list = value["endpoints"]
        .as_array()
        .cloned()
        .unwrap_or_else(|| vec![value.clone()]);
    if list.is_empty() {
        println!("no endpoints");
        return;
    }
    for endpoint in &list {
        let types = endpoint["event_types"]
            .as_array()
            .filter(|t| !t.is_empty())
            .map_or_else(
                || "*".to_owned(),
                |t| {
                    t.iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(",")
                },
            );
        println!(
            "{:<24} {:<9} {:<40} {}",
            endpoint["id"].as_str().unwrap_or("?"),
            delivery_state(endpoint),
            endpoint["url"].as_str().unwrap_or("?"),
            types
        );
    }
    if let Some(cursor) = value["next_cursor"].as_str() {
        println!("more: --cursor {cursor}");
    }
}

/// An endpoint's state as operators read it: its status, or its circuit when an active
/// endpoint's circuit is open (`open`) or probing (`half_open`).
pub(crate) fn delivery_state(endpoint: &Value) -> &str {
    let status = endpoint["status"]["state"].as_str().unwrap_or("?");
    match endpoint["circuit"]["state"].as_str() {
        Some(circuit) if status == "active" => circuit,
        _ => status,
    }
}

/// Prints a delivery and its attempts as text.
pub(crate) fn print_delivery(value: &Value) {
    let delivery = &value["delivery"];
    println!(
        "{} -> {}  {}  after {} attempt(s)",
        delivery["event_id"].as_str().unwrap_or("?"),
        delivery["endpoint_id"].as_str().unwrap_or("?"),
        delivery["state"].as_str().unwrap_or("?"),
        delivery["attempts"]
    );
    for attempt in value["attempts"].as_array().into_iter().flatten() {
        let result = attempt["response"]["status"].as_u64().map_or_else(
            || attempt["error"]["kind"].as_str().unwrap_or("?").to_owned(),
            |s| s.to_string(),
        );
        println!(
            "  #{:<2} {}  {:<8} {:>8.1} ms  {}",
            attempt["attempt"],
            attempt["at"].as_str().unwrap_or("?"),
            result,
            attempt["latency_ms"].as_f64().unwrap_or(0.0),
            attempt["outcome"].as_str().unwrap_or("?")
        );
    }
}

/// Prints a page of dead letters, or a requeue/purge count, as text.
pub(crate) fn print_dead_letters(value: &Value) {
    if let Some(n) = value["requeued"].as_u64() {
        println!("requeued {n}");
        return;
    }
    if let Some(n) = value["purged"].as_u64() {
        println!("purged {n}");
        return;
    }
    let list = value["dead_letters"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if list.is_empty() {
        println!("no dead letters");
    }
    for dead in &list {
        println!(
            "{:>8}  {:<24} {:<24} {:<20} {} attempts  {}",
            dead["seq"],
            dead["endpoint_id"].as_str().unwrap_or("?"),
            dead["event_id"].as_str().unwrap_or("?"),
            dead["event_type"].as_str().unwrap_or("?"),
            dead["attempts"],
            dead["last_error"].as_str().unwrap_or("")
        );
    }
    if let Some(cursor) = value["next_cursor"].as_u64() {
        println!("more: --cursor {cursor}");
    }
}

/// Prints a replay job (or a list of them) as text.
pub(crate) fn print_replay_jobs(value: &Value) {
    let jobs = value["jobs"]
        .as_array()
        .cloned()
        .unwrap_or_else(|| vec![value.clone()]);
    println!(
        "{:<28} {:<24} {:<10} {:>8} {:>8}  WINDOW",
        "JOB", "ENDPOINT", "STATE", "SCANNED", "QUEUED"
    );
    for job in &jobs {
        let text = |key: &str| job[key].as_str().unwrap_or("-").to_owned();
        println!(
            "{:<28} {:<24} {:<10} {:>8} {:>8}  {} .. {}",
            text("id"),
            text("endpoint_id"),
            text("state"),
            job["scanned"],
            job["queued"],
            text("since"),
            text("until"),
        );
        if let Some(error) = job["error"].as_str() {
            println!("  error: {error}");
        }
        if let Some(at) = job["truncated_to"].as_str() {
            println!("  the stream keeps events from {at} only");
        }
    }
}

/// Prints what a replay would deliver.
pub(crate) fn print_replay_preview(value: &Value) {
    let bound = if value["complete"] == true {
        ""
    } else {
        "at least "
    };
    println!(
        "{bound}{} events would be replayed ({} of the tenant's events scanned, window ends {})",
        value["events"],
        value["scanned"],
        value["until"].as_str().unwrap_or("-")
    );
    if let Some(at) = value["truncated_to"].as_str() {
        println!("the stream keeps events from {at} only");
    }
}

/// Prints `overview.get`.
pub(crate) fn print_overview(value: &Value) {
    let e = &value["endpoints"];
    println!(
        "endpoints  {} total: {} active, {} paused, {} disabled, {} pending verification, {} failing",
        e["total"],
        e["active"],
        e["paused"],
        e["disabled"],
        e["pending_verification"],
        e["failing"]
    );
    for window in ["1h", "24h"] {
        let w = &value["windows"][window];
        println!(
            "{window:<10} {} attempts, success {}, p50/p95/p99 {}/{}/{} ms",
            w["attempts"],
            percent(&w["success_rate"]),
            decimal(&w["latency_ms"]["p50"]),
            decimal(&w["latency_ms"]["p95"]),
            decimal(&w["latency_ms"]["p99"]),
        );
    }
    println!(
        "waiting    {} dead letters, {} held, {} retries (all tenants)",
        value["dead_letters"], value["held"], value["retries_waiting_all_tenants"]
    );
}

/// A statistics window's failures by kind: `timeout 3, status 12`.
pub(crate) fn failures(window: &Value) -> String {
    let failures: Vec<String> = window["errors"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(kind, n)| format!("{kind} {n}"))
        .collect();
    failures.join(", ")
}

/// A rate (0–1) as a percentage, `-` when absent.
pub(crate) fn percent(rate: &Value) -> String {
    rate.as_f64()
        .map_or_else(|| "-".to_owned(), |r| format!("{:.1}%", r * 100.0))
}

/// A number with one decimal, `-` when absent.
fn decimal(v: &Value) -> String {
    v.as_f64()
        .map_or_else(|| "-".to_owned(), |n| format!("{n:.1}"))
}

/// Prints any reply as indented JSON.
pub(crate) fn print_json(value: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_default()
    );
}

/// Prints a page of deliveries as a table.
pub(crate) fn print_deliveries(value: &Value) {
    println!(
        "{:<24} {:<24} {:<32} {:<9} {:>3} {:>6}  LAST ATTEMPT",
        "EVENT", "ENDPOINT", "TYPE", "STATE", "#", "STATUS"
    );
    for d in value["deliveries"].as_array().into_iter().flatten() {
        let text = |key: &str| d[key].as_str().unwrap_or("-").to_owned();
        println!(
            "{:<24} {:<24} {:<32} {:<9} {:>3} {:>6}  {}",
            text("event_id"),
            text("endpoint_id"),
            text("event_type"),
            text("state"),
            d["attempts"],
            d["last_status"]
                .as_u64()
                .map_or_else(|| "-".to_owned(), |s| s.to_string()),
            text("updated_at"),
        );
    }
    if let Some(cursor) = value["next_cursor"].as_str() {
        println!("more: --cursor {cursor}");
    }
}

/// Prints a page of audit records as a table.
pub(crate) fn print_audit(value: &Value) {
    println!(
        "{:<24} {:<32} {:<26} {:<16} REQUESTER",
        "AT", "ACTION", "TARGET", "OUTCOME"
    );
    for r in value["records"].as_array().into_iter().flatten() {
        let text = |v: &Value| v.as_str().unwrap_or("-").to_owned();
        let at = text(&r["at"]);
        println!(
            "{:<24} {:<32} {:<26} {:<16} {} ({})",
            at.get(..23).unwrap_or(&at),
            text(&r["action"]),
            text(&r["target"]),
            text(&r["outcome"]),
            text(&r["requester"]["name"]),
            text(&r["requester"]["source"]),
        );
    }
    if let Some(cursor) = value["next_cursor"].as_u64() {
        println!("more: --cursor {cursor}");
    }
}

/// Prints sources as a table.
pub(crate) fn print_sources(value: &Value) {
    println!(
        "{:<20} {:<9} {:<7} {:>6}  {:<40} PATH",
        "NAME", "SCHEME", "ACTIVE", "RATE", "SUBJECT"
    );
    for s in value["sources"].as_array().into_iter().flatten() {
        let text = |v: &Value| v.as_str().unwrap_or("-").to_owned();
        println!(
            "{:<20} {:<9} {:<7} {:>6}  {:<40} {}",
            text(&s["name"]),
            text(&s["verification"]["scheme"]),
            if s["active"] == true { "yes" } else { "no" },
            s["rate_limit_per_minute"],
            text(&s["subject"]),
            s["url"]
                .as_str()
                .unwrap_or_else(|| s["path"].as_str().unwrap_or("-")),
        );
    }
}

/// Prints a page of source requests as a table.
pub(crate) fn print_source_requests(value: &Value) {
    println!(
        "{:<24} {:<18} {:>6} {:<16} {:<28} {:>9}  DETAIL",
        "AT", "OUTCOME", "STATUS", "CLIENT", "TYPE", "LATENCY"
    );
    for r in value["requests"].as_array().into_iter().flatten() {
        let text = |v: &Value| v.as_str().unwrap_or("-").to_owned();
        let at = text(&r["at"]);
        println!(
            "{:<24} {:<18} {:>6} {:<16} {:<28} {:>7}us  {}",
            at.get(..23).unwrap_or(&at),
            text(&r["outcome"]),
            r["status"],
            text(&r["client"]),
            text(&r["event_type"]),
            r["latency_us"],
            text(&r["detail"]),
        );
    }
    if let Some(cursor) = value["next_cursor"].as_u64() {
        println!("more: --cursor {cursor}");
    }
}

/// Prints a page of events as a table.
pub(crate) fn print_events(value: &Value) {
    println!(
        "{:>8} {:<32} {:<32} {:>7}  PUBLISHED",
        "SEQ", "ID", "TYPE", "BYTES"
    );
    for e in value["events"].as_array().into_iter().flatten() {
        println!(
            "{:>8} {:<32} {:<32} {:>7}  {}",
            e["seq"],
            e["id"].as_str().unwrap_or("-"),
            e["type"].as_str().unwrap_or("-"),
            e["bytes"],
            e["published_at"].as_str().unwrap_or("-"),
        );
    }
    if let Some(cursor) = value["next_cursor"].as_u64() {
        println!("more: --cursor {cursor}");
    }
}

/// Prints an endpoint's statistics, one line per window.
pub(crate) fn print_stats(value: &Value) {
    println!(
        "{:<5} {:>9} {:>8} {:>9} {:>9} {:>9}  FAILURES",
        "", "ATTEMPTS", "SUCCESS", "P50 MS", "P95 MS", "P99 MS"
    );
    for window in ["1h", "24h", "7d"] {
        let w = &value["windows"][window];
        let (number, success) = (decimal, percent(&w["success_rate"]));
        println!(
            "{window:<5} {:>9} {:>8} {:>9} {:>9} {:>9}  {}",
            w["attempts"],
            success,
            number(&w["latency_ms"]["p50"]),
            number(&w["latency_ms"]["p95"]),
            number(&w["latency_ms"]["p99"]),
            failures(w)
        );
    }
}

/// Prints the catalog as a table.
pub(crate) fn print_types(value: &Value) {
    println!(
        "{:<40} {:>7} {:<9} {:<11}  DESCRIPTION",
        "TYPE", "VERSION", "VALIDATE", "DEPRECATED"
    );
    for t in value["types"].as_array().into_iter().flatten() {
        println!(
            "{:<40} {:>7} {:<9} {:<11}  {}",
            t["name"].as_str().unwrap_or("?"),
            t["version"],
            t["validate"],
            if t["deprecated_at"].is_string() {
                "yes"
            } else {
                ""
            },
            t["description"].as_str().unwrap_or(""),
        );
    }
}
