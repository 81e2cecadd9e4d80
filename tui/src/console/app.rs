//! The console's state and what keys and data do to it. No I/O: the run loop sends the
//! [`Request`]s this returns and feeds back what arrives as [`Msg`]s, so every behaviour
//! here is tested without a terminal.

use std::collections::VecDeque;

use hookwire_protocol::attempt::AttemptRecord;
use serde_json::Value;

use super::action::Action;
use super::filter::LiveFilter;
use super::keys::Key;
use super::strings;

/// Attempts the live view keeps.
const LIVE_CAPACITY: usize = 2000;
const PAGE: usize = 10;

/// The views, in tab order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum View {
    Endpoints,
    Live,
}

const VIEWS: [View; 2] = [View::Endpoints, View::Live];

/// What the keyboard is doing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Mode {
    Normal,
    /// Typing a filter after `/`.
    Filter(String),
    /// Typing a command after `:`.
    Command(String),
    /// Asking before a destructive action.
    Confirm(Action),
    Help,
}

/// Work for the run loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Request {
    LoadEndpoints,
    Perform(Action),
    SwitchTenant(String),
}

/// What arrives from NATS.
#[derive(Debug)]
pub(crate) enum Msg {
    Connected(bool),
    Endpoints(Result<Vec<Value>, String>),
    Attempt(Box<AttemptRecord>),
    Done(Action, Result<Value, String>),
}

/// The whole console state.
#[derive(Debug)]
pub(crate) struct App {
    pub(crate) tenant: String,
    pub(crate) readonly: bool,
    pub(crate) view: View,
    pub(crate) mode: Mode,
    pub(crate) connected: Option<bool>,
    pub(crate) endpoints: Option<Vec<Value>>,
    pub(crate) endpoint_filter: String,
    /// The selected endpoint, by id: rows move, ids do not.
    pub(crate) selected_endpoint: Option<String>,
    pub(crate) live: VecDeque<AttemptRecord>,
    pub(crate) live_filter: LiveFilter,
    pub(crate) live_filter_text: String,
    pub(crate) live_selected: usize,
    pub(crate) frozen: bool,
    pub(crate) status: Option<String>,
    pub(crate) quit: bool,
}

impl App {
    /// A console for `tenant`.
    pub(crate) fn new(tenant: String, readonly: bool) -> Self {
        Self {
            tenant,
            readonly,
            view: View::Endpoints,
            mode: Mode::Normal,
            connected: None,
            endpoints: None,
            endpoint_filter: String::new(),
            selected_endpoint: None,
            live: VecDeque::new(),
            live_filter: LiveFilter::default(),
            live_filter_text: String::new(),
            live_selected: 0,
            frozen: false,
            status: None,
            quit: false,
        }
    }

    /// The endpoints shown: those whose id or URL contain the filter.
    pub(crate) fn visible_endpoints(&self) -> Vec<&Value> {
        let needle = self.endpoint_filter.to_lowercase();
        self.endpoints
            .iter()
            .flatten()
            .filter(|e| {
                needle.is_empty()
                    || ["id", "url"].iter().any(|k| {
                        e[*k]
                            .as_str()
                            .is_some_and(|v| v.to_lowercase().contains(&needle))
                    })
            })
            .collect()
    }

    /// The attempts shown, newest first.
    pub(crate) fn visible_attempts(&self) -> Vec<&AttemptRecord> {
        self.live
            .iter()
            .rev()
            .filter(|a| self.live_filter.matches(a))
            .collect()
    }

    fn selected_index(&self) -> usize {
        let visible = self.visible_endpoints();
        self.selected_endpoint
            .as_deref()
            .and_then(|id| visible.iter().position(|e| e["id"] == id))
            .unwrap_or(0)
    }

    fn select_endpoint(&mut self, index: usize) {
        let visible = self.visible_endpoints();
        let index = index.min(visible.len().saturating_sub(1));
        self.selected_endpoint = visible
            .get(index)
            .and_then(|e| e["id"].as_str())
            .map(str::to_owned);
    }

    fn move_selection(&mut self, delta: isize, to_end: Option<bool>) {
        match self.view {
            View::Endpoints => {
                let len = self.visible_endpoints().len();
                let target = moved(self.selected_index(), len, delta, to_end);
                self.select_endpoint(target);
            }
            View::Live => {
                let len = self.visible_attempts().len();
                self.live_selected = moved(self.live_selected, len, delta, to_end);
            }
        }
    }

    /// Handles a key; returns the work it asks for.
    /// `key` is what the key means in the key list; `typed` the character it types
    /// (`\n` for enter, `\u{8}` for backspace), for filters, commands and confirmations.
    pub(crate) fn on_key(&mut self, key: Option<Key>, typed: Option<char>) -> Vec<Request> {
        if key == Some(Key::ForceQuit) {
            self.quit = true;
            return Vec::new();
        }
        match self.mode.clone() {
            Mode::Filter(text) => self.on_typing(key, typed, text, true),
            Mode::Command(text) => self.on_typing(key, typed, text, false),
            Mode::Confirm(action) => {
                if typed == Some('y') {
                    self.mode = Mode::Normal;
                    self.status = Some(format!("{}…", action.describe()));
                    return vec![Request::Perform(action)];
                }
                if key == Some(Key::Back) || typed == Some('n') {
                    self.mode = Mode::Normal;
                }
                Vec::new()
            }
            Mode::Help => {
                if matches!(key, Some(Key::Back | Key::Help | Key::Quit)) {
                    self.mode = Mode::Normal;
                }
                Vec::new()
            }
            Mode::Normal => key.map_or_else(Vec::new, |key| self.on_normal_key(key)),
        }
    }

    fn on_normal_key(&mut self, key: Key) -> Vec<Request> {
        match key {
            Key::Down => self.move_selection(1, None),
            Key::Up => self.move_selection(-1, None),
            Key::PageDown => self.move_selection(PAGE.cast_signed(), None),
            Key::PageUp => self.move_selection(-PAGE.cast_signed(), None),
            Key::Top => self.move_selection(0, Some(false)),
            Key::Bottom => self.move_selection(0, Some(true)),
            Key::Filter => self.mode = Mode::Filter(self.current_filter()),
            Key::Command => self.mode = Mode::Command(String::new()),
            Key::Help => self.mode = Mode::Help,
            Key::NextView => {
                let next =
                    (VIEWS.iter().position(|v| *v == self.view).unwrap_or(0) + 1) % VIEWS.len();
                return self.show(VIEWS[next]);
            }
            Key::View(n) => {
                if let Some(view) = VIEWS.get(n) {
                    return self.show(*view);
                }
            }
            Key::Freeze => self.frozen = !self.frozen,
            Key::Refresh => return vec![Request::LoadEndpoints],
            Key::Back => self.status = None,
            Key::Quit | Key::ForceQuit => self.quit = true,
            Key::Pause | Key::Resume | Key::Delete | Key::Rotate => return self.act(key),
        }
        Vec::new()
    }

    fn act(&mut self, key: Key) -> Vec<Request> {
        if self.view != View::Endpoints {
            return Vec::new();
        }
        if self.readonly {
            self.status = Some(strings::READONLY.to_owned());
            return Vec::new();
        }
        let Some(id) = self.selected_endpoint.clone().or_else(|| {
            self.visible_endpoints()
                .first()
                .and_then(|e| e["id"].as_str())
                .map(str::to_owned)
        }) else {
            return Vec::new();
        };
        let action = match key {
            Key::Pause => Action::Pause(id),
            Key::Resume => Action::Resume(id),
            Key::Delete => Action::Delete(id),
            _ => Action::RotateSecret(id),
        };
        if action.confirmation().is_some() {
            self.mode = Mode::Confirm(action);
            Vec::new()
        } else {
            self.status = Some(format!("{}…", action.describe()));
            vec![Request::Perform(action)]
        }
    }

    fn current_filter(&self) -> String {
        match self.view {
            View::Endpoints => self.endpoint_filter.clone(),
            View::Live => self.live_filter_text.clone(),
        }
    }

    fn on_typing(
        &mut self,
        key: Option<Key>,
        typed: Option<char>,
        mut text: String,
        filter: bool,
    ) -> Vec<Request> {
        match (key, typed) {
            (Some(Key::Back), _) => {
                self.mode = Mode::Normal;
                return Vec::new();
            }
            (_, Some('\n')) => {
                self.mode = Mode::Normal;
                return if filter {
                    self.apply_filter(&text);
                    Vec::new()
                } else {
                    self.run_command(text.trim())
                };
            }
            (_, Some('\u{8}')) => {
                text.pop();
            }
            (_, Some(c)) => text.push(c),
            _ => {}
        }
        self.mode = if filter {
            Mode::Filter(text)
        } else {
            Mode::Command(text)
        };
        Vec::new()
    }

    fn apply_filter(&mut self, text: &str) {
        match self.view {
            View::Endpoints => text.clone_into(&mut self.endpoint_filter),
            View::Live => match LiveFilter::parse(text) {
                Ok(filter) => {
                    self.live_filter = filter;
                    text.clone_into(&mut self.live_filter_text);
                    self.live_selected = 0;
                }
                Err(e) => self.status = Some(e),
            },
        }
    }

    fn run_command(&mut self, command: &str) -> Vec<Request> {
        match command.split_once(' ').unwrap_or((command, "")) {
            ("q" | "quit", _) => self.quit = true,
            ("endpoints" | "ep", _) => return self.show(View::Endpoints),
            ("live", _) => return self.show(View::Live),
            ("tenant", name) if !name.trim().is_empty() => {
                name.trim().clone_into(&mut self.tenant);
                self.endpoints = None;
                self.live.clear();
                return vec![
                    Request::SwitchTenant(self.tenant.clone()),
                    Request::LoadEndpoints,
                ];
            }
            _ => self.status = Some(format!("unknown command :{command}")),
        }
        Vec::new()
    }

    fn show(&mut self, view: View) -> Vec<Request> {
        self.view = view;
        if view == View::Endpoints {
            vec![Request::LoadEndpoints]
        } else {
            Vec::new()
        }
    }

    /// Takes in what arrived; returns follow-up work.
    pub(crate) fn on_msg(&mut self, msg: Msg) -> Vec<Request> {
        match msg {
            Msg::Connected(up) => {
                self.connected = Some(up);
                if up {
                    return vec![Request::LoadEndpoints];
                }
            }
            Msg::Endpoints(Ok(endpoints)) => {
                self.endpoints = Some(endpoints);
                let index = self.selected_index();
                self.select_endpoint(index);
            }
            Msg::Endpoints(Err(e)) => self.status = Some(e),
            Msg::Attempt(record) => {
                if !self.frozen {
                    if self.live.len() == LIVE_CAPACITY {
                        self.live.pop_front();
                    }
                    self.live.push_back(*record);
                }
            }
            Msg::Done(action, Ok(reply)) => {
                self.status = Some(match (&action, reply["secret"].as_str()) {
                    (Action::RotateSecret(id), Some(secret)) => strings::new_secret(id, secret),
                    _ => strings::done(&action.describe()),
                });
                return vec![Request::LoadEndpoints];
            }
            Msg::Done(action, Err(e)) => {
                self.status = Some(strings::failed(&action.describe(), &e));
            }
        }
        Vec::new()
    }
}

fn moved(current: usize, len: usize, delta: isize, to_end: Option<bool>) -> usize {
    let last = len.saturating_sub(1);
    match to_end {
        Some(true) => last,
        Some(false) => 0,
        None => current.saturating_add_signed(delta).min(last),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn endpoints(ids: &[&str]) -> Msg {
        Msg::Endpoints(Ok(ids
            .iter()
            .map(|id| json!({"id": id, "url": format!("http://127.0.0.1/{id}"), "status": {"state": "active"}}))
            .collect()))
    }

    fn console() -> App {
        let mut app = App::new("default".into(), false);
        app.on_msg(endpoints(&["ep_a", "ep_b", "ep_c"]));
        app
    }

    fn type_text(app: &mut App, text: &str) -> Vec<Request> {
        let mut requests = Vec::new();
        for c in text.chars() {
            requests = app.on_key(None, Some(c));
        }
        requests
    }

    #[test]
    fn the_selection_follows_ids_when_rows_move() {
        let mut app = console();
        app.on_key(Some(Key::Down), None);
        assert_eq!(app.selected_endpoint.as_deref(), Some("ep_b"));
        // A reload inserts a row above: the same endpoint stays selected.
        app.on_msg(endpoints(&["ep_0", "ep_a", "ep_b", "ep_c"]));
        assert_eq!(app.selected_endpoint.as_deref(), Some("ep_b"));
        app.on_key(Some(Key::Bottom), None);
        assert_eq!(app.selected_endpoint.as_deref(), Some("ep_c"));
        app.on_key(Some(Key::Down), None);
        assert_eq!(
            app.selected_endpoint.as_deref(),
            Some("ep_c"),
            "stops at the end"
        );
        app.on_key(Some(Key::Top), None);
        assert_eq!(app.selected_endpoint.as_deref(), Some("ep_0"));
    }

    #[test]
    fn destructive_actions_wait_for_confirmation_and_name_the_id() {
        let mut app = console();
        app.on_key(Some(Key::Down), None);
        assert!(app.on_key(Some(Key::Delete), None).is_empty());
        assert_eq!(app.mode, Mode::Confirm(Action::Delete("ep_b".into())));
        assert!(app.on_key(Some(Key::Back), None).is_empty(), "esc cancels");
        assert_eq!(app.mode, Mode::Normal);
        app.on_key(Some(Key::Rotate), None);
        let sent = app.on_key(Some(Key::Freeze), Some('y'));
        assert_eq!(
            sent,
            [Request::Perform(Action::RotateSecret("ep_b".into()))]
        );
        // Pausing is not destructive: it goes at once.
        assert_eq!(
            app.on_key(Some(Key::Pause), None),
            [Request::Perform(Action::Pause("ep_b".into()))]
        );
    }

    #[test]
    fn readonly_consoles_refuse_every_change() {
        let mut app = App::new("default".into(), true);
        app.on_msg(endpoints(&["ep_a"]));
        for key in [Key::Pause, Key::Resume, Key::Delete, Key::Rotate] {
            assert!(app.on_key(Some(key), None).is_empty());
            assert_eq!(app.mode, Mode::Normal);
        }
        assert_eq!(app.status.as_deref(), Some(strings::READONLY));
    }

    #[test]
    fn filters_and_commands_are_typed_then_applied() {
        let mut app = console();
        app.on_key(Some(Key::Filter), Some('/'));
        type_text(&mut app, "ep_c\n");
        assert_eq!(app.visible_endpoints().len(), 1);
        app.on_key(Some(Key::Command), Some(':'));
        type_text(&mut app, "live\n");
        assert_eq!(app.view, View::Live);
        app.on_key(Some(Key::Command), Some(':'));
        let requests = type_text(&mut app, "tenant acme\n");
        assert_eq!(app.tenant, "acme");
        assert_eq!(requests[0], Request::SwitchTenant("acme".into()));
        app.on_key(Some(Key::Filter), Some('/'));
        type_text(&mut app, "status:lost\n");
        assert!(
            app.status
                .as_deref()
                .unwrap_or_default()
                .contains("status:lost")
        );
        app.on_key(Some(Key::Command), Some(':'));
        type_text(&mut app, "q\n");
        assert!(app.quit);
    }

    #[test]
    fn the_live_tail_is_bounded_filtered_and_can_freeze() {
        let mut app = console();
        for i in 0..LIVE_CAPACITY + 5 {
            let mut record = super::super::filter::tests::attempt("ep_a", "a.b", Some(200));
            record.event_id = format!("evt-{i}");
            app.on_msg(Msg::Attempt(Box::new(record)));
        }
        assert_eq!(app.live.len(), LIVE_CAPACITY);
        assert_eq!(
            app.visible_attempts()[0].event_id,
            format!("evt-{}", LIVE_CAPACITY + 4)
        );
        app.on_key(Some(Key::Freeze), None);
        let failed = super::super::filter::tests::attempt("ep_b", "a.b", Some(500));
        app.on_msg(Msg::Attempt(Box::new(failed.clone())));
        assert_eq!(app.live.len(), LIVE_CAPACITY, "frozen: nothing added");
        app.on_key(Some(Key::Freeze), None);
        app.on_msg(Msg::Attempt(Box::new(failed)));
        app.view = View::Live;
        app.on_key(Some(Key::Filter), Some('/'));
        type_text(&mut app, "status:failed\n");
        assert_eq!(app.visible_attempts().len(), 1);
    }

    #[test]
    fn ctrl_c_quits_from_any_mode() {
        let mut app = console();
        app.on_key(Some(Key::Delete), None);
        app.on_key(Some(Key::ForceQuit), None);
        assert!(app.quit);
    }
}
