//! `hookwire dead-letters ...`: deliveries that used up their attempts.

use clap::{Args, Subcommand};
use hookwire_protocol::dead_letter::{DeadLetterSelection, ListDeadLetters};
use hookwire_protocol::operation::AdminRequest;

#[derive(Debug, Subcommand)]
pub(crate) enum DeadLetterCommand {
    /// Lists dead letters, oldest first.
    List {
        /// Only this endpoint's.
        #[arg(long)]
        endpoint: Option<String>,
        /// Page size (1-500).
        #[arg(long)]
        limit: Option<u32>,
        /// Continue after this sequence (from the previous page).
        #[arg(long)]
        cursor: Option<u64>,
    },
    /// Sends dead letters back for delivery with a fresh retry schedule.
    Requeue(DeadLetterTarget),
    /// Deletes dead letters.
    Purge(DeadLetterTarget),
}

#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub(crate) struct DeadLetterTarget {
    /// One dead letter, by its sequence.
    #[arg(long)]
    seq: Option<u64>,
    /// Every dead letter of this endpoint.
    #[arg(long)]
    endpoint: Option<String>,
}

impl DeadLetterCommand {
    pub(crate) fn request(&self) -> AdminRequest {
        let selection = |target: &DeadLetterTarget| DeadLetterSelection {
            seq: target.seq,
            endpoint_id: target.endpoint.clone(),
        };
        match self {
            Self::List {
                endpoint,
                limit,
                cursor,
            } => AdminRequest::DeadLettersList(ListDeadLetters {
                endpoint_id: endpoint.clone(),
                limit: *limit,
                cursor: *cursor,
            }),
            Self::Requeue(target) => AdminRequest::DeadLettersRequeue(selection(target)),
            Self::Purge(target) => AdminRequest::DeadLettersPurge(selection(target)),
        }
    }
}
