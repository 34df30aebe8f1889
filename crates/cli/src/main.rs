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
        // Our errors' messages already include their sources' (so that log lines are whole),
        // which `{:#}` would repeat: each cause once, on one line.
        let report: &(dyn std::error::Error + 'static) = err.as_ref();
        eprintln!("error: {}", ecm_chain::error::with_sources(report));
        std::process::exit(1);
    }
}
