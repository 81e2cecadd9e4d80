//! The delivery engine end to end: real nats-server, real hookwired, real receivers.

use std::time::Duration;

use futures_util::StreamExt as _;
use hookwire_protocol::attempt::{self, Outcome};
use hookwire_protocol::signing::VerifyError;
use hookwire_testkit::{NatsServer, Receiver, Reply};
use serde_json::{Value, json};

use crate::support::{Stack, WAIT, wait_for_type};

/// Short schedules so retry paths finish in seconds; each delay has its own tier.
const FAST: &[(&str, &str)] = &[("HOOKWIRE__DELIVERY__RETRY_TIERS_SECS", "[1, 2, 3, 30]")];

#[tokio::test]
async fn delivers_a_signed_webhook_with_the_standard_envelope() {
    let stack = Stack::start(FAST).await;
    let receiver = Receiver::start().await;
    let endpoint = stack
        .endpoint(
            &receiver,
            json!({"headers": {"X-Team": "billing"}, "event_types": ["memory.*"]}),
        )
        .await;
    assert!(endpoint["secret"].as_str().unwrap().starts_with("whsec_"));

    let data = json!({"id": "m_1", "text": "héllo", "n": 1.10});
    stack
        .publish("memory.created", &data, Some("order-1"))
        .await;
    stack.publish("orders.paid", &json!({}), None).await; // filtered out

    let request = receiver.wait_for(1, WAIT).await.remove(0);
    assert_eq!(request.verification, Some(Ok(())));
    assert_eq!(request.method, "POST");
    assert_eq!(request.header("webhook-id"), Some("order-1"));
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert!(
        request
            .header("user-agent")
            .unwrap()
            .starts_with("Hookwire/")
    );
    assert_eq!(request.header("x-team"), Some("billing"));
    let body = request.json();
    assert_eq!(body["type"], "memory.created");
    assert_eq!(body["data"], data);
    let text = String::from_utf8(request.body.to_vec()).unwrap();
    assert!(
        text.contains(r#""n":1.1"#),
        "publisher's number kept: {text}"
    );
    assert!(body["timestamp"].as_str().unwrap().ends_with('Z'));

    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.count(), 1, "orders.paid does not match memory.*");
}

#[tokio::test]
async fn retries_on_schedule_with_a_stable_webhook_id_then_succeeds() {
    let stack = Stack::start(FAST).await;
    let receiver = Receiver::start().await;
    receiver.script([Reply::status(500), Reply::drop_connection(), Reply::ok()]);
    stack
        .endpoint(&receiver, json!({"retry_schedule_secs": [1, 1, 1]}))
        .await;
    stack
        .publish("memory.created", &json!({"k": 1}), None)
        .await;

    let requests = receiver.wait_for(3, WAIT).await;
    let ids: Vec<_> = requests
        .iter()
        .map(|r| r.header("webhook-id").unwrap().to_owned())
        .collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    assert!(requests.iter().all(|r| r.verification == Some(Ok(()))));
    for pair in requests.windows(2) {
        let gap = pair[1].arrived - pair[0].arrived;
        assert!(
            gap >= Duration::from_millis(800),
            "retried after {gap:?}, before the 1 s (-20 %) delay"
        );
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(receiver.count(), 3, "no attempt after success");
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let stack = Stack::start(FAST).await;
    let receiver = Receiver::start().await;
    receiver.script([Reply::status(429).retry_after("3"), Reply::ok()]);
    stack
        .endpoint(&receiver, json!({"retry_schedule_secs": [1]}))
        .await;
    stack.publish("a.b", &json!({}), None).await;
    let requests = receiver.wait_for(2, WAIT).await;
    let gap = requests[1].arrived - requests[0].arrived;
    assert!(
        gap >= Duration::from_secs(3),
        "retried after {gap:?} despite Retry-After: 3"
    );
}

#[tokio::test]
async fn gone_disables_the_endpoint_and_reports_it() {
    let stack = Stack::start(FAST).await;
    let ops = Receiver::start().await;
    stack.ops_endpoint(&ops).await;
    let receiver = Receiver::start().await;
    receiver.set_fallback(Reply::gone());
    let endpoint = stack.endpoint(&receiver, json!({})).await;
    let id = endpoint["id"].as_str().unwrap();
    stack.publish("a.b", &json!({}), None).await;

    let reports = wait_for_type(&ops, "hookwire.endpoint.disabled", 1).await;
    assert_eq!(reports[0]["data"]["endpoint_id"], id);
    let status = &stack.get_endpoint(id).await["status"];
    assert_eq!(status["state"], "disabled", "{status}");
    assert!(status["reason"].as_str().unwrap().contains("410"));

    // A disabled endpoint gets nothing more.
    stack.publish("a.b", &json!({"after": true}), None).await;
    wait_for_type(&ops, "hookwire.delivery.dead", 1).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.count(), 1);
}

#[tokio::test]
async fn dead_after_the_last_attempt_on_the_dead_letter_stream() {
    let stack = Stack::start(FAST).await;
    let ops = Receiver::start().await;
    stack.ops_endpoint(&ops).await;
    let receiver = Receiver::start().await;
    receiver.set_fallback(Reply::status(503));
    let endpoint = stack
        .endpoint(&receiver, json!({"retry_schedule_secs": [1]}))
        .await;
    stack
        .publish("a.b", &json!({"x": 1}), Some("evt-dead"))
        .await;

    let dead = wait_for_type(&ops, "hookwire.delivery.dead", 1).await;
    assert_eq!(dead[0]["data"]["endpoint_id"], endpoint["id"]);
    assert_eq!(dead[0]["data"]["event_id"], "evt-dead");
    assert_eq!(dead[0]["data"]["attempts"], 2);
    assert_eq!(receiver.count(), 2, "one attempt plus one retry");
    assert_eq!(stack.dead_letters().await, 1);
}

#[tokio::test]
async fn redirects_are_failures_and_never_followed() {
    let stack = Stack::start(FAST).await;
    let ops = Receiver::start().await;
    stack.ops_endpoint(&ops).await;
    let target = Receiver::start().await;
    let redirecting = Receiver::start().await;
    redirecting.set_fallback(Reply::redirect(307, &target.url()));
    stack
        .endpoint(&redirecting, json!({"retry_schedule_secs": []}))
        .await;
    stack.publish("a.b", &json!({}), None).await;
    let dead = wait_for_type(&ops, "hookwire.delivery.dead", 1).await;
    assert_eq!(dead[0]["data"]["last_error"]["kind"], "redirect");
    assert_eq!(redirecting.count(), 1);
    assert_eq!(target.count(), 0, "the redirect was followed");
}

#[tokio::test]
async fn paused_endpoints_hold_deliveries_until_resumed() {
    let stack = Stack::start(FAST).await;
    let receiver = Receiver::start().await;
    let endpoint = stack.endpoint(&receiver, json!({"status": "paused"})).await;
    stack.publish("a.b", &json!({"held": true}), None).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(receiver.count(), 0, "delivered while paused");
    let _: Value = stack
        .admin
        .call(
            "endpoints",
            "update",
            &json!({"id": endpoint["id"], "status": "active"}),
        )
        .await
        .unwrap();
    let request = receiver.wait_for(1, WAIT).await.remove(0);
    assert_eq!(request.json()["data"], json!({"held": true}));
}

#[tokio::test]
async fn rejected_events_are_reported_not_dropped_silently() {
    let stack = Stack::start(FAST).await;
    let ops = Receiver::start().await;
    stack.ops_endpoint(&ops).await;
    let receiver = Receiver::start().await;
    stack.endpoint(&receiver, json!({})).await;
    stack.publish_raw("a.b", b"not json".to_vec(), None).await;
    stack
        .publish_raw("a.b", b"{}".to_vec(), Some("has space"))
        .await;
    let rejected = wait_for_type(&ops, "hookwire.event.rejected", 2).await;
    let reasons: Vec<&str> = rejected
        .iter()
        .map(|e| e["data"]["reason"].as_str().unwrap())
        .collect();
    assert!(
        reasons.iter().any(|r| r.contains("not JSON")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("Nats-Msg-Id")),
        "{reasons:?}"
    );
    assert_eq!(receiver.count(), 0);
}

#[tokio::test]
async fn a_wrong_secret_fails_verification_at_the_receiver() {
    // Guards the signature checks above: a receiver holding another secret rejects.
    let stack = Stack::start(FAST).await;
    let receiver = Receiver::start().await;
    stack.endpoint(&receiver, json!({})).await;
    receiver.set_secrets(vec![hookwire_protocol::Secret::generate()]);
    stack.publish("a.b", &json!({}), None).await;
    let request = receiver.wait_for(1, WAIT).await.remove(0);
    assert_eq!(
        request.verification,
        Some(Err(VerifyError::NoMatchingSignature))
    );
}

/// An attempt whose record cannot be published at once (the broker is away longer than a
/// publish waits for its acknowledgement) is recorded once the broker is back, and the
/// receiver does not get it a second time.
#[tokio::test]
async fn an_attempt_answered_while_the_broker_is_away_is_recorded_not_repeated() {
    let mut stack = Stack::start(FAST).await;
    let receiver = Receiver::start().await;
    let endpoint = stack.endpoint(&receiver, json!({})).await;
    let id = endpoint["id"].as_str().unwrap().to_owned();
    receiver.script([Reply::ok().after(Duration::from_secs(1))]);
    stack.publish("a.b", &json!({}), Some("evt-away")).await;
    receiver.wait_for(1, WAIT).await;
    // The answer comes while the broker is gone, and for longer than the 5 s a publish
    // waits for its acknowledgement.
    stack.server.stop();
    tokio::time::sleep(Duration::from_secs(7)).await;
    stack.server.start_again().await;

    let detail = stack.succeeded_delivery(&id, "evt-away", WAIT).await;
    assert_eq!(detail["delivery"]["attempts"], 1, "{detail}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(receiver.count(), 1, "the attempt was made again");
    let metrics = stack.metrics().await;
    assert!(
        !metrics.contains("hookwire_outcomes_published_again_total 0"),
        "{metrics}"
    );
}

/// The tasks stream's last sequence: how many tasks were ever queued.
async fn tasks_queued(stack: &Stack) -> u64 {
    let js = async_nats::jetstream::new(stack.client.clone());
    let mut stream = js.get_stream("HOOKWIRE_TASKS").await.unwrap();
    stream.info().await.unwrap().state.last_sequence
}

/// A first attempt to an endpoint that can take it at once is made by fan-out itself,
/// without a task; one that must wait (here for its rate limit) is queued as a task.
#[tokio::test]
async fn a_first_attempt_goes_straight_from_fan_out_when_the_endpoint_can_take_it() {
    let stack = Stack::start(FAST).await;
    let receiver = Receiver::start().await;
    stack
        .endpoint(&receiver, json!({"event_types": ["direct.*"]}))
        .await;
    for n in 0..5 {
        stack
            .publish(
                "direct.made",
                &json!({"n": n}),
                Some(&format!("evt-direct-{n}")),
            )
            .await;
    }
    receiver.wait_for(5, WAIT).await;
    let metrics = stack.metrics().await;
    assert!(
        metrics.contains("hookwire_attempts_direct_total 5\n"),
        "{metrics}"
    );
    assert_eq!(tasks_queued(&stack).await, 0, "no task was queued");

    let paced = Receiver::start().await;
    stack
        .endpoint(
            &paced,
            json!({"event_types": ["paced.*"], "rate_limit_per_sec": 100}),
        )
        .await;
    stack
        .publish("paced.made", &json!({}), Some("evt-paced"))
        .await;
    let request = paced.wait_for(1, WAIT).await.remove(0);
    assert_eq!(request.header("webhook-id"), Some("evt-paced"));
    assert_eq!(
        tasks_queued(&stack).await,
        1,
        "the paced one went as a task"
    );
}

/// With every attempt slot busy, fan-out waits a moment for one rather than queueing a
/// task (a flood's backlog stays in the events stream); when no slot frees up within that
/// moment (receivers slow to answer), the delivery goes as a task and fan-out moves on.
#[tokio::test]
async fn fan_out_waits_a_moment_for_a_busy_attempt_slot_then_queues() {
    // One attempt slot on the instance.
    let stack = Stack::start(&[("HOOKWIRE__DELIVERY__CONCURRENCY", "1")]).await;
    let slow = Receiver::start().await;
    let fast = Receiver::start().await;
    stack
        .endpoint(
            &slow,
            json!({"event_types": ["slow.*"], "timeout_ms": 10_000}),
        )
        .await;
    stack
        .endpoint(&fast, json!({"event_types": ["fast.*"]}))
        .await;

    // The slot frees up within the moment: the second delivery waits for it, no task.
    slow.script([Reply::ok().after(Duration::from_millis(300))]);
    stack
        .publish("slow.made", &json!({}), Some("evt-slow-1"))
        .await;
    slow.wait_for(1, WAIT).await;
    stack
        .publish("fast.made", &json!({}), Some("evt-fast-1"))
        .await;
    fast.wait_for(1, WAIT).await;
    assert_eq!(
        tasks_queued(&stack).await,
        0,
        "the second waited for the slot"
    );

    // It does not: the second goes as a task, delivered once the slot is free.
    slow.script([Reply::ok().after(Duration::from_secs(4))]);
    stack
        .publish("slow.made", &json!({}), Some("evt-slow-2"))
        .await;
    slow.wait_for(2, WAIT).await;
    stack
        .publish("fast.made", &json!({}), Some("evt-fast-2"))
        .await;
    let requests = fast.wait_for(2, WAIT).await;
    assert_eq!(requests[1].header("webhook-id"), Some("evt-fast-2"));
    assert_eq!(tasks_queued(&stack).await, 1, "the wait ended in a task");
    assert!(
        stack
            .metrics()
            .await
            .contains("hookwire_attempts_direct_total 3\n"),
        "three deliveries went straight from fan-out"
    );
}

/// An attempt made by fan-out that takes longer than the events consumer's 30 s ack wait
/// keeps its event in progress: the event is not handed out again meanwhile and the
/// receiver gets it once.
#[tokio::test]
async fn an_attempt_longer_than_the_event_ack_wait_is_made_once() {
    let stack = Stack::start(FAST).await;
    let receiver = Receiver::start().await;
    let endpoint = stack
        .endpoint(&receiver, json!({"timeout_ms": 50_000}))
        .await;
    let id = endpoint["id"].as_str().unwrap().to_owned();
    receiver.script([Reply::ok().after(Duration::from_secs(36))]);
    stack.publish("a.b", &json!({}), Some("evt-long")).await;
    receiver.wait_for(1, WAIT).await;

    let detail = stack
        .succeeded_delivery(&id, "evt-long", Duration::from_mins(1))
        .await;
    assert_eq!(detail["delivery"]["attempts"], 1, "{detail}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(receiver.count(), 1, "the event was handed out again");
}

/// A retry that comes due while first attempts queue for the same endpoint is made before
/// them, not behind the queue: its tier attempts it, and a freed place is a retry's first.
#[tokio::test]
async fn a_retry_due_is_not_held_behind_a_backlog_of_first_attempts() {
    let stack = Stack::start(&[
        ("HOOKWIRE__DELIVERY__RETRY_TIERS_SECS", "[1, 2, 3, 30]"),
        // Few places: the backlog waits in the tasks stream, not in the workers.
        ("HOOKWIRE__DELIVERY__CONCURRENCY", "4"),
    ])
    .await;
    let receiver = Receiver::start().await;
    stack
        .endpoint(
            &receiver,
            json!({"max_in_flight": 1, "retry_schedule_secs": [1]}),
        )
        .await;
    let answer = Duration::from_millis(150);
    receiver.script([Reply::status(500).after(answer)]);
    receiver.set_fallback(Reply::ok().after(answer));
    stack.publish("a.b", &json!({}), Some("evt-retried")).await;
    receiver.wait_for(1, WAIT).await;
    // 30 x 150 ms of first attempts, published before the retry is due (1 s).
    for n in 0..30 {
        stack
            .publish("a.b", &json!({"n": n}), Some(&format!("evt-backlog-{n}")))
            .await;
    }
    let requests = receiver.wait_for(32, Duration::from_mins(1)).await;
    let ids: Vec<&str> = requests
        .iter()
        .map(|r| r.header("webhook-id").unwrap_or_default())
        .collect();
    let retried_at = ids
        .iter()
        .rposition(|id| *id == "evt-retried")
        .expect("the retry came");
    assert!(retried_at > 0, "{ids:?}");
    // Due after about 7 of the backlog's answers; allow for the machine.
    assert!(
        retried_at <= 16,
        "the retry came as request {retried_at} of 32: {ids:?}"
    );
}

/// An event's W3C `traceparent` reaches its webhook: the event's trace id, each attempt a
/// span of its own, recorded with the attempt. An invalid one is not passed on.
#[tokio::test]
async fn the_events_trace_reaches_the_receiver_with_a_span_per_attempt() {
    const PARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let stack = Stack::start(FAST).await;
    let receiver = Receiver::start().await;
    let endpoint = stack
        .endpoint(&receiver, json!({"retry_schedule_secs": [1]}))
        .await;
    let id = endpoint["id"].as_str().unwrap().to_owned();
    receiver.script([Reply::status(503), Reply::ok()]);
    let publish = |event_id: &'static str, traceparent: &'static str| {
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", event_id);
        headers.insert("traceparent", traceparent);
        let client = stack.client.clone();
        async move {
            async_nats::jetstream::new(client)
                .publish_with_headers("hookwire.events.default.traced.made", headers, "{}".into())
                .await
                .unwrap()
                .await
                .unwrap();
        }
    };
    publish("evt-traced", PARENT).await;
    let requests = receiver.wait_for(2, WAIT).await;
    let spans: Vec<&str> = requests
        .iter()
        .map(|request| request.header("traceparent").expect("a traceparent"))
        .collect();
    for span in &spans {
        assert!(
            span.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-") && span.ends_with("-01"),
            "the event's trace: {span}"
        );
        assert_ne!(*span, PARENT, "a span of its own");
    }
    assert_ne!(spans[0], spans[1], "a new span per attempt");

    let detail = stack.succeeded_delivery(&id, "evt-traced", WAIT).await;
    let recorded: Vec<&str> = detail["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|attempt| attempt["request_headers"]["traceparent"].as_str().unwrap())
        .collect();
    assert_eq!(recorded.len(), 2, "{detail}");
    for span in &spans {
        assert!(recorded.contains(span), "{span} recorded: {recorded:?}");
    }

    // Upper case is not W3C trace context: ignored, not passed on.
    publish(
        "evt-badly-traced",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01",
    )
    .await;
    let request = receiver.wait_for(3, WAIT).await.remove(2);
    assert_eq!(request.header("webhook-id"), Some("evt-badly-traced"));
    assert_eq!(request.header("traceparent"), None);
}

/// Attempts that settle together store their records as one message (a JSON array on the
/// endpoint's live subject, one write for JetStream); each record is seen live once and
/// indexed. The broker fsyncs every write, so a group's store takes long enough for the
/// next attempts to settle meanwhile.
#[tokio::test]
async fn records_of_attempts_settling_together_are_stored_as_one_message() {
    const EVENTS: usize = 300;
    let stack = Stack::start_on(NatsServer::start_durable().await, &[]).await;
    let receiver = Receiver::start().await;
    receiver.set_fallback(Reply::ok().after(Duration::from_millis(100)));
    let endpoint = stack.endpoint(&receiver, json!({})).await;
    let id = endpoint["id"].as_str().unwrap().to_owned();
    let mut live = stack
        .client
        .subscribe(format!("hookwire.live.default.{id}"))
        .await
        .unwrap();
    let js = async_nats::jetstream::new(stack.client.clone());
    let mut acks = Vec::with_capacity(EVENTS);
    for n in 0..EVENTS {
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", format!("evt-{n}").as_str());
        let payload = serde_json::to_vec(&json!({"n": n})).unwrap();
        acks.push(
            js.publish_with_headers("hookwire.events.default.a.b", headers, payload.into())
                .await
                .unwrap(),
        );
    }
    for ack in acks {
        ack.await.unwrap();
    }
    let mut messages = 0;
    let mut records = Vec::new();
    while records.len() < EVENTS {
        let message = tokio::time::timeout(WAIT, live.next())
            .await
            .expect("every attempt's record is seen live")
            .unwrap();
        messages += 1;
        records.extend(attempt::records(&message.payload).unwrap());
    }
    let mut ids: Vec<String> = records.iter().map(|r| r.event_id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), EVENTS, "each record once");
    assert!(
        records
            .iter()
            .all(|r| r.endpoint_id == id && r.outcome == Outcome::Succeeded && r.attempt == 1)
    );
    assert!(
        messages < EVENTS,
        "{EVENTS} records came in {messages} messages: none were stored together"
    );
    // The indexer reads every record of every group.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let stats: Value = stack
            .admin
            .call("endpoints", "stats", &json!({"id": id}))
            .await
            .unwrap();
        if stats["windows"]["1h"]["succeeded"] == EVENTS {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the index lacks records: {stats}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let detail = stack.succeeded_delivery(&id, "evt-299", WAIT).await;
    assert_eq!(detail["attempts"].as_array().unwrap().len(), 1, "{detail}");
}
