//! The circuit breaker's rules, apart from I/O: what one attempt's result does to an
//! endpoint's circuit. The worker keeps the [`Counts`] per endpoint, stores the circuit on
//! the endpoint record (so every instance sees it) and announces the changes.

use chrono::{DateTime, Utc};
use hookwire_protocol::endpoint::{Circuit, CircuitState};

/// When a circuit opens, and for how long.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BreakerSettings {
    /// Consecutive failures that open the circuit.
    pub consecutive_failures: u32,
    /// The share of failed attempts in one window that opens it.
    pub failure_ratio: f64,
    /// The window the ratio is counted over, in seconds.
    pub window_secs: i64,
    /// Fewest attempts in a window before its ratio counts.
    pub min_attempts: u32,
    /// How long an open circuit waits before its probe, in seconds.
    pub cooldown_secs: i64,
    /// How long an endpoint may fail every attempt before it is disabled, in seconds
    /// (`0` never disables).
    pub auto_disable_after_secs: i64,
}

impl Default for BreakerSettings {
    fn default() -> Self {
        Self {
            consecutive_failures: 5,
            failure_ratio: 0.5,
            window_secs: 60,
            min_attempts: 20,
            cooldown_secs: 5 * 60,
            auto_disable_after_secs: 5 * 24 * 60 * 60,
        }
    }
}

/// What this instance has seen of an endpoint's recent attempts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    consecutive_failures: u32,
    first_failure_at: Option<DateTime<Utc>>,
    window_start: Option<DateTime<Utc>>,
    window_attempts: u32,
    window_failures: u32,
}

/// What the circuit should become after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Change {
    /// Nothing changes.
    Keep,
    /// Open it (from closed, or again after a failed probe).
    Open(Circuit),
    /// Close it: the probe succeeded.
    Close,
    /// Disable the endpoint: it has failed every attempt for too long.
    Disable(String),
}

/// Applies one attempt's result (`succeeded`) at `now` to `counts` and the endpoint's
/// `circuit` (`None` when closed).
pub(crate) fn on_result(
    settings: &BreakerSettings,
    counts: &mut Counts,
    circuit: Option<&Circuit>,
    succeeded: bool,
    now: DateTime<Utc>,
) -> Change {
    count(settings, counts, succeeded, now);
    if succeeded {
        return if circuit.is_some() {
            Change::Close
        } else {
            Change::Keep
        };
    }
    if let Some(open) = circuit {
        if open.state == CircuitState::Open {
            // An attempt that started before the circuit opened: it changes nothing.
            return Change::Keep;
        }
        let failing_for = (now - open.failing_since).num_seconds();
        let auto_disable = settings.auto_disable_after_secs;
        // Announced (disable_near) from four fifths of the period, while there is time to
        // act; an endpoint is never disabled before that announcement, so a late probe
        // that finds the period over announces first and disables at the next failure.
        let near =
            auto_disable > 0 && failing_for.saturating_mul(5) >= auto_disable.saturating_mul(4);
        if open.disable_near && auto_disable > 0 && failing_for >= auto_disable {
            return Change::Disable(format!(
                "every attempt failed since {} ({}); enable it once the receiver is fixed",
                open.failing_since.format("%Y-%m-%d %H:%M:%S UTC"),
                human_duration(failing_for),
            ));
        }
        return Change::Open(Circuit {
            state: CircuitState::Open,
            reason: format!("the probe failed; {}", open.reason),
            opened_at: open.opened_at,
            failing_since: open.failing_since,
            probe_at: now + chrono::Duration::seconds(settings.cooldown_secs),
            disable_near: open.disable_near || near,
        });
    }
    let reason = if counts.consecutive_failures >= settings.consecutive_failures {
        format!("{} consecutive failures", counts.consecutive_failures)
    } else if counts.window_attempts >= settings.min_attempts
        && f64::from(counts.window_failures)
            >= settings.failure_ratio * f64::from(counts.window_attempts)
    {
        format!(
            "{} of {} attempts failed within {} s",
            counts.window_failures, counts.window_attempts, settings.window_secs
        )
    } else {
        return Change::Keep;
    };
    let failing_since = counts.first_failure_at.unwrap_or(now);
    *counts = Counts::default();
    Change::Open(Circuit {
        state: CircuitState::Open,
        reason,
        opened_at: now,
        failing_since,
        probe_at: now + chrono::Duration::seconds(settings.cooldown_secs),
        disable_near: false,
    })
}

fn count(settings: &BreakerSettings, counts: &mut Counts, succeeded: bool, now: DateTime<Utc>) {
    let window_over = counts
        .window_start
        .is_none_or(|start| (now - start).num_seconds() >= settings.window_secs);
    if window_over {
        counts.window_start = Some(now);
        counts.window_attempts = 0;
        counts.window_failures = 0;
    }
    counts.window_attempts += 1;
    if succeeded {
        counts.consecutive_failures = 0;
        counts.first_failure_at = None;
    } else {
        counts.window_failures += 1;
        counts.consecutive_failures += 1;
        counts.first_failure_at.get_or_insert(now);
    }
}

/// Whether an open circuit's probe is due: open past `probe_at`, or half open with a
/// probe that never reported.
#[must_use]
pub(crate) fn probe_due(circuit: &Circuit, now: DateTime<Utc>) -> bool {
    now >= circuit.probe_at
}

/// The circuit while its probe is on the way.
#[must_use]
pub(crate) fn half_open(
    circuit: &Circuit,
    settings: &BreakerSettings,
    now: DateTime<Utc>,
) -> Circuit {
    Circuit {
        state: CircuitState::HalfOpen,
        probe_at: now + chrono::Duration::seconds(settings.cooldown_secs),
        ..circuit.clone()
    }
}

fn human_duration(secs: i64) -> String {
    let tenths = |unit: i64| {
        let tenths = secs * 10 / unit;
        format!("{}.{}", tenths / 10, tenths % 10)
    };
    match secs {
        86_400.. => format!("{} days", tenths(86_400)),
        3_600.. => format!("{} hours", tenths(3_600)),
        _ => format!("{secs} s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_795_000_000 + secs, 0).expect("a valid time")
    }

    fn settings() -> BreakerSettings {
        BreakerSettings::default()
    }

    /// Feeds results one second apart from `start`; returns the first change that is not Keep.
    fn feed(counts: &mut Counts, results: &[bool], start: i64) -> Option<(usize, Change)> {
        results.iter().enumerate().find_map(|(i, ok)| {
            let i64_index = i64::try_from(i).expect("small");
            match on_result(&settings(), counts, None, *ok, at(start + i64_index)) {
                Change::Keep => None,
                change => Some((i, change)),
            }
        })
    }

    #[test]
    fn five_consecutive_failures_open_the_circuit() {
        let mut counts = Counts::default();
        let (index, change) = feed(&mut counts, &[false; 5], 0).expect("it opens");
        assert_eq!(index, 4);
        let Change::Open(circuit) = change else {
            panic!("expected Open, got {change:?}");
        };
        assert_eq!(circuit.state, CircuitState::Open);
        assert_eq!(circuit.failing_since, at(0));
        assert_eq!(circuit.opened_at, at(4));
        assert_eq!(circuit.probe_at, at(4 + 300));
        assert_eq!(circuit.reason, "5 consecutive failures");
    }

    #[test]
    fn a_success_resets_the_consecutive_count() {
        let mut counts = Counts::default();
        let results = [false, false, false, false, true, false, false, false, false];
        assert_eq!(feed(&mut counts, &results, 0), None);
    }

    #[test]
    fn a_high_failure_ratio_opens_it_once_enough_attempts_were_seen() {
        let mut counts = Counts::default();
        // Alternating: never 5 in a row, but half of the attempts fail.
        let results: Vec<bool> = (0..40).map(|i| i % 2 == 0).collect();
        let (index, change) = feed(&mut counts, &results, 0).expect("it opens");
        assert_eq!(index, 19, "opens at the 20th attempt, the minimum");
        let Change::Open(circuit) = change else {
            panic!("expected Open");
        };
        assert_eq!(circuit.reason, "10 of 20 attempts failed within 60 s");
    }

    #[test]
    fn the_ratio_window_starts_over() {
        let mut counts = Counts::default();
        let spread: Vec<bool> = (0..19).map(|i| i % 2 == 0).collect();
        assert_eq!(feed(&mut counts, &spread, 0), None);
        // A minute later the old attempts no longer count.
        assert_eq!(feed(&mut counts, &[false, true, false, true], 61), None);
    }

    #[test]
    fn a_probe_closes_on_success_and_reopens_on_failure() {
        let opened = Circuit {
            state: CircuitState::Open,
            reason: "5 consecutive failures".into(),
            opened_at: at(0),
            failing_since: at(-4),
            probe_at: at(300),
            disable_near: false,
        };
        assert!(!probe_due(&opened, at(299)));
        assert!(probe_due(&opened, at(300)));
        let probing = half_open(&opened, &settings(), at(300));
        assert_eq!(probing.state, CircuitState::HalfOpen);
        assert_eq!(probing.probe_at, at(600));

        let mut counts = Counts::default();
        assert_eq!(
            on_result(&settings(), &mut counts, Some(&probing), true, at(301)),
            Change::Close
        );
        let Change::Open(again) =
            on_result(&settings(), &mut counts, Some(&probing), false, at(301))
        else {
            panic!("a failed probe reopens");
        };
        assert_eq!(again.state, CircuitState::Open);
        assert_eq!(again.failing_since, at(-4), "the failing period goes on");
        assert_eq!(again.opened_at, at(0));
        assert_eq!(again.probe_at, at(601));
        // A late failure of an attempt from before the opening changes nothing.
        assert_eq!(
            on_result(&settings(), &mut counts, Some(&opened), false, at(10)),
            Change::Keep
        );
    }

    #[test]
    fn failing_every_attempt_for_the_period_disables() {
        let probing = Circuit {
            state: CircuitState::HalfOpen,
            reason: "5 consecutive failures".into(),
            opened_at: at(0),
            failing_since: at(0),
            probe_at: at(5 * 86_400),
            disable_near: false,
        };
        let mut counts = Counts::default();
        let near = |secs| match on_result(
            &settings(),
            &mut Counts::default(),
            Some(&probing),
            false,
            at(secs),
        ) {
            Change::Open(circuit) => circuit.disable_near,
            other => panic!("{other:?}"),
        };
        assert!(!near(4 * 86_400 - 1), "before four fifths of the period");
        assert!(near(4 * 86_400), "from four fifths of the period");
        let warned = Circuit {
            disable_near: true,
            ..probing.clone()
        };
        let Change::Open(still) = on_result(&settings(), &mut counts, Some(&warned), false, at(10))
        else {
            panic!("a failed probe reopens");
        };
        assert!(still.disable_near, "announced once, kept");
        let just_before = at(5 * 86_400 - 1);
        assert!(matches!(
            on_result(&settings(), &mut counts, Some(&warned), false, just_before),
            Change::Open(_)
        ));
        assert!(
            near(5 * 86_400),
            "not warned yet: the period's end warns first"
        );
        let Change::Disable(reason) = on_result(
            &settings(),
            &mut counts,
            Some(&warned),
            false,
            at(5 * 86_400),
        ) else {
            panic!("five days of failures disable");
        };
        assert!(reason.contains("5.0 days"), "{reason}");
        let never = BreakerSettings {
            auto_disable_after_secs: 0,
            ..settings()
        };
        assert!(matches!(
            on_result(&never, &mut counts, Some(&probing), false, at(50 * 86_400)),
            Change::Open(_)
        ));
    }
}
