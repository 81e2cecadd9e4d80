//! The audit log: admin changes (and refused attempts at them) with the requester, and
//! security events found while delivering, read back per tenant with `audit.list`.

use std::time::Duration;

use hookwire_nats::admin::AdminClient;
use hookwire_testkit::Receiver;
use serde_json::{Value, json};

use crate::support::{Stack, WAIT, admin_for, test_send_as};

/// Waits until `admin`'s audit log, asked with `request`, holds at least `n` records.
async fn audit(admin: &AdminClient, request: Value, n: usize) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let page: Value = admin.call("audit", "list", &request).await.unwrap();
        let records = page["records"].as_array().cloned().unwrap_or_default();
        if records.len() >= n {
            return records;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} of {n} audit records: {page}",
            records.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn changes_refusals_and_security_events_are_audited_per_tenant() {
    let stack = Stack::start(&[]).await;
    let alice = admin_for(&stack.client, "default").with_requester("alice@ops-bastion");
    let receiver = Receiver::start().await;
    let created: Value = alice
        .call(
            "endpoints",
            "create",
            // A name, not an address: create accepts it, delivery resolves and blocks it.
            &json!({"url": receiver.url_for("/hook").replace("127.0.0.1", "localhost"),
                "status": "paused", "deny_networks": ["127.0.0.0/8"]}),
        )
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap();
    let _: Value = alice
        .call("endpoints", "get", &json!({"id": id}))
        .await
        .unwrap();
    let refused = alice
        .call::<_, Value>("endpoints", "update", &json!({"id": id, "timeout_ms": 1}))
        .await;
    assert!(refused.is_err());
    let _: Value = alice
        .call("endpoints", "rotate-secret", &json!({"id": id}))
        .await
        .unwrap();
    // The endpoint's own rules block its receiver: a security event, found by hookwired.
    let sent = test_send_as(&alice, &json!(id)).await;
    assert_eq!(sent["error"]["kind"], "blocked_destination");

    let records = audit(&alice, json!({}), 5).await;
    let summary: Vec<(String, String, String)> = records
        .iter()
        .map(|r| {
            (
                r["action"].as_str().unwrap().to_owned(),
                r["outcome"].as_str().unwrap().to_owned(),
                r["requester"]["source"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected = [
        ("endpoints.create", "ok", "declared"),
        ("endpoints.update", "invalid_request", "declared"),
        ("endpoints.rotate-secret", "ok", "declared"),
        ("delivery.blocked_destination", "failed", "system"),
        ("endpoints.test", "ok", "declared"),
    ];
    assert_eq!(
        summary,
        expected.map(|(a, o, s)| (a.to_owned(), o.to_owned(), s.to_owned())),
        "reads are not audited; each change is, in order"
    );
    assert!(
        records
            .iter()
            .all(|r| r["target"] == id && r["tenant"] == "default")
    );
    assert_eq!(records[0]["requester"]["name"], "alice@ops-bastion");
    assert!(
        records[1]["detail"]
            .as_str()
            .unwrap()
            .contains("timeout_ms"),
        "{}",
        records[1]
    );
    assert!(!records.iter().any(|r| r.to_string().contains("whsec_")));

    // Filters by action prefix and by target; other tenants see none of it.
    let updates = audit(&alice, json!({"action": "endpoints.update"}), 1).await;
    assert_eq!(updates.len(), 1);
    let deliveries = audit(&alice, json!({"action": "delivery"}), 1).await;
    assert_eq!(deliveries[0]["action"], "delivery.blocked_destination");
    let unrelated: Value = alice
        .call("audit", "list", &json!({"target": "ep_other"}))
        .await
        .unwrap();
    assert_eq!(unrelated["records"], json!([]));
    let other: Value = admin_for(&stack.client, "other")
        .call("audit", "list", &json!({}))
        .await
        .unwrap();
    assert_eq!(other["records"], json!([]));
    let bad = alice
        .call::<_, Value>("audit", "list", &json!({"action": "a b"}))
        .await;
    assert_eq!(crate::support::error_code(bad), "invalid_request");
}
