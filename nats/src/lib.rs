//! Hookwire's NATS plumbing, shared by `hookwired` and `hookwire`.
//!
//! - [`connect`]: connection options that follow NATS conventions (`--server`/`NATS_URL`,
//!   `--creds`, `--nkey`, TLS files, `--context` reading the `nats` CLI's context files).
//!
//! - [`admin`]: a typed request/reply client for the admin API.
//! - [`streams`]: the JetStream topology (streams, consumers, bucket), provisioned idempotently.
//!
//! The server configuration files used by `scripts/quickstart` and documented for
//! production live in `nats/config/`.

pub mod admin;
pub mod connect;
pub mod context;
pub mod streams;

pub use connect::{ConnectArgs, ConnectError};
pub use context::{Context, ContextError, ContextStore};
