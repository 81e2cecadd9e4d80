//! Stripe-style and GitHub-style signatures on real deliveries, checked by independent
//! implementations (Stripe's official library; GitHub's documented computation in Python),
//! before and during a secret rotation; `v1a` (ed25519) with keys fetched from the tenant's key
//! document and verified with Python's `cryptography` as the specification describes.

use hookwire_testkit::{Receiver, Recorded};
use serde_json::{Value, json};

use crate::support::{Stack, WAIT, interop, refused_create};

/// Publishes one event and returns the webhook the receiver got for it.
async fn deliver(stack: &Stack, receiver: &Receiver, event_id: &str) -> Recorded {
    let before = receiver.count();
    stack
        .publish(
            "orders.paid",
            &json!({"id": event_id, "text": "héllo"}),
            Some(event_id),
        )
        .await;
    let requests = receiver.wait_for(before + 1, WAIT).await;
    requests
        .into_iter()
        .find(|r| r.header("webhook-id") == Some(event_id))
        .expect("the event's webhook")
}

async fn rotate(stack: &Stack, id: &Value) -> String {
    let rotated: Value = stack
        .admin
        .call("endpoints", "rotate-secret", &json!({"id": id}))
        .await
        .unwrap();
    rotated["secret"].as_str().unwrap().to_owned()
}

/// Rotates `id`'s secret with no grace period: only the new secret (and its key) is live.
async fn rotate_ending_grace(stack: &Stack, id: &Value) -> String {
    let rotated: Value = stack
        .admin
        .call(
            "endpoints",
            "rotate-secret",
            &json!({"id": id, "grace_secs": 0}),
        )
        .await
        .unwrap();
    rotated["secret"].as_str().unwrap().to_owned()
}

async fn stripe_check(secret: &str, header: &str, body: &str) -> Value {
    interop(
        "schemes_check.py",
        &json!({"scheme": "stripe", "secret": secret, "header": header, "body": body}),
    )
    .await
}

async fn github_check(secret: &str, values: &[String], body: &str) -> Value {
    interop(
        "schemes_check.py",
        &json!({"scheme": "github", "secret": secret, "values": values, "body": body}),
    )
    .await
}

fn body_text(request: &Recorded) -> String {
    String::from_utf8(request.body.to_vec()).unwrap()
}

#[tokio::test]
async fn stripe_style_verifies_with_stripes_library_through_a_rotation() {
    let stack = Stack::start(&[]).await;
    let receiver = Receiver::start().await;
    let endpoint = stack
        .endpoint(
            &receiver,
            json!({"signature": {"scheme": "stripe", "header": "X-PT-Signature"}}),
        )
        .await;
    assert_eq!(
        endpoint["signature"],
        json!({"scheme": "stripe", "header": "x-pt-signature"})
    );
    let old_secret = endpoint["secret"].as_str().unwrap().to_owned();

    let first = deliver(&stack, &receiver, "evt-stripe-1").await;
    let header = first
        .header("x-pt-signature")
        .expect("the signature header")
        .to_owned();
    assert!(first.header("webhook-signature").is_none());
    assert_eq!(header.matches("v1=").count(), 1, "{header}");
    let body = body_text(&first);
    assert_eq!(
        stripe_check(&old_secret, &header, &body).await,
        json!({"ok": true})
    );
    let tampered = body.replace("héllo", "hello");
    assert_eq!(
        stripe_check(&old_secret, &header, &tampered).await["ok"],
        false
    );
    let stranger = hookwire_protocol::Secret::generate().expose();
    assert_eq!(stripe_check(&stranger, &header, &body).await["ok"], false);

    // During the grace period both secrets sign: one v1= each, either verifies.
    let new_secret = rotate(&stack, &endpoint["id"]).await;
    let second = deliver(&stack, &receiver, "evt-stripe-2").await;
    let header = second.header("x-pt-signature").unwrap().to_owned();
    assert_eq!(header.matches("v1=").count(), 2, "{header}");
    let body = body_text(&second);
    for secret in [&old_secret, &new_secret] {
        assert_eq!(
            stripe_check(secret, &header, &body).await,
            json!({"ok": true})
        );
    }
}

#[tokio::test]
async fn github_style_verifies_as_github_documents_through_a_rotation() {
    let stack = Stack::start(&[]).await;
    let receiver = Receiver::start().await;
    let endpoint = stack
        .endpoint(&receiver, json!({"signature": {"scheme": "github"}}))
        .await;
    let old_secret = endpoint["secret"].as_str().unwrap().to_owned();
    let values = |request: &Recorded| -> Vec<String> {
        request
            .headers
            .get_all("x-hub-signature-256")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    };

    let first = deliver(&stack, &receiver, "evt-gh-1").await;
    let signatures = values(&first);
    assert_eq!(signatures.len(), 1);
    assert!(signatures[0].starts_with("sha256="));
    let body = body_text(&first);
    assert_eq!(
        github_check(&old_secret, &signatures, &body).await,
        json!({"ok": true})
    );
    assert_eq!(
        github_check(&old_secret, &signatures, "{}").await["ok"],
        false
    );

    let new_secret = rotate(&stack, &endpoint["id"]).await;
    let second = deliver(&stack, &receiver, "evt-gh-2").await;
    let signatures = values(&second);
    assert_eq!(signatures.len(), 2, "one line per live secret");
    let body = body_text(&second);
    for secret in [&old_secret, &new_secret] {
        assert_eq!(
            github_check(secret, &signatures, &body).await,
            json!({"ok": true})
        );
    }
}

#[tokio::test]
async fn a_signature_header_that_clashes_is_refused() {
    let stack = Stack::start(&[]).await;
    for (spec, field) in [
        (
            json!({"url": "http://127.0.0.1:9/", "signature": {"scheme": "stripe", "header": "webhook-id"}}),
            "signature",
        ),
        (
            json!({"url": "http://127.0.0.1:9/", "signature": {"scheme": "stripe", "header": "X-Sig"}, "headers": {"X-Sig": "1"}}),
            "headers",
        ),
        (
            json!({"url": "http://127.0.0.1:9/", "signature": {"scheme": "sha1"}}),
            "",
        ),
        (
            json!({"url": "http://127.0.0.1:9/", "signature": {"scheme": "jwt"},
                   "auth": {"type": "bearer", "token": "t0ken-for-the-receiver"}}),
            "auth",
        ),
        (
            json!({"url": "http://127.0.0.1:9/", "signature": {"scheme": "jwt", "issuer": "has space"}}),
            "signature.issuer",
        ),
    ] {
        let error = refused_create(&stack, &spec).await;
        if !field.is_empty() {
            assert_eq!(error.field.as_deref(), Some(field), "{spec}");
        }
    }
}

/// Checks a `jwt`-scheme request with PyJWT, holding `secrets` (keys picked by `kid`).
async fn jwt_check(request: &Recorded, secrets: &[&str], audience: &str, body: &str) -> Value {
    jwt_check_with(request, json!({ "secrets": secrets }), audience, body).await
}

/// PyJWT's verdict on the request's token, with the keys in `keys` (`{"secrets": [...]}`
/// for HS256, `{"jwks": {...}}` for EdDSA).
async fn jwt_check_with(request: &Recorded, keys: Value, audience: &str, body: &str) -> Value {
    let mut input = json!({
        "authorization": request.header("authorization").expect("an Authorization header"),
        "audience": audience, "issuer": "hookwire", "body": body,
    });
    if let (Some(input), Value::Object(keys)) = (input.as_object_mut(), keys) {
        input.extend(keys);
    }
    interop("jwt_check.py", &input).await
}

#[tokio::test]
async fn jwt_verifies_with_pyjwt_through_a_rotation() {
    let stack = Stack::start(&[]).await;
    let receiver = Receiver::start().await;
    let endpoint = stack
        .endpoint(&receiver, json!({"signature": {"scheme": "jwt"}}))
        .await;
    assert_eq!(endpoint["signature"], json!({"scheme": "jwt"}));
    let url = endpoint["url"].as_str().unwrap().to_owned();
    let old = endpoint["secret"].as_str().unwrap().to_owned();

    let first = deliver(&stack, &receiver, "evt-jwt-1").await;
    assert!(first.header("webhook-signature").is_none());
    let body = body_text(&first);
    let checked = jwt_check(&first, &[&old], &url, &body).await;
    assert_eq!(checked["ok"], true, "{checked}");
    assert_eq!(checked["claims"]["jti"], "evt-jwt-1");
    assert_eq!(checked["claims"]["sub"], endpoint["id"]);
    assert_eq!(
        checked["claims"]["exp"].as_i64().unwrap() - checked["claims"]["iat"].as_i64().unwrap(),
        300
    );
    for (secrets, audience, body, why) in [
        (
            vec!["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],
            url.as_str(),
            body.as_str(),
            "another key",
        ),
        (
            vec![old.as_str()],
            "https://elsewhere.example/hooks",
            body.as_str(),
            "another audience",
        ),
        (vec![old.as_str()], url.as_str(), "{}", "another body"),
    ] {
        let refused = jwt_check(&first, &secrets, audience, body).await;
        assert_eq!(refused["ok"], false, "{why}: {refused}");
    }

    // During the grace period the previous secret signs: a receiver that has not switched
    // keeps verifying, one holding both picks by kid, one with only the new key does not.
    let new = rotate(&stack, &endpoint["id"]).await;
    let during = deliver(&stack, &receiver, "evt-jwt-2").await;
    let body = body_text(&during);
    assert_eq!(jwt_check(&during, &[&old], &url, &body).await["ok"], true);
    assert_eq!(
        jwt_check(&during, &[&new, &old], &url, &body).await["ok"],
        true
    );
    assert_eq!(jwt_check(&during, &[&new], &url, &body).await["ok"], false);

    // Once no previous secret is live, the newest signs.
    let newest = rotate_ending_grace(&stack, &endpoint["id"]).await;
    let after = deliver(&stack, &receiver, "evt-jwt-3").await;
    let body = body_text(&after);
    assert_eq!(jwt_check(&after, &[&newest], &url, &body).await["ok"], true);
    assert_eq!(
        jwt_check(&after, &[&new, &old], &url, &body).await["ok"],
        false
    );
}

/// The tenant's key document, fetched as a receiver fetches it.
async fn jwks(stack: &Stack) -> Value {
    let response = hookwire_testkit::http_client()
        .build()
        .unwrap()
        .get(format!("{}/keys/default", stack.daemon.http_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["content-type"],
        "application/jwk-set+json"
    );
    serde_json::from_str(&response.text().await.unwrap()).unwrap()
}

async fn v1a_check(keys: &Value, endpoint_id: &Value, request: &Recorded) -> Value {
    v1a_check_body(keys, endpoint_id, request, &body_text(request)).await
}

async fn v1a_check_body(
    keys: &Value,
    endpoint_id: &Value,
    request: &Recorded,
    body: &str,
) -> Value {
    interop(
        "v1a_check.py",
        &json!({
            "jwks": keys,
            "endpoint_id": endpoint_id,
            "headers": {
                "webhook-id": request.header("webhook-id"),
                "webhook-timestamp": request.header("webhook-timestamp"),
                "webhook-signature": request.header("webhook-signature"),
            },
            "body": body,
        }),
    )
    .await
}

#[tokio::test]
async fn ed25519_verifies_with_the_published_keys_through_a_rotation() {
    let stack = Stack::start(&[]).await;
    let receiver = Receiver::start().await;
    let endpoint = stack
        .endpoint(&receiver, json!({"signature": {"scheme": "ed25519"}}))
        .await;
    let id = &endpoint["id"];
    assert_eq!(endpoint["signature"], json!({"scheme": "ed25519"}));
    // Another endpoint, HMAC-signed: not in the document.
    let other = Receiver::start().await;
    stack.endpoint(&other, json!({})).await;

    let first = deliver(&stack, &receiver, "evt-v1a-1").await;
    let signature = first.header("webhook-signature").unwrap().to_owned();
    assert!(
        signature.starts_with("v1a,") && !signature.contains(' '),
        "{signature}"
    );
    let document = jwks(&stack).await;
    let keys = document["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1, "{document}");
    assert_eq!(keys[0]["endpoint_id"], *id);
    let old_kid = keys[0]["kid"].clone();
    let checked = v1a_check(&document, id, &first).await;
    assert_eq!(checked["ok"], true, "{checked}");
    assert_eq!(checked["kids"], json!([old_kid]));
    // Over NATS: the same document.
    let over_nats: Value = stack.admin.call("keys", "get", &json!({})).await.unwrap();
    assert_eq!(over_nats, document);

    // Another endpoint's key, a tampered body and another message id do not verify.
    let tampered = v1a_check_body(&document, id, &first, "{\"id\":\"evt-v1a-1\"}").await;
    assert_eq!(tampered["ok"], false, "{tampered}");
    let stranger = json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "v1a_x",
        "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
        "whpk": "whpk_11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=", "endpoint_id": id}]});
    assert_eq!(v1a_check(&stranger, id, &first).await["ok"], false);

    // During a rotation's grace both keys sign and are published; a receiver that fetched
    // the document before the rotation keeps verifying, one that fetches it now too.
    rotate(&stack, id).await;
    let during = deliver(&stack, &receiver, "evt-v1a-2").await;
    assert_eq!(
        during
            .header("webhook-signature")
            .unwrap()
            .split(' ')
            .count(),
        2
    );
    let rotated = jwks(&stack).await;
    assert_eq!(rotated["keys"].as_array().unwrap().len(), 2, "{rotated}");
    assert!(
        rotated["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["kid"] == old_kid && k["expires_at"].is_string())
    );
    assert_eq!(v1a_check(&document, id, &during).await["ok"], true);
    let both = v1a_check(&rotated, id, &during).await;
    assert_eq!(both["kids"].as_array().unwrap().len(), 2, "{both}");

    // The grace ended: only the new key signs and is published.
    assert!(rotate_ending_grace(&stack, id).await.starts_with("whsec_"));
    let after = deliver(&stack, &receiver, "evt-v1a-3").await;
    assert!(!after.header("webhook-signature").unwrap().contains(' '));
    let current = jwks(&stack).await;
    assert_eq!(current["keys"].as_array().unwrap().len(), 1, "{current}");
    assert_eq!(
        v1a_check(&document, id, &after).await["ok"],
        false,
        "the old key is gone"
    );
    assert_eq!(v1a_check(&current, id, &after).await["ok"], true);
}

async fn jwt_eddsa_check(request: &Recorded, keys: &Value, audience: &str, body: &str) -> Value {
    jwt_check_with(request, json!({ "jwks": keys }), audience, body).await
}

#[tokio::test]
async fn jwt_eddsa_verifies_with_pyjwt_and_the_published_keys_through_a_rotation() {
    let stack = Stack::start(&[]).await;
    let receiver = Receiver::start().await;
    let scheme = json!({"scheme": "jwt", "algorithm": "EdDSA"});
    let endpoint = stack
        .endpoint(&receiver, json!({"signature": scheme}))
        .await;
    assert_eq!(endpoint["signature"], scheme);
    let (id, url) = (
        &endpoint["id"],
        endpoint["url"].as_str().unwrap().to_owned(),
    );

    let first = deliver(&stack, &receiver, "evt-eddsa-1").await;
    let body = body_text(&first);
    let before = jwks(&stack).await;
    assert_eq!(before["keys"].as_array().unwrap().len(), 1, "{before}");
    let checked = jwt_eddsa_check(&first, &before, &url, &body).await;
    assert_eq!(checked["ok"], true, "{checked}");
    assert_eq!(checked["kid"], before["keys"][0]["kid"]);
    assert_eq!(checked["claims"]["jti"], "evt-eddsa-1");
    assert_eq!(
        jwt_eddsa_check(&first, &before, &url, "{}").await["ok"],
        false,
        "another body"
    );
    // Another endpoint's published key does not verify this one's tokens.
    let other = Receiver::start().await;
    let stranger = stack.endpoint(&other, json!({"signature": scheme})).await;
    let everyone = jwks(&stack).await;
    let theirs = json!({"keys": everyone["keys"].as_array().unwrap().iter()
        .filter(|k| k["endpoint_id"] == stranger["id"]).collect::<Vec<_>>()});
    assert_eq!(
        jwt_eddsa_check(&first, &theirs, &url, &body).await["ok"],
        false
    );

    // During the grace period the old key signs; both are published.
    rotate(&stack, id).await;
    let during = deliver(&stack, &receiver, "evt-eddsa-2").await;
    let body = body_text(&during);
    let checked = jwt_eddsa_check(&during, &before, &url, &body).await;
    assert_eq!(
        checked["ok"], true,
        "a receiver that has not fetched again: {checked}"
    );
    let mine = |document: &Value| {
        document["keys"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|k| k["endpoint_id"] == *id)
            .count()
    };
    assert_eq!(mine(&jwks(&stack).await), 2);

    // Once the grace ended the new key signs, and only it is published.
    rotate_ending_grace(&stack, id).await;
    let after = deliver(&stack, &receiver, "evt-eddsa-3").await;
    let body = body_text(&after);
    let current = jwks(&stack).await;
    assert_eq!(mine(&current), 1);
    assert_eq!(
        jwt_eddsa_check(&after, &before, &url, &body).await["ok"],
        false
    );
    assert_eq!(
        jwt_eddsa_check(&after, &current, &url, &body).await["ok"],
        true
    );
}
