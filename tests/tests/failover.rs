//! Scale-out under failure: 20,000 events to five endpoints on a three-node JetStream
//! cluster with two hookwired, while one instance and the node leading the events stream
//! are killed and restarted.
//!
//! A test binary of its own: it loads the machine for minutes, and cargo runs test
//! binaries one after another, so it does not starve the tests in `it/`.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a panic is the failure report"
)]

#[path = "it/support.rs"]
#[allow(dead_code, reason = "shared with the it binary; this one uses a part")]
mod support;

use std::time::Duration;

use futures_util::StreamExt as _;
use hookwire_nats::admin::{AdminClient, AdminClientError};
use hookwire_testkit::{Hookwired, NatsCluster, Receiver};
use serde_json::{Value, json};

use support::{active_endpoint, admin_for};

/// Events published in the failover test; each goes to every one of [`ENDPOINTS`].
const EVENTS: usize = 20_000;
/// Endpoints in the failover test.
const ENDPOINTS: usize = 5;
/// Attempts each instance makes at once (hookwired's default, said here because the
/// repeats a crash may cause are bounded by it).
const CONCURRENCY: usize = 512;

#[tokio::test]
async fn twenty_thousand_events_survive_an_instance_and_the_events_leader_being_killed() {
    let mut cluster = NatsCluster::start().await;
    let urls = cluster.urls();
    let replicas = ("HOOKWIRE__STREAMS__REPLICAS", "3");
    let concurrency = CONCURRENCY.to_string();
    let concurrency = ("HOOKWIRE__DELIVERY__CONCURRENCY", concurrency.as_str());
    let mut first = Hookwired::start(&urls, &[replicas, concurrency]).await;
    let key_file = first.data_dir().join("secrets.key");
    let key_file = ("HOOKWIRE__SECRETS__KEY_FILE", key_file.to_str().unwrap());
    let mut second = Hookwired::start(&urls, &[replicas, concurrency, key_file]).await;
    let client = cluster.client().await;
    let admin = admin_for(&client, "default");
    let receiver = Receiver::start().await;
    let mut ids = Vec::new();
    for n in 0..ENDPOINTS {
        let url = receiver.url_for(&format!("/e{n}"));
        ids.push(active_endpoint(&admin, &url, &["load.>"]).await);
    }
    let (stop_probing, probing) = tokio::sync::watch::channel(false);
    let probe = tokio::spawn(probe_admin(admin.clone(), ids.clone(), probing));
    let publisher = tokio::spawn(publish_events(client.clone()));

    // An instance dies mid-flow and comes back.
    wait_for_arrivals(&receiver, EVENTS * ENDPOINTS / 5).await;
    second.kill9();
    tokio::time::sleep(Duration::from_secs(2)).await;
    second.start_again().await;
    // Then the node leading the events stream.
    wait_for_arrivals(&receiver, EVENTS * ENDPOINTS * 2 / 5).await;
    let leader = events_leader(&client).await;
    cluster.nodes()[leader].kill();
    tokio::time::sleep(Duration::from_secs(5)).await;
    cluster.nodes()[leader].start_again().await;
    publisher.await.unwrap();
    wait_for_arrivals(&receiver, EVENTS * ENDPOINTS).await;
    // What was in flight at the crashes comes again once its ack wait has passed.
    let deadline = tokio::time::Instant::now() + Duration::from_mins(3);
    while !every_event_arrived(&receiver) && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let _ = stop_probing.send(true);
    let failures = probe.await.unwrap();

    assert_every_event_arrived_once_but_for_crashes(&receiver);
    eprintln!("{} admin requests failed: {failures:?}", failures.len());
    assert!(
        failures.len() <= 20,
        "admin requests failed beyond the moments of the crashes: {failures:?}"
    );
    // Both instances tell the same history, each from its own index.
    first.terminate().await;
    let seen_by_second = complete_history(&admin, &ids).await;
    first.start_again().await;
    second.terminate().await;
    let seen_by_first = complete_history(&admin, &ids).await;
    assert_eq!(seen_by_first, seen_by_second);
}

/// Publishes [`EVENTS`] events, 200 awaiting their acknowledgement at a time; an event whose
/// publish fails (its node went away) is published again under the same id, which the
/// stream's de-duplication keeps to one.
async fn publish_events(client: async_nats::Client) {
    let js = async_nats::jetstream::ContextBuilder::new()
        .timeout(Duration::from_secs(5))
        .build(client);
    futures_util::stream::iter(0..EVENTS)
        .for_each_concurrent(200, |n| {
            let js = js.clone();
            async move {
                let subject = format!("hookwire.events.default.load.e{}", n % 10);
                let body = serde_json::to_vec(&json!({"n": n})).unwrap();
                loop {
                    let mut headers = async_nats::HeaderMap::new();
                    headers.insert("Nats-Msg-Id", format!("load-{n}").as_str());
                    let acked = match js
                        .publish_with_headers(subject.clone(), headers, body.clone().into())
                        .await
                    {
                        Ok(ack) => ack.await.is_ok(),
                        Err(_) => false,
                    };
                    if acked {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        })
        .await;
}

/// Reads and changes an endpoint through the admin API every 100 ms until `stop`; the
/// failures, each of which must be one a crash explains.
async fn probe_admin(
    admin: AdminClient,
    ids: Vec<String>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> Vec<String> {
    let mut failures = Vec::new();
    for round in 0u64.. {
        if *stop.borrow() {
            break;
        }
        let result: Result<Value, AdminClientError> = if round % 2 == 0 {
            admin.call("endpoints", "get", &json!({"id": ids[0]})).await
        } else {
            let description = format!("probe {round}");
            admin
                .call(
                    "endpoints",
                    "update",
                    &json!({"id": ids[1], "description": description}),
                )
                .await
        };
        match result {
            Ok(_) => {}
            Err(
                e @ (AdminClientError::Timeout(_)
                | AdminClientError::NoResponders(_)
                | AdminClientError::Request { .. }),
            ) => {
                failures.push(e.to_string());
            }
            Err(AdminClientError::Api(body))
                if body.error.code == hookwire_protocol::admin::ErrorCode::Unavailable =>
            {
                failures.push(body.error.message);
            }
            Err(e) => panic!("an admin request failed without a crash to explain it: {e}"),
        }
        let _ = tokio::time::timeout(Duration::from_millis(100), stop.changed()).await;
    }
    failures
}

/// Waits until the receiver has `n` requests (5 minutes at most).
async fn wait_for_arrivals(receiver: &Receiver, n: usize) {
    let deadline = tokio::time::Instant::now() + Duration::from_mins(5);
    while receiver.count() < n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} of {n} deliveries arrived",
            receiver.count()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The index of the node leading the events stream.
async fn events_leader(client: &async_nats::Client) -> usize {
    let js = async_nats::jetstream::new(client.clone());
    let mut stream = js.get_stream("HOOKWIRE_EVENTS").await.unwrap();
    let info = stream.info().await.unwrap();
    let leader = info
        .cluster
        .as_ref()
        .and_then(|c| c.leader.clone())
        .expect("a replicated stream has a leader");
    // Nodes are named hookwire-n1..n3 in the order of `nodes()`.
    let number = leader
        .strip_prefix("hookwire-n")
        .and_then(|n| n.parse::<usize>().ok());
    number.unwrap_or_else(|| panic!("unexpected node name {leader}")) - 1
}

/// Whether every endpoint received every event (perhaps more than once).
fn every_event_arrived(receiver: &Receiver) -> bool {
    distinct_arrivals(&receiver.requests()).len() == EVENTS * ENDPOINTS
}

/// How often each endpoint (path) received each event (webhook id).
fn distinct_arrivals(
    requests: &[hookwire_testkit::Recorded],
) -> std::collections::BTreeMap<(String, String), usize> {
    let mut seen = std::collections::BTreeMap::new();
    for request in requests {
        let id = request.header("webhook-id").unwrap().to_owned();
        *seen.entry((request.path.clone(), id)).or_default() += 1;
    }
    seen
}

/// Every endpoint received every event; repeats only of what was in flight at the crashes.
/// The instance killed repeats at most the attempts it had in flight (their records died
/// with it): [`CONCURRENCY`]. The node's loss repeats next to nothing: an attempt's record
/// is published again until the attempts stream has a leader, and what is handed out again
/// (an event or task whose acknowledgement was lost) is checked against the index first.
/// Measured 92 to 195 of 100,000 (issue #18's note).
fn assert_every_event_arrived_once_but_for_crashes(receiver: &Receiver) {
    let requests = receiver.requests();
    let seen = distinct_arrivals(&requests);
    for n in 0..ENDPOINTS {
        let path = format!("/e{n}");
        let distinct = seen.keys().filter(|(p, _)| *p == path).count();
        assert_eq!(
            distinct, EVENTS,
            "{path} received {distinct} distinct events"
        );
    }
    let repeats = requests.len() - seen.len();
    eprintln!("{repeats} of {} deliveries were repeats", requests.len());
    assert!(
        repeats <= CONCURRENCY,
        "{repeats} deliveries arrived more than once: more than the crashes explain"
    );
}

/// Every delivery an instance's index lists for `ids`, by endpoint and event id, with its
/// state, once it lists all of them (it may still be catching up after its restart).
async fn complete_history(
    admin: &AdminClient,
    ids: &[String],
) -> std::collections::BTreeMap<(String, String), (String, u32)> {
    let deadline = tokio::time::Instant::now() + Duration::from_mins(3);
    loop {
        let mut history = std::collections::BTreeMap::new();
        for id in ids {
            let mut cursor: Option<String> = None;
            loop {
                let page: Value = admin
                    .call(
                        "deliveries",
                        "list",
                        &json!({"endpoint_id": id, "limit": 500, "cursor": cursor}),
                    )
                    .await
                    .unwrap_or_else(|e| panic!("deliveries.list of {id} failed: {e}"));
                for d in page["deliveries"].as_array().unwrap() {
                    history.insert(
                        (id.clone(), d["event_id"].as_str().unwrap().to_owned()),
                        (
                            d["state"].as_str().unwrap().to_owned(),
                            u32::try_from(d["attempts"].as_u64().unwrap()).unwrap(),
                        ),
                    );
                }
                cursor = page["next_cursor"].as_str().map(str::to_owned);
                if cursor.is_none() {
                    break;
                }
            }
        }
        let succeeded = history.values().filter(|(s, _)| s == "succeeded").count();
        if succeeded == EVENTS * ENDPOINTS {
            return history;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the index lists {succeeded} of {} deliveries as succeeded",
            EVENTS * ENDPOINTS
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
