//! The audit log: admin changes and security events written to the audit stream, and
//! `audit.list` reading a tenant's records back.

use chrono::{TimeDelta, Utc};
use hookwire_protocol::Tenant;
use hookwire_protocol::admin::AdminError;
use hookwire_protocol::attempt::{AttemptRecord, ErrorKind};
use hookwire_protocol::audit::{AuditEntry, AuditPage, AuditRecord, ListAudit, Requester};

use crate::engine::Engine;
use crate::stream_page::{self, Start};

/// Writes `record` to the audit stream and waits for JetStream to store it. A record that
/// cannot be written is logged with everything it holds, so it is not lost silently.
pub(crate) async fn write(engine: &Engine, record: &AuditRecord) {
    let stored = async {
        let subject = engine
            .topology
            .subjects
            .audit(&record.tenant, &record.action)
            .map_err(|e| e.to_string())?;
        let payload = serde_json::to_vec(record).map_err(|e| e.to_string())?;
        engine
            .js
            .publish(subject, payload.into())
            .await
            .map_err(|e| e.to_string())?
            .await
            .map_err(|e| e.to_string())?;
        Ok::<_, String>(())
    }
    .await;
    if let Err(error) = stored {
        tracing::error!(%error, record = ?record, "cannot write an audit record");
    }
}

/// A security event `hookwired` found on its own.
pub(crate) async fn security_event(
    engine: &Engine,
    tenant: &Tenant,
    action: &str,
    target: &str,
    detail: String,
) {
    let record = AuditRecord {
        at: Utc::now(),
        tenant: tenant.clone(),
        action: action.to_owned(),
        target: Some(target.to_owned()),
        outcome: "failed".to_owned(),
        detail: Some(detail),
        requester: Requester::system(),
    };
    write(engine, &record).await;
}

/// Audits an attempt that was refused for security reasons (a blocked destination, or
/// credentials that could not be obtained); other attempts are not audit matters.
pub(crate) async fn attempt(engine: &Engine, record: &AttemptRecord) {
    let Some(error) = &record.error else {
        return;
    };
    let action = match error.kind {
        ErrorKind::BlockedDestination => "delivery.blocked_destination",
        ErrorKind::Auth => "delivery.auth_failed",
        _ => return,
    };
    security_event(
        engine,
        &record.tenant,
        action,
        &record.endpoint_id,
        format!("event {}: {}", record.event_id, error.message),
    )
    .await;
}

/// `audit.list`: up to `limit` of `tenant`'s records from `since` (default: the last 24
/// hours) or after the cursor, optionally only one action prefix or one target.
pub(crate) async fn list(
    engine: &Engine,
    tenant: &Tenant,
    request: &ListAudit,
    limit: usize,
) -> Result<AuditPage, AdminError> {
    let subjects = &engine.topology.subjects;
    let filter_subjects = match &request.action {
        Some(action) => {
            let exact = subjects
                .audit(tenant, action.trim_end_matches('.'))
                .map_err(|e| AdminError::invalid("action", e.to_string()))?;
            vec![format!("{exact}.>"), exact]
        }
        None => vec![subjects.tenant_audit(tenant)],
    };
    let start = match (request.cursor, request.since) {
        (Some(cursor), _) => Start::After(cursor),
        (None, Some(since)) => Start::Since(since),
        (None, None) => Start::Since(Utc::now() - TimeDelta::hours(24)),
    };
    let page = stream_page::read(
        &engine.js,
        &engine.topology.audit,
        filter_subjects,
        start,
        limit,
    )
    .await?;
    let mut records = Vec::with_capacity(page.messages.len());
    let mut last_seq = None;
    for message in &page.messages {
        let seq = message
            .info()
            .map_err(|e| AdminError::internal("reading an audit record's metadata", e))?
            .stream_sequence;
        last_seq = Some(seq);
        let Ok(record) = serde_json::from_slice::<AuditRecord>(&message.payload) else {
            continue;
        };
        if request
            .target
            .as_ref()
            .is_some_and(|t| record.target.as_ref() != Some(t))
        {
            continue;
        }
        records.push(AuditEntry { seq, record });
    }
    let next_cursor = if page.more { last_seq } else { None };
    Ok(AuditPage {
        records,
        next_cursor,
    })
}
