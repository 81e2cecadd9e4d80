//! When to try again: the retry schedule, jitter, `Retry-After`, and the retry tier a
//! waiting delivery is parked in.
//!
//! Pure functions of their inputs (randomness comes in as a number), so every branch is
//! unit-tested.

use std::time::Duration;

/// Delays between attempts when an endpoint sets none: about 22 hours in all, 9 attempts.
pub(crate) const DEFAULT_SCHEDULE: [Duration; 8] = [
    Duration::from_secs(5),
    Duration::from_secs(30),
    Duration::from_mins(2),
    Duration::from_mins(10),
    Duration::from_hours(1),
    Duration::from_hours(3),
    Duration::from_hours(6),
    Duration::from_hours(12),
];

/// Retry tiers when the configuration sets none: a ladder dense enough that a delivery
/// parked in the tier at or above its delay is never late by more than that tier's step.
pub(crate) const DEFAULT_TIERS: [Duration; 15] = [
    Duration::from_secs(1),
    Duration::from_secs(5),
    Duration::from_secs(10),
    Duration::from_secs(30),
    Duration::from_mins(1),
    Duration::from_mins(2),
    Duration::from_mins(5),
    Duration::from_mins(10),
    Duration::from_mins(30),
    Duration::from_hours(1),
    Duration::from_hours(2),
    Duration::from_hours(3),
    Duration::from_hours(6),
    Duration::from_hours(12),
    Duration::from_hours(24),
];

/// How far a scheduled delay may be moved either way, as a fraction.
pub(crate) const JITTER: f64 = 0.2;

/// How long to wait before the next attempt after attempt number `failed_attempt`
/// (1-based) failed, or `None` when the schedule is used up and the delivery is dead.
///
/// `retry_after` is what the receiver asked for; it replaces the scheduled delay (clamped
/// to `max_retry_after`) but never grants an attempt beyond the schedule. `unit` is a
/// random number in `[-1, 1]` that spreads scheduled delays by ±[`JITTER`], so a burst of
/// failures does not come back as a burst.
#[must_use]
pub(crate) fn next_delay(
    schedule: &[Duration],
    failed_attempt: u32,
    retry_after: Option<Duration>,
    max_retry_after: Duration,
    unit: f64,
) -> Option<Duration> {
    let index = usize::try_from(failed_attempt.checked_sub(1)?).ok()?;
    let scheduled = *schedule.get(index)?;
    Some(match retry_after {
        Some(asked) => asked.min(max_retry_after),
        None => jittered(scheduled, unit),
    })
}

/// `delay` moved by `unit` × [`JITTER`] of itself; `unit` is clamped to `[-1, 1]`.
#[must_use]
pub(crate) fn jittered(delay: Duration, unit: f64) -> Duration {
    let factor = 1.0 + unit.clamp(-1.0, 1.0) * JITTER;
    delay.mul_f64(factor)
}

/// The tier a delivery waiting `delay` is parked in: the shortest tier at least that long,
/// else the longest. `tiers` is sorted ascending and not empty.
#[must_use]
pub(crate) fn tier_for(tiers: &[Duration], delay: Duration) -> usize {
    tiers
        .iter()
        .position(|tier| *tier >= delay)
        .unwrap_or(tiers.len().saturating_sub(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: Duration = Duration::from_hours(1);

    #[test]
    fn default_schedule_is_about_22_hours_over_9_attempts() {
        let total: Duration = DEFAULT_SCHEDULE.iter().sum();
        assert_eq!(
            total,
            Duration::from_secs(5 + 30 + 120 + 600 + 3600 + 3 * 3600 + 6 * 3600 + 12 * 3600)
        );
        assert!(total > Duration::from_hours(22) && total < Duration::from_hours(23));
        assert_eq!(DEFAULT_SCHEDULE.len() + 1, 9);
    }

    #[test]
    fn schedule_is_followed_then_exhausted() {
        for (i, expected) in DEFAULT_SCHEDULE.iter().enumerate() {
            let attempt = u32::try_from(i).unwrap() + 1;
            assert_eq!(
                next_delay(&DEFAULT_SCHEDULE, attempt, None, MAX, 0.0),
                Some(*expected)
            );
        }
        assert_eq!(next_delay(&DEFAULT_SCHEDULE, 9, None, MAX, 0.0), None);
        assert_eq!(next_delay(&DEFAULT_SCHEDULE, 0, None, MAX, 0.0), None);
        assert_eq!(next_delay(&[], 1, None, MAX, 0.0), None);
    }

    #[test]
    fn jitter_stays_within_twenty_percent() {
        let base = Duration::from_secs(100);
        assert_eq!(jittered(base, -1.0), Duration::from_secs(80));
        assert_eq!(jittered(base, 1.0), Duration::from_mins(2));
        assert_eq!(jittered(base, 0.0), base);
        assert_eq!(
            jittered(base, 7.0),
            Duration::from_mins(2),
            "unit is clamped"
        );
        assert_eq!(jittered(base, -7.0), Duration::from_secs(80));
        for unit in [-0.9, -0.3, 0.1, 0.6] {
            let delay = next_delay(&DEFAULT_SCHEDULE, 2, None, MAX, unit).unwrap();
            assert!(delay >= Duration::from_secs(24) && delay <= Duration::from_secs(36));
        }
    }

    #[test]
    fn retry_after_replaces_the_delay_clamped_but_grants_no_extra_attempt() {
        let asked = Some(Duration::from_secs(42));
        assert_eq!(next_delay(&DEFAULT_SCHEDULE, 1, asked, MAX, 0.9), asked);
        let too_long = Some(Duration::from_hours(5));
        assert_eq!(
            next_delay(&DEFAULT_SCHEDULE, 1, too_long, MAX, 0.0),
            Some(MAX)
        );
        assert_eq!(next_delay(&DEFAULT_SCHEDULE, 9, asked, MAX, 0.0), None);
    }

    #[test]
    fn tiers_round_up_and_cap_at_the_longest() {
        let tiers = [
            Duration::from_secs(1),
            Duration::from_secs(5),
            Duration::from_secs(30),
        ];
        assert_eq!(tier_for(&tiers, Duration::ZERO), 0);
        assert_eq!(tier_for(&tiers, Duration::from_millis(900)), 0);
        assert_eq!(tier_for(&tiers, Duration::from_secs(1)), 0);
        assert_eq!(tier_for(&tiers, Duration::from_millis(1001)), 1);
        assert_eq!(tier_for(&tiers, Duration::from_secs(30)), 2);
        assert_eq!(tier_for(&tiers, Duration::from_mins(50)), 2);
        assert!(
            DEFAULT_TIERS.windows(2).all(|w| w[0] < w[1]),
            "tiers ascend"
        );
        for delay in DEFAULT_SCHEDULE {
            assert_eq!(
                DEFAULT_TIERS[tier_for(&DEFAULT_TIERS, delay)],
                delay,
                "each default delay has its own tier"
            );
        }
    }
}
