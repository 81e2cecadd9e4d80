//! Retry tiers: one durable consumer per delay. Every task in a tier waits about the same
//! delay, so each tier is first-in first-out by due time: the worker holds the head until
//! it is due, then settles it itself (through the endpoint's gates, ahead of first
//! attempts), so a retry never waits behind the tasks stream's backlog. Waiting retries sit
//! in the stream, not in any consumer's pending set, so they cost nothing and block no one.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, AckKind, consumer::PullConsumer};
use chrono::Utc;
use futures_util::StreamExt as _;
use hookwire_nats::streams::Topology;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::http::Sender;
use super::{progress, worker};
use crate::engine::Engine;
use crate::task::Task;

/// Tasks taken from a tier at once.
const BATCH: usize = 64;
/// How long a fetch waits for a full batch: a sparse tier's task is released at most this late.
const FETCH_WAIT: Duration = Duration::from_millis(500);
/// Due retries an instance settles at once, across its tiers; more go to the tasks stream.
pub(crate) const IN_HAND: usize = 256;

/// Works one tier forever; `in_hand` ([`IN_HAND`] permits) is shared by the tiers.
pub(crate) async fn run(
    engine: Arc<Engine>,
    sender: Sender,
    tier: Duration,
    in_hand: Arc<Semaphore>,
) {
    loop {
        if let Err(e) = work(&engine, &sender, tier, &in_hand).await {
            tracing::warn!(tier_secs = tier.as_secs(), error = %e, "retry tier interrupted; resuming");
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

async fn work(
    engine: &Arc<Engine>,
    sender: &Sender,
    tier: Duration,
    in_hand: &Arc<Semaphore>,
) -> Result<(), async_nats::Error> {
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
        let mut waiting = VecDeque::with_capacity(BATCH);
        while let Some(message) = fetched.next().await {
            waiting.push_back(message?);
        }
        while !waiting.is_empty() {
            release(engine, sender, in_hand, &mut waiting).await?;
        }
    }
}

/// Waits until the head of `waiting` is due (keeping every waiting task alive), then takes
/// it off and settles it ([`settle_and_ack`]), or queues it in the tasks stream when this
/// instance has [`IN_HAND`] due retries in hand already.
async fn release(
    engine: &Arc<Engine>,
    sender: &Sender,
    in_hand: &Arc<Semaphore>,
    waiting: &mut VecDeque<jetstream::Message>,
) -> Result<(), async_nats::Error> {
    let Some(head) = waiting.front() else {
        return Ok(());
    };
    let task = match Task::from_message(head.headers.as_ref(), head.payload.clone()) {
        Ok(task) => task,
        Err(e) => {
            tracing::error!(error = %e, "dropping an unreadable retry task");
            head.ack_with(AckKind::Term).await?;
            waiting.pop_front();
            return Ok(());
        }
    };
    let due_ms = task.due_ms.unwrap_or(0);
    loop {
        let wait_ms = due_ms - Utc::now().timestamp_millis();
        if wait_ms <= 0 {
            break;
        }
        let wait = Duration::from_millis(u64::try_from(wait_ms).unwrap_or(0)).min(progress::EVERY);
        tokio::time::sleep(wait).await;
        for message in waiting.iter() {
            message.ack_with(AckKind::Progress).await?;
        }
    }
    let Some(head) = waiting.pop_front() else {
        return Ok(());
    };
    if let Ok(permit) = Arc::clone(in_hand).try_acquire_owned() {
        tokio::spawn(settle_and_ack(
            Arc::clone(engine),
            sender.clone(),
            task,
            head,
            permit,
        ));
    } else {
        engine.enqueue(&task).await?;
        head.ack().await?;
    }
    Ok(())
}

/// Settles a due retry ([`worker::settle_due`]) and acks it; a retry that cannot be recorded
/// is given back to its tier, to be settled again in a second.
async fn settle_and_ack(
    engine: Arc<Engine>,
    sender: Sender,
    task: Task,
    message: jetstream::Message,
    _in_hand: OwnedSemaphorePermit,
) {
    let settled = progress::in_progress(&message, async {
        match worker::settle_due(&engine, &sender, task).await? {
            Some(task) => engine.enqueue(&task).await,
            None => Ok(()),
        }
    })
    .await;
    let acked = match settled {
        Ok(()) => message.ack().await,
        Err(e) => {
            tracing::warn!(error = %e, "cannot record a retry; it will be attempted again");
            message
                .ack_with(AckKind::Nak(Some(Duration::from_secs(1))))
                .await
        }
    };
    if let Err(e) = acked {
        tracing::warn!(error = %e, "cannot ack a retry; it may be attempted again");
    }
}
