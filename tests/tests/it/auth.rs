//! Outgoing authentication: bearer, basic, OAuth 2.0 client credentials (a real token
//! endpoint on loopback) and mutual TLS against a receiver that requires client
//! certificates.

use base64::Engine as _;
use hookwire_testkit::{Receiver, Reply, ServerTls, TestCa};
use serde_json::{Value, json};

use crate::support::{Stack, WAIT, test_send};

fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

async fn update(stack: &Stack, spec: Value) -> Value {
    stack
        .admin
        .call("endpoints", "update", &spec)
        .await
        .unwrap()
}

#[tokio::test]
async fn bearer_and_basic_are_sent_never_shown_and_removable() {
    let stack = Stack::start(&[]).await;
    let receiver = Receiver::start().await;
    let endpoint = stack
        .endpoint(
            &receiver,
            json!({"auth": {"type": "bearer", "token": "t0ken-abc"}}),
        )
        .await;
    let id = endpoint["id"].as_str().unwrap();
    assert_eq!(endpoint["auth"], json!({"type": "bearer"}));
    assert!(!endpoint.to_string().contains("t0ken-abc"), "{endpoint}");
    // The verification challenge carried it too: a protected receiver can answer it.
    assert_eq!(
        receiver.challenges()[0].header("authorization"),
        Some("Bearer t0ken-abc")
    );

    stack
        .publish("orders.paid", &json!({}), Some("evt-bearer"))
        .await;
    let got = receiver.wait_for(1, WAIT).await;
    assert_eq!(got[0].header("authorization"), Some("Bearer t0ken-abc"));
    assert_eq!(got[0].verification, Some(Ok(())));

    let shown = update(
        &stack,
        json!({"id": id, "auth": {"type": "basic", "username": "hooks", "password": "pa:ss"}}),
    )
    .await;
    assert_eq!(shown["auth"], json!({"type": "basic", "username": "hooks"}));
    let attempt = test_send(&stack, &endpoint["id"]).await;
    assert_eq!(
        receiver.requests().last().unwrap().header("authorization"),
        Some(basic("hooks", "pa:ss").as_str())
    );
    // What is recorded of the attempt shows that credentials went, not what they were.
    assert_eq!(
        attempt["request_headers"]["authorization"], "<redacted>",
        "{attempt}"
    );

    let removed = update(&stack, json!({"id": id, "auth": null})).await;
    assert!(removed.get("auth").is_none(), "{removed}");
    test_send(&stack, &endpoint["id"]).await;
    assert_eq!(
        receiver.requests().last().unwrap().header("authorization"),
        None
    );
}

#[tokio::test]
async fn oauth2_tokens_are_fetched_once_cached_and_refreshed_after_a_401() {
    let stack = Stack::start(&[("HOOKWIRE__DELIVERY__RETRY_SCHEDULE_SECS", "[1, 1]")]).await;
    let authority = Receiver::start().await;
    let token = |value: &str| {
        Reply::ok().header("content-type", "application/json").body(
            &json!({"access_token": value, "token_type": "Bearer", "expires_in": 3600}).to_string(),
        )
    };
    authority.script([token("tok-1"), token("tok-2")]);
    let receiver = Receiver::start().await;
    let endpoint = stack
        .endpoint(
            &receiver,
            json!({"auth": {
                "type": "oauth2",
                "token_url": authority.url_for("/oauth/token"),
                "client_id": "hookwire client",
                "client_secret": "cl1ent-secret",
                "scope": "webhooks:write",
            }}),
        )
        .await;
    assert_eq!(endpoint["auth"]["type"], "oauth2");
    assert!(!endpoint.to_string().contains("cl1ent-secret"));

    for n in 0..3 {
        stack
            .publish("orders.paid", &json!({"n": n}), Some(&format!("evt-o{n}")))
            .await;
    }
    let got = receiver.wait_for(3, WAIT).await;
    assert!(
        got.iter()
            .all(|r| r.header("authorization") == Some("Bearer tok-1")),
        "{:?}",
        got.iter()
            .map(|r| r.header("authorization"))
            .collect::<Vec<_>>()
    );
    // One token for the challenge and all three deliveries.
    let asked = authority.requests();
    assert_eq!(asked.len(), 1, "the token is cached");
    let form: Vec<(String, String)> = url::form_urlencoded::parse(&asked[0].body)
        .into_owned()
        .collect();
    assert!(form.contains(&("grant_type".into(), "client_credentials".into())));
    assert!(form.contains(&("scope".into(), "webhooks:write".into())));
    assert_eq!(
        asked[0].header("authorization"),
        Some(basic("hookwire+client", "cl1ent-secret").as_str()),
        "client credentials go form-encoded in HTTP Basic"
    );

    // The receiver refuses the token: the retry fetches a new one.
    receiver.script([Reply::status(401)]);
    stack
        .publish("orders.paid", &json!({}), Some("evt-401"))
        .await;
    let got = receiver.wait_for(5, WAIT).await;
    assert_eq!(got[3].header("authorization"), Some("Bearer tok-1"));
    assert_eq!(got[4].header("authorization"), Some("Bearer tok-2"));
    assert_eq!(got[4].header("webhook-id"), Some("evt-401"));
    assert_eq!(authority.count(), 2);

    // A token endpoint that fails: nothing reaches the receiver, the attempt says why.
    authority.set_fallback(Reply::status(400).body(r#"{"error":"invalid_client"}"#));
    update(
        &stack,
        json!({"id": endpoint["id"], "auth": {
            "type": "oauth2",
            "token_url": authority.url_for("/oauth/token"),
            "client_id": "other",
            "client_secret": "wrong",
        }}),
    )
    .await;
    let attempt = test_send(&stack, &endpoint["id"]).await;
    assert_eq!(attempt["error"]["kind"], "auth", "{attempt}");
    let message = attempt["error"]["message"].as_str().unwrap();
    assert!(message.contains("invalid_client"), "{message}");
    assert_eq!(receiver.count(), 5);
}

#[tokio::test]
async fn mutual_tls_presents_the_configured_client_certificate() {
    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    let ca_path = dir.path().join("ca.pem");
    std::fs::write(&ca_path, ca.ca_pem()).unwrap();
    let stack = Stack::start(&[("HOOKWIRE__OUTBOUND__CA_FILE", ca_path.to_str().unwrap())]).await;
    let receiver = Receiver::start_tls(ca.server_config(ServerTls {
        require_client_cert: true,
        ..ServerTls::default()
    }))
    .await;
    let endpoint = stack.endpoint(&receiver, json!({"status": "paused"})).await;
    let without = test_send(&stack, &endpoint["id"]).await;
    assert_eq!(without["error"]["kind"], "tls", "{without}");

    let identity = ca.client_identity_pem("hookwire-client");
    let split = identity.find("-----BEGIN PRIVATE KEY-----").unwrap();
    let (certificate, private_key) = identity.split_at(split);
    let refused = stack
        .admin
        .call::<_, Value>(
            "endpoints",
            "update",
            &json!({"id": endpoint["id"], "client_certificate": {
                "certificate": certificate, "private_key": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}}),
        )
        .await;
    assert_eq!(
        crate::support::error_code(refused),
        "invalid_request",
        "a key that does not load is refused at update"
    );
    let shown = update(
        &stack,
        json!({"id": endpoint["id"], "client_certificate": {
            "certificate": certificate, "private_key": private_key}}),
    )
    .await;
    assert_eq!(
        shown["client_certificate"]["sha256"].as_str().map(str::len),
        Some(64),
        "{shown}"
    );
    assert!(!shown.to_string().contains("PRIVATE KEY"));
    let with = test_send(&stack, &endpoint["id"]).await;
    assert_eq!(with["response"]["status"], 200, "{with}");
    assert_eq!(receiver.count(), 1);
}
