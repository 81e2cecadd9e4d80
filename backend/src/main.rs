//! `hookwired`: the Hookwire daemon.
//!
//! It connects to NATS and registers the `hookwire` NATS micro service, so
//! `$SRV.PING.hookwire`, `$SRV.INFO.hookwire` and `$SRV.STATS.hookwire` answer for every
//! running instance. The delivery engine and the admin endpoints join this service.

use anyhow::Context as _;
use async_nats::service::ServiceExt as _;
use clap::Parser;
use hookwire_nats::ConnectArgs;
use hookwire_nats::connect::InitialConnect;
use hookwire_protocol::Subjects;
use tokio::signal::unix::{SignalKind, signal};

/// The NATS micro service name every instance registers under.
const SERVICE_NAME: &str = "hookwire";

/// Hookwire daemon: delivers NATS events as signed webhooks.
#[derive(Debug, Parser)]
#[command(name = "hookwired", version, about)]
struct Cli {
    #[command(flatten)]
    nats: ConnectArgs,
    /// Subject prefix for every Hookwire subject.
    #[arg(long, env = "HOOKWIRE_PREFIX", default_value = hookwire_protocol::subject::DEFAULT_PREFIX)]
    prefix: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let cli = Cli::parse();
    let subjects = Subjects::new(&cli.prefix).context("--prefix")?;
    let settings = cli.nats.resolve_from_env()?;
    let client = settings.connect("hookwired", InitialConnect::Retry).await?;
    let service = client
        .service_builder()
        .description("Hookwire: webhooks for NATS")
        .start(SERVICE_NAME, env!("CARGO_PKG_VERSION"))
        .await
        .map_err(|e| anyhow::anyhow!("cannot register the {SERVICE_NAME} service: {e}"))?;
    tracing::info!(
        servers = %settings.servers,
        prefix = subjects.prefix(),
        "hookwired started; answering $SRV.PING.{SERVICE_NAME}"
    );

    let mut terminate = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
    tracing::info!("stopping");
    service
        .stop()
        .await
        .map_err(|e| anyhow::anyhow!("cannot stop the service cleanly: {e}"))?;
    client
        .drain()
        .await
        .context("cannot drain the NATS connection")?;
    Ok(())
}
