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

#[derive(Debug)]
struct Gate {
    counts: Counts,
    pacer: Pacer,
    concurrency: Concurrency,
    probing: bool,
    /// Workers waiting for a place.
    waiting: u32,
    freed: Arc<Notify>,
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
            };
            of_tenant.insert(endpoint.id.clone(), gate);
        }
        f(of_tenant
            .get_mut(endpoint.id.as_str())
            .expect("inserted just above"))
    }

    /// Whether a delivery to `endpoint` (active) may be attempted now. `paced` when the
    /// delivery already holds a rate-limit slot from an earlier deferral.
    pub(crate) fn admit(&self, endpoint: &Endpoint, paced: bool, now: Instant) -> Admission {
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
                // Waiting in a worker is cheap while other endpoints keep most workers;
                // beyond that, deliveries go back to a retry tier for a moment.
                if gate.waiting < self.default_max_in_flight / 2 {
                    gate.waiting += 1;
                    return Admission::Wait {
                        freed: Arc::clone(&gate.freed),
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

    /// Ends a wait that [`Admission::Wait`] started.
    pub(crate) fn stop_waiting(&self, endpoint: &Endpoint) {
        self.with_gate(endpoint, |gate| {
            gate.waiting = gate.waiting.saturating_sub(1);
        });
    }

    /// Records an admitted attempt's result. `endpoint` is the endpoint as it was when the
    /// attempt was admitted; the returned change is for the caller to store and announce.
    pub(crate) fn finish(
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
            gate.freed.notify_one();
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
    fn a_full_endpoint_makes_a_few_wait_and_defers_the_rest() {
        let gates = Gates::new(BreakerSettings::default(), 4);
        let e = endpoint(Some(1), None);
        let now = Instant::now();
        assert!(matches!(gates.admit(&e, false, now), Admission::Go { .. }));
        // Half the deployment's places may wait for this endpoint...
        assert!(matches!(
            gates.admit(&e, false, now),
            Admission::Wait { .. }
        ));
        assert!(matches!(
            gates.admit(&e, false, now),
            Admission::Wait { .. }
        ));
        // ... the rest go back to a retry tier, keeping workers for other endpoints.
        assert!(matches!(
            gates.admit(&e, false, now),
            Admission::Defer { paced: false, .. }
        ));
        gates.stop_waiting(&e);
        gates.finish(&e, Load::Unknown, true, now, Utc::now());
        assert!(matches!(gates.admit(&e, false, now), Admission::Go { .. }));
    }

    #[test]
    fn rate_limited_deliveries_keep_their_slot_when_deferred() {
        let gates = Gates::new(BreakerSettings::default(), 100);
        let e = endpoint(None, Some(1));
        let now = Instant::now();
        assert!(matches!(
            gates.admit(&e, false, now),
            Admission::Go { wait } if wait.is_zero()
        ));
        gates.finish(&e, Load::Unknown, true, now, Utc::now());
        let Admission::Defer { delay, paced } = gates.admit(&e, false, now) else {
            panic!("the second delivery in the same second waits");
        };
        assert!(paced);
        assert_eq!(delay, Duration::from_secs(1));
        // Back with its slot, it goes at once.
        assert!(matches!(gates.admit(&e, true, now), Admission::Go { .. }));
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
        });
        assert!(matches!(
            gates.admit(&e, false, Instant::now()),
            Admission::Hold
        ));
        if let Some(circuit) = e.circuit.as_mut() {
            circuit.state = CircuitState::HalfOpen;
        }
        assert!(matches!(
            gates.admit(&e, false, Instant::now()),
            Admission::Go { .. }
        ));
        assert!(matches!(
            gates.admit(&e, false, Instant::now()),
            Admission::Hold
        ));
        let change = gates.finish(&e, Load::Unknown, true, Instant::now(), now);
        assert_eq!(change, Change::Close);
        assert!(matches!(
            gates.admit(&e, false, Instant::now()),
            Admission::Go { .. }
        ));
    }
}
