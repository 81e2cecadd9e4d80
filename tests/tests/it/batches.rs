//! Batch mode through NATS and a real receiver: events go several to a request, as a JSON
//! array signed once (checked with the official Standard Webhooks library); a batch is
//! retried, dead-lettered, requeued and redelivered as a unit under one `webhook-id`; and
//! each event's delivery shows the batch it went in.

use hookwire_testkit::{Receiver, Recorded, Reply};
use serde_json::{Value, json};

use crate::support::{Stack, WAIT, interop};

const FAST: &[(&str, &str)] = &[("HOOKWIRE__DELIVERY__RETRY_TIERS_SECS", "[1, 2, 3, 30]")];

/// The ids of the events a batch request carried, in order.
fn ids(request: &Recorded) -> Vec<String> {
    request
        .json()
        .as_array()
        .unwrap_or_else(|| panic!("not a batch: {}", request.json()))
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn verify_officially(request: &Recorded, secret: &str) {
    let official = interop(
        "standardwebhooks_check.py",
        &json!({"op": "verify", "secret": secret,
                "body": String::from_utf8(request.body.to_vec()).unwrap(), "headers": {
            "webhook-id": request.header("webhook-id"),
            "webhook-timestamp": request.header("webhook-timestamp"),
            "webhook-signature": request.header("webhook-signature"),
        }}),
    )
    .await;
    assert_eq!(official["ok"], true, "{official}");
}

#[tokio::test]
async fn events_go_in_signed_batches_and_a_retry_keeps_the_webhook_id() {
    let stack = Stack::start(FAST).await;
    let receiver = Receiver::start().await;
    let endpoint = stack
        .endpoint(
            &receiver,
            json!({"delivery": {"mode": "batch", "max_events": 5, "max_wait_ms": 300},
                   "retry_schedule_secs": [1]}),
        )
        .await;
    assert_eq!(endpoint["delivery"]["mode"], "batch");
    let id = endpoint["id"].as_str().unwrap().to_owned();
    let secret = endpoint["secret"].as_str().unwrap().to_owned();
    receiver.script([Reply::status(503)]);

    let mut seqs = Vec::new();
    for i in 0..5 {
        seqs.push(
            stack
                .publish("orders.paid", &json!({"n": i}), Some(&format!("b-{i}")))
                .await,
        );
    }
    let got = receiver.wait_for(2, WAIT).await;
    let (first, retry) = (&got[0], &got[1]);
    let batch_id = first.header("webhook-id").unwrap().to_owned();
    assert!(batch_id.starts_with("bat_"), "{batch_id}");
    assert_eq!(
        retry.header("webhook-id"),
        Some(batch_id.as_str()),
        "one id per batch"
    );
    assert_eq!(
        ids(retry),
        ["b-0", "b-1", "b-2", "b-3", "b-4"],
        "in publish order"
    );
    let body = retry.json();
    assert_eq!(body[3]["type"], "orders.paid");
    assert_eq!(body[3]["data"], json!({"n": 3}));
    assert_eq!(retry.verification, Some(Ok(())));
    verify_officially(retry, &secret).await;

    // Fewer events than a batch holds go when the first has waited max_wait_ms.
    stack
        .publish("orders.paid", &json!({"n": 5}), Some("b-5"))
        .await;
    stack
        .publish("orders.paid", &json!({"n": 6}), Some("b-6"))
        .await;
    let got = receiver.wait_for(3, WAIT).await;
    assert_eq!(ids(&got[2]), ["b-5", "b-6"]);

    // Each event's delivery shows its batch and the batch's attempts, with its events.
    let deadline = tokio::time::Instant::now() + WAIT;
    let detail = loop {
        let detail: Value = stack
            .admin
            .call(
                "deliveries",
                "get",
                &json!({"endpoint_id": id, "event_id": "b-3"}),
            )
            .await
            .unwrap_or(Value::Null);
        if detail["delivery"]["state"] == "succeeded" {
            break detail;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never indexed: {detail}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(detail["delivery"]["batch_id"], batch_id.as_str());
    assert_eq!(detail["delivery"]["event_seq"].as_u64(), Some(seqs[3]));
    let attempts = detail["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[1]["event_id"], batch_id.as_str());
    assert_eq!(attempts[1]["batch"].as_array().map(Vec::len), Some(5));
    assert_eq!(detail["event_data"], json!({"n": 3}));
}

#[tokio::test]
async fn a_dead_batch_is_requeued_and_redelivered_as_a_unit() {
    let stack = Stack::start(FAST).await;
    let receiver = Receiver::start().await;
    let endpoint = stack
        .endpoint(
            &receiver,
            json!({"delivery": {"mode": "batch", "max_events": 3},
                   "retry_schedule_secs": []}),
        )
        .await;
    let id = endpoint["id"].as_str().unwrap().to_owned();
    receiver.script([Reply::status(500)]);
    for i in 0..3 {
        stack
            .publish("orders.paid", &json!({"n": i}), Some(&format!("d-{i}")))
            .await;
    }
    let failed = receiver.wait_for(1, WAIT).await.remove(0);
    let batch_id = failed.header("webhook-id").unwrap().to_owned();

    let deadline = tokio::time::Instant::now() + WAIT;
    let dead = loop {
        let page: Value = stack
            .admin
            .call("dead-letters", "list", &json!({"endpoint_id": id}))
            .await
            .unwrap();
        if let Some(dead) = page["dead_letters"].as_array().and_then(|d| d.first()) {
            break dead.clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never dead-lettered"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(
        dead["event_id"],
        batch_id.as_str(),
        "one dead letter for the batch"
    );
    assert_eq!(dead["batch_size"], 3);

    let requeued: Value = stack
        .admin
        .call("dead-letters", "requeue", &json!({"endpoint_id": id}))
        .await
        .unwrap();
    assert_eq!(requeued["requeued"], 1);
    let again = receiver.wait_for(2, WAIT).await.remove(1);
    assert_eq!(again.header("webhook-id"), Some(batch_id.as_str()));
    assert_eq!(ids(&again), ["d-0", "d-1", "d-2"]);

    // Redelivering one of its events sends the whole batch again, under its id.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let redelivered = stack
            .admin
            .call::<_, Value>(
                "deliveries",
                "redeliver",
                &json!({"endpoint_id": id, "event_id": "d-1"}),
            )
            .await;
        if redelivered.is_ok() {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{redelivered:?}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let third = receiver.wait_for(3, WAIT).await.remove(2);
    assert_eq!(third.header("webhook-id"), Some(batch_id.as_str()));
    assert_eq!(ids(&third), ["d-0", "d-1", "d-2"]);
}
