//! Delivery objectives at work: after each index commit, the endpoints whose settled
//! deliveries were counted are measured against their objective
//! ([`hookwire_protocol::slo`]); the metrics follow, and a budget alert
//! (`hookwire.endpoint.slo_budget`) is published when the burned share rises past a
//! threshold. The level reached is kept in the state file, so an alert fires once per
//! crossing however often the check runs or the instance restarts; every instance checks,
//! and the alert's `Nats-Msg-Id` makes the events stream keep one.

use std::collections::HashMap;
use std::time::{Duration, Instant};

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

/// How often one endpoint is measured at most: a measurement reads its window's hourly
/// counts, which a busy endpoint would otherwise cause after every index commit.
const MEASURE_EVERY: Duration = Duration::from_secs(1);

/// The endpoints waiting to be measured, and when each was last.
#[derive(Default)]
pub(crate) struct Checker {
    /// Each endpoint's last measurement.
    measured: HashMap<(Tenant, String), Instant>,
    /// Endpoints with deliveries settled since, with the newest such attempt's time.
    due: HashMap<(Tenant, String), DateTime<Utc>>,
}

impl Checker {
    /// Notes `touched` (endpoints whose settled deliveries were just indexed, the newest
    /// attempt among them made at `newest_at`) and measures every endpoint due whose last
    /// measurement is [`MEASURE_EVERY`] old; the indexer also calls it when quiet, with
    /// nothing touched, so the last of a burst is measured too.
    pub(crate) async fn check(
        &mut self,
        engine: &Engine,
        store: &Store,
        touched: Vec<(Tenant, String)>,
        newest_at: DateTime<Utc>,
    ) {
        for key in touched {
            let at = self.due.entry(key).or_insert(newest_at);
            *at = (*at).max(newest_at);
        }
        if self.due.is_empty() {
            return;
        }
        let now = Instant::now();
        for (key, newest_at) in self.take_ready(now) {
            if !measure(engine, store, &key, newest_at).await {
                // Measured again at the next check: its alert is not lost.
                self.due.insert(key, newest_at);
            }
        }
        // Forget what is long measured, so deleted endpoints leave no trace.
        self.measured
            .retain(|_, at| now.duration_since(*at) < MEASURE_EVERY * 60);
    }
}

impl Checker {
    /// Takes the endpoints due whose last measurement is [`MEASURE_EVERY`] old (or that
    /// were never measured), marking them measured at `now`.
    fn take_ready(&mut self, now: Instant) -> Vec<((Tenant, String), DateTime<Utc>)> {
        let ready: Vec<_> = self
            .due
            .iter()
            .filter(|(key, _)| {
                self.measured
                    .get(*key)
                    .is_none_or(|at| now.duration_since(*at) >= MEASURE_EVERY)
            })
            .map(|(key, at)| (key.clone(), *at))
            .collect();
        for (key, _) in &ready {
            self.due.remove(key);
            self.measured.insert(key.clone(), now);
        }
        ready
    }
}

/// Measures one endpoint, sets its metrics and announces the alert thresholds it passed;
/// false when it should be measured again (an alert could not be published or recorded).
async fn measure(
    engine: &Engine,
    store: &Store,
    (tenant, id): &(Tenant, String),
    newest_at: DateTime<Utc>,
) -> bool {
    let Some(objective) = engine
        .registry
        .get(tenant, id)
        .and_then(|live| live.endpoint.slo)
    else {
        return true;
    };
    let now = Utc::now();
    let announce = (now - newest_at).to_std().unwrap_or_default() <= ANNOUNCE_WITHIN;
    let (reader, t, i) = (store.clone(), tenant.clone(), id.clone());
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
            return false;
        }
        Err(e) => {
            tracing::warn!(error = %e, "the objective check stopped");
            return false;
        }
    };
    engine.metrics.set_slo(tenant, id, &report);
    let level = report.alert_level();
    if level == before {
        return true;
    }
    if announce
        && publish_alerts(engine, tenant, id, &report, before, now)
            .await
            .is_err()
    {
        return false;
    }
    let (writer, t, i) = (store.clone(), tenant.clone(), id.clone());
    let recorded =
        tokio::task::spawn_blocking(move || writer.set_slo_alert_level(&t, &i, level)).await;
    if matches!(recorded, Ok(Ok(()))) {
        true
    } else {
        tracing::warn!("cannot record an endpoint's objective alert level");
        false
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

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str) -> (Tenant, String) {
        (Tenant::default(), id.to_owned())
    }

    #[test]
    fn an_endpoint_is_measured_at_most_once_a_second_and_never_forgotten() {
        let mut checker = Checker::default();
        let start = Instant::now();
        let at = Utc::now();
        checker.due.insert(key("a"), at);
        assert_eq!(
            checker.take_ready(start).len(),
            1,
            "never measured: at once"
        );
        checker.due.insert(key("a"), at);
        checker.due.insert(key("b"), at);
        let ready = checker.take_ready(start + Duration::from_millis(10));
        assert_eq!(ready, [(key("b"), at)], "a waits, b goes");
        assert!(checker.due.contains_key(&key("a")), "a stays due");
        let ready = checker.take_ready(start + MEASURE_EVERY);
        assert_eq!(ready, [(key("a"), at)], "a second later");
        assert!(checker.due.is_empty());
    }
}
