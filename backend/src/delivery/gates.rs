//! Per-endpoint gates on this instance: the circuit breaker's counts and probe, the rate
//! limit's slots and the adaptive in-flight limit. Every attempt passes [`Gates::admit`]
//! before it is made and [`Gates::finish`] after.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use hookwire_protocol::Tenant;
use hookwire_protocol::endpoint::{CircuitState, Endpoint};
use tokio::sync::Notify;

use super::circuit::{self, BreakerSettings, Change, Counts};
use super::pacing::{Concurrency, Load, Pacer};

/// The longest a rate-limited delivery waits in a worker; longer waits go back to a retry
/// tier with their slot kept, so a slow endpoint never ties up workers.
const MAX_INLINE_WAIT: Duration = Duration::from_millis(25);

/// What to do with a delivery now.
#[derive(Debug, Clone)]
pub(crate) enum Admission {
    /// Attempt it after `wait`.
    Go {
        /// How long to wait first (its rate-limit slot).
        wait: Duration,
    },
    /// Not now: try again after `delay`, costing no attempt. `paced` when it holds a
    /// rate-limit slot already.
    Defer {
        /// How long.
        delay: Duration,
        /// Whether its slot is taken.
        paced: bool,
    },
    /// The circuit is open: hold it until the circuit closes.
    Hold,
    /// Every place is taken: wait for `freed` (briefly), then ask again.
    Wait {
        /// Notified when an attempt to the endpoint finishes.
        freed: Arc<Notify>,
    },
}

/// Whose turn a freed place is: a retry's (its delivery is late already) before a first
/// attempt's, so a backlog of first attempts never holds a retry past its due time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Turn {
    /// A retry (or a replay, numbered past the earlier attempts).
    Retry,
    /// A delivery's first attempt.
    First,
}

impl Turn {
    /// The turn of attempt number `attempt`.
    #[must_use]
    pub(crate) fn of(attempt: u32) -> Self {
        if attempt > 1 {
            Self::Retry
        } else {
            Self::First
        }
    }
}

#[derive(Debug)]
struct Gate {
    counts: Counts,
    pacer: Pacer,
    concurrency: Concurrency,
    probing: bool,
    /// Workers waiting for a place with a first attempt.
    waiting: u32,
    freed: Arc<Notify>,
    /// Workers waiting for a place with a retry: woken first.
    waiting_retries: u32,
    freed_for_retries: Arc<Notify>,
}

impl Gate {
    /// Wakes the next waiter for a freed place: a retry's when one waits.
    fn wake_next(&self) {
        if self.waiting_retries > 0 {
            self.freed_for_retries.notify_one();
        } else {
            self.freed.notify_one();
        }
    }
}

/// The gates of every endpoint this instance delivers to.
#[derive(Debug)]
pub(crate) struct Gates {
    by_endpoint: Mutex<HashMap<Tenant, HashMap<String, Gate>>>,
    breaker: BreakerSettings,
    default_max_in_flight: u32,
}

impl Gates {
    /// Gates with these breaker settings; endpoints without `max_in_flight` adapt below
    /// `default_max_in_flight`.
    #[must_use]
    pub(crate) fn new(breaker: BreakerSettings, default_max_in_flight: u32) -> Self {
        Self {
            by_endpoint: Mutex::default(),
            breaker,
            default_max_in_flight,
        }
    }

    /// The breaker settings.
    #[must_use]
    pub(crate) fn breaker(&self) -> &BreakerSettings {
        &self.breaker
    }

    fn max_in_flight(&self, endpoint: &Endpoint) -> u32 {
        endpoint.max_in_flight.unwrap_or(self.default_max_in_flight)
    }

    fn with_gate<T>(&self, endpoint: &Endpoint, f: impl FnOnce(&mut Gate) -> T) -> T {
        let mut gates = self
            .by_endpoint
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Looked up by reference: keys are allocated only for an endpoint's first attempt.
        if !gates.contains_key(&endpoint.tenant) {
            gates.insert(endpoint.tenant.clone(), HashMap::new());
        }
        let of_tenant = gates
            .get_mut(&endpoint.tenant)
            .expect("inserted just above");
        if !of_tenant.contains_key(endpoint.id.as_str()) {
            let gate = Gate {
                counts: Counts::default(),
                pacer: Pacer::default(),
                concurrency: Concurrency::new(self.max_in_flight(endpoint)),
                probing: false,
                waiting: 0,
                freed: Arc::new(Notify::new()),
                waiting_retries: 0,
                freed_for_retries: Arc::new(Notify::new()),
            };
            of_tenant.insert(endpoint.id.clone(), gate);
        }
        f(of_tenant
            .get_mut(endpoint.id.as_str())
            .expect("inserted just above"))
    }

    /// Whether a delivery to `endpoint` (active) may be attempted now. `paced` when the
    /// delivery already holds a rate-limit slot from an earlier deferral; a first attempt
    /// ([`Turn`]) takes no place while a retry waits for one.
    pub(crate) fn admit(
        &self,
        endpoint: &Endpoint,
        paced: bool,
        turn: Turn,
        now: Instant,
    ) -> Admission {
        let max = self.max_in_flight(endpoint);
        self.with_gate(endpoint, |gate| {
            match endpoint.circuit.as_ref().map(|c| c.state) {
                Some(CircuitState::Open) => return Admission::Hold,
                Some(CircuitState::HalfOpen) => {
                    // One probe per instance; the rest wait with the circuit.
                    if gate.probing || !gate.concurrency.try_acquire(max) {
                        return Admission::Hold;
                    }
                    gate.probing = true;
                    return Admission::Go {
                        wait: Duration::ZERO,
                    };
                }
                None => {}
            }
            let behind_a_retry = turn == Turn::First && gate.waiting_retries > 0;
            if behind_a_retry || !gate.concurrency.try_acquire(max) {
                // Waiting in a worker is cheap while other endpoints keep most workers;
                // beyond half of them, deliveries go back to a retry tier for a moment.
                // Retries count only each other (waiting first attempts would otherwise
                // send them back again and again), first attempts count everyone.
                let half = self.default_max_in_flight / 2;
                let may_wait = match turn {
                    Turn::Retry => gate.waiting_retries < half,
                    Turn::First => gate.waiting + gate.waiting_retries < half,
                };
                if may_wait {
                    let freed = match turn {
                        Turn::Retry => {
                            gate.waiting_retries += 1;
                            &gate.freed_for_retries
                        }
                        Turn::First => {
                            gate.waiting += 1;
                            &gate.freed
                        }
                    };
                    return Admission::Wait {
                        freed: Arc::clone(freed),
                    };
                }
                return Admission::Defer {
                    delay: gate.concurrency.backoff(),
                    paced,
                };
            }
            let wait = match endpoint.rate_limit_per_sec {
                Some(rate) if !paced => gate.pacer.reserve(rate, now),
                _ => Duration::ZERO,
            };
            if wait > MAX_INLINE_WAIT {
                gate.concurrency.release(Load::Unknown, max, now);
                return Admission::Defer {
                    delay: wait,
                    paced: true,
                };
            }
            Admission::Go { wait }
        })
    }

    /// Takes a place for an attempt to `endpoint` (active) when one is free now and nothing
    /// else stands in the way: its circuit closed, no rate limit, no worker waiting for a
    /// place there. Never waits, defers or holds: a `false` goes the way of [`Gates::admit`].
    pub(crate) fn admit_at_once(&self, endpoint: &Endpoint) -> bool {
        self.at_once(endpoint, true)
    }

    /// Whether [`Gates::admit_at_once`] would say yes now; takes nothing.
    pub(crate) fn could_admit_at_once(&self, endpoint: &Endpoint) -> bool {
        self.at_once(endpoint, false)
    }

    fn at_once(&self, endpoint: &Endpoint, take: bool) -> bool {
        if endpoint.circuit.is_some() || endpoint.rate_limit_per_sec.is_some() {
            return false;
        }
        let max = self.max_in_flight(endpoint);
        self.with_gate(endpoint, |gate| {
            gate.waiting == 0
                && gate.waiting_retries == 0
                && if take {
                    gate.concurrency.try_acquire(max)
                } else {
                    gate.concurrency.has_room(max)
                }
        })
    }

    /// Ends a wait that [`Admission::Wait`] started.
    fn stop_waiting(&self, endpoint: &Endpoint, turn: Turn) {
        self.with_gate(endpoint, |gate| match turn {
            Turn::Retry => gate.waiting_retries = gate.waiting_retries.saturating_sub(1),
            Turn::First => gate.waiting = gate.waiting.saturating_sub(1),
        });
    }

    /// Gives back the place of an admitted attempt that was abandoned before it finished.
    fn abandon(&self, endpoint: &Endpoint) {
        let max = self.max_in_flight(endpoint);
        self.with_gate(endpoint, |gate| {
            gate.concurrency.release(Load::Unknown, max, Instant::now());
            gate.wake_next();
            gate.probing = false;
        });
    }

    /// Records an admitted attempt's result (through [`Place::finish`], so a place is given
    /// back exactly once). `endpoint` is the endpoint as it was when the attempt was admitted;
    /// the returned change is for the caller to store and announce.
    fn finish(
        &self,
        endpoint: &Endpoint,
        load: Load,
        succeeded: bool,
        now: Instant,
        wall: DateTime<Utc>,
    ) -> Change {
        let max = self.max_in_flight(endpoint);
        self.with_gate(endpoint, |gate| {
            gate.concurrency.release(load, max, now);
            gate.wake_next();
            if endpoint
                .circuit
                .as_ref()
                .is_some_and(|c| c.state == CircuitState::HalfOpen)
            {
                gate.probing = false;
            }
            circuit::on_result(
                &self.breaker,
                &mut gate.counts,
                endpoint.circuit.as_ref(),
                succeeded,
                wall,
            )
        })
    }
}

/// The place an admitted attempt ([`Admission::Go`]) holds at its endpoint's gate, until
/// [`Place::finish`]. Dropped unfinished (the attempt's task abandoned, as an ordered lane's
/// is when its partition moves), it gives the place back: a lost place would lower the
/// endpoint's in-flight limit for good.
pub(crate) struct Place<'a> {
    gates: &'a Gates,
    endpoint: &'a Endpoint,
    finished: bool,
}

impl<'a> Place<'a> {
    /// The place [`Gates::admit`] just gave `endpoint` (with `Go`).
    pub(crate) fn taken(gates: &'a Gates, endpoint: &'a Endpoint) -> Self {
        Self {
            gates,
            endpoint,
            finished: false,
        }
    }

    /// Records the attempt's result ([`Gates::finish`]) and frees the place.
    pub(crate) fn finish(
        mut self,
        load: Load,
        succeeded: bool,
        now: Instant,
        wall: DateTime<Utc>,
    ) -> Change {
        self.finished = true;
        self.gates.finish(self.endpoint, load, succeeded, now, wall)
    }
}

impl Drop for Place<'_> {
    fn drop(&mut self) {
        if !self.finished {
            self.gates.abandon(self.endpoint);
        }
    }
}

/// A wait for a free place ([`Admission::Wait`]), counted while it lasts, however it ends.
pub(crate) struct Waiting<'a> {
    gates: &'a Gates,
    endpoint: &'a Endpoint,
    turn: Turn,
}

impl<'a> Waiting<'a> {
    /// The wait [`Gates::admit`] just counted for `endpoint` (with `Wait`) for `turn`.
    pub(crate) fn started(gates: &'a Gates, endpoint: &'a Endpoint, turn: Turn) -> Self {
        Self {
            gates,
            endpoint,
            turn,
        }
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.gates.stop_waiting(self.endpoint, self.turn);
    }
}

#[cfg(test)]
mod tests {
    use hookwire_protocol::endpoint::{Circuit, CreateEndpoint};
    use hookwire_protocol::{Secret, Tenant};

    use super::*;

    fn endpoint(max_in_flight: Option<u32>, rate: Option<u32>) -> Endpoint {
        let request = CreateEndpoint {
            url: "https://a.example/".into(),
            max_in_flight,
            rate_limit_per_sec: rate,
            ..CreateEndpoint::default()
        };
        request
            .into_endpoint(
                Tenant::default(),
                "ep".into(),
                Secret::generate(),
                Utc::now(),
            )
            .expect("a valid endpoint")
            .0
    }

    #[test]
    fn an_abandoned_attempt_or_wait_gives_its_place_back() {
        let gates = Gates::new(BreakerSettings::default(), 4);
        let e = endpoint(Some(1), None);
        let now = Instant::now();
        assert!(matches!(
            gates.admit(&e, false, Turn::First, now),
            Admission::Go { .. }
        ));
        let place = Place::taken(&gates, &e);
        // Two may wait (half of 4); dropped, their waits end.
        for _ in 0..2 {
            assert!(matches!(
                gates.admit(&e, false, Turn::First, now),
                Admission::Wait { .. }
            ));
            drop(Waiting::started(&gates, &e, Turn::First));
        }
        assert!(matches!(
            gates.admit(&e, false, Turn::First, now),
            Admission::Wait { .. }
        ));
        let waiting = Waiting::started(&gates, &e, Turn::First);
        assert!(matches!(
            gates.admit(&e, false, Turn::First, now),
            Admission::Wait { .. }
        ));
        let second = Waiting::started(&gates, &e, Turn::First);
        assert!(
            matches!(
                gates.admit(&e, false, Turn::First, now),
                Admission::Defer { .. }
            ),
            "two wait at once"
        );
        drop((waiting, second));
        // The attempt's task is dropped before it finished: its place is free again.
        drop(place);
        assert!(matches!(
            gates.admit(&e, false, Turn::First, now),
            Admission::Go { .. }
        ));
        let place = Place::taken(&gates, &e);
        let _ = place.finish(Load::Unknown, true, now, Utc::now());
        assert!(
            matches!(
                gates.admit(&e, false, Turn::First, now),
                Admission::Go { .. }
            ),
            "a finished place is given back once, by finish"
        );
        assert!(matches!(
            gates.admit(&e, false, Turn::First, now),
            Admission::Wait { .. }
        ));
    }

    #[test]
    fn a_full_endpoint_makes_a_few_wait_and_defers_the_rest() {
        let gates = Gates::new(BreakerSettings::default(), 4);
        let e = endpoint(Some(1), None);
        let now = Instant::now();
        assert!(matches!(
            gates.admit(&e, false, Turn::First, now),
            Admission::Go { .. }
        ));
        // Half the deployment's places may wait for this endpoint...
        assert!(matches!(
            gates.admit(&e, false, Turn::First, now),
            Admission::Wait { .. }
        ));
        assert!(matches!(
            gates.admit(&e, false, Turn::First, now),
            Admission::Wait { .. }
        ));
        // ... the rest go back to a retry tier, keeping workers for other endpoints.
        assert!(matches!(
            gates.admit(&e, false, Turn::First, now),
            Admission::Defer { paced: false, .. }
        ));
        gates.stop_waiting(&e, Turn::First);
        gates.finish(&e, Load::Unknown, true, now, Utc::now());
        assert!(matches!(
            gates.admit(&e, false, Turn::First, now),
            Admission::Go { .. }
        ));
    }

    #[test]
    fn rate_limited_deliveries_keep_their_slot_when_deferred() {
        let gates = Gates::new(BreakerSettings::default(), 100);
        let e = endpoint(None, Some(1));
        let now = Instant::now();
        assert!(matches!(
            gates.admit(&e, false, Turn::First, now),
            Admission::Go { wait } if wait.is_zero()
        ));
        gates.finish(&e, Load::Unknown, true, now, Utc::now());
        let Admission::Defer { delay, paced } = gates.admit(&e, false, Turn::First, now) else {
            panic!("the second delivery in the same second waits");
        };
        assert!(paced);
        assert_eq!(delay, Duration::from_secs(1));
        // Back with its slot, it goes at once.
        assert!(matches!(
            gates.admit(&e, true, Turn::First, now),
            Admission::Go { .. }
        ));
    }

    #[test]
    fn an_open_circuit_holds_and_a_half_open_one_lets_one_probe_through() {
        let gates = Gates::new(BreakerSettings::default(), 100);
        let mut e = endpoint(None, None);
        let now = Utc::now();
        e.circuit = Some(Circuit {
            state: CircuitState::Open,
            reason: "test".into(),
            opened_at: now,
            failing_since: now,
            probe_at: now,
            disable_near: false,
        });
        assert!(matches!(
            gates.admit(&e, false, Turn::First, Instant::now()),
            Admission::Hold
        ));
        if let Some(circuit) = e.circuit.as_mut() {
            circuit.state = CircuitState::HalfOpen;
        }
        assert!(matches!(
            gates.admit(&e, false, Turn::First, Instant::now()),
            Admission::Go { .. }
        ));
        assert!(matches!(
            gates.admit(&e, false, Turn::First, Instant::now()),
            Admission::Hold
        ));
        let change = gates.finish(&e, Load::Unknown, true, Instant::now(), now);
        assert_eq!(change, Change::Close);
        assert!(matches!(
            gates.admit(&e, false, Turn::First, Instant::now()),
            Admission::Go { .. }
        ));
    }

    #[test]
    fn at_once_only_with_a_free_place_no_rate_limit_no_circuit_and_no_one_waiting() {
        let gates = Gates::new(BreakerSettings::default(), 4);
        let now = Instant::now();
        let e = endpoint(Some(1), None);
        assert!(gates.could_admit_at_once(&e));
        assert!(gates.could_admit_at_once(&e), "looking takes no place");
        assert!(gates.admit_at_once(&e));
        assert!(!gates.could_admit_at_once(&e));
        assert!(!gates.admit_at_once(&e), "its one place is taken");
        gates.finish(&e, Load::Unknown, true, now, Utc::now());
        assert!(gates.admit_at_once(&e), "given back by finish");
        // A worker waits for the place: it is the worker's when freed, not fan-out's.
        assert!(matches!(
            gates.admit(&e, false, Turn::First, now),
            Admission::Wait { .. }
        ));
        let waiting = Waiting::started(&gates, &e, Turn::First);
        gates.finish(&e, Load::Unknown, true, now, Utc::now());
        assert!(!gates.could_admit_at_once(&e));
        assert!(!gates.admit_at_once(&e));
        drop(waiting);
        assert!(gates.admit_at_once(&e));

        let limited = endpoint(None, Some(1000));
        assert!(
            !gates.admit_at_once(&limited) && !gates.could_admit_at_once(&limited),
            "rate limits pace in the workers"
        );
        let mut open = endpoint(None, None);
        let wall = Utc::now();
        open.circuit = Some(Circuit {
            state: CircuitState::HalfOpen,
            reason: "test".into(),
            opened_at: wall,
            failing_since: wall,
            probe_at: wall,
            disable_near: false,
        });
        assert!(
            !gates.admit_at_once(&open) && !gates.could_admit_at_once(&open),
            "a probe goes through the workers"
        );
    }

    #[test]
    fn a_waiting_retry_gets_the_next_place_before_any_first_attempt() {
        let gates = Gates::new(BreakerSettings::default(), 8);
        let e = endpoint(Some(1), None);
        let now = Instant::now();
        assert!(matches!(
            gates.admit(&e, false, Turn::First, now),
            Admission::Go { .. }
        ));
        let Admission::Wait { freed: first_freed } = gates.admit(&e, false, Turn::First, now)
        else {
            panic!("a first attempt waits for the one place");
        };
        let first = Waiting::started(&gates, &e, Turn::First);
        let Admission::Wait { freed: retry_freed } = gates.admit(&e, false, Turn::Retry, now)
        else {
            panic!("so does a retry");
        };
        let retry = Waiting::started(&gates, &e, Turn::Retry);
        gates.finish(&e, Load::Unknown, true, now, Utc::now());
        // The freed place is the retry's: its waiter is woken, the first attempt's is not...
        assert!(
            futures_util::FutureExt::now_or_never(retry_freed.notified()).is_some(),
            "the retry is woken"
        );
        assert!(futures_util::FutureExt::now_or_never(first_freed.notified()).is_none());
        // ... and a first attempt asking meanwhile does not take it.
        assert!(matches!(
            gates.admit(&e, false, Turn::First, now),
            Admission::Wait { .. }
        ));
        drop(Waiting::started(&gates, &e, Turn::First));
        assert!(!gates.admit_at_once(&e), "nor does fan-out");
        assert!(matches!(
            gates.admit(&e, false, Turn::Retry, now),
            Admission::Go { .. }
        ));
        drop(retry);
        gates.finish(&e, Load::Unknown, true, now, Utc::now());
        // No retry waits any more: the first attempt's waiter is woken.
        assert!(futures_util::FutureExt::now_or_never(first_freed.notified()).is_some());
        drop(first);
    }

    #[test]
    fn retries_may_wait_beside_first_attempts_but_half_the_places_stay_free() {
        let gates = Gates::new(BreakerSettings::default(), 4);
        let e = endpoint(Some(1), None);
        let now = Instant::now();
        assert!(matches!(
            gates.admit(&e, false, Turn::First, now),
            Admission::Go { .. }
        ));
        let mut waits = Vec::new();
        for _ in 0..2 {
            assert!(matches!(
                gates.admit(&e, false, Turn::First, now),
                Admission::Wait { .. }
            ));
            waits.push(Waiting::started(&gates, &e, Turn::First));
        }
        // First attempts fill the waiting places (half of 4); a retry waits all the same...
        for _ in 0..2 {
            assert!(matches!(
                gates.admit(&e, false, Turn::Retry, now),
                Admission::Wait { .. }
            ));
            waits.push(Waiting::started(&gates, &e, Turn::Retry));
        }
        // ... up to half the places for retries; beyond, both kinds go back for a moment.
        assert!(matches!(
            gates.admit(&e, false, Turn::Retry, now),
            Admission::Defer { .. }
        ));
        assert!(matches!(
            gates.admit(&e, false, Turn::First, now),
            Admission::Defer { .. }
        ));
        drop(waits);
    }
}
