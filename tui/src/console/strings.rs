//! Every text the console shows that is not data, in one place.

use chrono::{DateTime, Utc};
use hookwire_protocol::attempt::AttemptRecord;
use hookwire_protocol::replay::StartReplay;

pub(crate) const TITLE: &str = "hookwire";
pub(crate) const VIEWS: [&str; 10] = [
    "Overview",
    "Endpoints",
    "Live",
    "Deliveries",
    "Dead",
    "Types",
    "Replays",
    "Audit",
    "Sources",
    "Templates",
];
pub(crate) const CONNECTING: &str = "connecting…";
pub(crate) const CONNECTED: &str = "connected";
pub(crate) const DISCONNECTED: &str = "disconnected: retrying";
pub(crate) const READONLY_BADGE: &str = "read-only";
pub(crate) const LOADING: &str = "loading…";
pub(crate) const NO_ENDPOINTS: &str = "no endpoints in this tenant (n creates one)";
pub(crate) const NO_ENDPOINTS_READONLY: &str = "no endpoints in this tenant";
/// After the URL of an endpoint with `listen` on.
pub(crate) const LISTEN_ON: &str = "(listen on: its webhooks go to hookwire listen)";
pub(crate) const NO_ATTEMPTS: &str = "waiting for attempts…";
pub(crate) const NO_BLOCKED_KEYS: &str = "No key waits: every key of this endpoint flows.";
/// How the empty key (events without one) shows.
pub(crate) const EMPTY_KEY: &str = "(empty)";
pub(crate) const BLOCKED_KEYS_HINT: &str =
    "d drops the head, D moves it to the dead letters (both ask); enter opens it";
pub(crate) const NO_DELIVERIES: &str =
    "no deliveries match (/ to search: endpoint:ID status:dead type:orders.* since:2h TEXT)";
pub(crate) const NO_DEAD_LETTERS: &str =
    "no dead letters: every delivery got through or is still trying";
pub(crate) const NO_TYPES: &str = "no event types in the catalog";
pub(crate) const NO_TEMPLATES: &str =
    "no payload templates (n creates one, from a preset or a body; docs/templates.md)";
pub(crate) const NO_TEMPLATES_READONLY: &str = "no payload templates";
/// The preview section of a template page before one was asked for.
pub(crate) const PREVIEW_HINT: &str =
    "t renders this version against an event (sends nothing); n adds a version, ←/→ other versions";
/// A version without a body.
pub(crate) const AUTOMATIC_BODY: &str =
    "(no body: the standard envelope, converted for the format)";
pub(crate) const NO_SOURCES: &str =
    "no incoming-webhook sources (hookwire sources create NAME --scheme github; docs/incoming.md)";
pub(crate) const SOURCE_REQUESTS: &str = "recent requests (newest first)";
pub(crate) const NO_AUDIT: &str = "no audited changes or security events in the last 24 hours";
/// Marks a requester name the request declared itself (NATS did not vouch for it).
/// Marks a requester that named itself (`Hookwire-Requester`), which NATS does not vouch for.
pub(crate) const DECLARED: &str = "decl.";
pub(crate) const NO_REPLAYS: &str = "no replay jobs (w on an endpoint starts one)";
pub(crate) const READONLY: &str = "read-only: changes are disabled";
pub(crate) const CONFIRM_HINT: &str = "y to confirm, n or esc to cancel";
pub(crate) const FORM_HINT: &str = "tab/↓ next field  ↑ previous  enter send  esc cancel";
pub(crate) const SENDING: &str = "sending…";
pub(crate) const SECRET_HINT: &str =
    "shown once; copied to the clipboard (c copies again); esc closes";
pub(crate) const HELP_TITLE: &str = "keys (esc to close)";
pub(crate) const MESSAGES_TITLE: &str = "messages, newest first (esc to close)";
pub(crate) const NO_MESSAGES: &str = "nothing said yet";
/// Ends a message cut to fit the message line.
pub(crate) const MORE_IN_MESSAGES: &str = "… (:messages)";
pub(crate) const HINT: &str = "? help  : command  / filter  enter open  esc back  q quit";
pub(crate) const NOT_INDEXED: &str =
    "not recorded yet (the first attempt is indexed within moments; u reloads)";

/// What a confirmation asks.
pub(crate) fn confirm_delete(id: &str) -> String {
    format!("Delete endpoint {id}? Its waiting deliveries are dropped.")
}

/// What a confirmation asks.
pub(crate) fn confirm_delete_template(name: &str) -> String {
    format!("Delete template {name} and every version? (Refused while an endpoint pins it.)")
}

/// Why `b` opens nothing.
pub(crate) fn not_ordered(id: &str) -> String {
    format!("{id} is not ordered: only ordered endpoints have blocked keys")
}

/// What a confirmation asks.
pub(crate) fn confirm_skip_head(
    endpoint_id: &str,
    key: &str,
    event_id: &str,
    dead_letter: bool,
) -> String {
    let key = if key.is_empty() { "(empty)" } else { key };
    if dead_letter {
        format!(
            "Move {event_id} (key {key} of {endpoint_id}) to the dead letters? The key's next event goes."
        )
    } else {
        format!(
            "Drop {event_id} (key {key} of {endpoint_id}) without delivering it? The key's next event goes."
        )
    }
}

/// What a confirmation asks.
pub(crate) fn confirm_rotate(id: &str) -> String {
    format!("Rotate the secret of {id}? The old one keeps signing for 24 h.")
}

/// What a confirmation asks.
pub(crate) fn confirm_requeue(n: usize) -> String {
    format!("Requeue {n} dead letters? Each is delivered again with a fresh retry schedule.")
}

/// What a confirmation asks.
pub(crate) fn confirm_requeue_endpoint(id: &str) -> String {
    format!("Requeue every dead letter of {id}? Each is delivered again.")
}

/// What a confirmation asks.
pub(crate) fn confirm_purge(n: usize) -> String {
    format!("Purge {n} dead letter(s)? They are deleted and never delivered.")
}

/// A list with nothing left after its filter.
pub(crate) fn nothing_matches(filter: &str) -> String {
    format!("nothing matches /{filter} (/ then enter on an empty line shows all)")
}

/// The line under a list: `3/40`, `/status:failed 3/12 of 40`, `… more on the server`.
pub(crate) fn list_note(
    position: usize,
    shown: usize,
    total: usize,
    filter: &str,
    more: bool,
) -> String {
    let mut note = if filter.is_empty() {
        format!("{position}/{shown}")
    } else {
        format!("/{filter}  {position}/{shown} of {total}")
    };
    if more {
        note.push_str("  more on the server: narrow the search");
    }
    note
}

/// The live tail's marker while frozen, with what waits to be shown.
pub(crate) fn frozen(waiting: usize) -> String {
    if waiting == 0 {
        "FROZEN (f to follow)".to_owned()
    } else {
        format!("FROZEN, {waiting} new (f to follow)")
    }
}

/// An overlay's title when it scrolls: which lines show.
pub(crate) fn scrolled_title(title: &str, first: usize, last: usize, total: usize) -> String {
    format!("{title} [{first}-{last}/{total}, j/k to scroll]")
}

/// What a confirmation asks.
pub(crate) fn confirm_purge_endpoint(id: &str) -> String {
    format!("Purge every dead letter of {id}? They are deleted and never delivered.")
}

/// What a confirmation asks: the replay's size as `replay.preview` counted it.
pub(crate) fn confirm_replay(request: &StartReplay, events: u64, complete: bool) -> String {
    let bound = if complete { "" } else { "at least " };
    let types = request
        .event_types
        .as_ref()
        .map(|t| format!(" of types {}", t.join(", ")))
        .unwrap_or_default();
    format!(
        "Replay {bound}{events} events{types} from {} to {} to {}?",
        short_time(Some(request.since)),
        request
            .until
            .map_or_else(|| "now".to_owned(), |until| short_time(Some(until))),
        request.endpoint_id
    )
}

/// What a confirmation asks.
pub(crate) fn confirm_deprecate(name: &str) -> String {
    format!("Deprecate event type {name}? It is still delivered, marked as deprecated.")
}

/// What a confirmation asks.
pub(crate) fn confirm_delete_type(name: &str) -> String {
    format!("Delete event type {name} from the catalog? Its schema and example are lost.")
}

/// The outcome of a finished action.
pub(crate) fn done(what: &str) -> String {
    format!("{what}: done")
}

/// The outcome of a failed action.
pub(crate) fn failed(what: &str, error: &str) -> String {
    format!("{what} failed: {error}")
}

/// After a create.
pub(crate) fn created(id: &str) -> String {
    format!("created {id}")
}

/// After a template preview.
pub(crate) fn previewed(pin: &impl std::fmt::Display) -> String {
    format!("rendered {pin} (nothing was sent)")
}

/// After an edit.
pub(crate) fn saved(id: &str) -> String {
    format!("saved {id}")
}

/// After `c`.
pub(crate) fn copied(text: &str) -> String {
    format!("copied {text}")
}

/// A `:` command that does not exist.
pub(crate) fn unknown_command(command: &str) -> String {
    format!("unknown command :{command} (? lists them)")
}

/// The title of the new-secret box.
pub(crate) fn new_secret(id: &str) -> String {
    format!("new secret of {id}")
}

/// A test send's attempt record, in a line.
pub(crate) fn test_result(id: &str, attempt: &AttemptRecord) -> String {
    let status = attempt.response.as_ref().map(|r| r.status);
    match (status, &attempt.error) {
        (Some(status), None) => format!("test to {id}: {status} in {:.0} ms", attempt.latency_ms),
        (status, error) => format!(
            "test to {id} failed: {} {}",
            error.as_ref().map_or("error", |e| e.kind.as_str()),
            status.map(|s| s.to_string()).unwrap_or_default()
        ),
    }
}

/// A time as `MM-DD HH:MM:SSZ` (UTC, as the `Z` says), or `-`.
pub(crate) fn short_time(at: Option<DateTime<Utc>>) -> String {
    at.map_or_else(
        || "-".to_owned(),
        |t| t.format("%m-%d %H:%M:%SZ").to_string(),
    )
}

/// When an open circuit's probe goes: "probe in 4m", or "probing" once due.
pub(crate) fn probe_in(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let secs = (at - now).num_seconds();
    match secs {
        ..=0 => "probing".to_owned(),
        1..60 => format!("probe in {secs}s"),
        _ => format!("probe in {}m", secs / 60),
    }
}
