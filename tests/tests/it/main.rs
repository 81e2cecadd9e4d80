//! Hookwire's end-to-end tests: one binary, real parts from `hookwire-testkit`.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a panic is the failure report"
)]

mod admin;
mod at_rest;
mod audit;
mod auth;
mod batches;
mod catalog;
mod cli;
mod cluster;
mod compression;
mod connect;
mod console;
mod content_filters;
mod contract;
mod controls;
mod daemon;
mod delivery;
mod incoming;
mod kit;
mod listen;
mod operations;
mod ordered;
mod providers;
mod queries;
mod replay;
mod schemes;
mod server_config;
mod signing_interop;
mod slo;
mod ssrf;
mod support;
mod templates;
mod tenants;
mod tls;
mod verification;
