//! Crash safety and isolation: nothing is lost when hookwired is killed or nats-server
//! restarts, and a dead endpoint's retry backlog holds up no one.
//!
//! A test binary of its own: these tests load the machine, and cargo runs test binaries one
//! after another, so they do not starve the tests in `it/`.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a panic is the failure report"
)]

#[path = "it/support.rs"]
#[allow(dead_code, reason = "shared with the it binary; this one uses a part")]
mod support;

use std::collections::HashSet;
use std::time::Duration;

use async_nats::HeaderMap;
use hookwire_testkit::{Receiver, Reply};
use serde_json::json;

use support::Stack;

const EVENTS: usize = 10_000;
const ENDPOINTS: usize = 3;

/// Distinct webhook ids a receiver got.
fn delivered_ids(receiver: &Receiver) -> HashSet<String> {
    receiver
        .requests()
        .iter()
        .filter_map(|r| r.header("webhook-id").map(str::to_owned))
        .collect()
}

fn total_distinct(receivers: &[Receiver]) -> usize {
    receivers.iter().map(|r| delivered_ids(r).len()).sum()
}

/// Waits until the receivers together hold `n` distinct deliveries.
async fn wait_for_progress(receivers: &[Receiver], n: usize, limit: Duration) {
    let deadline = tokio::time::Instant::now() + limit;
    while total_distinct(receivers) < n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "stalled at {} of {n} deliveries",
            total_distinct(receivers)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_lost_through_three_kills_and_a_broker_restart() {
    let mut stack = Stack::start(&[
        ("HOOKWIRE__DELIVERY__RETRY_TIERS_SECS", "[1, 30]"),
        (
            "HOOKWIRE__DELIVERY__RETRY_SCHEDULE_SECS",
            "[1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]",
        ),
    ])
    .await;
    let receivers: Vec<Receiver> =
        futures_util::future::join_all((0..ENDPOINTS).map(|_| Receiver::start())).await;
    for receiver in &receivers {
        stack.endpoint(receiver, json!({})).await;
    }

    // Publish from a task so kills and the restart happen mid-stream; publishes that fail
    // while the broker is down are retried, as a real service would.
    let js = async_nats::jetstream::new(stack.client.clone());
    let publisher = tokio::spawn(async move {
        for i in 0..EVENTS {
            loop {
                let mut headers = HeaderMap::new();
                headers.insert("Nats-Msg-Id", format!("e-{i}").as_str());
                let sent = js
                    .publish_with_headers(
                        "hookwire.events.default.load.test",
                        headers,
                        serde_json::to_vec(&json!({"i": i})).unwrap().into(),
                    )
                    .await;
                let acked = match sent {
                    Ok(ack) => ack.await.is_ok(),
                    Err(_) => false,
                };
                if acked {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    });

    let total = EVENTS * ENDPOINTS;
    let phase = Duration::from_mins(3);
    for (step, fraction) in [(0, 10), (1, 30), (2, 50)] {
        wait_for_progress(&receivers, total * fraction / 100, phase).await;
        stack.daemon.kill9();
        stack.daemon.start_again().await;
        eprintln!(
            "kill -9 #{} at {} deliveries",
            step + 1,
            total_distinct(&receivers)
        );
    }
    wait_for_progress(&receivers, total * 70 / 100, phase).await;
    stack.server.restart().await;
    eprintln!(
        "nats-server restarted at {} deliveries",
        total_distinct(&receivers)
    );

    publisher.await.unwrap();
    wait_for_progress(&receivers, total, phase).await;
    for (n, receiver) in receivers.iter().enumerate() {
        let ids = delivered_ids(receiver);
        let missing: Vec<usize> = (0..EVENTS)
            .filter(|i| !ids.contains(&format!("e-{i}")))
            .collect();
        assert!(
            missing.is_empty(),
            "endpoint {n} never got events {:?}",
            &missing[..missing.len().min(20)]
        );
        let extra = receiver.count() - ids.len();
        eprintln!("endpoint {n}: {EVENTS} delivered, {extra} duplicates");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_endpoints_retry_backlog_does_not_hold_up_a_healthy_one() {
    const BACKLOG: usize = 3000;
    const FRESH: usize = 500;
    // The circuit breaker would hold the backlog instead; this is about retry tiers.
    let stack = Stack::start(&[
        ("HOOKWIRE__DELIVERY__RETRY_TIERS_SECS", "[1, 600]"),
        ("HOOKWIRE__BREAKER__CONSECUTIVE_FAILURES", "1000000"),
        ("HOOKWIRE__BREAKER__MIN_ATTEMPTS", "1000000"),
    ])
    .await;
    // The receiver passes verification, then goes away: every attempt fails at once
    // (connection refused) and waits 10 minutes.
    let gone = Receiver::start().await;
    stack
        .endpoint(&gone, json!({"retry_schedule_secs": [600]}))
        .await;
    drop(gone);
    for i in 0..BACKLOG {
        stack.publish("orders.paid", &json!({"i": i}), None).await;
    }
    let js = async_nats::jetstream::new(stack.client.clone());
    let mut retry_stream = js.get_stream("HOOKWIRE_RETRY").await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_mins(2);
    while retry_stream.info().await.unwrap().state.messages < BACKLOG as u64 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the backlog never built up"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Now a healthy endpoint joins, with the whole backlog still waiting.
    let healthy = Receiver::start().await;
    healthy.set_fallback(Reply::ok());
    stack.endpoint(&healthy, json!({})).await;
    for i in 0..FRESH {
        stack
            .publish("orders.paid", &json!({"fresh": i}), None)
            .await;
    }
    healthy.wait_for(FRESH, Duration::from_mins(1)).await;
    let waiting = retry_stream.info().await.unwrap().state.messages;
    assert!(
        waiting >= BACKLOG as u64,
        "the healthy endpoint was served only after the backlog drained ({waiting} left)"
    );
}
