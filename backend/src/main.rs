//! `hookwired`: the Hookwire daemon. Everything lives in the library; this is the edge
//! that reads flags, loads the configuration and waits for a signal.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Parser;
use hookwire_backend::config::Config;
use hookwire_nats::ConnectArgs;
use tokio::signal::unix::{SignalKind, signal};

// The delivery path allocates many small, short-lived buffers across threads; mimalloc
// handles that pattern with markedly less CPU than glibc's allocator (see docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Turns transparent huge pages off for this process (unless `MIMALLOC_ALLOW_THP` says
/// otherwise, which mimalloc then applies itself): in a flood mimalloc's arenas fault in
/// 2 MB pages that the kernel zeroes, and the peak RSS was a sixth higher with no
/// throughput gained (docs/performance.md, fourteenth session).
fn no_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    if std::env::var_os("MIMALLOC_ALLOW_THP").is_none()
        && let Err(e) = nix::sys::prctl::set_thp_disable(true)
    {
        eprintln!("hookwired: cannot turn transparent huge pages off ({e}); going on with them");
    }
}

/// Hookwire daemon: delivers NATS events as signed webhooks.
#[derive(Debug, Parser)]
#[command(name = "hookwired", version, about)]
struct Cli {
    /// Configuration file (TOML); every key can also be set by an environment variable.
    #[arg(long, env = "HOOKWIRE_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Print the effective configuration and exit.
    #[arg(long)]
    print_config: bool,
    #[command(flatten)]
    nats: ConnectArgs,
}

fn main() -> anyhow::Result<()> {
    no_transparent_huge_pages();
    tracing_subscriber::fmt()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let cli = Cli::parse();
    let mut config = Config::load(cli.config.as_deref(), std::env::vars())?;
    config.nats = cli.nats.or(config.nats);
    if cli.print_config {
        print!("{}", config.to_toml());
        return Ok(());
    }
    let cpus = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    let worker_threads = config.runtime.worker_threads(cpus);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(worker_threads)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    tracing::info!(worker_threads, cpus, "runtime started");
    runtime.block_on(async move {
        let mut terminate = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
        let shutdown = async move {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = terminate.recv() => {}
            }
        };
        hookwire_backend::app::run(config, shutdown).await
    })
}
