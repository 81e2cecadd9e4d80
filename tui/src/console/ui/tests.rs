//! Every view, page and overlay drawn at 80×24 from fixed data, compared with the
//! snapshots under `snapshots/` (review changes with `cargo insta review`).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use hookwire_protocol::attempt::{AttemptRecord, ErrorKind, ErrorRecord, Outcome, ResponseRecord};
use hookwire_protocol::audit::{AuditEntry, AuditPage, AuditRecord, Requester, RequesterSource};
use hookwire_protocol::auth::AuthView;
use hookwire_protocol::catalog::TypeList;
use hookwire_protocol::dead_letter::DeadLetterPage;
use hookwire_protocol::delivery::{DeliveryDetail, DeliveryPage, DeliveryRecord, ListDeliveries};
use hookwire_protocol::endpoint::{Circuit, CircuitState, Endpoint, EndpointPage, EndpointStatus};
use hookwire_protocol::operation::AdminReply;
use hookwire_protocol::overview::{
    EndpointCounts, EndpointLine, Overview, OverviewWindows, Series,
};
use hookwire_protocol::replay::{ReplayJob, ReplayJobs, ReplayState, StartReplay};
use hookwire_protocol::slo::{Percent, Slo, SloReport};
use hookwire_protocol::source::{
    RequestOutcome, SourceList, SourceRequest, SourceRequestPage, SourceStats, ValueFrom,
    Verification,
};
use hookwire_protocol::stats::{EndpointStats, LatencySummary, StatsWindows, WindowSummary};
use hookwire_protocol::template::{RenderedRequest, TemplateList, TemplateSummary};
use hookwire_protocol::{EventTypeFilter, Tenant};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::*;
use crate::console::action::Action;
use crate::console::app::{EndpointSort, Msg, Page, View};
use crate::console::filter::tests::attempt;
use crate::console::fixtures::{self, ago as at};
use crate::console::form::Form;
use crate::console::request::{ApiError, Load, Purpose};
use crate::console::table::Table;

fn now() -> DateTime<Utc> {
    fixtures::now()
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

fn load(app: &mut App, load: Load, reply: AdminReply) {
    app.on_msg(Msg::Reply(Purpose::Load(load), Ok(vec![reply])));
}

fn endpoint(id: &str, status: EndpointStatus, types: &[&str]) -> Endpoint {
    let mut endpoint = fixtures::endpoint(id, &format!("https://{id}.example/hooks"));
    endpoint.event_types = types
        .iter()
        .map(|t| EventTypeFilter::new(t).unwrap())
        .collect();
    endpoint.status = status;
    endpoint.timeout_ms = 10_000;
    endpoint.headers = BTreeMap::from([("x-team".to_owned(), "billing".to_owned())]);
    endpoint
}

fn pending() -> EndpointStatus {
    EndpointStatus::PendingVerification { last_error: None }
}

fn delivery(
    endpoint: &str,
    event: &str,
    state: Outcome,
    status: Option<u16>,
    ago: i64,
) -> DeliveryRecord {
    fixtures::delivery(endpoint, event, state, status, ago)
}

fn window(attempts: u64, rate: f64) -> WindowSummary {
    WindowSummary {
        attempts,
        success_rate: Some(rate),
        latency_ms: LatencySummary {
            p50: Some(3.4),
            p95: Some(11.3),
            p99: Some(38.1),
        },
        ..WindowSummary::default()
    }
}

fn line(id: &str, status: EndpointStatus, failing: bool, rate: Option<f64>) -> EndpointLine {
    EndpointLine {
        id: id.to_owned(),
        url: format!("https://{id}.example/hooks"),
        status,
        failing,
        attempts_24h: 0,
        success_rate_24h: rate,
        p95_ms_24h: None,
        last_attempt_at: None,
        dead_letters: 0,
        held: 0,
        slo: None,
    }
}

fn overview_fixture() -> Overview {
    let mut billing = line("ep_billing", EndpointStatus::Active, false, Some(0.997));
    billing.p95_ms_24h = Some(9.5);
    billing.last_attempt_at = Some(at(3));
    let mut crm = line("ep_crm", EndpointStatus::Paused, true, Some(0.42));
    crm.p95_ms_24h = Some(2048.0);
    crm.last_attempt_at = Some(at(7200));
    crm.dead_letters = 4;
    let objective = Slo {
        target_percent: Percent::from_thousandths(99_000),
        within_secs: 300,
        window_days: 7,
    };
    crm.slo = Some(SloReport::new(objective, 420, 580));
    Overview {
        tenant: Tenant::default(),
        at: now(),
        endpoints: EndpointCounts {
            total: 3,
            active: 1,
            paused: 1,
            disabled: 0,
            pending_verification: 1,
            failing: 1,
            missing_slo: 1,
        },
        windows: OverviewWindows {
            hour: window(1240, 0.981),
            day: window(30_112, 0.994),
        },
        series: Series {
            bucket_secs: 300,
            attempts: vec![10, 40, 80, 120, 90, 60, 100, 130, 160, 120, 150, 180],
            succeeded: vec![0; 12],
        },
        dead_letters: 4,
        held: 2,
        retries_waiting_all_tenants: 7,
        per_endpoint: vec![billing, crm, line("ep_new", pending(), false, None)],
    }
}

/// A console with a little of everything loaded.
fn app() -> App {
    let mut app = App::new("acme".into(), false);
    app.connected = Some(true);
    load(
        &mut app,
        Load::Endpoints,
        AdminReply::EndpointsList(EndpointPage {
            endpoints: vec![
                endpoint("ep_billing", EndpointStatus::Active, &["orders.>"]),
                endpoint("ep_crm", EndpointStatus::Paused, &[]),
                endpoint("ep_new", pending(), &["users.created"]),
            ],
            next_cursor: None,
        }),
    );
    load(
        &mut app,
        Load::Overview,
        AdminReply::OverviewGet(overview_fixture()),
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
        Load::Deliveries(ListDeliveries::default()),
        AdminReply::DeliveriesList(DeliveryPage {
            deliveries: vec![
                delivery("ep_billing", "order-7", Outcome::Succeeded, Some(200), 5),
                delivery("ep_crm", "order-6", Outcome::Retrying, Some(503), 65),
                delivery("ep_crm", "order-5", Outcome::Dead, None, 4000),
            ],
            next_cursor: None,
        }),
    );
    load_dead_letters_and_types(&mut app);
    let job = |id: &str, endpoint: &str, state, scanned, queued, since, until| ReplayJob {
        id: id.to_owned(),
        endpoint_id: endpoint.to_owned(),
        since: at(since),
        until: at(until),
        event_types: Vec::new(),
        state,
        scanned,
        queued,
        next_seq: 0,
        last_seq: 0,
        truncated_to: None,
        error: None,
        created_at: at(since),
        updated_at: at(until),
    };
    load(
        &mut app,
        Load::Replays,
        AdminReply::ReplayList(ReplayJobs {
            jobs: vec![
                job(
                    "incident-42",
                    "ep_crm",
                    ReplayState::Running,
                    1200,
                    300,
                    7200,
                    3600,
                ),
                job(
                    "rpl_x1",
                    "ep_billing",
                    ReplayState::Completed,
                    10,
                    10,
                    90_000,
                    86_400,
                ),
            ],
        }),
    );
    load_audit(&mut app);
    load_sources(&mut app);
    app.pending = 0;
    app
}

fn load_dead_letters_and_types(app: &mut App) {
    let mut first = fixtures::dead_letter(41, "ep_crm", "order-5");
    first.last_error = Some("status 503".to_owned());
    first.dead_at = at(4000);
    let mut second = fixtures::dead_letter(44, "ep_crm", "order-9");
    second.last_error = Some("timeout".to_owned());
    second.dead_at = at(300);
    load(
        app,
        Load::DeadLetters,
        AdminReply::DeadLettersList(DeadLetterPage {
            dead_letters: vec![first, second],
            next_cursor: None,
        }),
    );
    let mut paid = fixtures::event_type("orders.paid");
    paid.version = 3;
    paid.validate = true;
    paid.schema = Some(serde_json::json!({"type": "object"}));
    paid.example = Some(serde_json::json!({"order": 1}));
    "An order was paid".clone_into(&mut paid.description);
    let mut created = fixtures::event_type("users.created");
    created.deprecated_at = Some(at(86_400));
    load(
        app,
        Load::Types,
        AdminReply::TypesList(TypeList {
            types: vec![paid, created],
        }),
    );
}

fn load_sources(app: &mut App) {
    let mut github = fixtures::source("github", Verification::Github, "hwin_abc");
    github.source.allowed_networks = vec![
        "140.82.112.0/20".parse().unwrap(),
        "192.30.252.0/22".parse().unwrap(),
    ];
    github.source.type_from = ValueFrom::Header("x-github-event".to_owned());
    github.source.id_from = ValueFrom::Header("x-github-delivery".to_owned());
    github.url = Some("https://hooks.example.com/in/hwin_abc".to_owned());
    let mut stripe = fixtures::source(
        "stripe",
        Verification::Stripe {
            tolerance_secs: 300,
        },
        "hwin_def",
    );
    stripe.source.active = false;
    stripe.source.rate_limit_per_minute = 600;
    load(
        app,
        Load::Sources,
        AdminReply::SourcesList(SourceList {
            sources: vec![github, stripe],
        }),
    );
}

fn load_audit(app: &mut App) {
    let record = |seq, ago, action: &str, target: &str, outcome: &str, requester| AuditEntry {
        seq,
        record: AuditRecord {
            at: at(ago),
            tenant: Tenant::default(),
            action: action.to_owned(),
            target: Some(target.to_owned()),
            outcome: outcome.to_owned(),
            detail: None,
            requester,
        },
    };
    load(
        app,
        Load::Audit,
        AdminReply::AuditList(AuditPage {
            records: vec![
                record(
                    7,
                    600,
                    "endpoints.rotate-secret",
                    "ep_billing",
                    "ok",
                    Requester {
                        name: "alice@bastion".to_owned(),
                        source: RequesterSource::Declared,
                    },
                ),
                record(
                    9,
                    60,
                    "delivery.blocked_destination",
                    "ep_crm",
                    "failed",
                    Requester::system(),
                ),
            ],
            next_cursor: None,
        }),
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
        stats: Some(SourceStats {
            received: 12,
            verified: 10,
            published: 9,
            duplicates: 1,
            handshakes: 1,
            rejected: BTreeMap::from([(RequestOutcome::BadSignature, 2)]),
            p50_us: Some(640),
            p99_us: Some(1900),
        }),
        requests: Some(SourceRequestPage {
            requests: vec![
                source_request(120, RequestOutcome::Published, 200, "140.82.115.4", None),
                source_request(
                    60,
                    RequestOutcome::BadSignature,
                    401,
                    "203.0.113.9",
                    Some("signature does not match"),
                ),
            ],
            next_cursor: None,
        }),
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
    let mut deliveries = Table::default();
    let mut paid = delivery("ep_billing", "order-7", Outcome::Succeeded, Some(200), 5);
    paid.attempts = 1;
    deliveries.load(vec![paid], false);
    let window = WindowSummary {
        attempts: 120,
        success_rate: Some(0.75),
        latency_ms: LatencySummary {
            p50: Some(3.0),
            p95: Some(9.5),
            p99: Some(19.0),
        },
        errors: BTreeMap::from([("status".to_owned(), 30)]),
        ..WindowSummary::default()
    };
    let mut billing = endpoint("ep_billing", EndpointStatus::Active, &["orders.>"]);
    billing.circuit = Some(Circuit {
        state: CircuitState::Open,
        reason: "5 consecutive failures".to_owned(),
        opened_at: at(4),
        failing_since: at(5),
        probe_at: now() + chrono::TimeDelta::minutes(5),
        disable_near: false,
    });
    let objective = Slo {
        target_percent: Percent::from_thousandths(99_900),
        within_secs: 60,
        window_days: 30,
    };
    billing.slo = Some(objective);
    billing.auth = Some(AuthView::Oauth2 {
        token_url: "https://auth.example/token".to_owned(),
        client_id: "billing".to_owned(),
        scope: None,
    });
    app.pages.push(Page::Endpoint {
        id: "ep_billing".into(),
        endpoint: Some(billing),
        stats: Some(EndpointStats {
            endpoint_id: "ep_billing".to_owned(),
            windows: StatsWindows {
                hour: window.clone(),
                day: window.clone(),
                week: window,
            },
            slo: Some(SloReport::new(objective, 9_990, 5)),
        }),
        deliveries,
    });
    insta::assert_snapshot!(screen(&app));
}

fn delivery_detail() -> DeliveryDetail {
    let attempt = AttemptRecord {
        tenant: Tenant::default(),
        endpoint_id: "ep_crm".to_owned(),
        event_id: "order-6".to_owned(),
        event_seq: 12,
        event_type: "orders.paid".to_owned(),
        attempt: 1,
        at: at(125),
        latency_ms: 12.4,
        url: "https://ep_crm.example/hooks".to_owned(),
        request_headers: BTreeMap::from([
            ("content-type".to_owned(), "application/json".to_owned()),
            ("webhook-id".to_owned(), "order-6".to_owned()),
        ]),
        response: Some(ResponseRecord {
            status: 503,
            headers: BTreeMap::from([("retry-after".to_owned(), "60".to_owned())]),
            body: "{\"error\":\"busy\"}".to_owned(),
        }),
        error: Some(ErrorRecord {
            kind: ErrorKind::Status,
            message: "503 Service Unavailable".to_owned(),
        }),
        outcome: Outcome::Retrying,
        next_attempt_at: None,
        correlation_id: None,
        test: false,
        batch: None,
        slo_met: None,
    };
    DeliveryDetail {
        delivery: delivery("ep_crm", "order-6", Outcome::Retrying, Some(503), 65),
        attempts: vec![attempt],
        event_data: Some(serde_json::json!({"order": 6, "total": 1250})),
    }
}

fn source_request(
    ago: i64,
    outcome: RequestOutcome,
    status: u16,
    client: &str,
    detail: Option<&str>,
) -> SourceRequest {
    SourceRequest {
        at: at(ago),
        tenant: Tenant::default(),
        source: "github".to_owned(),
        client: client.to_owned(),
        outcome,
        status,
        detail: detail.map(str::to_owned),
        event_type: (status == 200).then(|| "push".to_owned()),
        msg_id: None,
        headers: BTreeMap::new(),
        body_bytes: 0,
        body_excerpt: String::new(),
        latency_us: 0,
    }
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

/// The templates view with `chat` loaded.
fn templates_view() -> App {
    let mut app = in_view(View::Templates);
    let detail = fixtures::template();
    let latest = detail.versions.last().unwrap();
    load(
        &mut app,
        Load::Templates,
        AdminReply::TemplatesList(TemplateList {
            templates: vec![TemplateSummary {
                name: detail.name.clone(),
                description: latest.description.clone(),
                latest: latest.version,
                format: latest.format,
                preset: latest.preset.clone(),
                pinned_by: 1,
                updated_at: latest.created_at,
            }],
        }),
    );
    app
}

#[test]
fn templates() {
    insta::assert_snapshot!(screen(&templates_view()));
}

#[test]
fn template_page_with_a_preview() {
    let mut app = templates_view();
    let mut headers = BTreeMap::from([
        ("content-type".to_owned(), "application/json".to_owned()),
        ("webhook-id".to_owned(), "msg_1".to_owned()),
    ]);
    headers.insert("webhook-timestamp".to_owned(), "1795000000".to_owned());
    app.pages.push(Page::Template {
        name: "chat".into(),
        detail: Some(fixtures::template()),
        shown: None,
        preview: Some(RenderedRequest {
            template: Some(fixtures::template().versions[1].pin()),
            url: None,
            headers,
            body: r#"{"text":"alerts.fired: disk full"}"#.to_owned(),
            compressed: false,
        }),
        scroll: 0,
    });
    let text = screen(&app);
    assert!(
        text.contains("[v2]") && text.contains("ep_billing (v2)"),
        "{text}"
    );
    insta::assert_snapshot!(text);
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
        request: StartReplay {
            endpoint_id: "ep_crm".to_owned(),
            since: at(7200),
            ..StartReplay::default()
        },
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
    app.mode = Mode::Help { scroll: 0 };
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
    load(
        &mut app,
        Load::Endpoints,
        AdminReply::EndpointsList(EndpointPage::default()),
    );
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

#[test]
fn help_scrolls_at_80x24_to_its_last_entry() {
    let mut app = in_view(View::Endpoints);
    app.mode = Mode::Help { scroll: 0 };
    let top = screen(&app);
    assert!(top.contains("j/k to scroll"), "{top}");
    assert!(!top.contains("quit, always"), "{top}");
    assert!(top.contains(":audit :sources"), "{top}");
    app.mode = Mode::Help { scroll: usize::MAX };
    let bottom = screen(&app);
    assert!(bottom.contains("quit, always"), "{bottom}");
    insta::assert_snapshot!(bottom);
}

#[test]
fn a_long_message_points_to_the_history_which_shows_it_whole() {
    let mut app = in_view(View::Endpoints);
    let long = "pause ep_billing failed: no hookwired serves hookwire.admin.default.endpoints.pause; is it running and connected to the same NATS?";
    app.status = Some(long.to_owned());
    app.messages.push_back((now(), long.to_owned()));
    let text = screen(&app);
    let footer = text.lines().last().unwrap();
    assert!(footer.ends_with("(:messages)"), "{footer}");
    app.mode = Mode::Messages { scroll: 0 };
    let history = screen(&app);
    assert!(history.contains("same NATS?"), "{history}");
    insta::assert_snapshot!(history);
}

#[test]
fn the_frozen_marker_stays_beside_a_message() {
    let mut app = in_view(View::Live);
    app.frozen = true;
    app.held_back
        .push_back(attempt("ep_crm", "orders.paid", Some(200)));
    app.status = Some("copied order-2".to_owned());
    let footer = screen(&app).lines().last().unwrap().to_owned();
    assert!(footer.starts_with("FROZEN, 1 new"), "{footer}");
    assert!(footer.contains("copied order-2"), "{footer}");
}

#[test]
fn sort_markers_and_long_ids_fit_at_80_columns_and_wide_terminals_show_more() {
    let mut app = in_view(View::Endpoints);
    for (sort, marker) in [
        (EndpointSort::Success, "OK 24H↓"),
        (EndpointSort::LastAttempt, "LAST↓"),
        (EndpointSort::P95, "P95↓"),
    ] {
        app.endpoint_sort = sort;
        assert!(screen(&app).contains(marker), "{marker}");
    }
    assert!(
        !screen(&app).contains("TYPES"),
        "80 columns leave the types out"
    );
    assert!(screen_of(&app, 120, 30).contains("TYPES"));

    let long = "ep_3k9x7q2m5n8p1r4t6v0w2yzz";
    let mut app = in_view(View::Live);
    app.on_msg(Msg::Attempt(Box::new(attempt(
        long,
        "orders.paid",
        Some(200),
    ))));
    let narrow = screen(&app);
    assert!(narrow.contains("ep_3k9x7…v0w2yzz"), "{narrow}");
    assert!(screen_of(&app, 140, 30).contains(long));
}

#[test]
fn ids_are_shortened_in_the_middle() {
    assert_eq!(views::fit_id("ep_short", 16), "ep_short");
    let fitted = views::fit_id("ep_3k9x7q2m5n8p1r4t6v0w2yzz", 16);
    assert_eq!(fitted.chars().count(), 16);
    assert!(
        fitted.starts_with("ep_3k9x7") && fitted.ends_with("v0w2yzz"),
        "{fitted}"
    );
}

#[test]
fn filters_and_counts_show_under_lists() {
    let mut app = in_view(View::Endpoints);
    app.endpoints.set_filter("crm");
    let text = screen(&app);
    assert!(text.contains("/crm  1/1 of 3"), "{text}");
    app.endpoints.set_filter("nothing-like-this");
    assert!(screen(&app).contains("nothing matches /nothing-like-this"));

    let mut app = in_view(View::Live);
    app.live_filter = crate::console::filter::LiveFilter::parse("status:failed").unwrap();
    app.live_filter_text = "status:failed".to_owned();
    let text = screen(&app);
    assert!(text.contains("/status:failed  1/2 of 3"), "{text}");
    let mut deliveries = in_view(View::Deliveries);
    deliveries.deliveries_search = "status:dead".to_owned();
    assert!(screen(&deliveries).contains("/status:dead  1/3 of 3"));
    app.live_filter = crate::console::filter::LiveFilter::parse("code:404").unwrap();
    app.live_filter_text = "code:404".to_owned();
    assert!(screen(&app).contains("nothing matches /code:404"));
}

#[test]
fn times_say_they_are_utc() {
    let text = screen(&in_view(View::Audit));
    assert!(text.contains("11:50:00Z"), "{text}");
    assert!(screen(&in_view(View::Live)).contains("UTC"));
}

#[test]
fn wide_terminals_name_every_view_in_the_tab_bar() {
    let text = screen_of(&in_view(View::Endpoints), 140, 30);
    let header = text.lines().next().unwrap();
    for name in [
        "1:Overview",
        "2:Endpoints",
        "5:Dead",
        "9:Sources",
        "0:Templates",
    ] {
        assert!(header.contains(name), "{header}");
    }
    // Disconnected, with less of the line left: every view still named, shortened.
    let mut app = in_view(View::Endpoints);
    app.connected = Some(false);
    app.pending = 1;
    let text = screen_of(&app, 120, 30);
    let header = text.lines().next().unwrap();
    assert!(header.contains("1:Over 2:Endpoints"), "{header}");
    assert!(header.contains("9:Sour 0:Temp"), "{header}");
}

#[test]
fn blocked_keys_page() {
    let mut app = app();
    app.view = View::Endpoints;
    let mut keys = Table::default();
    let mut empty_key = fixtures::blocked_key("", "evt_9", 7_200);
    empty_key.last_error = Some("timeout after 10000 ms".into());
    keys.load(
        vec![
            empty_key,
            fixtures::blocked_key("order-1", "order-1-created", 300),
            fixtures::blocked_key("order-7", "order-7-paid", 12),
        ],
        false,
    );
    app.pages.push(Page::BlockedKeys {
        id: "ep_billing".into(),
        keys,
    });
    insta::assert_snapshot!(screen(&app));
}
