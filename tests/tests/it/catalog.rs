//! The event-types catalog: definitions, schema validation of published events, examples
//! for test sends, and strict mode for endpoint filters.

use hookwire_testkit::Receiver;
use serde_json::{Value, json};

use crate::support::{Stack, WAIT, error_code};

fn order_type() -> Value {
    json!({
        "name": "orders.paid",
        "description": "An order was paid.",
        "schema": {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}},
        "example": {"id": "o_example"},
        "validate": true,
    })
}

#[tokio::test]
async fn the_catalog_validates_events_and_supplies_examples() {
    let stack = Stack::start(&[]).await;
    let created: Value = stack
        .admin
        .call("types", "create", &order_type())
        .await
        .unwrap();
    assert_eq!(
        (&created["version"], &created["validate"]),
        (&json!(1), &json!(true))
    );
    let ops = Receiver::start().await;
    stack.ops_endpoint(&ops).await;
    let receiver = Receiver::start().await;
    let endpoint = stack
        .endpoint(&receiver, json!({"event_types": ["orders.>"]}))
        .await;

    stack
        .publish("orders.paid", &json!({"id": 5}), Some("bad-order"))
        .await;
    stack
        .publish("orders.paid", &json!({"id": "o_1"}), Some("good-order"))
        .await;
    let delivered = receiver.wait_for(1, WAIT).await;
    assert_eq!(delivered[0].header("webhook-id"), Some("good-order"));
    let deadline = tokio::time::Instant::now() + WAIT;
    let rejected = loop {
        let found = ops
            .requests()
            .into_iter()
            .map(|r| r.json())
            .find(|e| e["type"] == "hookwire.event.rejected");
        if let Some(event) = found {
            break event;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no rejection reported"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    let reason = rejected["data"]["reason"].as_str().unwrap();
    assert!(reason.contains("schema of orders.paid v1"), "{reason}");
    assert_eq!(receiver.count(), 1, "the invalid event was delivered");

    // A test send without a payload uses the catalog's example.
    let record: Value = stack
        .admin
        .call(
            "endpoints",
            "test",
            &json!({"id": endpoint["id"], "event_type": "orders.paid"}),
        )
        .await
        .unwrap();
    assert_eq!(record["outcome"], "succeeded");
    assert_eq!(
        receiver.wait_for(2, WAIT).await[1].json()["data"],
        json!({"id": "o_example"})
    );

    let updated: Value = stack
        .admin
        .call(
            "types",
            "update",
            &json!({"name": "orders.paid", "schema": {"type": "object"}, "example": null}),
        )
        .await
        .unwrap();
    assert_eq!(
        (&updated["version"], &updated["example"]),
        (&json!(2), &Value::Null)
    );
    assert_eq!(updated["description"], "An order was paid.");
    let deprecated: Value = stack
        .admin
        .call("types", "deprecate", &json!({"name": "orders.paid"}))
        .await
        .unwrap();
    assert!(deprecated["deprecated_at"].is_string());
    let listed: Value = stack.admin.call("types", "list", &json!({})).await.unwrap();
    assert_eq!(listed["types"][0]["name"], "orders.paid");
    let _: Value = stack
        .admin
        .call("types", "delete", &json!({"name": "orders.paid"}))
        .await
        .unwrap();
    let gone = stack
        .admin
        .call::<_, Value>("types", "get", &json!({"name": "orders.paid"}))
        .await;
    assert_eq!(error_code(gone), "not_found");
}

#[tokio::test]
async fn catalog_requests_are_validated() {
    let stack = Stack::start(&[]).await;
    let _: Value = stack
        .admin
        .call("types", "create", &order_type())
        .await
        .unwrap();
    let cases = [
        ("create", order_type(), "conflict"),
        (
            "create",
            json!({"name": "a.b", "schema": {"type": 12}}),
            "invalid_request",
        ),
        (
            "create",
            json!({"name": "a.b", "schema": {"type": "string"}, "example": 5}),
            "invalid_request",
        ),
        (
            "create",
            json!({"name": "a.b", "validate": true}),
            "invalid_request",
        ),
        (
            "create",
            json!({"name": "hookwire.mine"}),
            "invalid_request",
        ),
        (
            "create",
            json!({"name": "a.b", "colour": 1}),
            "invalid_request",
        ),
        ("update", json!({"name": "nope.nope"}), "not_found"),
        (
            "update",
            json!({"name": "orders.paid", "example": {"id": 1}}),
            "invalid_request",
        ),
        ("get", json!({"name": "a.*"}), "invalid_request"),
        ("delete", json!({"name": "nope.nope"}), "not_found"),
    ];
    for (verb, body, code) in cases {
        let result = stack.admin.call::<_, Value>("types", verb, &body).await;
        assert_eq!(error_code(result), code, "types.{verb} {body}");
    }
    let unchanged: Value = stack
        .admin
        .call("types", "get", &json!({"name": "orders.paid"}))
        .await
        .unwrap();
    assert_eq!(unchanged["example"], json!({"id": "o_example"}));
}

#[tokio::test]
async fn strict_mode_admits_only_filters_for_known_types() {
    let stack = Stack::start(&[("HOOKWIRE__CATALOG__STRICT", "true")]).await;
    let unknown = stack
        .admin
        .call::<_, Value>(
            "endpoints",
            "create",
            &json!({"url": "http://127.0.0.1:9/", "event_types": ["orders.*"]}),
        )
        .await;
    assert_eq!(error_code(unknown), "invalid_request");
    let _: Value = stack
        .admin
        .call("types", "create", &order_type())
        .await
        .unwrap();
    let created: Value = stack
        .admin
        .call(
            "endpoints",
            "create",
            &json!({"url": "http://127.0.0.1:9/", "event_types": ["orders.*"]}),
        )
        .await
        .unwrap();
    let widened = stack
        .admin
        .call::<_, Value>(
            "endpoints",
            "update",
            &json!({"id": created["id"], "event_types": ["users.>"]}),
        )
        .await;
    assert_eq!(error_code(widened), "invalid_request");
}
