//! What hookwired instances say to each other so that an admin change to the configuration
//! is answered only once every instance has applied it (read-your-writes across instances;
//! docs/architecture.md, "Several instances"). Requests go to
//! [`Subjects::internal_sync`](crate::Subjects::internal_sync), which every instance
//! subscribes to.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The kinds of configuration every instance follows, each the first token of its keys in
/// the configuration bucket (`<kind>.<tenant>.<name>`).
pub const FOLLOWED_KINDS: [&str; 4] = ["endpoints", "types", "templates", "sources"];

/// Answer once the configuration bucket's entries up to these revisions are applied.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncRequest {
    /// Per kind of [`FOLLOWED_KINDS`], the bucket revision of its latest entry; a kind with
    /// no entry is left out.
    pub revisions: BTreeMap<String, u64>,
}

/// One instance's answer to a [`SyncRequest`]: it has applied them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncReply {
    /// The instance, as it names itself in the roster.
    pub instance: String,
}
