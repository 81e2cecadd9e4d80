//! `endpoints.blocked-keys` and `endpoints.skip-head`: the keys of an ordered endpoint that
//! wait behind a failing event, and the operator's way past one.

use async_nats::jetstream::stream::DirectGetErrorKind;
use hookwire_protocol::Tenant;
use hookwire_protocol::admin::AdminError;
use hookwire_protocol::endpoint::EndpointId;
use hookwire_protocol::operation::ops;
use hookwire_protocol::ordered::{BlockedKey, BlockedKeys, SkipHead, SkippedHead};

use super::{Admin, Handler};
use crate::ordered::{BLOCKED_PREFIX, blocked_key};
use crate::task::Task;

fn unavailable(e: impl std::fmt::Display) -> AdminError {
    AdminError::unavailable("the ordered lanes did not answer", e)
}

impl Handler for ops::EndpointsBlockedKeys {
    async fn handle(
        admin: &Admin,
        tenant: &Tenant,
        request: EndpointId,
    ) -> Result<BlockedKeys, AdminError> {
        admin.endpoint(tenant, &request.id)?;
        let bucket = &admin.engine.bucket;
        let prefix = format!("{BLOCKED_PREFIX}.{tenant}.{}.", request.id);
        let names = crate::watched::keys_under(bucket, &prefix)
            .await
            .map_err(unavailable)?;
        let mut keys = Vec::with_capacity(names.len());
        for name in names {
            if let Some(value) = bucket.get(name.as_str()).await.map_err(unavailable)?
                && let Ok(key) = serde_json::from_slice::<BlockedKey>(&value)
            {
                keys.push(key);
            }
        }
        keys.sort_by_key(|k| k.since);
        Ok(BlockedKeys { keys })
    }
}

impl Handler for ops::EndpointsSkipHead {
    async fn handle(
        admin: &Admin,
        tenant: &Tenant,
        request: SkipHead,
    ) -> Result<SkippedHead, AdminError> {
        request.validate()?;
        admin.endpoint(tenant, &request.id)?;
        let engine = &admin.engine;
        let stream = engine
            .js
            .get_stream(&engine.topology.ordered)
            .await
            .map_err(unavailable)?;
        let subject = engine
            .topology
            .subjects
            .ordered(tenant, &request.id, &request.lane);
        let head = match stream.direct_get_next_for_subject(&subject, None).await {
            Ok(head) => head,
            Err(e) if e.kind() == DirectGetErrorKind::NotFound => {
                return Err(AdminError::not_found(format!(
                    "lane {} of endpoint {} holds nothing; `endpoints.blocked-keys` lists the waiting ones",
                    request.lane, request.id
                )));
            }
            Err(e) => return Err(unavailable(e)),
        };
        let task = Task::from_message(Some(&head.headers), head.payload.clone())
            .map_err(|e| AdminError::internal("reading the lane's head", e))?;
        if request.dead_letter {
            engine
                .js
                .publish_with_headers(
                    engine.topology.subjects.dead(tenant, &request.id),
                    task.dead_letter_headers("moved aside by an operator (endpoints.skip-head)"),
                    task.data.clone(),
                )
                .await
                .map_err(unavailable)?
                .await
                .map_err(unavailable)?;
        }
        // The lane's owner sees its head gone before its next attempt and moves on.
        stream
            .delete_message(head.sequence)
            .await
            .map_err(unavailable)?;
        let _ = engine.bucket.purge(blocked_key(&task, &request.lane)).await;
        Ok(SkippedHead {
            event_id: task.event_id,
            dead_lettered: request.dead_letter,
        })
    }
}
