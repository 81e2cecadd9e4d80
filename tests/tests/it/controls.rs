//! Per-endpoint delivery controls end to end: the circuit breaker's lifecycle (open, hold
//! without spending attempts, probe, close), auto-disable, the rate limit and the in-flight
//! limit.

use std::time::Duration;

use futures_util::StreamExt as _;
use hookwire_protocol::attempt::Outcome;
use hookwire_testkit::{Receiver, Reply};
use serde_json::{Value, json};

use crate::support::{Stack, WAIT, refused_create, wait_for_type};

const RETRY_EVERY_SECOND: (&str, &str) = (
    "HOOKWIRE__DELIVERY__RETRY_SCHEDULE_SECS",
    "[1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]",
);

/// Webhook ids of what the receiver got, in arrival order.
fn ids(receiver: &Receiver) -> Vec<String> {
    receiver
        .requests()
        .iter()
        .filter_map(|r| r.header("webhook-id").map(str::to_owned))
        .collect()
}

/// Waits until endpoint `id`'s circuit state is `state` (`null`: closed); returns the endpoint.
async fn wait_for_circuit(stack: &Stack, id: &str, state: &Value) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let endpoint = stack.get_endpoint(id).await;
        if endpoint["circuit"]["state"] == *state {
            return endpoint;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "circuit never became {state}: {endpoint}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn the_circuit_opens_holds_without_spending_attempts_probes_and_closes() {
    let stack = Stack::start(&[
        RETRY_EVERY_SECOND,
        ("HOOKWIRE__BREAKER__CONSECUTIVE_FAILURES", "3"),
        ("HOOKWIRE__BREAKER__COOLDOWN_SECS", "5"),
    ])
    .await;
    let ops = Receiver::start().await;
    stack.ops_endpoint(&ops).await;
    let receiver = Receiver::start().await;
    let endpoint = stack.endpoint(&receiver, json!({})).await;
    let id = endpoint["id"].as_str().unwrap().to_owned();
    receiver.set_fallback(Reply::status(500));

    // Three failed attempts of one event open the circuit.
    stack.publish("a.b", &json!({}), Some("evt-a")).await;
    let opened = wait_for_type(&ops, "hookwire.endpoint.circuit_opened", 1).await;
    assert_eq!(opened[0]["data"]["endpoint_id"], id.as_str());
    assert_eq!(opened[0]["data"]["reason"], "3 consecutive failures");
    // The event can overtake this instance's view of the bucket: wait for the view.
    let state = wait_for_circuit(&stack, &id, &json!("open")).await;
    assert_eq!(state["status"]["state"], "active");

    // While open, new events and evt-a's retry wait: no attempt is made.
    stack.publish("a.b", &json!({}), Some("evt-b")).await;
    stack.publish("a.b", &json!({}), Some("evt-c")).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        ids(&receiver),
        ["evt-a", "evt-a", "evt-a"],
        "attempts while open"
    );

    // The receiver recovers; after the cooldown one probe closes the circuit and what
    // waited is delivered.
    receiver.set_fallback(Reply::ok());
    let closed = wait_for_type(&ops, "hookwire.endpoint.circuit_closed", 1).await;
    assert_eq!(closed[0]["data"]["endpoint_id"], id.as_str());
    receiver.wait_for(6, WAIT).await;
    let mut delivered = ids(&receiver)[3..].to_vec();
    delivered.sort();
    assert_eq!(delivered, ["evt-a", "evt-b", "evt-c"]);
    wait_for_circuit(&stack, &id, &Value::Null).await;

    // evt-b and evt-c were delivered by their first attempt: waiting cost them nothing.
    let deadline = tokio::time::Instant::now() + WAIT;
    let deliveries = loop {
        let list: Value = stack
            .admin
            .call("deliveries", "list", &json!({"endpoint_id": id}))
            .await
            .unwrap();
        let deliveries = list["deliveries"].as_array().unwrap().clone();
        if deliveries.len() == 3 && deliveries.iter().all(|d| d["state"] == "succeeded") {
            break deliveries;
        }
        assert!(tokio::time::Instant::now() < deadline, "{list}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    for delivery in &deliveries {
        let expected = if delivery["event_id"] == "evt-a" {
            4
        } else {
            1
        };
        assert_eq!(delivery["attempts"], expected, "{delivery}");
        assert_eq!(delivery["state"], "succeeded", "{delivery}");
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.count(), 6, "something was delivered twice");
}

#[tokio::test]
async fn an_endpoint_failing_every_attempt_for_the_period_is_disabled_until_enabled() {
    let stack = Stack::start(&[
        RETRY_EVERY_SECOND,
        ("HOOKWIRE__BREAKER__CONSECUTIVE_FAILURES", "2"),
        ("HOOKWIRE__BREAKER__COOLDOWN_SECS", "1"),
        ("HOOKWIRE__BREAKER__AUTO_DISABLE_AFTER_SECS", "4"),
    ])
    .await;
    let ops = Receiver::start().await;
    stack.ops_endpoint(&ops).await;
    let receiver = Receiver::start().await;
    let endpoint = stack.endpoint(&receiver, json!({})).await;
    let id = endpoint["id"].as_str().unwrap().to_owned();
    receiver.set_fallback(Reply::status(503));
    stack.publish("a.b", &json!({}), Some("evt-doomed")).await;

    let disabled = wait_for_type(&ops, "hookwire.endpoint.disabled", 1).await;
    assert_eq!(disabled[0]["data"]["endpoint_id"], id.as_str());
    // Warned once, from four fifths of the period on, before it happened.
    let types: Vec<String> = ops
        .requests()
        .iter()
        .map(|r| r.json()["type"].as_str().unwrap_or_default().to_owned())
        .filter(|t| t.starts_with("hookwire.endpoint.disable"))
        .collect();
    assert_eq!(
        types,
        [
            "hookwire.endpoint.disable_near",
            "hookwire.endpoint.disabled"
        ],
        "the warning comes once, first: {:?}",
        ops.requests()
            .iter()
            .map(hookwire_testkit::Recorded::json)
            .collect::<Vec<_>>()
    );
    let warning = wait_for_type(&ops, "hookwire.endpoint.disable_near", 1).await;
    assert_eq!(warning[0]["data"]["endpoint_id"], id.as_str());
    assert!(
        warning[0]["data"]["disabled_from"].is_string(),
        "{}",
        warning[0]
    );
    let reason = disabled[0]["data"]["reason"].as_str().unwrap();
    assert!(reason.starts_with("every attempt failed since"), "{reason}");
    let state = stack.get_endpoint(&id).await;
    assert_eq!(state["status"]["state"], "disabled", "{state}");
    assert_eq!(state["status"]["reason"], reason);
    assert!(state.get("circuit").is_none());
    let attempts = receiver.count();
    assert!(attempts >= 3, "failed {attempts} times before disabling");

    let enabled: Value = stack
        .admin
        .call("endpoints", "enable", &json!({"id": id}))
        .await
        .unwrap();
    assert_eq!(enabled["status"]["state"], "active");
    receiver.set_fallback(Reply::ok());
    stack.publish("a.b", &json!({}), Some("evt-after")).await;
    let got = receiver.wait_for(attempts + 1, WAIT).await;
    assert_eq!(got.last().unwrap().header("webhook-id"), Some("evt-after"));
}

#[tokio::test]
async fn the_rate_limit_spaces_deliveries_and_drops_nothing() {
    let stack = Stack::start(&[]).await;
    let receiver = Receiver::start().await;
    let endpoint = stack
        .endpoint(&receiver, json!({"rate_limit_per_sec": 4}))
        .await;
    assert_eq!(endpoint["rate_limit_per_sec"], 4);
    let mut live = stack
        .client
        .subscribe(format!(
            "hookwire.live.default.{}",
            endpoint["id"].as_str().unwrap()
        ))
        .await
        .unwrap();
    for n in 0..16 {
        stack
            .publish("a.b", &json!({"n": n}), Some(&format!("evt-{n}")))
            .await;
    }
    let requests = receiver.wait_for(16, WAIT).await;
    // A burst of 4, then 4 per second: the 16th cannot arrive before 2.75 s.
    let span = requests[15].arrived - requests[0].arrived;
    assert!(
        span >= Duration::from_millis(2500),
        "16 deliveries in {span:?}"
    );
    let mut delivered: Vec<String> = ids(&receiver);
    delivered.sort();
    delivered.dedup();
    assert_eq!(delivered.len(), 16, "every event arrives once");
    // Waiting for a slot is not an attempt: every delivery succeeded at its first.
    let mut records = Vec::new();
    while records.len() < 16 {
        let message = tokio::time::timeout(WAIT, live.next())
            .await
            .unwrap()
            .unwrap();
        records.extend(hookwire_protocol::attempt::records(&message.payload).unwrap());
    }
    assert_eq!(records.len(), 16);
    for record in records {
        assert_eq!(record.attempt, 1, "{record:?}");
        assert_eq!(record.outcome, Outcome::Succeeded, "{record:?}");
    }
}

#[tokio::test]
async fn no_more_than_max_in_flight_attempts_at_once() {
    let stack = Stack::start(&[]).await;
    let receiver = Receiver::start().await;
    let hold = Duration::from_millis(300);
    let endpoint = stack.endpoint(&receiver, json!({"max_in_flight": 2})).await;
    assert_eq!(endpoint["max_in_flight"], 2);
    receiver.set_fallback(Reply::ok().after(hold));
    for n in 0..8 {
        stack.publish("a.b", &json!({"n": n}), None).await;
    }
    let requests = receiver.wait_for(8, WAIT).await;
    // Each request is answered `hold` after it arrived, so any request arriving less than
    // `hold` after another overlapped it.
    for (i, request) in requests.iter().enumerate() {
        let overlapping = requests[..i]
            .iter()
            .filter(|earlier| request.arrived - earlier.arrived < hold)
            .count();
        assert!(
            overlapping < 2,
            "request {i} had {overlapping} others in flight"
        );
    }
}

#[tokio::test]
async fn limits_are_validated() {
    let stack = Stack::start(&[]).await;
    for spec in [
        json!({"url": "http://127.0.0.1:9/", "rate_limit_per_sec": 0}),
        json!({"url": "http://127.0.0.1:9/", "rate_limit_per_sec": 10_001}),
        json!({"url": "http://127.0.0.1:9/", "max_in_flight": 0}),
        json!({"url": "http://127.0.0.1:9/", "max_in_flight": 1001}),
    ] {
        let error = refused_create(&stack, &spec).await;
        assert!(
            matches!(
                error.field.as_deref(),
                Some("rate_limit_per_sec" | "max_in_flight")
            ),
            "{spec}: {error:?}"
        );
    }
}
