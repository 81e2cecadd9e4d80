//! `hookwired`'s configuration: a TOML file, overridden by `HOOKWIRE__SECTION__KEY`
//! environment variables, overridden by command-line NATS flags.
//!
//! Every key has a default, so no file is needed to start. Unknown keys and bad values fail
//! at start with a message naming the key.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hookwire_nats::ConnectArgs;
use hookwire_nats::streams::StreamLimits;
use hookwire_protocol::network::NetworkRules;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::delivery::circuit::BreakerSettings;
use crate::delivery::http::Outbound;
use crate::vault::{KEY_LEN, Keyring};

/// The prefix of environment variables that override configuration keys.
pub const ENV_PREFIX: &str = "HOOKWIRE__";

/// A configuration that could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A file the configuration names (the configuration itself, the secrets key, a CA
    /// bundle) could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The generated secrets key could not be written.
    #[error(
        "cannot write the generated secrets key to {}: {source}; make its folder writable or set [secrets] key_file",
        path.display()
    )]
    WriteKey {
        /// The key file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file or an override is not valid.
    #[error("invalid configuration{}: {message}", origin.as_ref().map(|o| format!(" in {o}")).unwrap_or_default())]
    Invalid {
        /// The file or environment variable at fault.
        origin: Option<String>,
        /// What is wrong, naming the key.
        message: String,
    },
}

fn invalid(origin: Option<&str>, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        origin: origin.map(str::to_owned),
        message: message.into(),
    }
}

/// The whole configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Subject prefix of every Hookwire subject.
    pub prefix: String,
    /// Folder for the redb state file.
    pub data_dir: PathBuf,
    /// NATS connection (same names as the command-line flags).
    pub nats: ConnectArgs,
    /// Stream limits.
    pub streams: StreamsConfig,
    /// Delivery behaviour.
    pub delivery: DeliveryConfig,
    /// The redb state file.
    pub store: StoreConfig,
    /// The health and metrics listener.
    pub http: HttpConfig,
    /// The event-types catalog.
    pub catalog: CatalogConfig,
    /// Where webhooks may go and how they connect.
    pub outbound: OutboundConfig,
    /// The per-endpoint circuit breaker and auto-disable.
    pub breaker: BreakerConfig,
    /// The key sealing secrets at rest.
    pub secrets: SecretsConfig,
    /// What attempt records keep.
    pub privacy: PrivacyConfig,
    /// Incoming webhooks.
    pub ingress: IngressConfig,
    /// The async runtime's threads.
    pub runtime: RuntimeConfig,
}

/// `[ingress]`: the HTTP listener third parties post incoming webhooks to (`/in/<token>`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IngressConfig {
    /// Where it listens; none: no ingress on this instance.
    pub listen: Option<SocketAddr>,
    /// The public base URL in front of it (`https://hooks.example.com`), shown in sources.
    pub public_url: Option<String>,
    /// Proxies whose `X-Forwarded-For` is believed when checking a source's allowed networks.
    pub trusted_proxies: Vec<IpNet>,
    /// Longest wait for a request's headers (slow clients are cut off).
    pub header_timeout_secs: u32,
    /// Longest wait for a request's body.
    pub body_timeout_secs: u32,
    /// Longest wait for JetStream to acknowledge a publish before answering 503.
    pub publish_timeout_ms: u32,
    /// Requests published at once on this instance; more are answered 503.
    pub max_in_flight: u32,
    /// Open connections at once; more wait to be accepted.
    pub max_connections: u32,
    /// Bytes of each request body kept in the request log.
    pub log_body_bytes: u32,
    /// Serve HTTPS natively with this certificate chain (PEM) ...
    pub tls_cert_file: Option<PathBuf>,
    /// ... and this private key (PEM).
    pub tls_key_file: Option<PathBuf>,
}

impl Default for IngressConfig {
    fn default() -> Self {
        Self {
            listen: None,
            public_url: None,
            trusted_proxies: Vec::new(),
            header_timeout_secs: 10,
            body_timeout_secs: 30,
            publish_timeout_ms: 5_000,
            max_in_flight: 4_096,
            max_connections: 10_000,
            log_body_bytes: 1_024,
            tls_cert_file: None,
            tls_key_file: None,
        }
    }
}

/// `[privacy]`: what attempt records keep of requests and responses.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PrivacyConfig {
    /// Header names whose values are recorded as `<redacted>`, besides `authorization`,
    /// `proxy-authorization`, `cookie`, `set-cookie` and each endpoint's custom headers.
    pub redact_headers: Vec<String>,
}

/// `[secrets]`: the key that seals endpoint secrets and credentials in the configuration
/// bucket and the state file. Every instance sharing a bucket needs the same key.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecretsConfig {
    /// A file holding the key (32 random bytes, base64).
    pub key_file: Option<PathBuf>,
    /// The key itself, base64 (for `HOOKWIRE__SECRETS__KEY`); never printed.
    #[serde(skip_serializing)]
    pub key: Option<String>,
    /// Files of keys rotated out: they still open what they sealed until it is resealed.
    pub previous_key_files: Vec<PathBuf>,
    /// Rotated-out keys themselves, base64; never printed.
    #[serde(skip_serializing)]
    pub previous_keys: Vec<String>,
}

/// The file a key is generated into when none is configured.
pub const GENERATED_KEY_FILE: &str = "secrets.key";

impl SecretsConfig {
    /// The keyring, and a warning to log when the key was generated (or is the generated
    /// one): without a configured key, one is created in `data_dir` on first start.
    pub fn load(&self, data_dir: &Path) -> Result<(Keyring, Option<String>), ConfigError> {
        let bad = |origin: &str, e: crate::vault::VaultError| invalid(Some(origin), e.to_string());
        let mut warning = None;
        let current = match (&self.key, &self.key_file) {
            (Some(_), Some(_)) => {
                return Err(invalid(None, "secrets: give key or key_file, not both"));
            }
            (Some(text), None) => Keyring::parse_key(text).map_err(|e| bad("secrets.key", e))?,
            (None, Some(path)) => read_key(path)?,
            (None, None) => {
                let path = data_dir.join(GENERATED_KEY_FILE);
                let generated = !path.exists();
                if generated {
                    write_new_key(&path)?;
                }
                warning = Some(format!(
                    "{} the secrets key {}: secrets at rest are only as safe as that file; \
                     back it up, and give every instance the same key via [secrets] key_file",
                    if generated {
                        "generated"
                    } else {
                        "using the generated"
                    },
                    path.display()
                ));
                read_key(&path)?
            }
        };
        let mut previous = self
            .previous_key_files
            .iter()
            .map(|path| read_key(path))
            .collect::<Result<Vec<_>, _>>()?;
        for text in &self.previous_keys {
            previous.push(Keyring::parse_key(text).map_err(|e| bad("secrets.previous_keys", e))?);
        }
        Ok((Keyring::new(&current, &previous), warning))
    }
}

fn read_key(path: &Path) -> Result<[u8; KEY_LEN], ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    Keyring::parse_key(&text).map_err(|e| invalid(Some(&path.display().to_string()), e.to_string()))
}

/// Creates `path` readable by its owner only, with a new key, synced to disk.
fn write_new_key(path: &Path) -> Result<(), ConfigError> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let failed = |source| ConfigError::WriteKey {
        path: path.to_owned(),
        source,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(failed)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(failed)?;
    file.write_all(format!("{}\n", Keyring::generate_key()).as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(failed)
}

/// `[breaker]`: when an endpoint's circuit opens, how long it waits, when it is disabled.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BreakerConfig {
    /// Consecutive failed attempts that open the circuit.
    pub consecutive_failures: u32,
    /// Share of failed attempts within `window_secs` that opens it (0.0–1.0).
    pub failure_ratio: f64,
    /// The window for `failure_ratio`, in seconds.
    pub window_secs: u32,
    /// Fewest attempts in a window before `failure_ratio` applies.
    pub min_attempts: u32,
    /// How long an open circuit waits before one probe, in seconds.
    pub cooldown_secs: u32,
    /// Disable an endpoint whose every attempt failed for this long, in seconds (0: never).
    pub auto_disable_after_secs: u32,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        let d = BreakerSettings::default();
        Self {
            consecutive_failures: d.consecutive_failures,
            failure_ratio: d.failure_ratio,
            window_secs: u32::try_from(d.window_secs).unwrap_or(60),
            min_attempts: d.min_attempts,
            cooldown_secs: u32::try_from(d.cooldown_secs).unwrap_or(300),
            auto_disable_after_secs: u32::try_from(d.auto_disable_after_secs).unwrap_or(432_000),
        }
    }
}

impl BreakerConfig {
    /// The settings the gates apply.
    #[must_use]
    pub fn settings(&self) -> BreakerSettings {
        BreakerSettings {
            consecutive_failures: self.consecutive_failures,
            failure_ratio: self.failure_ratio,
            window_secs: i64::from(self.window_secs),
            min_attempts: self.min_attempts,
            cooldown_secs: i64::from(self.cooldown_secs),
            auto_disable_after_secs: i64::from(self.auto_disable_after_secs),
        }
    }
}

/// `[outbound]`: the SSRF guard and TLS settings of every webhook, verification and test send.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutboundConfig {
    /// Networks reachable although special-purpose (e.g. `10.0.0.0/8` for a private
    /// deployment, `127.0.0.0/8` for tests).
    pub allow_networks: Vec<IpNet>,
    /// Networks never reached; wins over `allow_networks`.
    pub deny_networks: Vec<IpNet>,
    /// Refuse `http://` endpoints at create and at delivery.
    pub https_only: bool,
    /// A PEM file of CA certificates trusted besides the system's roots.
    pub ca_file: Option<PathBuf>,
    /// The lowest TLS version offered: `"1.2"` or `"1.3"`.
    pub min_tls_version: String,
}

impl Default for OutboundConfig {
    fn default() -> Self {
        Self {
            allow_networks: Vec::new(),
            deny_networks: Vec::new(),
            https_only: false,
            ca_file: None,
            min_tls_version: "1.2".to_owned(),
        }
    }
}

impl OutboundConfig {
    /// The settings the HTTP clients take, with the CA file read.
    pub fn load(&self) -> Result<Outbound, ConfigError> {
        let extra_roots = match &self.ca_file {
            None => Vec::new(),
            Some(path) => {
                let pem = std::fs::read(path).map_err(|source| ConfigError::Read {
                    path: path.clone(),
                    source,
                })?;
                let roots = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
                    invalid(None, format!("outbound.ca_file {}: {e}", path.display()))
                })?;
                if roots.is_empty() {
                    return Err(invalid(
                        None,
                        format!(
                            "outbound.ca_file {}: no PEM certificate in it",
                            path.display()
                        ),
                    ));
                }
                roots
            }
        };
        Ok(Outbound {
            rules: Arc::new(NetworkRules {
                allow_networks: self.allow_networks.clone(),
                deny_networks: self.deny_networks.clone(),
            }),
            https_only: self.https_only,
            extra_roots,
            min_tls: Some(min_tls(&self.min_tls_version).map_err(|m| invalid(None, m))?),
        })
    }
}

fn min_tls(text: &str) -> Result<reqwest::tls::Version, String> {
    match text {
        "1.2" => Ok(reqwest::tls::Version::TLS_1_2),
        "1.3" => Ok(reqwest::tls::Version::TLS_1_3),
        other => Err(format!(
            "outbound.min_tls_version: {other:?} is not supported; use \"1.2\" or \"1.3\""
        )),
    }
}

/// `[catalog]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CatalogConfig {
    /// Endpoint filters may name only types in the catalog.
    pub strict: bool,
}

/// `[runtime]`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RuntimeConfig {
    /// Threads that run hookwired's tasks; unset, one per CPU. The index's writes run on
    /// threads of their own beside them.
    pub worker_threads: Option<u16>,
}

impl RuntimeConfig {
    /// The worker threads to start on a machine with `cpus` CPUs.
    #[must_use]
    pub fn worker_threads(&self, cpus: usize) -> usize {
        self.worker_threads.map_or(cpus.max(1), usize::from)
    }
}

/// `[store]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// Page cache of the state file, in MiB (redb's own default is 1024).
    pub cache_mb: u32,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self { cache_mb: 32 }
    }
}

/// `[streams]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StreamsConfig {
    /// How long events stay for replay, in seconds (default 7 days).
    pub events_max_age_secs: u64,
    /// How long attempt records stay, in seconds (default 7 days).
    pub attempts_max_age_secs: u64,
    /// How long dead letters stay, in seconds (default 30 days).
    pub dead_max_age_secs: u64,
    /// How long audit records stay, in seconds (default 90 days).
    pub audit_max_age_secs: u64,
    /// `Nats-Msg-Id` de-duplication window, in seconds (default 120).
    pub duplicate_window_secs: u64,
    /// Largest accepted event, in bytes (default 1 MiB).
    pub max_event_bytes: u32,
    /// Stream replicas (1 on a single server, 3 on a cluster).
    pub replicas: u8,
}

/// `[delivery]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeliveryConfig {
    /// Attempts in flight at once per instance.
    pub concurrency: u32,
    /// Delays between attempts for endpoints that set none, in seconds.
    pub retry_schedule_secs: Vec<u32>,
    /// Retry tiers, in seconds, ascending.
    pub retry_tiers_secs: Vec<u32>,
    /// The longest `Retry-After` honoured, in seconds.
    pub max_retry_after_secs: u32,
    /// How long SIGTERM waits for attempts in flight, in seconds.
    pub drain_timeout_secs: u32,
}

/// `[http]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Where `/healthz`, `/readyz` and `/metrics` listen.
    pub listen: SocketAddr,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            prefix: hookwire_protocol::subject::DEFAULT_PREFIX.to_owned(),
            data_dir: PathBuf::from("data/hookwired"),
            nats: ConnectArgs::default(),
            streams: StreamsConfig::default(),
            delivery: DeliveryConfig::default(),
            store: StoreConfig::default(),
            http: HttpConfig::default(),
            catalog: CatalogConfig::default(),
            outbound: OutboundConfig::default(),
            breaker: BreakerConfig::default(),
            secrets: SecretsConfig::default(),
            privacy: PrivacyConfig::default(),
            ingress: IngressConfig::default(),
            runtime: RuntimeConfig::default(),
        }
    }
}

impl Default for StreamsConfig {
    fn default() -> Self {
        let limits = StreamLimits::default();
        Self {
            events_max_age_secs: limits.events_max_age.as_secs(),
            attempts_max_age_secs: limits.attempts_max_age.as_secs(),
            dead_max_age_secs: limits.dead_max_age.as_secs(),
            audit_max_age_secs: limits.audit_max_age.as_secs(),
            duplicate_window_secs: limits.duplicate_window.as_secs(),
            max_event_bytes: 1024 * 1024,
            replicas: 1,
        }
    }
}

fn secs(durations: &[Duration]) -> Vec<u32> {
    durations
        .iter()
        .map(|d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX))
        .collect()
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            concurrency: 512,
            retry_schedule_secs: secs(&crate::delivery::retry::DEFAULT_SCHEDULE),
            retry_tiers_secs: secs(&crate::delivery::retry::DEFAULT_TIERS),
            max_retry_after_secs: 3600,
            drain_timeout_secs: 30,
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 9464)),
        }
    }
}

impl Config {
    /// Loads `file` (if given), applies `HOOKWIRE__...` overrides from `env`, and validates.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let (mut table, origin) = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_owned(),
                    source,
                })?;
                let table: toml::Table = toml::from_str(&text)
                    .map_err(|e| invalid(Some(&path.display().to_string()), e.to_string()))?;
                (table, Some(path.display().to_string()))
            }
            None => (toml::Table::new(), None),
        };
        for (name, value) in env {
            let Some(key) = name.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            apply_override(&mut table, key, &value)
                .map_err(|message| invalid(Some(&name), message))?;
        }
        let config: Self = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| invalid(origin.as_deref(), e.to_string()))?;
        config
            .validate()
            .map_err(|m| invalid(origin.as_deref(), m))?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), String> {
        hookwire_protocol::Subjects::new(&self.prefix).map_err(|e| format!("prefix: {e}"))?;
        let d = &self.delivery;
        if d.concurrency == 0 || d.concurrency > 100_000 {
            return Err("delivery.concurrency: must be 1 to 100000".into());
        }
        if d.retry_tiers_secs.is_empty()
            || d.retry_tiers_secs.contains(&0)
            || !d.retry_tiers_secs.windows(2).all(|w| w[0] < w[1])
        {
            return Err(
                "delivery.retry_tiers_secs: must be positive seconds in ascending order".into(),
            );
        }
        if d.retry_schedule_secs.contains(&0) || d.retry_schedule_secs.len() > 16 {
            return Err("delivery.retry_schedule_secs: at most 16 positive delays".into());
        }
        if self.store.cache_mb == 0 {
            return Err("store.cache_mb: must be positive".into());
        }
        if matches!(self.runtime.worker_threads, Some(0 | 1025..)) {
            return Err("runtime.worker_threads: must be 1 to 1024 (or unset: one per CPU)".into());
        }
        let s = &self.streams;
        if s.duplicate_window_secs == 0 {
            return Err("streams.duplicate_window_secs: must be positive".into());
        }
        if s.max_event_bytes < 1024 {
            return Err("streams.max_event_bytes: must be at least 1024".into());
        }
        if !matches!(s.replicas, 1 | 3 | 5) {
            return Err("streams.replicas: must be 1, 3 or 5".into());
        }
        min_tls(&self.outbound.min_tls_version)?;
        let b = &self.breaker;
        if b.consecutive_failures == 0 {
            return Err("breaker.consecutive_failures: must be positive".into());
        }
        if !(b.failure_ratio > 0.0 && b.failure_ratio <= 1.0) {
            return Err("breaker.failure_ratio: must be above 0 and at most 1".into());
        }
        if b.window_secs == 0 || b.cooldown_secs == 0 || b.min_attempts == 0 {
            return Err(
                "breaker.window_secs, cooldown_secs and min_attempts: must be positive".into(),
            );
        }
        if let Some(name) = self
            .privacy
            .redact_headers
            .iter()
            .find(|n| !hookwire_protocol::headers::is_token(n))
        {
            return Err(format!(
                "privacy.redact_headers: {name:?} is not an HTTP header name"
            ));
        }
        let i = &self.ingress;
        if i.header_timeout_secs == 0
            || i.body_timeout_secs == 0
            || i.publish_timeout_ms == 0
            || i.max_in_flight == 0
            || i.max_connections == 0
        {
            return Err("ingress: timeouts and limits must be positive".into());
        }
        if i.tls_cert_file.is_some() != i.tls_key_file.is_some() {
            return Err("ingress.tls_cert_file and tls_key_file: give both or neither".into());
        }
        if let Some(url) = &i.public_url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            return Err(format!("ingress.public_url: {url:?} is not an http(s) URL"));
        }
        Ok(())
    }

    /// The stream limits this configuration asks for.
    #[must_use]
    pub fn stream_limits(&self) -> StreamLimits {
        let s = &self.streams;
        StreamLimits {
            events_max_age: Duration::from_secs(s.events_max_age_secs),
            attempts_max_age: Duration::from_secs(s.attempts_max_age_secs),
            dead_max_age: Duration::from_secs(s.dead_max_age_secs),
            audit_max_age: Duration::from_secs(s.audit_max_age_secs),
            duplicate_window: Duration::from_secs(s.duplicate_window_secs),
            max_event_bytes: i32::try_from(s.max_event_bytes).unwrap_or(i32::MAX),
            replicas: usize::from(s.replicas),
        }
    }

    /// The retry tiers as durations.
    #[must_use]
    pub fn retry_tiers(&self) -> Vec<Duration> {
        to_durations(&self.delivery.retry_tiers_secs)
    }

    /// The default retry schedule as durations.
    #[must_use]
    pub fn retry_schedule(&self) -> Vec<Duration> {
        to_durations(&self.delivery.retry_schedule_secs)
    }

    /// The effective configuration as TOML, secrets left out.
    #[must_use]
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# cannot print: {e}"))
    }
}

/// Seconds to durations.
#[must_use]
pub fn to_durations(secs: &[u32]) -> Vec<Duration> {
    secs.iter()
        .map(|s| Duration::from_secs(u64::from(*s)))
        .collect()
}

/// Sets `section__key` (lowercased) in `table` to `value`, read as a TOML value when it is
/// one (`512`, `true`, `[5, 30]`) and as a string otherwise.
fn apply_override(table: &mut toml::Table, key: &str, value: &str) -> Result<(), String> {
    let path: Vec<String> = key.split("__").map(str::to_ascii_lowercase).collect();
    if path.iter().any(String::is_empty) {
        return Err("use HOOKWIRE__<SECTION>__<KEY>, e.g. HOOKWIRE__DELIVERY__CONCURRENCY".into());
    }
    let parsed = format!("v = {value}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(value.to_owned()));
    let (last, sections) = path.split_last().ok_or("empty key")?;
    let mut current = table;
    for section in sections {
        current = current
            .entry(section.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
            .ok_or_else(|| format!("{section} is not a table"))?;
    }
    current.insert(last.clone(), parsed);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn file(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hookwired.toml");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn defaults_need_no_file() {
        let config = Config::load(None, env(&[])).unwrap();
        assert_eq!(config.prefix, "hookwire");
        assert_eq!(config.delivery.concurrency, 512);
        assert_eq!(
            config.retry_schedule(),
            crate::delivery::retry::DEFAULT_SCHEDULE
        );
    }

    #[test]
    fn worker_threads_default_to_one_per_cpu_and_can_be_set() {
        let auto = RuntimeConfig::default();
        let threads: Vec<usize> = [0, 1, 2, 16].map(|cpus| auto.worker_threads(cpus)).into();
        assert_eq!(threads, [1, 1, 2, 16]);
        let config =
            Config::load(None, env(&[("HOOKWIRE__RUNTIME__WORKER_THREADS", "3")])).unwrap();
        assert_eq!(config.runtime.worker_threads(2), 3);
        for bad in ["0", "1025", "-1", "\"many\""] {
            let result = Config::load(None, env(&[("HOOKWIRE__RUNTIME__WORKER_THREADS", bad)]));
            let Err(e) = result else {
                panic!("worker_threads = {bad} was taken");
            };
            assert!(e.to_string().contains("worker_threads"), "{bad}: {e}");
        }
    }

    #[test]
    fn file_then_environment() {
        let (_dir, path) = file(
            "prefix = \"acme.hooks\"\n[delivery]\nconcurrency = 64\n[nats]\nserver = \"nats://n:4222\"\n",
        );
        let config = Config::load(
            Some(&path),
            env(&[
                ("HOOKWIRE__DELIVERY__CONCURRENCY", "128"),
                ("HOOKWIRE__DELIVERY__RETRY_SCHEDULE_SECS", "[1, 2]"),
                ("HOOKWIRE__DATA_DIR", "/var/lib/hookwire"),
                ("UNRELATED", "x"),
            ]),
        )
        .unwrap();
        assert_eq!(config.prefix, "acme.hooks");
        assert_eq!(config.delivery.concurrency, 128);
        assert_eq!(config.delivery.retry_schedule_secs, vec![1, 2]);
        assert_eq!(config.data_dir, PathBuf::from("/var/lib/hookwire"));
        assert_eq!(config.nats.server.as_deref(), Some("nats://n:4222"));
    }

    #[test]
    fn bad_keys_and_values_are_named() {
        let (_dir, path) = file("[delivery]\nconcurency = 5\n");
        let message = Config::load(Some(&path), env(&[])).unwrap_err().to_string();
        assert!(message.contains("concurency"), "{message}");

        let message = Config::load(None, env(&[("HOOKWIRE__DELIVERY__CONCURRENCY", "lots")]))
            .unwrap_err()
            .to_string();
        assert!(message.contains("concurrency"), "{message}");

        for (key, value, named) in [
            (
                "HOOKWIRE__DELIVERY__CONCURRENCY",
                "0",
                "delivery.concurrency",
            ),
            (
                "HOOKWIRE__DELIVERY__RETRY_TIERS_SECS",
                "[5, 1]",
                "delivery.retry_tiers_secs",
            ),
            ("HOOKWIRE__PREFIX", "a.*", "prefix"),
            ("HOOKWIRE__STREAMS__REPLICAS", "2", "streams.replicas"),
            ("HOOKWIRE__HTTP__LISTEN", "nowhere", "listen"),
        ] {
            let message = Config::load(None, env(&[(key, value)]))
                .unwrap_err()
                .to_string();
            assert!(message.contains(named), "{key}={value}: {message}");
        }
        let (_dir, broken) = file("prefix = ");
        assert!(Config::load(Some(&broken), env(&[])).is_err());
        let missing = Config::load(Some(Path::new("/nonexistent/h.toml")), env(&[])).unwrap_err();
        assert!(matches!(missing, ConfigError::Read { .. }));
    }

    #[test]
    fn a_missing_key_is_generated_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let secrets = SecretsConfig::default();
        let (first, warning) = secrets.load(dir.path()).unwrap();
        assert!(warning.unwrap().starts_with("generated the secrets key"));
        let path = dir.path().join(GENERATED_KEY_FILE);
        let mode = std::os::unix::fs::PermissionsExt::mode(&path.metadata().unwrap().permissions());
        assert_eq!(mode & 0o777, 0o600);
        let (again, warning) = secrets.load(dir.path()).unwrap();
        assert!(warning.unwrap().starts_with("using the generated"));
        assert_eq!(first.current_id(), again.current_id());
    }

    #[test]
    fn a_key_that_cannot_be_written_says_so() {
        let dir = tempfile::tempdir().unwrap();
        // A data folder under a regular file cannot be created, not even by root.
        let blocker = dir.path().join("not-a-folder");
        std::fs::write(&blocker, "").unwrap();
        let error = SecretsConfig::default()
            .load(&blocker.join("data"))
            .unwrap_err();
        assert!(matches!(error, ConfigError::WriteKey { .. }), "{error:?}");
        assert!(
            error
                .to_string()
                .starts_with("cannot write the generated secrets key"),
            "{error}"
        );
    }

    #[test]
    fn configured_keys_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let key = Keyring::generate_key();
        let (_key_dir, path) = file(&key);
        let from_file = SecretsConfig {
            key_file: Some(path.clone()),
            ..SecretsConfig::default()
        };
        let (ring, warning) = from_file.load(dir.path()).unwrap();
        assert!(warning.is_none());
        let from_text = SecretsConfig {
            key: Some(key.clone()),
            previous_keys: vec![Keyring::generate_key()],
            ..SecretsConfig::default()
        };
        assert_eq!(
            from_text.load(dir.path()).unwrap().0.current_id(),
            ring.current_id()
        );
        let both = SecretsConfig {
            key: Some(key),
            key_file: Some(path),
            ..SecretsConfig::default()
        };
        assert!(
            both.load(dir.path())
                .unwrap_err()
                .to_string()
                .contains("not both")
        );
        let short = SecretsConfig {
            previous_keys: vec!["c2hvcnQ=".into()],
            ..from_file
        };
        let error = short.load(dir.path()).unwrap_err().to_string();
        assert!(
            error.contains("secrets.previous_keys") && error.contains("5 bytes"),
            "{error}"
        );
        assert!(!dir.path().join(GENERATED_KEY_FILE).exists());
    }

    #[test]
    fn printed_config_reads_back_without_secrets() {
        let config = Config::load(
            None,
            env(&[
                ("HOOKWIRE__NATS__PASSWORD", "hunter2"),
                (
                    "HOOKWIRE__SECRETS__KEY",
                    "a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U=",
                ),
            ]),
        )
        .unwrap();
        assert_eq!(config.nats.password.as_deref(), Some("hunter2"));
        assert!(config.secrets.key.is_some());
        let printed = config.to_toml();
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(!printed.contains("a2V5a2V5"), "{printed}");
        let (_dir, path) = file(&printed);
        let again = Config::load(Some(&path), env(&[])).unwrap();
        assert_eq!(
            again.delivery.retry_tiers_secs,
            config.delivery.retry_tiers_secs
        );
    }
}
