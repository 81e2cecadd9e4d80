//! `hookwire`: the Hookwire operator tool. Scripting subcommands today; the console
//! (`hookwire` with no subcommand) joins them.

use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use futures_util::StreamExt as _;
use hookwire_nats::ConnectArgs;
use hookwire_nats::connect::InitialConnect;

/// Hookwire operator tool.
#[derive(Debug, Parser)]
#[command(name = "hookwire", version, about)]
struct Cli {
    #[command(flatten)]
    nats: ConnectArgs,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Lists every running hookwired instance (NATS micro `$SRV.PING.hookwire`).
    Ping,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = cli.nats.resolve_from_env()?;
    let client = settings
        .connect("hookwire", InitialConnect::FailFast)
        .await?;
    match cli.command {
        Command::Ping => ping(&client, settings.timeout, cli.json).await,
    }
}

/// Collects PING replies for the timeout; every instance answers once.
async fn ping(client: &async_nats::Client, timeout: Duration, json: bool) -> anyhow::Result<()> {
    let inbox = client.new_inbox();
    let mut replies = client.subscribe(inbox.clone()).await?;
    client
        .publish_with_reply("$SRV.PING.hookwire", inbox, "".into())
        .await?;
    client.flush().await?;
    let mut instances = Vec::new();
    let deadline = tokio::time::Instant::now() + timeout.min(Duration::from_secs(2));
    while let Ok(Some(reply)) = tokio::time::timeout_at(deadline, replies.next()).await {
        let value: serde_json::Value =
            serde_json::from_slice(&reply.payload).context("a PING reply was not JSON")?;
        instances.push(value);
    }
    if json {
        println!("{}", serde_json::Value::Array(instances));
    } else if instances.is_empty() {
        anyhow::bail!(
            "no hookwired instance answered; is it running and connected to the same NATS?"
        );
    } else {
        for instance in &instances {
            println!(
                "{}  {}  version {}",
                instance["name"].as_str().unwrap_or("?"),
                instance["id"].as_str().unwrap_or("?"),
                instance["version"].as_str().unwrap_or("?"),
            );
        }
    }
    Ok(())
}
