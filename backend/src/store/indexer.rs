//! Indexes the attempts stream into redb in group commits: one transaction per batch of
//! whatever arrived, with the stream position committed alongside, so the index resumes
//! exactly where it left off and any instance answers history queries. At most one commit
//! a second is durable (an fsync); the others cost none, and a crash reverts them with the
//! position, so what they held is indexed again from the stream. After each commit the
//! endpoints whose settled deliveries were counted are measured against their delivery
//! objective ([`crate::slo::Checker`]).

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream::consumer;
use async_nats::jetstream::stream::LastRawMessageErrorKind;
use futures_util::StreamExt as _;
use redb::Durability;

use crate::engine::Engine;
use crate::store::{Recorded, Store};

/// Messages committed in one transaction at most.
const MAX_BATCH: usize = 2000;
/// The encoded records one transaction takes at most (a message may carry a group of
/// records: `delivery::records`).
const MAX_BATCH_BYTES: usize = 4 * 1024 * 1024;
/// How long a batch waits for more records once it has one.
const LINGER: Duration = Duration::from_millis(2);
/// How often a commit is made durable at most (and at least, while records arrive).
const DURABLE_EVERY: Duration = Duration::from_secs(1);

/// How long a check against the index waits for it to catch up.
const CATCH_UP_FOR: Duration = Duration::from_secs(15);

/// Waits (at most 15 s) until `store`'s index has every attempt recorded so far, so a
/// check against it sees each of them; whether it has. Asked before checking an event or
/// task that JetStream hands out again (rare), never on the way of a first delivery.
pub(crate) async fn caught_up(engine: &Engine, store: &Store) -> bool {
    let last = async {
        let stream = engine
            .js
            .get_stream_no_info(&engine.topology.attempts)
            .await?;
        let last = stream
            .get_last_raw_message_by_subject(&engine.topology.subjects.all_attempts())
            .await;
        match last {
            Ok(message) => Ok(message.sequence),
            Err(e) if e.kind() == LastRawMessageErrorKind::NoMessageFound => Ok(0),
            Err(e) => Err(async_nats::Error::from(e)),
        }
    };
    match last.await {
        Ok(seq) => store.wait_indexed(seq, CATCH_UP_FOR).await,
        Err(e) => {
            tracing::warn!(error = %e, "cannot tell how far the attempts stream is");
            false
        }
    }
}

/// Indexes forever, resuming after interruptions.
pub(crate) async fn run(engine: Arc<Engine>, store: Store) {
    loop {
        if let Err(e) = index(&engine, &store).await {
            tracing::warn!(error = %e, "attempt indexer interrupted; resuming");
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

async fn index(engine: &Engine, store: &Store) -> Result<(), async_nats::Error> {
    let reader = store.clone();
    let cursor = tokio::task::spawn_blocking(move || reader.attempts_cursor()).await??;
    let stream = engine.js.get_stream(&engine.topology.attempts).await?;
    let ordered = stream
        .create_consumer(consumer::pull::OrderedConfig {
            deliver_policy: consumer::DeliverPolicy::ByStartSequence {
                start_sequence: cursor + 1,
            },
            // Attempt records only: source request records share the stream.
            filter_subject: engine.topology.subjects.all_attempts(),
            ..Default::default()
        })
        .await?;
    let mut messages = ordered.messages().await?;
    let mut last_seq = cursor;
    let mut durable_at = Instant::now();
    let mut lazy_commits = false;
    let mut objectives = crate::slo::Checker::default();
    loop {
        let first = match tokio::time::timeout(DURABLE_EVERY, messages.next()).await {
            Ok(Some(first)) => first,
            Ok(None) => return Err("the attempts stream ended".into()),
            Err(_) => {
                // Quiet: the last endpoints of a burst are measured, and what was
                // committed lazily is made durable now.
                objectives
                    .check(engine, store, Vec::new(), chrono::Utc::now())
                    .await;
                if lazy_commits {
                    let writer = store.clone();
                    tokio::task::spawn_blocking(move || writer.persist()).await??;
                    durable_at = Instant::now();
                    lazy_commits = false;
                }
                continue;
            }
        };
        let mut batch = vec![first?];
        let mut bytes = batch[0].payload.len();
        while batch.len() < MAX_BATCH && bytes < MAX_BATCH_BYTES {
            match tokio::time::timeout(LINGER, messages.next()).await {
                Ok(Some(message)) => {
                    let message = message?;
                    bytes += message.payload.len();
                    batch.push(message);
                }
                Ok(None) | Err(_) => break,
            }
        }
        let mut records = Vec::with_capacity(batch.len());
        let indexed = last_seq;
        for message in &batch {
            let seq = message.info()?.stream_sequence;
            // A lost ordered consumer that had delivered nothing is recreated from the
            // stream's start: what is indexed already is skipped.
            if seq <= last_seq {
                continue;
            }
            last_seq = seq;
            match Recorded::decode_all(&message.payload) {
                Ok(recorded) => records.extend(recorded),
                Err(e) => {
                    tracing::warn!(seq = last_seq, error = %e, "skipping an unreadable attempt record");
                }
            }
        }
        if last_seq == indexed {
            continue;
        }
        let durability = if durable_at.elapsed() >= DURABLE_EVERY {
            durable_at = Instant::now();
            lazy_commits = false;
            Durability::Immediate
        } else {
            lazy_commits = true;
            Durability::None
        };
        let newest_at = records.iter().map(|r| r.record().at).max();
        let writer = store.clone();
        let touched = tokio::task::spawn_blocking(move || {
            writer.index_attempts(&records, last_seq, durability)
        })
        .await??;
        if let Some(newest_at) = newest_at {
            objectives.check(engine, store, touched, newest_at).await;
        }
    }
}
