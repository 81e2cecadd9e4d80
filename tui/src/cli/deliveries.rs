//! `hookwire deliveries ...`: one event for one endpoint, and redelivery.

use clap::{Subcommand, ValueEnum};
use hookwire_protocol::attempt::Outcome;
use hookwire_protocol::delivery::{DeliveryId, ListDeliveries, RedeliverFailed};
use hookwire_protocol::operation::AdminRequest;

use super::parse_time;

#[derive(Debug, Subcommand)]
pub(crate) enum DeliveryCommand {
    /// Shows one delivery (one event for one endpoint) with every attempt.
    Get {
        /// Endpoint id.
        #[arg(long)]
        endpoint: String,
        /// Event id (the webhook-id).
        #[arg(long)]
        event: String,
    },
    /// Sends one delivery again now, with a fresh retry schedule.
    Redeliver {
        /// Endpoint id.
        #[arg(long)]
        endpoint: String,
        /// Event id (the webhook-id).
        #[arg(long)]
        event: String,
    },
    /// Sends every dead delivery of an endpoint since a time again now.
    RedeliverFailed {
        /// Endpoint id.
        #[arg(long)]
        endpoint: String,
        /// Deliveries that died since (RFC 3339 or an age: 90m, 2h, 7d).
        #[arg(long, value_parser = parse_time)]
        since: chrono::DateTime<chrono::Utc>,
    },
    /// Lists deliveries, newest first.
    List {
        /// Only this endpoint's.
        #[arg(long)]
        endpoint: Option<String>,
        /// Only types matching this filter.
        #[arg(long = "type", value_name = "FILTER")]
        event_type: Option<String>,
        /// Only this state.
        #[arg(long)]
        state: Option<StateArg>,
        /// Last attempted since (RFC 3339 or an age).
        #[arg(long, value_parser = parse_time)]
        since: Option<chrono::DateTime<chrono::Utc>>,
        /// Last attempted before (RFC 3339 or an age).
        #[arg(long, value_parser = parse_time)]
        until: Option<chrono::DateTime<chrono::Utc>>,
        /// Only event ids containing this text.
        #[arg(long)]
        event: Option<String>,
        /// Page size (1-500).
        #[arg(long)]
        limit: Option<u32>,
        /// Continue from the previous page.
        #[arg(long)]
        cursor: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum StateArg {
    Succeeded,
    Retrying,
    Dead,
}

impl DeliveryCommand {
    pub(crate) fn request(&self) -> AdminRequest {
        let delivery = |endpoint: &String, event: &String| DeliveryId {
            endpoint_id: endpoint.clone(),
            event_id: event.clone(),
        };
        match self {
            Self::Get { endpoint, event } => AdminRequest::DeliveriesGet(delivery(endpoint, event)),
            Self::Redeliver { endpoint, event } => {
                AdminRequest::DeliveriesRedeliver(delivery(endpoint, event))
            }
            Self::RedeliverFailed { endpoint, since } => {
                AdminRequest::DeliveriesRedeliverFailed(RedeliverFailed {
                    endpoint_id: endpoint.clone(),
                    since: *since,
                })
            }
            Self::List {
                endpoint,
                event_type,
                state,
                since,
                until,
                event,
                limit,
                cursor,
            } => AdminRequest::DeliveriesList(ListDeliveries {
                endpoint_id: endpoint.clone(),
                event_type: event_type.clone(),
                state: state.map(|s| match s {
                    StateArg::Succeeded => Outcome::Succeeded,
                    StateArg::Retrying => Outcome::Retrying,
                    StateArg::Dead => Outcome::Dead,
                }),
                since: *since,
                until: *until,
                event_id: event.clone(),
                cursor: cursor.clone(),
                limit: *limit,
            }),
        }
    }
}
