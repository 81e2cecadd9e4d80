//! Hookwire's NATS plumbing, shared by `hookwired` and `hookwire`.
//!
//! - [`connect`]: connection options that follow NATS conventions (`--server`/`NATS_URL`,
//!   `--creds`, `--nkey`, TLS files, `--context` reading the `nats` CLI's context files).
//!
//! Streams, consumers and the typed request/reply client join this crate as the daemon
//! grows; the server configuration files used by `scripts/quickstart` and documented for
//! production live in `nats/config/`.

pub mod connect;
pub mod context;

pub use connect::{ConnectArgs, ConnectError};
pub use context::{Context, ContextError, ContextStore};
