//! The seven views: overview, endpoints, live, deliveries, dead letters, types, replays.

use chrono::{DateTime, Utc};
use hookwire_protocol::audit::RequesterSource;
use hookwire_protocol::delivery::DeliveryRecord;
use hookwire_protocol::overview::{EndpointLine, Overview};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Row, Sparkline, Table, TableState, Wrap};

use super::{BOLD, SELECTED, Theme, ago, millis, percent};
use crate::console::app::{App, EndpointSort, RATE_SECONDS, View};
use crate::console::strings;
use crate::console::table;

/// Draws the current view.
pub(super) fn draw(frame: &mut Frame, area: Rect, app: &App, theme: Theme, now: DateTime<Utc>) {
    match app.view {
        View::Overview => overview(frame, area, app, theme, now),
        View::Endpoints => endpoints(frame, area, app, theme, now),
        View::Live => live(frame, area, app, theme),
        View::Deliveries => deliveries(frame, area, &app.deliveries, theme, now),
        View::DeadLetters => dead_letters(frame, area, app, now),
        View::Types => types(frame, area, app),
        View::Replays => replays(frame, area, app, theme),
        View::Audit => audit(frame, area, app, theme),
        View::Sources => sources(frame, area, app, theme),
    }
}

/// A message instead of a table: loading, or nothing to show.
fn empty<R: table::Row>(
    frame: &mut Frame,
    area: Rect,
    table: &table::Table<R>,
    nothing: &str,
) -> bool {
    let text = if !table.loaded() {
        strings::LOADING
    } else if table.visible().is_empty() {
        nothing
    } else {
        return false;
    };
    frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), area);
    true
}

/// Renders `rows` under `header` with the selection and marks of `source`.
pub(super) fn render_table<R: table::Row>(
    frame: &mut Frame,
    area: Rect,
    source: &table::Table<R>,
    header: &[&str],
    widths: &[Constraint],
    rows: Vec<Row<'static>>,
) {
    let area = if source.more {
        let [table, note] =
            Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(area);
        frame.render_widget(Paragraph::new(strings::MORE_ROWS), note);
        table
    } else {
        area
    };
    let table = Table::new(rows, widths.iter().copied())
        .header(Row::new(header.iter().map(|h| (*h).to_owned())).style(BOLD))
        .row_highlight_style(SELECTED)
        .column_spacing(1);
    let mut state = TableState::default().with_selected(Some(source.selected_index()));
    frame.render_stateful_widget(table, area, &mut state);
}

/// `*` before marked rows.
fn mark<R: table::Row>(source: &table::Table<R>, row: &R) -> String {
    if source.is_marked(row) { "*" } else { " " }.to_owned()
}

fn overview(frame: &mut Frame, area: Rect, app: &App, theme: Theme, now: DateTime<Utc>) {
    let Some(o) = &app.overview else {
        frame.render_widget(Paragraph::new(strings::LOADING), area);
        return;
    };
    let rate = app.rate_series(now);
    let summary = summary(o, &rate, theme);
    let [text, live_chart, hour_title, hour_chart, table_area] = Layout::vertical([
        Constraint::Length(5),
        Constraint::Length(3),
        Constraint::Length(1),
        Constraint::Length(2),
        Constraint::Min(2),
    ])
    .areas(area);
    frame.render_widget(Paragraph::new(summary), text);
    frame.render_widget(
        Sparkline::default()
            .data(&rate)
            .style(theme.fg(Color::Cyan)),
        live_chart,
    );
    frame.render_widget(
        Line::from(vec![
            Span::styled("last hour  ", BOLD),
            Span::raw("attempts per 5 minutes"),
        ]),
        hour_title,
    );
    frame.render_widget(
        Sparkline::default()
            .data(&o.series.attempts)
            .style(theme.fg(Color::Cyan)),
        hour_chart,
    );
    worst_endpoints(frame, table_area, o, theme, now);
}

/// The overview's text: endpoints by state, the hour and the day, what waits.
fn summary(o: &Overview, rate: &[u64], theme: Theme) -> Vec<Line<'static>> {
    let e = &o.endpoints;
    let window = |w: &hookwire_protocol::stats::WindowSummary| {
        format!(
            "{:>8} attempts  {:>6} ok  p50 {} ms  p95 {} ms  p99 {} ms",
            w.attempts,
            percent(w.success_rate),
            millis(w.latency_ms.p50),
            millis(w.latency_ms.p95),
            millis(w.latency_ms.p99),
        )
    };
    let count = |n: u64, color: Color| {
        let style = if n > 0 { theme.fg(color) } else { Style::new() };
        Span::styled(n.to_string(), style)
    };
    let last = rate.iter().rev().nth(1).copied().unwrap_or(0);
    vec![
        Line::from(vec![
            Span::styled("endpoints  ", BOLD),
            Span::raw(format!("{} total  {} active  ", e.total, e.active)),
            count(e.paused, Color::Yellow),
            Span::raw(" paused  "),
            count(e.disabled, Color::Red),
            Span::raw(" disabled  "),
            count(e.pending_verification, Color::Yellow),
            Span::raw(" unverified  "),
            count(e.failing, Color::Red),
            Span::raw(" failing"),
        ]),
        Line::from(vec![
            Span::styled("last hour  ", BOLD),
            Span::raw(window(&o.windows.hour)),
        ]),
        Line::from(vec![
            Span::styled("last day   ", BOLD),
            Span::raw(window(&o.windows.day)),
        ]),
        Line::from(vec![
            Span::styled("waiting    ", BOLD),
            count(o.dead_letters, Color::Red),
            Span::raw(" dead letters  "),
            count(o.held, Color::Yellow),
            Span::raw(format!(
                " held  {} retries (all tenants)",
                o.retries_waiting_all_tenants,
            )),
        ]),
        Line::from(vec![
            Span::styled("live       ", BOLD),
            Span::raw(format!("{last} attempts/s (last {RATE_SECONDS} s below)")),
        ]),
    ]
}

/// The endpoints that need a look: failing or least successful first.
fn worst_endpoints(
    frame: &mut Frame,
    table_area: Rect,
    o: &Overview,
    theme: Theme,
    now: DateTime<Utc>,
) {
    let mut lines: Vec<&EndpointLine> = o.per_endpoint.iter().collect();
    lines.sort_by(|a, b| {
        let key = |l: &EndpointLine| (!l.failing, l.success_rate_24h.unwrap_or(2.0));
        key(a)
            .partial_cmp(&key(b))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let rows = lines.iter().map(|l| {
        let state = l.status.as_str();
        Row::new(vec![
            l.id.clone(),
            state.to_owned(),
            percent(l.success_rate_24h),
            millis(l.p95_ms_24h),
            ago(l.last_attempt_at, now),
            l.dead_letters.to_string(),
        ])
        .style(if l.failing {
            theme.fg(Color::Red)
        } else {
            theme.state(state)
        })
    });
    let table = Table::new(
        rows,
        [
            Constraint::Length(28),
            Constraint::Length(20),
            Constraint::Length(7),
            Constraint::Length(6),
            Constraint::Length(6),
            Constraint::Length(5),
        ],
    )
    .header(Row::new(["ENDPOINT", "STATUS", "OK 24H", "P95", "LAST", "DEAD"]).style(BOLD));
    frame.render_widget(table, table_area);
}

fn endpoints(frame: &mut Frame, area: Rect, app: &App, theme: Theme, now: DateTime<Utc>) {
    let nothing = if app.readonly {
        strings::NO_ENDPOINTS_READONLY
    } else {
        strings::NO_ENDPOINTS
    };
    if empty(frame, area, &app.endpoints, nothing) {
        return;
    }
    let rows = app
        .endpoints
        .visible()
        .into_iter()
        .map(|e| {
            let line = app.endpoint_line(&e.id);
            let state = e.delivery_state();
            let types = if e.event_types.is_empty() {
                "*".to_owned()
            } else {
                let names: Vec<&str> = e
                    .event_types
                    .iter()
                    .map(hookwire_protocol::EventTypeFilter::as_str)
                    .collect();
                names.join(",")
            };
            Row::new(vec![
                e.id.clone(),
                short_state(state).to_owned(),
                types,
                percent(line.and_then(|l| l.success_rate_24h)),
                millis(line.and_then(|l| l.p95_ms_24h)),
                ago(line.and_then(|l| l.last_attempt_at), now),
                e.url.clone(),
            ])
            .style(theme.state(state))
        })
        .collect();
    let mut header = ["ID", "STATUS", "TYPES", "OK 24H", "P95", "LAST", "URL"].map(String::from);
    let sorted = match app.endpoint_sort {
        EndpointSort::Id => 0,
        EndpointSort::Status => 1,
        EndpointSort::Success => 3,
        EndpointSort::P95 => 4,
        EndpointSort::LastAttempt => 5,
    };
    header[sorted].push('↓');
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    render_table(
        frame,
        area,
        &app.endpoints,
        &header,
        &[
            Constraint::Length(27),
            Constraint::Length(8),
            Constraint::Length(10),
            Constraint::Length(6),
            Constraint::Length(5),
            Constraint::Length(4),
            Constraint::Fill(1),
        ],
        rows,
    );
}

/// Endpoint states in at most 8 characters.
fn short_state(state: &str) -> &str {
    match state {
        "pending_verification" => "unverif.",
        "half_open" => "probing",
        other => other,
    }
}

fn live(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let attempts = app.visible_attempts();
    if attempts.is_empty() {
        frame.render_widget(Paragraph::new(strings::NO_ATTEMPTS), area);
        return;
    }
    // Only the rows that fit are built: a 2,000-row tail costs one screen per frame.
    let height = usize::from(area.height.saturating_sub(1)).max(1);
    let offset = app.live_selected.saturating_sub(height - 1);
    let rows = attempts.iter().skip(offset).take(height).map(|a| {
        let result = a.response.as_ref().map_or_else(
            || {
                a.error
                    .as_ref()
                    .map_or_else(String::new, |e| e.kind.as_str().to_owned())
            },
            |r| r.status.to_string(),
        );
        let test = if a.test { " test" } else { "" };
        Row::new(vec![
            a.at.format("%H:%M:%S").to_string(),
            a.endpoint_id.clone(),
            a.event_id.clone(),
            a.event_type.clone(),
            format!("#{} {result}{test}", a.attempt),
            format!("{:.0}", a.latency_ms),
        ])
        .style(theme.outcome(a.outcome))
    });
    let table = Table::new(
        rows,
        [
            Constraint::Length(8),
            Constraint::Length(16),
            Constraint::Fill(1),
            Constraint::Length(16),
            Constraint::Length(14),
            Constraint::Length(5),
        ],
    )
    .header(Row::new(["TIME", "ENDPOINT", "EVENT", "TYPE", "RESULT", "MS"]).style(BOLD))
    .row_highlight_style(SELECTED);
    let mut state = TableState::default().with_selected(Some(app.live_selected - offset));
    frame.render_stateful_widget(table, area, &mut state);
}

/// A deliveries table (the search view, and an endpoint's recent deliveries).
pub(super) fn deliveries(
    frame: &mut Frame,
    area: Rect,
    source: &table::Table<DeliveryRecord>,
    theme: Theme,
    now: DateTime<Utc>,
) {
    if empty(frame, area, source, strings::NO_DELIVERIES) {
        return;
    }
    let rows = source
        .visible()
        .into_iter()
        .map(|d| {
            let state = d.state.as_str();
            let last = match (d.last_status, d.last_error) {
                (Some(status), _) => status.to_string(),
                (None, Some(kind)) => kind.as_str().to_owned(),
                (None, None) => "-".to_owned(),
            };
            Row::new(vec![
                ago(Some(d.updated_at), now),
                d.endpoint_id.clone(),
                d.event_id.clone(),
                d.event_type.clone(),
                state.to_owned(),
                d.attempts.to_string(),
                last,
            ])
            .style(theme.state(state))
        })
        .collect();
    render_table(
        frame,
        area,
        source,
        &["AGO", "ENDPOINT", "EVENT", "TYPE", "STATE", "TRIES", "LAST"],
        &[
            Constraint::Length(4),
            Constraint::Length(16),
            Constraint::Fill(1),
            Constraint::Length(16),
            Constraint::Length(9),
            Constraint::Length(5),
            Constraint::Length(8),
        ],
        rows,
    );
}

fn dead_letters(frame: &mut Frame, area: Rect, app: &App, now: DateTime<Utc>) {
    let source = &app.dead_letters;
    if empty(frame, area, source, strings::NO_DEAD_LETTERS) {
        return;
    }
    let rows = source
        .visible()
        .into_iter()
        .map(|d| {
            Row::new(vec![
                mark(source, d),
                d.seq.to_string(),
                ago(Some(d.dead_at), now),
                d.endpoint_id.clone(),
                d.event_id.clone(),
                d.event_type.clone(),
                d.attempts.to_string(),
                d.last_error.clone().unwrap_or_else(|| "-".to_owned()),
            ])
        })
        .collect();
    render_table(
        frame,
        area,
        source,
        &[
            "", "SEQ", "AGO", "ENDPOINT", "EVENT", "TYPE", "TRIES", "ERROR",
        ],
        &[
            Constraint::Length(1),
            Constraint::Length(6),
            Constraint::Length(4),
            Constraint::Length(16),
            Constraint::Fill(1),
            Constraint::Length(14),
            Constraint::Length(5),
            Constraint::Fill(1),
        ],
        rows,
    );
}

fn types(frame: &mut Frame, area: Rect, app: &App) {
    if empty(frame, area, &app.types, strings::NO_TYPES) {
        return;
    }
    let rows = app
        .types
        .visible()
        .into_iter()
        .map(|t| {
            let flags = [
                (t.validate, "validates"),
                (t.deprecated_at.is_some(), "deprecated"),
                (t.schema.is_some(), "schema"),
            ]
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, name)| *name)
            .collect::<Vec<_>>()
            .join(",");
            Row::new(vec![
                t.name.clone(),
                format!("v{}", t.version),
                flags,
                t.description.clone(),
            ])
        })
        .collect();
    render_table(
        frame,
        area,
        &app.types,
        &["NAME", "VER", "FLAGS", "DESCRIPTION"],
        &[
            Constraint::Length(24),
            Constraint::Length(4),
            Constraint::Length(26),
            Constraint::Fill(1),
        ],
        rows,
    );
}

fn replays(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    if empty(frame, area, &app.replays, strings::NO_REPLAYS) {
        return;
    }
    let rows = app
        .replays
        .visible()
        .into_iter()
        .map(|j| {
            let state = j.state.as_str();
            Row::new(vec![
                j.id.clone(),
                j.endpoint_id.clone(),
                state.to_owned(),
                j.scanned.to_string(),
                j.queued.to_string(),
                format!(
                    "{} … {}",
                    strings::short_time(Some(j.since)),
                    strings::short_time(Some(j.until))
                ),
            ])
            .style(theme.state(state))
        })
        .collect();
    render_table(
        frame,
        area,
        &app.replays,
        &["JOB", "ENDPOINT", "STATE", "SCANNED", "QUEUED", "WINDOW"],
        &[
            Constraint::Length(16),
            Constraint::Length(16),
            Constraint::Length(9),
            Constraint::Length(7),
            Constraint::Length(6),
            Constraint::Fill(1),
        ],
        rows,
    );
}

fn audit(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    if empty(frame, area, &app.audit, strings::NO_AUDIT) {
        return;
    }
    let rows = app
        .audit
        .visible()
        .into_iter()
        .map(|entry| {
            let r = &entry.record;
            let state = if r.outcome == "ok" {
                "succeeded"
            } else {
                "dead"
            };
            let who = match r.requester.source {
                RequesterSource::Declared => {
                    format!("{} {}", r.requester.name, strings::DECLARED)
                }
                _ => r.requester.name.clone(),
            };
            Row::new(vec![
                strings::short_time(Some(r.at)),
                r.action.clone(),
                r.target.clone().unwrap_or_else(|| "-".to_owned()),
                r.outcome.clone(),
                who,
            ])
            .style(theme.state(state))
        })
        .collect();
    render_table(
        frame,
        area,
        &app.audit,
        &["AT", "ACTION", "TARGET", "OUTCOME", "REQUESTER"],
        &[
            Constraint::Length(11),
            Constraint::Fill(2),
            Constraint::Length(14),
            Constraint::Length(15),
            Constraint::Fill(1),
        ],
        rows,
    );
}

fn sources(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    if empty(frame, area, &app.sources, strings::NO_SOURCES) {
        return;
    }
    let rows = app
        .sources
        .visible()
        .into_iter()
        .map(|view| {
            let s = &view.source;
            let networks = if s.allowed_networks.is_empty() {
                "any".to_owned()
            } else {
                s.allowed_networks.len().to_string()
            };
            Row::new(vec![
                s.name.clone(),
                s.verification.name().to_owned(),
                if s.active { "yes" } else { "no" }.to_owned(),
                format!("{}/min", s.rate_limit_per_minute),
                networks,
                s.subject.clone(),
                view.url.clone().unwrap_or_else(|| view.path.clone()),
            ])
            .style(theme.state(if s.active { "succeeded" } else { "paused" }))
        })
        .collect();
    render_table(
        frame,
        area,
        &app.sources,
        &[
            "NAME", "SCHEME", "ACTIVE", "RATE", "NETWORKS", "SUBJECT", "URL",
        ],
        &[
            Constraint::Length(16),
            Constraint::Length(9),
            Constraint::Length(6),
            Constraint::Length(11),
            Constraint::Length(8),
            Constraint::Fill(1),
            Constraint::Fill(2),
        ],
        rows,
    );
}
