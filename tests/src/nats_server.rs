//! One real `nats-server` process with JetStream.

use std::fmt::Write as _;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tempfile::TempDir;

use crate::{free_port, nats_server_bin};

/// How long a server may take to accept connections and serve JetStream.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a graceful stop may take before the process is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// Marks every folder the kit creates, so leftovers are easy to find (`scripts/test` does).
pub(crate) const TEMP_PREFIX: &str = "hookwire-testkit-";

/// A running (or stopped, between [`NatsServer::stop`] and [`NatsServer::start`]) server.
///
/// Dropping it kills the process and removes its store.
pub struct NatsServer {
    name: String,
    port: u16,
    monitor_port: u16,
    dir: TempDir,
    config: PathBuf,
    child: Option<Child>,
}

impl NatsServer {
    /// Starts a JetStream server on a free loopback port and waits until JetStream answers.
    pub async fn start() -> Self {
        Self::start_with_config("").await
    }

    /// Like [`NatsServer::start`], with `extra` appended to the generated configuration
    /// (e.g. an `authorization { ... }` block; it must not repeat a generated key).
    pub async fn start_with_config(extra: &str) -> Self {
        Self::start_configured("", extra).await
    }

    /// A server that fsyncs every JetStream write before acknowledging it
    /// (`sync_interval: always`), as `scripts/quickstart` and production run.
    pub async fn start_durable() -> Self {
        Self::start_configured("  sync_interval: always\n", "").await
    }

    async fn start_configured(jetstream_extra: &str, extra: &str) -> Self {
        let dir = tempfile::Builder::new()
            .prefix(TEMP_PREFIX)
            .tempdir()
            .expect("the temp folder is writable");
        let mut server = Self {
            name: "hookwire-test".to_owned(),
            port: 0,
            monitor_port: 0,
            config: dir.path().join("server.conf"),
            dir,
            child: None,
        };
        // A free port can be taken by someone else before the server binds it: try again.
        for _ in 0..5 {
            server.port = free_port();
            server.monitor_port = free_port();
            server.write_config(&server.single_config(jetstream_extra, extra));
            server.spawn();
            if server.wait_ready().await.is_ok() {
                return server;
            }
            server.kill();
        }
        panic!("nats-server did not start; its log:\n{}", server.log());
    }

    /// Used by the cluster: a server with a configuration written by the caller.
    /// `config_for` gets the store folder and the monitoring port to write into the config.
    pub(crate) fn prepare(
        name: &str,
        port: u16,
        config_for: impl Fn(&Path, u16) -> String,
    ) -> Self {
        let dir = tempfile::Builder::new()
            .prefix(TEMP_PREFIX)
            .tempdir()
            .expect("the temp folder is writable");
        let server = Self {
            name: name.to_owned(),
            port,
            monitor_port: free_port(),
            config: dir.path().join("server.conf"),
            dir,
            child: None,
        };
        server.write_config(&config_for(&server.store_dir(), server.monitor_port));
        server
    }

    /// The client URL, `nats://127.0.0.1:<port>`.
    #[must_use]
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The monitoring endpoint's base URL, `http://127.0.0.1:<port>`.
    #[must_use]
    pub fn monitor_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.monitor_port)
    }

    /// The client port.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The process id while running.
    #[must_use]
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The JetStream store folder, kept across restarts.
    #[must_use]
    pub fn store_dir(&self) -> PathBuf {
        self.dir.path().join("jetstream")
    }

    /// Everything the server logged so far, for failure messages.
    #[must_use]
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// A client connected to this server.
    pub async fn client(&self) -> async_nats::Client {
        async_nats::connect(self.url())
            .await
            .unwrap_or_else(|e| panic!("cannot connect to {}: {e}", self.url()))
    }

    /// Stops the server gracefully (SIGTERM, then SIGKILL after a timeout). Its port and
    /// store are kept for [`NatsServer::start`].
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            if let Ok(pid) = i32::try_from(child.id()) {
                let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
            }
            let deadline = Instant::now() + STOP_TIMEOUT;
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                #[allow(
                    clippy::disallowed_methods,
                    reason = "a synchronous wait in a stop that Drop also uses"
                )]
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Kills the server at once (SIGKILL), as a crash would. Port and store are kept.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port with the same store, and waits until ready.
    pub async fn start_again(&mut self) {
        assert!(self.child.is_none(), "start_again on a running server");
        self.spawn();
        if let Err(e) = self.wait_ready().await {
            panic!(
                "nats-server did not come back: {e}; its log:\n{}",
                self.log()
            );
        }
    }

    /// Stops gracefully and starts again with the same port and store.
    pub async fn restart(&mut self) {
        self.stop();
        self.start_again().await;
    }

    pub(crate) fn spawn(&mut self) {
        let log = File::options()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("the server's temp folder is writable");
        let log_err = log.try_clone().expect("a log file handle can be cloned");
        let child = Command::new(nats_server_bin())
            .arg("-c")
            .arg(&self.config)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run {}: {e}; run scripts/install-deps or set NATS_SERVER_BIN",
                    nats_server_bin().display()
                )
            });
        self.child = Some(child);
    }

    /// Waits until the server accepts clients and JetStream answers an account query.
    pub(crate) async fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + READY_TIMEOUT;
        let mut last_error = String::from("not tried");
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                self.child = None;
                return Err(format!("nats-server exited with {status}"));
            }
            match self.jetstream_ready().await {
                Ok(()) => return Ok(()),
                Err(e) => last_error = e,
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(format!("not ready after {READY_TIMEOUT:?}: {last_error}"))
    }

    /// Asks the monitoring endpoint, which answers 200 only once JetStream is current
    /// (in a cluster: a meta leader is known). It needs no client credentials, so servers
    /// with any authorization configured are checked the same way.
    async fn jetstream_ready(&self) -> Result<(), String> {
        let url = format!("http://127.0.0.1:{}/healthz", self.monitor_port);
        let response = crate::http_client()
            .build()
            .expect("an HTTP client builds")
            .get(&url)
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(format!("{url} answered {}", response.status()))
        }
    }

    fn single_config(&self, jetstream_extra: &str, extra: &str) -> String {
        let mut config = format!(
            "server_name: {name}\nlisten: 127.0.0.1:{port}\nhttp: 127.0.0.1:{monitor}\n\
             jetstream {{\n  store_dir: \"{store}\"\n{jetstream_extra}}}\n",
            name = self.name,
            port = self.port,
            monitor = self.monitor_port,
            store = self.store_dir().display(),
        );
        let _ = writeln!(config, "{extra}");
        config
    }

    fn write_config(&self, config: &str) {
        std::fs::write(&self.config, config).expect("the server's temp folder is writable");
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}
