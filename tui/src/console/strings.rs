//! Every text the console shows that is not data, in one place.

pub(crate) const TITLE: &str = "hookwire";
pub(crate) const VIEWS: [&str; 2] = ["Endpoints", "Live"];
pub(crate) const CONNECTING: &str = "connecting…";
pub(crate) const CONNECTED: &str = "connected";
pub(crate) const DISCONNECTED: &str = "disconnected: retrying";
pub(crate) const LOADING: &str = "loading…";
pub(crate) const NO_ENDPOINTS: &str =
    "no endpoints in this tenant (create one: hookwire endpoints create)";
pub(crate) const NO_ATTEMPTS: &str = "waiting for attempts…";
pub(crate) const FROZEN: &str = "FROZEN (f to follow)";
pub(crate) const READONLY: &str = "read-only: changes are disabled";
pub(crate) const CONFIRM_HINT: &str = "y to confirm, n or esc to cancel";
pub(crate) const HELP_TITLE: &str = "keys (esc to close)";
pub(crate) const HINT: &str = "? help  : command  / filter  q quit";

/// What a confirmation asks.
pub(crate) fn confirm_delete(id: &str) -> String {
    format!("Delete endpoint {id}? Its waiting deliveries are dropped.")
}

/// What a confirmation asks.
pub(crate) fn confirm_rotate(id: &str) -> String {
    format!("Rotate the secret of {id}? The old one keeps signing for 24 h.")
}

/// The outcome of a finished action.
pub(crate) fn done(what: &str) -> String {
    format!("{what}: done")
}

/// The outcome of a failed action.
pub(crate) fn failed(what: &str, error: &str) -> String {
    format!("{what} failed: {error}")
}

/// A newly rotated secret, shown once.
pub(crate) fn new_secret(id: &str, secret: &str) -> String {
    format!("new secret of {id} (shown once, copied to the clipboard): {secret}")
}
