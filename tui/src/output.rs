//! How results and failures are printed: JSON with `--json`, short text otherwise.

use hookwire_nats::admin::AdminClientError;
use hookwire_protocol::audit::AuditPage;
use hookwire_protocol::catalog::EventTypeDef;
use hookwire_protocol::dead_letter::DeadLetterPage;
use hookwire_protocol::delivery::{DeliveryDetail, DeliveryPage};
use hookwire_protocol::endpoint::Endpoint;
use hookwire_protocol::event::EventPage;
use hookwire_protocol::operation::AdminReply;
use hookwire_protocol::overview::Overview;
use hookwire_protocol::replay::{ReplayJob, ReplayPreview};
use hookwire_protocol::source::{SourceRequestPage, SourceView};
use hookwire_protocol::stats::{EndpointStats, WindowSummary};
use hookwire_protocol::template::{Preset, RenderedRequest, TemplateDetail, TemplateSummary};
use serde::Serialize;

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
    /// The command line lacks something only the command can tell (`endpoints create`
    /// without `--url`): exit 2, as clap's own usage errors.
    Usage(String),
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
            Self::Usage(_) => 2,
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
            (Self::Api(body), true) => print_json_line(body),
            (Self::Api(body), false) => {
                eprintln!(
                    "error ({}): {}",
                    body.error.code.as_str(),
                    body.error.message
                );
            }
            (Self::Other(e), true) => print_local_error("client", &format!("{e:#}")),
            (Self::Unreachable(e), true) => print_local_error("unreachable", &format!("{e:#}")),
            (Self::Usage(message), true) => print_local_error("usage", message),
            (Self::Usage(message), false) => {
                eprintln!("error: {message}\n\nFor more information, try '--help'.");
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
            | AdminClientError::Request { .. }) => Self::Unreachable(e.into()),
            other => Self::Other(other.into()),
        }
    }
}

/// A failure found before any request, shaped like the API's error body.
fn print_local_error(code: &str, message: &str) {
    #[derive(Serialize)]
    struct Local<'a> {
        code: &'a str,
        message: &'a str,
    }
    #[derive(Serialize)]
    struct Body<'a> {
        error: Local<'a>,
    }
    let body = Body {
        error: Local { code, message },
    };
    println!("{}", serde_json::to_string(&body).unwrap_or_default());
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Self::Other(e)
    }
}

/// Prints `value` as one line of JSON (what `--json` prints).
pub(crate) fn print_json_line(value: &impl Serialize) {
    println!("{}", serde_json::to_string(value).unwrap_or_default());
}

/// Prints `value` as indented JSON (the text form of replies without a table).
fn print_json(value: &impl Serialize) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_default()
    );
}

/// Prints any reply as text: a table or a short sentence per operation.
pub(crate) fn print_reply(reply: &AdminReply) {
    match reply {
        AdminReply::EndpointsCreate(created) => {
            print_endpoints(std::slice::from_ref(&created.endpoint), None);
            println!("secret (shown only now): {}", created.secret);
        }
        AdminReply::EndpointsGet(endpoint)
        | AdminReply::EndpointsUpdate(endpoint)
        | AdminReply::EndpointsPause(endpoint)
        | AdminReply::EndpointsResume(endpoint)
        | AdminReply::EndpointsEnable(endpoint) => {
            print_endpoints(std::slice::from_ref(endpoint), None);
        }
        AdminReply::EndpointsList(page) => {
            print_endpoints(&page.endpoints, page.next_cursor.as_deref());
        }
        AdminReply::EndpointsDelete(deleted)
        | AdminReply::TypesDelete(deleted)
        | AdminReply::TemplatesDelete(deleted)
        | AdminReply::SourcesDelete(deleted) => println!("deleted {}", deleted.deleted),
        AdminReply::EndpointsRotateSecret(rotated) => {
            println!("new secret (shown only now): {}", rotated.secret);
            match rotated.previous_expires_at {
                Some(at) => println!("the previous secret keeps signing until {at}"),
                None => println!("the previous secret no longer signs"),
            }
        }
        AdminReply::EndpointsVerify(report) => match &report.error {
            None => println!("{} verified", report.endpoint.id),
            Some(error) => println!("{} not verified: {error}", report.endpoint.id),
        },
        AdminReply::EndpointsStats(stats) => print_stats(stats),
        AdminReply::EndpointsTest(record) => print_json(record),
        AdminReply::EndpointsBlockedKeys(blocked) => print_blocked_keys(&blocked.keys),
        AdminReply::EndpointsSkipHead(skipped) => {
            if skipped.dead_lettered {
                println!(
                    "moved {} to the dead letters; its key goes on",
                    skipped.event_id
                );
            } else {
                println!("dropped {}; its key goes on", skipped.event_id);
            }
        }
        AdminReply::DeliveriesGet(detail) => print_delivery(detail),
        AdminReply::DeliveriesRedeliver(queued) => {
            println!("queued as attempt {}", queued.attempt);
        }
        AdminReply::DeliveriesRedeliverFailed(done) => {
            println!("redelivered {}", done.redelivered);
            if done.more {
                println!("more remain: run it again");
            }
        }
        AdminReply::DeliveriesList(page) => print_deliveries(page),
        AdminReply::EventsGet(detail) => print_json(detail),
        AdminReply::EventsList(page) => print_events(page),
        AdminReply::DeadLettersList(page) => print_dead_letters(page),
        AdminReply::DeadLettersRequeue(requeued) => println!("requeued {}", requeued.requeued),
        AdminReply::DeadLettersPurge(purged) => println!("purged {}", purged.purged),
        AdminReply::ReplayStart(job) | AdminReply::ReplayGet(job) => {
            print_replay_jobs(std::slice::from_ref(job));
        }
        AdminReply::ReplayList(jobs) => print_replay_jobs(&jobs.jobs),
        AdminReply::ReplayPreview(preview) => print_replay_preview(preview),
        AdminReply::TypesCreate(def)
        | AdminReply::TypesGet(def)
        | AdminReply::TypesUpdate(def)
        | AdminReply::TypesDeprecate(def) => print_json(def),
        AdminReply::TypesList(list) => print_types(&list.types),
        AdminReply::TemplatesCreate(version) | AdminReply::TemplatesAddVersion(version) => {
            println!(
                "{} ({}); pin it with --template {}:{}",
                version.pin(),
                version.format.as_str(),
                version.name,
                version.version
            );
        }
        AdminReply::TemplatesGet(detail) => print_template(detail),
        AdminReply::TemplatesList(list) => print_templates(&list.templates),
        AdminReply::TemplatesPresets(list) => print_presets(&list.presets),
        AdminReply::TemplatesPreview(rendered) => print_rendered(rendered),
        AdminReply::OverviewGet(overview) => print_overview(overview),
        AdminReply::KeysGet(jwks) => print_keys(jwks),
        AdminReply::SystemInfo(info) => print_json(info),
        AdminReply::SystemHealth(health) => print_json(health),
        AdminReply::AuditList(page) => print_audit(page),
        AdminReply::SourcesCreate(created) | AdminReply::SourcesUpdate(created) => {
            print_source_path(&created.view);
            if let Some(secret) = &created.secret {
                println!("secret (shown only now): {secret}");
            }
        }
        AdminReply::SourcesRotateToken(view) => print_source_path(view),
        AdminReply::SourcesGet(view) => print_json(view),
        AdminReply::SourcesList(list) => print_sources(&list.sources),
        AdminReply::SourcesTest(tested) => print_json(tested),
        AdminReply::SourcesStats(stats) => print_json(stats),
        AdminReply::SourcesRequests(page) => print_source_requests(page),
    }
}

/// For replies that report a check (`endpoints verify`, `system health`): whether it
/// passed.
pub(crate) fn passed(reply: &AdminReply) -> bool {
    match reply {
        AdminReply::EndpointsVerify(report) => report.verified,
        AdminReply::SystemHealth(health) => {
            health.status == hookwire_protocol::system::HealthStatus::Ok
        }
        _ => true,
    }
}

fn print_endpoints(endpoints: &[Endpoint], next_cursor: Option<&str>) {
    if endpoints.is_empty() {
        println!("no endpoints");
        return;
    }
    for endpoint in endpoints {
        let types = if endpoint.event_types.is_empty() {
            "*".to_owned()
        } else {
            let names: Vec<&str> = endpoint
                .event_types
                .iter()
                .map(hookwire_protocol::EventTypeFilter::as_str)
                .collect();
            names.join(",")
        };
        let destination = if endpoint.listen {
            format!("listen ({})", endpoint.url)
        } else {
            endpoint.url.clone()
        };
        println!(
            "{:<24} {:<9} {:<40} {}",
            endpoint.id,
            endpoint.delivery_state(),
            destination,
            types
        );
    }
    if let Some(cursor) = next_cursor {
        println!("more: --cursor {cursor}");
    }
}

fn print_delivery(detail: &DeliveryDetail) {
    let delivery = &detail.delivery;
    println!(
        "{} -> {}  {}  after {} attempt(s)",
        delivery.event_id,
        delivery.endpoint_id,
        delivery.state.as_str(),
        delivery.attempts
    );
    for attempt in &detail.attempts {
        let result = match (&attempt.response, &attempt.error) {
            (Some(response), _) => response.status.to_string(),
            (None, Some(error)) => error.kind.as_str().to_owned(),
            (None, None) => "?".to_owned(),
        };
        println!(
            "  #{:<2} {}  {:<8} {:>8.1} ms  {}",
            attempt.attempt,
            attempt
                .at
                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            result,
            attempt.latency_ms,
            attempt.outcome.as_str()
        );
    }
}

fn print_dead_letters(page: &DeadLetterPage) {
    if page.dead_letters.is_empty() {
        println!("no dead letters");
    }
    for dead in &page.dead_letters {
        println!(
            "{:>8}  {:<24} {:<24} {:<20} {} attempts  {}",
            dead.seq,
            dead.endpoint_id,
            dead.event_id,
            dead.event_type,
            dead.attempts,
            dead.last_error.as_deref().unwrap_or("")
        );
    }
    if let Some(cursor) = page.next_cursor {
        println!("more: --cursor {cursor}");
    }
}

fn print_replay_jobs(jobs: &[ReplayJob]) {
    println!(
        "{:<28} {:<24} {:<10} {:>8} {:>8}  WINDOW",
        "JOB", "ENDPOINT", "STATE", "SCANNED", "QUEUED"
    );
    for job in jobs {
        println!(
            "{:<28} {:<24} {:<10} {:>8} {:>8}  {} .. {}",
            job.id,
            job.endpoint_id,
            job.state.as_str(),
            job.scanned,
            job.queued,
            job.since
                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            job.until
                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        );
        if let Some(error) = &job.error {
            println!("  error: {error}");
        }
        if let Some(at) = job.truncated_to {
            println!(
                "  the stream keeps events from {} only",
                at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
            );
        }
    }
}

fn print_replay_preview(preview: &ReplayPreview) {
    let bound = if preview.complete { "" } else { "at least " };
    println!(
        "{bound}{} events would be replayed ({} of the tenant's events scanned, window ends {})",
        preview.events,
        preview.scanned,
        preview
            .until
            .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
    );
    if let Some(at) = preview.truncated_to {
        println!(
            "the stream keeps events from {} only",
            at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
        );
    }
}

fn print_overview(overview: &Overview) {
    let e = &overview.endpoints;
    println!(
        "endpoints  {} total: {} active, {} paused, {} disabled, {} pending verification, {} failing",
        e.total, e.active, e.paused, e.disabled, e.pending_verification, e.failing
    );
    for (name, w) in overview.windows.named() {
        println!(
            "{name:<10} {} attempts, success {}, p50/p95/p99 {}/{}/{} ms",
            w.attempts,
            percent(w.success_rate),
            decimal(w.latency_ms.p50),
            decimal(w.latency_ms.p95),
            decimal(w.latency_ms.p99),
        );
    }
    println!(
        "waiting    {} dead letters, {} held, {} retries (all tenants)",
        overview.dead_letters, overview.held, overview.retries_waiting_all_tenants
    );
}

/// A statistics window's failures by kind: `timeout 3, status 12`.
pub(crate) fn failures(window: &WindowSummary) -> String {
    let failures: Vec<String> = window
        .errors
        .iter()
        .map(|(kind, n)| format!("{kind} {n}"))
        .collect();
    failures.join(", ")
}

/// A rate (0–1) as a percentage, `-` when absent.
pub(crate) fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "-".to_owned(), |r| format!("{:.1}%", r * 100.0))
}

/// An objective's compliance to three decimals (`99.950%`), `-` before any delivery settled.
pub(crate) fn compliance(report: &hookwire_protocol::slo::SloReport) -> String {
    report
        .compliance_percent
        .map_or_else(|| "-".to_owned(), |c| format!("{c:.3}%"))
}

/// A number with one decimal, `-` when absent.
fn decimal(n: Option<f64>) -> String {
    n.map_or_else(|| "-".to_owned(), |n| format!("{n:.1}"))
}

fn print_deliveries(page: &DeliveryPage) {
    println!(
        "{:<24} {:<24} {:<32} {:<9} {:>3} {:>6}  LAST ATTEMPT",
        "EVENT", "ENDPOINT", "TYPE", "STATE", "#", "STATUS"
    );
    for d in &page.deliveries {
        println!(
            "{:<24} {:<24} {:<32} {:<9} {:>3} {:>6}  {}",
            d.event_id,
            d.endpoint_id,
            d.event_type,
            d.state.as_str(),
            d.attempts,
            d.last_status
                .map_or_else(|| "-".to_owned(), |s| s.to_string()),
            d.updated_at
                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        );
    }
    if let Some(cursor) = &page.next_cursor {
        println!("more: --cursor {cursor}");
    }
}

fn print_audit(page: &AuditPage) {
    println!(
        "{:<24} {:<32} {:<26} {:<16} REQUESTER",
        "AT", "ACTION", "TARGET", "OUTCOME"
    );
    for entry in &page.records {
        let r = &entry.record;
        let source = serde_json::to_value(r.requester.source).unwrap_or_default();
        println!(
            "{:<24} {:<32} {:<26} {:<16} {} ({})",
            r.at.format("%Y-%m-%dT%H:%M:%S%.3f"),
            r.action,
            r.target.as_deref().unwrap_or("-"),
            r.outcome,
            r.requester.name,
            source.as_str().unwrap_or("?"),
        );
    }
    if let Some(cursor) = page.next_cursor {
        println!("more: --cursor {cursor}");
    }
}

fn print_source_path(view: &SourceView) {
    println!(
        "{}: {}",
        view.source.name,
        view.url.as_deref().unwrap_or(&view.path)
    );
}

fn print_sources(sources: &[SourceView]) {
    println!(
        "{:<20} {:<9} {:<7} {:>6}  {:<40} PATH",
        "NAME", "SCHEME", "ACTIVE", "RATE", "SUBJECT"
    );
    for view in sources {
        let s = &view.source;
        println!(
            "{:<20} {:<9} {:<7} {:>6}  {:<40} {}",
            s.name,
            s.verification.name(),
            if s.active { "yes" } else { "no" },
            s.rate_limit_per_minute,
            s.subject,
            view.url.as_deref().unwrap_or(&view.path),
        );
    }
}

fn print_source_requests(page: &SourceRequestPage) {
    println!(
        "{:<24} {:<18} {:>6} {:<16} {:<28} {:>9}  DETAIL",
        "AT", "OUTCOME", "STATUS", "CLIENT", "TYPE", "LATENCY"
    );
    for r in &page.requests {
        println!(
            "{:<24} {:<18} {:>6} {:<16} {:<28} {:>7}us  {}",
            r.at.format("%Y-%m-%dT%H:%M:%S%.3f"),
            r.outcome.as_str(),
            r.status,
            r.client,
            r.event_type.as_deref().unwrap_or("-"),
            r.latency_us,
            r.detail.as_deref().unwrap_or("-"),
        );
    }
    if let Some(cursor) = page.next_cursor {
        println!("more: --cursor {cursor}");
    }
}

fn print_events(page: &EventPage) {
    println!(
        "{:>8} {:<32} {:<32} {:>7}  PUBLISHED",
        "SEQ", "ID", "TYPE", "BYTES"
    );
    for e in &page.events {
        println!(
            "{:>8} {:<32} {:<32} {:>7}  {}",
            e.seq,
            e.id.as_deref().unwrap_or("-"),
            e.event_type,
            e.bytes,
            e.published_at
                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        );
    }
    if let Some(cursor) = page.next_cursor {
        println!("more: --cursor {cursor}");
    }
}

fn print_keys(jwks: &hookwire_protocol::v1a::Jwks) {
    if jwks.keys.is_empty() {
        println!("no endpoint of this tenant signs with ed25519");
        return;
    }
    for key in &jwks.keys {
        let until = key
            .expires_at
            .map_or_else(|| "current".to_owned(), |at| format!("until {at}"));
        println!(
            "{:<28} {:<20} {}  {until}",
            key.endpoint_id, key.kid, key.whpk
        );
    }
}

fn print_stats(stats: &EndpointStats) {
    println!(
        "{:<5} {:>9} {:>8} {:>9} {:>9} {:>9}  FAILURES",
        "", "ATTEMPTS", "SUCCESS", "P50 MS", "P95 MS", "P99 MS"
    );
    for (name, window) in stats.windows.named() {
        println!(
            "{name:<5} {:>9} {:>8} {:>9} {:>9} {:>9}  {}",
            window.attempts,
            percent(window.success_rate),
            decimal(window.latency_ms.p50),
            decimal(window.latency_ms.p95),
            decimal(window.latency_ms.p99),
            failures(window)
        );
    }
    if let Some(slo) = &stats.slo {
        let objective = slo.objective;
        println!(
            "objective {} % within {} s over {} d: {} met of {} settled ({} missed), budget {:.1} % burned{}",
            f64::from(objective.target_percent.thousandths()) / 1000.0,
            objective.within_secs,
            objective.window_days,
            compliance(slo),
            slo.deliveries,
            slo.missed,
            slo.budget_burned_percent,
            if slo.meeting {
                ""
            } else {
                ": below the objective"
            }
        );
    }
}

fn print_blocked_keys(keys: &[hookwire_protocol::ordered::BlockedKey]) {
    if keys.is_empty() {
        println!("no key waits: every lane flows");
        return;
    }
    println!(
        "{:<32}  {:<24} {:<24} {:>8}  SINCE                 LAST ERROR",
        "LANE", "KEY", "HEAD EVENT", "ATTEMPTS"
    );
    for key in keys {
        println!(
            "{:<32}  {:<24} {:<24} {:>8}  {}  {}",
            key.lane,
            key.key,
            key.event_id,
            key.attempts,
            key.since.format("%Y-%m-%d %H:%M:%SZ"),
            key.last_error.as_deref().unwrap_or("-")
        );
    }
}

fn print_templates(templates: &[TemplateSummary]) {
    if templates.is_empty() {
        println!("no templates");
        return;
    }
    println!(
        "{:<24} {:>6} {:<6} {:>6}  DESCRIPTION",
        "TEMPLATE", "LATEST", "FORMAT", "PINNED"
    );
    for template in templates {
        println!(
            "{:<24} {:>6} {:<6} {:>6}  {}",
            template.name,
            template.latest,
            template.format.as_str(),
            template.pinned_by,
            template.description
        );
    }
}

fn print_template(detail: &TemplateDetail) {
    for version in &detail.versions {
        println!(
            "--- v{} ({}, {}){}",
            version.version,
            version.format.as_str(),
            version.created_at.format("%Y-%m-%d %H:%M:%S UTC"),
            version
                .preset
                .as_deref()
                .map(|p| format!(" from preset {p}"))
                .unwrap_or_default()
        );
        if !version.description.is_empty() {
            println!("{}", version.description);
        }
        for (name, value) in &version.headers {
            println!("{name}: {value}");
        }
        println!(
            "{}",
            version
                .body
                .as_deref()
                .unwrap_or("(no body: the standard envelope, converted for the format)")
        );
    }
    if detail.pinned_by.is_empty() {
        println!("--- pinned by no endpoint");
    }
    for pin in &detail.pinned_by {
        println!("--- pinned by {} at v{}", pin.endpoint_id, pin.version);
    }
}

fn print_presets(presets: &[Preset]) {
    for preset in presets {
        println!("{:<14} {}", preset.name, preset.description);
        println!("{:<14} hosts: {}", "", preset.hosts.join(", "));
        println!("{:<14} setup: {}", "", preset.setup);
    }
}

/// A preview as the request would leave: the request line, headers, a blank line, the body.
fn print_rendered(rendered: &RenderedRequest) {
    println!(
        "POST {}{}",
        rendered.url.as_deref().unwrap_or("(no endpoint)"),
        if rendered.compressed {
            "  (gzip-compressed on the wire)"
        } else {
            ""
        }
    );
    for (name, value) in &rendered.headers {
        println!("{name}: {value}");
    }
    println!();
    println!("{}", rendered.body);
}

fn print_types(types: &[EventTypeDef]) {
    println!(
        "{:<40} {:>7} {:<9} {:<11}  DESCRIPTION",
        "TYPE", "VERSION", "VALIDATE", "DEPRECATED"
    );
    for t in types {
        println!(
            "{:<40} {:>7} {:<9} {:<11}  {}",
            t.name,
            t.version,
            t.validate,
            if t.deprecated_at.is_some() { "yes" } else { "" },
            t.description,
        );
    }
}
