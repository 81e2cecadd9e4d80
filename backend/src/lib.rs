//! `hookwired`, the Hookwire daemon, as a library: [`app::run`] starts everything.
//!
//! Data flow: events stream → [`fanout`] → tasks stream → [`delivery::worker`] → HTTP;
//! failures → retry tiers ([`delivery::tiers`]) → tasks stream, or the dead-letter stream;
//! every attempt → attempts stream → [`store::indexer`] → redb ([`store`]). Endpoints live
//! in the configuration bucket and are applied by [`registry`]; [`admin`] serves the API;
//! [`sources`] take incoming webhooks through their ingress.

pub(crate) mod admin;
pub mod app;
pub(crate) mod audit;
pub(crate) mod barrier;
pub(crate) mod catalog;
pub mod config;
pub(crate) mod dead_letters;
pub(crate) mod delivery;
pub(crate) mod engine;
pub(crate) mod events;
pub(crate) mod fanout;
mod ids;
pub(crate) mod keys;
pub(crate) mod metrics;
pub(crate) mod ordered;
pub(crate) mod redeliver;
pub(crate) mod registry;
pub(crate) mod replay;
pub(crate) mod roster;
pub(crate) mod slo;
pub(crate) mod sources;
pub(crate) mod store;
pub(crate) mod stream_page;
pub(crate) mod task;
pub(crate) mod templates;
pub(crate) mod test_send;
pub(crate) mod vault;
pub(crate) mod verification;
pub(crate) mod watched;
