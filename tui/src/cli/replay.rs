//! `hookwire replay ...`: every event of a time window re-delivered to one endpoint.

use clap::{Args, Subcommand};
use hookwire_protocol::admin::PageSize;
use hookwire_protocol::operation::AdminRequest;
use hookwire_protocol::replay::{ReplayId, StartReplay};

use super::parse_time;
use crate::output::Failure;

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub(crate) struct ReplayArgs {
    #[command(subcommand)]
    command: Option<ReplayCommand>,
    /// The endpoint to deliver to.
    #[arg(long, required = true)]
    endpoint: Option<String>,
    /// The window's start: RFC 3339 (2026-11-22T08:00:00Z) or an age (90m, 2h, 7d).
    #[arg(long, required = true, value_parser = parse_time)]
    since: Option<chrono::DateTime<chrono::Utc>>,
    /// The window's end (default now), in the same forms.
    #[arg(long, value_parser = parse_time)]
    until: Option<chrono::DateTime<chrono::Utc>>,
    /// Only this event-type filter, repeatable.
    #[arg(long = "type", value_name = "FILTER")]
    types: Vec<String>,
    /// Your own job id: running the same command again returns that job instead of
    /// replaying twice.
    #[arg(long)]
    job_id: Option<String>,
    /// Only count the events the replay would deliver (`replay.preview`); start nothing.
    #[arg(long)]
    dry_run: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ReplayCommand {
    /// Shows a job's progress.
    Get {
        /// Job id.
        job_id: String,
    },
    /// Lists the tenant's jobs, newest first.
    List {
        /// At most this many (1-500).
        #[arg(long)]
        limit: Option<u32>,
    },
}

impl ReplayArgs {
    pub(crate) fn request(&self) -> Result<AdminRequest, Failure> {
        Ok(match &self.command {
            Some(ReplayCommand::Get { job_id }) => AdminRequest::ReplayGet(ReplayId {
                job_id: job_id.clone(),
            }),
            Some(ReplayCommand::List { limit }) => {
                AdminRequest::ReplayList(PageSize { limit: *limit })
            }
            None => {
                // clap requires both when no subcommand is given.
                let (Some(endpoint_id), Some(since)) = (self.endpoint.clone(), self.since) else {
                    return Err(Failure::Usage(
                        "replay needs --endpoint and --since".to_owned(),
                    ));
                };
                let request = StartReplay {
                    endpoint_id,
                    since,
                    until: self.until,
                    event_types: (!self.types.is_empty()).then(|| self.types.clone()),
                    job_id: self.job_id.clone(),
                };
                if self.dry_run {
                    AdminRequest::ReplayPreview(request)
                } else {
                    AdminRequest::ReplayStart(request)
                }
            }
        })
    }
}
