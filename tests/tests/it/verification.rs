//! Subscription verification: endpoints start pending, receive nothing until their receiver
//! answers the signed challenge, and then get every event held meanwhile.

use std::collections::HashSet;
use std::time::Duration;

use hookwire_protocol::Secret;
use hookwire_testkit::Receiver;
use serde_json::{Value, json};

use crate::support::{Stack, WAIT};

const FAST: &[(&str, &str)] = &[("HOOKWIRE__DELIVERY__RETRY_TIERS_SECS", "[1]")];
const HELD: usize = 20;

async fn create(stack: &Stack, receiver: &Receiver, extra: Value) -> (String, Secret) {
    // The challenge may arrive before the reply: the receiver knows the secret first.
    let secret = Secret::generate();
    receiver.set_secrets(vec![secret.clone()]);
    let mut spec = extra;
    spec["url"] = json!(receiver.url_for("/hook"));
    spec["secret"] = json!(secret.expose());
    let created: Value = stack
        .admin
        .call("endpoints", "create", &spec)
        .await
        .unwrap();
    assert_eq!(created["status"]["state"], "pending_verification");
    (created["id"].as_str().unwrap().to_owned(), secret)
}

fn event_ids(receiver: &Receiver) -> HashSet<String> {
    receiver
        .requests()
        .iter()
        .map(|r| r.header("webhook-id").unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn only_receivers_that_echo_the_challenge_get_events_and_they_get_all_held_ones() {
    let stack = Stack::start(FAST).await;
    let echoing = Receiver::start().await;
    let silent = Receiver::start().await;
    silent.ignore_challenges();
    let (echoing_id, _) = create(&stack, &echoing, json!({})).await;
    let (silent_id, _) = create(&stack, &silent, json!({})).await;
    let published: HashSet<String> = (0..HELD).map(|i| format!("evt-held-{i}")).collect();
    for id in &published {
        stack.publish("orders.paid", &json!({}), Some(id)).await;
    }

    echoing.wait_for(HELD, WAIT).await;
    assert_eq!(event_ids(&echoing), published);
    let challenge = &echoing.challenges()[0];
    assert_eq!(
        challenge.verification,
        Some(Ok(())),
        "challenges are signed"
    );
    assert_eq!(challenge.json()["data"]["endpoint_id"], echoing_id);
    assert!(
        echoing
            .requests()
            .iter()
            .all(|r| r.verification == Some(Ok(())))
    );

    let silent_now = stack
        .wait_for_state(&silent_id, "pending_verification")
        .await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while stack.get_endpoint(&silent_id).await["status"]["last_error"].is_null() {
        assert!(tokio::time::Instant::now() < deadline, "{silent_now}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let report: Value = stack
        .admin
        .call("endpoints", "verify", &json!({"id": silent_id}))
        .await
        .unwrap();
    assert_eq!(report["verified"], false);
    assert!(
        report["error"].as_str().unwrap().contains("challenge"),
        "{report}"
    );
    assert_eq!(
        report["endpoint"]["status"]["state"],
        "pending_verification"
    );
    assert!(silent.challenges().len() >= 2);
    assert_eq!(silent.count(), 0, "an unverified receiver got an event");

    // Opting out of the echo: a plain 2xx now verifies, and the held events follow.
    let updated: Value = stack
        .admin
        .call(
            "endpoints",
            "update",
            &json!({"id": silent_id, "verification": "status"}),
        )
        .await
        .unwrap();
    assert_eq!(updated["verification"], "status");
    stack.wait_for_state(&silent_id, "active").await;
    silent.wait_for(HELD, WAIT).await;
    assert_eq!(event_ids(&silent), published);
}

#[tokio::test]
async fn a_new_url_is_verified_before_it_gets_events() {
    let stack = Stack::start(FAST).await;
    let first = Receiver::start().await;
    let endpoint = stack.endpoint(&first, json!({})).await;
    let id = endpoint["id"].as_str().unwrap();
    let second = Receiver::start().await;
    second.ignore_challenges();
    let moved: Value = stack
        .admin
        .call(
            "endpoints",
            "update",
            &json!({"id": id, "url": second.url_for("/hook")}),
        )
        .await
        .unwrap();
    assert_eq!(moved["status"]["state"], "pending_verification");
    assert!(moved["verified_at"].is_null());
    stack
        .publish("a.b", &json!({}), Some("evt-after-move"))
        .await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while second.challenges().is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "no challenge sent");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let report: Value = stack
        .admin
        .call("endpoints", "verify", &json!({"id": id}))
        .await
        .unwrap();
    assert_eq!(report["verified"], false);
    assert_eq!(second.count(), 0);
    assert_eq!(first.count(), 0, "the old URL got an event after the move");

    // Bad input: verify names an endpoint that does not exist.
    let missing = stack
        .admin
        .call::<_, Value>("endpoints", "verify", &json!({"id": "nope"}))
        .await;
    assert_eq!(crate::support::error_code(missing), "not_found");
}
