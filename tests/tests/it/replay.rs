//! Replay by time window: exactly the window's events, once per job.

use std::collections::HashSet;
use std::time::Duration;

use hookwire_testkit::Receiver;
use serde_json::{Value, json};

use crate::support::{Stack, WAIT, error_code};

const GAP: Duration = Duration::from_millis(1200);

async fn publish_batch(stack: &Stack, event_type: &str, name: &str, n: usize) -> HashSet<String> {
    let mut ids = HashSet::new();
    for i in 0..n {
        let id = format!("{name}-{i}");
        stack.publish(event_type, &json!({"i": i}), Some(&id)).await;
        ids.insert(id);
    }
    ids
}

async fn wait_completed(stack: &Stack, job_id: &str) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let job: Value = stack
            .admin
            .call("replay", "get", &json!({"job_id": job_id}))
            .await
            .unwrap();
        if job["state"] == "completed" {
            return job;
        }
        assert_eq!(job["state"], "running", "{job}");
        assert!(tokio::time::Instant::now() < deadline, "{job}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_window_is_replayed_exactly_once_per_job() {
    let stack = Stack::start(&[]).await;
    let receiver = Receiver::start().await;
    let endpoint = stack
        .endpoint(&receiver, json!({"event_types": ["orders.>"]}))
        .await;
    let endpoint_id = endpoint["id"].as_str().unwrap();

    publish_batch(&stack, "orders.paid", "before", 4).await;
    tokio::time::sleep(GAP).await;
    let since = chrono::Utc::now();
    let inside = publish_batch(&stack, "orders.paid", "inside", 6).await;
    publish_batch(&stack, "users.created", "other", 2).await;
    let until = chrono::Utc::now();
    tokio::time::sleep(GAP).await;
    publish_batch(&stack, "orders.paid", "after", 3).await;
    receiver.wait_for(13, WAIT).await;

    let start =
        json!({"endpoint_id": endpoint_id, "since": since, "until": until, "job_id": "job-1"});
    // The preview counts what the job will queue, and queues nothing itself.
    let preview: Value = stack.admin.call("replay", "preview", &start).await.unwrap();
    assert_eq!(
        (
            &preview["events"],
            &preview["scanned"],
            &preview["complete"]
        ),
        (&json!(6), &json!(8), &json!(true)),
        "{preview}"
    );
    let narrowed_preview: Value = stack
        .admin
        .call(
            "replay",
            "preview",
            &json!({"endpoint_id": endpoint_id, "since": since, "event_types": ["users.>"]}),
        )
        .await
        .unwrap();
    assert_eq!(
        narrowed_preview["events"], 0,
        "the endpoint takes no users.*: {narrowed_preview}"
    );
    let started: Value = stack.admin.call("replay", "start", &start).await.unwrap();
    assert_eq!(started["id"], "job-1");
    let job = wait_completed(&stack, "job-1").await;
    assert_eq!(job["queued"], 6, "{job}");
    assert_eq!(
        job["scanned"], 8,
        "the other type is looked at, not delivered: {job}"
    );

    let all = receiver.wait_for(19, WAIT).await;
    let replayed: Vec<String> = all[13..]
        .iter()
        .map(|r| r.header("webhook-id").unwrap().to_owned())
        .collect();
    assert_eq!(replayed.len(), 6);
    assert_eq!(replayed.iter().cloned().collect::<HashSet<_>>(), inside);
    assert!(all[13..].iter().all(|r| r.verification == Some(Ok(()))));

    // The same job again is the same job: nothing is sent twice.
    let again: Value = stack.admin.call("replay", "start", &start).await.unwrap();
    assert_eq!(
        (&again["state"], &again["queued"]),
        (&json!("completed"), &json!(6))
    );
    tokio::time::sleep(GAP).await;
    assert_eq!(receiver.count(), 19);
    let listed: Value = stack
        .admin
        .call("replay", "list", &json!({}))
        .await
        .unwrap();
    assert_eq!(listed["jobs"][0]["id"], "job-1");

    // A replay adds attempts to the delivery's history.
    let delivery: Value = stack
        .admin
        .call(
            "deliveries",
            "get",
            &json!({"endpoint_id": endpoint_id, "event_id": "inside-0"}),
        )
        .await
        .unwrap();
    assert_eq!(delivery["delivery"]["attempts"], 2, "{delivery}");

    // A type filter narrows the window further.
    let narrowed = json!({"endpoint_id": endpoint_id, "since": since, "until": until, "event_types": ["orders.refunded"], "job_id": "job-2"});
    let _: Value = stack
        .admin
        .call("replay", "start", &narrowed)
        .await
        .unwrap();
    assert_eq!(wait_completed(&stack, "job-2").await["queued"], 0);
}

#[tokio::test]
async fn replay_requests_are_validated() {
    let stack = Stack::start(&[]).await;
    let receiver = Receiver::start().await;
    let endpoint = stack.endpoint(&receiver, json!({})).await;
    let id = endpoint["id"].as_str().unwrap();
    let now = chrono::Utc::now();
    let hour_ago = now - chrono::TimeDelta::hours(1);
    let admin = &stack.admin;
    let call = |body: Value| async move { admin.call::<_, Value>("replay", "start", &body).await };
    let cases = [
        (
            json!({"endpoint_id": id, "since": now, "until": hour_ago}),
            "invalid_request",
        ),
        (
            json!({"endpoint_id": id, "since": "yesterday"}),
            "invalid_request",
        ),
        (json!({"endpoint_id": id}), "invalid_request"),
        (
            json!({"endpoint_id": id, "since": hour_ago, "job_id": "a b"}),
            "invalid_request",
        ),
        (
            json!({"endpoint_id": "nope", "since": hour_ago}),
            "not_found",
        ),
    ];
    for (body, code) in cases {
        assert_eq!(error_code(call(body.clone()).await), code, "{body}");
        let preview = admin.call::<_, Value>("replay", "preview", &body).await;
        assert_eq!(error_code(preview), code, "preview of {body}");
    }
    let first = json!({"endpoint_id": id, "since": hour_ago, "job_id": "same"});
    let _: Value = call(first).await.unwrap();
    let other_window =
        json!({"endpoint_id": id, "since": now - chrono::TimeDelta::hours(2), "job_id": "same"});
    assert_eq!(error_code(call(other_window).await), "conflict");
    let missing = stack
        .admin
        .call::<_, Value>("replay", "get", &json!({"job_id": "never"}))
        .await;
    assert_eq!(error_code(missing), "not_found");
    assert_eq!(receiver.count(), 0, "an empty window delivers nothing");
}
