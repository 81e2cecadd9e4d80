//! Outbound TLS: `https_only`, a custom CA bundle and the minimum TLS version, against real
//! HTTPS receivers with certificates from a CA made for the test.

use hookwire_protocol::admin::ErrorCode;
use hookwire_testkit::{Receiver, ServerTls, TestCa};
use serde_json::json;

use crate::support::{Stack, WAIT, refused_create, test_send};

/// Writes the CA's certificate where hookwired can read it.
fn ca_file(ca: &TestCa) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ca.pem");
    std::fs::write(&path, ca.ca_pem()).unwrap();
    let path = path.display().to_string();
    (dir, path)
}

#[tokio::test]
async fn https_only_refuses_http_and_delivers_through_a_custom_ca() {
    let ca = TestCa::new();
    let (_dir, path) = ca_file(&ca);
    let stack = Stack::start(&[
        ("HOOKWIRE__OUTBOUND__HTTPS_ONLY", "true"),
        ("HOOKWIRE__OUTBOUND__CA_FILE", &path),
    ])
    .await;

    let error = refused_create(&stack, &json!({"url": "http://example.com/"})).await;
    assert_eq!(error.code, ErrorCode::InvalidRequest);
    assert_eq!(error.field.as_deref(), Some("url"));
    assert!(error.message.contains("https_only"), "{}", error.message);

    let receiver = Receiver::start_tls(ca.server_config(ServerTls::default())).await;
    // Verification (the challenge) already went over TLS for the endpoint to be active.
    let endpoint = stack.endpoint(&receiver, json!({})).await;
    assert!(endpoint["url"].as_str().unwrap().starts_with("https://"));
    stack
        .publish("orders.paid", &json!({"n": 1}), Some("evt-tls"))
        .await;
    let requests = receiver.wait_for(1, WAIT).await;
    assert_eq!(requests[0].header("webhook-id"), Some("evt-tls"));
    assert_eq!(
        requests[0].verification,
        Some(Ok(())),
        "the signature did not verify"
    );
}

#[tokio::test]
async fn unknown_issuers_and_old_tls_versions_fail_as_tls_errors() {
    let ca = TestCa::new();
    let (_dir, path) = ca_file(&ca);
    let stack = Stack::start(&[
        ("HOOKWIRE__OUTBOUND__CA_FILE", &path),
        ("HOOKWIRE__OUTBOUND__MIN_TLS_VERSION", "\"1.3\""),
    ])
    .await;

    let trusted = Receiver::start_tls(ca.server_config(ServerTls::default())).await;
    let trusted_endpoint = stack.endpoint(&trusted, json!({"status": "paused"})).await;
    let sent = test_send(&stack, &trusted_endpoint["id"]).await;
    assert_eq!(sent["response"]["status"], 200, "{sent}");

    let stranger = TestCa::new();
    let untrusted = Receiver::start_tls(stranger.server_config(ServerTls::default())).await;
    let untrusted_endpoint = stack
        .endpoint(&untrusted, json!({"status": "paused"}))
        .await;
    let sent = test_send(&stack, &untrusted_endpoint["id"]).await;
    assert_eq!(sent["error"]["kind"], "tls", "{sent}");
    assert_eq!(untrusted.count(), 0);

    let old = Receiver::start_tls(ca.server_config(ServerTls {
        tls12_only: true,
        ..ServerTls::default()
    }))
    .await;
    let old_endpoint = stack.endpoint(&old, json!({"status": "paused"})).await;
    let sent = test_send(&stack, &old_endpoint["id"]).await;
    assert_eq!(sent["error"]["kind"], "tls", "{sent}");
    assert_eq!(old.count(), 0);
}
