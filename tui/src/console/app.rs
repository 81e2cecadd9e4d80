//! The console's state and what keys and data do to it. No I/O: the run loop carries out
//! the [`Request`]s this returns and feeds back what arrives as [`Msg`]s, so every
//! behaviour here is tested without a terminal or a server.

use std::collections::{BTreeMap, VecDeque};

use chrono::{DateTime, Utc};
use hookwire_protocol::Tenant;
use hookwire_protocol::attempt::AttemptRecord;
use hookwire_protocol::audit::AuditEntry;
use hookwire_protocol::catalog::EventTypeDef;
use hookwire_protocol::dead_letter::DeadLetter;
use hookwire_protocol::delivery::{DeliveryDetail, DeliveryRecord};
use hookwire_protocol::endpoint::Endpoint;
use hookwire_protocol::operation::{AdminReply, Effect};
use hookwire_protocol::ordered::BlockedKey;
use hookwire_protocol::overview::{EndpointLine, Overview};
use hookwire_protocol::replay::ReplayJob;
use hookwire_protocol::source::{SourceRequestPage, SourceStats, SourceView};
use hookwire_protocol::stats::EndpointStats;
use hookwire_protocol::template::{
    RenderedRequest, TemplateDetail, TemplateSummary, TemplateVersion,
};

use super::action::Action;
use super::filter::{LiveFilter, deliveries_query};
use super::form::{Form, FormKind};
use super::keys::Key;
use super::request::{ApiError, Call, Load, PAGE_LIMIT, Purpose, Request};
use super::strings;
use super::table::{Selectable, SortValue, Table};
use hookwire_protocol::operation::AdminRequest;

/// Attempts the live view keeps.
const LIVE_CAPACITY: usize = 2000;
/// Seconds of live throughput the overview charts.
pub(crate) const RATE_SECONDS: usize = 60;
const PAGE: isize = 10;
/// How long a message stays on the message line.
const STATUS_LIFETIME: chrono::TimeDelta = chrono::TimeDelta::seconds(10);
/// The `:` commands, for completion (`run_command` understands each).
const COMMANDS: &[&str] = &[
    "overview",
    "endpoints",
    "live",
    "deliveries",
    "dlq",
    "types",
    "replays",
    "audit",
    "sources",
    "messages",
    "tenant ",
    "quit",
];
/// Messages `:messages` keeps.
const MESSAGES_KEPT: usize = 100;

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
    Templates,
}

pub(crate) const VIEWS: [View; 10] = [
    View::Overview,
    View::Endpoints,
    View::Live,
    View::Deliveries,
    View::DeadLetters,
    View::Types,
    View::Replays,
    View::Audit,
    View::Sources,
    View::Templates,
];

/// A detail page opened over a view; `esc` goes back.
#[derive(Debug, Clone, PartialEq)]
#[allow(
    clippy::large_enum_variant,
    reason = "a handful of pages at most, opened by keys; boxing would not save anything"
)]
pub(crate) enum Page {
    Endpoint {
        id: String,
        endpoint: Option<Endpoint>,
        stats: Option<EndpointStats>,
        deliveries: Table<DeliveryRecord>,
    },
    Delivery {
        endpoint_id: String,
        event_id: String,
        data: Option<DeliveryDetail>,
        scroll: usize,
    },
    Type {
        name: String,
        data: Option<EventTypeDef>,
        scroll: usize,
    },
    /// A payload template: one version at a time (`shown`, the latest when `None`), who pins
    /// which, and the last preview rendered here.
    Template {
        name: String,
        detail: Option<TemplateDetail>,
        shown: Option<u32>,
        preview: Option<RenderedRequest>,
        scroll: usize,
    },
    /// An ordered endpoint's keys whose head failed and waits.
    BlockedKeys { id: String, keys: Table<BlockedKey> },
    /// An incoming-webhook source: its configuration, counters and recent requests.
    Source {
        name: String,
        data: Option<SourceView>,
        stats: Option<SourceStats>,
        requests: Option<SourceRequestPage>,
        scroll: usize,
    },
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
    /// The key list, scrolled down by `scroll` lines.
    Help {
        scroll: usize,
    },
    /// Every message of this session in full, newest first (`:messages`).
    Messages {
        scroll: usize,
    },
}

/// What arrives for the app.
#[derive(Debug)]
pub(crate) enum Msg {
    Connected(bool),
    Attempt(Box<AttemptRecord>),
    /// The replies of a [`Call`]'s requests, in order, or its first failure.
    Reply(Purpose, Result<Vec<AdminReply>, ApiError>),
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
    pub(crate) overview: Option<Overview>,
    pub(crate) endpoints: Table<Endpoint>,
    pub(crate) endpoint_sort: EndpointSort,
    pub(crate) live: VecDeque<AttemptRecord>,
    pub(crate) live_filter: LiveFilter,
    pub(crate) live_filter_text: String,
    pub(crate) live_selected: usize,
    pub(crate) frozen: bool,
    /// Attempts that arrived while frozen, shown once the tail follows again.
    pub(crate) held_back: VecDeque<AttemptRecord>,
    /// Live attempts per second: (Unix second, attempts, failed), oldest first.
    pub(crate) rate: VecDeque<(i64, u64, u64)>,
    pub(crate) deliveries: Table<DeliveryRecord>,
    pub(crate) deliveries_search: String,
    pub(crate) dead_letters: Table<DeadLetter>,
    pub(crate) types: Table<EventTypeDef>,
    pub(crate) templates: Table<TemplateSummary>,
    pub(crate) replays: Table<ReplayJob>,
    /// The audit log's last 24 hours.
    pub(crate) audit: Table<AuditEntry>,
    /// Incoming-webhook sources.
    pub(crate) sources: Table<SourceView>,
    /// Calls sent and not answered yet (the header shows a spinner meanwhile).
    pub(crate) pending: usize,
    pub(crate) spinner: usize,
    /// The message line: the last thing said, until it expires or the view changes.
    pub(crate) status: Option<String>,
    /// When the message line was set.
    pub(crate) status_at: Option<DateTime<Utc>>,
    /// `:` commands run, oldest first, and where up/down stand in them.
    pub(crate) history: Vec<String>,
    pub(crate) history_at: Option<usize>,
    /// Everything said, newest last (`:messages` shows them in full).
    pub(crate) messages: VecDeque<(DateTime<Utc>, String)>,
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
            endpoints: Table::default(),
            endpoint_sort: EndpointSort::Id,
            live: VecDeque::new(),
            live_filter: LiveFilter::default(),
            live_filter_text: String::new(),
            live_selected: 0,
            frozen: false,
            held_back: VecDeque::new(),
            rate: VecDeque::new(),
            deliveries: Table::default(),
            deliveries_search: String::new(),
            dead_letters: Table::default(),
            types: Table::default(),
            templates: Table::default(),
            replays: Table::default(),
            audit: Table::default(),
            sources: Table::default(),
            pending: 0,
            spinner: 0,
            status: None,
            status_at: None,
            messages: VecDeque::new(),
            history: Vec::new(),
            history_at: None,
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
    pub(crate) fn endpoint_line(&self, id: &str) -> Option<&EndpointLine> {
        self.overview
            .as_ref()?
            .per_endpoint
            .iter()
            .find(|line| line.id == id)
    }

    /// Puts `text` on the message line and in the message history.
    fn say(&mut self, text: impl Into<String>) {
        let text = text.into();
        let now = Utc::now();
        if self.messages.len() == MESSAGES_KEPT {
            self.messages.pop_front();
        }
        self.messages.push_back((now, text.clone()));
        self.status = Some(text);
        self.status_at = Some(now);
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
            Mode::Help { scroll } | Mode::Messages { scroll } => {
                let closes = if matches!(self.mode, Mode::Help { .. }) {
                    Key::Help
                } else {
                    Key::Back
                };
                let scroll = match key {
                    Some(Key::Down) => scroll.saturating_add(1),
                    Some(Key::Up) => scroll.saturating_sub(1),
                    Some(Key::PageDown) => scroll.saturating_add(10),
                    Some(Key::PageUp) => scroll.saturating_sub(10),
                    Some(Key::Top) => 0,
                    Some(Key::Bottom) => usize::MAX,
                    Some(k) if k == closes || matches!(k, Key::Back | Key::Quit) => {
                        self.mode = Mode::Normal;
                        return Vec::new();
                    }
                    _ => scroll,
                };
                match &mut self.mode {
                    Mode::Help { scroll: at } | Mode::Messages { scroll: at } => *at = scroll,
                    _ => {}
                }
                Vec::new()
            }
            Mode::Normal => key.map_or_else(Vec::new, |key| self.on_normal_key(key)),
        }
    }

    fn on_normal_key(&mut self, key: Key) -> Vec<Request> {
        if key.mutates() && self.readonly {
            self.say(strings::READONLY.to_owned());
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
            Key::Help => self.mode = Mode::Help { scroll: 0 },
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
                        table.clear_marks();
                    }
                }
            }
            Key::Open => return self.open(),
            Key::OpenEndpoint => {
                if let Some(id) = self.endpoint_in_context() {
                    return self.open_endpoint(id);
                }
            }
            Key::BlockedKeys => return self.open_blocked_keys(),
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
                    self.say(strings::copied(&text));
                    return vec![Request::Copy(text)];
                }
            }
            Key::Freeze => {
                self.frozen = !self.frozen;
                if !self.frozen {
                    for record in std::mem::take(&mut self.held_back) {
                        self.follow(record);
                    }
                }
            }
            Key::Refresh => return self.reload(),
            Key::Older | Key::Newer => self.step_version(key == Key::Older),
            Key::Quit | Key::ForceQuit => self.quit = true,
            _ => return self.change(key),
        }
        Vec::new()
    }

    /// The keys that change something: each becomes a form or an [`Action`].
    fn change(&mut self, key: Key) -> Vec<Request> {
        if let Some(requests) = self.template_change(key) {
            return requests;
        }
        if let Some(Page::BlockedKeys { id, keys }) = self.pages.last() {
            let action = match (key, keys.selected()) {
                (Key::Delete | Key::DeleteAll, Some(blocked)) => Action::SkipHead {
                    endpoint_id: id.clone(),
                    lane: blocked.lane.clone(),
                    key: blocked.key.clone(),
                    event_id: blocked.event_id.clone(),
                    dead_letter: key == Key::DeleteAll,
                },
                _ => return Vec::new(),
            };
            return self.ask_or_perform(action);
        }
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

    /// The change keys of the templates view and a template's page: new template, new
    /// version, preview, delete. `None` when the key is not one of theirs here.
    fn template_change(&mut self, key: Key) -> Option<Vec<Request>> {
        let on_page = match self.pages.last() {
            Some(Page::Template { name, .. }) => Some(name.clone()),
            None if self.view == View::Templates => None,
            _ => return None,
        };
        let name = on_page.clone().or_else(|| self.templates.selected_id());
        match (key, on_page, name) {
            (Key::New, None, _) => self.mode = Mode::Form(Form::create_template()),
            (Key::New, Some(name), _) => {
                self.mode = Mode::Form(Form::add_template_version(&name));
            }
            (Key::Test, Some(_), _) => {
                let pin = self.shown_template_version().map(TemplateVersion::pin)?;
                self.mode = Mode::Form(Form::preview_template(pin, None));
            }
            (Key::Delete, _, Some(name)) => {
                return Some(self.ask_or_perform(Action::DeleteTemplate(name)));
            }
            _ => return None,
        }
        Some(Vec::new())
    }

    /// The version a template's page shows: the chosen one, else the latest.
    pub(crate) fn shown_template_version(&self) -> Option<&TemplateVersion> {
        let Some(Page::Template {
            detail: Some(detail),
            shown,
            ..
        }) = self.pages.last()
        else {
            return None;
        };
        match shown {
            Some(number) => detail.versions.iter().find(|v| v.version == *number),
            None => detail.versions.last(),
        }
    }

    /// Shows the previous (`older`) or next version on a template's page.
    fn step_version(&mut self, older: bool) {
        let Some(Page::Template {
            detail: Some(detail),
            shown,
            preview,
            ..
        }) = self.pages.last_mut()
        else {
            return;
        };
        let latest = detail.versions.last().map_or(1, |v| v.version);
        let current = shown.unwrap_or(latest);
        let next = if older {
            current.saturating_sub(1).max(1)
        } else {
            (current + 1).min(latest)
        };
        if next != current {
            *shown = Some(next);
            *preview = None;
        }
    }

    fn dead_letter_action(&self, key: Key) -> Option<Action> {
        let seqs: Vec<u64> = self
            .dead_letters
            .marked_or_selected()
            .iter()
            .filter_map(|s| s.parse().ok())
            .collect();
        let endpoint = self.dead_letters.selected()?.endpoint_id.clone();
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
        // The keys that change things are refused earlier; this holds whatever the key.
        if self.readonly
            && action
                .requests()
                .iter()
                .any(|r| r.op().effect() != Effect::Read)
        {
            self.say(strings::READONLY.to_owned());
            return Vec::new();
        }
        self.say(format!("{}…", action.describe()));
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
                if let Some(request) = form.request(Utc::now()) {
                    form.sending = true;
                    let purpose = match &request {
                        AdminRequest::ReplayPreview(replay) => {
                            Purpose::PreviewReplay(replay.clone())
                        }
                        _ => Purpose::Submit(form.kind.clone()),
                    };
                    let call = Call {
                        purpose,
                        requests: vec![request],
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
                if filter {
                    return self.apply_filter(&text);
                }
                let command = text.trim();
                self.history_at = None;
                if !command.is_empty() && self.history.last().is_none_or(|last| last != command) {
                    self.history.push(command.to_owned());
                }
                return self.run_command(command);
            }
            (_, Some('\u{8}')) => {
                text.pop();
            }
            (_, Some(c)) => text.push(c),
            (Some(Key::NextView), None) if !filter => text = self.complete(&text),
            (Some(Key::Up), None) if !filter => text = self.recall(true).unwrap_or(text),
            (Some(Key::Down), None) if !filter => text = self.recall(false).unwrap_or_default(),
            _ => {}
        }
        self.mode = if filter {
            Mode::Filter(text)
        } else {
            Mode::Command(text)
        };
        Vec::new()
    }

    /// Tab in a `:` command: the command it begins, or as much as all candidates share
    /// (the candidates go to the message line).
    fn complete(&mut self, text: &str) -> String {
        let candidates: Vec<&str> = COMMANDS
            .iter()
            .copied()
            .filter(|c| c.starts_with(text))
            .collect();
        match candidates.as_slice() {
            [] => text.to_owned(),
            [only] => (*only).to_owned(),
            [first, rest @ ..] => {
                let shared = rest.iter().fold(first.len(), |len, c| {
                    first
                        .bytes()
                        .zip(c.bytes())
                        .take(len)
                        .take_while(|(a, b)| a == b)
                        .count()
                });
                self.say(candidates.join(" "));
                first[..shared].to_owned()
            }
        }
    }

    /// Up (`older`) or down in the `:` command history; `None` past the newest.
    fn recall(&mut self, older: bool) -> Option<String> {
        let newest = self.history.len().checked_sub(1)?;
        let at = match (self.history_at, older) {
            (None, true) => newest,
            (None, false) => return None,
            (Some(at), true) => at.saturating_sub(1),
            (Some(at), false) if at < newest => at + 1,
            (Some(_), false) => {
                self.history_at = None;
                return None;
            }
        };
        self.history_at = Some(at);
        self.history.get(at).cloned()
    }

    fn current_filter(&self) -> String {
        match (self.pages.last(), self.view) {
            (Some(_), _) => String::new(),
            (None, View::Live) => self.live_filter_text.clone(),
            (None, View::Deliveries) => self.deliveries_search.clone(),
            (None, _) => self
                .current_table_ref()
                .map(|t| t.filter().to_owned())
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
                Err(e) => self.say(e),
            },
            View::Deliveries => match deliveries_query(text, Utc::now(), PAGE_LIMIT) {
                Ok(query) => {
                    text.clone_into(&mut self.deliveries_search);
                    return vec![self.load(Load::Deliveries(query))];
                }
                Err(e) => self.say(e),
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
            "templates" | "tpl" => View::Templates,
            "messages" | "msg" => {
                self.mode = Mode::Messages { scroll: 0 };
                return Vec::new();
            }
            "tenant" if !argument.trim().is_empty() => return self.switch_tenant(argument.trim()),
            _ => {
                self.say(strings::unknown_command(command));
                return Vec::new();
            }
        };
        self.show(view)
    }

    fn switch_tenant(&mut self, name: &str) -> Vec<Request> {
        let tenant = match Tenant::new(name) {
            Ok(tenant) => tenant,
            Err(e) => {
                self.say(e.to_string());
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
        // What was said belongs to the view it was said in (`:messages` keeps it).
        if self.view != view {
            self.status = None;
        }
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
            Some(Page::Template { name, .. }) => vec![Load::Template(name.clone())],
            Some(Page::BlockedKeys { id, .. }) => vec![Load::BlockedKeys(id.clone())],
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
                View::Templates => vec![Load::Templates],
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
            (None, View::Templates) => match self.templates.selected_id() {
                Some(name) => {
                    self.pages.push(Page::Template {
                        name,
                        detail: None,
                        shown: None,
                        preview: None,
                        scroll: 0,
                    });
                    self.reload()
                }
                None => Vec::new(),
            },
            (None, View::Overview | View::Replays | View::Audit)
            | (
                Some(
                    Page::Delivery { .. }
                    | Page::Type { .. }
                    | Page::Source { .. }
                    | Page::Template { .. },
                ),
                _,
            ) => Vec::new(),
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

    /// Opens the blocked keys of the ordered endpoint in context.
    fn open_blocked_keys(&mut self) -> Vec<Request> {
        let Some(id) = self.endpoint_in_context() else {
            return Vec::new();
        };
        if matches!(self.pages.last(), Some(Page::BlockedKeys { .. })) {
            return Vec::new();
        }
        if self
            .endpoint_value(&id)
            .is_some_and(|endpoint| !endpoint.delivery.is_ordered())
        {
            self.say(strings::not_ordered(&id));
            return Vec::new();
        }
        self.pages.push(Page::BlockedKeys {
            id,
            keys: Table::default(),
        });
        self.reload()
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
            deliveries: Table::default(),
        });
        self.reload()
    }

    fn move_selection(&mut self, delta: isize, to_end: Option<bool>) {
        match self.pages.last_mut() {
            Some(Page::Endpoint { deliveries, .. }) => deliveries.move_by(delta, to_end),
            Some(Page::BlockedKeys { keys, .. }) => keys.move_by(delta, to_end),
            Some(
                Page::Delivery { scroll, .. }
                | Page::Type { scroll, .. }
                | Page::Template { scroll, .. }
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

    fn current_table(&mut self) -> Option<&mut dyn Selectable> {
        match (self.pages.last_mut(), self.view) {
            (Some(Page::Endpoint { deliveries, .. }), _) => Some(deliveries),
            (Some(Page::BlockedKeys { keys, .. }), _) => Some(keys),
            (Some(_), _) | (None, View::Overview | View::Live) => None,
            (None, View::Endpoints) => Some(&mut self.endpoints),
            (None, View::Deliveries) => Some(&mut self.deliveries),
            (None, View::DeadLetters) => Some(&mut self.dead_letters),
            (None, View::Types) => Some(&mut self.types),
            (None, View::Replays) => Some(&mut self.replays),
            (None, View::Audit) => Some(&mut self.audit),
            (None, View::Sources) => Some(&mut self.sources),
            (None, View::Templates) => Some(&mut self.templates),
        }
    }

    fn current_table_ref(&self) -> Option<&dyn Selectable> {
        match (self.pages.last(), self.view) {
            (Some(Page::Endpoint { deliveries, .. }), _) => Some(deliveries),
            (Some(Page::BlockedKeys { keys, .. }), _) => Some(keys),
            (Some(_), _) | (None, View::Overview | View::Live) => None,
            (None, View::Endpoints) => Some(&self.endpoints),
            (None, View::Deliveries) => Some(&self.deliveries),
            (None, View::DeadLetters) => Some(&self.dead_letters),
            (None, View::Types) => Some(&self.types),
            (None, View::Replays) => Some(&self.replays),
            (None, View::Audit) => Some(&self.audit),
            (None, View::Sources) => Some(&self.sources),
            (None, View::Templates) => Some(&self.templates),
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
        match self.pages.last() {
            Some(Page::Endpoint { id, .. } | Page::BlockedKeys { id, .. }) => Some(id.clone()),
            Some(Page::Delivery { endpoint_id, .. }) => Some(endpoint_id.clone()),
            Some(Page::Type { .. } | Page::Source { .. } | Page::Template { .. }) => None,
            None => match self.view {
                View::Endpoints => self.endpoints.selected_id(),
                View::Live => self.selected_attempt().map(|a| a.endpoint_id.clone()),
                View::Deliveries => self.deliveries.selected().map(|d| d.endpoint_id.clone()),
                View::DeadLetters => self.dead_letters.selected().map(|d| d.endpoint_id.clone()),
                View::Replays => self.replays.selected().map(|j| j.endpoint_id.clone()),
                View::Overview | View::Types | View::Audit | View::Sources | View::Templates => {
                    None
                }
            },
        }
    }

    /// The delivery open or selected: (endpoint id, event id).
    fn delivery_in_context(&self) -> Option<(String, String)> {
        let of_row =
            |row: Option<&DeliveryRecord>| row.map(|d| (d.endpoint_id.clone(), d.event_id.clone()));
        match self.pages.last() {
            Some(Page::Delivery {
                endpoint_id,
                event_id,
                ..
            }) => Some((endpoint_id.clone(), event_id.clone())),
            Some(Page::Endpoint { deliveries, .. }) => of_row(deliveries.selected()),
            Some(Page::BlockedKeys { id, keys }) => keys
                .selected()
                .map(|key| (id.clone(), key.event_id.clone())),
            Some(Page::Type { .. } | Page::Source { .. } | Page::Template { .. }) => None,
            None => match self.view {
                View::Live => self
                    .selected_attempt()
                    .map(|a| (a.endpoint_id.clone(), a.event_id.clone())),
                View::Deliveries => of_row(self.deliveries.selected()),
                View::DeadLetters => self
                    .dead_letters
                    .selected()
                    .map(|d| (d.endpoint_id.clone(), d.event_id.clone())),
                _ => None,
            },
        }
    }

    /// The id `c` copies: of the open page, else of the selected row.
    fn id_in_context(&self) -> Option<String> {
        match self.pages.last() {
            Some(Page::Endpoint { id, .. }) => Some(id.clone()),
            Some(Page::Delivery { event_id, .. }) => Some(event_id.clone()),
            Some(Page::BlockedKeys { keys, .. }) => keys.selected().map(|key| key.key.clone()),
            Some(
                Page::Type { name, .. } | Page::Source { name, .. } | Page::Template { name, .. },
            ) => Some(name.clone()),
            None => match self.view {
                View::Live => self.selected_attempt().map(|a| a.event_id.clone()),
                View::Deliveries | View::DeadLetters => {
                    self.delivery_in_context().map(|(_, event_id)| event_id)
                }
                _ => self.current_table_ref().and_then(Selectable::selected_id),
            },
        }
    }

    /// The endpoint as last loaded (its page, or its row).
    fn endpoint_value(&self, id: &str) -> Option<Endpoint> {
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
                .find(|e| e.id == id)
                .cloned()
        })
    }

    fn type_value(&self, name: &str) -> Option<EventTypeDef> {
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
                .find(|t| t.name == name)
                .cloned()
        })
    }

    fn sort_endpoints(&mut self) {
        let lines: BTreeMap<&str, &EndpointLine> = self
            .overview
            .iter()
            .flat_map(|o| o.per_endpoint.iter())
            .map(|line| (line.id.as_str(), line))
            .collect();
        let line = |row: &Endpoint, of: fn(&EndpointLine) -> Option<f64>| {
            SortValue::number(lines.get(row.id.as_str()).and_then(|l| of(l)))
        };
        // Worst first for the health columns: low success, high p95; newest activity first.
        #[allow(clippy::cast_precision_loss, reason = "milliseconds far below 2^52")]
        let last_attempt =
            |l: &EndpointLine| l.last_attempt_at.map(|t| t.timestamp_millis() as f64);
        let endpoints = &mut self.endpoints;
        match self.endpoint_sort {
            EndpointSort::Id => endpoints.sort_by(|r| SortValue::Text(r.id.clone()), false),
            EndpointSort::Status => {
                endpoints.sort_by(|r| SortValue::Text(r.status.as_str().to_owned()), false);
            }
            EndpointSort::Success => endpoints.sort_by(|r| line(r, |l| l.success_rate_24h), false),
            EndpointSort::P95 => endpoints.sort_by(|r| line(r, |l| l.p95_ms_24h), true),
            EndpointSort::LastAttempt => endpoints.sort_by(|r| line(r, last_attempt), true),
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
                if self
                    .status_at
                    .is_some_and(|at| Utc::now() - at > STATUS_LIFETIME)
                {
                    self.status = None;
                }
                // Every list and page follows changes made elsewhere; the live tail has
                // its own stream.
                if self.pending == 0 && (self.view != View::Live || !self.pages.is_empty()) {
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
            if self.held_back.len() == LIVE_CAPACITY {
                self.held_back.pop_front();
            }
            self.held_back.push_back(record);
            return;
        }
        self.follow(record);
    }

    /// Adds an attempt to the live tail.
    fn follow(&mut self, record: AttemptRecord) {
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

    fn on_reply(
        &mut self,
        purpose: Purpose,
        reply: Result<Vec<AdminReply>, ApiError>,
    ) -> Vec<Request> {
        match (purpose, reply) {
            (Purpose::Load(load), Ok(replies)) => {
                if let Some(reply) = replies.into_iter().next() {
                    self.loaded(&load, reply);
                }
                Vec::new()
            }
            (Purpose::Load(_), Err(e)) => {
                self.say(e.message);
                Vec::new()
            }
            (Purpose::Perform(action), Ok(replies)) => self.performed(&action, &replies),
            (Purpose::Perform(action), Err(e)) => {
                self.say(strings::failed(&action.describe(), &e.message));
                Vec::new()
            }
            (Purpose::Submit(kind), Ok(replies)) => self.submitted(&kind, replies),
            (Purpose::PreviewReplay(request), Ok(replies)) => {
                if let (Mode::Form(_), Some(AdminReply::ReplayPreview(preview))) =
                    (&self.mode, replies.first())
                {
                    self.mode = Mode::Confirm(Action::Replay {
                        request,
                        events: preview.events,
                        complete: preview.complete,
                    });
                }
                Vec::new()
            }
            (Purpose::Submit(_) | Purpose::PreviewReplay(_), Err(e)) => {
                if let Mode::Form(form) = &mut self.mode {
                    form.apply_error(&e);
                } else {
                    self.say(e.message);
                }
                Vec::new()
            }
        }
    }

    /// The page on top, when it is the one `load` asked for.
    fn page_for(&mut self, load: &Load) -> Option<&mut Page> {
        let page = self.pages.last_mut()?;
        let matches = match (load, &*page) {
            (
                Load::Endpoint(want) | Load::EndpointStats(want) | Load::EndpointDeliveries(want),
                Page::Endpoint { id, .. },
            )
            | (Load::BlockedKeys(want), Page::BlockedKeys { id, .. }) => id == want,
            (
                Load::Delivery {
                    endpoint_id: want_endpoint,
                    event_id: want_event,
                },
                Page::Delivery {
                    endpoint_id,
                    event_id,
                    ..
                },
            ) => (endpoint_id, event_id) == (want_endpoint, want_event),
            (Load::Type(want), Page::Type { name, .. })
            | (Load::Template(want), Page::Template { name, .. })
            | (
                Load::Source(want) | Load::SourceStats(want) | Load::SourceRequests(want),
                Page::Source { name, .. },
            ) => name == want,
            _ => false,
        };
        matches.then_some(page)
    }

    /// Puts a loaded reply where it is shown. A reply whose page was closed meanwhile (or
    /// that does not fit its load) is dropped.
    fn loaded(&mut self, load: &Load, reply: AdminReply) {
        match (load, reply) {
            (Load::Overview, AdminReply::OverviewGet(overview)) => {
                self.overview = Some(overview);
                if self.endpoint_sort != EndpointSort::Id {
                    self.sort_endpoints();
                }
            }
            (Load::Endpoints, AdminReply::EndpointsList(page)) => {
                self.endpoints
                    .load(page.endpoints, page.next_cursor.is_some());
                self.sort_endpoints();
            }
            (Load::Deliveries(_), AdminReply::DeliveriesList(page)) => {
                self.deliveries
                    .load(page.deliveries, page.next_cursor.is_some());
            }
            (Load::DeadLetters, AdminReply::DeadLettersList(page)) => {
                self.dead_letters
                    .load(page.dead_letters, page.next_cursor.is_some());
            }
            (Load::Types, AdminReply::TypesList(list)) => self.types.load(list.types, false),
            (Load::Replays, AdminReply::ReplayList(list)) => self.replays.load(list.jobs, false),
            (Load::Audit, AdminReply::AuditList(page)) => {
                self.audit.load(page.records, page.next_cursor.is_some());
            }
            (Load::Sources, AdminReply::SourcesList(list)) => {
                self.sources.load(list.sources, false);
            }
            (Load::Templates, AdminReply::TemplatesList(list)) => {
                self.templates.load(list.templates, false);
            }
            (load, reply) => match (self.page_for(load), reply) {
                (Some(Page::Endpoint { endpoint, .. }), AdminReply::EndpointsGet(loaded)) => {
                    *endpoint = Some(loaded);
                }
                (Some(Page::Endpoint { stats, .. }), AdminReply::EndpointsStats(loaded)) => {
                    *stats = Some(loaded);
                }
                (Some(Page::Endpoint { deliveries, .. }), AdminReply::DeliveriesList(page)) => {
                    deliveries.load(page.deliveries, page.next_cursor.is_some());
                }
                (Some(Page::BlockedKeys { keys, .. }), AdminReply::EndpointsBlockedKeys(list)) => {
                    keys.load(list.keys, false);
                }
                (Some(Page::Delivery { data, .. }), AdminReply::DeliveriesGet(loaded)) => {
                    *data = Some(loaded);
                }
                (Some(Page::Type { data, .. }), AdminReply::TypesGet(loaded)) => {
                    *data = Some(loaded);
                }
                (Some(Page::Template { detail, .. }), AdminReply::TemplatesGet(loaded)) => {
                    *detail = Some(loaded);
                }
                (Some(Page::Source { data, .. }), AdminReply::SourcesGet(loaded)) => {
                    *data = Some(loaded);
                }
                (Some(Page::Source { stats, .. }), AdminReply::SourcesStats(loaded)) => {
                    *stats = Some(loaded);
                }
                (Some(Page::Source { requests, .. }), AdminReply::SourcesRequests(loaded)) => {
                    *requests = Some(loaded);
                }
                _ => {}
            },
        }
    }

    fn performed(&mut self, action: &Action, replies: &[AdminReply]) -> Vec<Request> {
        self.say(action.outcome(replies));
        let mut requests = Vec::new();
        match action {
            Action::RotateSecret(id) => {
                if let Some(AdminReply::EndpointsRotateSecret(rotated)) = replies.first() {
                    requests.push(Request::Copy(rotated.secret.clone()));
                    self.mode = Mode::Secret {
                        id: id.clone(),
                        secret: rotated.secret.clone(),
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
            Action::DeleteTemplate(name) => {
                self.pages
                    .retain(|p| !matches!(p, Page::Template { name: open, .. } if open == name));
            }
            Action::Purge(_) | Action::Requeue(_) => self.dead_letters.marked.clear(),
            _ => {}
        }
        requests.extend(self.reload());
        requests
    }

    fn submitted(&mut self, kind: &FormKind, replies: Vec<AdminReply>) -> Vec<Request> {
        self.mode = Mode::Normal;
        let mut requests = Vec::new();
        let said = match (kind, replies.into_iter().next()) {
            (FormKind::CreateEndpoint, Some(AdminReply::EndpointsCreate(created))) => {
                let id = created.endpoint.id;
                requests.push(Request::Copy(created.secret.clone()));
                self.mode = Mode::Secret {
                    id: id.clone(),
                    secret: created.secret,
                };
                strings::created(&id)
            }
            (FormKind::TestSend(id), Some(AdminReply::EndpointsTest(attempt))) => {
                strings::test_result(id, &attempt)
            }
            (FormKind::CreateType, Some(AdminReply::TypesCreate(def))) => {
                strings::created(&def.name)
            }
            (
                FormKind::CreateTemplate | FormKind::AddTemplateVersion(_),
                Some(
                    AdminReply::TemplatesCreate(version) | AdminReply::TemplatesAddVersion(version),
                ),
            ) => {
                if let Some(Page::Template { shown, .. }) = self.pages.last_mut() {
                    *shown = Some(version.version);
                }
                strings::created(&version.pin().to_string())
            }
            (FormKind::PreviewTemplate(pin), Some(AdminReply::TemplatesPreview(rendered))) => {
                if let Some(Page::Template { preview, .. }) = self.pages.last_mut() {
                    *preview = Some(rendered);
                }
                strings::previewed(pin)
            }
            (FormKind::EditEndpoint(id) | FormKind::EditType(id), _) => strings::saved(id),
            (kind, _) => strings::done(&format!("{kind:?}")),
        };
        self.say(said);
        requests.extend(self.reload());
        requests
    }
}

#[cfg(test)]
#[path = "app_tests.rs"]
mod tests;
