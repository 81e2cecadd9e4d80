//! `hookwire events ...`: publish events and read them back.

use clap::Subcommand;
use hookwire_protocol::event::{GetEvent, ListEvents};
use hookwire_protocol::operation::AdminRequest;

use super::parse_time;

#[derive(Debug, Subcommand)]
pub(crate) enum EventCommand {
    /// Publishes an event and waits for JetStream to store it.
    Publish {
        /// Event type, e.g. memory.created.
        event_type: String,
        /// The event's JSON (default {}).
        #[arg(default_value = "{}")]
        data: String,
        /// Event id (sent as Nats-Msg-Id; duplicates within the window are dropped).
        #[arg(long)]
        id: Option<String>,
    },
    /// Shows one event with the deliveries it caused.
    #[command(group = clap::ArgGroup::new("which").required(true))]
    Get {
        /// By stream sequence.
        #[arg(long, group = "which")]
        seq: Option<u64>,
        /// By event id (events that caused a delivery).
        #[arg(long, group = "which")]
        id: Option<String>,
    },
    /// Lists events in stream order.
    List {
        /// Only types matching this filter.
        #[arg(long = "type", value_name = "FILTER")]
        event_type: Option<String>,
        /// Published since (RFC 3339 or an age).
        #[arg(long, value_parser = parse_time)]
        since: Option<chrono::DateTime<chrono::Utc>>,
        /// Continue after this sequence (from the previous page).
        #[arg(long)]
        cursor: Option<u64>,
        /// Page size (1-500).
        #[arg(long)]
        limit: Option<u32>,
    },
}

impl EventCommand {
    /// The admin request, for every verb but `publish` (which publishes to JetStream).
    pub(crate) fn request(&self) -> Option<AdminRequest> {
        match self {
            Self::Publish { .. } => None,
            Self::Get { seq, id } => Some(AdminRequest::EventsGet(GetEvent {
                seq: *seq,
                id: id.clone(),
            })),
            Self::List {
                event_type,
                since,
                cursor,
                limit,
            } => Some(AdminRequest::EventsList(ListEvents {
                event_type: event_type.clone(),
                since: *since,
                cursor: *cursor,
                limit: *limit,
            })),
        }
    }
}
