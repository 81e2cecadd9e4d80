//! `system.*`: the deployment as the answering instance sees it.

use futures_util::StreamExt as _;
use hookwire_protocol::Tenant;
use hookwire_protocol::admin::{AdminError, NoFields};
use hookwire_protocol::operation::ops;
use hookwire_protocol::system::{ConsumerState, Health, HealthStatus, StreamState, SystemInfo};

use super::{Admin, Handler};

impl Handler for ops::SystemInfo {
    /// Version, configuration and the state of every stream and consumer.
    async fn handle(admin: &Admin, _: &Tenant, _: NoFields) -> Result<SystemInfo, AdminError> {
        let engine = &admin.engine;
        let topology = &engine.topology;
        let mut streams = Vec::new();
        for name in [
            &topology.events,
            &topology.tasks,
            &topology.retry,
            &topology.dead,
            &topology.held,
            &topology.attempts,
        ] {
            let unavailable = |e: &dyn std::fmt::Display| {
                AdminError::unavailable(&format!("reading stream {name}"), e)
            };
            let mut stream = engine
                .js
                .get_stream(name)
                .await
                .map_err(|e| unavailable(&e))?;
            let info = stream.info().await.map_err(|e| unavailable(&e))?;
            let state = &info.state;
            let (messages, bytes, last_seq) = (state.messages, state.bytes, state.last_sequence);
            let mut consumers = Vec::new();
            let mut names = stream.consumer_names();
            while let Some(consumer) = names.next().await {
                let Ok(consumer) = consumer else { continue };
                if let Ok(info) = stream.consumer_info(&consumer).await {
                    consumers.push(ConsumerState {
                        name: consumer,
                        pending: info.num_pending,
                        ack_pending: u64::try_from(info.num_ack_pending).unwrap_or(u64::MAX),
                        redelivered: u64::try_from(info.num_redelivered).unwrap_or(u64::MAX),
                    });
                }
            }
            streams.push(StreamState {
                name: name.clone(),
                messages,
                bytes,
                last_seq,
                consumers,
            });
        }
        let store = admin.store.clone();
        let attempts_indexed = tokio::task::spawn_blocking(move || store.attempts_cursor())
            .await
            .map_err(|e| AdminError::internal("reading the index position", e))?
            .map_err(|e| AdminError::internal("reading the index position", e))?;
        Ok(SystemInfo {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            config: admin.config.clone(),
            config_revision: engine.registry.revision(),
            instance: engine.instance.clone(),
            attempts_indexed,
            streams,
        })
    }
}

impl Handler for ops::SystemHealth {
    /// Whether this instance can do its work.
    async fn handle(admin: &Admin, _: &Tenant, _: NoFields) -> Result<Health, AdminError> {
        let engine = &admin.engine;
        let nats_connected =
            engine.client.connection_state() == async_nats::connection::State::Connected;
        let jetstream = engine.js.query_account().await.is_ok();
        Ok(Health {
            status: if nats_connected && jetstream {
                HealthStatus::Ok
            } else {
                HealthStatus::Degraded
            },
            nats_connected,
            jetstream,
            config_revision: engine.registry.revision(),
            instance: engine.instance.clone(),
        })
    }
}
