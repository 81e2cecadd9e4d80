//! Ordered delivery per key through NATS, a real receiver, `kill -9` and a broker restart,
//! with one instance or two sharing the keys: within a key, an event never arrives before
//! the one before it was delivered (a failed attempt is retried before anything behind it;
//! a crash repeats at most the attempt in flight); keys that fail hold only themselves;
//! operators see blocked keys and move a head aside; a key's turn may be a batch.

use std::collections::BTreeMap;
use std::time::Duration;

use hookwire_testkit::{Hookwired, Receiver, Reply};
use serde_json::{Value, json};

use crate::support::Stack;

const FAST: &[(&str, &str)] = &[("HOOKWIRE__DELIVERY__RETRY_TIERS_SECS", "[1, 2, 3, 30]")];
/// Keys, and events per key, of the kill -9 test.
const KEYS: usize = 8;
const EVENTS: usize = 12;
/// Long enough for a lease left by a killed instance to expire (10 s) and work to resume.
const RECOVERY: Duration = Duration::from_secs(90);

fn ordered(spec: Value) -> Value {
    let mut spec = spec;
    spec["delivery"] = json!({"mode": "ordered", "key": {"pointer": "/key"}});
    spec["verification"] = json!("confirmed");
    spec["confirm_destination"] = json!("127.0.0.1");
    spec
}

/// Waits until the delivery of `event_id` to `endpoint` is `state`; a failure shows what
/// the stack's instance and `others` warned of.
async fn wait_for_delivery(
    stack: &Stack,
    others: &[&Hookwired],
    endpoint: &str,
    event_id: &str,
    state: &str,
) {
    let deadline = tokio::time::Instant::now() + RECOVERY;
    loop {
        let detail = stack
            .admin
            .call::<_, Value>(
                "deliveries",
                "get",
                &json!({"endpoint_id": endpoint, "event_id": event_id}),
            )
            .await
            .unwrap_or_else(|e| json!({"error": e.to_string()}));
        if detail["delivery"]["state"] == state {
            return;
        }
        if tokio::time::Instant::now() >= deadline {
            let warnings: Vec<String> = std::iter::once(&stack.daemon)
                .chain(others.iter().copied())
                .map(Hookwired::warnings)
                .collect();
            panic!("{event_id} never {state}: {detail}\nwarnings:\n{warnings:#?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `endpoints.blocked-keys` of `endpoint`.
async fn blocked_keys(stack: &Stack, endpoint: &str) -> Value {
    stack
        .admin
        .call("endpoints", "blocked-keys", &json!({"id": endpoint}))
        .await
        .unwrap()
}

/// An ordered endpoint (keyed by `/key`, retried every second) whose receiver fails every
/// third request; its id.
async fn failing_every_third(stack: &Stack, receiver: &Receiver) -> String {
    receiver.script((0..3000).map(|i| {
        if i % 3 == 2 {
            Reply::status(503)
        } else {
            Reply::ok()
        }
    }));
    let endpoint = stack
        .endpoint(
            receiver,
            ordered(json!({"retry_schedule_secs": vec![1; 16]})),
        )
        .await;
    assert_eq!(endpoint["delivery"]["mode"], "ordered");
    endpoint["id"].as_str().unwrap().to_owned()
}

/// Publishes event `n` of each of `keys` keys (`{"key": "k<k>", "n": n}`, id `k<k>-<n>`).
async fn publish_round(stack: &Stack, keys: usize, n: usize) {
    for k in 0..keys {
        stack
            .publish(
                "orders.changed",
                &json!({"key": format!("k{k}"), "n": n}),
                Some(&format!("k{k}-{n}")),
            )
            .await;
    }
}

/// Waits until the last of `events` events of each of `keys` keys was delivered.
async fn wait_for_every_key(
    stack: &Stack,
    others: &[&Hookwired],
    endpoint: &str,
    keys: usize,
    events: usize,
) {
    for k in 0..keys {
        wait_for_delivery(
            stack,
            others,
            endpoint,
            &format!("k{k}-{}", events - 1),
            "succeeded",
        )
        .await;
    }
}

/// Per key, in arrival order: never an event before an earlier one (repeats only), and every
/// one of `events` arrived for each of `keys`.
fn assert_each_key_in_order(receiver: &Receiver, keys: usize, events: usize) {
    let mut seen: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for request in receiver.requests() {
        let body = request.json();
        let key = body["data"]["key"].as_str().unwrap().to_owned();
        seen.entry(key)
            .or_default()
            .push(body["data"]["n"].as_u64().unwrap());
    }
    assert_eq!(seen.len(), keys);
    for (key, ns) in &seen {
        assert!(
            ns.windows(2).all(|w| w[0] <= w[1]),
            "{key} arrived out of order: {ns:?}"
        );
        let distinct: std::collections::BTreeSet<u64> = ns.iter().copied().collect();
        assert_eq!(distinct.len(), events, "{key}: {ns:?}");
    }
}

/// Waits until the partitions' leases name `instances` distinct holders, none holding more
/// than its even share; returns the holders' partition counts.
async fn wait_for_owners(stack: &Stack, instances: usize) -> BTreeMap<String, usize> {
    let bucket = async_nats::jetstream::new(stack.client.clone())
        .get_key_value("HOOKWIRE_CONFIG")
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + RECOVERY;
    loop {
        let mut owners: BTreeMap<String, usize> = BTreeMap::new();
        for p in 0..16 {
            if let Ok(Some(lease)) = bucket.get(format!("ordered-lease.{p}")).await
                && let Ok(lease) = serde_json::from_slice::<Value>(&lease)
            {
                *owners
                    .entry(lease["instance"].as_str().unwrap_or_default().to_owned())
                    .or_default() += 1;
            }
        }
        let shared = owners.values().sum::<usize>() == 16
            && owners.len() == instances
            && owners.values().all(|n| *n <= 16usize.div_ceil(instances));
        if shared {
            return owners;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the partitions never spread over {instances} instances: {owners:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn two_instances_share_the_keys_and_order_holds_when_one_is_killed() {
    const KEYS: usize = 48;
    const EVENTS: usize = 6;
    // The receiver fails every third request it gets, but each instance sees only those
    // sent to it: one may see five failures in a row, which would open the endpoint's
    // circuit for five minutes. Keys held by a circuit are not what this test is about.
    let mut env = FAST.to_vec();
    env.extend([
        ("HOOKWIRE__BREAKER__CONSECUTIVE_FAILURES", "1000"),
        ("HOOKWIRE__BREAKER__MIN_ATTEMPTS", "1000000"),
    ]);
    let stack = Stack::start(&env).await;
    let receiver = Receiver::start().await;
    let id = failing_every_third(&stack, &receiver).await;
    // Shares the first instance's secrets key: either may deliver to the endpoint.
    let key_file = stack.daemon.data_dir().join("secrets.key");
    env.push(("HOOKWIRE__SECRETS__KEY_FILE", key_file.to_str().unwrap()));
    let mut second = Hookwired::start(&stack.server.url(), &env).await;
    let owners = wait_for_owners(&stack, 2).await;
    assert!(owners.values().all(|n| *n == 8), "{owners:?}");

    for n in 0..EVENTS {
        publish_round(&stack, KEYS, n).await;
        if n == 2 {
            // The second instance dies with lanes in flight; its partitions move to the first
            // once their leases expire, and are shared again when it is back.
            tokio::time::sleep(Duration::from_millis(300)).await;
            second.kill9();
            wait_for_owners(&stack, 1).await;
            second.start_again().await;
        }
    }
    wait_for_every_key(&stack, &[&second], &id, KEYS, EVENTS).await;
    assert_each_key_in_order(&receiver, KEYS, EVENTS);
    wait_for_owners(&stack, 2).await;
}

#[tokio::test]
async fn each_keys_order_holds_through_failures_two_kill_9s_and_a_broker_restart() {
    let mut stack = Stack::start(FAST).await;
    let receiver = Receiver::start().await;
    let id = failing_every_third(&stack, &receiver).await;

    for n in 0..EVENTS {
        publish_round(&stack, KEYS, n).await;
        if n == 3 || n == 8 {
            // Crash in the middle of the flow; the restarted instance takes the lanes over.
            tokio::time::sleep(Duration::from_millis(300)).await;
            stack.daemon.kill9();
            stack.daemon.start_again().await;
        }
        if n == 6 {
            // And the broker restarts under the lanes.
            tokio::time::sleep(Duration::from_millis(300)).await;
            stack.server.restart().await;
        }
    }
    wait_for_every_key(&stack, &[], &id, KEYS, EVENTS).await;

    assert_each_key_in_order(&receiver, KEYS, EVENTS);
    // Every lane flows again (a head clears its mark just after its delivery is recorded).
    let deadline = tokio::time::Instant::now() + RECOVERY;
    loop {
        let blocked = blocked_keys(&stack, &id).await;
        if blocked["keys"] == json!([]) {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still blocked: {blocked}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_failing_key_holds_only_itself_and_an_operator_moves_its_head_aside() {
    let stack = Stack::start(FAST).await;
    let receiver = Receiver::start().await;
    let endpoint = stack
        .endpoint(
            &receiver,
            ordered(json!({"retry_schedule_secs": vec![1; 16]})),
        )
        .await;
    let id = endpoint["id"].as_str().unwrap().to_owned();
    receiver.set_fallback(Reply::status(500));
    stack
        .publish("orders.changed", &json!({"key": "a", "n": 0}), Some("a-0"))
        .await;
    stack
        .publish("orders.changed", &json!({"key": "a", "n": 1}), Some("a-1"))
        .await;
    // Key a waits behind a-0.
    let deadline = tokio::time::Instant::now() + RECOVERY;
    let blocked = loop {
        let blocked = blocked_keys(&stack, &id).await;
        if blocked["keys"].as_array().is_some_and(|k| !k.is_empty()) {
            break blocked["keys"][0].clone();
        }
        assert!(tokio::time::Instant::now() < deadline, "never blocked");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        (blocked["key"].as_str(), blocked["event_id"].as_str()),
        (Some("a"), Some("a-0"))
    );
    assert!(blocked["attempts"].as_u64().unwrap() >= 1);
    assert!(
        blocked["last_error"]
            .as_str()
            .unwrap_or_default()
            .contains("500"),
        "{blocked}"
    );
    assert!(
        receiver
            .requests()
            .iter()
            .all(|r| r.header("webhook-id") != Some("a-1")),
        "nothing behind the failing head went"
    );

    // Another key flows meanwhile.
    receiver.set_fallback(Reply::ok());
    receiver.script([Reply::ok()]);
    stack
        .publish("orders.changed", &json!({"key": "b", "n": 0}), Some("b-0"))
        .await;
    wait_for_delivery(&stack, &[], &id, "b-0", "succeeded").await;

    // The operator moves a-0 aside (to the dead letters); a-1 goes.
    receiver.set_fallback(Reply::status(500));
    let skipped: Value = stack
        .admin
        .call(
            "endpoints",
            "skip-head",
            &json!({"id": id, "lane": blocked["lane"], "dead_letter": true}),
        )
        .await
        .unwrap();
    assert_eq!(skipped, json!({"event_id": "a-0", "dead_lettered": true}));
    receiver.set_fallback(Reply::ok());
    wait_for_delivery(&stack, &[], &id, "a-1", "succeeded").await;
    let dead: Value = stack
        .admin
        .call("dead-letters", "list", &json!({"endpoint_id": id}))
        .await
        .unwrap();
    assert_eq!(dead["dead_letters"][0]["event_id"], "a-0");
    let refused = stack
        .admin
        .call::<_, Value>(
            "endpoints",
            "update",
            &json!({"id": id, "delivery": {"mode": "single"}}),
        )
        .await;
    assert_eq!(crate::support::error_code(refused), "invalid_request");
}

#[tokio::test]
async fn batched_per_key_a_request_carries_a_run_of_one_key_in_order() {
    const KEYS: usize = 4;
    const EVENTS: usize = 30;
    let stack = Stack::start(FAST).await;
    let receiver = Receiver::start().await;
    // Slow, and every third request fails: events wait behind each turn and join the next.
    receiver.script((0..1000).map(|i| {
        let reply = if i % 3 == 2 {
            Reply::status(503)
        } else {
            Reply::ok()
        };
        reply.after(Duration::from_millis(150))
    }));
    let mut spec = ordered(json!({"retry_schedule_secs": vec![1; 16]}));
    spec["delivery"]["batch"] = json!({"max_events": 5});
    let endpoint = stack.endpoint(&receiver, spec).await;
    let id = endpoint["id"].as_str().unwrap().to_owned();
    assert_eq!(endpoint["delivery"]["batch"]["max_events"], 5);

    for n in 0..EVENTS {
        publish_round(&stack, KEYS, n).await;
    }
    wait_for_every_key(&stack, &[], &id, KEYS, EVENTS).await;

    // Each request: one key's run, in order, at most 5; a retry sends the same run under
    // the same webhook-id; across requests each key goes forward only.
    let mut runs: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let mut delivered: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let mut largest = 0;
    for (i, request) in receiver.requests().iter().enumerate() {
        let body = request.json();
        let members = body
            .as_array()
            .unwrap_or_else(|| panic!("a batch is a JSON array: {body}"));
        assert!((1..=5).contains(&members.len()), "{body}");
        largest = largest.max(members.len());
        let key = members[0]["data"]["key"].as_str().unwrap().to_owned();
        let ns: Vec<u64> = members
            .iter()
            .map(|m| {
                assert_eq!(m["data"]["key"], key.as_str(), "one key per request");
                m["data"]["n"].as_u64().unwrap()
            })
            .collect();
        assert!(
            ns.windows(2).all(|w| w[0] + 1 == w[1]),
            "a run in order: {ns:?}"
        );
        let webhook_id = request.header("webhook-id").unwrap().to_owned();
        if let Some(earlier) = runs.get(&webhook_id) {
            assert_eq!(earlier, &ns, "a retry carries the same events");
        }
        runs.insert(webhook_id, ns.clone());
        // Each request starts at the key's first event not delivered yet.
        let seen = delivered.entry(key).or_default();
        assert_eq!(ns[0], seen.len() as u64, "{seen:?} then {ns:?}");
        if i % 3 != 2 {
            seen.extend(ns);
        }
    }
    assert!(largest > 1, "events waiting behind a turn go together");
    for (key, ns) in &delivered {
        assert_eq!(ns, &(0..EVENTS as u64).collect::<Vec<_>>(), "{key}");
    }
}
