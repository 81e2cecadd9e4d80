//! `hookwire`: the Hookwire operator tool. Scripting subcommands (`hookwire <noun> <verb>`,
//! `--json` for machine-readable output); the console joins them.

mod cli;
mod console;
mod output;
mod when;

use clap::Parser as _;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    match cli.run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(failure) => {
            failure.report(cli.json);
            std::process::ExitCode::from(failure.exit_code())
        }
    }
}
