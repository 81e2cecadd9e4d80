//! The `nats` CLI's configuration contexts, read so that an operator's existing
//! `nats context select prod` also points `hookwire` at prod.
//!
//! A context is a JSON file `<config dir>/nats/context/<name>.json`; the selected one is
//! named in `<config dir>/nats/context.txt`. The config dir is `$XDG_CONFIG_HOME`, or
//! `~/.config` when that is unset.

use std::io;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// A context file that could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ContextError {
    /// The context name could be used to escape the context directory.
    #[error(
        "invalid context name {0:?}: use letters, digits, '-', '_' and '.' (no path separators)"
    )]
    InvalidName(String),
    /// No file for the named context.
    #[error("nats context {name:?} not found at {}; create it with `nats context add {name}`", path.display())]
    NotFound {
        /// The context asked for.
        name: String,
        /// Where it was looked for.
        path: PathBuf,
    },
    /// The file exists but could not be read.
    #[error("cannot read nats context file {}", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The file is not a valid context.
    #[error("nats context file {} is not valid JSON of a context", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What the parser said.
        #[source]
        source: serde_json::Error,
    },
}

/// The connection settings of one context. Fields the `nats` CLI writes but Hookwire does
/// not use (`description`, `nsc`, JetStream domains, colour scheme, ...) are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct Context {
    /// Comma-separated server URLs.
    pub url: Option<String>,
    /// Authentication token.
    pub token: Option<String>,
    /// User name.
    pub user: Option<String>,
    /// Password.
    pub password: Option<String>,
    /// Path of a `.creds` file.
    pub creds: Option<PathBuf>,
    /// Path of an nkey seed file.
    pub nkey: Option<PathBuf>,
    /// Client certificate (PEM).
    pub cert: Option<PathBuf>,
    /// Client key (PEM).
    pub key: Option<PathBuf>,
    /// CA bundle (PEM).
    pub ca: Option<PathBuf>,
    /// Do the TLS handshake before the NATS protocol (`handshake_first` servers).
    pub tls_first: bool,
    /// Inbox prefix for replies, for accounts that restrict `_INBOX.>`.
    pub inbox_prefix: Option<String>,
}

/// Where contexts are read from.
#[derive(Debug, Clone)]
pub struct ContextStore {
    nats_dir: PathBuf,
}

impl ContextStore {
    /// The store under `config_dir` (the parent of its `nats/` folder).
    #[must_use]
    pub fn new(config_dir: impl Into<PathBuf>) -> Self {
        Self {
            nats_dir: config_dir.into().join("nats"),
        }
    }

    /// The store the `nats` CLI uses: under `$XDG_CONFIG_HOME`, else `$HOME/.config`.
    /// `None` when neither variable is set.
    #[must_use]
    pub fn from_env() -> Option<Self> {
        let config_dir = std::env::var_os("XDG_CONFIG_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".config")))?;
        Some(Self::new(config_dir))
    }

    /// The context selected with `nats context select`, if any.
    pub fn selected(&self) -> Result<Option<String>, ContextError> {
        let path = self.nats_dir.join("context.txt");
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(Some(text.trim().to_owned()).filter(|name| !name.is_empty())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(ContextError::Unreadable { path, source }),
        }
    }

    /// Loads the context called `name`.
    pub fn load(&self, name: &str) -> Result<Context, ContextError> {
        let valid_name = !name.is_empty()
            && !name.starts_with('.')
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !valid_name {
            return Err(ContextError::InvalidName(name.to_owned()));
        }
        let path = self.nats_dir.join("context").join(format!("{name}.json"));
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(ContextError::NotFound {
                    name: name.to_owned(),
                    path,
                });
            }
            Err(source) => return Err(ContextError::Unreadable { path, source }),
        };
        serde_json::from_str(&text).map_err(|source| ContextError::Invalid { path, source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store_with(files: &[(&str, &str)]) -> (tempfile::TempDir, ContextStore) {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in files {
            let path = dir.path().join("nats").join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let store = ContextStore::new(dir.path());
        (dir, store)
    }

    #[test]
    fn reads_a_context_written_by_the_nats_cli() {
        let (_dir, store) = store_with(&[(
            "context/prod.json",
            r#"{"description":"prod","url":"nats://a:4222,nats://b:4222","token":"","user":"ops",
                "password":"pw","creds":"/etc/prod.creds","nkey":"","cert":"","key":"","ca":"/etc/ca.pem",
                "nsc":"","jetstream_domain":"","tls_first":true,"inbox_prefix":"_INBOX_ops","color_scheme":""}"#,
        )]);
        let context = store.load("prod").unwrap();
        assert_eq!(context.url.as_deref(), Some("nats://a:4222,nats://b:4222"));
        assert_eq!(context.user.as_deref(), Some("ops"));
        assert_eq!(context.creds, Some(PathBuf::from("/etc/prod.creds")));
        assert_eq!(context.ca, Some(PathBuf::from("/etc/ca.pem")));
        assert!(context.tls_first);
        assert_eq!(context.inbox_prefix.as_deref(), Some("_INBOX_ops"));
    }

    #[test]
    fn selected_context_comes_from_context_txt() {
        let (_dir, store) = store_with(&[("context.txt", "prod\n")]);
        assert_eq!(store.selected().unwrap().as_deref(), Some("prod"));
        let (_dir, empty) = store_with(&[]);
        assert_eq!(empty.selected().unwrap(), None);
        let (_dir, blank) = store_with(&[("context.txt", "  \n")]);
        assert_eq!(blank.selected().unwrap(), None);
    }

    #[test]
    fn missing_invalid_and_unsafe_contexts_are_errors() {
        let (_dir, store) = store_with(&[("context/bad.json", "{not json")]);
        assert!(matches!(
            store.load("nope"),
            Err(ContextError::NotFound { .. })
        ));
        assert!(matches!(
            store.load("bad"),
            Err(ContextError::Invalid { .. })
        ));
        for unsafe_name in ["../x", "a/b", "", ".hidden"] {
            assert!(matches!(
                store.load(unsafe_name),
                Err(ContextError::InvalidName(_))
            ));
        }
        let message = store.load("nope").unwrap_err().to_string();
        assert!(message.contains("nats context add nope"), "{message}");
    }
}
