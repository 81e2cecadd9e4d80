//! Retry tiers: one durable consumer per delay. Every task in a tier waits about the same
//! delay, so each tier is first-in first-out by due time: the worker holds the head until
//! it is due, then sends it back to the tasks stream. Waiting retries sit in the stream,
//! not in any consumer's pending set, so they cost nothing and block no one.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, AckKind, consumer::PullConsumer};
use chrono::Utc;
use futures_util::StreamExt as _;
use hookwire_nats::streams::Topology;

use crate::engine::Engine;
use crate::task::Task;

/// Tasks taken from a tier at once.
const BATCH: usize = 64;
/// How long a fetch waits for a full batch: a sparse tier's task is released at most this late.
const FETCH_WAIT: Duration = Duration::from_millis(500);
/// How often held tasks tell JetStream they are still being worked on (the ack wait is 30 s).
const PROGRESS_EVERY: Duration = Duration::from_secs(10);

/// Works one tier forever.
pub(crate) async fn run(engine: Arc<Engine>, tier: Duration) {
    loop {
        if let Err(e) = work(&engine, tier).await {
            tracing::warn!(tier_secs = tier.as_secs(), error = %e, "retry tier interrupted; resuming");
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

async fn work(engine: &Engine, tier: Duration) -> Result<(), async_nats::Error> {
    let consumer: PullConsumer = engine
        .js
        .get_consumer_from_stream(Topology::tier_consumer(tier), &engine.topology.retry)
        .await?;
    loop {
        let mut fetched = consumer
            .fetch()
            .max_messages(BATCH)
            .expires(FETCH_WAIT)
            .messages()
            .await?;
        let mut batch = Vec::with_capacity(BATCH);
        while let Some(message) = fetched.next().await {
            batch.push(message?);
        }
        for i in 0..batch.len() {
            release(engine, &batch[i..]).await?;
        }
    }
}

/// Waits until the head of `waiting` is due (keeping every waiting task alive), then
/// sends it back to the tasks stream and acks it.
async fn release(engine: &Engine, waiting: &[jetstream::Message]) -> Result<(), async_nats::Error> {
    let Some(head) = waiting.first() else {
        return Ok(());
    };
    let task = match Task::from_message(head.headers.as_ref(), head.payload.clone()) {
        Ok(task) => task,
        Err(e) => {
            tracing::error!(error = %e, "dropping an unreadable retry task");
            head.ack_with(AckKind::Term).await?;
            return Ok(());
        }
    };
    let due_ms = task.due_ms.unwrap_or(0);
    loop {
        let wait_ms = due_ms - Utc::now().timestamp_millis();
        if wait_ms <= 0 {
            break;
        }
        let wait = Duration::from_millis(u64::try_from(wait_ms).unwrap_or(0)).min(PROGRESS_EVERY);
        tokio::time::sleep(wait).await;
        for message in waiting {
            message.ack_with(AckKind::Progress).await?;
        }
    }
    engine.enqueue(&task).await?;
    head.ack().await?;
    Ok(())
}
