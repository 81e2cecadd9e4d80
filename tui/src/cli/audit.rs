//! `hookwire audit`: the audit log.

use clap::Args;
use hookwire_protocol::audit::ListAudit;
use hookwire_protocol::operation::AdminRequest;

use super::parse_time;

#[derive(Debug, Args)]
pub(crate) struct AuditArgs {
    /// From this time (RFC 3339 or an age: 90s, 30m, 2h, 7d).
    #[arg(long, value_parser = parse_time)]
    since: Option<chrono::DateTime<chrono::Utc>>,
    /// Only actions starting with this (endpoints, endpoints.update, delivery).
    #[arg(long)]
    action: Option<String>,
    /// Only records about this target (an endpoint id, a type name, ...).
    #[arg(long)]
    target: Option<String>,
    /// Page size (1-500).
    #[arg(long)]
    limit: Option<u32>,
    /// Continue after this sequence (the previous page's "more: --cursor").
    #[arg(long)]
    cursor: Option<u64>,
}

impl AuditArgs {
    pub(crate) fn request(&self) -> AdminRequest {
        AdminRequest::AuditList(ListAudit {
            since: self.since,
            action: self.action.clone(),
            target: self.target.clone(),
            cursor: self.cursor,
            limit: self.limit,
        })
    }
}
