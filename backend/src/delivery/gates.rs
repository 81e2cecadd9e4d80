//! Per-endpoint gates on this instance: the circuit breaker's counts and probe, the rate
//! limit's slots and the adaptive in-flight limit. Every attempt passes [`Gates::admit`]
//! before it is made and [`Gates::finish`] after.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use hookwire_protocol::Tenant;
use hookwire_protocol::endpoint::{CircuitState, Endpoint};

use super::circuit::{self, BreakerSettings, Change, Counts};
use super::pacing::{Concurrency, Load, Pacer};

/// The longest a rate-limited delivery waits in a worker; longer waits go back to a retry
/// tier with their slot kept, so a slow endpoint never ties up workers.
const MAX_INLINE_WAIT: Duration = Duration::from_millis(25);

/// What to do with a delivery now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
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
}

#[derive(Debug)]
struct Gate {
    counts: Counts,
    pacer: Pacer,
    concurrency: Concurrency,
    probing: bool,
}

/// The gates of every endpoint this instance delivers to.
#[derive(Debug)]
pub struct Gates {
    by_endpoint: Mutex<HashMap<(Tenant, String), Gate>>,
    breaker: BreakerSettings,
    default_max_in_flight: u32,
}

impl Gates {
    /// Gates with these breaker settings; endpoints without `max_in_flight` adapt below
    /// `default_max_in_flight`.
    #[must_use]
    pub fn new(breaker: BreakerSettings, default_max_in_flight: u32) -> Self {
        Self {
            by_endpoint: Mutex::default(),
            breaker,
            default_max_in_flight,
        }
    }

    /// The breaker settings.
    #[must_use]
    pub fn breaker(&self) -> &BreakerSettings {
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
        let gate = gates
            .entry((endpoint.tenant.clone(), endpoint.id.clone()))
            .or_insert_with(|| Gate {
                counts: Counts::default(),
                pacer: Pacer::default(),
                concurrency: Concurrency::new(self.max_in_flight(endpoint)),
                probing: false,
            });
        f(gate)
    }

    /// Whether a delivery to `endpoint` (active) may be attempted now. `paced` when the
    /// delivery already holds a rate-limit slot from an earlier deferral.
    pub fn admit(&self, endpoint: &Endpoint, paced: bool, now: Instant) -> Admission {
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
            if !gate.concurrency.try_acquire(max) {
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

    /// Records an admitted attempt's result. `endpoint` is the endpoint as it was when the
    /// attempt was admitted; the returned change is for the caller to store and announce.
    pub fn finish(
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
