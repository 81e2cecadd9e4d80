//! `hookwired`, the Hookwire daemon, as a library: [`app::run`] starts everything.
//!
//! Data flow: events stream → [`fanout`] → tasks stream → [`delivery::worker`] → HTTP;
//! failures → retry tiers ([`tiers`]) → tasks stream, or the dead-letter stream; every
//! attempt → attempts stream → [`indexer`] → redb ([`store`]). Endpoints live in the
//! configuration bucket and are applied by [`registry`]; [`admin`] serves the API.

pub mod admin;
pub mod app;
pub mod audit;
pub mod catalog;
pub mod config;
pub mod dead_letters;
pub mod delivery;
pub mod engine;
pub mod events;
pub mod fanout;
pub mod held;
mod ids;
pub mod indexer;
pub mod ingress;
pub mod metrics;
pub mod redeliver;
pub mod registry;
pub mod replay;
pub mod sources;
pub mod store;
pub mod stream_page;
pub mod task;
pub mod test_send;
pub mod tiers;
pub mod vault;
pub mod verification;
pub mod watched;
