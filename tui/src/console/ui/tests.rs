//! Every view, page and overlay drawn at 80×24 from fixed data, compared with the
//! snapshots under `snapshots/` (review changes with `cargo insta review`).

use chrono::{DateTime, TimeZone as _, Utc};
use hookwire_protocol::attempt::Outcome;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::{Value, json};

use super::*;
use crate::console::action::Action;
use crate::console::app::{Msg, Page, View};
use crate::console::filter::tests::attempt;
use crate::console::form::Form;
use crate::console::request::{ApiError, Load, Purpose};
use crate::console::table::Table;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap()
}

fn at(seconds_ago: i64) -> String {
    (now() - chrono::TimeDelta::seconds(seconds_ago)).to_rfc3339()
}

fn screen_of(app: &App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|frame| draw(frame, app, Theme { color: false }, now()))
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
        .collect::<Vec<_>>()
        .join("\n")
}

fn screen(app: &App) -> String {
    screen_of(app, 80, 24)
}

fn load(app: &mut App, load: Load, value: Value) {
    app.on_msg(Msg::Reply(Purpose::Load(load), Ok(vec![value])));
}

fn endpoint(id: &str, state: &str, types: &[&str]) -> Value {
    json!({"id": id, "url": format!("https://{id}.example/hooks"), "event_types": types,
        "status": {"state": state}, "timeout_ms": 10000, "verification": "echo",
        "headers": {"X-Team": "billing"}, "description": ""})
}

fn delivery(endpoint: &str, event: &str, state: &str, status: Option<u16>, ago: i64) -> Value {
    json!({"endpoint_id": endpoint, "event_id": event, "event_type": "orders.paid",
        "state": state, "attempts": 2, "last_status": status,
        "last_error": if status == Some(200) { Value::Null } else { json!("status") },
        "updated_at": at(ago), "event_seq": 12})
}

/// A console with a little of everything loaded.
fn app() -> App {
    let mut app = App::new("acme".into(), false);
    app.connected = Some(true);
    load(
        &mut app,
        Load::Endpoints,
        json!({"endpoints": [
            endpoint("ep_billing", "active", &["orders.>"]),
            endpoint("ep_crm", "paused", &[]),
            endpoint("ep_new", "pending_verification", &["users.created"]),
        ]}),
    );
    let window = |attempts: u64, rate: f64| {
        json!({"attempts": attempts, "success_rate": rate,
            "latency_ms": {"p50": 3.4, "p95": 11.3, "p99": 38.1}})
    };
    load(
        &mut app,
        Load::Overview,
        json!({
            "endpoints": {"total": 3, "active": 1, "paused": 1, "disabled": 0,
                "pending_verification": 1, "failing": 1},
            "windows": {"1h": window(1240, 0.981), "24h": window(30_112, 0.994)},
            "series": {"attempts": [10, 40, 80, 120, 90, 60, 100, 130, 160, 120, 150, 180]},
            "dead_letters": 4, "held": 2, "retries_waiting_all_tenants": 7,
            "per_endpoint": [
                {"id": "ep_billing", "status": {"state": "active"}, "failing": false,
                    "success_rate_24h": 0.997, "p95_ms_24h": 9.5, "last_attempt_at": at(3),
                    "dead_letters": 0},
                {"id": "ep_crm", "status": {"state": "paused"}, "failing": true,
                    "success_rate_24h": 0.42, "p95_ms_24h": 2048.0, "last_attempt_at": at(7200),
                    "dead_letters": 4},
                {"id": "ep_new", "status": {"state": "pending_verification"}, "failing": false,
                    "success_rate_24h": null, "p95_ms_24h": null, "last_attempt_at": null,
                    "dead_letters": 0},
            ]
        }),
    );
    for (i, (endpoint, status, outcome)) in [
        ("ep_billing", Some(200), Outcome::Succeeded),
        ("ep_crm", Some(503), Outcome::Retrying),
        ("ep_crm", None, Outcome::Dead),
    ]
    .into_iter()
    .enumerate()
    {
        let mut record = attempt(endpoint, "orders.paid", status);
        record.event_id = format!("order-{i}");
        record.outcome = outcome;
        record.at = now() - chrono::TimeDelta::seconds(2 - i64::try_from(i).unwrap());
        app.on_msg(Msg::Attempt(Box::new(record)));
    }
    load(
        &mut app,
        Load::Deliveries(json!({})),
        json!({"deliveries": [
            delivery("ep_billing", "order-7", "succeeded", Some(200), 5),
            delivery("ep_crm", "order-6", "retrying", Some(503), 65),
            delivery("ep_crm", "order-5", "dead", None, 4000),
        ], "next_cursor": null}),
    );
    load(
        &mut app,
        Load::DeadLetters,
        json!({"dead_letters": [
            {"seq": 41, "endpoint_id": "ep_crm", "event_id": "order-5", "event_type": "orders.paid",
                "attempts": 6, "last_error": "status 503", "dead_at": at(4000)},
            {"seq": 44, "endpoint_id": "ep_crm", "event_id": "order-9", "event_type": "orders.paid",
                "attempts": 6, "last_error": "timeout", "dead_at": at(300)},
        ]}),
    );
    load(
        &mut app,
        Load::Types,
        json!({"types": [
            {"name": "orders.paid", "version": 3, "validate": true, "schema": {"type": "object"},
                "example": {"order": 1}, "description": "An order was paid", "deprecated_at": null},
            {"name": "users.created", "version": 1, "validate": false, "schema": null,
                "description": "", "deprecated_at": at(86_400)},
        ]}),
    );
    load(
        &mut app,
        Load::Replays,
        json!({"jobs": [
            {"id": "incident-42", "endpoint_id": "ep_crm", "state": "running", "scanned": 1200,
                "queued": 300, "since": at(7200), "until": at(3600)},
            {"id": "rpl_x1", "endpoint_id": "ep_billing", "state": "completed", "scanned": 10,
                "queued": 10, "since": at(90_000), "until": at(86_400)},
        ]}),
    );
    load_audit(&mut app);
    load_sources(&mut app);
    app.pending = 0;
    app
}

fn load_sources(app: &mut App) {
    load(
        app,
        Load::Sources,
        json!({"sources": [
            {"tenant": "default", "name": "github", "subject": "hookwire.events.default.github",
                "verification": {"scheme": "github"}, "active": true, "rate_limit_per_minute": 100,
                "allowed_networks": ["140.82.112.0/20", "192.30.252.0/22"], "max_body_bytes": 262_144,
                "type_from": {"header": "x-github-event"}, "id_from": {"header": "x-github-delivery"},
                "path": "/in/hwin_abc", "url": "https://hooks.example.com/in/hwin_abc"},
            {"tenant": "default", "name": "stripe", "subject": "hookwire.events.default.stripe",
                "verification": {"scheme": "stripe", "tolerance_secs": 300}, "active": false,
                "rate_limit_per_minute": 600, "path": "/in/hwin_def"},
        ]}),
    );
}

fn load_audit(app: &mut App) {
    load(
        app,
        Load::Audit,
        json!({"records": [
            {"seq": 7, "at": at(600), "tenant": "default", "action": "endpoints.rotate-secret",
                "target": "ep_billing", "outcome": "ok",
                "requester": {"name": "alice@bastion", "source": "declared"}},
            {"seq": 9, "at": at(60), "tenant": "default", "action": "delivery.blocked_destination",
                "target": "ep_crm", "outcome": "failed", "detail": "10.0.0.8 is private",
                "requester": {"name": "hookwired", "source": "system"}},
        ], "next_cursor": null}),
    );
}

fn in_view(view: View) -> App {
    let mut app = app();
    app.view = view;
    app
}

#[test]
fn overview() {
    insta::assert_snapshot!(screen(&in_view(View::Overview)));
}

#[test]
fn endpoints() {
    insta::assert_snapshot!(screen(&in_view(View::Endpoints)));
}

#[test]
fn live() {
    insta::assert_snapshot!(screen(&in_view(View::Live)));
}

#[test]
fn deliveries() {
    insta::assert_snapshot!(screen(&in_view(View::Deliveries)));
}

#[test]
fn dead_letters_with_a_mark() {
    let mut app = in_view(View::DeadLetters);
    app.dead_letters.toggle_mark();
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn types() {
    insta::assert_snapshot!(screen(&in_view(View::Types)));
}

#[test]
fn audit() {
    insta::assert_snapshot!(screen(&in_view(View::Audit)));
}

#[test]
fn sources() {
    insta::assert_snapshot!(screen(&in_view(View::Sources)));
}

#[test]
fn source_page() {
    let mut app = in_view(View::Sources);
    app.pages.push(Page::Source {
        name: "github".into(),
        data: app.sources.selected().cloned(),
        stats: Some(
            json!({"received": 12, "verified": 10, "published": 9, "duplicates": 1,
            "rejected": {"bad_signature": 2}, "p50_us": 640, "p99_us": 1900}),
        ),
        requests: Some(json!({"requests": [
            {"at": at(120), "outcome": "published", "status": 200, "client": "140.82.115.4",
                "event_type": "push"},
            {"at": at(60), "outcome": "bad_signature", "status": 401, "client": "203.0.113.9",
                "detail": "signature does not match"},
        ]})),
        scroll: 0,
    });
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn replays() {
    insta::assert_snapshot!(screen(&in_view(View::Replays)));
}

#[test]
fn endpoint_page() {
    let mut app = in_view(View::Endpoints);
    let mut deliveries = Table::new("key");
    deliveries.load(
        vec![
            json!({"key": "a", "endpoint_id": "ep_billing", "event_id": "order-7",
            "event_type": "orders.paid", "state": "succeeded", "attempts": 1,
            "last_status": 200, "updated_at": at(5)}),
        ],
        false,
    );
    let window = json!({"attempts": 120, "success_rate": 0.75,
        "latency_ms": {"p50": 3.0, "p95": 9.5, "p99": 19.0}, "errors": {"status": 30}});
    let mut billing = endpoint("ep_billing", "active", &["orders.>"]);
    billing["circuit"] = json!({"state": "open", "reason": "5 consecutive failures",
        "opened_at": at(4), "failing_since": at(5), "probe_at": "2026-11-22T12:05:00Z"});
    billing["auth"] = json!({"type": "oauth2", "token_url": "https://auth.example/token",
        "client_id": "billing"});
    app.pages.push(Page::Endpoint {
        id: "ep_billing".into(),
        endpoint: Some(billing),
        stats: Some(json!({"windows": {"1h": window, "24h": window, "7d": window}})),
        deliveries,
    });
    insta::assert_snapshot!(screen(&app));
}

fn delivery_detail() -> Value {
    json!({
        "delivery": delivery("ep_crm", "order-6", "retrying", Some(503), 65),
        "event_data": {"order": 6, "total": 1250},
        "attempts": [
            {"attempt": 1, "at": at(125), "latency_ms": 12.4, "url": "https://ep_crm.example/hooks",
             "outcome": "retrying", "request_headers": {"content-type": "application/json",
             "webhook-id": "order-6"}, "response": {"status": 503, "headers": {"retry-after": "60"},
             "body": "{\"error\":\"busy\"}"}, "error": {"kind": "status", "message": "503 Service Unavailable"}},
        ]
    })
}

#[test]
fn delivery_page() {
    let mut app = in_view(View::Live);
    app.pages.push(Page::Delivery {
        endpoint_id: "ep_crm".into(),
        event_id: "order-6".into(),
        data: Some(delivery_detail()),
        scroll: 0,
    });
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn delivery_page_scrolls_but_keeps_the_end_on_screen() {
    let mut app = in_view(View::Live);
    app.pages.push(Page::Delivery {
        endpoint_id: "ep_crm".into(),
        event_id: "order-6".into(),
        data: Some(delivery_detail()),
        scroll: usize::MAX,
    });
    let text = screen_of(&app, 80, 12);
    assert!(text.contains("\"busy\""), "{text}");
    assert!(
        !text.contains("event data"),
        "scrolled past the top: {text}"
    );
}

#[test]
fn type_page() {
    let mut app = in_view(View::Types);
    app.pages.push(Page::Type {
        name: "orders.paid".into(),
        data: Some(app.types.selected().cloned().unwrap()),
        scroll: 0,
    });
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn confirm_replay_overlay() {
    let mut app = in_view(View::Endpoints);
    app.mode = Mode::Confirm(Action::Replay {
        request: json!({"endpoint_id": "ep_crm", "since": at(7200)}),
        events: 1834,
        complete: true,
    });
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn form_with_an_api_error_in_place() {
    let mut app = in_view(View::Endpoints);
    let mut form = Form::create_endpoint();
    form.fields[0].value = "https://crm.example/in".into();
    form.apply_error(&ApiError {
        message: "event_types: \"orders.>.x\" is not a valid filter".into(),
        field: Some("event_types".into()),
    });
    app.mode = Mode::Form(form);
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn new_secret_overlay() {
    let mut app = in_view(View::Endpoints);
    app.mode = Mode::Secret {
        id: "ep_billing".into(),
        secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into(),
    };
    insta::assert_snapshot!(screen(&app));
}

#[test]
fn help_hides_changes_when_read_only() {
    let mut app = in_view(View::Endpoints);
    app.mode = Mode::Help;
    let full = screen_of(&app, 100, 50);
    assert!(full.contains("rotate secret"), "{full}");
    app.readonly = true;
    let readonly = screen_of(&app, 100, 50);
    assert!(!readonly.contains("rotate secret"), "{readonly}");
    assert!(readonly.contains("read-only"));
    insta::assert_snapshot!(readonly);
}

#[test]
fn loading_disconnected_and_spinner_states() {
    let mut app = App::new("default".into(), false);
    let text = screen(&app);
    assert!(text.contains(strings::LOADING) && text.contains(strings::CONNECTING));
    app.connected = Some(false);
    app.pending = 1;
    let text = screen(&app);
    assert!(
        text.contains(strings::DISCONNECTED) && text.contains(SPINNER[0]),
        "{text}"
    );
    load(&mut app, Load::Endpoints, json!({"endpoints": []}));
    assert!(screen(&app).contains(strings::NO_ENDPOINTS));
    app.view = View::Live;
    assert!(screen(&app).contains(strings::NO_ATTEMPTS));
}

#[test]
fn wide_terminals_get_wider_columns() {
    let app = in_view(View::Endpoints);
    let text = screen_of(&app, 160, 30);
    assert!(text.contains("https://ep_billing.example/hooks"), "{text}");
}
