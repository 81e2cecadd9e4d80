//! The command line: global NATS and tenant flags, then `<noun> <verb>`, one module per
//! noun. Every command builds its operation's typed request ([`AdminRequest`]); the reply
//! is decoded into its typed form and printed as text or, with `--json`, as sent.

mod audit;
mod dead_letters;
mod deliveries;
mod endpoints;
mod events;
mod listen;
mod replay;
mod sources;
mod templates;
mod types;

use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use futures_util::StreamExt as _;
use hookwire_nats::ConnectArgs;
use hookwire_nats::admin::{AdminClient, AdminClientError, local_requester};
use hookwire_nats::connect::InitialConnect;
use hookwire_protocol::admin::NoFields;
use hookwire_protocol::operation::{AdminReply, AdminRequest};
use hookwire_protocol::{EventType, Subjects, Tenant};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::output::{Failure, passed, print_json_line, print_reply};

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
    Endpoints(Box<endpoints::EndpointCommand>),
    /// Publish events.
    #[command(subcommand)]
    Events(events::EventCommand),
    /// Inspect deliveries.
    #[command(subcommand)]
    Deliveries(deliveries::DeliveryCommand),
    /// Deliveries that used up their attempts.
    #[command(subcommand, name = "dead-letters")]
    DeadLetters(dead_letters::DeadLetterCommand),
    /// Receives an endpoint's webhooks here and forwards them to a local URL, signed as
    /// the endpoint signs them; nothing listens on a public port (see docs/cli.md).
    Listen(listen::ListenArgs),
    /// Re-delivers every event of a time window to one endpoint, as a job
    /// (`hookwire replay --endpoint E --since 2h`); `get` and `list` show jobs.
    Replay(replay::ReplayArgs),
    /// The tenant at a glance: endpoints by state, the last hour and day, what waits.
    Overview,
    /// The tenant's public keys for `v1a` (ed25519) signatures, as receivers fetch them.
    Keys,
    /// The deployment's state.
    #[command(subcommand)]
    System(SystemCommand),
    /// The event-types catalog.
    #[command(subcommand)]
    Types(types::TypeCommand),
    /// Payload templates: what endpoints are sent (see docs/templates.md).
    #[command(subcommand)]
    Templates(templates::TemplateCommand),
    /// The audit log: admin changes and security events (default: the last 24 hours).
    Audit(audit::AuditArgs),
    /// Incoming-webhook sources: URLs third parties post to (see docs/incoming.md).
    #[command(subcommand)]
    Sources(Box<sources::SourceCommand>),
    /// Prints a shell completion script (see docs/cli.md).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Subcommand)]
enum SystemCommand {
    /// Version, configuration, streams and consumers.
    Info,
    /// Whether the answering instance can do its work.
    Health,
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

/// `NAME:VALUE` or `NAME=VALUE`.
fn parse_pair(text: &str) -> Result<(String, String), String> {
    let split = match (text.find(':'), text.find('=')) {
        (Some(colon), Some(equals)) => Some(colon.min(equals)),
        (colon, equals) => colon.or(equals),
    };
    split
        .map(|at| {
            (
                text[..at].trim().to_owned(),
                text[at + 1..].trim().to_owned(),
            )
        })
        .filter(|(name, _)| !name.is_empty())
        .ok_or_else(|| format!("{text:?} is not NAME:VALUE"))
}

/// Text, or `@FILE` to read it from a file.
fn parse_text(text: &str) -> Result<String, String> {
    match text.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}")),
        None => Ok(text.to_owned()),
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
        // The request is built before connecting: a usage error needs no NATS.
        let request = match command {
            Command::Console { .. }
            | Command::Completions { .. }
            | Command::Ping
            | Command::Listen(_) => None,
            Command::Endpoints(command) => Some(command.request()?),
            Command::Deliveries(command) => Some(command.request()),
            Command::DeadLetters(command) => Some(command.request()),
            Command::System(SystemCommand::Info) => Some(AdminRequest::SystemInfo(NoFields {})),
            Command::System(SystemCommand::Health) => Some(AdminRequest::SystemHealth(NoFields {})),
            Command::Audit(args) => Some(args.request()),
            Command::Sources(command) => Some(command.request()?),
            Command::Overview => Some(AdminRequest::OverviewGet(NoFields {})),
            Command::Keys => Some(AdminRequest::KeysGet(NoFields {})),
            Command::Replay(args) => Some(args.request()?),
            Command::Types(command) => Some(command.request()),
            Command::Templates(command) => Some(command.request()?),
            Command::Events(command) => command.request(),
        };
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
        if let Command::Listen(args) = command {
            let admin = AdminClient::new(
                client.clone(),
                subjects.clone(),
                tenant.clone(),
                settings.timeout,
            )
            .with_requester(local_requester());
            return args
                .run(client, &admin, &subjects, &tenant, self.json)
                .await;
        }
        if let Some(request) = request {
            let admin = AdminClient::new(client, subjects, tenant, settings.timeout)
                .with_requester(local_requester());
            return self.call(&admin, &request).await;
        }
        match command {
            Command::Ping => self.ping(&client, settings.timeout).await,
            Command::Events(events::EventCommand::Publish {
                event_type,
                data,
                id,
            }) => {
                let subject =
                    subjects.event(&tenant, &EventType::new(event_type).context("event type")?);
                self.publish(client, subject, data, id.as_deref()).await
            }
            _ => Ok(()),
        }
    }

    /// Sends one admin request and prints the reply: as hookwired sent it with `--json`,
    /// else as text from its typed form.
    async fn call(&self, admin: &AdminClient, request: &AdminRequest) -> Result<(), Failure> {
        let op = request.op();
        let body = request.to_body().map_err(AdminClientError::Encode)?;
        let raw = admin.call_raw(op.noun(), op.verb(), body).await?;
        let reply = AdminReply::decode(op, &raw).map_err(|source| AdminClientError::Decode {
            what: op.action().to_owned(),
            source,
        })?;
        if self.json {
            println!("{}", String::from_utf8_lossy(&raw));
        } else {
            print_reply(&reply);
        }
        if passed(&reply) {
            Ok(())
        } else {
            Err(Failure::CheckFailed)
        }
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
        let published = Published {
            stream: ack.stream,
            sequence: ack.sequence,
            duplicate: ack.duplicate,
        };
        if self.json {
            print_json_line(&published);
        } else {
            let duplicate = if published.duplicate {
                " (duplicate, dropped)"
            } else {
                ""
            };
            println!("published as sequence {}{duplicate}", published.sequence);
        }
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
                serde_json::from_slice::<Instance>(&reply.payload)
                    .context("a PING reply is not a NATS micro ping")?,
            );
        }
        if instances.is_empty() && !self.json {
            return Err(anyhow::anyhow!(
                "no hookwired instance answered; is it running and connected to the same NATS?"
            )
            .into());
        }
        if self.json {
            print_json_line(&instances);
        } else {
            for instance in &instances {
                println!(
                    "{}  {}  version {}",
                    instance.name, instance.id, instance.version
                );
            }
        }
        Ok(())
    }
}

/// What `events publish` prints: JetStream's acknowledgement.
#[derive(Debug, Serialize)]
struct Published {
    stream: String,
    sequence: u64,
    duplicate: bool,
}

/// A NATS micro `PING` reply (`io.nats.micro.v1.ping_response`).
#[derive(Debug, Serialize, Deserialize)]
struct Instance {
    name: String,
    id: String,
    version: String,
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    metadata: std::collections::BTreeMap<String, String>,
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
    fn listen_takes_an_endpoint_or_types_but_not_both() {
        let parse = |args: &[&str]| {
            Cli::try_parse_from(
                ["hookwire", "listen", "--forward", "http://localhost:3000/"]
                    .iter()
                    .chain(args),
            )
            .map(|_| ())
            .map_err(|e| e.kind())
        };
        assert_eq!(parse(&["--endpoint", "ep_1"]), Ok(()));
        assert_eq!(parse(&["--type", "a.*", "--type", "b.>"]), Ok(()));
        assert_eq!(parse(&["--type", "a.*", "--secret", "whsec_x"]), Ok(()));
        assert!(parse(&[]).is_err(), "one of them is needed");
        assert!(parse(&["--endpoint", "ep_1", "--type", "a.*"]).is_err());
        assert!(parse(&["--endpoint", "ep_1", "--secret", "whsec_x"]).is_err());
    }

    #[test]
    fn headers_parse_as_name_equals_value() {
        assert_eq!(parse_header("X-A=b=c"), Ok(("X-A".into(), "b=c".into())));
        assert!(parse_header("novalue").is_err());
        assert!(parse_header("=v").is_err());
    }
}
