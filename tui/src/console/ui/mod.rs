//! Drawing: a header with the views, the tenant and the connection, the current view or
//! page, a footer with the prompt or the last status, and the overlays (help, confirm,
//! form, new secret). Colours only mark outcomes and states, the selection is reversed (so
//! it reads on light and dark themes), and `NO_COLOR` turns colours off.

mod pages;
mod views;

use hookwire_protocol::attempt::Outcome;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::app::{App, Mode, VIEWS};
use super::form::Form;
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

    fn outcome(self, outcome: Outcome) -> Style {
        match outcome {
            Outcome::Succeeded => self.fg(Color::Green),
            Outcome::Dead => self.fg(Color::Red).add_modifier(Modifier::BOLD),
            Outcome::Retrying => self.fg(Color::Yellow),
        }
    }

    /// The style of a delivery state or endpoint state word.
    fn state(self, state: &str) -> Style {
        match state {
            "succeeded" | "active" | "completed" => self.fg(Color::Green),
            "retrying" | "paused" | "pending_verification" | "running" | "half_open" => {
                self.fg(Color::Yellow)
            }
            "dead" | "disabled" | "failed" | "open" => self.fg(Color::Red),
            _ => Style::new(),
        }
    }
}

const SELECTED: Style = Style::new().add_modifier(Modifier::REVERSED);
const BOLD: Style = Style::new().add_modifier(Modifier::BOLD);
const SPINNER: [&str; 4] = ["◐", "◓", "◑", "◒"];

/// Draws the whole console as of `now` (ages are relative to it).
pub(crate) fn draw(frame: &mut Frame, app: &App, theme: Theme, now: chrono::DateTime<chrono::Utc>) {
    let [header, body, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    draw_header(frame, header, app, theme);
    match app.pages.last() {
        Some(page) => pages::draw(frame, body, page, theme, now),
        None => views::draw(frame, body, app, theme, now),
    }
    draw_footer(frame, footer, app);
    match &app.mode {
        Mode::Help { scroll } => draw_help(frame, app.readonly, *scroll),
        Mode::Messages { scroll } => draw_messages(frame, app, *scroll),
        Mode::Confirm(action) => {
            let question = action.confirmation().unwrap_or_default();
            draw_confirm(frame, &question);
        }
        Mode::Form(form) => draw_form(frame, form, theme),
        Mode::Secret { id, secret } => draw_secret(frame, id, secret),
        Mode::Normal | Mode::Filter(_) | Mode::Command(_) => {}
    }
}

fn draw_header(frame: &mut Frame, area: Rect, app: &App, theme: Theme) {
    let (text, style) = match app.connected {
        None => (strings::CONNECTING, theme.fg(Color::Yellow)),
        Some(true) => (strings::CONNECTED, theme.fg(Color::Green)),
        Some(false) => (strings::DISCONNECTED, theme.fg(Color::Red)),
    };
    let mut right = Vec::new();
    if app.pending > 0 {
        right.push(Span::raw(SPINNER[app.spinner % SPINNER.len()]));
        right.push(Span::raw(" "));
    }
    right.push(Span::styled(text, style));
    if app.readonly {
        right.push(Span::raw(" "));
        right.push(Span::styled(strings::READONLY_BADGE, BOLD));
    }
    let left = vec![
        Span::styled(strings::TITLE, BOLD),
        Span::raw(format!(" {} ", app.tenant)),
    ];
    // Every view's name when they fit, else the others' names shortened, else the current
    // one's name and the others' numbers.
    let used = Line::from(left.clone()).width() + Line::from(right.clone()).width() + 1;
    let fits = |tabs: &Vec<Span<'static>>| {
        Line::from(tabs.clone()).width() + used <= usize::from(area.width)
    };
    let tabs = [None, Some(SHORT_NAME), Some(0)]
        .into_iter()
        .map(|others| view_tabs(app, others))
        .find(&fits)
        .unwrap_or_else(|| view_tabs(app, Some(0)));
    let mut spans = left;
    spans.extend(tabs);
    spans.push(Span::raw(" "));
    spans.extend(right);
    frame.render_widget(Line::from(spans), area);
}

/// How many letters of a view's name the shortened tab bar keeps.
const SHORT_NAME: usize = 4;

/// The tab bar: the current view with its name, the others with at most `others` letters
/// of theirs (`None`: whole, `Some(0)`: only the number).
fn view_tabs(app: &App, others: Option<usize>) -> Vec<Span<'static>> {
    VIEWS
        .iter()
        .zip(strings::VIEWS)
        .enumerate()
        .map(|(i, (view, name))| {
            // Views are numbered by their keys: 1 to 9, then 0.
            let key = (i + 1) % 10;
            if *view == app.view {
                return Span::styled(format!("{key}:{name}"), SELECTED);
            }
            match others {
                None => Span::raw(format!("{key}:{name}")),
                Some(0) => Span::raw(format!("{key}")),
                Some(letters) => {
                    let short: String = name.chars().take(letters).collect();
                    Span::raw(format!("{key}:{short}"))
                }
            }
        })
        .flat_map(|tab| [tab, Span::raw(" ")])
        .collect()
}

fn draw_footer(frame: &mut Frame, area: Rect, app: &App) {
    let frozen = app.frozen && app.view == super::app::View::Live;
    let mut spans = Vec::new();
    if frozen && !matches!(app.mode, Mode::Filter(_) | Mode::Command(_)) {
        spans.push(Span::styled(strings::frozen(app.held_back.len()), BOLD));
        spans.push(Span::raw("  "));
    }
    let text = match &app.mode {
        Mode::Filter(text) => format!("/{text}▏"),
        Mode::Command(text) => format!(":{text}▏"),
        _ => match &app.status {
            // A message longer than the line ends with a pointer to `:messages`.
            Some(status) => fitted(
                status,
                usize::from(area.width).saturating_sub(Line::from(spans.clone()).width()),
            ),
            None if frozen => String::new(),
            None => strings::HINT.to_owned(),
        },
    };
    spans.push(Span::raw(text));
    frame.render_widget(Line::from(spans), area);
}

/// `text` in at most `width` columns; when it is cut, it ends with a pointer to the
/// message history.
fn fitted(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let room = width.saturating_sub(strings::MORE_IN_MESSAGES.chars().count());
    let mut cut: String = text.chars().take(room).collect();
    cut.push_str(strings::MORE_IN_MESSAGES);
    cut
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

fn boxed(title: String) -> Block<'static> {
    Block::default().borders(Borders::ALL).title(title)
}

fn lines_height(lines: usize) -> u16 {
    u16::try_from(lines).unwrap_or(u16::MAX).saturating_add(2)
}

fn draw_help(frame: &mut Frame, readonly: bool, scroll: usize) {
    let lines: Vec<Line> = keys::help(readonly)
        .map(|(keys, what)| Line::from(format!("{keys:>9}  {what}")))
        .collect();
    scrolled_box(frame, strings::HELP_TITLE, lines, scroll);
}

fn draw_messages(frame: &mut Frame, app: &App, scroll: usize) {
    let lines: Vec<Line> = if app.messages.is_empty() {
        vec![Line::from(strings::NO_MESSAGES)]
    } else {
        app.messages
            .iter()
            .rev()
            .map(|(at, text)| Line::from(format!("{} {text}", at.format("%H:%M:%SZ"))))
            .collect()
    };
    scrolled_box(frame, strings::MESSAGES_TITLE, lines, scroll);
}

/// An overlay of `lines`, wrapped, as high as the screen allows, scrolled down by `scroll`
/// rows (kept so the last row stays in view); the title says where it stands when not all
/// fits.
fn scrolled_box(frame: &mut Frame, title: &str, lines: Vec<Line<'static>>, scroll: usize) {
    let text_width = frame.area().width.min(78).saturating_sub(2).max(1);
    let paragraph = Paragraph::new(lines).wrap(Wrap { trim: false });
    // Wrapped, a line takes as many rows as its words need at the box's width (ratatui's
    // own count, so the box and the text agree).
    let total = paragraph.line_count(text_width);
    let area = centered(frame, 78, lines_height(total));
    let inner = usize::from(area.height.saturating_sub(2)).max(1);
    let scroll = scroll.min(total.saturating_sub(inner));
    let title = if total > inner {
        strings::scrolled_title(title, scroll + 1, (scroll + inner).min(total), total)
    } else {
        title.to_owned()
    };
    let paragraph = paragraph
        .block(boxed(title))
        .scroll((u16::try_from(scroll).unwrap_or(u16::MAX), 0));
    frame.render_widget(Clear, area);
    frame.render_widget(paragraph, area);
}

fn draw_confirm(frame: &mut Frame, question: &str) {
    let area = centered(frame, 64, 6);
    frame.render_widget(Clear, area);
    let text = vec![
        Line::from(question.to_owned()),
        Line::from(strings::CONFIRM_HINT),
    ];
    frame.render_widget(
        Paragraph::new(text)
            .wrap(Wrap { trim: true })
            .block(boxed("confirm".to_owned())),
        area,
    );
}

fn draw_secret(frame: &mut Frame, id: &str, secret: &str) {
    let area = centered(frame, 72, 6);
    frame.render_widget(Clear, area);
    let text = vec![
        Line::styled(secret.to_owned(), BOLD),
        Line::from(""),
        Line::from(strings::SECRET_HINT),
    ];
    frame.render_widget(
        Paragraph::new(text)
            .wrap(Wrap { trim: false })
            .block(boxed(strings::new_secret(id))),
        area,
    );
}

fn draw_form(frame: &mut Frame, form: &Form, theme: Theme) {
    let mut lines = Vec::new();
    if let Some(error) = &form.error {
        lines.push(Line::styled(error.clone(), theme.fg(Color::Red)));
    }
    let area = centered(frame, 78, 0);
    let width = usize::from(area.width.saturating_sub(17)).max(8);
    for (i, field) in form.fields.iter().enumerate() {
        let focused = i == form.focus;
        let marker = if focused { "›" } else { " " };
        // Long values show their end, where the typing happens.
        let skip = field.value.chars().count().saturating_sub(width - 1);
        let mut value: String = field.value.chars().skip(skip).collect();
        if focused {
            value.push('▏');
        }
        let mut spans = vec![
            Span::raw(format!("{marker}{:>13} ", field.label)),
            Span::styled(value, if focused { BOLD } else { Style::new() }),
        ];
        if field.value.is_empty() && !focused {
            spans.push(Span::styled(
                field.hint,
                Style::new().add_modifier(Modifier::DIM),
            ));
        }
        lines.push(Line::from(spans));
        if let Some(error) = &field.error {
            lines.push(Line::styled(
                format!("{:>15}{error}", ""),
                theme.fg(Color::Red),
            ));
        }
    }
    lines.push(Line::from(""));
    lines.push(Line::from(if form.sending {
        strings::SENDING
    } else {
        strings::FORM_HINT
    }));
    let area = centered(frame, 78, lines_height(lines.len()));
    frame.render_widget(Clear, area);
    frame.render_widget(Paragraph::new(lines).block(boxed(form.title())), area);
}

/// A rate (0–1) as a percentage, `-` when absent.
fn percent(rate: Option<f64>) -> String {
    crate::output::percent(rate)
}

/// Milliseconds without decimals, `-` when absent.
fn millis(ms: Option<f64>) -> String {
    ms.map_or_else(|| "-".to_owned(), |ms| format!("{ms:.0}"))
}

/// How long ago a time was, shortly (`5s`, `3m`, `2h`, `4d`), `-` when absent.
fn ago(at: Option<chrono::DateTime<chrono::Utc>>, now: chrono::DateTime<chrono::Utc>) -> String {
    let Some(at) = at else {
        return "-".to_owned();
    };
    let secs = (now - at).num_seconds().max(0);
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m", secs / 60),
        3600..86_400 => format!("{}h", secs / 3600),
        _ => format!("{}d", secs / 86_400),
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
