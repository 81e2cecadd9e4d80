//! `system.info` and `system.health`: the deployment as the answering instance sees it.

use serde::{Deserialize, Serialize};

/// The reply to `system.info`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SystemInfo {
    /// The answering hookwired's version.
    pub version: String,
    /// Its effective configuration, without secrets (the daemon's configuration file
    /// format, documented in docs/operating.md).
    pub config: serde_json::Value,
    /// The configuration-bucket revision it has applied.
    pub config_revision: u64,
    /// The answering instance's name on the roster of instances.
    pub instance: String,
    /// The attempts stream's sequence up to which this instance's history (deliveries,
    /// stats) is indexed; the attempts stream's `last_seq` minus this is how far behind it
    /// is.
    pub attempts_indexed: u64,
    /// Every stream Hookwire uses.
    pub streams: Vec<StreamState>,
}

/// One stream and its consumers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamState {
    /// The stream's name.
    pub name: String,
    /// Messages stored.
    pub messages: u64,
    /// Bytes stored.
    pub bytes: u64,
    /// The sequence of the last message stored.
    pub last_seq: u64,
    /// Its consumers.
    pub consumers: Vec<ConsumerState>,
}

/// One consumer's backlog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsumerState {
    /// The consumer's name.
    pub name: String,
    /// Messages not yet delivered to it.
    pub pending: u64,
    /// Messages delivered and not yet acknowledged.
    pub ack_pending: u64,
    /// Messages delivered more than once.
    pub redelivered: u64,
}

/// The reply to `system.health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// `ok` when the instance can do its work.
    pub status: HealthStatus,
    /// Connected to NATS.
    pub nats_connected: bool,
    /// JetStream answers.
    pub jetstream: bool,
    /// The configuration-bucket revision it has applied.
    pub config_revision: u64,
    /// The answering instance's name on the roster of instances.
    pub instance: String,
}

/// Whether an instance can do its work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthStatus {
    /// Connected, and JetStream answers.
    Ok,
    /// Something it needs does not answer.
    Degraded,
}
