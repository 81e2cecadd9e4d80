//! What the console asks the operations API for, and what comes back. Pure: the run
//! loop's backend sends each [`Call`]'s requests in order and answers with one
//! [`Msg::Reply`](super::app::Msg) naming the call's [`Purpose`].

use hookwire_protocol::Tenant;
use serde_json::{Value, json};

use super::action::Action;
use super::form::FormKind;

/// How many rows a list view loads (the API's page limit).
pub(crate) const PAGE_LIMIT: u32 = 500;

/// Data a view shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Load {
    Overview,
    Endpoints,
    /// One endpoint: its configuration, statistics and recent deliveries.
    Endpoint(String),
    EndpointStats(String),
    EndpointDeliveries(String),
    Delivery {
        endpoint_id: String,
        event_id: String,
    },
    /// `deliveries.list` with this request body.
    Deliveries(Value),
    DeadLetters,
    Types,
    Type(String),
    Replays,
    Audit,
    Sources,
    Source(String),
    SourceStats(String),
    SourceRequests(String),
}

impl Load {
    /// The admin request: (noun, verb, body).
    pub(crate) fn request(&self) -> (&'static str, &'static str, Value) {
        let limit = PAGE_LIMIT;
        match self {
            Self::Overview => ("overview", "get", json!({})),
            Self::Endpoints => ("endpoints", "list", json!({"limit": limit})),
            Self::Endpoint(id) => ("endpoints", "get", json!({"id": id})),
            Self::EndpointStats(id) => ("endpoints", "stats", json!({"id": id})),
            Self::EndpointDeliveries(id) => (
                "deliveries",
                "list",
                json!({"endpoint_id": id, "limit": 100}),
            ),
            Self::Delivery {
                endpoint_id,
                event_id,
            } => (
                "deliveries",
                "get",
                json!({"endpoint_id": endpoint_id, "event_id": event_id}),
            ),
            Self::Deliveries(query) => ("deliveries", "list", query.clone()),
            Self::DeadLetters => ("dead-letters", "list", json!({"limit": limit})),
            Self::Types => ("types", "list", json!({})),
            Self::Type(name) => ("types", "get", json!({"name": name})),
            Self::Replays => ("replay", "list", json!({"limit": limit})),
            Self::Audit => ("audit", "list", json!({"limit": limit})),
            Self::Sources => ("sources", "list", json!({})),
            Self::Source(name) => ("sources", "get", json!({"name": name})),
            Self::SourceStats(name) => ("sources", "stats", json!({"name": name})),
            Self::SourceRequests(name) => {
                ("sources", "requests", json!({"name": name, "limit": 50}))
            }
        }
    }
}

/// Why a call was made: where its reply goes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Purpose {
    Load(Load),
    /// A change; the replies of its requests, in order.
    Perform(Action),
    /// A form's submission.
    Submit(FormKind),
    /// `replay.preview` before asking to confirm a replay with this `replay.start` body.
    PreviewReplay(Value),
}

/// One or more admin requests sent in order, stopping at the first failure.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Call {
    pub(crate) purpose: Purpose,
    pub(crate) requests: Vec<(&'static str, &'static str, Value)>,
}

impl Call {
    /// Loads `load`.
    pub(crate) fn load(load: Load) -> Self {
        Self {
            requests: vec![load.request()],
            purpose: Purpose::Load(load),
        }
    }
}

/// A failed call, as the console shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    /// What failed, for people.
    pub(crate) message: String,
    /// The request field the API blamed, if it did (forms show the error there).
    pub(crate) field: Option<String>,
}

impl ApiError {
    /// An error not tied to a field.
    pub(crate) fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            field: None,
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Work for the run loop.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Request {
    Call(Call),
    SwitchTenant(Tenant),
    /// Puts text on the operator's clipboard (OSC 52: works over SSH).
    Copy(String),
}
