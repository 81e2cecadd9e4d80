//! Detail pages: an endpoint (configuration, statistics, recent deliveries), a delivery
//! (the event and every attempt with headers and bodies), an event type (schema and
//! example), a payload template (versions, body, preview), an ordered endpoint's blocked keys
//! and an incoming-webhook source (rules, counters, recent requests).

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, Utc};
use hookwire_protocol::auth::AuthView;
use hookwire_protocol::catalog::EventTypeDef;
use hookwire_protocol::delivery::DeliveryDetail;
use hookwire_protocol::endpoint::{DeliveryMode, Endpoint, EndpointStatus, OrderKey};
use hookwire_protocol::schemes::{JwtAlgorithm, SignatureScheme};
use hookwire_protocol::slo::{Slo, SloReport};
use hookwire_protocol::source::{Source, SourceRequestPage, SourceStats, SourceView};
use hookwire_protocol::stats::EndpointStats;
use hookwire_protocol::template::{RenderedRequest, TemplateDetail};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Color;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use serde_json::Value;

use super::{BOLD, Theme, ago, millis, percent, views};
use crate::console::app::Page;
use crate::console::strings;

/// Draws the page on top.
pub(super) fn draw(frame: &mut Frame, area: Rect, page: &Page, theme: Theme, now: DateTime<Utc>) {
    match page {
        Page::Endpoint {
            id,
            endpoint,
            stats,
            deliveries,
        } => {
            let lines = endpoint_lines(endpoint.as_ref(), stats.as_ref(), theme, now);
            let height = u16::try_from(lines.len())
                .unwrap_or(u16::MAX)
                .saturating_add(2);
            let [top, bottom] =
                Layout::vertical([Constraint::Length(height), Constraint::Min(3)]).areas(area);
            let block = Block::default()
                .borders(Borders::TOP | Borders::BOTTOM)
                .title(format!("endpoint {id}"));
            frame.render_widget(Paragraph::new(lines).block(block), top);
            views::deliveries(frame, bottom, deliveries, "", theme, now);
        }
        Page::BlockedKeys { id, keys } => {
            let [top, bottom] =
                Layout::vertical([Constraint::Length(2), Constraint::Min(3)]).areas(area);
            let block = Block::default()
                .borders(Borders::TOP)
                .title(format!("blocked keys of {id}"));
            frame.render_widget(Paragraph::new(strings::BLOCKED_KEYS_HINT).block(block), top);
            views::blocked_keys(frame, bottom, keys, theme, now);
        }
        Page::Delivery {
            endpoint_id,
            event_id,
            data,
            scroll,
        } => {
            let lines = data.as_ref().map_or_else(
                || vec![Line::from(strings::LOADING)],
                |d| delivery_lines(d, theme),
            );
            let title = format!("delivery of {event_id} to {endpoint_id}");
            scrolled(frame, area, title, lines, *scroll);
        }
        Page::Type { name, data, scroll } => {
            let lines = data
                .as_ref()
                .map_or_else(|| vec![Line::from(strings::LOADING)], type_lines);
            scrolled(frame, area, format!("event type {name}"), lines, *scroll);
        }
        Page::Template {
            name,
            detail,
            shown,
            preview,
            scroll,
        } => {
            let lines = detail.as_ref().map_or_else(
                || vec![Line::from(strings::LOADING)],
                |d| template_lines(d, *shown, preview.as_ref()),
            );
            scrolled(frame, area, format!("template {name}"), lines, *scroll);
        }
        Page::Source {
            name,
            data,
            stats,
            requests,
            scroll,
        } => {
            let lines = source_lines(data.as_ref(), stats.as_ref(), requests.as_ref(), theme);
            scrolled(frame, area, format!("source {name}"), lines, *scroll);
        }
    }
}

/// A page of lines scrolled down by `scroll` (clamped so the end stays on screen).
fn scrolled(
    frame: &mut Frame,
    area: Rect,
    title: String,
    lines: Vec<Line<'static>>,
    scroll: usize,
) {
    let visible = usize::from(area.height.saturating_sub(1));
    let scroll = scroll.min(lines.len().saturating_sub(visible));
    let block = Block::default().borders(Borders::TOP).title(title);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .scroll((u16::try_from(scroll).unwrap_or(u16::MAX), 0)),
        area,
    );
}

fn label(name: &str) -> Span<'static> {
    Span::styled(format!("{name:<13}"), BOLD)
}

fn field(name: &str, value: String) -> Line<'static> {
    Line::from(vec![label(name), Span::raw(value)])
}

/// Items joined with commas; `None` when there are none.
fn joined<T: ToString>(items: &[T]) -> Option<String> {
    let text: Vec<String> = items.iter().map(ToString::to_string).collect();
    Some(text.join(", ")).filter(|s| !s.is_empty())
}

/// Batches, template, content filter and compression, on one line; `None` when the
/// endpoint gets every event alone, as the standard envelope, uncompressed.
fn shaping_summary(e: &Endpoint) -> Option<String> {
    let mut parts = Vec::new();
    match &e.delivery {
        DeliveryMode::Batch(batch) => parts.push(format!(
            "batches of up to {} (wait {} ms)",
            batch.max_events, batch.max_wait_ms
        )),
        DeliveryMode::Ordered(ordered) => {
            let key = match &ordered.key {
                OrderKey::Header(name) => format!("header {name}"),
                OrderKey::Pointer(path) => format!("pointer {path}"),
            };
            parts.push(format!("ordered by {key} (b: blocked keys)"));
            if let Some(batch) = ordered.batch {
                parts.push(format!("per key batches of up to {}", batch.max_events));
            }
        }
        DeliveryMode::Single => {}
    }
    if let Some(pin) = &e.template {
        parts.push(format!("template {pin}"));
    }
    if e.filter.is_some() {
        parts.push("content filter".to_owned());
    }
    if let Some(compression) = e.compression {
        parts.push(format!("gzip from {} bytes", compression.min_bytes));
    }
    joined(&parts)
}

/// The delivery objective and, once the statistics are in, how the endpoint stands.
fn objective_line(objective: Slo, report: Option<&SloReport>, theme: Theme) -> Line<'static> {
    let target = format!(
        "{}% in {} s over {} d",
        f64::from(objective.target_percent.thousandths()) / 1000.0,
        objective.within_secs,
        objective.window_days
    );
    let Some(report) = report else {
        return field("objective", format!("{target}: {}", strings::LOADING));
    };
    let standing = format!(
        ": {} of {}, budget {:.0}% left",
        crate::output::compliance(report),
        report.deliveries,
        report.budget_remaining_percent
    );
    let state = if report.meeting { "active" } else { "failed" };
    Line::from(vec![
        label("objective"),
        Span::raw(target),
        Span::styled(standing, theme.state(state)),
    ])
}

/// Signature scheme and network narrowing, on one line.
fn security_summary(e: &Endpoint) -> String {
    let mut text = match &e.signature {
        SignatureScheme::Stripe { header } => format!("signature stripe ({header})"),
        SignatureScheme::Github => "signature github".to_owned(),
        SignatureScheme::Standard => "signature standard".to_owned(),
        SignatureScheme::Ed25519 => "signature ed25519 (v1a)".to_owned(),
        SignatureScheme::Jwt { issuer, algorithm } => format!(
            "signature jwt {} (iss {})",
            match algorithm {
                JwtAlgorithm::Hs256 => "HS256",
                JwtAlgorithm::EdDsa => "EdDSA",
            },
            issuer
                .as_deref()
                .unwrap_or(hookwire_protocol::jwt::DEFAULT_ISSUER)
        ),
    };
    if let Some(allow) = joined(&e.network.allow_networks) {
        text.push_str(", only to ");
        text.push_str(&allow);
    }
    if let Some(deny) = joined(&e.network.deny_networks) {
        text.push_str(", never to ");
        text.push_str(&deny);
    }
    let auth = match &e.auth {
        Some(AuthView::Basic { username }) => format!(", basic auth as {username}"),
        Some(AuthView::Oauth2 { client_id, .. }) => format!(", oauth2 as {client_id}"),
        Some(AuthView::Bearer) => ", bearer auth".to_owned(),
        None => String::new(),
    };
    text.push_str(&auth);
    if let Some(certificate) = &e.client_certificate {
        let sha = &certificate.sha256;
        text.push_str(", mTLS ");
        text.push_str(&sha[..sha.len().min(12)]);
    }
    text
}

fn endpoint_lines(
    endpoint: Option<&Endpoint>,
    stats: Option<&EndpointStats>,
    theme: Theme,
    now: DateTime<Utc>,
) -> Vec<Line<'static>> {
    let Some(e) = endpoint else {
        return vec![Line::from(strings::LOADING)];
    };
    let endpoint_state = e.status.as_str();
    let detail = match &e.status {
        EndpointStatus::Disabled { reason, .. } => format!(": {reason}"),
        EndpointStatus::PendingVerification {
            last_error: Some(error),
        } => format!(": {error}"),
        _ => String::new(),
    };
    let headers = joined(&e.headers.keys().collect::<Vec<_>>()).unwrap_or_else(|| "-".to_owned());
    let mut lines = vec![
        field(
            "url",
            if e.listen {
                format!("{} {}", e.url, strings::LISTEN_ON)
            } else {
                e.url.clone()
            },
        ),
        Line::from(vec![
            label("status"),
            Span::styled(endpoint_state.to_owned(), theme.state(endpoint_state)),
            Span::raw(detail),
        ]),
        field(
            "types",
            joined(&e.event_types).unwrap_or_else(|| "* (all)".to_owned()),
        ),
        field(
            "delivery",
            format!(
                "timeout {} ms, retries {}, verification {}, headers {headers}",
                e.timeout_ms,
                e.retry_schedule_secs
                    .as_deref()
                    .and_then(joined)
                    .map_or_else(|| "default".to_owned(), |s| format!("{s} s")),
                e.verification.as_str(),
            ),
        ),
    ];
    if let Some(shaping) = shaping_summary(e) {
        lines.push(field("shaping", shaping));
    }
    lines.push(field("security", security_summary(e)));
    if let Some(objective) = e.slo {
        lines.push(objective_line(
            objective,
            stats.and_then(|s| s.slo.as_ref()),
            theme,
        ));
    }
    if let Some(circuit) = &e.circuit {
        let circuit_state = circuit.state.as_str();
        lines.push(Line::from(vec![
            label("circuit"),
            Span::styled(circuit_state.to_owned(), theme.state(circuit_state)),
            Span::raw(format!(
                ", {}, failing for {}: {}",
                strings::probe_in(circuit.probe_at, now),
                ago(Some(circuit.failing_since), now),
                circuit.reason,
            )),
        ]));
    }
    if !e.description.is_empty() {
        lines.push(field("description", e.description.clone()));
    }
    lines.push(Line::styled(
        format!(
            "{:<13}{:>9} {:>8} {:>7} {:>7} {:>7}  FAILURES",
            "", "ATTEMPTS", "OK", "P50", "P95", "P99"
        ),
        BOLD,
    ));
    match stats {
        Some(s) => {
            for (name, w) in s.windows.named() {
                let text = format!(
                    "{:>9} {:>8} {:>7} {:>7} {:>7}  {}",
                    w.attempts,
                    percent(w.success_rate),
                    millis(w.latency_ms.p50),
                    millis(w.latency_ms.p95),
                    millis(w.latency_ms.p99),
                    crate::output::failures(w)
                );
                lines.push(field(name, text));
            }
        }
        None => {
            for name in ["1h", "24h", "7d"] {
                lines.push(field(name, strings::LOADING.to_owned()));
            }
        }
    }
    lines
}

/// JSON pretty-printed, or the text itself when it is not JSON.
fn pretty(text: &str) -> Vec<Line<'static>> {
    let pretty = serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| text.to_owned());
    pretty
        .lines()
        .map(|l| Line::from(format!("    {l}")))
        .collect()
}

/// A JSON value pretty-printed (`null` when absent).
fn pretty_value(value: Option<&Value>) -> Vec<Line<'static>> {
    pretty(&value.map_or_else(|| "null".to_owned(), Value::to_string))
}

fn headers(title: &str, headers: &BTreeMap<String, String>) -> Vec<Line<'static>> {
    let mut lines = vec![Line::from(format!("  {title}"))];
    lines.extend(
        headers
            .iter()
            .map(|(k, v)| Line::from(format!("    {k}: {v}"))),
    );
    lines
}

fn delivery_lines(data: &DeliveryDetail, theme: Theme) -> Vec<Line<'static>> {
    let d = &data.delivery;
    let state = d.state.as_str();
    let mut lines = vec![
        Line::from(vec![
            label("state"),
            Span::styled(state.to_owned(), theme.state(state)),
            Span::raw(format!(
                " after {} attempt(s); next {}",
                d.attempts,
                strings::short_time(d.next_attempt_at)
            )),
        ]),
        field(
            "event",
            format!(
                "{} (type {}, stream seq {})",
                d.event_id, d.event_type, d.event_seq
            ),
        ),
        Line::styled("event data", BOLD),
    ];
    lines.extend(match &data.event_data {
        None => vec![Line::from("    (aged out of the events stream)")],
        Some(value) => pretty_value(Some(value)),
    });
    for a in &data.attempts {
        let outcome = a.outcome.as_str();
        let result = match (&a.response, &a.error) {
            (Some(response), None) => response.status.to_string(),
            (response, error) => format!(
                "{} {} {}",
                response
                    .as_ref()
                    .map_or_else(|| "-".to_owned(), |r| r.status.to_string()),
                error.as_ref().map_or("-", |e| e.kind.as_str()),
                error.as_ref().map_or("", |e| e.message.as_str())
            ),
        };
        lines.push(Line::from(""));
        lines.push(Line::from(vec![
            Span::styled(format!("attempt {}", a.attempt), BOLD),
            Span::raw(format!(
                "  {}  {} ms  ",
                strings::short_time(Some(a.at)),
                millis(Some(a.latency_ms))
            )),
            Span::styled(result, theme.state(outcome)),
            Span::raw(format!("  → {}", a.url)),
        ]));
        lines.extend(headers("request headers", &a.request_headers));
        if let Some(response) = &a.response {
            lines.extend(headers("response headers", &response.headers));
            lines.push(Line::from("  response body"));
            lines.extend(pretty(&response.body));
        }
    }
    if data.attempts.is_empty() {
        lines.push(Line::styled(strings::NOT_INDEXED, theme.fg(Color::Yellow)));
    }
    lines
}

/// The type rule as text, after the number of routing rules tried before it.
fn type_rule(source: &Source) -> String {
    match source.type_rules.len() {
        0 => source.type_from.to_string(),
        1 => format!("1 routing rule, else {}", source.type_from),
        n => format!("{n} routing rules, else {}", source.type_from),
    }
}

fn source_lines(
    view: Option<&SourceView>,
    stats: Option<&SourceStats>,
    requests: Option<&SourceRequestPage>,
    theme: Theme,
) -> Vec<Line<'static>> {
    let Some(view) = view else {
        return vec![Line::from(strings::LOADING)];
    };
    let s = &view.source;
    let mut lines = vec![
        field("url", view.url.clone().unwrap_or_else(|| view.path.clone())),
        field("scheme", s.verification.name().to_owned()),
        field("subject", format!("{}.<type>", s.subject)),
        field("type from", type_rule(s)),
        field("id from", s.id_from.to_string()),
        field(
            "limits",
            format!(
                "{}/min, bodies up to {} bytes, {}",
                s.rate_limit_per_minute,
                s.max_body_bytes,
                joined(&s.allowed_networks)
                    .map_or_else(|| "any client".to_owned(), |n| format!("only from {n}"))
            ),
        ),
        field("active", s.active.to_string()),
        field(
            "transform",
            if s.transform.is_some() {
                "yes"
            } else {
                "none (JSON as sent)"
            }
            .to_owned(),
        ),
    ];
    if let Some(st) = stats {
        let rejected = st
            .rejected
            .iter()
            .map(|(outcome, n)| format!("{} {n}", outcome.as_str()))
            .collect::<Vec<_>>()
            .join(", ");
        lines.push(field(
            "requests",
            format!(
                "{} received, {} verified, {} published, {} duplicates (this instance)",
                st.received, st.verified, st.published, st.duplicates
            ),
        ));
        if st.handshakes > 0 {
            lines.push(field(
                "handshakes",
                format!("{} answered (not published)", st.handshakes),
            ));
        }
        lines.push(field(
            "rejected",
            if rejected.is_empty() {
                "none".to_owned()
            } else {
                rejected
            },
        ));
        if let (Some(p50), Some(p99)) = (st.p50_us, st.p99_us) {
            lines.push(field("latency", format!("p50 {p50} µs  p99 {p99} µs")));
        }
    }
    lines.push(Line::styled(strings::SOURCE_REQUESTS, BOLD));
    for r in requests.iter().flat_map(|page| page.requests.iter()).rev() {
        let style = if r.status == 200 { "succeeded" } else { "dead" };
        lines.push(Line::styled(
            format!(
                "{} {:<18} {} {:<16} {:<24} {}",
                strings::short_time(Some(r.at)),
                r.outcome.as_str(),
                r.status,
                r.client,
                r.event_type.as_deref().unwrap_or("-"),
                r.detail.as_deref().unwrap_or("-"),
            ),
            theme.state(style),
        ));
    }
    lines
}

/// A template: its versions (the shown one marked), who pins which, the shown version's
/// headers and body, and the last preview.
fn template_lines(
    detail: &TemplateDetail,
    shown: Option<u32>,
    preview: Option<&RenderedRequest>,
) -> Vec<Line<'static>> {
    let latest = detail.versions.last().map_or(0, |v| v.version);
    let shown = shown.unwrap_or(latest);
    let Some(version) = detail.versions.iter().find(|v| v.version == shown) else {
        return vec![Line::from(strings::LOADING)];
    };
    let mut versions: Vec<Span<'static>> = vec![label("versions")];
    for v in &detail.versions {
        let text = format!("v{}", v.version);
        versions.push(if v.version == shown {
            Span::styled(format!("[{text}]"), BOLD)
        } else {
            Span::raw(text)
        });
        versions.push(Span::raw(" "));
    }
    let pins: Vec<String> = detail
        .pinned_by
        .iter()
        .map(|p| format!("{} (v{})", p.endpoint_id, p.version))
        .collect();
    let mut lines = vec![
        Line::from(versions),
        field(
            "format",
            format!(
                "{}, content type {}",
                version.format.as_str(),
                version.content_type()
            ),
        ),
        field(
            "preset",
            version.preset.clone().unwrap_or_else(|| "-".to_owned()),
        ),
        field("description", version.description.clone()),
        field(
            "added",
            version
                .created_at
                .to_rfc3339_opts(SecondsFormat::Secs, true),
        ),
        field("pinned by", joined(&pins).unwrap_or_else(|| "-".to_owned())),
    ];
    if !version.headers.is_empty() {
        lines.extend(headers("headers", &version.headers));
    }
    lines.push(Line::styled("body", BOLD));
    match &version.body {
        Some(body) => lines.extend(body.lines().map(|l| Line::from(format!("    {l}")))),
        None => lines.push(Line::from(format!("    {}", strings::AUTOMATIC_BODY))),
    }
    lines.push(Line::styled("preview", BOLD));
    match preview {
        None => lines.push(Line::from(format!("    {}", strings::PREVIEW_HINT))),
        Some(rendered) => {
            lines.push(Line::from(format!(
                "    POST {}{}",
                rendered.url.as_deref().unwrap_or("(no endpoint: unsigned)"),
                if rendered.compressed {
                    "  (gzip on the wire)"
                } else {
                    ""
                }
            )));
            lines.extend(
                rendered
                    .headers
                    .iter()
                    .map(|(k, v)| Line::from(format!("    {k}: {v}"))),
            );
            lines.push(Line::from(""));
            lines.extend(pretty(&rendered.body));
        }
    }
    lines
}

fn type_lines(t: &EventTypeDef) -> Vec<Line<'static>> {
    let mut lines = vec![
        field("version", t.version.to_string()),
        field("validate", t.validate.to_string()),
        field(
            "deprecated",
            t.deprecated_at.map_or_else(
                || "-".to_owned(),
                |at| at.to_rfc3339_opts(SecondsFormat::AutoSi, true),
            ),
        ),
        field("description", t.description.clone()),
        Line::styled("schema", BOLD),
    ];
    lines.extend(pretty_value(t.schema.as_ref()));
    lines.push(Line::styled("example", BOLD));
    lines.extend(pretty_value(t.example.as_ref()));
    lines
}
