//! The console's behaviour, key by key and reply by reply.

use hookwire_protocol::attempt::Outcome;
use hookwire_protocol::dead_letter::DeadLetterPage;
use hookwire_protocol::delivery::{DeliveryPage, ListDeliveries};
use hookwire_protocol::endpoint::{CreatedEndpoint, EndpointPage, RotatedSecret};
use hookwire_protocol::replay::ReplayPreview;
use hookwire_protocol::source::{SourceList, Verification};

use hookwire_protocol::operation::Op;
use hookwire_protocol::ordered::BlockedKeys;

use super::*;
use crate::console::filter::tests::attempt;
use crate::console::fixtures;

fn endpoints(ids: &[&str]) -> Msg {
    let endpoints = ids
        .iter()
        .map(|id| fixtures::endpoint(id, &format!("http://127.0.0.1/{id}")))
        .collect();
    Msg::Reply(
        Purpose::Load(Load::Endpoints),
        Ok(vec![AdminReply::EndpointsList(EndpointPage {
            endpoints,
            next_cursor: None,
        })]),
    )
}

fn console() -> App {
    let mut app = App::new("default".into(), false);
    app.on_msg(endpoints(&["ep_a", "ep_b", "ep_c"]));
    app
}

fn press(app: &mut App, key: Key) -> Vec<Request> {
    app.on_key(Some(key), None)
}

fn type_text(app: &mut App, text: &str) -> Vec<Request> {
    let mut requests = Vec::new();
    for c in text.chars() {
        requests = app.on_key(None, Some(c));
    }
    requests
}

/// The calls among `requests`.
fn calls(requests: &[Request]) -> Vec<&Call> {
    requests
        .iter()
        .filter_map(|r| match r {
            Request::Call(call) => Some(call),
            _ => None,
        })
        .collect()
}

fn performs(requests: &[Request]) -> Vec<Action> {
    calls(requests)
        .into_iter()
        .filter_map(|c| match &c.purpose {
            Purpose::Perform(action) => Some(action.clone()),
            _ => None,
        })
        .collect()
}

fn loads(requests: &[Request]) -> Vec<Load> {
    calls(requests)
        .into_iter()
        .filter_map(|c| match &c.purpose {
            Purpose::Load(load) => Some(load.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn views_switch_by_number_tab_and_command_and_load_their_data() {
    let mut app = console();
    assert_eq!(loads(&press(&mut app, Key::View(0))), [Load::Overview]);
    assert_eq!(app.view, View::Overview);
    assert_eq!(
        loads(&press(&mut app, Key::NextView)),
        [Load::Endpoints, Load::Overview]
    );
    assert_eq!(app.view, View::Endpoints);
    press(&mut app, Key::PrevView);
    assert_eq!(app.view, View::Overview);
    for (command, view, load) in [
        ("dlq", View::DeadLetters, Some(Load::DeadLetters)),
        ("types", View::Types, Some(Load::Types)),
        ("replays", View::Replays, Some(Load::Replays)),
        ("audit", View::Audit, Some(Load::Audit)),
        ("sources", View::Sources, Some(Load::Sources)),
        ("templates", View::Templates, Some(Load::Templates)),
        ("live", View::Live, None),
        (
            "deliveries",
            View::Deliveries,
            Some(Load::Deliveries(ListDeliveries {
                limit: Some(PAGE_LIMIT),
                ..ListDeliveries::default()
            })),
        ),
    ] {
        press(&mut app, Key::Command);
        let requests = type_text(&mut app, &format!("{command}\n"));
        assert_eq!(app.view, view, "{command}");
        assert_eq!(loads(&requests), load.into_iter().collect::<Vec<_>>());
    }
    press(&mut app, Key::Command);
    type_text(&mut app, "nonsense\n");
    assert!(app.status.as_deref().unwrap().contains("nonsense"));
}

#[test]
fn the_selection_follows_ids_and_enter_opens_the_endpoint() {
    let mut app = console();
    press(&mut app, Key::Down);
    assert_eq!(app.endpoints.selected_id().as_deref(), Some("ep_b"));
    app.on_msg(endpoints(&["ep_0", "ep_a", "ep_b", "ep_c"]));
    assert_eq!(app.endpoints.selected_id().as_deref(), Some("ep_b"));
    let requests = press(&mut app, Key::Open);
    assert_eq!(
        loads(&requests),
        [
            Load::Endpoint("ep_b".into()),
            Load::EndpointStats("ep_b".into()),
            Load::EndpointDeliveries("ep_b".into())
        ]
    );
    assert!(matches!(app.pages.last(), Some(Page::Endpoint { id, .. }) if id == "ep_b"));
    // The page's actions target its endpoint.
    assert_eq!(
        performs(&press(&mut app, Key::Pause)),
        [Action::Pause("ep_b".into())]
    );
    press(&mut app, Key::Back);
    assert!(app.pages.is_empty());
}

#[test]
fn destructive_actions_wait_for_confirmation() {
    let mut app = console();
    press(&mut app, Key::Down);
    assert!(press(&mut app, Key::Delete).is_empty());
    assert_eq!(app.mode, Mode::Confirm(Action::Delete("ep_b".into())));
    assert!(press(&mut app, Key::Back).is_empty(), "esc cancels");
    assert_eq!(app.mode, Mode::Normal);
    press(&mut app, Key::Rotate);
    let sent = app.on_key(Some(Key::Freeze), Some('y'));
    assert_eq!(performs(&sent), [Action::RotateSecret("ep_b".into())]);
    assert_eq!(app.pending, 1);
    // Pausing, enabling and verifying are not destructive: they go at once.
    for (key, action) in [
        (Key::Pause, Action::Pause("ep_b".into())),
        (Key::Enable, Action::Enable("ep_b".into())),
        (Key::Verify, Action::Verify("ep_b".into())),
    ] {
        assert_eq!(performs(&press(&mut app, key)), [action]);
    }
}

#[test]
fn a_rotated_secret_is_shown_once_and_copied() {
    let mut app = console();
    let reply = Msg::Reply(
        Purpose::Perform(Action::RotateSecret("ep_a".into())),
        Ok(vec![AdminReply::EndpointsRotateSecret(RotatedSecret {
            id: "ep_a".into(),
            secret: "whsec_new".into(),
            previous_expires_at: None,
        })]),
    );
    let requests = app.on_msg(reply);
    assert!(requests.contains(&Request::Copy("whsec_new".into())));
    assert_eq!(
        app.mode,
        Mode::Secret {
            id: "ep_a".into(),
            secret: "whsec_new".into()
        }
    );
    assert_eq!(
        press(&mut app, Key::Copy),
        [Request::Copy("whsec_new".into())]
    );
    press(&mut app, Key::Back);
    assert_eq!(app.mode, Mode::Normal, "gone once closed");
}

#[test]
fn read_only_consoles_refuse_every_change_and_open_no_form() {
    let mut app = App::new("default".into(), true);
    app.on_msg(endpoints(&["ep_a"]));
    for key in [
        Key::Pause,
        Key::Resume,
        Key::Enable,
        Key::Verify,
        Key::Delete,
        Key::Rotate,
        Key::New,
        Key::Edit,
        Key::Test,
        Key::Replay,
        Key::Resend,
    ] {
        assert!(press(&mut app, key).is_empty(), "{key:?}");
        assert_eq!(app.mode, Mode::Normal, "{key:?}");
    }
    assert_eq!(app.status.as_deref(), Some(strings::READONLY));
    // Looking stays possible.
    assert!(!press(&mut app, Key::Open).is_empty());
}

#[test]
fn a_create_form_sends_and_shows_the_api_error_in_place() {
    let mut app = console();
    press(&mut app, Key::New);
    assert!(matches!(&app.mode, Mode::Form(f) if f.kind == FormKind::CreateEndpoint));
    assert!(type_text(&mut app, "\n").is_empty(), "the url is missing");
    // `j` is typed, not a key, while a form is open.
    type_text(&mut app, "https://j.example/in");
    press(&mut app, Key::NextView);
    type_text(&mut app, "orders.>.x");
    let requests = type_text(&mut app, "\n");
    let call = calls(&requests)[0].clone();
    assert_eq!(call.purpose, Purpose::Submit(FormKind::CreateEndpoint));
    let AdminRequest::EndpointsCreate(create) = &call.requests[0] else {
        panic!("{call:?}");
    };
    assert_eq!(create.url, "https://j.example/in");
    app.on_msg(Msg::Reply(
        call.purpose.clone(),
        Err(ApiError {
            message: "event_types: not a filter".into(),
            field: Some("event_types".into()),
        }),
    ));
    let Mode::Form(form) = &app.mode else {
        panic!("the form stays open: {:?}", app.mode);
    };
    assert_eq!(form.fields[form.focus].key, "event_types");
    assert!(form.fields[form.focus].error.is_some());
    // Fixed and sent again: created, the secret shown once, the list reloaded.
    for _ in 0..4 {
        type_text(&mut app, "\u{8}");
    }
    let requests = type_text(&mut app, "\n");
    let purpose = calls(&requests)[0].purpose.clone();
    let requests = app.on_msg(Msg::Reply(
        purpose,
        Ok(vec![AdminReply::EndpointsCreate(CreatedEndpoint {
            endpoint: fixtures::endpoint("ep_new", "https://j.example/in"),
            secret: "whsec_x".into(),
        })]),
    ));
    assert!(matches!(&app.mode, Mode::Secret { id, .. } if id == "ep_new"));
    assert!(requests.contains(&Request::Copy("whsec_x".into())));
    assert!(loads(&requests).contains(&Load::Endpoints));
}

#[test]
fn a_replay_is_previewed_then_confirmed_with_its_count() {
    let mut app = console();
    press(&mut app, Key::Replay);
    let requests = type_text(&mut app, "\n");
    let call = calls(&requests)[0].clone();
    let Purpose::PreviewReplay(replay) = &call.purpose else {
        panic!("{call:?}");
    };
    assert_eq!(call.requests[0].op(), Op::ReplayPreview);
    assert_eq!(replay.endpoint_id, "ep_a");
    app.on_msg(Msg::Reply(
        call.purpose.clone(),
        Ok(vec![AdminReply::ReplayPreview(ReplayPreview {
            events: 1834,
            scanned: 2000,
            complete: true,
            until: Utc::now(),
            truncated_to: None,
        })]),
    ));
    let Mode::Confirm(action) = app.mode.clone() else {
        panic!("{:?}", app.mode);
    };
    assert!(action.confirmation().unwrap().contains("1834 events"));
    let started = app.on_key(None, Some('y'));
    assert_eq!(calls(&started)[0].requests[0].op(), Op::ReplayStart);
}

#[test]
fn dead_letters_are_marked_and_requeued_or_purged_together() {
    let mut app = console();
    press(&mut app, Key::View(4));
    app.on_msg(Msg::Reply(
        Purpose::Load(Load::DeadLetters),
        Ok(vec![AdminReply::DeadLettersList(DeadLetterPage {
            dead_letters: vec![
                fixtures::dead_letter(4, "ep_a", "e4"),
                fixtures::dead_letter(7, "ep_a", "e7"),
                fixtures::dead_letter(9, "ep_b", "e9"),
            ],
            next_cursor: None,
        })]),
    ));
    // One, unmarked: requeued at once.
    assert_eq!(
        performs(&press(&mut app, Key::Resend)),
        [Action::Requeue(vec![4])]
    );
    press(&mut app, Key::Mark);
    press(&mut app, Key::Mark);
    assert!(press(&mut app, Key::Resend).is_empty(), "bulk asks first");
    assert_eq!(app.mode, Mode::Confirm(Action::Requeue(vec![4, 7])));
    press(&mut app, Key::Back);
    press(&mut app, Key::Delete);
    assert_eq!(app.mode, Mode::Confirm(Action::Purge(vec![4, 7])));
    press(&mut app, Key::Back);
    press(&mut app, Key::ResendAll);
    assert_eq!(
        app.mode,
        Mode::Confirm(Action::RequeueEndpoint("ep_b".into()))
    );
    press(&mut app, Key::Back);
    press(&mut app, Key::DeleteAll);
    assert_eq!(
        app.mode,
        Mode::Confirm(Action::PurgeEndpoint("ep_b".into()))
    );
}

#[test]
fn live_attempts_open_their_delivery_and_endpoint_and_redeliver() {
    let mut app = console();
    press(&mut app, Key::View(2));
    for (i, endpoint) in ["ep_a", "ep_b"].iter().enumerate() {
        let mut record = attempt(endpoint, "a.b", Some(200));
        record.event_id = format!("evt-{i}");
        app.on_msg(Msg::Attempt(Box::new(record)));
    }
    press(&mut app, Key::Down);
    // A new attempt arrives: the selection stays on the same attempt.
    app.on_msg(Msg::Attempt(Box::new(attempt("ep_c", "a.b", Some(200)))));
    assert_eq!(app.live_selected, 2);
    assert_eq!(
        performs(&press(&mut app, Key::Resend)),
        [Action::Redeliver {
            endpoint_id: "ep_a".into(),
            event_id: "evt-0".into()
        }]
    );
    let opened = press(&mut app, Key::Open);
    assert_eq!(
        loads(&opened),
        [Load::Delivery {
            endpoint_id: "ep_a".into(),
            event_id: "evt-0".into()
        }]
    );
    let endpoint = press(&mut app, Key::OpenEndpoint);
    assert_eq!(loads(&endpoint)[0], Load::Endpoint("ep_a".into()));
    assert_eq!(app.pages.len(), 2);
    press(&mut app, Key::Back);
    press(&mut app, Key::Back);
    assert!(app.pages.is_empty());
}

#[test]
fn the_live_tail_is_bounded_filtered_freezes_and_counts_per_second() {
    let mut app = console();
    let second = Utc::now();
    for i in 0..LIVE_CAPACITY + 5 {
        let mut record = attempt("ep_a", "a.b", Some(200));
        record.event_id = format!("evt-{i}");
        record.at = second;
        app.on_msg(Msg::Attempt(Box::new(record)));
    }
    assert_eq!(app.live.len(), LIVE_CAPACITY);
    assert_eq!(
        app.visible_attempts()[0].event_id,
        format!("evt-{}", LIVE_CAPACITY + 4)
    );
    let rate = app.rate_series(second);
    assert_eq!(rate.len(), RATE_SECONDS);
    assert_eq!(
        *rate.last().unwrap(),
        u64::try_from(LIVE_CAPACITY + 5).unwrap()
    );
    let failed = attempt("ep_b", "a.b", Some(500));
    app.on_msg(Msg::Attempt(Box::new(failed)));
    press(&mut app, Key::View(2));
    press(&mut app, Key::Filter);
    type_text(&mut app, "status:failed\n");
    assert_eq!(app.visible_attempts().len(), 1);
    press(&mut app, Key::Filter);
    type_text(&mut app, "status:lost\n");
    assert!(app.status.as_deref().unwrap().contains("status:lost"));
}

#[test]
fn deliveries_are_searched_on_the_server() {
    let mut app = console();
    press(&mut app, Key::View(3));
    press(&mut app, Key::Filter);
    let requests = type_text(&mut app, "endpoint:ep_a status:dead order-1\n");
    let Load::Deliveries(query) = loads(&requests)[0].clone() else {
        panic!("{requests:?}");
    };
    assert_eq!(
        (
            query.endpoint_id.as_deref(),
            query.state,
            query.event_id.as_deref()
        ),
        (Some("ep_a"), Some(Outcome::Dead), Some("order-1"))
    );
    // The same event to two endpoints is two rows, each selectable.
    app.on_msg(Msg::Reply(
        Purpose::Load(Load::Deliveries(query)),
        Ok(vec![AdminReply::DeliveriesList(DeliveryPage {
            deliveries: vec![
                fixtures::delivery("ep_a", "order-1", Outcome::Dead, None, 5),
                fixtures::delivery("ep_b", "order-1", Outcome::Dead, None, 5),
            ],
            next_cursor: None,
        })]),
    ));
    press(&mut app, Key::Down);
    assert_eq!(
        app.deliveries.selected_id().as_deref(),
        Some("ep_b/order-1")
    );
}

#[test]
fn failures_and_ticks() {
    let mut app = console();
    app.pending = 1;
    app.on_msg(Msg::Reply(
        Purpose::Perform(Action::Pause("ep_a".into())),
        Err(ApiError::new("no hookwired serves it")),
    ));
    assert_eq!(app.pending, 0);
    assert!(app.status.as_deref().unwrap().contains("no hookwired"));
    press(&mut app, Key::View(0));
    app.pending = 0;
    assert_eq!(
        loads(&app.on_msg(Msg::Tick)),
        [Load::Overview],
        "the overview refreshes"
    );
    press(&mut app, Key::View(1));
    app.pending = 0;
    assert_eq!(
        loads(&app.on_msg(Msg::Tick)),
        [Load::Endpoints, Load::Overview],
        "the endpoints view follows changes made elsewhere"
    );
    press(&mut app, Key::View(2));
    app.pending = 0;
    assert!(
        app.on_msg(Msg::Tick).is_empty(),
        "the live tail has its own stream"
    );
    press(&mut app, Key::View(4));
    app.pending = 0;
    assert_eq!(loads(&app.on_msg(Msg::Tick)), [Load::DeadLetters]);
    // Nothing piles up while a reload is out.
    assert!(app.on_msg(Msg::Tick).is_empty());
}

#[test]
fn open_pages_refresh_too() {
    let mut app = console();
    press(&mut app, Key::Open);
    app.pending = 0;
    assert_eq!(
        loads(&app.on_msg(Msg::Tick)),
        [
            Load::Endpoint("ep_a".into()),
            Load::EndpointStats("ep_a".into()),
            Load::EndpointDeliveries("ep_a".into())
        ]
    );
}

#[test]
fn messages_expire_leave_with_their_view_and_stay_in_the_history() {
    let mut app = console();
    press(&mut app, Key::Command);
    type_text(&mut app, "nonsense\n");
    assert!(app.status.is_some());
    app.pending = 1;
    app.on_msg(Msg::Tick);
    assert!(app.status.is_some(), "fresh messages stay");
    app.status_at = Some(Utc::now() - chrono::TimeDelta::seconds(11));
    app.on_msg(Msg::Tick);
    assert_eq!(app.status, None, "old ones expire");
    press(&mut app, Key::Command);
    type_text(&mut app, "nonsense\n");
    press(&mut app, Key::View(0));
    assert_eq!(
        app.status, None,
        "a message does not follow to another view"
    );
    assert_eq!(app.messages.len(), 2);
    press(&mut app, Key::Command);
    type_text(&mut app, "messages\n");
    assert_eq!(app.mode, Mode::Messages { scroll: 0 });
    press(&mut app, Key::Down);
    assert_eq!(app.mode, Mode::Messages { scroll: 1 });
    press(&mut app, Key::Back);
    assert_eq!(app.mode, Mode::Normal);
}

#[test]
fn help_scrolls_and_closes() {
    let mut app = console();
    press(&mut app, Key::Help);
    press(&mut app, Key::PageDown);
    assert_eq!(app.mode, Mode::Help { scroll: 10 });
    press(&mut app, Key::Up);
    assert_eq!(app.mode, Mode::Help { scroll: 9 });
    press(&mut app, Key::Help);
    assert_eq!(app.mode, Mode::Normal);
}

#[test]
fn attempts_that_arrive_while_frozen_appear_when_following_again() {
    let mut app = console();
    press(&mut app, Key::View(2));
    app.on_msg(Msg::Attempt(Box::new(attempt("ep_a", "a.b", Some(200)))));
    press(&mut app, Key::Freeze);
    for endpoint in ["ep_b", "ep_c"] {
        app.on_msg(Msg::Attempt(Box::new(attempt(endpoint, "a.b", Some(200)))));
    }
    assert_eq!(
        app.visible_attempts().len(),
        1,
        "frozen: the screen holds still"
    );
    assert_eq!(app.held_back.len(), 2);
    press(&mut app, Key::Freeze);
    let shown: Vec<&str> = app
        .visible_attempts()
        .iter()
        .map(|a| a.endpoint_id.as_str())
        .collect();
    assert_eq!(shown, ["ep_c", "ep_b", "ep_a"], "newest first, none lost");
    assert!(app.held_back.is_empty());
}

#[test]
fn switching_tenant_starts_afresh() {
    let mut app = console();
    app.on_msg(Msg::Attempt(Box::new(attempt("ep_a", "a.b", Some(200)))));
    press(&mut app, Key::Command);
    let requests = type_text(&mut app, "tenant acme\n");
    assert_eq!(app.tenant, "acme");
    assert_eq!(
        requests[0],
        Request::SwitchTenant(Tenant::new("acme").unwrap())
    );
    assert!(app.live.is_empty() && !app.endpoints.loaded());
    assert!(loads(&requests).contains(&Load::Endpoints));
    // A name that is not a tenant changes nothing.
    press(&mut app, Key::Command);
    assert!(type_text(&mut app, "tenant a.b\n").is_empty());
    assert_eq!(app.tenant, "acme");
    assert!(app.status.is_some());
}

#[test]
fn ctrl_c_quits_from_any_mode() {
    let mut app = console();
    press(&mut app, Key::New);
    press(&mut app, Key::ForceQuit);
    assert!(app.quit);
}

#[test]
fn enter_opens_a_source_with_its_stats_and_requests() {
    let mut app = console();
    press(&mut app, Key::Command);
    type_text(&mut app, "sources\n");
    app.on_msg(Msg::Reply(
        Purpose::Load(Load::Sources),
        Ok(vec![AdminReply::SourcesList(SourceList {
            sources: vec![
                fixtures::source("github", Verification::Github, "hwin_a"),
                fixtures::source(
                    "stripe",
                    Verification::Stripe {
                        tolerance_secs: 300,
                    },
                    "hwin_b",
                ),
            ],
        })]),
    ));
    press(&mut app, Key::Down);
    let requests = press(&mut app, Key::Open);
    assert_eq!(
        loads(&requests),
        [
            Load::Source("stripe".into()),
            Load::SourceStats("stripe".into()),
            Load::SourceRequests("stripe".into())
        ]
    );
    app.on_msg(Msg::Reply(
        Purpose::Load(Load::SourceStats("stripe".into())),
        Ok(vec![AdminReply::SourcesStats(SourceStats {
            received: 3,
            ..SourceStats::default()
        })]),
    ));
    // A late reply for another source does not land on this page.
    app.on_msg(Msg::Reply(
        Purpose::Load(Load::SourceStats("github".into())),
        Ok(vec![AdminReply::SourcesStats(SourceStats {
            received: 99,
            ..SourceStats::default()
        })]),
    ));
    let Some(Page::Source {
        name, data, stats, ..
    }) = app.pages.last()
    else {
        panic!("a source page is open: {:?}", app.pages);
    };
    assert_eq!(name, "stripe");
    assert_eq!(
        data.as_ref().unwrap().path,
        "/in/hwin_b",
        "shown before the reload"
    );
    assert_eq!(stats.as_ref().unwrap().received, 3);
    press(&mut app, Key::Back);
    assert!(app.pages.is_empty());
}

#[test]
fn commands_complete_with_tab_and_come_back_with_up() {
    let mut app = console();
    press(&mut app, Key::Command);
    type_text(&mut app, "so");
    press(&mut app, Key::NextView);
    assert_eq!(app.mode, Mode::Command("sources".into()));
    type_text(&mut app, "\n");
    assert_eq!(app.view, View::Sources);
    press(&mut app, Key::Command);
    type_text(&mut app, "d");
    press(&mut app, Key::NextView);
    assert_eq!(
        app.mode,
        Mode::Command("d".into()),
        "deliveries and dlq share only d"
    );
    assert!(app.status.as_deref().unwrap().contains("dlq"));
    type_text(&mut app, "lq\n");
    press(&mut app, Key::Command);
    press(&mut app, Key::Up);
    assert_eq!(app.mode, Mode::Command("dlq".into()));
    press(&mut app, Key::Up);
    assert_eq!(app.mode, Mode::Command("sources".into()));
    press(&mut app, Key::Down);
    assert_eq!(app.mode, Mode::Command("dlq".into()));
    press(&mut app, Key::Down);
    assert_eq!(app.mode, Mode::Command(String::new()));
}

#[test]
fn every_completed_command_is_understood() {
    for command in COMMANDS {
        let mut app = console();
        let argument = if command.ends_with(' ') { "acme" } else { "" };
        app.run_command(&format!("{command}{argument}"));
        let unknown = app
            .status
            .as_deref()
            .is_some_and(|s| s.starts_with("unknown command"));
        assert!(!unknown, "{command}");
    }
}

#[test]
fn a_template_page_steps_through_versions_and_previews_the_one_shown() {
    use hookwire_protocol::template::{RenderedRequest, TemplateList, TemplateSummary};

    let mut app = console();
    assert_eq!(loads(&press(&mut app, Key::View(9))), [Load::Templates]);
    assert_eq!(app.view, View::Templates);
    let detail = fixtures::template();
    let latest = detail.versions[1].clone();
    app.on_msg(Msg::Reply(
        Purpose::Load(Load::Templates),
        Ok(vec![AdminReply::TemplatesList(TemplateList {
            templates: vec![TemplateSummary {
                name: "chat".into(),
                description: String::new(),
                latest: 2,
                format: latest.format,
                preset: None,
                pinned_by: 1,
                updated_at: latest.created_at,
            }],
        })]),
    ));
    assert_eq!(
        loads(&press(&mut app, Key::Open)),
        [Load::Template("chat".into())]
    );
    app.on_msg(Msg::Reply(
        Purpose::Load(Load::Template("chat".into())),
        Ok(vec![AdminReply::TemplatesGet(detail)]),
    ));
    let shown = |app: &App| app.shown_template_version().map(|v| v.version);
    assert_eq!(shown(&app), Some(2), "the latest first");
    press(&mut app, Key::Older);
    press(&mut app, Key::Older);
    assert_eq!(shown(&app), Some(1), "stops at the first");
    press(&mut app, Key::Newer);
    press(&mut app, Key::Newer);
    assert_eq!(shown(&app), Some(2), "stops at the latest");
    press(&mut app, Key::Older);

    // `t` previews the version shown, sending nothing.
    press(&mut app, Key::Test);
    assert!(
        matches!(&app.mode, Mode::Form(f) if f.kind == FormKind::PreviewTemplate(fixtures::template().versions[0].pin()))
    );
    let requests = type_text(&mut app, "\n");
    let call = calls(&requests)[0].clone();
    let AdminRequest::TemplatesPreview(preview) = &call.requests[0] else {
        panic!("{call:?}");
    };
    assert_eq!(preview.template.as_ref().map(|p| p.version), Some(1));
    assert_eq!(preview.event_type.as_deref(), Some("test.ping"));
    assert_eq!(preview.data, Some(serde_json::json!({})));
    app.on_msg(Msg::Reply(
        call.purpose,
        Ok(vec![AdminReply::TemplatesPreview(RenderedRequest {
            template: preview.template.clone(),
            url: None,
            headers: std::collections::BTreeMap::new(),
            body: "{}".into(),
            compressed: false,
        })]),
    ));
    assert!(matches!(
        app.pages.last(),
        Some(Page::Template {
            preview: Some(_),
            ..
        })
    ));
    assert!(app.status.as_deref().unwrap().contains("chat v1"));

    // `n` adds a version; `d` asks before deleting.
    press(&mut app, Key::New);
    assert!(
        matches!(&app.mode, Mode::Form(f) if f.kind == FormKind::AddTemplateVersion("chat".into()))
    );
    press(&mut app, Key::Back);
    press(&mut app, Key::Delete);
    assert_eq!(
        app.mode,
        Mode::Confirm(Action::DeleteTemplate("chat".into()))
    );
}

/// An ordered endpoint's blocked key, waiting since `seconds_ago`.
fn blocked(key: &str, event_id: &str, seconds_ago: i64) -> BlockedKey {
    fixtures::blocked_key(key, event_id, seconds_ago)
}

#[test]
fn an_ordered_endpoint_s_blocked_keys_open_and_a_head_is_moved_aside_after_asking() {
    let mut app = App::new("default".into(), false);
    let mut ordered = fixtures::endpoint("ep_o", "http://127.0.0.1/o");
    ordered.delivery = hookwire_protocol::endpoint::DeliveryMode::Ordered(
        hookwire_protocol::endpoint::OrderSettings {
            key: hookwire_protocol::endpoint::OrderKey::Pointer("/order_id".into()),
            batch: None,
        },
    );
    app.on_msg(Msg::Reply(
        Purpose::Load(Load::Endpoints),
        Ok(vec![AdminReply::EndpointsList(EndpointPage {
            endpoints: vec![fixtures::endpoint("ep_a", "http://127.0.0.1/a"), ordered],
            next_cursor: None,
        })]),
    ));
    // A single endpoint has none to show.
    assert!(press(&mut app, Key::BlockedKeys).is_empty());
    assert!(app.pages.is_empty());
    assert!(app.status.as_ref().unwrap().contains("not ordered"));

    press(&mut app, Key::Down);
    let requests = press(&mut app, Key::BlockedKeys);
    assert_eq!(loads(&requests), [Load::BlockedKeys("ep_o".into())]);
    app.on_msg(Msg::Reply(
        Purpose::Load(Load::BlockedKeys("ep_o".into())),
        Ok(vec![AdminReply::EndpointsBlockedKeys(BlockedKeys {
            keys: vec![blocked("o-1", "evt_1", 120), blocked("o-2", "evt_7", 30)],
        })]),
    ));
    press(&mut app, Key::Down);
    // `d` asks, naming the event and key; `y` drops it.
    assert!(press(&mut app, Key::Delete).is_empty());
    let Mode::Confirm(action) = app.mode.clone() else {
        panic!("asks first: {:?}", app.mode);
    };
    let question = action.confirmation().unwrap();
    assert!(
        question.contains("evt_7") && question.contains("o-2"),
        "{question}"
    );
    let sent = app.on_key(None, Some('y'));
    assert_eq!(
        performs(&sent),
        [Action::SkipHead {
            endpoint_id: "ep_o".into(),
            lane: fixtures::lane_of("o-2"),
            key: "o-2".into(),
            event_id: "evt_7".into(),
            dead_letter: false,
        }]
    );
    // `D` moves the head to the dead letters instead; enter opens its delivery.
    press(&mut app, Key::DeleteAll);
    let Mode::Confirm(Action::SkipHead { dead_letter, .. }) = app.mode.clone() else {
        panic!("asks first: {:?}", app.mode);
    };
    assert!(dead_letter);
    press(&mut app, Key::Back);
    press(&mut app, Key::Open);
    assert!(matches!(
        app.pages.last(),
        Some(Page::Delivery { endpoint_id, event_id, .. }) if endpoint_id == "ep_o" && event_id == "evt_7"
    ));
}
