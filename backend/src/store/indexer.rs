//! Indexes the attempts stream into redb in group commits: one transaction (one fsync)
//! per batch of whatever arrived, with the stream position committed alongside, so the
//! index resumes exactly where it left off and any instance answers history queries.

use std::time::Duration;

use async_nats::jetstream::{self, consumer};
use futures_util::StreamExt as _;
use hookwire_protocol::attempt::AttemptRecord;

use crate::store::Store;

/// Records committed in one transaction at most.
const MAX_BATCH: usize = 2000;
/// How long a batch waits for more records once it has one.
const LINGER: Duration = Duration::from_millis(2);

/// Indexes forever, resuming after interruptions.
pub(crate) async fn run(js: jetstream::Context, stream_name: String, filter: String, store: Store) {
    loop {
        if let Err(e) = index(&js, &stream_name, &filter, &store).await {
            tracing::warn!(error = %e, "attempt indexer interrupted; resuming");
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

async fn index(
    js: &jetstream::Context,
    stream_name: &str,
    filter: &str,
    store: &Store,
) -> Result<(), async_nats::Error> {
    let reader = store.clone();
    let cursor = tokio::task::spawn_blocking(move || reader.attempts_cursor()).await??;
    let stream = js.get_stream(stream_name).await?;
    let ordered = stream
        .create_consumer(consumer::pull::OrderedConfig {
            deliver_policy: consumer::DeliverPolicy::ByStartSequence {
                start_sequence: cursor + 1,
            },
            // Attempt records only: source request records share the stream.
            filter_subject: filter.to_owned(),
            ..Default::default()
        })
        .await?;
    let mut messages = ordered.messages().await?;
    let mut last_seq = cursor;
    loop {
        let Some(first) = messages.next().await else {
            return Err("the attempts stream ended".into());
        };
        let mut batch = vec![first?];
        while batch.len() < MAX_BATCH {
            match tokio::time::timeout(LINGER, messages.next()).await {
                Ok(Some(message)) => batch.push(message?),
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
            match serde_json::from_slice::<AttemptRecord>(&message.payload) {
                Ok(record) => records.push(record),
                Err(e) => {
                    tracing::warn!(seq = last_seq, error = %e, "skipping an unreadable attempt record");
                }
            }
        }
        if last_seq == indexed {
            continue;
        }
        let writer = store.clone();
        tokio::task::spawn_blocking(move || writer.index_attempts(&records, last_seq)).await??;
    }
}
