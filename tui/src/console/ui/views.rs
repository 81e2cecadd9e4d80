//! The seven views: overview, endpoints, live, deliveries, dead letters, types, replays.

use chrono::{DateTime, Utc};
use hookwire_protocol::audit::RequesterSource;
use hookwire_protocol::delivery::DeliveryRecord;
use hookwire_protocol::ordered::BlockedKey;
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
        View::Deliveries => {
            deliveries(
                frame,
                area,
                &app.deliveries,
                &app.deliveries_search,
                theme,
                now,
            );
        }
        View::DeadLetters => dead_letters(frame, area, app, now),
        View::Types => types(frame, area, app),
        View::Replays => replays(frame, area, app, theme),
        View::Audit => audit(frame, area, app, theme),
        View::Sources => sources(frame, area, app, theme),
        View::Templates => templates(frame, area, app),
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
        strings::LOADING.to_owned()
    } else if !table.visible().is_empty() {
        return false;
    } else if table.filter.is_empty() {
        nothing.to_owned()
    } else {
        strings::nothing_matches(&table.filter)
    };
    frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), area);
    true
}

/// The line under a list: where the selection stands among the rows shown, the filter
/// that narrows them, and whether the server has more.
fn list_note(
    frame: &mut Frame,
    area: Rect,
    position: usize,
    shown: usize,
    total: usize,
    filter: &str,
    more: bool,
) -> Rect {
    if area.height < 3 {
        return area;
    }
    let [rows, note] = Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(area);
    frame.render_widget(
        Line::styled(
            strings::list_note(position, shown, total, filter, more),
            BOLD,
        ),
        note,
    );
    rows
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
    render_searched_table(frame, area, source, &source.filter, header, widths, rows);
}

/// [`render_table`] for a list the server searched: `search` is what it was asked for.
fn render_searched_table<R: table::Row>(
    frame: &mut Frame,
    area: Rect,
    source: &table::Table<R>,
    search: &str,
    header: &[&str],
    widths: &[Constraint],
    rows: Vec<Row<'static>>,
) {
    let shown = source.visible().len();
    let area = list_note(
        frame,
        area,
        source.selected_index() + 1,
        shown,
        source.len(),
        search,
        source.more,
    );
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
        Constraint::Length(u16::try_from(summary.len()).unwrap_or(5)),
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
    let mut lines = vec![
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
    ];
    let with_objective = o.per_endpoint.iter().filter(|l| l.slo.is_some()).count();
    if with_objective > 0 {
        lines.push(Line::from(vec![
            Span::styled("objectives ", BOLD),
            count(e.missing_slo, Color::Red),
            Span::raw(format!(
                " of {with_objective} endpoints below their delivery objective"
            )),
        ]));
    }
    lines
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
    // Narrow terminals leave out the types (the endpoint page shows them): the id and the
    // URL need the room.
    let with_types = area.width >= WIDE;
    let endpoints = app.endpoints.visible();
    let id_width = column_width(endpoints.iter().map(|e| e.id.as_str()), 27);
    let rows = endpoints
        .into_iter()
        .map(|e| {
            let line = app.endpoint_line(&e.id);
            let state = e.delivery_state();
            let mut cells = vec![e.id.clone(), short_state(state).to_owned()];
            if with_types {
                cells.push(if e.event_types.is_empty() {
                    "*".to_owned()
                } else {
                    let names: Vec<&str> = e
                        .event_types
                        .iter()
                        .map(hookwire_protocol::EventTypeFilter::as_str)
                        .collect();
                    names.join(",")
                });
            }
            cells.extend([
                percent(line.and_then(|l| l.success_rate_24h)),
                millis(line.and_then(|l| l.p95_ms_24h)),
                ago(line.and_then(|l| l.last_attempt_at), now),
                e.url.clone(),
            ]);
            Row::new(cells).style(theme.state(state))
        })
        .collect();
    let mut header: Vec<String> = ["ID", "STATUS", "TYPES", "OK 24H", "P95", "LAST", "URL"]
        .map(String::from)
        .into();
    let sorted = match app.endpoint_sort {
        EndpointSort::Id => 0,
        EndpointSort::Status => 1,
        EndpointSort::Success => 3,
        EndpointSort::P95 => 4,
        EndpointSort::LastAttempt => 5,
    };
    header[sorted].push('↓');
    // Every column has room for its name and the sort marker.
    let mut widths = vec![
        Constraint::Length(id_width.max(3)),
        Constraint::Length(8),
        Constraint::Length(12),
        Constraint::Length(7),
        Constraint::Length(5),
        Constraint::Length(5),
        Constraint::Fill(1),
    ];
    if !with_types {
        header.remove(2);
        widths.remove(2);
    }
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    render_table(frame, area, &app.endpoints, &header, &widths, rows);
}

/// The endpoint-id column of the attempt, delivery and dead-letter lists: whole ids on
/// wide terminals, `fit_id` shortened ones on narrow ones.
fn endpoint_column(area: Rect) -> usize {
    if area.width >= WIDE + 20 { 27 } else { 16 }
}

fn width_of(columns: usize) -> Constraint {
    Constraint::Length(u16::try_from(columns).unwrap_or(u16::MAX))
}

/// Terminals at least this wide get the optional columns.
const WIDE: u16 = 100;

/// A column as wide as its longest value, at most `max`.
fn column_width<'a>(values: impl Iterator<Item = &'a str>, max: usize) -> u16 {
    let longest = values.map(|v| v.chars().count()).max().unwrap_or(0);
    u16::try_from(longest.min(max)).unwrap_or(u16::MAX)
}

/// An id in `width` columns: whole when it fits, else its start and end around `…`, so
/// ids that share a prefix stay apart.
pub(super) fn fit_id(id: &str, width: usize) -> String {
    let count = id.chars().count();
    if count <= width || width < 5 {
        return id.to_owned();
    }
    let tail = (width - 1) / 2;
    let head = width - 1 - tail;
    let start: String = id.chars().take(head).collect();
    let end: String = id.chars().skip(count - tail).collect();
    format!("{start}…{end}")
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
        let text = if app.live_filter_text.is_empty() {
            strings::NO_ATTEMPTS.to_owned()
        } else {
            strings::nothing_matches(&app.live_filter_text)
        };
        frame.render_widget(Paragraph::new(text), area);
        return;
    }
    let area = list_note(
        frame,
        area,
        app.live_selected + 1,
        attempts.len(),
        app.live.len(),
        &app.live_filter_text,
        false,
    );
    let endpoint_width = endpoint_column(area);
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
            fit_id(&a.endpoint_id, endpoint_width),
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
            width_of(endpoint_width),
            Constraint::Fill(1),
            Constraint::Length(16),
            Constraint::Length(14),
            Constraint::Length(5),
        ],
    )
    .header(Row::new(["UTC", "ENDPOINT", "EVENT", "TYPE", "RESULT", "MS"]).style(BOLD))
    .row_highlight_style(SELECTED);
    let mut state = TableState::default().with_selected(Some(app.live_selected - offset));
    frame.render_stateful_widget(table, area, &mut state);
}

/// A deliveries table (the search view, and an endpoint's recent deliveries).
pub(super) fn deliveries(
    frame: &mut Frame,
    area: Rect,
    source: &table::Table<DeliveryRecord>,
    search: &str,
    theme: Theme,
    now: DateTime<Utc>,
) {
    if empty(frame, area, source, strings::NO_DELIVERIES) {
        return;
    }
    let endpoint_width = endpoint_column(area);
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
                fit_id(&d.endpoint_id, endpoint_width),
                d.event_id.clone(),
                d.event_type.clone(),
                state.to_owned(),
                d.attempts.to_string(),
                last,
            ])
            .style(theme.state(state))
        })
        .collect();
    render_searched_table(
        frame,
        area,
        source,
        search,
        &["AGO", "ENDPOINT", "EVENT", "TYPE", "STATE", "TRIES", "LAST"],
        &[
            Constraint::Length(4),
            width_of(endpoint_width),
            Constraint::Fill(1),
            Constraint::Length(16),
            Constraint::Length(9),
            Constraint::Length(5),
            Constraint::Length(8),
        ],
        rows,
    );
}

/// An ordered endpoint's blocked keys, longest waiting first.
pub(super) fn blocked_keys(
    frame: &mut Frame,
    area: Rect,
    source: &table::Table<BlockedKey>,
    theme: Theme,
    now: DateTime<Utc>,
) {
    if empty(frame, area, source, strings::NO_BLOCKED_KEYS) {
        return;
    }
    let rows = source
        .visible()
        .into_iter()
        .map(|k| {
            Row::new(vec![
                ago(Some(k.since), now),
                if k.key.is_empty() {
                    strings::EMPTY_KEY.to_owned()
                } else {
                    k.key.clone()
                },
                k.event_id.clone(),
                k.attempts.to_string(),
                k.next_attempt_at
                    .map_or_else(|| "-".to_owned(), |at| ago(Some(now), at)),
                k.last_error.clone().unwrap_or_default(),
            ])
            .style(theme.state("failed"))
        })
        .collect();
    render_table(
        frame,
        area,
        source,
        &[
            "WAITS",
            "KEY",
            "HEAD EVENT",
            "TRIES",
            "NEXT IN",
            "LAST ERROR",
        ],
        &[
            Constraint::Length(5),
            Constraint::Length(20),
            Constraint::Length(24),
            Constraint::Length(5),
            Constraint::Length(7),
            Constraint::Fill(1),
        ],
        rows,
    );
}

fn dead_letters(frame: &mut Frame, area: Rect, app: &App, now: DateTime<Utc>) {
    let source = &app.dead_letters;
    if empty(frame, area, source, strings::NO_DEAD_LETTERS) {
        return;
    }
    let endpoint_width = endpoint_column(area);
    let rows = source
        .visible()
        .into_iter()
        .map(|d| {
            Row::new(vec![
                mark(source, d),
                d.seq.to_string(),
                ago(Some(d.dead_at), now),
                fit_id(&d.endpoint_id, endpoint_width),
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
            width_of(endpoint_width),
            Constraint::Fill(1),
            Constraint::Length(14),
            Constraint::Length(5),
            Constraint::Fill(1),
        ],
        rows,
    );
}

fn templates(frame: &mut Frame, area: Rect, app: &App) {
    let nothing = if app.readonly {
        strings::NO_TEMPLATES_READONLY
    } else {
        strings::NO_TEMPLATES
    };
    if empty(frame, area, &app.templates, nothing) {
        return;
    }
    let rows = app
        .templates
        .visible()
        .into_iter()
        .map(|t| {
            Row::new(vec![
                t.name.clone(),
                format!("v{}", t.latest),
                t.format.as_str().to_owned(),
                t.pinned_by.to_string(),
                t.preset.clone().unwrap_or_default(),
                t.description.clone(),
            ])
        })
        .collect();
    render_table(
        frame,
        area,
        &app.templates,
        &[
            "NAME",
            "LATEST",
            "FORMAT",
            "PINNED",
            "PRESET",
            "DESCRIPTION",
        ],
        &[
            Constraint::Length(24),
            Constraint::Length(6),
            Constraint::Length(6),
            Constraint::Length(6),
            Constraint::Length(12),
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
            // The marker goes first, so a narrow column never cuts it off.
            let who = match r.requester.source {
                RequesterSource::Declared => {
                    format!("{} {}", strings::DECLARED, r.requester.name)
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
            Constraint::Length(15),
            Constraint::Fill(1),
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
