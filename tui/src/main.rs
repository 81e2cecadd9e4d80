//! `hookwire`: the Hookwire operator tool. Scripting subcommands (`hookwire <noun> <verb>`,
//! `--json` for machine-readable output); the console joins them.

mod cli;
mod console;
mod output;
mod when;

use clap::Parser as _;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        // A script that asked for JSON gets its usage errors as JSON too (help and
        // version are not errors).
        Err(e) if e.use_stderr() && std::env::args_os().any(|arg| arg == "--json") => {
            let rendered = e.to_string();
            let message = rendered.lines().next().unwrap_or_default();
            let failure = output::Failure::Usage(
                message
                    .strip_prefix("error: ")
                    .unwrap_or(message)
                    .to_owned(),
            );
            failure.report(true);
            return std::process::ExitCode::from(failure.exit_code());
        }
        Err(e) => e.exit(),
    };
    match cli.run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(failure) => {
            failure.report(cli.json);
            std::process::ExitCode::from(failure.exit_code())
        }
    }
}
