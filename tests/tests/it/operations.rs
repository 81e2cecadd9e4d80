//! Endpoint operations beyond CRUD: pause, resume, enable, and secret rotation.

use std::time::Duration;

use hookwire_protocol::Secret;
use hookwire_protocol::signing::{self, DEFAULT_TOLERANCE_SECS, VerifyError, WebhookHeaders};
use hookwire_testkit::{Receiver, Recorded, Reply};
use serde_json::{Value, json};

use crate::support::{Stack, WAIT, error_code};

const FAST: &[(&str, &str)] = &[("HOOKWIRE__DELIVERY__RETRY_TIERS_SECS", "[1, 30]")];

/// Verifies a recorded webhook against one secret only.
fn verify_with(request: &Recorded, secret: &Secret) -> Result<(), VerifyError> {
    let headers = WebhookHeaders::from_lookup(|name| request.header(name))?;
    let now = chrono::Utc::now().timestamp();
    signing::verify(
        std::slice::from_ref(secret),
        &headers,
        &request.body,
        now,
        DEFAULT_TOLERANCE_SECS,
    )
}

#[tokio::test]
async fn rotation_keeps_both_secrets_valid_for_the_grace_period_then_only_the_new() {
    let stack = Stack::start(FAST).await;
    let ops = Receiver::start().await;
    stack.ops_endpoint(&ops).await;
    let receiver = Receiver::start().await;
    let endpoint = stack
        .endpoint(&receiver, json!({"event_types": ["a.>"]}))
        .await;
    let id = endpoint["id"].as_str().unwrap();
    let old = Secret::parse(endpoint["secret"].as_str().unwrap()).unwrap();

    let rotated: Value = stack
        .admin
        .call(
            "endpoints",
            "rotate-secret",
            &json!({"id": id, "grace_secs": 3}),
        )
        .await
        .unwrap();
    let new = Secret::parse(rotated["secret"].as_str().unwrap()).unwrap();
    assert_ne!(new, old);
    assert!(rotated["previous_expires_at"].is_string());

    stack.publish("a.during", &json!({}), None).await;
    let during = receiver.wait_for(1, WAIT).await.remove(0);
    assert_eq!(
        during
            .header("webhook-signature")
            .unwrap()
            .split(' ')
            .count(),
        2
    );
    assert_eq!(
        verify_with(&during, &old),
        Ok(()),
        "a receiver holding only the old secret"
    );
    assert_eq!(
        verify_with(&during, &new),
        Ok(()),
        "a receiver holding only the new secret"
    );

    // After the grace period only the new secret signs.
    tokio::time::sleep(Duration::from_secs(4)).await;
    stack.publish("a.after", &json!({}), None).await;
    let after = receiver.wait_for(2, WAIT).await.remove(1);
    assert_eq!(
        after
            .header("webhook-signature")
            .unwrap()
            .split(' ')
            .count(),
        1
    );
    assert_eq!(verify_with(&after, &new), Ok(()));
    assert_eq!(
        verify_with(&after, &old),
        Err(VerifyError::NoMatchingSignature)
    );

    let reported = ops.requests().iter().map(Recorded::json).any(|body| {
        body["type"] == "hookwire.endpoint.secret_rotated" && body["data"]["endpoint_id"] == id
    });
    assert!(
        reported,
        "hookwire.endpoint.secret_rotated was not delivered"
    );

    // A given secret is used as is; bad input changes nothing.
    let chosen = Secret::generate();
    let rotated: Value = stack
        .admin
        .call(
            "endpoints",
            "rotate-secret",
            &json!({"id": id, "secret": chosen.expose(), "grace_secs": 0}),
        )
        .await
        .unwrap();
    assert_eq!(rotated["secret"], chosen.expose());
    assert_eq!(rotated["previous_expires_at"], Value::Null);
    for bad in [
        json!({"id": id, "grace_secs": 700_000}),
        json!({"id": id, "secret": "nope"}),
        json!({"id": "missing"}),
    ] {
        let code = error_code(stack.admin.call("endpoints", "rotate-secret", &bad).await);
        assert!(
            code == "invalid_request" || code == "not_found",
            "{bad}: {code}"
        );
    }
    stack.publish("a.last", &json!({}), None).await;
    let last = receiver.wait_for(3, WAIT).await.remove(2);
    assert_eq!(
        verify_with(&last, &chosen),
        Ok(()),
        "a refused rotation changed the secret"
    );
}

#[tokio::test]
async fn pause_resume_and_enable_follow_their_transitions() {
    let stack = Stack::start(FAST).await;
    let receiver = Receiver::start().await;
    receiver.script([Reply::gone()]);
    let endpoint = stack.endpoint(&receiver, json!({})).await;
    let id = endpoint["id"].as_str().unwrap();
    let body = json!({"id": id});
    let call = |verb: &'static str| stack.admin.call::<_, Value>("endpoints", verb, &body);

    // 410 disables; resume and pause refuse a disabled endpoint; enable restores it.
    stack.publish("a.b", &json!({"n": 1}), None).await;
    receiver.wait_for(1, WAIT).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while stack.get_endpoint(id).await["status"]["state"] != "disabled" {
        assert!(
            tokio::time::Instant::now() < deadline,
            "410 did not disable the endpoint"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(error_code(call("resume").await), "conflict");
    assert_eq!(error_code(call("pause").await), "conflict");
    assert_eq!(call("enable").await.unwrap()["status"]["state"], "active");

    // Paused: held, then delivered on resume.
    assert_eq!(call("pause").await.unwrap()["status"]["state"], "paused");
    assert_eq!(
        call("pause").await.unwrap()["status"]["state"],
        "paused",
        "pause is idempotent"
    );
    assert_eq!(error_code(call("enable").await), "conflict");
    stack.publish("a.b", &json!({"n": 2}), None).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(receiver.count(), 1, "delivered while paused");
    assert_eq!(call("resume").await.unwrap()["status"]["state"], "active");
    let held = receiver.wait_for(2, WAIT).await.remove(1);
    assert_eq!(held.json()["data"], json!({"n": 2}));
    assert_eq!(
        error_code(
            stack
                .admin
                .call::<_, Value>("endpoints", "pause", &json!({"id": "nope"}))
                .await
        ),
        "not_found"
    );
}

#[tokio::test]
async fn deliveries_get_shows_every_attempt_and_system_reports_state() {
    let stack = Stack::start(FAST).await;
    let receiver = Receiver::start().await;
    receiver.script([Reply::status(500).body("try later"), Reply::ok()]);
    let endpoint = stack
        .endpoint(&receiver, json!({"retry_schedule_secs": [1]}))
        .await;
    let id = endpoint["id"].as_str().unwrap();
    stack
        .publish("a.b", &json!({"order": 7}), Some("evt-inspect"))
        .await;
    receiver.wait_for(2, WAIT).await;

    let request = json!({"endpoint_id": id, "event_id": "evt-inspect"});
    let deadline = tokio::time::Instant::now() + WAIT;
    let found = loop {
        // Attempts are indexed asynchronously; the second one lands within moments.
        match stack
            .admin
            .call::<_, Value>("deliveries", "get", &request)
            .await
        {
            Ok(found) if found["delivery"]["attempts"] == 2 => break found,
            _ => {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "the delivery was never indexed"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    assert_eq!(found["delivery"]["state"], "succeeded");
    assert_eq!(found["event_data"], json!({"order": 7}));
    let attempts = found["attempts"].as_array().unwrap();
    assert_eq!(attempts[0]["response"]["status"], 500);
    assert_eq!(attempts[0]["response"]["body"], "try later");
    assert_eq!(attempts[0]["outcome"], "retrying");
    assert_eq!(attempts[1]["response"]["status"], 200);
    assert!(
        attempts[0]["request_headers"]["webhook-signature"]
            .as_str()
            .unwrap()
            .starts_with("v1,")
    );
    assert_eq!(
        error_code(
            stack
                .admin
                .call(
                    "deliveries",
                    "get",
                    &json!({"endpoint_id": id, "event_id": "nope"})
                )
                .await
        ),
        "not_found"
    );
    assert_eq!(
        error_code(
            stack
                .admin
                .call("deliveries", "get", &json!({"event_id": "x"}))
                .await
        ),
        "invalid_request"
    );

    let info: Value = stack
        .admin
        .call("system", "info", &json!({}))
        .await
        .unwrap();
    let streams: Vec<&str> = info["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        streams,
        [
            "HOOKWIRE_EVENTS",
            "HOOKWIRE_TASKS",
            "HOOKWIRE_RETRY",
            "HOOKWIRE_DEAD",
            "HOOKWIRE_HELD",
            "HOOKWIRE_ATTEMPTS"
        ]
    );
    assert_eq!(
        info["config"]["delivery"]["retry_tiers_secs"],
        json!([1, 30])
    );
    assert!(info["config"]["nats"].get("password").is_none());
    let health: Value = stack
        .admin
        .call("system", "health", &json!({}))
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
}

#[tokio::test]
async fn dead_letters_list_requeue_and_purge() {
    let stack = Stack::start(FAST).await;
    let receiver = Receiver::start().await;
    receiver.set_fallback(Reply::status(500));
    let endpoint = stack
        .endpoint(&receiver, json!({"retry_schedule_secs": []}))
        .await;
    let id = endpoint["id"].as_str().unwrap();
    for n in 0..3 {
        stack
            .publish("a.b", &json!({"n": n}), Some(&format!("dead-{n}")))
            .await;
    }
    let deadline = tokio::time::Instant::now() + WAIT;
    while stack.dead_letters().await < 3 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the deliveries never died"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let page: Value = stack
        .admin
        .call("dead-letters", "list", &json!({"limit": 2}))
        .await
        .unwrap();
    let listed = page["dead_letters"].as_array().unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0]["endpoint_id"], id);
    assert_eq!(listed[0]["attempts"], 1);
    assert!(listed[0]["last_error"].as_str().unwrap().contains("500"));
    let rest: Value = stack
        .admin
        .call(
            "dead-letters",
            "list",
            &json!({"cursor": page["next_cursor"]}),
        )
        .await
        .unwrap();
    assert_eq!(rest["dead_letters"].as_array().unwrap().len(), 1);
    let other: Value = crate::support::admin_for(&stack.client, "acme")
        .call("dead-letters", "list", &json!({}))
        .await
        .unwrap();
    assert_eq!(
        other["dead_letters"],
        json!([]),
        "another tenant sees no dead letters"
    );

    // Requeue one: it is attempted again with the same webhook-id, and succeeds.
    receiver.set_fallback(Reply::ok());
    let first_seq = listed[0]["seq"].clone();
    let event_id = listed[0]["event_id"].as_str().unwrap().to_owned();
    let requeued: Value = stack
        .admin
        .call("dead-letters", "requeue", &json!({"seq": first_seq}))
        .await
        .unwrap();
    assert_eq!(requeued["requeued"], 1);
    let again = receiver.wait_for(4, WAIT).await.remove(3);
    assert_eq!(again.header("webhook-id"), Some(event_id.as_str()));
    assert_eq!(stack.dead_letters().await, 2);
    assert_eq!(
        error_code(
            stack
                .admin
                .call("dead-letters", "requeue", &json!({"seq": first_seq}))
                .await
        ),
        "not_found"
    );

    // Bad selections are refused; purge removes the rest of the endpoint's.
    for bad in [
        json!({}),
        json!({"seq": 1, "endpoint_id": id}),
        json!({"endpoint_id": "a.b"}),
    ] {
        assert_eq!(
            error_code(stack.admin.call("dead-letters", "purge", &bad).await),
            "invalid_request",
            "{bad}"
        );
    }
    let purged: Value = stack
        .admin
        .call("dead-letters", "purge", &json!({"endpoint_id": id}))
        .await
        .unwrap();
    assert_eq!(purged["purged"], 2);
    assert_eq!(stack.dead_letters().await, 0);
}

#[tokio::test]
async fn system_and_dead_letter_requests_are_validated() {
    let stack = Stack::start(&[]).await;
    let verbose = json!({"verbose": true});
    let info = stack
        .admin
        .call::<_, Value>("system", "info", &verbose)
        .await;
    assert_eq!(
        error_code(info),
        "invalid_request",
        "system requests take no fields"
    );
    let too_many = json!({"limit": 501});
    let page = stack
        .admin
        .call::<_, Value>("dead-letters", "list", &too_many)
        .await;
    assert_eq!(error_code(page), "invalid_request");
    let empty = stack
        .admin
        .call_raw("system", "health", Vec::new())
        .await
        .unwrap();
    let health: Value = serde_json::from_slice(&empty).unwrap();
    assert_eq!(health["status"], "ok", "an empty body counts as {{}}");
}
