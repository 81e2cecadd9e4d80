//! Delivery objectives: an endpoint failed on purpose burns its error budget; each alert
//! threshold is announced once, and `endpoints.stats`, the metrics and the overview show
//! where it stands.

use std::time::Duration;

use hookwire_testkit::{Receiver, Reply};
use serde_json::{Value, json};

use crate::support::{Stack, WAIT, wait_for_type};

const BUDGET_EVENT: &str = "hookwire.endpoint.slo_budget";

#[tokio::test]
async fn budget_alerts_fire_once_per_threshold_as_an_endpoint_fails() {
    // The circuit breaker stays out of the way: every failure is a delivery's last.
    let stack = Stack::start(&[
        ("HOOKWIRE__BREAKER__CONSECUTIVE_FAILURES", "1000"),
        ("HOOKWIRE__BREAKER__MIN_ATTEMPTS", "1000"),
    ])
    .await;
    let ops = Receiver::start().await;
    stack.ops_endpoint(&ops).await;
    let receiver = Receiver::start().await;
    // Half of the deliveries may fail: with 10 delivered, the 4th failure burns past 50 %,
    // the 6th past 75 %, the 9th past 90 % and the 10th the whole budget.
    let created = stack
        .endpoint(
            &receiver,
            json!({"event_types": ["orders.*"], "retry_schedule_secs": [],
                   "slo": {"target_percent": 50, "within_secs": 60, "window_days": 1}}),
        )
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(
        created["slo"],
        json!({"target_percent": 50.0, "within_secs": 60, "window_days": 1})
    );

    for n in 0..10 {
        stack
            .publish("orders.paid", &json!({"n": n}), Some(&format!("ok-{n}")))
            .await;
    }
    receiver.wait_for(10, WAIT).await;
    stack.succeeded_delivery(&id, "ok-9", WAIT).await;

    receiver.set_fallback(Reply::status(500));
    let mut alerts = Vec::new();
    for n in 0..13 {
        stack
            .publish("orders.paid", &json!({"n": n}), Some(&format!("bad-{n}")))
            .await;
        // One failure at a time, so each threshold is reached by its own delivery.
        receiver.wait_for(11 + n, WAIT).await;
        stack
            .delivery_in_state(&id, &format!("bad-{n}"), "dead", WAIT)
            .await;
        let expected = match n + 1 {
            0..4 => 0,
            4..6 => 1,
            6..9 => 2,
            9 => 3,
            _ => 4,
        };
        alerts = wait_for_type(&ops, BUDGET_EVENT, expected).await;
        assert_eq!(alerts.len(), expected, "after {} failures", n + 1);
    }
    let thresholds: Vec<&Value> = alerts
        .iter()
        .map(|a| &a["data"]["threshold_percent"])
        .collect();
    assert_eq!(
        thresholds,
        [&json!(50), &json!(75), &json!(90), &json!(100)]
    );
    assert_eq!(alerts[0]["data"]["endpoint_id"], id.as_str());
    assert_eq!(alerts[3]["data"]["missed"], 10);
    // Failures past the whole budget announce nothing more.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let all: Vec<Value> = wait_for_type(&ops, BUDGET_EVENT, 4).await;
    assert_eq!(all.len(), 4, "{all:?}");

    let stats: Value = stack
        .admin
        .call("endpoints", "stats", &json!({"id": id}))
        .await
        .unwrap();
    let slo = &stats["slo"];
    assert_eq!(
        (
            &slo["deliveries"],
            &slo["met"],
            &slo["missed"],
            &slo["meeting"]
        ),
        (&json!(23), &json!(10), &json!(13), &json!(false)),
        "{stats}"
    );
    let burned = slo["budget_burned_percent"].as_f64().unwrap();
    assert!((burned - 13.0 / 11.5 * 100.0).abs() < 1e-6, "{burned}");
    assert_eq!(slo["budget_remaining_percent"], 0.0);

    let metrics = stack.metrics().await;
    let compliance = metrics
        .lines()
        .find(|l| l.starts_with("hookwire_endpoint_slo_compliance_ratio{") && l.contains(&id))
        .unwrap_or_else(|| panic!("no compliance gauge in {metrics}"));
    let ratio: f64 = compliance.rsplit(' ').next().unwrap().parse().unwrap();
    assert!((ratio - 10.0 / 23.0).abs() < 1e-9, "{compliance}");

    let overview: Value = stack
        .admin
        .call("overview", "get", &json!({}))
        .await
        .unwrap();
    assert_eq!(overview["endpoints"]["missing_slo"], 1, "{overview}");
}

#[tokio::test]
async fn objectives_are_validated_and_removable() {
    let stack = Stack::start(&[]).await;
    let receiver = Receiver::start().await;
    for (slo, field) in [
        (
            json!({"target_percent": 100, "within_secs": 60}),
            "slo.target_percent",
        ),
        (
            json!({"target_percent": 99.9, "within_secs": 0}),
            "slo.within_secs",
        ),
        (
            json!({"target_percent": 99.9, "within_secs": 60, "window_days": 91}),
            "slo.window_days",
        ),
    ] {
        let refused = crate::support::refused_create(
            &stack,
            &json!({"url": receiver.url_for("/hook"), "slo": slo}),
        )
        .await;
        assert_eq!(refused.field.as_deref(), Some(field), "{slo}");
    }
    let created = stack
        .endpoint(
            &receiver,
            json!({"slo": {"target_percent": 99.95, "within_secs": 30}}),
        )
        .await;
    assert_eq!(created["slo"]["window_days"], 30, "the default window");
    let id = created["id"].as_str().unwrap();
    let stats: Value = stack
        .admin
        .call("endpoints", "stats", &json!({"id": id}))
        .await
        .unwrap();
    assert_eq!(stats["slo"]["deliveries"], 0);
    assert_eq!(stats["slo"]["meeting"], true);
    assert!(stats["slo"].get("compliance_percent").is_none());
    let removed: Value = stack
        .admin
        .call("endpoints", "update", &json!({"id": id, "slo": null}))
        .await
        .unwrap();
    assert!(removed.get("slo").is_none(), "{removed}");
}
