//! Attempt records are stored in groups. While earlier groups wait for JetStream's
//! acknowledgement, the records of attempts that settle meanwhile gather and then go as one
//! message per endpoint (`protocol::attempt::grouped_records`): in a flood JetStream
//! stores, acknowledges and hands the indexer one message per group instead of one per
//! attempt, and with `sync_interval: always` fsyncs once per group. Each settling attempt
//! still waits until its own record is stored; at low rates a record finds nothing to wait
//! for and goes alone at once, as it always did.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use futures_util::StreamExt as _;
use futures_util::stream::FuturesUnordered;
use tokio::sync::{mpsc, oneshot};

use super::durable::{Outgoing, publish_durably};
use crate::engine::Engine;

/// Groups being stored at once; more records than this many groups can carry wait for the
/// next, and that waiting is what makes the groups.
const GROUPS_IN_FLIGHT: usize = 2;
/// Records one group carries at most.
const MAX_GROUP_RECORDS: usize = 128;
/// The encoded size a group stops growing at (well under NATS's 1 MiB default payload).
const MAX_GROUP_BYTES: usize = 256 * 1024;

/// Where settling attempts hand their records; [`run`] stores them. Unbounded, yet never
/// holds more than one record per attempt in flight: each attempt waits for its own.
pub(crate) struct RecordLog {
    queue: mpsc::UnboundedSender<Pending>,
    waiting: Mutex<Option<mpsc::UnboundedReceiver<Pending>>>,
}

/// One record waiting to be stored, and who waits for it.
struct Pending {
    subject: String,
    json: Vec<u8>,
    stored: oneshot::Sender<Result<(), String>>,
}

impl Default for RecordLog {
    fn default() -> Self {
        let (queue, waiting) = mpsc::unbounded_channel();
        Self {
            queue,
            waiting: Mutex::new(Some(waiting)),
        }
    }
}

impl RecordLog {
    /// Stores one attempt record (`json`) on `subject` (the endpoint's live subject) with
    /// whatever else settles meanwhile; returns once JetStream has it.
    pub(crate) async fn store(
        &self,
        subject: String,
        json: Vec<u8>,
    ) -> Result<(), async_nats::Error> {
        let (stored, done) = oneshot::channel();
        self.queue
            .send(Pending {
                subject,
                json,
                stored,
            })
            .map_err(|_| "the attempt-record log has stopped")?;
        done.await
            .map_err(|_| "the attempt-record log stopped before storing the record")?
            .map_err(Into::into)
    }
}

/// Stores what [`RecordLog::store`] is handed, in groups, for the daemon's life.
pub(crate) async fn run(engine: Arc<Engine>) {
    let taken = engine
        .records
        .waiting
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take();
    let Some(mut queue) = taken else {
        tracing::error!("the attempt-record log was started twice");
        return;
    };
    let mut in_flight = FuturesUnordered::new();
    loop {
        tokio::select! {
            Some(()) = in_flight.next(), if !in_flight.is_empty() => {}
            pending = queue.recv(), if in_flight.len() < GROUPS_IN_FLIGHT => {
                let Some(first) = pending else { break };
                in_flight.push(store_group(&engine, gather(first, &mut queue)));
            }
        }
    }
}

/// `first` and what else is waiting, up to a group's bounds.
fn gather(first: Pending, queue: &mut mpsc::UnboundedReceiver<Pending>) -> Vec<Pending> {
    let mut bytes = first.json.len();
    let mut group = vec![first];
    while group.len() < MAX_GROUP_RECORDS && bytes < MAX_GROUP_BYTES {
        let Ok(next) = queue.try_recv() else { break };
        bytes += next.json.len();
        group.push(next);
    }
    group
}

/// Publishes `group` as one message per subject and tells each record's waiter the result.
async fn store_group(engine: &Engine, group: Vec<Pending>) {
    let mut by_subject: HashMap<String, Vec<Vec<u8>>> = HashMap::new();
    let mut waiting = Vec::with_capacity(group.len());
    for Pending {
        subject,
        json,
        stored,
    } in group
    {
        by_subject.entry(subject).or_default().push(json);
        waiting.push(stored);
    }
    let outgoing: Vec<Outgoing> = by_subject
        .into_iter()
        .map(|(subject, records)| Outgoing {
            subject,
            headers: None,
            payload: hookwire_protocol::attempt::grouped_records(&records).into(),
        })
        .collect();
    engine
        .metrics
        .attempt_record_messages
        .inc_by(outgoing.len() as u64);
    let result = publish_durably(engine, &outgoing)
        .await
        .map_err(|e| e.to_string());
    for waiter in waiting {
        // A waiter that is gone (its attempt's task was cancelled) needs no answer.
        let _ = waiter.send(result.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(bytes: usize) -> Pending {
        Pending {
            subject: "hookwire.live.default.ep_1".into(),
            json: vec![b'x'; bytes],
            stored: oneshot::channel().0,
        }
    }

    fn queue_of(sizes: &[usize]) -> mpsc::UnboundedReceiver<Pending> {
        let (tx, rx) = mpsc::unbounded_channel();
        for &bytes in sizes {
            tx.send(pending(bytes)).unwrap();
        }
        rx
    }

    #[test]
    fn a_group_takes_what_waits_up_to_its_bounds_and_leaves_the_rest() {
        // Nothing else waiting: the record goes alone.
        let mut empty = queue_of(&[]);
        assert_eq!(gather(pending(10), &mut empty).len(), 1);
        // Many small records: a group stops at its count, the rest wait for the next.
        let mut many = queue_of(&[10; 300]);
        assert_eq!(gather(pending(10), &mut many).len(), MAX_GROUP_RECORDS);
        assert_eq!(gather(pending(10), &mut many).len(), MAX_GROUP_RECORDS);
        assert_eq!(gather(pending(10), &mut many).len(), 300 - 2 * 127 + 1);
        // Large records: a group stops once it has reached its size.
        let big = MAX_GROUP_BYTES / 3 + 1;
        let mut large = queue_of(&[big; 5]);
        assert_eq!(gather(pending(big), &mut large).len(), 3);
        assert_eq!(gather(pending(big), &mut large).len(), 3);
        // One record larger than a group's size still goes, alone.
        let mut huge = queue_of(&[10]);
        assert_eq!(gather(pending(MAX_GROUP_BYTES * 2), &mut huge).len(), 1);
    }
}
