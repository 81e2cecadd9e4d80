//! Detail pages: an endpoint (configuration, statistics, recent deliveries), a delivery
//! (the event and every attempt with headers and bodies), an event type (schema and
//! example) and an incoming-webhook source (rules, counters, recent requests).

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Color;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use serde_json::Value;

use super::{BOLD, Theme, ago, cell, millis, percent, views};
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
            views::deliveries(frame, bottom, deliveries, theme, now);
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

/// A JSON array's items joined with commas; `None` when absent or empty.
fn joined(v: &Value) -> Option<String> {
    v.as_array()
        .map(|items| items.iter().map(cell).collect::<Vec<_>>().join(", "))
        .filter(|s| !s.is_empty())
}

/// Signature scheme and network narrowing, on one line.
fn security_summary(e: &Value) -> String {
    let mut text = match e["signature"]["scheme"].as_str() {
        Some("stripe") => format!("signature stripe ({})", cell(&e["signature"]["header"])),
        Some(scheme) => format!("signature {scheme}"),
        None => "signature standard".to_owned(),
    };
    if let Some(allow) = joined(&e["allow_networks"]) {
        text.push_str(", only to ");
        text.push_str(&allow);
    }
    if let Some(deny) = joined(&e["deny_networks"]) {
        text.push_str(", never to ");
        text.push_str(&deny);
    }
    let auth = match e["auth"]["type"].as_str() {
        Some("basic") => format!(", basic auth as {}", cell(&e["auth"]["username"])),
        Some("oauth2") => format!(", oauth2 as {}", cell(&e["auth"]["client_id"])),
        Some(kind) => format!(", {kind} auth"),
        None => String::new(),
    };
    text.push_str(&auth);
    if let Some(sha) = e["client_certificate"]["sha256"].as_str() {
        text.push_str(", mTLS ");
        text.push_str(&sha[..sha.len().min(12)]);
    }
    text
}

fn endpoint_lines(
    endpoint: Option<&Value>,
    stats: Option<&Value>,
    theme: Theme,
    now: DateTime<Utc>,
) -> Vec<Line<'static>> {
    let Some(e) = endpoint else {
        return vec![Line::from(strings::LOADING)];
    };
    let endpoint_state = e["status"]["state"].as_str().unwrap_or("?").to_owned();
    let circuit = &e["circuit"];
    let detail = [&e["status"]["reason"], &e["status"]["last_error"]]
        .iter()
        .find_map(|v| v.as_str())
        .map(|why| format!(": {why}"))
        .unwrap_or_default();
    let headers = e["headers"]
        .as_object()
        .map(|h| h.keys().cloned().collect::<Vec<_>>().join(", "))
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "-".to_owned());
    let mut lines = vec![
        field("url", cell(&e["url"])),
        Line::from(vec![
            label("status"),
            Span::styled(endpoint_state.clone(), theme.state(&endpoint_state)),
            Span::raw(detail),
        ]),
        field(
            "types",
            joined(&e["event_types"]).unwrap_or_else(|| "* (all)".to_owned()),
        ),
        field(
            "delivery",
            format!(
                "timeout {} ms, retries {}, verification {}, headers {headers}",
                cell(&e["timeout_ms"]),
                joined(&e["retry_schedule_secs"])
                    .map_or_else(|| "default".to_owned(), |s| format!("{s} s")),
                cell(&e["verification"]),
            ),
        ),
    ];
    lines.push(field("security", security_summary(e)));
    if let Some(state) = circuit["state"].as_str() {
        lines.push(Line::from(vec![
            label("circuit"),
            Span::styled(state.to_owned(), theme.state(state)),
            Span::raw(format!(
                ", {}, failing for {}: {}",
                strings::probe_in(&circuit["probe_at"], now),
                ago(&circuit["failing_since"], now),
                cell(&circuit["reason"]),
            )),
        ]));
    }
    if let Some(description) = e["description"].as_str().filter(|d| !d.is_empty()) {
        lines.push(field("description", description.to_owned()));
    }
    lines.push(Line::styled(
        format!(
            "{:<13}{:>9} {:>8} {:>7} {:>7} {:>7}  FAILURES",
            "", "ATTEMPTS", "OK", "P50", "P95", "P99"
        ),
        BOLD,
    ));
    for window in ["1h", "24h", "7d"] {
        let text = stats.map_or_else(
            || strings::LOADING.to_owned(),
            |s| {
                let w = &s["windows"][window];
                format!(
                    "{:>9} {:>8} {:>7} {:>7} {:>7}  {}",
                    cell(&w["attempts"]),
                    percent(&w["success_rate"]),
                    millis(&w["latency_ms"]["p50"]),
                    millis(&w["latency_ms"]["p95"]),
                    millis(&w["latency_ms"]["p99"]),
                    failures(w)
                )
            },
        );
        lines.push(field(window, text));
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

fn pretty_value(value: &Value) -> Vec<Line<'static>> {
    pretty(&value.to_string())
}

fn headers(title: &str, headers: &Value) -> Vec<Line<'static>> {
    let mut lines = vec![Line::from(format!("  {title}"))];
    lines.extend(
        headers
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| Line::from(format!("    {k}: {}", cell(v)))),
    );
    lines
}

fn delivery_lines(data: &Value, theme: Theme) -> Vec<Line<'static>> {
    let d = &data["delivery"];
    let state = d["state"].as_str().unwrap_or("?").to_owned();
    let mut lines = vec![
        Line::from(vec![
            label("state"),
            Span::styled(state.clone(), theme.state(&state)),
            Span::raw(format!(
                " after {} attempt(s); next {}",
                cell(&d["attempts"]),
                strings::short_time(&d["next_attempt_at"])
            )),
        ]),
        field(
            "event",
            format!(
                "{} (type {}, stream seq {})",
                cell(&d["event_id"]),
                cell(&d["event_type"]),
                cell(&d["event_seq"])
            ),
        ),
        Line::styled("event data", BOLD),
    ];
    lines.extend(if data["event_data"].is_null() {
        vec![Line::from("    (aged out of the events stream)")]
    } else {
        pretty_value(&data["event_data"])
    });
    for a in data["attempts"].as_array().into_iter().flatten() {
        let outcome = a["outcome"].as_str().unwrap_or("?").to_owned();
        let result = match (&a["response"]["status"], &a["error"]) {
            (Value::Number(status), Value::Null) => format!("{status}"),
            (status, error) => format!(
                "{} {} {}",
                cell(status),
                cell(&error["kind"]),
                error["message"].as_str().unwrap_or_default()
            ),
        };
        lines.push(Line::from(""));
        lines.push(Line::from(vec![
            Span::styled(format!("attempt {}", cell(&a["attempt"])), BOLD),
            Span::raw(format!(
                "  {}  {} ms  ",
                strings::short_time(&a["at"]),
                millis(&a["latency_ms"])
            )),
            Span::styled(result, theme.state(&outcome)),
            Span::raw(format!("  → {}", cell(&a["url"]))),
        ]));
        lines.extend(headers("request headers", &a["request_headers"]));
        if !a["response"].is_null() {
            lines.extend(headers("response headers", &a["response"]["headers"]));
            lines.push(Line::from("  response body"));
            lines.extend(pretty(a["response"]["body"].as_str().unwrap_or_default()));
        }
    }
    if data["attempts"].as_array().is_none_or(Vec::is_empty) {
        lines.push(Line::styled(strings::NOT_INDEXED, theme.fg(Color::Yellow)));
    }
    lines
}

/// A value rule (`{"header": ..}`, `{"field": ..}`, `{"fixed": ..}`) as text.
fn rule(v: &Value) -> String {
    v.as_object().and_then(|o| o.iter().next()).map_or_else(
        || "-".to_owned(),
        |(kind, what)| format!("{kind} {}", cell(what)),
    )
}

fn source_lines(
    source: Option<&Value>,
    stats: Option<&Value>,
    requests: Option<&Value>,
    theme: Theme,
) -> Vec<Line<'static>> {
    let Some(s) = source else {
        return vec![Line::from(strings::LOADING)];
    };
    let mut lines = vec![
        field(
            "url",
            cell(if s["url"].is_string() {
                &s["url"]
            } else {
                &s["path"]
            }),
        ),
        field("scheme", cell(&s["verification"]["scheme"])),
        field("subject", format!("{}.<type>", cell(&s["subject"]))),
        field("type from", rule(&s["type_from"])),
        field("id from", rule(&s["id_from"])),
        field(
            "limits",
            format!(
                "{}/min, bodies up to {} bytes, {}",
                s["rate_limit_per_minute"],
                s["max_body_bytes"],
                joined(&s["allowed_networks"])
                    .map_or_else(|| "any client".to_owned(), |n| format!("only from {n}"))
            ),
        ),
        field("active", cell(&s["active"])),
        field(
            "transform",
            if s["transform"].is_string() {
                "yes"
            } else {
                "none (JSON as sent)"
            }
            .to_owned(),
        ),
    ];
    if let Some(st) = stats {
        let rejected = st["rejected"]
            .as_object()
            .map(|r| {
                r.iter()
                    .map(|(k, v)| format!("{k} {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| "none".to_owned());
        lines.push(field(
            "requests",
            format!(
                "{} received, {} verified, {} published, {} duplicates (this instance)",
                st["received"], st["verified"], st["published"], st["duplicates"]
            ),
        ));
        lines.push(field("rejected", rejected));
        if st["p50_us"].is_u64() {
            lines.push(field(
                "latency",
                format!("p50 {} µs  p99 {} µs", st["p50_us"], st["p99_us"]),
            ));
        }
    }
    lines.push(Line::styled(strings::SOURCE_REQUESTS, BOLD));
    for r in requests
        .and_then(|r| r["requests"].as_array())
        .into_iter()
        .flatten()
        .rev()
    {
        let outcome = cell(&r["outcome"]);
        let style = if r["status"] == 200 {
            "succeeded"
        } else {
            "dead"
        };
        lines.push(Line::styled(
            format!(
                "{} {:<18} {} {:<16} {:<24} {}",
                strings::short_time(&r["at"]),
                outcome,
                r["status"],
                cell(&r["client"]),
                cell(&r["event_type"]),
                cell(&r["detail"]),
            ),
            theme.state(style),
        ));
    }
    lines
}

fn type_lines(t: &Value) -> Vec<Line<'static>> {
    let mut lines = vec![
        field("version", cell(&t["version"])),
        field("validate", cell(&t["validate"])),
        field("deprecated", cell(&t["deprecated_at"])),
        field("description", cell(&t["description"])),
        Line::styled("schema", BOLD),
    ];
    lines.extend(pretty_value(&t["schema"]));
    lines.push(Line::styled("example", BOLD));
    lines.extend(pretty_value(&t["example"]));
    lines
}

/// A statistics window's failures by kind: `timeout 3, status 12`.
fn failures(window: &Value) -> String {
    let failures: Vec<String> = window["errors"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(kind, n)| format!("{kind} {n}"))
        .collect();
    failures.join(", ")
}
