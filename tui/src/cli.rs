//! The command line: global NATS and tenant flags, then `<noun> <verb>`.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand, ValueEnum};
use futures_util::StreamExt as _;
use hookwire_nats::ConnectArgs;
use hookwire_nats::admin::{AdminClient, local_requester};
use hookwire_nats::connect::InitialConnect;
use hookwire_protocol::auth::{Auth, ClientCertificate};
use hookwire_protocol::endpoint::{
    CreateEndpoint, RequestedStatus, UpdateEndpoint, VerificationMode,
};
use hookwire_protocol::schemes::{DEFAULT_STRIPE_HEADER, SignatureScheme};
use hookwire_protocol::{EventType, Subjects, Tenant};
use serde_json::{Value, json};

use crate::output::{
    Failure, print_audit, print_dead_letters, print_deliveries, print_delivery, print_endpoints,
    print_events, print_json, print_overview, print_replay_jobs, print_replay_preview, print_stats,
    print_types,
};

/// Hookwire operator tool: webhooks for NATS.
#[derive(Debug, Parser)]
#[command(name = "hookwire", version, about)]
pub(crate) struct Cli {
    #[command(flatten)]
    nats: ConnectArgs,
    /// Tenant to act on.
    #[arg(
        long,
        global = true,
        env = "HOOKWIRE_TENANT",
        default_value = "default"
    )]
    tenant: String,
    /// Subject prefix of the Hookwire deployment.
    #[arg(
        long,
        global = true,
        env = "HOOKWIRE_PREFIX",
        default_value = "hookwire"
    )]
    prefix: String,
    /// Print JSON (errors too, as {"error": {...}}) instead of text.
    #[arg(long, global = true)]
    pub(crate) json: bool,
    /// What to do; without one, the console opens.
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Opens the operator console (also what `hookwire` alone does).
    Console {
        /// Hide and refuse every change.
        #[arg(long)]
        readonly: bool,
    },
    /// Lists every running hookwired instance (NATS micro `$SRV.PING.hookwire`).
    Ping,
    /// Manage endpoints (subscriber URLs).
    #[command(subcommand)]
    Endpoints(Box<EndpointCommand>),
    /// Publish events.
    #[command(subcommand)]
    Events(EventCommand),
    /// Inspect deliveries.
    #[command(subcommand)]
    Deliveries(DeliveryCommand),
    /// Deliveries that used up their attempts.
    #[command(subcommand, name = "dead-letters")]
    DeadLetters(DeadLetterCommand),
    /// Re-delivers every event of a time window to one endpoint, as a job
    /// (`hookwire replay --endpoint E --since 2h`); `get` and `list` show jobs.
    Replay(ReplayArgs),
    /// The tenant at a glance: endpoints by state, the last hour and day, what waits.
    Overview,
    /// The deployment's state.
    #[command(subcommand)]
    System(SystemCommand),
    /// The event-types catalog.
    #[command(subcommand)]
    Types(TypeCommand),
    /// The audit log: admin changes and security events (default: the last 24 hours).
    Audit(AuditArgs),
    /// Incoming-webhook sources: URLs third parties post to (see docs/incoming.md).
    #[command(subcommand)]
    Sources(Box<crate::sources::SourceCommand>),
    /// Prints a shell completion script (see docs/cli.md).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
struct ReplayArgs {
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
enum ReplayCommand {
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

#[derive(Debug, Subcommand)]
enum DeadLetterCommand {
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
struct DeadLetterTarget {
    /// One dead letter, by its sequence.
    #[arg(long)]
    seq: Option<u64>,
    /// Every dead letter of this endpoint.
    #[arg(long)]
    endpoint: Option<String>,
}

#[derive(Debug, Subcommand)]
enum DeliveryCommand {
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
enum StateArg {
    Succeeded,
    Retrying,
    Dead,
}

#[derive(Debug, Subcommand)]
enum TypeCommand {
    /// Adds a type to the catalog.
    Create {
        /// The type, e.g. orders.paid.
        name: String,
        #[command(flatten)]
        fields: TypeFields,
    },
    /// Shows one type with its schema and example.
    Get {
        /// The type.
        name: String,
    },
    /// Lists the catalog.
    List,
    /// Changes a type; only the given fields change (a new schema bumps the version).
    Update {
        /// The type.
        name: String,
        #[command(flatten)]
        fields: TypeFields,
    },
    /// Marks a type deprecated (still delivered).
    Deprecate {
        /// The type.
        name: String,
    },
    /// Removes a type from the catalog.
    Delete {
        /// The type.
        name: String,
    },
}

#[derive(Debug, Args)]
struct TypeFields {
    /// What the type means.
    #[arg(long)]
    description: Option<String>,
    /// JSON Schema of the data: JSON text, or @FILE.
    #[arg(long, value_parser = parse_json_arg)]
    schema: Option<Value>,
    /// Example data: JSON text, or @FILE.
    #[arg(long, value_parser = parse_json_arg)]
    example: Option<Value>,
    /// Check published events against the schema (true or false).
    #[arg(long)]
    validate: Option<bool>,
}

impl TypeCommand {
    fn request(&self) -> Call {
        let named = |verb, name: &String| {
            (
                "types",
                verb,
                json!({"name": name}),
                print_json as fn(&Value),
            )
        };
        match self {
            Self::Create { name, fields } | Self::Update { name, fields } => {
                let mut body = json!({"name": name});
                for (key, value) in [
                    ("description", fields.description.clone().map(Value::String)),
                    ("schema", fields.schema.clone()),
                    ("example", fields.example.clone()),
                    ("validate", fields.validate.map(Value::Bool)),
                ] {
                    if let Some(value) = value {
                        body[key] = value;
                    }
                }
                let verb = if matches!(self, Self::Create { .. }) {
                    "create"
                } else {
                    "update"
                };
                ("types", verb, body, print_json)
            }
            Self::Get { name } => named("get", name),
            Self::List => ("types", "list", json!({}), print_types),
            Self::Deprecate { name } => named("deprecate", name),
            Self::Delete { name } => named("delete", name),
        }
    }
}

#[derive(Debug, Args)]
struct AuditArgs {
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
    fn request(&self) -> Call {
        let request = json!({
            "since": self.since,
            "action": self.action,
            "target": self.target,
            "limit": self.limit,
            "cursor": self.cursor,
        });
        ("audit", "list", request, print_audit)
    }
}

#[derive(Debug, Subcommand)]
enum SystemCommand {
    /// Version, configuration, streams and consumers.
    Info,
    /// Whether the answering instance can do its work.
    Health,
}

#[derive(Debug, Subcommand)]
enum EndpointCommand {
    /// Creates an endpoint; prints its signing secret once.
    Create {
        /// Your own id for the endpoint (generated when absent).
        #[arg(long)]
        id: Option<String>,
        /// Signing secret (whsec_...); generated when absent.
        #[arg(long)]
        secret: Option<String>,
        #[command(flatten)]
        fields: EndpointFields,
    },
    /// Shows one endpoint.
    Get {
        /// Endpoint id.
        id: String,
    },
    /// Lists endpoints.
    List {
        /// Page size (1-500).
        #[arg(long)]
        limit: Option<u32>,
        /// Continue after this id (from the previous page).
        #[arg(long)]
        cursor: Option<String>,
    },
    /// Changes an endpoint; only the given fields change.
    Update {
        /// Endpoint id.
        id: String,
        #[command(flatten)]
        fields: EndpointFields,
    },
    /// Deletes an endpoint.
    Delete {
        /// Endpoint id.
        id: String,
    },
    /// Holds deliveries (they wait, nothing is lost) until `resume`.
    Pause {
        /// Endpoint id.
        id: String,
    },
    /// Delivers again, including what waited while paused.
    Resume {
        /// Endpoint id.
        id: String,
    },
    /// Re-enables an endpoint Hookwire disabled (e.g. after 410 Gone).
    Enable {
        /// Endpoint id.
        id: String,
    },
    /// Success rate, latency and failure reasons over 1 h, 24 h and 7 d.
    Stats {
        /// Endpoint id.
        id: String,
    },
    /// Sends a test event to this endpoint only (no event is published).
    Test {
        /// Endpoint id.
        id: String,
        /// Event type.
        #[arg(long = "type")]
        event_type: String,
        /// The event's JSON.
        #[arg(long)]
        payload: Option<String>,
    },
    /// Sends the verification challenge now and shows the result.
    Verify {
        /// Endpoint id.
        id: String,
    },
    /// Starts signing with a new secret; the old one keeps signing for the grace period.
    RotateSecret {
        /// Endpoint id.
        id: String,
        /// The new secret (whsec_...); generated when absent.
        #[arg(long)]
        secret: Option<String>,
        /// Seconds the previous secret keeps signing (0-604800, default 86400).
        #[arg(long)]
        grace_secs: Option<u32>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum StatusArg {
    Active,
    Paused,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum VerificationArg {
    /// The receiver echoes {"challenge": ...}.
    Echo,
    /// Any 2xx answer passes.
    Status,
}

#[derive(Debug, Args)]
struct EndpointFields {
    /// Where to send webhooks (http or https).
    #[arg(long)]
    url: Option<String>,
    /// Free text.
    #[arg(long)]
    description: Option<String>,
    /// Event-type filter, repeatable (memory.*, orders.>); all types when none.
    #[arg(long = "type", value_name = "FILTER")]
    types: Vec<String>,
    /// Extra header NAME=VALUE, repeatable.
    #[arg(long = "header", value_name = "NAME=VALUE", value_parser = parse_header)]
    headers: Vec<(String, String)>,
    /// Attempt timeout in milliseconds (100-60000).
    #[arg(long)]
    timeout_ms: Option<u32>,
    /// Retry delays in seconds, comma-separated (e.g. 5,30,120).
    #[arg(long, value_delimiter = ',')]
    retry: Option<Vec<u32>>,
    /// active or paused.
    #[arg(long)]
    status: Option<StatusArg>,
    /// How the receiver proves itself before the first delivery.
    #[arg(long)]
    verification: Option<VerificationArg>,
    /// The only networks deliveries may reach, comma-separated CIDRs (narrows the
    /// deployment's rules; given with no value, removes the narrowing).
    #[arg(long, value_delimiter = ',', num_args = 0.., value_name = "CIDR")]
    allow_networks: Option<Vec<String>>,
    /// Networks deliveries never reach, comma-separated CIDRs.
    #[arg(long, value_delimiter = ',', num_args = 0.., value_name = "CIDR")]
    deny_networks: Option<Vec<String>>,
    /// How webhooks are signed: standard (Standard Webhooks), stripe or github.
    #[arg(long)]
    signature: Option<SignatureArg>,
    /// The Stripe-style signature header (default Stripe-Signature).
    #[arg(long, value_name = "NAME", requires = "signature")]
    signature_header: Option<String>,
    /// Most deliveries per second (1-10000; 0 on update removes the limit).
    #[arg(long, value_name = "N")]
    rate_limit_per_sec: Option<u32>,
    /// Most attempts in flight at once per instance (1-1000; 0 on update: adaptive).
    #[arg(long, value_name = "N")]
    max_in_flight: Option<u32>,
    /// How much of each response body attempt records keep, 0-16384 bytes (0: none).
    #[arg(long, value_name = "BYTES")]
    response_body_bytes: Option<u32>,
    /// Outgoing authentication as JSON or @FILE (keeps credentials out of the process
    /// list), e.g. {"type":"bearer","token":"..."}; `none` on update removes it.
    #[arg(long, value_name = "JSON|@FILE|none")]
    auth: Option<String>,
    /// A PEM client certificate (chain) for mutual TLS; needs --client-key.
    #[arg(long, value_name = "FILE", requires = "client_key")]
    client_cert: Option<std::path::PathBuf>,
    /// The PEM private key of --client-cert.
    #[arg(long, value_name = "FILE", requires = "client_cert")]
    client_key: Option<std::path::PathBuf>,
    /// On update: stop presenting a client certificate.
    #[arg(long, conflicts_with = "client_cert")]
    no_client_cert: bool,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum SignatureArg {
    Standard,
    Stripe,
    Github,
}

#[derive(Debug, Subcommand)]
enum EventCommand {
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

/// An admin request: noun, verb, body, and how to print the reply as text.
pub(crate) type Call = (&'static str, &'static str, Value, fn(&Value));

impl EndpointCommand {
    fn request(&self) -> anyhow::Result<Call> {
        let id_only =
            |verb, id: &String, text: fn(&Value)| ("endpoints", verb, json!({"id": id}), text);
        Ok(match self {
            Self::Create { id, secret, fields } => (
                "endpoints",
                "create",
                serde_json::to_value(fields.create(id.clone(), secret.clone())?)?,
                |reply| {
                    print_endpoints(reply);
                    println!(
                        "secret (shown only now): {}",
                        reply["secret"].as_str().unwrap_or("?")
                    );
                },
            ),
            Self::Get { id } => id_only("get", id, print_endpoints),
            Self::List { limit, cursor } => (
                "endpoints",
                "list",
                json!({"limit": limit, "cursor": cursor}),
                print_endpoints,
            ),
            Self::Update { id, fields } => (
                "endpoints",
                "update",
                serde_json::to_value(fields.update(id.clone())?)?,
                print_endpoints,
            ),
            Self::Delete { id } => id_only("delete", id, |reply| {
                println!("deleted {}", reply["deleted"].as_str().unwrap_or("?"));
            }),
            Self::Pause { id } => id_only("pause", id, print_endpoints),
            Self::Resume { id } => id_only("resume", id, print_endpoints),
            Self::Enable { id } => id_only("enable", id, print_endpoints),
            Self::Verify { id } => id_only("verify", id, |reply| {
                let id = reply["endpoint"]["id"].as_str().unwrap_or("?");
                match reply["error"].as_str() {
                    None => println!("{id} verified"),
                    Some(error) => println!("{id} not verified: {error}"),
                }
            }),
            Self::Stats { id } => id_only("stats", id, print_stats),
            Self::Test {
                id,
                event_type,
                payload,
            } => {
                let payload: Option<Value> = payload
                    .as_deref()
                    .map(serde_json::from_str)
                    .transpose()
                    .context("--payload is not JSON")?;
                (
                    "endpoints",
                    "test",
                    json!({"id": id, "event_type": event_type, "payload": payload}),
                    print_json,
                )
            }
            Self::RotateSecret {
                id,
                secret,
                grace_secs,
            } => (
                "endpoints",
                "rotate-secret",
                json!({"id": id, "secret": secret, "grace_secs": grace_secs}),
                |reply| {
                    println!(
                        "new secret (shown only now): {}",
                        reply["secret"].as_str().unwrap_or("?")
                    );
                    match reply["previous_expires_at"].as_str() {
                        Some(at) => println!("the previous secret keeps signing until {at}"),
                        None => println!("the previous secret no longer signs"),
                    }
                },
            ),
        })
    }
}

impl DeliveryCommand {
    fn request(&self) -> Call {
        match self {
            Self::Get { endpoint, event } => (
                "deliveries",
                "get",
                json!({"endpoint_id": endpoint, "event_id": event}),
                print_delivery,
            ),
            Self::Redeliver { endpoint, event } => (
                "deliveries",
                "redeliver",
                json!({"endpoint_id": endpoint, "event_id": event}),
                |v| println!("queued as attempt {}", v["attempt"]),
            ),
            Self::RedeliverFailed { endpoint, since } => (
                "deliveries",
                "redeliver-failed",
                json!({"endpoint_id": endpoint, "since": since}),
                |v| println!("redelivered {}", v["redelivered"]),
            ),
            Self::List {
                endpoint,
                event_type,
                state,
                since,
                until,
                event,
                limit,
                cursor,
            } => (
                "deliveries",
                "list",
                json!({
                    "endpoint_id": endpoint,
                    "event_type": event_type,
                    "state": state.map(|s| match s {
                        StateArg::Succeeded => "succeeded",
                        StateArg::Retrying => "retrying",
                        StateArg::Dead => "dead",
                    }),
                    "since": since,
                    "until": until,
                    "event_id": event,
                    "limit": limit,
                    "cursor": cursor,
                }),
                print_deliveries,
            ),
        }
    }
}

impl DeadLetterCommand {
    fn request(&self) -> Call {
        let (verb, body) = match self {
            Self::List {
                endpoint,
                limit,
                cursor,
            } => (
                "list",
                json!({"endpoint_id": endpoint, "limit": limit, "cursor": cursor}),
            ),
            Self::Requeue(target) => (
                "requeue",
                json!({"seq": target.seq, "endpoint_id": target.endpoint}),
            ),
            Self::Purge(target) => (
                "purge",
                json!({"seq": target.seq, "endpoint_id": target.endpoint}),
            ),
        };
        ("dead-letters", verb, body, print_dead_letters)
    }
}

impl ReplayArgs {
    fn request(&self) -> Call {
        match &self.command {
            Some(ReplayCommand::Get { job_id }) => (
                "replay",
                "get",
                json!({"job_id": job_id}),
                print_replay_jobs,
            ),
            Some(ReplayCommand::List { limit }) => {
                ("replay", "list", json!({"limit": limit}), print_replay_jobs)
            }
            None => {
                let (verb, print): (_, fn(&Value)) = if self.dry_run {
                    ("preview", print_replay_preview)
                } else {
                    ("start", print_replay_jobs)
                };
                let request = json!({
                    "endpoint_id": self.endpoint,
                    "since": self.since,
                    "until": self.until,
                    "event_types": (!self.types.is_empty()).then_some(&self.types),
                    "job_id": self.job_id,
                });
                ("replay", verb, request, print)
            }
        }
    }
}

impl SystemCommand {
    fn request(&self) -> Call {
        let verb = match self {
            Self::Info => "info",
            Self::Health => "health",
        };
        ("system", verb, json!({}), print_json)
    }
}

/// For requests that check something (`endpoints verify`, `system health`): whether the
/// reply says it passed.
fn passed(noun: &str, verb: &str, reply: &Value) -> Result<(), Failure> {
    let failed = match (noun, verb) {
        ("endpoints", "verify") => reply["verified"] != true,
        ("system", "health") => reply["status"] != "ok",
        _ => false,
    };
    if failed {
        Err(Failure::CheckFailed)
    } else {
        Ok(())
    }
}

/// JSON text, or `@FILE` to read it from a file.
fn parse_json_arg(text: &str) -> Result<Value, String> {
    let json = match text.strip_prefix('@') {
        Some(path) => {
            std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?
        }
        None => text.to_owned(),
    };
    serde_json::from_str(&json).map_err(|e| format!("not JSON: {e}"))
}

/// An RFC 3339 time, or an age before now: `<n>s`, `<n>m`, `<n>h` or `<n>d`.
/// A time flag: RFC 3339 or an age before now.
pub(crate) fn parse_time(text: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    crate::when::parse(text, chrono::Utc::now())
}

fn parse_header(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(k, v)| (k.trim().to_owned(), v.to_owned()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| format!("{text:?} is not NAME=VALUE"))
}

impl EndpointFields {
    fn headers(&self) -> Option<BTreeMap<String, String>> {
        (!self.headers.is_empty()).then(|| self.headers.iter().cloned().collect())
    }

    fn status(&self) -> Option<RequestedStatus> {
        self.status.map(|s| match s {
            StatusArg::Active => RequestedStatus::Active,
            StatusArg::Paused => RequestedStatus::Paused,
        })
    }

    fn verification(&self) -> Option<VerificationMode> {
        self.verification.map(|v| match v {
            VerificationArg::Echo => VerificationMode::Echo,
            VerificationArg::Status => VerificationMode::Status,
        })
    }

    fn create(&self, id: Option<String>, secret: Option<String>) -> anyhow::Result<CreateEndpoint> {
        Ok(CreateEndpoint {
            id,
            url: self
                .url
                .clone()
                .context("--url is required to create an endpoint")?,
            description: self.description.clone(),
            event_types: (!self.types.is_empty()).then(|| self.types.clone()),
            headers: self.headers(),
            timeout_ms: self.timeout_ms,
            retry_schedule_secs: self.retry.clone(),
            status: self.status(),
            verification: self.verification(),
            secret,
            allow_networks: self.allow_networks.clone(),
            deny_networks: self.deny_networks.clone(),
            signature: self.signature(),
            rate_limit_per_sec: self.rate_limit_per_sec,
            max_in_flight: self.max_in_flight,
            response_body_bytes: self.response_body_bytes,
            auth: self.auth()?.flatten(),
            client_certificate: self.client_certificate()?.flatten(),
        })
    }

    /// `--auth`: absent keeps, `none` removes, JSON sets.
    #[expect(clippy::option_option, reason = "absent, none and a value differ")]
    fn auth(&self) -> anyhow::Result<Option<Option<Auth>>> {
        match self.auth.as_deref() {
            None => Ok(None),
            Some("none") => Ok(Some(None)),
            Some(text) => {
                let value = parse_json_arg(text).map_err(|e| anyhow::anyhow!("--auth: {e}"))?;
                let auth = serde_json::from_value(value)
                    .context("--auth: expected {\"type\":\"bearer\"|\"basic\"|\"oauth2\", ...}")?;
                Ok(Some(Some(auth)))
            }
        }
    }

    /// `--client-cert`/`--client-key` set, `--no-client-cert` removes.
    #[expect(clippy::option_option, reason = "absent, removed and a value differ")]
    fn client_certificate(&self) -> anyhow::Result<Option<Option<ClientCertificate>>> {
        if self.no_client_cert {
            return Ok(Some(None));
        }
        let (Some(cert), Some(key)) = (&self.client_cert, &self.client_key) else {
            return Ok(None);
        };
        let read = |path: &std::path::Path| {
            std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
        };
        Ok(Some(Some(ClientCertificate {
            certificate: read(cert)?,
            private_key: read(key)?,
        })))
    }

    fn update(&self, id: String) -> anyhow::Result<UpdateEndpoint> {
        Ok(UpdateEndpoint {
            id,
            url: self.url.clone(),
            description: self.description.clone(),
            event_types: (!self.types.is_empty()).then(|| self.types.clone()),
            headers: self.headers(),
            timeout_ms: self.timeout_ms,
            retry_schedule_secs: self.retry.clone(),
            status: self.status(),
            verification: self.verification(),
            allow_networks: self.allow_networks.clone(),
            deny_networks: self.deny_networks.clone(),
            signature: self.signature(),
            rate_limit_per_sec: self.rate_limit_per_sec,
            max_in_flight: self.max_in_flight,
            response_body_bytes: self.response_body_bytes,
            auth: self.auth()?,
            client_certificate: self.client_certificate()?,
        })
    }

    fn signature(&self) -> Option<SignatureScheme> {
        self.signature.map(|scheme| match scheme {
            SignatureArg::Standard => SignatureScheme::Standard,
            SignatureArg::Stripe => SignatureScheme::Stripe {
                header: self
                    .signature_header
                    .clone()
                    .unwrap_or_else(|| DEFAULT_STRIPE_HEADER.to_owned()),
            },
            SignatureArg::Github => SignatureScheme::Github,
        })
    }
}

impl Cli {
    /// Runs the command.
    pub(crate) async fn run(&self) -> Result<(), Failure> {
        let console = Command::Console { readonly: false };
        let command = self.command.as_ref().unwrap_or(&console);
        if let Command::Completions { shell } = *command {
            let mut command = <Self as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut command, "hookwire", &mut std::io::stdout());
            return Ok(());
        }
        let settings = self
            .nats
            .resolve_from_env()
            .context("NATS connection options")?;
        let subjects = Subjects::new(&self.prefix).context("--prefix")?;
        let tenant = Tenant::new(&self.tenant).context("--tenant")?;
        if let Command::Console { readonly } = *command {
            // The console connects in the background and shows the connection state.
            let client = settings
                .connect("hookwire console", InitialConnect::Retry)
                .await
                .map_err(|e| Failure::Unreachable(anyhow::Error::new(e)))?;
            let options = crate::console::Options {
                client,
                subjects,
                tenant,
                timeout: settings.timeout,
                readonly,
            };
            return crate::console::run(options).await.map_err(Failure::Other);
        }
        let client = settings
            .connect("hookwire", InitialConnect::FailFast)
            .await
            .map_err(|e| Failure::Unreachable(anyhow::Error::new(e).context("cannot connect")))?;
        let admin = AdminClient::new(
            client.clone(),
            subjects.clone(),
            tenant.clone(),
            settings.timeout,
        )
        .with_requester(local_requester());
        match command {
            Command::Console { .. } | Command::Completions { .. } => Ok(()),
            Command::Ping => self.ping(&client, settings.timeout).await,
            Command::Endpoints(command) => self.call(&admin, command.request()?).await,
            Command::Deliveries(command) => self.call(&admin, command.request()).await,
            Command::DeadLetters(command) => self.call(&admin, command.request()).await,
            Command::System(command) => self.call(&admin, command.request()).await,
            Command::Audit(args) => self.call(&admin, args.request()).await,
            Command::Sources(command) => self.call(&admin, command.request()).await,
            Command::Overview => {
                let request = ("overview", "get", json!({}), print_overview as fn(&Value));
                self.call(&admin, request).await
            }
            Command::Replay(args) => self.call(&admin, args.request()).await,
            Command::Types(command) => self.call(&admin, command.request()).await,
            Command::Events(EventCommand::Publish {
                event_type,
                data,
                id,
            }) => {
                let subject =
                    subjects.event(&tenant, &EventType::new(event_type).context("event type")?);
                self.publish(client, subject, data, id.as_deref()).await
            }
            Command::Events(EventCommand::Get { seq, id }) => {
                let request = (
                    "events",
                    "get",
                    json!({"seq": seq, "id": id}),
                    print_json as fn(&Value),
                );
                self.call(&admin, request).await
            }
            Command::Events(EventCommand::List {
                event_type,
                since,
                cursor,
                limit,
            }) => {
                let body = json!({"event_type": event_type, "since": since, "cursor": cursor, "limit": limit});
                self.call(&admin, ("events", "list", body, print_events))
                    .await
            }
        }
    }

    /// Sends one admin request and prints the reply.
    async fn call(
        &self,
        admin: &AdminClient,
        (noun, verb, request, text): Call,
    ) -> Result<(), Failure> {
        let reply: Value = admin.call(noun, verb, &request).await?;
        self.print(&reply, text);
        passed(noun, verb, &reply)
    }

    async fn publish(
        &self,
        client: async_nats::Client,
        subject: String,
        data: &str,
        id: Option<&str>,
    ) -> Result<(), Failure> {
        let data: Value = serde_json::from_str(data).context("the event data is not JSON")?;
        let js = async_nats::jetstream::new(client);
        let mut headers = async_nats::HeaderMap::new();
        if let Some(id) = id {
            headers.insert(hookwire_protocol::headers::NATS_MSG_ID, id);
        }
        let ack = js
            .publish_with_headers(
                subject,
                headers,
                serde_json::to_vec(&data).context("encode")?.into(),
            )
            .await
            .context("cannot publish")?
            .await
            .context("JetStream did not store the event; is hookwired provisioned?")?;
        let reply =
            json!({"stream": ack.stream, "sequence": ack.sequence, "duplicate": ack.duplicate});
        self.print(&reply, |v| {
            let duplicate = if v["duplicate"] == true {
                " (duplicate, dropped)"
            } else {
                ""
            };
            println!("published as sequence {}{duplicate}", v["sequence"]);
        });
        Ok(())
    }

    /// Collects PING replies for up to two seconds; every instance answers once.
    async fn ping(&self, client: &async_nats::Client, timeout: Duration) -> Result<(), Failure> {
        let inbox = client.new_inbox();
        let mut replies = client.subscribe(inbox.clone()).await.context("subscribe")?;
        client
            .publish_with_reply("$SRV.PING.hookwire", inbox, "".into())
            .await
            .context("publish")?;
        client.flush().await.context("flush")?;
        let mut instances = Vec::new();
        let deadline = tokio::time::Instant::now() + timeout.min(Duration::from_secs(2));
        while let Ok(Some(reply)) = tokio::time::timeout_at(deadline, replies.next()).await {
            instances.push(
                serde_json::from_slice::<Value>(&reply.payload)
                    .context("a PING reply was not JSON")?,
            );
        }
        if instances.is_empty() && !self.json {
            return Err(anyhow::anyhow!(
                "no hookwired instance answered; is it running and connected to the same NATS?"
            )
            .into());
        }
        self.print(&Value::Array(instances), |instances| {
            for instance in instances.as_array().into_iter().flatten() {
                println!(
                    "{}  {}  version {}",
                    instance["name"].as_str().unwrap_or("?"),
                    instance["id"].as_str().unwrap_or("?"),
                    instance["version"].as_str().unwrap_or("?")
                );
            }
        });
        Ok(())
    }

    fn print(&self, value: &Value, text: impl FnOnce(&Value)) {
        if self.json {
            println!("{value}");
        } else {
            text(value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    #[test]
    fn command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn headers_parse_as_name_equals_value() {
        assert_eq!(parse_header("X-A=b=c"), Ok(("X-A".into(), "b=c".into())));
        assert!(parse_header("novalue").is_err());
        assert!(parse_header("=v").is_err());
    }
}
