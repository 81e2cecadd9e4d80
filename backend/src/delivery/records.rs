//! Attempt records are stored in groups. While earlier groups wait for JetStream's
//! acknowledgement, the records of attempts that settle meanwhile gather and then go as one
//! message per endpoint (`protocol::attempt::grouped_records`): in a flood JetStream
//! stores, acknowledges and hands the indexer one message per group instead of one per
//! attempt, and with `sync_interval: always` fsyncs once per group. Each settling attempt
//! still waits until its own record is stored; at low rates a record finds nothing to wait
//! for and goes alone at once, as it always did.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{Semaphore, mpsc, oneshot};

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
    let in_flight = Arc::new(Semaphore::new(GROUPS_IN_FLIGHT));
    while let Some(first) = queue.recv().await {
        let Ok(place) = Arc::clone(&in_flight).acquire_owned().await else {
            return;
        };
        let mut group = vec![first];
        let mut bytes = group[0].json.len();
        while group.len() < MAX_GROUP_RECORDS && bytes < MAX_GROUP_BYTES {
            let Ok(next) = queue.try_recv() else { break };
            bytes += next.json.len();
            group.push(next);
        }
        let engine = Arc::clone(&engine);
        tokio::spawn(async move {
            store_group(&engine, group).await;
            drop(place);
        });
    }
}

/// Publishes `group` as one message per subject and tells each record's waiter the result.
async fn store_group(engine: &Engine, group: Vec<Pending>) {
    let mut by_subject: HashMap<String, (Vec<Vec<u8>>, Vec<oneshot::Sender<_>>)> = HashMap::new();
    for Pending {
        subject,
        json,
        stored,
    } in group
    {
        let (records, waiters) = by_subject.entry(subject).or_default();
        records.push(json);
        waiters.push(stored);
    }
    let mut outgoing = Vec::with_capacity(by_subject.len());
    let mut waiting = Vec::with_capacity(by_subject.len());
    for (subject, (records, waiters)) in by_subject {
        outgoing.push(Outgoing {
            subject,
            headers: None,
            payload: hookwire_protocol::attempt::grouped_records(&records).into(),
        });
        waiting.extend(waiters);
    }
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
