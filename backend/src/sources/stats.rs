//! Per-source counters on this instance: requests by outcome and the time to answer
//! published ones (over the most recent [`LATENCY_WINDOW`]).

use std::collections::VecDeque;
use std::sync::Mutex;

use hookwire_protocol::source::{RequestOutcome, SourceStats};

/// Published requests whose latency the percentiles cover.
pub(crate) const LATENCY_WINDOW: usize = 1024;

/// One source's counters.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    stats: SourceStats,
    latencies_us: VecDeque<u64>,
}

impl Counters {
    /// Counts one request that reached the source.
    pub(crate) fn record(&self, outcome: RequestOutcome, latency_us: u64) {
        let mut inner = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let stats = &mut inner.stats;
        if outcome == RequestOutcome::Handshake {
            stats.handshakes += 1;
            return;
        }
        stats.received += 1;
        if outcome.verified() {
            stats.verified += 1;
        }
        match outcome {
            RequestOutcome::Published => stats.published += 1,
            RequestOutcome::Duplicate => stats.duplicates += 1,
            other => *stats.rejected.entry(other).or_default() += 1,
        }
        if outcome == RequestOutcome::Published {
            if inner.latencies_us.len() == LATENCY_WINDOW {
                inner.latencies_us.pop_front();
            }
            inner.latencies_us.push_back(latency_us);
        }
    }

    /// The counters with the latency percentiles.
    #[must_use]
    pub(crate) fn snapshot(&self) -> SourceStats {
        let inner = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut sorted: Vec<u64> = inner.latencies_us.iter().copied().collect();
        sorted.sort_unstable();
        let at =
            |q: usize| (!sorted.is_empty()).then(|| sorted[(sorted.len() * q).div_ceil(100) - 1]);
        SourceStats {
            p50_us: at(50),
            p99_us: at(99),
            ..inner.stats.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_outcome_and_takes_percentiles_of_published_requests() {
        let counters = Counters::default();
        for latency in 1..=100 {
            counters.record(RequestOutcome::Published, latency);
        }
        counters.record(RequestOutcome::Duplicate, 5_000);
        counters.record(RequestOutcome::BadSignature, 1);
        counters.record(RequestOutcome::BadSignature, 1);
        counters.record(RequestOutcome::Unavailable, 9_000);
        counters.record(RequestOutcome::Handshake, 1);
        let stats = counters.snapshot();
        assert_eq!(stats.received, 104);
        assert_eq!(stats.verified, 102);
        assert_eq!(stats.published, 100);
        assert_eq!(stats.duplicates, 1);
        assert_eq!(stats.handshakes, 1, "a handshake is counted apart");
        assert!(!stats.rejected.contains_key(&RequestOutcome::Handshake));
        assert_eq!(stats.rejected[&RequestOutcome::BadSignature], 2);
        assert_eq!(stats.rejected[&RequestOutcome::Unavailable], 1);
        assert_eq!(stats.p50_us, Some(50));
        assert_eq!(stats.p99_us, Some(99));
    }

    #[test]
    fn the_window_keeps_the_most_recent() {
        let counters = Counters::default();
        for _ in 0..LATENCY_WINDOW {
            counters.record(RequestOutcome::Published, 1_000);
        }
        for _ in 0..LATENCY_WINDOW {
            counters.record(RequestOutcome::Published, 10);
        }
        assert_eq!(counters.snapshot().p99_us, Some(10));
        assert_eq!(Counters::default().snapshot().p50_us, None);
    }
}
