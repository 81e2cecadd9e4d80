//! What every part of the running daemon shares.

use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream;
use async_nats::jetstream::kv;
use hookwire_nats::streams::Topology;
use hookwire_protocol::{EventType, Tenant};

use crate::catalog::Catalog;
use crate::metrics::Metrics;
use crate::registry::Registry;
use crate::task::Task;

/// The daemon's shared parts.
pub(crate) struct Engine {
    /// The NATS connection.
    pub client: async_nats::Client,
    /// JetStream on it.
    pub js: jetstream::Context,
    /// Streams, consumers and subjects.
    pub topology: Topology,
    /// Endpoints.
    pub registry: Arc<Registry>,
    /// Event types.
    pub catalog: Arc<Catalog>,
    /// Payload templates.
    pub templates: Arc<crate::templates::Templates>,
    /// Incoming-webhook sources.
    pub sources: Arc<crate::sources::Sources>,
    /// The configuration bucket.
    pub bucket: kv::Store,
    /// Counters and gauges.
    pub metrics: Arc<Metrics>,
    /// Retry tiers, ascending.
    pub tiers: Vec<Duration>,
    /// The longest `Retry-After` honoured.
    pub max_retry_after: Duration,
    /// Wakes the releaser of held deliveries (after an endpoint starts delivering again).
    pub release_held: Arc<tokio::sync::Notify>,
    /// Largest accepted event payload.
    pub max_event_bytes: usize,
    /// Per-endpoint circuit breakers, rate limits and in-flight limits on this instance.
    pub gates: crate::delivery::gates::Gates,
    /// Attempts this instance may have in flight (`delivery.concurrency`), shared by the
    /// workers and the first attempts fan-out makes itself.
    pub attempt_slots: tokio::sync::Semaphore,
    /// What attempt records keep of requests and responses.
    pub recording: crate::delivery::request::Recording,
    /// The batches being filled on this instance.
    pub batcher: crate::delivery::batch::Batcher,
    /// Where settling attempts store their records, in groups.
    pub records: crate::delivery::records::RecordLog,
    /// This instance's name on the roster.
    pub instance: String,
    /// The instances alive, as this instance last announced itself.
    pub roster: tokio::sync::watch::Receiver<crate::roster::Roster>,
    /// The configuration this instance has applied, per kind.
    pub applied: crate::barrier::Applied,
}

/// An operational event failed to publish.
#[derive(Debug, thiserror::Error)]
#[error("cannot publish operational event {event_type}: {source}")]
pub(crate) struct OperationalError {
    event_type: String,
    #[source]
    source: async_nats::Error,
}

impl Engine {
    /// Where `task` waits for its attempt: its lane for an ordered endpoint's task (behind
    /// the lane's earlier tasks), else the tasks stream.
    pub(crate) fn task_subject(&self, task: &Task) -> String {
        let subjects = &self.topology.subjects;
        match task.order_key {
            Some(_) => subjects.ordered(&task.tenant, &task.endpoint_id, &task.lane()),
            None => subjects.task(&task.tenant, &task.endpoint_id),
        }
    }

    /// Puts `task` where it waits ([`Engine::task_subject`]) and waits for JetStream to
    /// store it.
    pub(crate) async fn enqueue(&self, task: &Task) -> Result<(), async_nats::Error> {
        let subject = self.task_subject(task);
        self.js
            .publish_with_headers(subject, task.headers(), task.data.clone())
            .await?
            .await?;
        Ok(())
    }

    /// Publishes `hookwire.<name>` for `tenant` onto the events stream, where it is
    /// delivered like any other event (to endpoints that ask for `hookwire.*`).
    pub(crate) async fn publish_operational(
        &self,
        tenant: &Tenant,
        name: &str,
        data: &serde_json::Value,
    ) -> Result<(), OperationalError> {
        self.publish_operational_as(tenant, name, data, None).await
    }

    /// [`Engine::publish_operational`] with a `Nats-Msg-Id`, so that the same event
    /// published by several instances is kept once (within the stream's duplicate window).
    pub(crate) async fn publish_operational_once(
        &self,
        tenant: &Tenant,
        name: &str,
        data: &serde_json::Value,
        msg_id: &str,
    ) -> Result<(), OperationalError> {
        self.publish_operational_as(tenant, name, data, Some(msg_id))
            .await
    }

    async fn publish_operational_as(
        &self,
        tenant: &Tenant,
        name: &str,
        data: &serde_json::Value,
        msg_id: Option<&str>,
    ) -> Result<(), OperationalError> {
        let failed = |source: async_nats::Error| OperationalError {
            event_type: format!("hookwire.{name}"),
            source,
        };
        let event_type =
            EventType::new(&format!("hookwire.{name}")).map_err(|e| failed(e.into()))?;
        let subject = self.topology.subjects.event(tenant, &event_type);
        let payload = serde_json::to_vec(data).map_err(|e| failed(e.into()))?;
        let mut headers = async_nats::HeaderMap::new();
        if let Some(id) = msg_id {
            headers.insert(hookwire_protocol::headers::NATS_MSG_ID, id);
        }
        self.js
            .publish_with_headers(subject, headers, payload.into())
            .await
            .map_err(|e| failed(e.into()))?
            .await
            .map_err(|e| failed(e.into()))?;
        Ok(())
    }
}
