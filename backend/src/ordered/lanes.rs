//! The lanes of one partition: its unsettled ordered tasks, read in stream order (which is
//! event order per key, as the feeder publishes it), queued per lane in bounded memory
//! ([`Queues`]); each lane's head is attempted and retried in place, and deleted once
//! settled, before the next goes. Lanes run side by side: a failing head holds only its own
//! key.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::consumer;
use async_nats::jetstream::stream::{DirectGetErrorKind, Stream};
use bytes::Bytes;
use chrono::Utc;
use futures_util::StreamExt as _;
use futures_util::stream::FuturesUnordered;
use hookwire_protocol::ordered::BlockedKey;
use tokio::sync::{Semaphore, mpsc};

use super::queues::{Queues, Refill};
use crate::delivery::http::Sender;
use crate::delivery::worker::{self, LaneStep};
use crate::engine::Engine;
use crate::store::Store;
use crate::task::Task;

/// The bucket keys of blocked keys: `ordered-blocked.<tenant>.<endpoint>.<lane>`.
pub(crate) const BLOCKED_PREFIX: &str = "ordered-blocked";

/// The bucket key of lane `lane` of `task`'s endpoint.
pub(crate) fn blocked_key(task: &Task, lane: &str) -> String {
    format!(
        "{BLOCKED_PREFIX}.{}.{}.{lane}",
        task.tenant, task.endpoint_id
    )
}

/// How long a lane waits after a failure to record or read.
const PAUSE: Duration = Duration::from_secs(1);

/// Heads attempted at once on an instance (the others wait for a place; a head waiting for
/// its retry holds none). Below the number of attempts the gates let wait for an endpoint's
/// free place (half the workers), so heads wait there instead of being put off.
pub(super) const HEADS_AT_ONCE: usize = 128;
/// Tasks one lane keeps in memory at most.
const PER_LANE: usize = 1_000;
/// Tasks a partition keeps in memory at most (the rest wait in the stream).
const IN_MEMORY: usize = 4_096;
/// Lanes of a partition read back from the stream at once.
const REFILLS_AT_ONCE: usize = 32;

/// What the lanes' futures resolve to.
enum Done {
    /// A head was settled and deleted.
    Settled(String),
    /// A refill read these tasks, to the lane's end when `complete`.
    Refilled {
        subject: String,
        tasks: Vec<(u64, Task)>,
        complete: bool,
    },
}

type Work = Pin<Box<dyn Future<Output = Done> + Send>>;

/// Runs the lanes of `partition` until stopped, resuming after interruptions.
pub(super) async fn run(
    engine: Arc<Engine>,
    sender: Sender,
    store: Store,
    partition: u8,
    places: Arc<Semaphore>,
) {
    loop {
        if let Err(e) = run_lanes(&engine, &sender, &store, partition, &places).await {
            tracing::warn!(partition, error = %e, "ordered lanes interrupted; resuming");
            tokio::time::sleep(PAUSE).await;
        }
    }
}

async fn run_lanes(
    engine: &Arc<Engine>,
    sender: &Sender,
    store: &Store,
    partition: u8,
    places: &Arc<Semaphore>,
) -> Result<(), async_nats::Error> {
    forget_blocked(engine, partition).await?;
    let stream = engine.js.get_stream(&engine.topology.ordered).await?;
    let reader = stream
        .create_consumer(consumer::pull::OrderedConfig {
            deliver_policy: consumer::DeliverPolicy::All,
            filter_subject: engine.topology.subjects.ordered_partition(partition),
            ..Default::default()
        })
        .await?;
    let mut messages = reader.messages().await?;
    let mut queues: Queues<Task> = Queues::new(PER_LANE, IN_MEMORY, REFILLS_AT_ONCE);
    let mut work: FuturesUnordered<Work> = FuturesUnordered::new();
    let (blocked_tx, mut blocked) = mpsc::unbounded_channel();
    let start = |subject: &str, (seq, task): (u64, Task)| -> Work {
        Box::pin(head(
            Lane {
                engine: Arc::clone(engine),
                sender: sender.clone(),
                store: store.clone(),
                stream: stream.clone(),
                places: Arc::clone(places),
                blocked: blocked_tx.clone(),
            },
            subject.to_owned(),
            seq,
            task,
        ))
    };
    loop {
        tokio::select! {
            message = messages.next() => {
                let message = message.ok_or("the lanes stream ended")??;
                let seq = message.info()?.stream_sequence;
                let subject = message.subject.as_str();
                if !queues.wants(subject, seq) {
                    continue;
                }
                let Some(task) = readable(&stream, seq, message.headers.as_ref(), &message.payload).await else {
                    continue;
                };
                if let Some(head) = queues.push(subject, seq, task) {
                    work.push(start(subject, head));
                }
            }
            Some(done) = work.next(), if !work.is_empty() => {
                let head = match done {
                    Done::Settled(subject) => queues.settled(&subject).map(|head| (subject, head)),
                    Done::Refilled { subject, tasks, complete } => {
                        queues.refilled(&subject, tasks, complete).map(|head| (subject, head))
                    }
                };
                if let Some((subject, head)) = head {
                    work.push(start(&subject, head));
                }
                for wanted in queues.refills() {
                    work.push(Box::pin(refill(stream.clone(), wanted)));
                }
            }
            Some(subject) = blocked.recv() => {
                queues.shed(&subject);
                for wanted in queues.refills() {
                    work.push(Box::pin(refill(stream.clone(), wanted)));
                }
            }
        }
    }
}

/// A lane message's task, its payload copied out of the read buffer (which it would
/// otherwise keep whole in memory); an unreadable one is deleted.
async fn readable(
    stream: &Stream,
    seq: u64,
    headers: Option<&async_nats::HeaderMap>,
    payload: &Bytes,
) -> Option<Task> {
    match Task::from_message(headers, Bytes::copy_from_slice(payload)) {
        Ok(task) => Some(task),
        Err(e) => {
            tracing::error!(seq, error = %e, "dropping an unreadable lane task");
            let _ = stream.delete_message(seq).await;
            None
        }
    }
}

/// Reads up to `count` of a lane's tasks back from the stream, after `after`.
async fn refill(stream: Stream, wanted: Refill) -> Done {
    let Refill {
        subject,
        mut after,
        count,
    } = wanted;
    let mut tasks = Vec::new();
    let mut complete = false;
    while tasks.len() < count {
        match stream
            .direct_get_next_for_subject(subject.as_str(), Some(after + 1))
            .await
        {
            Ok(message) => {
                after = message.sequence;
                if let Some(task) =
                    readable(&stream, after, Some(&message.headers), &message.payload).await
                {
                    tasks.push((after, task));
                }
            }
            Err(e) if e.kind() == DirectGetErrorKind::NotFound => {
                complete = true;
                break;
            }
            Err(e) => {
                tracing::warn!(lane = subject, error = %e, "cannot read a lane back; retrying");
                tokio::time::sleep(PAUSE).await;
                break;
            }
        }
    }
    Done::Refilled {
        subject,
        tasks,
        complete,
    }
}

/// Clears what an earlier owner of `partition` said of its blocked keys (it may have
/// stopped before its heads went on): the heads that still fail say so again.
async fn forget_blocked(engine: &Engine, partition: u8) -> Result<(), async_nats::Error> {
    let prefix = format!("{BLOCKED_PREFIX}.");
    for key in crate::watched::keys_under(&engine.bucket, &prefix).await? {
        let lane = key.rsplit('.').next().unwrap_or_default();
        if hookwire_protocol::ordered::partition(lane) == partition {
            engine.bucket.purge(key.as_str()).await?;
        }
    }
    Ok(())
}

/// Deletes a lane message; one already gone (skipped by an operator) is fine. Without the
/// erase the client's `delete_message` asks for: overwriting every settled task's bytes costs
/// the server a write per event, and lane tasks hold nothing a settled delivery's record
/// does not.
async fn delete(engine: &Engine, seq: u64) -> Result<(), async_nats::Error> {
    #[derive(serde::Deserialize)]
    struct Deleted {
        #[serde(default)]
        success: bool,
        #[serde(default)]
        error: Option<serde_json::Value>,
    }
    let answer: Deleted = engine
        .js
        .request(
            format!("STREAM.MSG.DELETE.{}", engine.topology.ordered),
            &serde_json::json!({"seq": seq, "no_erase": true}),
        )
        .await?;
    match answer.error {
        None if answer.success => Ok(()),
        Some(error) if error.to_string().contains("no message found") => Ok(()),
        error => Err(format!("cannot delete lane task {seq}: {error:?}").into()),
    }
}

/// What a lane's head works with.
struct Lane {
    engine: Arc<Engine>,
    sender: Sender,
    store: Store,
    stream: Stream,
    places: Arc<Semaphore>,
    /// Where the head says that it failed (once), so its followers leave memory.
    blocked: mpsc::UnboundedSender<String>,
}

/// Works on a lane's head until it is settled (attempted and retried in place, waiting
/// while its endpoint does not deliver; dropped when its endpoint was deleted or an
/// operator moved it aside), then deletes it from the stream, so the next of its lane goes
/// only after.
async fn head(lane_of: Lane, lane_subject: String, seq: u64, mut task: Task) -> Done {
    let Lane {
        engine,
        sender,
        store,
        stream,
        places,
        blocked: shed,
    } = lane_of;
    let lane = task.lane();
    // After a takeover, the attempts go on from those already made.
    let (reader, tenant, endpoint_id, event_id) = (
        store.clone(),
        task.tenant.clone(),
        task.endpoint_id.clone(),
        task.event_id.clone(),
    );
    if let Ok(Ok(Some(delivery))) =
        tokio::task::spawn_blocking(move || reader.delivery(&tenant, &endpoint_id, &event_id)).await
        && delivery.attempts >= task.attempt
    {
        task.attempt = delivery.attempts + 1;
        task.series_start = task.series_start.max(1);
    }
    let mut blocked = false;
    // After a wait of its own (a failure, a paused endpoint), the head may have been moved
    // aside by an operator meanwhile.
    let mut waited = false;
    loop {
        if waited && stream.direct_get(seq).await.is_err() {
            break;
        }
        let Some(endpoint) = engine.registry.get(&task.tenant, &task.endpoint_id) else {
            break;
        };
        let step = match places.acquire().await {
            // Boxed: a head spends most of its life waiting, and thousands of them wait at
            // once; unboxed, each would be as large as the whole attempt's state.
            Ok(_place) => Box::pin(worker::step_in_lane(&engine, &sender, &task, &endpoint)).await,
            Err(e) => Err(e.into()),
        };
        waited = false;
        match step {
            Ok(LaneStep::Settled) => break,
            Ok(LaneStep::Later { delay, paced }) => {
                task.paced = paced;
                waited = delay >= PAUSE;
                tokio::time::sleep(delay).await;
            }
            Ok(LaneStep::Retry { delay, error }) => {
                let since = Utc::now();
                let record = BlockedKey {
                    lane: lane.clone(),
                    key: task.order_key.clone().unwrap_or_default(),
                    event_id: task.event_id.clone(),
                    event_seq: task.event_seq,
                    attempts: task.attempt,
                    last_error: error,
                    next_attempt_at: chrono::TimeDelta::from_std(delay).ok().map(|d| since + d),
                    since,
                };
                mark_blocked(&engine, &task, &lane, &record, blocked).await;
                if !blocked {
                    let _ = shed.send(lane_subject.clone());
                }
                blocked = true;
                waited = true;
                task.attempt += 1;
                task.paced = false;
                tokio::time::sleep(delay).await;
            }
            Err(e) => {
                tracing::warn!(lane = lane_subject, error = %e, "cannot settle a lane's head; retrying");
                tokio::time::sleep(PAUSE).await;
            }
        }
    }
    while let Err(e) = delete(&engine, seq).await {
        tracing::warn!(seq, error = %e, "cannot delete a settled lane task; retrying");
        tokio::time::sleep(PAUSE).await;
    }
    if blocked {
        let _ = engine.bucket.purge(blocked_key(&task, &lane)).await;
    }
    Done::Settled(lane_subject)
}

/// Records that `task`'s key waits (keeping when it started waiting).
async fn mark_blocked(engine: &Engine, task: &Task, lane: &str, record: &BlockedKey, again: bool) {
    let key = blocked_key(task, lane);
    let mut record = record.clone();
    if again
        && let Ok(Some(entry)) = engine.bucket.get(key.as_str()).await
        && let Ok(earlier) = serde_json::from_slice::<BlockedKey>(&entry)
    {
        record.since = earlier.since;
    }
    if let Ok(value) = serde_json::to_vec(&record) {
        let _ = engine.bucket.put(key.as_str(), value.into()).await;
    }
}
