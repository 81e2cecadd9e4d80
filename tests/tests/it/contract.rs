//! The typed admin contract as clients meet it: every reply decodes into its protocol type,
//! malformed bodies name their field, unknown operations are answered, and ids are checked
//! alike in every verb.

use hookwire_nats::admin::AdminClientError;
use hookwire_protocol::admin::{ErrorCode, ErrorDetail, NoFields, PageSize};
use hookwire_protocol::audit::ListAudit;
use hookwire_protocol::dead_letter::ListDeadLetters;
use hookwire_protocol::delivery::ListDeliveries;
use hookwire_protocol::endpoint::{CreateEndpoint, EndpointId, ListEndpoints, RequestedStatus};
use hookwire_protocol::event::ListEvents;
use hookwire_protocol::operation::{Op, ops};
use hookwire_protocol::system::HealthStatus;
use serde_json::Value;

use crate::support::Stack;

/// The error detail of a request sent as raw bytes to `noun.verb`.
async fn refusal(stack: &Stack, noun: &str, verb: &str, body: &str) -> ErrorDetail {
    match stack
        .admin
        .call_raw(noun, verb, body.as_bytes().to_vec())
        .await
    {
        Err(AdminClientError::Api(body)) => body.error,
        other => panic!("{noun}.{verb} {body}: expected a refusal, got {other:?}"),
    }
}

/// The error body and headers answered on a raw admin subject.
async fn answer_on(stack: &Stack, subject: &str) -> (ErrorDetail, String) {
    let reply = stack
        .client
        .request(subject.to_owned(), "{}".into())
        .await
        .unwrap_or_else(|e| panic!("{subject}: no answer ({e})"));
    let status = reply
        .headers
        .as_ref()
        .and_then(|h| h.get("Nats-Service-Error-Code"))
        .map(|v| v.as_str().to_owned())
        .unwrap_or_default();
    let body: hookwire_protocol::admin::ErrorBody = serde_json::from_slice(&reply.payload)
        .unwrap_or_else(|e| panic!("{subject}: not an error body ({e})"));
    (body.error, status)
}

#[tokio::test]
async fn every_reply_decodes_into_its_protocol_type() {
    let stack = Stack::start(&[]).await;
    let admin = &stack.admin;
    let created = admin
        .send::<ops::EndpointsCreate>(&CreateEndpoint {
            url: "http://127.0.0.1:9/hook".to_owned(),
            status: Some(RequestedStatus::Paused),
            ..CreateEndpoint::default()
        })
        .await
        .unwrap();
    assert!(created.secret.starts_with("whsec_"));
    let id = EndpointId {
        id: created.endpoint.id.clone(),
    };
    let got = admin.send::<ops::EndpointsGet>(&id).await.unwrap();
    assert_eq!(got, created.endpoint);
    let page = admin
        .send::<ops::EndpointsList>(&ListEndpoints::default())
        .await
        .unwrap();
    assert_eq!(page.endpoints, vec![created.endpoint.clone()]);
    let stats = admin.send::<ops::EndpointsStats>(&id).await.unwrap();
    assert_eq!(stats.endpoint_id, id.id);
    assert_eq!(stats.windows.week.attempts, 0);
    let overview = admin.send::<ops::OverviewGet>(&NoFields {}).await.unwrap();
    assert_eq!(overview.endpoints.total, 1);
    assert_eq!(overview.endpoints.paused, 1);
    assert_eq!(overview.per_endpoint[0].id, id.id);
    let health = admin.send::<ops::SystemHealth>(&NoFields {}).await.unwrap();
    assert_eq!(health.status, HealthStatus::Ok);
    let info = admin.send::<ops::SystemInfo>(&NoFields {}).await.unwrap();
    assert!(
        info.streams.iter().any(|s| s.name.contains("EVENTS")),
        "{info:?}"
    );
    admin.send::<ops::TypesList>(&NoFields {}).await.unwrap();
    admin.send::<ops::SourcesList>(&NoFields {}).await.unwrap();
    admin
        .send::<ops::ReplayList>(&PageSize::default())
        .await
        .unwrap();
    admin
        .send::<ops::DeadLettersList>(&ListDeadLetters::default())
        .await
        .unwrap();
    admin
        .send::<ops::DeliveriesList>(&ListDeliveries::default())
        .await
        .unwrap();
    admin
        .send::<ops::EventsList>(&ListEvents::default())
        .await
        .unwrap();
    let audit = admin
        .send::<ops::AuditList>(&ListAudit::default())
        .await
        .unwrap();
    assert!(
        audit
            .records
            .iter()
            .any(|entry| entry.record.action == Op::EndpointsCreate.action()),
        "{audit:?}"
    );
    let deleted = admin.send::<ops::EndpointsDelete>(&id).await.unwrap();
    assert_eq!(deleted.deleted, id.id);
}

#[tokio::test]
async fn malformed_bodies_name_the_field_and_what_it_expects() {
    let stack = Stack::start(&[]).await;
    for (noun, verb, body, field, expected) in [
        (
            "endpoints",
            "create",
            r#"{"url":"http://127.0.0.1:9/x","timeout_ms":"1000"}"#,
            "timeout_ms",
            "expected u32",
        ),
        (
            "deliveries",
            "list",
            r#"{"since":"yesterday"}"#,
            "since",
            "RFC 3339",
        ),
        (
            "deliveries",
            "list",
            r#"{"state":"lost"}"#,
            "state",
            "unknown variant `lost`",
        ),
        (
            "endpoints",
            "create",
            r#"{"url":"http://127.0.0.1:9/x","colour":"red"}"#,
            "colour",
            "unknown field `colour`",
        ),
        (
            "endpoints",
            "create",
            r#"{"timeout_ms":1000}"#,
            "url",
            "missing field `url`",
        ),
        (
            "endpoints",
            "create",
            r#"{"url":"http://127.0.0.1:9/x","auth":{"type":"bearer"}}"#,
            "auth.token",
            "missing field `token`",
        ),
        (
            "replay",
            "start",
            r#"{"endpoint_id":"ep_1","since":"2026-13-01T00:00:00Z"}"#,
            "since",
            "RFC 3339",
        ),
    ] {
        let error = refusal(&stack, noun, verb, body).await;
        assert_eq!(error.code, ErrorCode::InvalidRequest, "{body}: {error:?}");
        assert_eq!(error.field.as_deref(), Some(field), "{body}: {error:?}");
        assert!(
            error.message.contains(expected),
            "{body}: {}",
            error.message
        );
        assert!(
            !error.message.contains("line 1"),
            "{body}: {}",
            error.message
        );
    }
}

#[tokio::test]
async fn unknown_operations_are_answered_with_the_valid_ones() {
    let stack = Stack::start(&[]).await;
    let (error, status) = answer_on(&stack, "hookwire.admin.default.widgets.list").await;
    assert_eq!(error.code, ErrorCode::InvalidSubject);
    assert_eq!(status, "400");
    assert!(error.message.contains("endpoints"), "{}", error.message);
    assert!(error.message.contains("dead-letters"), "{}", error.message);

    let (error, _) = answer_on(&stack, "hookwire.admin.default.endpoints.explode").await;
    assert_eq!(error.code, ErrorCode::InvalidSubject);
    assert!(
        error.message.contains("rotate-secret") && error.message.contains("create"),
        "{}",
        error.message
    );

    for subject in [
        "hookwire.admin.default.endpoints",
        "hookwire.admin.default.endpoints.get.extra",
        "hookwire.admin.default",
    ] {
        let (error, _) = answer_on(&stack, subject).await;
        assert_eq!(error.code, ErrorCode::InvalidSubject, "{subject}");
    }

    // An operation with a bad tenant is answered once, by the operation's own handler.
    let (error, _) = answer_on(&stack, "hookwire.admin.Not-A-Tenant.endpoints.list").await;
    assert_eq!(error.code, ErrorCode::InvalidSubject);
    assert!(error.message.contains("tenant"), "{}", error.message);
    // Operations themselves still work.
    let _: Value = stack
        .admin
        .call("endpoints", "list", &serde_json::json!({}))
        .await
        .unwrap();
}

#[tokio::test]
async fn ids_are_validated_alike_in_every_verb() {
    let stack = Stack::start(&[]).await;
    for id in ["", "*", "a.b", "has space", &"x".repeat(65)] {
        let body = serde_json::json!({"id": id}).to_string();
        for verb in ["get", "delete", "pause", "stats", "verify"] {
            let error = refusal(&stack, "endpoints", verb, &body).await;
            assert_eq!(error.code, ErrorCode::InvalidRequest, "{verb} {id:?}");
            assert_eq!(error.field.as_deref(), Some("id"), "{verb} {id:?}");
        }
        let create = serde_json::json!({"id": id, "url": "http://127.0.0.1:9/"}).to_string();
        let error = refusal(&stack, "endpoints", "create", &create).await;
        assert_eq!(error.code, ErrorCode::InvalidRequest, "create {id:?}");
        assert_eq!(error.field.as_deref(), Some("id"), "create {id:?}");

        let by_endpoint = serde_json::json!({"endpoint_id": id, "event_id": "e"}).to_string();
        let error = refusal(&stack, "deliveries", "get", &by_endpoint).await;
        assert_eq!(error.field.as_deref(), Some("endpoint_id"), "{id:?}");
    }
    // A valid id that does not exist is not found, worded once.
    let error = refusal(&stack, "endpoints", "get", r#"{"id":"ep_missing"}"#).await;
    assert_eq!(error.code, ErrorCode::NotFound);
    assert!(
        error
            .message
            .starts_with("no endpoint ep_missing in this tenant"),
        "{}",
        error.message
    );
}

#[tokio::test]
async fn a_test_send_without_a_payload_sends_the_catalogs_example() {
    let stack = Stack::start(&[]).await;
    let receiver = hookwire_testkit::Receiver::start().await;
    let endpoint = stack.endpoint(&receiver, serde_json::json!({})).await;
    let _: Value = stack
        .admin
        .call(
            "types",
            "create",
            &serde_json::json!({"name": "orders.paid", "example": {"order": 7}}),
        )
        .await
        .unwrap();
    let attempt: Value = stack
        .admin
        .call(
            "endpoints",
            "test",
            &serde_json::json!({"id": endpoint["id"], "event_type": "orders.paid"}),
        )
        .await
        .unwrap();
    assert_eq!(attempt["outcome"], "succeeded", "{attempt}");
    let sent = crate::support::wait_for_type(&receiver, "orders.paid", 1).await;
    assert_eq!(sent[0]["data"], serde_json::json!({"order": 7}));
}
