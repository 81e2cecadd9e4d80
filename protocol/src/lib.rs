//! Hookwire's wire protocol: the NATS subject layout, the event envelope delivered to
//! receivers, event-type filters, Standard Webhooks signing, and the admin contract (the
//! table of operations in [`operation`], with every request and reply type).
//!
//! This crate does no I/O. Everything in it is a pure function of its inputs (the one
//! exception is [`signing::Secret::generate`], which draws random bytes), so the daemon,
//! the CLI and the console share one definition of the protocol and it can be tested
//! exhaustively.

pub mod admin;
pub mod attempt;
pub mod audit;
pub mod auth;
pub mod catalog;
pub mod cluster;
pub mod content_filter;
pub mod dead_letter;
pub mod delivery;
pub mod endpoint;
pub mod envelope;
pub mod event;
pub mod filter;
pub mod headers;
pub mod inbound;
pub mod jwt;
pub mod listen;
pub mod network;
pub mod operation;
pub mod ordered;
pub mod overview;
pub mod replay;
pub mod rotation;
pub mod schemes;
pub mod signing;
pub mod slo;
pub mod source;
pub mod stats;
pub mod subject;
pub mod system;
pub mod template;
pub mod time;
pub mod trace;
pub mod v1a;
pub mod verification;

pub use envelope::EventEnvelope;
pub use filter::EventTypeFilter;
pub use signing::{Secret, SecretError, VerifyError};
pub use subject::{EventType, Subjects, Tenant};
