//! Secrets at rest: signing secrets and credentials never reach the redb file or the NATS
//! store in plaintext, and the sealing key rotates without losing an endpoint.

use std::path::Path;

use base64::Engine as _;
use hookwire_testkit::Receiver;
use serde_json::{Value, json};

use crate::support::{Stack, WAIT, test_send};

/// Every file under `dir`, read whole.
fn files_under(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_owned()];
    while let Some(next) = pending.pop() {
        for entry in std::fs::read_dir(&next).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                found.push((path.display().to_string(), bytes));
            }
        }
    }
    found
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn no_secret_or_credential_is_stored_in_plaintext() {
    let mut stack = Stack::start(&[]).await;
    let receiver = Receiver::start().await;
    let created = stack
        .endpoint(
            &receiver,
            json!({"auth": {"type": "basic", "username": "hooks", "password": "pw-at-rest-5521"}}),
        )
        .await;
    let secret = created["secret"].as_str().unwrap().to_owned();
    let url = created["url"].as_str().unwrap().to_owned();
    stack
        .publish("orders.paid", &json!({"n": 1}), Some("evt-rest"))
        .await;
    receiver.wait_for(1, WAIT).await;
    let attempt = test_send(&stack, &created["id"]).await;
    assert_eq!(attempt["response"]["status"], 200);
    // Wait for the index to hold the delivery, then stop so everything is on disk.
    let deadline = tokio::time::Instant::now() + WAIT;
    while stack
        .admin
        .call::<_, Value>(
            "deliveries",
            "get",
            &json!({"endpoint_id": created["id"], "event_id": "evt-rest"}),
        )
        .await
        .is_err()
    {
        assert!(tokio::time::Instant::now() < deadline, "never indexed");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(stack.daemon.terminate().await);

    let key_bytes = secret.strip_prefix("whsec_").unwrap();
    let raw_key = base64::engine::general_purpose::STANDARD
        .decode(key_bytes)
        .unwrap();
    let basic = base64::engine::general_purpose::STANDARD.encode("hooks:pw-at-rest-5521");
    let redb = stack.daemon.data_dir().join("hookwired.redb");
    let mut files = vec![(redb.display().to_string(), std::fs::read(&redb).unwrap())];
    files.extend(files_under(&stack.server.store_dir()));
    // The files hold the endpoint in readable form (the search reads the right bytes) ...
    for place in ["hookwired.redb", "CONFIG"] {
        assert!(
            files
                .iter()
                .any(|(path, bytes)| path.contains(place) && contains(bytes, &url)),
            "the endpoint's URL is not in {place}: the search would prove nothing"
        );
    }
    // ... and none of its secrets.
    for (path, bytes) in &files {
        for needle in [key_bytes, "pw-at-rest-5521", basic.as_str()] {
            assert!(!contains(bytes, needle), "{needle} is readable in {path}");
        }
        assert!(
            !bytes.windows(raw_key.len()).any(|w| w == raw_key),
            "the raw signing key is in {path}"
        );
    }
}

/// The sealed form of endpoint `id` as the configuration bucket holds it.
async fn sealed_key(stack: &Stack, id: &str) -> String {
    let js = async_nats::jetstream::new(stack.client.clone());
    let bucket = js.get_key_value("HOOKWIRE_CONFIG").await.unwrap();
    let value = bucket
        .get(format!("endpoints.default.{id}"))
        .await
        .unwrap()
        .unwrap();
    let stored: Value = serde_json::from_slice(&value).unwrap();
    assert!(
        stored.get("secrets").is_none(),
        "secrets stored in the clear"
    );
    stored["sealed"]["key"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_sealing_key_rotates_without_losing_an_endpoint() {
    let key = |byte: u8| base64::engine::general_purpose::STANDARD.encode([byte; 32]);
    let (old, new, stranger) = (key(1), key(2), key(3));
    let mut stack = Stack::start(&[("HOOKWIRE__SECRETS__KEY", &old)]).await;
    let receiver = Receiver::start().await;
    let created = stack.endpoint(&receiver, json!({})).await;
    let id = created["id"].as_str().unwrap();
    let sealed_before = sealed_key(&stack, id).await;

    // Rotate: the new key seals, the old one still opens until everything is resealed.
    assert!(stack.daemon.terminate().await);
    stack.daemon.set_env("HOOKWIRE__SECRETS__KEY", &new);
    stack
        .daemon
        .set_env("HOOKWIRE__SECRETS__PREVIOUS_KEYS", &format!("[\"{old}\"]"));
    stack.daemon.start_again().await;
    stack
        .publish("orders.paid", &json!({}), Some("evt-rotated"))
        .await;
    let got = receiver.wait_for(1, WAIT).await;
    assert_eq!(
        got[0].verification,
        Some(Ok(())),
        "signed with the same secret"
    );
    let deadline = tokio::time::Instant::now() + WAIT;
    while sealed_key(&stack, id).await == sealed_before {
        assert!(tokio::time::Instant::now() < deadline, "never resealed");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    // The old key can go now.
    assert!(stack.daemon.terminate().await);
    stack
        .daemon
        .set_env("HOOKWIRE__SECRETS__PREVIOUS_KEYS", "[]");
    stack.daemon.start_again().await;
    stack
        .publish("orders.paid", &json!({}), Some("evt-new-key"))
        .await;
    let got = receiver.wait_for(2, WAIT).await;
    assert_eq!(got[1].verification, Some(Ok(())));

    // A key that opens nothing stops the start with the reason, instead of serving
    // without the endpoint (whose events would be lost).
    assert!(stack.daemon.terminate().await);
    stack.daemon.set_env("HOOKWIRE__SECRETS__KEY", &stranger);
    let failed = stack
        .daemon
        .try_start_again()
        .await
        .expect_err("started with a key that opens nothing");
    assert!(
        failed.contains("secrets do not open") && failed.contains("sealed under secrets key"),
        "{failed}"
    );
}
