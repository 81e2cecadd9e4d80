//! The operator console: a ratatui view over the operations API and the live attempt
//! stream, redrawn only when a key or data arrives. Every request runs in its own task with
//! a timeout, so a slow or missing backend never freezes the screen.

mod action;
mod app;
mod filter;
mod keys;
mod strings;
mod ui;

use std::time::Duration;

use crossterm::event::{Event, EventStream, KeyCode, KeyEvent, KeyEventKind};
use futures_util::StreamExt as _;
use hookwire_nats::admin::AdminClient;
use hookwire_protocol::attempt::AttemptRecord;
use hookwire_protocol::{Subjects, Tenant};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use app::{App, Msg, Request};

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
    let mut dirty = true;
    while !app.quit {
        if dirty {
            crossterm::execute!(
                std::io::stdout(),
                crossterm::terminal::BeginSynchronizedUpdate
            )?;
            terminal.draw(|frame| ui::draw(frame, &app, theme))?;
            crossterm::execute!(
                std::io::stdout(),
                crossterm::terminal::EndSynchronizedUpdate
            )?;
        }
        dirty = true;
        tokio::select! {
            event = events.next() => match event {
                Some(Ok(Event::Key(key))) if key.kind == KeyEventKind::Press => {
                    let requests = app.on_key(keys::key_for(key), typed(key));
                    backend.handle(requests);
                }
                Some(Ok(Event::Resize(..))) => {}
                Some(Ok(_)) => dirty = false,
                Some(Err(e)) => return Err(e.into()),
                None => app.quit = true,
            },
            Some(msg) = rx.recv() => {
                let mut requests = app.on_msg(msg);
                // Take in everything queued before drawing once: a busy live tail costs
                // one frame per batch, not one per attempt.
                while let Ok(msg) = rx.try_recv() {
                    requests.extend(app.on_msg(msg));
                }
                backend.handle(requests);
            }
            _ = terminate.recv() => app.quit = true,
            _ = hangup.recv() => app.quit = true,
        }
    }
    watcher.abort();
    backend.stop();
    Ok(())
}

/// The character a key types, for filters, commands and confirmations.
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
    loop {
        let up = client.connection_state() == async_nats::connection::State::Connected;
        if last != Some(up) {
            last = Some(up);
            if tx.send(Msg::Connected(up)).await.is_err() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
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
            ),
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
                Request::LoadEndpoints => {
                    let (admin, tx) = (self.admin.clone(), self.tx.clone());
                    tokio::spawn(async move {
                        let reply = admin
                            .call::<_, Value>("endpoints", "list", &json!({"limit": 500}))
                            .await
                            .map(|page| page["endpoints"].as_array().cloned().unwrap_or_default())
                            .map_err(|e| e.to_string());
                        let _ = tx.send(Msg::Endpoints(reply)).await;
                    });
                }
                Request::Perform(action) => {
                    let (admin, tx) = (self.admin.clone(), self.tx.clone());
                    tokio::spawn(async move {
                        let (noun, verb, body) = action.request();
                        let reply = admin
                            .call::<_, Value>(noun, verb, &body)
                            .await
                            .map_err(|e| e.to_string());
                        let _ = tx.send(Msg::Done(action, reply)).await;
                    });
                }
                Request::SwitchTenant(name) => match Tenant::new(&name) {
                    Ok(tenant) => {
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
                        );
                    }
                    Err(e) => {
                        let tx = self.tx.clone();
                        tokio::spawn(async move {
                            let _ = tx.send(Msg::Endpoints(Err(e.to_string()))).await;
                        });
                    }
                },
            }
        }
    }

    fn stop(&self) {
        self.live.abort();
    }
}

/// Forwards every attempt record of the tenant to the app, resubscribing after errors.
async fn follow_live(client: async_nats::Client, subject: String, tx: mpsc::Sender<Msg>) {
    loop {
        if let Ok(mut subscription) = client.subscribe(subject.clone()).await {
            while let Some(message) = subscription.next().await {
                if let Ok(record) = serde_json::from_slice::<AttemptRecord>(&message.payload)
                    && tx.send(Msg::Attempt(Box::new(record))).await.is_err()
                {
                    return;
                }
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
