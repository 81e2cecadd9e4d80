//! Pacing one endpoint's deliveries, apart from I/O: a rate limit as a schedule of slots
//! (the generic cell rate algorithm, so a delivery that must wait knows exactly how long
//! and keeps its slot) and an in-flight limit that adapts to the receiver (halved when it
//! says it is overloaded or slows down, grown back by one per round of successes).

use std::time::{Duration, Instant};

/// Hands out delivery slots at most `rate` per second, with bursts of up to one second's
/// worth.
#[derive(Debug, Clone, Default)]
pub(crate) struct Pacer {
    /// The theoretical arrival time of the next delivery.
    next: Option<Instant>,
}

impl Pacer {
    /// Takes the next slot and returns how long to wait for it (zero: go now).
    pub(crate) fn reserve(&mut self, rate_per_sec: u32, now: Instant) -> Duration {
        let rate = rate_per_sec.max(1);
        let interval = Duration::from_secs(1) / rate;
        let burst = interval * (rate - 1);
        let next = self.next.map_or(now, |next| next.max(now));
        self.next = Some(next + interval);
        next.saturating_duration_since(now).saturating_sub(burst)
    }
}

/// What an attempt told about the receiver's load.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Load {
    /// Answered (any status but the two below) after `latency`.
    Answered {
        /// How long it took.
        latency: Duration,
    },
    /// 429 Too Many Requests or 503 Service Unavailable.
    Overloaded,
    /// No answer (timeout, refused): says nothing about load.
    Unknown,
}

/// The in-flight limit of one endpoint on this instance.
#[derive(Debug, Clone)]
pub(crate) struct Concurrency {
    limit: f64,
    in_flight: u32,
    recent_ms: Option<f64>,
    usual_ms: Option<f64>,
    last_cut: Option<Instant>,
    window: Window,
}

/// The answers of the current one-second window: how many, and how many said "overloaded".
#[derive(Debug, Clone, Default)]
struct Window {
    started: Option<Instant>,
    answers: u32,
    overloaded: u32,
}

/// Latency this many times the usual counts as slowing down.
const SLOWDOWN_FACTOR: f64 = 2.0;
/// Below this, latency changes are noise.
const SLOWDOWN_FLOOR_MS: f64 = 50.0;
/// At most one cut per this long, so one burst of 429s halves the limit once; overload
/// answers are counted over windows this long.
const CUT_EVERY: Duration = Duration::from_secs(1);

impl Concurrency {
    /// A limit starting at `max`.
    #[must_use]
    pub(crate) fn new(max: u32) -> Self {
        Self {
            limit: f64::from(max.max(1)),
            in_flight: 0,
            recent_ms: None,
            usual_ms: None,
            last_cut: None,
            window: Window::default(),
        }
    }

    /// The current limit, whole.
    #[must_use]
    pub(crate) fn limit(&self) -> u32 {
        // The limit is kept within 1..=max, so it fits.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let whole = self.limit.floor() as u32;
        whole.max(1)
    }

    /// Whether a place is free under `max` and the adapted limit (none is taken).
    #[must_use]
    pub(crate) fn has_room(&self, max: u32) -> bool {
        self.in_flight < self.limit().min(max.max(1))
    }

    /// Takes a place if one is free under `max` and the adapted limit.
    pub(crate) fn try_acquire(&mut self, max: u32) -> bool {
        self.limit = self.limit.min(f64::from(max.max(1)));
        if self.has_room(max) {
            self.in_flight += 1;
            true
        } else {
            false
        }
    }

    /// Gives the place back with what the attempt showed, adapting the limit (at most `max`).
    pub(crate) fn release(&mut self, load: Load, max: u32, now: Instant) {
        self.in_flight = self.in_flight.saturating_sub(1);
        let max = f64::from(max.max(1));
        match load {
            Load::Overloaded => self.count(true, now),
            Load::Answered { latency } => {
                self.count(false, now);
                let ms = latency.as_secs_f64() * 1000.0;
                let recent = ewma(self.recent_ms, ms, 0.3);
                let usual = ewma(self.usual_ms, ms, 0.02);
                self.recent_ms = Some(recent);
                self.usual_ms = Some(usual);
                if recent > SLOWDOWN_FLOOR_MS && recent > SLOWDOWN_FACTOR * usual {
                    self.cut(0.75, now);
                } else {
                    self.limit = (self.limit + 1.0 / self.limit).min(max);
                }
            }
            Load::Unknown => {}
        }
    }

    /// Counts an answer in the current window; a window a second old that had overload
    /// answers cuts the limit by half their share. A receiver that sheds a few requests
    /// while keeping up loses a few places, one drowning in them half.
    fn count(&mut self, overloaded: bool, now: Instant) {
        let window = &mut self.window;
        let started = *window.started.get_or_insert(now);
        window.answers += 1;
        window.overloaded += u32::from(overloaded);
        if now.duration_since(started) < CUT_EVERY {
            return;
        }
        let share = f64::from(window.overloaded) / f64::from(window.answers);
        *window = Window::default();
        if share > 0.0 {
            self.cut(1.0 - share / 2.0, now);
        }
    }

    /// How long a delivery that found no free place waits before it is tried again.
    #[must_use]
    pub(crate) fn backoff(&self) -> Duration {
        let ms = self.recent_ms.unwrap_or(100.0).clamp(50.0, 5_000.0);
        Duration::from_secs_f64(ms / 1000.0)
    }

    fn cut(&mut self, factor: f64, now: Instant) {
        if self
            .last_cut
            .is_some_and(|at| now.duration_since(at) < CUT_EVERY)
        {
            return;
        }
        self.last_cut = Some(now);
        self.limit = (self.limit * factor).max(1.0);
    }
}

fn ewma(previous: Option<f64>, sample: f64, weight: f64) -> f64 {
    previous.map_or(sample, |p| p + weight * (sample - p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_of_one_second_then_evenly_spaced_slots() {
        let mut pacer = Pacer::default();
        let now = Instant::now();
        let waits: Vec<Duration> = (0..13).map(|_| pacer.reserve(10, now)).collect();
        assert!(waits[..10].iter().all(Duration::is_zero), "{waits:?}");
        assert_eq!(waits[10], Duration::from_millis(100));
        assert_eq!(waits[11], Duration::from_millis(200));
        assert_eq!(waits[12], Duration::from_millis(300));
    }

    #[test]
    fn idle_time_refills_the_burst_but_never_beyond_it() {
        let mut pacer = Pacer::default();
        let start = Instant::now();
        for _ in 0..10 {
            pacer.reserve(10, start);
        }
        let later = start + Duration::from_mins(1);
        let waits: Vec<Duration> = (0..11).map(|_| pacer.reserve(10, later)).collect();
        assert!(waits[..10].iter().all(Duration::is_zero));
        assert_eq!(waits[10], Duration::from_millis(100));
    }

    #[test]
    fn a_rate_of_one_spaces_every_delivery() {
        let mut pacer = Pacer::default();
        let now = Instant::now();
        assert_eq!(pacer.reserve(1, now), Duration::ZERO);
        assert_eq!(pacer.reserve(1, now), Duration::from_secs(1));
        assert_eq!(
            pacer.reserve(1, now + Duration::from_secs(5)),
            Duration::ZERO
        );
        // Zero is treated as one rather than dividing by it.
        assert_eq!(
            pacer.reserve(0, now + Duration::from_secs(5)),
            Duration::from_secs(1)
        );
    }

    #[test]
    fn the_in_flight_limit_is_a_hard_cap() {
        let mut c = Concurrency::new(2);
        assert!(c.try_acquire(2));
        assert!(c.try_acquire(2));
        assert!(!c.try_acquire(2));
        c.release(Load::Unknown, 2, Instant::now());
        assert!(c.try_acquire(2));
        assert_eq!(c.in_flight, 2);
        // A lower configured maximum applies at once.
        c.release(Load::Unknown, 2, Instant::now());
        c.release(Load::Unknown, 2, Instant::now());
        assert!(c.try_acquire(1));
        assert!(!c.try_acquire(1));
    }

    #[test]
    fn overload_halves_once_per_second_and_successes_grow_it_back_slowly() {
        let mut c = Concurrency::new(64);
        let now = Instant::now();
        for _ in 0..6 {
            assert!(c.try_acquire(64));
        }
        for _ in 0..5 {
            c.release(Load::Overloaded, 64, now);
        }
        assert_eq!(c.limit(), 64, "counted until the window closes");
        c.release(Load::Overloaded, 64, now + Duration::from_secs(1));
        assert_eq!(c.limit(), 32, "a window of nothing but 429s halves once");
        c.release(Load::Overloaded, 64, now + Duration::from_secs(2));
        c.release(Load::Overloaded, 64, now + Duration::from_secs(3));
        assert_eq!(c.limit(), 16);
        let fast = Load::Answered {
            latency: Duration::from_millis(5),
        };
        for _ in 0..17 {
            c.release(fast, 64, now + Duration::from_secs(3));
        }
        assert_eq!(c.limit(), 17, "about one round of successes adds one");
        for _ in 0..10_000 {
            c.release(fast, 64, now + Duration::from_secs(4));
        }
        assert_eq!(c.limit(), 64, "never beyond the maximum");
    }

    #[test]
    fn a_window_cuts_by_half_the_share_of_overload_answers() {
        let mut c = Concurrency::new(100);
        let now = Instant::now();
        let answered = Load::Answered {
            latency: Duration::from_millis(5),
        };
        // 3 of 10 overloaded: cut by 15 %. (At the maximum, successes add nothing.)
        for i in 0..9 {
            let load = if i < 3 { Load::Overloaded } else { answered };
            c.release(load, 100, now);
        }
        c.release(answered, 100, now + CUT_EVERY);
        assert_eq!(c.limit(), 85);
    }

    /// The receiver of #19's finding: answers in 100 ms, sheds a tenth of requests with
    /// 503 while it keeps up, and is sent 400 a second (40 in flight needed). The limit
    /// used to halve every second and settle near 20 (about 125 deliveries a second).
    #[test]
    fn a_receiver_shedding_a_tenth_keeps_the_places_it_needs() {
        let max = 512;
        let mut c = Concurrency::new(max);
        let start = Instant::now();
        let mut lowest = u32::MAX;
        let mut sent = 0_u64;
        // Rounds of 100 ms: as many attempts as the limit allows and 400/s asks for.
        for round in 0..600_u32 {
            let now = start + Duration::from_millis(u64::from(round) * 100);
            let attempts = c.limit().min(40);
            for _ in 0..attempts {
                assert!(c.try_acquire(max));
            }
            for n in 0..attempts {
                sent += 1;
                let load = if sent.is_multiple_of(10) {
                    Load::Overloaded
                } else {
                    Load::Answered {
                        latency: Duration::from_millis(100),
                    }
                };
                c.release(load, max, now + Duration::from_millis(u64::from(n)));
            }
            if round >= 100 {
                lowest = lowest.min(c.limit());
            }
        }
        assert!(lowest >= 40, "the limit fell to {lowest}");
    }

    #[test]
    fn rising_latency_cuts_the_limit() {
        let mut c = Concurrency::new(40);
        let now = Instant::now();
        for _ in 0..50 {
            c.release(
                Load::Answered {
                    latency: Duration::from_millis(40),
                },
                40,
                now,
            );
        }
        assert_eq!(c.limit(), 40);
        for i in 0..5 {
            c.release(
                Load::Answered {
                    latency: Duration::from_millis(400),
                },
                40,
                now + Duration::from_secs(2 * i),
            );
        }
        assert!(c.limit() < 40, "limit {}", c.limit());
        assert!(c.backoff() > Duration::from_millis(100));
    }

    #[test]
    fn the_limit_never_drops_below_one() {
        let mut c = Concurrency::new(4);
        let start = Instant::now();
        for i in 0..20 {
            c.release(Load::Overloaded, 4, start + Duration::from_secs(2 * i));
        }
        assert_eq!(c.limit(), 1);
        assert!(c.try_acquire(4));
    }
}
