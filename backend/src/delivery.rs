//! Delivery: attempts over HTTP, what their results mean, and when to try again.

pub mod circuit;
pub mod destination;
pub mod gates;
pub mod http;
pub mod oauth;
pub mod outcome;
pub mod pacing;
pub mod request;
pub mod retry;
pub mod worker;
