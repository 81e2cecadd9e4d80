//! Delivery: attempts over HTTP, what their results mean, and when to try again.

pub(crate) mod batch;
pub(crate) mod causes;
pub(crate) mod circuit;
pub(crate) mod destination;
pub(crate) mod durable;
pub(crate) mod gates;
pub(crate) mod held;
pub(crate) mod http;
pub(crate) mod oauth;
pub(crate) mod outcome;
pub(crate) mod pacing;
pub(crate) mod progress;
pub(crate) mod records;
pub(crate) mod relay;
pub(crate) mod request;
pub(crate) mod retry;
pub(crate) mod tiers;
pub(crate) mod worker;
