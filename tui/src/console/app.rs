//! The console's state and what keys and data do to it. No I/O: the run loop carries out
//! the [`Request`]s this returns and feeds back what arrives as [`Msg`]s, so every
//! behaviour here is tested without a terminal or a server.

use std::collections::{BTreeMap, VecDeque};

use chrono::{DateTime, Utc};
use hookwire_protocol::Tenant;
use hookwire_protocol::attempt::AttemptRecord;
use serde_json::Value;

use super::action::Action;
use super::filter::{LiveFilter, deliveries_query};
use super::form::{Form, FormKind};
use super::keys::Key;
use super::request::{ApiError, Call, Load, PAGE_LIMIT, Purpose, Request};
use super::strings;
use super::table::{SortValue, Table};

/// Attempts the live view keeps.
const LIVE_CAPACITY: usize = 2000;
/// Seconds of live throughput the overview charts.
pub(crate) const RATE_SECONDS: usize = 60;
const PAGE: isize = 10;

/// The views, in tab order (keys 1-9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum View {
    Overview,
    Endpoints,
    Live,
    Deliveries,
    DeadLetters,
    Types,
    Replays,
    Audit,
    Sources,
}

pub(crate) const VIEWS: [View; 9] = [
    View::Overview,
    View::Endpoints,
    View::Live,
    View::Deliveries,
    View::DeadLetters,
    View::Types,
    View::Replays,
    View::Audit,
    View::Sources,
];

/// A detail page opened over a view; `esc` goes back.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Page {
    Endpoint {
        id: String,
        endpoint: Option<Value>,
        stats: Option<Value>,
        deliveries: Table,
    },
    Delivery {
        endpoint_id: String,
        event_id: String,
        data: Option<Value>,
        scroll: usize,
    },
    Type {
        name: String,
        data: Option<Value>,
        scroll: usize,
    },
    /// An incoming-webhook source: its configuration, counters and recent requests.
    Source {
        name: String,
        data: Option<Value>,
        stats: Option<Value>,
        requests: Option<Value>,
        scroll: usize,
    },
}

/// Which reply of a source page.
#[derive(Debug, Clone, Copy)]
enum SourcePart {
    View,
    Stats,
    Requests,
}

/// What the keyboard is doing.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Mode {
    Normal,
    /// Typing a filter or search after `/`.
    Filter(String),
    /// Typing a command after `:`.
    Command(String),
    /// Asking before a destructive action.
    Confirm(Action),
    Form(Form),
    /// A new secret, shown once.
    Secret {
        id: String,
        secret: String,
    },
    Help,
}

/// What arrives for the app.
#[derive(Debug)]
pub(crate) enum Msg {
    Connected(bool),
    Attempt(Box<AttemptRecord>),
    /// The replies of a [`Call`]'s requests, in order, or its first failure.
    Reply(Purpose, Result<Vec<Value>, ApiError>),
    /// A periodic nudge to refresh what changes on its own (overview, replay jobs).
    Tick,
}

/// Columns the endpoints table sorts by (`s` cycles).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EndpointSort {
    Id,
    Status,
    Success,
    P95,
    LastAttempt,
}

impl EndpointSort {
    fn next(self) -> Self {
        match self {
            Self::Id => Self::Status,
            Self::Status => Self::Success,
            Self::Success => Self::P95,
            Self::P95 => Self::LastAttempt,
            Self::LastAttempt => Self::Id,
        }
    }
}

/// The whole console state.
#[derive(Debug)]
pub(crate) struct App {
    pub(crate) tenant: String,
    pub(crate) readonly: bool,
    pub(crate) view: View,
    pub(crate) pages: Vec<Page>,
    pub(crate) mode: Mode,
    pub(crate) connected: Option<bool>,
    pub(crate) overview: Option<Value>,
    pub(crate) endpoints: Table,
    pub(crate) endpoint_sort: EndpointSort,
    pub(crate) live: VecDeque<AttemptRecord>,
    pub(crate) live_filter: LiveFilter,
    pub(crate) live_filter_text: String,
    pub(crate) live_selected: usize,
    pub(crate) frozen: bool,
    /// Live attempts per second: (Unix second, attempts, failed), oldest first.
    pub(crate) rate: VecDeque<(i64, u64, u64)>,
    pub(crate) deliveries: Table,
    pub(crate) deliveries_search: String,
    pub(crate) dead_letters: Table,
    pub(crate) types: Table,
    pub(crate) replays: Table,
    /// The audit log's last 24 hours.
    pub(crate) audit: Table,
    /// Incoming-webhook sources.
    pub(crate) sources: Table,
    /// Calls sent and not answered yet (the header shows a spinner meanwhile).
    pub(crate) pending: usize,
    pub(crate) spinner: usize,
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
            pages: Vec::new(),
            mode: Mode::Normal,
            connected: None,
            overview: None,
            endpoints: Table::new("id"),
            endpoint_sort: EndpointSort::Id,
            live: VecDeque::new(),
            live_filter: LiveFilter::default(),
            live_filter_text: String::new(),
            live_selected: 0,
            frozen: false,
            rate: VecDeque::new(),
            deliveries: Table::new("key"),
            deliveries_search: String::new(),
            dead_letters: Table::new("seq"),
            types: Table::new("name"),
            replays: Table::new("id"),
            audit: Table::new("seq"),
            sources: Table::new("name"),
            pending: 0,
            spinner: 0,
            status: None,
            quit: false,
        }
    }

    /// The attempts shown, newest first.
    pub(crate) fn visible_attempts(&self) -> Vec<&AttemptRecord> {
        self.live
            .iter()
            .rev()
            .filter(|a| self.live_filter.matches(a))
            .collect()
    }

    /// The overview's line for endpoint `id` (24 h success rate, p95, last attempt).
    pub(crate) fn endpoint_line(&self, id: &str) -> Option<&Value> {
        self.overview.as_ref()?["per_endpoint"]
            .as_array()?
            .iter()
            .find(|line| line["id"] == id)
    }

    fn call(&mut self, call: Call) -> Request {
        self.pending += 1;
        Request::Call(call)
    }

    fn load(&mut self, load: Load) -> Request {
        self.call(Call::load(load))
    }

    // ---- keys ----

    /// Handles a key: `key` is what it means in the key list, `typed` the character it
    /// types (`\n` for enter, `\u{8}` for backspace) for filters, commands, forms and
    /// confirmations. Returns the work it asks for.
    pub(crate) fn on_key(&mut self, key: Option<Key>, typed: Option<char>) -> Vec<Request> {
        if key == Some(Key::ForceQuit) {
            self.quit = true;
            return Vec::new();
        }
        match self.mode.clone() {
            Mode::Filter(text) => self.on_typing(key, typed, text, true),
            Mode::Command(text) => self.on_typing(key, typed, text, false),
            Mode::Form(form) => self.on_form_key(key, typed, form),
            Mode::Confirm(action) => {
                if typed == Some('y') {
                    self.mode = Mode::Normal;
                    return self.perform(action);
                }
                if key == Some(Key::Back) || typed == Some('n') {
                    self.mode = Mode::Normal;
                }
                Vec::new()
            }
            Mode::Secret { secret, .. } => {
                if key == Some(Key::Copy) {
                    return vec![Request::Copy(secret)];
                }
                if matches!(key, Some(Key::Back | Key::Open | Key::Quit)) {
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
        if key.mutates() && self.readonly {
            self.status = Some(strings::READONLY.to_owned());
            return Vec::new();
        }
        match key {
            Key::Down => self.move_selection(1, None),
            Key::Up => self.move_selection(-1, None),
            Key::PageDown => self.move_selection(PAGE, None),
            Key::PageUp => self.move_selection(-PAGE, None),
            Key::Top => self.move_selection(0, Some(false)),
            Key::Bottom => self.move_selection(0, Some(true)),
            Key::Filter => self.mode = Mode::Filter(self.current_filter()),
            Key::Command => self.mode = Mode::Command(String::new()),
            Key::Help => self.mode = Mode::Help,
            Key::NextView | Key::PrevView => {
                let here = VIEWS.iter().position(|v| *v == self.view).unwrap_or(0);
                let step = if key == Key::NextView {
                    1
                } else {
                    VIEWS.len() - 1
                };
                return self.show(VIEWS[(here + step) % VIEWS.len()]);
            }
            Key::View(n) => {
                if let Some(view) = VIEWS.get(n) {
                    return self.show(*view);
                }
            }
            Key::Back => {
                if self.pages.pop().is_none() {
                    self.status = None;
                    if let Some(table) = self.current_table() {
                        table.marked.clear();
                    }
                }
            }
            Key::Open => return self.open(),
            Key::OpenEndpoint => {
                if let Some(id) = self.endpoint_in_context() {
                    return self.open_endpoint(id);
                }
            }
            Key::Mark => {
                if let Some(table) = self.current_table() {
                    table.toggle_mark();
                    table.move_by(1, None);
                }
            }
            Key::Sort => {
                if self.view == View::Endpoints && self.pages.is_empty() {
                    self.endpoint_sort = self.endpoint_sort.next();
                    self.sort_endpoints();
                }
            }
            Key::Copy => {
                if let Some(text) = self.id_in_context() {
                    self.status = Some(strings::copied(&text));
                    return vec![Request::Copy(text)];
                }
            }
            Key::Freeze => self.frozen = !self.frozen,
            Key::Refresh => return self.reload(),
            Key::Quit | Key::ForceQuit => self.quit = true,
            _ => return self.change(key),
        }
        Vec::new()
    }

    /// The keys that change something: each becomes a form or an [`Action`].
    fn change(&mut self, key: Key) -> Vec<Request> {
        let endpoint = self.endpoint_subject();
        let type_name = self.type_subject();
        let action = match (key, endpoint, type_name) {
            (Key::New, _, _) if self.pages.is_empty() && self.view == View::Endpoints => {
                self.mode = Mode::Form(Form::create_endpoint());
                return Vec::new();
            }
            (Key::New, _, _) if self.pages.is_empty() && self.view == View::Types => {
                self.mode = Mode::Form(Form::create_type());
                return Vec::new();
            }
            (Key::Edit, Some(id), _) => {
                if let Some(endpoint) = self.endpoint_value(&id) {
                    self.mode = Mode::Form(Form::edit_endpoint(&endpoint));
                }
                return Vec::new();
            }
            (Key::Edit, _, Some(name)) => {
                if let Some(definition) = self.type_value(&name) {
                    self.mode = Mode::Form(Form::edit_type(&definition));
                }
                return Vec::new();
            }
            (Key::Test, Some(id), _) => {
                let endpoint = self.endpoint_value(&id);
                self.mode = Mode::Form(Form::test_send(&id, endpoint.as_ref()));
                return Vec::new();
            }
            (Key::Replay, ..) => {
                if let Some(id) = self.endpoint_in_context() {
                    self.mode = Mode::Form(Form::replay(&id));
                }
                return Vec::new();
            }
            (Key::Pause, Some(id), _) => Action::Pause(id),
            (Key::Resume, Some(id), _) => Action::Resume(id),
            (Key::Enable, Some(id), _) => Action::Enable(id),
            (Key::Verify, Some(id), _) => Action::Verify(id),
            (Key::Rotate, Some(id), _) => Action::RotateSecret(id),
            (Key::Delete, Some(id), _) => Action::Delete(id),
            (Key::Delete, _, Some(name)) => Action::DeleteType(name),
            (Key::DeleteAll, _, Some(name)) => Action::DeprecateType(name),
            _ if self.pages.is_empty() && self.view == View::DeadLetters => {
                match self.dead_letter_action(key) {
                    Some(action) => action,
                    None => return Vec::new(),
                }
            }
            (Key::Resend, ..) => match self.delivery_in_context() {
                Some((endpoint_id, event_id)) => Action::Redeliver {
                    endpoint_id,
                    event_id,
                },
                None => return Vec::new(),
            },
            _ => return Vec::new(),
        };
        self.ask_or_perform(action)
    }

    fn dead_letter_action(&self, key: Key) -> Option<Action> {
        let seqs: Vec<u64> = self
            .dead_letters
            .marked_or_selected()
            .iter()
            .filter_map(|s| s.parse().ok())
            .collect();
        let endpoint = self.dead_letters.selected()?["endpoint_id"]
            .as_str()?
            .to_owned();
        match key {
            Key::Resend if !seqs.is_empty() => Some(Action::Requeue(seqs)),
            Key::Delete if !seqs.is_empty() => Some(Action::Purge(seqs)),
            Key::ResendAll => Some(Action::RequeueEndpoint(endpoint)),
            Key::DeleteAll => Some(Action::PurgeEndpoint(endpoint)),
            _ => None,
        }
    }

    fn ask_or_perform(&mut self, action: Action) -> Vec<Request> {
        if action.confirmation().is_some() {
            self.mode = Mode::Confirm(action);
            Vec::new()
        } else {
            self.perform(action)
        }
    }

    fn perform(&mut self, action: Action) -> Vec<Request> {
        self.status = Some(format!("{}…", action.describe()));
        let call = Call {
            requests: action.requests(),
            purpose: Purpose::Perform(action),
        };
        vec![self.call(call)]
    }

    fn on_form_key(
        &mut self,
        key: Option<Key>,
        typed: Option<char>,
        mut form: Form,
    ) -> Vec<Request> {
        let mut requests = Vec::new();
        match (key, typed) {
            (Some(Key::Back), _) => {
                self.mode = Mode::Normal;
                return requests;
            }
            (_, Some('\n')) if !form.sending => {
                if let Some(body) = form.body(Utc::now()) {
                    form.sending = true;
                    let purpose = match &form.kind {
                        FormKind::Replay => Purpose::PreviewReplay(body.clone()),
                        kind => Purpose::Submit(kind.clone()),
                    };
                    let (noun, verb) = form_operation(&form.kind);
                    let call = Call {
                        purpose,
                        requests: vec![(noun, verb, body)],
                    };
                    requests.push(self.call(call));
                }
            }
            (_, Some(c)) if c != '\n' => form.type_char(c),
            (Some(Key::NextView | Key::Down), _) => form.move_focus(true),
            (Some(Key::PrevView | Key::Up), _) => form.move_focus(false),
            _ => {}
        }
        self.mode = Mode::Form(form);
        requests
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
                    self.apply_filter(&text)
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

    fn current_filter(&self) -> String {
        match (self.pages.last(), self.view) {
            (Some(_), _) => String::new(),
            (None, View::Live) => self.live_filter_text.clone(),
            (None, View::Deliveries) => self.deliveries_search.clone(),
            (None, _) => self
                .current_table_ref()
                .map(|t| t.filter.clone())
                .unwrap_or_default(),
        }
    }

    fn apply_filter(&mut self, text: &str) -> Vec<Request> {
        if !self.pages.is_empty() {
            return Vec::new();
        }
        match self.view {
            View::Live => match LiveFilter::parse(text) {
                Ok(filter) => {
                    self.live_filter = filter;
                    text.clone_into(&mut self.live_filter_text);
                    self.live_selected = 0;
                }
                Err(e) => self.status = Some(e),
            },
            View::Deliveries => match deliveries_query(text, Utc::now(), PAGE_LIMIT) {
                Ok(query) => {
                    text.clone_into(&mut self.deliveries_search);
                    return vec![self.load(Load::Deliveries(query))];
                }
                Err(e) => self.status = Some(e),
            },
            _ => {
                if let Some(table) = self.current_table() {
                    table.set_filter(text);
                }
            }
        }
        Vec::new()
    }

    fn run_command(&mut self, command: &str) -> Vec<Request> {
        let (name, argument) = command.split_once(' ').unwrap_or((command, ""));
        let view = match name {
            "q" | "quit" => {
                self.quit = true;
                return Vec::new();
            }
            "overview" | "ov" => View::Overview,
            "endpoints" | "ep" => View::Endpoints,
            "live" => View::Live,
            "deliveries" | "dl" => View::Deliveries,
            "dlq" | "dead-letters" => View::DeadLetters,
            "types" => View::Types,
            "replays" | "replay" => View::Replays,
            "audit" => View::Audit,
            "sources" | "src" => View::Sources,
            "tenant" if !argument.trim().is_empty() => return self.switch_tenant(argument.trim()),
            _ => {
                self.status = Some(strings::unknown_command(command));
                return Vec::new();
            }
        };
        self.show(view)
    }

    fn switch_tenant(&mut self, name: &str) -> Vec<Request> {
        let tenant = match Tenant::new(name) {
            Ok(tenant) => tenant,
            Err(e) => {
                self.status = Some(e.to_string());
                return Vec::new();
            }
        };
        let readonly = self.readonly;
        let view = self.view;
        *self = Self {
            connected: self.connected,
            ..Self::new(name.to_owned(), readonly)
        };
        self.view = view;
        let mut requests = vec![Request::SwitchTenant(tenant)];
        requests.extend(self.reload());
        requests
    }

    /// Goes to `view` (closing any page) and loads what it shows.
    fn show(&mut self, view: View) -> Vec<Request> {
        self.view = view;
        self.pages.clear();
        self.reload()
    }

    /// Loads what the current page or view shows.
    fn reload(&mut self) -> Vec<Request> {
        let loads = match self.pages.last() {
            Some(Page::Endpoint { id, .. }) => vec![
                Load::Endpoint(id.clone()),
                Load::EndpointStats(id.clone()),
                Load::EndpointDeliveries(id.clone()),
            ],
            Some(Page::Delivery {
                endpoint_id,
                event_id,
                ..
            }) => vec![Load::Delivery {
                endpoint_id: endpoint_id.clone(),
                event_id: event_id.clone(),
            }],
            Some(Page::Type { name, .. }) => vec![Load::Type(name.clone())],
            Some(Page::Source { name, .. }) => vec![
                Load::Source(name.clone()),
                Load::SourceStats(name.clone()),
                Load::SourceRequests(name.clone()),
            ],
            None => match self.view {
                View::Overview => vec![Load::Overview],
                View::Endpoints => vec![Load::Endpoints, Load::Overview],
                View::Live => Vec::new(),
                View::Deliveries => {
                    match deliveries_query(&self.deliveries_search, Utc::now(), PAGE_LIMIT) {
                        Ok(query) => vec![Load::Deliveries(query)],
                        Err(_) => Vec::new(),
                    }
                }
                View::DeadLetters => vec![Load::DeadLetters],
                View::Types => vec![Load::Types],
                View::Replays => vec![Load::Replays],
                View::Audit => vec![Load::Audit],
                View::Sources => vec![Load::Sources],
            },
        };
        loads.into_iter().map(|load| self.load(load)).collect()
    }

    fn open(&mut self) -> Vec<Request> {
        match (self.pages.last(), self.view) {
            (None, View::Endpoints) => match self.endpoints.selected_id() {
                Some(id) => self.open_endpoint(id),
                None => Vec::new(),
            },
            (None, View::Types) => match self.types.selected_id() {
                Some(name) => {
                    self.pages.push(Page::Type {
                        name,
                        data: None,
                        scroll: 0,
                    });
                    self.reload()
                }
                None => Vec::new(),
            },
            (None, View::Sources) => match self.sources.selected_id() {
                Some(name) => {
                    let data = self.sources.selected().cloned();
                    self.pages.push(Page::Source {
                        name,
                        data,
                        stats: None,
                        requests: None,
                        scroll: 0,
                    });
                    self.reload()
                }
                None => Vec::new(),
            },
            (None, View::Overview | View::Replays | View::Audit)
            | (Some(Page::Delivery { .. } | Page::Type { .. } | Page::Source { .. }), _) => {
                Vec::new()
            }
            _ => match self.delivery_in_context() {
                Some((endpoint_id, event_id)) => {
                    self.pages.push(Page::Delivery {
                        endpoint_id,
                        event_id,
                        data: None,
                        scroll: 0,
                    });
                    self.reload()
                }
                None => Vec::new(),
            },
        }
    }

    fn open_endpoint(&mut self, id: String) -> Vec<Request> {
        if matches!(self.pages.last(), Some(Page::Endpoint { id: open, .. }) if *open == id) {
            return Vec::new();
        }
        let endpoint = self.endpoint_value(&id);
        self.pages.push(Page::Endpoint {
            id,
            endpoint,
            stats: None,
            deliveries: Table::new("key"),
        });
        self.reload()
    }

    fn move_selection(&mut self, delta: isize, to_end: Option<bool>) {
        match self.pages.last_mut() {
            Some(Page::Endpoint { deliveries, .. }) => deliveries.move_by(delta, to_end),
            Some(
                Page::Delivery { scroll, .. }
                | Page::Type { scroll, .. }
                | Page::Source { scroll, .. },
            ) => {
                *scroll = match to_end {
                    Some(true) => usize::MAX,
                    Some(false) => 0,
                    None => scroll.saturating_add_signed(delta),
                };
            }
            None if self.view == View::Live => {
                let last = self.visible_attempts().len().saturating_sub(1);
                self.live_selected = match to_end {
                    Some(true) => last,
                    Some(false) => 0,
                    None => self.live_selected.saturating_add_signed(delta).min(last),
                };
            }
            None => {
                if let Some(table) = self.current_table() {
                    table.move_by(delta, to_end);
                }
            }
        }
    }

    fn current_table(&mut self) -> Option<&mut Table> {
        match (self.pages.last_mut(), self.view) {
            (Some(Page::Endpoint { deliveries, .. }), _) => Some(deliveries),
            (Some(_), _) | (None, View::Overview | View::Live) => None,
            (None, View::Endpoints) => Some(&mut self.endpoints),
            (None, View::Deliveries) => Some(&mut self.deliveries),
            (None, View::DeadLetters) => Some(&mut self.dead_letters),
            (None, View::Types) => Some(&mut self.types),
            (None, View::Replays) => Some(&mut self.replays),
            (None, View::Audit) => Some(&mut self.audit),
            (None, View::Sources) => Some(&mut self.sources),
        }
    }

    fn current_table_ref(&self) -> Option<&Table> {
        match (self.pages.last(), self.view) {
            (Some(Page::Endpoint { deliveries, .. }), _) => Some(deliveries),
            (Some(_), _) | (None, View::Overview | View::Live) => None,
            (None, View::Endpoints) => Some(&self.endpoints),
            (None, View::Deliveries) => Some(&self.deliveries),
            (None, View::DeadLetters) => Some(&self.dead_letters),
            (None, View::Types) => Some(&self.types),
            (None, View::Replays) => Some(&self.replays),
            (None, View::Audit) => Some(&self.audit),
            (None, View::Sources) => Some(&self.sources),
        }
    }

    fn selected_attempt(&self) -> Option<&AttemptRecord> {
        self.visible_attempts().get(self.live_selected).copied()
    }

    /// The endpoint a change key acts on: the open endpoint, or the selected row of the
    /// endpoints view.
    fn endpoint_subject(&self) -> Option<String> {
        match (self.pages.last(), self.view) {
            (Some(Page::Endpoint { id, .. }), _) => Some(id.clone()),
            (None, View::Endpoints) => self.endpoints.selected_id(),
            _ => None,
        }
    }

    fn type_subject(&self) -> Option<String> {
        match (self.pages.last(), self.view) {
            (Some(Page::Type { name, .. }), _) => Some(name.clone()),
            (None, View::Types) => self.types.selected_id(),
            _ => None,
        }
    }

    /// The endpoint of whatever is open or selected (for `o` and replay).
    fn endpoint_in_context(&self) -> Option<String> {
        let of_row = |row: Option<&Value>| {
            row.and_then(|r| r["endpoint_id"].as_str())
                .map(str::to_owned)
        };
        match self.pages.last() {
            Some(Page::Endpoint { id, .. }) => Some(id.clone()),
            Some(Page::Delivery { endpoint_id, .. }) => Some(endpoint_id.clone()),
            Some(Page::Type { .. } | Page::Source { .. }) => None,
            None => match self.view {
                View::Endpoints => self.endpoints.selected_id(),
                View::Live => self.selected_attempt().map(|a| a.endpoint_id.clone()),
                View::Deliveries => of_row(self.deliveries.selected()),
                View::DeadLetters => of_row(self.dead_letters.selected()),
                View::Replays => of_row(self.replays.selected()),
                View::Overview | View::Types | View::Audit | View::Sources => None,
            },
        }
    }

    /// The delivery open or selected: (endpoint id, event id).
    fn delivery_in_context(&self) -> Option<(String, String)> {
        let of_row = |row: Option<&Value>| {
            let row = row?;
            Some((
                row["endpoint_id"].as_str()?.to_owned(),
                row["event_id"].as_str()?.to_owned(),
            ))
        };
        match self.pages.last() {
            Some(Page::Delivery {
                endpoint_id,
                event_id,
                ..
            }) => Some((endpoint_id.clone(), event_id.clone())),
            Some(Page::Endpoint { deliveries, .. }) => of_row(deliveries.selected()),
            Some(Page::Type { .. } | Page::Source { .. }) => None,
            None => match self.view {
                View::Live => self
                    .selected_attempt()
                    .map(|a| (a.endpoint_id.clone(), a.event_id.clone())),
                View::Deliveries => of_row(self.deliveries.selected()),
                View::DeadLetters => of_row(self.dead_letters.selected()),
                _ => None,
            },
        }
    }

    /// The id `c` copies: of the open page, else of the selected row.
    fn id_in_context(&self) -> Option<String> {
        match self.pages.last() {
            Some(Page::Endpoint { id, .. }) => Some(id.clone()),
            Some(Page::Delivery { event_id, .. }) => Some(event_id.clone()),
            Some(Page::Type { name, .. } | Page::Source { name, .. }) => Some(name.clone()),
            None => match self.view {
                View::Live => self.selected_attempt().map(|a| a.event_id.clone()),
                View::Deliveries | View::DeadLetters => {
                    self.delivery_in_context().map(|(_, event_id)| event_id)
                }
                _ => self.current_table_ref().and_then(Table::selected_id),
            },
        }
    }

    /// The endpoint as last loaded (its page, or its row).
    fn endpoint_value(&self, id: &str) -> Option<Value> {
        let from_page = self.pages.iter().find_map(|page| match page {
            Page::Endpoint {
                id: open,
                endpoint: Some(endpoint),
                ..
            } if open == id => Some(endpoint.clone()),
            _ => None,
        });
        from_page.or_else(|| {
            self.endpoints
                .visible()
                .into_iter()
                .find(|e| e["id"] == id)
                .cloned()
        })
    }

    fn type_value(&self, name: &str) -> Option<Value> {
        let from_page = self.pages.iter().find_map(|page| match page {
            Page::Type {
                name: open,
                data: Some(data),
                ..
            } if open == name => Some(data.clone()),
            _ => None,
        });
        from_page.or_else(|| {
            self.types
                .visible()
                .into_iter()
                .find(|t| t["name"] == name)
                .cloned()
        })
    }

    fn sort_endpoints(&mut self) {
        let sort = self.endpoint_sort;
        let lines: BTreeMap<String, Value> = self
            .overview
            .as_ref()
            .and_then(|o| o["per_endpoint"].as_array())
            .into_iter()
            .flatten()
            .filter_map(|line| Some((line["id"].as_str()?.to_owned(), line.clone())))
            .collect();
        let line = |row: &Value, key: &str| {
            row["id"]
                .as_str()
                .and_then(|id| lines.get(id))
                .map_or(SortValue::Missing, |l| SortValue::of(&l[key]))
        };
        // Worst first for the health columns: low success, high p95; newest activity first.
        match sort {
            EndpointSort::Id => self.endpoints.sort_by(|r| SortValue::of(&r["id"]), false),
            EndpointSort::Status => self
                .endpoints
                .sort_by(|r| SortValue::of(&r["status"]["state"]), false),
            EndpointSort::Success => self
                .endpoints
                .sort_by(|r| line(r, "success_rate_24h"), false),
            EndpointSort::P95 => self.endpoints.sort_by(|r| line(r, "p95_ms_24h"), true),
            EndpointSort::LastAttempt => {
                self.endpoints.sort_by(|r| line(r, "last_attempt_at"), true);
            }
        }
    }

    // ---- data ----

    /// Takes in what arrived; returns follow-up work.
    pub(crate) fn on_msg(&mut self, msg: Msg) -> Vec<Request> {
        match msg {
            Msg::Connected(up) => {
                self.connected = Some(up);
                if up {
                    return self.reload();
                }
            }
            Msg::Attempt(record) => self.on_attempt(*record),
            Msg::Tick => {
                let refreshes = self.pages.is_empty()
                    && self.pending == 0
                    && matches!(
                        self.view,
                        View::Overview | View::Replays | View::Audit | View::Sources
                    );
                if refreshes {
                    return self.reload();
                }
            }
            Msg::Reply(purpose, reply) => {
                self.pending = self.pending.saturating_sub(1);
                return self.on_reply(purpose, reply);
            }
        }
        Vec::new()
    }

    fn on_attempt(&mut self, record: AttemptRecord) {
        let second = record.at.timestamp();
        match self.rate.back_mut() {
            Some((at, attempts, failed)) if *at == second => {
                *attempts += 1;
                *failed += u64::from(record.error.is_some());
            }
            // Records arrive roughly in time order; a late one counts in the current second.
            Some((at, attempts, failed)) if *at > second => {
                *attempts += 1;
                *failed += u64::from(record.error.is_some());
            }
            _ => {
                self.rate
                    .push_back((second, 1, u64::from(record.error.is_some())));
                while self.rate.front().is_some_and(|(at, ..)| {
                    *at <= second - i64::try_from(RATE_SECONDS).unwrap_or(60)
                }) {
                    self.rate.pop_front();
                }
            }
        }
        if self.frozen {
            return;
        }
        // Keep the selected attempt selected while new ones arrive above it.
        if self.live_selected > 0 && self.live_filter.matches(&record) {
            self.live_selected += 1;
        }
        if self.live.len() == LIVE_CAPACITY {
            self.live.pop_front();
        }
        self.live.push_back(record);
        self.live_selected = self
            .live_selected
            .min(self.visible_attempts().len().saturating_sub(1));
    }

    /// Attempts per second over the last [`RATE_SECONDS`] up to `now`, oldest first.
    pub(crate) fn rate_series(&self, now: DateTime<Utc>) -> Vec<u64> {
        let now = now.timestamp();
        (0..RATE_SECONDS)
            .rev()
            .map(|back| now - i64::try_from(back).unwrap_or(0))
            .map(|second| {
                self.rate
                    .iter()
                    .find(|(at, ..)| *at == second)
                    .map_or(0, |(_, n, _)| *n)
            })
            .collect()
    }

    fn on_reply(&mut self, purpose: Purpose, reply: Result<Vec<Value>, ApiError>) -> Vec<Request> {
        match (purpose, reply) {
            (Purpose::Load(load), Ok(replies)) => {
                if let Some(value) = replies.into_iter().next() {
                    self.loaded(load, value);
                }
                Vec::new()
            }
            (Purpose::Load(_), Err(e)) => {
                self.status = Some(e.message);
                Vec::new()
            }
            (Purpose::Perform(action), Ok(replies)) => self.performed(&action, &replies),
            (Purpose::Perform(action), Err(e)) => {
                self.status = Some(strings::failed(&action.describe(), &e.message));
                Vec::new()
            }
            (Purpose::Submit(kind), Ok(replies)) => self.submitted(&kind, replies),
            (Purpose::PreviewReplay(request), Ok(replies)) => {
                let preview = replies.into_iter().next().unwrap_or_default();
                if matches!(self.mode, Mode::Form(_)) {
                    self.mode = Mode::Confirm(Action::Replay {
                        request,
                        events: preview["events"].as_u64().unwrap_or(0),
                        complete: preview["complete"] != false,
                    });
                }
                Vec::new()
            }
            (Purpose::Submit(_) | Purpose::PreviewReplay(_), Err(e)) => {
                if let Mode::Form(form) = &mut self.mode {
                    form.apply_error(&e);
                } else {
                    self.status = Some(e.message);
                }
                Vec::new()
            }
        }
    }

    /// Puts a reply into the open source page, if it is still the one asked about.
    fn fill_source(&mut self, want: &str, part: SourcePart, value: Value) {
        if let Some(Page::Source {
            name,
            data,
            stats,
            requests,
            ..
        }) = self.pages.last_mut()
            && name == want
        {
            let slot = match part {
                SourcePart::View => data,
                SourcePart::Stats => stats,
                SourcePart::Requests => requests,
            };
            *slot = Some(value);
        }
    }

    fn loaded(&mut self, load: Load, value: Value) {
        let rows = |key: &str| value[key].as_array().cloned().unwrap_or_default();
        let more = !value["next_cursor"].is_null();
        match load {
            Load::Overview => {
                self.overview = Some(value);
                if self.endpoint_sort != EndpointSort::Id {
                    self.sort_endpoints();
                }
            }
            Load::Endpoints => {
                self.endpoints.load(rows("endpoints"), more);
                self.sort_endpoints();
            }
            Load::Deliveries(_) => self.deliveries.load(keyed(rows("deliveries")), more),
            Load::DeadLetters => self.dead_letters.load(rows("dead_letters"), more),
            Load::Types => self.types.load(rows("types"), false),
            Load::Replays => self.replays.load(rows("jobs"), false),
            Load::Audit => self.audit.load(rows("records"), more),
            Load::Sources => self.sources.load(rows("sources"), false),
            Load::Endpoint(want) => {
                if let Some(Page::Endpoint { id, endpoint, .. }) = self.pages.last_mut()
                    && *id == want
                {
                    *endpoint = Some(value);
                }
            }
            Load::EndpointStats(want) => {
                if let Some(Page::Endpoint { id, stats, .. }) = self.pages.last_mut()
                    && *id == want
                {
                    *stats = Some(value);
                }
            }
            Load::EndpointDeliveries(want) => {
                if let Some(Page::Endpoint { id, deliveries, .. }) = self.pages.last_mut()
                    && *id == want
                {
                    deliveries.load(keyed(rows("deliveries")), more);
                }
            }
            Load::Delivery {
                endpoint_id: want_endpoint,
                event_id: want_event,
            } => {
                if let Some(Page::Delivery {
                    endpoint_id,
                    event_id,
                    data,
                    ..
                }) = self.pages.last_mut()
                    && (endpoint_id.as_str(), event_id.as_str())
                        == (want_endpoint.as_str(), want_event.as_str())
                {
                    *data = Some(value);
                }
            }
            Load::Type(want) => {
                if let Some(Page::Type { name, data, .. }) = self.pages.last_mut()
                    && *name == want
                {
                    *data = Some(value);
                }
            }
            Load::Source(want) => self.fill_source(&want, SourcePart::View, value),
            Load::SourceStats(want) => self.fill_source(&want, SourcePart::Stats, value),
            Load::SourceRequests(want) => self.fill_source(&want, SourcePart::Requests, value),
        }
    }

    fn performed(&mut self, action: &Action, replies: &[Value]) -> Vec<Request> {
        self.status = Some(action.outcome(replies));
        let mut requests = Vec::new();
        match action {
            Action::RotateSecret(id) => {
                if let Some(secret) = replies.first().and_then(|r| r["secret"].as_str()) {
                    requests.push(Request::Copy(secret.to_owned()));
                    self.mode = Mode::Secret {
                        id: id.clone(),
                        secret: secret.to_owned(),
                    };
                }
            }
            Action::Delete(id) => {
                self.pages
                    .retain(|p| !matches!(p, Page::Endpoint { id: open, .. } if open == id));
            }
            Action::DeleteType(name) => {
                self.pages
                    .retain(|p| !matches!(p, Page::Type { name: open, .. } if open == name));
            }
            Action::Purge(_) | Action::Requeue(_) => self.dead_letters.marked.clear(),
            _ => {}
        }
        requests.extend(self.reload());
        requests
    }

    fn submitted(&mut self, kind: &FormKind, replies: Vec<Value>) -> Vec<Request> {
        self.mode = Mode::Normal;
        let reply = replies.into_iter().next().unwrap_or_default();
        let mut requests = Vec::new();
        self.status = Some(match kind {
            FormKind::CreateEndpoint => {
                let id = reply["id"].as_str().unwrap_or("?").to_owned();
                if let Some(secret) = reply["secret"].as_str() {
                    requests.push(Request::Copy(secret.to_owned()));
                    self.mode = Mode::Secret {
                        id: id.clone(),
                        secret: secret.to_owned(),
                    };
                }
                strings::created(&id)
            }
            FormKind::TestSend(id) => strings::test_result(id, &reply),
            FormKind::EditEndpoint(id) | FormKind::EditType(id) => strings::saved(id),
            FormKind::CreateType => strings::created(reply["name"].as_str().unwrap_or("?")),
            FormKind::Replay => strings::done("replay"),
        });
        requests.extend(self.reload());
        requests
    }
}

/// Form submissions: (noun, verb).
fn form_operation(kind: &FormKind) -> (&'static str, &'static str) {
    match kind {
        FormKind::CreateEndpoint => ("endpoints", "create"),
        FormKind::EditEndpoint(_) => ("endpoints", "update"),
        FormKind::TestSend(_) => ("endpoints", "test"),
        FormKind::Replay => ("replay", "preview"),
        FormKind::CreateType => ("types", "create"),
        FormKind::EditType(_) => ("types", "update"),
    }
}

/// Deliveries are identified by endpoint and event together: `key` holds both.
fn keyed(mut rows: Vec<Value>) -> Vec<Value> {
    for row in &mut rows {
        let key = format!(
            "{}/{}",
            row["endpoint_id"].as_str().unwrap_or_default(),
            row["event_id"].as_str().unwrap_or_default()
        );
        row["key"] = Value::String(key);
    }
    rows
}

#[cfg(test)]
#[path = "app_tests.rs"]
mod tests;
