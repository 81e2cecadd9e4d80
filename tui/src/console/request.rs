//! What the console asks the operations API for, and what comes back. Pure: the run
//! loop's backend sends each [`Call`]'s requests in order and answers with one
//! [`Msg::Reply`](super::app::Msg) naming the call's [`Purpose`].

use hookwire_protocol::Tenant;
use hookwire_protocol::admin::{NoFields, PageSize};
use hookwire_protocol::audit::ListAudit;
use hookwire_protocol::catalog::TypeName;
use hookwire_protocol::dead_letter::ListDeadLetters;
use hookwire_protocol::delivery::{DeliveryId, ListDeliveries};
use hookwire_protocol::endpoint::{EndpointId, ListEndpoints};
use hookwire_protocol::operation::AdminRequest;
use hookwire_protocol::replay::StartReplay;
use hookwire_protocol::source::{ListSourceRequests, SourceName};
use hookwire_protocol::template::TemplateName;

use super::action::Action;
pub(crate) use super::error::ApiError;
use super::form::FormKind;

/// How many rows a list view loads (the API's page limit).
pub(crate) const PAGE_LIMIT: u32 = 500;

/// Data a view shows.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Load {
    Overview,
    Endpoints,
    /// One endpoint: its configuration, statistics and recent deliveries.
    Endpoint(String),
    EndpointStats(String),
    EndpointDeliveries(String),
    /// An ordered endpoint's blocked keys.
    BlockedKeys(String),
    Delivery {
        endpoint_id: String,
        event_id: String,
    },
    /// `deliveries.list` with this request.
    Deliveries(ListDeliveries),
    DeadLetters,
    Types,
    Type(String),
    Templates,
    Template(String),
    Replays,
    Audit,
    Sources,
    Source(String),
    SourceStats(String),
    SourceRequests(String),
}

impl Load {
    /// The admin request.
    pub(crate) fn request(&self) -> AdminRequest {
        let limit = Some(PAGE_LIMIT);
        let endpoint = |id: &String| EndpointId { id: id.clone() };
        let source = |name: &String| SourceName { name: name.clone() };
        match self {
            Self::Overview => AdminRequest::OverviewGet(NoFields {}),
            Self::Endpoints => AdminRequest::EndpointsList(ListEndpoints {
                cursor: None,
                limit,
            }),
            Self::Endpoint(id) => AdminRequest::EndpointsGet(endpoint(id)),
            Self::EndpointStats(id) => AdminRequest::EndpointsStats(endpoint(id)),
            Self::BlockedKeys(id) => AdminRequest::EndpointsBlockedKeys(endpoint(id)),
            Self::EndpointDeliveries(id) => AdminRequest::DeliveriesList(ListDeliveries {
                endpoint_id: Some(id.clone()),
                limit: Some(100),
                ..ListDeliveries::default()
            }),
            Self::Delivery {
                endpoint_id,
                event_id,
            } => AdminRequest::DeliveriesGet(DeliveryId {
                endpoint_id: endpoint_id.clone(),
                event_id: event_id.clone(),
            }),
            Self::Deliveries(query) => AdminRequest::DeliveriesList(query.clone()),
            Self::DeadLetters => AdminRequest::DeadLettersList(ListDeadLetters {
                limit,
                ..ListDeadLetters::default()
            }),
            Self::Types => AdminRequest::TypesList(NoFields {}),
            Self::Type(name) => AdminRequest::TypesGet(TypeName { name: name.clone() }),
            Self::Templates => AdminRequest::TemplatesList(NoFields {}),
            Self::Template(name) => AdminRequest::TemplatesGet(TemplateName { name: name.clone() }),
            Self::Replays => AdminRequest::ReplayList(PageSize { limit }),
            Self::Audit => AdminRequest::AuditList(ListAudit {
                limit,
                ..ListAudit::default()
            }),
            Self::Sources => AdminRequest::SourcesList(NoFields {}),
            Self::Source(name) => AdminRequest::SourcesGet(source(name)),
            Self::SourceStats(name) => AdminRequest::SourcesStats(source(name)),
            Self::SourceRequests(name) => AdminRequest::SourcesRequests(ListSourceRequests {
                name: name.clone(),
                limit: Some(50),
                ..ListSourceRequests::default()
            }),
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
    /// `replay.preview` before asking to confirm a replay with this `replay.start` request.
    PreviewReplay(StartReplay),
}

/// One or more admin requests sent in order, stopping at the first failure.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Call {
    pub(crate) purpose: Purpose,
    pub(crate) requests: Vec<AdminRequest>,
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

/// Work for the run loop.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Request {
    Call(Call),
    SwitchTenant(Tenant),
    /// Puts text on the operator's clipboard (OSC 52: works over SSH).
    Copy(String),
}
