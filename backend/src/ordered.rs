//! Ordered delivery per key (see docs/architecture.md, "Delivery modes"):
//!
//! - the feeder ([`feeder`]), run by one instance at a time (the holder of a lease in the
//!   configuration bucket), reads the events stream in order and puts each ordered
//!   endpoint's task on its key's lane (`<prefix>.ordered.<tenant>.<endpoint>.<partition>.
//!   <lane>`), in event order, remembering how far it got;
//! - the lanes ([`lanes`]) of each of the [`PARTITIONS`], run by the holder of that
//!   partition's lease: each lane's head is attempted, retried in place, and deleted once
//!   settled, before the next goes;
//! - the instances on the [roster](crate::roster) share the partitions evenly ([`owners`]).
//!
//! Fan-out leaves ordered endpoints to them. Nothing runs while no endpoint is ordered.

mod feeder;
mod lanes;
mod lease;
mod owners;
mod queues;

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use hookwire_protocol::ordered::PARTITIONS;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use crate::delivery::http::Sender;
use crate::engine::Engine;
use crate::store::Store;
use lease::Lease;

pub(crate) use lanes::{BLOCKED_PREFIX, blocked_key};

/// How often leases are renewed (and taken when free).
const RENEW_EVERY: Duration = Duration::from_secs(2);
/// How long one round may spend taking partitions (renewals must not wait behind it).
const TAKE_FOR: Duration = Duration::from_secs(1);
/// The bucket key of the feeder's lease.
const FEEDER_LEASE: &str = "ordered-feeder";
/// The bucket keys of the partitions' leases: `ordered-lease.<partition>`.
const PARTITION_LEASE: &str = "ordered-lease";

/// One part of ordered delivery on this instance: its lease, and its tasks while it holds it.
struct Part {
    lease: Lease,
    running: Option<JoinSet<()>>,
}

impl Part {
    fn new(lease: Lease) -> Self {
        Self {
            lease,
            running: None,
        }
    }

    fn running(&self) -> bool {
        self.running.is_some()
    }

    /// Renews the lease of a running part; stops the part when that fails.
    async fn renew(&mut self) {
        if self.running() && !self.lease.hold().await {
            tracing::warn!("a part of ordered delivery stops here: its lease could not be renewed");
            self.stop().await;
        }
    }

    /// Stops the part's tasks and waits until they are gone (nothing of it runs after).
    async fn stop(&mut self) {
        if let Some(mut tasks) = self.running.take() {
            tasks.shutdown().await;
        }
    }

    /// Stops the part and gives its lease up for another instance to take at once.
    async fn give_up(&mut self) {
        self.stop().await;
        self.lease.release().await;
    }
}

/// Takes part in ordered delivery while some endpoint is ordered (the feeder when its lease
/// is free, a fair share of the partitions among the instances on the roster), until `stop`
/// turns true.
pub(crate) async fn run(
    engine: Arc<Engine>,
    sender: Sender,
    store: Store,
    mut stop: watch::Receiver<bool>,
) {
    let lease = |key: String| Lease::new(engine.bucket.clone(), key, engine.instance.clone());
    let mut feeder = Part::new(lease(FEEDER_LEASE.to_owned()));
    let mut partitions: Vec<Part> = (0..PARTITIONS)
        .map(|p| Part::new(lease(format!("{PARTITION_LEASE}.{p}"))))
        .collect();
    let places = Arc::new(Semaphore::new(lanes::HEADS_AT_ONCE));
    loop {
        if engine.registry.any_ordered() {
            join_all(
                std::iter::once(&mut feeder)
                    .chain(partitions.iter_mut())
                    .map(Part::renew),
            )
            .await;
            if !feeder.running() && feeder.lease.hold().await {
                tracing::info!("this instance feeds the ordered lanes");
                let mut tasks = JoinSet::new();
                tasks.spawn(feeder::run(Arc::clone(&engine), store.clone()));
                feeder.running = Some(tasks);
            }
            let live = engine.roster.borrow().len();
            share(&engine, &sender, &store, &places, &mut partitions, live).await;
        } else if feeder.running() || partitions.iter().any(Part::running) {
            tracing::info!("no endpoint is ordered any more; ordered delivery stops");
            if feeder.running() {
                feeder::forget(&engine.bucket).await;
            }
            give_up_all(&mut feeder, &mut partitions).await;
        }
        let stopping = tokio::select! {
            () = tokio::time::sleep(RENEW_EVERY) => false,
            stopped = stop.wait_for(|s| *s) => stopped.is_ok(),
        };
        if stopping {
            give_up_all(&mut feeder, &mut partitions).await;
            return;
        }
    }
}

/// Gives up the partitions beyond this instance's share of `live` instances, or takes free
/// ones up to it (for at most [`TAKE_FOR`]).
async fn share(
    engine: &Arc<Engine>,
    sender: &Sender,
    store: &Store,
    places: &Arc<Semaphore>,
    partitions: &mut [Part],
    live: usize,
) {
    let share = owners::fair_share(live);
    let held: Vec<u8> = (0u8..)
        .zip(partitions.iter())
        .filter_map(|(p, part)| part.running().then_some(p))
        .collect();
    for p in owners::surplus(&held, share) {
        tracing::info!(partition = p, "handing an ordered partition over");
        partitions[usize::from(p)].give_up().await;
    }
    let taking = Instant::now();
    let mut holding = held.len().min(share);
    for (p, part) in (0u8..).zip(partitions.iter_mut()) {
        if holding >= share || taking.elapsed() >= TAKE_FOR {
            break;
        }
        if !part.running() && part.lease.hold().await {
            tracing::info!(partition = p, "this instance runs an ordered partition");
            let mut tasks = JoinSet::new();
            tasks.spawn(lanes::run(
                Arc::clone(engine),
                sender.clone(),
                store.clone(),
                p,
                Arc::clone(places),
            ));
            part.running = Some(tasks);
            holding += 1;
        }
    }
}

/// Stops every part and gives the leases up.
async fn give_up_all(feeder: &mut Part, partitions: &mut [Part]) {
    join_all(
        std::iter::once(feeder)
            .chain(partitions.iter_mut())
            .map(Part::give_up),
    )
    .await;
}
