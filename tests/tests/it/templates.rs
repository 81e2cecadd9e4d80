//! Payload templates through NATS and real loopback receivers: a preset's body reaches a
//! chat-shaped receiver; a pinned version holds while a newer one exists and moving the pin
//! sends the newer; XML and form receivers parse what they get (with Python's standard
//! parsers); the preview's bytes and signature equal what the receiver got; a template that
//! fails at render goes to dead letters and is delivered after a fix and a requeue.

use std::time::Duration;

use hookwire_nats::admin::AdminClientError;
use hookwire_testkit::{Receiver, Recorded};
use serde_json::{Value, json};

use crate::support::{Stack, WAIT, error_code, interop, wait_for_type};

/// Endpoint fields for a loopback receiver that cannot answer a challenge.
fn confirmed(template: &str, version: u32) -> Value {
    json!({
        "template": {"name": template, "version": version},
        "verification": "confirmed",
        "confirm_destination": "127.0.0.1",
    })
}

/// The request that carried `webhook_id`, waiting for it.
async fn received(receiver: &Receiver, webhook_id: &str) -> Recorded {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(found) = receiver
            .requests()
            .into_iter()
            .find(|r| r.header("webhook-id") == Some(webhook_id))
        {
            return found;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{webhook_id} never arrived"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// An admin call that must succeed.
async fn call(stack: &Stack, noun: &str, verb: &str, body: Value) -> Value {
    attempt(stack, noun, verb, body)
        .await
        .unwrap_or_else(|e| panic!("{noun}.{verb} failed: {e:?}"))
}

/// An admin call that may fail.
async fn attempt(
    stack: &Stack,
    noun: &str,
    verb: &str,
    body: Value,
) -> Result<Value, AdminClientError> {
    stack.admin.call(noun, verb, &body).await
}

/// Checks `got`'s signature with the official Standard Webhooks library.
async fn verify_officially(got: &Recorded, secret: &str) {
    let official = interop(
        "standardwebhooks_check.py",
        &json!({"op": "verify", "secret": secret, "body": text(got), "headers": {
            "webhook-id": got.header("webhook-id"),
            "webhook-timestamp": got.header("webhook-timestamp"),
            "webhook-signature": got.header("webhook-signature"),
        }}),
    )
    .await;
    assert_eq!(official["ok"], true, "{official}");
}

fn text(recorded: &Recorded) -> String {
    String::from_utf8(recorded.body.to_vec()).unwrap()
}

#[tokio::test]
async fn a_pinned_preset_reaches_a_chat_receiver_and_the_pin_decides_the_version() {
    let stack = Stack::start(&[]).await;
    let receiver = Receiver::start().await;
    let v1: Value = call(
        &stack,
        "templates",
        "create",
        json!({"name": "chat", "preset": "slack"}),
    )
    .await;
    assert_eq!(
        (v1["version"].as_u64(), v1["preset"].as_str()),
        (Some(1), Some("slack"))
    );
    let endpoint = stack.endpoint(&receiver, confirmed("chat", 1)).await;
    let id = endpoint["id"].as_str().unwrap().to_owned();
    assert!(
        receiver.challenges().is_empty(),
        "a confirmed destination gets no challenge"
    );

    stack
        .publish("orders.paid", &json!({"order": "o_1"}), Some("evt-1"))
        .await;
    let first = received(&receiver, "evt-1").await;
    assert_eq!(first.header("content-type"), Some("application/json"));
    assert_eq!(
        first.verification,
        Some(Ok(())),
        "signed over the rendered bytes"
    );
    let slack_text = first.json()["text"].as_str().unwrap().to_owned();
    assert!(
        slack_text.starts_with("*orders.paid* `evt-1`") && slack_text.contains("\"o_1\""),
        "{slack_text}"
    );

    // A new version changes nothing until the pin moves.
    let v2: Value = call(&stack, "templates", "add-version", json!({"name": "chat", "body": r#"{"text": {{ "v2: " ~ event.type ~ " " ~ data.order }}}"#})).await;
    assert_eq!(v2["version"], 2);
    stack
        .publish("orders.paid", &json!({"order": "o_2"}), Some("evt-2"))
        .await;
    let second = received(&receiver, "evt-2").await;
    assert!(
        second.json()["text"]
            .as_str()
            .unwrap()
            .starts_with("*orders.paid*"),
        "v1 while pinned: {}",
        text(&second)
    );
    let moved: Value = call(
        &stack,
        "endpoints",
        "update",
        json!({"id": id, "template": {"name": "chat", "version": 2}}),
    )
    .await;
    assert_eq!(moved["template"], json!({"name": "chat", "version": 2}));
    stack
        .publish("orders.paid", &json!({"order": "o_3"}), Some("evt-3"))
        .await;
    let third = received(&receiver, "evt-3").await;
    assert_eq!(third.json(), json!({"text": "v2: orders.paid o_3"}));

    // The preview of that event, signed at the same second, is byte for byte what arrived.
    let sent_at: i64 = third.header("webhook-timestamp").unwrap().parse().unwrap();
    let at = chrono::DateTime::from_timestamp(sent_at, 0).unwrap();
    let preview = preview_when_indexed(
        &stack,
        &json!({"endpoint_id": id, "event_id": "evt-3", "timestamp": at.to_rfc3339()}),
    )
    .await;
    assert_eq!(preview["body"].as_str(), Some(text(&third).as_str()));
    for header in [
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "content-type",
    ] {
        assert_eq!(
            preview["headers"][header].as_str(),
            third.header(header),
            "{header}"
        );
    }
    assert_eq!(preview["template"], json!({"name": "chat", "version": 2}));

    // A test send renders through the pin too.
    let tested: Value = call(
        &stack,
        "endpoints",
        "test",
        json!({"id": id, "event_type": "test.ping", "payload": {"order": "t"}}),
    )
    .await;
    assert_eq!(tested["outcome"], "succeeded", "{tested}");
    let test_request = received(&receiver, tested["event_id"].as_str().unwrap()).await;
    assert_eq!(test_request.json(), json!({"text": "v2: test.ping t"}));
}

/// `templates.preview`, retried while the event's deliveries are not indexed yet (a past
/// event is found by id through them).
async fn preview_when_indexed(stack: &Stack, request: &Value) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match stack.admin.call("templates", "preview", request).await {
            Ok(preview) => return preview,
            Err(AdminClientError::Api(body))
                if body.error.code == hookwire_protocol::admin::ErrorCode::NotFound
                    && tokio::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("preview failed: {e:?}"),
        }
    }
}

#[tokio::test]
async fn xml_form_and_text_receivers_parse_what_they_get() {
    let stack = Stack::start(&[]).await;
    let templates = [
        ("xml-auto", json!({"format": "xml"})),
        (
            "xml-order",
            json!({"format": "xml", "body": "<order id=\"{{ data.id }}\"><note>{{ data.note }}</note>{% for t in data.tags %}<tag>{{ t }}</tag>{% endfor %}</order>"}),
        ),
        (
            "form",
            json!({"format": "form", "body": r#"{"title": {{ "New " ~ event.type }}, "id": {{ data.id }}, "tags": {{ data.tags }}}"#}),
        ),
        (
            "text",
            json!({"format": "text", "body": "{{ event.type }}: {{ data.note }}"}),
        ),
    ];
    let mut receivers = Vec::new();
    let mut secrets = Vec::new();
    for (name, fields) in &templates {
        let mut request = fields.clone();
        request["name"] = json!(name);
        call(&stack, "templates", "create", request).await;
        let receiver = Receiver::start().await;
        let created = stack.endpoint(&receiver, confirmed(name, 1)).await;
        secrets.push(created["secret"].as_str().unwrap().to_owned());
        receivers.push(receiver);
    }
    let data = json!({"id": "a&<1>\"", "note": "x < y & 'z'", "tags": ["red", "<b>"]});
    stack.publish("orders.paid", &data, Some("fmt-1")).await;
    let [xml_auto, xml_order, form, plain] = &receivers[..] else {
        unreachable!()
    };

    let got = received(xml_auto, "fmt-1").await;
    assert_eq!(
        got.header("content-type"),
        Some("application/xml; charset=utf-8")
    );
    assert_eq!(got.verification, Some(Ok(())));
    verify_officially(&got, &secrets[0]).await;
    let parsed = interop(
        "formats_parse.py",
        &json!({"format": "xml", "body": text(&got)}),
    )
    .await;
    let root = &parsed["parsed"];
    assert_eq!(root["tag"], "webhook");
    let child = |node: &Value, tag: &str| -> Value {
        node["children"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["tag"] == tag)
            .cloned()
            .unwrap_or_else(|| panic!("no <{tag}> in {node}"))
    };
    assert_eq!(child(root, "type")["text"], "orders.paid");
    let data_node = child(root, "data");
    assert_eq!(child(&data_node, "id")["text"], "a&<1>\"");
    assert_eq!(child(&data_node, "note")["text"], "x < y & 'z'");
    let tags: Vec<Value> = child(&data_node, "tags")["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["text"].clone())
        .collect();
    assert_eq!(tags, [json!("red"), json!("<b>")]);

    let got = received(xml_order, "fmt-1").await;
    let parsed = interop(
        "formats_parse.py",
        &json!({"format": "xml", "body": text(&got)}),
    )
    .await;
    let order = &parsed["parsed"];
    assert_eq!(order["tag"], "order");
    assert_eq!(order["attrib"]["id"], "a&<1>\"");
    assert_eq!(child(order, "note")["text"], "x < y & 'z'");

    let got = received(form, "fmt-1").await;
    assert_eq!(
        got.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(got.verification, Some(Ok(())));
    // The official Standard Webhooks library verifies the form bytes as sent.
    verify_officially(&got, &secrets[2]).await;
    let parsed = interop(
        "formats_parse.py",
        &json!({"format": "form", "body": text(&got)}),
    )
    .await;
    assert_eq!(
        parsed["parsed"],
        json!({"title": "New orders.paid", "id": "a&<1>\"", "tags": "[\"red\",\"<b>\"]"})
    );

    let got = received(plain, "fmt-1").await;
    assert_eq!(
        got.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(text(&got), "orders.paid: x < y & 'z'");
}

#[tokio::test]
async fn a_template_failing_at_render_is_dead_lettered_and_delivered_after_a_fix_and_requeue() {
    let stack = Stack::start(&[]).await;
    let ops = Receiver::start().await;
    stack.ops_endpoint(&ops).await;

    call(
        &stack,
        "templates",
        "create",
        json!({"name": "total", "body": r#"{"total": {{ data.amount + 1 }}}"#}),
    )
    .await;
    let receiver = Receiver::start().await;
    let endpoint = stack
        .endpoint(
            &receiver,
            json!({"template": {"name": "total", "version": 1}, "event_types": ["orders.*"],
                   "verification": "confirmed", "confirm_destination": "127.0.0.1"}),
        )
        .await;
    let id = endpoint["id"].as_str().unwrap().to_owned();

    stack
        .publish("orders.paid", &json!({"amount": "ten"}), Some("bad-1"))
        .await;
    stack
        .publish("orders.paid", &json!({"amount": 5}), Some("good-1"))
        .await;
    assert_eq!(
        received(&receiver, "good-1").await.json(),
        json!({"total": 6})
    );

    // The failure is announced, recorded with its own kind and dead-lettered at once.
    let announced = wait_for_type(&ops, "hookwire.endpoint.template_failed", 1)
        .await
        .remove(0);
    assert_eq!(announced["data"]["event_id"], "bad-1");
    assert_eq!(announced["data"]["template"], "total v1");
    let page: Value = call(&stack, "dead-letters", "list", json!({"endpoint_id": id})).await;
    let dead = &page["dead_letters"][0];
    assert_eq!(
        (dead["event_id"].as_str(), dead["attempts"].as_u64()),
        (Some("bad-1"), Some(1))
    );
    assert!(
        dead["last_error"]
            .as_str()
            .unwrap()
            .contains("template total v1"),
        "{dead}"
    );
    // Its attempt record may reach the index a moment after the dead letter.
    let delivery = stack.delivery_in_state(&id, "bad-1", "dead", WAIT).await;
    assert_eq!(
        delivery["attempts"][0]["error"]["kind"], "template",
        "{delivery}"
    );
    assert!(
        receiver
            .requests()
            .iter()
            .all(|r| r.header("webhook-id") != Some("bad-1")),
        "nothing was sent"
    );

    // Fixed in a new version, pinned, requeued: delivered.
    call(
        &stack,
        "templates",
        "add-version",
        json!({"name": "total", "body": r#"{"total": {{ data.amount }}}"#}),
    )
    .await;
    call(
        &stack,
        "endpoints",
        "update",
        json!({"id": id, "template": {"name": "total", "version": 2}}),
    )
    .await;
    let requeued: Value = call(
        &stack,
        "dead-letters",
        "requeue",
        json!({"endpoint_id": id}),
    )
    .await;
    assert_eq!(requeued["requeued"], 1);
    assert_eq!(
        received(&receiver, "bad-1").await.json(),
        json!({"total": "ten"})
    );
}

#[tokio::test]
async fn pins_previews_and_presets_are_checked() {
    let stack = Stack::start(&[]).await;
    let presets: Value = call(&stack, "templates", "presets", json!({})).await;
    let names: Vec<&str> = presets["presets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["slack", "discord", "teams", "github-issue"]);

    let missing_pin = attempt(
        &stack,
        "endpoints",
        "create",
        json!({"url": "http://127.0.0.1:9/", "template": {"name": "nope", "version": 1}}),
    )
    .await;
    assert_eq!(error_code(missing_pin), "invalid_request");
    call(
        &stack,
        "templates",
        "create",
        json!({"name": "gh", "preset": "github-issue"}),
    )
    .await;
    let again = attempt(
        &stack,
        "templates",
        "create",
        json!({"name": "gh", "body": "{}"}),
    )
    .await;
    assert_eq!(error_code(again), "conflict");
    let no_such_version = attempt(
        &stack,
        "endpoints",
        "create",
        json!({"url": "http://127.0.0.1:9/", "template": {"name": "gh", "version": 2}}),
    )
    .await;
    assert_eq!(error_code(no_such_version), "invalid_request");

    // A preview without an endpoint renders given data, unsigned.
    let preview: Value = call(
        &stack,
        "templates",
        "preview",
        json!({"template": {"name": "gh", "version": 1}, "event_type": "alerts.fired",
                    "data": {"severity": "high"}, "webhook_id": "msg_fixed"}),
    )
    .await;
    let issue: Value = serde_json::from_str(preview["body"].as_str().unwrap()).unwrap();
    assert_eq!(issue["title"], "[alerts.fired] msg_fixed");
    assert!(
        issue["body"]
            .as_str()
            .unwrap()
            .contains("\"severity\": \"high\"")
    );
    assert_eq!(preview["headers"]["accept"], "application/vnd.github+json");
    assert!(preview["headers"].get("webhook-signature").is_none());
    assert!(preview.get("url").is_none());

    // A template that fails on the given data says why, without sending.
    call(
        &stack,
        "templates",
        "create",
        json!({"name": "adds", "body": "{{ data.a + 1 }}"}),
    )
    .await;
    let failing = attempt(&stack, "templates", "preview", json!({"template": {"name": "adds", "version": 1}, "event_type": "a.b", "data": {"a": "x"}})).await;
    match failing {
        Err(AdminClientError::Api(body)) => {
            assert_eq!(body.error.field.as_deref(), Some("template"));
            assert!(
                body.error.message.contains("adds v1"),
                "{}",
                body.error.message
            );
        }
        other => panic!("rendered: {other:?}"),
    }
    let nothing = attempt(
        &stack,
        "templates",
        "preview",
        json!({"event_type": "a.b", "data": {}}),
    )
    .await;
    assert_eq!(error_code(nothing), "invalid_request");
    let deleted: Value = call(&stack, "templates", "delete", json!({"name": "adds"})).await;
    assert_eq!(deleted["deleted"], "adds");
    let gone = attempt(&stack, "templates", "get", json!({"name": "adds"})).await;
    assert_eq!(error_code(gone), "not_found");
}

#[tokio::test]
async fn templates_that_do_not_compile_are_refused_and_pinned_ones_kept() {
    let stack = Stack::start(&[]).await;
    // A body that does not compile is refused at save, with where.
    let refused = attempt(
        &stack,
        "templates",
        "create",
        json!({"name": "broken", "body": "{\"total\": {{ data.amount }\n}"}),
    )
    .await;
    match refused {
        Err(AdminClientError::Api(body)) => {
            assert_eq!(body.error.field.as_deref(), Some("body"));
            assert!(
                body.error.message.contains("line 1, column"),
                "{}",
                body.error.message
            );
        }
        other => panic!("accepted: {other:?}"),
    }

    call(
        &stack,
        "templates",
        "create",
        json!({"name": "chat", "preset": "discord"}),
    )
    .await;
    call(
        &stack,
        "templates",
        "add-version",
        json!({"name": "chat", "description": "v2"}),
    )
    .await;
    let endpoint = call(
        &stack,
        "endpoints",
        "create",
        json!({"url": "http://127.0.0.1:9/", "template": {"name": "chat", "version": 2},
               "verification": "confirmed", "confirm_destination": "127.0.0.1"}),
    )
    .await;
    let detail: Value = call(&stack, "templates", "get", json!({"name": "chat"})).await;
    assert_eq!(detail["versions"].as_array().unwrap().len(), 2);
    assert_eq!(
        detail["pinned_by"],
        json!([{"endpoint_id": endpoint["id"], "version": 2}])
    );
    let pinned = attempt(&stack, "templates", "delete", json!({"name": "chat"})).await;
    assert_eq!(error_code(pinned), "conflict");
    let list: Value = call(&stack, "templates", "list", json!({})).await;
    assert_eq!(list["templates"][0]["latest"], 2);
    assert_eq!(list["templates"][0]["pinned_by"], 1);
    call(
        &stack,
        "endpoints",
        "update",
        json!({"id": endpoint["id"], "template": null}),
    )
    .await;
    call(&stack, "templates", "delete", json!({"name": "chat"})).await;
}
