//! `overview.get`: one tenant at a glance, for the console's first screen and for
//! dashboards: endpoints by state, the last hour and day summed over every endpoint, a
//! per-endpoint line (24 h success rate, p95, last attempt, dead letters) and what waits.

use std::collections::HashMap;

use futures_util::StreamExt as _;
use hookwire_protocol::Tenant;
use hookwire_protocol::admin::{AdminError, NoFields};
use hookwire_protocol::endpoint::EndpointStatus;
use hookwire_protocol::operation::ops;
use hookwire_protocol::overview::{
    EndpointCounts, EndpointLine, Overview, OverviewWindows, Series,
};
use hookwire_protocol::slo::Slo;

use super::{Admin, Handler};
use crate::engine::Engine;
use crate::slo;
use crate::store::stats::{BUCKET_SECS, StatsBucket, bucket_of_secs};

/// Points in the one-hour series (one per statistics bucket).
const SERIES_POINTS: i64 = 12;
/// More endpoints than any tenant is expected to have; the overview covers them all.
const ALL_ENDPOINTS: usize = 100_000;

impl Handler for ops::OverviewGet {
    /// The overview of `tenant` as of now.
    async fn handle(admin: &Admin, tenant: &Tenant, _: NoFields) -> Result<Overview, AdminError> {
        let engine = &admin.engine;
        let (endpoints, _) = engine.registry.page(tenant, None, ALL_ENDPOINTS);
        let now = chrono::Utc::now().timestamp();
        let windows = windows(now);
        let ids: Vec<(String, Option<Slo>)> =
            endpoints.iter().map(|e| (e.id.clone(), e.slo)).collect();
        let (reader, owner, at) = (admin.store.clone(), tenant.clone(), chrono::Utc::now());
        let sums = tokio::task::spawn_blocking(move || {
            ids.iter()
                .map(|(id, objective)| {
                    let sums = reader.stats(&owner, id, &windows)?;
                    let slo = objective
                        .map(|objective| slo::report(&reader, &owner, id, objective, at))
                        .transpose()?;
                    Ok::<_, crate::store::StoreError>((sums, slo))
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .await
        .map_err(|e| AdminError::internal("reading statistics", e))?
        .map_err(|e| AdminError::internal("reading statistics", e))?;
        let dead = per_endpoint_counts(engine, &engine.topology.dead, "dead", tenant).await?;
        let held = per_endpoint_counts(engine, &engine.topology.held, "held", tenant).await?;
        let retrying = stream_messages(engine, &engine.topology.retry).await?;

        let mut hour = StatsBucket::default();
        let mut day = StatsBucket::default();
        let points = usize::try_from(SERIES_POINTS).unwrap_or(0);
        let mut series = Series {
            bucket_secs: BUCKET_SECS,
            attempts: vec![0; points],
            succeeded: vec![0; points],
        };
        let mut counts = EndpointCounts::default();
        let mut lines = Vec::with_capacity(endpoints.len());
        for (endpoint, (sums, slo)) in endpoints.iter().zip(sums) {
            let (endpoint_hour, endpoint_day) = (&sums[0], &sums[1]);
            hour.merge(endpoint_hour);
            day.merge(endpoint_day);
            for (k, bucket) in sums[2..].iter().enumerate().take(points) {
                series.attempts[k] += bucket.attempts;
                series.succeeded[k] += bucket.succeeded;
            }
            counts.total += 1;
            *match endpoint.status {
                EndpointStatus::Active => &mut counts.active,
                EndpointStatus::Paused => &mut counts.paused,
                EndpointStatus::Disabled { .. } => &mut counts.disabled,
                EndpointStatus::PendingVerification { .. } => &mut counts.pending_verification,
            } += 1;
            // Failing: it was tried in the last hour and nothing got through.
            let failing = endpoint_hour.attempts > 0 && endpoint_hour.succeeded == 0;
            counts.failing += u64::from(failing);
            counts.missing_slo += u64::from(slo.as_ref().is_some_and(|r| !r.meeting));
            let day_summary = endpoint_day.summary();
            lines.push(EndpointLine {
                id: endpoint.id.clone(),
                url: endpoint.url.clone(),
                status: endpoint.status.clone(),
                failing,
                attempts_24h: endpoint_day.attempts,
                success_rate_24h: day_summary.success_rate,
                p95_ms_24h: day_summary.latency_ms.p95,
                last_attempt_at: endpoint_day.last_at,
                dead_letters: dead.get(endpoint.id.as_str()).copied().unwrap_or(0),
                held: held.get(endpoint.id.as_str()).copied().unwrap_or(0),
                slo,
            });
        }
        Ok(Overview {
            tenant: tenant.clone(),
            at: chrono::Utc::now(),
            endpoints: counts,
            windows: OverviewWindows {
                hour: hour.summary(),
                day: day.summary(),
            },
            series,
            dead_letters: dead.values().sum(),
            held: held.values().sum(),
            retries_waiting_all_tenants: retrying,
            per_endpoint: lines,
        })
    }
}

/// The last hour, the last day, then the hour's buckets oldest first, as `[from, to)`
/// Unix-second ranges.
fn windows(now: i64) -> Vec<(i64, i64)> {
    let current = bucket_of_secs(now);
    let mut windows = vec![(now - 3600, now + 1), (now - 86_400, now + 1)];
    windows.extend(
        (0..SERIES_POINTS)
            .rev()
            .map(|back| current - back * BUCKET_SECS)
            .map(|start| (start, start + BUCKET_SECS)),
    );
    windows
}

/// Messages per endpoint in a stream whose subjects are `<prefix>.<kind>.<tenant>.<endpoint>`.
async fn per_endpoint_counts(
    engine: &Engine,
    stream: &str,
    kind: &str,
    tenant: &Tenant,
) -> Result<HashMap<String, u64>, AdminError> {
    let stream = engine.js.get_stream(stream).await.map_err(unavailable)?;
    let filter = format!("{}.{kind}.{tenant}.>", engine.topology.subjects.prefix());
    let mut subjects = stream
        .info_with_subjects(filter)
        .await
        .map_err(unavailable)?;
    let mut counts = HashMap::new();
    while let Some(entry) = subjects.next().await {
        let (subject, n) = entry.map_err(unavailable)?;
        if let Some(endpoint) = subject.rsplit('.').next() {
            *counts.entry(endpoint.to_owned()).or_default() += u64::try_from(n).unwrap_or(0);
        }
    }
    Ok(counts)
}

async fn stream_messages(engine: &Engine, stream: &str) -> Result<u64, AdminError> {
    let mut stream = engine.js.get_stream(stream).await.map_err(unavailable)?;
    Ok(stream.info().await.map_err(unavailable)?.state.messages)
}

fn unavailable(e: impl std::fmt::Display) -> AdminError {
    AdminError::unavailable("counting dead letters, held deliveries and retries", e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_the_hour_the_day_and_twelve_aligned_buckets() {
        let now = 1_800_000_123;
        let windows = windows(now);
        assert_eq!(windows.len(), 14);
        assert_eq!(windows[0], (now - 3600, now + 1));
        assert_eq!(windows[1], (now - 86_400, now + 1));
        assert_eq!(
            windows[13],
            (1_800_000_000, 1_800_000_300),
            "the current bucket last"
        );
        assert_eq!(windows[2].0, 1_800_000_000 - 11 * BUCKET_SECS);
        for pair in windows[2..].windows(2) {
            assert_eq!(pair[0].1, pair[1].0, "contiguous");
        }
    }
}
