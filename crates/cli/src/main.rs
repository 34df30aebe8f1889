//! The `ecm` command: a verifiable compute market on Ethereum, from the terminal.

#![cfg_attr(not(test), warn(unused_crate_dependencies))]

use clap::Parser;

mod cmd;
mod opts;
mod output;
mod units;

#[tokio::main]
async fn main() {
    let cli = opts::Cli::parse();
    opts::init_logging(&cli);
    if let Err(err) = cli.run().await {
        eprintln!("error: {}", one_line(&err));
        std::process::exit(1);
    }
}

/// The report and its causes on one line, each said once: our errors' messages already
/// include their sources' (so that log lines are whole), which `{:#}` would repeat.
fn one_line(report: &eyre::Report) -> String {
    let mut line = String::new();
    for cause in report.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line
}
