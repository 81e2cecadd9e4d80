//! Ordered delivery per key (see docs/architecture.md, "Delivery modes"): one instance at a
//! time, the holder of a lease in the configuration bucket, runs
//!
//! - the feeder ([`feeder`]): it reads the events stream in order and puts each ordered
//!   endpoint's task on its key's lane (`<prefix>.ordered.<tenant>.<endpoint>.<lane>`), in
//!   event order, remembering how far it got;
//! - the lanes ([`lanes`]): each lane's head is attempted, retried in place, and deleted once
//!   settled, before the next goes.
//!
//! Fan-out leaves ordered endpoints to them. Nothing runs while no endpoint is ordered.

mod feeder;
mod lanes;
mod lease;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::delivery::http::Sender;
use crate::engine::Engine;
use crate::store::Store;
use lease::Lease;

pub(crate) use lanes::{BLOCKED_PREFIX, blocked_key};

/// How often the lease is renewed (and taken when free).
const RENEW_EVERY: Duration = Duration::from_secs(2);

/// Holds the lease while some endpoint is ordered and runs the feeder and the lanes while
/// it holds it, until `stop` turns true.
pub(crate) async fn run(
    engine: Arc<Engine>,
    sender: Sender,
    store: Store,
    mut stop: watch::Receiver<bool>,
) {
    let mut lease = Lease::new(engine.bucket.clone(), crate::ids::random("inst_"));
    let mut running: Option<JoinSet<()>> = None;
    loop {
        let wanted = engine.registry.any_ordered();
        let held = wanted && lease.hold().await;
        match (held, running.is_some()) {
            (true, false) => {
                tracing::info!("this instance runs ordered delivery");
                let mut tasks = JoinSet::new();
                tasks.spawn(feeder::run(Arc::clone(&engine)));
                tasks.spawn(lanes::run(
                    Arc::clone(&engine),
                    sender.clone(),
                    store.clone(),
                ));
                running = Some(tasks);
            }
            (false, true) => {
                running = None;
                if wanted {
                    tracing::warn!("ordered delivery stops on this instance: its lease was lost");
                } else {
                    tracing::info!("no endpoint is ordered any more; ordered delivery stops");
                    feeder::forget(&engine.bucket).await;
                    lease.release().await;
                }
            }
            _ => {}
        }
        let stopping = tokio::select! {
            () = tokio::time::sleep(RENEW_EVERY) => false,
            stopped = stop.wait_for(|s| *s) => stopped.is_ok(),
        };
        if stopping {
            drop(running);
            lease.release().await;
            return;
        }
    }
}
