//! Dead letters: list, requeue (back to the tasks stream with a fresh retry schedule), purge.
//! Requeue publishes first and deletes after, so a crash in between duplicates, never loses.

use async_nats::jetstream::stream::{DirectGetErrorKind, Stream};
use chrono::Utc;
use hookwire_protocol::Tenant;
use hookwire_protocol::admin::AdminError;
use hookwire_protocol::dead_letter::{DeadLetter, DeadLetterPage, DeadLetterSelection};

use crate::engine::Engine;
use crate::task::Task;

/// Most dead letters one requeue moves; call again for more.
pub(crate) const MAX_REQUEUE: u64 = 10_000;

fn unavailable(e: &impl std::fmt::Display) -> AdminError {
    AdminError::unavailable("the dead-letter stream did not answer", e)
}

/// The dead-letter subjects of one endpoint, or of the whole tenant. Endpoint ids were
/// checked as the request was read (`endpoint::id_option`), so they are single tokens.
fn filter(engine: &Engine, tenant: &Tenant, endpoint_id: Option<&str>) -> String {
    engine
        .topology
        .subjects
        .dead(tenant, endpoint_id.unwrap_or(">"))
}

async fn stream(engine: &Engine) -> Result<Stream, AdminError> {
    engine
        .js
        .get_stream(&engine.topology.dead)
        .await
        .map_err(|e| unavailable(&e))
}

/// The next dead letter at or after `from` matching `subject`, as (sequence, task, message time, last error).
async fn next(
    stream: &Stream,
    subject: &str,
    from: u64,
) -> Result<Option<(u64, Task, chrono::DateTime<Utc>, Option<String>)>, AdminError> {
    match stream
        .direct_get_next_for_subject(subject, Some(from))
        .await
    {
        Ok(message) => {
            let task = Task::from_message(Some(&message.headers), message.payload.clone())
                .map_err(|e| {
                    AdminError::internal(&format!("reading dead letter {}", message.sequence), e)
                })?;
            let dead_at = chrono::DateTime::from_timestamp(
                message.time.unix_timestamp(),
                message.time.nanosecond(),
            )
            .unwrap_or_else(Utc::now);
            Ok(Some((
                message.sequence,
                task,
                dead_at,
                Task::last_error(&message.headers),
            )))
        }
        Err(e) if e.kind() == DirectGetErrorKind::NotFound => Ok(None),
        Err(e) => Err(unavailable(&e)),
    }
}

/// A page of `tenant`'s dead letters, oldest first.
pub(crate) async fn list(
    engine: &Engine,
    tenant: &Tenant,
    endpoint_id: Option<&str>,
    cursor: Option<u64>,
    limit: usize,
) -> Result<DeadLetterPage, AdminError> {
    let subject = filter(engine, tenant, endpoint_id);
    let stream = stream(engine).await?;
    let mut from = cursor.map_or(1, |c| c + 1);
    let mut dead_letters = Vec::new();
    while dead_letters.len() < limit + 1 {
        let Some((seq, task, dead_at, last_error)) = next(&stream, &subject, from).await? else {
            break;
        };
        dead_letters.push(DeadLetter {
            seq,
            endpoint_id: task.endpoint_id,
            event_id: task.event_id,
            event_type: task.event_type.to_string(),
            attempts: task.attempt,
            last_error,
            dead_at,
            batch_size: task.batch,
        });
        from = seq + 1;
    }
    let next_cursor = (dead_letters.len() > limit).then(|| {
        dead_letters.truncate(limit);
        dead_letters.last().map_or(0, |d| d.seq)
    });
    Ok(DeadLetterPage {
        dead_letters,
        next_cursor,
    })
}

/// Sends the selected dead letters back for delivery with a fresh retry schedule; returns how many.
pub(crate) async fn requeue(
    engine: &Engine,
    tenant: &Tenant,
    selection: &DeadLetterSelection,
) -> Result<u64, AdminError> {
    let stream = stream(engine).await?;
    let (subject, only) = selected(engine, tenant, selection)?;
    let mut from = only.unwrap_or(1);
    let mut moved = 0;
    while moved < MAX_REQUEUE {
        let Some((seq, task, _, _)) = next(&stream, &subject, from).await? else {
            break;
        };
        if only.is_some_and(|wanted| wanted != seq) {
            break;
        }
        let attempt = task.attempt + 1;
        let again = Task {
            attempt,
            series_start: attempt,
            due_ms: Some(Utc::now().timestamp_millis()),
            ..task
        };
        engine.enqueue(&again).await.map_err(|e| unavailable(&e))?;
        stream
            .delete_message(seq)
            .await
            .map_err(|e| unavailable(&e))?;
        moved += 1;
        from = seq + 1;
        if only.is_some() {
            break;
        }
    }
    if only.is_some() && moved == 0 {
        return Err(dead_letter_not_found());
    }
    Ok(moved)
}

/// Deletes the selected dead letters; returns how many.
pub(crate) async fn purge(
    engine: &Engine,
    tenant: &Tenant,
    selection: &DeadLetterSelection,
) -> Result<u64, AdminError> {
    let stream = stream(engine).await?;
    let (subject, only) = selected(engine, tenant, selection)?;
    if let Some(seq) = only {
        if next(&stream, &subject, seq)
            .await?
            .is_none_or(|(found, ..)| found != seq)
        {
            return Err(dead_letter_not_found());
        }
        stream
            .delete_message(seq)
            .await
            .map_err(|e| unavailable(&e))?;
        return Ok(1);
    }
    let purged = stream
        .purge()
        .filter(subject)
        .await
        .map_err(|e| unavailable(&e))?;
    Ok(purged.purged)
}

fn dead_letter_not_found() -> AdminError {
    AdminError::not_found("no such dead letter in this tenant; `dead-letters.list` shows them")
}

/// The subject filter and, for a single dead letter, its sequence.
fn selected(
    engine: &Engine,
    tenant: &Tenant,
    selection: &DeadLetterSelection,
) -> Result<(String, Option<u64>), AdminError> {
    match (selection.seq, selection.endpoint_id.as_deref()) {
        (Some(seq), None) => Ok((filter(engine, tenant, None), Some(seq))),
        (None, Some(id)) => Ok((filter(engine, tenant, Some(id)), None)),
        _ => Err(AdminError::invalid(
            "seq",
            "give exactly one of seq and endpoint_id",
        )),
    }
}
