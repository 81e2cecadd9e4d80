//! What an attempt leaves behind (its record, its retry or dead letter) is published until
//! JetStream has it: the receiver already has the request, and giving up here would send it
//! again. While a stream elects a new leader (its node was lost) publishes are refused or
//! go unanswered for a few seconds; each is published again until acknowledged, for at most
//! [`WITHIN`]. A record published twice (its first acknowledgement lost) indexes as one
//! attempt; a retry or dead letter carries its task's message id, so JetStream keeps one.

use std::time::Duration;

use async_nats::HeaderMap;
use bytes::Bytes;
use tokio::time::Instant;

use crate::engine::Engine;

/// How long publishing may be retried before the caller is told it failed.
const WITHIN: Duration = Duration::from_secs(20);
/// The first pause before publishing again; it doubles up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(100);
const MAX_PAUSE: Duration = Duration::from_secs(2);

/// One message to publish to JetStream.
pub(crate) struct Outgoing {
    pub(crate) subject: String,
    pub(crate) headers: Option<HeaderMap>,
    pub(crate) payload: Bytes,
}

/// Publishes every one of `outgoing` and waits until JetStream acknowledged them all,
/// publishing again what failed (see the module's doc); the last error after [`WITHIN`].
pub(crate) async fn publish_durably(
    engine: &Engine,
    outgoing: &[Outgoing],
) -> Result<(), async_nats::Error> {
    let deadline = Instant::now() + WITHIN;
    let mut pause = FIRST_PAUSE;
    let mut pending: Vec<&Outgoing> = outgoing.iter().collect();
    loop {
        let (failed, error) = publish_all(engine, &pending).await;
        let Some(error) = error else {
            return Ok(());
        };
        if Instant::now() + pause >= deadline {
            return Err(error);
        }
        tracing::debug!(%error, failed = failed.len(), "publishing an attempt's outcome again");
        engine.metrics.outcomes_published_again.inc();
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(MAX_PAUSE);
        pending = failed;
    }
}

/// Publishes `pending` at once, then awaits the acknowledgements; those that failed, and
/// the last error.
async fn publish_all<'a>(
    engine: &Engine,
    pending: &[&'a Outgoing],
) -> (Vec<&'a Outgoing>, Option<async_nats::Error>) {
    let mut failed = Vec::new();
    let mut last_error = None;
    let mut acks = Vec::with_capacity(pending.len());
    for message in pending {
        let published = match &message.headers {
            Some(headers) => {
                engine
                    .js
                    .publish_with_headers(
                        message.subject.clone(),
                        headers.clone(),
                        message.payload.clone(),
                    )
                    .await
            }
            None => {
                engine
                    .js
                    .publish(message.subject.clone(), message.payload.clone())
                    .await
            }
        };
        match published {
            Ok(ack) => acks.push((*message, ack)),
            Err(e) => {
                failed.push(*message);
                last_error = Some(e.into());
            }
        }
    }
    for (message, ack) in acks {
        if let Err(e) = ack.await {
            failed.push(message);
            last_error = Some(e.into());
        }
    }
    (failed, last_error)
}
