//! Batched delivery: the tasks of an endpoint in batch mode are collected per endpoint,
//! unacknowledged, until the batch is full (events or bytes) or its first task has waited
//! `max_wait_ms`; then they travel as one batch task through the usual path (gates, one
//! signed request, the attempt record, retry tiers, dead letters, requeue), and the
//! collected tasks are acknowledged once it is settled. A crash before that leaves them
//! unacknowledged: JetStream sends them again and they are batched again.
//!
//! A batch task is a [`Task`] whose `batch` holds the number of events, whose `event_id` is
//! the batch id (the `webhook-id` of every attempt, retries included) and whose payload is
//! its events as [`Member`]s.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::jetstream::{self, AckKind};
use chrono::{DateTime, TimeZone as _, Utc};
use hookwire_protocol::Tenant;
use hookwire_protocol::attempt::BatchMember;
use hookwire_protocol::endpoint::BatchSettings;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::{Digest as _, Sha256};

use super::http::Sender;
use super::worker;
use crate::engine::Engine;
use crate::task::Task;

/// One event of a batch task's payload.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Member {
    /// The event id.
    pub id: String,
    /// Its sequence in the events stream.
    pub seq: u64,
    /// Its type.
    #[serde(rename = "type")]
    pub event_type: String,
    /// When it was published, Unix milliseconds.
    pub time_ms: i64,
    /// Its correlation id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// Its data as published (fan-out let only JSON through).
    pub data: Box<RawValue>,
}

impl Member {
    /// When it was published.
    #[must_use]
    pub(crate) fn time(&self) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(self.time_ms)
            .single()
            .unwrap_or_else(Utc::now)
    }
}

/// The events of a batch task.
pub(crate) fn members(task: &Task) -> Result<Vec<Member>, serde_json::Error> {
    serde_json::from_slice(&task.data)
}

/// The events of a batch task as its attempt records list them.
#[must_use]
pub(crate) fn listed(members: &[Member]) -> Vec<BatchMember> {
    members
        .iter()
        .map(|m| BatchMember {
            event_id: m.id.clone(),
            event_seq: m.seq,
            event_type: m.event_type.clone(),
        })
        .collect()
}

/// The batch task carrying `tasks` (single tasks of one endpoint, in order), numbered as a
/// first attempt. Its id is derived from the endpoint and the events, so the same events
/// batched again (after a crash) make the same batch.
pub(crate) fn batch_task(tasks: &[Task]) -> Result<Task, serde_json::Error> {
    let Some(first) = tasks.first() else {
        return Err(serde::de::Error::custom("a batch needs at least one event"));
    };
    let members = tasks
        .iter()
        .map(|task| {
            Ok(Member {
                id: task.event_id.clone(),
                seq: task.event_seq,
                event_type: task.event_type.to_string(),
                time_ms: task.event_time_ms,
                correlation_id: task.correlation_id.clone(),
                data: RawValue::from_string(String::from_utf8_lossy(&task.data).into_owned())?,
            })
        })
        .collect::<Result<Vec<Member>, serde_json::Error>>()?;
    Ok(Task {
        event_id: batch_id(
            &first.endpoint_id,
            tasks.iter().map(|t| t.event_id.as_str()),
        ),
        attempt: 1,
        series_start: 1,
        correlation_id: None,
        // A batch's events may belong to several traces: it carries none.
        traceparent: None,
        due_ms: None,
        paced: false,
        batch: Some(u32::try_from(tasks.len()).unwrap_or(u32::MAX)),
        data: serde_json::to_vec(&members)?.into(),
        ..first.clone()
    })
}

/// `bat_` and 24 hex digits of a SHA-256 over the endpoint and the event ids.
fn batch_id<'a>(endpoint_id: &str, event_ids: impl Iterator<Item = &'a str>) -> String {
    let mut hash = Sha256::new();
    hash.update(endpoint_id.as_bytes());
    for id in event_ids {
        hash.update([0]);
        hash.update(id.as_bytes());
    }
    let digest = hash.finalize();
    format!("bat_{}", hex::encode(&digest[..12]))
}

/// The batches being filled on this instance, one per endpoint: tasks, each with what
/// acknowledges it once its batch is settled (`M`, a JetStream message).
pub(crate) struct Batcher<M = jetstream::Message> {
    open: Mutex<HashMap<(Tenant, String), Open<M>>>,
    generations: std::sync::atomic::AtomicU64,
}

impl<M> Default for Batcher<M> {
    fn default() -> Self {
        Self {
            open: Mutex::default(),
            generations: std::sync::atomic::AtomicU64::default(),
        }
    }
}

struct Open<M> {
    /// Tells a batch from the next one of the same endpoint, for its timer.
    generation: u64,
    tasks: Vec<(Task, M)>,
    bytes: usize,
}

/// What adding a task did.
#[derive(Debug)]
struct Added<M> {
    /// Batches to send now, in order: the one the task would have overfilled, and the
    /// task's own when it is full.
    send: Vec<Vec<(Task, M)>>,
    /// The task opened a batch that waits: its generation, for the timer.
    opened: Option<u64>,
}

impl<M> Batcher<M> {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(Tenant, String), Open<M>>> {
        self.open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn add(&self, settings: BatchSettings, task: Task, message: M) -> Added<M> {
        let key = (task.tenant.clone(), task.endpoint_id.clone());
        let bytes = task.data.len();
        let max_bytes = usize::try_from(settings.max_bytes).unwrap_or(usize::MAX);
        let max_events = usize::try_from(settings.max_events).unwrap_or(usize::MAX);
        let mut open = self.lock();
        let mut send = Vec::new();
        // A task that would take the batch over its bytes sends what waits first.
        if open
            .get(&key)
            .is_some_and(|b| !b.tasks.is_empty() && b.bytes + bytes > max_bytes)
        {
            send.extend(open.remove(&key).map(|b| b.tasks));
        }
        let generation = self
            .generations
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let batch = open.entry(key.clone()).or_insert_with(|| Open {
            generation,
            tasks: Vec::new(),
            bytes: 0,
        });
        let mut opened = batch.tasks.is_empty().then_some(batch.generation);
        batch.tasks.push((task, message));
        batch.bytes += bytes;
        if batch.tasks.len() >= max_events || batch.bytes >= max_bytes {
            send.extend(open.remove(&key).map(|b| b.tasks));
            opened = None;
        }
        Added { send, opened }
    }

    /// The batch opened as `generation`, if it is still waiting.
    fn take(&self, key: &(Tenant, String), generation: u64) -> Option<Vec<(Task, M)>> {
        let mut open = self.lock();
        if open.get(key).is_some_and(|b| b.generation == generation) {
            return open.remove(key).map(|b| b.tasks);
        }
        None
    }
}

/// Adds `task` (its `message` unacknowledged) to its endpoint's batch; sends the batch when
/// it is full, or `max_wait_ms` after it opened.
pub(crate) fn collect(
    engine: &Arc<Engine>,
    sender: &Sender,
    settings: BatchSettings,
    task: Task,
    message: jetstream::Message,
) {
    let key = (task.tenant.clone(), task.endpoint_id.clone());
    let added = engine.batcher.add(settings, task, message);
    for tasks in added.send {
        tokio::spawn(send(Arc::clone(engine), sender.clone(), tasks));
    }
    if let Some(generation) = added.opened {
        let (engine, sender) = (Arc::clone(engine), sender.clone());
        let wait = Duration::from_millis(u64::from(settings.max_wait_ms));
        tokio::spawn(async move {
            tokio::time::sleep(wait).await;
            if let Some(tasks) = engine.batcher.take(&key, generation) {
                send(engine, sender, tasks).await;
            }
        });
    }
}

/// Delivers `tasks` as one batch task; acknowledges them once it is settled (delivered,
/// scheduled for a retry, dead-lettered or held), asks for them again if it could not be.
async fn send(engine: Arc<Engine>, sender: Sender, tasks: Vec<(Task, jetstream::Message)>) {
    // The tasks' acknowledgement deadline (the longest attempt timeout and a 30 s margin)
    // covers the longest wait for a batch (10 s) with the attempt after it.
    let (tasks, messages): (Vec<Task>, Vec<jetstream::Message>) = tasks.into_iter().unzip();
    let settled = match batch_task(&tasks) {
        Ok(batch) => worker::deliver(&engine, &sender, &batch).await,
        Err(e) => Err(e.into()),
    };
    let ack = match settled {
        Ok(()) => AckKind::Ack,
        Err(e) => {
            tracing::warn!(error = %e, "cannot settle a batch; its events will be batched again");
            AckKind::Nak(Some(Duration::from_secs(1)))
        }
    };
    for message in messages {
        if let Err(e) = message.ack_with(ack).await {
            tracing::warn!(error = %e, "cannot ack a batched task; it may be delivered again");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use hookwire_protocol::EventType;

    fn task(id: &str, data: &str) -> Task {
        Task {
            tenant: Tenant::default(),
            endpoint_id: "ep_1".into(),
            event_id: id.into(),
            event_seq: 7,
            event_type: EventType::new("orders.paid").unwrap(),
            event_time_ms: 1_700_000_000_000,
            attempt: 1,
            series_start: 1,
            correlation_id: Some("c".into()),
            traceparent: None,
            due_ms: None,
            paced: false,
            batch: None,
            order_key: None,
            data: Bytes::from(data.to_owned()),
        }
    }

    #[test]
    fn a_batch_task_carries_its_events_and_a_stable_id() {
        let tasks = [task("a", r#"{"n": 1}"#), task("b", "[2]")];
        let batch = batch_task(&tasks).unwrap();
        assert_eq!(batch.batch, Some(2));
        assert!(batch.event_id.starts_with("bat_") && batch.event_id.len() == 28);
        assert_eq!(
            batch.event_id,
            batch_task(&tasks).unwrap().event_id,
            "stable"
        );
        let other = batch_task(&[task("a", "{}"), task("c", "{}")]).unwrap();
        assert!(batch_task(&[]).is_err(), "no events, no batch");
        assert_ne!(batch.event_id, other.event_id);
        let members = members(&batch).unwrap();
        assert_eq!(
            members.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(),
            ["a", "b"]
        );
        assert_eq!(
            members[0].data.get(),
            r#"{"n": 1}"#,
            "data kept byte for byte"
        );
        assert_eq!(members[1].correlation_id.as_deref(), Some("c"));
        assert_eq!(listed(&members)[1].event_id, "b");
        // The batch task survives the trip through headers and a retry.
        let back = Task::from_message(Some(&batch.headers()), batch.data.clone()).unwrap();
        assert_eq!(back, batch);
    }

    fn settings(max_events: u32, max_bytes: u32) -> BatchSettings {
        BatchSettings {
            max_events,
            max_bytes,
            max_wait_ms: 1000,
        }
    }

    /// The messages of the batches `added` sends, per batch.
    fn sent(added: &Added<u32>) -> Vec<Vec<u32>> {
        added
            .send
            .iter()
            .map(|batch| batch.iter().map(|(_, m)| *m).collect())
            .collect()
    }

    #[test]
    fn batches_fill_by_count_per_endpoint() {
        let batcher = Batcher::<u32>::default();
        let s = settings(3, 1024 * 1024);
        let first = batcher.add(s, task("a", "{}"), 1);
        assert!(first.send.is_empty());
        let first = first.opened.expect("the first task opens a batch");
        let mut elsewhere = task("x", "{}");
        elsewhere.endpoint_id = "ep_2".into();
        assert!(
            batcher.add(s, elsewhere, 9).opened.is_some(),
            "per endpoint"
        );
        let joined = batcher.add(s, task("b", "{}"), 2);
        assert!(joined.send.is_empty() && joined.opened.is_none());
        let full = batcher.add(s, task("c", "{}"), 3);
        assert_eq!(sent(&full), [vec![1, 2, 3]]);
        assert!(full.opened.is_none());
        let key = (Tenant::default(), "ep_1".to_owned());
        assert!(
            batcher.take(&key, first).is_none(),
            "the timer of a batch already sent finds nothing"
        );
        let next = batcher
            .add(s, task("d", "{}"), 4)
            .opened
            .expect("a new batch");
        assert_eq!(
            batcher.take(&key, next).map(|t| t.len()),
            Some(1),
            "its timer sends it"
        );
        let one = settings(1, 1024 * 1024);
        assert_eq!(sent(&batcher.add(one, task("e", "{}"), 5)), [vec![5]]);
    }

    #[test]
    fn batches_fill_by_bytes_and_a_large_event_goes_alone() {
        let batcher = Batcher::<u32>::default();
        let s = settings(100, 1024);
        let half = format!("\"{}\"", "x".repeat(600));
        assert!(batcher.add(s, task("a", &half), 1).opened.is_some());
        assert!(batcher.add(s, task("b", "{}"), 2).send.is_empty());
        // Would take the batch over 1 KiB: what waited goes first, this one opens the next.
        let over = batcher.add(s, task("c", &half), 3);
        assert_eq!(sent(&over), [vec![1, 2]]);
        assert!(over.opened.is_some(), "the next batch waits with its timer");
        let huge = format!("\"{}\"", "x".repeat(2000));
        // Over the limit alone: the waiting batch goes, then it alone.
        assert_eq!(
            sent(&batcher.add(s, task("d", &huge), 4)),
            [vec![3], vec![4]]
        );
    }
}
