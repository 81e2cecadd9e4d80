//! Content filters: an endpoint takes exactly the events whose data passes its filter, and
//! a bad filter is refused at save naming the failing part.

use std::collections::BTreeSet;

use hookwire_protocol::admin::ErrorCode;
use hookwire_testkit::Receiver;
use serde_json::{Value, json};

use crate::support::{Stack, WAIT, refused_create};

/// The test's own reading of the filter below, written apart from the filter code.
fn wanted(severity: &str, agent: &str, score: u64) -> bool {
    severity == "high" && (agent == "production_agent" || score > 90)
}

#[tokio::test]
async fn a_filter_delivers_exactly_the_matching_events_of_a_thousand() {
    let stack = Stack::start(&[]).await;
    let filtered = Receiver::start().await;
    let everything = Receiver::start().await;
    let filter = json!({"all": [
        {"path": "/severity", "eq": "high"},
        {"any": [{"path": "/agent_name", "eq": "production_agent"}, {"path": "/score", "gt": 90}]}
    ]});
    let endpoint = stack
        .endpoint(
            &filtered,
            json!({"event_types": ["alerts.*"], "filter": filter}),
        )
        .await;
    assert_eq!(endpoint["filter"], filter, "the view shows the filter");
    stack
        .endpoint(&everything, json!({"event_types": ["alerts.*"]}))
        .await;

    let mut expected = BTreeSet::new();
    for i in 0..1000_u64 {
        let severity = ["high", "low", "medium"][usize::try_from(i % 3).unwrap()];
        let agent = if i % 5 == 0 {
            "production_agent"
        } else {
            "staging"
        };
        let score = i % 100;
        if wanted(severity, agent, score) {
            expected.insert(format!("alert-{i}"));
        }
        let data = json!({"severity": severity, "agent_name": agent, "score": score, "n": i});
        stack
            .publish("alerts.raised", &data, Some(&format!("alert-{i}")))
            .await;
    }
    assert!(
        (50..300).contains(&expected.len()),
        "a meaningful mix: {}",
        expected.len()
    );

    // Every event reaches the unfiltered endpoint; by then fan-out has seen them all.
    everything.wait_for(1000, WAIT * 3).await;
    filtered.wait_for(expected.len(), WAIT).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let got: BTreeSet<String> = filtered
        .requests()
        .iter()
        .filter_map(|r| r.header("webhook-id").map(str::to_owned))
        .filter(|id| id.starts_with("alert-"))
        .collect();
    assert_eq!(got, expected);
}

#[tokio::test]
async fn bad_filters_are_refused_naming_the_failing_part_and_updates_remove_them() {
    let stack = Stack::start(&[]).await;
    for (filter, field) in [
        (
            json!({"all": [{"path": "severity", "eq": "high"}]}),
            "filter.all[0]",
        ),
        (
            json!({"any": [{"path": "/a", "eq": 1}, {"path": "/b", "gt": [1]}]}),
            "filter.any[1]",
        ),
    ] {
        let error = refused_create(
            &stack,
            &json!({"url": "http://127.0.0.1:9/x", "filter": filter}),
        )
        .await;
        assert_eq!(error.code, ErrorCode::InvalidRequest, "{filter}");
        assert_eq!(
            error.field.as_deref(),
            Some(field),
            "{filter}: {}",
            error.message
        );
    }
    let error = refused_create(
        &stack,
        &json!({"url": "http://127.0.0.1:9/x", "filter": {"some": []}}),
    )
    .await;
    assert_eq!(error.field.as_deref(), Some("filter"), "{}", error.message);

    let created: Value = stack
        .admin
        .call(
            "endpoints",
            "create",
            &json!({"url": "http://127.0.0.1:9/x", "status": "paused",
                    "filter": {"all": [{"path": "/a", "exists": true}]}}),
        )
        .await
        .unwrap();
    let updated: Value = stack
        .admin
        .call(
            "endpoints",
            "update",
            &json!({"id": created["id"], "filter": null}),
        )
        .await
        .unwrap();
    assert!(updated.get("filter").is_none(), "{updated}");
}
