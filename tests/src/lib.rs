//! The kit every Hookwire end-to-end test shares: real parts, started on loopback and
//! torn down when dropped.
//!
//! - [`NatsServer`]: a real `nats-server` with JetStream on a free 127.0.0.1 port and a
//!   temporary store; restartable with the same port and store; killed on drop, also when
//!   the test panics.
//! - [`NatsCluster`]: three such servers forming a JetStream cluster.
//! - [`Hookwired`]: the real daemon as a process, killable with SIGKILL and restartable.
//! - [`Receiver`]: a programmable HTTP receiver that records every request, answers from a
//!   script and verifies Standard Webhooks signatures.
//! - [`Console`]: the `hookwire` console in a pseudo-terminal, read through a terminal
//!   emulator.

mod cluster;
pub mod console;
mod hookwired;
mod nats_server;
mod receiver;
mod tls;

pub use cluster::NatsCluster;
pub use console::Console;
pub use hookwired::{Hookwired, workspace_bin};
pub use nats_server::NatsServer;
pub use receiver::{Receiver, Recorded, Reply};
pub use tls::{ServerTls, TestCa};

use std::net::TcpListener;
use std::path::PathBuf;

/// The workspace's root folder.
#[must_use]
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the test kit lives one folder below the workspace root")
        .to_owned()
}

/// The `nats-server` to run: `$NATS_SERVER_BIN`, else the one `scripts/install-deps`
/// chose (`.tools/bin/nats-server`), else whichever is on `PATH`.
#[must_use]
pub fn nats_server_bin() -> PathBuf {
    if let Some(path) = std::env::var_os("NATS_SERVER_BIN") {
        return PathBuf::from(path);
    }
    let installed = workspace_root().join(".tools/bin/nats-server");
    if installed.exists() {
        installed
    } else {
        PathBuf::from("nats-server")
    }
}

/// An HTTP client for tests (plain HTTP on loopback; TLS uses the ring provider).
pub fn http_client() -> reqwest::ClientBuilder {
    static PROVIDER: std::sync::Once = std::sync::Once::new();
    PROVIDER.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    reqwest::Client::builder()
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
///
/// Another process may take it before the caller binds it; callers that start servers on
/// it retry with a new port when the bind fails. It is picked below the ports the kernel
/// gives outgoing connections (Linux's default `ip_local_port_range` starts at 32768):
/// a server restarted on its port must not find it taken by some client's connection.
#[must_use]
pub fn free_port() -> u16 {
    use std::hash::BuildHasher as _;
    use std::sync::atomic::{AtomicU64, Ordering};
    const FIRST: u16 = 20_000;
    const COUNT: u16 = 12_000;
    static PICKED: AtomicU64 = AtomicU64::new(0);
    let seed = std::collections::hash_map::RandomState::new();
    for _ in 0..1_000 {
        let pick = seed.hash_one(PICKED.fetch_add(1, Ordering::Relaxed));
        let port = FIRST + u16::try_from(pick % u64::from(COUNT)).unwrap_or(0);
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("the loopback interface accepts a bind to port 0")
        .port()
}
