//! The feeder: reads the events stream in order and puts each ordered endpoint's task on
//! its key's lane. Publishes go out pipelined on one connection, which JetStream stores in
//! order; the position (the last event fed) is written once a batch is acknowledged, before
//! the next is read, so a feeder that resumes (after a crash, a takeover or a broker
//! restart) repeats at most the batch it was feeding. Of that batch, a task still in its
//! lane is dropped by de-duplication (`Nats-Msg-Id`); one already delivered and deleted
//! may no longer be known to it (a restarted server rebuilds de-duplication from the
//! messages it still holds), so the first batch's worth of events after a start is checked
//! against the index: an event the endpoint already has a delivery of is not fed again.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{consumer, kv};
use futures_util::StreamExt as _;

use crate::engine::Engine;
use crate::fanout::{self, Lanes};
use crate::store::Store;

/// The bucket key of the position.
const POSITION: &str = "ordered-feeder-position";
/// Events fed per batch at most.
const BATCH: usize = 500;
/// How long a batch waits for more events once it has one.
const LINGER: Duration = Duration::from_millis(5);

/// Feeds forever, resuming after interruptions.
pub(super) async fn run(engine: Arc<Engine>, store: Store) {
    loop {
        if let Err(e) = feed(&engine, &store).await {
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

async fn feed(engine: &Engine, store: &Store) -> Result<(), async_nats::Error> {
    let bucket = &engine.bucket;
    let (deliver_policy, revision, mut fed) = match bucket.entry(POSITION).await? {
        Some(entry) if entry.operation == kv::Operation::Put => {
            let fed: u64 = std::str::from_utf8(&entry.value)?.parse()?;
            (
                consumer::DeliverPolicy::ByStartSequence {
                    start_sequence: fed + 1,
                },
                Some(entry.revision),
                fed,
            )
        }
        // From the first ordered endpoint's creation: earlier events are not theirs.
        _ => match engine.registry.earliest_ordered() {
            Some(since) => (
                consumer::DeliverPolicy::ByStartTime {
                    start_time: time::OffsetDateTime::from_unix_timestamp(since.timestamp())?,
                },
                None,
                0,
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
    let mut position = Position { revision };
    // The events an earlier feeder may have fed past the position: at most one batch.
    let mut unsure = BATCH;
    loop {
        let Some(first) = messages.next().await else {
            return Err("the events stream ended".into());
        };
        let mut batch = vec![first?];
        while batch.len() < BATCH {
            match tokio::time::timeout(LINGER, messages.next()).await {
                Ok(Some(message)) => batch.push(message?),
                Ok(None) | Err(_) => break,
            }
        }
        let mut acks = Vec::new();
        let already = fed;
        for message in &batch {
            let info = message.info()?;
            // The client recreates a lost ordered consumer from the stream's start when it
            // had delivered nothing yet (whatever it was asked to start at): what was fed
            // before is skipped, not fed again behind later events.
            if info.stream_sequence <= fed {
                continue;
            }
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
            let check = unsure > 0;
            unsure = unsure.saturating_sub(1);
            for task in tasks {
                // Fed before a restart: feeding it again would put it behind later events
                // of its key.
                if check
                    && store
                        .indexed_delivery(&task.tenant, &task.endpoint_id, &task.event_id)
                        .await
                        .is_some()
                {
                    continue;
                }
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
        if fed > already {
            position.write(bucket, fed).await?;
        }
    }
}

/// The last event fed, as written (by compare-and-set: two feeders never both advance it).
struct Position {
    revision: Option<u64>,
}

impl Position {
    async fn write(&mut self, bucket: &kv::Store, fed: u64) -> Result<(), async_nats::Error> {
        let value = fed.to_string().into_bytes().into();
        self.revision = Some(match self.revision {
            Some(revision) => bucket.update(POSITION, value, revision).await?,
            None => bucket.create(POSITION, value).await?,
        });
        Ok(())
    }
}
