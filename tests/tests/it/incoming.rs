//! Incoming webhooks end to end: sources created over the admin API, providers' requests
//! signed the way each provider signs them posted to the ingress, events read back from
//! NATS and JetStream.

use std::time::Duration;

use futures_util::StreamExt as _;
use hookwire_protocol::inbound::sign;
use hookwire_testkit::Receiver;
use serde_json::{Value, json};

use crate::support::{Stack, WAIT, error_code, interop, wait_for_type};

const EVENTS_STREAM: &str = "HOOKWIRE_EVENTS";

/// A source created from `spec`.
pub(crate) async fn source(stack: &Stack, spec: Value) -> Value {
    stack.admin.call("sources", "create", &spec).await.unwrap()
}

/// Posts `body` with `headers` to a source's path; returns the status, `Retry-After` and body.
pub(crate) async fn post(
    stack: &Stack,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, Option<String>, Value) {
    let client = hookwire_testkit::http_client().build().unwrap();
    let mut request = client
        .post(format!("{}{path}", stack.daemon.ingress_url()))
        .body(body.to_vec());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = response.bytes().await.unwrap();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, retry_after, body)
}

/// How many messages the events stream holds on `subject`.
pub(crate) async fn stored_on(stack: &Stack, subject: &str) -> usize {
    let js = async_nats::jetstream::new(stack.client.clone());
    let stream = js.get_stream(EVENTS_STREAM).await.unwrap();
    let mut subjects = stream.info_with_subjects(subject).await.unwrap();
    let mut count = 0;
    while let Some(entry) = subjects.next().await {
        count += entry.unwrap().1;
    }
    count
}

/// The status [`post`] gets.
pub(crate) async fn status_of(
    stack: &Stack,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> u16 {
    post(stack, path, headers, body).await.0
}

/// [`post`] with owned header values.
async fn post_pairs(stack: &Stack, path: &str, headers: &[(&str, String)], body: &[u8]) -> u16 {
    let refs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    status_of(stack, path, &refs, body).await
}

pub(crate) async fn stats(stack: &Stack, name: &str) -> Value {
    stack
        .admin
        .call("sources", "stats", &json!({"name": name}))
        .await
        .unwrap()
}

pub(crate) async fn next_message(subscriber: &mut async_nats::Subscriber) -> async_nats::Message {
    tokio::time::timeout(WAIT, subscriber.next())
        .await
        .expect("an event is published")
        .unwrap()
}

#[tokio::test]
async fn a_github_push_is_verified_published_once_delivered_and_recorded() {
    let stack = Stack::start(&[]).await;
    let secret = "github-webhook-secret-for-tests";
    let created = source(
        &stack,
        json!({"name": "github", "verification": {"scheme": "github"}, "secret": secret}),
    )
    .await;
    let path = created["path"].as_str().unwrap().to_owned();
    assert!(path.starts_with("/in/hwin_"), "{created}");
    assert!(
        created.get("secret").is_none(),
        "a given secret is not echoed"
    );
    assert_eq!(created["subject"], "hookwire.events.default.github");

    // A subscriber service and an outgoing endpoint for github pushes.
    let receiver = Receiver::start().await;
    stack
        .endpoint(&receiver, json!({"event_types": ["github.push"]}))
        .await;
    let mut subscriber = stack
        .client
        .subscribe("hookwire.events.default.github.>")
        .await
        .unwrap();
    stack.client.flush().await.unwrap();

    let body = br#"{"ref":"refs/heads/main","repository":{"full_name":"acme/app"}}"#;
    let signature = sign::github(secret, body);
    let headers = [
        ("content-type", "application/json"),
        ("x-github-event", "push"),
        ("x-github-delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"),
        ("x-hub-signature-256", signature.as_str()),
    ];
    let (status, _, answer) = post(&stack, &path, &headers, body).await;
    assert_eq!((status, answer), (200, json!({"accepted": true})));
    let message = next_message(&mut subscriber).await;
    assert_eq!(
        message.subject.as_str(),
        "hookwire.events.default.github.push"
    );
    assert_eq!(message.payload.as_ref(), body, "JSON is published as sent");
    let message_headers = message.headers.unwrap();
    assert_eq!(
        message_headers.get("Nats-Msg-Id").unwrap().as_str(),
        "github:72d3162e-cc78-11e3-81ab-4c9367dc0958"
    );
    assert_eq!(
        message_headers.get("Hookwire-Source").unwrap().as_str(),
        "github"
    );

    // GitHub's redelivery of the same delivery: accepted, not published again.
    let (status, _, answer) = post(&stack, &path, &headers, body).await;
    assert_eq!(
        (status, answer),
        (200, json!({"accepted": true, "duplicate": true}))
    );
    assert_eq!(
        stored_on(&stack, "hookwire.events.default.github.>").await,
        1
    );

    // The event reached the outgoing endpoint once, as event type github.push.
    let delivered = wait_for_type(&receiver, "github.push", 1).await;
    assert_eq!(delivered[0]["data"]["repository"]["full_name"], "acme/app");

    // Tampered, unsigned and wrongly keyed requests: 401 and nothing more said.
    let tampered = br#"{"ref":"refs/heads/evil","repository":{"full_name":"acme/app"}}"#;
    let (status, _, answer) = post(&stack, &path, &headers, tampered).await;
    assert_eq!((status, answer), (401, json!({"error": "unauthorized"})));
    let (status, _, _) = post(&stack, &path, &headers[..3], body).await;
    assert_eq!(status, 401);
    let wrong_key = sign::github("another-secret-entirely", body);
    let (status, _, _) = post(
        &stack,
        &path,
        &[
            ("x-github-event", "push"),
            ("x-hub-signature-256", &wrong_key),
        ],
        body,
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(
        stored_on(&stack, "hookwire.events.default.github.>").await,
        1
    );

    let counted = stats(&stack, "github").await;
    assert_eq!(counted["received"], 5, "{counted}");
    assert_eq!(counted["verified"], 2);
    assert_eq!(counted["published"], 1);
    assert_eq!(counted["duplicates"], 1);
    assert_eq!(counted["rejected"]["bad_signature"], 2);
    assert_eq!(counted["rejected"]["missing_signature"], 1);

    check_records(&stack, secret, &path).await;
}

/// The GitHub test's records: the metrics, the request log, the audit log, the sealed bucket
/// entry.
async fn check_records(stack: &Stack, secret: &str, path: &str) {
    let metrics = stack.metrics().await;
    for line in [
        r#"hookwire_ingress_requests_total{outcome="published"} 1"#,
        r#"hookwire_ingress_requests_total{outcome="bad_signature"} 2"#,
    ] {
        assert!(metrics.contains(line), "{line} in\n{metrics}");
    }
    // The request log, oldest first, with outcomes and body excerpts.
    let deadline = tokio::time::Instant::now() + WAIT;
    let log = loop {
        let page: Value = stack
            .admin
            .call("sources", "requests", &json!({"name": "github"}))
            .await
            .unwrap();
        if page["requests"].as_array().unwrap().len() == 5 || tokio::time::Instant::now() > deadline
        {
            break page;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let outcomes: Vec<&str> = log["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        [
            "published",
            "duplicate",
            "bad_signature",
            "missing_signature",
            "bad_signature"
        ]
    );
    let first = &log["requests"][0];
    assert_eq!(first["event_type"], "push");
    assert_eq!(first["status"], 200);
    assert_eq!(first["client"], "127.0.0.1");
    assert_eq!(first["headers"]["x-github-event"], "push");
    assert!(first["body_excerpt"].as_str().unwrap().contains("acme/app"));

    // Every failed verification is in the audit log.
    let audit: Value = stack
        .admin
        .call(
            "audit",
            "list",
            &json!({"action": "source.verification_failed"}),
        )
        .await
        .unwrap();
    let records = audit["records"].as_array().unwrap();
    assert_eq!(records.len(), 3, "{audit}");
    assert_eq!(records[0]["target"], "github");
    assert_eq!(records[0]["requester"]["source"], "system");

    // The bucket holds neither the secret nor the token in the clear.
    let kv = async_nats::jetstream::new(stack.client.clone())
        .get_key_value("HOOKWIRE_CONFIG")
        .await
        .unwrap();
    let stored = kv.get("sources.default.github").await.unwrap().unwrap();
    let stored = String::from_utf8_lossy(&stored);
    let token = path.trim_start_matches("/in/");
    assert!(stored.contains("x-github-event"), "positive control");
    assert!(!stored.contains(secret) && !stored.contains(token));
}

/// Each timestamped scheme takes its provider's signature and refuses a wrong or stale one.
#[tokio::test]
async fn timestamped_schemes_take_their_providers_signatures_and_refuse_others() {
    let stack = Stack::start(&[]).await;
    let mut subscriber = stack
        .client
        .subscribe("hookwire.events.default.>")
        .await
        .unwrap();
    stack.client.flush().await.unwrap();
    let now = chrono::Utc::now().timestamp();
    scheme_stripe(&stack, &mut subscriber, now).await;
    scheme_standard(&stack, &mut subscriber, now).await;
    scheme_slack(&stack, &mut subscriber, now).await;
}

/// Each shared-secret scheme (and none) takes its provider's request and refuses a wrong one.
#[tokio::test]
async fn shared_secret_schemes_take_their_providers_requests_and_refuse_others() {
    let stack = Stack::start(&[]).await;
    let mut subscriber = stack
        .client
        .subscribe("hookwire.events.default.>")
        .await
        .unwrap();
    stack.client.flush().await.unwrap();
    scheme_gitlab(&stack, &mut subscriber).await;
    scheme_shopify(&stack, &mut subscriber).await;
    scheme_generic_hmac(&stack, &mut subscriber).await;
    scheme_none(&stack, &mut subscriber).await;
}

/// Stripe, signed by Stripe's official library; a stale timestamp is refused.
async fn scheme_stripe(stack: &Stack, subscriber: &mut async_nats::Subscriber, now: i64) {
    let stripe_secret = "whsec_stripe_test_secret_value";
    let stripe = source(
        stack,
        json!({"name": "stripe", "verification": {"scheme": "stripe"}, "secret": stripe_secret}),
    )
    .await;
    let body = r#"{"id":"evt_1NG8Du2eZvKYlo2C","type":"payment_intent.succeeded","data":{"object":{"amount":2000}}}"#;
    let signed = |secret: &'static str, timestamp: i64| async move {
        let request = json!({"payload": body, "secret": secret, "timestamp": timestamp});
        interop("stripe_sign.py", &request).await
    };
    let header = signed(stripe_secret, now).await["header"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = stripe["path"].as_str().unwrap();
    let (status, _, _) = post(
        stack,
        path,
        &[("stripe-signature", &header)],
        body.as_bytes(),
    )
    .await;
    assert_eq!(status, 200);
    let message = next_message(subscriber).await;
    assert_eq!(
        message.subject.as_str(),
        "hookwire.events.default.stripe.payment_intent.succeeded"
    );
    assert_eq!(
        message
            .headers
            .unwrap()
            .get("Nats-Msg-Id")
            .unwrap()
            .as_str(),
        "stripe:evt_1NG8Du2eZvKYlo2C"
    );
    let other = signed("whsec_someone_else", now).await["header"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        status_of(
            stack,
            path,
            &[("stripe-signature", &other)],
            body.as_bytes()
        )
        .await,
        401
    );
    let stale = signed(stripe_secret, now - 600).await["header"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        status_of(
            stack,
            path,
            &[("stripe-signature", &stale)],
            body.as_bytes()
        )
        .await,
        401
    );
    assert_eq!(
        stats(stack, "stripe").await["rejected"]["stale_timestamp"],
        1
    );
}

/// Standard Webhooks, signed by the official library, with a generated secret.
async fn scheme_standard(stack: &Stack, subscriber: &mut async_nats::Subscriber, now: i64) {
    let standard = source(
        stack,
        json!({"name": "standard", "verification": {"scheme": "standard"}}),
    )
    .await;
    let whsec = standard["secret"]
        .as_str()
        .expect("a generated secret is shown once")
        .to_owned();
    assert!(whsec.starts_with("whsec_"));
    let body = r#"{"type":"user.created","data":{"id":"u1"}}"#;
    let sign_standard = |secret: String, timestamp: i64| async move {
        let signed = interop(
            "standardwebhooks_check.py",
            &json!({"op": "sign", "secret": secret, "id": "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", "timestamp": timestamp, "body": body}),
        )
        .await;
        signed["signature"].as_str().unwrap().to_owned()
    };
    let path = standard["path"].as_str().unwrap();
    let ts = now.to_string();
    let headers = |signature: String| {
        [
            ("webhook-id", "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W".to_owned()),
            ("webhook-timestamp", ts.clone()),
            ("webhook-signature", signature),
        ]
    };
    let good = sign_standard(whsec.clone(), now).await;
    assert_eq!(
        post_pairs(stack, path, &headers(good), body.as_bytes()).await,
        200
    );
    let message = next_message(subscriber).await;
    assert_eq!(
        message.subject.as_str(),
        "hookwire.events.default.standard.user.created"
    );
    let forged = sign_standard(hookwire_protocol::Secret::generate().expose(), now).await;
    assert_eq!(
        post_pairs(stack, path, &headers(forged), body.as_bytes()).await,
        401
    );
}

/// GitLab: the secret token in `X-Gitlab-Token`.
async fn scheme_gitlab(stack: &Stack, subscriber: &mut async_nats::Subscriber) {
    let gitlab = source(stack, json!({"name": "gitlab", "verification": {"scheme": "gitlab"}, "secret": "gitlab-secret-token-value"})).await;
    let path = gitlab["path"].as_str().unwrap();
    let body = br#"{"object_kind":"push","ref":"refs/heads/main"}"#;
    let gitlab_headers = |token| {
        [
            ("x-gitlab-event", "Push Hook"),
            ("x-gitlab-event-uuid", "2b7c3f6e-1a"),
            ("x-gitlab-token", token),
        ]
    };
    assert_eq!(
        status_of(
            stack,
            path,
            &gitlab_headers("gitlab-secret-token-value"),
            body
        )
        .await,
        200
    );
    assert_eq!(
        next_message(subscriber).await.subject.as_str(),
        "hookwire.events.default.gitlab.Push.Hook"
    );
    assert_eq!(
        status_of(
            stack,
            path,
            &gitlab_headers("gitlab-secret-token-valuX"),
            body
        )
        .await,
        401
    );
}

/// Shopify: a base64 HMAC of the body.
async fn scheme_shopify(stack: &Stack, subscriber: &mut async_nats::Subscriber) {
    let shopify_secret = "shopify-app-client-secret";
    let shopify = source(
        stack,
        json!({"name": "shopify", "verification": {"scheme": "shopify"}, "secret": shopify_secret}),
    )
    .await;
    let path = shopify["path"].as_str().unwrap();
    let body = br#"{"id":820982911946154508,"email":"jon@example.com"}"#;
    let mac = sign::shopify(shopify_secret, body);
    let shopify_headers = |mac| {
        [
            ("x-shopify-topic", "orders/create"),
            ("x-shopify-webhook-id", "b54557e4"),
            ("x-shopify-hmac-sha256", mac),
        ]
    };
    assert_eq!(
        status_of(stack, path, &shopify_headers(&mac), body).await,
        200
    );
    assert_eq!(
        next_message(subscriber).await.subject.as_str(),
        "hookwire.events.default.shopify.orders.create"
    );
    let wrong = sign::shopify("not-the-shopify-secret", body);
    assert_eq!(
        status_of(stack, path, &shopify_headers(&wrong), body).await,
        401
    );
}

/// Slack: a v0 signature over the timestamp and body; a replay is refused.
async fn scheme_slack(stack: &Stack, subscriber: &mut async_nats::Subscriber, now: i64) {
    let ts = now.to_string();
    let slack_secret = "8f742231b10e8888abcd99yyyzzz85a5";
    let created = source(
        stack,
        json!({"name": "slack", "verification": {"scheme": "slack"}, "secret": slack_secret}),
    )
    .await;
    let path = created["path"].as_str().unwrap();
    let body = br#"{"type":"event_callback","event_id":"Ev08MFMKH6","event":{"type":"app_mention","text":"hi"}}"#;
    let slack_headers = |ts: String, signature: String| {
        [
            ("x-slack-request-timestamp", ts),
            ("x-slack-signature", signature),
        ]
    };
    let good = sign::slack(slack_secret, now, body);
    assert_eq!(
        post_pairs(stack, path, &slack_headers(ts.clone(), good), body).await,
        200
    );
    assert_eq!(
        next_message(subscriber).await.subject.as_str(),
        "hookwire.events.default.slack.app_mention"
    );
    let replayed = sign::slack(slack_secret, now - 400, body);
    let old = (now - 400).to_string();
    assert_eq!(
        post_pairs(stack, path, &slack_headers(old, replayed), body).await,
        401
    );
    assert_eq!(
        stats(stack, "slack").await["rejected"]["stale_timestamp"],
        1
    );
}

/// Generic HMAC: SHA-1, hex, with a prefix; a fixed type; a text body wrapped.
async fn scheme_generic_hmac(stack: &Stack, subscriber: &mut async_nats::Subscriber) {
    let hmac_secret = "generic-provider-secret";
    let generic = source(stack, json!({
        "name": "legacy",
        "verification": {"scheme": "hmac", "header": "X-Signature", "algorithm": "sha1", "encoding": "hex", "prefix": "sha1="},
        "secret": hmac_secret,
        "type_from": {"fixed": "ping"}
    })).await;
    let path = generic["path"].as_str().unwrap();
    let body = b"plain text payload";
    let signature = format!("sha1={}", sign::hmac_sha1_hex(hmac_secret, body));
    assert_eq!(
        status_of(
            stack,
            path,
            &[("content-type", "text/plain"), ("x-signature", &signature)],
            body
        )
        .await,
        200
    );
    let message = next_message(subscriber).await;
    assert_eq!(
        message.subject.as_str(),
        "hookwire.events.default.legacy.ping"
    );
    let wrapped: Value = serde_json::from_slice(&message.payload).unwrap();
    assert_eq!(
        wrapped,
        json!({"content_type": "text/plain", "body": "plain text payload"})
    );
    let bad = format!("sha1={}", sign::hmac_sha1_hex("wrong-generic-secret", body));
    assert_eq!(
        status_of(stack, path, &[("x-signature", &bad)], body).await,
        401
    );
}

/// None: the token alone.
async fn scheme_none(stack: &Stack, subscriber: &mut async_nats::Subscriber) {
    let open = source(stack, json!({"name": "open"})).await;
    let (status, _, _) = post(
        stack,
        open["path"].as_str().unwrap(),
        &[],
        br#"{"type":"note.added"}"#,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        next_message(subscriber).await.subject.as_str(),
        "hookwire.events.default.open.note.added"
    );
}

#[tokio::test]
async fn gates_refuse_unknown_tokens_other_networks_over_limit_rates_and_large_bodies() {
    let stack = Stack::start(&[]).await;
    let client = hookwire_testkit::http_client().build().unwrap();
    let base = stack.daemon.ingress_url();
    assert_eq!(
        client
            .post(format!("{base}/in/hwin_nosuchtoken"))
            .body("{}")
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let health = client.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);

    let created = source(&stack, json!({"name": "gated", "allowed_networks": ["10.0.0.0/8"], "rate_limit_per_minute": 3, "max_body_bytes": 100})).await;
    let path = created["path"].as_str().unwrap().to_owned();
    assert_eq!(
        client
            .get(format!("{base}{path}"))
            .send()
            .await
            .unwrap()
            .status(),
        405
    );
    let (status, _, answer) = post(&stack, &path, &[], b"{}").await;
    assert_eq!(
        (status, answer),
        (403, json!({"error": "forbidden"})),
        "127.0.0.1 is outside 10.0.0.0/8"
    );

    stack
        .admin
        .call::<_, Value>(
            "sources",
            "update",
            &json!({"name": "gated", "allowed_networks": ["127.0.0.1"]}),
        )
        .await
        .unwrap();
    assert_eq!(status_of(&stack, &path, &[], &[b' '; 200]).await, 413);
    for _ in 0..2 {
        assert_eq!(status_of(&stack, &path, &[], b"{}").await, 200);
    }
    let (status, retry_after, _) = post(&stack, &path, &[], b"{}").await;
    assert_eq!(
        status, 429,
        "three per minute: the 413 counted, so the fourth is over"
    );
    assert!(retry_after.is_some());

    stack
        .admin
        .call::<_, Value>(
            "sources",
            "update",
            &json!({"name": "gated", "active": false, "rate_limit_per_minute": 100}),
        )
        .await
        .unwrap();
    assert_eq!(status_of(&stack, &path, &[], b"{}").await, 403);

    let counted = stats(&stack, "gated").await;
    assert_eq!(counted["rejected"]["ip_not_allowed"], 1, "{counted}");
    assert_eq!(counted["rejected"]["too_large"], 1);
    assert_eq!(counted["rejected"]["rate_limited"], 1);
    assert_eq!(counted["rejected"]["inactive"], 1);

    // A new token: the old URL stops working, the new one works.
    stack
        .admin
        .call::<_, Value>(
            "sources",
            "update",
            &json!({"name": "gated", "active": true}),
        )
        .await
        .unwrap();
    let rotated: Value = stack
        .admin
        .call("sources", "rotate-token", &json!({"name": "gated"}))
        .await
        .unwrap();
    let new_path = rotated["path"].as_str().unwrap();
    assert_ne!(new_path, path);
    assert_eq!(status_of(&stack, &path, &[], b"{}").await, 404);
    assert_eq!(status_of(&stack, new_path, &[], b"{}").await, 200);
    stack
        .admin
        .call::<_, Value>("sources", "delete", &json!({"name": "gated"}))
        .await
        .unwrap();
    assert_eq!(status_of(&stack, new_path, &[], b"{}").await, 404);
    assert_eq!(
        error_code(
            stack
                .admin
                .call("sources", "get", &json!({"name": "gated"}))
                .await
        ),
        "not_found"
    );
}

#[tokio::test]
async fn transforms_shape_the_payload_are_checked_at_save_and_fail_softly_at_run_time() {
    let stack = Stack::start(&[]).await;
    let refused = stack
        .admin
        .call(
            "sources",
            "create",
            &json!({"name": "t", "transform": "{{ body.a "}),
        )
        .await;
    assert_eq!(error_code(refused), "invalid_request");

    let template = r#"{"repo": {{ body.repository.full_name }}, "by": {{ headers["x-user"] }}, "env": {{ query.env }}, "kind": {{ event_type }}}"#;
    source(
        &stack,
        json!({"name": "t", "transform": template, "type_from": {"field": "/action"}}),
    )
    .await;
    let tested: Value = stack
        .admin
        .call("sources", "test", &json!({"name": "t", "body": {"action": "opened", "repository": {"full_name": "acme/app"}}, "headers": {"X-User": "ada"}, "query": {"env": "prod"}}))
        .await
        .unwrap();
    assert_eq!(tested["subject"], "hookwire.events.default.t.opened");
    assert_eq!(
        tested["payload"],
        json!({"repo": "acme/app", "by": "ada", "env": "prod", "kind": "opened"})
    );
    let draft = stack
        .admin
        .call("sources", "test", &json!({"name": "t", "body": {"action": "x"}, "transform": "{{ body | safe }} trailing"}))
        .await;
    assert_eq!(
        error_code(draft),
        "invalid_request",
        "a draft template is tried, not saved"
    );

    let view: Value = stack
        .admin
        .call("sources", "get", &json!({"name": "t"}))
        .await
        .unwrap();
    let path = view["path"].as_str().unwrap();
    let mut subscriber = stack
        .client
        .subscribe("hookwire.events.default.t.>")
        .await
        .unwrap();
    stack.client.flush().await.unwrap();
    let (status, _, _) = post(
        &stack,
        &format!("{path}?env=staging"),
        &[("content-type", "application/json"), ("x-user", "bob")],
        br#"{"action": "closed", "repository": {"full_name": "acme/\"quoted\""}}"#,
    )
    .await;
    assert_eq!(status, 200);
    let message = next_message(&mut subscriber).await;
    assert_eq!(message.subject.as_str(), "hookwire.events.default.t.closed");
    let payload: Value = serde_json::from_slice(&message.payload).unwrap();
    assert_eq!(
        payload,
        json!({"repo": "acme/\"quoted\"", "by": "bob", "env": "staging", "kind": "closed"})
    );

    // A template that yields something other than JSON for some input: 500, recorded, and the
    // ingress keeps serving.
    stack
        .admin
        .call::<_, Value>(
            "sources",
            "update",
            &json!({"name": "t", "transform": "{{ body.text | safe }}"}),
        )
        .await
        .unwrap();
    let (status, _, answer) = post(&stack, path, &[], br#"{"text": "not json"}"#).await;
    assert_eq!(
        (status, answer),
        (500, json!({"error": "cannot process this webhook"}))
    );
    assert_eq!(
        status_of(&stack, path, &[], br#"{"text": "[1, 2]"}"#).await,
        200
    );
    assert_eq!(stats(&stack, "t").await["rejected"]["transform_failed"], 1);
}

#[tokio::test]
async fn a_broker_outage_answers_503_and_the_providers_retry_is_published_once() {
    let mut stack = Stack::start(&[]).await;
    let secret = "outage-test-github-secret";
    let created = source(
        &stack,
        json!({"name": "gh", "verification": {"scheme": "github"}, "secret": secret}),
    )
    .await;
    let path = created["path"].as_str().unwrap().to_owned();
    let body = br#"{"zen":"Keep it logically awesome."}"#;
    let signature = sign::github(secret, body);
    let headers = [
        ("x-github-event", "ping"),
        ("x-github-delivery", "d-outage-1"),
        ("x-hub-signature-256", signature.as_str()),
    ];

    stack.server.stop();
    let (status, retry_after, _) = post(&stack, &path, &headers, body).await;
    assert_eq!(status, 503);
    assert!(retry_after.is_some(), "the provider is told when to retry");
    let client = hookwire_testkit::http_client().build().unwrap();
    let health = client
        .get(format!("{}/healthz", stack.daemon.ingress_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 503);

    stack.server.start_again().await;
    // The provider retries until it is accepted.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (status, _, _) = post(&stack, &path, &headers, body).await;
        if status == 200 {
            break;
        }
        assert_eq!(status, 503);
        assert!(
            tokio::time::Instant::now() < deadline,
            "never accepted after the broker came back"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let client = stack.server.client().await;
    stack.client = client;
    assert_eq!(
        stored_on(&stack, "hookwire.events.default.gh.ping").await,
        1,
        "published exactly once"
    );
}

#[tokio::test]
async fn the_ingress_serves_https_natively_and_cuts_off_slow_clients() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    let ca = hookwire_testkit::TestCa::new();
    let (cert, key) = ca.server_pem();
    let dir = tempfile::tempdir().unwrap();
    let (cert_file, key_file) = (
        dir.path().join("ingress.crt"),
        dir.path().join("ingress.key"),
    );
    std::fs::write(&cert_file, cert).unwrap();
    std::fs::write(&key_file, key).unwrap();
    let stack = Stack::start(&[
        (
            "HOOKWIRE__INGRESS__TLS_CERT_FILE",
            cert_file.to_str().unwrap(),
        ),
        (
            "HOOKWIRE__INGRESS__TLS_KEY_FILE",
            key_file.to_str().unwrap(),
        ),
        ("HOOKWIRE__INGRESS__HEADER_TIMEOUT_SECS", "1"),
    ])
    .await;
    let created = source(&stack, json!({"name": "tls"})).await;
    let base = stack.daemon.ingress_url().replace("http://", "https://");
    let client = hookwire_testkit::http_client()
        .add_root_certificate(reqwest::Certificate::from_pem(ca.ca_pem().as_bytes()).unwrap())
        .build()
        .unwrap();
    let response = client
        .post(format!("{base}{}", created["path"].as_str().unwrap()))
        .body(r#"{"type":"over.tls"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let plain = hookwire_testkit::http_client()
        .build()
        .unwrap()
        .get(format!("{}/healthz", stack.daemon.ingress_url()))
        .send()
        .await;
    assert!(
        plain.is_err() || !plain.unwrap().status().is_success(),
        "plain HTTP is not served"
    );

    // A client that starts a request and never finishes its headers is disconnected (over
    // TLS the handshake itself must finish within the header timeout too).
    let address = stack.daemon.ingress_url().replace("http://", "");
    let mut slow = tokio::net::TcpStream::connect(&address).await.unwrap();
    slow.write_all(b"\x16\x03\x01").await.unwrap();
    let mut buffer = [0_u8; 64];
    let read = tokio::time::timeout(Duration::from_secs(10), slow.read(&mut buffer))
        .await
        .expect("the ingress closes a stalled connection, not waits forever");
    assert!(matches!(read, Ok(0) | Err(_)), "closed: {read:?}");
}

#[tokio::test]
async fn slow_headers_are_cut_off_on_plain_http() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    let stack = Stack::start(&[("HOOKWIRE__INGRESS__HEADER_TIMEOUT_SECS", "1")]).await;
    let address = stack.daemon.ingress_url().replace("http://", "");
    let mut slow = tokio::net::TcpStream::connect(&address).await.unwrap();
    slow.write_all(b"POST /in/hwin_x HTTP/1.1\r\nHost: a\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    // Either an error or the end of the stream: the connection is over.
    let _closed = tokio::time::timeout(Duration::from_secs(10), slow.read_to_end(&mut answer))
        .await
        .expect("the ingress gives up on slow headers");
    let text = String::from_utf8_lossy(&answer);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 408"),
        "{text}"
    );
}
