//! Drawing: a header with the views and the connection, the current view, a footer with
//! the prompt or the last status, and the help and confirmation overlays. Colours only
//! mark outcomes and the selection (reversed, so it reads on light and dark themes), and
//! `NO_COLOR` turns them off.

use hookwire_protocol::attempt::Outcome;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Row, Table, TableState, Wrap};

use super::app::{App, Mode, View};
use super::{keys, strings};

/// Whether colours are used.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Theme {
    pub(crate) color: bool,
}

impl Theme {
    /// Colours unless `NO_COLOR` is set (to anything).
    pub(crate) fn from_env() -> Self {
        Self {
            color: std::env::var_os("NO_COLOR").is_none(),
        }
    }

    fn fg(self, color: Color) -> Style {
        if self.color {
            Style::new().fg(color)
        } else {
            Style::new()
        }
    }

    fn outcome(self, outcome: Outcome, failed: bool) -> Style {
        match (outcome, failed) {
            (Outcome::Succeeded, _) => self.fg(Color::Green),
            (Outcome::Dead, _) => self.fg(Color::Red).add_modifier(Modifier::BOLD),
            (Outcome::Retrying, _) => self.fg(Color::Yellow),
        }
    }
}

const SELECTED: Style = Style::new().add_modifier(Modifier::REVERSED);

/// Draws the whole console.
pub(crate) fn draw(frame: &mut Frame, app: &App, theme: Theme) {
    let [header, body, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    draw_header(frame, header, app, theme);
    match app.view {
        View::Endpoints => draw_endpoints(frame, body, app),
        View::Live => draw_live(frame, body, app, theme),
    }
    draw_footer(frame, footer, app);
    match &app.mode {
        Mode::Help => draw_help(frame),
        Mode::Confirm(action) => {
            let question = action.confirmation().unwrap_or_default();
            draw_confirm(frame, &question);
        }
        _ => {}
    }
}

fn draw_header(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let mut spans = vec![
        Span::styled(strings::TITLE, Style::new().add_modifier(Modifier::BOLD)),
        Span::raw(format!("  tenant {}  ", app.tenant)),
    ];
    for (i, name) in strings::VIEWS.iter().enumerate() {
        let current = matches!((i, app.view), (0, View::Endpoints) | (1, View::Live));
        let style = if current { SELECTED } else { Style::new() };
        spans.push(Span::styled(format!(" {} {name} ", i + 1), style));
    }
    let (text, style) = match app.connected {
        None => (strings::CONNECTING, theme.fg(Color::Yellow)),
        Some(true) => (strings::CONNECTED, theme.fg(Color::Green)),
        Some(false) => (strings::DISCONNECTED, theme.fg(Color::Red)),
    };
    spans.push(Span::raw("  "));
    spans.push(Span::styled(text, style));
    frame.render_widget(Line::from(spans), area);
}

fn draw_endpoints(frame: &mut Frame, area: Rect, app: &App) {
    let Some(_) = &app.endpoints else {
        frame.render_widget(Paragraph::new(strings::LOADING), area);
        return;
    };
    let visible = app.visible_endpoints();
    if visible.is_empty() {
        frame.render_widget(
            Paragraph::new(strings::NO_ENDPOINTS).wrap(Wrap { trim: true }),
            area,
        );
        return;
    }
    let rows = visible.iter().map(|e| {
        let text = |key: &str| e[key].as_str().unwrap_or("-").to_owned();
        let types = e["event_types"]
            .as_array()
            .map(|t| {
                t.iter()
                    .filter_map(|v| v.as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| "*".to_owned());
        Row::new(vec![
            text("id"),
            e["status"]["state"].as_str().unwrap_or("?").to_owned(),
            types,
            text("url"),
        ])
    });
    let table = Table::new(
        rows,
        [
            Constraint::Length(24),
            Constraint::Length(10),
            Constraint::Length(12),
            Constraint::Fill(1),
        ],
    )
    .header(
        Row::new(["ID", "STATUS", "TYPES", "URL"]).style(Style::new().add_modifier(Modifier::BOLD)),
    )
    .row_highlight_style(SELECTED);
    let selected = app
        .selected_endpoint
        .as_deref()
        .and_then(|id| visible.iter().position(|e| e["id"] == id));
    let mut state = TableState::default().with_selected(selected.or(Some(0)));
    frame.render_stateful_widget(table, area, &mut state);
}

fn draw_live(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let attempts = app.visible_attempts();
    if attempts.is_empty() {
        frame.render_widget(Paragraph::new(strings::NO_ATTEMPTS), area);
        return;
    }
    let rows = attempts.iter().map(|a| {
        let result = a.response.as_ref().map_or_else(
            || {
                a.error
                    .as_ref()
                    .map_or_else(String::new, |e| e.kind.as_str().to_owned())
            },
            |r| r.status.to_string(),
        );
        Row::new(vec![
            a.at.format("%H:%M:%S").to_string(),
            a.endpoint_id.clone(),
            a.event_id.clone(),
            a.event_type.clone(),
            format!("#{} {result}", a.attempt),
            format!("{:.0}", a.latency_ms),
        ])
        .style(theme.outcome(a.outcome, a.error.is_some()))
    });
    let table = Table::new(
        rows,
        [
            Constraint::Length(8),
            Constraint::Length(16),
            Constraint::Fill(1),
            Constraint::Length(16),
            Constraint::Length(10),
            Constraint::Length(5),
        ],
    )
    .header(
        Row::new(["TIME", "ENDPOINT", "EVENT", "TYPE", "RESULT", "MS"])
            .style(Style::new().add_modifier(Modifier::BOLD)),
    )
    .row_highlight_style(SELECTED);
    let mut state = TableState::default().with_selected(Some(app.live_selected));
    frame.render_stateful_widget(table, area, &mut state);
}

fn draw_footer(frame: &mut Frame, area: Rect, app: &App) {
    let text = match &app.mode {
        Mode::Filter(text) => format!("/{text}▏"),
        Mode::Command(text) => format!(":{text}▏"),
        _ => match (&app.status, app.frozen && app.view == View::Live) {
            (Some(status), _) => status.clone(),
            (None, true) => strings::FROZEN.to_owned(),
            (None, false) => strings::HINT.to_owned(),
        },
    };
    frame.render_widget(Paragraph::new(text), area);
}

/// A box of `width` × `height` in the middle of the screen (smaller screens: all of it).
fn centered(frame: &Frame, width: u16, height: u16) -> Rect {
    let area = frame.area();
    let (w, h) = (width.min(area.width), height.min(area.height));
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

fn draw_help(frame: &mut Frame) {
    let lines: Vec<Line> = keys::help()
        .map(|(keys, what)| Line::from(format!("{keys:>8}  {what}")))
        .collect();
    let height = u16::try_from(lines.len())
        .unwrap_or(u16::MAX)
        .saturating_add(2);
    let area = centered(frame, 64, height);
    frame.render_widget(Clear, area);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(strings::HELP_TITLE);
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

fn draw_confirm(frame: &mut Frame, question: &str) {
    let area = centered(frame, 60, 5);
    frame.render_widget(Clear, area);
    let block = Block::default().borders(Borders::ALL).title("confirm");
    let text = vec![
        Line::from(question.to_owned()),
        Line::from(strings::CONFIRM_HINT),
    ];
    frame.render_widget(
        Paragraph::new(text).wrap(Wrap { trim: true }).block(block),
        area,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::action::Action;
    use crate::console::app::Msg;
    use crate::console::filter::tests::attempt;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    use serde_json::json;

    fn screen(app: &App) -> Vec<String> {
        let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
        terminal
            .draw(|frame| draw(frame, app, Theme { color: false }))
            .unwrap();
        let buffer = terminal.backend().buffer().clone();
        (0..buffer.area.height)
            .map(|y| {
                (0..buffer.area.width)
                    .map(|x| buffer[(x, y)].symbol().to_owned())
                    .collect::<String>()
                    .trim_end()
                    .to_owned()
            })
            .collect()
    }

    fn app() -> App {
        let mut app = App::new("default".into(), false);
        app.connected = Some(true);
        app.on_msg(Msg::Endpoints(Ok(vec![
            json!({"id": "ep_billing", "url": "https://billing.example/hooks", "event_types": ["orders.>"], "status": {"state": "active"}}),
            json!({"id": "ep_crm", "url": "https://crm.example/in", "event_types": [], "status": {"state": "paused"}}),
        ])));
        app
    }

    #[test]
    fn the_endpoints_view_at_80x24() {
        let lines = screen(&app());
        assert_eq!(
            lines[0],
            "hookwire  tenant default   1 Endpoints  2 Live   connected"
        );
        assert_eq!(
            lines[1].split_whitespace().collect::<Vec<_>>(),
            ["ID", "STATUS", "TYPES", "URL"]
        );
        assert_eq!(
            lines[2].split_whitespace().collect::<Vec<_>>(),
            [
                "ep_billing",
                "active",
                "orders.>",
                "https://billing.example/hooks"
            ]
        );
        assert_eq!(
            lines[3].split_whitespace().collect::<Vec<_>>(),
            ["ep_crm", "paused", "*", "https://crm.example/in"]
        );
        assert_eq!(lines[23], strings::HINT);
    }

    #[test]
    fn the_live_view_shows_newest_first_with_results() {
        let mut app = app();
        app.view = View::Live;
        app.on_msg(Msg::Attempt(Box::new(attempt(
            "ep_billing",
            "orders.paid",
            Some(200),
        ))));
        app.on_msg(Msg::Attempt(Box::new(attempt(
            "ep_crm",
            "users.new",
            Some(503),
        ))));
        let lines = screen(&app);
        let row = |n: usize| lines[n].split_whitespace().skip(1).collect::<Vec<_>>();
        assert_eq!(
            row(2),
            ["ep_crm", "evt-ep_crm", "users.new", "#1", "503", "3"]
        );
        assert_eq!(
            row(3),
            [
                "ep_billing",
                "evt-ep_billing",
                "orders.paid",
                "#1",
                "200",
                "3"
            ]
        );
    }

    #[test]
    fn confirmations_and_help_overlay_the_view() {
        let mut app = app();
        app.mode = Mode::Confirm(Action::Delete("ep_crm".into()));
        let text = screen(&app).join("\n");
        assert!(text.contains("Delete endpoint ep_crm?"), "{text}");
        assert!(text.contains(strings::CONFIRM_HINT));
        app.mode = Mode::Help;
        let text = screen(&app).join("\n");
        assert!(text.contains("rotate secret (asks first)"), "{text}");
    }

    #[test]
    fn empty_and_loading_states_say_so() {
        let mut app = App::new("default".into(), false);
        assert!(screen(&app)[1].contains(strings::LOADING));
        assert!(screen(&app)[0].contains(strings::CONNECTING));
        app.on_msg(Msg::Endpoints(Ok(Vec::new())));
        assert!(screen(&app).join(" ").contains("no endpoints"));
        app.view = View::Live;
        assert!(screen(&app)[1].contains(strings::NO_ATTEMPTS));
    }
}
