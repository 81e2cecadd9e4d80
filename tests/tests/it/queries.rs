//! History queries and operator sends: deliveries.list and redeliver-failed,
//! endpoints.stats and test, events.get and list.

use std::collections::HashSet;
use std::time::Duration;

use hookwire_testkit::{Receiver, Reply};
use serde_json::{Value, json};

use crate::support::{Stack, WAIT, error_code};

async fn call(stack: &Stack, noun: &str, verb: &str, body: Value) -> Value {
    stack.admin.call(noun, verb, &body).await.unwrap()
}

/// Waits until `deliveries.list` with `query` shows `n` deliveries.
async fn listed(stack: &Stack, query: Value, n: usize) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let page = call(stack, "deliveries", "list", query.clone()).await;
        let deliveries = page["deliveries"].as_array().unwrap().clone();
        if deliveries.len() == n {
            return deliveries;
        }
        assert!(tokio::time::Instant::now() < deadline, "{query}: {page}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn ids(deliveries: &[Value]) -> Vec<String> {
    deliveries
        .iter()
        .map(|d| d["event_id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn deliveries_list_filters_pages_and_failed_ones_are_redelivered() {
    let stack = Stack::start(&[]).await;
    let healthy = Receiver::start().await;
    let failing = Receiver::start().await;
    let good = stack.endpoint(&healthy, json!({})).await;
    let bad = stack
        .endpoint(
            &failing,
            json!({"retry_schedule_secs": [], "event_types": ["orders.>"]}),
        )
        .await;
    let (good, bad) = (good["id"].as_str().unwrap(), bad["id"].as_str().unwrap());
    let since = chrono::Utc::now();
    failing.set_fallback(Reply::status(503));
    for i in 0..4 {
        stack
            .publish("orders.paid", &json!({"i": i}), Some(&format!("order-{i}")))
            .await;
    }
    stack
        .publish("users.created", &json!({}), Some("user-1"))
        .await;

    let all = listed(&stack, json!({}), 9).await;
    // Newest activity first, to the millisecond (the endpoints' attempts interleave, so
    // compare times rather than ids).
    let times: Vec<i64> = all
        .iter()
        .map(|d| {
            let at: chrono::DateTime<chrono::Utc> =
                d["updated_at"].as_str().unwrap().parse().unwrap();
            at.timestamp_millis()
        })
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{all:?}");
    let dead = listed(&stack, json!({"endpoint_id": bad, "state": "dead"}), 4).await;
    assert!(dead.iter().all(|d| d["last_status"] == 503));
    let users = listed(&stack, json!({"event_type": "users.*"}), 1).await;
    assert_eq!(users[0]["endpoint_id"], good);
    let text = listed(&stack, json!({"event_id": "order-3"}), 2).await;
    assert_eq!(ids(&text), ["order-3", "order-3"]);
    let windowed = listed(&stack, json!({"until": since}), 0).await;
    assert!(windowed.is_empty());

    // Pages never overlap and together give everything.
    let mut seen = HashSet::new();
    let mut cursor = Value::Null;
    loop {
        let page = call(
            &stack,
            "deliveries",
            "list",
            json!({"limit": 2, "cursor": cursor}),
        )
        .await;
        for d in page["deliveries"].as_array().unwrap() {
            assert!(seen.insert(format!("{}/{}", d["endpoint_id"], d["event_id"])));
        }
        cursor = page["next_cursor"].clone();
        if cursor.is_null() {
            break;
        }
    }
    assert_eq!(seen.len(), 9);

    // The receiver recovers; every dead delivery goes again.
    failing.set_fallback(Reply::ok());
    let done = call(
        &stack,
        "deliveries",
        "redeliver-failed",
        json!({"endpoint_id": bad, "since": since}),
    )
    .await;
    assert_eq!(done["redelivered"], 4);
    let resent = failing.wait_for(8, WAIT).await;
    let again: HashSet<&str> = resent[4..]
        .iter()
        .map(|r| r.header("webhook-id").unwrap())
        .collect();
    assert_eq!(again.len(), 4);
    listed(&stack, json!({"endpoint_id": bad, "state": "succeeded"}), 4).await;

    // Statistics count what happened (the test send below is not counted).
    let stats = call(&stack, "endpoints", "stats", json!({"id": bad})).await;
    let hour = &stats["windows"]["1h"];
    assert_eq!(hour["attempts"], 8, "{stats}");
    assert_eq!(
        (&hour["succeeded"], &hour["failed"], &hour["dead"]),
        (&json!(4), &json!(4), &json!(4))
    );
    assert_eq!(hour["statuses"]["503"], 4);
    assert_eq!(hour["errors"]["status"], 4);
    assert!((hour["success_rate"].as_f64().unwrap() - 0.5).abs() < 1e-9);
    assert!(hour["latency_ms"]["p99"].as_f64().unwrap() > 0.0);
    assert_eq!(stats["windows"]["7d"]["attempts"], 8);

    overview_counts_both_endpoints(&stack, good, bad).await;
}

/// The overview after the test above: both endpoints summed, what waits counted.
async fn overview_counts_both_endpoints(stack: &Stack, good: &str, bad: &str) {
    // The overview sums every endpoint and counts what waits.
    let overview = call(stack, "overview", "get", json!({})).await;
    assert_eq!(overview["endpoints"]["total"], 2, "{overview}");
    assert_eq!(overview["endpoints"]["active"], 2);
    assert_eq!(overview["endpoints"]["failing"], 0, "bad delivers again");
    let hour = &overview["windows"]["1h"];
    assert_eq!(
        (&hour["attempts"], &hour["succeeded"]),
        (&json!(13), &json!(9))
    );
    let series: u64 = overview["series"]["attempts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(series, 13, "every attempt is in the hour's series");
    assert_eq!(
        overview["dead_letters"], 4,
        "redeliver-failed leaves them listed"
    );
    let line = |id: &str| {
        overview["per_endpoint"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["id"] == id)
            .cloned()
            .unwrap()
    };
    assert_eq!(line(bad)["dead_letters"], 4);
    assert_eq!(line(good)["dead_letters"], 0);
    assert_eq!(line(bad)["attempts_24h"], 8);
    assert!(line(good)["last_attempt_at"].is_string());
    assert!((line(bad)["success_rate_24h"].as_f64().unwrap() - 0.5).abs() < 1e-9);
}

#[tokio::test]
async fn test_sends_and_events_read_back() {
    let stack = Stack::start(&[]).await;
    let receiver = Receiver::start().await;
    let other = Receiver::start().await;
    let endpoint = stack.endpoint(&receiver, json!({})).await;
    stack.endpoint(&other, json!({})).await;
    let id = endpoint["id"].as_str().unwrap();

    let record = call(
        &stack,
        "endpoints",
        "test",
        json!({"id": id, "event_type": "orders.paid", "payload": {"amount": 5}}),
    )
    .await;
    assert_eq!(record["test"], true);
    assert_eq!(record["response"]["status"], 200);
    assert_eq!(record["outcome"], "succeeded");
    let sent = receiver.wait_for(1, WAIT).await.remove(0);
    assert_eq!(sent.verification, Some(Ok(())));
    assert_eq!(sent.json()["type"], "orders.paid");
    assert_eq!(sent.json()["data"], json!({"amount": 5}));
    assert_eq!(other.count(), 0, "a test goes to one endpoint only");
    let events = call(&stack, "events", "list", json!({"event_type": "orders.>"})).await;
    assert_eq!(events["events"], json!([]), "a test publishes no event");
    let tests = listed(&stack, json!({"endpoint_id": id}), 1).await;
    assert_eq!(tests[0]["test"], true);

    let seq = stack
        .publish("orders.paid", &json!({"n": 1}), Some("evt-read"))
        .await;
    stack.publish("users.created", &json!({"n": 2}), None).await;
    stack
        .publish("orders.refunded", &json!({"n": 3}), None)
        .await;
    receiver.wait_for(4, WAIT).await;
    other.wait_for(3, WAIT).await;

    let by_seq = call(&stack, "events", "get", json!({"seq": seq})).await;
    assert_eq!(by_seq["event"]["id"], "evt-read");
    assert_eq!(by_seq["event"]["data"], json!({"n": 1}));
    let deadline = tokio::time::Instant::now() + WAIT;
    let by_id = loop {
        // Indexing follows deliveries by moments: not_found until then.
        let got: Value = stack
            .admin
            .call("events", "get", &json!({"id": "evt-read"}))
            .await
            .unwrap_or_default();
        if got["deliveries"].as_array().is_some_and(|d| d.len() == 2) {
            break got;
        }
        assert!(tokio::time::Instant::now() < deadline, "{got}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(by_id["event"]["seq"], seq);
    assert!(
        by_id["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["state"] == "succeeded")
    );

    let orders = call(&stack, "events", "list", json!({"event_type": "orders.*"})).await;
    let types: Vec<&str> = orders["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["orders.paid", "orders.refunded"]);
    // Two hookwire.endpoint.verified events came first, then the three published.
    let first = call(&stack, "events", "list", json!({"limit": 4})).await;
    assert_eq!(first["events"].as_array().unwrap().len(), 4);
    let rest = call(
        &stack,
        "events",
        "list",
        json!({"cursor": first["next_cursor"]}),
    )
    .await;
    assert_eq!(rest["events"].as_array().unwrap().len(), 1);
    assert!(rest["next_cursor"].is_null());
}

#[tokio::test]
async fn query_requests_are_validated() {
    let stack = Stack::start(&[]).await;
    let cases = [
        (
            "deliveries",
            "list",
            json!({"state": "lost"}),
            "invalid_request",
        ),
        (
            "deliveries",
            "list",
            json!({"cursor": "nonsense"}),
            "invalid_request",
        ),
        ("deliveries", "list", json!({"limit": 0}), "invalid_request"),
        (
            "deliveries",
            "list",
            json!({"event_type": "a.>.b"}),
            "invalid_request",
        ),
        (
            "deliveries",
            "redeliver-failed",
            json!({"endpoint_id": "nope", "since": chrono::Utc::now()}),
            "not_found",
        ),
        ("endpoints", "stats", json!({"id": "nope"}), "not_found"),
        ("overview", "get", json!({"tenant": "x"}), "invalid_request"),
        (
            "endpoints",
            "test",
            json!({"id": "nope", "event_type": "a.b", "payload": {}}),
            "not_found",
        ),
        (
            "endpoints",
            "test",
            json!({"id": "x", "event_type": "a..b", "payload": {}}),
            "invalid_request",
        ),
        ("events", "get", json!({}), "invalid_request"),
        (
            "events",
            "get",
            json!({"seq": 1, "id": "x"}),
            "invalid_request",
        ),
        ("events", "get", json!({"seq": 999}), "not_found"),
        ("events", "get", json!({"id": "never"}), "not_found"),
        (
            "events",
            "list",
            json!({"event_type": "a.>.b"}),
            "invalid_request",
        ),
    ];
    for (noun, verb, body, code) in cases {
        let result = stack.admin.call::<_, Value>(noun, verb, &body).await;
        assert_eq!(error_code(result), code, "{noun}.{verb} {body}");
    }
    let receiver = Receiver::start().await;
    let endpoint = stack.endpoint(&receiver, json!({})).await;
    let missing_payload = stack
        .admin
        .call::<_, Value>(
            "endpoints",
            "test",
            &json!({"id": endpoint["id"], "event_type": "a.b"}),
        )
        .await;
    assert_eq!(error_code(missing_payload), "invalid_request");
    assert_eq!(receiver.count(), 0);
}
