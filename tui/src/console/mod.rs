//! The operator console: a ratatui view over the operations API and the live attempt
//! stream, redrawn only when a key or data arrives. Every request runs in its own task with
//! a timeout, so a slow or missing backend never freezes the screen.

mod action;
mod app;
mod error;
mod filter;
#[cfg(test)]
mod fixtures;
mod form;
mod keys;
mod request;
mod strings;
mod table;
mod ui;

use std::io::Write as _;
use std::time::Duration;

use base64::Engine as _;
use crossterm::event::{Event, EventStream, KeyCode, KeyEvent, KeyEventKind};
use futures_util::StreamExt as _;
use hookwire_nats::admin::{AdminClient, AdminClientError, local_requester};
use hookwire_protocol::attempt;
use hookwire_protocol::operation::AdminReply;
use hookwire_protocol::{Subjects, Tenant};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use app::{App, Msg};
use request::{ApiError, Call, Request};

/// The fewest milliseconds between two frames: a busy live tail is drawn at most 20
/// times a second, however fast attempts arrive.
const MIN_FRAME: Duration = Duration::from_millis(50);
/// How often what changes on its own (overview, replay jobs, ages) is refreshed.
const REFRESH: Duration = Duration::from_secs(5);
/// How often the spinner turns while a request is out.
const SPIN: Duration = Duration::from_millis(150);

/// Where the console connects and what it may do.
pub(crate) struct Options {
    pub(crate) client: async_nats::Client,
    pub(crate) subjects: Subjects,
    pub(crate) tenant: Tenant,
    pub(crate) timeout: Duration,
    pub(crate) readonly: bool,
}

/// Runs the console until the operator quits (or a signal arrives); the terminal is
/// restored on every way out, panics included (ratatui's hook).
pub(crate) async fn run(options: Options) -> anyhow::Result<()> {
    let mut terminal = ratatui::init();
    let result = run_on(&mut terminal, options).await;
    ratatui::restore();
    result
}

async fn run_on(terminal: &mut ratatui::DefaultTerminal, options: Options) -> anyhow::Result<()> {
    let theme = ui::Theme::from_env();
    let (tx, mut rx) = mpsc::channel::<Msg>(4096);
    let mut app = App::new(options.tenant.to_string(), options.readonly);
    let mut backend = Backend::new(options, tx.clone());
    let mut events = EventStream::new();
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    let watcher = tokio::spawn(watch_connection(backend.client.clone(), tx.clone()));
    let mut refresh = tokio::time::interval_at(Instant::now() + REFRESH, REFRESH);
    refresh.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut spin = tokio::time::interval(SPIN);
    let mut dirty = true;
    let mut last_frame = Instant::now() - MIN_FRAME;
    while !app.quit {
        if dirty && last_frame.elapsed() >= MIN_FRAME {
            draw(terminal, &app, theme)?;
            last_frame = Instant::now();
            dirty = false;
        }
        let next_frame = last_frame + MIN_FRAME;
        let mut requests = Vec::new();
        tokio::select! {
            event = events.next() => match event {
                Some(Ok(Event::Key(key))) if key.kind == KeyEventKind::Press => {
                    for key in keys::unfold(key) {
                        requests.extend(app.on_key(keys::key_for(key), typed(key)));
                    }
                    dirty = true;
                }
                Some(Ok(Event::Resize(..))) => dirty = true,
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.into()),
                None => app.quit = true,
            },
            Some(msg) = rx.recv() => {
                requests = app.on_msg(msg);
                // Take in everything queued before drawing once.
                while let Ok(msg) = rx.try_recv() {
                    requests.extend(app.on_msg(msg));
                }
                dirty = true;
            }
            _ = refresh.tick() => {
                requests = app.on_msg(Msg::Tick);
                dirty = true;
            }
            _ = spin.tick(), if app.pending > 0 => {
                app.spinner = app.spinner.wrapping_add(1);
                dirty = true;
            }
            () = tokio::time::sleep_until(next_frame), if dirty => {}
            _ = terminate.recv() => app.quit = true,
            _ = hangup.recv() => app.quit = true,
        }
        backend.handle(requests);
    }
    watcher.abort();
    backend.stop();
    Ok(())
}

/// One frame, inside a synchronized update so the terminal shows it whole.
fn draw(
    terminal: &mut ratatui::DefaultTerminal,
    app: &App,
    theme: ui::Theme,
) -> anyhow::Result<()> {
    crossterm::execute!(
        std::io::stdout(),
        crossterm::terminal::BeginSynchronizedUpdate
    )?;
    let now = chrono::Utc::now();
    terminal.draw(|frame| ui::draw(frame, app, theme, now))?;
    crossterm::execute!(
        std::io::stdout(),
        crossterm::terminal::EndSynchronizedUpdate
    )?;
    Ok(())
}

/// The character a key types, for filters, commands, forms and confirmations.
fn typed(key: KeyEvent) -> Option<char> {
    match key.code {
        KeyCode::Char(c) => Some(c),
        KeyCode::Enter => Some('\n'),
        KeyCode::Backspace => Some('\u{8}'),
        _ => None,
    }
}

/// Reports connection changes (the client reconnects on its own).
async fn watch_connection(client: async_nats::Client, tx: mpsc::Sender<Msg>) {
    let mut last = None;
    let mut ever_connected = false;
    loop {
        let state = client.connection_state();
        ever_connected |= state == async_nats::connection::State::Connected;
        let shown = shown_connection(&state, ever_connected);
        if shown.is_some() && shown != last {
            last = shown;
            if tx.send(Msg::Connected(shown == Some(true))).await.is_err() {
                return;
            }
        }
        // Poll quickly until the first answer, then at a relaxed pace.
        let pause = if ever_connected { 500 } else { 50 };
        tokio::time::sleep(Duration::from_millis(pause)).await;
    }
}

/// What the header says of a connection state: connected, disconnected, or nothing new
/// (`None`) while the first connection is still being made, which is not an outage.
fn shown_connection(state: &async_nats::connection::State, ever_connected: bool) -> Option<bool> {
    match state {
        async_nats::connection::State::Connected => Some(true),
        async_nats::connection::State::Pending if !ever_connected => None,
        _ => Some(false),
    }
}

/// Carries out the app's requests against NATS.
struct Backend {
    client: async_nats::Client,
    subjects: Subjects,
    timeout: Duration,
    admin: AdminClient,
    live: JoinHandle<()>,
    tx: mpsc::Sender<Msg>,
}

impl Backend {
    fn new(options: Options, tx: mpsc::Sender<Msg>) -> Self {
        let live = tokio::spawn(follow_live(
            options.client.clone(),
            options.subjects.tenant_live(&options.tenant),
            tx.clone(),
        ));
        Self {
            admin: AdminClient::new(
                options.client.clone(),
                options.subjects.clone(),
                options.tenant,
                options.timeout,
            )
            .with_requester(local_requester()),
            client: options.client,
            subjects: options.subjects,
            timeout: options.timeout,
            live,
            tx,
        }
    }

    fn handle(&mut self, requests: Vec<Request>) {
        for request in requests {
            match request {
                Request::Call(call) => {
                    let (admin, tx) = (self.admin.clone(), self.tx.clone());
                    tokio::spawn(async move {
                        let reply = send(&admin, &call).await;
                        let _ = tx.send(Msg::Reply(call.purpose, reply)).await;
                    });
                }
                Request::Copy(text) => copy(&text),
                Request::SwitchTenant(tenant) => {
                    self.live.abort();
                    self.live = tokio::spawn(follow_live(
                        self.client.clone(),
                        self.subjects.tenant_live(&tenant),
                        self.tx.clone(),
                    ));
                    self.admin = AdminClient::new(
                        self.client.clone(),
                        self.subjects.clone(),
                        tenant,
                        self.timeout,
                    )
                    .with_requester(local_requester());
                }
            }
        }
    }

    fn stop(&self) {
        self.live.abort();
    }
}

/// Sends a call's requests in order; the first failure ends it.
async fn send(admin: &AdminClient, call: &Call) -> Result<Vec<AdminReply>, ApiError> {
    let mut replies = Vec::with_capacity(call.requests.len());
    for request in &call.requests {
        match admin.send_any(request).await {
            Ok(reply) => replies.push(reply),
            Err(AdminClientError::Api(body)) => {
                return Err(ApiError {
                    message: body.error.message,
                    field: body.error.field,
                });
            }
            Err(e) => return Err(ApiError::new(e.to_string())),
        }
    }
    Ok(replies)
}

/// Puts `text` on the clipboard of the terminal the operator sits at (OSC 52), which
/// works through SSH; terminals that do not support it ignore the sequence.
fn copy(text: &str) {
    let encoded = base64::engine::general_purpose::STANDARD.encode(text);
    let mut stdout = std::io::stdout();
    let _ = write!(stdout, "\x1b]52;c;{encoded}\x07");
    let _ = stdout.flush();
}

/// Forwards every attempt record of the tenant to the app, resubscribing after errors.
async fn follow_live(client: async_nats::Client, subject: String, tx: mpsc::Sender<Msg>) {
    loop {
        if let Ok(mut subscription) = client.subscribe(subject.clone()).await {
            while let Some(message) = subscription.next().await {
                // One record, or several stored together (oldest first).
                let records = attempt::records(&message.payload).unwrap_or_default();
                for record in records {
                    if tx.send(Msg::Attempt(Box::new(record))).await.is_err() {
                        return;
                    }
                }
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[cfg(test)]
mod tests {
    use async_nats::connection::State;

    use super::shown_connection;

    #[test]
    fn the_first_connection_in_progress_is_not_an_outage() {
        assert_eq!(shown_connection(&State::Pending, false), None);
        assert_eq!(shown_connection(&State::Connected, false), Some(true));
        assert_eq!(shown_connection(&State::Pending, true), Some(false));
        assert_eq!(shown_connection(&State::Disconnected, false), Some(false));
        assert_eq!(shown_connection(&State::Disconnected, true), Some(false));
    }
}
