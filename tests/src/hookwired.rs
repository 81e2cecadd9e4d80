//! A real `hookwired` process for end-to-end tests.

use std::fs::File;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tempfile::TempDir;

use crate::free_port;
use crate::nats_server::TEMP_PREFIX;

const READY_TIMEOUT: Duration = Duration::from_mins(1);

/// A binary of this workspace (`hookwired`, `hookwire`): `$<NAME>_BIN` (upper case, `-` as
/// `_`), else the one built beside the test binary.
#[must_use]
pub fn workspace_bin(name: &str) -> PathBuf {
    let variable = format!("{}_BIN", name.to_ascii_uppercase().replace('-', "_"));
    if let Some(path) = std::env::var_os(variable) {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("the test binary knows its path");
    // target/<profile>/deps/<test binary> -> target/<profile>/<name>
    let bin = exe
        .parent()
        .and_then(std::path::Path::parent)
        .map(|dir| dir.join(name))
        .expect("the test binary lives in target/<profile>/deps");
    assert!(
        bin.exists(),
        "{} is missing: build it first with `cargo build --workspace --bins` (scripts/test does)",
        bin.display()
    );
    bin
}

fn hookwired_bin() -> PathBuf {
    workspace_bin("hookwired")
}

/// A running `hookwired` with its own state folder. Killed when dropped.
pub struct Hookwired {
    nats_url: String,
    dir: TempDir,
    http_port: u16,
    ingress_port: u16,
    env: Vec<(String, String)>,
    child: Option<Child>,
}

impl Hookwired {
    /// Starts `hookwired` against `nats_url` with `env` added (e.g.
    /// `("HOOKWIRE__DELIVERY__RETRY_SCHEDULE_SECS", "[1, 1]")`) and waits until it is ready.
    pub async fn start(nats_url: &str, env: &[(&str, &str)]) -> Self {
        let dir = tempfile::Builder::new()
            .prefix(TEMP_PREFIX)
            .tempdir()
            .expect("the temp folder is writable");
        let mut daemon = Self {
            nats_url: nats_url.to_owned(),
            dir,
            http_port: free_port(),
            ingress_port: free_port(),
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            child: None,
        };
        daemon.start_again().await;
        daemon
    }

    /// The health and metrics base URL.
    #[must_use]
    pub fn http_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port)
    }

    /// The ingress base URL (incoming webhooks post to `<this>/in/<token>`).
    #[must_use]
    pub fn ingress_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.ingress_port)
    }

    /// The process id while running.
    #[must_use]
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The state folder, kept across restarts.
    #[must_use]
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Everything it logged so far.
    #[must_use]
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("hookwired.log")).unwrap_or_default()
    }

    /// The last warnings and errors it logged, for failure messages.
    #[must_use]
    pub fn warnings(&self) -> String {
        let log = self.log();
        let lines: Vec<&str> = log
            .lines()
            .filter(|line| line.contains("WARN") || line.contains("ERROR"))
            .collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// Kills it at once (SIGKILL), as a crash would. The state folder is kept.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends SIGTERM and waits for it to exit; returns whether it exited successfully.
    pub async fn terminate(&mut self) -> bool {
        let Some(mut child) = self.child.take() else {
            return false;
        };
        if let Ok(pid) = i32::try_from(child.id()) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_mins(1);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return status.success();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        false
    }

    /// Sets (or replaces) an environment variable for the next start.
    pub fn set_env(&mut self, key: &str, value: &str) {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.to_owned(), value.to_owned()));
    }

    /// Starts it again with the same state folder and port, and waits until ready.
    pub async fn start_again(&mut self) {
        if let Err(log) = self.try_start_again().await {
            panic!("hookwired exited before it was ready; its log:\n{log}");
        }
    }

    /// Like [`Hookwired::start_again`], but a start that fails returns its log.
    pub async fn try_start_again(&mut self) -> Result<(), String> {
        assert!(self.child.is_none(), "start_again on a running hookwired");
        let log = File::options()
            .create(true)
            .append(true)
            .open(self.dir.path().join("hookwired.log"))
            .expect("the temp folder is writable");
        let log_err = log.try_clone().expect("a log file handle can be cloned");
        // A config file in the kit's temp folder also puts that folder on the command line,
        // where scripts/test looks for leftover processes.
        let config = self.dir.path().join("hookwired.toml");
        // Receivers listen on loopback, which the SSRF guard blocks unless allowed; the
        // guard's own tests take the allowance away with HOOKWIRE__OUTBOUND__ALLOW_NETWORKS.
        let toml = format!(
            "data_dir = \"{}\"\n[http]\nlisten = \"127.0.0.1:{}\"\n\
             [outbound]\nallow_networks = [\"127.0.0.0/8\"]\n\
             [ingress]\nlisten = \"127.0.0.1:{}\"\n",
            self.data_dir().display(),
            self.http_port,
            self.ingress_port
        );
        std::fs::write(&config, toml).expect("the temp folder is writable");
        let child = Command::new(hookwired_bin())
            .arg("--config")
            .arg(&config)
            .env("NATS_URL", &self.nats_url)
            .env("RUST_LOG", "info,hookwire_backend=debug")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", hookwired_bin().display()));
        self.child = Some(child);
        self.wait_ready().await
    }

    async fn wait_ready(&mut self) -> Result<(), String> {
        let url = format!("{}/readyz", self.http_url());
        let client = crate::http_client().build().expect("an HTTP client builds");
        let deadline = Instant::now() + READY_TIMEOUT;
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                self.child = None;
                return Err(format!("exited with {status}\n{}", self.log()));
            }
            let ready = client
                .get(&url)
                .timeout(Duration::from_secs(1))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ready {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "hookwired not ready after {READY_TIMEOUT:?}; its log:\n{}",
            self.log()
        );
    }
}

impl Drop for Hookwired {
    fn drop(&mut self) {
        self.kill9();
        // For a failure that shows only under load: its logs, kept past the temp folder.
        if let Some(keep) = std::env::var_os("HOOKWIRE_TESTKIT_KEEP_LOGS") {
            let name = self
                .dir
                .path()
                .file_name()
                .map_or_else(|| "hookwired".into(), |n| n.to_string_lossy().into_owned());
            let _ = std::fs::create_dir_all(&keep);
            let _ = std::fs::copy(
                self.dir.path().join("hookwired.log"),
                PathBuf::from(keep).join(format!("{name}.log")),
            );
        }
    }
}
