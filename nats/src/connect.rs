//! Connection options that follow NATS conventions, shared by `hookwired` and `hookwire`.
//!
//! Flags and environment variables are the ones the `nats` CLI uses, so operators set them
//! once. Precedence, highest first: a flag, its environment variable, the context named by
//! `--context`/`NATS_CONTEXT` (else the one selected with `nats context select`), the default.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::context::{Context, ContextError, ContextStore};

/// The server used when neither a flag, the environment nor a context names one.
pub const DEFAULT_SERVER: &str = "nats://127.0.0.1:4222";
/// How long a request waits for its reply when no `--timeout` is given.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a connection could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The context could not be used.
    #[error(transparent)]
    Context(#[from] ContextError),
    /// A credentials, nkey or TLS file could not be read.
    #[error("cannot read {what} file {}", path.display())]
    File {
        /// What the file is for, e.g. "nkey seed".
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The options do not fit together.
    #[error("{0}")]
    Conflict(&'static str),
    /// `--timeout` was not a duration.
    #[error("invalid timeout {0:?}: use seconds (\"5\") or a unit (\"500ms\", \"5s\", \"1m\")")]
    Timeout(String),
    /// A server URL could not be parsed.
    #[error(
        "invalid NATS server URL in {servers:?}: use nats://host:port, tls://host:port or host:port"
    )]
    InvalidServer {
        /// The servers as given.
        servers: String,
        /// What the parser said.
        #[source]
        source: std::io::Error,
    },
    /// The server could not be reached or refused the connection.
    #[error("cannot connect to NATS at {servers}")]
    Connect {
        /// The servers that were tried.
        servers: String,
        /// What the client said.
        #[source]
        source: async_nats::ConnectError,
    },
}

/// NATS connection flags, as the `nats` CLI spells them. Also read from the `[nats]` table
/// of `hookwired`'s configuration file, with the same names.
#[derive(Debug, Clone, Default, clap::Args, serde::Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConnectArgs {
    /// NATS server URLs, comma-separated (default 127.0.0.1:4222).
    #[arg(short = 's', long = "server", env = "NATS_URL", value_name = "URLS")]
    pub server: Option<String>,
    /// User name, or a token when no password is given.
    #[arg(long, env = "NATS_USER")]
    pub user: Option<String>,
    /// Password.
    #[arg(long, env = "NATS_PASSWORD", hide_env_values = true)]
    #[serde(skip_serializing)]
    pub password: Option<String>,
    /// User credentials file (.creds).
    #[arg(long, env = "NATS_CREDS", value_name = "FILE")]
    pub creds: Option<PathBuf>,
    /// User nkey seed file.
    #[arg(long, env = "NATS_NKEY", value_name = "FILE")]
    pub nkey: Option<PathBuf>,
    /// TLS client certificate (PEM).
    #[arg(long = "tlscert", env = "NATS_CERT", value_name = "FILE")]
    #[serde(rename = "tlscert")]
    pub tls_cert: Option<PathBuf>,
    /// TLS client key (PEM).
    #[arg(long = "tlskey", env = "NATS_KEY", value_name = "FILE")]
    #[serde(rename = "tlskey")]
    pub tls_key: Option<PathBuf>,
    /// TLS certificate authority bundle (PEM).
    #[arg(long = "tlsca", env = "NATS_CA", value_name = "FILE")]
    #[serde(rename = "tlsca")]
    pub tls_ca: Option<PathBuf>,
    /// Do the TLS handshake before the NATS protocol (servers with `handshake_first`).
    #[arg(long = "tlsfirst")]
    #[serde(rename = "tlsfirst")]
    pub tls_first: bool,
    /// Name of a `nats` CLI context to read settings from.
    #[arg(long, env = "NATS_CONTEXT", value_name = "NAME")]
    pub context: Option<String>,
    /// How long to wait for replies, e.g. "5s" or "500ms" [default: 5s].
    #[arg(long, env = "NATS_TIMEOUT", value_name = "DURATION")]
    pub timeout: Option<String>,
}

/// Connection settings with flags, environment and context merged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Comma-separated server URLs.
    pub servers: String,
    /// User name (with `password`) or token (without).
    pub user: Option<String>,
    /// Password.
    pub password: Option<String>,
    /// Credentials file.
    pub creds: Option<PathBuf>,
    /// Nkey seed file.
    pub nkey: Option<PathBuf>,
    /// Client certificate.
    pub tls_cert: Option<PathBuf>,
    /// Client key.
    pub tls_key: Option<PathBuf>,
    /// CA bundle.
    pub tls_ca: Option<PathBuf>,
    /// TLS before the NATS protocol.
    pub tls_first: bool,
    /// Reply inbox prefix.
    pub inbox_prefix: Option<String>,
    /// Reply timeout for requests.
    pub timeout: Duration,
}

/// Whether the first connection attempt may fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitialConnect {
    /// Report an unreachable server at once (scripting commands).
    FailFast,
    /// Keep trying in the background and return a client at once (daemons, the console).
    Retry,
}

impl ConnectArgs {
    /// These arguments, with every option they leave unset taken from `fallback`
    /// (flags and environment over the configuration file).
    #[must_use]
    pub fn or(self, fallback: Self) -> Self {
        Self {
            server: self.server.or(fallback.server),
            user: self.user.or(fallback.user),
            password: self.password.or(fallback.password),
            creds: self.creds.or(fallback.creds),
            nkey: self.nkey.or(fallback.nkey),
            tls_cert: self.tls_cert.or(fallback.tls_cert),
            tls_key: self.tls_key.or(fallback.tls_key),
            tls_ca: self.tls_ca.or(fallback.tls_ca),
            tls_first: self.tls_first || fallback.tls_first,
            context: self.context.or(fallback.context),
            timeout: self.timeout.or(fallback.timeout),
        }
    }

    /// Merges the flags with the context they name (or the selected one) from `store`.
    pub fn resolve(&self, store: Option<&ContextStore>) -> Result<Settings, ConnectError> {
        let context = match (store, &self.context) {
            (Some(store), Some(name)) => store.load(name)?,
            (Some(store), None) => match store.selected()? {
                Some(name) => store.load(&name)?,
                None => Context::default(),
            },
            (None, Some(_)) => {
                return Err(ConnectError::Conflict(
                    "--context needs $HOME or $XDG_CONFIG_HOME to find the context files",
                ));
            }
            (None, None) => Context::default(),
        };
        let non_empty = |v: Option<String>| v.filter(|s| !s.is_empty());
        let non_empty_path = |v: Option<PathBuf>| v.filter(|p| !p.as_os_str().is_empty());
        let settings = Settings {
            servers: non_empty(self.server.clone())
                .or(non_empty(context.url))
                .unwrap_or_else(|| DEFAULT_SERVER.to_owned()),
            user: non_empty(self.user.clone()).or(non_empty(context.user)),
            password: non_empty(self.password.clone()).or(non_empty(context.password)),
            creds: non_empty_path(self.creds.clone()).or(non_empty_path(context.creds)),
            nkey: non_empty_path(self.nkey.clone()).or(non_empty_path(context.nkey)),
            tls_cert: non_empty_path(self.tls_cert.clone()).or(non_empty_path(context.cert)),
            tls_key: non_empty_path(self.tls_key.clone()).or(non_empty_path(context.key)),
            tls_ca: non_empty_path(self.tls_ca.clone()).or(non_empty_path(context.ca)),
            tls_first: self.tls_first || context.tls_first,
            inbox_prefix: non_empty(context.inbox_prefix),
            timeout: match &self.timeout {
                Some(text) => {
                    parse_duration(text).ok_or_else(|| ConnectError::Timeout(text.clone()))?
                }
                None => DEFAULT_TIMEOUT,
            },
        };
        // A context token lives in `user` for the CLI, so a context token fills it too.
        let settings = match (settings.user.is_none(), non_empty(context.token)) {
            (true, Some(token)) => Settings {
                user: Some(token),
                ..settings
            },
            _ => settings,
        };
        settings.check()?;
        Ok(settings)
    }

    /// [`Self::resolve`] against the `nats` CLI's own context store.
    pub fn resolve_from_env(&self) -> Result<Settings, ConnectError> {
        self.resolve(ContextStore::from_env().as_ref())
    }
}

impl Settings {
    fn check(&self) -> Result<(), ConnectError> {
        let methods = [
            self.creds.is_some(),
            self.nkey.is_some(),
            self.user.is_some(),
        ];
        if methods.iter().filter(|m| **m).count() > 1 {
            return Err(ConnectError::Conflict(
                "choose one of --creds, --nkey and --user/--password",
            ));
        }
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            return Err(ConnectError::Conflict(
                "--tlscert and --tlskey must be given together",
            ));
        }
        Ok(())
    }

    /// The async-nats options these settings describe, named `name` in the server's
    /// connection list (`nats server report connections`).
    pub async fn options(&self, name: &str) -> Result<async_nats::ConnectOptions, ConnectError> {
        let mut options = async_nats::ConnectOptions::new()
            .name(name)
            .request_timeout(Some(self.timeout))
            .max_reconnects(None);
        if let Some(path) = &self.creds {
            options = async_nats::ConnectOptions::with_credentials_file(path)
                .await
                .map_err(|source| file_error("credentials", path, source))?
                .name(name)
                .request_timeout(Some(self.timeout))
                .max_reconnects(None);
        }
        if let Some(path) = &self.nkey {
            let seed =
                std::fs::read_to_string(path).map_err(|e| file_error("nkey seed", path, e))?;
            options = options.nkey(seed.trim().to_owned());
        }
        match (&self.user, &self.password) {
            (Some(user), Some(password)) => {
                options = options.user_and_password(user.clone(), password.clone());
            }
            (Some(token), None) => options = options.token(token.clone()),
            _ => {}
        }
        if let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) {
            options = options.add_client_certificate(cert.clone(), key.clone());
        }
        if let Some(ca) = &self.tls_ca {
            options = options.add_root_certificates(ca.clone());
        }
        if self.tls_first {
            options = options.tls_first();
        }
        if let Some(prefix) = &self.inbox_prefix {
            options = options.custom_inbox_prefix(prefix.clone());
        }
        Ok(options)
    }

    /// Connects, named `name`.
    pub async fn connect(
        &self,
        name: &str,
        initial: InitialConnect,
    ) -> Result<async_nats::Client, ConnectError> {
        let mut options = self.options(name).await?;
        if initial == InitialConnect::Retry {
            options = options.retry_on_initial_connect();
        }
        let servers: Vec<async_nats::ServerAddr> = self
            .servers
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::parse)
            .collect::<Result<_, _>>()
            .map_err(|source| ConnectError::InvalidServer {
                servers: self.servers.clone(),
                source,
            })?;
        options
            .connect(servers)
            .await
            .map_err(|source| ConnectError::Connect {
                servers: self.servers.clone(),
                source,
            })
    }
}

fn file_error(what: &'static str, path: &Path, source: std::io::Error) -> ConnectError {
    ConnectError::File {
        what,
        path: path.to_owned(),
        source,
    }
}

/// Reads "5", "5s", "500ms", "2m" or "1h" (the forms the `nats` CLI's `--timeout` takes).
fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number.parse().ok()?;
    let seconds = match unit {
        "" | "s" => value,
        "ms" => value / 1000.0,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        _ => return None,
    };
    Duration::try_from_secs_f64(seconds)
        .ok()
        .filter(|d| !d.is_zero())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store_with_context(json: &str, selected: Option<&str>) -> (tempfile::TempDir, ContextStore) {
        let dir = tempfile::tempdir().unwrap();
        let nats = dir.path().join("nats");
        std::fs::create_dir_all(nats.join("context")).unwrap();
        std::fs::write(nats.join("context/ctx.json"), json).unwrap();
        if let Some(name) = selected {
            std::fs::write(nats.join("context.txt"), name).unwrap();
        }
        let store = ContextStore::new(dir.path());
        (dir, store)
    }

    #[test]
    fn defaults_without_flags_or_context() {
        let settings = ConnectArgs::default().resolve(None).unwrap();
        assert_eq!(settings.servers, DEFAULT_SERVER);
        assert_eq!(settings.timeout, DEFAULT_TIMEOUT);
        assert_eq!(settings.user, None);
    }

    #[test]
    fn flags_override_the_context_and_the_context_fills_the_rest() {
        let (_dir, store) = store_with_context(
            r#"{"url":"nats://ctx:4222","user":"ctx-user","password":"ctx-pw","ca":"/ctx/ca.pem"}"#,
            None,
        );
        let args = ConnectArgs {
            server: Some("nats://flag:4222".into()),
            context: Some("ctx".into()),
            ..ConnectArgs::default()
        };
        let settings = args.resolve(Some(&store)).unwrap();
        assert_eq!(settings.servers, "nats://flag:4222");
        assert_eq!(settings.user.as_deref(), Some("ctx-user"));
        assert_eq!(settings.password.as_deref(), Some("ctx-pw"));
        assert_eq!(settings.tls_ca, Some(PathBuf::from("/ctx/ca.pem")));
    }

    #[test]
    fn selected_context_applies_when_none_is_named() {
        let (_dir, store) = store_with_context(
            r#"{"url":"nats://selected:4222","token":"t0k"}"#,
            Some("ctx"),
        );
        let settings = ConnectArgs::default().resolve(Some(&store)).unwrap();
        assert_eq!(settings.servers, "nats://selected:4222");
        assert_eq!(settings.user.as_deref(), Some("t0k"));
        assert_eq!(settings.password, None);
    }

    #[test]
    fn a_named_context_that_does_not_exist_is_an_error() {
        let (_dir, store) = store_with_context("{}", None);
        let args = ConnectArgs {
            context: Some("missing".into()),
            ..ConnectArgs::default()
        };
        assert!(matches!(
            args.resolve(Some(&store)),
            Err(ConnectError::Context(ContextError::NotFound { .. }))
        ));
    }

    #[test]
    fn conflicting_options_are_refused() {
        let both = ConnectArgs {
            creds: Some("a.creds".into()),
            user: Some("u".into()),
            ..ConnectArgs::default()
        };
        assert!(matches!(both.resolve(None), Err(ConnectError::Conflict(_))));
        let half_tls = ConnectArgs {
            tls_cert: Some("c.pem".into()),
            ..ConnectArgs::default()
        };
        assert!(matches!(
            half_tls.resolve(None),
            Err(ConnectError::Conflict(_))
        ));
    }

    #[test]
    fn timeouts_parse_like_the_nats_cli() {
        assert_eq!(parse_duration("5"), Some(Duration::from_secs(5)));
        assert_eq!(parse_duration("5s"), Some(Duration::from_secs(5)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Some(Duration::from_mins(2)));
        assert_eq!(parse_duration("1h"), Some(Duration::from_hours(1)));
        for bad in ["", "0", "s", "5x", "-1", "abc", "1e400"] {
            assert_eq!(parse_duration(bad), None, "{bad:?}");
        }
        let args = ConnectArgs {
            timeout: Some("soon".into()),
            ..ConnectArgs::default()
        };
        assert!(matches!(args.resolve(None), Err(ConnectError::Timeout(_))));
    }

    #[tokio::test]
    async fn unreadable_credential_files_are_named() {
        let settings = ConnectArgs {
            nkey: Some("/nonexistent/user.nk".into()),
            ..ConnectArgs::default()
        }
        .resolve(None)
        .unwrap();
        let err = settings.options("t").await.unwrap_err();
        assert!(err.to_string().contains("/nonexistent/user.nk"), "{err}");
    }
}
