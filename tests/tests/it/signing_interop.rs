//! Our signatures against the official Standard Webhooks library (the `standardwebhooks` package from PyPI),
//! driven through `tests/interop/standardwebhooks_check.py`.

use hookwire_protocol::signing::{
    self, DEFAULT_TOLERANCE_SECS, Secret, VerifyError, WebhookHeaders, signature_header,
};
use serde_json::{Value, json};

use crate::support::interop;

/// Runs the official library's helper with one request and returns its answer.
async fn official(request: Value) -> Value {
    interop("standardwebhooks_check.py", &request).await
}

async fn official_verify(
    secret: &Secret,
    id: &str,
    timestamp: i64,
    signature: &str,
    body: &str,
) -> Value {
    official(json!({
        "op": "verify",
        "secret": secret.expose(),
        "headers": {"webhook-id": id, "webhook-timestamp": timestamp.to_string(), "webhook-signature": signature},
        "body": body,
    }))
    .await
}

fn ours_verify(
    secrets: &[Secret],
    id: &str,
    timestamp: &str,
    signature: &str,
    body: &str,
) -> Result<(), VerifyError> {
    let now = chrono::Utc::now().timestamp();
    let headers = WebhookHeaders {
        id,
        timestamp,
        signature,
    };
    signing::verify(
        secrets,
        &headers,
        body.as_bytes(),
        now,
        DEFAULT_TOLERANCE_SECS,
    )
}

const BODY: &str = r#"{"type":"memory.created","timestamp":"2026-11-22T10:00:00.000Z","data":{"id":"m_1","text":"héllo"}}"#;

#[tokio::test]
async fn official_library_verifies_our_signatures() {
    let secret = Secret::generate();
    let now = chrono::Utc::now().timestamp();
    let signature = signature_header(
        std::slice::from_ref(&secret),
        "msg_ours",
        now,
        BODY.as_bytes(),
    );
    assert_eq!(
        official_verify(&secret, "msg_ours", now, &signature, BODY).await,
        json!({"ok": true})
    );

    // During a rotation we send two signatures; a receiver with either secret accepts.
    let old = Secret::generate();
    let rotated = signature_header(
        &[secret.clone(), old.clone()],
        "msg_ours",
        now,
        BODY.as_bytes(),
    );
    for holder in [&secret, &old] {
        assert_eq!(
            official_verify(holder, "msg_ours", now, &rotated, BODY).await,
            json!({"ok": true})
        );
    }

    // And it rejects what it should: an altered body, a wrong secret.
    let tampered = BODY.replace("héllo", "hello");
    assert_eq!(
        official_verify(&secret, "msg_ours", now, &signature, &tampered).await["ok"],
        json!(false)
    );
    assert_eq!(
        official_verify(&Secret::generate(), "msg_ours", now, &signature, BODY).await["ok"],
        json!(false)
    );
}

#[tokio::test]
async fn we_verify_the_official_librarys_signatures() {
    let secret = Secret::generate();
    let now = chrono::Utc::now().timestamp();
    let answer = official(json!({
        "op": "sign", "secret": secret.expose(), "id": "msg_theirs", "timestamp": now, "body": BODY,
    }))
    .await;
    let signature = answer["signature"].as_str().unwrap().to_owned();
    assert_eq!(
        signature,
        signature_header(
            std::slice::from_ref(&secret),
            "msg_theirs",
            now,
            BODY.as_bytes()
        ),
        "both implementations produce the same bytes"
    );
    let ts = now.to_string();
    assert_eq!(
        ours_verify(
            std::slice::from_ref(&secret),
            "msg_theirs",
            &ts,
            &signature,
            BODY
        ),
        Ok(())
    );

    // Each way of being wrong has its own error.
    let tampered = BODY.replace("m_1", "m_2");
    assert_eq!(
        ours_verify(
            std::slice::from_ref(&secret),
            "msg_theirs",
            &ts,
            &signature,
            &tampered
        ),
        Err(VerifyError::NoMatchingSignature)
    );
    assert_eq!(
        ours_verify(&[Secret::generate()], "msg_theirs", &ts, &signature, BODY),
        Err(VerifyError::NoMatchingSignature)
    );
    let stale = now - DEFAULT_TOLERANCE_SECS - 60;
    let stale_signature = official(json!({
        "op": "sign", "secret": secret.expose(), "id": "msg_theirs", "timestamp": stale, "body": BODY,
    }))
    .await["signature"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(matches!(
        ours_verify(
            std::slice::from_ref(&secret),
            "msg_theirs",
            &stale.to_string(),
            &stale_signature,
            BODY
        ),
        Err(VerifyError::TimestampTooOld { .. })
    ));
    assert!(matches!(
        ours_verify(
            std::slice::from_ref(&secret),
            "msg_theirs",
            "not-a-time",
            &signature,
            BODY
        ),
        Err(VerifyError::MalformedTimestamp(_))
    ));
    assert_eq!(
        ours_verify(
            std::slice::from_ref(&secret),
            "msg_theirs",
            &ts,
            "v1;oops",
            BODY
        ),
        Err(VerifyError::MalformedSignature)
    );
    assert_eq!(
        WebhookHeaders::from_lookup(|name| (name != "webhook-id").then_some("x")),
        Err(VerifyError::MissingHeader("webhook-id"))
    );
}
