//! One page of a stream, read through a short-lived filtered consumer: what the listings
//! over streams (`events.list`, `audit.list`) share.

use std::time::Duration;

use async_nats::jetstream::{self, consumer};
use chrono::{DateTime, Utc};
use futures_util::StreamExt as _;
use hookwire_protocol::admin::AdminError;

/// Where a page starts.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Start {
    /// After this stream sequence (a previous page's cursor).
    After(u64),
    /// At the first message stored at or after this time.
    Since(DateTime<Utc>),
    /// At the stream's first message.
    Beginning,
}

/// A page: the messages in stream order and whether more follow.
pub(crate) struct Page {
    /// The messages read.
    pub messages: Vec<jetstream::Message>,
    /// True when the stream holds more matching messages after these.
    pub more: bool,
}

fn unavailable(e: impl std::fmt::Display) -> AdminError {
    AdminError::unavailable("reading the stream", e)
}

/// Up to `limit` messages of `stream` on `filter_subjects`, from `start`.
pub(crate) async fn read(
    js: &jetstream::Context,
    stream: &str,
    filter_subjects: Vec<String>,
    start: Start,
    limit: usize,
) -> Result<Page, AdminError> {
    let deliver_policy = match start {
        Start::After(cursor) => consumer::DeliverPolicy::ByStartSequence {
            start_sequence: cursor + 1,
        },
        Start::Since(since) => consumer::DeliverPolicy::ByStartTime {
            start_time: time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(
                since.timestamp_nanos_opt().unwrap_or(0),
            ))
            .map_err(|e| AdminError::invalid("since", e.to_string()))?,
        },
        Start::Beginning => consumer::DeliverPolicy::All,
    };
    let stream = js.get_stream(stream).await.map_err(unavailable)?;
    let mut reader = stream
        .create_consumer(consumer::pull::Config {
            filter_subjects,
            deliver_policy,
            ack_policy: consumer::AckPolicy::None,
            inactive_threshold: Duration::from_secs(30),
            ..Default::default()
        })
        .await
        .map_err(unavailable)?;
    let pending = reader.info().await.map_err(unavailable)?.num_pending;
    let wanted = usize::try_from(pending).unwrap_or(usize::MAX).min(limit);
    let mut page = Vec::with_capacity(wanted);
    if wanted > 0 {
        let mut messages = reader
            .fetch()
            .max_messages(wanted)
            .expires(Duration::from_secs(2))
            .messages()
            .await
            .map_err(unavailable)?;
        while let Some(message) = messages.next().await {
            page.push(message.map_err(unavailable)?);
        }
    }
    let name = reader.cached_info().name.clone();
    let _ = stream.delete_consumer(&name).await;
    let more = page.len() == limit && u64::try_from(limit).unwrap_or(u64::MAX) < pending;
    Ok(Page {
        messages: page,
        more,
    })
}
