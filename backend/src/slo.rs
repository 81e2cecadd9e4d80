//! Delivery objectives at work: after each index commit, the endpoints whose settled
//! deliveries were counted are measured against their objective
//! ([`hookwire_protocol::slo`]); the metrics follow, and a budget alert
//! (`hookwire.endpoint.slo_budget`) is published when the burned share rises past a
//! threshold. The level reached is kept in the state file, so an alert fires once per
//! crossing however often the check runs or the instance restarts; every instance checks,
//! and the alert's `Nats-Msg-Id` makes the events stream keep one.

use std::time::Duration;

use chrono::{DateTime, Utc};
use hookwire_protocol::Tenant;
use hookwire_protocol::slo::{self, Slo, SloReport};

use crate::engine::Engine;
use crate::store::{Store, StoreError};

/// Crossings older than this (an instance catching up on the attempts stream) are
/// recorded without an alert: they were announced when they happened.
const ANNOUNCE_WITHIN: Duration = Duration::from_mins(5);

/// `endpoint`'s standing against `objective` now, from the state file.
pub(crate) fn report(
    store: &Store,
    tenant: &Tenant,
    endpoint_id: &str,
    objective: Slo,
    now: DateTime<Utc>,
) -> Result<SloReport, StoreError> {
    let since = now - chrono::TimeDelta::days(i64::from(objective.window_days));
    let (met, missed) = store.slo_counts(tenant, endpoint_id, since)?;
    Ok(SloReport::new(objective, met, missed))
}

/// Measures each of `touched` (endpoints whose settled deliveries were just indexed, the
/// newest attempt among them made at `newest_at`), sets its metrics and announces the
/// alert thresholds it passed.
pub(crate) async fn check(
    engine: &Engine,
    store: &Store,
    touched: Vec<(Tenant, String)>,
    newest_at: DateTime<Utc>,
) {
    let now = Utc::now();
    let announce = (now - newest_at).to_std().unwrap_or_default() <= ANNOUNCE_WITHIN;
    for (tenant, id) in touched {
        let Some(objective) = engine
            .registry
            .get(&tenant, &id)
            .and_then(|live| live.endpoint.slo)
        else {
            continue;
        };
        let reader = store.clone();
        let (t, i) = (tenant.clone(), id.clone());
        let measured = tokio::task::spawn_blocking(move || {
            let report = report(&reader, &t, &i, objective, now)?;
            let before = reader.slo_alert_level(&t, &i)?;
            Ok::<_, StoreError>((report, before))
        })
        .await;
        let (report, before) = match measured {
            Ok(Ok(measured)) => measured,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, endpoint = id, "cannot measure an endpoint's objective");
                continue;
            }
            Err(e) => {
                tracing::warn!(error = %e, "the objective check stopped");
                continue;
            }
        };
        engine.metrics.set_slo(&tenant, &id, &report);
        let level = report.alert_level();
        if level == before {
            continue;
        }
        if announce
            && publish_alerts(engine, &tenant, &id, &report, before, now)
                .await
                .is_err()
        {
            // Not recorded: the next check announces it again.
            continue;
        }
        let writer = store.clone();
        let recorded =
            tokio::task::spawn_blocking(move || writer.set_slo_alert_level(&tenant, &id, level))
                .await;
        if !matches!(recorded, Ok(Ok(()))) {
            tracing::warn!("cannot record an endpoint's objective alert level");
        }
    }
}

/// Publishes one `hookwire.endpoint.slo_budget` per threshold passed on the way from
/// `before` to the report's level.
async fn publish_alerts(
    engine: &Engine,
    tenant: &Tenant,
    endpoint_id: &str,
    report: &SloReport,
    before: u8,
    now: DateTime<Utc>,
) -> Result<(), ()> {
    for threshold in slo::crossed(before, report.alert_level()) {
        let data = serde_json::json!({
            "endpoint_id": endpoint_id,
            "threshold_percent": threshold,
            "budget_burned_percent": report.budget_burned_percent,
            "compliance_percent": report.compliance_percent,
            "deliveries": report.deliveries,
            "missed": report.missed,
            "objective": report.objective,
        });
        // One per crossing, whichever instances see it: they see it within the hour.
        let msg_id = format!(
            "slo-budget:{tenant}:{endpoint_id}:{threshold}:{}",
            now.timestamp() / 3600
        );
        if let Err(e) = engine
            .publish_operational_once(tenant, "endpoint.slo_budget", &data, &msg_id)
            .await
        {
            tracing::warn!(error = %e, endpoint = endpoint_id, "cannot publish an objective alert; it is tried again");
            return Err(());
        }
        tracing::info!(%tenant, endpoint = endpoint_id, threshold, "error budget threshold passed");
    }
    Ok(())
}
