//! Compression: an endpoint's large bodies go gzip-compressed; the signature covers the
//! uncompressed body, so a receiver whose framework decompresses verifies it with the
//! official Standard Webhooks library.

use hookwire_protocol::Secret;
use hookwire_testkit::Receiver;
use serde_json::{Value, json};

use crate::support::{Stack, WAIT, interop};

#[tokio::test]
async fn large_bodies_go_gzipped_and_verify_with_the_official_library_after_decompression() {
    let stack = Stack::start(&[]).await;
    let receiver = Receiver::start().await;
    let secret = Secret::generate();
    receiver.set_secrets(vec![secret.clone()]);
    let created: Value = stack
        .admin
        .call(
            "endpoints",
            "create",
            &json!({"url": receiver.url_for("/hook"), "secret": secret.expose(),
                    "compression": {"min_bytes": 512}}),
        )
        .await
        .unwrap();
    assert_eq!(created["compression"], json!({"min_bytes": 512}));
    stack
        .wait_for_state(created["id"].as_str().unwrap(), "active")
        .await;

    stack
        .publish("notes.small", &json!({"text": "short"}), Some("small-1"))
        .await;
    let long_text = "the same words again and again ".repeat(100);
    stack
        .publish("notes.large", &json!({"text": long_text}), Some("large-1"))
        .await;
    let got = receiver.wait_for(2, WAIT).await;
    let by_id = |id: &str| {
        got.iter()
            .find(|r| r.header("webhook-id") == Some(id))
            .unwrap_or_else(|| panic!("{id} not received"))
    };

    let small = by_id("small-1");
    assert_eq!(
        small.header("content-encoding"),
        None,
        "below the threshold"
    );
    assert_eq!(small.wire_bytes, small.body.len());

    let large = by_id("large-1");
    assert_eq!(large.header("content-encoding"), Some("gzip"));
    assert!(
        large.wire_bytes * 4 < large.body.len(),
        "{} bytes on the wire for {}",
        large.wire_bytes,
        large.body.len()
    );
    assert_eq!(large.json()["data"]["text"], long_text.as_str());
    assert_eq!(
        large.verification,
        Some(Ok(())),
        "our verifier, decompressed body"
    );
    let official = interop(
        "standardwebhooks_check.py",
        &json!({
            "op": "verify",
            "secret": secret.expose(),
            "headers": {
                "webhook-id": large.header("webhook-id"),
                "webhook-timestamp": large.header("webhook-timestamp"),
                "webhook-signature": large.header("webhook-signature"),
            },
            "body": String::from_utf8(large.body.to_vec()).unwrap(),
        }),
    )
    .await;
    assert_eq!(official["ok"], true, "{official}");

    // Removing it sends bodies as they are again.
    let updated: Value = stack
        .admin
        .call(
            "endpoints",
            "update",
            &json!({"id": created["id"], "compression": null}),
        )
        .await
        .unwrap();
    assert!(updated.get("compression").is_none(), "{updated}");
    stack
        .publish("notes.large", &json!({"text": long_text}), Some("large-2"))
        .await;
    let got = receiver.wait_for(3, WAIT).await;
    let plain = got
        .iter()
        .find(|r| r.header("webhook-id") == Some("large-2"))
        .unwrap();
    assert_eq!(plain.header("content-encoding"), None);
}
