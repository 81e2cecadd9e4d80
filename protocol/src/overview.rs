//! `overview.get`: one tenant at a glance, for the console's first screen and dashboards.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::endpoint::EndpointStatus;
use crate::stats::WindowSummary;
use crate::subject::Tenant;

/// The reply to `overview.get`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Overview {
    /// The tenant.
    pub tenant: Tenant,
    /// When the overview was taken.
    pub at: DateTime<Utc>,
    /// Endpoints by state.
    pub endpoints: EndpointCounts,
    /// Attempts summed over every endpoint.
    pub windows: OverviewWindows,
    /// The last hour in five-minute points, oldest first.
    pub series: Series,
    /// Dead letters of the tenant.
    pub dead_letters: u64,
    /// Deliveries held for paused or unverified endpoints.
    pub held: u64,
    /// Retries waiting in the retry tiers, over every tenant (the tiers are shared).
    pub retries_waiting_all_tenants: u64,
    /// One line per endpoint.
    pub per_endpoint: Vec<EndpointLine>,
}

/// How many endpoints are in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointCounts {
    /// Every endpoint.
    pub total: u64,
    /// Delivering.
    pub active: u64,
    /// Paused by an operator.
    pub paused: u64,
    /// Disabled after failing.
    pub disabled: u64,
    /// Waiting for subscription verification.
    pub pending_verification: u64,
    /// Tried in the last hour with nothing delivered.
    pub failing: u64,
    /// Below their delivery objective over its window.
    #[serde(default)]
    pub missing_slo: u64,
}

/// The overview's windows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OverviewWindows {
    /// The last hour.
    #[serde(rename = "1h")]
    pub hour: WindowSummary,
    /// The last 24 hours.
    #[serde(rename = "24h")]
    pub day: WindowSummary,
}

/// Attempts and successes per statistics bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Series {
    /// The width of one point, seconds.
    pub bucket_secs: i64,
    /// Attempts per point.
    pub attempts: Vec<u64>,
    /// Successful attempts per point.
    pub succeeded: Vec<u64>,
}

/// One endpoint in the overview.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EndpointLine {
    /// The endpoint.
    pub id: String,
    /// Its URL.
    pub url: String,
    /// Its status.
    pub status: EndpointStatus,
    /// Tried in the last hour with nothing delivered.
    pub failing: bool,
    /// Attempts in the last 24 hours.
    pub attempts_24h: u64,
    /// Share of those that delivered; `null` without attempts.
    pub success_rate_24h: Option<f64>,
    /// 95th-percentile latency over 24 hours, ms.
    pub p95_ms_24h: Option<f64>,
    /// When it was last attempted (within 24 hours).
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// Its dead letters.
    pub dead_letters: u64,
    /// Its held deliveries.
    pub held: u64,
    /// How it stands against its delivery objective, when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slo: Option<crate::slo::SloReport>,
}

impl OverviewWindows {
    /// The windows with their wire names, shortest first.
    #[must_use]
    pub fn named(&self) -> [(&'static str, &WindowSummary); 2] {
        [("1h", &self.hour), ("24h", &self.day)]
    }
}
