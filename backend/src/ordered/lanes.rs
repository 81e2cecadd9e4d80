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
use hookwire_protocol::endpoint::DeliveryMode;
use hookwire_protocol::ordered::BlockedKey;
use tokio::sync::{Semaphore, mpsc};

use super::queues::{Queues, Refill};
use crate::delivery::batch;
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
    /// A lane's turn was settled: its first `count` tasks are deleted.
    Settled { subject: String, count: usize },
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
    let start = |queues: &Queues<Task>, subject: &str, head: (u64, Task)| -> Work {
        Box::pin(turn(
            Lane {
                engine: Arc::clone(engine),
                sender: sender.clone(),
                store: store.clone(),
                stream: stream.clone(),
                places: Arc::clone(places),
                blocked: blocked_tx.clone(),
            },
            subject.to_owned(),
            Turn::of(engine, queues, subject, head),
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
                    work.push(start(&queues, subject, head));
                }
            }
            Some(done) = work.next(), if !work.is_empty() => {
                let head = match done {
                    Done::Settled { subject, count } => {
                        queues.settled(&subject, count).map(|head| (subject, head))
                    }
                    Done::Refilled { subject, tasks, complete } => {
                        queues.refilled(&subject, tasks, complete).map(|head| (subject, head))
                    }
                };
                if let Some((subject, head)) = head {
                    work.push(start(&queues, &subject, head));
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

/// What goes on a lane's turn: its head, or for an endpoint batched per key a run of its
/// first tasks as one batch.
struct Turn {
    members: Vec<(u64, Task)>,
    batched: bool,
}

impl Turn {
    fn of(engine: &Engine, queues: &Queues<Task>, subject: &str, head: (u64, Task)) -> Self {
        let batch = engine
            .registry
            .get(&head.1.tenant, &head.1.endpoint_id)
            .and_then(|endpoint| match &endpoint.endpoint.delivery {
                DeliveryMode::Ordered(settings) => settings.batch,
                _ => None,
            });
        match batch {
            // A batch already (requeued or redelivered whole) goes as it is.
            Some(batch) if head.1.batch.is_none() => {
                let mut members = queues.run_of(
                    subject,
                    usize::try_from(batch.max_events).unwrap_or(usize::MAX),
                    usize::try_from(batch.max_bytes).unwrap_or(usize::MAX),
                    |task| task.data.len(),
                );
                if let Some(end) = members.iter().position(|(_, task)| task.batch.is_some()) {
                    members.truncate(end);
                }
                Self {
                    members,
                    batched: true,
                }
            }
            _ => Self {
                members: vec![head],
                batched: false,
            },
        }
    }
}

/// Works on a lane's turn until it is settled (attempted and retried in place, waiting
/// while its endpoint does not deliver; dropped when its endpoint was deleted or an
/// operator moved its head aside), then deletes it from the stream, so the next of its
/// lane goes only after.
async fn turn(lane_of: Lane, lane_subject: String, turn: Turn) -> Done {
    let Lane {
        engine,
        sender,
        store,
        stream,
        places,
        blocked: shed,
    } = lane_of;
    let Turn {
        mut members,
        batched,
    } = turn;
    let Some((head_seq, first)) = members.first().cloned() else {
        return Done::Settled {
            subject: lane_subject,
            count: 0,
        };
    };
    let mut task = if batched {
        let tasks: Vec<Task> = members.iter().map(|(_, task)| task.clone()).collect();
        batch::batch_task(&tasks).unwrap_or_else(|e| {
            tracing::error!(lane = lane_subject, error = %e, "cannot batch a lane's turn; its head goes alone");
            members.truncate(1);
            first.clone()
        })
    } else {
        first.clone()
    };
    let lane = first.lane();
    continue_numbering(&store, &mut task).await;
    let mut blocked = false;
    // After a wait of its own (a failure, a paused endpoint), the head may have been moved
    // aside by an operator meanwhile: then only it leaves the lane.
    let mut waited = false;
    let mut moved_aside = false;
    loop {
        if waited && gone(&stream, head_seq).await {
            moved_aside = true;
            break;
        }
        let Some(endpoint) = engine.registry.get(&task.tenant, &task.endpoint_id) else {
            break;
        };
        let step = match places.acquire().await {
            // Boxed: a turn spends most of its life waiting, and thousands of them wait at
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
                    key: first.order_key.clone().unwrap_or_default(),
                    event_id: first.event_id.clone(),
                    event_seq: first.event_seq,
                    attempts: task.attempt,
                    last_error: error,
                    next_attempt_at: chrono::TimeDelta::from_std(delay).ok().map(|d| since + d),
                    since,
                };
                mark_blocked(&engine, &first, &lane, &record, blocked).await;
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
                tracing::warn!(lane = lane_subject, error = %e, "cannot settle a lane's turn; retrying");
                tokio::time::sleep(PAUSE).await;
            }
        }
    }
    if moved_aside {
        members.truncate(1);
    } else {
        delete_all(&engine, &members).await;
    }
    if blocked {
        let _ = engine.bucket.purge(blocked_key(&first, &lane)).await;
    }
    Done::Settled {
        subject: lane_subject,
        count: members.len(),
    }
}

/// Whether the lane message `seq` is gone (an operator moved it aside); asked again until
/// the stream answers, so a head is never skipped on a guess.
async fn gone(stream: &Stream, seq: u64) -> bool {
    loop {
        match stream.direct_get(seq).await {
            Ok(_) => return false,
            Err(e) if e.kind() == DirectGetErrorKind::NotFound => return true,
            Err(e) => {
                tracing::warn!(seq, error = %e, "cannot check a lane's head; retrying");
                tokio::time::sleep(PAUSE).await;
            }
        }
    }
}

/// Deletes a settled turn's tasks from the lane stream, retrying until it can.
async fn delete_all(engine: &Engine, members: &[(u64, Task)]) {
    for (seq, _) in members {
        while let Err(e) = delete(engine, *seq).await {
            tracing::warn!(seq, error = %e, "cannot delete a settled lane task; retrying");
            tokio::time::sleep(PAUSE).await;
        }
    }
}

/// After a takeover, a turn's attempts go on from those already made (as the index knows
/// them).
async fn continue_numbering(store: &Store, task: &mut Task) {
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
