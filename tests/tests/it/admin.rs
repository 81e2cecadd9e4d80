//! The admin API over NATS request/reply: CRUD, tenant isolation, and bad input.

use hookwire_protocol::admin::MAX_REQUEST_BYTES;
use serde_json::{Value, json};

use crate::support::{Stack, admin_for, error_code};

async fn raw(stack: &Stack, verb: &str, body: &[u8]) -> String {
    let result = stack
        .admin
        .call_raw("endpoints", verb, body.to_vec())
        .await
        .map(|bytes| serde_json::from_slice::<Value>(&bytes).unwrap());
    error_code(result)
}

#[tokio::test]
async fn endpoints_round_trip_through_the_api() {
    let stack = Stack::start(&[]).await;
    let created: Value = stack
        .admin
        .call(
            "endpoints",
            "create",
            &json!({"url": "http://127.0.0.1:9/hooks", "description": "billing", "event_types": ["orders.>"]}),
        )
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("ep_"));
    assert_eq!(created["status"]["state"], "pending_verification");
    assert_eq!(created["timeout_ms"], 15_000);

    let got = stack.get_endpoint(&id).await;
    assert_eq!(got["url"], "http://127.0.0.1:9/hooks");
    assert!(
        got.get("secret").is_none(),
        "the secret is shown once, at create"
    );

    let updated: Value = stack
        .admin
        .call(
            "endpoints",
            "update",
            &json!({"id": id, "timeout_ms": 2000, "status": "paused"}),
        )
        .await
        .unwrap();
    assert_eq!(updated["timeout_ms"], 2000);
    assert_eq!(updated["status"]["state"], "paused");
    assert_eq!(updated["description"], "billing");

    for n in 0..3 {
        let _: Value = stack
            .admin
            .call(
                "endpoints",
                "create",
                &json!({"id": format!("more-{n}"), "url": "http://127.0.0.1:9/"}),
            )
            .await
            .unwrap();
    }
    let page: Value = stack
        .admin
        .call("endpoints", "list", &json!({"limit": 3}))
        .await
        .unwrap();
    assert_eq!(page["endpoints"].as_array().unwrap().len(), 3);
    let cursor = page["next_cursor"].as_str().unwrap();
    let rest: Value = stack
        .admin
        .call("endpoints", "list", &json!({"limit": 3, "cursor": cursor}))
        .await
        .unwrap();
    assert_eq!(rest["endpoints"].as_array().unwrap().len(), 1);
    assert!(rest.get("next_cursor").is_none());

    let other_tenant = admin_for(&stack.client, "acme");
    let theirs: Value = other_tenant
        .call("endpoints", "list", &json!({}))
        .await
        .unwrap();
    assert_eq!(
        theirs["endpoints"],
        json!([]),
        "tenants do not see each other's endpoints"
    );
    assert_eq!(
        error_code(
            other_tenant
                .call("endpoints", "get", &json!({"id": id}))
                .await
        ),
        "not_found"
    );

    let _: Value = stack
        .admin
        .call("endpoints", "delete", &json!({"id": id}))
        .await
        .unwrap();
    assert_eq!(
        error_code(
            stack
                .admin
                .call("endpoints", "get", &json!({"id": id}))
                .await
        ),
        "not_found"
    );
    assert_eq!(
        error_code(
            stack
                .admin
                .call("endpoints", "delete", &json!({"id": id}))
                .await
        ),
        "not_found"
    );
}

#[tokio::test]
async fn bad_requests_get_structured_errors_and_change_nothing() {
    let stack = Stack::start(&[]).await;
    let oversize = format!(
        r#"{{"url":"https://a/","description":"{}"}}"#,
        "x".repeat(MAX_REQUEST_BYTES)
    );
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("create", b"{not json".to_vec(), "invalid_json"),
        ("create", br#"{"url": 5}"#.to_vec(), "invalid_request"),
        ("create", b"[1, 2]".to_vec(), "invalid_request"),
        (
            "create",
            br#"{"url": "ftp://example.com/"}"#.to_vec(),
            "invalid_request",
        ),
        (
            "create",
            br#"{"url": "http://127.0.0.1:9/", "colour": "red"}"#.to_vec(),
            "invalid_request",
        ),
        (
            "create",
            br#"{"url": "http://127.0.0.1:9/", "timeout_ms": 999999}"#.to_vec(),
            "invalid_request",
        ),
        (
            "create",
            br#"{"url": "http://127.0.0.1:9/", "event_types": ["a.>.b"]}"#.to_vec(),
            "invalid_request",
        ),
        (
            "create",
            br#"{"url": "http://127.0.0.1:9/", "secret": "hunter2"}"#.to_vec(),
            "invalid_request",
        ),
        (
            "create",
            br#"{"url": "http://127.0.0.1:9/", "id": "a.b"}"#.to_vec(),
            "invalid_request",
        ),
        ("create", oversize.into_bytes(), "payload_too_large"),
        (
            "update",
            br#"{"id": "nope", "url": "https://x/"}"#.to_vec(),
            "not_found",
        ),
        ("get", b"{}".to_vec(), "invalid_request"),
        ("list", br#"{"limit": 0}"#.to_vec(), "invalid_request"),
    ];
    for (verb, body, code) in &cases {
        assert_eq!(
            raw(&stack, verb, body).await,
            *code,
            "{verb} {}",
            String::from_utf8_lossy(&body[..body.len().min(80)])
        );
    }
    let page: Value = stack
        .admin
        .call("endpoints", "list", &json!({}))
        .await
        .unwrap();
    assert_eq!(
        page["endpoints"],
        json!([]),
        "a refused request created something"
    );

    // An update that fails validation leaves the endpoint as it was.
    let created: Value = stack
        .admin
        .call(
            "endpoints",
            "create",
            &json!({"id": "keep", "url": "http://127.0.0.1:9/a"}),
        )
        .await
        .unwrap();
    assert_eq!(
        raw(&stack, "update", br#"{"id": "keep", "url": "notaurl"}"#).await,
        "invalid_request"
    );
    assert_eq!(stack.get_endpoint("keep").await["url"], created["url"]);
    assert_eq!(
        error_code(
            stack
                .admin
                .call(
                    "endpoints",
                    "create",
                    &json!({"id": "keep", "url": "http://127.0.0.1:9/b"})
                )
                .await
        ),
        "conflict"
    );
}

#[tokio::test]
async fn errors_carry_nats_micro_headers_and_bad_tenants_are_refused() {
    let stack = Stack::start(&[]).await;
    let reply = stack
        .client
        .request("hookwire.admin.Not_A_Tenant.endpoints.list", "{}".into())
        .await
        .unwrap();
    let headers = reply.headers.unwrap();
    assert_eq!(
        headers.get("Nats-Service-Error-Code").unwrap().as_str(),
        "400"
    );
    let body: Value = serde_json::from_slice(&reply.payload).unwrap();
    assert_eq!(body["error"]["code"], "invalid_subject");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("tenant")
    );

    let ping = stack
        .client
        .request("$SRV.PING.hookwire", "".into())
        .await
        .unwrap();
    let ping: Value = serde_json::from_slice(&ping.payload).unwrap();
    assert_eq!(ping["name"], "hookwire");
    let info = stack
        .client
        .request("$SRV.INFO.hookwire", "".into())
        .await
        .unwrap();
    let info: Value = serde_json::from_slice(&info.payload).unwrap();
    let names: Vec<&str> = info["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    for verb in ["create", "get", "list", "update", "delete"] {
        assert!(
            names.contains(&format!("endpoints-{verb}").as_str()),
            "{names:?}"
        );
    }
}
