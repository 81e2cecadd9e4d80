//! The feeder: reads the events stream in order and puts each ordered endpoint's task on
//! its key's lane. Publishes go out pipelined on one connection, which JetStream stores in
//! order; the position (the last event fed) is written once they are acknowledged, so a
//! feeder that takes over repeats at most the last unacknowledged stretch, and the lanes'
//! de-duplication (`Nats-Msg-Id`) drops the repeats.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{consumer, kv};
use futures_util::StreamExt as _;

use crate::engine::Engine;
use crate::fanout::{self, Lanes};

/// The bucket key of the position.
const POSITION: &str = "ordered-feeder-position";
/// Events fed per batch at most.
const BATCH: usize = 500;
/// How often the position is written at most (a takeover repeats up to this much, which
/// de-duplication drops).
const WRITE_EVERY: Duration = Duration::from_secs(1);
/// How long a batch waits for more events once it has one.
const LINGER: Duration = Duration::from_millis(5);

/// Feeds forever, resuming after interruptions.
pub(super) async fn run(engine: Arc<Engine>) {
    loop {
        if let Err(e) = feed(&engine).await {
            tracing::warn!(error = %e, "the ordered feeder stopped; resuming");
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

/// Forgets the position (when no endpoint is ordered any more): the next feeder starts at
/// the first ordered endpoint's creation instead of reading everything since.
pub(super) async fn forget(bucket: &kv::Store) {
    let _ = bucket.purge(POSITION).await;
}

async fn feed(engine: &Engine) -> Result<(), async_nats::Error> {
    let bucket = &engine.bucket;
    let (deliver_policy, revision) = match bucket.entry(POSITION).await? {
        Some(entry) if entry.operation == kv::Operation::Put => {
            let fed: u64 = std::str::from_utf8(&entry.value)?.parse()?;
            (
                consumer::DeliverPolicy::ByStartSequence {
                    start_sequence: fed + 1,
                },
                Some(entry.revision),
            )
        }
        // From the first ordered endpoint's creation: earlier events are not theirs.
        _ => match engine.registry.earliest_ordered() {
            Some(since) => (
                consumer::DeliverPolicy::ByStartTime {
                    start_time: time::OffsetDateTime::from_unix_timestamp(since.timestamp())?,
                },
                None,
            ),
            None => return Ok(()),
        },
    };
    let stream = engine.js.get_stream(&engine.topology.events).await?;
    let reader = stream
        .create_consumer(consumer::pull::OrderedConfig {
            deliver_policy,
            ..Default::default()
        })
        .await?;
    let mut messages = reader.messages().await?;
    let mut position = Position {
        revision,
        written: std::time::Instant::now(),
        unwritten: None,
    };
    loop {
        // Idle: what was fed is written before waiting on.
        let first = match tokio::time::timeout(WRITE_EVERY, messages.next()).await {
            Ok(Some(first)) => first,
            Ok(None) => return Err("the events stream ended".into()),
            Err(_) => {
                position.write(bucket).await?;
                continue;
            }
        };
        let mut batch = vec![first?];
        while batch.len() < BATCH {
            match tokio::time::timeout(LINGER, messages.next()).await {
                Ok(Some(message)) => batch.push(message?),
                Ok(None) | Err(_) => break,
            }
        }
        let mut acks = Vec::new();
        let mut fed = 0;
        for message in &batch {
            let info = message.info()?;
            fed = info.stream_sequence;
            // A rejected event is reported by fan-out; here it is simply not fed.
            let Ok(tasks) = fanout::tasks_for(
                engine,
                message,
                fed,
                info.published.unix_timestamp_nanos(),
                Lanes::Only,
            ) else {
                continue;
            };
            for task in tasks {
                acks.push(
                    engine
                        .js
                        .publish_with_headers(engine.task_subject(&task), task.headers(), task.data)
                        .await?,
                );
            }
        }
        for ack in acks {
            ack.await?;
        }
        position.unwritten = Some(fed);
        if position.written.elapsed() >= WRITE_EVERY {
            position.write(bucket).await?;
        }
    }
}

/// How far the feeder got, and what of it is written.
struct Position {
    revision: Option<u64>,
    written: std::time::Instant,
    /// The last event fed, when not written yet.
    unwritten: Option<u64>,
}

impl Position {
    async fn write(&mut self, bucket: &kv::Store) -> Result<(), async_nats::Error> {
        let Some(fed) = self.unwritten.take() else {
            return Ok(());
        };
        let value = fed.to_string().into_bytes().into();
        self.revision = Some(match self.revision {
            Some(revision) => bucket.update(POSITION, value, revision).await?,
            None => bucket.create(POSITION, value).await?,
        });
        self.written = std::time::Instant::now();
        Ok(())
    }
}
