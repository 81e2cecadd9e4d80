//! Delivery: attempts over HTTP, what their results mean, and when to try again.

pub mod destination;
pub mod http;
pub mod outcome;
pub mod request;
pub mod retry;
pub mod worker;
